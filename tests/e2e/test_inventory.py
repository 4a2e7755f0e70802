"""`monitor --inventory` through the real binary against the local AWS
(docs/reference.md, "A look from a terminal"): every connection with its
consumers, and each consumer's role simulated on the connection ARN as the
consumer names it. A role that grants only the old prefix on a
`codeconnections` ARN is called the prefix rename, with the statement to add;
a role granting both is quiet; a CodeBuild role without GetConnectionToken is
denied; a verdict the simulation cannot reach is never called denied; and a
fixed role is quiet on the next look."""

from __future__ import annotations

import json

from tests.e2e.test_iam_simulator import allow, document
from tests.e2e.test_look import look

REGION = "eu-north-1"


def new_prefix(arn: str) -> str:
    return arn.replace("arn:aws:codestar-connections:", "arn:aws:codeconnections:")


def role(aws, *statements: dict) -> str:
    arn = aws.service_role()
    aws.client("iam").put_role_policy(RoleName=arn.rsplit("/", 1)[1], PolicyName="connection",
                                      PolicyDocument=document(*statements))
    return arn


def four_consumers(aws, region: str, connection: str, names: dict[str, str]) -> str:
    """On `connection`, in `region`: pipeline `names["legacy"]` whose role grants only the old
    prefix, `names["modern"]` granting both, `names["unsure"]` whose condition names a key
    nobody supplies, and CodeBuild project `names["docs"]` whose role lacks
    GetConnectionToken. Returns the legacy role."""
    legacy = role(aws, allow("codestar-connections:UseConnection"))
    modern = role(aws, allow(["codestar-connections:UseConnection", "codeconnections:UseConnection"]))
    builder = role(aws, allow("codeconnections:GetConnection"))
    unsure = role(aws, allow("codeconnections:UseConnection",
                             Condition={"StringEquals": {"codeconnections:OwnerId": "acme"}}))
    aws.pipeline(region, names["legacy"], legacy, connection)
    aws.pipeline(region, names["modern"], modern, connection)
    aws.pipeline(region, names["unsure"], unsure, connection)
    aws.project(region, names["docs"], builder, connection)
    return legacy


def inventory(binaries, aws, codestar, tmp_path, *args: str):
    return look(binaries, aws, codestar, tmp_path, "--inventory", *args,
                USED_BY="pipelines,codebuild", USED_BY_REGIONS=REGION)


def test_the_inventory_finds_the_roles_that_cannot_use_their_connection(binaries, aws, codestar, tmp_path):
    [available] = codestar.seed("us-east-1", 1, "AVAILABLE", name_prefix="payments")
    [pending] = codestar.seed("eu-west-1", 1, "PENDING", name_prefix="unfinished")
    named = new_prefix(available)
    legacy = four_consumers(aws, REGION, named, {"legacy": "legacy-deploy", "modern": "modern-deploy",
                                                 "unsure": "unsure-deploy", "docs": "build-docs"})

    ran = inventory(binaries, aws, codestar, tmp_path)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert "reading what uses each connection" in ran.stderr, ran.stderr
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("payments", "unfinished"))}
    assert set(rows) == {"payments-0", "unfinished-0"}, out
    assert "AVAILABLE" in rows["payments-0"] and "3p 1b 0s 0c" in rows["payments-0"], out
    assert "2 denied, 1 unsure" in rows["payments-0"], out
    assert "0p 0b 0s 0c" in rows["unfinished-0"] and "no role to check" in rows["unfinished-0"], out
    assert all(len(line) <= 100 for line in out.splitlines() if line.startswith(("NAME", "payments"))), out

    assert f"- pipeline legacy-deploy ({REGION}) on {named}\n" in out, out
    assert "Cause:    the service prefix rename" in out and "Evidence: simulated" in out, out
    fix = {"Effect": "Allow", "Action": ["codeconnections:UseConnection"], "Resource": named}
    assert f"Fix:      add to the role {json.dumps(fix, separators=(',', ':'))}" in out, out
    assert f"- CodeBuild project build-docs ({REGION})" in out, out
    assert "Denied:   codeconnections:GetConnectionToken (no statement allows it)" in out, out
    assert "modern-deploy" not in out and "unsure-deploy" not in out, "allowed, and inconclusive: not findings"
    assert "results can differ from your live AWS environment" in out, out
    assert "access: 4 checks simulated (2 denied, 1 inconclusive)" in out, out

    as_json = json.loads(inventory(binaries, aws, codestar, tmp_path, "--json").stdout)
    findings = {f["consumer"]["name"]: f for f in as_json["findings"]}
    assert set(findings) == {"legacy-deploy", "build-docs"}
    assert findings["legacy-deploy"]["otherPrefixAllowed"] is True
    assert findings["build-docs"]["otherPrefixAllowed"] is False
    assert "assumed" not in findings["legacy-deploy"], "its policies name no condition key"
    assert {c["arn"] for c in as_json["connections"]} == {available, pending}

    # The rename fixed: the next look is quiet for that pipeline.
    aws.client("iam").put_role_policy(RoleName=legacy.rsplit("/", 1)[1], PolicyName="renamed",
                                      PolicyDocument=document(fix))
    again = inventory(binaries, aws, codestar, tmp_path).stdout
    assert "legacy-deploy" not in again and "1 denied, 1 unsure" in again, again


def test_an_inventory_that_cannot_list_connections_says_so_and_fails(binaries, aws, codestar, tmp_path):
    codestar.set_faults(fail_all=True)
    ran = inventory(binaries, aws, codestar, tmp_path)
    assert ran.returncode == 1
    assert "(connections could not be listed)" in ran.stdout
    assert "Not read: connections" in ran.stdout, ran.stdout


def test_without_a_consumer_search_unsearched_access_is_not_read(binaries, aws, codestar, tmp_path):
    codestar.seed("us-east-1", 1, "AVAILABLE", name_prefix="unsearched")
    out = look(binaries, aws, codestar, tmp_path, "--inventory", USED_BY="none").stdout
    [row] = [line for line in out.splitlines() if line.startswith("unsearched-0")]
    assert row.rstrip().endswith("not read      not read"), row
    assert "no role to check" not in row, row
