//! CloudFormation stacks synced from Git through repository links.

use super::{ConsumerClients, ConsumerError};
use crate::aws::paging::walk;
use crate::domain::arn::ResourceArn;
use crate::domain::consumer::{same_connection, Consumer, ConsumerKind, Source, Uses};
use aws_sdk_codestarconnections::types::{
    RepositoryLinkInfo, SyncConfiguration, SyncConfigurationType,
};
use aws_sdk_codestarconnections::Client;

/// ListRepositoryLinks and ListSyncConfigurations give at most 100 a page
/// (botocore's codestar-connections model, `MaxResults`).
const LINKS_PER_PAGE: i32 = 100;

impl ConsumerClients {
    /// The CloudFormation stacks of `region` synced from Git through a
    /// repository link on one of `connections`: `ListRepositoryLinks`, then
    /// `ListSyncConfigurations` (`CFN_STACK_SYNC`) for each such link. A
    /// link is regional, its connection global: a link in any region may
    /// name a connection of another home region.
    pub async fn git_sync_stacks(
        &self,
        region: &str,
        connections: &[&str],
    ) -> Result<Vec<Uses>, ConsumerError> {
        let client = self.in_region(region).codestar;
        let mut uses = Vec::new();
        let links = repository_links(&client, region).await?;
        let on_alerted = links.iter().filter(|link| {
            connections
                .iter()
                .any(|c| same_connection(link.connection_arn(), c))
        });
        for link in on_alerted {
            // A link is in the account of its connection.
            let Some(owner) = ResourceArn::parse_connection(link.connection_arn()) else {
                continue;
            };
            let stacks = synced_stacks(&client, region, link.repository_link_id()).await?;
            uses.extend(stacks.iter().filter_map(|sync| {
                // The stack's ARN without its id: the sync names the stack only.
                let arn = format!(
                    "arn:{}:cloudformation:{region}:{}:stack/{}",
                    owner.partition,
                    owner.account,
                    sync.resource_name()
                );
                Some(Uses {
                    consumer: Consumer::from_arn(ConsumerKind::GitSyncStack, &arn)?,
                    sources: vec![Source {
                        connection: link.connection_arn().to_string(),
                        stage: None,
                        action: None,
                        via: None,
                    }],
                })
            }));
        }
        Ok(uses)
    }
}

/// Every repository link of `region`.
async fn repository_links(
    client: &Client,
    region: &str,
) -> Result<Vec<RepositoryLinkInfo>, ConsumerError> {
    let mut links = Vec::new();
    let fetch = |token: Option<String>| {
        let request = client
            .list_repository_links()
            .max_results(LINKS_PER_PAGE)
            .set_next_token(token);
        async move {
            let page = request
                .send()
                .await
                .map_err(|e| ConsumerError::service("ListRepositoryLinks", region, e))?;
            Ok::<_, ConsumerError>((
                page.repository_links().to_vec(),
                page.next_token().map(str::to_string),
            ))
        }
    };
    walk::<_, ConsumerError, _, _>("ListRepositoryLinks", fetch, |page| links.extend(page)).await?;
    Ok(links)
}

/// The stacks synced through the link `link_id`.
async fn synced_stacks(
    client: &Client,
    region: &str,
    link_id: &str,
) -> Result<Vec<SyncConfiguration>, ConsumerError> {
    let mut stacks = Vec::new();
    let fetch = |token: Option<String>| {
        let request = client
            .list_sync_configurations()
            .repository_link_id(link_id)
            .sync_type(SyncConfigurationType::CfnStackSync)
            .max_results(LINKS_PER_PAGE)
            .set_next_token(token);
        async move {
            let page = request
                .send()
                .await
                .map_err(|e| ConsumerError::service("ListSyncConfigurations", region, e))?;
            Ok::<_, ConsumerError>((
                page.sync_configurations().to_vec(),
                page.next_token().map(str::to_string),
            ))
        }
    };
    walk::<_, ConsumerError, _, _>("ListSyncConfigurations", fetch, |page| stacks.extend(page))
        .await?;
    Ok(stacks)
}
