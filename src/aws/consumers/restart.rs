//! Restarting what a healed connection had failed (`RETRY_ON_RESOLVED`):
//! read the pipeline's state, let `domain::recovery` judge it, and send the
//! retry once.

use super::ConsumerClients;
use crate::domain::consumer::{brief, Outcome, MAX_REASON_CHARS};
use crate::domain::recovery::{judge, ActionState, StageState, Target, Verdict};
use aws_sdk_codepipeline::config::retry::RetryConfig;
use aws_sdk_codepipeline::error::DisplayErrorContext;
use aws_sdk_codepipeline::primitives::DateTime as SmithyTime;
use aws_sdk_codepipeline::types::StageRetryMode;
use aws_sdk_codepipeline::Client;
use chrono::{DateTime, Utc};

impl ConsumerClients {
    /// Restarts `pipeline` when its source action on the healed connection
    /// (one of `targets`) is the one that failed, at or after `since`:
    /// `RetryStageExecution` of the stage's failed actions, in that
    /// execution. The retry is sent once, without the SDK's retries: it has
    /// no idempotency token, so after an error the state is read again
    /// instead (API reference, RetryStageExecution). Where AWS refuses the
    /// retry (`StageNotRetryableException`, `NotLatestPipelineExecutionException`),
    /// a new execution is started only if the action still shows failed,
    /// with a token made from the failed execution, so that it starts once.
    /// `None`: nothing failed on the connection, nothing is touched.
    pub async fn restart(
        &self,
        region: &str,
        pipeline: &str,
        targets: &[Target<'_>],
        since: DateTime<Utc>,
    ) -> Option<Outcome> {
        let client = self.in_region(region).pipelines;
        let failed = |stage: &str, reason: String| Outcome::Failed {
            stage: stage.to_string(),
            reason: brief(&reason, MAX_REASON_CHARS),
        };
        let stages: Vec<&str> = targets.iter().map(|t| t.stage).collect();
        let state = match read_state(&client, pipeline).await {
            Ok(state) => state,
            Err(e) => return Some(failed(&stages.join(", "), e)),
        };
        let (stage, execution_id) = match judge(&state, targets, since) {
            Verdict::Nothing => return None,
            Verdict::Leave(outcome) => return Some(outcome),
            Verdict::Retry {
                stage,
                execution_id,
            } => (stage, execution_id),
        };
        let retried = client
            .retry_stage_execution()
            .pipeline_name(pipeline)
            .stage_name(&stage)
            .pipeline_execution_id(&execution_id)
            .retry_mode(StageRetryMode::FailedActions)
            .customize()
            .config_override(
                aws_sdk_codepipeline::config::Builder::default()
                    .retry_config(RetryConfig::disabled()),
            )
            .send()
            .await;
        let error = match retried {
            Ok(_) => return Some(Outcome::Retried { stage }),
            Err(e) => e,
        };
        let refused = error.as_service_error().is_some_and(|e| {
            e.is_stage_not_retryable_exception() || e.is_not_latest_pipeline_execution_exception()
        });
        let error = format!("RetryStageExecution: {}", DisplayErrorContext(&error));
        let still_failed = match read_state(&client, pipeline).await {
            Ok(state) => matches!(judge(&state, targets, since), Verdict::Retry { .. }),
            Err(e) => return Some(failed(&stage, format!("{error}; then {e}"))),
        };
        match (refused, still_failed) {
            // The answer was lost, but the retry took effect.
            (false, false) => Some(Outcome::Retried { stage }),
            (false, true) => Some(failed(
                &stage,
                format!("not sent again (it has no idempotency token), and the action still shows failed; {error}"),
            )),
            (true, false) => Some(Outcome::NotRestarted {
                stage,
                reason: "already retried: its source action no longer shows failed".into(),
            }),
            (true, true) => {
                let started = client
                    .start_pipeline_execution()
                    .name(pipeline)
                    .client_request_token(format!("connection-watch-{execution_id}"))
                    .send()
                    .await;
                match started {
                    Ok(_) => Some(Outcome::Started { stage }),
                    Err(e) => Some(failed(
                        &stage,
                        format!("StartPipelineExecution: {}", DisplayErrorContext(&e)),
                    )),
                }
            }
        }
    }
}

impl ConsumerClients {
    /// `pipeline`'s state in `region`, as the decisions read it.
    pub async fn pipeline_state(
        &self,
        region: &str,
        pipeline: &str,
    ) -> Result<Vec<StageState>, String> {
        read_state(&self.in_region(region).pipelines, pipeline).await
    }
}

/// `GetPipelineState`, as the decision reads it.
async fn read_state(client: &Client, pipeline: &str) -> Result<Vec<StageState>, String> {
    let out = client
        .get_pipeline_state()
        .name(pipeline)
        .send()
        .await
        .map_err(|e| format!("GetPipelineState: {}", DisplayErrorContext(&e)))?;
    Ok(out
        .stage_states()
        .iter()
        .map(|s| StageState {
            name: s.stage_name().unwrap_or_default().to_string(),
            execution_id: s
                .latest_execution()
                .map(|e| e.pipeline_execution_id().to_string()),
            status: s
                .latest_execution()
                .map(|e| e.status().as_str().to_string()),
            actions: s
                .action_states()
                .iter()
                .map(|a| {
                    let latest = a.latest_execution();
                    ActionState {
                        name: a.action_name().unwrap_or_default().to_string(),
                        status: latest
                            .and_then(|e| e.status())
                            .map(|s| s.as_str().to_string()),
                        last_status_change: latest
                            .and_then(|e| e.last_status_change())
                            .and_then(chrono_time),
                        error: latest
                            .and_then(|e| e.error_details())
                            .and_then(|d| d.message())
                            .map(str::to_string),
                    }
                })
                .collect(),
        })
        .collect())
}

fn chrono_time(t: &SmithyTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
