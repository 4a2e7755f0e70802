//! The alert lifecycle: from what the state table remembers and what this run
//! found, decide what to alert (new, ongoing), what to announce as resolved,
//! what to hold back until it is due, and what to remember. Pure: no I/O.

use crate::connection::{AlertState, Connection};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeSet, HashMap, HashSet};

/// What the state table keeps per stuck connection (key: region, ARN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// As last alerted; its status is the status last alerted.
    pub connection: Connection,
    pub first_seen: DateTime<Utc>,
    pub last_alerted: DateTime<Utc>,
}

impl Record {
    pub fn region(&self) -> &str {
        &self.connection.region
    }

    pub fn arn(&self) -> &str {
        &self.connection.arn
    }
}

/// A change to one record, made only once the alert is published, and only
/// if the record is still as this run read it (`expected_last_alerted`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Put {
        record: Record,
        expected_last_alerted: Option<DateTime<Utc>>,
    },
    Delete {
        region: String,
        arn: String,
        expected_last_alerted: DateTime<Utc>,
    },
}

impl Change {
    pub fn arn(&self) -> &str {
        match self {
            Self::Put { record, .. } => record.arn(),
            Self::Delete { arn, .. } => arn,
        }
    }

    pub fn region(&self) -> &str {
        match self {
            Self::Put { record, .. } => record.region(),
            Self::Delete { region, .. } => region,
        }
    }

    /// `lastAlerted` as this run read it; `None`: no record yet.
    pub fn expected_last_alerted(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Put {
                expected_last_alerted,
                ..
            } => *expected_last_alerted,
            Self::Delete {
                expected_last_alerted,
                ..
            } => Some(*expected_last_alerted),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Every stuck connection, with its state and first sighting.
    pub stuck: Vec<Connection>,
    /// The stuck connections this run alerts (new, or ongoing and due).
    pub alert: Vec<Connection>,
    /// Stuck, alerted before, and not due again yet.
    pub suppressed: Vec<Connection>,
    /// Remembered, and in a scanned region no longer stuck (available, deleted).
    pub resolved: Vec<Connection>,
    pub changes: Vec<Change>,
}

/// `scanned_regions` are the regions whose scan succeeded: records of any
/// other region are left alone, so a failed scan never reads as resolved.
pub fn plan(
    previous: &[Record],
    stuck: &[Connection],
    scanned_regions: &BTreeSet<String>,
    now: DateTime<Utc>,
    repeat_interval: Duration,
) -> Plan {
    let remembered: HashMap<&str, &Record> = previous.iter().map(|r| (r.arn(), r)).collect();
    let mut plan = Plan::default();

    for c in stuck {
        let record = remembered.get(c.arn.as_str());
        let (state, first_seen, due) = match record {
            None => (AlertState::New, now, true),
            // A status change (PENDING to ERROR) is news.
            Some(r) if r.connection.status != c.status => (AlertState::New, r.first_seen, true),
            Some(r) => (
                AlertState::Ongoing,
                r.first_seen,
                now - r.last_alerted >= repeat_interval,
            ),
        };
        let mut connection = c.clone();
        connection.state = Some(state);
        connection.first_seen = Some(first_seen);
        plan.stuck.push(connection.clone());
        if due {
            plan.changes.push(Change::Put {
                record: Record {
                    connection: Connection {
                        state: None,
                        first_seen: None,
                        ..c.clone()
                    },
                    first_seen,
                    last_alerted: now,
                },
                expected_last_alerted: record.map(|r| r.last_alerted),
            });
            plan.alert.push(connection);
        } else {
            plan.suppressed.push(connection);
        }
    }

    let still_stuck: HashSet<&str> = stuck.iter().map(|c| c.arn.as_str()).collect();
    for r in previous {
        if scanned_regions.contains(r.region()) && !still_stuck.contains(r.arn()) {
            let mut connection = r.connection.clone();
            connection.state = Some(AlertState::Resolved);
            connection.first_seen = Some(r.first_seen);
            plan.resolved.push(connection);
            plan.changes.push(Change::Delete {
                region: r.region().to_string(),
                arn: r.arn().to_string(),
                expected_last_alerted: r.last_alerted,
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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

    fn record(c: &Connection, first_seen: i64, last_alerted: i64) -> Record {
        Record {
            connection: c.clone(),
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
        previous: Vec<Record>,
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
            let plan = plan(
                &case.previous,
                &case.stuck,
                &regions(&case.scanned),
                at(case.now),
                Duration::hours(DAY),
            );
            let alert: Vec<(&str, AlertState)> = plan
                .alert
                .iter()
                .map(|c| (c.name.as_str(), c.state.unwrap()))
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
                .all(|c| c.state == Some(AlertState::Resolved)));
        }
    }

    #[test]
    fn records_keep_first_seen_and_expect_what_was_read() {
        let a = conn("a", "PENDING", "us-east-1");
        let a_error = conn("a", "ERROR", "us-east-1");
        let plan = plan(
            &[record(&a, 0, 5)],
            &[a_error],
            &regions(&["us-east-1"]),
            at(6),
            Duration::hours(DAY),
        );
        assert_eq!(plan.alert[0].first_seen, Some(at(0)));
        match &plan.changes[0] {
            Change::Put {
                record,
                expected_last_alerted,
            } => {
                assert_eq!(record.first_seen, at(0));
                assert_eq!(record.last_alerted, at(6));
                assert_eq!(record.connection.status, "ERROR");
                assert_eq!(record.connection.state, None);
                assert_eq!(*expected_last_alerted, Some(at(5)));
            }
            other => panic!("{other:?}"),
        }
    }
}
