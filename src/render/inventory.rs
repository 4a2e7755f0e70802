//! `monitor --inventory` (docs/reference.md, "A look from a terminal"):
//! every connection, one row each, with its consumers per kind and its
//! access findings, account by account; hosts and synced stacks below; the
//! findings in full; and a coverage line that says what was not read.
//! Columns fit a 100-character terminal. Pure.

use super::access::finding_lines;
use super::coverage::{counted, not_searched, searched};
use super::escape::shown;
use crate::domain::access::{AccessFinding, AccessTally, UNSEEN};
use crate::domain::arn::connection_key;
use crate::domain::connection::Connection;
use crate::domain::consumer::{ConsumerKind, Coverage};
use crate::domain::git_sync::SyncConfig;
use crate::domain::host::Host;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// Everything an inventory shows: each account read, the accounts that
/// could not be entered, and the access checks of every connection.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub accounts: Vec<AccountInventory>,
    pub failed_accounts: Vec<NotEntered>,
    /// Per connection (by `connection_key`).
    pub access: HashMap<String, AccessTally>,
    pub findings: Vec<AccessFinding>,
    /// Why some checks were not made.
    pub access_gaps: Vec<String>,
    /// Whether consumers were searched at all (`USED_BY` not `none`).
    pub used_by: bool,
}

impl Inventory {
    /// Whether every account's connections could be listed.
    pub fn listed(&self) -> bool {
        self.failed_accounts.is_empty() && self.accounts.iter().all(|a| a.connections.is_some())
    }
}

/// One account as the inventory read it; `None` where it was not read.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInventory {
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `None`: the connections could not be listed.
    pub connections: Option<Vec<Connection>>,
    pub listed_from: Option<String>,
    pub hosts: Vec<Host>,
    /// Regions whose hosts could not be listed, with why.
    pub unread_hosts: Vec<(String, String)>,
    /// `None` with `GIT_SYNC=false`.
    pub synced_stacks: Option<Vec<SyncedRow>>,
    /// Regions whose Git sync could not be read whole, with the first error.
    pub unread_syncs: Vec<(String, String)>,
    /// The consumer search, `None` with `USED_BY=none`.
    pub coverage: Option<Coverage>,
}

/// An account that could not be entered (its member role), or the
/// organization whose accounts could not be listed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NotEntered {
    pub account: String,
    pub error: String,
}

/// One stack synced from Git: where it syncs from, and its status as the
/// monitor judges it (`BLOCKED`, `FAILED`, `REPOSITORY_SYNC_FAILED`), `ok`,
/// `ignored` (stuck, with the ignore tag) or `not read`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncedRow {
    pub stack: String,
    pub region: String,
    pub repository: String,
    pub branch: String,
    pub provider_type: String,
    pub connection_arn: String,
    pub status: String,
}

impl SyncedRow {
    pub fn new(sync: SyncConfig, status: String) -> Self {
        Self {
            stack: sync.resource_name,
            region: sync.region,
            repository: sync.repository_name,
            branch: sync.branch,
            provider_type: sync.provider_type,
            connection_arn: sync.connection_arn,
            status,
        }
    }
}

const NAME: usize = 23;
const STATUS: usize = 9;
const PROVIDER: usize = 14;
const REGION: usize = 14;
const CONSUMERS: usize = 12;

/// `value` cut to `width` characters, with an ellipsis where it was cut.
fn cut(value: &str, width: usize) -> String {
    let shown = shown(value);
    if shown.chars().count() <= width {
        return shown;
    }
    let mut out: String = shown.chars().take(width - 1).collect();
    out.push('…');
    out
}

fn row(cells: [&str; 6]) -> String {
    let widths = [NAME, STATUS, PROVIDER, REGION, CONSUMERS];
    let mut line = String::new();
    for (cell, width) in cells.iter().zip(widths) {
        let cell = cut(cell, width);
        let pad = width.saturating_sub(cell.chars().count());
        let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
    }
    let last = cut(cells[5], 100 - line.chars().count());
    line + &last
}

/// `2p 1b 0s 0c`: pipelines, CodeBuild projects, Git-synced stacks and
/// Service Catalog products; `not read` where the search did not run.
fn consumers(connection: &Connection) -> String {
    let Some(used_by) = &connection.used_by else {
        return "not read".into();
    };
    let count = |kind| used_by.iter().filter(|c| c.kind == kind).count();
    let more = if connection.used_by_more > 0 { "+" } else { "" };
    format!(
        "{}p {}b {}s {}c{more}",
        count(ConsumerKind::Pipeline),
        count(ConsumerKind::CodebuildProject),
        count(ConsumerKind::GitSyncStack),
        count(ConsumerKind::ServiceCatalogProduct),
    )
}

/// `not read` where its consumers were not read: "no role to check" is a
/// claim that needs the search.
fn access(connection: &Connection, tally: Option<&AccessTally>) -> String {
    if connection.used_by.is_none() {
        return "not read".into();
    }
    let Some(t) = tally else {
        return "no role to check".into();
    };
    let mut parts = Vec::new();
    if t.denied > 0 {
        parts.push(format!("{} denied", t.denied));
    }
    if t.inconclusive > 0 {
        parts.push(format!("{} unsure", t.inconclusive));
    }
    if t.not_checked > 0 {
        parts.push(format!("{} unchecked", t.not_checked));
    }
    if parts.is_empty() {
        "ok".into()
    } else {
        parts.join(", ")
    }
}

/// The inventory as a person reads it in a terminal.
pub fn inventory_text(inventory: &Inventory) -> String {
    let mut out = String::new();
    for account in &inventory.accounts {
        account_text(&mut out, inventory, account);
    }
    for not_entered in &inventory.failed_accounts {
        let _ = writeln!(
            out,
            "Account {}: not read ({})\n",
            shown(&not_entered.account),
            shown(&not_entered.error)
        );
    }
    findings(&mut out, inventory);
    let _ = writeln!(out, "{}", coverage_line(inventory));
    out
}

fn account_text(out: &mut String, inventory: &Inventory, account: &AccountInventory) {
    match &account.name {
        Some(name) => {
            let _ = writeln!(out, "Account {} ({})", account.account, shown(name));
        }
        None => {
            let _ = writeln!(out, "Account {}", account.account);
        }
    }
    let header = row([
        "NAME",
        "STATUS",
        "PROVIDER",
        "REGION",
        "CONSUMERS",
        "ACCESS",
    ]);
    let _ = writeln!(out, "{header}");
    match &account.connections {
        None => out.push_str("(connections could not be listed)\n"),
        Some(list) if list.is_empty() => out.push_str("(no connection)\n"),
        Some(list) => {
            for c in list {
                let tally = connection_key(&c.arn).and_then(|k| inventory.access.get(&k));
                let line = row([
                    &c.name,
                    &c.status,
                    &c.provider_type,
                    &c.region,
                    &consumers(c),
                    &access(c, tally),
                ]);
                let _ = writeln!(out, "{line}");
            }
            out.push_str(
                "CONSUMERS: p pipelines, b CodeBuild projects, s Git-synced stacks, \
                 c Service Catalog products\n",
            );
        }
    }
    hosts(out, account);
    synced_stacks(out, account);
    out.push('\n');
}

fn findings(out: &mut String, inventory: &Inventory) {
    if inventory.findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "Consumers whose role cannot use their connection:");
    for f in &inventory.findings {
        let _ = writeln!(
            out,
            "- {} {} ({}) on {}",
            f.consumer.kind.label(),
            shown(&f.consumer.name),
            f.consumer.region,
            shown(&f.connection_arn)
        );
        out.push_str(&finding_lines(f));
    }
    let _ = writeln!(out, "{UNSEEN}\n");
}

fn hosts(out: &mut String, account: &AccountInventory) {
    if account.hosts.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nHosts:");
    for h in &account.hosts {
        let line = row([&h.name, &h.status, &h.provider_type, &h.region, "", ""]);
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// `SOURCE` is `repository@branch`.
fn synced_stacks(out: &mut String, account: &AccountInventory) {
    let Some(stacks) = account.synced_stacks.as_ref().filter(|s| !s.is_empty()) else {
        return;
    };
    let _ = writeln!(out, "\nSynced stacks:");
    let header = row(["STACK", "STATUS", "PROVIDER", "REGION", "", "SOURCE"]);
    let _ = writeln!(out, "{header}");
    for s in stacks {
        let source = format!("{}@{}", s.repository, s.branch);
        let line = row([
            &s.stack,
            &s.status,
            &s.provider_type,
            &s.region,
            "",
            &source,
        ]);
        let _ = writeln!(out, "{line}");
    }
}

/// What was read, and what was not: never a 0 for what was not read.
/// Organization-wide, each account's gaps are named with it.
pub fn coverage_line(inventory: &Inventory) -> String {
    let mut read = Vec::new();
    let mut gaps = Vec::new();
    let several = inventory.accounts.len() + inventory.failed_accounts.len() > 1;
    if several {
        read.push(format!("{} accounts", inventory.accounts.len()));
    }
    for not_entered in &inventory.failed_accounts {
        gaps.push(format!(
            "account {} ({})",
            shown(&not_entered.account),
            shown(&not_entered.error)
        ));
    }
    let mut totals = Totals::default();
    for account in &inventory.accounts {
        totals.add(account, several, inventory.used_by, &mut gaps);
    }
    // What the configuration leaves out is said once, not per account.
    let mut seen = std::collections::HashSet::new();
    gaps.retain(|g| seen.insert(g.clone()));
    let Totals {
        connections,
        hosts,
        stacks,
        searches,
    } = totals;
    if let Some(from) = inventory
        .accounts
        .iter()
        .find_map(|a| a.listed_from.as_deref())
    {
        read.push(format!(
            "{} (listed from {from})",
            counted(connections, "connection")
        ));
    }
    read.push(counted(hosts, "host"));
    read.push(counted(stacks, "synced stack"));
    // One search said once, however many accounts had it.
    match searches.as_slice() {
        [] => {}
        [(_, one)] => read.push(format!("consumers: {one}")),
        [(_, first), rest @ ..] if rest.iter().all(|(_, s)| s == first) => {
            read.push(format!("consumers: {first} of each account"))
        }
        each => read.extend(
            each.iter()
                .map(|(account, s)| format!("{account}: consumers: {s}")),
        ),
    }
    let total = inventory
        .access
        .values()
        .fold(AccessTally::default(), |a, t| a.plus(t));
    read.push(format!(
        "access: {} simulated ({} denied, {} inconclusive)",
        counted(total.checked + total.inconclusive, "check"),
        total.denied,
        total.inconclusive
    ));
    let why = inventory.access_gaps.join("; ");
    if total.not_checked > 0 {
        gaps.push(format!(
            "access of {} ({why})",
            counted(total.not_checked, "check")
        ));
    } else if !why.is_empty() {
        gaps.push(format!("access ({why})"));
    }
    let mut line = format!("Read: {}.", read.join("; "));
    if gaps.is_empty() {
        line.push_str(" Nothing was left unread.");
    } else {
        let _ = write!(line, " Not read: {}.", gaps.join("; "));
    }
    line
}

/// What the accounts' reads add up to, and each account's consumer search.
#[derive(Default)]
struct Totals {
    connections: usize,
    hosts: usize,
    stacks: usize,
    searches: Vec<(String, String)>,
}

impl Totals {
    /// `account`'s reads, and its gaps into `gaps` (named with it when
    /// there are `several` accounts).
    fn add(
        &mut self,
        account: &AccountInventory,
        several: bool,
        used_by: bool,
        gaps: &mut Vec<String>,
    ) {
        let of = |what: &str| match several {
            true => format!("{}: {what}", account.account),
            false => what.to_string(),
        };
        match (&account.connections, &account.listed_from) {
            (Some(list), Some(_)) => self.connections += list.len(),
            _ => gaps.push(of("connections")),
        }
        self.hosts += account.hosts.len();
        for (region, error) in &account.unread_hosts {
            gaps.push(of(&format!("hosts in {region} ({})", shown(error))));
        }
        match &account.synced_stacks {
            Some(found) => self.stacks += found.len(),
            None => gaps.push("synced stacks (GIT_SYNC=false)".into()),
        }
        for (region, error) in &account.unread_syncs {
            gaps.push(of(&format!("synced stacks in {region} ({})", shown(error))));
        }
        match &account.coverage {
            Some(coverage) => {
                self.searches
                    .push((account.account.clone(), searched(coverage)));
                gaps.extend(not_searched(coverage).iter().map(|g| of(g)));
            }
            None if !used_by => gaps.push("consumers (USED_BY=none)".into()),
            // Listed with none: nothing to search. Not listed: that gap says it.
            None if account.connections.as_ref().is_none_or(Vec::is_empty) => {}
            None => gaps.push(of("consumers")),
        }
    }
}
