//! `monitor --inventory` (docs/reference.md, "A look from a terminal"):
//! every connection, one row each, with its consumers per kind and its
//! access findings; the findings in full; hosts; and a coverage line that
//! says what was not read. Columns fit a 100-character terminal. Pure.

use super::access::finding_lines;
use super::coverage::{not_searched, searched};
use super::escape::shown;
use crate::domain::access::{AccessFinding, AccessTally, UNSEEN};
use crate::domain::arn::connection_key;
use crate::domain::connection::Connection;
use crate::domain::consumer::{ConsumerKind, Coverage};
use crate::domain::host::Host;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// Everything an inventory shows; `None` where it was not read.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub account: String,
    /// `None`: the connections could not be listed.
    pub connections: Option<Vec<Connection>>,
    pub listed_from: Option<String>,
    pub hosts: Vec<Host>,
    /// Regions whose hosts could not be listed, with why.
    pub unread_hosts: Vec<(String, String)>,
    /// The consumer search, `None` with `USED_BY=none`.
    pub coverage: Option<Coverage>,
    /// Per connection (by `connection_key`).
    pub access: HashMap<String, AccessTally>,
    pub findings: Vec<AccessFinding>,
    /// Why some checks were not simulated.
    pub access_gaps: Vec<String>,
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
    let _ = writeln!(out, "Account {}", inventory.account);
    let header = row([
        "NAME",
        "STATUS",
        "PROVIDER",
        "REGION",
        "CONSUMERS",
        "ACCESS",
    ]);
    let _ = writeln!(out, "{header}");
    match &inventory.connections {
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
    findings(&mut out, inventory);
    hosts(&mut out, inventory);
    let _ = writeln!(out, "\n{}", coverage_line(inventory));
    out
}

fn findings(out: &mut String, inventory: &Inventory) {
    if inventory.findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nConsumers whose role cannot use their connection:");
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
    let _ = writeln!(out, "{UNSEEN}");
}

fn hosts(out: &mut String, inventory: &Inventory) {
    if inventory.hosts.is_empty() && inventory.unread_hosts.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nHosts:");
    for h in &inventory.hosts {
        let line = row([&h.name, &h.status, &h.provider_type, &h.region, "", ""]);
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// What was read, and what was not: never a 0 for what was not read.
pub fn coverage_line(inventory: &Inventory) -> String {
    let mut read = Vec::new();
    let mut gaps = Vec::new();
    match (&inventory.connections, &inventory.listed_from) {
        (Some(list), Some(from)) => {
            read.push(format!("{} connections (listed from {from})", list.len()))
        }
        _ => gaps.push("connections".to_string()),
    }
    read.push(match inventory.hosts.len() {
        1 => "1 host".to_string(),
        n => format!("{n} hosts"),
    });
    for (region, error) in &inventory.unread_hosts {
        gaps.push(format!("hosts in {region} ({})", shown(error)));
    }
    match &inventory.coverage {
        Some(coverage) => {
            read.push(format!("consumers: {}", searched(coverage)));
            gaps.extend(not_searched(coverage));
        }
        None => gaps.push("consumers (USED_BY=none)".into()),
    }
    let total = inventory
        .access
        .values()
        .fold(AccessTally::default(), |a, t| a.plus(t));
    read.push(format!(
        "access: {} checks simulated ({} denied, {} inconclusive)",
        total.checked + total.inconclusive,
        total.denied,
        total.inconclusive
    ));
    if total.not_checked > 0 {
        gaps.push(format!(
            "access of {} checks ({})",
            total.not_checked,
            inventory.access_gaps.join("; ")
        ));
    }
    let mut line = format!("Read: {}.", read.join("; "));
    if gaps.is_empty() {
        line.push_str(" Nothing was left unread.");
    } else {
        let _ = write!(line, " Not read: {}.", gaps.join("; "));
    }
    line
}
