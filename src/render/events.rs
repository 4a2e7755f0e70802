//! The EventBridge events machines filter on: one entry per alerted
//! connection or host, packed into `PutEvents` calls within EventBridge's
//! quotas. Pure: no I/O.

use super::batch::{resource_arn, Batch, Item};
use crate::domain::arn::account_in;
use crate::domain::watched::{AlertState, Kind};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const SOURCE: &str = "connection-watch";
/// At most 10 entries a call (API reference, PutEvents: `Entries`, "Maximum
/// number of 10 items").
pub const MAX_ENTRIES_PER_CALL: usize = 10;
/// "The total entry size must be less than 256KB" (EventBridge User Guide,
/// "Calculating PutEvents event entry size").
pub const MAX_CALL_BYTES: usize = 256 * 1024 - 1;

/// One `PutEvents` entry; `Source` is `SOURCE` and `Time` the run's now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventEntry {
    pub detail_type: &'static str,
    /// Its ARN, the entry's only `Resources` item.
    pub resource: String,
    pub detail: String,
}

impl EventEntry {
    /// The size EventBridge counts: `Time` is 14 bytes, the strings their
    /// UTF-8 bytes (the same User Guide page).
    pub fn size(&self) -> usize {
        14 + SOURCE.len() + self.detail_type.len() + self.detail.len() + self.resource.len()
    }
}

/// The `DetailType` of a kind's events.
pub fn detail_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Connection => "Connection Alert",
        Kind::Host => "Host Alert",
        Kind::GitSync => "Git Sync Alert",
        Kind::Access => "Access Alert",
    }
}

/// One entry per alerted object: the object as the alert's JSON document
/// carries it, plus `account` (from the ARN when the run named none),
/// `state` (`stuck` without a state table), `firstSeen`, `alertId` and
/// `eventId`.
pub fn entries(batch: Batch<'_>, now: DateTime<Utc>) -> Vec<EventEntry> {
    batch.items().map(|item| entry(item, now)).collect()
}

fn entry(item: &dyn Item, now: DateTime<Utc>) -> EventEntry {
    let mut detail: Map<String, Value> = serde_json::from_str(&item.json()).unwrap_or_default();
    if item.account().is_none() {
        if let Some(account) = account_in(item.arn()) {
            detail.insert("account".into(), account.into());
        }
    }
    let first_seen = item.lifecycle().first_seen;
    let state = item.state().map_or("stuck", AlertState::as_str);
    detail.insert("state".into(), state.into());
    detail.insert(
        "firstSeen".into(),
        first_seen.map_or(Value::Null, |at| rfc3339(at).into()),
    );
    detail.insert(
        "alertId".into(),
        alert_id(item.arn(), first_seen.unwrap_or(now)).into(),
    );
    let since = item.lifecycle().last_alerted.unwrap_or(now);
    let event = match item.state() {
        // Stateless, each run's event is its own.
        None => event_id(item.arn(), now, state, now),
        Some(_) => event_id(item.arn(), first_seen.unwrap_or(now), state, since),
    };
    detail.insert("eventId".into(), event.into());
    EventEntry {
        detail_type: detail_type(item.kind()),
        resource: resource_arn(item).to_string(),
        detail: Value::Object(detail).to_string(),
    }
}

/// The same for every event of one stuck period of one ARN: the state
/// table keeps `firstSeen` from new through ongoing to resolved. Without
/// one, nothing is remembered, and each run's event is its own alert.
pub fn alert_id(arn: &str, first_seen: DateTime<Utc>) -> String {
    let digest = Sha256::digest(format!("{arn}\n{}", rfc3339(first_seen)));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// One per event: the ARN's stuck period, its state, and when its record
/// was last alerted before it. A run that fails leaves the record as it
/// was, so the run that sends the event again computes the same id (a new
/// record's first run has none: its period starts at that run's "now", the
/// scheduled event's time, which Lambda's retry of that event keeps).
pub fn event_id(
    arn: &str,
    first_seen: DateTime<Utc>,
    state: &str,
    last_alerted: DateTime<Utc>,
) -> String {
    let digest = Sha256::digest(format!(
        "{arn}\n{}\n{state}\n{}",
        rfc3339(first_seen),
        rfc3339(last_alerted)
    ));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Entries packed in order into calls of at most `MAX_ENTRIES_PER_CALL`
/// entries and `MAX_CALL_BYTES`. An entry too large for any call gets a
/// call of its own, which EventBridge refuses: the run then fails, loudly.
pub fn calls(entries: Vec<EventEntry>) -> Vec<Vec<EventEntry>> {
    let mut calls: Vec<Vec<EventEntry>> = Vec::new();
    let mut used = 0;
    for entry in entries {
        let size = entry.size();
        match calls.last_mut() {
            Some(call) if call.len() < MAX_ENTRIES_PER_CALL && used + size <= MAX_CALL_BYTES => {
                used += size;
                call.push(entry);
            }
            _ => {
                used = size;
                calls.push(vec![entry]);
            }
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::connection::Connection;
    use crate::domain::host::Host;
    use crate::domain::watched::Lifecycle;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    fn conn(i: usize) -> Connection {
        Connection {
            name: format!("conn-{i}"),
            arn: format!(
                "arn:aws:codeconnections:eu-west-1:111111111111:connection/{i:08}-aaaa-bbbb-cccc-dddddddddddd"
            ),
            status: "PENDING".into(),
            region: "eu-west-1".into(),
            ..Connection::default()
        }
    }

    fn detail(entry: &EventEntry) -> Value {
        serde_json::from_str(&entry.detail).unwrap()
    }

    #[test]
    fn an_entry_is_the_document_object_with_state_first_seen_alert_id_and_account() {
        let mut c = conn(1);
        c.lifecycle = Lifecycle {
            state: Some(AlertState::Ongoing),
            first_seen: Some(at(2)),
            last_alerted: None,
        };
        let host = Host {
            name: "ghe".into(),
            arn: "arn:aws:codestar-connections:us-east-1:111111111111:host/ghe-1234".into(),
            status: "PENDING".into(),
            ..Host::default()
        };
        let connections = [c.clone()];
        let hosts = [host];
        let batch = Batch {
            connections: &connections,
            hosts: &hosts,
            syncs: &[],
            access: &[],
        };
        let [connection, host] = entries(batch, at(8)).try_into().unwrap();

        assert_eq!(connection.detail_type, "Connection Alert");
        assert_eq!(connection.resource, c.arn);
        let d = detail(&connection);
        assert_eq!(d["name"], "conn-1");
        assert_eq!(d["consoleUrl"], c.console_url.as_str());
        assert_eq!(d["account"], "111111111111", "from the ARN");
        assert_eq!(d["state"], "ongoing");
        assert_eq!(d["firstSeen"], "2026-12-01T02:00:00Z");
        assert_eq!(d["alertId"], alert_id(&c.arn, at(2)).as_str());
        assert_eq!(host.detail_type, "Host Alert");
        let d = detail(&host);
        assert_eq!(
            (d["state"].as_str(), &d["firstSeen"]),
            (Some("stuck"), &Value::Null)
        );
    }

    #[test]
    fn the_alert_id_lasts_one_stuck_period_of_one_arn() {
        let (a, b) = (conn(1).arn, conn(2).arn);
        assert_eq!(alert_id(&a, at(2)), alert_id(&a, at(2)));
        assert_ne!(alert_id(&a, at(2)), alert_id(&a, at(3)), "a later period");
        assert_ne!(alert_id(&a, at(2)), alert_id(&b, at(2)), "another ARN");
        assert_eq!(alert_id(&a, at(2)).len(), 32);
    }

    /// Consumers de-duplicate by `eventId`: the new, each ongoing and the
    /// resolved event of one period differ, and an event sent again (the
    /// record as it was) keeps its id.
    #[test]
    fn the_event_id_is_one_per_event_and_the_same_when_sent_again() {
        let event = |state: AlertState, last: Option<u32>, now: u32| {
            let mut c = conn(1);
            c.lifecycle = Lifecycle {
                state: Some(state),
                first_seen: Some(at(2)),
                last_alerted: last.map(at),
            };
            let connections = [c];
            let batch = Batch {
                connections: &connections,
                hosts: &[],
                syncs: &[],
                access: &[],
            };
            let [entry] = entries(batch, at(now)).try_into().unwrap();
            let d = detail(&entry);
            (
                d["eventId"].as_str().unwrap().to_string(),
                d["alertId"].clone(),
            )
        };
        let new = event(AlertState::New, None, 2);
        let ongoing = event(AlertState::Ongoing, Some(2), 5);
        let later = event(AlertState::Ongoing, Some(5), 7);
        let resolved = event(AlertState::Resolved, Some(7), 8);
        let ids = [&new.0, &ongoing.0, &later.0, &resolved.0];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(
            [&ongoing, &later, &resolved].iter().all(|e| e.1 == new.1),
            "one alertId"
        );
        assert_eq!(
            event(AlertState::Ongoing, Some(2), 6).0,
            ongoing.0,
            "sent again a run later"
        );
        assert_eq!(ongoing.0.len(), 32);
    }

    #[test]
    fn an_organization_run_keeps_the_member_account() {
        let mut c = conn(1);
        c.account = Some("222222222222".into());
        let connections = [c];
        let batch = Batch {
            connections: &connections,
            hosts: &[],
            syncs: &[],
            access: &[],
        };
        assert_eq!(detail(&entries(batch, at(8))[0])["account"], "222222222222");
    }

    fn sized(size: usize) -> EventEntry {
        let frame = EventEntry {
            detail_type: "Connection Alert",
            resource: "r".into(),
            detail: String::new(),
        };
        EventEntry {
            detail: "x".repeat(size - frame.size()),
            ..frame
        }
    }

    #[test]
    fn calls_hold_at_most_10_entries() {
        for (n, expected) in [
            (9, vec![9]),
            (10, vec![10]),
            (11, vec![10, 1]),
            (21, vec![10, 10, 1]),
        ] {
            let packed = calls((0..n).map(|_| sized(100)).collect());
            let lens: Vec<usize> = packed.iter().map(Vec::len).collect();
            assert_eq!(lens, expected, "{n} entries");
        }
        assert!(calls(Vec::new()).is_empty());
    }

    #[test]
    fn calls_stay_under_256_kb_at_the_edge() {
        let half = MAX_CALL_BYTES / 2;
        // Two entries totalling exactly the limit (256 KB - 1) share a call...
        let packed = calls(vec![sized(half), sized(MAX_CALL_BYTES - half)]);
        assert_eq!(packed.len(), 1);
        // ...one byte more (256 KB, not "less than") splits them.
        let packed = calls(vec![sized(half), sized(MAX_CALL_BYTES - half + 1)]);
        assert_eq!(packed.len(), 2);
        assert_eq!(MAX_CALL_BYTES + 1, 262_144);
    }
}
