//! What a CloudFormation request asks of the connection: a pure function of
//! the request, tested as a table.

use super::properties::{ConnectionProperties, InvalidProperties};
use crate::domain::arn::ResourceArn;
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use serde_json::Value;

/// The physical id a failed Create reports: this prefix and its RequestId.
pub const FAILED_CREATE_PREFIX: &str = "failed-create:";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new connection (Create, or an Update that changes more than tags).
    Create(ConnectionProperties),
    /// Same connection: write the new tags, remove the dropped keys.
    UpdateInPlace {
        arn: String,
        properties: ConnectionProperties,
        removed_tag_keys: Vec<String>,
    },
    Delete {
        arn: String,
    },
    /// The Delete that follows a failed Create (its physical id is
    /// `failed-create:<RequestId>`): a Create that timed out may still have
    /// made its connection, named `name` and tagged with that request id.
    DeleteFailedCreate {
        request_id: String,
        name: Option<String>,
    },
    /// Nothing to do, and that is a success: the physical id is no connection.
    Nothing {
        reason: String,
    },
    /// Invalid properties: FAILED, and nothing is touched.
    Reject(InvalidProperties),
}

pub fn decide(request: &Request) -> Action {
    match request {
        Request::Create(create) => match ConnectionProperties::parse(&create.resource_properties) {
            Ok(properties) => Action::Create(properties),
            Err(invalid) => Action::Reject(invalid),
        },
        Request::Update(update) => {
            let properties = match ConnectionProperties::parse(&update.resource_properties) {
                Ok(p) => p,
                Err(invalid) => return Action::Reject(invalid),
            };
            let arn = &update.physical_resource_id;
            if ResourceArn::parse_connection(arn).is_none()
                || identity(&update.old_resource_properties)
                    != identity(&update.resource_properties)
            {
                return Action::Create(properties);
            }
            // Only keys the old properties set are removed: tags written
            // outside the stack (an ignore tag, say) are left alone.
            let removed_tag_keys = old_tag_keys(&update.old_resource_properties)
                .into_iter()
                .filter(|k| !properties.tags.contains_key(k))
                .collect();
            Action::UpdateInPlace {
                arn: arn.clone(),
                properties,
                removed_tag_keys,
            }
        }
        Request::Delete(delete) => {
            let id = &delete.physical_resource_id;
            if ResourceArn::parse_connection(id).is_some() {
                Action::Delete { arn: id.clone() }
            } else if let Some(request_id) = id.strip_prefix(FAILED_CREATE_PREFIX) {
                Action::DeleteFailedCreate {
                    request_id: request_id.to_string(),
                    name: delete
                        .resource_properties
                        .get("ConnectionName")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }
            } else {
                Action::Nothing {
                    reason: format!(
                        "{id:?} is not a connection ARN (its Create failed): nothing to delete"
                    ),
                }
            }
        }
        _ => Action::Reject(InvalidProperties(vec!["unknown RequestType".into()])),
    }
}

/// What a connection cannot change in place. Compared on the raw values so
/// that old properties a newer version would reject still compare.
fn identity(properties: &Value) -> [Option<&Value>; 3] {
    ["ConnectionName", "ProviderType", "HostArn"].map(|k| properties.get(k))
}

fn old_tag_keys(old: &Value) -> Vec<String> {
    old.get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("Key").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::connection::Provider;
    use serde_json::json;

    const ARN: &str = "arn:aws:codestar-connections:us-east-1:123456789012:connection/0d1e2f";

    fn request(kind: &str, physical_id: Option<&str>, props: Value, old: Option<Value>) -> Request {
        let mut event = json!({
            "RequestType": kind,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cr",
            "ResponseURL": "http://127.0.0.1:1/response?X-Amz-Signature=secret",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "req-1",
            "ResourceType": "Custom::CodeStarConnection",
            "LogicalResourceId": "Connection",
            "ResourceProperties": props,
        });
        if let Some(id) = physical_id {
            event["PhysicalResourceId"] = json!(id);
        }
        if let Some(old) = old {
            event["OldResourceProperties"] = old;
        }
        serde_json::from_value(event).unwrap()
    }

    fn props(name: &str, tags: &[(&str, &str)]) -> Value {
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        json!({"ServiceToken": "t", "ConnectionName": name, "ProviderType": "GitHub", "Tags": tags})
    }

    #[test]
    fn create() {
        match decide(&request("Create", None, props("a", &[("team", "x")]), None)) {
            Action::Create(p) => {
                assert_eq!(p.name, "a");
                assert_eq!(p.provider, Provider::Type("GitHub".into()));
                assert_eq!(p.tags.len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_with_invalid_properties_is_rejected() {
        let action = decide(&request(
            "Create",
            None,
            json!({"ConnectionName": "a"}),
            None,
        ));
        assert!(matches!(action, Action::Reject(_)), "{action:?}");
    }

    #[test]
    fn update_of_tags_only_is_in_place() {
        let old = props("a", &[("team", "x"), ("cost", "1")]);
        let new = props("a", &[("team", "y"), ("owner", "z")]);
        match decide(&request("Update", Some(ARN), new, Some(old))) {
            Action::UpdateInPlace {
                arn,
                properties,
                removed_tag_keys,
            } => {
                assert_eq!(arn, ARN);
                assert_eq!(removed_tag_keys, ["cost"]);
                assert_eq!(properties.tags.len(), 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn update_without_changes_is_in_place_with_nothing_removed() {
        let p = props("a", &[("team", "x")]);
        let action = decide(&request("Update", Some(ARN), p.clone(), Some(p)));
        assert!(
            matches!(&action, Action::UpdateInPlace { removed_tag_keys, .. } if removed_tag_keys.is_empty()),
            "{action:?}"
        );
    }

    #[test]
    fn update_that_changes_identity_creates_a_replacement() {
        let old = props("a", &[]);
        let renamed = props("b", &[]);
        let mut other_provider = props("a", &[]);
        other_provider["ProviderType"] = json!("GitLab");
        let mut to_host = props("a", &[]);
        to_host.as_object_mut().unwrap().remove("ProviderType");
        to_host["HostArn"] = json!("arn:aws:codestar-connections:us-east-1:123456789012:host/h-1");
        for new in [renamed, other_provider, to_host] {
            let action = decide(&request(
                "Update",
                Some(ARN),
                new.clone(),
                Some(old.clone()),
            ));
            assert!(matches!(action, Action::Create(_)), "{new}: {action:?}");
        }
    }

    #[test]
    fn update_of_a_failed_create_creates() {
        let p = props("a", &[]);
        let action = decide(&request(
            "Update",
            Some("failed-create:req-0"),
            p.clone(),
            Some(p),
        ));
        assert!(matches!(action, Action::Create(_)), "{action:?}");
    }

    #[test]
    fn update_with_invalid_new_properties_is_rejected_even_when_only_tags_change() {
        let old = props("a", &[]);
        let new = props("a", &[("aws:reserved", "x")]);
        let action = decide(&request("Update", Some(ARN), new, Some(old)));
        assert!(matches!(action, Action::Reject(_)), "{action:?}");
    }

    #[test]
    fn update_whose_old_properties_no_longer_validate_still_updates_in_place() {
        let old = json!({"ConnectionName": "a", "ProviderType": "GitHub", "Retired": "x", "Tags": [{"Key": "team", "Value": "1"}]});
        let action = decide(&request("Update", Some(ARN), props("a", &[]), Some(old)));
        assert!(
            matches!(&action, Action::UpdateInPlace { removed_tag_keys, .. } if removed_tag_keys == &["team"]),
            "{action:?}"
        );
    }

    #[test]
    fn delete_of_a_connection() {
        let action = decide(&request("Delete", Some(ARN), props("a", &[]), None));
        assert_eq!(action, Action::Delete { arn: ARN.into() });
    }

    #[test]
    fn delete_needs_no_valid_properties() {
        let action = decide(&request("Delete", Some(ARN), json!({"junk": true}), None));
        assert_eq!(action, Action::Delete { arn: ARN.into() });
    }

    #[test]
    fn delete_of_a_failed_create_looks_for_its_orphan() {
        let action = decide(&request(
            "Delete",
            Some("failed-create:req-0"),
            props("a", &[]),
            None,
        ));
        assert_eq!(
            action,
            Action::DeleteFailedCreate {
                request_id: "req-0".into(),
                name: Some("a".into())
            }
        );
    }

    #[test]
    fn delete_of_what_is_no_connection_does_nothing() {
        for id in ["", "arn:aws:sns:us-east-1:123456789012:t"] {
            let action = decide(&request("Delete", Some(id), props("a", &[]), None));
            assert!(matches!(action, Action::Nothing { .. }), "{id}: {action:?}");
        }
    }
}
