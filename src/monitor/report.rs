//! What one run found and the run report built from it. Pure: no I/O.

use crate::aws::codestar::CodestarError;
use crate::domain::access::AccessTally;
use crate::domain::connection::Connection;
use crate::domain::consumer::Unread;
use crate::domain::denied::DeniedConsumer;
use crate::domain::git_sync::SyncedStack;
use crate::domain::host::Host;
use crate::domain::watched::{Kind, KindUnread, Watched};
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
    /// Regions whose connections or hosts could not be read, in the order
    /// they failed, each once.
    pub failed_regions: Vec<String>,
    /// Each (account, region, kind) that could not be read: only that kind
    /// there withholds its resolutions and counts.
    pub unread: Vec<KindUnread>,
    /// Organization-wide: how many accounts were scanned.
    pub accounts: Option<usize>,
    /// With `RETRY_ON_RESOLVED`: each listed connection's status, by ARN
    /// (what tells a healed connection from a deleted or muted one).
    pub listed: HashMap<String, String>,
    /// With `ACCESS_CHECK`: every watched connection listed, stuck or not,
    /// whose consumers' roles are checked.
    pub every_connection: Vec<Connection>,
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
        for c in &mut self.every_connection {
            c.account = Some(account.to_string());
            c.account_name = name.map(str::to_string);
        }
    }

    /// Adds another account's findings: counts per region add up, and what
    /// it could not read stays its own (each `Unread` names its account).
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
        self.every_connection.extend(other.every_connection);
        self.ignored += other.ignored;
        for region in other.failed_regions {
            if !self.failed_regions.contains(&region) {
                self.failed_regions.push(region);
            }
        }
        self.unread.extend(other.unread);
    }

    /// Records an account that could not be entered (or an organization
    /// whose accounts could not be discovered): each of `kinds` unread
    /// everywhere in it.
    pub fn note_not_entered(&mut self, failed: &FailedAccount, kinds: &[Kind]) {
        self.unread.extend(kinds.iter().map(|&kind| KindUnread {
            account: failed.account.clone(),
            region: None,
            kind,
            error: failed.error.clone(),
        }));
    }

    /// Records what one account's scan could not read: each (region, kind)
    /// once, and the regions whose connections or hosts failed.
    pub fn note_unread(&mut self, account: &str, failures: &ScanFailures) {
        if !failures.unlisted.is_empty() {
            self.unread.push(KindUnread {
                account: account.to_string(),
                region: None,
                kind: Kind::Connection,
                error: format!("ListConnections failed in {}", describe(&failures.unlisted)),
            });
        }
        for failure in &failures.regional {
            let noted = self.unread.iter().any(|u| {
                u.account == account
                    && u.kind == failure.kind
                    && u.region.as_deref() == Some(failure.region.as_str())
            });
            if !noted {
                self.unread.push(KindUnread {
                    account: account.to_string(),
                    region: Some(failure.region.clone()),
                    kind: failure.kind,
                    error: failure.error.to_string(),
                });
            }
        }
        let blinding = failures.unlisted.iter().chain(
            failures
                .regional
                .iter()
                .filter(|f| matches!(f.kind, Kind::Connection | Kind::Host)),
        );
        for failure in blinding {
            if !self.failed_regions.contains(&failure.region) {
                self.failed_regions.push(failure.region.clone());
            }
        }
    }
}

/// A read of one kind in one region that failed.
#[derive(Debug)]
pub struct RegionFailure {
    pub region: String,
    pub kind: Kind,
    pub error: CodestarError,
}

/// What one account's scan could not read.
#[derive(Debug, Default)]
pub struct ScanFailures {
    /// No connection listing succeeded: each region it was tried in. The
    /// listing is global, so the account's connections are unread everywhere.
    pub unlisted: Vec<RegionFailure>,
    /// Reads of one kind in one region (hosts, synced stacks, tags).
    pub regional: Vec<RegionFailure>,
}

impl ScanFailures {
    pub fn is_empty(&self) -> bool {
        self.unlisted.is_empty() && self.regional.is_empty()
    }
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
    /// Each (account, region, kind) that could not be read.
    pub unread: Vec<KindUnread>,
    /// Watched regions where AWS does not offer Git sync: neither read nor failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub git_sync_unavailable: Vec<String>,
    /// A request this monitor does not serve (an event from a region it
    /// does not watch, say), skipped: nothing was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub messages_published: usize,
    /// Events put on `EVENT_BUS`; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_put: Option<usize>,
    /// A dry run: the subject and email text of each message it would have published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<Vec<Preview>>,
    /// A dry run under Lambda: the run as a person reads it, the same text
    /// `monitor --once` prints (`preview::render`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub look: Option<String>,
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
    /// `Findings::every_connection`; not reported.
    #[serde(skip)]
    pub every_connection: Vec<Connection>,
    /// `ACCESS_CHECK`: the consumers denied their connection and how far the
    /// checks reached; absent when access was not checked (not 0).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_access: Option<Vec<DeniedConsumer>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_access: Option<Vec<DeniedConsumer>>,
}

/// What one run's access checks found (docs/reference.md, "Can its
/// consumers use it (access)").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessReport {
    pub access_findings: Vec<DeniedConsumer>,
    pub access_checks: AccessChecks,
}

/// How far one run's access checks reached: each check (a consumer's role,
/// the connection as it names it, the actions it needs) is simulated,
/// taken from a verdict younger than `ACCESS_CHECK_HOURS`, or not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessChecks {
    pub checks: usize,
    pub simulated: usize,
    /// SimulatePrincipalPolicy requests made: checks sharing a role, a
    /// connection ARN, the actions and the context share one.
    pub simulations: usize,
    pub cached: usize,
    /// Neither allowed nor denied (missing context, a failed call): never a finding.
    pub inconclusive: usize,
    /// Past the run's bound, after IAM throttling or the deadline: counted, not judged.
    pub not_checked: usize,
    /// Why some were not checked, once each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
    /// The lifecycle keys with a verdict this run (simulated or kept): what
    /// may resolve.
    #[serde(skip)]
    pub decided: std::collections::HashSet<String>,
    /// Every lifecycle key of this run's checks, and each `account/kind`
    /// whose consumers were read whole: a key absent where its account's
    /// kind was read whole is a consumer that no longer uses the connection.
    #[serde(skip)]
    pub present: std::collections::HashSet<String>,
    #[serde(skip)]
    pub read_whole: std::collections::HashSet<String>,
    /// How far the checks of each connection (by `connection_key`) reached:
    /// what the inventory's ACCESS column says.
    #[serde(skip)]
    pub by_connection: HashMap<String, AccessTally>,
}

impl RunReport {
    /// The denied consumers this run found (none when access was not checked).
    pub fn access_findings(&self) -> &[DeniedConsumer] {
        self.access.as_ref().map_or(&[], |a| &a.access_findings)
    }
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
            unread,
            accounts,
            listed,
            every_connection,
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
            unread,
            accounts,
            listed,
            every_connection,
            ..Self::default()
        }
    }
}

impl RunReport {
    /// Whether `kind` was read in `account` and `region` by this run.
    pub fn read(&self, account: &str, region: &str, kind: Kind) -> bool {
        !self.unread.iter().any(|u| u.covers(account, region, kind))
    }

    /// Whether `kind` was read in `region` in every account.
    pub fn read_in(&self, region: &str, kind: Kind) -> bool {
        !self
            .unread
            .iter()
            .any(|u| u.kind == kind && u.region.as_deref().is_none_or(|r| r == region))
    }

    /// Whether `kind` was read everywhere this run looked, in every account.
    pub fn read_whole(&self, kind: Kind) -> bool {
        !self.unread.iter().any(|u| u.kind == kind)
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
    fn accounts_merge_their_counts_and_keep_what_they_could_not_read_to_themselves() {
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
        assert_eq!(all.failed_regions, ["ap-south-1"]);
        assert_eq!(all.stuck[0].account.as_deref(), Some("222222222222"));
        assert_eq!(all.stuck[0].account_name.as_deref(), Some("payments"));
    }

    #[test]
    fn a_failed_read_is_noted_for_its_kind_and_only_connections_and_hosts_fail_a_region() {
        let failure = |region: &str, kind| RegionFailure {
            region: region.into(),
            kind,
            error: CodestarError::TimedOut {
                operation: "ListRepositoryLinks",
            },
        };
        let failures = ScanFailures {
            unlisted: Vec::new(),
            regional: vec![
                failure("eu-west-1", Kind::GitSync),
                failure("eu-west-1", Kind::GitSync),
                failure("ap-south-1", Kind::Host),
            ],
        };
        let mut found = Findings::default();
        found.note_unread("111111111111", &failures);
        assert_eq!(found.failed_regions, ["ap-south-1"]);
        let noted: Vec<_> = found
            .unread
            .iter()
            .map(|u| (u.region.as_deref(), u.kind))
            .collect();
        assert_eq!(
            noted,
            [
                (Some("eu-west-1"), Kind::GitSync),
                (Some("ap-south-1"), Kind::Host)
            ]
        );
        let report = RunReport::from_findings(found);
        assert!(!report.read("111111111111", "eu-west-1", Kind::GitSync));
        assert!(report.read("111111111111", "eu-west-1", Kind::Connection));
        assert!(
            report.read("222222222222", "eu-west-1", Kind::GitSync),
            "another account's"
        );
    }

    #[test]
    fn a_failed_listing_leaves_the_accounts_connections_unread_everywhere() {
        let failures = ScanFailures {
            unlisted: vec![RegionFailure {
                region: "us-east-1".into(),
                kind: Kind::Connection,
                error: CodestarError::TimedOut {
                    operation: "ListConnections",
                },
            }],
            regional: Vec::new(),
        };
        let mut found = Findings::default();
        found.note_unread("111111111111", &failures);
        assert_eq!(found.failed_regions, ["us-east-1"]);
        let report = RunReport::from_findings(found);
        assert!(!report.read("111111111111", "ap-south-1", Kind::Connection));
        assert!(report.read("111111111111", "ap-south-1", Kind::Host));
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
