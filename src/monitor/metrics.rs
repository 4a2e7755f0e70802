//! CloudWatch Embedded Metric Format lines for one run, so users can alarm
//! on stuck connections and hosts without reading the alerts. Pure: no I/O.

use super::report::RunReport;
use serde_json::{json, Value};

pub const NAMESPACE: &str = "ConnectionWatch";

/// What the metrics count over.
pub struct MetricScope<'a> {
    pub statuses: &'a [String],
    pub host_statuses: &'a [String],
    /// Regions whose hosts are listed (those that failed write no count).
    pub host_regions: &'a [String],
    /// Regions whose synced stacks are read (`GIT_SYNC`).
    pub sync_regions: &'a [String],
}

/// One EMF document per home region with `ScannedConnections`, one per
/// (region, watched status) with `StuckConnections`, one with both totals
/// without dimensions, and one per (listed host region, watched host status)
/// with `StuckHosts`, one per read Git sync region with `StuckSyncs` and a
/// total over them, and `Stuck`, everything stuck in one number for one
/// alarm (connections, hosts and synced stacks), zeros included so an alarm sees a healthy region as 0
/// rather than as missing data. EMF allows only one value per dimension in a
/// document, hence several lines.
///
/// What the run could not count writes no stuck count at all, never a 0:
/// a region that failed writes none, and when an account failed, no region
/// and no total is whole. `FailedRegions` and `FailedAccounts` are written
/// on every run, for an alarm on what could not be seen.
pub fn emf_lines(report: &RunReport, watched: &MetricScope<'_>, timestamp_ms: i64) -> Vec<String> {
    let document = |dimensions: &[&str], metrics: &[&str], fields: Value| {
        emf_document(timestamp_ms, dimensions, metrics, fields)
    };
    let failed_accounts = report.failed_accounts.as_ref().map_or(0, Vec::len);
    let accounts_whole = failed_accounts == 0;
    let mut lines = vec![document(
        &[],
        &["FailedRegions", "FailedAccounts"],
        json!({"FailedRegions": report.failed_regions.len(), "FailedAccounts": failed_accounts}),
    )];
    let connection_regions = report
        .regions
        .iter()
        .filter(|_| report.listed_from.is_some());
    for (region, summary) in connection_regions {
        lines.push(document(
            &["Region"],
            &["ScannedConnections"],
            json!({"Region": region, "ScannedConnections": summary.scanned}),
        ));
        if !accounts_whole || report.failed_regions.contains(region) {
            continue;
        }
        for status in watched.statuses {
            let stuck = report
                .stuck
                .iter()
                .filter(|c| &c.region == region && &c.status == status)
                .count();
            lines.push(document(
                &["Status", "Region"],
                &["StuckConnections"],
                json!({"Region": region, "Status": status, "StuckConnections": stuck}),
            ));
        }
    }
    // Totals without dimensions, for one alarm on "anything stuck": only
    // when every listing and every account was seen, and `Stuck` only when
    // the synced stacks were too (or are not watched).
    if report.listed_from.is_some() && report.failed_regions.is_empty() && accounts_whole {
        let (connections, hosts) = (report.stuck.len(), report.stuck_hosts.len());
        let mut totals = json!({"StuckConnections": connections, "StuckHosts": hosts});
        let mut names = vec!["StuckConnections", "StuckHosts"];
        if syncs_read_whole(report, watched, accounts_whole) {
            totals["Stuck"] = json!(connections + hosts + report.stuck_syncs.len());
            names.push("Stuck");
        }
        lines.push(document(&[], &names, totals));
    }
    let host_regions = watched
        .host_regions
        .iter()
        .filter(|r| accounts_whole && !report.failed_regions.contains(r));
    for region in host_regions {
        for status in watched.host_statuses {
            let stuck = report
                .stuck_hosts
                .iter()
                .filter(|h| &h.region == region && &h.status == status)
                .count();
            lines.push(document(
                &["Status", "Region"],
                &["StuckHosts"],
                json!({"Region": region, "Status": status, "StuckHosts": stuck}),
            ));
        }
    }
    lines.extend(sync_lines(report, watched, accounts_whole, &document));
    lines
}

/// Writes one EMF document: dimensions, metrics, and their values.
type Document<'a> = dyn Fn(&[&str], &[&str], Value) -> String + 'a;

/// Whether `region`'s synced stacks were read, in an account read whole.
fn sync_region_read(report: &RunReport, region: &str, accounts_whole: bool) -> bool {
    accounts_whole
        && !report.failed_regions.iter().any(|r| r == region)
        && report
            .regions
            .get(region)
            .is_some_and(|r| r.syncs_scanned.is_some())
}

/// Whether every watched Git sync region was read (true when none is watched).
fn syncs_read_whole(report: &RunReport, watched: &MetricScope<'_>, accounts_whole: bool) -> bool {
    watched
        .sync_regions
        .iter()
        .all(|r| sync_region_read(report, r, accounts_whole))
}

/// `StuckSyncs` per region whose Git sync was read whole, and their total
/// when every watched region was.
fn sync_lines(
    report: &RunReport,
    watched: &MetricScope<'_>,
    accounts_whole: bool,
    document: &Document<'_>,
) -> Vec<String> {
    let mut lines = Vec::new();
    let read = |region: &&String| sync_region_read(report, region, accounts_whole);
    for region in watched.sync_regions.iter().filter(read) {
        let stuck = report
            .stuck_syncs
            .iter()
            .filter(|s| &s.region == region)
            .count();
        lines.push(document(
            &["Region"],
            &["StuckSyncs"],
            json!({"Region": region, "StuckSyncs": stuck}),
        ));
    }
    if !watched.sync_regions.is_empty() && syncs_read_whole(report, watched, accounts_whole) {
        lines.push(document(
            &[],
            &["StuckSyncs"],
            json!({"StuckSyncs": report.stuck_syncs.len()}),
        ));
    }
    lines
}

/// One EMF document: `metrics` (counts) over `dimensions`, their values in `fields`.
fn emf_document(timestamp_ms: i64, dimensions: &[&str], metrics: &[&str], fields: Value) -> String {
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|name| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": metrics,
            }],
        },
    });
    if let (Some(doc), Value::Object(fields)) = (doc.as_object_mut(), fields) {
        doc.extend(fields);
    }
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::connection::Connection;
    use crate::domain::host::Host;
    use crate::monitor::report::RegionSummary;

    #[test]
    fn one_document_per_region_and_status_with_zeros() {
        let stuck = Connection {
            name: "a".into(),
            arn: "arn".into(),
            status: "PENDING".into(),
            provider_type: "GitHub".into(),
            region: "us-east-1".into(),
            owner_account_id: "1".into(),
            ..Connection::default()
        };
        let host = Host::new(
            "ghe",
            "arn:aws:codestar-connections:eu-west-1:123456789012:host/ghe-1",
            "PENDING",
            None,
            "GitHubEnterpriseServer",
            "https://ghe.example.com",
            "eu-west-1",
        );
        let report = RunReport {
            scanned: 7,
            listed_from: Some("us-east-1".into()),
            stuck: vec![stuck],
            stuck_hosts: vec![host],
            regions: [
                (
                    "us-east-1".to_string(),
                    RegionSummary {
                        scanned: 5,
                        stuck: 1,
                        ..RegionSummary::default()
                    },
                ),
                (
                    "eu-west-1".to_string(),
                    RegionSummary {
                        scanned: 2,
                        ..RegionSummary::default()
                    },
                ),
            ]
            .into(),
            ..Default::default()
        };
        let lines = emf_lines(
            &report,
            &MetricScope {
                statuses: &["PENDING".into(), "ERROR".into()],
                host_statuses: &["PENDING".into()],
                host_regions: &["eu-west-1".into(), "us-east-1".into()],
                sync_regions: &[],
            },
            1_700_000_000_000,
        );
        assert_eq!(lines.len(), 1 + 6 + 1 + 2);
        let docs: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for doc in &docs {
            let directive = &doc["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], NAMESPACE);
            let metric = directive["Metrics"][0]["Name"].as_str().unwrap();
            assert!(doc[metric].is_u64(), "{doc}");
            for dimension in directive["Dimensions"][0].as_array().unwrap() {
                assert!(doc[dimension.as_str().unwrap()].is_string(), "{doc}");
            }
        }
        let stuck = |region: &str, status: &str| {
            docs.iter()
                .find(|d| {
                    d["Region"] == region
                        && d["Status"] == status
                        && d.get("StuckConnections").is_some()
                })
                .map(|d| d["StuckConnections"].as_u64().unwrap())
        };
        assert_eq!(stuck("us-east-1", "PENDING"), Some(1));
        assert_eq!(stuck("us-east-1", "ERROR"), Some(0));
        assert_eq!(stuck("eu-west-1", "PENDING"), Some(0));
        let stuck_hosts = |region: &str| {
            docs.iter()
                .find(|d| d["Region"] == region && d.get("StuckHosts").is_some())
                .map(|d| d["StuckHosts"].as_u64().unwrap())
        };
        assert_eq!(stuck_hosts("eu-west-1"), Some(1));
        let totals = docs
            .iter()
            .find(|d| d.get("Region").is_none() && d.get("StuckConnections").is_some())
            .unwrap();
        assert_eq!(
            (
                totals["StuckConnections"].as_u64(),
                totals["StuckHosts"].as_u64()
            ),
            (Some(1), Some(1))
        );
        // No Git sync region is watched: everything watched is in `Stuck`.
        assert_eq!(totals["Stuck"].as_u64(), Some(2));
        assert_eq!(stuck_hosts("us-east-1"), Some(0));
        let scanned: Vec<u64> = docs
            .iter()
            .filter_map(|d| d["ScannedConnections"].as_u64())
            .collect();
        assert_eq!(scanned, [2, 5]);
        let failures = docs.iter().find(|d| d.get("FailedRegions").is_some());
        assert_eq!(failures.unwrap()["FailedAccounts"], 0);
    }

    /// What `emf_lines` writes for `report` over one region and status.
    fn names(report: &RunReport) -> Vec<String> {
        let lines = emf_lines(
            report,
            &MetricScope {
                statuses: &["PENDING".into()],
                host_statuses: &["PENDING".into()],
                host_regions: &["us-east-1".into()],
                sync_regions: &[],
            },
            0,
        );
        let mut names: Vec<String> = lines
            .iter()
            .flat_map(|l| {
                let doc: Value = serde_json::from_str(l).unwrap();
                let metrics = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].clone();
                let names: Vec<String> = metrics
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        format!(
                            "{}={}",
                            m["Name"].as_str().unwrap(),
                            doc[m["Name"].as_str().unwrap()]
                        )
                    })
                    .collect();
                names
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn what_could_not_be_counted_writes_no_zero() {
        let seen = RunReport {
            listed_from: Some("us-east-1".into()),
            regions: [("us-east-1".to_string(), RegionSummary::default())].into(),
            ..Default::default()
        };
        assert!(names(&seen).contains(&"StuckConnections=0".to_string()));

        // The only account with stuck connections refuses its role.
        let account_failed = RunReport {
            failed_accounts: Some(vec![crate::monitor::report::FailedAccount {
                account: "222222222222".into(),
                error: "AccessDenied".into(),
            }]),
            ..seen.clone()
        };
        assert_eq!(
            names(&account_failed),
            [
                "FailedAccounts=1",
                "FailedRegions=0",
                "ScannedConnections=0"
            ]
        );
        // No listing succeeded.
        let unlisted = RunReport {
            listed_from: None,
            failed_regions: vec!["us-east-1".into(), "us-west-2".into()],
            ..seen.clone()
        };
        assert_eq!(names(&unlisted), ["FailedAccounts=0", "FailedRegions=2"]);
        // Tag reads failed in a region that was listed.
        let tags_failed = RunReport {
            failed_regions: vec!["us-east-1".into()],
            ..seen
        };
        let written = names(&tags_failed);
        assert!(
            !written.iter().any(|n| n.starts_with("StuckConnections")),
            "{written:?}"
        );
    }

    /// The pager's one number counts synced stacks too, and is not written
    /// while a watched Git sync region was not read.
    #[test]
    fn stuck_counts_every_kind_only_when_every_kind_was_read() {
        let scope = |sync_regions: &[String]| {
            let report = RunReport {
                listed_from: Some("us-east-1".into()),
                regions: [(
                    "us-east-1".to_string(),
                    RegionSummary {
                        syncs_scanned: Some(3),
                        ..RegionSummary::default()
                    },
                )]
                .into(),
                ..Default::default()
            };
            let lines = emf_lines(
                &report,
                &MetricScope {
                    statuses: &[],
                    host_statuses: &[],
                    host_regions: &[],
                    sync_regions,
                },
                0,
            );
            lines
                .iter()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find_map(|d| d.get("Stuck").and_then(Value::as_u64))
        };
        assert_eq!(scope(&["us-east-1".into()]), Some(0));
        assert_eq!(scope(&["us-east-1".into(), "eu-west-1".into()]), None);
    }
}
