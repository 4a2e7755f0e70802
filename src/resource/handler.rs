//! Serves one CloudFormation request: decide, act within the deadline, and
//! answer exactly once whatever happens.

use super::decision::{decide, Action};
use super::envelope::{Envelope, Outcome};
use super::properties::REQUEST_ID_TAG;
use super::responder::{redact, RespondError, Responder};
use crate::aws::codestar::CodestarClients;
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
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
    pub(super) codestar: CodestarClients,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponseStatus as Status;

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
