//! What each custom-resource action does with CodeStar Connections, and
//! why it failed in words a person can act on.

use super::decision::FAILED_CREATE_PREFIX;
use super::envelope::{Envelope, Outcome};
use super::handler::ConnectionResource;
use super::properties::{
    is_owned_by, owner_tags, ConnectionProperties, REQUEST_ID_TAG, STACK_ID_TAG,
};
use crate::aws::codestar::CodestarError;
use crate::domain::arn::ResourceArn;
use crate::domain::connection::{Connection, Provider};
use std::collections::HashMap;
use thiserror::Error;
/// Why an action failed, in words a person can act on.
#[derive(Debug, Error)]
pub(super) enum ActionError {
    #[error("{}", reason(.0))]
    Aws(#[from] CodestarError),
    #[error(
        "ConnectionName {name:?} is already used by {arn}, which this request did not create. \
         Names are unique in a region, and a change of ProviderType or HostArn creates a new \
         connection before the old one is deleted: choose another ConnectionName"
    )]
    NameTaken { name: String, arn: String },
    #[error(
        "{arn} was not created by this stack's {logical_id} resource (it lacks the {STACK_ID_TAG} \
         and logical-id tags connection-watch writes at Create), and connection-watch changes only \
         connections it created. Point the resource at its own connection, or remove it from the stack"
    )]
    NotOwned { arn: String, logical_id: String },
}

/// Who holds a connection name in the region.
enum NameUse {
    Free,
    /// An earlier attempt of this same request (Lambda retries asynchronous invocations).
    Ours(String),
    Taken(String),
}

impl ConnectionResource {
    pub(super) async fn create(
        &self,
        envelope: &Envelope,
        properties: &ConnectionProperties,
    ) -> Result<Outcome, ActionError> {
        let arn = match self
            .name_use(&properties.name, &envelope.request_id)
            .await?
        {
            NameUse::Ours(arn) => {
                tracing::info!(%arn, "reusing the connection an earlier attempt of this request created");
                arn
            }
            NameUse::Taken(arn) => {
                return Err(ActionError::NameTaken {
                    name: properties.name.clone(),
                    arn,
                })
            }
            NameUse::Free => {
                let mut tags = properties.tags.clone();
                tags.extend(owner_tags(
                    &envelope.stack_id,
                    &envelope.logical_id,
                    &envelope.request_id,
                ));
                self.codestar
                    .in_region(&self.codestar.own_region())
                    .create(&properties.name, &properties.provider, &tags)
                    .await?
            }
        };
        Ok(self.describe(&arn, properties).await?)
    }

    /// Who holds `name` in the function's region. The listing holds every
    /// region's connections, and names are unique per region only.
    async fn name_use(&self, name: &str, request_id: &str) -> Result<NameUse, CodestarError> {
        let own = self.codestar.own_region();
        let Some(holder) = self
            .codestar
            .in_region(&own)
            .list_all()
            .await?
            .into_iter()
            .find(|c| c.name == name && c.region == own)
        else {
            return Ok(NameUse::Free);
        };
        let tags = self
            .codestar
            .for_arn(&holder.arn)
            .tags(&holder.arn)
            .await?
            .unwrap_or_default();
        Ok(
            if tags.get(REQUEST_ID_TAG).map(String::as_str) == Some(request_id) {
                NameUse::Ours(holder.arn)
            } else {
                NameUse::Taken(holder.arn)
            },
        )
    }

    pub(super) async fn update_in_place(
        &self,
        envelope: &Envelope,
        arn: &str,
        properties: &ConnectionProperties,
        removed_tag_keys: &[String],
    ) -> Result<Outcome, ActionError> {
        let home = self.codestar.for_arn(arn);
        let Some(connection) = home.get(arn).await? else {
            tracing::warn!(%arn, "connection is gone; creating a replacement");
            return self.create(envelope, properties).await;
        };
        let tags = home.tags(arn).await?.unwrap_or_default();
        if !is_owned_by(&tags, &envelope.stack_id, &envelope.logical_id) {
            return Err(ActionError::NotOwned {
                arn: arn.to_string(),
                logical_id: envelope.logical_id.clone(),
            });
        }
        if !removed_tag_keys.is_empty() {
            home.untag(arn, removed_tag_keys).await?;
        }
        if !properties.tags.is_empty() {
            home.tag(arn, &properties.tags).await?;
        }
        // Tags are not part of Data: the connection as read still describes it.
        Ok(Outcome::of(&connection))
    }

    /// Deletes the connection if this stack's resource created it. One it
    /// did not create is left alone, and the Delete still succeeds: the
    /// stack never owned it.
    pub(super) async fn delete(
        &self,
        envelope: &Envelope,
        arn: &str,
    ) -> Result<Outcome, ActionError> {
        let home = self.codestar.for_arn(arn);
        match home.tags(arn).await? {
            None => tracing::info!(%arn, "connection was already gone"),
            Some(tags) if !is_owned_by(&tags, &envelope.stack_id, &envelope.logical_id) => {
                tracing::warn!(%arn, stack = %envelope.stack_id, logical_id = %envelope.logical_id,
                    "not created by this stack's resource: left alone");
            }
            Some(_) => {
                if !home.delete(arn).await? {
                    tracing::info!(%arn, "connection was already gone");
                }
            }
        }
        Ok(Outcome {
            physical_id: arn.to_string(),
            data: HashMap::new(),
        })
    }

    /// The rollback of a Create that failed (timed out, say) after
    /// CreateConnection: deletes the connection named `name` in the
    /// function's region that carries this stack's id and the failed
    /// request's id, so a redeploy can use the name again.
    pub(super) async fn delete_failed_create(
        &self,
        envelope: &Envelope,
        request_id: &str,
        name: Option<&str>,
    ) -> Result<Outcome, ActionError> {
        let physical_id = format!("{FAILED_CREATE_PREFIX}{request_id}");
        let done = Outcome {
            physical_id,
            data: HashMap::new(),
        };
        let Some(name) = name else {
            return Ok(done);
        };
        let own = self.codestar.own_region();
        let listed = self.codestar.in_region(&own).list_all().await?;
        let Some(orphan) = listed
            .into_iter()
            .find(|c| c.name == name && c.region == own)
        else {
            return Ok(done);
        };
        let home = self.codestar.for_arn(&orphan.arn);
        let tags = home.tags(&orphan.arn).await?.unwrap_or_default();
        if is_owned_by(&tags, &envelope.stack_id, &envelope.logical_id)
            && tags.get(REQUEST_ID_TAG).map(String::as_str) == Some(request_id)
        {
            tracing::warn!(arn = %orphan.arn, "deleting the connection the failed Create left behind");
            home.delete(&orphan.arn).await?;
        }
        Ok(done)
    }

    /// The Data of a connection; right after CreateConnection a read may not
    /// see it yet, and a new connection is always PENDING.
    async fn describe(
        &self,
        arn: &str,
        properties: &ConnectionProperties,
    ) -> Result<Outcome, CodestarError> {
        let connection = match self.codestar.for_arn(arn).get(arn).await? {
            Some(c) => c,
            None => {
                let parsed = ResourceArn::parse_connection(arn);
                Connection {
                    name: properties.name.clone(),
                    arn: arn.to_string(),
                    status: "PENDING".into(),
                    provider_type: match &properties.provider {
                        Provider::Type(t) => t.clone(),
                        Provider::Host(_) => String::new(),
                    },
                    region: parsed
                        .as_ref()
                        .map(|a| a.region.to_string())
                        .unwrap_or_default(),
                    owner_account_id: parsed
                        .as_ref()
                        .map(|a| a.account.to_string())
                        .unwrap_or_default(),
                    host_arn: None,
                    console_url: parsed.map(|a| a.console_url()).unwrap_or_default(),
                    ..Connection::default()
                }
            }
        };
        Ok(Outcome::of(&connection))
    }
}

/// A reason a person can act on.
fn reason(e: &CodestarError) -> String {
    let hint = match e.code() {
        Some("LimitExceededException") => " The account's connection quota is reached: delete unused connections or request a quota increase.",
        Some("ResourceNotFoundException") => " Check that the HostArn names an existing host in this region.",
        Some("ResourceUnavailableException") => " The host or provider is unavailable; check the host's status and retry.",
        Some("ThrottlingException") => " CodeStar Connections is throttling this account; retry the deployment later.",
        Some("AccessDeniedException") => " The function's role lacks a codestar-connections permission.",
        _ => "",
    };
    format!("{e}.{hint}")
}
