//! Property tests for the two places that take arbitrary input: the alert
//! renderer (names, statuses and messages come from whoever created the
//! connection or host) and the custom resource's property parser (any JSON).

use chrono::{TimeZone, Utc};
use connection_watch::domain::arn::ResourceArn;
use connection_watch::domain::connection::Connection;
use connection_watch::domain::host::Host;
use connection_watch::domain::watched::{AlertState, Lifecycle, DEFAULT_IGNORE_TAG};
use connection_watch::render::batch::{Batch, Frame};
use connection_watch::render::chat::DESCRIPTION_MAX_CHARS;
use connection_watch::render::escape::{is_unsafe_in_text, shown};
use connection_watch::render::message::{render_alerts, SNS_MAX_PUBLISH_BYTES, SUBJECT_MAX_CHARS};
use connection_watch::resource::properties::{
    ConnectionProperties, LOGICAL_ID_TAG, MAX_USER_TAGS, REQUEST_ID_TAG, STACK_ID_TAG,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// Any text, weighted towards what breaks renderers: line breaks, bidi
/// overrides, separators, quotes, non-ASCII.
fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        any::<char>().prop_map(|c| c.to_string()),
        Just("\n  Open:     https://ev.il/a".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{2028}".to_string()),
        Just("\r\n".to_string()),
        Just("\"\\".to_string()),
        "[a-z0-9-]{1,8}",
    ];
    prop::collection::vec(pieces, 0..max).prop_map(|p| p.concat())
}

fn lifecycle() -> impl Strategy<Value = Lifecycle> {
    prop_oneof![
        Just(None),
        Just(Some(AlertState::New)),
        Just(Some(AlertState::Ongoing)),
        Just(Some(AlertState::Resolved)),
    ]
    .prop_map(|state| Lifecycle {
        state,
        first_seen: state.map(|_| Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()),
        last_alerted: None,
    })
}

fn connection() -> impl Strategy<Value = Connection> {
    (
        hostile_text(6),
        prop_oneof![
            Just("PENDING".to_string()),
            Just("ERROR".to_string()),
            hostile_text(3)
        ],
        hostile_text(3),
        0..REGIONS.len(),
        prop::option::of(Just(())),
        lifecycle(),
        // Organization-wide: one of three accounts, with any name.
        prop::option::of((0..3u8, hostile_text(3))),
    )
        .prop_map(
            |(name, status, provider_type, region, host, lifecycle, account)| Connection {
                account: account.as_ref().map(|(i, _)| i.to_string().repeat(12)),
                account_name: account.map(|(_, name)| name),
                name,
                status,
                provider_type,
                region: REGIONS[region].into(),
                owner_account_id: "123456789012".into(),
                host_arn: host.map(|_| {
                    format!(
                        "arn:aws:codestar-connections:{}:123456789012:host/h-1",
                        REGIONS[region]
                    )
                }),
                lifecycle,
                ..Connection::default()
            },
        )
}

fn host() -> impl Strategy<Value = Host> {
    (
        hostile_text(6),
        hostile_text(3),
        prop::option::of(hostile_text(6)),
        0..REGIONS.len(),
        lifecycle(),
    )
        .prop_map(|(name, status, message, region, lifecycle)| {
            let mut host = Host::new(
                &name,
                &format!(
                    "arn:aws:codestar-connections:{}:123456789012:host/h",
                    REGIONS[region]
                ),
                &status,
                message.as_deref(),
                "GitHubEnterpriseServer",
                "https://ghe.example.com",
                REGIONS[region],
            );
            host.lifecycle = lifecycle;
            host
        })
}

/// Unique ARNs (and console links), so "exactly once" can be counted.
fn numbered<T>(items: Vec<T>, set: impl Fn(&mut T, String)) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, mut item)| {
            set(&mut item, format!("{i:08}-0000-4000-8000-000000000000"));
            item
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_alert_renders_every_object_once_within_the_limits(
        connections in prop::collection::vec(connection(), 0..60),
        hosts in prop::collection::vec(host(), 0..20),
        budget in prop_oneof![Just(6_000usize), Just(20_000), Just(SNS_MAX_PUBLISH_BYTES)],
    ) {
        let connections = numbered(connections, |c, id| {
            c.arn = format!("arn:aws:codestar-connections:{}:123456789012:connection/{id}", c.region);
            c.console_url = ResourceArn::parse(&c.arn).unwrap().console_url();
        });
        let hosts = numbered(hosts, |h, id| {
            h.arn = format!("arn:aws:codestar-connections:{}:123456789012:host/{id}", h.region);
            h.console_url = ResourceArn::parse(&h.arn).unwrap().console_url();
        });
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap();
        let alerts = render_alerts(&Frame { account: "123456789012", generated_at: at, ignore_tag: DEFAULT_IGNORE_TAG, unread: &[] }, Batch { connections: &connections, hosts: &hosts, syncs: &[], access: &[] }, budget);

        prop_assert_eq!(alerts.is_empty(), connections.is_empty() && hosts.is_empty());
        let (mut seen_connections, mut seen_hosts) = (Vec::new(), Vec::new());
        for alert in &alerts {
            prop_assert!(alert.publish_size() <= budget, "{} > {budget}", alert.publish_size());
            prop_assert!(alert.subject.len() <= SUBJECT_MAX_CHARS);
            prop_assert!(alert.subject.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{:?}", alert.subject);
            let message: Value = serde_json::from_str(&alert.message).unwrap();
            let email = message["email"].as_str().unwrap();
            prop_assert_eq!(message["default"].as_str().unwrap(), email);
            prop_assert!(!email.chars().any(|c| c != '\n' && is_unsafe_in_text(c)), "{email:?}");
            let chat: Value = serde_json::from_str(message["https"].as_str().unwrap()).unwrap();
            prop_assert_eq!(&chat["version"], "1.0");
            let description = chat["content"]["description"].as_str().unwrap();
            prop_assert!(description.chars().count() <= DESCRIPTION_MAX_CHARS);
            prop_assert!(!description.chars().any(|c| c != '\n' && is_unsafe_in_text(c)), "{description:?}");
            let document: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
            let mine: Vec<Connection> = serde_json::from_value(document["connections"].clone()).unwrap();
            let their: Vec<Host> = serde_json::from_value(document["hosts"].clone()).unwrap();
            for c in &mine {
                // The text shows each name escaped on its own line; the JSON keeps it exact.
                let line = format!("\n{} - ", shown(&c.name));
                prop_assert!(email.contains(&line), "{line:?} in {email:?}");
            }
            seen_connections.extend(mine);
            seen_hosts.extend(their);
        }
        prop_assert_eq!(seen_connections, connections, "every connection exactly once, in order");
        prop_assert_eq!(seen_hosts, hosts, "every host exactly once, in order");
    }
}

/// Any JSON, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        hostile_text(10).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(hostile_text(3), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects close to valid properties, so the parser's deeper paths run.
fn near_properties() -> impl Strategy<Value = Value> {
    let tag = (hostile_text(4), any_json()).prop_map(|(k, v)| json!({"Key": k, "Value": v}));
    (
        prop::option::of(prop_oneof![
            hostile_text(12).prop_map(Value::String),
            any_json()
        ]),
        prop::option::of(prop_oneof![
            Just(json!("GitHub")),
            Just(json!("GitLabSelfManaged")),
            any_json()
        ]),
        prop::option::of(prop_oneof![
            Just(json!(
                "arn:aws:codestar-connections:us-east-1:123456789012:host/ghe-1"
            )),
            any_json()
        ]),
        prop::option::of(prop_oneof![
            prop::collection::vec(tag, 0..8).prop_map(Value::Array),
            any_json()
        ]),
        prop::option::of(any_json()),
    )
        .prop_map(|(name, provider, host, tags, extra)| {
            let mut map = Map::new();
            for (key, value) in [
                ("ConnectionName", name),
                ("ProviderType", provider),
                ("HostArn", host),
                ("Tags", tags),
            ] {
                if let Some(value) = value {
                    map.insert(key.into(), value);
                }
            }
            if let Some(extra) = extra {
                map.insert("Extra".into(), extra);
            }
            map.insert(
                "ServiceToken".into(),
                json!("arn:aws:lambda:us-east-1:123456789012:function:f"),
            );
            Value::Object(map)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_properties_parse_to_a_valid_request_or_a_reason(
        properties in prop_oneof![any_json(), near_properties()],
    ) {
        match ConnectionProperties::parse(&properties) {
            Ok(p) => {
                let name_len = p.name.chars().count();
                prop_assert!((1..=32).contains(&name_len), "{:?}", p.name);
                prop_assert!(!p.name.chars().any(is_unsafe_in_text), "{:?}", p.name);
                prop_assert!(p.tags.len() <= MAX_USER_TAGS);
                for (k, v) in &p.tags {
                    prop_assert!((1..=128).contains(&k.chars().count()) && v.chars().count() <= 256);
                    prop_assert!(!k.to_ascii_lowercase().starts_with("aws:"));
                    prop_assert!(![STACK_ID_TAG, LOGICAL_ID_TAG, REQUEST_ID_TAG].contains(&k.as_str()));
                }
            }
            Err(invalid) => {
                prop_assert!(!invalid.0.is_empty());
                prop_assert!(invalid.0.iter().all(|reason| !reason.is_empty()));
            }
        }
    }
}

proptest! {
    /// Whatever IAM answers, an action is denied only for `implicitDeny` or
    /// `explicitDeny` with no missing context, and nothing panics.
    #[test]
    fn a_simulated_action_is_denied_only_on_a_complete_deny(
        decision in prop_oneof![
            Just("allowed".to_string()),
            Just("implicitDeny".to_string()),
            Just("explicitDeny".to_string()),
            ".{0,20}",
        ],
        missing in proptest::collection::vec("[a-z:]{1,30}", 0..3),
        matched in proptest::collection::vec(".{0,10}", 0..3),
        boundary in proptest::option::of(any::<bool>()),
        organizations in proptest::option::of(any::<bool>()),
    ) {
        use connection_watch::domain::access::{verdict, Evaluation};
        let evaluation = Evaluation {
            action: "codeconnections:UseConnection".into(),
            decision: decision.clone(),
            matched,
            missing: missing.clone(),
            boundary_allowed: boundary,
            organizations_allowed: organizations,
        };
        let v = verdict(&evaluation);
        let complete_deny = missing.is_empty() && (decision == "implicitDeny" || decision == "explicitDeny");
        prop_assert_eq!(v.denied(), complete_deny);
        prop_assert_eq!(v.denied_by.is_some(), complete_deny);
    }
}
