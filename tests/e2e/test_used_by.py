"""What a stuck connection breaks, end to end: moto serves CodePipeline and
CodeBuild in two regions, pipelines name the connection by either service
prefix, and the alert lists exactly the pipelines and projects that use it."""

from __future__ import annotations

import json
import uuid

from tests.e2e.test_lifecycle import at, scheduled, table  # noqa: F401 (fixture)

OWN = "123456789012"


def test_a_stuck_connection_lists_exactly_what_uses_it_by_either_prefix(aws, codestar, lambda_function):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [used, unused] = codestar.seed("us-east-1", 2, "PENDING")
    renamed = used.replace(":codestar-connections:", ":codeconnections:")
    suffix = uuid.uuid4().hex[:6]
    role = aws.service_role()
    aws.pipeline("us-east-1", f"payments-deploy-{suffix}", role, used)
    aws.pipeline("eu-west-1", f"payments-eu-{suffix}", role, renamed)
    aws.pipeline("eu-west-1", f"from-s3-{suffix}", role, None)
    aws.project("eu-west-1", f"payments-build-{suffix}", role, renamed)
    aws.project("us-east-1", f"public-build-{suffix}", role, None)
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1,eu-west-1"})

    aws.take_calls()
    result = monitor.invoke({})

    assert result.ok, result.body
    calls = aws.take_calls()
    # One listing of each kind per watched region; a new process reads every pipeline of
    # those regions once (other tests' pipelines share moto), one BatchGetProjects a region.
    existing = sum(len(aws.client("codepipeline", r).list_pipelines()["pipelines"]) for r in ("us-east-1", "eu-west-1"))
    assert {op: n for op, n in calls.items() if op.startswith(("CodePipeline", "CodeBuild"))} == {
        "CodePipeline_20150709.ListPipelines": 2, "CodePipeline_20150709.GetPipeline": existing,
        "CodeBuild_20161006.ListProjects": 2, "CodeBuild_20161006.BatchGetProjects": 2}
    by_arn = {c["arn"]: c for c in result.body["stuck"]}
    found = {(c["kind"], c["name"], c["region"]) for c in by_arn[used]["usedBy"]}
    assert found == {("pipeline", f"payments-deploy-{suffix}", "us-east-1"),
                     ("pipeline", f"payments-eu-{suffix}", "eu-west-1"),
                     ("codebuild-project", f"payments-build-{suffix}", "eu-west-1")}
    assert all(c["account"] == OWN and c["consoleUrl"].startswith("https://") for c in by_arn[used]["usedBy"])
    assert by_arn[unused]["usedBy"] == []
    assert "usedByFailed" not in result.body
    [note] = aws.drain(queue_url)
    document = {c["arn"]: c for c in json.loads(note["Message"])["connections"]}
    assert len(document[used]["usedBy"]) == 3
    [(subject, email)] = aws.email_view(topic_arn)
    assert f"  Breaks:   pipeline payments-eu-{suffix} (eu-west-1): https://" in email, email
    assert f"            pipeline payments-deploy-{suffix} (us-east-1): https://" in email, email
    assert f"            CodeBuild project payments-build-{suffix} (eu-west-1): https://" in email, email
    assert "nothing found: no pipeline or CodeBuild project uses it (a candidate for deletion)" in email
    assert "Breaks" not in subject and len(subject) < 100

    # Warm: the pipelines are unchanged (the same `updated`), so none is read again.
    assert monitor.invoke({}).ok
    assert aws.take_calls()["CodePipeline_20150709.GetPipeline"] == 0


def test_a_quiet_run_looks_nothing_up_and_none_turns_it_off(aws, codestar, lambda_function):
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    codestar.seed("us-east-1", 3, "AVAILABLE")
    quiet = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1"})
    assert quiet.invoke({}).ok
    aws.take_calls()
    assert quiet.invoke({}).ok
    assert not [c for c in aws.take_calls() if c.startswith("CodePipeline") or c.startswith("CodeBuild")]

    codestar.seed("us-east-1", 1, "PENDING")
    off = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1", "USED_BY": "none"})
    result = off.invoke({})
    assert result.ok and "usedBy" not in result.body["stuck"][0]
    assert not [c for c in aws.take_calls() if c.startswith("CodePipeline") or c.startswith("CodeBuild")]


def test_with_a_state_table_a_cold_start_reads_no_unchanged_pipeline(aws, codestar, lambda_function, table):
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [stuck] = codestar.seed("ap-southeast-2", 1, "ERROR")
    role = aws.service_role()
    suffix = uuid.uuid4().hex[:6]
    for i in range(3):
        aws.pipeline("ap-southeast-2", f"cached-{i}-{suffix}", role, stuck if i == 0 else None)
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "ap-southeast-2", "STATE_TABLE": table,
           "REPEAT_INTERVAL": "30m"}

    aws.take_calls()
    first = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert first.ok, first.body
    gets = lambda: aws.take_calls()["CodePipeline_20150709.GetPipeline"]
    assert gets() >= 3
    cache = [i for i in aws.client("dynamodb").scan(TableName=table)["Items"]
             if i["arn"]["S"] == f"pipeline-cache/{OWN}/ap-southeast-2"]
    assert len(cache) == 1 and "expiresAt" in cache[0]

    # A new process (a cold start): the definitions come from the table.
    aws.pipeline("ap-southeast-2", f"cached-new-{suffix}", role, stuck)
    second = lambda_function("monitor", env).invoke(scheduled(at(1)))
    assert second.ok, second.body
    assert gets() == 1, "only the pipeline created since"
    [connection] = [c for c in second.body["stuck"] if c["arn"] == stuck]
    assert connection["state"] == "ongoing"
    assert {c["name"] for c in connection["usedBy"]} == {f"cached-0-{suffix}", f"cached-new-{suffix}"}
