//! Can a consumer's role use its connection: which actions each kind of
//! consumer needs, under which service prefix, how one simulated decision
//! reads, which pipeline failure is an observed denial, and the statement
//! that fixes a denial (docs/reference.md, "Can its consumers use it").
//! Pure: no I/O.

use super::consumer::{same_connection, Consumer, ConsumerKind, Grant, Uses, Via};
use super::recovery::StageState;
use serde::{Deserialize, Serialize};

/// The two service prefixes a connection ARN and an IAM action may carry:
/// connections created since 2024-07-01 have `codeconnections` ARNs, and
/// "when specifying a resource in the IAM policy, the service prefix needs
/// to match that of the resource" (Developer Tools guide, "Service prefix
/// rename").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Prefix {
    #[serde(rename = "codestar-connections")]
    CodestarConnections,
    #[serde(rename = "codeconnections")]
    Codeconnections,
}

impl Prefix {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodestarConnections => "codestar-connections",
            Self::Codeconnections => "codeconnections",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::CodestarConnections => Self::Codeconnections,
            Self::Codeconnections => Self::CodestarConnections,
        }
    }

    /// A service prefix as IAM and ARNs spell it.
    pub fn parse(service: &str) -> Option<Self> {
        match service {
            "codestar-connections" => Some(Self::CodestarConnections),
            "codeconnections" => Some(Self::Codeconnections),
            _ => None,
        }
    }

    /// The prefix of a connection ARN (`arn:<partition>:<prefix>:...`).
    pub fn of_arn(arn: &str) -> Option<Self> {
        Self::parse(arn.split(':').nth(2)?)
    }

    /// `arn` named with this prefix instead of its own: the same connection.
    pub fn rename(self, arn: &str) -> Option<String> {
        Self::of_arn(arn)?;
        let mut parts: Vec<&str> = arn.splitn(4, ':').collect();
        parts[2] = self.as_str();
        Some(parts.join(":"))
    }
}

/// A connection action a consumer's role must be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConnectionAction {
    UseConnection,
    GetConnectionToken,
    GetConnection,
}

impl ConnectionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UseConnection => "UseConnection",
            Self::GetConnectionToken => "GetConnectionToken",
            Self::GetConnection => "GetConnection",
        }
    }

    /// The IAM action name under `prefix`: `codeconnections:UseConnection`.
    pub fn under(self, prefix: Prefix) -> String {
        format!("{}:{}", prefix.as_str(), self.as_str())
    }
}

/// What a consumer's role needs on its connection, for one of its sources;
/// empty for the kinds that use a connection through AWS's own roles (a
/// Git-synced stack, a Service Catalog product), which are not simulated.
///
/// - a pipeline's source action: `UseConnection` (CodePipeline User Guide,
///   "CodeStarSourceConnection");
/// - a CodeBuild project's own source: `GetConnectionToken` and
///   `GetConnection` (CodeBuild User Guide, "GitHub App connections");
/// - a full clone a pipeline's source action hands a CodeBuild project
///   (`OutputArtifactFormat` `CODEBUILD_CLONE_REF`): `UseConnection`, as
///   aws-cdk grants the project's role (`domain::full_clone`).
pub fn required_actions(kind: ConsumerKind, full_clone: bool) -> Vec<ConnectionAction> {
    match kind {
        ConsumerKind::Pipeline => vec![ConnectionAction::UseConnection],
        ConsumerKind::CodebuildProject if full_clone => vec![ConnectionAction::UseConnection],
        ConsumerKind::CodebuildProject => vec![
            ConnectionAction::GetConnectionToken,
            ConnectionAction::GetConnection,
        ],
        ConsumerKind::GitSyncStack | ConsumerKind::ServiceCatalogProduct => Vec::new(),
    }
}

/// One simulated action as IAM answered it, read off the SDK's
/// `EvaluationResult` by the adapter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub action: String,
    /// `EvalDecision` as AWS wrote it: `allowed`, `explicitDeny`, `implicitDeny`.
    pub decision: String,
    /// `MatchedStatements[].SourcePolicyId`.
    pub matched: Vec<String>,
    /// `MissingContextValues`, top-level and per resource together: with
    /// `ResourceArns` listed AWS reports them per resource (IAM API Reference,
    /// ResourceSpecificResult).
    pub missing: Vec<String>,
    /// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary`.
    pub boundary_allowed: Option<bool>,
    /// `OrganizationsDecisionDetail.AllowedByOrganizations`.
    pub organizations_allowed: Option<bool>,
}

/// How one action was decided.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Allowed,
    ImplicitDeny,
    ExplicitDeny,
    /// Neither allowed nor denied: context the simulation lacked, a call
    /// that failed, or a decision this version does not know. Never read as
    /// denied.
    Inconclusive,
}

/// Which policy denies an action.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum DeniedBy {
    /// The role's own statements: those that deny it, or none that allows it.
    Statement {
        policies: Vec<String>,
    },
    PermissionsBoundary,
    /// A service control policy (`OrganizationsDecisionDetail`).
    Organizations,
}

/// One action's verdict, as the finding lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionVerdict {
    pub action: String,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<DeniedBy>,
    /// Why it is inconclusive, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ActionVerdict {
    pub fn denied(&self) -> bool {
        matches!(
            self.decision,
            Decision::ImplicitDeny | Decision::ExplicitDeny
        )
    }

    /// A simulation that could not be made or answered: inconclusive.
    pub fn inconclusive(action: String, reason: String) -> Self {
        Self {
            action,
            decision: Decision::Inconclusive,
            denied_by: None,
            reason: Some(reason),
        }
    }
}

/// The verdict of one simulated action. Denied only for AWS's
/// `implicitDeny` or `explicitDeny` with every context key supplied; a
/// result with `MissingContextValues` is inconclusive (its conditions were
/// evaluated without the values the real request carries).
pub fn verdict(evaluation: &Evaluation) -> ActionVerdict {
    let action = evaluation.action.clone();
    if !evaluation.missing.is_empty() {
        let keys = evaluation.missing.join(", ");
        return ActionVerdict::inconclusive(action, format!("no value for {keys}"));
    }
    let decision = match evaluation.decision.as_str() {
        "allowed" => Decision::Allowed,
        "implicitDeny" => Decision::ImplicitDeny,
        "explicitDeny" => Decision::ExplicitDeny,
        other => {
            return ActionVerdict::inconclusive(action, format!("IAM answered \"{other}\""));
        }
    };
    let denied_by = (decision != Decision::Allowed).then(|| denied_by(evaluation));
    ActionVerdict {
        action,
        decision,
        denied_by,
        reason: None,
    }
}

/// An SCP first, then the boundary, then the role's statements: a denial by
/// an outer policy stands whatever the role grants.
fn denied_by(evaluation: &Evaluation) -> DeniedBy {
    if evaluation.organizations_allowed == Some(false) {
        DeniedBy::Organizations
    } else if evaluation.boundary_allowed == Some(false) {
        DeniedBy::PermissionsBoundary
    } else {
        DeniedBy::Statement {
            policies: evaluation.matched.clone(),
        }
    }
}

/// Whether a failed source action's `errorDetails.message` is an
/// authorization failure: "not authorized" (as IAM words a denial, "...is
/// not authorized to perform: codestar-connections:UseConnection"), an
/// `AccessDenied`, or a message naming a connection action (the field
/// reports of the prefix rename; docs/reference.md, "observed").
pub fn is_authorization_failure(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("not authorized")
        || lower.contains("accessdenied")
        || lower.contains("access denied")
        || [
            ConnectionAction::UseConnection,
            ConnectionAction::GetConnectionToken,
        ]
        .iter()
        .any(|a| lower.contains(&a.as_str().to_ascii_lowercase()))
}

/// The statement that grants `actions` on `connection` under the prefix the
/// consumer names it by: what a person adds to the role.
pub fn fix_statement(actions: &[ConnectionAction], connection: &str) -> Option<serde_json::Value> {
    let prefix = Prefix::of_arn(connection)?;
    let names: Vec<String> = actions.iter().map(|a| a.under(prefix)).collect();
    Some(serde_json::json!({"Effect": "Allow", "Action": names, "Resource": connection}))
}

/// A condition key and the value a consumer's request would carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextValue {
    pub key: String,
    pub value: String,
}

/// One consumer's use of one connection, to be simulated: its role, the
/// connection ARN as the consumer names it, the actions it needs under that
/// ARN's prefix, and what its requests carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub consumer: Consumer,
    pub role: String,
    pub connection: String,
    pub prefix: Prefix,
    pub actions: Vec<ConnectionAction>,
    pub grant: Grant,
    /// A pipeline's source action, which pulls from the repository
    /// (`ProviderAction` `GitPull`, `ProviderPermissionsRequired` `read_only`).
    pub pulls: bool,
    /// A pipeline's stage and source action that name the connection, where
    /// its failures are observed.
    pub stage: Option<String>,
    pub action: Option<String>,
}

impl Check {
    /// The IAM action names to simulate, under `prefix`.
    pub fn action_names(&self, prefix: Prefix) -> Vec<String> {
        self.actions.iter().map(|a| a.under(prefix)).collect()
    }
}

/// The checks of `uses` on `connection`: one per source that names a role
/// and the connection by an ARN of either prefix; none for the kinds AWS's
/// own roles serve, or a source with no role.
pub fn checks(uses: &Uses, connection: &str) -> Vec<Check> {
    let kind = uses.consumer.kind;
    let mut checks: Vec<Check> = Vec::new();
    for source in uses
        .sources
        .iter()
        .filter(|s| same_connection(&s.connection, connection))
    {
        let Some(grant) = source.grant.clone().filter(|g| !g.role.is_empty()) else {
            continue;
        };
        let Some(prefix) = Prefix::of_arn(&source.connection) else {
            continue;
        };
        let actions = required_actions(kind, source.via == Some(Via::PipelineFullClone));
        let check = Check {
            consumer: Consumer {
                via: source.via,
                ..uses.consumer.clone()
            },
            role: grant.role.clone(),
            connection: source.connection.clone(),
            prefix,
            actions,
            grant,
            pulls: kind == ConsumerKind::Pipeline,
            stage: source.stage.clone(),
            action: source.action.clone(),
        };
        if !check.actions.is_empty()
            && !checks.iter().any(|c| {
                c.role == check.role
                    && c.connection == check.connection
                    && c.grant == check.grant
                    && c.actions == check.actions
            })
        {
            checks.push(check);
        }
    }
    checks
}

/// The context a simulation of `check` supplies for the condition keys the
/// role's policies name (`keys`, from GetContextKeysForPrincipalPolicy), and
/// which of them were assumed rather than read from the consumer's
/// configuration. A key neither read nor assumed is left out, so AWS reports
/// it in `MissingContextValues` and the verdict is inconclusive.
pub fn context_for(check: &Check, keys: &[String]) -> (Vec<ContextValue>, Vec<String>) {
    let mut values = Vec::new();
    let mut assumed = Vec::new();
    for key in keys {
        let Some((prefix, name)) = key.split_once(':') else {
            continue;
        };
        if Prefix::parse(prefix).is_none() {
            continue;
        }
        let (value, read) = match name.to_ascii_lowercase().as_str() {
            "fullrepositoryid" => (check.grant.repository.clone(), true),
            "branchname" => (check.grant.branch.clone(), true),
            "provideraction" if check.pulls => (Some("GitPull".to_string()), false),
            "providerpermissionsrequired" if check.pulls => (Some("read_only".to_string()), false),
            _ => (None, false),
        };
        if let Some(value) = value {
            if !read {
                assumed.push(key.clone());
            }
            values.push(ContextValue {
                key: key.clone(),
                value,
            });
        }
    }
    (values, assumed)
}

/// How far the access checks of one connection reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTally {
    /// Checks simulated to a verdict, denied ones included.
    pub checked: usize,
    pub denied: usize,
    /// Checks with an action neither allowed nor denied: never a finding.
    pub inconclusive: usize,
    /// Checks not simulated this run (its bound, throttling, its deadline).
    pub not_checked: usize,
}

impl AccessTally {
    pub fn plus(self, other: &Self) -> Self {
        Self {
            checked: self.checked + other.checked,
            denied: self.denied + other.denied,
            inconclusive: self.inconclusive + other.inconclusive,
            not_checked: self.not_checked + other.not_checked,
        }
    }
}

/// How a denial was found: the reference's `evidence`, `observed` or
/// `simulated`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// The pipeline's source action failed on an AVAILABLE connection with
    /// an authorization error (`AccessFinding::observed` says when and how).
    Observed,
    Simulated,
}

/// A source action's failure as `GetPipelineState` gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedFailure {
    /// `latestExecution.lastStatusChange` (RFC 3339).
    pub at: String,
    /// `latestExecution.errorDetails.message`: text from AWS, escaped
    /// wherever it is shown.
    pub message: String,
}

/// What simulation does not see, in AWS's words (IAM API Reference,
/// SimulatePrincipalPolicy): every finding says it.
pub const UNSEEN: &str = "Simulation does not evaluate resource-based policies for roles, resource control policies or session policies, and its \"results can differ from your live AWS environment\".";

/// A consumer whose role may not use its connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessFinding {
    pub consumer: Consumer,
    pub connection_arn: String,
    pub role: String,
    pub actions: Vec<ActionVerdict>,
    pub evidence: Evidence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<ObservedFailure>,
    /// The same actions under the other prefix, on the same connection
    /// named with it, would be allowed: the prefix rename.
    pub other_prefix_allowed: bool,
    /// The statement to add to the role.
    pub fix: serde_json::Value,
    /// Context keys given assumed values rather than the consumer's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<String>,
}

/// `check`'s source action as `GetPipelineState` shows it in `stages`,
/// when its latest execution `Failed` with an authorization error: positive
/// evidence that its role may not use the connection (docs/reference.md,
/// "observed").
pub fn observed_failure(check: &Check, stages: &[StageState]) -> Option<ObservedFailure> {
    let (stage, action) = (check.stage.as_deref()?, check.action.as_deref()?);
    let state = stages
        .iter()
        .find(|s| s.name == stage)?
        .actions
        .iter()
        .find(|a| a.name == action)?;
    let message = state.error.as_deref()?;
    (state.status.as_deref() == Some(FAILED) && is_authorization_failure(message)).then(|| {
        ObservedFailure {
            at: state
                .last_status_change
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            message: message.to_string(),
        }
    })
}

/// `ActionExecution.status` of a failed execution (CodePipeline API
/// Reference, `ActionExecutionStatus`).
const FAILED: &str = "Failed";

/// The finding of `check` whose source action failed as `observed` says:
/// the simulation's finding made observed where it denied too; else the
/// actions the failure names are denied, the others inconclusive.
pub fn observed_finding(
    check: &Check,
    observed: ObservedFailure,
    simulated: Option<AccessFinding>,
) -> Option<AccessFinding> {
    if let Some(finding) = simulated {
        return Some(AccessFinding {
            evidence: Evidence::Observed,
            observed: Some(observed),
            ..finding
        });
    }
    let message = observed.message.to_ascii_lowercase();
    let actions = check
        .action_names(check.prefix)
        .into_iter()
        .map(|action| {
            if message.contains(&action.to_ascii_lowercase()) {
                ActionVerdict {
                    action,
                    decision: Decision::ImplicitDeny,
                    denied_by: None,
                    reason: Some("named by the failure".into()),
                }
            } else {
                ActionVerdict::inconclusive(action, "not named by the failure".into())
            }
        })
        .collect();
    Some(AccessFinding {
        consumer: check.consumer.clone(),
        connection_arn: check.connection.clone(),
        role: check.role.clone(),
        actions,
        evidence: Evidence::Observed,
        observed: Some(observed),
        other_prefix_allowed: false,
        fix: fix_statement(&check.actions, &check.connection)?,
        assumed: Vec::new(),
    })
}

/// The finding of `check`, if any action is denied. `other` holds the same
/// actions simulated under the other prefix (`None` when not simulated).
/// Inconclusive actions are listed but never make a finding alone.
pub fn simulated_finding(
    check: &Check,
    verdicts: Vec<ActionVerdict>,
    other: Option<&[ActionVerdict]>,
    assumed: Vec<String>,
) -> Option<AccessFinding> {
    let denied: Vec<ConnectionAction> = check
        .actions
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.denied())
        .map(|(a, _)| *a)
        .collect();
    if denied.is_empty() {
        return None;
    }
    let other_prefix_allowed = other.is_some_and(|other| {
        denied.iter().all(|a| {
            let name = a.under(check.prefix.other());
            other
                .iter()
                .any(|v| v.action == name && v.decision == Decision::Allowed)
        })
    });
    Some(AccessFinding {
        consumer: check.consumer.clone(),
        connection_arn: check.connection.clone(),
        role: check.role.clone(),
        actions: verdicts,
        evidence: Evidence::Simulated,
        observed: None,
        other_prefix_allowed,
        fix: fix_statement(&denied, &check.connection)?,
        assumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc";
    const OLD: &str = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/abc";

    fn evaluation(decision: &str) -> Evaluation {
        Evaluation {
            action: "codeconnections:UseConnection".into(),
            decision: decision.into(),
            ..Evaluation::default()
        }
    }

    #[test]
    fn a_prefix_is_read_off_the_arn_and_renamed_to_the_other() {
        assert_eq!(Prefix::of_arn(NEW), Some(Prefix::Codeconnections));
        assert_eq!(Prefix::of_arn(OLD), Some(Prefix::CodestarConnections));
        assert_eq!(Prefix::of_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(
            Prefix::CodestarConnections.rename(NEW).as_deref(),
            Some(OLD)
        );
        assert_eq!(Prefix::Codeconnections.rename(NEW).as_deref(), Some(NEW));
    }

    #[test]
    fn each_kind_needs_its_own_actions() {
        use ConnectionAction::*;
        assert_eq!(
            required_actions(ConsumerKind::Pipeline, false),
            [UseConnection]
        );
        assert_eq!(
            required_actions(ConsumerKind::CodebuildProject, false),
            [GetConnectionToken, GetConnection]
        );
        assert_eq!(
            required_actions(ConsumerKind::CodebuildProject, true),
            [UseConnection]
        );
        assert!(required_actions(ConsumerKind::GitSyncStack, false).is_empty());
        assert!(required_actions(ConsumerKind::ServiceCatalogProduct, true).is_empty());
    }

    #[test]
    fn only_an_implicit_or_explicit_deny_with_all_context_is_denied() {
        assert_eq!(verdict(&evaluation("allowed")).decision, Decision::Allowed);
        assert!(verdict(&evaluation("implicitDeny")).denied());
        assert!(verdict(&evaluation("explicitDeny")).denied());
        let unknown = verdict(&evaluation("deniedSomehow"));
        assert_eq!(unknown.decision, Decision::Inconclusive);
        let missing = Evaluation {
            missing: vec!["codeconnections:FullRepositoryId".into()],
            ..evaluation("implicitDeny")
        };
        let v = verdict(&missing);
        assert!(!v.denied());
        assert_eq!(
            v.reason.as_deref(),
            Some("no value for codeconnections:FullRepositoryId")
        );
    }

    #[test]
    fn an_scp_outranks_the_boundary_and_the_boundary_the_statements() {
        let all = Evaluation {
            matched: vec!["inline".into()],
            boundary_allowed: Some(false),
            organizations_allowed: Some(false),
            ..evaluation("explicitDeny")
        };
        assert_eq!(verdict(&all).denied_by, Some(DeniedBy::Organizations));
        let boundary = Evaluation {
            organizations_allowed: Some(true),
            ..all.clone()
        };
        assert_eq!(
            verdict(&boundary).denied_by,
            Some(DeniedBy::PermissionsBoundary)
        );
        let statement = Evaluation {
            boundary_allowed: Some(true),
            ..boundary
        };
        assert_eq!(
            verdict(&statement).denied_by,
            Some(DeniedBy::Statement {
                policies: vec!["inline".into()]
            })
        );
        assert_eq!(verdict(&evaluation("allowed")).denied_by, None);
    }

    #[test]
    fn only_the_source_actions_failed_authorization_is_observed() {
        use crate::domain::recovery::{ActionState, StageState};
        let check = Check {
            consumer: Consumer::from_arn(
                ConsumerKind::Pipeline,
                "arn:aws:codepipeline:eu-west-1:123456789012:p",
            )
            .unwrap(),
            role: "arn:aws:iam::123456789012:role/r".into(),
            connection: NEW.into(),
            prefix: Prefix::Codeconnections,
            actions: vec![ConnectionAction::UseConnection],
            grant: Grant::default(),
            pulls: true,
            stage: Some("Source".into()),
            action: Some("Checkout".into()),
        };
        let state = |action: &str, status: &str, error: &str| {
            vec![StageState {
                name: "Source".into(),
                execution_id: None,
                status: None,
                actions: vec![ActionState {
                    name: action.into(),
                    status: Some(status.into()),
                    last_status_change: None,
                    error: Some(error.into()),
                }],
            }]
        };
        let denied = "is not authorized to perform: codeconnections:UseConnection";
        assert!(observed_failure(&check, &state("Checkout", "Failed", denied)).is_some());
        assert!(observed_failure(&check, &state("Checkout", "Succeeded", denied)).is_none());
        assert!(observed_failure(&check, &state("Other", "Failed", denied)).is_none());
        assert!(
            observed_failure(&check, &state("Checkout", "Failed", "Repository not found"))
                .is_none()
        );
        let observed = observed_failure(&check, &state("Checkout", "Failed", denied)).unwrap();
        let finding = observed_finding(&check, observed, None).unwrap();
        assert_eq!(finding.evidence, Evidence::Observed);
        assert!(finding.actions[0].denied(), "the action the failure names");
    }

    #[test]
    fn authorization_failures_are_told_from_other_failures() {
        assert!(is_authorization_failure(
            "User: arn:aws:sts::123456789012:assumed-role/p/x is not authorized to perform: codestar-connections:UseConnection on resource: arn:aws:codeconnections:..."
        ));
        assert!(is_authorization_failure("AccessDeniedException"));
        assert!(is_authorization_failure(
            "Unable to use Connection: arn:aws:codeconnections:... The provided role does not have sufficient permissions (UseConnection)."
        ));
        assert!(!is_authorization_failure(
            "Could not access the GitHub repository: the branch main does not exist"
        ));
        assert!(!is_authorization_failure(""));
    }

    #[test]
    fn the_fix_grants_the_actions_under_the_arns_own_prefix() {
        let fix = fix_statement(
            &[
                ConnectionAction::GetConnectionToken,
                ConnectionAction::GetConnection,
            ],
            NEW,
        )
        .unwrap();
        assert_eq!(
            fix,
            serde_json::json!({"Effect": "Allow",
                "Action": ["codeconnections:GetConnectionToken", "codeconnections:GetConnection"],
                "Resource": NEW})
        );
        assert_eq!(
            fix_statement(&[ConnectionAction::UseConnection], "not-an-arn"),
            None
        );
    }

    fn pipeline_uses(connection: &str, role: &str) -> Uses {
        use crate::domain::consumer::Source;
        let consumer = Consumer::from_arn(
            ConsumerKind::Pipeline,
            "arn:aws:codepipeline:eu-west-1:123456789012:deploy",
        )
        .unwrap();
        let source = |action: &str, grant: Option<Grant>| Source {
            connection: connection.to_string(),
            stage: Some("Source".into()),
            action: Some(action.into()),
            via: None,
            grant,
            full_clone_to: Some(Vec::new()),
        };
        let grant = Grant {
            role: role.into(),
            repository: Some("acme/payments".into()),
            branch: Some("main".into()),
        };
        Uses {
            consumer,
            sources: vec![
                source("App", Some(grant.clone())),
                // The same role, repository and branch: one check, not two.
                source("Again", Some(grant)),
                // A cached definition of an earlier version: no grant.
                source("Old", None),
            ],
            service_role: None,
        }
    }

    #[test]
    fn a_check_names_the_connection_as_the_consumer_does() {
        let uses = pipeline_uses(OLD, "arn:aws:iam::123456789012:role/p");
        let found = checks(&uses, NEW);
        assert_eq!(found.len(), 1, "same connection under either prefix, once");
        assert_eq!(found[0].connection, OLD);
        assert_eq!(found[0].prefix, Prefix::CodestarConnections);
        assert_eq!(
            found[0].action_names(found[0].prefix),
            ["codestar-connections:UseConnection"]
        );
        assert!(checks(&pipeline_uses(OLD, ""), NEW).is_empty(), "no role");
        let other = "arn:aws:codeconnections:eu-west-1:123456789012:connection/xyz";
        assert!(checks(&uses, other).is_empty());
    }

    #[test]
    fn context_is_read_from_the_consumer_or_assumed_and_said_so() {
        let check = checks(&pipeline_uses(NEW, "arn:aws:iam::123456789012:role/p"), NEW).remove(0);
        let keys: Vec<String> = [
            "codeconnections:FullRepositoryId",
            "codeconnections:BranchName",
            "codeconnections:ProviderAction",
            "codeconnections:ProviderPermissionsRequired",
            "codeconnections:OwnerId",
            "aws:SourceIp",
        ]
        .map(String::from)
        .to_vec();
        let (values, assumed) = context_for(&check, &keys);
        let pairs: Vec<(&str, &str)> = values
            .iter()
            .map(|c| (c.key.as_str(), c.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("codeconnections:FullRepositoryId", "acme/payments"),
                ("codeconnections:BranchName", "main"),
                ("codeconnections:ProviderAction", "GitPull"),
                ("codeconnections:ProviderPermissionsRequired", "read_only"),
            ],
            "OwnerId and aws:SourceIp are left for AWS to report missing"
        );
        assert_eq!(
            assumed,
            [
                "codeconnections:ProviderAction",
                "codeconnections:ProviderPermissionsRequired"
            ]
        );
    }

    fn allowed(action: &str) -> ActionVerdict {
        ActionVerdict {
            action: action.into(),
            decision: Decision::Allowed,
            denied_by: None,
            reason: None,
        }
    }

    #[test]
    fn a_denial_allowed_under_the_other_prefix_is_the_rename_with_its_fix() {
        let check = checks(&pipeline_uses(NEW, "arn:aws:iam::123456789012:role/p"), NEW).remove(0);
        let denied = verdict(&evaluation("implicitDeny"));
        let other = [allowed("codestar-connections:UseConnection")];
        let finding =
            simulated_finding(&check, vec![denied.clone()], Some(&other), Vec::new()).unwrap();
        assert!(finding.other_prefix_allowed);
        assert_eq!(finding.evidence, Evidence::Simulated);
        assert_eq!(
            finding.fix,
            serde_json::json!({"Effect": "Allow",
                "Action": ["codeconnections:UseConnection"], "Resource": NEW})
        );
        let neither = simulated_finding(&check, vec![denied], Some(&[]), Vec::new()).unwrap();
        assert!(!neither.other_prefix_allowed);
        assert_eq!(
            simulated_finding(
                &check,
                vec![allowed("codeconnections:UseConnection")],
                None,
                vec![]
            ),
            None
        );
        let unsure =
            ActionVerdict::inconclusive("codeconnections:UseConnection".into(), "x".into());
        assert_eq!(
            simulated_finding(&check, vec![unsure], None, vec![]),
            None,
            "inconclusive alone is never a finding"
        );
    }
}
