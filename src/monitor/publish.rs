//! The publish stage: claim the records, publish the alert, commit.

use super::decide::Decision;
use super::error::MonitorError;
use crate::aws::sns::AlertPublisher;
use crate::aws::state::{StateError, StateTable};
use crate::render::batch::Batch;
use crate::render::message::{render_alerts, SNS_MAX_PUBLISH_BYTES};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

/// What the publish stage did: messages sent, and a claim or commit that
/// failed (the alert still went out).
pub struct Published {
    pub messages: usize,
    pub state_error: Option<StateError>,
}

/// Publishes the alerts; with a usable state table, claims the records
/// first (dropping what an overlapping run holds), and commits them only
/// after every message went out.
pub async fn publish(
    publisher: &AlertPublisher,
    state: Option<&StateTable>,
    repeat_interval: Duration,
    account: &str,
    now: DateTime<Utc>,
    decision: Decision,
) -> Result<Published, MonitorError> {
    let Decision {
        mut alerts,
        mut changes,
        mut state_error,
    } = decision;
    let run_id = format!(
        "{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let mut state = state.filter(|_| state_error.is_none());
    let claimed = match state {
        Some(state) => match state.claim(&changes, &run_id).await {
            Ok(held) => Some(held),
            Err(e) => {
                tracing::error!(error = %e, "claims failed: alerting without the lifecycle's records");
                state.release(&changes, &run_id).await;
                state_error = Some(e);
                None
            }
        },
        None => None,
    };
    if claimed.is_none() {
        state = None;
    }
    if let Some(held) = claimed {
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
            alerts.connections.retain(|c| !taken.contains(&c.arn));
            alerts.hosts.retain(|h| !taken.contains(&h.arn));
            changes.retain(|c| !taken.contains(c.arn()));
        }
    }
    let batch = Batch {
        connections: &alerts.connections,
        hosts: &alerts.hosts,
    };
    let mut messages = 0;
    for alert in render_alerts(account, now, batch, SNS_MAX_PUBLISH_BYTES) {
        match publisher.publish(&alert).await {
            Ok(id) => {
                messages += 1;
                tracing::info!(message_id = %id, subject = %alert.subject, topic = publisher.topic_arn(), "alert published");
            }
            Err(e) => {
                if let Some(state) = state {
                    state.release(&changes, &run_id).await;
                }
                return Err(e.into());
            }
        }
    }
    if let Some(state) = state {
        if let Err(e) = state.commit(&changes, repeat_interval).await {
            state_error = Some(e);
        }
    }
    Ok(Published {
        messages,
        state_error,
    })
}
