//! Renders the SNS alert for what is stuck, connections and hosts: subject,
//! per-protocol message, message attributes, and the split over several
//! messages when one would exceed SNS's size limit. Pure: no I/O.

use crate::chat;
use crate::connection::Connection;
use crate::host::Host;
use crate::text::shown;
use crate::watched::{AlertState, Watched};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// SNS's limit for one publish: message, subject and attributes together.
pub const SNS_MAX_PUBLISH_BYTES: usize = 262_144;
/// SNS's limit for a subject.
pub const SUBJECT_MAX_CHARS: usize = 100;

/// What one run alerts: stuck (and, with a state table, resolved) connections and hosts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stuck<'a> {
    pub connections: &'a [Connection],
    pub hosts: &'a [Host],
}

impl Stuck<'_> {
    fn len(&self) -> usize {
        self.connections.len() + self.hosts.len()
    }

    /// Statuses, home regions and lifecycle states, each once, in first-seen order.
    fn distinct(&self, field: impl Fn(&dyn Shown) -> String) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let all = self.connections.iter().map(|c| c as &dyn Shown);
        for item in all.chain(self.hosts.iter().map(|h| h as &dyn Shown)) {
            let value = field(item);
            if !value.is_empty() && !seen.contains(&value) {
                seen.push(value);
            }
        }
        seen
    }

    fn kinds(&self) -> Vec<String> {
        [
            (!self.connections.is_empty()).then_some("connection"),
            (!self.hosts.is_empty()).then_some("host"),
        ]
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect()
    }

    /// Organization-wide: the accounts present, in first-seen order.
    pub fn accounts(&self) -> Vec<String> {
        let mut accounts = self.account_groups();
        accounts.retain(|a| !a.is_empty());
        accounts
    }

    /// The groups text and chat show: one per account present, in
    /// first-seen order, `""` for objects that name no account.
    pub fn account_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        let all = self.connections.iter().map(|c| &c.account);
        for account in all.chain(self.hosts.iter().map(|h| &h.account)) {
            let key = account.clone().unwrap_or_default();
            if !groups.contains(&key) {
                groups.push(key);
            }
        }
        groups
    }

    fn states(&self) -> Vec<String> {
        let mut states: Vec<AlertState> = self
            .connections
            .iter()
            .filter_map(|c| c.lifecycle.state)
            .chain(self.hosts.iter().filter_map(|h| h.lifecycle.state))
            .collect();
        states.sort();
        states.dedup();
        states.iter().map(|s| s.as_str().to_string()).collect()
    }
}

/// One message attribute, as SNS counts and receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    pub data_type: &'static str,
    pub value: String,
}

/// One `Publish` call's worth of alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertMessage {
    pub subject: String,
    /// The `MessageStructure: json` document: one entry per protocol.
    pub message: String,
    pub statuses: Vec<String>,
    pub regions: Vec<String>,
    /// `connection`, `host`: what kinds of object the message carries.
    pub kinds: Vec<String>,
    /// Lifecycle states present (`new`, `ongoing`, `resolved`); empty without a state table.
    pub states: Vec<String>,
    /// Organization-wide: the accounts present; empty otherwise.
    pub accounts: Vec<String>,
    pub count: usize,
}

impl AlertMessage {
    /// The message attributes, defined once: what is published is what is
    /// counted against SNS's limit.
    pub fn attributes(&self) -> Vec<Attribute> {
        let array = |items: &[String]| serde_json::to_string(items).expect("plain strings");
        let mut attributes = vec![
            Attribute {
                name: "statuses",
                data_type: "String.Array",
                value: array(&self.statuses),
            },
            Attribute {
                name: "regions",
                data_type: "String.Array",
                value: array(&self.regions),
            },
            Attribute {
                name: "kinds",
                data_type: "String.Array",
                value: array(&self.kinds),
            },
            Attribute {
                name: "count",
                data_type: "Number",
                value: self.count.to_string(),
            },
        ];
        if !self.states.is_empty() {
            attributes.push(Attribute {
                name: "states",
                data_type: "String.Array",
                value: array(&self.states),
            });
        }
        if !self.accounts.is_empty() {
            attributes.push(Attribute {
                name: "accounts",
                data_type: "String.Array",
                value: array(&self.accounts),
            });
        }
        attributes
    }

    /// What SNS counts against its limit, attribute names and types included.
    pub fn publish_size(&self) -> usize {
        self.message.len()
            + self.subject.len()
            + self
                .attributes()
                .iter()
                .map(|a| a.name.len() + a.data_type.len() + a.value.len())
                .sum::<usize>()
    }
}

/// The document machine subscribers (`sqs`, `lambda`) receive.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertDocument<'a> {
    version: u32,
    account: &'a str,
    generated_at: String,
    connections: &'a [Connection],
    hosts: &'a [Host],
}

#[derive(Serialize)]
struct ProtocolMessages<'a> {
    default: &'a str,
    email: &'a str,
    sqs: &'a str,
    lambda: &'a str,
    https: &'a str,
}

/// The fields the text shows of a connection or a host.
trait Shown {
    fn account(&self) -> Option<(&str, Option<&str>)>;
    fn status(&self) -> &str;
    fn region(&self) -> &str;
    fn state(&self) -> Option<AlertState>;
    fn block(&self, now: DateTime<Utc>) -> String;
    fn json_len(&self) -> usize;
}

impl<T: Watched> Shown for T
where
    T: Block,
{
    fn account(&self) -> Option<(&str, Option<&str>)> {
        Watched::account(self)
    }
    fn status(&self) -> &str {
        Watched::status(self)
    }
    fn region(&self) -> &str {
        Watched::region(self)
    }
    fn state(&self) -> Option<AlertState> {
        self.lifecycle().state
    }
    fn block(&self, now: DateTime<Utc>) -> String {
        Block::text_block(self, now)
    }
    fn json_len(&self) -> usize {
        serde_json::to_string(self).map_or(0, |s| escaped_len(&s))
    }
}

/// Renders the alert, in as few messages as fit SNS's limit (`budget` bytes
/// each). Nothing stuck renders nothing.
pub fn render_alerts(
    account: &str,
    generated_at: DateTime<Utc>,
    stuck: Stuck<'_>,
    budget: usize,
) -> Vec<AlertMessage> {
    let chunks = split(account, generated_at, stuck, budget);
    let parts = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let part = (parts > 1).then_some((i + 1, parts));
            render_one(account, generated_at, chunk, part)
        })
        .collect()
}

/// Greedy packing by each object's share of a rendered message, connections
/// first, then hosts. An object appears twice as text and three times as
/// JSON, each escaped once more inside the outer document; the slack covers
/// separators.
fn split<'c>(
    account: &str,
    generated_at: DateTime<Utc>,
    stuck: Stuck<'c>,
    budget: usize,
) -> Vec<Stuck<'c>> {
    const SLACK_PER_OBJECT: usize = 32;
    if stuck.len() == 0 {
        return Vec::new();
    }
    // The frame: a message of one connection and one host (header, intros,
    // headings) with the largest part marker and the attributes any chunk
    // can have. It counts its objects once more than needed: on the safe side.
    let sample = Stuck {
        connections: &stuck.connections[..stuck.connections.len().min(1)],
        hosts: &stuck.hosts[..stuck.hosts.len().min(1)],
    };
    let frame = render_one(
        account,
        generated_at,
        sample,
        Some((stuck.len(), stuck.len())),
    )
    .publish_size()
        + serde_json::to_string(&stuck.distinct(|i| i.region().to_string())).map_or(0, |s| s.len())
        + serde_json::to_string(&stuck.distinct(|i| i.status().to_string())).map_or(0, |s| s.len())
        + serde_json::to_string(&stuck.states()).map_or(0, |s| s.len())
        + serde_json::to_string(&stuck.accounts()).map_or(0, |s| s.len())
        + 64;
    // An object may open its account's group: its heading counts too.
    let cost = |item: &dyn Shown| {
        2 * escaped_len(&(account_heading(item.account()) + &item.block(generated_at)))
            + 3 * item.json_len()
            + SLACK_PER_OBJECT
    };

    // Cut points over the sequence of connections, then hosts.
    let costs: Vec<usize> = stuck
        .connections
        .iter()
        .map(|c| cost(c))
        .chain(stuck.hosts.iter().map(|h| cost(h)))
        .collect();
    let mut cuts = vec![0];
    let mut used = frame;
    for (i, size) in costs.iter().enumerate() {
        if i > *cuts.last().expect("starts at 0") && used + size > budget {
            cuts.push(i);
            used = frame;
        }
        used += size;
    }
    cuts.push(costs.len());
    let n = stuck.connections.len();
    cuts.windows(2)
        .map(|w| Stuck {
            connections: &stuck.connections[w[0].min(n)..w[1].min(n)],
            hosts: &stuck.hosts[w[0].max(n) - n..w[1].max(n) - n],
        })
        .collect()
}

fn render_one(
    account: &str,
    generated_at: DateTime<Utc>,
    stuck: Stuck<'_>,
    part: Option<(usize, usize)>,
) -> AlertMessage {
    let summary = summary(stuck);
    let subject = subject(&summary, part);
    let text = text(account, generated_at, stuck, &summary, part);
    let document = serde_json::to_string(&AlertDocument {
        version: 1,
        account,
        generated_at: generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        connections: stuck.connections,
        hosts: stuck.hosts,
    })
    .expect("the alert document is plain data");
    let chat = chat::notification(account, generated_at, stuck, &subject, part);
    let message = serde_json::to_string(&ProtocolMessages {
        default: &text,
        email: &text,
        sqs: &document,
        lambda: &document,
        https: &chat,
    })
    .expect("the protocol map is plain data");
    AlertMessage {
        subject,
        message,
        statuses: stuck.distinct(|i| i.status().to_string()),
        regions: stuck.distinct(|i| i.region().to_string()),
        kinds: stuck.kinds(),
        states: stuck.states(),
        accounts: stuck.accounts(),
        count: stuck.len(),
    }
}

/// `3 CodeStar connections need attention (2 PENDING, 1 ERROR)`,
/// `2 connections and 1 host need attention (...)`, with `, 2 resolved`, or
/// `2 CodeStar connections resolved` when that is all.
fn summary(stuck: Stuck<'_>) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let count = |resolved: bool| {
        (
            stuck
                .connections
                .iter()
                .filter(|c| c.is_resolved() == resolved)
                .count(),
            stuck
                .hosts
                .iter()
                .filter(|h| h.is_resolved() == resolved)
                .count(),
        )
    };
    let what = |(connections, hosts): (usize, usize)| match (connections, hosts) {
        (c, 0) => plural(c, "CodeStar connection", "CodeStar connections"),
        (0, h) => plural(h, "CodeStar host", "CodeStar hosts"),
        (c, h) => format!(
            "{} and {}",
            plural(c, "connection", "connections"),
            plural(h, "host", "hosts")
        ),
    };
    let (stuck_counts, resolved_counts) = (count(false), count(true));
    let resolved = resolved_counts.0 + resolved_counts.1;
    if stuck_counts == (0, 0) {
        return format!("{} resolved", what(resolved_counts));
    }
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    let items = stuck.connections.iter().map(|c| c as &dyn Shown);
    for item in items.chain(stuck.hosts.iter().map(|h| h as &dyn Shown)) {
        if item.state() != Some(AlertState::Resolved) {
            *by_status.entry(item.status()).or_default() += 1;
        }
    }
    let mut counts: Vec<(&str, usize)> = by_status.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let counts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", shown(s)))
        .collect();
    let verb = if stuck_counts.0 + stuck_counts.1 == 1 {
        "needs"
    } else {
        "need"
    };
    let mut summary = format!(
        "{} {verb} attention ({})",
        what(stuck_counts),
        counts.join(", ")
    );
    if resolved > 0 {
        summary += &format!(", {resolved} resolved");
    }
    summary
}

fn subject(summary: &str, part: Option<(usize, usize)>) -> String {
    let suffix = part.map_or(String::new(), |(i, n)| format!(" [part {i}/{n}]"));
    // SNS rejects control and non-ASCII characters in subjects.
    let clean: String = summary
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(SUBJECT_MAX_CHARS - suffix.len())
        .collect();
    clean + &suffix
}

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

fn text(
    account: &str,
    generated_at: DateTime<Utc>,
    stuck: Stuck<'_>,
    summary: &str,
    part: Option<(usize, usize)>,
) -> String {
    let mut out = format!("{summary} in account {account}.\n");
    if let Some((i, n)) = part {
        out += &format!("This is part {i} of {n} of this alert.\n");
    }
    if stuck.connections.iter().any(|c| !c.is_resolved()) {
        out += "\n";
        out += CONNECTIONS_INTRO;
    }
    if stuck.hosts.iter().any(|h| !h.is_resolved()) {
        out += "\n";
        out += HOSTS_INTRO;
    }
    // Organization-wide, with several accounts: one group each, under its heading.
    let groups = stuck.account_groups();
    let grouped = groups.len() > 1;
    for group in &groups {
        let mine = |item: &&dyn Shown| item.account().map_or("", |(id, _)| id) == group;
        let connections: Vec<&dyn Shown> = stuck
            .connections
            .iter()
            .map(|c| c as &dyn Shown)
            .filter(mine)
            .collect();
        let hosts: Vec<&dyn Shown> = stuck
            .hosts
            .iter()
            .map(|h| h as &dyn Shown)
            .filter(mine)
            .collect();
        if let Some(first) = connections.first().or(hosts.first()).filter(|_| grouped) {
            out += &account_heading(first.account());
        }
        let both = !connections.is_empty() && !hosts.is_empty();
        for (heading, items) in [("CONNECTIONS", connections), ("HOSTS", hosts)] {
            if items.is_empty() {
                continue;
            }
            if both {
                out += &format!("\n== {heading} ==\n");
            }
            out += &sections(&items, generated_at);
        }
    }
    out += &format!(
        "\n-- connection-watch, {}\n",
        generated_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    out
}

/// The blocks of `items` by lifecycle state; without a state table every
/// item is in the first section, unheaded.
fn sections(items: &[&dyn Shown], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let sections = [
        (None, ""),
        (Some(AlertState::New), "NEW"),
        (Some(AlertState::Ongoing), "STILL STUCK"),
        (Some(AlertState::Resolved), "RESOLVED"),
    ];
    for (state, heading) in sections {
        let members: Vec<&&dyn Shown> = items.iter().filter(|i| i.state() == state).collect();
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
            out += &item.block(now);
        }
    }
    out
}

/// A connection's or host's lines in the text alert.
trait Block {
    fn text_block(&self, now: DateTime<Utc>) -> String;
}

impl Block for Connection {
    fn text_block(&self, now: DateTime<Utc>) -> String {
        let mut block = format!(
            "{name} - {status}\n  Provider: {provider}\n  Region:   {region}\n  ARN:      {arn}\n",
            name = shown(&self.name),
            status = status_line(self),
            provider = shown(&self.provider_type),
            region = shown(&self.region),
            arn = shown(&self.arn),
        );
        block += &account_line(Watched::account(self));
        if let Some(host) = &self.host_arn {
            block += &format!("  Host:     {}\n", shown(host));
            if let Some(status) = &self.host_status {
                block += &format!(
                    "            the host is {}: set it up or repair it first\n",
                    shown(status)
                );
            }
        }
        block + &tail(self, now)
    }
}

impl Block for Host {
    fn text_block(&self, now: DateTime<Utc>) -> String {
        let mut block = format!(
            "{name} - {status}\n  Provider: {provider}\n  Endpoint: {endpoint}\n  Region:   {region}\n  ARN:      {arn}\n",
            name = shown(&self.name),
            status = status_line(self),
            provider = shown(&self.provider_type),
            endpoint = shown(&self.provider_endpoint),
            region = shown(&self.region),
            arn = shown(&self.arn),
        );
        block += &account_line(Watched::account(self));
        if let Some(message) = &self.status_message {
            block += &format!("  Reason:   {}\n", shown(message));
        }
        block + &tail(self, now)
    }
}

/// `=== ACCOUNT 111111111111 (payments) ===`, above one account's group.
fn account_heading(account: Option<(&str, Option<&str>)>) -> String {
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

fn status_line<T: Watched>(item: &T) -> String {
    if item.is_resolved() {
        format!("RESOLVED (was {})", shown(item.status()))
    } else {
        shown(item.status())
    }
}

/// `Since:` with a state table, and the console link while it is stuck.
fn tail<T: Watched>(item: &T, now: DateTime<Utc>) -> String {
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

/// The length of `s` once escaped as a JSON string, quotes excluded.
fn escaped_len(s: &str) -> usize {
    serde_json::to_string(s).map_or(s.len(), |e| e.len() - 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::Value;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
    }

    fn conn(i: usize, status: &str, region: &str) -> Connection {
        let arn = format!("arn:aws:codestar-connections:{region}:123456789012:connection/{i:08}-0000-4000-8000-000000000000");
        Connection {
            name: format!("conn-{i}"),
            console_url: crate::connection::ResourceArn::parse(&arn)
                .unwrap()
                .console_url(),
            arn,
            status: status.into(),
            provider_type: "GitHub".into(),
            region: region.into(),
            owner_account_id: "123456789012".into(),
            ..Connection::default()
        }
    }

    fn only(connections: &[Connection]) -> Stuck<'_> {
        Stuck {
            connections,
            hosts: &[],
        }
    }

    fn parts(alert: &AlertMessage) -> Value {
        serde_json::from_str(&alert.message).unwrap()
    }

    #[test]
    fn nothing_stuck_renders_nothing() {
        assert!(render_alerts("123456789012", at(), only(&[]), SNS_MAX_PUBLISH_BYTES).is_empty());
    }

    #[test]
    fn one_message_with_every_protocol() {
        let stuck = [
            conn(1, "PENDING", "us-east-1"),
            conn(2, "ERROR", "eu-west-1"),
            conn(3, "PENDING", "us-east-1"),
        ];
        let alerts = render_alerts("123456789012", at(), only(&stuck), SNS_MAX_PUBLISH_BYTES);
        assert_eq!(alerts.len(), 1);
        let alert = &alerts[0];
        assert_eq!(
            alert.subject,
            "3 CodeStar connections need attention (2 PENDING, 1 ERROR)"
        );
        assert_eq!(alert.statuses, ["PENDING", "ERROR"]);
        assert_eq!(alert.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(alert.count, 3);

        let parts = parts(alert);
        assert_eq!(parts["default"], parts["email"]);
        let text = parts["email"].as_str().unwrap();
        for c in &stuck {
            assert!(
                text.contains(&c.arn) && text.contains(&c.console_url) && text.contains(&c.name)
            );
        }
        for protocol in ["sqs", "lambda"] {
            let doc: Value = serde_json::from_str(parts[protocol].as_str().unwrap()).unwrap();
            assert_eq!(doc["version"], 1);
            assert_eq!(doc["account"], "123456789012");
            assert_eq!(doc["generatedAt"], "2026-11-25T08:00:00Z");
            let back: Vec<Connection> = serde_json::from_value(doc["connections"].clone()).unwrap();
            assert_eq!(back, stuck);
        }
        // Chat channels get an AWS Chatbot custom notification.
        let chat: Value = serde_json::from_str(parts["https"].as_str().unwrap()).unwrap();
        assert_eq!(
            (chat["version"].as_str(), chat["source"].as_str()),
            (Some("1.0"), Some("custom"))
        );
        assert_eq!(chat["content"]["title"], alert.subject.as_str());
        for c in &stuck {
            assert!(chat["content"]["description"]
                .as_str()
                .unwrap()
                .contains(&c.console_url));
        }
    }

    #[test]
    fn lifecycle_states_are_rendered_and_counted() {
        let mut new = conn(1, "PENDING", "us-east-1");
        new.lifecycle.state = Some(AlertState::New);
        new.lifecycle.first_seen = Some(at());
        let mut ongoing = conn(2, "ERROR", "us-east-1");
        ongoing.lifecycle.state = Some(AlertState::Ongoing);
        ongoing.lifecycle.first_seen = Some(at() - chrono::Duration::hours(76));
        let mut resolved = conn(3, "PENDING", "eu-west-1");
        resolved.lifecycle.state = Some(AlertState::Resolved);
        resolved.lifecycle.first_seen = Some(at() - chrono::Duration::hours(5));

        let alerts = render_alerts(
            "1",
            at(),
            only(&[new, ongoing, resolved.clone()]),
            SNS_MAX_PUBLISH_BYTES,
        );
        let alert = &alerts[0];
        assert_eq!(
            alert.subject,
            "2 CodeStar connections need attention (1 ERROR, 1 PENDING), 1 resolved"
        );
        assert_eq!(alert.states, ["new", "ongoing", "resolved"]);
        let text = email(alert);
        let (new_at, ongoing_at, resolved_at) = (
            text.find("\nNEW\n").unwrap(),
            text.find("\nSTILL STUCK\n").unwrap(),
            text.find("\nRESOLVED\n").unwrap(),
        );
        assert!(new_at < ongoing_at && ongoing_at < resolved_at, "{text}");
        assert!(text.contains("(3d 4h)"), "{text}");
        assert!(text.contains("conn-3 - RESOLVED (was PENDING)"), "{text}");
        let doc: Value = serde_json::from_str(parts(alert)["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(doc["connections"][1]["state"], "ongoing");
        assert_eq!(doc["connections"][1]["firstSeen"], "2026-11-22T04:00:00Z");

        let only_resolved = render_alerts("1", at(), only(&[resolved]), SNS_MAX_PUBLISH_BYTES);
        assert_eq!(only_resolved[0].subject, "1 CodeStar connection resolved");
        assert!(!email(&only_resolved[0]).contains("Open each link"));
    }

    fn email(alert: &AlertMessage) -> String {
        parts(alert)["email"].as_str().unwrap().to_string()
    }

    #[test]
    fn stateless_alerts_carry_no_states() {
        let alerts = render_alerts(
            "1",
            at(),
            only(&[conn(1, "ERROR", "us-east-1")]),
            SNS_MAX_PUBLISH_BYTES,
        );
        assert!(alerts[0].states.is_empty());
        assert!(!email(&alerts[0]).contains("NEW"));
        assert!(!parts(&alerts[0])["sqs"]
            .as_str()
            .unwrap()
            .contains("\"state\""));
    }

    #[test]
    fn several_accounts_are_grouped_under_their_headings() {
        let owned = |i: usize, account: &str, name: &str| Connection {
            account: Some(account.into()),
            account_name: Some(name.into()),
            ..conn(i, "PENDING", "us-east-1")
        };
        let stuck = [
            owned(1, "111111111111", "payments"),
            owned(2, "111111111111", "payments"),
            owned(3, "222222222222", "data\nforged"),
        ];
        let alerts = render_alerts("999999999999", at(), only(&stuck), SNS_MAX_PUBLISH_BYTES);
        let text = email(&alerts[0]);
        let (first, second) = (
            text.find("\n=== ACCOUNT 111111111111 (payments) ===\n")
                .unwrap(),
            text.find("\n=== ACCOUNT 222222222222 (data\\u{a}forged) ===\n")
                .unwrap(),
        );
        assert!(
            first < text.find("conn-1 - ").unwrap() && text.find("conn-2 - ").unwrap() < second
        );
        assert!(second < text.find("conn-3 - ").unwrap(), "{text}");
        assert_eq!(alerts[0].accounts, ["111111111111", "222222222222"]);
        let chat: Value =
            serde_json::from_str(parts(&alerts[0])["https"].as_str().unwrap()).unwrap();
        let description = chat["content"]["description"].as_str().unwrap();
        assert!(
            description.starts_with("**Account `111111111111` (`payments`)**"),
            "{description}"
        );
        assert!(
            description.contains("**Account `222222222222` (`data\\u{a}forged`)**"),
            "{description}"
        );
    }

    #[test]
    fn singular_subject() {
        let alerts = render_alerts(
            "1",
            at(),
            only(&[conn(1, "ERROR", "us-east-1")]),
            SNS_MAX_PUBLISH_BYTES,
        );
        assert_eq!(
            alerts[0].subject,
            "1 CodeStar connection needs attention (1 ERROR)"
        );
    }

    #[test]
    fn subject_is_printable_ascii_within_100_characters() {
        let weird: Vec<Connection> = [
            "PENDING",
            "ERROR",
            "AVAILABLE",
            "BRAND_NEW_STATÜS\n",
            "X".repeat(80).as_str(),
        ]
        .iter()
        .enumerate()
        .map(|(i, s)| conn(i, s, "us-east-1"))
        .collect();
        let alerts = render_alerts("1", at(), only(&weird), SNS_MAX_PUBLISH_BYTES);
        let subject = &alerts[0].subject;
        assert!(subject.len() <= SUBJECT_MAX_CHARS, "{subject}");
        assert!(
            subject.chars().all(|c| c.is_ascii_graphic() || c == ' '),
            "{subject}"
        );
    }

    #[test]
    fn a_large_run_is_split_into_complete_messages_under_the_limit() {
        let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
        let stuck: Vec<Connection> = (0..4250)
            .map(|i| {
                conn(
                    i,
                    if i % 3 == 0 { "ERROR" } else { "PENDING" },
                    regions[i % 3],
                )
            })
            .collect();
        let alerts = render_alerts("123456789012", at(), only(&stuck), SNS_MAX_PUBLISH_BYTES);
        assert!(alerts.len() > 1);

        let mut seen = Vec::new();
        for (i, alert) in alerts.iter().enumerate() {
            assert!(
                alert.publish_size() <= SNS_MAX_PUBLISH_BYTES,
                "part {i}: {}",
                alert.publish_size()
            );
            assert!(alert
                .subject
                .ends_with(&format!("[part {}/{}]", i + 1, alerts.len())));
            assert!(alert.subject.len() <= SUBJECT_MAX_CHARS);
            let doc: Value = serde_json::from_str(parts(alert)["sqs"].as_str().unwrap()).unwrap();
            let connections: Vec<Connection> =
                serde_json::from_value(doc["connections"].clone()).unwrap();
            assert_eq!(alert.count, connections.len());
            seen.extend(connections);
        }
        assert_eq!(seen, stuck, "every connection exactly once, in order");
    }

    #[test]
    fn split_respects_a_small_budget_exactly() {
        let stateless: Vec<Connection> = (0..40).map(|i| conn(i, "PENDING", "us-east-1")).collect();
        // With a state table every message may carry all three section headings.
        let states = [AlertState::New, AlertState::Ongoing, AlertState::Resolved];
        let with_states: Vec<Connection> = (0..40)
            .map(|i| Connection {
                lifecycle: crate::watched::Lifecycle {
                    state: Some(states[i % 3]),
                    first_seen: Some(at()),
                },
                ..conn(i, "PENDING", "us-east-1")
            })
            .collect();
        for connections in [stateless, with_states] {
            for budget in [5_000, 8_000, 12_000, 30_000] {
                let alerts = render_alerts("123456789012", at(), only(&connections), budget);
                assert!(alerts.len() > 1);
                assert!(alerts.iter().all(|a| a.publish_size() <= budget));
                assert_eq!(alerts.iter().map(|a| a.count).sum::<usize>(), 40);
            }
        }
    }
}
