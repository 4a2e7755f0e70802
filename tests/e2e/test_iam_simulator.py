"""The local AWS's SimulatePrincipalPolicy and GetContextKeysForPrincipalPolicy
(moto has neither) against AWS's documented behaviour: the IAM User Guide's
"Policy evaluation logic" (an explicit deny overrides any allow; without an
allow the answer is an implicit deny; a permissions boundary and an SCP must
also allow) and the IAM API Reference's answer shapes (one EvaluationResult
per action, ResourceSpecificResults per resource, MissingContextValues there
when ResourceArns is listed, MaxItems and Marker paging)."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

CONNECTION = "arn:aws:codeconnections:us-east-1:{account}:connection/5b7b3a1c-0000-4000-8000-000000000001"
# A management account of its own, so that this organization's SCPs never
# reach the accounts other tests simulate in.
MANAGEMENT = "210987654321"


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def role_with(aws, *statements: dict, account: str | None = None, boundary: list[dict] | None = None,
              managed: list[dict] | None = None) -> str:
    iam = aws.client("iam", account=account)
    arn = aws.service_role(account=account)
    name = arn.rsplit("/", 1)[1]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=document(*statements))
    for i, statement in enumerate(managed or []):
        policy = iam.create_policy(PolicyName=f"{name}-managed-{i}", PolicyDocument=document(statement))
        iam.attach_role_policy(RoleName=name, PolicyArn=policy["Policy"]["Arn"])
    if boundary:
        policy = iam.create_policy(PolicyName=f"{name}-boundary", PolicyDocument=document(*boundary))
        iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=policy["Policy"]["Arn"])
    return arn


def decide(aws, role: str, actions: list[str], account: str = "123456789012", **extra) -> list[dict]:
    iam = aws.client("iam", account=account if account != "123456789012" else None)
    return iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions,
                                         ResourceArns=[CONNECTION.format(account=account)],
                                         **extra)["EvaluationResults"]


def test_an_allow_allows_and_without_one_the_answer_is_an_implicit_deny(aws):
    role = role_with(aws, allow("codeconnections:UseConnection"))
    result, = decide(aws, role, ["codeconnections:UseConnection"])
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "inline"
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "role"
    result, = decide(aws, role, ["codeconnections:GetConnectionToken"])
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MatchedStatements"] == []


def test_the_service_prefix_must_match_the_resources(aws):
    # Developer Tools guide, "Service prefix rename": "When specifying a
    # resource in the IAM policy, the service prefix needs to match that of
    # the resource". A role granting only the old prefix cannot use a new ARN.
    role = role_with(aws, allow("codestar-connections:UseConnection"))
    result, = decide(aws, role, ["codeconnections:UseConnection"])
    assert result["EvalDecision"] == "implicitDeny"


def test_an_explicit_deny_overrides_any_allow(aws):
    role = role_with(aws, allow("codeconnections:*"), deny("codeconnections:UseConnection"))
    result, = decide(aws, role, ["codeconnections:UseConnection"])
    assert result["EvalDecision"] == "explicitDeny"
    assert [s["SourcePolicyId"] for s in result["MatchedStatements"]] == ["inline"]
    result, = decide(aws, role, ["codeconnections:GetConnection"])
    assert result["EvalDecision"] == "allowed"


def test_not_action_and_not_resource_and_wildcards(aws):
    role = role_with(aws, {"Effect": "Allow", "NotAction": "codeconnections:Delete*", "Resource": "*"},
                     {"Effect": "Deny", "Action": "codeconnections:Get*",
                      "NotResource": "arn:aws:codeconnections:*:*:connection/5b7b3a1c-*"})
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in decide(
        aws, role, ["codeconnections:UseConnection", "codeconnections:DeleteConnection",
                    "codeconnections:GetConnection"])}
    assert decisions == {"codeconnections:UseConnection": "allowed",
                         "codeconnections:DeleteConnection": "implicitDeny",
                         "codeconnections:GetConnection": "allowed"}


def test_an_attached_managed_policy_counts_and_is_named_by_its_type(aws):
    role = role_with(aws, managed=[allow("codeconnections:UseConnection")])
    result, = decide(aws, role, ["codeconnections:UseConnection"])
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "user-managed"


def test_a_permissions_boundary_must_allow_too(aws):
    role = role_with(aws, allow("codeconnections:*"), boundary=[allow("codeconnections:GetConnection")])
    results = {r["EvalActionName"]: r for r in decide(
        aws, role, ["codeconnections:UseConnection", "codeconnections:GetConnection"])}
    denied = results["codeconnections:UseConnection"]
    assert denied["EvalDecision"] == "implicitDeny"
    assert denied["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert results["codeconnections:GetConnection"]["EvalDecision"] == "allowed"


def test_a_condition_key_not_supplied_is_reported_missing_per_resource(aws):
    condition = {"StringEquals": {"codeconnections:FullRepositoryId": "acme/payments"}}
    role = role_with(aws, allow("codeconnections:UseConnection", Condition=condition))
    iam = aws.client("iam")
    assert iam.get_context_keys_for_principal_policy(PolicySourceArn=role)["ContextKeyNames"] == [
        "codeconnections:FullRepositoryId"]
    result, = decide(aws, role, ["codeconnections:UseConnection"])
    assert result["EvalDecision"] == "implicitDeny"
    assert result["ResourceSpecificResults"][0]["MissingContextValues"] == ["codeconnections:FullRepositoryId"]
    entry = {"ContextKeyName": "codeconnections:FullRepositoryId", "ContextKeyType": "string"}
    result, = decide(aws, role, ["codeconnections:UseConnection"],
                     ContextEntries=[{**entry, "ContextKeyValues": ["acme/payments"]}])
    assert result["EvalDecision"] == "allowed"
    assert result["ResourceSpecificResults"][0]["MissingContextValues"] == []
    result, = decide(aws, role, ["codeconnections:UseConnection"],
                     ContextEntries=[{**entry, "ContextKeyValues": ["acme/other"]}])
    assert result["EvalDecision"] == "implicitDeny"


def test_an_scp_deny_is_reported_as_the_organizations_decision(aws):
    orgs = aws.client("organizations", account=MANAGEMENT)
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]["Id"]
    orgs.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    member = orgs.create_account(AccountName="guarded", Email="guarded@example.com")["CreateAccountStatus"]["AccountId"]
    scp = orgs.create_policy(Name="no-connections", Description="", Type="SERVICE_CONTROL_POLICY",
                             Content=document(allow("*"), deny("codeconnections:UseConnection")))
    orgs.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=member)
    role = role_with(aws, allow("codeconnections:*"), account=member)
    results = {r["EvalActionName"]: r for r in decide(
        aws, role, ["codeconnections:UseConnection", "codeconnections:GetConnection"], account=member)}
    denied = results["codeconnections:UseConnection"]
    assert denied["EvalDecision"] == "explicitDeny"
    assert denied["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert results["codeconnections:GetConnection"]["OrganizationsDecisionDetail"] == {
        "AllowedByOrganizations": True}

    # "SCPs don't affect users or roles in the management account"
    # (Organizations User Guide, "Service control policies"), even at the root.
    orgs.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=root)
    manager = role_with(aws, allow("codeconnections:*"), account=MANAGEMENT)
    result, = decide(aws, manager, ["codeconnections:UseConnection"], account=MANAGEMENT)
    assert result["EvalDecision"] == "allowed"
    assert "OrganizationsDecisionDetail" not in result


def test_results_page_by_max_items_and_marker(aws):
    role = role_with(aws, allow("codeconnections:*"))
    actions = ["codeconnections:UseConnection", "codeconnections:GetConnection",
               "codeconnections:GetConnectionToken"]
    iam = aws.client("iam")
    seen, marker = [], None
    while True:
        page = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions, MaxItems=2,
                                             ResourceArns=[CONNECTION.format(account="123456789012")],
                                             **({"Marker": marker} if marker else {}))
        assert len(page["EvaluationResults"]) <= 2
        seen += [r["EvalActionName"] for r in page["EvaluationResults"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == actions


def test_what_aws_refuses_is_refused(aws):
    iam = aws.client("iam")
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:role/nobody",
                                      ActionNames=["codeconnections:UseConnection"])
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"
    role = role_with(aws, allow("codeconnections:*"))
    with pytest.raises(botocore.exceptions.ClientError) as too_many:
        # MaxItems is 1 to 1000 (IAM API Reference, SimulatePrincipalPolicy).
        iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["codeconnections:UseConnection"],
                                      MaxItems=1001)
    assert too_many.value.response["Error"]["Code"] == "ValidationError"


def test_the_examples_pipeline_role_may_use_a_connection_of_either_prefix(aws):
    from cfnlint.decode import decode

    from tests.e2e.test_iam import ROOT

    template, _ = decode(str(ROOT / "examples" / "pipeline-with-connection.yaml"))
    statements = template["Resources"]["PipelineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    connection = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["RepoConnection", "ConnectionArn"]}]
    assert connection, "the example's role no longer grants its connection"
    for prefix in ("codeconnections", "codestar-connections"):
        arn = CONNECTION.format(account="123456789012").replace("codeconnections", prefix)
        role = role_with(aws, *[{**s, "Resource": arn} for s in connection])
        result, = aws.client("iam").simulate_principal_policy(
            PolicySourceArn=role, ActionNames=[f"{prefix}:UseConnection"], ResourceArns=[arn])["EvaluationResults"]
        assert result["EvalDecision"] == "allowed", prefix
