//! One monitor run: scan the regions concurrently, pick the stuck
//! connections, publish the alert, report.

use crate::alert::{render_alerts, SNS_MAX_PUBLISH_BYTES};
use crate::codestar::{CodestarError, Connections};
use crate::config::{parse_region, MonitorConfig};
use crate::connection::Connection;
use crate::lifecycle::{self, Change};
use crate::metrics::emf_lines;
use crate::publish::{AlertPublisher, PublishError};
use crate::selection::{is_candidate, is_ignored, RegionScan, RunReport};
use crate::state::{StateError, StateTable};
use aws_sdk_codestarconnections::config::Region;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Tag reads in flight per region; ListTagsForResource shares the account's
/// request rate with everything else.
const TAG_READS_IN_FLIGHT: usize = 8;

#[derive(Debug, Error)]
pub enum MonitorError {
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    #[error("{0}")]
    Publish(#[from] PublishError),
    #[error("{0}")]
    State(#[from] StateError),
    #[error("could not scan {}; any other regions were scanned and alerted", describe(.failures))]
    RegionsFailed {
        report: Box<RunReport>,
        failures: Vec<(String, CodestarError)>,
    },
}

impl From<MonitorError> for lambda_runtime::Diagnostic {
    fn from(e: MonitorError) -> Self {
        let error_type = match &e {
            MonitorError::InvalidEvent(_) => "InvalidEvent",
            MonitorError::Publish(_) => "PublishFailed",
            MonitorError::State(_) => "StateFailed",
            MonitorError::RegionsFailed { .. } => "RegionsFailed",
        };
        Self {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

fn describe(failures: &[(String, CodestarError)]) -> String {
    failures
        .iter()
        .map(|(region, e)| format!("{region} ({e})"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What one invocation asks for, beyond the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunRequest {
    pub regions: Option<Vec<String>>,
    pub dry_run: Option<bool>,
    /// The scheduled event's `time`, the run's "now".
    pub time: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ManualRun {
    regions: Option<Vec<String>>,
    dry_run: Option<bool>,
}

impl RunRequest {
    /// A scheduled EventBridge event, `{}`, or `{"regions": [...], "dryRun": true}`.
    pub fn from_event(event: &Value) -> Result<Self, MonitorError> {
        if event.get("detail-type").is_some() {
            let time = match event.get("time") {
                None | Some(Value::Null) => None,
                Some(t) => Some(
                    serde_json::from_value(t.clone())
                        .map_err(|e| MonitorError::InvalidEvent(format!("time {t}: {e}")))?,
                ),
            };
            return Ok(Self {
                time,
                ..Self::default()
            });
        }
        let manual: ManualRun = match event {
            Value::Null => return Ok(Self::default()),
            other => serde_json::from_value(other.clone()).map_err(|e| {
                MonitorError::InvalidEvent(format!(
                    "{e}; expected a scheduled event, {{}}, or {{\"regions\": [\"eu-west-1\"], \"dryRun\": true}}"
                ))
            })?,
        };
        let regions = manual
            .regions
            .map(|regions| {
                if regions.is_empty() {
                    return Err(MonitorError::InvalidEvent("regions is empty".into()));
                }
                regions
                    .iter()
                    .map(|r| {
                        parse_region(r)
                            .map_err(|e| MonitorError::InvalidEvent(format!("regions: {e}")))
                    })
                    .collect()
            })
            .transpose()?;
        Ok(Self {
            regions,
            dry_run: manual.dry_run,
            time: None,
        })
    }
}

/// CodeStar Connections clients per region, built once and sharing one HTTP client.
#[derive(Clone, Debug)]
pub struct RegionalClients {
    base: aws_sdk_codestarconnections::Config,
    clients: HashMap<String, Connections>,
}

impl RegionalClients {
    pub fn new(base: aws_sdk_codestarconnections::Config, regions: &[String]) -> Self {
        let mut this = Self {
            base,
            clients: HashMap::new(),
        };
        for region in regions {
            let client = this.build(region);
            this.clients.insert(region.clone(), client);
        }
        this
    }

    fn build(&self, region: &str) -> Connections {
        let config = self
            .base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        Connections::new(aws_sdk_codestarconnections::Client::from_conf(config))
    }

    /// A narrowed run may name a region outside the configuration.
    pub fn get(&self, region: &str) -> Connections {
        self.clients
            .get(region)
            .cloned()
            .unwrap_or_else(|| self.build(region))
    }
}

pub struct Monitor {
    config: MonitorConfig,
    clients: RegionalClients,
    publisher: Option<AlertPublisher>,
    state: Option<StateTable>,
}

impl Monitor {
    pub fn new(
        config: MonitorConfig,
        codestar: aws_sdk_codestarconnections::Config,
        sns: aws_sdk_sns::Client,
    ) -> Self {
        let clients = RegionalClients::new(codestar, &config.regions);
        let publisher = config
            .topic_arn
            .clone()
            .map(|topic| AlertPublisher::new(sns, topic));
        Self {
            config,
            clients,
            publisher,
            state: None,
        }
    }

    /// Gives alerts a lifecycle kept in `state` (see `lifecycle`).
    pub fn with_state(mut self, state: StateTable) -> Self {
        self.state = Some(state);
        self
    }

    /// Serves one invocation: parse the event, run, log the metrics and the
    /// report. `function_arn` names the account in the alert.
    pub async fn handle(
        &self,
        event: &Value,
        function_arn: &str,
    ) -> Result<RunReport, MonitorError> {
        let request = RunRequest::from_event(event)?;
        let now = request.time.unwrap_or_else(Utc::now);
        let account = function_arn.split(':').nth(4).unwrap_or_default();
        let result = self.run(&request, account, now).await;
        let report = match &result {
            Ok(report) => report,
            Err(MonitorError::RegionsFailed { report, .. }) => report,
            Err(_) => return result,
        };
        for line in emf_lines(report, &self.config.statuses, Utc::now().timestamp_millis()) {
            println!("{line}");
        }
        // Counts only: the full report is the invocation's result, and a log
        // event over 256 KB would be cut by CloudWatch.
        tracing::info!(
            scanned = report.scanned,
            stuck = report.stuck.len(),
            ignored = report.ignored,
            failed_regions = ?report.failed_regions,
            messages_published = report.messages_published,
            "run finished"
        );
        result
    }

    /// One run. `account` names the account in the alert.
    pub async fn run(
        &self,
        request: &RunRequest,
        account: &str,
        now: DateTime<Utc>,
    ) -> Result<RunReport, MonitorError> {
        let regions = request.regions.as_ref().unwrap_or(&self.config.regions);
        let scans = regions.iter().map(|region| async move {
            let outcome = self.scan_region(&self.clients.get(region)).await;
            (region.clone(), outcome)
        });
        let outcomes = futures_util::future::join_all(scans).await;
        let (mut report, failures) = RunReport::from_regions(outcomes);
        for (region, e) in &failures {
            tracing::error!(region = %region, error = %e, "region scan failed");
        }

        let (alerts, changes) = self.lifecycle(&mut report, now).await?;
        let dry_run = request.dry_run.unwrap_or(false) || self.config.dry_run;
        match (&self.publisher, dry_run) {
            (Some(publisher), false) => {
                report.messages_published = self
                    .publish(publisher, account, now, alerts, changes)
                    .await?;
            }
            _ => tracing::info!(alerts = alerts.len(), "dry run: nothing published"),
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

    /// What to alert and, with a state table, what to remember: without one,
    /// everything stuck; with one, the lifecycle's plan, recorded in `report`.
    async fn lifecycle(
        &self,
        report: &mut RunReport,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Connection>, Vec<Change>), MonitorError> {
        let Some(state) = &self.state else {
            return Ok((report.stuck.clone(), Vec::new()));
        };
        let scanned: BTreeSet<String> = report.regions.keys().cloned().collect();
        let previous = state
            .load(&scanned.iter().cloned().collect::<Vec<_>>())
            .await?;
        let plan = lifecycle::plan(
            &previous,
            &report.stuck,
            &scanned,
            now,
            self.config.repeat_interval,
        );
        report.stuck = plan.stuck;
        report.suppressed = Some(plan.suppressed);
        report.resolved = Some(plan.resolved.clone());
        Ok((
            plan.alert.into_iter().chain(plan.resolved).collect(),
            plan.changes,
        ))
    }

    /// Publishes `alerts`; with a state table, claims the records first
    /// (dropping what an overlapping run holds), and commits them only after
    /// every message went out. Returns the number of messages.
    async fn publish(
        &self,
        publisher: &AlertPublisher,
        account: &str,
        now: DateTime<Utc>,
        mut alerts: Vec<Connection>,
        mut changes: Vec<Change>,
    ) -> Result<usize, MonitorError> {
        let run_id = format!(
            "{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        if let Some(state) = &self.state {
            let held = state.claim(&changes, &run_id).await?;
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
                alerts.retain(|c| !taken.contains(&c.arn));
                changes.retain(|c| !taken.contains(c.arn()));
            }
        }
        let mut published = 0;
        for alert in render_alerts(account, now, &alerts, SNS_MAX_PUBLISH_BYTES) {
            match publisher.publish(&alert).await {
                Ok(id) => {
                    published += 1;
                    tracing::info!(message_id = %id, subject = %alert.subject, topic = publisher.topic_arn(), "alert published");
                }
                Err(e) => {
                    if let Some(state) = &self.state {
                        state.release(&changes, &run_id).await;
                    }
                    return Err(e.into());
                }
            }
        }
        if let Some(state) = &self.state {
            state.commit(&changes, self.config.repeat_interval).await?;
        }
        Ok(published)
    }

    /// Lists the region and reads the tags of each stuck connection as soon
    /// as its page arrives, so tag reads overlap the remaining pages.
    async fn scan_region(&self, connections: &Connections) -> Result<RegionScan, CodestarError> {
        let in_flight = Arc::new(Semaphore::new(TAG_READS_IN_FLIGHT));
        let mut tag_reads = JoinSet::new();
        let mut scan = RegionScan::default();
        connections
            .for_each_page(|page| {
                scan.scanned += page.len();
                for c in page.into_iter().filter(|c| is_candidate(c, &self.config)) {
                    let (connections, in_flight) = (connections.clone(), in_flight.clone());
                    tag_reads.spawn(async move {
                        let _permit = in_flight.acquire_owned().await;
                        connections.tags(&c.arn).await.map(|tags| (c, tags))
                    });
                }
            })
            .await?;
        while let Some(read) = tag_reads.join_next().await {
            let (c, tags) = read.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
            match tags {
                // Deleted between the listing and the tag read: nothing to alert.
                None => {}
                Some(tags) if is_ignored(&tags, &self.config.ignore_tag) => scan.ignored += 1,
                Some(_) => scan.stuck.push(c),
            }
        }
        Ok(scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scheduled_event_and_empty_object_use_the_configuration() {
        let scheduled = json!({
            "version": "0", "id": "53dc4d37", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-25T08:00:00Z",
            "region": "us-east-1", "resources": [], "detail": {}
        });
        let request = RunRequest::from_event(&scheduled).unwrap();
        assert_eq!(request.regions, None);
        assert_eq!(request.dry_run, None);
        assert_eq!(
            request.time.unwrap().to_rfc3339(),
            "2026-11-25T08:00:00+00:00"
        );
        assert_eq!(
            RunRequest::from_event(&json!({})).unwrap(),
            RunRequest::default()
        );
        assert_eq!(
            RunRequest::from_event(&Value::Null).unwrap(),
            RunRequest::default()
        );
    }

    #[test]
    fn manual_run_narrows() {
        let request =
            RunRequest::from_event(&json!({"regions": ["eu-west-1"], "dryRun": true})).unwrap();
        assert_eq!(request.regions.unwrap(), ["eu-west-1"]);
        assert_eq!(request.dry_run, Some(true));
    }

    #[test]
    fn bad_events_are_refused_with_the_reason() {
        for (event, expect) in [
            (json!({"region": ["eu-west-1"]}), "unknown field `region`"),
            (json!({"regions": "eu-west-1"}), "invalid type"),
            (json!({"regions": []}), "regions is empty"),
            (json!({"regions": ["mars-1"]}), "\"mars-1\" is not a region"),
            (json!({"dryRun": "yes"}), "invalid type"),
            (
                json!({"detail-type": "Scheduled Event", "time": "yesterday"}),
                "time",
            ),
            (json!([1, 2]), "invalid type"),
        ] {
            let err = RunRequest::from_event(&event).unwrap_err().to_string();
            assert!(err.contains(expect), "{event}: {err}");
        }
    }
}
