"""Recovery end to end (RETRY_ON_RESOLVED): moto serves CodePipeline, with
GetPipelineState and RetryStageExecution added by the local AWS, and five
pipelines whose source failed while their connections were stuck. Only the
one whose own source action failed on a connection that healed is retried,
once, even by two overlapping runs; the notice says why each other one was
left alone."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

from tests.e2e.test_lifecycle import at, scheduled, table  # noqa: F401 (fixture)


def state(execution: str, source: tuple[str, str], other: tuple[str, str] | None = None) -> list[dict]:
    """A Source stage whose execution failed: its action "Source" in `source`
    (status, RFC 3339 time), and another action "Assets" in `other`."""
    def action(name, status, time):
        return {"actionName": name, "latestExecution": {"status": status, "lastStatusChange": stamp(time)}}
    actions = [action("Source", *source)] + ([action("Assets", *other)] if other else [])
    return [{"stageName": "Source", "latestExecution": {"pipelineExecutionId": execution, "status": "Failed"},
             "actionStates": actions}]


def stamp(time: str) -> float:
    return datetime.strptime(time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def test_only_the_healed_connections_own_failures_are_retried_once(aws, codestar, lambda_function, table):
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [healed, deleted, unwatched] = codestar.seed("us-east-1", 3, "PENDING")
    suffix = uuid.uuid4().hex[:6]
    role = aws.service_role()
    names = {kind: f"{kind}-{suffix}" for kind in ("healed", "deleted", "unwatched", "other-action", "stale")}
    for kind, connection in (("healed", healed), ("deleted", deleted), ("unwatched", unwatched),
                             ("other-action", healed), ("stale", healed)):
        aws.pipeline("us-east-1", names[kind], role, connection)
    during = at(0.2)  # the outage began at the first run, at(0)
    # CodePipeline's model gives execution ids a UUID pattern, which the local AWS checks.
    executions = {kind: str(uuid.uuid4()) for kind in names}
    aws.set_pipeline_state("us-east-1", names["healed"], state(executions["healed"], ("Failed", during)))
    aws.set_pipeline_state("us-east-1", names["deleted"], state(executions["deleted"], ("Failed", during)))
    aws.set_pipeline_state("us-east-1", names["unwatched"], state(executions["unwatched"], ("Failed", during)))
    aws.set_pipeline_state("us-east-1", names["other-action"],
                           state(executions["other-action"], ("Succeeded", during), ("Failed", during)))
    aws.set_pipeline_state("us-east-1", names["stale"], state(executions["stale"], ("Failed", at(-48))))
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1", "USED_BY_REGIONS": "us-east-1",
           "STATE_TABLE": table, "RETRY_ON_RESOLVED": "true", "ALERT_STATUSES": "PENDING"}

    first = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert first.ok, first.body
    assert aws.pipeline_calls_for(set(names.values())) == [], "nothing restarts while stuck"

    codestar.set_status(healed, "AVAILABLE")
    codestar.remove(deleted)
    codestar.set_status(unwatched, "ERROR")  # no longer in ALERT_STATUSES
    # Two overlapping runs: the claims let one of them act on each resolution.
    runs = [lambda_function("monitor", env) for _ in range(2)]
    results: list = [None, None]
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, runs[i].invoke(scheduled(at(1)))))
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ok for r in results), [r.body for r in results]

    calls = aws.pipeline_calls_for(set(names.values()))
    assert [(c["call"], c["pipelineName"], c["pipelineExecutionId"], c["retryMode"]) for c in calls] == [
        ("RetryStageExecution", names["healed"], executions["healed"], "FAILED_ACTIONS")], calls
    # Each resolution's recovery is said by the one run that claimed it.
    acted = [c for r in results for c in r.body.get("resolved", []) if "recovery" in c or "recoveryNote" in c]
    resolved = {c["arn"]: c for c in acted}
    assert sorted(resolved) == sorted(c["arn"] for c in acted) == sorted([healed, deleted, unwatched])
    by_pipeline = {r["pipeline"]: r["outcome"] for r in resolved[healed]["recovery"]}
    assert by_pipeline[names["healed"]] == {"action": "retried", "stage": "Source"}
    assert by_pipeline[names["other-action"]]["action"] == "notRestarted"
    assert "another action" in by_pipeline[names["other-action"]]["reason"]
    assert "before the outage" in by_pipeline[names["stale"]]["reason"]
    assert "deleted" in resolved[deleted]["recoveryNote"] and not resolved[deleted].get("recovery")
    assert "it is ERROR" in resolved[unwatched]["recoveryNote"]
    emails = "\n".join(text for _subject, text in aws.email_view(topic_arn))
    assert f"Restarted: pipeline {names['healed']} (us-east-1): retried the failed actions of stage Source" in emails
    assert f"Not restarted: pipeline {names['other-action']} (us-east-1) (stage Source): failed on another action" \
        in emails, emails
    assert "Recovery: nothing restarted: it is no longer listed (deleted)" in emails
