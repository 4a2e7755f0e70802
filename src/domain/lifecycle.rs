//! The alert lifecycle: from what the state table remembers and what this run
//! found, decide what to alert (new, ongoing), what to announce as resolved,
//! what to hold back until it is due, and what to remember. The same rules
//! serve connections and hosts. Pure: no I/O.

use super::watched::{AlertState, Kind, Lifecycle, Watched};
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet};

/// A record as the state table keeps it (key: home region, ARN), whatever
/// it describes: `document` is the object as last alerted, in JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub kind: Kind,
    pub region: String,
    pub arn: String,
    pub status: String,
    pub document: String,
    pub first_seen: DateTime<Utc>,
    pub last_alerted: DateTime<Utc>,
}

/// What the state table remembers of one stuck connection or host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<T> {
    /// As last alerted; its status is the status last alerted.
    pub item: T,
    pub first_seen: DateTime<Utc>,
    pub last_alerted: DateTime<Utc>,
}

impl<T: Watched> Record<T> {
    /// The records of `T`'s kind among `stored`; one that does not decode
    /// (written by another version) is skipped and will be written anew.
    pub fn all_from(stored: &[Stored]) -> Vec<Self> {
        stored.iter().filter_map(Self::decode).collect()
    }

    /// The ARNs of `T`'s kind whose records do not decode: their stuck
    /// objects are alerted as new and their records replaced
    /// (`replace_unreadable`), never left silent.
    pub fn unreadable(stored: &[Stored]) -> HashSet<String> {
        stored
            .iter()
            .filter(|s| s.kind == T::KIND && Self::decode(s).is_none())
            .map(|s| s.arn.clone())
            .collect()
    }

    fn decode(s: &Stored) -> Option<Self> {
        if s.kind != T::KIND {
            return None;
        }
        let item: T = serde_json::from_str(&s.document).ok()?;
        (item.arn() == s.arn).then_some(Self {
            item,
            first_seen: s.first_seen,
            last_alerted: s.last_alerted,
        })
    }

    fn to_stored(&self) -> Stored {
        let mut item = self.item.clone();
        *item.lifecycle_mut() = Lifecycle::default();
        Stored {
            kind: T::KIND,
            region: item.region().to_string(),
            arn: item.arn().to_string(),
            status: item.status().to_string(),
            document: serde_json::to_string(&item).expect("plain data"),
            first_seen: self.first_seen,
            last_alerted: self.last_alerted,
        }
    }
}

/// A change to one record, made only once the alert is published, and only
/// if the record is still as this run read it (`expected_last_alerted`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Put {
        record: Stored,
        expected_last_alerted: Option<DateTime<Utc>>,
    },
    Delete {
        region: String,
        arn: String,
        expected_last_alerted: DateTime<Utc>,
    },
    /// A new record over one this version cannot read (another version's
    /// schema): written whatever that record holds.
    Replace { record: Stored },
}

/// What a change expects of the record before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prior {
    Absent,
    LastAlerted(DateTime<Utc>),
    Unreadable,
}

impl Change {
    pub fn arn(&self) -> &str {
        match self {
            Self::Put { record, .. } | Self::Replace { record } => &record.arn,
            Self::Delete { arn, .. } => arn,
        }
    }

    pub fn region(&self) -> &str {
        match self {
            Self::Put { record, .. } | Self::Replace { record } => &record.region,
            Self::Delete { region, .. } => region,
        }
    }

    /// The record as this run read it.
    pub fn prior(&self) -> Prior {
        match self {
            Self::Put {
                expected_last_alerted: None,
                ..
            } => Prior::Absent,
            Self::Put {
                expected_last_alerted: Some(at),
                ..
            }
            | Self::Delete {
                expected_last_alerted: at,
                ..
            } => Prior::LastAlerted(*at),
            Self::Replace { .. } => Prior::Unreadable,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan<T> {
    /// Everything stuck, with its state and first sighting.
    pub stuck: Vec<T>,
    /// What this run alerts (new, or ongoing and due).
    pub alert: Vec<T>,
    /// Stuck, alerted before, and not due again yet.
    pub suppressed: Vec<T>,
    /// Remembered, in scope, and no longer stuck (available, deleted).
    pub resolved: Vec<T>,
    pub changes: Vec<Change>,
}

impl<T> Default for Plan<T> {
    fn default() -> Self {
        Self {
            stuck: Vec::new(),
            alert: Vec::new(),
            suppressed: Vec::new(),
            resolved: Vec::new(),
            changes: Vec::new(),
        }
    }
}

/// Turns each new record whose ARN has an unreadable one into a replacement
/// of it: without this, its claim (which expects no record) would fail on
/// every run and the object would never be alerted.
pub fn replace_unreadable(changes: &mut [Change], unreadable: &HashSet<String>) {
    for change in changes.iter_mut() {
        if let Change::Put {
            record,
            expected_last_alerted: None,
        } = change
        {
            if unreadable.contains(&record.arn) {
                *change = Change::Replace {
                    record: record.clone(),
                };
            }
        }
    }
}

/// `in_scope` says which remembered objects this run saw completely (listing
/// succeeded, region watched): only those can resolve, so a failed listing
/// never reads as resolved.
pub fn plan<T: Watched>(
    previous: &[Record<T>],
    stuck: &[T],
    in_scope: impl Fn(&T) -> bool,
    now: DateTime<Utc>,
    repeat_interval: Duration,
) -> Plan<T> {
    let remembered: HashMap<&str, &Record<T>> =
        previous.iter().map(|r| (r.item.arn(), r)).collect();
    let mut plan = Plan::default();

    for c in stuck {
        let record = remembered.get(c.arn());
        let (state, first_seen, due) = match record {
            None => (AlertState::New, now, true),
            // A status change (PENDING to ERROR) is news.
            Some(r) if r.item.status() != c.status() => (AlertState::New, r.first_seen, true),
            Some(r) => (
                AlertState::Ongoing,
                r.first_seen,
                now - r.last_alerted >= repeat_interval,
            ),
        };
        let mut item = c.clone();
        *item.lifecycle_mut() = Lifecycle {
            state: Some(state),
            first_seen: Some(first_seen),
            last_alerted: record.map(|r| r.last_alerted),
        };
        plan.stuck.push(item.clone());
        if due {
            let record = Record {
                item: c.clone(),
                first_seen,
                last_alerted: now,
            };
            plan.changes.push(Change::Put {
                record: record.to_stored(),
                expected_last_alerted: remembered.get(c.arn()).map(|r| r.last_alerted),
            });
            plan.alert.push(item);
        } else {
            plan.suppressed.push(item);
        }
    }

    let still_stuck: HashSet<&str> = stuck.iter().map(|c| c.arn()).collect();
    for r in previous {
        if in_scope(&r.item) && !still_stuck.contains(r.item.arn()) {
            let mut item = r.item.clone();
            *item.lifecycle_mut() = Lifecycle {
                state: Some(AlertState::Resolved),
                first_seen: Some(r.first_seen),
                last_alerted: Some(r.last_alerted),
            };
            plan.resolved.push(item);
            plan.changes.push(Change::Delete {
                region: r.item.region().to_string(),
                arn: r.item.arn().to_string(),
                expected_last_alerted: r.last_alerted,
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::connection::Connection;
    use super::super::host::Host;
    use super::*;
    use chrono::TimeZone;
    use std::collections::BTreeSet;

    fn at(hour: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap() + Duration::hours(hour)
    }

    fn conn(id: &str, status: &str, region: &str) -> Connection {
        Connection {
            name: id.into(),
            arn: format!("arn:aws:codestar-connections:{region}:123456789012:connection/{id}"),
            status: status.into(),
            region: region.into(),
            ..Connection::default()
        }
    }

    fn record(c: &Connection, first_seen: i64, last_alerted: i64) -> Record<Connection> {
        Record {
            item: c.clone(),
            first_seen: at(first_seen),
            last_alerted: at(last_alerted),
        }
    }

    fn regions(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|r| r.to_string()).collect()
    }

    fn names(connections: &[Connection]) -> Vec<&str> {
        connections.iter().map(|c| c.name.as_str()).collect()
    }

    const DAY: i64 = 24;

    struct Case {
        name: &'static str,
        previous: Vec<Record<Connection>>,
        stuck: Vec<Connection>,
        scanned: Vec<&'static str>,
        now: i64,
        alert: Vec<(&'static str, AlertState)>,
        suppressed: Vec<&'static str>,
        resolved: Vec<&'static str>,
        puts: usize,
        deletes: usize,
    }

    #[test]
    fn decision_table() {
        let a = conn("a", "PENDING", "us-east-1");
        let b = conn("b", "PENDING", "us-east-1");
        let a_error = conn("a", "ERROR", "us-east-1");
        let w = conn("w", "PENDING", "eu-west-1");
        let cases = vec![
            Case {
                name: "first run: everything stuck is new",
                previous: vec![],
                stuck: vec![a.clone(), b.clone()],
                scanned: vec!["us-east-1"],
                now: 0,
                alert: vec![("a", AlertState::New), ("b", AlertState::New)],
                suppressed: vec![],
                resolved: vec![],
                puts: 2,
                deletes: 0,
            },
            Case {
                name: "same run again: nothing due, nothing written",
                previous: vec![record(&a, 0, 0)],
                stuck: vec![a.clone()],
                scanned: vec!["us-east-1"],
                now: 0,
                alert: vec![],
                suppressed: vec!["a"],
                resolved: vec![],
                puts: 0,
                deletes: 0,
            },
            Case {
                name: "repeat not yet due",
                previous: vec![record(&a, 0, 1)],
                stuck: vec![a.clone()],
                scanned: vec!["us-east-1"],
                now: DAY,
                alert: vec![],
                suppressed: vec!["a"],
                resolved: vec![],
                puts: 0,
                deletes: 0,
            },
            Case {
                name: "repeat due exactly at the interval",
                previous: vec![record(&a, 0, 1)],
                stuck: vec![a.clone()],
                scanned: vec!["us-east-1"],
                now: DAY + 1,
                alert: vec![("a", AlertState::Ongoing)],
                suppressed: vec![],
                resolved: vec![],
                puts: 1,
                deletes: 0,
            },
            Case {
                name: "status change is new again, first seen kept",
                previous: vec![record(&a, 0, 2)],
                stuck: vec![a_error.clone()],
                scanned: vec!["us-east-1"],
                now: 3,
                alert: vec![("a", AlertState::New)],
                suppressed: vec![],
                resolved: vec![],
                puts: 1,
                deletes: 0,
            },
            Case {
                name: "available again or deleted: resolved once",
                previous: vec![record(&a, 0, 0), record(&b, 0, 0)],
                stuck: vec![],
                scanned: vec!["us-east-1"],
                now: 1,
                alert: vec![],
                suppressed: vec![],
                resolved: vec!["a", "b"],
                puts: 0,
                deletes: 2,
            },
            Case {
                name: "a region that failed to scan resolves nothing",
                previous: vec![record(&a, 0, 0), record(&w, 0, 0)],
                stuck: vec![a.clone()],
                scanned: vec!["us-east-1"],
                now: 1,
                alert: vec![],
                suppressed: vec!["a"],
                resolved: vec![],
                puts: 0,
                deletes: 0,
            },
            Case {
                name: "mixed: one new, one ongoing due, one resolved",
                previous: vec![record(&a, 0, 0), record(&w, 0, 0)],
                stuck: vec![a.clone(), b.clone()],
                scanned: vec!["us-east-1", "eu-west-1"],
                now: 2 * DAY,
                alert: vec![("a", AlertState::Ongoing), ("b", AlertState::New)],
                suppressed: vec![],
                resolved: vec!["w"],
                puts: 2,
                deletes: 1,
            },
        ];
        for case in cases {
            let scanned = regions(&case.scanned);
            let plan = plan(
                &case.previous,
                &case.stuck,
                |c| scanned.contains(&c.region),
                at(case.now),
                Duration::hours(DAY),
            );
            let alert: Vec<(&str, AlertState)> = plan
                .alert
                .iter()
                .map(|c| (c.name.as_str(), c.lifecycle.state.unwrap()))
                .collect();
            assert_eq!(alert, case.alert, "{}", case.name);
            assert_eq!(names(&plan.suppressed), case.suppressed, "{}", case.name);
            assert_eq!(names(&plan.resolved), case.resolved, "{}", case.name);
            let puts = plan
                .changes
                .iter()
                .filter(|c| matches!(c, Change::Put { .. }))
                .count();
            assert_eq!(
                (puts, plan.changes.len() - puts),
                (case.puts, case.deletes),
                "{}",
                case.name
            );
            assert_eq!(plan.stuck.len(), case.stuck.len(), "{}", case.name);
            assert!(plan
                .resolved
                .iter()
                .all(|c| c.lifecycle.state == Some(AlertState::Resolved)));
        }
    }

    #[test]
    fn records_keep_first_seen_and_expect_what_was_read() {
        let a = conn("a", "PENDING", "us-east-1");
        let a_error = conn("a", "ERROR", "us-east-1");
        let plan = plan(
            &[record(&a, 0, 5)],
            &[a_error],
            |_| true,
            at(6),
            Duration::hours(DAY),
        );
        assert_eq!(plan.alert[0].lifecycle.first_seen, Some(at(0)));
        match &plan.changes[0] {
            Change::Put {
                record,
                expected_last_alerted,
            } => {
                assert_eq!(record.first_seen, at(0));
                assert_eq!(record.last_alerted, at(6));
                assert_eq!(
                    (record.kind, record.status.as_str()),
                    (Kind::Connection, "ERROR")
                );
                assert!(
                    !record.document.contains("\"state\""),
                    "{}",
                    record.document
                );
                let back = Record::<Connection>::all_from(std::slice::from_ref(record));
                assert_eq!(back[0].item.status, "ERROR");
                assert!(Record::<Host>::all_from(std::slice::from_ref(record)).is_empty());
                assert_eq!(*expected_last_alerted, Some(at(5)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_record_that_does_not_decode_is_replaced_by_a_new_one() {
        let a = conn("a", "PENDING", "us-east-1");
        let mut garbled = record(&a, 0, 5).to_stored();
        garbled.document = "{\"name\": 7}".into();
        let stored = [garbled];
        assert!(Record::<Connection>::all_from(&stored).is_empty());
        let unreadable = Record::<Connection>::unreadable(&stored);
        assert_eq!(unreadable, HashSet::from([a.arn.clone()]));
        assert!(
            Record::<Host>::unreadable(&stored).is_empty(),
            "another kind's"
        );

        let mut plan = plan(
            &[],
            std::slice::from_ref(&a),
            |_| true,
            at(6),
            Duration::hours(DAY),
        );
        assert_eq!(plan.alert[0].lifecycle.state, Some(AlertState::New));
        replace_unreadable(&mut plan.changes, &unreadable);
        assert!(
            matches!(&plan.changes[0], Change::Replace { record } if record.arn == a.arn),
            "{:?}",
            plan.changes
        );
        assert_eq!(plan.changes[0].prior(), Prior::Unreadable);
    }

    #[test]
    fn hosts_follow_the_same_rules_within_their_scope() {
        let host = |id: &str, status: &str, region: &str| {
            Host::new(
                id,
                &format!("arn:aws:codestar-connections:{region}:123456789012:host/{id}"),
                status,
                None,
                "GitHubEnterpriseServer",
                "https://ghe.example.com",
                region,
            )
        };
        let east = host("east", "PENDING", "us-east-1");
        let west = host("west", "VPC_CONFIG_FAILED_INITIALIZATION", "eu-west-1");
        let previous = [
            Record {
                item: east.clone(),
                first_seen: at(0),
                last_alerted: at(0),
            },
            Record {
                item: west.clone(),
                first_seen: at(0),
                last_alerted: at(0),
            },
        ];
        // Neither is stuck now, but eu-west-1's hosts could not be listed.
        let plan = plan(
            &previous,
            &[],
            |h| h.region == "us-east-1",
            at(1),
            Duration::hours(DAY),
        );
        let resolved: Vec<&str> = plan.resolved.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(resolved, ["east"]);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].arn(), east.arn);
    }
}
