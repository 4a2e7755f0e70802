//! The text alert (email and SNS's default): a summary line, what each
//! status means, and one block per object, grouped by account, kind and
//! lifecycle state. Pure.

use super::access::finding_lines;
use super::batch::{title, AccountGroup, Batch, Item};
use super::coverage::{none_of, not_searched, regions, searched};
use super::escape::shown;
use super::sync_text::sync_lines;
use crate::domain::access::{AccessFinding, UNSEEN};
use crate::domain::consumer::{Consumer, Coverage, Outcome, Recovery, Via};
use crate::domain::watched::{AlertState, Kind};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeMap;

const CONNECTIONS_INTRO: &str =
    "A PENDING connection waits for a person to complete the handshake with its provider; \
an ERROR connection has lost its app installation or authorization. \
Pipelines that use either cannot reach their source. \
Open each link to complete or update the connection.\n";

const HOSTS_INTRO: &str =
    "A host stands for a GitHub Enterprise Server or GitLab self-managed instance. \
A PENDING host waits for a person to set it up in the console; a host whose VPC configuration \
failed, or in ERROR, needs its settings repaired. No connection through it works until it is \
AVAILABLE. Open each link to set up or repair the host.\n";

const SYNCS_INTRO: &str =
    "A stack synced from Git follows a file in a branch. A BLOCKED stack has an active sync \
blocker: a sync failed, and no later commit reaches the stack until a person resolves the \
blocker. A REPOSITORY_SYNC_FAILED stack's branch could not be synced (a deployment file \
that does not parse, a deleted branch, a connection not AVAILABLE): its events say why. \
A FAILED stack's latest sync failed. Repair a connection that is not AVAILABLE first, then \
fix the stack, its template or its deployment file, and resolve any blocker in the stack's \
Git sync tab or with the command shown.\n";

const ACCESS_INTRO: &str =
    "A DENIED consumer is a pipeline or CodeBuild project whose role may not use its \
connection, AVAILABLE or not: its runs fail with \"not authorized to perform\". A connection \
created since 2024-07-01 has a codeconnections ARN, and a role must grant the actions under \
the prefix of the ARN the consumer names. Add the statement shown to each role.";

/// What the statuses of a kind mean, shown once above its blocks.
fn intro(kind: Kind) -> &'static str {
    match kind {
        Kind::Connection => CONNECTIONS_INTRO,
        Kind::Host => HOSTS_INTRO,
        Kind::GitSync => SYNCS_INTRO,
        Kind::Access => ACCESS_INTRO_WITH_UNSEEN.as_str(),
    }
}

/// The access intro, then what simulation does not see (every finding says it).
static ACCESS_INTRO_WITH_UNSEEN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{ACCESS_INTRO} {UNSEEN}\n"));

/// `3 CodeStar connections need attention (2 PENDING, 1 ERROR)`,
/// `2 connections and 1 host need attention (...)`, with `, 2 resolved`, or
/// `2 CodeStar connections resolved` when that is all.
pub fn summary(batch: Batch<'_>) -> String {
    let plural = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    // Each kind's count of objects that are (or are not) resolved.
    let count = |resolved: bool| -> Vec<(Kind, usize)> {
        batch
            .kinds()
            .into_iter()
            .map(|k| {
                let n = k.items.iter().filter(|i| i.is_resolved() == resolved);
                (k.kind, n.count())
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    };
    // `a`, `a and b`, `a, b and c`.
    let what = |counts: &[(Kind, usize)]| match counts {
        [(kind, n)] => plural(*n, kind.lone_noun()),
        [rest @ .., (last_kind, last)] => {
            let rest: Vec<String> = rest.iter().map(|(k, n)| plural(*n, k.noun())).collect();
            format!(
                "{} and {}",
                rest.join(", "),
                plural(*last, last_kind.noun())
            )
        }
        [] => String::new(),
    };
    let (stuck, resolved) = (count(false), count(true));
    let resolved_total: usize = resolved.iter().map(|(_, n)| n).sum();
    if stuck.is_empty() {
        return format!("{} resolved", what(&resolved));
    }
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for item in batch.items().filter(|i| !i.is_resolved()) {
        *by_status.entry(item.status()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = by_status.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let counts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", shown(s)))
        .collect();
    let stuck_total: usize = stuck.iter().map(|(_, n)| n).sum();
    let verb = if stuck_total == 1 { "needs" } else { "need" };
    let mut summary = format!("{} {verb} attention ({})", what(&stuck), counts.join(", "));
    if resolved_total > 0 {
        summary += &format!(", {resolved_total} resolved");
    }
    summary
}

/// The whole text of one message.
pub fn text(
    account: &str,
    generated_at: DateTime<Utc>,
    batch: Batch<'_>,
    summary: &str,
    part: Option<(usize, usize)>,
) -> String {
    let mut out = format!("{summary} in {}.\n", covered(account, batch));
    if let Some((i, n)) = part {
        out += &format!("This is part {i} of {n} of this alert.\n");
    }
    for kind in batch.kinds() {
        if kind.items.iter().any(|i| !i.is_resolved()) {
            out += "\n";
            out += intro(kind.kind);
        }
    }
    // Organization-wide, with several accounts: one group each, under its heading.
    let groups = batch.account_groups();
    let grouped = groups.len() > 1;
    for group in &groups {
        out += &group_text(group, grouped, generated_at);
    }
    out += &format!(
        "\n-- connection-watch, {}\n",
        generated_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    out
}

/// The accounts the message covers: the monitor's own, or organization-wide
/// those its objects belong to (the first few, then how many more).
fn covered(account: &str, batch: Batch<'_>) -> String {
    const NAMED: usize = 5;
    let accounts = batch.accounts();
    match accounts.len() {
        0 => format!("account {}", shown(account)),
        1 => format!("account {}", shown(&accounts[0])),
        n => {
            let named: Vec<String> = accounts.iter().take(NAMED).map(|a| shown(a)).collect();
            let more = n.saturating_sub(NAMED);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("accounts {}{more}", named.join(", "))
        }
    }
}

fn group_text(group: &AccountGroup<'_>, grouped: bool, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    if grouped {
        out += &account_heading(group.account);
    }
    let mixed = group.mixed();
    for kind in group.kinds.iter().filter(|k| !k.items.is_empty()) {
        if mixed {
            out += &format!("\n== {} ==\n", title(kind.kind).to_uppercase());
        }
        out += &sections(&kind.items, kind.kind, now);
    }
    out
}

/// The blocks of `items` (of `kind`) by lifecycle state; without a state
/// table every item is in the first section, unheaded. A denied consumer is
/// not stuck: it is still denied.
fn sections(items: &[&dyn Item], kind: Kind, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let ongoing = match kind {
        Kind::Access => "STILL DENIED",
        _ => "STILL STUCK",
    };
    let sections = [
        (None, ""),
        (Some(AlertState::New), "NEW"),
        (Some(AlertState::Ongoing), ongoing),
        (Some(AlertState::Resolved), "RESOLVED"),
    ];
    for (state, heading) in sections {
        let members: Vec<&&dyn Item> = items.iter().filter(|i| i.state() == state).collect();
        if members.is_empty() {
            continue;
        }
        out.push('\n');
        if !heading.is_empty() {
            out += &format!("{heading}\n\n");
        }
        for (i, item) in members.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out += &block(**item, now);
        }
    }
    out
}

/// One object's lines.
pub fn block(item: &dyn Item, now: DateTime<Utc>) -> String {
    let facts = item.facts();
    if let Some(finding) = facts.access {
        return access_block(item, finding, &facts, now);
    }
    let mut block = format!(
        "{} - {}\n  Provider: {}\n",
        shown(item.name()),
        status_line(item),
        shown(item.provider_type()),
    );
    if let Some(endpoint) = facts.endpoint {
        block += &format!("  Endpoint: {}\n", shown(endpoint));
    }
    if let Some((repository, branch)) = facts.repository {
        block += &format!(
            "  Repo:     {}, branch {}\n",
            shown(repository),
            shown(branch)
        );
        if let Some(status) = facts.connection_status {
            block += &format!(
                "            its connection is {}: repair it first\n",
                shown(status)
            );
        }
    }
    block += &format!(
        "  Region:   {}\n  ARN:      {}\n",
        shown(item.region()),
        shown(item.arn())
    );
    if let Some(stack_id) = facts.stack_id {
        block += &format!("  Stack:    {}\n", shown(stack_id));
    }
    block += &account_line(item.account());
    if let Some(host) = facts.host {
        block += &format!("  Host:     {}\n", shown(host));
        if let Some(status) = facts.host_status {
            block += &format!(
                "            the host is {}: set it up or repair it first\n",
                shown(status)
            );
        }
    }
    if let Some(reason) = facts.reason {
        block += &format!("  Reason:   {}\n", shown(reason));
    }
    block += &sync_lines(item, &facts);
    if let Some(used_by) = facts.used_by {
        let found = Found {
            listed: used_by,
            more: facts.used_by_more,
            coverage: facts.used_by_coverage,
            provider: item.provider_type(),
        };
        block += &breaks(item.is_resolved(), &found);
    }
    for recovery in facts.recovery {
        block += &recovery_line(recovery);
    }
    if facts.recovery_more > 0 {
        block += &format!("           ...and {} more pipelines\n", facts.recovery_more);
    }
    if let Some(note) = facts.recovery_note {
        block += &format!("  Recovery: {}\n", shown(note));
    }
    block + &tail(item, now)
}

/// A denied consumer's lines: what it is, the connection it names, and
/// (while it is denied) the finding with its fix.
fn access_block(
    item: &dyn Item,
    finding: &AccessFinding,
    facts: &super::batch::Facts<'_>,
    now: DateTime<Utc>,
) -> String {
    let mut block = format!(
        "{} - {}\n  Consumer: {} {}\n  Region:   {}\n  Uses:     {} ({})\n",
        shown(item.name()),
        status_line(item),
        finding.consumer.kind.label(),
        shown(&finding.consumer.arn),
        shown(item.region()),
        shown(&finding.connection_arn),
        shown(facts.connection_status.unwrap_or("status not read")),
    );
    block += &account_line(item.account());
    // A resolved one's finding is as last alerted: stale.
    if !item.is_resolved() {
        block += &finding_lines(finding);
    }
    block + &tail(item, now)
}

/// `  Restarted: pipeline payments-deploy (us-east-1): retried the failed actions of Source`.
fn recovery_line(r: &Recovery) -> String {
    let pipeline = format!("pipeline {} ({})", shown(&r.pipeline), shown(&r.region));
    match &r.outcome {
        Outcome::Retried { stage } => format!(
            "  Restarted: {pipeline}: retried the failed actions of stage {}\n",
            shown(stage)
        ),
        Outcome::Started { stage } => format!(
            "  Restarted: {pipeline}: started a new execution (stage {} could not be retried)\n",
            shown(stage)
        ),
        Outcome::Failed { stage, reason } => format!(
            "  Not restarted: {pipeline} (stage {} failed on it): {}\n",
            shown(stage),
            shown(reason)
        ),
        Outcome::NotRestarted { stage, reason } => format!(
            "  Not restarted: {pipeline} (stage {}): {}\n",
            shown(stage),
            shown(reason)
        ),
    }
}

/// The most consumers a block names; the rest are counted.
pub const MAX_CONSUMERS_SHOWN: usize = 5;

/// What a connection's `usedBy` search found, as `breaks` renders it.
struct Found<'a> {
    listed: &'a [Consumer],
    more: usize,
    coverage: Option<&'a Coverage>,
    /// The connection's provider, which names an account-level credential.
    provider: &'a str,
}

/// `  Breaks:   pipeline payments-deploy (us-east-1): <link>`, one line
/// each, then `...and N more`; a resolved connection's were `Used by`.
/// Finding nothing is said with what was searched, and only a complete
/// search makes a connection a candidate for deletion.
fn breaks(resolved: bool, found: &Found<'_>) -> String {
    let label = if resolved { "Used by: " } else { "Breaks:  " };
    let mut lines: Vec<String> = found
        .listed
        .iter()
        .take(MAX_CONSUMERS_SHOWN)
        .map(|c| consumer_line(c, found.provider))
        .collect();
    let unshown = found.listed.len().saturating_sub(MAX_CONSUMERS_SHOWN) + found.more;
    if unshown > 0 {
        lines.push(format!("...and {unshown} more"));
    }
    let gaps = found.coverage.map(not_searched).unwrap_or_default();
    match found.coverage {
        Some(c) if found.listed.is_empty() && c.is_complete() => lines.push(format!(
            "nothing found: {} in {} (every region enabled for the account) uses it: \
             a candidate for deletion",
            none_of(c),
            regions(c.regions)
        )),
        Some(c) if found.listed.is_empty() && c.regions == 0 => {
            lines.push(format!("unknown: not searched: {}", gaps.join("; ")));
        }
        Some(c) if found.listed.is_empty() => {
            lines.push(format!("nothing found among {}", searched(c)));
            lines.push(format!("not searched: {}", gaps.join("; ")));
        }
        None if found.listed.is_empty() => lines.push("nothing found".into()),
        _ if !gaps.is_empty() => lines.push(format!(
            "it may break more: not searched: {}",
            gaps.join("; ")
        )),
        _ => {}
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let lead = if i == 0 { label } else { "         " };
        out += &format!("  {lead} {line}\n");
    }
    out
}

/// `CodeBuild project x (eu-central-1), through the account's default
/// GitHub credential: <link>`; a Service Catalog product whose last sync
/// failed says so, with AWS's message.
fn consumer_line(c: &Consumer, provider: &str) -> String {
    let via = match (c.via, &c.last_sync) {
        (Some(Via::AccountDefaultCredential), _) => format!(
            ", through the account's default {} credential",
            shown(provider)
        ),
        (Some(Via::PipelineFullClone), _) => {
            ", cloning through it for a pipeline's full clone".into()
        }
        (None, Some(sync)) if sync.failed() => {
            let at = sync.at.as_deref().map(|at| format!(" at {}", shown(at)));
            let why = sync.message.as_deref().map(|m| format!(" ({})", shown(m)));
            let (at, why) = (at.unwrap_or_default(), why.unwrap_or_default());
            format!(", its last sync FAILED{at}{why}")
        }
        _ => String::new(),
    };
    format!(
        "{} {} ({}){via}: {}",
        c.kind.label(),
        shown(&c.name),
        shown(&c.region),
        shown(&c.console_url)
    )
}

/// `=== ACCOUNT 111111111111 (payments) ===`, above one account's group.
pub fn account_heading(account: Option<(&str, Option<&str>)>) -> String {
    account.map_or(String::new(), |(id, name)| {
        format!("\n=== ACCOUNT {} ===\n", account_label(id, name))
    })
}

/// `  Account:  111111111111 (payments)`, organization-wide only.
fn account_line(account: Option<(&str, Option<&str>)>) -> String {
    account.map_or(String::new(), |(id, name)| {
        format!("  Account:  {}\n", account_label(id, name))
    })
}

/// `111111111111 (payments)`, or the id alone when the name is unknown.
fn account_label(id: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{} ({})", shown(id), shown(name)),
        None => shown(id),
    }
}

fn status_line(item: &dyn Item) -> String {
    if item.is_resolved() {
        format!("RESOLVED (was {})", shown(item.status()))
    } else {
        shown(item.status())
    }
}

/// `Since:` with a state table, and the console link while it is stuck.
fn tail(item: &dyn Item, now: DateTime<Utc>) -> String {
    let mut tail = String::new();
    if let Some(first_seen) = item.lifecycle().first_seen {
        tail += &format!(
            "  Since:    {} ({})\n",
            first_seen.to_rfc3339_opts(SecondsFormat::Secs, true),
            elapsed(now - first_seen)
        );
    }
    if !item.is_resolved() {
        tail += &format!("  Open:     {}\n", shown(item.console_url()));
    }
    tail
}

/// `3d 4h`, `5h 10m`, `12m`.
fn elapsed(d: chrono::Duration) -> String {
    let minutes = d.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}
