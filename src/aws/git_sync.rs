//! CloudFormation Git sync as CodeConnections serves it, per region:
//! repository links, the stacks synced through each, and each stack's
//! blockers and latest sync. The usedBy lookup and the Git sync scan both
//! read through these.

use super::codestar::{unless_not_found, CodestarError, Connections};
use super::paging::walk;
use crate::domain::git_sync::{
    Blocker, LatestSync, LinkBranch, ReadBlocker, RepositoryLink, RepositorySync,
    RepositorySyncEvent, SyncConfig,
};
use aws_sdk_codestarconnections::types::SyncConfigurationType;
use chrono::{DateTime, Utc};

/// ListRepositoryLinks and ListSyncConfigurations give at most 100 a page
/// (botocore's codestar-connections model, `MaxResults`, 0 to 100).
const LINKS_PER_PAGE: i32 = 100;

impl Connections {
    /// Every repository link of this client's region (links are regional;
    /// the connection each names is global).
    pub async fn repository_links(&self) -> Result<Vec<RepositoryLink>, CodestarError> {
        let mut links = Vec::new();
        let fetch = |token: Option<String>| {
            let request = self
                .client
                .list_repository_links()
                .max_results(LINKS_PER_PAGE)
                .set_next_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| CodestarError::from_sdk("ListRepositoryLinks", e))?;
                let links = page.repository_links().iter().map(|l| RepositoryLink {
                    id: l.repository_link_id().to_string(),
                    arn: l.repository_link_arn().to_string(),
                    connection_arn: l.connection_arn().to_string(),
                    repository_name: l.repository_name().to_string(),
                    provider_type: l.provider_type().as_str().to_string(),
                });
                Ok::<_, CodestarError>((links.collect(), page.next_token().map(str::to_string)))
            }
        };
        walk("ListRepositoryLinks", fetch, |page| links.extend(page)).await?;
        Ok(links)
    }

    /// The stacks synced through `link` (`CFN_STACK_SYNC`).
    pub async fn stack_syncs(
        &self,
        link: &RepositoryLink,
    ) -> Result<Vec<SyncConfig>, CodestarError> {
        let mut syncs = Vec::new();
        let fetch = |token: Option<String>| {
            let request = self
                .client
                .list_sync_configurations()
                .repository_link_id(&link.id)
                .sync_type(SyncConfigurationType::CfnStackSync)
                .max_results(LINKS_PER_PAGE)
                .set_next_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| CodestarError::from_sdk("ListSyncConfigurations", e))?;
                let syncs = page
                    .sync_configurations()
                    .iter()
                    .filter_map(|s| link.sync_config(s.resource_name(), s.branch()));
                Ok::<_, CodestarError>((syncs.collect(), page.next_token().map(str::to_string)))
            }
        };
        walk("ListSyncConfigurations", fetch, |page| syncs.extend(page)).await?;
        Ok(syncs)
    }

    /// The stack's latest blockers, active or resolved; none for a stack
    /// never blocked (`ResourceNotFoundException`).
    pub async fn sync_blockers(&self, stack: &str) -> Result<Vec<ReadBlocker>, CodestarError> {
        let answer = self
            .client
            .get_sync_blocker_summary()
            .resource_name(stack)
            .sync_type(SyncConfigurationType::CfnStackSync)
            .send()
            .await;
        let found = unless_not_found!("GetSyncBlockerSummary", answer)?;
        Ok(found
            .as_ref()
            .and_then(|out| out.sync_blocker_summary())
            .map(|s| s.latest_blockers())
            .unwrap_or_default()
            .iter()
            .map(|b| ReadBlocker {
                blocker: Blocker {
                    id: b.id().to_string(),
                    created_reason: b.created_reason().to_string(),
                    created_at: chrono_time(b.created_at()),
                },
                status: b.status().as_str().to_string(),
            })
            .collect())
    }

    /// The stack's latest sync attempt; `None` for a stack not synced yet
    /// (`ResourceNotFoundException` until its first sync).
    pub async fn latest_sync(&self, stack: &str) -> Result<Option<LatestSync>, CodestarError> {
        let answer = self
            .client
            .get_resource_sync_status()
            .resource_name(stack)
            .sync_type(SyncConfigurationType::CfnStackSync)
            .send()
            .await;
        let found = unless_not_found!("GetResourceSyncStatus", answer)?;
        Ok(found
            .as_ref()
            .and_then(|out| out.latest_sync())
            .map(|attempt| LatestSync {
                status: attempt.status().as_str().to_string(),
                started_at: chrono_time(attempt.started_at()),
            }))
    }

    /// The latest repository sync of a link's branch; `None` for a branch
    /// that never synced (`ResourceNotFoundException`).
    pub async fn repository_sync(
        &self,
        at: &LinkBranch,
    ) -> Result<Option<RepositorySync>, CodestarError> {
        let answer = self
            .client
            .get_repository_sync_status()
            .repository_link_id(&at.repository_link_id)
            .branch(&at.branch)
            .sync_type(SyncConfigurationType::CfnStackSync)
            .send()
            .await;
        let found = unless_not_found!("GetRepositorySyncStatus", answer)?;
        Ok(found
            .as_ref()
            .and_then(|out| out.latest_sync())
            .map(|attempt| RepositorySync {
                status: attempt.status().as_str().to_string(),
                started_at: chrono_time(attempt.started_at()),
                events: attempt
                    .events()
                    .iter()
                    .map(|e| RepositorySyncEvent {
                        event: e.event().to_string(),
                        kind: e.r#type().to_string(),
                        time: chrono_time(e.time()),
                        external_id: e.external_id().map(str::to_string),
                    })
                    .collect(),
            }))
    }
}

fn chrono_time(at: &aws_sdk_codestarconnections::primitives::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos()).unwrap_or_default()
}
