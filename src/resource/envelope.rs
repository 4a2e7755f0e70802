//! The request and response shapes of a CloudFormation custom resource:
//! the fields every answer needs, read from the raw event, and what a
//! successful request reports.

use super::decision::FAILED_CREATE_PREFIX;
use crate::domain::connection::Connection;
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse as Response,
    CloudFormationCustomResourceResponseStatus as Status,
};
use serde_json::Value;
use std::collections::HashMap;

/// The fields every response needs, read from the raw event so that even a
/// request that does not parse gets its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub response_url: String,
    pub request_type: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
}

impl Envelope {
    pub fn from_event(event: &Value) -> Option<Self> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_string);
        Some(Self {
            response_url: field("ResponseURL")?,
            request_type: field("RequestType").unwrap_or_default(),
            stack_id: field("StackId").unwrap_or_default(),
            request_id: field("RequestId").unwrap_or_default(),
            logical_id: field("LogicalResourceId").unwrap_or_default(),
            physical_id: field("PhysicalResourceId"),
        })
    }

    /// The physical id to report when the request failed: the existing one,
    /// or, for a Create, an id that the following Delete recognises as no connection.
    fn physical_id_on_failure(&self) -> String {
        self.physical_id
            .clone()
            .unwrap_or_else(|| format!("{FAILED_CREATE_PREFIX}{}", self.request_id))
    }

    pub fn response(&self, outcome: Result<Outcome, String>) -> Response {
        let mut response = Response::default();
        response.stack_id = self.stack_id.clone();
        response.request_id = self.request_id.clone();
        response.logical_resource_id = self.logical_id.clone();
        match outcome {
            Ok(outcome) => {
                response.status = Status::Success;
                response.physical_resource_id = outcome.physical_id;
                response.data = outcome.data;
            }
            Err(reason) => {
                response.status = Status::Failed;
                response.reason = Some(reason);
                response.physical_resource_id = self.physical_id_on_failure();
            }
        }
        response
    }
}

/// What a successful request reports to CloudFormation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub physical_id: String,
    pub data: HashMap<String, String>,
}

impl Outcome {
    pub fn of(connection: &Connection) -> Self {
        let data = [
            ("ConnectionArn", &connection.arn),
            ("ConnectionName", &connection.name),
            ("ConnectionStatus", &connection.status),
            ("ProviderType", &connection.provider_type),
            ("OwnerAccountId", &connection.owner_account_id),
            ("ConsoleUrl", &connection.console_url),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
        Self {
            physical_id: connection.arn.clone(),
            data,
        }
    }
}
