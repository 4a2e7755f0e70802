//! Puts the alert's events on an EventBridge bus.

use super::sdk::{pause_before_resend, PARTIAL_ATTEMPTS};
use crate::render::events::{calls, EventEntry, SOURCE};
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime as SmithyTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use chrono::{DateTime, Utc};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("events to bus {bus} failed: {message}")]
pub struct EventsError {
    pub bus: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct EventPublisher {
    client: Client,
    bus: String,
}

/// What a put did: entries delivered, and the calls it took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Put {
    pub entries: usize,
    pub calls: usize,
}

impl EventPublisher {
    pub fn new(client: Client, bus: String) -> Self {
        Self { client, bus }
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// A put that did not finish before the run's deadline.
    pub fn timed_out(&self) -> EventsError {
        self.error("no answer before the run's deadline".into())
    }

    fn error(&self, message: String) -> EventsError {
        EventsError {
            bus: self.bus.clone(),
            message,
        }
    }

    /// Puts every entry, each failed entry again with backoff. First asks
    /// whether the bus exists: AWS's PutEvents accepts events for a bus that
    /// does not and drops them (FailedEntryCount 0; aws/aws-cli#9186,
    /// aws/aws-sdk#186), so a typo would lose every event silently.
    pub async fn put(
        &self,
        entries: Vec<EventEntry>,
        now: DateTime<Utc>,
    ) -> Result<Put, EventsError> {
        if entries.is_empty() {
            return Ok(Put::default());
        }
        self.client
            .describe_event_bus()
            .name(&self.bus)
            .send()
            .await
            .map_err(|e| self.error(format!("DescribeEventBus: {}", DisplayErrorContext(&e))))?;
        let time = SmithyTime::from_secs(now.timestamp());
        let mut put = Put::default();
        for call in calls(entries) {
            let mut pending: Vec<PutEventsRequestEntry> =
                call.iter().map(|e| self.request(e, time)).collect();
            let mut last_failure = String::new();
            for attempt in 0..PARTIAL_ATTEMPTS {
                if attempt > 0 {
                    pause_before_resend(attempt - 1).await;
                }
                put.calls += 1;
                let out = self
                    .client
                    .put_events()
                    .set_entries(Some(pending.clone()))
                    .send()
                    .await
                    .map_err(|e| self.error(format!("PutEvents: {}", DisplayErrorContext(&e))))?;
                // Results come in the order of the request (PutEvents API
                // reference); an entry without one counts as failed.
                let mut failed = Vec::new();
                for (i, entry) in pending.into_iter().enumerate() {
                    match out.entries().get(i) {
                        Some(result) if result.error_code().is_none() => put.entries += 1,
                        result => {
                            let result = result.map(|r| (r.error_code(), r.error_message()));
                            let (code, message) = result.unwrap_or((None, None));
                            last_failure = format!(
                                "{}: {}",
                                code.unwrap_or("no result"),
                                message.unwrap_or_default()
                            );
                            failed.push(entry);
                        }
                    }
                }
                pending = failed;
                if pending.is_empty() {
                    break;
                }
            }
            if !pending.is_empty() {
                return Err(self.error(format!(
                    "{} entries still failed after {PARTIAL_ATTEMPTS} attempts (last: {last_failure})",
                    pending.len()
                )));
            }
        }
        Ok(put)
    }

    fn request(&self, entry: &EventEntry, time: SmithyTime) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(entry.detail_type)
            .resources(&entry.resource)
            .detail(&entry.detail)
            .time(time)
            .build()
    }
}
