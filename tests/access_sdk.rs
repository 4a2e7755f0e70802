//! IAM's policy simulator behind access verdicts, against a mocked client:
//! allowed, an implicit deny, an explicit deny by an SCP, a permissions
//! boundary's deny, missing context (inconclusive, never denied), throttling
//! (retried, then told apart), and `EvaluationResults` over pages by `Marker`.

use aws_sdk_iam::operation::get_context_keys_for_principal_policy::GetContextKeysForPrincipalPolicyOutput;
use aws_sdk_iam::operation::simulate_principal_policy::{
    SimulatePrincipalPolicyInput, SimulatePrincipalPolicyOutput,
};
use aws_sdk_iam::types::{
    EvaluationResult, OrganizationsDecisionDetail, PermissionsBoundaryDecisionDetail,
    PolicyEvaluationDecisionType, PolicySourceType, ResourceSpecificResult, Statement,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use connection_watch::aws::access::{Simulation, Simulator};
use connection_watch::domain::access::{verdict, ContextValue, Decision, DeniedBy};
use connection_watch::domain::verdicts::Judgement;
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/pipeline";
const CONNECTION: &str =
    "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-dddddddddddd";
const THROTTLED: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
    <Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>";

fn simulator(rules: &[&Rule]) -> Simulator {
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules, |b| {
        b.retry_config(
            aws_sdk_iam::config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    });
    Simulator::new(client.config())
}

fn result(action: &str, decision: PolicyEvaluationDecisionType) -> EvaluationResult {
    EvaluationResult::builder()
        .eval_action_name(action)
        .eval_resource_name(CONNECTION)
        .eval_decision(decision)
        .build()
        .unwrap()
}

fn answering(results: Vec<EvaluationResult>) -> Rule {
    mock!(aws_sdk_iam::Client::simulate_principal_policy).then_output(move || {
        SimulatePrincipalPolicyOutput::builder()
            .set_evaluation_results(Some(results.clone()))
            .is_truncated(false)
            .build()
    })
}

async fn decide(
    rule: &Rule,
    actions: &[&str],
) -> Vec<connection_watch::domain::access::ActionVerdict> {
    let actions: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
    let evaluations = simulator(&[rule])
        .simulate(&Simulation {
            role: ROLE,
            actions: &actions,
            resource: CONNECTION,
            context: &[],
        })
        .await
        .unwrap();
    evaluations.iter().map(verdict).collect()
}

#[tokio::test]
async fn allowed_and_implicitly_denied_actions_are_read_as_aws_decided_them() {
    let rule = answering(vec![
        result(
            "codeconnections:GetConnection",
            PolicyEvaluationDecisionType::Allowed,
        ),
        result(
            "codeconnections:GetConnectionToken",
            PolicyEvaluationDecisionType::ImplicitDeny,
        ),
    ]);
    let verdicts = decide(
        &rule,
        &[
            "codeconnections:GetConnection",
            "codeconnections:GetConnectionToken",
        ],
    )
    .await;
    assert_eq!(verdicts[0].decision, Decision::Allowed);
    assert_eq!(verdicts[1].decision, Decision::ImplicitDeny);
    assert_eq!(
        verdicts[1].denied_by,
        Some(DeniedBy::Statement { policies: vec![] }),
        "no statement allows it"
    );
}

#[tokio::test]
async fn the_request_names_the_role_the_actions_the_arn_and_the_context() {
    let rule = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .match_requests(|input: &SimulatePrincipalPolicyInput| {
            let context = input.context_entries();
            input.policy_source_arn() == Some(ROLE)
                && input.action_names() == ["codeconnections:UseConnection"]
                && input.resource_arns() == [CONNECTION]
                && input.max_items() == Some(1000)
                && context.len() == 1
                && context[0].context_key_name() == Some("codeconnections:BranchName")
                && context[0].context_key_values() == ["main"]
        })
        .then_output(|| {
            SimulatePrincipalPolicyOutput::builder()
                .evaluation_results(result(
                    "codeconnections:UseConnection",
                    PolicyEvaluationDecisionType::Allowed,
                ))
                .build()
        });
    let evaluations = simulator(&[&rule])
        .simulate(&Simulation {
            role: ROLE,
            actions: &["codeconnections:UseConnection".to_string()],
            resource: CONNECTION,
            context: &[ContextValue {
                key: "codeconnections:BranchName".into(),
                value: "main".into(),
            }],
        })
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(evaluations[0].decision, "allowed");
}

#[tokio::test]
async fn an_scp_deny_and_a_boundary_deny_name_the_policy_that_denies() {
    let scp = EvaluationResult::builder()
        .eval_action_name("codeconnections:UseConnection")
        .eval_decision(PolicyEvaluationDecisionType::ExplicitDeny)
        .organizations_decision_detail(
            OrganizationsDecisionDetail::builder()
                .allowed_by_organizations(false)
                .build(),
        )
        .build()
        .unwrap();
    let boundary = EvaluationResult::builder()
        .eval_action_name("codeconnections:GetConnection")
        .eval_decision(PolicyEvaluationDecisionType::ImplicitDeny)
        .matched_statements(
            Statement::builder()
                .source_policy_id("inline")
                .source_policy_type(PolicySourceType::Role)
                .build(),
        )
        .permissions_boundary_decision_detail(
            PermissionsBoundaryDecisionDetail::builder()
                .allowed_by_permissions_boundary(false)
                .build(),
        )
        .build()
        .unwrap();
    let explicit = EvaluationResult::builder()
        .eval_action_name("codeconnections:GetConnectionToken")
        .eval_decision(PolicyEvaluationDecisionType::ExplicitDeny)
        .matched_statements(Statement::builder().source_policy_id("deny-tokens").build())
        .build()
        .unwrap();
    let rule = answering(vec![scp, boundary, explicit]);
    let verdicts = decide(&rule, &["a", "b", "c"]).await;
    assert_eq!(verdicts[0].decision, Decision::ExplicitDeny);
    assert_eq!(verdicts[0].denied_by, Some(DeniedBy::Organizations));
    assert_eq!(verdicts[1].denied_by, Some(DeniedBy::PermissionsBoundary));
    assert_eq!(
        verdicts[2].denied_by,
        Some(DeniedBy::Statement {
            policies: vec!["deny-tokens".into()]
        })
    );
}

#[tokio::test]
async fn missing_context_at_either_level_is_inconclusive_never_denied() {
    let top = EvaluationResult::builder()
        .eval_action_name("codeconnections:UseConnection")
        .eval_decision(PolicyEvaluationDecisionType::ImplicitDeny)
        .missing_context_values("codeconnections:FullRepositoryId")
        .build()
        .unwrap();
    let per_resource = EvaluationResult::builder()
        .eval_action_name("codeconnections:GetConnection")
        .eval_decision(PolicyEvaluationDecisionType::ImplicitDeny)
        .resource_specific_results(
            ResourceSpecificResult::builder()
                .eval_resource_name(CONNECTION)
                .eval_resource_decision(PolicyEvaluationDecisionType::ImplicitDeny)
                .missing_context_values("codeconnections:BranchName")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let rule = answering(vec![top, per_resource]);
    let verdicts = decide(&rule, &["a", "b"]).await;
    for (v, key) in verdicts.iter().zip([
        "codeconnections:FullRepositoryId",
        "codeconnections:BranchName",
    ]) {
        assert_eq!(v.decision, Decision::Inconclusive);
        assert!(!v.denied());
        assert_eq!(
            v.reason.as_deref(),
            Some(format!("no value for {key}").as_str())
        );
    }
}

#[tokio::test]
async fn throttling_is_retried_and_then_told_apart_from_other_failures() {
    let once = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .output(|| {
            SimulatePrincipalPolicyOutput::builder()
                .evaluation_results(result("x:Y", PolicyEvaluationDecisionType::Allowed))
                .build()
        })
        .build();
    assert_eq!(decide(&once, &["x:Y"]).await[0].decision, Decision::Allowed);
    assert_eq!(once.num_calls(), 2, "throttled once, then answered");

    let always = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(5)
        .build();
    let error = simulator(&[&always])
        .simulate(&Simulation {
            role: ROLE,
            actions: &["x:Y".to_string()],
            resource: CONNECTION,
            context: &[],
        })
        .await
        .unwrap_err();
    assert!(error.throttled(), "{error}");
    assert_eq!(always.num_calls(), 2, "the SDK's retries, then given up");

    let missing = mock!(aws_sdk_iam::Client::get_context_keys_for_principal_policy)
        .sequence()
        .http_status(
            404,
            Some(
                "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
                 <Message>The role cannot be found.</Message></Error></ErrorResponse>"
                    .into(),
            ),
        )
        .build();
    let error = simulator(&[&missing]).context_keys(ROLE).await.unwrap_err();
    assert!(!error.throttled());
    assert!(error.to_string().contains("NoSuchEntity"), "{error}");
}

#[tokio::test]
async fn evaluation_results_are_read_over_every_page() {
    let pages = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .match_requests(|input: &SimulatePrincipalPolicyInput| input.marker().is_none())
        .then_output(|| {
            SimulatePrincipalPolicyOutput::builder()
                .evaluation_results(result("a:One", PolicyEvaluationDecisionType::Allowed))
                .is_truncated(true)
                .marker("m1")
                .build()
        });
    let last = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .match_requests(|input: &SimulatePrincipalPolicyInput| input.marker() == Some("m1"))
        .then_output(|| {
            SimulatePrincipalPolicyOutput::builder()
                .evaluation_results(result("a:Two", PolicyEvaluationDecisionType::ImplicitDeny))
                .is_truncated(false)
                .marker("ignored when not truncated")
                .build()
        });
    let evaluations = simulator(&[&pages, &last])
        .simulate(&Simulation {
            role: ROLE,
            actions: &["a:One".to_string(), "a:Two".to_string()],
            resource: CONNECTION,
            context: &[],
        })
        .await
        .unwrap();
    let actions: Vec<&str> = evaluations.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["a:One", "a:Two"]);
    assert_eq!((pages.num_calls(), last.num_calls()), (1, 1));
}

#[tokio::test]
async fn context_keys_are_read_as_iam_lists_them() {
    let rule =
        mock!(aws_sdk_iam::Client::get_context_keys_for_principal_policy).then_output(|| {
            GetContextKeysForPrincipalPolicyOutput::builder()
                .context_key_names("codeconnections:FullRepositoryId")
                .context_key_names("aws:SourceIp")
                .build()
        });
    assert_eq!(
        simulator(&[&rule]).context_keys(ROLE).await.unwrap(),
        ["codeconnections:FullRepositoryId", "aws:SourceIp"]
    );
}

/// `n` pipeline checks on CONNECTION, each with its own role.
fn pipeline_checks(n: usize) -> Vec<connection_watch::domain::access::Check> {
    pipelines_with_roles(n, |i| format!("arn:aws:iam::123456789012:role/p{i}"))
}

/// `n` pipelines on one connection, pipeline `i` with role `role(i)`.
fn pipelines_with_roles(
    n: usize,
    role: impl Fn(usize) -> String,
) -> Vec<connection_watch::domain::access::Check> {
    use connection_watch::domain::consumer::{Consumer, ConsumerKind, Grant, Source, Uses};
    (0..n)
        .flat_map(|i| {
            let uses = Uses {
                consumer: Consumer::from_arn(
                    ConsumerKind::Pipeline,
                    &format!("arn:aws:codepipeline:us-east-1:123456789012:p{i}"),
                )
                .unwrap(),
                sources: vec![Source {
                    connection: CONNECTION.into(),
                    stage: Some("Source".into()),
                    action: Some("Source".into()),
                    via: None,
                    grant: Some(Grant {
                        role: role(i),
                        ..Grant::default()
                    }),
                    full_clone_to: Some(Vec::new()),
                }],
                service_role: None,
            };
            connection_watch::domain::access::checks(&uses, CONNECTION)
        })
        .collect()
}

fn no_keys() -> Rule {
    mock!(aws_sdk_iam::Client::get_context_keys_for_principal_policy)
        .then_output(|| GetContextKeysForPrincipalPolicyOutput::builder().build())
}

/// The run's bound at its edge: one under, at, and one over.
#[tokio::test]
async fn checks_past_the_bound_are_counted_not_simulated() {
    use connection_watch::monitor::consumers::access::check_access;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for (checks, limit, simulated, unchecked) in [(2, 3, 2, 0), (3, 3, 3, 0), (4, 3, 3, 1)] {
        let keys = no_keys();
        let allowed = answering(vec![result(
            "codeconnections:UseConnection",
            PolicyEvaluationDecisionType::Allowed,
        )]);
        let run = check_access(
            &simulator(&[&keys, &allowed]),
            &pipeline_checks(checks),
            limit,
            deadline,
        )
        .await;
        assert_eq!(
            allowed.num_calls(),
            simulated,
            "{checks} checks, bound {limit}"
        );
        assert_eq!(
            (run.judged.len(), checks - run.judged.len()),
            (simulated, unchecked)
        );
        assert!(run.judged.iter().all(|j| *j == Judgement::Allowed));
        assert_eq!(run.gaps.len(), usize::from(unchecked > 0));
    }
}

#[tokio::test]
async fn iam_throttling_ends_the_checks_and_counts_the_rest() {
    use connection_watch::monitor::consumers::access::check_access;
    let keys = no_keys();
    let throttled = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(10)
        .build();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let run = check_access(
        &simulator(&[&keys, &throttled]),
        &pipeline_checks(3),
        10,
        deadline,
    )
    .await;
    assert_eq!(throttled.num_calls(), 2, "the first check's tries only");
    assert!(
        run.judged.is_empty(),
        "no verdict, and never a denial: all 3 are not checked"
    );
    assert!(run.gaps[0].starts_with("IAM throttled"), "{:?}", run.gaps);
}

/// Consumers sharing a role and a connection ARN ask IAM once: the minimum
/// is one simulation per role, connection ARN and action group.
#[tokio::test]
async fn consumers_sharing_a_role_and_a_connection_cost_one_simulation() {
    use connection_watch::monitor::consumers::access::check_access;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let keys = no_keys();
    let allowed = answering(vec![result(
        "codeconnections:UseConnection",
        PolicyEvaluationDecisionType::Allowed,
    )]);
    let roles = |i: usize| format!("arn:aws:iam::123456789012:role/shared-{}", i % 2);
    let run = check_access(
        &simulator(&[&keys, &allowed]),
        &pipelines_with_roles(5, roles),
        10,
        deadline,
    )
    .await;
    assert_eq!(run.judged.len(), 5, "every check has its verdict");
    assert_eq!(allowed.num_calls(), 2, "one simulation per role");
    assert_eq!(run.simulations, 2);
    assert_eq!(keys.num_calls(), 2, "one context-key read per role");
}
