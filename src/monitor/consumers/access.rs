//! Can each consumer's role use its connection (docs/reference.md, "Can its
//! consumers use it"): the checks of every connection's consumers, each
//! simulated under the prefix the consumer names the connection by and,
//! when denied, under the other prefix too. Bounded per run; IAM throttling
//! ends the run's simulations and costs only access verdicts.

use crate::aws::access::{AccessError, Simulation, Simulator};
use crate::domain::access::{
    checks, context_for, simulated_finding, verdict, AccessFinding, ActionVerdict, Check, Decision,
    Evaluation,
};
use crate::domain::consumer::Uses;
use crate::domain::verdicts::Judgement;
use std::collections::HashMap;
use tokio::time::{timeout_at, Instant};

/// What one run's access checks judged, and why the rest were not simulated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessRun {
    /// Why some checks were not simulated, once each.
    pub gaps: Vec<String>,
    /// Each simulated check's judgement, in the checks' order: the first
    /// `judged.len()` were simulated, the rest not.
    pub judged: Vec<Judgement>,
    /// SimulatePrincipalPolicy requests made (checks asking the same share one).
    pub simulations: usize,
}

impl AccessRun {
    fn record(&mut self, check: &Check, outcome: Result<Outcome, AccessError>) {
        let judgement = match outcome {
            Ok(Outcome {
                finding: Some(f), ..
            }) => Judgement::Denied {
                finding: Box::new(f),
            },
            Ok(Outcome { verdicts, .. })
                if verdicts
                    .iter()
                    .any(|v| v.decision == Decision::Inconclusive) =>
            {
                Judgement::Inconclusive
            }
            Ok(_) => Judgement::Allowed,
            Err(e) => {
                tracing::warn!(role = %check.role, error = %e, "access: not simulated");
                Judgement::Inconclusive
            }
        };
        self.judged.push(judgement);
    }
}

/// The checks of every connection in `connections` over what `uses` read.
pub fn all_checks<'a>(connections: impl IntoIterator<Item = &'a str>, uses: &[Uses]) -> Vec<Check> {
    connections
        .into_iter()
        .flat_map(|connection| uses.iter().flat_map(move |u| checks(u, connection)))
        .collect()
}

/// Simulates at most `limit` of `checks`, in order, by `deadline`.
pub async fn check_access(
    simulator: &Simulator,
    checks: &[Check],
    limit: usize,
    deadline: Instant,
) -> AccessRun {
    let mut run = AccessRun::default();
    let mut asked = Asked::default();
    for (done, check) in checks.iter().enumerate() {
        let rest = &checks[done..];
        if done >= limit {
            run.gaps
                .push(format!("{} past this run's bound of {limit}", rest.len()));
            break;
        }
        match timeout_at(deadline, simulate(simulator, check, &mut asked)).await {
            Ok(Err(e)) if e.throttled() => {
                run.gaps.push(format!("IAM throttled: {e}"));
                break;
            }
            Ok(outcome) => run.record(check, outcome),
            Err(_) => {
                run.gaps.push("the deadline came first".into());
                break;
            }
        }
    }
    run.simulations = asked.calls;
    run
}

/// What one run has asked IAM: each role's context keys, and each
/// simulation's answer by its request, so that consumers sharing a role and
/// a connection cost one simulation (the minimum), not one each.
#[derive(Default)]
struct Asked {
    keys: HashMap<String, Vec<String>>,
    answers: HashMap<String, Vec<Evaluation>>,
    /// SimulatePrincipalPolicy requests made.
    calls: usize,
}

impl Asked {
    async fn context_keys(
        &mut self,
        simulator: &Simulator,
        role: &str,
    ) -> Result<Vec<String>, AccessError> {
        if let Some(found) = self.keys.get(role) {
            return Ok(found.clone());
        }
        let found = simulator.context_keys(role).await?;
        self.keys.insert(role.to_string(), found.clone());
        Ok(found)
    }

    async fn simulate(
        &mut self,
        simulator: &Simulator,
        request: &Simulation<'_>,
    ) -> Result<Vec<Evaluation>, AccessError> {
        let context: Vec<String> = request
            .context
            .iter()
            .map(|c| format!("{}={}", c.key, c.value))
            .collect();
        let key = format!(
            "{}\n{}\n{}\n{}",
            request.role,
            request.resource,
            request.actions.join(","),
            context.join("\n")
        );
        if let Some(answer) = self.answers.get(&key) {
            return Ok(answer.clone());
        }
        self.calls += 1;
        let answer = simulator.simulate(request).await?;
        self.answers.insert(key, answer.clone());
        Ok(answer)
    }
}

/// One check's verdicts, and its finding when an action is denied.
struct Outcome {
    verdicts: Vec<ActionVerdict>,
    finding: Option<AccessFinding>,
}

async fn simulate(
    simulator: &Simulator,
    check: &Check,
    asked: &mut Asked,
) -> Result<Outcome, AccessError> {
    let role_keys = asked.context_keys(simulator, &check.role).await?;
    let (context, assumed) = context_for(check, &role_keys);
    let actions = check.action_names(check.prefix);
    let request = Simulation {
        role: &check.role,
        actions: &actions,
        resource: &check.connection,
        context: &context,
    };
    let evaluations = asked.simulate(simulator, &request).await?;
    let verdicts: Vec<ActionVerdict> = evaluations.iter().map(verdict).collect();
    if !verdicts.iter().any(ActionVerdict::denied) {
        return Ok(Outcome {
            verdicts,
            finding: None,
        });
    }
    // Denied: would the other prefix's actions be allowed on the same
    // connection named with the other prefix? Then it is the rename.
    let other_prefix = check.prefix.other();
    let other = match other_prefix.rename(&check.connection) {
        Some(renamed) => {
            let actions = check.action_names(other_prefix);
            let request = Simulation {
                role: &check.role,
                actions: &actions,
                resource: &renamed,
                context: &context,
            };
            let evaluations = asked.simulate(simulator, &request).await?;
            Some(evaluations.iter().map(verdict).collect::<Vec<_>>())
        }
        None => None,
    };
    let finding = simulated_finding(check, verdicts.clone(), other.as_deref(), assumed);
    Ok(Outcome { verdicts, finding })
}
