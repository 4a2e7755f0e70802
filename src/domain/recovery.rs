//! Whether a healed connection's pipeline is restarted (`RETRY_ON_RESOLVED`):
//! only when the source action on *that* connection is the one that failed,
//! and failed while the connection was stuck. Any other failure is left
//! alone and said. Pure: the adapters read the state and send the calls.

use super::consumer::Outcome;
pub use super::consumer::Target;
use chrono::{DateTime, SecondsFormat, Utc};

/// The status `GetPipelineState` gives a failed action or stage
/// (`ActionExecutionStatus`, `StageExecutionStatus`: API reference).
pub const FAILED: &str = "Failed";

/// One stage of `GetPipelineState`, as far as the decision needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageState {
    pub name: String,
    /// The stage's `latestExecution`: its execution id and status.
    pub execution_id: Option<String>,
    pub status: Option<String>,
    pub actions: Vec<ActionState>,
}

/// One action's `latestExecution`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionState {
    pub name: String,
    pub status: Option<String>,
    pub last_status_change: Option<DateTime<Utc>>,
    /// `latestExecution.errorDetails.message`: text from AWS.
    pub error: Option<String>,
}

/// What to do with one pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `RetryStageExecution` of this stage's failed actions, in this execution.
    Retry { stage: String, execution_id: String },
    /// Leave it, and say why (its failure was not the connection's).
    Leave(Outcome),
    /// Nothing failed on it: nothing to do or say.
    Nothing,
}

/// The verdict for a pipeline whose source actions on the healed
/// connection are `targets`, given its state, when the outage began at
/// `since` (the connection's `firstSeen` less the time between two runs).
pub fn judge(stages: &[StageState], targets: &[Target<'_>], since: DateTime<Utc>) -> Verdict {
    let mut verdict = Verdict::Nothing;
    for target in targets {
        let Some(stage) = stages.iter().find(|s| s.name == target.stage) else {
            continue;
        };
        let stage_failed = stage.status.as_deref() == Some(FAILED);
        let action = stage.actions.iter().find(|a| a.name == target.action);
        let action_failed = action.is_some_and(|a| a.status.as_deref() == Some(FAILED));
        let leave = |reason: String| {
            Verdict::Leave(Outcome::NotRestarted {
                stage: stage.name.clone(),
                reason,
            })
        };
        let this = match (action_failed, stage_failed) {
            (true, true) => match action.and_then(|a| a.last_status_change) {
                Some(at) if at >= since => match &stage.execution_id {
                    Some(id) => Verdict::Retry {
                        stage: stage.name.clone(),
                        execution_id: id.clone(),
                    },
                    None => leave("its stage has no execution to retry".into()),
                },
                at => leave(format!(
                    "failed before the outage ({}; the connection was stuck from {})",
                    at.map_or("when is unknown".into(), |at| format!("at {}", rfc3339(at))),
                    rfc3339(since)
                )),
            },
            (true, false) => leave(format!(
                "its stage is {} now: already retried or running",
                stage.status.as_deref().unwrap_or("not failed")
            )),
            (false, true) => leave(format!(
                "failed on another action (action {} is {})",
                target.action,
                action
                    .and_then(|a| a.status.as_deref())
                    .unwrap_or("not run")
            )),
            (false, false) => Verdict::Nothing,
        };
        verdict = match (verdict, this) {
            (retry @ Verdict::Retry { .. }, _) | (_, retry @ Verdict::Retry { .. }) => retry,
            (leave @ Verdict::Leave(_), _) | (Verdict::Nothing, leave) => leave,
        };
    }
    verdict
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    fn stage(status: &str, actions: &[(&str, &str, u32)]) -> StageState {
        StageState {
            name: "Source".into(),
            execution_id: Some("exec-1".into()),
            status: Some(status.into()),
            actions: actions
                .iter()
                .map(|(name, status, hour)| ActionState {
                    error: None,
                    name: name.to_string(),
                    status: Some(status.to_string()),
                    last_status_change: Some(at(*hour)),
                })
                .collect(),
        }
    }

    const TARGET: Target<'static> = Target {
        stage: "Source",
        action: "App",
    };

    #[test]
    fn only_the_connections_own_failure_during_the_outage_is_retried() {
        let since = at(10);
        let retry = Verdict::Retry {
            stage: "Source".into(),
            execution_id: "exec-1".into(),
        };
        // Failed at the edge of the outage, and within it.
        for hour in [10, 11] {
            let state = [stage("Failed", &[("App", "Failed", hour)])];
            assert_eq!(judge(&state, &[TARGET], since), retry, "{hour}");
        }
        let leave_says = |state: &[StageState], words: &str| {
            let Verdict::Leave(Outcome::NotRestarted { reason, .. }) =
                judge(state, &[TARGET], since)
            else {
                panic!("left alone with a reason")
            };
            assert!(reason.contains(words), "{reason}");
        };
        // A stale failure, an hour before the outage.
        leave_says(
            &[stage("Failed", &[("App", "Failed", 9)])],
            "before the outage",
        );
        // Another action of the stage failed: an S3 source beside it.
        leave_says(
            &[stage(
                "Failed",
                &[("App", "Succeeded", 11), ("Assets", "Failed", 11)],
            )],
            "another action",
        );
        // Someone retried already.
        leave_says(
            &[stage("InProgress", &[("App", "Failed", 11)])],
            "already retried",
        );
        // Nothing failed.
        let fine = [stage("Succeeded", &[("App", "Succeeded", 11)])];
        assert_eq!(judge(&fine, &[TARGET], since), Verdict::Nothing);
        // A stage this pipeline does not have.
        assert_eq!(judge(&[], &[TARGET], since), Verdict::Nothing);
    }

    #[test]
    fn a_retry_wins_over_a_reason_to_leave_another_stage() {
        let mut other = stage("Failed", &[("Infra", "Failed", 1)]);
        other.name = "Infra".into();
        let state = [other, stage("Failed", &[("App", "Failed", 11)])];
        let targets = [
            Target {
                stage: "Infra",
                action: "Infra",
            },
            TARGET,
        ];
        assert!(matches!(
            judge(&state, &targets, at(10)),
            Verdict::Retry { .. }
        ));
    }
}
