//! CloudFormation stacks synced from Git through repository links.

use super::{ConsumerClients, ConsumerError};
use crate::aws::codestar::Connections;
use crate::domain::consumer::{same_connection, Consumer, ConsumerKind, Source, Uses};

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
        let client = Connections::new(self.in_region(region).codestar);
        let unread = |operation| move |e| ConsumerError::service(operation, region, e);
        let links = client
            .repository_links()
            .await
            .map_err(unread("ListRepositoryLinks"))?;
        let on_alerted = links.iter().filter(|link| {
            connections
                .iter()
                .any(|c| same_connection(&link.connection_arn, c))
        });
        let mut uses = Vec::new();
        for link in on_alerted {
            let syncs = client
                .stack_syncs(link)
                .await
                .map_err(unread("ListSyncConfigurations"))?;
            uses.extend(syncs.iter().filter_map(|sync| {
                // The stack's ARN without its id: the sync names the stack only.
                let arn = format!(
                    "arn:{}:cloudformation:{region}:{}:stack/{}",
                    sync.partition, sync.account, sync.resource_name
                );
                Some(Uses {
                    consumer: Consumer::from_arn(ConsumerKind::GitSyncStack, &arn)?,
                    sources: vec![Source {
                        connection: link.connection_arn.clone(),
                        stage: None,
                        action: None,
                        via: None,
                        grant: None,
                        full_clone_to: None,
                    }],
                    service_role: None,
                })
            }));
        }
        Ok(uses)
    }
}
