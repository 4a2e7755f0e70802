//! The access verdicts a monitor keeps between runs (`ACCESS_CHECK_HOURS`),
//! and which checks a run simulates: those never checked, then the oldest
//! verdicts, up to the run's bound. Pure: no I/O.

use super::access::{AccessFinding, Check};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What a check's simulation concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "v")]
pub enum Judgement {
    Allowed,
    Denied {
        #[serde(rename = "f")]
        finding: Box<AccessFinding>,
    },
    /// Missing context or a failed call: kept so that it waits its turn
    /// behind checks never made, and never a finding.
    Inconclusive,
}

impl Judgement {
    /// Whether it says allowed or denied.
    pub fn is_conclusive(&self) -> bool {
        !matches!(self, Self::Inconclusive)
    }
}

/// A check's latest verdict and when it was simulated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Seconds since the epoch.
    #[serde(rename = "t")]
    pub checked_at: i64,
    #[serde(flatten)]
    pub judgement: Judgement,
}

/// The kept verdicts, by `verdict_key`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdicts(pub HashMap<String, Verdict>);

/// What names a check's verdict: its consumer, role, connection ARN as the
/// consumer names it, actions, and what its requests carry. A role or ARN
/// that changed is a new check, simulated at once. Hashed, so that a
/// thousand verdicts fit one DynamoDB item.
pub fn verdict_key(check: &Check) -> String {
    let actions: Vec<&str> = check.actions.iter().map(|a| a.as_str()).collect();
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}",
        check.consumer.arn,
        check.role,
        check.connection,
        actions.join(","),
        check.grant.repository.as_deref().unwrap_or(""),
        check.grant.branch.as_deref().unwrap_or(""),
        check.pulls,
    );
    let digest = Sha256::digest(text.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Which of a run's checks use a kept verdict and which are simulated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Indices of checks whose verdict is younger than the keep time.
    pub kept: Vec<usize>,
    /// Indices to simulate: never checked first, then oldest verdict first.
    pub due: Vec<usize>,
    /// Indices past the run's bound: counted as not checked.
    pub left: Vec<usize>,
}

impl Verdicts {
    /// The schedule of `keys` (one per check): a verdict younger than
    /// `keep` is kept; of the rest, at most `limit` are due.
    pub fn schedule(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        keep: Duration,
        limit: usize,
    ) -> Schedule {
        let mut schedule = Schedule::default();
        let mut stale: Vec<(i64, usize)> = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match self.0.get(key) {
                Some(v) if now.timestamp() - v.checked_at < keep.num_seconds() => {
                    schedule.kept.push(i)
                }
                Some(v) => stale.push((v.checked_at, i)),
                None => stale.push((i64::MIN, i)),
            }
        }
        stale.sort();
        let cut = stale.len().min(limit);
        schedule.due = stale[..cut].iter().map(|(_, i)| *i).collect();
        schedule.left = stale[cut..].iter().map(|(_, i)| *i).collect();
        schedule
    }

    /// Keeps only the verdicts of `keys` and those younger than `keep`
    /// (another account's, in an organization-wide run that did not reach
    /// it), so that the item does not grow with consumers long gone.
    pub fn prune(&mut self, keys: &[String], now: DateTime<Utc>, keep: Duration) {
        let wanted: std::collections::HashSet<&String> = keys.iter().collect();
        self.0.retain(|key, v| {
            wanted.contains(key) || now.timestamp() - v.checked_at < keep.num_seconds()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, hour, 0, 0).unwrap()
    }

    fn verdicts(kept: &[(&str, u32)]) -> Verdicts {
        Verdicts(
            kept.iter()
                .map(|(k, hour)| {
                    let v = Verdict {
                        checked_at: at(*hour).timestamp(),
                        judgement: Judgement::Allowed,
                    };
                    (k.to_string(), v)
                })
                .collect(),
        )
    }

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn never_checked_goes_first_then_the_oldest_and_the_young_are_kept() {
        let kept = verdicts(&[("old", 1), ("older", 0), ("young", 9)]);
        let s = kept.schedule(
            &keys(&["old", "young", "new", "older"]),
            at(10),
            Duration::hours(4),
            10,
        );
        assert_eq!(s.kept, [1]);
        assert_eq!(s.due, [2, 3, 0]);
        assert!(s.left.is_empty());
    }

    #[test]
    fn a_verdict_is_kept_until_exactly_its_keep_time() {
        let kept = verdicts(&[("k", 6)]);
        let schedule = |hour| kept.schedule(&keys(&["k"]), at(hour), Duration::hours(4), 10);
        assert_eq!(schedule(9).kept, [0], "3 hours old: kept");
        assert_eq!(schedule(10).due, [0], "4 hours old: simulated again");
        let always = kept.schedule(&keys(&["k"]), at(6), Duration::zero(), 10);
        assert_eq!(always.due, [0], "ACCESS_CHECK_HOURS=0: every run");
    }

    #[test]
    fn past_the_bound_the_newest_verdicts_wait() {
        let kept = verdicts(&[("a", 1), ("b", 2), ("c", 3)]);
        let s = kept.schedule(&keys(&["c", "b", "a"]), at(20), Duration::hours(1), 2);
        assert_eq!(s.due, [2, 1]);
        assert_eq!(s.left, [0]);
    }

    #[test]
    fn pruning_keeps_this_runs_checks_and_young_verdicts() {
        let mut kept = verdicts(&[("here", 0), ("gone-old", 0), ("gone-young", 9)]);
        kept.prune(&keys(&["here"]), at(10), Duration::hours(4));
        let mut left: Vec<&String> = kept.0.keys().collect();
        left.sort();
        assert_eq!(left, ["gone-young", "here"]);
    }
}
