//! CloudFormation, for the id and tags (the ignore tag) of a stuck synced
//! stack: `DescribeStacks` in the stack's region, only for stacks found stuck.

use super::codestar::CodestarError;
use crate::domain::watched::Tags;
use aws_sdk_cloudformation::config::Region;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::{Client, Config};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// CloudFormation clients per region, made on first use from one
/// configuration (its HTTP client, credentials and retries).
#[derive(Clone, Debug)]
pub struct StackClients {
    base: Config,
    clients: Arc<Mutex<HashMap<String, Stacks>>>,
}

impl StackClients {
    pub fn new(base: Config) -> Self {
        Self {
            base,
            clients: Arc::default(),
        }
    }

    pub fn in_region(&self, region: &str) -> Stacks {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = self
                    .base
                    .to_builder()
                    .region(Region::new(region.to_string()))
                    .build();
                Stacks {
                    client: Client::from_conf(config),
                }
            })
            .clone()
    }
}

/// CloudFormation in one region.
#[derive(Clone, Debug)]
pub struct Stacks {
    client: Client,
}

/// What DescribeStacks says of a stack the monitor reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Described {
    /// `arn:...:stack/<name>/<uuid>`; `None` for a stack that no longer exists.
    pub stack_id: Option<String>,
    pub tags: Tags,
}

impl Stacks {
    /// The id and tags of the stack `name`. A stack that no longer exists
    /// has neither: its sync configuration is still alerted, never dropped
    /// unseen. DescribeStacks answers `ValidationError` ("Stack with id
    /// ... does not exist", API reference) for an unknown name.
    pub async fn describe(&self, name: &str) -> Result<Described, CodestarError> {
        match self.client.describe_stacks().stack_name(name).send().await {
            Ok(out) => Ok(out
                .stacks()
                .first()
                .map(|s| Described {
                    stack_id: s.stack_id().map(str::to_string),
                    tags: s
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                        .collect(),
                })
                .unwrap_or_default()),
            Err(e)
                if e.code() == Some("ValidationError")
                    && e.message().is_some_and(|m| m.contains("does not exist")) =>
            {
                Ok(Described::default())
            }
            Err(e) => Err(CodestarError::from_sdk("DescribeStacks", e)),
        }
    }
}
