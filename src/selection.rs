//! Which connections and hosts count as stuck, and the run report built from
//! what the listings found. Pure: no I/O.

use crate::config::MonitorConfig;
use crate::connection::Connection;
use crate::host::{Host, HOST_AVAILABLE};
use crate::watched::{Tags, Watched};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Worth reading tags for: home region, status and provider type are watched.
pub fn is_candidate(c: &Connection, config: &MonitorConfig) -> bool {
    config.watches(&c.region)
        && config.statuses.contains(&c.status)
        && config
            .provider_types
            .as_ref()
            .is_none_or(|types| types.contains(&c.provider_type))
}

/// Worth reading tags for: the host's status is watched.
pub fn is_host_candidate(h: &Host, config: &MonitorConfig) -> bool {
    config.host_statuses.contains(&h.status)
}

/// Carries the ignore tag with the value `true` (any case).
pub fn is_ignored(tags: &Tags, ignore_tag: &str) -> bool {
    tags.get(ignore_tag)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Notes on each stuck connection whose host is known and not AVAILABLE
/// that its host is the reason it cannot work.
pub fn note_host_status(stuck: &mut [Connection], host_statuses: &HashMap<String, String>) {
    for c in stuck {
        c.host_status = c
            .host_arn
            .as_ref()
            .and_then(|arn| host_statuses.get(arn))
            .filter(|status| status.as_str() != HOST_AVAILABLE)
            .cloned();
    }
}

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
    pub ignored: usize,
    /// Regions that failed, in the order they failed, each once.
    pub failed_regions: Vec<String>,
    /// Organization-wide: how many accounts were scanned.
    pub accounts: Option<usize>,
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
        self.stuck.extend(other.stuck);
        self.stuck_hosts.extend(other.stuck_hosts);
        self.ignored += other.ignored;
    }
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
}

/// DESIGN.md's run result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub scanned: usize,
    pub listed_from: Option<String>,
    pub stuck: Vec<Connection>,
    pub hosts_scanned: usize,
    pub stuck_hosts: Vec<Host>,
    pub ignored: usize,
    pub regions: BTreeMap<String, RegionSummary>,
    pub failed_regions: Vec<String>,
    pub messages_published: usize,
    /// With a state table: remembered ones no longer stuck, announced this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Vec<Connection>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_hosts: Option<Vec<Host>>,
    /// With a state table: stuck ones not alerted this run, not yet due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Vec<Connection>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_hosts: Option<Vec<Host>>,
    /// Organization-wide: how many accounts were scanned, and which failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_accounts: Option<Vec<FailedAccount>>,
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
            ignored,
            failed_regions,
            accounts,
        } = findings;
        sort(&mut stuck);
        sort(&mut stuck_hosts);
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
        Self {
            scanned: scanned.values().sum(),
            listed_from,
            stuck,
            hosts_scanned: hosts_scanned.values().sum(),
            stuck_hosts,
            ignored,
            regions,
            failed_regions,
            accounts,
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

    fn config(
        statuses: &[&str],
        providers: Option<&[&str]>,
        regions: Option<&[&str]>,
    ) -> MonitorConfig {
        MonitorConfig {
            topic_arn: None,
            statuses: statuses.iter().map(|s| s.to_string()).collect(),
            host_statuses: vec!["PENDING".into()],
            own_region: "us-east-1".into(),
            regions: regions.map(|r| r.iter().map(|s| s.to_string()).collect()),
            provider_types: providers.map(|p| p.iter().map(|s| s.to_string()).collect()),
            ignore_tag: "connection-watch:ignore".into(),
            dry_run: true,
            state_table: None,
            repeat_interval: crate::config::DEFAULT_REPEAT_INTERVAL,
            accounts: crate::config::AccountScope::Own,
            member_role_name: crate::config::DEFAULT_MEMBER_ROLE_NAME.into(),
            exclude_accounts: Vec::new(),
            account_concurrency: crate::config::DEFAULT_ACCOUNT_CONCURRENCY,
        }
    }

    fn conn(name: &str, status: &str, provider: &str, region: &str) -> Connection {
        Connection {
            name: name.into(),
            arn: format!("arn:aws:codestar-connections:{region}:123456789012:connection/{name}"),
            status: status.into(),
            provider_type: provider.into(),
            region: region.into(),
            owner_account_id: "123456789012".into(),
            ..Connection::default()
        }
    }

    #[test]
    fn candidates_by_region_status_and_provider() {
        let all = config(&["PENDING", "ERROR"], None, None);
        let github_only = config(&["PENDING"], Some(&["GitHub"]), None);
        let west_only = config(&["PENDING", "ERROR"], None, Some(&["eu-west-1"]));
        let cases = [
            (
                conn("a", "PENDING", "GitHub", "us-east-1"),
                true,
                true,
                false,
            ),
            (
                conn("b", "ERROR", "GitHub", "us-east-1"),
                true,
                false,
                false,
            ),
            (
                conn("c", "AVAILABLE", "GitHub", "eu-west-1"),
                false,
                false,
                false,
            ),
            (
                conn("d", "PENDING", "Bitbucket", "eu-west-1"),
                true,
                false,
                true,
            ),
        ];
        for (c, in_all, in_github, in_west) in cases {
            assert_eq!(is_candidate(&c, &all), in_all, "{}", c.name);
            assert_eq!(is_candidate(&c, &github_only), in_github, "{}", c.name);
            assert_eq!(is_candidate(&c, &west_only), in_west, "{}", c.name);
        }
    }

    #[test]
    fn ignore_tag_needs_the_value_true() {
        let tags = |v: &str| Tags::from([("connection-watch:ignore".to_string(), v.to_string())]);
        assert!(is_ignored(&tags("true"), "connection-watch:ignore"));
        assert!(is_ignored(&tags(" TRUE "), "connection-watch:ignore"));
        assert!(!is_ignored(&tags("false"), "connection-watch:ignore"));
        assert!(!is_ignored(&tags(""), "connection-watch:ignore"));
        assert!(!is_ignored(&tags("true"), "other-tag"));
        assert!(!is_ignored(&Tags::new(), "connection-watch:ignore"));
    }

    #[test]
    fn a_connection_learns_that_its_host_is_not_available() {
        let host = "arn:aws:codestar-connections:us-east-1:123456789012:host/ghe-1";
        let mut stuck = vec![
            Connection {
                host_arn: Some(host.into()),
                ..conn("a", "PENDING", "GitHubEnterpriseServer", "us-east-1")
            },
            conn("b", "PENDING", "GitHub", "us-east-1"),
        ];
        note_host_status(
            &mut stuck,
            &HashMap::from([(host.to_string(), "PENDING".to_string())]),
        );
        assert_eq!(stuck[0].host_status.as_deref(), Some("PENDING"));
        assert_eq!(stuck[1].host_status, None);
        note_host_status(
            &mut stuck,
            &HashMap::from([(host.to_string(), "AVAILABLE".to_string())]),
        );
        assert_eq!(stuck[0].host_status, None);
    }

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
                stuck_hosts: 1
            }
        );
        assert_eq!(
            report.regions["us-east-1"],
            RegionSummary {
                scanned: 3,
                stuck: 2,
                hosts_scanned: 0,
                stuck_hosts: 0
            }
        );
        assert!(!report.regions.contains_key("ap-south-1"));
    }
}
