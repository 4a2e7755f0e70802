//! The CodeStar Connections adapter: every call the two Lambdas make, with
//! paging, not-found and errors mapped to the project's own types, and the
//! regional clients that route each call where AWS serves it.

use super::paging::{walk, WalkError};
use crate::domain::arn::{settings_url, ResourceArn};
use crate::domain::connection::{Connection, Provider};
use crate::domain::host::Host;
use crate::domain::watched::Tags;
use aws_sdk_codestarconnections::config::Region;
use aws_sdk_codestarconnections::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_codestarconnections::types::{ProviderType, Tag};
use aws_sdk_codestarconnections::{Client, Config};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// The largest page ListConnections and ListHosts return.
const PAGE_SIZE: i32 = 100;

#[derive(Debug, Error)]
pub enum CodestarError {
    #[error("{operation} failed: {message}")]
    Service {
        operation: &'static str,
        code: Option<String>,
        message: String,
    },
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("{operation} did not finish before the run's deadline")]
    TimedOut { operation: &'static str },
}

impl CodestarError {
    pub(crate) fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
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
            Self::Walk(_) | Self::TimedOut { .. } => None,
        }
    }
}

/// An answer of `$operation` with AWS's `ResourceNotFoundException` as
/// `Ok(None)`: a connection, host, stack or branch that is not there (yet, or
/// any more). The check is the SDK's typed one, on each operation's own
/// error type, which is why this is a macro.
macro_rules! unless_not_found {
    ($operation:literal, $answer:expr) => {
        match $answer {
            Ok(out) => Ok(Some(out)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(CodestarError::from_sdk($operation, e)),
        }
    };
}
pub(crate) use unless_not_found;

/// The `fetch` of `walk` for one listing operation: the request for a
/// token (at the largest page size) and its items mapped to the project's
/// types; the operations differ only in their SDK types.
macro_rules! page_fetcher {
    ($self:ident, $region:expr, $operation:literal, $call:ident, $items:ident, $map:expr) => {
        |token: Option<String>| {
            let request = $self
                .client
                .$call()
                .max_results(PAGE_SIZE)
                .set_next_token(token);
            let region: &str = $region;
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| CodestarError::from_sdk($operation, e))?;
                let items = page.$items().iter().map(|x| $map(x, region)).collect();
                Ok((items, page.next_token().map(str::to_string)))
            }
        }
    };
}

/// CodeStar Connections in one region.
#[derive(Clone, Debug)]
pub struct Connections {
    pub(super) client: Client,
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

    /// Every connection of the account (every home region), all pages.
    pub async fn list_all(&self) -> Result<Vec<Connection>, CodestarError> {
        let mut connections = Vec::new();
        self.for_each_page(|page| connections.extend(page)).await?;
        Ok(connections)
    }

    /// Walks every page of ListConnections, handing each to `on_page` as it
    /// arrives so the caller can start work on it while the next page loads.
    pub async fn for_each_page(
        &self,
        on_page: impl FnMut(Vec<Connection>),
    ) -> Result<(), CodestarError> {
        let region = self.region();
        let fetch = page_fetcher!(
            self,
            &region,
            "ListConnections",
            list_connections,
            connections,
            connection_from_sdk
        );
        walk("ListConnections", fetch, on_page).await
    }

    /// The region's hosts (hosts are regional), all pages.
    pub async fn hosts(&self) -> Result<Vec<Host>, CodestarError> {
        let region = self.region();
        let mut hosts = Vec::new();
        let fetch = page_fetcher!(self, &region, "ListHosts", list_hosts, hosts, host_from_sdk);
        walk::<_, CodestarError, _, _>("ListHosts", fetch, |page| hosts.extend(page)).await?;
        Ok(hosts)
    }

    /// The tags of a connection or host; `None` when it no longer exists.
    pub async fn tags(&self, arn: &str) -> Result<Option<Tags>, CodestarError> {
        let answer = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send();
        let found = unless_not_found!("ListTagsForResource", answer.await)?;
        Ok(found.map(|out| {
            out.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        }))
    }

    /// One connection; `None` when it does not exist.
    pub async fn get(&self, arn: &str) -> Result<Option<Connection>, CodestarError> {
        let answer = self.client.get_connection().connection_arn(arn).send();
        let found = unless_not_found!("GetConnection", answer.await)?;
        Ok(found.and_then(|out| {
            out.connection()
                .map(|c| connection_from_sdk(c, &self.region()))
        }))
    }

    /// Creates a connection in this region and returns its ARN.
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
        let answer = self.client.delete_connection().connection_arn(arn).send();
        Ok(unless_not_found!("DeleteConnection", answer.await)?.is_some())
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

/// Clients per region, made on first use from one configuration, so they
/// share its HTTP client, credentials, retries and timeouts. A listing goes
/// to one region; a change (and, conservatively, a read) of a connection goes
/// to its home region, where AWS controls its data ("Global resources in AWS
/// CodeConnections", Developer Tools user guide).
#[derive(Clone, Debug)]
pub struct CodestarClients {
    base: Config,
    clients: Arc<Mutex<HashMap<String, Connections>>>,
}

impl CodestarClients {
    pub fn new(base: Config) -> Self {
        Self {
            base,
            clients: Arc::default(),
        }
    }

    /// The configuration's own region: the function's.
    pub fn own_region(&self) -> String {
        self.base
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    pub fn in_region(&self, region: &str) -> Connections {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = self
                    .base
                    .to_builder()
                    .region(Region::new(region.to_string()))
                    .build();
                Connections::new(Client::from_conf(config))
            })
            .clone()
    }

    /// The client of the region an ARN names (its home region); the own
    /// region's for an ARN that does not parse, which AWS then refuses.
    pub fn for_arn(&self, arn: &str) -> Connections {
        match ResourceArn::parse(arn) {
            Some(parsed) => self.in_region(parsed.region),
            None => self.in_region(&self.own_region()),
        }
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

fn connection_from_sdk(
    c: &aws_sdk_codestarconnections::types::Connection,
    listed_in: &str,
) -> Connection {
    let arn = c.connection_arn().unwrap_or_default().to_string();
    let parsed = ResourceArn::parse_connection(&arn);
    let region = parsed.as_ref().map_or(listed_in, |a| a.region).to_string();
    let console_url = parsed
        .as_ref()
        .map_or_else(|| settings_url(&region), ResourceArn::console_url);
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

fn host_from_sdk(h: &aws_sdk_codestarconnections::types::Host, listed_in: &str) -> Host {
    Host::new(
        h.name().unwrap_or_default(),
        h.host_arn().unwrap_or_default(),
        h.status().unwrap_or_default(),
        h.status_message(),
        h.provider_type().map_or("", |p| p.as_str()),
        h.provider_endpoint().unwrap_or_default(),
        listed_in,
    )
}
