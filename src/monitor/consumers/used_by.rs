//! What connections break: the pipelines, CodeBuild projects and
//! Git-synced stacks that use them, looked up in runs that alert a
//! connection (and, with `ACCESS_CHECK`, for every connection in every run,
//! whose roles the access stage checks), in every region the connection is
//! usable from (a connection is global: "You only have to create a
//! connection once, and then you can use it in any AWS Region", Developer
//! Tools guide, "Global resources in AWS CodeConnections"). What cannot be
//! read costs that region's, kind's or account's `usedBy` (reported in its
//! coverage), never the alert.

use crate::aws::consumers::{ConsumerClients, ConsumerError};
use crate::aws::organization::Accounts;
use crate::aws::state::StateTable;
use crate::domain::arn::ResourceArn;
use crate::domain::connection::{Connection, AVAILABLE};
use crate::domain::consumer::{
    brief, used_by, ConsumerKind, Coverage, Outcome, Recovery, Unread, Uses, EVERY_REGION,
    MAX_RECOVERY_LISTED, UNREAD_ACCOUNT, UNREAD_REGION_LIST,
};
use crate::domain::full_clone::join_full_clones;
use crate::domain::watched::Fields;
use crate::monitor::config::{MonitorConfig, UsedByRegions};
use crate::monitor::report::UsedByFailure;
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeSet, HashMap};
use tokio::time::{timeout_at, Instant};

/// Regions of one account read at once (each reads up to three kinds at
/// once): 17 default regions take three rounds, not seventeen.
const REGIONS_IN_FLIGHT: usize = 6;

/// What the lookup found: every consumer read in each account looked at
/// (with that account's clients; `None` where its role could not be
/// assumed), how far each account's search reached, and what failed.
#[derive(Default)]
pub struct Lookup {
    accounts: HashMap<String, Option<ConsumerClients>>,
    coverage: HashMap<String, Coverage>,
    uses: Vec<Uses>,
    unread: Vec<UsedByFailure>,
}

/// Where consumers are read: the monitor's own account with its own
/// credentials, member accounts through `accounts` (organization-wide).
#[derive(Clone, Copy)]
pub struct Reach<'a> {
    pub own_account: &'a str,
    pub accounts: Option<&'a Accounts>,
    pub state: Option<&'a StateTable>,
}

#[cfg(test)]
impl Lookup {
    /// A lookup of `account` that found nothing, with `coverage`.
    pub(crate) fn covering(account: &str, coverage: Coverage) -> Self {
        Self {
            coverage: [(account.to_string(), coverage)].into(),
            ..Self::default()
        }
    }
}

impl Lookup {
    pub fn failures(&self) -> &[UsedByFailure] {
        &self.unread
    }

    /// Every consumer read, whatever connection it uses.
    pub fn uses(&self) -> &[Uses] {
        &self.uses
    }

    /// The clients `account` was read with; `None` for an account not
    /// looked at, or whose role could not be assumed.
    pub fn clients_of(&self, account: &str) -> Option<&ConsumerClients> {
        self.accounts.get(account).and_then(Option::as_ref)
    }

    /// Every account looked at, with how far its search reached.
    pub fn coverages(&self) -> impl Iterator<Item = (&str, &Coverage)> {
        self.coverage.iter().map(|(a, c)| (a.as_str(), c))
    }

    /// How far `account`'s search reached; `None` for an account not looked at.
    pub fn coverage_of(&self, account: &str) -> Option<&Coverage> {
        self.coverage.get(account)
    }

    /// Sets `usedBy` and its coverage on each connection of an account
    /// looked at; others are left without.
    pub fn attach(&self, connections: &mut [Connection]) {
        for connection in connections {
            let Some(coverage) = owner(connection).and_then(|o| self.coverage.get(o)) else {
                continue;
            };
            let found = used_by(&connection.arn, &self.uses);
            connection.used_by = Some(found.listed);
            connection.used_by_more = found.more;
            connection.used_by_coverage = Some(coverage.clone());
        }
    }

    /// With `RETRY_ON_RESOLVED`, for each resolved connection this run
    /// claimed: when it has healed (AVAILABLE in this run's listing),
    /// restarts each pipeline whose source action on it failed during its
    /// outage, and says on the connection what was done and what was left
    /// alone; when it has not (deleted, muted, in a status no longer
    /// alerted), restarts nothing and says why. Bounded by `deadline`, so
    /// that a hanging CodePipeline leaves the publish its time: what is not
    /// done by then is reported as not done.
    pub async fn recover(
        &self,
        connections: &mut [Connection],
        healed: &Healed<'_>,
        deadline: Instant,
    ) {
        for connection in connections.iter_mut().filter(|c| c.is_resolved()) {
            let clients = owner(connection).and_then(|o| self.accounts.get(o)?.as_ref());
            let Some(clients) = clients else { continue };
            if let Some(note) = healed.why_not(connection) {
                connection.recovery_note = Some(note);
                continue;
            }
            let Some(first_seen) = connection.lifecycle.first_seen else {
                connection.recovery_note =
                    Some("nothing restarted: when its outage began is not known".into());
                continue;
            };
            let since = first_seen - healed.run_interval;
            let mut outcomes = Vec::new();
            let pipelines = self
                .uses
                .iter()
                .filter(|u| u.consumer.kind == ConsumerKind::Pipeline);
            for uses in pipelines {
                let targets = uses.actions_using(&connection.arn);
                if targets.is_empty() {
                    continue;
                }
                let pipeline = &uses.consumer;
                let stages: Vec<&str> = targets.iter().map(|t| t.stage).collect();
                let outcome = if Instant::now() >= deadline {
                    Some(not_done(
                        &stages,
                        "not tried: the run's deadline came first",
                    ))
                } else {
                    let restart =
                        clients.restart(&pipeline.region, &pipeline.name, &targets, since);
                    timeout_at(deadline, restart).await.unwrap_or_else(|_| {
                        Some(not_done(
                            &stages,
                            "did not finish before the run's deadline (it may have taken effect)",
                        ))
                    })
                };
                if let Some(outcome) = outcome {
                    tracing::info!(pipeline = %pipeline.name, region = %pipeline.region, ?outcome, "healed connection: pipeline restart");
                    outcomes.push(Recovery {
                        pipeline: pipeline.name.clone(),
                        region: pipeline.region.clone(),
                        outcome,
                    });
                }
            }
            connection.recovery_more = outcomes.len().saturating_sub(MAX_RECOVERY_LISTED);
            outcomes.truncate(MAX_RECOVERY_LISTED);
            connection.recovery = outcomes;
        }
    }
}

/// What recovery knows of this run: each listed connection's status, and
/// the time between two runs (an outage began up to that long before the
/// run that first saw it).
pub struct Healed<'a> {
    pub listed: &'a HashMap<String, String>,
    pub run_interval: chrono::Duration,
}

impl Healed<'_> {
    /// `None` when `connection` is AVAILABLE in this run's listing; else
    /// why nothing is restarted for it.
    fn why_not(&self, connection: &Connection) -> Option<String> {
        match self.listed.get(&connection.arn).map(String::as_str) {
            Some(AVAILABLE) => None,
            Some(status) => Some(format!(
                "nothing restarted: it is {status}, not AVAILABLE (muted, or in a status no longer alerted)"
            )),
            None => Some("nothing restarted: it is no longer listed (deleted)".into()),
        }
    }
}

fn not_done(stages: &[&str], reason: &str) -> Outcome {
    Outcome::Failed {
        stage: stages.join(", "),
        reason: reason.into(),
    }
}

fn owner(connection: &Connection) -> Option<&str> {
    ResourceArn::parse(&connection.arn).map(|a| a.account)
}

/// Looks up what uses the alerted connections, `ACCOUNT_CONCURRENCY`
/// accounts at a time: the own one with the function's credentials, a
/// member one through its role (a role that cannot be assumed costs that
/// account's `usedBy`).
pub async fn look_up(
    clients: &ConsumerClients,
    reach: Reach<'_>,
    config: &MonitorConfig,
    alerted: &[&Connection],
    deadline: Instant,
) -> Lookup {
    let mut owners: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for connection in alerted {
        if let Some(arn) = ResourceArn::parse(&connection.arn) {
            owners
                .entry((arn.account, arn.partition))
                .or_default()
                .push(&connection.arn);
        }
    }
    let fallback = fallback_regions(config, alerted);
    let search = Search {
        reach,
        config,
        fallback: &fallback,
        deadline,
    };
    let looked: Vec<Option<Looked>> = stream::iter(owners)
        .map(|((account, partition), connections)| {
            look_up_owner(clients, search, account, partition, connections)
        })
        .buffered(config.account_concurrency.max(1))
        .collect()
        .await;
    let mut lookup = Lookup::default();
    for looked in looked.into_iter().flatten() {
        let Looked {
            account,
            clients,
            read,
        } = looked;
        lookup.uses.extend(read.uses);
        lookup
            .unread
            .extend(read.unread.iter().map(|unread| UsedByFailure {
                account: account.clone(),
                unread: unread.clone(),
            }));
        let coverage = Coverage {
            kinds: config.used_by.kinds(),
            regions: read.regions,
            all_enabled_regions: read.all_enabled_regions,
            unread: read.unread,
        };
        lookup.coverage.insert(account.clone(), coverage);
        lookup.accounts.insert(account, clients);
    }
    lookup
}

/// What every account's lookup shares.
#[derive(Clone, Copy)]
struct Search<'a> {
    reach: Reach<'a>,
    config: &'a MonitorConfig,
    /// Where to look when an account's region list cannot be read.
    fallback: &'a [String],
    deadline: Instant,
}

/// One account's lookup: its clients (`None` where its role could not be
/// assumed) and what they read.
struct Looked {
    account: String,
    clients: Option<ConsumerClients>,
    read: Read,
}

/// `None` for an account this run cannot reach (another account's
/// connection in a run that is not organization-wide).
async fn look_up_owner(
    clients: &ConsumerClients,
    search: Search<'_>,
    account: &str,
    partition: &str,
    connections: Vec<&str>,
) -> Option<Looked> {
    let Search {
        reach,
        config,
        deadline,
        ..
    } = search;
    let assumed = match reach.accounts.filter(|_| account != reach.own_account) {
        None if account == reach.own_account => Ok(None),
        None => return None,
        Some(accounts) => {
            let role = &config.member_role_name;
            let assume = accounts.credentials(account, reach.own_account, role, partition);
            match timeout_at(deadline, assume).await {
                Ok(assumed) => assumed.map_err(|e| e.to_string()),
                Err(_) => Err("sts:AssumeRole did not finish before the run's deadline".into()),
            }
        }
    };
    let account_clients = match assumed {
        Ok(None) => clients.clone(),
        Ok(Some(credentials)) => clients.member(account, credentials),
        Err(e) => {
            tracing::error!(%account, error = %e, "usedBy: member role not assumed");
            return Some(Looked {
                account: account.to_string(),
                clients: None,
                read: Read {
                    unread: vec![Unread {
                        region: EVERY_REGION.into(),
                        kind: UNREAD_ACCOUNT.into(),
                        error: brief(&e, MAX_UNREAD_ERROR_CHARS),
                    }],
                    ..Read::default()
                },
            });
        }
    };
    let read = look_up_account(&account_clients, search, account, &connections).await;
    Some(Looked {
        account: account.to_string(),
        clients: Some(account_clients),
        read,
    })
}

/// Where to look when the account's own list of enabled regions is not to
/// be had: `MONITOR_REGIONS` when set, else the function's own region and
/// the alerted connections' home regions. A search there is never complete.
fn fallback_regions(config: &MonitorConfig, connections: &[&Connection]) -> Vec<String> {
    let mut regions: BTreeSet<String> = config.host_regions().into_iter().collect();
    if config.regions.is_none() {
        regions.extend(connections.iter().map(|c| c.region.clone()));
    }
    regions.into_iter().collect()
}

/// The regions of one account to read, and whether they are every region
/// it has enabled; a region list that cannot be read is reported.
struct Regions {
    names: Vec<String>,
    all_enabled: bool,
    unread: Option<Unread>,
}

async fn regions_of(clients: &ConsumerClients, search: Search<'_>) -> Regions {
    if let UsedByRegions::Listed(listed) = &search.config.used_by_regions {
        return Regions {
            names: listed.clone(),
            all_enabled: false,
            unread: None,
        };
    }
    let listed = timeout_at(search.deadline, clients.enabled_regions())
        .await
        .unwrap_or_else(|_| Err(timed_out("account", "ListRegions")));
    match listed {
        Ok(names) => Regions {
            names,
            all_enabled: true,
            unread: None,
        },
        Err(e) => {
            tracing::error!(error = %e, "usedBy: enabled regions not listed");
            Regions {
                names: search.fallback.to_vec(),
                all_enabled: false,
                unread: Some(Unread {
                    region: EVERY_REGION.into(),
                    kind: UNREAD_REGION_LIST.into(),
                    error: brief(&e.to_string(), MAX_UNREAD_ERROR_CHARS),
                }),
            }
        }
    }
}

/// What one account's reads found, and how far they reached.
#[derive(Default)]
struct Read {
    uses: Vec<Uses>,
    regions: usize,
    all_enabled_regions: bool,
    unread: Vec<Unread>,
}

/// Reads the consumers of `account` in its regions, `REGIONS_IN_FLIGHT` at
/// a time, each listing bounded by the deadline. With a state table, a
/// cold process starts from the pipeline definitions it cached, and what
/// changed is cached again; a cache that cannot be read or written costs
/// only time.
async fn look_up_account(
    clients: &ConsumerClients,
    search: Search<'_>,
    account: &str,
    connections: &[&str],
) -> Read {
    let Search {
        reach,
        config,
        deadline,
        ..
    } = search;
    let regions = regions_of(clients, search).await;
    if let Some(table) = reach.state.filter(|_| config.used_by.pipelines) {
        warm_from(table, clients, account, &regions.names, deadline).await;
    }
    let reads = regions.names.iter().map(|region| async move {
        let read = |kind: ConsumerKind| async move {
            if !config.used_by.looks_up(kind) {
                return (kind, Ok(Vec::new()));
            }
            let listing = async {
                match kind {
                    ConsumerKind::Pipeline => clients.pipelines(region).await,
                    ConsumerKind::CodebuildProject => clients.projects(region).await,
                    ConsumerKind::GitSyncStack => {
                        clients.git_sync_stacks(region, connections).await
                    }
                    ConsumerKind::ServiceCatalogProduct => clients.catalog_products(region).await,
                }
            };
            let result = timeout_at(deadline, listing)
                .await
                .unwrap_or_else(|_| Err(timed_out(region, first_listing(kind))));
            (kind, result)
        };
        let (pipelines, projects, stacks, products) = tokio::join!(
            read(ConsumerKind::Pipeline),
            read(ConsumerKind::CodebuildProject),
            read(ConsumerKind::GitSyncStack),
            read(ConsumerKind::ServiceCatalogProduct)
        );
        (region, [pipelines, projects, stacks, products])
    });
    let read: Vec<_> = stream::iter(reads)
        .buffer_unordered(REGIONS_IN_FLIGHT)
        .collect()
        .await;
    // A dry run writes nothing, the cache included.
    if let Some(table) = reach.state.filter(|_| !config.dry_run) {
        cache_in(table, clients, account, &regions.names, deadline).await;
    }
    let mut found = Read {
        regions: regions.names.len(),
        all_enabled_regions: regions.all_enabled,
        unread: regions.unread.into_iter().collect(),
        ..Read::default()
    };
    for (region, results) in read {
        for (kind, result) in results {
            match result {
                Ok(uses) => found.uses.extend(uses),
                Err(e) => {
                    tracing::error!(%region, error = %e, "usedBy: consumers could not be read");
                    found.unread.push(Unread {
                        region: region.clone(),
                        kind: kind.as_str().into(),
                        error: brief(&e.to_string(), MAX_UNREAD_ERROR_CHARS),
                    });
                }
            }
        }
    }
    join_full_clones(&mut found.uses);
    found.unread.sort();
    found
}

/// The listing a kind's read starts with, named when the read timed out.
fn first_listing(kind: ConsumerKind) -> &'static str {
    match kind {
        ConsumerKind::Pipeline => "ListPipelines",
        ConsumerKind::CodebuildProject => "ListProjects",
        ConsumerKind::GitSyncStack => "ListRepositoryLinks",
        ConsumerKind::ServiceCatalogProduct => "SearchProductsAsAdmin",
    }
}

/// Loads the cached definitions of each region this process has none of.
async fn warm_from(
    table: &StateTable,
    clients: &ConsumerClients,
    account: &str,
    regions: &[String],
    deadline: Instant,
) {
    let cold = regions.iter().filter(|r| !clients.has_cached(r));
    let loads = cold.map(|region| async move {
        match timeout_at(deadline, table.load_pipelines(account, region)).await {
            Ok(Ok(Some(cached))) => clients.import(region, &cached),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "pipeline cache not read"),
            Err(_) => tracing::warn!(%region, "pipeline cache not read before the deadline"),
        }
    });
    join_all(loads).await;
}

/// Caches each region's definitions that changed in this run.
async fn cache_in(
    table: &StateTable,
    clients: &ConsumerClients,
    account: &str,
    regions: &[String],
    deadline: Instant,
) {
    let saves = regions.iter().filter_map(|region| {
        let changed = clients.export_changed(region)?;
        Some(async move {
            match timeout_at(deadline, table.save_pipelines(account, region, &changed)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "pipeline cache not written"),
                Err(_) => tracing::warn!(%region, "pipeline cache not written before the deadline"),
            }
        })
    });
    join_all(saves).await;
}

/// The most characters of an error a coverage entry keeps: every alerted
/// connection of the account carries its coverage, three times in one SNS
/// message, so 50 connections with a full SDK error each would push the
/// message toward SNS's 256 KiB. The log has the whole error.
pub const MAX_UNREAD_ERROR_CHARS: usize = 200;

fn timed_out(region: &str, operation: &'static str) -> ConsumerError {
    ConsumerError::Service {
        operation,
        region: region.to_string(),
        message: "did not finish before the run's deadline".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::consumer::{Consumer, Source};
    use crate::domain::watched::{AlertState, Lifecycle};
    use aws_sdk_codepipeline::operation::get_pipeline_state::GetPipelineStateOutput;
    use aws_sdk_codepipeline::operation::retry_stage_execution::RetryStageExecutionOutput;
    use aws_sdk_codepipeline::types::{
        ActionExecution, ActionExecutionStatus, ActionState, StageExecution, StageExecutionStatus,
        StageState,
    };
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    const HEALED: &str = "arn:aws:codeconnections:us-east-1:123456789012:connection/healed";

    /// Clients over these CodePipeline and CodeBuild configurations;
    /// CodeConnections and Account answer nothing.
    fn clients(
        pipelines: aws_sdk_codepipeline::Config,
        projects: aws_sdk_codebuild::Config,
    ) -> ConsumerClients {
        let codestar = mock_client!(aws_sdk_codestarconnections, RuleMode::MatchAny, &[]);
        let account = mock_client!(aws_sdk_account, RuleMode::MatchAny, &[]);
        let catalog = mock_client!(aws_sdk_servicecatalog, RuleMode::MatchAny, &[]);
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[]);
        ConsumerClients::new(crate::aws::consumers::ConsumerConfigs {
            pipelines,
            projects,
            codestar: codestar.config().clone(),
            catalog: catalog.config().clone(),
            account: account.config().clone(),
            iam: iam.config().clone(),
        })
    }

    fn connection(arn: &str, state: AlertState) -> Connection {
        Connection {
            arn: arn.into(),
            lifecycle: Lifecycle {
                state: Some(state),
                first_seen: chrono::DateTime::from_timestamp(FIRST_SEEN, 0),
                last_alerted: None,
            },
            ..Connection::default()
        }
    }

    const MUTED: &str = "arn:aws:codeconnections:us-east-1:123456789012:connection/muted";
    const DELETED: &str = "arn:aws:codeconnections:us-east-1:123456789012:connection/deleted";

    /// A lookup that found `pipelines` pipelines whose Source action
    /// "Source" reads HEALED (named by the older prefix: the same
    /// connection), MUTED and DELETED.
    fn lookup_of(clients: ConsumerClients, pipelines: usize) -> Lookup {
        let uses = (0..pipelines).map(|i| {
            let name = if i == 0 {
                "deploy".into()
            } else {
                format!("deploy-{i:03}")
            };
            let arn = format!("arn:aws:codepipeline:us-east-1:123456789012:{name}");
            let source = |connection: &str| Source {
                connection: connection.to_string(),
                stage: Some("Source".into()),
                action: Some("Source".into()),
                via: None,
                grant: None,
                full_clone_to: None,
            };
            Uses {
                consumer: Consumer::from_arn(ConsumerKind::Pipeline, &arn).unwrap(),
                sources: vec![
                    source(&HEALED.replace(":codeconnections:", ":codestar-connections:")),
                    source(MUTED),
                    source(DELETED),
                ],
                service_role: None,
            }
        });
        Lookup {
            accounts: HashMap::from([("123456789012".to_string(), Some(clients))]),
            uses: uses.collect(),
            coverage: HashMap::new(),
            unread: Vec::new(),
        }
    }

    fn lookup_with(clients: ConsumerClients) -> Lookup {
        lookup_of(clients, 1)
    }

    /// This run's listing: HEALED is AVAILABLE, MUTED still PENDING (its
    /// ignore tag resolved it), DELETED gone.
    fn listed() -> HashMap<String, String> {
        HashMap::from([
            (HEALED.to_string(), "AVAILABLE".to_string()),
            (MUTED.to_string(), "PENDING".to_string()),
        ])
    }

    fn healed(listed: &HashMap<String, String>) -> Healed<'_> {
        Healed {
            listed,
            run_interval: chrono::Duration::hours(1),
        }
    }

    /// GetPipelineState: the Source action failed 10 minutes after the
    /// outage began (`FIRST_SEEN`).
    fn failed_state() -> GetPipelineStateOutput {
        let failed = StageExecution::builder()
            .pipeline_execution_id("e")
            .status(StageExecutionStatus::Failed)
            .build()
            .unwrap();
        let action = ActionState::builder()
            .action_name("Source")
            .latest_execution(
                ActionExecution::builder()
                    .status(ActionExecutionStatus::Failed)
                    .last_status_change(aws_sdk_codepipeline::primitives::DateTime::from_secs(
                        FIRST_SEEN + 600,
                    ))
                    .build(),
            )
            .build();
        GetPipelineStateOutput::builder()
            .stage_states(
                StageState::builder()
                    .stage_name("Source")
                    .latest_execution(failed)
                    .action_states(action)
                    .build(),
            )
            .build()
    }

    const FIRST_SEEN: i64 = 1_764_547_200;

    #[test]
    fn a_coverage_error_keeps_200_characters() {
        for (len, kept) in [(199, 199), (200, 200), (201, 203)] {
            let error = "é".repeat(len);
            let kept_chars = brief(&error, MAX_UNREAD_ERROR_CHARS).chars().count();
            assert_eq!(kept_chars, kept, "{len}");
        }
    }

    fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    #[tokio::test]
    async fn only_healed_connections_restart_their_failed_pipelines() {
        let state =
            mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(failed_state);
        let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution)
            .then_output(|| RetryStageExecutionOutput::builder().build());
        let pipelines = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, &[&state, &retry]);
        let projects = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, &[]);
        let lookup = lookup_with(clients(
            pipelines.config().clone(),
            projects.config().clone(),
        ));
        let mut connections = [
            connection(HEALED, AlertState::Resolved),
            connection(HEALED, AlertState::Ongoing),
            connection(MUTED, AlertState::Resolved),
            connection(DELETED, AlertState::Resolved),
        ];
        let listed = listed();

        lookup
            .recover(&mut connections, &healed(&listed), far())
            .await;

        assert_eq!(
            connections[0].recovery,
            [Recovery {
                pipeline: "deploy".into(),
                region: "us-east-1".into(),
                outcome: Outcome::Retried {
                    stage: "Source".into()
                },
            }]
        );
        assert!(
            connections[1].recovery.is_empty(),
            "still stuck: nothing to restart"
        );
        for (c, says) in [
            (&connections[2], "it is PENDING"),
            (&connections[3], "deleted"),
        ] {
            assert!(c.recovery.is_empty());
            let note = c.recovery_note.as_deref().unwrap_or_default();
            assert!(
                note.starts_with("nothing restarted") && note.contains(says),
                "{note}"
            );
        }
        assert_eq!(
            (state.num_calls(), retry.num_calls()),
            (1, 1),
            "HEALED's only"
        );
    }

    /// At most 50 outcomes a connection, the rest counted, each reason 300
    /// characters at most: 300 pipelines whose retries fail with long errors
    /// still make one message under SNS's limit.
    #[tokio::test]
    async fn outcomes_are_bounded_at_fifty_and_the_message_stays_under_sns_limit() {
        use crate::render::batch::{Batch, Frame};
        use crate::render::message::{render_alerts, SNS_MAX_PUBLISH_BYTES};
        let long = "x".repeat(5000);
        for (pipelines, listed_n, more) in [(49, 49, 0), (50, 50, 0), (51, 50, 1), (300, 50, 250)] {
            let state =
                mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(failed_state);
            let body = format!(r#"{{"__type":"ValidationException","message":"{long}"}}"#);
            let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution)
                .sequence()
                .http_status(400, Some(body))
                .repeatedly()
                .build();
            let pipelines_client =
                mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, &[&state, &retry]);
            let projects = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, &[]);
            let lookup = lookup_of(
                clients(pipelines_client.config().clone(), projects.config().clone()),
                pipelines,
            );
            let mut connections = [connection(HEALED, AlertState::Resolved)];
            let listed = listed();

            lookup
                .recover(&mut connections, &healed(&listed), far())
                .await;

            let c = &connections[0];
            assert_eq!(
                (c.recovery.len(), c.recovery_more),
                (listed_n, more),
                "{pipelines}"
            );
            assert!(c.recovery.iter().all(|r| matches!(&r.outcome,
                Outcome::Failed { reason, .. } if reason.chars().count() <= 303)));
            let frame = Frame {
                account: "123456789012",
                generated_at: chrono::Utc::now(),
                ignore_tag: "connection-watch:ignore",
                unread: &[],
            };
            let batch = Batch {
                connections: &connections,
                hosts: &[],
                syncs: &[],
                access: &[],
            };
            let alerts = render_alerts(&frame, batch, SNS_MAX_PUBLISH_BYTES);
            assert_eq!(alerts.len(), 1, "{pipelines}: one message");
            assert!(alerts[0].publish_size() <= SNS_MAX_PUBLISH_BYTES);
        }
    }

    /// CodePipeline on a local endpoint that accepts connections and answers
    /// each request with no pipelines after `answer_after`, or never (`None`).
    async fn local_codepipeline(
        answer_after: Option<std::time::Duration>,
    ) -> aws_sdk_codepipeline::Config {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let Some(delay) = answer_after else {
                    held.push(socket);
                    continue;
                };
                tokio::spawn(async move {
                    let mut request = vec![0; 65536];
                    let _ = socket.read(&mut request).await;
                    tokio::time::sleep(delay).await;
                    let body = r#"{"pipelines":[]}"#;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        aws_sdk_codepipeline::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_codepipeline::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_codepipeline::config::Credentials::for_tests())
            .endpoint_url(url)
            .build()
    }

    #[tokio::test]
    async fn a_hanging_codepipeline_costs_the_restart_not_the_run() {
        let projects = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, &[]);
        let hanging = clients(local_codepipeline(None).await, projects.config().clone());
        let lookup = lookup_with(hanging);
        let mut connections = [connection(HEALED, AlertState::Resolved)];
        let deadline = Instant::now() + std::time::Duration::from_millis(300);

        let recovered = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            lookup.recover(&mut connections, &healed(&listed()), deadline),
        )
        .await;

        assert!(recovered.is_ok(), "recover returns by its deadline");
        let [Recovery {
            outcome: Outcome::Failed { stage, reason },
            ..
        }] = &connections[0].recovery[..]
        else {
            panic!("{:?}", connections[0].recovery)
        };
        assert_eq!(stage, "Source");
        assert!(
            reason.contains("did not finish before the run's deadline"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn past_the_deadline_no_restart_is_tried_and_each_says_so() {
        let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
            .then_output(|| GetPipelineStateOutput::builder().build());
        let pipelines = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, &[&state]);
        let projects = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, &[]);
        let lookup = lookup_with(clients(
            pipelines.config().clone(),
            projects.config().clone(),
        ));
        let mut connections = [connection(HEALED, AlertState::Resolved)];

        lookup
            .recover(&mut connections, &healed(&listed()), Instant::now())
            .await;

        assert_eq!(state.num_calls(), 0);
        assert!(
            matches!(&connections[0].recovery[..], [Recovery { outcome: Outcome::Failed { reason, .. }, .. }] if reason.contains("not tried")),
            "{:?}",
            connections[0].recovery
        );
    }

    /// The reads reported unread when a 1 s lookup covers five member
    /// accounts, `concurrency` at a time, whose CodePipeline takes 300 ms.
    async fn unread_accounts(concurrency: &str) -> usize {
        use crate::aws::organization::Accounts;
        use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
        let assume = mock!(aws_sdk_sts::Client::assume_role).then_output(|| {
            let expiry = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
            let credentials = aws_sdk_sts::types::Credentials::builder()
                .access_key_id("ASIA")
                .secret_access_key("secret")
                .session_token("token")
                .expiration(expiry.into())
                .build()
                .unwrap();
            AssumeRoleOutput::builder().credentials(credentials).build()
        });
        let codestar = mock_client!(aws_sdk_codestarconnections, RuleMode::MatchAny, &[]);
        let accounts = Accounts::new(
            mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &[]),
            mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&assume]),
            codestar.config().clone(),
            None,
        );
        let pipelines = local_codepipeline(Some(std::time::Duration::from_millis(300))).await;
        let projects = mock!(aws_sdk_codebuild::Client::list_projects).then_output(|| {
            aws_sdk_codebuild::operation::list_projects::ListProjectsOutput::builder().build()
        });
        let projects = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, &[&projects]);
        let clients = clients(pipelines, projects.config().clone());
        let vars = |name: &str| match name {
            "ALERT_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:alerts".to_string()),
            "MONITOR_REGIONS" => Some("us-east-1".into()),
            "ACCOUNTS" => Some("organization".into()),
            "USED_BY" => Some("pipelines,codebuild".into()),
            "USED_BY_REGIONS" => Some("us-east-1".into()),
            "ACCOUNT_CONCURRENCY" => Some(concurrency.into()),
            _ => None,
        };
        let config = MonitorConfig::from_vars(vars, Some("us-east-1")).unwrap();
        let stuck: Vec<Connection> = (2..7)
            .map(|i| {
                let arn = format!("arn:aws:codeconnections:us-east-1:{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}:connection/c");
                connection(&arn, AlertState::New)
            })
            .collect();
        let alerted: Vec<&Connection> = stuck.iter().collect();
        let reach = Reach {
            own_account: "123456789012",
            accounts: Some(&accounts),
            state: None,
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(1);

        let lookup = look_up(&clients, reach, &config, &alerted, deadline).await;

        assert_eq!(lookup.accounts.len(), 5);
        lookup.failures().len()
    }

    /// `ACCOUNT_CONCURRENCY` accounts at a time: five fit a lookup's time
    /// at once that they would not one after another.
    #[tokio::test]
    async fn member_accounts_are_looked_up_at_once() {
        assert_eq!(
            unread_accounts("5").await,
            0,
            "five at once fit the lookup's time"
        );
        assert!(
            unread_accounts("1").await > 0,
            "one after another they do not"
        );
    }
}
