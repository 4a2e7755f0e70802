//! One alert as SNS `Publish` calls: the subject, the per-protocol message
//! (`MessageStructure: json`), and the split over
//! several messages when one would exceed SNS's size limit. Pure: no I/O.

use super::batch::{Batch, Frame, Item};
use super::chat;
use super::json::document;
use super::text::{account_heading, block, summary, text};
use serde::Serialize;

/// SNS's limit for one publish: message and subject together.
pub const SNS_MAX_PUBLISH_BYTES: usize = 262_144;
/// The longest subject SNS takes: "less than 100 characters long" (API
/// reference, Publish, `Subject`; the same words in botocore's SNS model).
/// A longer one makes SNS refuse the whole publish.
pub const SUBJECT_MAX_CHARS: usize = 99;

/// One `Publish` call's worth of alert. No message attributes: SNS delivers
/// them only when the message structure is String, not JSON (SNS Developer
/// Guide, "Amazon SNS message attributes"; boto/boto3#1513), so machines
/// filter on the EventBridge events instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertMessage {
    pub subject: String,
    /// The per-protocol messages, as `MessageStructure: json` takes them.
    pub message: String,
}

impl AlertMessage {
    /// The text email subscribers get.
    pub fn email_text(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.message)
            .ok()
            .and_then(|m| m["email"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// What SNS counts against its limit.
    pub fn publish_size(&self) -> usize {
        self.message.len() + self.subject.len()
    }
}

#[derive(Serialize)]
struct ProtocolMessages<'a> {
    default: &'a str,
    email: &'a str,
    sqs: &'a str,
    lambda: &'a str,
    https: &'a str,
}

/// Renders the alert, in as few messages as fit SNS's limit (`budget` bytes
/// each). Nothing stuck renders nothing.
pub fn render_alerts(frame: &Frame<'_>, batch: Batch<'_>, budget: usize) -> Vec<AlertMessage> {
    let chunks = split(frame, batch, budget);
    let parts = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let part = (parts > 1).then_some((i + 1, parts));
            render_one(frame, chunk, part)
        })
        .collect()
}

/// Greedy packing by each object's share of a rendered message, in the
/// order of `Batch::items`. An object appears twice as text and three times
/// as JSON, each escaped once more inside the outer document; the slack
/// covers separators.
fn split<'c>(frame: &Frame<'_>, batch: Batch<'c>, budget: usize) -> Vec<Batch<'c>> {
    const SLACK_PER_OBJECT: usize = 32;
    if batch.is_empty() {
        return Vec::new();
    }
    // The shell: a message of one object of each kind (header, intros,
    // headings) with the largest part marker. It counts its objects once
    // more than needed: on the safe side.
    let shell =
        render_one(frame, batch.sample(), Some((batch.len(), batch.len()))).publish_size() + 64;
    // An object may open its account's group: its heading counts too.
    let cost = |item: &dyn Item| {
        2 * escaped_len(&(account_heading(item.account()) + &block(item, frame.generated_at)))
            + 3 * escaped_len(&item.json())
            + SLACK_PER_OBJECT
    };

    let mut cuts = vec![0];
    let mut used = shell;
    for (i, size) in batch.items().map(cost).enumerate() {
        if i > *cuts.last().expect("starts at 0") && used + size > budget {
            cuts.push(i);
            used = shell;
        }
        used += size;
    }
    cuts.push(batch.len());
    cuts.windows(2).map(|w| batch.range(w[0], w[1])).collect()
}

fn render_one(frame: &Frame<'_>, batch: Batch<'_>, part: Option<(usize, usize)>) -> AlertMessage {
    let Frame {
        account,
        generated_at,
        ..
    } = *frame;
    let summary = summary(batch);
    let subject = subject(&summary, part);
    let text = text(account, generated_at, batch, &summary, part);
    let document = document(frame, batch);
    let chat = chat::notification(frame, batch, &subject, part);
    let message = serde_json::to_string(&ProtocolMessages {
        default: &text,
        email: &text,
        sqs: &document,
        lambda: &document,
        https: &chat,
    })
    .expect("the protocol map is plain data");
    AlertMessage { subject, message }
}

fn subject(summary: &str, part: Option<(usize, usize)>) -> String {
    let suffix = part.map_or(String::new(), |(i, n)| format!(" [part {i}/{n}]"));
    // SNS rejects control characters in subjects; ASCII keeps every
    // character one byte, so the cut below lands on a character.
    let mut clean: String = summary
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let room = SUBJECT_MAX_CHARS - suffix.len();
    if clean.len() > room {
        clean.truncate(room - "...".len());
        clean += "...";
    }
    clean + &suffix
}

/// The length of `s` once escaped as a JSON string, quotes excluded.
fn escaped_len(s: &str) -> usize {
    serde_json::to_string(s).map_or(s.len(), |e| e.len() - 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::connection::Connection;
    use crate::domain::watched::{AlertState, DEFAULT_IGNORE_TAG};
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::Value;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
    }

    fn frame(account: &str) -> Frame<'_> {
        Frame {
            account,
            generated_at: at(),
            ignore_tag: DEFAULT_IGNORE_TAG,
            unread: &[],
        }
    }

    fn conn(i: usize, status: &str, region: &str) -> Connection {
        let arn = format!("arn:aws:codestar-connections:{region}:123456789012:connection/{i:08}-0000-4000-8000-000000000000");
        Connection {
            name: format!("conn-{i}"),
            console_url: crate::domain::arn::ResourceArn::parse(&arn)
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

    fn only(connections: &[Connection]) -> Batch<'_> {
        Batch {
            connections,
            hosts: &[],
            syncs: &[],
            access: &[],
        }
    }

    fn parts(alert: &AlertMessage) -> Value {
        serde_json::from_str(&alert.message).unwrap()
    }

    #[test]
    fn nothing_stuck_renders_nothing() {
        assert!(render_alerts(&frame("123456789012"), only(&[]), SNS_MAX_PUBLISH_BYTES).is_empty());
    }

    #[test]
    fn one_message_with_every_protocol() {
        let stuck = [
            conn(1, "PENDING", "us-east-1"),
            conn(2, "ERROR", "eu-west-1"),
            conn(3, "PENDING", "us-east-1"),
        ];
        let alerts = render_alerts(&frame("123456789012"), only(&stuck), SNS_MAX_PUBLISH_BYTES);
        assert_eq!(alerts.len(), 1);
        let alert = &alerts[0];
        assert_eq!(
            alert.subject,
            "3 CodeStar connections need attention (2 PENDING, 1 ERROR)"
        );

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
    fn lifecycle_states_are_rendered() {
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
            &frame("1"),
            only(&[new, ongoing, resolved.clone()]),
            SNS_MAX_PUBLISH_BYTES,
        );
        let alert = &alerts[0];
        assert_eq!(
            alert.subject,
            "2 CodeStar connections need attention (1 ERROR, 1 PENDING), 1 resolved"
        );
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

        let only_resolved = render_alerts(&frame("1"), only(&[resolved]), SNS_MAX_PUBLISH_BYTES);
        assert_eq!(only_resolved[0].subject, "1 CodeStar connection resolved");
        assert!(!email(&only_resolved[0]).contains("Open each link"));
    }

    #[test]
    fn a_blocked_stack_is_alerted_in_every_protocol_with_its_reason_escaped() {
        use crate::domain::git_sync::sample;
        let mut blocked = sample("web", "BLOCKED", "eu-west-1");
        blocked.blockers[0].created_reason = "Template error\nOpen: https://ev.il".into();
        let syncs = [blocked, sample("api", "FAILED", "eu-west-1")];
        let connections = [
            conn(1, "PENDING", "us-east-1"),
            conn(2, "ERROR", "us-east-1"),
        ];
        let batch = Batch {
            connections: &connections,
            hosts: &[],
            syncs: &syncs,
            access: &[],
        };
        let alerts = render_alerts(&frame("123456789012"), batch, SNS_MAX_PUBLISH_BYTES);
        let alert = &alerts[0];
        assert_eq!(
            alert.subject,
            "2 connections and 2 synced stacks need attention (1 BLOCKED, 1 ERROR, 1 FAILED, 1 PENDING)"
        );
        let text = email(alert);
        assert!(text.contains("\n== SYNCED STACKS ==\n"), "{text}");
        assert!(
            text.contains("web - BLOCKED\n  Provider: GitHub\n  Repo:     infra, branch main\n"),
            "{text}"
        );
        assert!(
            text.contains("  Blocked:  Template error\\u{a}Open: https://ev.il (since 2026-12-01T06:00:00Z, blocker blocker-web)\n"),
            "the reason cannot forge a line: {text}"
        );
        assert!(text.contains("update-sync-blocker --region eu-west-1 --sync-type CFN_STACK_SYNC --resource-name web --id blocker-web"), "{text}");
        assert!(
            text.contains("api - FAILED\n") && text.contains("Retry latest commit"),
            "{text}"
        );
        let doc: Value = serde_json::from_str(parts(alert)["sqs"].as_str().unwrap()).unwrap();
        let web = &doc["syncs"][0];
        assert_eq!(web["resourceName"], "web");
        assert_eq!(web["status"], "BLOCKED");
        assert_eq!(
            web["blockers"][0]["createdReason"],
            "Template error\nOpen: https://ev.il"
        );
        assert_eq!(web["latestSync"]["status"], "SUCCEEDED");
        for field in [
            "region",
            "repositoryName",
            "branch",
            "providerType",
            "connectionArn",
            "repositoryLinkArn",
            "consoleUrl",
        ] {
            assert!(web[field].is_string(), "{field}: {web}");
        }
        let chat: Value = serde_json::from_str(parts(alert)["https"].as_str().unwrap()).unwrap();
        let description = chat["content"]["description"].as_str().unwrap();
        assert!(
            description.contains("**Synced stacks**\n• `web` `BLOCKED`"),
            "{description}"
        );
        assert!(
            description
                .contains("`infra`@`main` · blocked: `Template error\\u{a}Open: https://ev.il`"),
            "{description}"
        );
        let steps = chat["content"]["nextSteps"].to_string();
        assert!(
            steps.contains("update-sync-blocker") && steps.contains("Retry latest commit"),
            "{steps}"
        );

        let host = crate::domain::host::Host::new(
            "ghe",
            "arn:aws:codestar-connections:us-east-1:123456789012:host/ghe-1",
            "PENDING",
            None,
            "GitHubEnterpriseServer",
            "https://ghe.example.com",
            "us-east-1",
        );
        let hosts = [host];
        let all = Batch {
            hosts: &hosts,
            ..batch
        };
        let three = render_alerts(&frame("1"), all, SNS_MAX_PUBLISH_BYTES);
        assert!(
            email(&three[0])
                .starts_with("2 connections, 1 host and 2 synced stacks need attention ("),
            "{}",
            email(&three[0])
        );

        let only = render_alerts(
            &frame("1"),
            Batch {
                connections: &[],
                hosts: &[],
                syncs: &syncs[..1],
                access: &[],
            },
            SNS_MAX_PUBLISH_BYTES,
        );
        assert_eq!(
            only[0].subject,
            "1 Git-synced stack needs attention (1 BLOCKED)"
        );
    }

    fn email(alert: &AlertMessage) -> String {
        parts(alert)["email"].as_str().unwrap().to_string()
    }

    #[test]
    fn stateless_alerts_carry_no_states() {
        let alerts = render_alerts(
            &frame("1"),
            only(&[conn(1, "ERROR", "us-east-1")]),
            SNS_MAX_PUBLISH_BYTES,
        );
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
        let alerts = render_alerts(&frame("999999999999"), only(&stuck), SNS_MAX_PUBLISH_BYTES);
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
        let doc: Value = serde_json::from_str(parts(&alerts[0])["sqs"].as_str().unwrap()).unwrap();
        let accounts: Vec<&str> = doc["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["account"].as_str().unwrap())
            .collect();
        assert_eq!(accounts, ["111111111111", "111111111111", "222222222222"]);
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
            &frame("1"),
            only(&[conn(1, "ERROR", "us-east-1")]),
            SNS_MAX_PUBLISH_BYTES,
        );
        assert_eq!(
            alerts[0].subject,
            "1 CodeStar connection needs attention (1 ERROR)"
        );
    }

    #[test]
    fn subject_is_printable_ascii_under_100_characters() {
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
        let alerts = render_alerts(&frame("1"), only(&weird), SNS_MAX_PUBLISH_BYTES);
        let subject = &alerts[0].subject;
        assert!(subject.len() <= SUBJECT_MAX_CHARS, "{subject}");
        assert!(
            subject.chars().all(|c| c.is_ascii_graphic() || c == ' '),
            "{subject}"
        );
    }

    #[test]
    fn subjects_stay_under_100_characters_at_the_edge() {
        // SNS: "less than 100 characters long".
        // (summary length, part, subject length, cut with "...").
        for (summary_len, part, expected, cut) in [
            (98, None, 98, false),
            (99, None, 99, false),
            (100, None, 99, true),
            (101, None, 99, true),
            (88, Some((1, 2)), 99, false),
            (89, Some((1, 2)), 99, true),
            (98, Some((12, 12)), 99, true),
        ] {
            let summary = format!(
                "{:x<1$}",
                "7 CodeStar connections need attention, 2 resolved", summary_len
            );
            let subject = subject(&summary, part);
            assert_eq!(subject.len(), expected, "{summary_len} {part:?}: {subject}");
            let suffix = part.map_or(String::new(), |(i, n)| format!(" [part {i}/{n}]"));
            assert!(subject.ends_with(&suffix), "{subject}");
            let text = &subject[..subject.len() - suffix.len()];
            assert_eq!(text.ends_with("..."), cut, "{subject}");
            assert!(summary.starts_with(text.trim_end_matches("...")));
        }
    }

    #[test]
    fn a_mixed_alert_that_made_a_100_character_subject_is_cut_below_it() {
        let statuses = ["PENDING", "ERROR"];
        let connections: Vec<Connection> = (0..10)
            .map(|i| conn(i, statuses[i % 2], "us-east-1"))
            .collect();
        let hosts: Vec<crate::domain::host::Host> = (0..10)
            .map(|i| {
                let status = ["PENDING", "VPC_CONFIG_FAILED_INITIALIZATION"][i % 2];
                crate::domain::host::Host::new(
                    &format!("h{i}"),
                    &format!("arn:aws:codestar-connections:us-east-1:123456789012:host/h{i}-0a1b"),
                    status,
                    None,
                    "GitLabSelfManaged",
                    "https://gitlab.example.com",
                    "us-east-1",
                )
            })
            .collect();
        let batch = Batch {
            connections: &connections,
            hosts: &hosts,
            syncs: &[],
            access: &[],
        };
        let summary = super::summary(batch);
        assert_eq!(summary.len(), 100, "{summary}");
        let alerts = render_alerts(&frame("1"), batch, SNS_MAX_PUBLISH_BYTES);
        assert_eq!(alerts[0].subject.len(), 99, "{}", alerts[0].subject);
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
        let alerts = render_alerts(&frame("123456789012"), only(&stuck), SNS_MAX_PUBLISH_BYTES);
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
            seen.extend(connections);
        }
        assert_eq!(seen, stuck, "every connection exactly once, in order");
    }

    /// A stuck connection used by 300 of these consumers, beside a second
    /// stuck one.
    fn shared_by(consumer: impl Fn(usize) -> crate::domain::consumer::Consumer) -> [Connection; 2] {
        use crate::domain::consumer::{used_by, Source, Uses};
        let mut shared = conn(0, "ERROR", "ap-southeast-4");
        let uses: Vec<Uses> = (0..300)
            .map(|i| Uses {
                consumer: consumer(i),
                sources: vec![Source {
                    connection: shared.arn.clone(),
                    stage: None,
                    action: None,
                    via: None,
                    grant: None,
                    full_clone_to: None,
                }],
                service_role: None,
            })
            .collect();
        let found = used_by(&shared.arn, &uses);
        shared.used_by = Some(found.listed);
        shared.used_by_more = found.more;
        [shared, conn(1, "PENDING", "us-east-1")]
    }

    #[test]
    fn a_connection_every_project_uses_still_fits_one_message_and_one_event() {
        use crate::domain::consumer::{Consumer, ConsumerKind};
        use crate::render::events::{entries, MAX_CALL_BYTES};
        // 300 CodeBuild projects on one connection, each named with the 150
        // characters AWS allows (botocore's codebuild model, ProjectName).
        let stuck = shared_by(|i| {
            let name = format!("{i:03}{}", "p".repeat(147));
            let arn = format!("arn:aws:codebuild:ap-southeast-4:123456789012:project/{name}");
            Consumer::from_arn(ConsumerKind::CodebuildProject, &arn).unwrap()
        });

        let alerts = render_alerts(&frame("123456789012"), only(&stuck), SNS_MAX_PUBLISH_BYTES);

        assert_eq!(alerts.len(), 1);
        assert!(
            alerts[0].publish_size() <= SNS_MAX_PUBLISH_BYTES,
            "{}",
            alerts[0].publish_size()
        );
        assert!(email(&alerts[0]).contains("...and 295 more"));
        let chat = parts(&alerts[0])["https"].as_str().unwrap().to_string();
        assert!(chat.contains(" and 297 more"), "{chat}");
        let doc: Value = serde_json::from_str(parts(&alerts[0])["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(
            doc["connections"][0]["usedBy"].as_array().unwrap().len(),
            50
        );
        assert_eq!(doc["connections"][0]["usedByMore"], 250);
        let events = entries(only(&stuck), at());
        assert!(events.iter().all(|e| e.size() <= MAX_CALL_BYTES));
    }

    /// The largest a listed consumer can be: a Service Catalog product with
    /// its name and its failed sync's message at the length the monitor
    /// keeps (150 characters each), each character four bytes of UTF-8.
    #[test]
    fn a_connection_every_failed_product_uses_still_fits_a_message_and_an_event() {
        use crate::domain::consumer::{Consumer, ConsumerKind, LastSync};
        use crate::render::events::{entries, MAX_CALL_BYTES};
        let stuck = shared_by(|i| {
            let arn = format!("arn:aws:catalog:ap-southeast-4:123456789012:product/prod-{i:013}");
            Consumer {
                name: format!("{i:03}{}", "\u{1d52d}".repeat(147)),
                last_sync: Some(LastSync {
                    status: "FAILED".into(),
                    at: Some("2027-01-15T08:00:00Z".into()),
                    message: Some("\u{1d52d}".repeat(150)),
                }),
                ..Consumer::from_arn(ConsumerKind::ServiceCatalogProduct, &arn).unwrap()
            }
        });

        let alerts = render_alerts(&frame("123456789012"), only(&stuck), SNS_MAX_PUBLISH_BYTES);

        // The split counts a sample object twice, so the second connection may
        // go to a message of its own; the shared one still fits one.
        assert!(
            alerts
                .iter()
                .all(|a| a.publish_size() <= SNS_MAX_PUBLISH_BYTES),
            "{:?}",
            alerts.iter().map(|a| a.publish_size()).collect::<Vec<_>>()
        );
        let events = entries(only(&stuck), at());
        assert!(events.iter().all(|e| e.size() <= MAX_CALL_BYTES));
    }

    #[test]
    fn split_respects_a_small_budget_exactly() {
        let stateless: Vec<Connection> = (0..40).map(|i| conn(i, "PENDING", "us-east-1")).collect();
        // With a state table every message may carry all three section headings.
        let states = [AlertState::New, AlertState::Ongoing, AlertState::Resolved];
        let with_states: Vec<Connection> = (0..40)
            .map(|i| Connection {
                lifecycle: crate::domain::watched::Lifecycle {
                    state: Some(states[i % 3]),
                    first_seen: Some(at()),
                    last_alerted: None,
                },
                ..conn(i, "PENDING", "us-east-1")
            })
            .collect();
        for connections in [stateless, with_states] {
            for budget in [5_000, 8_000, 12_000, 30_000] {
                let alerts = render_alerts(&frame("123456789012"), only(&connections), budget);
                assert!(alerts.len() > 1);
                assert!(alerts.iter().all(|a| a.publish_size() <= budget));
                let count = |a: &AlertMessage| {
                    let doc: Value =
                        serde_json::from_str(parts(a)["sqs"].as_str().unwrap()).unwrap();
                    doc["connections"].as_array().unwrap().len()
                };
                assert_eq!(alerts.iter().map(count).sum::<usize>(), 40);
            }
        }
    }
}
