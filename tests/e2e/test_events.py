"""Events for machines end to end: the monitor puts them on moto's
EventBridge, a rule with an event pattern routes them to an SQS queue, and
the tests read what that target receives."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from cfnlint.decode import decode_str

from tests.e2e.test_lifecycle import T0, at, items, scheduled, table  # noqa: F401 (fixture)

OWN = "123456789012"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "route-new-alerts-to-sqs.yaml"


def by_arn(events: list[dict]) -> dict[str, dict]:
    """arn -> the event's detail, checking each event names its ARN as its one resource."""
    details = {}
    for e in events:
        assert e["source"] == "connection-watch"
        [arn] = e["resources"]
        assert e["detail"]["arn"] == arn
        details[arn] = e["detail"]
    return details


def route_new_alerts(aws, bus: str) -> str:
    """A second rule on the bus, with the event pattern of examples/route-new-alerts-to-sqs.yaml
    for the own account: only its new alerts."""
    example, errors = decode_str(EXAMPLE.read_text())
    assert not errors, errors
    pattern = json.loads(json.dumps(example["Resources"]["NewAlertsRule"]["Properties"]["EventPattern"]))
    assert pattern["detail"]["account"] == [{"Ref": "AccountId"}]
    pattern["detail"]["account"] = [OWN]
    events, sqs = aws.client("events"), aws.client("sqs")
    events.put_rule(Name=f"{bus}-new", EventBusName=bus, EventPattern=json.dumps(pattern))
    queue_url = sqs.create_queue(QueueName=f"{bus}-new")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=f"{bus}-new", EventBusName=bus, Targets=[{"Id": "new", "Arn": queue_arn}])
    return queue_url


def test_events_follow_the_lifecycle_with_one_alert_id_per_stuck_period(aws, codestar, lambda_function, table):
    topic_arn, alerts = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    bus, received = aws.bus_with_queue(f"bus-{uuid.uuid4().hex[:8]}")
    new_only = route_new_alerts(aws, bus)
    [heals, stays] = codestar.seed("us-east-1", 2, "PENDING")
    host = codestar.add_host("us-east-1", "ghe", status="PENDING")
    monitor = lambda_function("monitor", {
        "ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1", "STATE_TABLE": table,
        "REPEAT_INTERVAL": "24h", "EVENT_BUS": bus})

    first = monitor.invoke(scheduled(T0))
    assert first.ok, first.body
    assert first.body["eventsPut"] == 3
    events = aws.drain(received)
    assert sorted(e["detail-type"] for e in events) == ["Connection Alert", "Connection Alert", "Host Alert"]
    new = by_arn(events)
    assert set(new) == {heals, stays, host}
    assert {d["state"] for d in new.values()} == {"new"}
    assert {d["firstSeen"] for d in new.values()} == {T0}
    assert {d["account"] for d in new.values()} == {OWN}
    assert len({d["alertId"] for d in new.values()}) == 3
    assert new[heals]["consoleUrl"].startswith("https://")
    assert len(aws.drain(new_only)) == 3
    assert len(aws.drain(alerts)) == 1, "the email alert goes out as well"

    quiet = monitor.invoke(scheduled(at(0.5)))
    assert quiet.ok and quiet.body["eventsPut"] == 0
    assert aws.drain(received) == []

    codestar.set_status(heals, "AVAILABLE")
    healed = monitor.invoke(scheduled(at(1)))
    assert healed.ok, healed.body
    resolved = by_arn(aws.drain(received))
    assert list(resolved) == [heals]
    assert resolved[heals]["state"] == "resolved"
    assert resolved[heals]["alertId"] == new[heals]["alertId"]
    assert aws.drain(new_only) == [], "the rule routes new alerts only"

    due = monitor.invoke(scheduled(at(24.5)))
    assert due.ok, due.body
    ongoing = by_arn(aws.drain(received))
    assert set(ongoing) == {stays, host}
    assert {d["state"] for d in ongoing.values()} == {"ongoing"}
    assert {arn: d["alertId"] for arn, d in ongoing.items()} == {arn: new[arn]["alertId"] for arn in (stays, host)}


def test_a_missing_bus_fails_the_run_keeps_the_table_and_the_next_run_sends_what_was_missed(
        aws, codestar, lambda_function, table):
    topic_arn, alerts = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [stuck] = codestar.seed("us-east-1", 1, "PENDING")
    # USED_BY off: pipelines other tests left in moto would put a pipeline cache item in the table.
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1", "STATE_TABLE": table, "USED_BY": "none"}
    missing = f"gone-{uuid.uuid4().hex[:8]}"

    failed = lambda_function("monitor", {**env, "EVENT_BUS": missing}).invoke(scheduled(T0))

    assert failed.error_type == "EventsFailed", failed.body
    assert missing in failed.error_message and "does not exist" in failed.error_message
    assert items(aws, table) == [], "no record committed, no claim left behind"
    assert len(aws.drain(alerts)) == 1, "the email alert still went out"

    bus, received = aws.bus_with_queue(missing)
    retried = lambda_function("monitor", {**env, "EVENT_BUS": bus}).invoke(scheduled(at(0.1)))
    assert retried.ok, retried.body
    [event] = aws.drain(received)
    assert event["detail"]["arn"] == stuck and event["detail"]["state"] == "new"
    assert [i["arn"]["S"] for i in items(aws, table)] == [stuck]


def test_stateless_runs_send_stuck_events_and_a_dry_run_sends_none(aws, codestar, lambda_function):
    topic_arn, _alerts = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    bus, received = aws.bus_with_queue(f"bus-{uuid.uuid4().hex[:8]}")
    stuck = codestar.seed("eu-west-1", 11, "ERROR")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "EVENT_BUS": bus})

    dry = monitor.invoke({"dryRun": True})
    assert dry.ok and "eventsPut" not in dry.body
    assert aws.drain(received) == []

    result = monitor.invoke({})
    assert result.ok, result.body
    assert result.body["eventsPut"] == 11
    details = by_arn(aws.drain(received))
    assert set(details) == set(stuck)
    assert {d["state"] for d in details.values()} == {"stuck"}
    assert {d["firstSeen"] for d in details.values()} == {None}
    assert {d["region"] for d in details.values()} == {"eu-west-1"}
