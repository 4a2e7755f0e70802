//! IAM's policy simulator, asked whether a consumer's role may use its
//! connection: `GetContextKeysForPrincipalPolicy` for the condition keys the
//! role's policies name, and `SimulatePrincipalPolicy` for each action on
//! the connection ARN as the consumer names it (docs/reference.md, "Can its
//! consumers use it"). IAM is global: one client per account.

use super::paging::{walk, WalkError};
use crate::domain::access::{ContextValue, Evaluation};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, EvaluationResult};
use thiserror::Error;

/// SimulatePrincipalPolicy's largest page (IAM API Reference, `MaxItems`:
/// 1 to 1000).
const RESULTS_PER_PAGE: i32 = 1000;

#[derive(Debug, Error)]
pub enum AccessError {
    #[error("{operation} for {role} failed: {message}")]
    Service {
        operation: &'static str,
        role: String,
        message: String,
        /// IAM's `Throttling` after the SDK's own retries: the rest of the
        /// run's simulations would be throttled too.
        throttled: bool,
    },
    #[error(transparent)]
    Walk(#[from] WalkError),
}

impl AccessError {
    fn service<E>(operation: &'static str, role: &str, e: aws_sdk_iam::error::SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let throttled = e
            .as_service_error()
            .and_then(ProvideErrorMetadata::code)
            .is_some_and(|code| code == "Throttling" || code == "ThrottlingException");
        Self::Service {
            operation,
            role: role.to_string(),
            message: DisplayErrorContext(e).to_string(),
            throttled,
        }
    }

    pub fn throttled(&self) -> bool {
        matches!(
            self,
            Self::Service {
                throttled: true,
                ..
            }
        )
    }
}

/// One question for the simulator: may `role` perform `actions` on
/// `resource`, with `context`?
#[derive(Clone, Debug)]
pub struct Simulation<'a> {
    pub role: &'a str,
    pub actions: &'a [String],
    pub resource: &'a str,
    pub context: &'a [ContextValue],
}

/// One account's IAM client.
#[derive(Clone, Debug)]
pub struct Simulator {
    client: aws_sdk_iam::Client,
}

impl Simulator {
    pub fn new(config: &aws_sdk_iam::Config) -> Self {
        Self {
            client: aws_sdk_iam::Client::from_conf(config.clone()),
        }
    }

    /// The condition keys `role`'s policies name (GetContextKeysForPrincipalPolicy:
    /// "all of the context keys referenced in all the IAM policies that are
    /// attached to the specified IAM entity").
    pub async fn context_keys(&self, role: &str) -> Result<Vec<String>, AccessError> {
        let out = self
            .client
            .get_context_keys_for_principal_policy()
            .policy_source_arn(role)
            .send()
            .await
            .map_err(|e| AccessError::service("GetContextKeysForPrincipalPolicy", role, e))?;
        Ok(out.context_key_names().to_vec())
    }

    /// Every action of `simulation`, one `Evaluation` each, over every page.
    pub async fn simulate(
        &self,
        simulation: &Simulation<'_>,
    ) -> Result<Vec<Evaluation>, AccessError> {
        let entries: Vec<ContextEntry> = simulation
            .context
            .iter()
            .map(|c| {
                ContextEntry::builder()
                    .context_key_name(&c.key)
                    .context_key_values(&c.value)
                    .context_key_type(ContextKeyTypeEnum::String)
                    .build()
            })
            .collect();
        let role = simulation.role;
        let fetch = |marker: Option<String>| {
            let request = self
                .client
                .simulate_principal_policy()
                .policy_source_arn(role)
                .set_action_names(Some(simulation.actions.to_vec()))
                .resource_arns(simulation.resource)
                .set_context_entries((!entries.is_empty()).then(|| entries.clone()))
                .max_items(RESULTS_PER_PAGE)
                .set_marker(marker);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| AccessError::service("SimulatePrincipalPolicy", role, e))?;
                let next = page
                    .is_truncated()
                    .then(|| page.marker().map(str::to_string));
                let results = page.evaluation_results().iter().map(evaluation).collect();
                Ok::<_, AccessError>((results, next.flatten()))
            }
        };
        let mut evaluations = Vec::new();
        walk::<_, AccessError, _, _>("SimulatePrincipalPolicy", fetch, |page| {
            evaluations.extend(page)
        })
        .await?;
        Ok(evaluations)
    }
}

/// The fields the verdict reads. AWS now answers one result per action
/// whatever the number of resources, and with `ResourceArns` listed puts
/// the missing context keys under `ResourceSpecificResults` (IAM API
/// Reference, EvaluationResult and ResourceSpecificResult): both places are
/// read.
fn evaluation(result: &EvaluationResult) -> Evaluation {
    let mut missing: Vec<String> = result.missing_context_values().to_vec();
    for specific in result.resource_specific_results() {
        missing.extend(specific.missing_context_values().iter().cloned());
    }
    missing.sort();
    missing.dedup();
    Evaluation {
        action: result.eval_action_name().to_string(),
        decision: result.eval_decision().as_str().to_string(),
        matched: result
            .matched_statements()
            .iter()
            .filter_map(|s| s.source_policy_id().map(str::to_string))
            .collect(),
        missing,
        boundary_allowed: result
            .permissions_boundary_decision_detail()
            .map(|d| d.allowed_by_permissions_boundary()),
        organizations_allowed: result
            .organizations_decision_detail()
            .map(|d| d.allowed_by_organizations()),
    }
}
