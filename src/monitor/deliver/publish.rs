//! The publish stage: claim the records, publish the alert, put its
//! events, commit.

use crate::aws::events::EventPublisher;
use crate::aws::sns::AlertPublisher;
use crate::aws::state::{StateError, StateTable};
use crate::domain::lifecycle::Change;
use crate::monitor::decide::{Alerts, Decision};
use crate::monitor::error::MonitorError;
use crate::render::batch::Frame;
use crate::render::events::entries;
use crate::render::message::{render_alerts, SNS_MAX_PUBLISH_BYTES};
use chrono::{Duration, Utc};
use std::collections::HashSet;
use tokio::time::{timeout_at, Instant};

/// When the stages after the scan must be done: the state table's load and
/// claims by `state` (half of what is left after the scan), the lookup of
/// what alerted connections break by `consumers` (three quarters), and
/// everything by `finish`.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    pub state: Instant,
    pub consumers: Instant,
    pub finish: Instant,
}

impl Deadlines {
    /// From now, with the run ending at `finish`.
    pub fn after_scan(finish: Instant) -> Self {
        let now = Instant::now();
        let left = finish.saturating_duration_since(now);
        Self {
            state: now + left / 2,
            consumers: now + left * 3 / 4,
            finish,
        }
    }
}

/// Where a run's alert goes.
#[derive(Clone, Copy)]
pub struct Outlets<'a> {
    pub publisher: &'a AlertPublisher,
    /// `EVENT_BUS` set: each alerted object is also an event.
    pub events: Option<&'a EventPublisher>,
}

/// What the publish stage did: messages sent, events put (`None` without
/// a bus), and a claim or commit that failed (the alert still went out).
pub struct Published {
    pub messages: usize,
    pub events: Option<usize>,
    pub state_error: Option<StateError>,
}

/// What the claims left to alert and to remember. `alerts` holds only what
/// this run claimed (or, when the claims failed, what is stuck, never a
/// resolution), so acting on its resolutions (restarting pipelines) is
/// acting on what no overlapping run holds.
pub struct Claimed<'a> {
    pub alerts: Alerts,
    changes: Vec<Change>,
    state_error: Option<StateError>,
    state: Option<&'a StateTable>,
    run_id: String,
}

/// With a usable state table, claims the records first (dropping what an
/// overlapping run holds), bounded by `deadlines.state`, so that a slow
/// table leaves the publish its time. Claims that fail leave everything
/// stuck to be alerted, and nothing held.
pub async fn claim<'a>(
    state: Option<&'a StateTable>,
    decision: Decision,
    deadlines: Deadlines,
) -> Claimed<'a> {
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
        let claimed = timeout_at(deadlines.state, table.claim(&changes, &run_id))
            .await
            .unwrap_or_else(|_| Err(table.timed_out("UpdateItem (claim)")));
        match claimed {
            Ok(held) => drop_taken(&held, &mut alerts, &mut changes),
            Err(e) => {
                tracing::error!(error = %e, "claims failed: alerting everything stuck");
                let _ = timeout_at(deadlines.finish, table.release(&changes, &run_id)).await;
                state_error = Some(e);
                alerts = unclaimed;
                state = None;
            }
        }
    }
    Claimed {
        alerts,
        changes,
        state_error,
        state,
        run_id,
    }
}

/// Publishes the alerts and puts their events, then commits the claimed
/// records, only after every message and every event went out, so a
/// failure of either leaves the table as read and the next run sends again.
pub async fn deliver(
    outlets: Outlets<'_>,
    repeat_interval: Duration,
    frame: &Frame<'_>,
    claimed: Claimed<'_>,
    deadline: Instant,
) -> Result<Published, MonitorError> {
    let Claimed {
        alerts,
        changes,
        mut state_error,
        state,
        run_id,
    } = claimed;
    let sent = match send(outlets.publisher, outlets.events, frame, &alerts, deadline).await {
        Ok(sent) => sent,
        Err(e) => {
            release(state, &changes, &run_id, deadline).await;
            return Err(e);
        }
    };
    if let Some(state) = state {
        let committed = timeout_at(deadline, state.commit(&changes, repeat_interval))
            .await
            .unwrap_or_else(|_| Err(state.timed_out("BatchWriteItem")));
        if let Err(e) = committed {
            state_error = Some(e);
        }
    }
    Ok(Published {
        messages: sent.messages,
        events: sent.events,
        state_error,
    })
}

/// What went out: messages published, events put (`None` without a bus).
struct Sent {
    messages: usize,
    events: Option<usize>,
}

/// Publishes every message, then puts every event; the first failure ends it.
async fn send(
    publisher: &AlertPublisher,
    events: Option<&EventPublisher>,
    frame: &Frame<'_>,
    alerts: &Alerts,
    deadline: Instant,
) -> Result<Sent, MonitorError> {
    let mut messages = 0;
    for alert in render_alerts(frame, alerts.batch(), SNS_MAX_PUBLISH_BYTES) {
        let id = timeout_at(deadline, publisher.publish(&alert))
            .await
            .unwrap_or_else(|_| Err(publisher.timed_out()))?;
        messages += 1;
        tracing::info!(message_id = %id, subject = %alert.subject, topic = publisher.topic_arn(), "alert published");
    }
    let Some(events) = events else {
        return Ok(Sent {
            messages,
            events: None,
        });
    };
    let now = frame.generated_at;
    let put = timeout_at(deadline, events.put(entries(alerts.batch(), now), now))
        .await
        .unwrap_or_else(|_| Err(events.timed_out()))?;
    tracing::info!(
        entries = put.entries,
        calls = put.calls,
        bus = events.bus(),
        "events put"
    );
    Ok(Sent {
        messages,
        events: Some(put.entries),
    })
}

/// Gives the claims back after a failed publish or put. Past the deadline
/// they expire on their own (CLAIM_LEASE).
async fn release(state: Option<&StateTable>, changes: &[Change], run_id: &str, deadline: Instant) {
    if let Some(state) = state {
        let _ = timeout_at(deadline, state.release(changes, run_id)).await;
    }
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
        alerts.syncs.retain(|s| !taken.contains(&s.arn));
        changes.retain(|c| !taken.contains(c.arn()));
    }
}
