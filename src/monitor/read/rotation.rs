//! The order an organization's accounts are scanned in. A run's budget may
//! not reach every account; starting each run where the last one was cut
//! off makes the accounts left out differ from run to run, so that each is
//! scanned within `ceil(accounts / scanned per run)` runs. Pure.

use crate::domain::account::Account;
use std::collections::HashSet;

/// Where a run starts in the accounts, ordered by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// At the first account from this id on: where the last run was cut off.
    At(String),
    /// Nothing is known of the last run (a cold start without a state
    /// table): a place that differs from run to run, derived from the time.
    Seed(u64),
}

impl Start {
    /// A seed from the run's time: one per minute, spread over the accounts.
    pub fn from_time(unix_seconds: i64) -> Self {
        let minute = u64::try_from(unix_seconds / 60).unwrap_or_default();
        Self::Seed(minute.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// The accounts in the order a run starts them: by id, from `start` on,
/// wrapping round.
pub fn rotated(mut accounts: Vec<Account>, start: &Start) -> Vec<Account> {
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    if accounts.is_empty() {
        return accounts;
    }
    let first = match start {
        Start::At(id) => accounts.iter().position(|a| &a.id >= id).unwrap_or(0),
        Start::Seed(seed) => (seed % accounts.len() as u64) as usize,
    };
    accounts.rotate_left(first);
    accounts
}

/// Where the next run starts: the first account, in this run's order, that
/// the deadline cut off; `None` when every account was reached.
pub fn next_start(order: &[Account], cut: &HashSet<String>) -> Option<String> {
    order
        .iter()
        .find(|a| cut.contains(&a.id))
        .map(|a| a.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(n: usize) -> Vec<Account> {
        (0..n)
            .map(|i| Account {
                id: format!("{:012}", i),
                name: None,
            })
            .collect()
    }

    #[test]
    fn a_run_starts_where_the_last_was_cut_off() {
        let order = rotated(accounts(5), &Start::At("000000000003".into()));
        let ids: Vec<&str> = order.iter().map(|a| &a.id[11..]).collect();
        assert_eq!(ids, ["3", "4", "0", "1", "2"]);
        // An account that left the organization: the next id on.
        let gone = rotated(accounts(5), &Start::At("000000000002x".into()));
        assert_eq!(gone[0].id, "000000000003");
        let past_the_end = rotated(accounts(5), &Start::At("999999999999".into()));
        assert_eq!(past_the_end[0].id, "000000000000");
        assert!(rotated(Vec::new(), &Start::Seed(7)).is_empty());
    }

    /// 30 accounts, a budget that reaches 7 a run: every account is
    /// scanned within ceil(30 / 7) = 5 runs, and again in every 5 after.
    #[test]
    fn every_account_is_scanned_within_a_bounded_number_of_runs() {
        let (n, per_run) = (30, 7);
        let mut start = Start::Seed(0);
        let mut last_scanned = vec![None; n];
        for run in 0..20 {
            let order = rotated(accounts(n), &start);
            let cut: HashSet<String> = order[per_run..].iter().map(|a| a.id.clone()).collect();
            for a in &order[..per_run] {
                let i: usize = a.id.parse().unwrap();
                if let Some(last) = last_scanned[i] {
                    assert!(
                        run - last <= n.div_ceil(per_run),
                        "account {i}: runs {last} and {run}"
                    );
                }
                last_scanned[i] = Some(run);
            }
            if run == n.div_ceil(per_run) - 1 {
                assert!(
                    last_scanned.iter().all(Option::is_some),
                    "all within 5 runs"
                );
            }
            start = next_start(&order, &cut).map_or(Start::Seed(0), Start::At);
        }
    }

    #[test]
    fn without_a_cursor_the_start_differs_from_run_to_run() {
        let firsts: HashSet<String> = (0..24)
            .map(|hour| {
                rotated(accounts(30), &Start::from_time(1_764_547_200 + hour * 3600))[0]
                    .id
                    .clone()
            })
            .collect();
        assert!(firsts.len() > 12, "{firsts:?}");
    }
}
