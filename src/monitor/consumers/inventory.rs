//! `monitor --inventory` (docs/reference.md, "A look from a terminal"):
//! every connection of the caller's account, whatever its status, with what
//! uses it and whether each consumer's role may use it; the watched
//! regions' hosts. Reads only, with the caller's credentials; a progress
//! line on standard error while it reads.

use crate::aws::access::Simulator;
use crate::domain::connection::Connection;
use crate::monitor::adapters::Adapters;
use crate::monitor::config::MonitorConfig;
use crate::monitor::consumers::access::{all_checks, check_access};
use crate::monitor::consumers::used_by::{look_up, Reach};
use crate::render::inventory::Inventory;
use futures_util::future::join_all;
use std::io::{IsTerminal, Write};
use tokio::time::Instant;

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

/// What the inventory reads through.
pub struct InventoryClients<'a> {
    pub adapters: &'a Adapters,
    pub simulator: &'a Simulator,
}

/// The inventory of `account`, read by `deadline`.
pub async fn inventory(
    clients: InventoryClients<'_>,
    config: &MonitorConfig,
    account: &str,
    progress: &Progress,
    deadline: Instant,
) -> Inventory {
    let codestar = &clients.adapters.codestar;
    let mut inventory = Inventory {
        account: account.to_string(),
        ..Inventory::default()
    };
    let own = codestar.in_region(&config.own_region);
    let regions = config.host_regions();
    let in_regions: Vec<_> = regions.iter().map(|r| codestar.in_region(r)).collect();
    progress.say(&format!(
        "connections (from {}) and the hosts of {} regions",
        config.own_region,
        regions.len()
    ));
    let host_reads = join_all(in_regions.iter().map(|c| c.hosts()));
    let (listed, hosts) = futures_util::join!(own.list_all(), host_reads);
    for (region, read) in regions.iter().zip(hosts) {
        match read {
            Ok(found) => inventory.hosts.extend(found),
            Err(e) => inventory.unread_hosts.push((region.clone(), e.to_string())),
        }
    }
    let mut connections: Vec<Connection> = match listed {
        Ok(found) => {
            inventory.listed_from = Some(config.own_region.clone());
            found
        }
        Err(e) => {
            tracing::error!(error = %e, "inventory: connections not listed");
            progress.done();
            return inventory;
        }
    };
    if let (Some(consumers), false) = (&clients.adapters.consumers, connections.is_empty()) {
        progress.say("what uses each connection, in every enabled region");
        let reach = Reach {
            own_account: account,
            accounts: None,
            state: None,
        };
        let all: Vec<&Connection> = connections.iter().collect();
        let lookup = look_up(consumers, reach, config, &all, deadline).await;
        lookup.attach(&mut connections);
        inventory.coverage = lookup.coverage_of(account).cloned();
        let checks = all_checks(connections.iter().map(|c| c.arn.as_str()), lookup.uses());
        progress.say(&format!("access: {} checks", checks.len()));
        let run = check_access(clients.simulator, &checks, MAX_LOOK_CHECKS, deadline).await;
        inventory.access = run.tallies;
        inventory.findings = run.findings;
        inventory.access_gaps = run.gaps;
    }
    progress.done();
    inventory.connections = Some(connections);
    inventory
}
