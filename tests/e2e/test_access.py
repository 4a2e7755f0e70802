"""The fourth watched kind, access, end to end (docs/reference.md, "Can its
consumers use it (access)"): the real monitor binary through the Runtime
API, consumers read from moto, each role simulated by the local AWS's
SimulatePrincipalPolicy, the lifecycle in moto's DynamoDB, and the alert
read back from an SQS subscriber and an EventBridge rule's queue."""

from __future__ import annotations

import json
import uuid

from tests.e2e.test_iam_simulator import allow, document
from tests.e2e.test_inventory import four_consumers, new_prefix, role
from tests.e2e.test_lifecycle import at, scheduled, table  # noqa: F401 (fixture)

REGION = "ca-central-1"


def access(note: dict) -> dict[str, dict]:
    return {a["name"]: a for a in json.loads(note["Message"])["access"]}


def test_denied_consumers_are_alerted_with_the_fix_and_resolve_with_their_alert_id(
        aws, codestar, lambda_function, table):
    suffix = uuid.uuid4().hex[:6]
    [available] = codestar.seed("us-east-1", 1, "AVAILABLE", name_prefix=f"payments-{suffix}")
    named = new_prefix(available)
    names = {k: f"{k}-{suffix}" for k in ("legacy", "modern", "unsure", "docs")}
    legacy = four_consumers(aws, REGION, named, names)
    topic_arn, queue = aws.topic_with_queue(f"access-{suffix}")
    bus, events_queue = aws.bus_with_queue(f"access-bus-{suffix}")
    env = {"ALERT_TOPIC_ARN": topic_arn, "STATE_TABLE": table, "EVENT_BUS": bus,
           "USED_BY": "pipelines,codebuild", "USED_BY_REGIONS": REGION, "GIT_SYNC": "false"}

    first = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert first.ok, first.body
    report = first.body
    assert report["stuck"] == [], "the connection is AVAILABLE"
    assert {a["name"]: a["state"] for a in report["accessFindings"]} == {
        names["legacy"]: "new", names["docs"]: "new"}, "allowed and inconclusive are not findings"
    checks = report["accessChecks"]
    assert (checks["checks"], checks["simulated"], checks["inconclusive"], checks["notChecked"]) == (4, 4, 1, 0)
    [note] = aws.drain(queue)
    assert note["Subject"] == "2 denied consumers need attention (2 DENIED)"
    found = access(note)
    assert found[names["legacy"]]["otherPrefixAllowed"] is True
    assert found[names["legacy"]]["fix"] == {
        "Effect": "Allow", "Action": ["codeconnections:UseConnection"], "Resource": named}
    assert found[names["legacy"]]["connectionStatus"] == "AVAILABLE"
    assert found[names["legacy"]]["evidence"] == "simulated"
    assert found[names["docs"]]["actions"][0] == {
        "action": "codeconnections:GetConnectionToken", "decision": "implicitDeny",
        "deniedBy": {"type": "statement", "policies": []}}
    [(_subject, email)] = aws.email_view(topic_arn)
    assert "Cause:    the service prefix rename" in email, email
    assert "results can differ from your live AWS environment" in email, email
    events = aws.drain(events_queue)
    assert {e["detail-type"] for e in events} == {"Access Alert"}
    assert sorted(e["resources"][0] for e in events) == sorted(f["consumer"]["arn"] for f in found.values()), \
        "an event is about the consumer, not its lifecycle key"
    alert_ids = {e["detail"]["name"]: e["detail"]["alertId"] for e in events}
    assert set(alert_ids) == {names["legacy"], names["docs"]}

    # The rename fixed; verdicts simulated again at once (ACCESS_CHECK_HOURS=0).
    fix = found[names["legacy"]]["fix"]
    aws.client("iam").put_role_policy(RoleName=legacy.rsplit("/", 1)[1], PolicyName="renamed",
                                      PolicyDocument=document(fix))
    second = lambda_function("monitor", {**env, "ACCESS_CHECK_HOURS": "0"}).invoke(scheduled(at(1)))
    assert second.ok, second.body
    assert [a["name"] for a in second.body["resolvedAccess"]] == [names["legacy"]]
    assert [a["name"] for a in second.body["suppressedAccess"]] == [names["docs"]], "not yet due again"
    [note] = aws.drain(queue)
    assert note["Subject"] == "1 denied consumer resolved"
    [resolved] = aws.drain(events_queue)
    assert (resolved["detail"]["state"], resolved["detail"]["alertId"]) == ("resolved", alert_ids[names["legacy"]])

    # Kept verdicts: nothing simulated within ACCESS_CHECK_HOURS.
    third = lambda_function("monitor", env).invoke(scheduled(at(2)))
    assert third.ok, third.body
    checks = third.body["accessChecks"]
    assert (checks["simulated"], checks["cached"]) == (0, 4), checks
    assert [a["name"] for a in third.body["suppressedAccess"]] == [names["docs"]]


def test_access_check_false_reads_no_role_and_claims_nothing(aws, codestar, lambda_function):
    suffix = uuid.uuid4().hex[:6]
    [available] = codestar.seed("us-east-1", 1, "AVAILABLE", name_prefix=f"off-{suffix}")
    aws.pipeline(REGION, f"off-{suffix}", role(aws, allow("codestar-connections:UseConnection")),
                 new_prefix(available))
    topic_arn, _queue = aws.topic_with_queue(f"off-{suffix}")
    env = {"ALERT_TOPIC_ARN": topic_arn, "USED_BY": "pipelines", "USED_BY_REGIONS": REGION,
           "GIT_SYNC": "false", "ACCESS_CHECK": "false"}
    ran = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert ran.ok, ran.body
    assert "accessFindings" not in ran.body and "accessChecks" not in ran.body, "not checked is not 0"


def test_an_observed_authorization_failure_on_an_available_connection_is_alerted_as_observed(
        aws, codestar, lambda_function):
    suffix = uuid.uuid4().hex[:6]
    [available] = codestar.seed("us-east-1", 1, "AVAILABLE", name_prefix=f"seen-{suffix}")
    named = new_prefix(available)
    # Both prefixes granted: the simulation allows it, yet its latest run failed (a policy
    # the simulation does not see, say): the failure is positive evidence of its own.
    both = role(aws, allow(["codestar-connections:UseConnection", "codeconnections:UseConnection"]))
    failed, healthy = f"seen-failed-{suffix}", f"seen-healthy-{suffix}"
    aws.pipeline(REGION, failed, both, named)
    aws.pipeline(REGION, healthy, both, named)
    message = (f"User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: "
               f"codeconnections:UseConnection on resource: {named}\nOpen: https://ev.il")
    aws.set_pipeline_state(REGION, failed, [{
        "stageName": "Source", "latestExecution": {"pipelineExecutionId": "e-1", "status": "Failed"},
        "actionStates": [{"actionName": "Source", "latestExecution": {
            "status": "Failed", "lastStatusChange": 1_800_000_000,
            "errorDetails": {"code": "JobFailed", "message": message}}}]}])
    aws.set_pipeline_state(REGION, healthy, [{
        "stageName": "Source", "latestExecution": {"pipelineExecutionId": "e-2", "status": "Failed"},
        "actionStates": [{"actionName": "Source", "latestExecution": {
            "status": "Failed", "lastStatusChange": 1_800_000_000,
            "errorDetails": {"code": "JobFailed", "message": "Repository not found"}}}]}])
    topic_arn, _queue = aws.topic_with_queue(f"seen-{suffix}")
    env = {"ALERT_TOPIC_ARN": topic_arn, "USED_BY": "pipelines", "USED_BY_REGIONS": REGION,
           "GIT_SYNC": "false"}

    ran = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert ran.ok, ran.body
    [finding] = ran.body["accessFindings"]
    assert finding["name"] == failed, "a failure that is not about authorization is no evidence"
    assert finding["evidence"] == "observed"
    assert finding["observed"] == {"at": "2027-01-15T08:00:00Z", "message": message}
    assert finding["actions"] == [{"action": "codeconnections:UseConnection", "decision": "implicitDeny",
                                   "reason": "named by the failure"}]
    [(_subject, email)] = aws.email_view(topic_arn)
    assert "Evidence: observed at 2027-01-15T08:00:00Z: User: arn:aws:sts" in email, email
    assert "\nOpen: https://ev.il" not in email, "AWS's message cannot forge a line"


def test_a_project_handed_a_full_clone_needs_use_connection_under_its_own_role(aws, codestar, lambda_function):
    suffix = uuid.uuid4().hex[:6]
    [available] = codestar.seed("us-east-1", 1, "AVAILABLE", name_prefix=f"clone-{suffix}")
    named = new_prefix(available)
    both = role(aws, allow(["codestar-connections:UseConnection", "codeconnections:UseConnection"]))
    cloner, fixed = f"clone-build-{suffix}", f"clone-fixed-{suffix}"
    # The project's role grants what a project's own source needs, not what a clone needs.
    aws.project(REGION, cloner, role(aws, allow(["codeconnections:GetConnectionToken",
                                                 "codeconnections:GetConnection"])), None, in_pipeline=True)
    aws.project(REGION, fixed, role(aws, allow("codeconnections:UseConnection")), None, in_pipeline=True)
    aws.pipeline(REGION, f"clone-deploy-{suffix}", both, named, full_clone_to=cloner)
    aws.pipeline(REGION, f"clone-ok-{suffix}", both, named, full_clone_to=fixed)
    aws.pipeline(REGION, f"zip-{suffix}", both, named)
    topic_arn, _queue = aws.topic_with_queue(f"clone-{suffix}")
    env = {"ALERT_TOPIC_ARN": topic_arn, "USED_BY": "pipelines,codebuild", "USED_BY_REGIONS": REGION,
           "GIT_SYNC": "false"}

    ran = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert ran.ok, ran.body
    [finding] = ran.body["accessFindings"]
    assert (finding["name"], finding["consumer"]["kind"]) == (cloner, "codebuild-project"), finding
    assert [a["action"] for a in finding["actions"]] == ["codeconnections:UseConnection"]
    assert finding["fix"] == {"Effect": "Allow", "Action": ["codeconnections:UseConnection"], "Resource": named}
    assert finding["consumer"]["via"] == "pipeline-full-clone"
    checks = ran.body["accessChecks"]
    assert (checks["checks"], checks["notChecked"]) == (5, 0), "three pipelines and two clones"
