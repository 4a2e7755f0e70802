//! A consumer whose role may not use its connection, as the fourth watched
//! kind (docs/reference.md, "Can its consumers use it (access)"): the
//! finding, with the fields the lifecycle, the state table and the alert
//! need. Pure: no I/O.

use super::access::AccessFinding;
use super::arn::console_domain;
use super::watched::{impl_watched, Kind, Lifecycle};
use serde::{Deserialize, Serialize};

/// The status every denied consumer has: what the summary counts
/// (`1 consumer needs attention (1 DENIED)`).
pub const DENIED: &str = "DENIED";

/// One consumer's denied use of one connection, in the shape of the
/// reference's `access` objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeniedConsumer {
    /// The consumer's name.
    pub name: String,
    /// The lifecycle key: the consumer's ARN, the connection's ARN as the
    /// consumer names it, and the actions it needs (`access_key`).
    #[serde(rename = "alertKey")]
    pub arn: String,
    /// The consumer's region.
    pub region: String,
    /// `DENIED`.
    pub status: String,
    /// The connection's provider.
    pub provider_type: String,
    /// The role's page in the IAM console, where the statement is added.
    pub console_url: String,
    /// The connection's status as this run listed it.
    pub connection_status: String,
    #[serde(flatten)]
    pub finding: AccessFinding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

impl_watched!(DeniedConsumer, Kind::Access);

/// The lifecycle key of `consumer`'s use of `connection` for `actions`
/// (IAM action names): the same finding keeps it across runs whatever its
/// role or verdict, so fixing the role resolves it under the same alertId.
/// It starts with the consumer's ARN, so that its account is read off it
/// as off any ARN.
pub fn access_key(consumer: &str, connection: &str, actions: &[String]) -> String {
    format!("{consumer}#{connection}#{}", actions.join(","))
}

impl DeniedConsumer {
    /// The watched object of `finding` under lifecycle key `key` (its
    /// check's `access_key`: the actions as checked, not as IAM happened to
    /// order its answers), on a connection of `provider_type` listed in
    /// `connection_status`.
    pub fn new(
        finding: AccessFinding,
        key: String,
        provider_type: &str,
        connection_status: &str,
    ) -> Self {
        Self {
            name: finding.consumer.name.clone(),
            arn: key,
            region: finding.consumer.region.clone(),
            status: DENIED.to_string(),
            provider_type: provider_type.to_string(),
            console_url: role_console_url(&finding.role),
            connection_status: connection_status.to_string(),
            account: None,
            account_name: None,
            lifecycle: Lifecycle::default(),
            finding,
        }
    }
}

/// A role's page in the IAM console (IAM is global: the console's own
/// domain, without a region, outside the other partitions).
fn role_console_url(role: &str) -> String {
    let partition = role.split(':').nth(1).unwrap_or("aws");
    let name = role.rsplit('/').next().unwrap_or(role);
    let domain = match partition {
        "aws" => "console.aws.amazon.com".to_string(),
        other => console_domain(other, ""),
    };
    format!("https://{domain}/iam/home#/roles/details/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_page_is_named_by_the_role_without_its_path() {
        assert_eq!(
            role_console_url("arn:aws:iam::123456789012:role/service/pipeline-role"),
            "https://console.aws.amazon.com/iam/home#/roles/details/pipeline-role"
        );
        assert_eq!(
            role_console_url("arn:aws-cn:iam::123456789012:role/r"),
            "https://console.amazonaws.cn/iam/home#/roles/details/r"
        );
    }

    #[test]
    fn the_key_starts_with_the_consumer_so_its_account_is_read_off_it() {
        let key = access_key(
            "arn:aws:codepipeline:eu-west-1:123456789012:deploy",
            "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc",
            &["codeconnections:UseConnection".into()],
        );
        assert_eq!(crate::domain::arn::account_in(&key), Some("123456789012"));
        assert!(key.ends_with("#codeconnections:UseConnection"));
    }
}
