//! The scheduled run's access stage (docs/reference.md, "Can its consumers
//! use it (access)"): the consumers of every listed connection, each check
//! simulated or taken from a verdict kept for `ACCESS_CHECK_HOURS`, never
//! checked first, then the oldest, at most `ACCESS_CHECKS_PER_RUN`; and the
//! verdicts kept in this process and the state table.

use crate::aws::consumers::ConsumerClients;
use crate::domain::access::{
    observed_failure, observed_finding, AccessFinding, AccessTally, Check, ObservedFailure,
};
use crate::domain::arn::connection_key;
use crate::domain::connection::{Connection, AVAILABLE};
use crate::domain::denied::{access_key, DeniedConsumer};
use crate::domain::recovery::StageState;
use crate::domain::verdicts::{verdict_key, Judgement, Verdict, Verdicts};
use crate::domain::watched::{Fields, Watched};
use crate::monitor::adapters::Adapters;
use crate::monitor::config::MonitorConfig;
use crate::monitor::consumers::access::{all_checks, check_access};
use crate::monitor::consumers::used_by::{self, Lookup, Reach};
use crate::monitor::report::{AccessChecks, AccessReport, RunReport};
use crate::render::coverage::not_searched;
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use tokio::time::{timeout_at, Instant};

/// The access verdicts a warm process keeps between runs.
#[derive(Debug, Default)]
pub struct VerdictStore {
    memory: Mutex<Option<Verdicts>>,
}

/// What the access stage reads through.
pub struct AccessStage<'a> {
    pub adapters: &'a Adapters,
    pub verdicts: &'a VerdictStore,
    pub reach: Reach<'a>,
}

impl AccessStage<'_> {
    /// With `ACCESS_CHECK`: the consumers of every listed connection, and
    /// whether each one's role may use it, by a third of the time left;
    /// the verdicts kept (not by a dry run, which writes nothing). Returns
    /// the lookup, which also serves `usedBy`.
    pub async fn run(
        &self,
        config: &MonitorConfig,
        report: &mut RunReport,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Option<Lookup> {
        let keep = config.access_check?;
        // Only pipelines and CodeBuild projects have roles to check: without
        // them read, access is not checked (not "0 denied").
        (config.used_by.pipelines || config.used_by.codebuild).then_some(())?;
        let clients = self.adapters.consumers.as_ref()?;
        report.listed_from.as_ref()?;
        let left = deadline.saturating_duration_since(Instant::now());
        let by = Instant::now() + left / 3;
        let every: Vec<&Connection> = report.every_connection.iter().collect();
        let lookup = used_by::look_up(clients, self.reach, config, &every, by).await;
        let mut verdicts = self.load_verdicts(by).await;
        let inputs = AccessInputs {
            lookup: &lookup,
            connections: &report.every_connection,
            keep,
            now,
            limit: ACCESS_CHECKS_PER_RUN,
            deadline: by,
        };
        report.access = Some(scheduled_access(inputs, &mut verdicts).await);
        if !config.dry_run {
            self.keep_verdicts(verdicts, by).await;
        }
        Some(lookup)
    }

    /// This process's verdicts, else the state table's, else none.
    async fn load_verdicts(&self, deadline: Instant) -> Verdicts {
        if let Some(kept) = self.lock().take() {
            return kept;
        }
        let Some(state) = &self.adapters.state else {
            return Verdicts::default();
        };
        match timeout_at(deadline, state.load_verdicts()).await {
            Ok(Ok(Some(text))) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "access verdicts not readable; simulating afresh");
                Verdicts::default()
            }),
            Ok(Ok(None)) | Err(_) => Verdicts::default(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "access verdicts not read; simulating afresh");
                Verdicts::default()
            }
        }
    }

    /// Keeps `verdicts` in this process and in the state table.
    async fn keep_verdicts(&self, verdicts: Verdicts, deadline: Instant) {
        if let Some(state) = &self.adapters.state {
            let text = serde_json::to_string(&verdicts).unwrap_or_default();
            match timeout_at(deadline, state.save_verdicts(&text)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "access verdicts not kept"),
                Err(_) => tracing::warn!("access verdicts not kept before the deadline"),
            }
        }
        *self.lock() = Some(verdicts);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Verdicts>> {
        self.verdicts
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// The most checks one scheduled run simulates (each one or two
/// simulations and, once per role, a context-key read). This project's
/// choice: IAM documents no rate for SimulatePrincipalPolicy, and with
/// verdicts kept for `ACCESS_CHECK_HOURS` (24), hourly runs check 6,000
/// consumers a day, the oldest verdict first.
pub const ACCESS_CHECKS_PER_RUN: usize = 250;

/// What a scheduled run's access stage reads.
#[derive(Clone, Copy)]
pub struct AccessInputs<'a> {
    pub lookup: &'a Lookup,
    /// Every watched connection listed (`Findings::every_connection`).
    pub connections: &'a [Connection],
    /// `ACCESS_CHECK_HOURS`.
    pub keep: Duration,
    pub now: DateTime<Utc>,
    pub limit: usize,
    pub deadline: Instant,
}

/// The checks of every listed connection's consumers: a verdict younger
/// than `keep` is kept, the rest simulated (never checked first, then the
/// oldest, at most `limit`), each account with its own credentials, so that
/// one account's IAM throttling costs only its own verdicts. `verdicts` is
/// brought up to date.
pub async fn scheduled_access(inputs: AccessInputs<'_>, verdicts: &mut Verdicts) -> AccessReport {
    let AccessInputs {
        lookup,
        connections,
        keep,
        now,
        limit,
        deadline,
    } = inputs;
    let checks = all_checks(connections.iter().map(|c| c.arn.as_str()), lookup.uses());
    let keys: Vec<String> = checks.iter().map(verdict_key).collect();
    let schedule = verdicts.schedule(&keys, now, keep, limit);
    let mut stage = Stage::new(&checks);
    for &i in &schedule.kept {
        stage.cached += 1;
        stage.judge(i, &verdicts.0[&keys[i]].judgement);
    }
    // The connections listed AVAILABLE, by `connection_key`: where a failure is observed.
    let available: HashSet<String> = connections
        .iter()
        .filter(|c| c.status == AVAILABLE)
        .filter_map(|c| connection_key(&c.arn))
        .collect();
    let mut by_account: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in &schedule.due {
        by_account
            .entry(checks[i].consumer.account.as_str())
            .or_default()
            .push(i);
    }
    for (account, due) in by_account {
        let Some(clients) = lookup.clients_of(account) else {
            stage.not_checked(&due, verdicts, &keys);
            stage.gap(format!("{account}: its consumers were not read"));
            continue;
        };
        let batch: Vec<Check> = due.iter().map(|&i| checks[i].clone()).collect();
        let mut observed = observe(clients, &batch, &available, deadline).await;
        let run = check_access(&clients.simulator(), &batch, usize::MAX, deadline).await;
        for (j, (&i, simulated)) in due.iter().zip(&run.judged).enumerate() {
            stage.simulated += 1;
            let judgement = &match observed.remove(&j) {
                Some(failure) => observed_judgement(&batch[j], failure, simulated),
                None => simulated.clone(),
            };
            stage.judge(i, judgement);
            let verdict = Verdict {
                checked_at: now.timestamp(),
                judgement: judgement.clone(),
            };
            verdicts.0.insert(keys[i].clone(), verdict);
        }
        stage.simulations += run.simulations;
        stage.not_checked(&due[run.judged.len()..], verdicts, &keys);
        for gap in run.gaps {
            stage.gap(format!("{account}: {gap}"));
        }
    }
    if !schedule.left.is_empty() {
        stage.not_checked(&schedule.left, verdicts, &keys);
        stage.gap(format!(
            "{} past this run's bound of {limit}, checked in later runs",
            schedule.left.len()
        ));
    }
    verdicts.prune(&keys, now, keep);
    stage.finish(lookup, connections)
}

/// The failures observed on `checks` (by index): each pipeline's state read
/// once, for a source action on a connection in `available` (listed
/// AVAILABLE this run, by `connection_key`). A
/// state that cannot be read costs only the observation.
async fn observe(
    clients: &ConsumerClients,
    checks: &[Check],
    available: &HashSet<String>,
    deadline: Instant,
) -> HashMap<usize, ObservedFailure> {
    let mut states: HashMap<(&str, &str), Option<Vec<StageState>>> = HashMap::new();
    let mut observed = HashMap::new();
    for (j, check) in checks.iter().enumerate() {
        let on_available =
            connection_key(&check.connection).is_some_and(|k| available.contains(&k));
        if check.action.is_none() || !on_available {
            continue;
        }
        let consumer = (check.consumer.region.as_str(), check.consumer.name.as_str());
        if let std::collections::hash_map::Entry::Vacant(entry) = states.entry(consumer) {
            let read = timeout_at(deadline, clients.pipeline_state(consumer.0, consumer.1)).await;
            entry.insert(match read {
                Ok(Ok(state)) => Some(state),
                Ok(Err(e)) => {
                    tracing::warn!(pipeline = consumer.1, error = %e, "access: state not read");
                    None
                }
                Err(_) => None,
            });
        }
        if let Some(failure) = states[&consumer]
            .as_deref()
            .and_then(|s| observed_failure(check, s))
        {
            observed.insert(j, failure);
        }
    }
    observed
}

/// An observed failure outranks the simulation: denied, with the
/// simulation's finding where it denied too.
fn observed_judgement(check: &Check, failure: ObservedFailure, simulated: &Judgement) -> Judgement {
    let finding = match simulated {
        Judgement::Denied { finding } => Some((**finding).clone()),
        _ => None,
    };
    match observed_finding(check, failure, finding) {
        Some(finding) => Judgement::Denied {
            finding: Box::new(finding),
        },
        None => simulated.clone(),
    }
}

/// The access stage's running account.
struct Stage<'a> {
    checks: &'a [Check],
    simulated: usize,
    simulations: usize,
    cached: usize,
    inconclusive: usize,
    not_checked: usize,
    gaps: Vec<String>,
    /// Each denial with its check's index.
    findings: Vec<(usize, AccessFinding)>,
    decided: HashSet<String>,
    by_connection: HashMap<String, AccessTally>,
}

impl<'a> Stage<'a> {
    fn new(checks: &'a [Check]) -> Self {
        Self {
            checks,
            simulated: 0,
            simulations: 0,
            cached: 0,
            inconclusive: 0,
            not_checked: 0,
            gaps: Vec::new(),
            findings: Vec::new(),
            decided: HashSet::new(),
            by_connection: HashMap::new(),
        }
    }

    /// The tally of check `i`'s connection.
    fn tally(&mut self, i: usize) -> &mut AccessTally {
        let connection = &self.checks[i].connection;
        let key = connection_key(connection).unwrap_or_else(|| connection.clone());
        self.by_connection.entry(key).or_default()
    }

    /// Check `i`'s lifecycle key.
    fn key(&self, i: usize) -> String {
        let check = &self.checks[i];
        access_key(
            &check.consumer.arn,
            &check.connection,
            &check.action_names(check.prefix),
        )
    }

    /// Check `i` has a verdict this run.
    fn judge(&mut self, i: usize, judgement: &Judgement) {
        let tally = self.tally(i);
        match judgement {
            Judgement::Inconclusive => tally.inconclusive += 1,
            Judgement::Allowed => tally.checked += 1,
            Judgement::Denied { .. } => {
                tally.checked += 1;
                tally.denied += 1;
            }
        }
        match judgement {
            Judgement::Inconclusive => self.inconclusive += 1,
            Judgement::Allowed => {}
            Judgement::Denied { finding } => self.findings.push((i, (**finding).clone())),
        }
        if judgement.is_conclusive() {
            self.decided.insert(self.key(i));
        }
    }

    /// Checks with no verdict this run: a denial kept from an earlier run
    /// stays alerted (it is not resolved by not being looked at).
    fn not_checked(&mut self, indices: &[usize], verdicts: &Verdicts, keys: &[String]) {
        self.not_checked += indices.len();
        for &i in indices {
            self.tally(i).not_checked += 1;
            if let Some(Judgement::Denied { finding }) =
                verdicts.0.get(&keys[i]).map(|v| &v.judgement)
            {
                self.findings.push((i, (**finding).clone()));
            }
        }
    }

    fn gap(&mut self, why: String) {
        if !self.gaps.contains(&why) {
            self.gaps.push(why);
        }
    }

    /// The report: each finding once per lifecycle key, on its listed
    /// connection, sorted so that alerts read the same every run.
    fn finish(mut self, lookup: &Lookup, connections: &[Connection]) -> AccessReport {
        let present = (0..self.checks.len()).map(|i| self.key(i)).collect();
        let by_key: HashMap<String, &Connection> = connections
            .iter()
            .filter_map(|c| Some((connection_key(&c.arn)?, c)))
            .collect();
        let mut denied: Vec<DeniedConsumer> = Vec::new();
        for (i, finding) in std::mem::take(&mut self.findings) {
            let listed = connection_key(&finding.connection_arn).and_then(|k| by_key.get(&k));
            let (provider, status) = listed.map_or(("", ""), |c| (&c.provider_type, &c.status));
            let mut consumer = DeniedConsumer::new(finding, self.key(i), provider, status);
            if let Some((account, name)) = listed.and_then(|c| c.account()) {
                consumer.set_account(account, name);
            }
            if !denied.iter().any(|d| d.arn == consumer.arn) {
                denied.push(consumer);
            }
        }
        denied.sort_by(|a, b| (&a.region, &a.name, &a.arn).cmp(&(&b.region, &b.name, &b.arn)));
        // Consumers not read have no check at all: the checks' count is of
        // the consumers that were read, and the gaps say which were not.
        let mut coverages: Vec<_> = lookup.coverages().collect();
        coverages.sort_by_key(|(account, _)| *account);
        for (account, coverage) in coverages {
            if !coverage.unread.is_empty() {
                let gaps = not_searched(coverage).join("; ");
                self.gap(format!(
                    "{account}: consumers not searched, so not checked: {gaps}"
                ));
            }
        }
        let read_whole = lookup
            .coverages()
            .filter(|(_, c)| c.unread.is_empty())
            .flat_map(|(account, c)| {
                c.kinds
                    .iter()
                    .map(move |k| format!("{account}/{}", k.as_str()))
            })
            .collect();
        AccessReport {
            access_findings: denied,
            access_checks: AccessChecks {
                checks: self.checks.len(),
                simulated: self.simulated,
                simulations: self.simulations,
                cached: self.cached,
                inconclusive: self.inconclusive,
                not_checked: self.not_checked,
                gaps: self.gaps,
                decided: self.decided,
                present,
                read_whole,
                by_connection: self.by_connection,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::{checks, Evidence};
    use crate::domain::consumer::{Consumer, ConsumerKind, Grant, Source, Uses};

    const CONNECTION: &str = "arn:aws:codeconnections:eu-west-1:123456789012:connection/c";

    fn check() -> Check {
        let consumer = Consumer::from_arn(
            ConsumerKind::Pipeline,
            "arn:aws:codepipeline:eu-west-1:123456789012:deploy",
        )
        .unwrap();
        let source = Source {
            connection: CONNECTION.into(),
            stage: None,
            action: None,
            via: None,
            grant: Some(Grant {
                role: "arn:aws:iam::123456789012:role/deploy".into(),
                ..Grant::default()
            }),
            full_clone_to: Some(Vec::new()),
        };
        let uses = Uses {
            consumer,
            sources: vec![source],
            service_role: None,
        };
        checks(&uses, CONNECTION).remove(0)
    }

    /// A denial kept from an earlier run, whose check this run did not make,
    /// stays alerted and is not taken as decided (so it cannot resolve).
    #[test]
    fn an_unmade_check_keeps_its_earlier_denial_undecided() {
        let checks = [check()];
        let keys = vec![verdict_key(&checks[0])];
        let finding = AccessFinding {
            consumer: checks[0].consumer.clone(),
            connection_arn: CONNECTION.into(),
            role: checks[0].role.clone(),
            actions: Vec::new(),
            evidence: Evidence::Simulated,
            observed: None,
            other_prefix_allowed: true,
            fix: serde_json::Value::Null,
            assumed: Vec::new(),
        };
        let denied = Judgement::Denied {
            finding: Box::new(finding),
        };
        let kept = Verdict {
            checked_at: 0,
            judgement: denied,
        };
        let verdicts = Verdicts([(keys[0].clone(), kept)].into());
        let mut stage = Stage::new(&checks);
        stage.not_checked(&[0], &verdicts, &keys);
        let report = stage.finish(&Lookup::default(), &[]);
        assert_eq!(report.access_findings.len(), 1, "still alerted");
        assert!(
            report.access_checks.decided.is_empty(),
            "not decided: cannot resolve"
        );
        assert_eq!(report.access_checks.not_checked, 1);
        assert!(report
            .access_checks
            .present
            .contains(&report.access_findings[0].arn));
    }

    /// Consumers not read have no check: the gaps name them, and a whole
    /// search adds no gap.
    #[test]
    fn unread_consumers_are_named_in_the_gaps() {
        use crate::domain::consumer::{Coverage, Unread};
        let coverage = |unread: Vec<Unread>| Coverage {
            kinds: ConsumerKind::ALL.to_vec(),
            regions: 17,
            all_enabled_regions: true,
            unread,
        };
        let checks = [check()];
        let whole = Lookup::covering("123456789012", coverage(Vec::new()));
        assert!(Stage::new(&checks)
            .finish(&whole, &[])
            .access_checks
            .gaps
            .is_empty());
        let unread = Unread {
            region: "eu-west-1".into(),
            kind: "pipeline".into(),
            error: "ListPipelines timed out".into(),
        };
        let part = Lookup::covering("123456789012", coverage(vec![unread]));
        assert_eq!(
            Stage::new(&checks).finish(&part, &[]).access_checks.gaps,
            [
                "123456789012: consumers not searched, so not checked: pipelines of eu-west-1 \
              (could not be read)"
            ]
        );
    }

    /// The run's bound at its edge: one under, at, one over.
    #[test]
    fn a_run_simulates_at_most_its_bound_and_counts_the_rest() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for n in [
            ACCESS_CHECKS_PER_RUN - 1,
            ACCESS_CHECKS_PER_RUN,
            ACCESS_CHECKS_PER_RUN + 1,
        ] {
            let keys: Vec<String> = (0..n).map(|i| format!("check-{i}")).collect();
            let schedule = Verdicts::default().schedule(
                &keys,
                now,
                Duration::hours(24),
                ACCESS_CHECKS_PER_RUN,
            );
            assert_eq!(
                schedule.due.len(),
                n.min(ACCESS_CHECKS_PER_RUN),
                "{n} checks"
            );
            assert_eq!(
                schedule.left.len(),
                n.saturating_sub(ACCESS_CHECKS_PER_RUN),
                "{n} checks"
            );
        }
    }
}
