//! Serves one CloudFormation request: decide, act within the deadline, and
//! answer exactly once whatever happens.

use super::decision::{decide, Action, FAILED_CREATE_PREFIX};
use super::properties::{
    is_owned_by, owner_tags, ConnectionProperties, REQUEST_ID_TAG, STACK_ID_TAG,
};
use super::responder::{redact, RespondError, Responder};
use crate::codestar::{CodestarClients, CodestarError};
use crate::connection::{Connection, ResourceArn};
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest as Request,
    CloudFormationCustomResourceResponse as Response,
    CloudFormationCustomResourceResponseStatus as Status,
};
use futures_util::FutureExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;
use thiserror::Error;
use tokio::time::Instant;

/// Time kept back from the Lambda deadline to send the response.
const RESPONSE_RESERVE: Duration = Duration::from_secs(3);
/// The answer is given up this long before the deadline, so the function
/// still returns before Lambda stops it.
const ANSWER_MARGIN: Duration = Duration::from_millis(200);

#[derive(Debug, Error)]
pub enum ResourceError {
    #[error("no ResponseURL in the event: there is nowhere to send an answer")]
    NoResponseUrl,
    #[error(transparent)]
    Respond(#[from] RespondError),
}

impl From<ResourceError> for lambda_runtime::Diagnostic {
    fn from(e: ResourceError) -> Self {
        let error_type = match &e {
            ResourceError::NoResponseUrl => "NoResponseUrl",
            ResourceError::Respond(_) => "ResponseNotDelivered",
        };
        Self {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// Why an action failed, in words a person can act on.
#[derive(Debug, Error)]
enum ActionError {
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
    fn of(connection: &Connection) -> Self {
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

/// Runs `work` until `budget` is spent, turning a panic or the timeout into
/// a reason for a FAILED response.
pub async fn within<F>(budget: Duration, work: F) -> Result<Outcome, String>
where
    F: Future<Output = Result<Outcome, String>>,
{
    match tokio::time::timeout(budget, AssertUnwindSafe(work).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("internal error in connection-resource: {message}"))
        }
        Err(_) => Err(format!(
            "no result within {:.1}s, before the Lambda deadline; CodeStar Connections may be slow or throttling. \
             If this was a Create, the rollback's Delete removes a connection it may still have made \
             (tagged {REQUEST_ID_TAG} with this request's id)",
            budget.as_secs_f64()
        )),
    }
}

#[derive(Clone, Debug)]
pub struct ConnectionResource {
    /// Creates go to the function's region; everything that names an ARN
    /// goes to the ARN's home region, where AWS controls the connection.
    codestar: CodestarClients,
    responder: Responder,
}

impl ConnectionResource {
    pub fn new(codestar: CodestarClients, responder: Responder) -> Self {
        Self {
            codestar,
            responder,
        }
    }

    /// Answers one request; `remaining` is the time left before the Lambda
    /// deadline. Returns what was sent, so Lambda does not retry a request
    /// already answered.
    pub async fn handle(&self, event: Value, remaining: Duration) -> Result<Value, ResourceError> {
        let deadline = Instant::now() + remaining;
        let envelope = Envelope::from_event(&event).ok_or(ResourceError::NoResponseUrl)?;
        if let Err(reason) = self.responder.check(&envelope.response_url) {
            // Nowhere CloudFormation listens: act on nothing, answer nothing.
            tracing::error!(%reason, "request refused");
            return Err(RespondError::Refused(reason).into());
        }
        let mut logged = event.clone();
        logged["ResponseURL"] = json!(redact(&envelope.response_url));
        tracing::info!(request = %logged, "request");

        let reserve = RESPONSE_RESERVE.min(remaining / 2);
        let outcome = match serde_json::from_value::<Request>(event) {
            Err(e) => Err(format!("malformed CloudFormation request: {e}")),
            // Boxed: the whole operation future is too deep for the compiler to lay out inline.
            Ok(request) => {
                within(
                    remaining - reserve,
                    Box::pin(self.perform(&envelope, decide(&request))),
                )
                .await
            }
        };
        if let Err(reason) = &outcome {
            tracing::error!(reason = %reason, "request failed");
        }
        let response = envelope.response(outcome);
        let answer_by = deadline.checked_sub(ANSWER_MARGIN).unwrap_or(deadline);
        self.responder
            .send(&envelope.response_url, &response, answer_by)
            .await?;
        Ok(json!({
            "Status": response.status,
            "PhysicalResourceId": response.physical_resource_id,
            "Reason": response.reason,
        }))
    }

    async fn perform(&self, envelope: &Envelope, action: Action) -> Result<Outcome, String> {
        tracing::info!(action = ?action, "decided");
        let result = match action {
            Action::Reject(invalid) => return Err(invalid.to_string()),
            Action::Nothing { reason } => {
                tracing::info!(%reason, "nothing to do");
                return Ok(Outcome {
                    physical_id: envelope.physical_id.clone().unwrap_or_default(),
                    data: HashMap::new(),
                });
            }
            Action::Create(properties) => self.create(envelope, &properties).await,
            Action::UpdateInPlace {
                arn,
                properties,
                removed_tag_keys,
            } => {
                self.update_in_place(envelope, &arn, &properties, &removed_tag_keys)
                    .await
            }
            Action::Delete { arn } => self.delete(envelope, &arn).await,
            Action::DeleteFailedCreate { request_id, name } => {
                self.delete_failed_create(envelope, &request_id, name.as_deref())
                    .await
            }
        };
        result.map_err(|e| e.to_string())
    }

    async fn create(
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

    async fn update_in_place(
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
    async fn delete(&self, envelope: &Envelope, arn: &str) -> Result<Outcome, ActionError> {
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
    async fn delete_failed_create(
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
                        crate::connection::Provider::Type(t) => t.clone(),
                        crate::connection::Provider::Host(_) => String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn within_turns_a_panic_into_a_reason() {
        let result = within(Duration::from_secs(1), async { panic!("boom") }).await;
        assert_eq!(
            result.unwrap_err(),
            "internal error in connection-resource: boom"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn within_gives_up_at_the_budget() {
        let result = within(Duration::from_secs(2), async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(Outcome::default())
        })
        .await;
        assert!(result.unwrap_err().starts_with("no result within 2.0s"));
    }

    #[test]
    fn envelope_survives_a_request_that_does_not_parse() {
        let event = json!({"RequestType": "Create", "ResponseURL": "https://s3/x?sig", "StackId": "s", "RequestId": "r"});
        let envelope = Envelope::from_event(&event).unwrap();
        let failed = envelope.response(Err("malformed".into()));
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(failed.physical_resource_id, "failed-create:r");
        assert_eq!(failed.request_id, "r");
        assert!(Envelope::from_event(&json!({"RequestType": "Create"})).is_none());
    }

    #[test]
    fn failed_update_keeps_its_physical_id() {
        let event = json!({"ResponseURL": "u", "PhysicalResourceId": "arn:x", "RequestId": "r"});
        let failed = Envelope::from_event(&event)
            .unwrap()
            .response(Err("no".into()));
        assert_eq!(failed.physical_resource_id, "arn:x");
        assert_eq!(failed.reason.as_deref(), Some("no"));
    }
}
