//! `Custom::CodeStarConnection` properties, validated by hand so that a
//! malformed request becomes a FAILED response with a precise reason.

use crate::domain::arn::ResourceArn;
use crate::domain::connection::{Provider, PROVIDER_TYPES};
use crate::domain::watched::Tags;
use crate::render::escape::{is_unsafe_in_text, shown};
use serde_json::Value;
use std::fmt;

/// Tags the resource writes on every connection it creates, to find a retried
/// request's connection again and to show who owns it.
pub const STACK_ID_TAG: &str = "connection-watch:stack-id";
pub const LOGICAL_ID_TAG: &str = "connection-watch:logical-id";
pub const REQUEST_ID_TAG: &str = "connection-watch:request-id";
const OWNER_TAGS: [&str; 3] = [STACK_ID_TAG, LOGICAL_ID_TAG, REQUEST_ID_TAG];

/// AWS allows 200 tags per resource; the owner tags take three.
pub const MAX_USER_TAGS: usize = 200 - OWNER_TAGS.len();
const KNOWN: [&str; 6] = [
    "ServiceToken",
    // CloudFormation's own (AWS::CloudFormation::CustomResource): 1 to 3600 s.
    "ServiceTimeout",
    "ConnectionName",
    "ProviderType",
    "HostArn",
    "Tags",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionProperties {
    pub name: String,
    pub provider: Provider,
    pub tags: Tags,
}

/// Every problem found, so one failed deployment shows them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidProperties(pub Vec<String>);

impl fmt::Display for InvalidProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid properties: {}", self.0.join("; "))
    }
}

impl std::error::Error for InvalidProperties {}

pub fn owner_tags(stack_id: &str, logical_id: &str, request_id: &str) -> Tags {
    Tags::from([
        (STACK_ID_TAG.to_string(), truncate(stack_id, 256)),
        (LOGICAL_ID_TAG.to_string(), truncate(logical_id, 256)),
        (REQUEST_ID_TAG.to_string(), truncate(request_id, 256)),
    ])
}

/// Whether `tags` say the connection was created by this stack's logical
/// resource (`owner_tags` at Create).
pub fn is_owned_by(tags: &Tags, stack_id: &str, logical_id: &str) -> bool {
    tags.get(STACK_ID_TAG) == Some(&truncate(stack_id, 256))
        && tags.get(LOGICAL_ID_TAG) == Some(&truncate(logical_id, 256))
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

impl ConnectionProperties {
    pub fn parse(properties: &Value) -> Result<Self, InvalidProperties> {
        let mut problems = Vec::new();
        let Some(map) = properties.as_object() else {
            return Err(InvalidProperties(vec![format!(
                "ResourceProperties must be an object, got {}",
                kind(properties)
            )]));
        };
        for key in map.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
            problems.push(format!(
                "unknown property {key:?} (known: {})",
                KNOWN.join(", ")
            ));
        }

        let name = parse_name(map.get("ConnectionName"), &mut problems);
        let provider = parse_provider(map.get("ProviderType"), map.get("HostArn"), &mut problems);
        let tags = match map.get("Tags") {
            None => Tags::new(),
            Some(t) => parse_tags(t, &mut problems),
        };

        match (name, provider) {
            (Some(name), Some(provider)) if problems.is_empty() => Ok(Self {
                name,
                provider,
                tags,
            }),
            _ => Err(InvalidProperties(problems)),
        }
    }
}

fn parse_name(value: Option<&Value>, problems: &mut Vec<String>) -> Option<String> {
    match value {
        None => {
            problems.push("ConnectionName is required".into());
            None
        }
        Some(Value::String(n)) if n.chars().any(is_unsafe_in_text) => {
            problems.push(format!(
                "ConnectionName {} must not contain control, line separator or bidirectional characters",
                shown(n)
            ));
            None
        }
        Some(Value::String(n)) if (1..=32).contains(&n.chars().count()) => Some(n.clone()),
        Some(Value::String(n)) => {
            problems.push(format!(
                "ConnectionName must have 1 to 32 characters, {n:?} has {}",
                n.chars().count()
            ));
            None
        }
        Some(other) => {
            problems.push(format!(
                "ConnectionName must be a string, got {}",
                kind(other)
            ));
            None
        }
    }
}

fn parse_provider(
    provider_type: Option<&Value>,
    host_arn: Option<&Value>,
    problems: &mut Vec<String>,
) -> Option<Provider> {
    match (provider_type, host_arn) {
        (Some(_), Some(_)) => {
            problems.push("give either ProviderType or HostArn, not both".into());
            None
        }
        (None, None) => {
            problems.push(format!(
                "one of ProviderType ({}) or HostArn is required",
                PROVIDER_TYPES.join(", ")
            ));
            None
        }
        (Some(Value::String(t)), None) if PROVIDER_TYPES.contains(&t.as_str()) => {
            Some(Provider::Type(t.clone()))
        }
        (Some(t), None) => {
            problems.push(format!(
                "ProviderType {t} is not one of {}",
                PROVIDER_TYPES.join(", ")
            ));
            None
        }
        (None, Some(Value::String(h))) if ResourceArn::parse_host(h).is_some() => {
            Some(Provider::Host(h.clone()))
        }
        (None, Some(h)) => {
            problems.push(format!(
                "HostArn {h} is not a host ARN like arn:aws:codestar-connections:us-east-1:123456789012:host/my-host-0123abcd"
            ));
            None
        }
    }
}

fn parse_tags(value: &Value, problems: &mut Vec<String>) -> Tags {
    let mut tags = Tags::new();
    let Some(list) = value.as_array() else {
        problems.push(format!(
            "Tags must be a list of {{Key, Value}}, got {}",
            kind(value)
        ));
        return tags;
    };
    if list.len() > MAX_USER_TAGS {
        problems.push(format!(
            "Tags has {} entries; at most {MAX_USER_TAGS} fit beside the {} tags connection-watch adds",
            list.len(),
            OWNER_TAGS.len()
        ));
    }
    for (i, tag) in list.iter().enumerate() {
        let (key, value) = match (tag.get("Key"), tag.get("Value")) {
            (Some(Value::String(k)), Some(Value::String(v)))
                if tag.as_object().is_some_and(|o| o.len() == 2) =>
            {
                (k, v)
            }
            _ => {
                problems.push(format!(
                    "Tags[{i}] must be {{\"Key\": string, \"Value\": string}}, got {tag}"
                ));
                continue;
            }
        };
        let key_len = key.chars().count();
        if !(1..=128).contains(&key_len) {
            problems.push(format!(
                "Tags[{i}].Key must have 1 to 128 characters, {key:?} has {key_len}"
            ));
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            problems.push(format!(
                "Tags[{i}].Key {key:?}: the aws: prefix is reserved by AWS"
            ));
        } else if OWNER_TAGS.contains(&key.as_str()) {
            problems.push(format!(
                "Tags[{i}].Key {key:?} is written by connection-watch itself"
            ));
        }
        if value.chars().count() > 256 {
            problems.push(format!(
                "Tags[{i}].Value for {key:?} must have at most 256 characters, it has {}",
                value.chars().count()
            ));
        }
        if tags.insert(key.clone(), value.clone()).is_some() {
            problems.push(format!("Tags[{i}].Key {key:?} appears more than once"));
        }
    }
    tags
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "arn:aws:lambda:us-east-1:123456789012:function:connection-resource";
    const HOST: &str = "arn:aws:codestar-connections:us-east-1:123456789012:host/ghe-0123abcd";

    #[test]
    fn valid_with_provider_type_and_tags() {
        let props = ConnectionProperties::parse(&json!({
            "ServiceToken": TOKEN, "ConnectionName": "app-github", "ProviderType": "GitHub",
            "Tags": [{"Key": "team", "Value": "platform"}, {"Key": "empty", "Value": ""}]
        }))
        .unwrap();
        assert_eq!(props.name, "app-github");
        assert_eq!(props.provider, Provider::Type("GitHub".into()));
        assert_eq!(props.tags["team"], "platform");
        assert_eq!(props.tags["empty"], "");
    }

    #[test]
    fn cloudformations_service_timeout_is_not_an_unknown_property() {
        let props = ConnectionProperties::parse(&json!({
            "ServiceToken": TOKEN, "ServiceTimeout": "300", "ConnectionName": "app",
            "ProviderType": "GitHub"
        }));
        assert!(props.is_ok(), "{props:?}");
    }

    #[test]
    fn every_provider_type_of_the_codeconnections_model_is_accepted() {
        for provider in [
            "AzureDevOps",
            "GitHubEnterpriseCloudDataResidency",
            "Bitbucket",
        ] {
            let props = ConnectionProperties::parse(&json!({
                "ServiceToken": TOKEN, "ConnectionName": "app", "ProviderType": provider
            }))
            .unwrap();
            assert_eq!(props.provider, Provider::Type(provider.into()));
        }
    }

    #[test]
    fn valid_with_host_arn() {
        let props = ConnectionProperties::parse(&json!({
            "ServiceToken": TOKEN, "ConnectionName": "ghe", "HostArn": HOST
        }))
        .unwrap();
        assert_eq!(props.provider, Provider::Host(HOST.into()));
        assert!(props.tags.is_empty());
    }

    #[test]
    fn each_malformed_request_says_what_is_wrong() {
        let many_tags: Vec<Value> = (0..=MAX_USER_TAGS)
            .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect();
        let cases = [
            (json!(null), "ResourceProperties must be an object"),
            (
                json!({"ProviderType": "GitHub"}),
                "ConnectionName is required",
            ),
            (
                json!({"ConnectionName": "", "ProviderType": "GitHub"}),
                "1 to 32 characters",
            ),
            (
                json!({"ConnectionName": "x".repeat(33), "ProviderType": "GitHub"}),
                "has 33",
            ),
            (
                json!({"ConnectionName": 7, "ProviderType": "GitHub"}),
                "ConnectionName must be a string",
            ),
            (
                json!({"ConnectionName": "app\n  Open: https://ev.il", "ProviderType": "GitHub"}),
                "must not contain control",
            ),
            (
                json!({"ConnectionName": "app\u{202e}olleh", "ProviderType": "GitHub"}),
                "must not contain control",
            ),
            (json!({"ConnectionName": "a"}), "one of ProviderType"),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "HostArn": HOST}),
                "not both",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "CodeCommit"}),
                "\"CodeCommit\" is not one of",
            ),
            (
                json!({"ConnectionName": "a", "HostArn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/x"}),
                "not a host ARN",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Name": "typo"}),
                "unknown property \"Name\"",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": {"team": "x"}}),
                "Tags must be a list",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": "team"}]}),
                "Tags[0] must be",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": "", "Value": "x"}]}),
                "1 to 128",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": "k".repeat(129), "Value": "x"}]}),
                "1 to 128",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": "k", "Value": "v".repeat(257)}]}),
                "at most 256",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": "aws:x", "Value": "v"}]}),
                "reserved by AWS",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": REQUEST_ID_TAG, "Value": "v"}]}),
                "written by connection-watch",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}),
                "more than once",
            ),
            (
                json!({"ConnectionName": "a", "ProviderType": "GitHub", "Tags": many_tags}),
                "at most 197",
            ),
        ];
        for (props, expect) in cases {
            let err = ConnectionProperties::parse(&props).unwrap_err().to_string();
            assert!(err.contains(expect), "{props}: {err}");
        }
    }

    #[test]
    fn all_problems_are_reported_together() {
        let err =
            ConnectionProperties::parse(&json!({"ConnectionName": "", "ProviderType": "Nope"}))
                .unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
    }
}
