//! The chat view of an alert: an AWS Chatbot (Amazon Q Developer in chat
//! applications) custom notification, the only kind of message besides AWS
//! events that a Slack or Teams channel subscribed to the topic shows
//! ("Custom notifications", Chatbot administrator guide; anything else is
//! dropped as "Event received is not supported", aws-amplify/amplify-hosting#943).
//! Pure: no I/O.

use super::batch::{resource_arn, title, Batch, Frame, Item};
use super::coverage::{none_of, not_searched, regions, searched};
use super::escape::shown;
use crate::domain::consumer::{Consumer, Coverage, Outcome};
use crate::domain::denied::DENIED;
use crate::domain::git_sync::{BLOCKED, FAILED, REPOSITORY_SYNC_FAILED};
use crate::domain::watched::{AlertState, Kind};
use chrono::SecondsFormat;
use serde::Serialize;
use std::collections::BTreeMap;

/// The description is cut below this many characters with "and N more". The
/// guide documents no length; this keeps a notification within one chat
/// message on both platforms (Slack shows about 4,000 characters of a
/// message's text before it folds it).
pub const DESCRIPTION_MAX_CHARS: usize = 3_500;
/// At most this many keywords and related resources.
pub const MAX_KEYWORDS: usize = 10;
pub const MAX_RELATED_RESOURCES: usize = 10;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    version: &'static str,
    source: &'static str,
    id: String,
    content: Content,
    metadata: Metadata,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    text_type: &'static str,
    title: String,
    description: String,
    next_steps: Vec<String>,
    keywords: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    thread_id: String,
    summary: String,
    event_type: &'static str,
    related_resources: Vec<String>,
    additional_context: BTreeMap<&'static str, String>,
}

/// The custom notification for one message of an alert. `title` is the
/// message's subject.
pub fn notification(
    frame: &Frame<'_>,
    batch: Batch<'_>,
    title: &str,
    part: Option<(usize, usize)>,
) -> String {
    let Frame {
        account,
        generated_at,
        ignore_tag,
        ..
    } = *frame;
    let generated = generated_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut context = BTreeMap::from([
        ("account", account.to_string()),
        ("generatedAt", generated.clone()),
        ("count", batch.len().to_string()),
    ]);
    if let Some((i, n)) = part {
        context.insert("part", format!("{i}/{n}"));
    }
    let notification = Notification {
        version: "1.0",
        source: "custom",
        id: format!(
            "connection-watch-{account}-{generated}-{}",
            part.map_or(1, |(i, _)| i)
        ),
        content: Content {
            text_type: "client-markdown",
            title: title.to_string(),
            description: description(batch),
            next_steps: next_steps(batch, ignore_tag),
            keywords: keywords(batch),
        },
        metadata: Metadata {
            // One thread per account: updates and RESOLVED notices follow the first alert.
            thread_id: format!("connection-watch-{account}"),
            summary: title.to_string(),
            event_type: "ConnectionWatchAlert",
            related_resources: batch
                .items()
                .map(|i| resource_arn(i).to_string())
                .take(MAX_RELATED_RESOURCES)
                .collect(),
            additional_context: context,
        },
    };
    serde_json::to_string(&notification).expect("the notification is plain data")
}

/// One markdown line per connection or host, grouped as the email is: by
/// account, then kind, then lifecycle state; cut with "and N more".
fn description(batch: Batch<'_>) -> String {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    // Organization-wide, with several accounts: one group each, under its heading.
    let accounts = batch.account_groups();
    let grouped = accounts.len() > 1;
    for group in &accounts {
        if grouped && !group.id.is_empty() {
            let name = group.account.and_then(|(_, name)| name);
            groups.push((
                format!("**Account {}**", account(&group.id, name)),
                Vec::new(),
            ));
        }
        let mixed = group.mixed();
        for kind in &group.kinds {
            let lines = kind.items.iter().map(|i| line(*i)).collect();
            state_groups(&mut groups, mixed.then(|| title(kind.kind)), lines);
        }
    }

    let total: usize = groups.iter().map(|(_, m)| m.len()).sum();
    let mut out = String::new();
    let mut shown_items = 0;
    'groups: for (heading, members) in groups {
        if !heading.is_empty() {
            let block = format!("{}{heading}\n", if out.is_empty() { "" } else { "\n" });
            if fits(&out, &block, total - shown_items) {
                out += &block;
            } else {
                break;
            }
        }
        for member in members {
            let entry = format!("{member}\n");
            if !fits(&out, &entry, total - shown_items) {
                break 'groups;
            }
            out += &entry;
            shown_items += 1;
        }
    }
    if shown_items < total {
        out += &more(total - shown_items);
    }
    out.trim_end().to_string()
}

/// One kind's lines by lifecycle state, each state under a heading (the
/// kind's `title` too when several kinds are present).
fn state_groups(
    groups: &mut Vec<(String, Vec<String>)>,
    title: Option<&str>,
    lines: Vec<(Option<AlertState>, String)>,
) {
    for (state, heading) in [
        (None, ""),
        (Some(AlertState::New), "New"),
        (Some(AlertState::Ongoing), "Still stuck"),
        (Some(AlertState::Resolved), "Resolved"),
    ] {
        let members: Vec<String> = lines
            .iter()
            .filter(|(s, _)| *s == state)
            .map(|(_, line)| line.clone())
            .collect();
        if members.is_empty() {
            continue;
        }
        let heading = match (title, heading) {
            (None, "") => String::new(),
            (None, h) => format!("**{h}**"),
            (Some(kind), "") => format!("**{kind}**"),
            (Some(kind), h) => format!("**{kind}: {h}**"),
        };
        groups.push((heading, members));
    }
}

/// Whether `add` fits with room left for the "and N more" line.
fn fits(out: &str, add: &str, left: usize) -> bool {
    out.chars().count() + add.chars().count() + more(left).chars().count() <= DESCRIPTION_MAX_CHARS
}

fn more(n: usize) -> String {
    format!("_…and {n} more: see the e-mail or the SQS message_\n")
}

/// `• `name` PENDING · GitHub · us-east-1 · [Open](url)`
fn line(item: &dyn Item) -> (Option<AlertState>, String) {
    let status = if item.is_resolved() {
        format!("resolved (was {})", code(item.status()))
    } else {
        code(item.status())
    };
    let mut line = format!(
        "• {} {status} · {} · {}",
        code(item.name()),
        code(item.provider_type()),
        code(item.region())
    );
    if let Some((id, name)) = item.account() {
        line += &format!(" · account {}", account(id, name));
    }
    if !item.is_resolved() {
        line += &format!(" · [Open]({})", url(item.console_url()));
    }
    if let Some(note) = note(item) {
        line += &format!(" · {note}");
    }
    if let Some(used_by) = item.facts().used_by {
        let facts = item.facts();
        let more = facts.used_by_more;
        let coverage = facts.used_by_coverage;
        line += &format!(" · {}", breaks(item.is_resolved(), used_by, more, coverage));
    }
    for r in item.facts().recovery {
        let verb = match r.outcome {
            Outcome::Retried { .. } | Outcome::Started { .. } => "restarted",
            Outcome::Failed { .. } => "could not restart",
            Outcome::NotRestarted { .. } => "left alone",
        };
        line += &format!(
            " · {verb} pipeline {} ({})",
            code(&r.pipeline),
            code(&r.region)
        );
    }
    if let Some(note) = item.facts().recovery_note {
        line += &format!(" · {}", shown(note));
    }
    if let Some(f) = item.facts().access.filter(|_| !item.is_resolved()) {
        let denied: Vec<&str> = f
            .actions
            .iter()
            .filter(|v| v.denied())
            .map(|v| v.action.as_str())
            .collect();
        line += &format!(
            " · {} role {} denied {}",
            f.consumer.kind.label(),
            code(&f.role),
            code(&denied.join(", "))
        );
        if f.other_prefix_allowed {
            line += " (the service prefix rename)";
        }
    }
    (item.state(), line)
}

/// The most consumers a chat line links; the e-mail names more.
const MAX_CONSUMERS_LINKED: usize = 3;

/// `breaks [pipeline `payments-deploy`](url) (`us-east-1`), ... and N more`;
/// when nothing was found, what was searched, and whether that was all.
fn breaks(
    resolved: bool,
    used_by: &[Consumer],
    more: usize,
    coverage: Option<&Coverage>,
) -> String {
    if used_by.is_empty() {
        return match coverage {
            Some(c) if c.is_complete() => format!(
                "used by {} in {} (a candidate for deletion)",
                none_of(c),
                regions(c.regions)
            ),
            Some(c) if c.regions == 0 => {
                format!(
                    "what it breaks is unknown (not searched: {})",
                    not_searched(c).join("; ")
                )
            }
            Some(c) => format!(
                "nothing found among {} (not searched: {})",
                searched(c),
                not_searched(c).join("; ")
            ),
            None => "nothing found".into(),
        };
    }
    let linked: Vec<String> = used_by
        .iter()
        .take(MAX_CONSUMERS_LINKED)
        .map(|c| {
            let failed = if c.last_sync.as_ref().is_some_and(|s| s.failed()) {
                ", last sync FAILED"
            } else {
                ""
            };
            format!(
                "[{} {}]({}) ({}{failed})",
                c.kind.label(),
                code(&c.name),
                url(&c.console_url),
                code(&c.region)
            )
        })
        .collect();
    let more = used_by.len().saturating_sub(MAX_CONSUMERS_LINKED) + more;
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let verb = if resolved { "used by" } else { "breaks" };
    format!("{verb} {}{more}", linked.join(", "))
}

/// What a line says besides the common fields: a connection's host that
/// is not AVAILABLE, a host's reason, a synced stack's branch, its
/// connection that is not AVAILABLE, its blocker or its failed repository
/// sync's latest event.
fn note(item: &dyn Item) -> Option<String> {
    let facts = item.facts();
    let host = facts
        .host_status
        .map(|s| format!("its host is {}: set it up first", code(s)));
    let sync = facts.repository.map(|(repository, branch)| {
        let mut note = format!("{}@{}", code(repository), code(branch));
        if let Some(status) = facts.connection_status {
            note += &format!(" · its connection is {}: repair it first", code(status));
        }
        if let Some(b) = facts.blockers.first() {
            note += &format!(" · blocked: {}", code(&b.created_reason));
        } else if let Some(e) = facts.repository_sync.and_then(|r| r.events.last()) {
            note += &format!(" · repository sync: {}", code(&e.event));
        }
        note
    });
    host.or(sync).or_else(|| facts.reason.map(code))
}

/// An account as inline code, with its name.
fn account(id: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{} ({})", code(id), code(name)),
        None => code(id),
    }
}

/// An AWS-supplied value as inline code: no markdown, link or mention is
/// formed inside it. Control, separator and bidi characters are escaped
/// (`text::shown`), and a backtick, which would end the span, becomes ˋ.
pub fn code(value: &str) -> String {
    let value: String = shown(value).replace('`', "ˋ").chars().take(200).collect();
    if value.is_empty() {
        "`-`".into()
    } else {
        format!("`{value}`")
    }
}

/// A console link made safe inside `(...)` of a markdown link: every byte
/// outside the URL characters it needs is percent-encoded.
fn url(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:/?#=&%+".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What to do, for each kind and status present that is not resolved:
/// hosts first, since no connection through a broken host can work, and
/// synced stacks last, since their repository links need the connections.
fn next_steps(batch: Batch<'_>, ignore_tag: &str) -> Vec<String> {
    // (kind, a status, whether the step is for that status or the others).
    let open = |kind: Kind, status: &str, is: bool| {
        batch
            .items()
            .any(|i| i.kind() == kind && !i.is_resolved() && (i.status() == status) == is)
    };
    let steps = [
        (Kind::Host, "PENDING", true, "Set up each PENDING host: open its link, choose Set up host, and register the provider's app on the host."),
        (Kind::Host, "PENDING", false, "Repair each failed host: check its VPC, subnets, security groups and TLS certificate, or recreate it."),
        (Kind::Connection, "PENDING", true, "Complete each PENDING connection's handshake: open its link, choose Update pending connection, and authorize the provider's app."),
        (Kind::Connection, "PENDING", false, "Reinstall or reauthorize the provider's app for each ERROR connection, then update the connection."),
        (Kind::GitSync, BLOCKED, true, "Fix each BLOCKED stack (its Git sync tab shows why the sync failed), then resolve its blocker there or with aws codeconnections update-sync-blocker."),
        (Kind::GitSync, REPOSITORY_SYNC_FAILED, true, "Fix what each failed repository sync's events name (its connection, the deployment file, the branch), then push a commit."),
        (Kind::GitSync, FAILED, true, "Fix each stack whose sync FAILED, then push a commit or choose Retry latest commit in its Git sync tab."),
        (Kind::Access, DENIED, true, "Add the statement shown in the e-mail to each DENIED consumer's role (for the prefix rename, the codeconnections actions on the codeconnections ARN), then run it again."),
    ];
    let mut steps: Vec<String> = steps
        .into_iter()
        .filter(|(kind, status, is, _)| open(*kind, status, *is))
        .map(|(_, _, _, step)| step.to_string())
        .collect();
    // A denied consumer is found by simulation, not listed with tags.
    let taggable = batch
        .items()
        .any(|i| i.kind() != Kind::Access && !i.is_resolved());
    if steps.is_empty() {
        steps.push("Nothing to do: everything listed is resolved.".to_string());
    } else if taggable {
        steps.push(format!(
            "To silence one on purpose, tag it {}=true.",
            shown(ignore_tag)
        ));
    }
    steps
}

/// Statuses and regions, each once.
fn keywords(batch: Batch<'_>) -> Vec<String> {
    let mut keywords: Vec<String> = Vec::new();
    for value in batch.items().flat_map(|i| [i.status(), i.region()]) {
        let value: String = shown(value).chars().take(50).collect();
        if !value.is_empty() && !keywords.contains(&value) {
            keywords.push(value);
        }
    }
    keywords.truncate(MAX_KEYWORDS);
    keywords
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::arn::ResourceArn;
    use crate::domain::connection::Connection;
    use crate::domain::watched::Lifecycle;
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    fn conn(i: usize, name: &str, status: &str, state: Option<AlertState>) -> Connection {
        let arn = format!("arn:aws:codestar-connections:us-east-1:123456789012:connection/{i:08}");
        Connection {
            name: name.into(),
            console_url: ResourceArn::parse(&arn).unwrap().console_url(),
            arn,
            status: status.into(),
            provider_type: "GitHub".into(),
            region: "us-east-1".into(),
            lifecycle: Lifecycle {
                state,
                first_seen: None,
                last_alerted: None,
            },
            ..Connection::default()
        }
    }

    fn render(connections: &[Connection]) -> Value {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap();
        let stuck = Batch {
            connections,
            hosts: &[],
            syncs: &[],
            access: &[],
        };
        serde_json::from_str(&notification(
            &Frame {
                account: "123456789012",
                generated_at: at,
                ignore_tag: "team:mute",
                unread: &[],
            },
            stuck,
            "title",
            None,
        ))
        .unwrap()
    }

    #[test]
    fn hostile_names_cannot_format_link_or_mention() {
        let doc = render(&[conn(
            1,
            "`<!here>` **x** [a](https://ev.il)\n@channel",
            "PENDING",
            None,
        )]);
        let description = doc["content"]["description"].as_str().unwrap();
        assert_eq!(description.lines().count(), 1, "{description}");
        assert!(
            description.starts_with("• `ˋ<!here>ˋ **x** [a](https://ev.il)\\u{a}@channel` "),
            "{description}"
        );
        assert_eq!(doc["metadata"]["threadId"], "connection-watch-123456789012");
    }

    #[test]
    fn links_cannot_break_out_of_their_parentheses() {
        assert_eq!(
            url("https://x/hosts/a)b [c]é?region=us-east-1"),
            "https://x/hosts/a%29b%20%5Bc%5D%C3%A9?region=us-east-1"
        );
    }

    #[test]
    fn a_long_alert_is_cut_with_how_many_more() {
        let many: Vec<Connection> = (0..500)
            .map(|i| conn(i, &format!("conn-{i}"), "PENDING", None))
            .collect();
        let doc = render(&many);
        let description = doc["content"]["description"].as_str().unwrap();
        assert!(description.chars().count() <= DESCRIPTION_MAX_CHARS);
        let listed = description.lines().filter(|l| l.starts_with('•')).count();
        assert!(
            description.ends_with(&format!(
                "…and {} more: see the e-mail or the SQS message_",
                500 - listed
            )),
            "{description}"
        );
    }

    #[test]
    fn sections_follow_the_lifecycle_and_next_steps_the_statuses() {
        let doc = render(&[
            conn(1, "a", "PENDING", Some(AlertState::New)),
            conn(2, "b", "ERROR", Some(AlertState::Ongoing)),
            conn(3, "c", "PENDING", Some(AlertState::Resolved)),
        ]);
        let description = doc["content"]["description"].as_str().unwrap();
        let (new, ongoing, resolved) = (
            description.find("**New**").unwrap(),
            description.find("**Still stuck**").unwrap(),
            description.find("**Resolved**").unwrap(),
        );
        assert!(new < ongoing && ongoing < resolved, "{description}");
        assert!(
            description.contains("`c` resolved (was `PENDING`)"),
            "{description}"
        );
        let steps = doc["content"]["nextSteps"].to_string();
        assert!(steps.contains("Update pending connection") && steps.contains("ERROR connection"));
        assert!(
            steps.contains("tag it team:mute=true"),
            "IGNORE_TAG's key: {steps}"
        );
        assert_eq!(
            doc["content"]["keywords"],
            serde_json::json!(["PENDING", "us-east-1", "ERROR"])
        );
    }
}
