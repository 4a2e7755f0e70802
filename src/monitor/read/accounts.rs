//! The scan of an organization: its accounts discovered, then each scanned
//! like one account through a role assumed in it, a bounded number at once.

use crate::aws::organization::{Accounts, AccountsError};
use crate::domain::account::Account;
use crate::domain::arn::partition_of;
use crate::monitor::config::MonitorConfig;
use crate::monitor::event::InvalidEvent;
use crate::monitor::read::rotation::{next_start, rotated, Start};
use crate::monitor::read::scan::{
    scan_account, AccountScan, OrganizationScan, ScanClients, Scanned,
};
use crate::monitor::report::{describe, FailedAccount, Findings};
use futures_util::stream::{self, StreamExt};
use std::collections::HashSet;
use tokio::time::{timeout_at, Instant};

/// Scans each account (at most `account_concurrency` at once, in the order
/// `start` gives) through its clients, and marks what it finds with the
/// account. An account that cannot be entered, or whose scan fails
/// anywhere, is a failed account; what it found is still alerted.
pub async fn scan_organization(
    config: &MonitorConfig,
    deadline: Instant,
    accounts: &Accounts,
    own: &str,
    start: &Start,
) -> Result<Scanned, InvalidEvent> {
    let mut failed = Vec::new();
    let mut scanned = discover(config, deadline, accounts, own, &mut failed).await;
    if let Some(narrowed) = &config.narrowed_accounts {
        narrow(&mut scanned, narrowed, own, &failed)?;
    }
    let scanned = rotated(scanned, start);
    let scans = scanned
        .iter()
        .map(|account| scan_member(config, deadline, accounts, own, account));
    let mut outcomes: Vec<MemberOutcome> = stream::iter(scans)
        .buffer_unordered(config.account_concurrency)
        .collect()
        .await;
    outcomes.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    let mut findings = Findings {
        accounts: Some(scanned.len()),
        ..Findings::default()
    };
    let mut complete = HashSet::new();
    let mut cut = HashSet::new();
    for MemberOutcome {
        account,
        outcome,
        in_time,
    } in outcomes
    {
        let whole = matches!(&outcome, Ok(scan) if scan.failures.is_empty());
        if !whole && !in_time {
            cut.insert(account.id.clone());
        }
        match outcome {
            Err(error) => failed.push(FailedAccount {
                account: account.id.clone(),
                error,
            }),
            // Entered: what it could not read is noted per kind and region,
            // and the rest of it resolves (docs/reference.md, "One kind's
            // trouble stays in its kind"). One whose connections could not
            // be listed at all is a failed account too: the listing is the
            // one read that covers the whole account.
            Ok(scan) => {
                complete.insert(account.id.clone());
                if !scan.failures.unlisted.is_empty() {
                    failed.push(FailedAccount {
                        account: account.id.clone(),
                        error: format!(
                            "could not list its connections: {}",
                            describe(&scan.failures.unlisted)
                        ),
                    });
                }
                let mut found = scan.noted(&account.id);
                found.mark_account(&account.id, account.name.as_deref());
                findings.merge(found);
            }
        }
    }
    let kinds = config.scanned_kinds();
    for not_entered in failed.iter().filter(|f| !complete.contains(&f.account)) {
        findings.note_not_entered(not_entered, &kinds);
    }
    Ok(Scanned {
        findings,
        organization: Some(OrganizationScan {
            failed,
            complete,
            next_start: next_start(&scanned, &cut),
        }),
    })
}

/// One member account's scan, and whether it ended before the deadline
/// (an account cut short starts the next run's rotation).
struct MemberOutcome<'a> {
    account: &'a Account,
    outcome: Result<AccountScan, String>,
    in_time: bool,
}

/// Enters one account through the member role and scans it; a role that
/// cannot be assumed is that account's error, never the run's.
async fn scan_member<'a>(
    config: &MonitorConfig,
    deadline: Instant,
    accounts: &Accounts,
    own: &str,
    account: &'a Account,
) -> MemberOutcome<'a> {
    let partition = partition_of(&config.own_region);
    let clients = timeout_at(
        deadline,
        accounts.clients(&account.id, own, &config.member_role_name, partition),
    )
    .await;
    let outcome = match clients {
        Ok(Ok(clients)) => {
            let clients = ScanClients {
                codestar: &clients.codestar,
                stacks: clients.stacks.as_ref(),
            };
            Ok(scan_account(config, deadline, clients).await)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("sts:AssumeRole did not finish before the run's deadline".into()),
    };
    MemberOutcome {
        account,
        outcome,
        in_time: Instant::now() < deadline,
    }
}

/// Keeps the own account and the narrowed ones, each of which must be in
/// the configured scope: a request cannot take the monitor outside it.
fn narrow(
    scanned: &mut Vec<Account>,
    narrowed: &[String],
    own: &str,
    failed: &[FailedAccount],
) -> Result<(), InvalidEvent> {
    if let Some(f) = failed.first() {
        return Err(InvalidEvent(format!(
            "accounts cannot be checked against the scope: {}",
            f.error
        )));
    }
    let outside: Vec<&str> = narrowed
        .iter()
        .filter(|id| !scanned.iter().any(|a| &&a.id == id))
        .map(String::as_str)
        .collect();
    if !outside.is_empty() {
        return Err(InvalidEvent(format!(
            "accounts {} are not ACTIVE accounts of the configured scope (ACCOUNTS, less \
             EXCLUDE_ACCOUNTS)",
            outside.join(", ")
        )));
    }
    scanned.retain(|a| a.id == own || narrowed.contains(&a.id));
    Ok(())
}

/// The accounts to scan; when discovery fails, the own account alone (with
/// its own credentials), and the failure is noted in `failed`.
async fn discover(
    config: &MonitorConfig,
    deadline: Instant,
    accounts: &Accounts,
    own: &str,
    failed: &mut Vec<FailedAccount>,
) -> Vec<Account> {
    let discovered = timeout_at(
        deadline,
        accounts.discover(&config.accounts, &config.exclude_accounts, own),
    )
    .await
    .unwrap_or_else(|_| {
        Err(AccountsError::Discover(
            "no answer before the run's deadline".into(),
        ))
    });
    discovered.unwrap_or_else(|e| {
        failed.push(FailedAccount {
            account: "organization".into(),
            error: e.to_string(),
        });
        vec![Account {
            id: own.to_string(),
            name: None,
        }]
    })
}
