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
    [account] = as_json["accounts"]
    assert {c["arn"] for c in account["connections"]} == {available, pending}

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


def test_the_inventory_shows_observed_failures_and_every_synced_stack(binaries, aws, codestar, tmp_path):
    import uuid
    from tests.e2e.test_git_sync import synced
    suffix = uuid.uuid4().hex[:6]
    names = {k: f"{k}-{suffix}" for k in ("blocked", "healthy", "muted")}
    synced(codestar, list(names.values()))
    codestar.add_sync_blocker("eu-west-1", names["blocked"], "a failed deployment")
    codestar.set_sync_status("eu-west-1", names["blocked"], "FAILED")
    codestar.set_sync_status("eu-west-1", names["healthy"], "SUCCEEDED")
    codestar.add_sync_blocker("eu-west-1", names["muted"], "known")
    aws.stack("eu-west-1", names["muted"], {"connection-watch:ignore": "true"})
    # Both prefixes granted, yet its source action failed on authorization: observed.
    [available] = codestar.seed("us-east-1", 1, "AVAILABLE", name_prefix=f"seen-{suffix}")
    failed = f"seen-{suffix}"
    aws.pipeline(REGION, failed, role(aws, allow(["codestar-connections:UseConnection",
                                                  "codeconnections:UseConnection"])), new_prefix(available))
    message = "not authorized to perform: codeconnections:UseConnection"
    aws.set_pipeline_state(REGION, failed, [{
        "stageName": "Source", "latestExecution": {"pipelineExecutionId": "e-1", "status": "Failed"},
        "actionStates": [{"actionName": "Source", "latestExecution": {
            "status": "Failed", "lastStatusChange": 1_800_000_000,
            "errorDetails": {"code": "JobFailed", "message": message}}}]}])

    ran = look(binaries, aws, codestar, tmp_path, "--inventory", USED_BY="pipelines", USED_BY_REGIONS=REGION,
               MONITOR_REGIONS="us-east-1,eu-west-1")
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert f"- pipeline {failed} ({REGION}) on {new_prefix(available)}" in out, out
    assert f"Evidence: observed at 2027-01-15T08:00:00Z: {message}" in out, out
    rows = {line.split()[0]: line.split()[1] for line in out.split("Synced stacks:\n", 1)[1].splitlines()[1:]
            if line and not line.startswith(("Consumers", "Read:"))}
    assert (rows[names["blocked"]], rows[names["healthy"]], rows[names["muted"]]) == ("BLOCKED", "ok", "ignored"), out
    as_json = json.loads(look(binaries, aws, codestar, tmp_path, "--inventory", "--json", USED_BY="pipelines",
                              USED_BY_REGIONS=REGION, MONITOR_REGIONS="us-east-1,eu-west-1").stdout)
    [account] = as_json["accounts"]
    stacks = {s["stack"]: s for s in account["syncedStacks"]}
    assert stacks[names["blocked"]]["repository"] == "infra" and stacks[names["healthy"]]["status"] == "ok"
    [finding] = [f for f in as_json["findings"] if f["consumer"]["name"] == failed]
    assert finding["evidence"] == "observed"
