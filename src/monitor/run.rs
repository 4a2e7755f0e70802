//! One monitor run, as orchestration only: parse the request, scan (one
//! account or an organization), decide the lifecycle, publish, and report.

use crate::aws::consumers::ConsumerClients;
use crate::domain::account::AccountScope;
use crate::domain::connection::Connection;
use crate::domain::git_sync::SyncTarget;
use crate::domain::watched::KindUnread;
use crate::monitor::adapters::Adapters;
use crate::monitor::config::MonitorConfig;
use crate::monitor::consumers::scheduled_access::{AccessStage, VerdictStore};
use crate::monitor::consumers::used_by::{self, Healed, Lookup, Reach};
use crate::monitor::decide::{decide, Alerts, Decision};
use crate::monitor::deliver::metrics::run_metrics;
use crate::monitor::deliver::preview::render;
use crate::monitor::deliver::publish::{claim, deliver, Deadlines, Outlets, Published};
use crate::monitor::error::{run_failure, MonitorError, UnreadFailure};
use crate::monitor::event::{InvalidEvent, RunRequest};
use crate::monitor::read::accounts::scan_organization;
use crate::monitor::read::rotation::Start;
use crate::monitor::read::scan::{scan_account, ScanClients, Scanned};
use crate::monitor::report::{Preview, RunReport};
use crate::render::batch::Frame;
use crate::render::message::{render_alerts, SNS_MAX_PUBLISH_BYTES};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// What a run keeps back from its deadline for the lifecycle and the publish:
/// this much, or a quarter of the time, whichever is less.
const PUBLISH_RESERVE: Duration = Duration::from_secs(10);
/// Every call ends this long before Lambda's deadline, so the run still
/// returns its result (and its error) rather than being cut off.
const FINISH_MARGIN: Duration = Duration::from_millis(500);

/// A run that got as far as its report: what it found and published, and
/// the failure it ends in, if any (everything it could see was alerted).
#[derive(Debug)]
pub struct Ran {
    pub report: RunReport,
    pub failure: Option<MonitorError>,
}

impl Ran {
    pub fn into_result(self) -> Result<RunReport, MonitorError> {
        match self.failure {
            None => Ok(self.report),
            Some(e) => Err(e),
        }
    }
}

/// What a request asks of this monitor: a run with its narrowed
/// configuration, or nothing it serves.
enum Planned {
    Run(Box<MonitorConfig>),
    Skip(String),
}

/// The synced stacks of `syncs` that `config` watches (none with
/// GIT_SYNC=false: `sync_regions` is empty then): an event cannot widen it. An event from elsewhere (a rule in an unwatched region, the own
/// region left out of MONITOR_REGIONS) is nothing to serve, not an error
/// that would page and fill the failure queue; `Err`: nothing is left.
fn watched_syncs(config: &MonitorConfig, syncs: &[SyncTarget]) -> Result<Vec<SyncTarget>, String> {
    let watched = config.sync_regions();
    let (inside, outside): (Vec<_>, Vec<_>) = syncs
        .iter()
        .cloned()
        .partition(|t| watched.contains(&t.region));
    if outside.is_empty() {
        return Ok(inside);
    }
    let regions: Vec<&str> = outside.iter().map(|t| t.region.as_str()).collect();
    let reason = format!(
        "syncs names stacks this monitor does not watch (GIT_SYNC={}, Git sync read in {}; \
         skipped: {})",
        config.git_sync,
        watched.join(", "),
        regions.join(", ")
    );
    if inside.is_empty() {
        return Err(reason);
    }
    tracing::warn!(%reason, "part of the request skipped");
    Ok(inside)
}

/// The result of a request skipped for `reason`, logged once here.
fn skipped(reason: String) -> RunReport {
    tracing::warn!(%reason, "request skipped: nothing read");
    RunReport {
        skipped: Some(reason),
        ..RunReport::default()
    }
}

pub struct Monitor {
    config: MonitorConfig,
    adapters: Adapters,
    /// Organization-wide: where the last run was cut off, kept across warm
    /// invocations (and in the state table, where there is one).
    next_start: Mutex<Option<String>>,
    /// The access verdicts, kept across warm invocations (and in the state
    /// table, where there is one).
    verdicts: VerdictStore,
}

impl Monitor {
    pub fn new(config: MonitorConfig, adapters: Adapters) -> Self {
        Self {
            config,
            adapters,
            next_start: Mutex::new(None),
            verdicts: VerdictStore::default(),
        }
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
        let deadline = Instant::now() + remaining.saturating_sub(FINISH_MARGIN);
        let config = match self.config_for(&request)? {
            Planned::Run(config) => config,
            Planned::Skip(reason) => return Ok(skipped(reason)),
        };
        // Boxed: the whole run's future is too deep for the compiler to lay out inline.
        let mut ran = Box::pin(self.run_with(&config, account, now, deadline)).await?;
        let at = Utc::now().timestamp_millis();
        for line in run_metrics(&request, &config, &ran.report, at) {
            println!("{line}"); // where Lambda's log takes them
        }
        if config.dry_run {
            ran.report.look = Some(render(&ran.report, account, &config.own_region));
        }
        log_counts(&ran.report);
        ran.into_result()
    }

    /// The configuration with the request's narrowing applied. Accounts
    /// narrow only an organization-wide scope (and only to accounts in it,
    /// checked once they are discovered): a single-account monitor refuses.
    fn config_for(&self, request: &RunRequest) -> Result<Planned, InvalidEvent> {
        let mut config = self.config.clone();
        if request.regions.is_some() {
            config.regions = request.regions.clone();
        }
        if let Some(dry_run) = request.dry_run {
            config.dry_run |= dry_run;
        }
        if let Some(accounts) = &request.accounts {
            if config.accounts == AccountScope::Own {
                return Err(InvalidEvent(
                    "accounts narrows an organization-wide run, and ACCOUNTS is unset: \
                     this monitor watches its own account only"
                        .into(),
                ));
            }
            config.narrowed_accounts = Some(accounts.clone());
        }
        if let Some(syncs) = &request.syncs {
            match watched_syncs(&self.config, syncs) {
                Ok(inside) => config.narrowed_syncs = Some(inside),
                Err(reason) => return Ok(Planned::Skip(reason)),
            }
        }
        Ok(Planned::Run(Box::new(config)))
    }

    /// One run, finished by `deadline`. `account` names the account in the
    /// alert; listings and tag reads not done by the scan's share of the time
    /// fail their regions, so that the rest is still published. Fails only
    /// when the alert could not be published.
    pub async fn run(
        &self,
        request: &RunRequest,
        account: &str,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<Ran, MonitorError> {
        match self.config_for(request)? {
            Planned::Run(config) => self.run_with(&config, account, now, deadline).await,
            Planned::Skip(reason) => Ok(Ran {
                report: skipped(reason),
                failure: None,
            }),
        }
    }

    /// `run` with the narrowed configuration.
    async fn run_with(
        &self,
        config: &MonitorConfig,
        account: &str,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<Ran, MonitorError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let scan_deadline = deadline - PUBLISH_RESERVE.min(left / 4);
        let Scanned {
            findings,
            organization,
        } = self.scan(config, account, now, scan_deadline).await?;
        log_unread(&findings.unread);
        let mut report = RunReport::from_findings(findings);
        report.git_sync_unavailable = config.git_sync_unavailable();
        let reach = reach(&self.adapters, account);
        let access = AccessStage {
            adapters: &self.adapters,
            verdicts: &self.verdicts,
            reach,
        };
        let found = access.run(config, &mut report, now, deadline).await;
        let deadlines = Deadlines::after_scan(deadline);
        let organization_wide = organization.is_some();
        let (failed_accounts, complete_accounts) = match organization {
            Some(o) => {
                self.remember_start(o.next_start, config, deadlines.state)
                    .await;
                (Some(o.failed), Some(o.complete))
            }
            // Only the own account's records resolve: records of member
            // accounts from organization-wide runs were not looked at.
            None => (
                None,
                (!account.is_empty()).then(|| HashSet::from([account.to_string()])),
            ),
        };
        for f in failed_accounts.iter().flatten() {
            tracing::error!(account = %f.account, error = %f.error, "account failed");
        }
        report.failed_accounts = failed_accounts.clone();

        // A state table that cannot be used costs the lifecycle, never the
        // alert: this run alerts statelessly, then ends in the error.
        let state = self.adapters.state.as_ref();
        let complete = complete_accounts.as_ref();
        let mut decision = decide(state, config, &mut report, complete, now, deadlines.state).await;
        let lookups = Lookups { reach, found };
        let by = deadlines.consumers;
        let clients = self.adapters.consumers.as_ref();
        let lookup = attach_used_by(clients, lookups, config, &mut report, &mut decision, by).await;
        let unread = report.unread.clone();
        let frame = Frame {
            account,
            generated_at: now,
            ignore_tag: &config.ignore_tag,
            unread: &unread,
        };
        let after = AfterDecision {
            frame: &frame,
            lookup: lookup.as_ref(),
            deadlines,
        };
        let published = self
            .publish_or_preview(config, after, &mut report, decision)
            .await?;
        report.messages_published = published.messages;
        report.events_put = published.events;
        let unread = UnreadFailure {
            unread,
            accounts_named: organization_wide,
        };
        let failure = run_failure(published.state_error, failed_accounts, unread);
        Ok(Ran { report, failure })
    }

    /// One account with the function's credentials, or organization-wide.
    async fn scan(
        &self,
        config: &MonitorConfig,
        account: &str,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<Scanned, InvalidEvent> {
        match &self.adapters.accounts {
            // A run for synced stacks comes from a Git sync event of the
            // own account: it reads the own account only.
            Some(accounts) if config.accounts != AccountScope::Own && !config.syncs_only() => {
                let start = self.start(now, deadline).await;
                Box::pin(scan_organization(
                    config, deadline, accounts, account, &start,
                ))
                .await
            }
            _ => {
                let clients = ScanClients {
                    codestar: &self.adapters.codestar,
                    stacks: self.adapters.stacks.as_ref(),
                };
                Ok(Scanned::single(
                    Box::pin(scan_account(config, deadline, clients)).await,
                    account,
                ))
            }
        }
    }
}

/// Where `account`'s run reads consumers: the own account with the
/// function's credentials, members through their role.
fn reach<'a>(adapters: &'a Adapters, account: &'a str) -> Reach<'a> {
    Reach {
        own_account: account,
        accounts: adapters.accounts.as_ref(),
        state: adapters.state.as_ref(),
    }
}

/// Where consumers are read, and what the access stage already read.
struct Lookups<'a> {
    reach: Reach<'a>,
    /// The consumers of every listed connection, when access was checked.
    found: Option<Lookup>,
}

/// Looks up what the alerted connections break, only when a run alerts
/// one (the access stage's lookup of every connection serves, when there
/// is one), and sets `usedBy` wherever they are reported.
async fn attach_used_by(
    clients: Option<&ConsumerClients>,
    lookups: Lookups<'_>,
    config: &MonitorConfig,
    report: &mut RunReport,
    decision: &mut Decision,
    deadline: Instant,
) -> Option<Lookup> {
    let alerted: Vec<&Connection> = decision
        .alerts
        .connections
        .iter()
        .chain(&decision.unclaimed.connections)
        .collect();
    let lookup = match (lookups.found, clients) {
        (Some(found), _) => found,
        (None, Some(clients)) if !alerted.is_empty() => {
            used_by::look_up(clients, lookups.reach, config, &alerted, deadline).await
        }
        (None, _) => return None,
    };
    lookup.attach(&mut decision.alerts.connections);
    lookup.attach(&mut decision.unclaimed.connections);
    lookup.attach(&mut report.stuck);
    if let Some(resolved) = report.resolved.as_mut() {
        lookup.attach(resolved);
    }
    report.used_by_failed = lookup.failures().to_vec();
    Some(lookup)
}

/// What the stages after the lifecycle's decision share.
#[derive(Clone, Copy)]
struct AfterDecision<'a> {
    frame: &'a Frame<'a>,
    lookup: Option<&'a Lookup>,
    deadlines: Deadlines,
}

/// Copies each resolved connection's restarts from the alert to the report.
fn report_recovery(report: &mut RunReport, alerted: &[Connection]) {
    for connection in report.resolved.iter_mut().flatten() {
        if let Some(c) = alerted.iter().find(|c| c.arn == connection.arn) {
            connection.recovery = c.recovery.clone();
            connection.recovery_more = c.recovery_more;
            connection.recovery_note = c.recovery_note.clone();
        }
    }
}

impl Monitor {
    /// Claims, restarts what healed connections had failed (only for the
    /// resolutions this run claimed), publishes, puts events and commits;
    /// or, in a dry run, adds to `report` what would have been published.
    async fn publish_or_preview(
        &self,
        config: &MonitorConfig,
        after: AfterDecision<'_>,
        report: &mut RunReport,
        decision: Decision,
    ) -> Result<Published, MonitorError> {
        let AfterDecision {
            frame,
            lookup,
            deadlines,
        } = after;
        match (&self.adapters.publisher, config.dry_run) {
            (Some(publisher), false) => {
                let outlets = Outlets {
                    publisher,
                    events: self.adapters.events.as_ref(),
                };
                let state = self.adapters.state.as_ref();
                let mut claimed = claim(state, decision, deadlines).await;
                if let Some(lookup) = lookup.filter(|_| config.retry_on_resolved) {
                    let healed = Healed {
                        listed: &report.listed,
                        run_interval: config.run_interval,
                    };
                    let connections = &mut claimed.alerts.connections;
                    lookup
                        .recover(connections, &healed, deadlines.consumers)
                        .await;
                    report_recovery(report, connections);
                }
                let repeat = self.config.repeat_interval;
                deliver(outlets, repeat, frame, claimed, deadlines.finish).await
            }
            _ => {
                tracing::info!(
                    connections = decision.alerts.connections.len(),
                    hosts = decision.alerts.hosts.len(),
                    syncs = decision.alerts.syncs.len(),
                    "dry run: nothing published"
                );
                report.preview = Some(preview(frame, &decision.alerts));
                Ok(Published {
                    messages: 0,
                    events: None,
                    state_error: decision.state_error,
                })
            }
        }
    }

    /// Where an organization-wide run starts: where the last one was cut
    /// off (this process's memory, else the state table's), else a place
    /// derived from the time.
    async fn start(&self, now: DateTime<Utc>, deadline: Instant) -> Start {
        let remembered = self.lock_start().clone();
        let stored = match (&remembered, &self.adapters.state) {
            (None, Some(state)) => match timeout_at(deadline, state.load_cursor()).await {
                Ok(Ok(cursor)) => cursor,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "account cursor not read; starting from the time");
                    None
                }
                Err(_) => None,
            },
            _ => None,
        };
        remembered
            .or(stored)
            .map_or_else(|| Start::from_time(now.timestamp()), Start::At)
    }

    /// Keeps where the next run starts: in this process, and (not in a dry
    /// run, which writes nothing) in the state table.
    async fn remember_start(
        &self,
        next: Option<String>,
        config: &MonitorConfig,
        deadline: Instant,
    ) {
        *self.lock_start() = next.clone();
        if let Some(state) = self.adapters.state.as_ref().filter(|_| !config.dry_run) {
            match timeout_at(deadline, state.save_cursor(next.as_deref())).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "account cursor not saved"),
                Err(_) => tracing::warn!("account cursor not saved before the deadline"),
            }
        }
    }

    fn lock_start(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.next_start.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a dry run would have published: each message's subject and email text.
fn preview(frame: &Frame<'_>, alerts: &Alerts) -> Vec<Preview> {
    render_alerts(frame, alerts.batch(), SNS_MAX_PUBLISH_BYTES)
        .iter()
        .map(|alert| Preview {
            subject: alert.subject.clone(),
            text: alert.email_text(),
        })
        .collect()
}

fn log_unread(unread: &[KindUnread]) {
    for unread in unread {
        tracing::error!(
            account = %unread.account,
            region = unread.region.as_deref().unwrap_or("every region"),
            kind = unread.kind.as_str(),
            error = %unread.error,
            "not read"
        );
    }
}

/// Counts only: the full report is the invocation's result, and a log
/// event over 256 KB would be cut by CloudWatch.
fn log_counts(report: &RunReport) {
    tracing::info!(
        scanned = report.scanned,
        listed_from = ?report.listed_from,
        stuck = report.stuck.len(),
        hosts_scanned = report.hosts_scanned,
        stuck_hosts = report.stuck_hosts.len(),
        syncs_scanned = ?report.syncs_scanned,
        stuck_syncs = report.stuck_syncs.len(),
        denied_consumers = report.access_findings().len(),
        ignored = report.ignored,
        failed_regions = ?report.failed_regions,
        unread = report.unread.len(),
        messages_published = report.messages_published,
        "run finished"
    );
}
