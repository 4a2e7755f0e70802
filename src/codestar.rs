//! The CodeStar Connections adapter: every call the two Lambdas make, with
//! paging, not-found and errors mapped to the project's own types.

use crate::connection::{Connection, Provider, ResourceArn};
use aws_sdk_codestarconnections::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_codestarconnections::types::{ProviderType, Tag};
use aws_sdk_codestarconnections::Client;
use std::collections::BTreeMap;
use thiserror::Error;

pub type Tags = BTreeMap<String, String>;

/// The largest page ListConnections returns.
const PAGE_SIZE: i32 = 100;

#[derive(Debug, Error)]
pub enum CodestarError {
    #[error("{operation} failed: {message}")]
    Service {
        operation: &'static str,
        code: Option<String>,
        message: String,
    },
    #[error("ListConnections returned the NextToken it was just given ({token:?}); stopped instead of looping")]
    RepeatedToken { token: String },
}

impl CodestarError {
    fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self::Service {
            operation,
            code: err.code().map(str::to_string),
            message: DisplayErrorContext(&err).to_string(),
        }
    }

    /// The AWS error code, such as `LimitExceededException`.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Service { code, .. } => code.as_deref(),
            Self::RepeatedToken { .. } => None,
        }
    }
}

/// CodeStar Connections in one region.
#[derive(Clone, Debug)]
pub struct Connections {
    client: Client,
}

impl Connections {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn region(&self) -> String {
        self.client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    /// Every connection in the region, all pages.
    pub async fn list_all(&self) -> Result<Vec<Connection>, CodestarError> {
        let mut connections = Vec::new();
        self.for_each_page(|page| connections.extend(page)).await?;
        Ok(connections)
    }

    /// Walks every page of ListConnections, handing each to `on_page` as it
    /// arrives so the caller can start work on it while the next page loads.
    pub async fn for_each_page(
        &self,
        mut on_page: impl FnMut(Vec<Connection>),
    ) -> Result<(), CodestarError> {
        let region = self.region();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_connections()
                .max_results(PAGE_SIZE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| CodestarError::from_sdk("ListConnections", e))?;
            on_page(
                page.connections()
                    .iter()
                    .map(|c| from_sdk(c, &region))
                    .collect(),
            );
            match page.next_token().filter(|t| !t.is_empty()) {
                None => return Ok(()),
                Some(next) if token.as_deref() == Some(next) => {
                    return Err(CodestarError::RepeatedToken {
                        token: next.to_string(),
                    })
                }
                Some(next) => token = Some(next.to_string()),
            }
        }
    }

    /// The tags of a resource; `None` when it no longer exists.
    pub async fn tags(&self, arn: &str) -> Result<Option<Tags>, CodestarError> {
        match self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(CodestarError::from_sdk("ListTagsForResource", e)),
        }
    }

    /// One connection; `None` when it does not exist.
    pub async fn get(&self, arn: &str) -> Result<Option<Connection>, CodestarError> {
        match self
            .client
            .get_connection()
            .connection_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.connection().map(|c| from_sdk(c, &self.region()))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(CodestarError::from_sdk("GetConnection", e)),
        }
    }

    /// Creates a connection and returns its ARN.
    pub async fn create(
        &self,
        name: &str,
        provider: &Provider,
        tags: &Tags,
    ) -> Result<String, CodestarError> {
        let request = match provider {
            Provider::Type(t) => self
                .client
                .create_connection()
                .provider_type(ProviderType::from(t.as_str())),
            Provider::Host(arn) => self.client.create_connection().host_arn(arn),
        };
        let out = request
            .connection_name(name)
            .set_tags(Some(sdk_tags(tags)))
            .send()
            .await
            .map_err(|e| CodestarError::from_sdk("CreateConnection", e))?;
        Ok(out.connection_arn().to_string())
    }

    /// Deletes a connection; `false` when it was already gone.
    pub async fn delete(&self, arn: &str) -> Result<bool, CodestarError> {
        match self
            .client
            .delete_connection()
            .connection_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(CodestarError::from_sdk("DeleteConnection", e)),
        }
    }

    pub async fn tag(&self, arn: &str, tags: &Tags) -> Result<(), CodestarError> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sdk_tags(tags)))
            .send()
            .await
            .map_err(|e| CodestarError::from_sdk("TagResource", e))?;
        Ok(())
    }

    pub async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), CodestarError> {
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| CodestarError::from_sdk("UntagResource", e))?;
        Ok(())
    }
}

fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set")
        })
        .collect()
}

fn from_sdk(c: &aws_sdk_codestarconnections::types::Connection, region: &str) -> Connection {
    let arn = c.connection_arn().unwrap_or_default().to_string();
    let parsed = ResourceArn::parse_connection(&arn);
    let region = parsed.as_ref().map_or(region, |a| a.region).to_string();
    let console_url = parsed.as_ref().map_or_else(
        || format!("https://{region}.console.aws.amazon.com/codesuite/settings/connections?region={region}"),
        ResourceArn::console_url,
    );
    Connection {
        name: c.connection_name().unwrap_or_default().to_string(),
        status: c
            .connection_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        provider_type: c
            .provider_type()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        owner_account_id: c.owner_account_id().unwrap_or_default().to_string(),
        host_arn: c.host_arn().map(str::to_string),
        console_url,
        region,
        arn,
        ..Connection::default()
    }
}
