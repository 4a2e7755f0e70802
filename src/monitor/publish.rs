//! The publish stage: claim the records, publish the alert, commit.

use super::decide::{Alerts, Decision};
use super::error::MonitorError;
use crate::aws::sns::AlertPublisher;
use crate::aws::state::{StateError, StateTable};
use crate::domain::lifecycle::Change;
use crate::render::message::{render_alerts, SNS_MAX_PUBLISH_BYTES};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;
use tokio::time::{timeout_at, Instant};

/// When the stages after the scan must be done: the state table's load and
/// claims by `state` (half of what is left after the scan), everything by
/// `finish`.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    pub state: Instant,
    pub finish: Instant,
}

impl Deadlines {
    /// From now, with the run ending at `finish`.
    pub fn after_scan(finish: Instant) -> Self {
        let now = Instant::now();
        Self {
            state: now + finish.saturating_duration_since(now) / 2,
            finish,
        }
    }
}

/// What the publish stage did: messages sent, and a claim or commit that
/// failed (the alert still went out).
pub struct Published {
    pub messages: usize,
    pub state_error: Option<StateError>,
}

/// Publishes the alerts; with a usable state table, claims the records
/// first (dropping what an overlapping run holds), and commits them only
/// after every message went out. Every call is bounded: the claims by
/// `deadlines.state`, so that a slow table leaves the publish its time.
pub async fn publish(
    publisher: &AlertPublisher,
    state: Option<&StateTable>,
    repeat_interval: Duration,
    account: &str,
    now: DateTime<Utc>,
    decision: Decision,
    deadlines: Deadlines,
) -> Result<Published, MonitorError> {
    let Deadlines {
        state: claims_by,
        finish: deadline,
    } = deadlines;
    let Decision {
        mut alerts,
        mut changes,
        mut state_error,
        unclaimed,
    } = decision;
    let run_id = format!(
        "{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let mut state = state.filter(|_| state_error.is_none());
    if let Some(table) = state {
        let claimed = timeout_at(claims_by, table.claim(&changes, &run_id))
            .await
            .unwrap_or_else(|_| Err(table.timed_out("UpdateItem (claim)")));
        match claimed {
            Ok(held) => drop_taken(&held, &mut alerts, &mut changes),
            Err(e) => {
                tracing::error!(error = %e, "claims failed: alerting everything stuck");
                let _ = timeout_at(deadline, table.release(&changes, &run_id)).await;
                state_error = Some(e);
                alerts = unclaimed;
                state = None;
            }
        }
    }
    let mut messages = 0;
    for alert in render_alerts(account, now, alerts.batch(), SNS_MAX_PUBLISH_BYTES) {
        let sent = timeout_at(deadline, publisher.publish(&alert))
            .await
            .unwrap_or_else(|_| Err(publisher.timed_out()));
        match sent {
            Ok(id) => {
                messages += 1;
                tracing::info!(message_id = %id, subject = %alert.subject, topic = publisher.topic_arn(), "alert published");
            }
            Err(e) => {
                if let Some(state) = state {
                    // Past the deadline the claims expire on their own (CLAIM_LEASE).
                    let _ = timeout_at(deadline, state.release(&changes, &run_id)).await;
                }
                return Err(e.into());
            }
        }
    }
    if let Some(state) = state {
        let committed = timeout_at(deadline, state.commit(&changes, repeat_interval))
            .await
            .unwrap_or_else(|_| Err(state.timed_out("BatchWriteItem")));
        if let Err(e) = committed {
            state_error = Some(e);
        }
    }
    Ok(Published {
        messages,
        state_error,
    })
}

/// Leaves to an overlapping run (or to the next one, if a record changed
/// since it was read) what this run could not claim (`held` is false).
fn drop_taken(held: &[bool], alerts: &mut Alerts, changes: &mut Vec<Change>) {
    let taken: HashSet<String> = changes
        .iter()
        .zip(held)
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
