//! Renders the SNS alert for a set of stuck connections: subject, per-protocol
//! message, message attributes, and the split over several messages when one
//! would exceed SNS's size limit. Pure: no I/O.

use crate::connection::{AlertState, Connection};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// SNS's limit for one publish: message, subject and attributes together.
pub const SNS_MAX_PUBLISH_BYTES: usize = 262_144;
/// SNS's limit for a subject.
pub const SUBJECT_MAX_CHARS: usize = 100;

/// One `Publish` call's worth of alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertMessage {
    pub subject: String,
    /// The `MessageStructure: json` document: one entry per protocol.
    pub message: String,
    pub statuses: Vec<String>,
    pub regions: Vec<String>,
    /// Lifecycle states present (`new`, `ongoing`, `resolved`); empty without a state table.
    pub states: Vec<String>,
    pub count: usize,
}

impl AlertMessage {
    /// What SNS counts against its limit, attribute names and types included.
    pub fn publish_size(&self) -> usize {
        let array_len = |items: &[String]| serde_json::to_string(items).map_or(0, |s| s.len());
        self.message.len()
            + self.subject.len()
            + "statuses".len()
            + "String.Array".len()
            + array_len(&self.statuses)
            + "regions".len()
            + "String.Array".len()
            + array_len(&self.regions)
            + "states".len()
            + "String.Array".len()
            + array_len(&self.states)
            + "count".len()
            + "Number".len()
            + self.count.to_string().len()
    }
}

/// The document subscribers that parse (`sqs`, `lambda`, `https`) receive.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertDocument<'a> {
    version: u32,
    account: &'a str,
    generated_at: String,
    connections: &'a [Connection],
}

#[derive(Serialize)]
struct ProtocolMessages<'a> {
    default: &'a str,
    email: &'a str,
    sqs: &'a str,
    lambda: &'a str,
    https: &'a str,
}

/// Renders the alert for `connections`, in as few messages as fit SNS's limit
/// (`budget` bytes each). Empty input renders nothing.
pub fn render_alerts(
    account: &str,
    generated_at: DateTime<Utc>,
    connections: &[Connection],
    budget: usize,
) -> Vec<AlertMessage> {
    let chunks = split(account, generated_at, connections, budget);
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

/// Greedy packing by each connection's share of a rendered message. A
/// connection appears twice as text and three times as JSON, each escaped once
/// more inside the outer document; the slack covers separators.
fn split<'c>(
    account: &str,
    generated_at: DateTime<Utc>,
    connections: &'c [Connection],
    budget: usize,
) -> Vec<&'c [Connection]> {
    const SLACK_PER_CONNECTION: usize = 32;
    if connections.is_empty() {
        return Vec::new();
    }
    // The frame: a one-connection message (header, intro, a section heading)
    // with the largest part marker, attributes and headings any chunk can
    // have. It counts its connection once more than needed: on the safe side.
    let frame = render_one(
        account,
        generated_at,
        &connections[..1],
        Some((connections.len(), connections.len())),
    )
    .publish_size()
        + serde_json::to_string(&distinct(connections, |c| &c.region)).map_or(0, |s| s.len())
        + serde_json::to_string(&distinct(connections, |c| &c.status)).map_or(0, |s| s.len())
        + serde_json::to_string(&states(connections)).map_or(0, |s| s.len())
        + 64;
    let cost = |c: &Connection| {
        let text = escaped_len(&text_block(c, generated_at));
        let json = serde_json::to_string(c).map_or(0, |s| escaped_len(&s));
        2 * text + 3 * json + SLACK_PER_CONNECTION
    };

    let mut chunks = Vec::new();
    let mut start = 0;
    let mut used = frame;
    for (i, c) in connections.iter().enumerate() {
        let size = cost(c);
        if i > start && used + size > budget {
            chunks.push(&connections[start..i]);
            start = i;
            used = frame;
        }
        used += size;
    }
    chunks.push(&connections[start..]);
    chunks
}

fn render_one(
    account: &str,
    generated_at: DateTime<Utc>,
    connections: &[Connection],
    part: Option<(usize, usize)>,
) -> AlertMessage {
    let summary = summary(connections);
    let subject = subject(&summary, part);
    let text = text(account, generated_at, connections, &summary, part);
    let document = serde_json::to_string(&AlertDocument {
        version: 1,
        account,
        generated_at: generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        connections,
    })
    .expect("the alert document is plain data");
    let message = serde_json::to_string(&ProtocolMessages {
        default: &text,
        email: &text,
        sqs: &document,
        lambda: &document,
        https: &document,
    })
    .expect("the protocol map is plain data");
    AlertMessage {
        subject,
        message,
        statuses: distinct(connections, |c| &c.status),
        regions: distinct(connections, |c| &c.region),
        states: states(connections),
        count: connections.len(),
    }
}

/// `3 CodeStar connections need attention (2 PENDING, 1 ERROR)`, with
/// `, 2 resolved` or as `2 CodeStar connections resolved` under a state table.
fn summary(connections: &[Connection]) -> String {
    let resolved = connections.iter().filter(|c| is_resolved(c)).count();
    let stuck: Vec<&Connection> = connections.iter().filter(|c| !is_resolved(c)).collect();
    let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    if stuck.is_empty() {
        return format!(
            "{resolved} CodeStar {} resolved",
            plural(resolved, "connection", "connections")
        );
    }
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &stuck {
        *by_status.entry(c.status.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = by_status.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let n = stuck.len();
    let mut summary = format!(
        "{n} CodeStar {} attention ({})",
        plural(n, "connection needs", "connections need"),
        counts.join(", ")
    );
    if resolved > 0 {
        summary += &format!(", {resolved} resolved");
    }
    summary
}

fn is_resolved(c: &Connection) -> bool {
    c.state == Some(AlertState::Resolved)
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

fn text(
    account: &str,
    generated_at: DateTime<Utc>,
    connections: &[Connection],
    summary: &str,
    part: Option<(usize, usize)>,
) -> String {
    let mut out = format!("{summary} in account {account}.\n");
    if let Some((i, n)) = part {
        out += &format!("This is part {i} of {n} of this alert.\n");
    }
    if connections.iter().any(|c| !is_resolved(c)) {
        out += "\nA PENDING connection waits for a person to complete the handshake with its provider; \
an ERROR connection has lost its app installation or authorization. \
Pipelines that use either cannot reach their source. \
Open each link to complete or update the connection.\n";
    }
    // Without a state table every connection is in the first section, unheaded.
    let sections = [
        (None, ""),
        (Some(AlertState::New), "NEW"),
        (Some(AlertState::Ongoing), "STILL STUCK"),
        (Some(AlertState::Resolved), "RESOLVED"),
    ];
    for (state, heading) in sections {
        let members: Vec<&Connection> = connections.iter().filter(|c| c.state == state).collect();
        if members.is_empty() {
            continue;
        }
        out.push('\n');
        if !heading.is_empty() {
            out += &format!("{heading}\n\n");
        }
        for c in members {
            out += &text_block(c, generated_at);
            out.push('\n');
        }
    }
    out += &format!(
        "-- connection-watch, {}\n",
        generated_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    out
}

fn text_block(c: &Connection, now: DateTime<Utc>) -> String {
    let status = if is_resolved(c) {
        format!("RESOLVED (was {})", c.status)
    } else {
        c.status.clone()
    };
    let mut block = format!(
        "{name} - {status}\n  Provider: {provider}\n  Region:   {region}\n  ARN:      {arn}\n",
        name = c.name,
        provider = c.provider_type,
        region = c.region,
        arn = c.arn,
    );
    if let Some(host) = &c.host_arn {
        block += &format!("  Host:     {host}\n");
    }
    if let Some(first_seen) = c.first_seen {
        block += &format!(
            "  Since:    {} ({})\n",
            first_seen.to_rfc3339_opts(SecondsFormat::Secs, true),
            elapsed(now - first_seen)
        );
    }
    if !is_resolved(c) {
        block += &format!("  Open:     {}\n", c.console_url);
    }
    block
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

fn states(connections: &[Connection]) -> Vec<String> {
    let mut states: Vec<AlertState> = connections.iter().filter_map(|c| c.state).collect();
    states.sort();
    states.dedup();
    states.iter().map(|s| s.as_str().to_string()).collect()
}

/// The length of `s` once escaped as a JSON string, quotes excluded.
fn escaped_len(s: &str) -> usize {
    serde_json::to_string(s).map_or(s.len(), |e| e.len() - 2)
}

/// Distinct values in first-seen order.
fn distinct(connections: &[Connection], field: impl Fn(&Connection) -> &String) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for c in connections {
        let value = field(c);
        if !seen.contains(value) {
            seen.push(value.clone());
        }
    }
    seen
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

    fn parts(alert: &AlertMessage) -> Value {
        serde_json::from_str(&alert.message).unwrap()
    }

    #[test]
    fn nothing_stuck_renders_nothing() {
        assert!(render_alerts("123456789012", at(), &[], SNS_MAX_PUBLISH_BYTES).is_empty());
    }

    #[test]
    fn one_message_with_every_protocol() {
        let stuck = [
            conn(1, "PENDING", "us-east-1"),
            conn(2, "ERROR", "eu-west-1"),
            conn(3, "PENDING", "us-east-1"),
        ];
        let alerts = render_alerts("123456789012", at(), &stuck, SNS_MAX_PUBLISH_BYTES);
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
        for protocol in ["sqs", "lambda", "https"] {
            let doc: Value = serde_json::from_str(parts[protocol].as_str().unwrap()).unwrap();
            assert_eq!(doc["version"], 1);
            assert_eq!(doc["account"], "123456789012");
            assert_eq!(doc["generatedAt"], "2026-11-25T08:00:00Z");
            let back: Vec<Connection> = serde_json::from_value(doc["connections"].clone()).unwrap();
            assert_eq!(back, stuck);
        }
    }

    #[test]
    fn lifecycle_states_are_rendered_and_counted() {
        let mut new = conn(1, "PENDING", "us-east-1");
        new.state = Some(AlertState::New);
        new.first_seen = Some(at());
        let mut ongoing = conn(2, "ERROR", "us-east-1");
        ongoing.state = Some(AlertState::Ongoing);
        ongoing.first_seen = Some(at() - chrono::Duration::hours(76));
        let mut resolved = conn(3, "PENDING", "eu-west-1");
        resolved.state = Some(AlertState::Resolved);
        resolved.first_seen = Some(at() - chrono::Duration::hours(5));

        let alerts = render_alerts(
            "1",
            at(),
            &[new, ongoing, resolved.clone()],
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

        let only_resolved = render_alerts("1", at(), &[resolved], SNS_MAX_PUBLISH_BYTES);
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
            &[conn(1, "ERROR", "us-east-1")],
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
    fn singular_subject() {
        let alerts = render_alerts(
            "1",
            at(),
            &[conn(1, "ERROR", "us-east-1")],
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
        let alerts = render_alerts("1", at(), &weird, SNS_MAX_PUBLISH_BYTES);
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
        let alerts = render_alerts("123456789012", at(), &stuck, SNS_MAX_PUBLISH_BYTES);
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
                state: Some(states[i % 3]),
                first_seen: Some(at()),
                ..conn(i, "PENDING", "us-east-1")
            })
            .collect();
        for connections in [stateless, with_states] {
            for budget in [5_000, 8_000, 12_000, 30_000] {
                let alerts = render_alerts("123456789012", at(), &connections, budget);
                assert!(alerts.len() > 1);
                assert!(alerts.iter().all(|a| a.publish_size() <= budget));
                assert_eq!(alerts.iter().map(|a| a.count).sum::<usize>(), 40);
            }
        }
    }
}
