//! CloudWatch Embedded Metric Format lines for one run, so users can alarm
//! on stuck connections without reading the alerts. Pure: no I/O.

use crate::selection::RunReport;
use serde_json::{json, Value};

pub const NAMESPACE: &str = "ConnectionWatch";

/// One EMF document per scanned region with `ScannedConnections`, and one
/// per (region, watched status) with `StuckConnections`, zeros included so an
/// alarm sees a healthy region as 0 rather than as missing data. EMF allows
/// only one value per dimension in a document, hence several lines.
pub fn emf_lines(report: &RunReport, statuses: &[String], timestamp_ms: i64) -> Vec<String> {
    let document = |dimensions: &[&str], metric: &str, fields: Value| {
        let mut doc = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimensions],
                    "Metrics": [{"Name": metric, "Unit": "Count"}],
                }],
            },
        });
        if let (Some(doc), Value::Object(fields)) = (doc.as_object_mut(), fields) {
            doc.extend(fields);
        }
        doc.to_string()
    };
    let mut lines = Vec::new();
    for (region, summary) in &report.regions {
        lines.push(document(
            &["Region"],
            "ScannedConnections",
            json!({"Region": region, "ScannedConnections": summary.scanned}),
        ));
        for status in statuses {
            let stuck = report
                .stuck
                .iter()
                .filter(|c| &c.region == region && &c.status == status)
                .count();
            lines.push(document(
                &["Status", "Region"],
                "StuckConnections",
                json!({"Region": region, "Status": status, "StuckConnections": stuck}),
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Connection;
    use crate::selection::RegionSummary;

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
        let report = RunReport {
            scanned: 7,
            stuck: vec![stuck],
            regions: [
                (
                    "us-east-1".to_string(),
                    RegionSummary {
                        scanned: 5,
                        stuck: 1,
                    },
                ),
                (
                    "eu-west-1".to_string(),
                    RegionSummary {
                        scanned: 2,
                        stuck: 0,
                    },
                ),
            ]
            .into(),
            ..Default::default()
        };
        let lines = emf_lines(
            &report,
            &["PENDING".into(), "ERROR".into()],
            1_700_000_000_000,
        );
        assert_eq!(lines.len(), 6);
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
                .find(|d| d["Region"] == region && d["Status"] == status)
                .map(|d| d["StuckConnections"].as_u64().unwrap())
        };
        assert_eq!(stuck("us-east-1", "PENDING"), Some(1));
        assert_eq!(stuck("us-east-1", "ERROR"), Some(0));
        assert_eq!(stuck("eu-west-1", "PENDING"), Some(0));
        let scanned: Vec<u64> = docs
            .iter()
            .filter_map(|d| d["ScannedConnections"].as_u64())
            .collect();
        assert_eq!(scanned, [2, 5]);
    }
}
