//! What one run found and the run report built from it. Pure: no I/O.

use crate::aws::codestar::CodestarError;
use crate::domain::connection::Connection;
use crate::domain::consumer::Unread;
use crate::domain::git_sync::SyncedStack;
use crate::domain::host::Host;
use crate::domain::watched::Watched;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What one run found, before the lifecycle and the publish.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// The region the connection listing came from; `None`: no listing succeeded.
    pub listed_from: Option<String>,
    /// Watched connections listed, by home region.
    pub scanned: BTreeMap<String, usize>,
    pub stuck: Vec<Connection>,
    /// Hosts listed, by region (only the regions whose listing succeeded).
    pub hosts_scanned: BTreeMap<String, usize>,
    pub stuck_hosts: Vec<Host>,
    /// Synced stacks read, by region (only the regions whose Git sync
    /// reads succeeded); `None`: Git sync was not read (`GIT_SYNC=false`).
    pub syncs_scanned: Option<BTreeMap<String, usize>>,
    pub stuck_syncs: Vec<SyncedStack>,
    pub ignored: usize,
    /// Regions that failed, in the order they failed, each once.
    pub failed_regions: Vec<String>,
    /// Organization-wide: how many accounts were scanned.
    pub accounts: Option<usize>,
    /// With `RETRY_ON_RESOLVED`: each listed connection's status, by ARN
    /// (what tells a healed connection from a deleted or muted one).
    pub listed: HashMap<String, String>,
}

impl Findings {
    /// Marks everything found as belonging to `account`.
    pub fn mark_account(&mut self, account: &str, name: Option<&str>) {
        for c in &mut self.stuck {
            c.account = Some(account.to_string());
            c.account_name = name.map(str::to_string);
        }
        for h in &mut self.stuck_hosts {
            h.account = Some(account.to_string());
            h.account_name = name.map(str::to_string);
        }
        for s in &mut self.stuck_syncs {
            s.account = Some(account.to_string());
            s.account_name = name.map(str::to_string);
        }
    }

    /// Adds another account's findings: counts per region add up. Its
    /// failed regions are not taken: a failed account stands for them, and
    /// they must not keep other accounts' records of those regions from resolving.
    pub fn merge(&mut self, other: Findings) {
        self.listed_from = self.listed_from.take().or(other.listed_from);
        for (region, n) in other.scanned {
            *self.scanned.entry(region).or_default() += n;
        }
        for (region, n) in other.hosts_scanned {
            *self.hosts_scanned.entry(region).or_default() += n;
        }
        if let Some(other) = other.syncs_scanned {
            let mine = self.syncs_scanned.get_or_insert_with(BTreeMap::new);
            for (region, n) in other {
                *mine.entry(region).or_default() += n;
            }
        }
        self.stuck.extend(other.stuck);
        self.stuck_hosts.extend(other.stuck_hosts);
        self.stuck_syncs.extend(other.stuck_syncs);
        self.listed.extend(other.listed);
        self.ignored += other.ignored;
    }
}

/// A region whose listing or tag reads failed.
#[derive(Debug)]
pub struct RegionFailure {
    pub region: String,
    pub error: CodestarError,
}

/// `eu-west-1 (error); ap-south-1 (error)`.
pub fn describe(failures: &[RegionFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("{} ({})", f.region, f.error))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One message a dry run would have published, as an email subscriber reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub subject: String,
    pub text: String,
}

/// An account that could not be entered or scanned, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedAccount {
    pub account: String,
    pub error: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionSummary {
    pub scanned: usize,
    pub stuck: usize,
    pub hosts_scanned: usize,
    pub stuck_hosts: usize,
    /// Present only where Git sync was read: absent is not 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syncs_scanned: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stuck_syncs: Option<usize>,
}

/// What a lookup of an account's consumers could not read: a kind in a
/// region, its region list, or the whole account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsedByFailure {
    pub account: String,
    #[serde(flatten)]
    pub unread: Unread,
}

/// The run result (docs/reference.md, "Events and result").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub scanned: usize,
    pub listed_from: Option<String>,
    pub stuck: Vec<Connection>,
    pub hosts_scanned: usize,
    pub stuck_hosts: Vec<Host>,
    /// Synced stacks read; absent with `GIT_SYNC=false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syncs_scanned: Option<usize>,
    pub stuck_syncs: Vec<SyncedStack>,
    pub ignored: usize,
    pub regions: BTreeMap<String, RegionSummary>,
    pub failed_regions: Vec<String>,
    pub messages_published: usize,
    /// Events put on `EVENT_BUS`; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_put: Option<usize>,
    /// A dry run: the subject and email text of each message it would have published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<Vec<Preview>>,
    /// With a state table: remembered ones no longer stuck, announced this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Vec<Connection>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_hosts: Option<Vec<Host>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_syncs: Option<Vec<SyncedStack>>,
    /// With a state table: stuck ones not alerted this run, not yet due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Vec<Connection>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_hosts: Option<Vec<Host>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_syncs: Option<Vec<SyncedStack>>,
    /// Organization-wide: how many accounts were scanned, and which failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_accounts: Option<Vec<FailedAccount>>,
    /// Where the consumers of alerted connections could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub used_by_failed: Vec<UsedByFailure>,
    /// Each listed connection's status (`Findings::listed`); not reported.
    #[serde(skip)]
    pub listed: HashMap<String, String>,
}

impl RunReport {
    /// The report of what was found; stuck ones are sorted by region, status
    /// and name so alerts read the same every run.
    pub fn from_findings(findings: Findings) -> Self {
        let Findings {
            listed_from,
            scanned,
            mut stuck,
            hosts_scanned,
            mut stuck_hosts,
            syncs_scanned,
            mut stuck_syncs,
            ignored,
            failed_regions,
            accounts,
            listed,
        } = findings;
        sort(&mut stuck);
        sort(&mut stuck_hosts);
        sort(&mut stuck_syncs);
        let mut regions: BTreeMap<String, RegionSummary> = BTreeMap::new();
        for (region, n) in &scanned {
            regions.entry(region.clone()).or_default().scanned = *n;
        }
        for (region, n) in &hosts_scanned {
            regions.entry(region.clone()).or_default().hosts_scanned = *n;
        }
        for c in &stuck {
            regions.entry(c.region.clone()).or_default().stuck += 1;
        }
        for h in &stuck_hosts {
            regions.entry(h.region.clone()).or_default().stuck_hosts += 1;
        }
        for (region, n) in syncs_scanned.iter().flatten() {
            let summary = regions.entry(region.clone()).or_default();
            summary.syncs_scanned = Some(*n);
            summary.stuck_syncs = Some(0);
        }
        for s in &stuck_syncs {
            let summary = regions.entry(s.region.clone()).or_default();
            summary.stuck_syncs = Some(summary.stuck_syncs.unwrap_or_default() + 1);
        }
        Self {
            scanned: scanned.values().sum(),
            listed_from,
            stuck,
            hosts_scanned: hosts_scanned.values().sum(),
            stuck_hosts,
            syncs_scanned: syncs_scanned.as_ref().map(|by| by.values().sum()),
            stuck_syncs,
            ignored,
            regions,
            failed_regions,
            accounts,
            listed,
            ..Self::default()
        }
    }
}

fn sort<T: Watched>(items: &mut [T]) {
    // The ARN names the account: grouped by account first.
    let account = |arn: &str| arn.split(':').nth(4).unwrap_or_default().to_string();
    items.sort_by(|a, b| {
        (account(a.arn()), a.region(), a.status(), a.name(), a.arn()).cmp(&(
            account(b.arn()),
            b.region(),
            b.status(),
            b.name(),
            b.arn(),
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::connection::sample as conn;

    #[test]
    fn accounts_merge_their_counts_and_keep_their_failed_regions_to_themselves() {
        let mut all = Findings {
            scanned: BTreeMap::from([("us-east-1".into(), 3)]),
            ..Findings::default()
        };
        let mut other = Findings {
            listed_from: Some("us-east-1".into()),
            scanned: BTreeMap::from([("us-east-1".into(), 2), ("eu-west-1".into(), 1)]),
            stuck: vec![conn("a", "PENDING", "GitHub", "us-east-1")],
            ignored: 1,
            failed_regions: vec!["ap-south-1".into()],
            ..Findings::default()
        };
        other.mark_account("222222222222", Some("payments"));
        all.merge(other);
        assert_eq!(all.scanned["us-east-1"], 5);
        assert_eq!(all.scanned["eu-west-1"], 1);
        assert_eq!(all.listed_from.as_deref(), Some("us-east-1"));
        assert_eq!(all.ignored, 1);
        assert!(all.failed_regions.is_empty());
        assert_eq!(all.stuck[0].account.as_deref(), Some("222222222222"));
        assert_eq!(all.stuck[0].account_name.as_deref(), Some("payments"));
    }

    #[test]
    fn report_counts_by_home_region_and_sorts() {
        let host = Host::new(
            "ghe",
            "arn:aws:codestar-connections:eu-west-1:123456789012:host/ghe-1",
            "PENDING",
            None,
            "GitHubEnterpriseServer",
            "https://ghe.example.com",
            "eu-west-1",
        );
        let report = RunReport::from_findings(Findings {
            listed: HashMap::new(),
            listed_from: Some("us-east-1".into()),
            scanned: BTreeMap::from([("us-east-1".into(), 3), ("eu-west-1".into(), 2)]),
            stuck: vec![
                conn("z", "PENDING", "GitHub", "us-east-1"),
                conn("a", "ERROR", "GitHub", "us-east-1"),
                conn("m", "PENDING", "GitLab", "eu-west-1"),
            ],
            hosts_scanned: BTreeMap::from([("eu-west-1".into(), 4)]),
            stuck_hosts: vec![host],
            ignored: 1,
            failed_regions: vec!["ap-south-1".into()],
            accounts: None,
            ..Findings::default()
        });
        assert_eq!(
            (report.scanned, report.hosts_scanned, report.ignored),
            (5, 4, 1)
        );
        let names: Vec<&str> = report.stuck.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["m", "a", "z"]);
        assert_eq!(
            report.regions["eu-west-1"],
            RegionSummary {
                scanned: 2,
                stuck: 1,
                hosts_scanned: 4,
                stuck_hosts: 1,
                ..RegionSummary::default()
            }
        );
        assert_eq!(
            report.regions["us-east-1"],
            RegionSummary {
                scanned: 3,
                stuck: 2,
                hosts_scanned: 0,
                stuck_hosts: 0,
                ..RegionSummary::default()
            }
        );
        assert!(!report.regions.contains_key("ap-south-1"));
    }
}
