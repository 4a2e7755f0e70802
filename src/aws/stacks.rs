//! CloudFormation, for the tags of a stuck synced stack (the ignore tag):
//! `DescribeStacks` in the stack's region, only for stacks found stuck.

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

impl Stacks {
    /// The tags of the stack `name`. A stack that no longer exists has
    /// none: its sync configuration is still alerted, never dropped
    /// unseen. DescribeStacks answers `ValidationError` ("Stack with id
    /// ... does not exist", API reference) for an unknown name.
    pub async fn tags(&self, name: &str) -> Result<Tags, CodestarError> {
        match self.client.describe_stacks().stack_name(name).send().await {
            Ok(out) => Ok(out
                .stacks()
                .iter()
                .flat_map(|s| s.tags())
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect()),
            Err(e)
                if e.code() == Some("ValidationError")
                    && e.message().is_some_and(|m| m.contains("does not exist")) =>
            {
                Ok(Tags::new())
            }
            Err(e) => Err(CodestarError::from_sdk("DescribeStacks", e)),
        }
    }
}
