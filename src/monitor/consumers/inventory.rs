//! `monitor --inventory` (docs/reference.md, "A look from a terminal"):
//! every connection, whatever its status, of the caller's account or, with
//! `ACCOUNTS`, of every account of the scope through the member role; what
//! uses each one and whether each consumer's role may use it, with the
//! scheduled monitor's own access stage (observed failures first, then
//! simulations); the watched regions' hosts and synced stacks. Reads only;
//! a progress line on standard error while it reads.

use crate::aws::codestar::CodestarClients;
use crate::aws::stacks::StackClients;
use crate::domain::account::Account;
use crate::domain::arn::partition_of;
use crate::domain::connection::Connection;
use crate::domain::consumer::brief;
use crate::domain::verdicts::Verdicts;
use crate::monitor::adapters::Adapters;
use crate::monitor::config::MonitorConfig;
use crate::monitor::consumers::scheduled_access::{scheduled_access, AccessInputs};
use crate::monitor::consumers::used_by::{look_up, Reach, MAX_UNREAD_ERROR_CHARS};
use crate::monitor::read::syncs::{scan_syncs, SyncScan};
use crate::render::inventory::{AccountInventory, Inventory, NotEntered, SyncedRow};
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use std::io::{IsTerminal, Write};
use tokio::time::{timeout_at, Instant};

/// At most this many access checks in one inventory (each one or two
/// simulations, and a context-key read per role): past it, the rest are
/// counted as not checked.
pub const MAX_LOOK_CHECKS: usize = 1000;

/// The progress line on standard error: rewritten in place on a terminal,
/// one line per step elsewhere (a log, a test).
pub struct Progress {
    terminal: bool,
}

impl Progress {
    pub fn to_stderr() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn say(&self, step: &str) {
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(err, "\r\x1b[2Kreading {step}")
        } else {
            writeln!(err, "reading {step}")
        };
    }

    fn done(&self) {
        if self.terminal {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

/// The inventory of the configured accounts (`own` alone without
/// `ACCOUNTS`), read by `deadline`.
pub async fn inventory(
    adapters: &Adapters,
    config: &MonitorConfig,
    own: &str,
    progress: &Progress,
    deadline: Instant,
) -> Inventory {
    let mut inventory = Inventory {
        used_by: adapters.consumers.is_some(),
        ..Inventory::default()
    };
    let accounts = accounts_of(adapters, config, own, deadline, &mut inventory).await;
    progress.say(&format!(
        "connections (from {}), hosts and synced stacks of {} regions in {} account{}",
        config.own_region,
        config.host_regions().len(),
        accounts.len(),
        if accounts.len() == 1 { "" } else { "s" }
    ));
    let reads = accounts
        .iter()
        .map(|account| read_account(adapters, config, own, account, deadline));
    let read: Vec<Result<AccountInventory, NotEntered>> = stream::iter(reads)
        .buffered(config.account_concurrency.max(1))
        .collect()
        .await;
    for outcome in read {
        match outcome {
            Ok(account) => inventory.accounts.push(account),
            Err(not_entered) => inventory.failed_accounts.push(not_entered),
        }
    }
    let connections: Vec<Connection> = inventory
        .accounts
        .iter()
        .flat_map(|a| a.connections.iter().flatten().cloned())
        .collect();
    if let (Some(consumers), false) = (&adapters.consumers, connections.is_empty()) {
        progress.say("what uses each connection, in every enabled region");
        let reach = Reach {
            own_account: own,
            accounts: adapters.accounts.as_ref(),
            state: None,
        };
        let all: Vec<&Connection> = connections.iter().collect();
        let lookup = look_up(consumers, reach, config, &all, deadline).await;
        for account in &mut inventory.accounts {
            if let Some(listed) = &mut account.connections {
                lookup.attach(listed);
            }
            account.coverage = lookup.coverage_of(&account.account).cloned();
        }
        progress.say("access: observed failures, then simulations");
        let inputs = AccessInputs {
            lookup: &lookup,
            connections: &connections,
            keep: chrono::Duration::zero(),
            now: chrono::Utc::now(),
            limit: MAX_LOOK_CHECKS,
            deadline,
        };
        let access = scheduled_access(inputs, &mut Verdicts::default()).await;
        inventory.access = access.access_checks.by_connection;
        inventory.access_gaps = access.access_checks.gaps;
        inventory.findings = access
            .access_findings
            .into_iter()
            .map(|d| d.finding)
            .collect();
    }
    progress.done();
    inventory
}

/// The accounts to read: the own one, then the scope's; where the scope
/// cannot be listed, the own one alone, and the organization is noted as
/// not entered.
async fn accounts_of(
    adapters: &Adapters,
    config: &MonitorConfig,
    own: &str,
    deadline: Instant,
    inventory: &mut Inventory,
) -> Vec<Account> {
    let own_alone = || {
        vec![Account {
            id: own.to_string(),
            name: None,
        }]
    };
    let Some(accounts) = &adapters.accounts else {
        return own_alone();
    };
    let discover = accounts.discover(&config.accounts, &config.exclude_accounts, own);
    match timeout_at(deadline, discover).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            inventory.failed_accounts.push(NotEntered {
                account: "organization".into(),
                error: brief(&e.to_string(), MAX_UNREAD_ERROR_CHARS),
            });
            own_alone()
        }
        Err(_) => {
            inventory.failed_accounts.push(NotEntered {
                account: "organization".into(),
                error: "not listed before the deadline".into(),
            });
            own_alone()
        }
    }
}

/// One account's connections, hosts and synced stacks, with its own
/// clients or through the member role; a role that cannot be assumed costs
/// that account.
async fn read_account(
    adapters: &Adapters,
    config: &MonitorConfig,
    own: &str,
    account: &Account,
    deadline: Instant,
) -> Result<AccountInventory, NotEntered> {
    let not_entered = |error: String| NotEntered {
        account: account.id.clone(),
        error,
    };
    let (codestar, stacks) = match (&adapters.accounts, account.id == own) {
        (Some(accounts), false) => {
            let partition = partition_of(&config.own_region);
            let role = &config.member_role_name;
            let entered = timeout_at(
                deadline,
                accounts.clients(&account.id, own, role, partition),
            )
            .await
            .map_err(|_| not_entered("sts:AssumeRole did not finish in time".into()))?
            .map_err(|e| not_entered(brief(&e.to_string(), MAX_UNREAD_ERROR_CHARS)))?;
            (entered.codestar, entered.stacks)
        }
        _ => (adapters.codestar.clone(), adapters.stacks.clone()),
    };
    let mut read = read_listings(config, &codestar, deadline).await;
    read.synced_stacks = match &stacks {
        Some(stacks) => Some(read_syncs(config, &codestar, stacks, deadline, &mut read).await),
        None => None,
    };
    read.account = account.id.clone();
    read.name = account.name.clone();
    if adapters.accounts.is_some() {
        for c in read.connections.iter_mut().flatten() {
            c.account = Some(account.id.clone());
            c.account_name = account.name.clone();
        }
    }
    Ok(read)
}

/// The account's connections (listed once, from the function's region:
/// they are global) and the hosts of every watched region.
async fn read_listings(
    config: &MonitorConfig,
    codestar: &CodestarClients,
    deadline: Instant,
) -> AccountInventory {
    let mut read = AccountInventory::default();
    let own = codestar.in_region(&config.own_region);
    let regions = config.host_regions();
    let in_regions: Vec<_> = regions.iter().map(|r| codestar.in_region(r)).collect();
    let host_reads = join_all(in_regions.iter().map(|c| timeout_at(deadline, c.hosts())));
    let (listed, hosts) = futures_util::join!(timeout_at(deadline, own.list_all()), host_reads);
    for (region, hosts) in regions.iter().zip(hosts) {
        match hosts {
            Ok(Ok(found)) => read.hosts.extend(found),
            Ok(Err(e)) => read.unread_hosts.push((
                region.clone(),
                brief(&e.to_string(), MAX_UNREAD_ERROR_CHARS),
            )),
            Err(_) => read
                .unread_hosts
                .push((region.clone(), "not listed before the deadline".into())),
        }
    }
    match listed {
        Ok(Ok(found)) => {
            read.listed_from = Some(config.own_region.clone());
            read.connections = Some(found);
        }
        Ok(Err(e)) => tracing::error!(error = %e, "inventory: connections not listed"),
        Err(_) => tracing::error!("inventory: connections not listed before the deadline"),
    }
    read
}

/// Every synced stack of the Git sync regions, each judged as the monitor
/// judges it; where a region's Git sync could not be read whole, a stack
/// not found stuck is "not read", never "ok".
async fn read_syncs(
    config: &MonitorConfig,
    codestar: &CodestarClients,
    stacks: &StackClients,
    deadline: Instant,
    read: &mut AccountInventory,
) -> Vec<SyncedRow> {
    let scans = config.sync_regions().into_iter().map(|region| async move {
        let scan = scan_syncs(
            config,
            &region,
            deadline,
            codestar.in_region(&region),
            stacks.in_region(&region),
        )
        .await;
        (region, scan)
    });
    let mut rows = Vec::new();
    for (region, scan) in join_all(scans).await {
        let SyncScan {
            scanned,
            tagged,
            configs,
            healthy,
        } = scan;
        let whole = scanned.is_some() && tagged.failures.is_empty();
        if let Some(failure) = tagged.failures.first() {
            let error = brief(&failure.error.to_string(), MAX_UNREAD_ERROR_CHARS);
            read.unread_syncs.push((region.clone(), error));
        }
        for sync in configs {
            let stuck = tagged
                .stuck
                .iter()
                .find(|s| s.resource_name == sync.resource_name);
            let status = match (stuck, healthy.contains(&sync.resource_name)) {
                (Some(stuck), _) => stuck.status.clone(),
                (None, true) => "ok".into(),
                // Read whole, not healthy and not alerted: its ignore tag.
                (None, false) if whole => "ignored".into(),
                (None, false) => "not read".into(),
            };
            rows.push(SyncedRow::new(sync, status));
        }
    }
    rows
}
