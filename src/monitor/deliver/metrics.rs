//! CloudWatch Embedded Metric Format lines for one run, so users can alarm
//! on stuck connections, hosts and synced stacks without reading the
//! alerts. Pure: no I/O.

use crate::domain::watched::Kind;
use crate::monitor::config::MonitorConfig;
use crate::monitor::event::RunRequest;
use crate::monitor::report::RunReport;
use serde_json::{json, Value};

pub const NAMESPACE: &str = "ConnectionWatch";

/// What the metrics count over.
pub struct MetricScope<'a> {
    pub statuses: &'a [String],
    pub host_statuses: &'a [String],
    /// Regions whose hosts are listed (those not read write no count).
    pub host_regions: &'a [String],
    /// Regions whose synced stacks are read (`GIT_SYNC`).
    pub sync_regions: &'a [String],
    pub breadth: Breadth,
}

/// How much of the configured scope a run read: what an alarm may read of
/// it (docs/reference.md, "One kind's trouble stays in its kind").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breadth {
    /// The whole configured scope: counts, totals and the failure metrics.
    Whole,
    /// Some regions (`{"regions": [...]}`): the counts of the regions it
    /// read, and no total or failure metric, which would speak for the rest.
    Regions,
    /// Some accounts, some synced stacks (an event), or a dry run: nothing
    /// an alarm reads, since no region's count is whole.
    None,
}

/// One EMF document per home region with `ScannedConnections`, one per
/// (region, watched status) with `StuckConnections`, one per (host region,
/// watched host status) with `StuckHosts`, one per Git sync region with
/// `StuckSyncs`, totals without dimensions, and `Stuck`, everything stuck
/// in one number for one alarm. Zeros are written, so an alarm sees a
/// healthy region as 0 rather than as missing data. EMF allows only one
/// value per dimension in a document, hence several lines.
///
/// Each kind is counted on its own: what could not be read (a kind in a
/// region, or an account not entered) writes no count of that kind there,
/// never a 0, and leaves every other kind's counts as they are.
/// `FailedRegions`, `FailedAccounts` and `UnreadKinds` are written on
/// every whole run, for an alarm on what could not be seen.
pub fn emf_lines(report: &RunReport, watched: &MetricScope<'_>, timestamp_ms: i64) -> Vec<String> {
    if watched.breadth == Breadth::None {
        return Vec::new();
    }
    let document = |dimensions: &[&str], metrics: &[&str], fields: Value| {
        emf_document(timestamp_ms, dimensions, metrics, fields)
    };
    let whole = watched.breadth == Breadth::Whole;
    let counted = Counted { report, whole };
    let mut lines = Vec::new();
    if whole {
        let failed_accounts = report.failed_accounts.as_ref().map_or(0, Vec::len);
        lines.push(document(
            &[],
            &["FailedRegions", "FailedAccounts", "UnreadKinds"],
            json!({
                "FailedRegions": report.failed_regions.len(),
                "FailedAccounts": failed_accounts,
                "UnreadKinds": report.unread.len(),
            }),
        ));
    }
    lines.extend(connection_lines(&counted, watched, &document));
    let host_regions = watched
        .host_regions
        .iter()
        .filter(|r| counted.region(r, Kind::Host));
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
    let sync_regions = watched.sync_regions.iter().filter(|r| counted.syncs_in(r));
    for region in sync_regions {
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
    lines.extend(totals(&counted, watched, &document));
    lines
}

/// `ScannedConnections` per home region listed, and `StuckConnections` per
/// (region, watched status) where connections were read.
fn connection_lines(
    counted: &Counted<'_>,
    watched: &MetricScope<'_>,
    document: &Document<'_>,
) -> Vec<String> {
    let report = counted.report;
    let mut lines = Vec::new();
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
        if !counted.region(region, Kind::Connection) {
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
    lines
}

/// Writes one EMF document: dimensions, metrics, and their values.
type Document<'a> = dyn Fn(&[&str], &[&str], Value) -> String + 'a;

/// What of a run's report may be counted.
struct Counted<'a> {
    report: &'a RunReport,
    whole: bool,
}

impl Counted<'_> {
    /// Whether every account the run meant to read was entered.
    fn entered(&self) -> bool {
        self.report
            .failed_accounts
            .as_ref()
            .is_none_or(Vec::is_empty)
    }

    /// Whether `kind` was read in `region` in every account the run meant to.
    fn region(&self, region: &str, kind: Kind) -> bool {
        let listed = kind != Kind::Connection || self.report.listed_from.is_some();
        self.entered() && listed && self.report.read_in(region, kind)
    }

    /// Whether `region`'s synced stacks were read, and counted by region.
    fn syncs_in(&self, region: &str) -> bool {
        self.region(region, Kind::GitSync)
            && self
                .report
                .regions
                .get(region)
                .is_some_and(|r| r.syncs_scanned.is_some())
    }

    /// Whether `kind` was read everywhere, in a run of the whole scope.
    fn whole(&self, regions: &[String], kind: Kind) -> bool {
        self.whole && regions.iter().all(|r| self.region(r, kind)) && self.report.read_whole(kind)
    }
}

/// The totals without dimensions, each only where its kind was read
/// everywhere in a whole run: `StuckConnections`, `StuckHosts`,
/// `StuckSyncs`, and `Stuck` (connections, hosts and the synced stacks
/// that were read) for the pager, whenever connections and hosts were.
fn totals(
    counted: &Counted<'_>,
    watched: &MetricScope<'_>,
    document: &Document<'_>,
) -> Vec<String> {
    let report = counted.report;
    let connections = report.listed_from.is_some() && counted.whole(&[], Kind::Connection);
    let hosts = counted.whole(watched.host_regions, Kind::Host);
    let syncs = !watched.sync_regions.is_empty()
        && counted.whole(&[], Kind::GitSync)
        && watched.sync_regions.iter().all(|r| counted.syncs_in(r));
    let mut fields = serde_json::Map::new();
    if connections {
        fields.insert("StuckConnections".into(), json!(report.stuck.len()));
    }
    if hosts {
        fields.insert("StuckHosts".into(), json!(report.stuck_hosts.len()));
    }
    if connections && hosts {
        let stuck = report.stuck.len() + report.stuck_hosts.len() + report.stuck_syncs.len();
        fields.insert("Stuck".into(), json!(stuck));
    }
    let mut lines = Vec::new();
    if !fields.is_empty() {
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        lines.push(document(&[], &names, Value::Object(fields.clone())));
    }
    if syncs {
        lines.push(document(
            &[],
            &["StuckSyncs"],
            json!({"StuckSyncs": report.stuck_syncs.len()}),
        ));
    }
    if let Some(denied) = denied_consumers(counted) {
        lines.push(document(
            &[],
            &["DeniedConsumers"],
            json!({"DeniedConsumers": denied}),
        ));
    }
    lines
}

/// `DeniedConsumers`, only where every check had a verdict (simulated or
/// kept) and every consumer was read, in a whole run: a count over part of
/// the consumers would read as a whole one.
fn denied_consumers(counted: &Counted<'_>) -> Option<usize> {
    let report = counted.report;
    let access = report.access.as_ref()?;
    let checks = &access.access_checks;
    let complete = counted.whole
        && counted.entered()
        && checks.not_checked == 0
        && report.used_by_failed.is_empty();
    complete.then_some(access.access_findings.len())
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

/// The run's EMF lines at `timestamp_ms`, over what `config` watches, as
/// far as `request` narrowed the run.
pub fn run_metrics(
    request: &RunRequest,
    config: &MonitorConfig,
    report: &RunReport,
    timestamp_ms: i64,
) -> Vec<String> {
    let host_regions = config.host_regions();
    let sync_regions = config.sync_regions();
    let scope = MetricScope {
        statuses: &config.statuses,
        host_statuses: &config.host_statuses,
        host_regions: &host_regions,
        sync_regions: &sync_regions,
        breadth: breadth(request, config),
    };
    emf_lines(report, &scope, timestamp_ms)
}

/// What of a run an alarm may read: a dry run, or a run narrowed to some
/// accounts or stacks, writes nothing; a run narrowed to some regions, only
/// their counts.
fn breadth(request: &RunRequest, config: &MonitorConfig) -> Breadth {
    if config.dry_run || request.accounts.is_some() || request.syncs.is_some() {
        Breadth::None
    } else if request.regions.is_some() {
        Breadth::Regions
    } else {
        Breadth::Whole
    }
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
                breadth: Breadth::Whole,
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

    /// What `emf_lines` writes for `report` over one region and status,
    /// with Git sync watched there too.
    fn written(report: &RunReport, breadth: Breadth) -> Vec<String> {
        let lines = emf_lines(
            report,
            &MetricScope {
                statuses: &["PENDING".into()],
                host_statuses: &["PENDING".into()],
                host_regions: &["us-east-1".into()],
                sync_regions: &["us-east-1".into()],
                breadth,
            },
            0,
        );
        let mut names: Vec<String> = lines
            .iter()
            .flat_map(|l| {
                let doc: Value = serde_json::from_str(l).unwrap();
                let metrics = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].clone();
                let dimensions = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0].clone();
                let by = if dimensions.as_array().unwrap().is_empty() {
                    ""
                } else {
                    "/region"
                };
                let names: Vec<String> = metrics
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        let name = m["Name"].as_str().unwrap();
                        format!("{name}{by}={}", doc[name])
                    })
                    .collect();
                names
            })
            .collect();
        names.sort();
        names
    }

    fn names(report: &RunReport) -> Vec<String> {
        written(report, Breadth::Whole)
    }

    /// A report of one region, us-east-1, where every kind was read.
    fn seen() -> RunReport {
        RunReport {
            listed_from: Some("us-east-1".into()),
            regions: [(
                "us-east-1".to_string(),
                RegionSummary {
                    syncs_scanned: Some(2),
                    ..RegionSummary::default()
                },
            )]
            .into(),
            ..Default::default()
        }
    }

    fn unread(region: Option<&str>, kind: Kind) -> Vec<crate::domain::watched::KindUnread> {
        vec![crate::domain::watched::KindUnread {
            account: "123456789012".into(),
            region: region.map(str::to_string),
            kind,
            error: "AccessDeniedException".into(),
        }]
    }

    /// `DeniedConsumers` where access was checked, as `names` lists it.
    fn denied(report: &RunReport, breadth: Breadth) -> Vec<String> {
        let lines = written(report, breadth);
        lines
            .into_iter()
            .filter(|n| n.starts_with("Denied"))
            .collect()
    }

    #[test]
    fn denied_consumers_are_counted_only_when_every_check_was_judged() {
        use crate::monitor::report::{AccessChecks, AccessReport};
        let checked = |not_checked| RunReport {
            access: Some(AccessReport {
                access_findings: Vec::new(),
                access_checks: AccessChecks {
                    checks: 3,
                    simulated: 3 - not_checked,
                    not_checked,
                    ..AccessChecks::default()
                },
            }),
            ..seen()
        };
        assert_eq!(denied(&checked(0), Breadth::Whole), ["DeniedConsumers=0"]);
        assert!(
            denied(&checked(1), Breadth::Whole).is_empty(),
            "one unchecked"
        );
        assert!(
            denied(&checked(0), Breadth::Regions).is_empty(),
            "a narrowed run"
        );
        assert!(
            denied(&seen(), Breadth::Whole).is_empty(),
            "access not checked"
        );
        let unread_consumers = RunReport {
            used_by_failed: vec![crate::monitor::report::UsedByFailure {
                account: "123456789012".into(),
                unread: crate::domain::consumer::Unread {
                    region: "us-east-1".into(),
                    kind: "pipeline".into(),
                    error: "throttled".into(),
                },
            }],
            ..checked(0)
        };
        assert!(
            denied(&unread_consumers, Breadth::Whole).is_empty(),
            "consumers not read"
        );
    }

    #[test]
    fn a_whole_run_writes_every_kind_and_its_totals() {
        assert_eq!(
            names(&seen()),
            [
                "FailedAccounts=0",
                "FailedRegions=0",
                "ScannedConnections/region=0",
                "Stuck=0",
                "StuckConnections/region=0",
                "StuckConnections=0",
                "StuckHosts/region=0",
                "StuckHosts=0",
                "StuckSyncs/region=0",
                "StuckSyncs=0",
                "UnreadKinds=0",
            ]
        );
    }

    #[test]
    fn what_could_not_be_counted_writes_no_zero_and_costs_only_its_kind() {
        // The only account with stuck connections refuses its role.
        let refused = crate::monitor::report::FailedAccount {
            account: "222222222222".into(),
            error: "AccessDenied".into(),
        };
        let mut not_entered = crate::monitor::report::Findings::default();
        not_entered.note_not_entered(&refused, &[Kind::Connection, Kind::Host, Kind::GitSync]);
        let account_failed = RunReport {
            failed_accounts: Some(vec![refused]),
            unread: not_entered.unread,
            ..seen()
        };
        assert_eq!(
            names(&account_failed),
            [
                "FailedAccounts=1",
                "FailedRegions=0",
                "ScannedConnections/region=0",
                "UnreadKinds=3"
            ]
        );
        // No listing succeeded: hosts and synced stacks are still counted.
        let unlisted = RunReport {
            listed_from: None,
            failed_regions: vec!["us-east-1".into(), "us-west-2".into()],
            unread: unread(None, Kind::Connection),
            ..seen()
        };
        assert_eq!(
            names(&unlisted),
            [
                "FailedAccounts=0",
                "FailedRegions=2",
                "StuckHosts/region=0",
                "StuckHosts=0",
                "StuckSyncs/region=0",
                "StuckSyncs=0",
                "UnreadKinds=1"
            ]
        );
        // Tag reads failed in a region that was listed.
        let tags_failed = RunReport {
            failed_regions: vec!["us-east-1".into()],
            unread: unread(Some("us-east-1"), Kind::Connection),
            ..seen()
        };
        let written = names(&tags_failed);
        assert!(
            !written.iter().any(|n| n.starts_with("StuckConnections")),
            "{written:?}"
        );
        assert!(written.contains(&"StuckHosts=0".to_string()), "{written:?}");
    }

    /// A denied Git sync read blanks only the synced stacks' counts: the
    /// pager's `Stuck` is still written, over what was read.
    #[test]
    fn an_unread_git_sync_region_keeps_stuck_and_the_other_kinds() {
        let denied = RunReport {
            unread: unread(Some("us-east-1"), Kind::GitSync),
            ..seen()
        };
        assert_eq!(
            names(&denied),
            [
                "FailedAccounts=0",
                "FailedRegions=0",
                "ScannedConnections/region=0",
                "Stuck=0",
                "StuckConnections/region=0",
                "StuckConnections=0",
                "StuckHosts/region=0",
                "StuckHosts=0",
                "UnreadKinds=1",
            ]
        );
    }

    /// A run narrowed to regions writes their counts and nothing that
    /// speaks for the rest; a dry run or an event's run writes nothing.
    #[test]
    fn narrowed_and_dry_runs_write_nothing_they_did_not_measure() {
        assert_eq!(
            written(&seen(), Breadth::Regions),
            [
                "ScannedConnections/region=0",
                "StuckConnections/region=0",
                "StuckHosts/region=0",
                "StuckSyncs/region=0",
            ]
        );
        assert!(written(&seen(), Breadth::None).is_empty());
    }
}
