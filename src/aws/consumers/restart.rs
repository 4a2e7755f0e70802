//! Restarting what a healed connection had failed (`RETRY_ON_RESOLVED`).

use super::ConsumerClients;
use crate::domain::consumer::Outcome;
use aws_sdk_codepipeline::error::DisplayErrorContext;
use aws_sdk_codepipeline::types::{StageExecutionStatus, StageRetryMode};

impl ConsumerClients {
    /// Restarts `pipeline` if its latest execution failed in one of `stages`
    /// (those holding a source action on the healed connection), as
    /// copilot-cli does after its connection waiter (aws/copilot-cli#1922):
    /// `RetryStageExecution` of the failed actions, or, where AWS refuses a
    /// retry (`StageNotRetryableException`, `NotLatestPipelineExecutionException`;
    /// API reference, RetryStageExecution), `StartPipelineExecution`. `None`:
    /// no such stage failed, so nothing is touched.
    pub async fn restart(&self, region: &str, pipeline: &str, stages: &[&str]) -> Option<Outcome> {
        let client = self.in_region(region).pipelines;
        let state = match client.get_pipeline_state().name(pipeline).send().await {
            Ok(state) => state,
            Err(e) => {
                return Some(Outcome::Failed {
                    stage: stages.join(", "),
                    reason: format!("GetPipelineState: {}", DisplayErrorContext(&e)),
                })
            }
        };
        let (stage, execution) = state.stage_states().iter().find_map(|s| {
            let stage = s.stage_name().filter(|name| stages.contains(name))?;
            let latest = s.latest_execution()?;
            (*latest.status() == StageExecutionStatus::Failed).then(|| {
                (
                    stage.to_string(),
                    latest.pipeline_execution_id().to_string(),
                )
            })
        })?;
        let retried = client
            .retry_stage_execution()
            .pipeline_name(pipeline)
            .stage_name(&stage)
            .pipeline_execution_id(execution)
            .retry_mode(StageRetryMode::FailedActions)
            .send()
            .await;
        let refused = match retried {
            Ok(_) => return Some(Outcome::Retried { stage }),
            Err(e) => e,
        };
        let impossible = refused.as_service_error().is_some_and(|e| {
            e.is_stage_not_retryable_exception() || e.is_not_latest_pipeline_execution_exception()
        });
        if !impossible {
            let reason = format!("RetryStageExecution: {}", DisplayErrorContext(&refused));
            return Some(Outcome::Failed { stage, reason });
        }
        match client
            .start_pipeline_execution()
            .name(pipeline)
            .send()
            .await
        {
            Ok(_) => Some(Outcome::Started { stage }),
            Err(e) => Some(Outcome::Failed {
                stage,
                reason: format!("StartPipelineExecution: {}", DisplayErrorContext(&e)),
            }),
        }
    }
}
