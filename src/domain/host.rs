//! A host (GitHub Enterprise Server, GitLab self-managed) as the project
//! reports it. Hosts are regional: each is listed only in its own region.

use super::arn::{settings_url, ResourceArn};
use super::watched::{impl_watched, Kind, Lifecycle};
use serde::{Deserialize, Serialize};

/// Whether a host in `status` serves its connections: `AVAILABLE` (API
/// reference, `Host.Status`), or `VPC_CONFIG_VPC_AVAILABLE`, as the console
/// guide's "View host details" page spells a host whose VPC is set up.
pub fn is_host_available(status: &str) -> bool {
    matches!(status, "AVAILABLE" | "VPC_CONFIG_VPC_AVAILABLE")
}

/// One host, in the shape of the run result's `stuckHosts` objects (docs/reference.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Host {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub status_message: Option<String>,
    pub provider_type: String,
    pub provider_endpoint: String,
    pub region: String,
    pub console_url: String,
    /// Organization-wide: the account it belongs to, and its name when
    /// AWS Organizations knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

impl Host {
    /// A host listed in `region`; its region is the ARN's when it parses.
    pub fn new(
        name: &str,
        arn: &str,
        status: &str,
        status_message: Option<&str>,
        provider_type: &str,
        provider_endpoint: &str,
        region: &str,
    ) -> Self {
        let parsed = ResourceArn::parse_host(arn);
        Self {
            name: name.to_string(),
            arn: arn.to_string(),
            status: status.to_string(),
            status_message: status_message.filter(|m| !m.is_empty()).map(str::to_string),
            provider_type: provider_type.to_string(),
            provider_endpoint: provider_endpoint.to_string(),
            region: parsed.as_ref().map_or(region, |a| a.region).to_string(),
            console_url: parsed.map_or_else(|| settings_url(region), |a| a.console_url()),
            account: None,
            account_name: None,
            lifecycle: Lifecycle::default(),
        }
    }
}

impl_watched!(Host, Kind::Host);
