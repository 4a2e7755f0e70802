//! One monitor run: list the account's connections once and the watched
//! regions' hosts, concurrently; read the tags of what is stuck in its home
//! region; apply the lifecycle; publish; report.

use crate::accounts::{Account, Accounts, AccountsError};
use crate::alert::{render_alerts, Stuck, SNS_MAX_PUBLISH_BYTES};
use crate::codestar::{CodestarClients, CodestarError, Connections};
use crate::config::{AccountScope, MonitorConfig};
use crate::connection::{partition_of, Connection, ResourceArn};
use crate::event::{InvalidEvent, RunRequest};
use crate::host::Host;
use crate::lifecycle::{self, Change, Record};
use crate::metrics::{emf_lines, Watched as MetricScope};
use crate::publish::{AlertPublisher, PublishError};
use crate::selection::{
    is_candidate, is_host_candidate, is_ignored, note_host_status, FailedAccount, Findings,
    RunReport,
};
use crate::state::{StateError, StateTable};
use crate::watched::Watched;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Semaphore;
use tokio::task::{Id, JoinSet};
use tokio::time::{timeout_at, Instant};

/// Tag reads in flight per region: CodeConnections' request-rate quotas are
/// per account and region, and ListTagsForResource shares them with
/// everything else.
const TAG_READS_IN_FLIGHT: usize = 8;
/// Where the connection listing falls over to when the own region's fails
/// and MONITOR_REGIONS names no other region: any region lists them all.
const FALLBACK_REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];
/// What a run keeps back from its deadline for the lifecycle and the publish:
/// this much, or a quarter of the time, whichever is less.
const PUBLISH_RESERVE: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum MonitorError {
    #[error(transparent)]
    InvalidEvent(#[from] InvalidEvent),
    #[error("{0}")]
    Publish(#[from] PublishError),
    /// The state table could not be used; everything stuck was still alerted.
    #[error("{error}")]
    State {
        report: Box<RunReport>,
        error: StateError,
    },
    #[error("could not scan {}; everything else was scanned and alerted", describe(.failures))]
    RegionsFailed {
        report: Box<RunReport>,
        failures: Vec<(String, CodestarError)>,
    },
    #[error("could not scan accounts {}; every other account was scanned and alerted", describe_accounts(.report))]
    AccountsFailed { report: Box<RunReport> },
}

impl From<MonitorError> for lambda_runtime::Diagnostic {
    fn from(e: MonitorError) -> Self {
        let error_type = match &e {
            MonitorError::InvalidEvent(_) => "InvalidEvent",
            MonitorError::Publish(_) => "PublishFailed",
            MonitorError::State { .. } => "StateFailed",
            MonitorError::RegionsFailed { .. } => "RegionsFailed",
            MonitorError::AccountsFailed { .. } => "AccountsFailed",
        };
        Self {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

fn describe_accounts(report: &RunReport) -> String {
    report
        .failed_accounts
        .iter()
        .flatten()
        .map(|f| format!("{} ({})", f.account, f.error))
        .collect::<Vec<_>>()
        .join("; ")
}

fn describe(failures: &[(String, CodestarError)]) -> String {
    failures
        .iter()
        .map(|(region, e)| format!("{region} ({e})"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The AWS adapters a monitor works through, built once at start-up
/// (`clients::monitor_adapters`) or from mocks in tests.
#[derive(Clone, Debug)]
pub struct Adapters {
    pub codestar: CodestarClients,
    /// `None` in a dry-run configuration without a topic.
    pub publisher: Option<AlertPublisher>,
    /// `None`: stateless, every run alerts everything stuck.
    pub state: Option<StateTable>,
    /// Organization-wide (`ACCOUNTS` set): discovery and each account's clients.
    pub accounts: Option<Accounts>,
}

pub struct Monitor {
    config: MonitorConfig,
    adapters: Adapters,
}

/// How many tag reads each region has in flight, shared by a run's listings.
#[derive(Clone, Default)]
struct InFlight(Arc<std::sync::Mutex<HashMap<String, Arc<Semaphore>>>>);

impl InFlight {
    fn region(&self, region: &str) -> Arc<Semaphore> {
        let mut regions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        regions
            .entry(region.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(TAG_READS_IN_FLIGHT)))
            .clone()
    }
}

/// Tag reads of stuck ones, started as soon as each is found.
struct TagReads<T> {
    in_flight: InFlight,
    reads: JoinSet<(T, Result<Option<crate::watched::Tags>, CodestarError>)>,
    /// The region of each read not yet finished.
    pending: HashMap<Id, String>,
}

/// What the tag reads decided.
struct Tagged<T> {
    stuck: Vec<T>,
    ignored: usize,
    failures: Vec<(String, CodestarError)>,
}

impl<T: Watched + Send + 'static> TagReads<T> {
    fn new(in_flight: InFlight) -> Self {
        Self {
            in_flight,
            reads: JoinSet::new(),
            pending: HashMap::new(),
        }
    }

    /// Reads `item`'s tags through `client`, its home region's.
    fn spawn(&mut self, item: T, client: Connections) {
        let region = item.region().to_string();
        let in_flight = self.in_flight.region(&region);
        let handle = self.reads.spawn(async move {
            let _permit = in_flight.acquire_owned().await;
            let tags = client.tags(item.arn()).await;
            (item, tags)
        });
        self.pending.insert(handle.id(), region);
    }

    /// Waits for the reads until `deadline`; a read not done by then fails
    /// its region (dropping the set cancels it).
    async fn finish(mut self, ignore_tag: &str, deadline: Instant) -> Tagged<T> {
        let mut tagged = Tagged {
            stuck: Vec::new(),
            ignored: 0,
            failures: Vec::new(),
        };
        loop {
            let read = match timeout_at(deadline, self.reads.join_next_with_id()).await {
                Ok(Some(read)) => read,
                Ok(None) => break,
                Err(_) => {
                    let mut late: Vec<String> = self.pending.into_values().collect();
                    late.sort();
                    late.dedup();
                    for region in late {
                        let timed_out = CodestarError::TimedOut {
                            operation: "ListTagsForResource",
                        };
                        tagged.failures.push((region, timed_out));
                    }
                    break;
                }
            };
            let (id, (item, tags)) =
                read.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            self.pending.remove(&id);
            match tags {
                // Deleted between the listing and the tag read: nothing to alert.
                Ok(None) => {}
                Ok(Some(tags)) if is_ignored(&tags, ignore_tag) => tagged.ignored += 1,
                Ok(Some(_)) => tagged.stuck.push(item),
                Err(e) => tagged.failures.push((item.region().to_string(), e)),
            }
        }
        tagged
    }
}

/// The connection listing of one run.
struct ConnectionScan {
    listed_from: Option<String>,
    scanned: BTreeMap<String, usize>,
    tagged: Tagged<Connection>,
    /// Listings that failed; they fail the run only when none succeeded.
    listing_failures: Vec<(String, CodestarError)>,
}

/// One region's hosts.
struct HostScan {
    scanned: usize,
    statuses: HashMap<String, String>,
    tagged: Tagged<Host>,
}

impl Monitor {
    pub fn new(config: MonitorConfig, adapters: Adapters) -> Self {
        Self { config, adapters }
    }

    /// Serves one invocation: parse the event, run, log the metrics and the
    /// report. `function_arn` names the account in the alert; `remaining` is
    /// the time left before the Lambda deadline.
    pub async fn handle(
        &self,
        event: &Value,
        function_arn: &str,
        remaining: Duration,
    ) -> Result<RunReport, MonitorError> {
        let request = RunRequest::from_event(event, Utc::now())?;
        let now = request.time.unwrap_or_else(Utc::now);
        let account = function_arn.split(':').nth(4).unwrap_or_default();
        let scan_deadline = Instant::now() + remaining - PUBLISH_RESERVE.min(remaining / 4);
        // Boxed: the whole run's future is too deep for the compiler to lay out inline.
        let result = Box::pin(self.run(&request, account, now, scan_deadline)).await;
        let report = match &result {
            Ok(report) => report,
            Err(
                MonitorError::RegionsFailed { report, .. }
                | MonitorError::AccountsFailed { report }
                | MonitorError::State { report, .. },
            ) => report,
            Err(_) => return result,
        };
        let host_regions: Vec<String> = self
            .config_for(&request)
            .host_regions()
            .into_iter()
            .filter(|r| !report.failed_regions.contains(r))
            .collect();
        let scope = MetricScope {
            statuses: &self.config.statuses,
            host_statuses: &self.config.host_statuses,
            host_regions: &host_regions,
        };
        for line in emf_lines(report, &scope, Utc::now().timestamp_millis()) {
            println!("{line}");
        }
        // Counts only: the full report is the invocation's result, and a log
        // event over 256 KB would be cut by CloudWatch.
        tracing::info!(
            scanned = report.scanned,
            listed_from = ?report.listed_from,
            stuck = report.stuck.len(),
            hosts_scanned = report.hosts_scanned,
            stuck_hosts = report.stuck_hosts.len(),
            ignored = report.ignored,
            failed_regions = ?report.failed_regions,
            messages_published = report.messages_published,
            "run finished"
        );
        result
    }

    /// The configuration with the request's narrowing applied.
    fn config_for(&self, request: &RunRequest) -> MonitorConfig {
        let mut config = self.config.clone();
        if request.regions.is_some() {
            config.regions = request.regions.clone();
        }
        if let Some(dry_run) = request.dry_run {
            config.dry_run |= dry_run;
        }
        if let Some(accounts) = &request.accounts {
            config.accounts = AccountScope::List(accounts.clone());
        }
        config
    }

    /// One run. `account` names the account in the alert; listings and tag
    /// reads not done by `scan_deadline` fail their regions, so that the rest
    /// is still published before Lambda's deadline.
    pub async fn run(
        &self,
        request: &RunRequest,
        account: &str,
        now: DateTime<Utc>,
        scan_deadline: Instant,
    ) -> Result<RunReport, MonitorError> {
        let config = self.config_for(request);
        let (findings, failures, failed_accounts, complete) = match &self.adapters.accounts {
            Some(accounts) if config.accounts != AccountScope::Own => {
                let (findings, failed, complete) =
                    Box::pin(self.find_accounts(&config, scan_deadline, accounts, account)).await;
                (findings, Vec::new(), Some(failed), Some(complete))
            }
            _ => {
                let (findings, failures) =
                    Box::pin(self.find(&config, scan_deadline, &self.adapters.codestar)).await;
                (findings, failures, None, None)
            }
        };
        for (region, e) in &failures {
            tracing::error!(region = %region, error = %e, "region failed");
        }
        let mut report = RunReport::from_findings(findings);
        if let Some(failed) = &failed_accounts {
            for f in failed {
                tracing::error!(account = %f.account, error = %f.error, "account failed");
            }
            report.failed_accounts = Some(failed.clone());
        }

        // A state table that cannot be used costs the lifecycle, never the
        // alert: this run alerts statelessly, then ends in the error.
        let mut state_error = None;
        let (alerts, changes) = self
            .lifecycle(
                &config,
                &mut report,
                now,
                complete.as_ref(),
                &mut state_error,
            )
            .await;
        match (&self.adapters.publisher, config.dry_run) {
            (Some(publisher), false) => {
                report.messages_published = self
                    .publish(publisher, account, now, alerts, changes, &mut state_error)
                    .await?;
            }
            _ => tracing::info!(
                connections = alerts.0.len(),
                hosts = alerts.1.len(),
                "dry run: nothing published"
            ),
        }

        if let Some(error) = state_error {
            return Err(MonitorError::State {
                report: Box::new(report),
                error,
            });
        }
        if failed_accounts.as_ref().is_some_and(|f| !f.is_empty()) {
            return Err(MonitorError::AccountsFailed {
                report: Box::new(report),
            });
        }
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(MonitorError::RegionsFailed {
                report: Box::new(report),
                failures,
            })
        }
    }

    /// Scans each account (at most `account_concurrency` at once) through
    /// its clients, and marks what it finds with the account. An account
    /// that cannot be entered, or whose scan fails anywhere, is a failed
    /// account; what it found is still alerted. Also returns the accounts
    /// scanned completely: only their records can resolve.
    async fn find_accounts(
        &self,
        config: &MonitorConfig,
        deadline: Instant,
        accounts: &Accounts,
        own: &str,
    ) -> (Findings, Vec<FailedAccount>, HashSet<String>) {
        let mut failed = Vec::new();
        let discovered = timeout_at(
            deadline,
            accounts.discover(&config.accounts, &config.exclude_accounts, own),
        )
        .await
        .unwrap_or_else(|_| {
            Err(AccountsError::Discover(
                "no answer before the run's deadline".into(),
            ))
        });
        let scanned = match discovered {
            Ok(scanned) => scanned,
            Err(e) => {
                // The own account is still watched with its own credentials.
                failed.push(FailedAccount {
                    account: "organization".into(),
                    error: e.to_string(),
                });
                vec![Account {
                    id: own.to_string(),
                    name: None,
                }]
            }
        };
        let partition = partition_of(&self.adapters.codestar.own_region());
        let scans = scanned.iter().map(|account| async move {
            let clients = timeout_at(
                deadline,
                accounts.clients(&account.id, own, &config.member_role_name, partition),
            )
            .await;
            let outcome = match clients {
                Ok(Ok(clients)) => Ok(self.find(config, deadline, &clients).await),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("sts:AssumeRole did not finish before the run's deadline".into()),
            };
            (account, outcome)
        });
        let mut outcomes: Vec<_> = stream::iter(scans)
            .buffer_unordered(config.account_concurrency)
            .collect()
            .await;
        outcomes.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let mut findings = Findings {
            accounts: Some(scanned.len()),
            ..Findings::default()
        };
        let mut complete = HashSet::new();
        for (account, outcome) in outcomes {
            match outcome {
                Err(error) => failed.push(FailedAccount {
                    account: account.id.clone(),
                    error,
                }),
                Ok((mut found, failures)) => {
                    if failures.is_empty() {
                        complete.insert(account.id.clone());
                    } else {
                        failed.push(FailedAccount {
                            account: account.id.clone(),
                            error: format!("could not scan {}", describe(&failures)),
                        });
                    }
                    found.mark_account(&account.id, account.name.as_deref());
                    findings.merge(found);
                }
            }
        }
        (findings, failed, complete)
    }

    /// Lists connections and hosts concurrently and reads the tags of what
    /// is stuck. Returns what was found and each region that failed.
    async fn find(
        &self,
        config: &MonitorConfig,
        deadline: Instant,
        codestar: &CodestarClients,
    ) -> (Findings, Vec<(String, CodestarError)>) {
        let in_flight = InFlight::default();
        let host_scans = config.host_regions().into_iter().map(|region| {
            let in_flight = in_flight.clone();
            async move {
                let scan = self
                    .scan_hosts(config, &region, in_flight, deadline, codestar)
                    .await;
                (region, scan)
            }
        });
        let (connections, hosts) = tokio::join!(
            self.scan_connections(config, in_flight.clone(), deadline, codestar),
            futures_util::future::join_all(host_scans)
        );

        let mut findings = Findings {
            listed_from: connections.listed_from.clone(),
            scanned: connections.scanned,
            ignored: connections.tagged.ignored,
            ..Findings::default()
        };
        let mut failures = Vec::new();
        if connections.listed_from.is_none() {
            failures.extend(connections.listing_failures);
        } else {
            for (region, e) in connections.listing_failures {
                tracing::warn!(%region, error = %e, "connection listing failed; fell over to another region");
            }
        }
        failures.extend(connections.tagged.failures);
        let mut host_statuses = HashMap::new();
        for (region, scan) in hosts {
            match scan {
                Ok(scan) => {
                    findings.hosts_scanned.insert(region, scan.scanned);
                    findings.ignored += scan.tagged.ignored;
                    findings.stuck_hosts.extend(scan.tagged.stuck);
                    failures.extend(scan.tagged.failures);
                    host_statuses.extend(scan.statuses);
                }
                Err(e) => failures.push((region, e)),
            }
        }
        findings.stuck = connections.tagged.stuck;
        note_host_status(&mut findings.stuck, &host_statuses);
        for (region, _) in &failures {
            if !findings.failed_regions.contains(region) {
                findings.failed_regions.push(region.clone());
            }
        }
        (findings, failures)
    }

    /// Where the one listing is tried, in order: the own region, then one
    /// other (any region lists every connection).
    fn listing_regions(&self, config: &MonitorConfig) -> Vec<String> {
        let own = &config.own_region;
        let other = config
            .regions
            .iter()
            .flatten()
            .map(String::as_str)
            .chain(FALLBACK_REGIONS)
            .find(|r| r != own);
        std::iter::once(own.as_str())
            .chain(other)
            .map(str::to_string)
            .collect()
    }

    /// Lists the account's connections once, de-duplicated by ARN, and reads
    /// the tags of each watched stuck one as soon as its page arrives, so tag
    /// reads overlap the remaining pages.
    async fn scan_connections(
        &self,
        config: &MonitorConfig,
        in_flight: InFlight,
        deadline: Instant,
        codestar: &CodestarClients,
    ) -> ConnectionScan {
        let mut tag_reads = TagReads::new(in_flight);
        let mut seen = HashSet::new();
        let mut scanned: BTreeMap<String, usize> = BTreeMap::new();
        let mut listing_failures = Vec::new();
        let mut listed_from = None;
        for region in self.listing_regions(config) {
            let client = codestar.in_region(&region);
            let walk = client.for_each_page(|page| {
                for c in page {
                    // A fall-over walk sees what the failed one saw.
                    if !config.watches(&c.region) || !seen.insert(c.arn.clone()) {
                        continue;
                    }
                    *scanned.entry(c.region.clone()).or_default() += 1;
                    if is_candidate(&c, config) {
                        let client = codestar.for_arn(&c.arn);
                        tag_reads.spawn(c, client);
                    }
                }
            });
            let listing =
                timeout_at(deadline, walk)
                    .await
                    .unwrap_or(Err(CodestarError::TimedOut {
                        operation: "ListConnections",
                    }));
            match listing {
                Ok(()) => {
                    listed_from = Some(region);
                    break;
                }
                Err(e) => listing_failures.push((region, e)),
            }
        }
        ConnectionScan {
            listed_from,
            scanned,
            tagged: tag_reads.finish(&config.ignore_tag, deadline).await,
            listing_failures,
        }
    }

    /// One region's hosts (hosts are regional), and the tags of stuck ones.
    async fn scan_hosts(
        &self,
        config: &MonitorConfig,
        region: &str,
        in_flight: InFlight,
        deadline: Instant,
        codestar: &CodestarClients,
    ) -> Result<HostScan, CodestarError> {
        let client = codestar.in_region(region);
        let hosts =
            timeout_at(deadline, client.hosts())
                .await
                .unwrap_or(Err(CodestarError::TimedOut {
                    operation: "ListHosts",
                }))?;
        let mut tag_reads = TagReads::new(in_flight);
        let statuses = hosts
            .iter()
            .map(|h| (h.arn.clone(), h.status.clone()))
            .collect();
        let scanned = hosts.len();
        for host in hosts.into_iter().filter(|h| is_host_candidate(h, config)) {
            tag_reads.spawn(host, client.clone());
        }
        Ok(HostScan {
            scanned,
            statuses,
            tagged: tag_reads.finish(&config.ignore_tag, deadline).await,
        })
    }

    /// What to alert and, with a state table, what to remember: without one
    /// (or when it cannot be read: `state_error`), everything stuck; with
    /// one, the lifecycle's plans, recorded in `report`.
    async fn lifecycle(
        &self,
        config: &MonitorConfig,
        report: &mut RunReport,
        now: DateTime<Utc>,
        complete_accounts: Option<&HashSet<String>>,
        state_error: &mut Option<StateError>,
    ) -> ((Vec<Connection>, Vec<Host>), Vec<Change>) {
        let stateless = |report: &RunReport| {
            (
                (report.stuck.clone(), report.stuck_hosts.clone()),
                Vec::new(),
            )
        };
        let Some(state) = &self.adapters.state else {
            return stateless(report);
        };
        let stored = match state.load().await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(error = %e, "state table unusable: alerting everything stuck");
                *state_error = Some(e);
                return stateless(report);
            }
        };
        let failed = &report.failed_regions;
        let connections_listed = report.listed_from.is_some();
        // Organization-wide, a record resolves only in an account scanned completely.
        let account_complete = |arn: &str| {
            complete_accounts.is_none_or(|complete| {
                ResourceArn::parse(arn).is_some_and(|a| complete.contains(a.account))
            })
        };
        let connections = lifecycle::plan(
            &Record::all_from(&stored),
            &report.stuck,
            |c: &Connection| {
                connections_listed
                    && config.watches(&c.region)
                    && !failed.contains(&c.region)
                    && account_complete(&c.arn)
            },
            now,
            config.repeat_interval,
        );
        let host_regions = config.host_regions();
        let hosts = lifecycle::plan(
            &Record::all_from(&stored),
            &report.stuck_hosts,
            |h: &Host| {
                host_regions.contains(&h.region)
                    && !failed.contains(&h.region)
                    && account_complete(&h.arn)
            },
            now,
            config.repeat_interval,
        );
        report.stuck = connections.stuck;
        report.suppressed = Some(connections.suppressed);
        report.resolved = Some(connections.resolved.clone());
        report.stuck_hosts = hosts.stuck;
        report.suppressed_hosts = Some(hosts.suppressed);
        report.resolved_hosts = Some(hosts.resolved.clone());
        (
            (
                connections
                    .alert
                    .into_iter()
                    .chain(connections.resolved)
                    .collect(),
                hosts.alert.into_iter().chain(hosts.resolved).collect(),
            ),
            connections
                .changes
                .into_iter()
                .chain(hosts.changes)
                .collect(),
        )
    }

    /// Publishes the alerts; with a usable state table, claims the records
    /// first (dropping what an overlapping run holds), and commits them only
    /// after every message went out. A claim or commit that fails is kept in
    /// `state_error`; the alert still goes out. Returns the number of messages.
    async fn publish(
        &self,
        publisher: &AlertPublisher,
        account: &str,
        now: DateTime<Utc>,
        (mut connections, mut hosts): (Vec<Connection>, Vec<Host>),
        mut changes: Vec<Change>,
        state_error: &mut Option<StateError>,
    ) -> Result<usize, MonitorError> {
        let run_id = format!(
            "{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        let mut state = self
            .adapters
            .state
            .as_ref()
            .filter(|_| state_error.is_none());
        let claimed = match state {
            Some(state) => match state.claim(&changes, &run_id).await {
                Ok(held) => Some(held),
                Err(e) => {
                    tracing::error!(error = %e, "claims failed: alerting without the lifecycle's records");
                    state.release(&changes, &run_id).await;
                    *state_error = Some(e);
                    None
                }
            },
            None => None,
        };
        if claimed.is_none() {
            state = None;
        }
        if let Some(held) = claimed {
            let taken: HashSet<String> = changes
                .iter()
                .zip(&held)
                .filter(|(_, held)| !**held)
                .map(|(change, _)| change.arn().to_string())
                .collect();
            if !taken.is_empty() {
                tracing::info!(
                    count = taken.len(),
                    "left to an overlapping run, or changed since read"
                );
                connections.retain(|c| !taken.contains(&c.arn));
                hosts.retain(|h| !taken.contains(&h.arn));
                changes.retain(|c| !taken.contains(c.arn()));
            }
        }
        let stuck = Stuck {
            connections: &connections,
            hosts: &hosts,
        };
        let mut published = 0;
        for alert in render_alerts(account, now, stuck, SNS_MAX_PUBLISH_BYTES) {
            match publisher.publish(&alert).await {
                Ok(id) => {
                    published += 1;
                    tracing::info!(message_id = %id, subject = %alert.subject, topic = publisher.topic_arn(), "alert published");
                }
                Err(e) => {
                    if let Some(state) = state {
                        state.release(&changes, &run_id).await;
                    }
                    return Err(e.into());
                }
            }
        }
        if let Some(state) = state {
            if let Err(e) = state.commit(&changes, self.config.repeat_interval).await {
                *state_error = Some(e);
            }
        }
        Ok(published)
    }
}
