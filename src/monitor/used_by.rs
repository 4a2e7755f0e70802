//! What alerted connections break: the pipelines and CodeBuild projects
//! that use them, looked up only in runs that alert a connection. A region
//! whose consumers cannot be read costs that region's `usedBy` (reported),
//! never the alert.

use super::config::MonitorConfig;
use super::report::UsedByFailure;
use crate::aws::consumers::{ConsumerClients, ConsumerError};
use crate::domain::arn::ResourceArn;
use crate::domain::connection::Connection;
use crate::domain::consumer::{used_by, Uses};
use futures_util::future::join_all;
use std::collections::BTreeSet;
use tokio::time::{timeout_at, Instant};

/// What the lookup found: every consumer read, and where reading failed.
#[derive(Debug, Default)]
pub struct Lookup {
    uses: Vec<Uses>,
    unread: Vec<UsedByFailure>,
}

impl Lookup {
    pub fn failures(&self) -> &[UsedByFailure] {
        &self.unread
    }

    /// Sets `usedBy` on each connection of `account` (and says which of its
    /// regions could not be read); another account's are left without.
    pub fn attach(&self, account: &str, connections: &mut [Connection]) {
        let unread: Vec<String> = self
            .unread
            .iter()
            .filter(|f| f.account == account)
            .map(|f| f.region.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for connection in connections {
            let owner = ResourceArn::parse(&connection.arn).map(|a| a.account);
            if owner == Some(account) {
                connection.used_by = Some(used_by(&connection.arn, &self.uses));
                connection.used_by_unread = unread.clone();
            }
        }
    }
}

/// The regions to look in: `MONITOR_REGIONS` when set, else the function's
/// own region and the alerted connections' home regions.
pub fn regions(config: &MonitorConfig, connections: &[&Connection]) -> Vec<String> {
    let mut regions: BTreeSet<String> = config.host_regions().into_iter().collect();
    if config.regions.is_none() {
        regions.extend(connections.iter().map(|c| c.region.clone()));
    }
    regions.into_iter().collect()
}

/// Reads the consumers of `account` in `regions`, every region at once,
/// each listing bounded by `deadline`.
pub async fn look_up(
    clients: &ConsumerClients,
    config: &MonitorConfig,
    account: &str,
    regions: &[String],
    deadline: Instant,
) -> Lookup {
    let reads = regions.iter().map(|region| async move {
        let pipelines = async {
            if !config.used_by.pipelines {
                return Ok(Vec::new());
            }
            timeout_at(deadline, clients.pipelines(region))
                .await
                .unwrap_or_else(|_| Err(timed_out(region, "ListPipelines")))
        };
        let projects = async {
            if !config.used_by.codebuild {
                return Ok(Vec::new());
            }
            timeout_at(deadline, clients.projects(region))
                .await
                .unwrap_or_else(|_| Err(timed_out(region, "ListProjects")))
        };
        let (pipelines, projects) = tokio::join!(pipelines, projects);
        (region, [pipelines, projects])
    });
    let mut lookup = Lookup::default();
    for (region, results) in join_all(reads).await {
        for result in results {
            match result {
                Ok(uses) => lookup.uses.extend(uses),
                Err(e) => {
                    tracing::error!(%region, error = %e, "usedBy: consumers could not be read");
                    lookup.unread.push(UsedByFailure {
                        account: account.to_string(),
                        region: region.clone(),
                        error: e.to_string(),
                    });
                }
            }
        }
    }
    lookup
}

fn timed_out(region: &str, operation: &'static str) -> ConsumerError {
    ConsumerError::Service {
        operation,
        region: region.to_string(),
        message: "did not finish before the run's deadline".into(),
    }
}
