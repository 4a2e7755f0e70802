//! A connection as the project reports it.

use super::consumer::{Consumer, Coverage, Recovery};
use super::host::is_host_available;
use super::watched::{impl_watched, Kind, Lifecycle};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Provider types CodeConnections accepts in `CreateConnection`: the
/// `codeconnections` model's `ProviderType` (botocore 1.44), which adds
/// `AzureDevOps` (a provider since 2025; Developer Tools guide, "supported
/// providers and versions") and `GitHubEnterpriseCloudDataResidency` to
/// the older `codestar-connections` model's five.
pub const PROVIDER_TYPES: [&str; 7] = [
    "AzureDevOps",
    "Bitbucket",
    "GitHub",
    "GitHubEnterpriseCloudDataResidency",
    "GitHubEnterpriseServer",
    "GitLab",
    "GitLabSelfManaged",
];

/// Statuses AWS documents for a connection (API reference,
/// `Connection.ConnectionStatus`); AWS may add others, which are passed
/// through.
pub const CONNECTION_STATUSES: [&str; 3] = [AVAILABLE, "ERROR", "PENDING"];
/// A connection that works: the only status in which a pipeline can use it.
pub const AVAILABLE: &str = "AVAILABLE";

/// One connection, in the shape of the run result's `stuck` objects (docs/reference.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub provider_type: String,
    /// The home region, from the ARN: connections are global, listed from
    /// any region, and changed only in the region that created them.
    pub region: String,
    pub owner_account_id: String,
    pub host_arn: Option<String>,
    /// The status of its host when that host is not AVAILABLE: the
    /// connection cannot work until the host is repaired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_status: Option<String>,
    pub console_url: String,
    /// Organization-wide: the account it belongs to, and its name when
    /// AWS Organizations knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// `USED_BY` on, in a run that alerts it: the pipelines, projects and
    /// synced stacks it breaks, as far as they could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<Consumer>>,
    /// How many more use it than `used_by` lists (`MAX_USED_BY_LISTED`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub used_by_more: usize,
    /// Where `used_by` was looked for, and what could not be read there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by_coverage: Option<Coverage>,
    /// Resolved, with `RETRY_ON_RESOLVED`: the pipelines that had failed on
    /// it, and what was done for each (`MAX_RECOVERY_LISTED` at most).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery: Vec<Recovery>,
    /// How many more outcomes there were than `recovery` lists.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recovery_more: usize,
    /// Resolved but not healed: why nothing was restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_note: Option<String>,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

impl_watched!(Connection, Kind::Connection);

pub(crate) fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Where a connection points: a cloud provider, or a self-managed host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    Type(String),
    Host(String),
}

/// Notes on each stuck connection whose host is known and not AVAILABLE
/// that its host is the reason it cannot work.
pub fn note_host_status(stuck: &mut [Connection], host_statuses: &HashMap<String, String>) {
    for c in stuck {
        c.host_status = c
            .host_arn
            .as_ref()
            .and_then(|arn| host_statuses.get(arn))
            .filter(|status| !is_host_available(status))
            .cloned();
    }
}

/// A connection for unit tests, its ARN made from its name.
#[cfg(test)]
pub(crate) fn sample(name: &str, status: &str, provider: &str, region: &str) -> Connection {
    Connection {
        name: name.into(),
        arn: format!("arn:aws:codestar-connections:{region}:123456789012:connection/{name}"),
        status: status.into(),
        provider_type: provider.into(),
        region: region.into(),
        owner_account_id: "123456789012".into(),
        ..Connection::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sample as conn;

    #[test]
    fn a_connection_learns_that_its_host_is_not_available() {
        let host = "arn:aws:codestar-connections:us-east-1:123456789012:host/ghe-1";
        let mut stuck = vec![
            Connection {
                host_arn: Some(host.into()),
                ..conn("a", "PENDING", "GitHubEnterpriseServer", "us-east-1")
            },
            conn("b", "PENDING", "GitHub", "us-east-1"),
        ];
        note_host_status(
            &mut stuck,
            &HashMap::from([(host.to_string(), "PENDING".to_string())]),
        );
        assert_eq!(stuck[0].host_status.as_deref(), Some("PENDING"));
        assert_eq!(stuck[1].host_status, None);
        note_host_status(
            &mut stuck,
            &HashMap::from([(host.to_string(), "AVAILABLE".to_string())]),
        );
        assert_eq!(stuck[0].host_status, None);
        // The console's spelling of a host whose VPC is set up.
        note_host_status(
            &mut stuck,
            &HashMap::from([(host.to_string(), "VPC_CONFIG_VPC_AVAILABLE".to_string())]),
        );
        assert_eq!(stuck[0].host_status, None);
    }
}
