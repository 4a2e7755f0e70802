//! The lifecycle stage: from what the state table remembers and what the
//! scan found, what this run alerts and what it will remember.

pub mod select;

use crate::aws::state::{Loaded, StateError, StateTable, Writes};
use crate::domain::arn::account_in;
use crate::domain::connection::Connection;
use crate::domain::denied::DeniedConsumer;
use crate::domain::git_sync::SyncedStack;
use crate::domain::host::Host;
use crate::domain::lifecycle::{self, Change, Plan, Record};
use crate::monitor::config::MonitorConfig;
use crate::monitor::decide::select::Selected;
use crate::monitor::report::RunReport;
use crate::render::batch::Batch;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use tokio::time::{timeout_at, Instant};

/// What one run alerts, each kind in the alert's order.
#[derive(Clone, Debug, Default)]
pub struct Alerts {
    pub connections: Vec<Connection>,
    pub hosts: Vec<Host>,
    pub syncs: Vec<SyncedStack>,
    pub access: Vec<DeniedConsumer>,
}

impl Alerts {
    /// What the renderers take.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            connections: &self.connections,
            hosts: &self.hosts,
            syncs: &self.syncs,
            access: &self.access,
        }
    }
}

/// What the lifecycle decided: what to alert, and what to remember once
/// the alert went out. `state_error`: the table could not be read, so this
/// run alerts everything stuck and remembers nothing.
pub struct Decision {
    pub alerts: Alerts,
    pub changes: Vec<Change>,
    pub state_error: Option<StateError>,
    /// With a state table: everything stuck, what is alerted instead when
    /// the records cannot be claimed (nothing is held back then).
    pub unclaimed: Alerts,
}

/// Without a state table (or when it cannot be read), everything stuck;
/// with one, the lifecycle's plans, recorded in `report`.
pub async fn decide(
    state: Option<&StateTable>,
    config: &MonitorConfig,
    report: &mut RunReport,
    complete_accounts: Option<&HashSet<String>>,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Decision {
    let stateless = |report: &RunReport, state_error| Decision {
        alerts: Alerts {
            connections: report.stuck.clone(),
            hosts: report.stuck_hosts.clone(),
            syncs: report.stuck_syncs.clone(),
            access: report.access_findings().to_vec(),
        },
        changes: Vec::new(),
        state_error,
        unclaimed: Alerts::default(),
    };
    let Some(state) = state else {
        return stateless(report, None);
    };
    let loaded = timeout_at(deadline, state.load(Writes::unless_dry(config.dry_run)))
        .await
        .unwrap_or_else(|_| Err(state.timed_out("Scan")));
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::error!(error = %e, "state table unusable: alerting everything stuck");
            return stateless(report, Some(e));
        }
    };
    // Organization-wide, a record resolves only in an account scanned completely.
    let scope = PlanScope {
        loaded: &loaded,
        config,
        complete_accounts,
        now,
    };
    let mut changes = Vec::new();
    let connections = record(scope.plan(&report.stuck, report), &mut changes);
    let hosts = record(scope.plan(&report.stuck_hosts, report), &mut changes);
    let syncs = record(scope.plan(&report.stuck_syncs, report), &mut changes);
    let access = record(scope.plan(report.access_findings(), report), &mut changes);
    let unclaimed = Alerts {
        connections: connections.stuck.clone(),
        hosts: hosts.stuck.clone(),
        syncs: syncs.stuck.clone(),
        access: access.stuck.clone(),
    };
    report.stuck = connections.stuck;
    report.suppressed = Some(connections.suppressed);
    report.resolved = Some(connections.resolved.clone());
    report.stuck_hosts = hosts.stuck;
    report.suppressed_hosts = Some(hosts.suppressed);
    report.resolved_hosts = Some(hosts.resolved.clone());
    report.stuck_syncs = syncs.stuck;
    report.suppressed_syncs = Some(syncs.suppressed);
    report.resolved_syncs = Some(syncs.resolved.clone());
    // Access not checked: nothing of it is reported, not even as empty.
    if let Some(found) = report.access.as_mut() {
        found.access_findings = access.stuck;
        report.suppressed_access = Some(access.suppressed);
        report.resolved_access = Some(access.resolved.clone());
    }
    Decision {
        alerts: Alerts {
            connections: alerted(connections.alert, connections.resolved),
            hosts: alerted(hosts.alert, hosts.resolved),
            syncs: alerted(syncs.alert, syncs.resolved),
            access: alerted(access.alert, access.resolved),
        },
        changes,
        state_error: None,
        unclaimed,
    }
}

/// What one kind alerts: the due ones, then the resolved ones.
fn alerted<T>(alert: Vec<T>, resolved: Vec<T>) -> Vec<T> {
    alert.into_iter().chain(resolved).collect()
}

/// What every kind's plan reads.
struct PlanScope<'a> {
    loaded: &'a Loaded,
    config: &'a MonitorConfig,
    complete_accounts: Option<&'a HashSet<String>>,
    now: DateTime<Utc>,
}

impl PlanScope<'_> {
    /// One kind's plan: only what this run covered can resolve, and a
    /// record this version cannot read is replaced rather than left to
    /// silence its object.
    fn plan<T: Selected>(&self, stuck: &[T], report: &RunReport) -> Plan<T> {
        let account_complete = |arn: &str| {
            self.complete_accounts.is_none_or(|complete| {
                account_in(arn).is_some_and(|account| complete.contains(account))
            })
        };
        let mut plan = lifecycle::plan(
            &Record::all_from(&self.loaded.records),
            stuck,
            |item: &T| item.was_covered(self.config, report) && account_complete(item.arn()),
            self.now,
            self.config.repeat_interval,
        );
        let mut unreadable = Record::<T>::unreadable(&self.loaded.records);
        unreadable.extend(self.loaded.unreadable.iter().cloned());
        lifecycle::replace_unreadable(&mut plan.changes, &unreadable);
        plan
    }
}

/// Moves a plan's changes into `changes`, kind after kind.
fn record<T>(mut plan: Plan<T>, changes: &mut Vec<Change>) -> Plan<T> {
    changes.append(&mut plan.changes);
    plan
}
