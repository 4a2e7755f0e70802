//! Which connections count as stuck, and the run report built from each
//! region's outcome. Pure: no I/O.

use crate::codestar::Tags;
use crate::config::MonitorConfig;
use crate::connection::Connection;
use serde::Serialize;
use std::collections::BTreeMap;

/// Worth reading tags for: status and provider type are watched.
pub fn is_candidate(c: &Connection, config: &MonitorConfig) -> bool {
    config.statuses.contains(&c.status)
        && config
            .provider_types
            .as_ref()
            .is_none_or(|types| types.contains(&c.provider_type))
}

/// Carries the ignore tag with the value `true` (any case).
pub fn is_ignored(tags: &Tags, ignore_tag: &str) -> bool {
    tags.get(ignore_tag)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// What scanning one region found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionScan {
    pub scanned: usize,
    pub stuck: Vec<Connection>,
    pub ignored: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegionSummary {
    pub scanned: usize,
    pub stuck: usize,
}

/// DESIGN.md's run result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub scanned: usize,
    pub stuck: Vec<Connection>,
    pub ignored: usize,
    pub regions: BTreeMap<String, RegionSummary>,
    pub failed_regions: Vec<String>,
    pub messages_published: usize,
    /// With a state table: remembered connections no longer stuck, announced this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Vec<Connection>>,
    /// With a state table: stuck connections not alerted this run, not yet due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Vec<Connection>>,
}

impl RunReport {
    /// Folds the regions' outcomes, in the order given; stuck connections are
    /// sorted by region, status and name so alerts read the same every run.
    pub fn from_regions<E>(
        outcomes: Vec<(String, Result<RegionScan, E>)>,
    ) -> (Self, Vec<(String, E)>) {
        let mut report = Self::default();
        let mut failures = Vec::new();
        for (region, outcome) in outcomes {
            match outcome {
                Ok(scan) => {
                    report.scanned += scan.scanned;
                    report.ignored += scan.ignored;
                    report.regions.insert(
                        region,
                        RegionSummary {
                            scanned: scan.scanned,
                            stuck: scan.stuck.len(),
                        },
                    );
                    report.stuck.extend(scan.stuck);
                }
                Err(e) => {
                    report.failed_regions.push(region.clone());
                    failures.push((region, e));
                }
            }
        }
        report.stuck.sort_by(|a, b| {
            (&a.region, &a.status, &a.name, &a.arn).cmp(&(&b.region, &b.status, &b.name, &b.arn))
        });
        (report, failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(statuses: &[&str], providers: Option<&[&str]>) -> MonitorConfig {
        MonitorConfig {
            topic_arn: None,
            statuses: statuses.iter().map(|s| s.to_string()).collect(),
            regions: vec!["us-east-1".into()],
            provider_types: providers.map(|p| p.iter().map(|s| s.to_string()).collect()),
            ignore_tag: "connection-watch:ignore".into(),
            dry_run: true,
            state_table: None,
            repeat_interval: crate::config::DEFAULT_REPEAT_INTERVAL,
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
    fn candidates_by_status_and_provider() {
        let all = config(&["PENDING", "ERROR"], None);
        let github_only = config(&["PENDING"], Some(&["GitHub"]));
        let cases = [
            (conn("a", "PENDING", "GitHub", "us-east-1"), true, true),
            (conn("b", "ERROR", "GitHub", "us-east-1"), true, false),
            (conn("c", "AVAILABLE", "GitHub", "us-east-1"), false, false),
            (conn("d", "PENDING", "Bitbucket", "us-east-1"), true, false),
        ];
        for (c, in_all, in_github) in cases {
            assert_eq!(is_candidate(&c, &all), in_all, "{}", c.name);
            assert_eq!(is_candidate(&c, &github_only), in_github, "{}", c.name);
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
    fn report_folds_regions_and_keeps_failures_apart() {
        let east = RegionScan {
            scanned: 3,
            stuck: vec![
                conn("z", "PENDING", "GitHub", "us-east-1"),
                conn("a", "ERROR", "GitHub", "us-east-1"),
            ],
            ignored: 1,
        };
        let west = RegionScan {
            scanned: 2,
            stuck: vec![conn("m", "PENDING", "GitLab", "eu-west-1")],
            ignored: 0,
        };
        let (report, failures) = RunReport::from_regions(vec![
            ("us-east-1".to_string(), Ok(east)),
            ("ap-south-1".to_string(), Err("throttled")),
            ("eu-west-1".to_string(), Ok(west)),
        ]);
        assert_eq!(report.scanned, 5);
        assert_eq!(report.ignored, 1);
        assert_eq!(report.failed_regions, ["ap-south-1"]);
        assert_eq!(failures, [("ap-south-1".to_string(), "throttled")]);
        let names: Vec<&str> = report.stuck.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["m", "a", "z"]);
        assert_eq!(
            report.regions["us-east-1"],
            RegionSummary {
                scanned: 3,
                stuck: 2
            }
        );
        assert!(!report.regions.contains_key("ap-south-1"));
    }
}
