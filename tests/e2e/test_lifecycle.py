"""The alert lifecycle end to end: the monitor binary through the Runtime API
with its state in moto's DynamoDB, alerts read back from an SQS subscriber."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

# The monitor takes a scheduled event's time as "now" only within a week
# before the clock, so the runs are dated relative to today.
_BASE = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)


def at(hours: float) -> str:
    return (_BASE + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


T0 = at(0)


def scheduled(time: str) -> dict:
    return {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": time, "detail": {}}


@pytest.fixture
def table(aws):
    name = f"connection-watch-state-{uuid.uuid4().hex[:8]}"
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "region", "KeyType": "HASH"},
                   {"AttributeName": "arn", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "region", "AttributeType": "S"},
                              {"AttributeName": "arn", "AttributeType": "S"}])
    dynamodb.update_time_to_live(TableName=name,
                                 TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})
    return name


def items(aws, table) -> list[dict]:
    """The records (and claims): every item but those of the partition no region is
    named, which holds the record index, the account cursor and the pipeline caches."""
    return sorted((i for i in aws.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
                   if i["region"]["S"] != "connection-watch"), key=lambda i: i["arn"]["S"])


def connections(note: dict) -> dict[str, str]:
    """arn -> state of the connections in one alert."""
    return {c["arn"]: c["state"] for c in json.loads(note["Message"])["connections"]}


def hosts(note: dict) -> dict[str, str]:
    """arn -> state of the hosts in one alert."""
    return {h["arn"]: h["state"] for h in json.loads(note["Message"])["hosts"]}


def test_alert_once_repeat_when_due_announce_recovery(aws, codestar, lambda_function, table):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    pending = codestar.seed("us-east-1", 5, "PENDING")
    errored = codestar.seed("eu-west-1", 1, "ERROR", "GitLab")
    codestar.seed("us-east-1", 20, "AVAILABLE")
    stuck = pending + errored
    monitor = lambda_function("monitor", {
        "ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1,eu-west-1",
        "STATE_TABLE": table, "REPEAT_INTERVAL": "24h"})

    first = monitor.invoke(scheduled(T0))
    assert first.ok, first.body
    [note] = aws.drain(queue_url)
    assert connections(note) == {arn: "new" for arn in stuck}
    assert {c["state"] for c in first.body["stuck"]} == {"new"}
    assert all(c["firstSeen"] == T0 for c in first.body["stuck"])
    assert len(items(aws, table)) == 6

    again = monitor.invoke(scheduled(T0))
    assert again.ok and again.body["messagesPublished"] == 0
    assert len(again.body["suppressed"]) == 6
    assert aws.drain(queue_url) == []

    codestar.set_status(pending[0], "AVAILABLE")
    codestar.set_status(pending[1], "AVAILABLE")
    codestar.remove(pending[2])
    third = monitor.invoke(scheduled(at(1)))
    assert third.ok, third.body
    [note] = aws.drain(queue_url)
    assert connections(note) == {pending[0]: "resolved", pending[1]: "resolved", pending[2]: "resolved"}
    assert note["Subject"] == "3 CodeStar connections resolved"
    assert {c["arn"] for c in third.body["resolved"]} == set(pending[:3])
    assert len(items(aws, table)) == 3

    fourth = monitor.invoke(scheduled(at(24.5)))
    assert fourth.ok, fourth.body
    [note] = aws.drain(queue_url)
    remaining = pending[3:] + errored
    assert connections(note) == {arn: "ongoing" for arn in remaining}
    document = json.loads(note["Message"])
    assert {c["firstSeen"] for c in document["connections"]} == {T0}
    email = aws.email_view(topic_arn)[-1][1]
    assert "STILL STUCK" in email and "(1d 0h)" in email


def test_a_failed_publish_leaves_the_state_unchanged(aws, codestar, lambda_function, table):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [stays, changes] = codestar.seed("us-east-1", 2, "PENDING")
    env = {"MONITOR_REGIONS": "us-east-1", "STATE_TABLE": table}
    assert lambda_function("monitor", {**env, "ALERT_TOPIC_ARN": topic_arn}).invoke(scheduled(T0)).ok
    before = items(aws, table)

    codestar.set_status(changes, "ERROR")
    codestar.seed("us-east-1", 1, "PENDING", name_prefix="newcomer")
    broken = lambda_function("monitor", {**env, "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:gone"})
    failed = broken.invoke(scheduled(at(1)))

    assert failed.error_type == "PublishFailed"
    assert items(aws, table) == before, "no record changed, no claim left behind"
    retried = lambda_function("monitor", {**env, "ALERT_TOPIC_ARN": topic_arn}).invoke(scheduled(at(1 + 5 / 60)))
    assert retried.ok
    aws.drain(queue_url)
    assert retried.body["messagesPublished"] == 1
    states = {c["arn"]: c["state"] for c in retried.body["stuck"]}
    assert states[changes] == "new" and states[stays] == "ongoing"


def test_a_region_that_fails_to_scan_resolves_only_what_was_read(aws, codestar, lambda_function, table):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    codestar.seed("us-east-1", 1, "PENDING")
    errored = codestar.seed("eu-west-1", 2, "ERROR")
    host = codestar.add_host("eu-west-1", f"ghe-{uuid.uuid4().hex[:6]}", status="PENDING")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1,eu-west-1",
                                          "STATE_TABLE": table})
    assert monitor.invoke(scheduled(T0)).ok
    aws.drain(queue_url)

    # Handshakes completed in eu-west-1, and its host set up, but that region
    # cannot be read. The connection listing is global and read from
    # us-east-1: it shows them AVAILABLE, so they resolve; the host, whose
    # listing is the region's own, stays as it was (docs/reference.md, "One
    # kind's trouble stays in its kind").
    for arn in errored:
        codestar.set_status(arn, "AVAILABLE")
    codestar.set_host_status(host, "AVAILABLE")
    codestar.set_faults("eu-west-1", fail_all=True)
    failed = monitor.invoke(scheduled(at(1)))
    assert failed.error_type == "RegionsFailed"
    assert failed.body["errorMessage"].startswith("could not scan eu-west-1")
    [note] = aws.drain(queue_url)
    assert connections(note) == {arn: "resolved" for arn in errored}
    assert hosts(note) == {}
    assert {i["arn"]["S"] for i in items(aws, table)} >= {host}
    assert len(items(aws, table)) == 2, "the us-east-1 connection and the unread host"


def test_overlapping_runs_do_not_both_alert_a_connection(aws, codestar, lambda_function, table):
    from concurrent.futures import ThreadPoolExecutor

    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    stuck = codestar.seed("us-east-1", 30, "PENDING")
    codestar.set_faults("*", latency_ms=20)
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1", "STATE_TABLE": table}
    scheduled_run, manual_run = lambda_function("monitor", env), lambda_function("monitor", env)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda fn: fn.invoke(scheduled(T0)), [scheduled_run, manual_run]))

    assert all(r.ok for r in results), [r.body for r in results]
    alerted = [arn for note in aws.drain(queue_url) for arn in connections(note)]
    assert sorted(alerted) == sorted(stuck), "each connection alerted exactly once"


def test_hosts_have_a_lifecycle_and_a_failed_host_region_changes_none_of_its_records(
        aws, codestar, lambda_function, table):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    east = codestar.add_host("us-east-1", "ghe", status="PENDING")
    west = codestar.add_host("eu-west-1", "gitlab", "GitLabSelfManaged", status="VPC_CONFIG_FAILED_INITIALIZATION",
                             status_message="subnet has no route to the instance")
    south = codestar.add_host("ap-southeast-2", "ghe-syd", status="ERROR")
    codestar.add_host("ap-southeast-2", "ghe-ok")
    [pending] = codestar.seed("eu-west-1", 1, "PENDING")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": ",".join(regions),
                                          "STATE_TABLE": table})

    first = monitor.invoke(scheduled(T0))
    assert first.ok, first.body
    [note] = aws.drain(queue_url)
    assert hosts(note) == {east: "new", west: "new", south: "new"}
    assert connections(note) == {pending: "new"}
    assert {i["arn"]["S"]: i["kind"]["S"] for i in items(aws, table)} == {
        east: "host", west: "host", south: "host", pending: "connection"}
    assert {i["arn"]["S"]: i["region"]["S"] for i in items(aws, table)}[west] == "eu-west-1"

    # Quiet while nothing changes.
    assert monitor.invoke(scheduled(at(1))).body["messagesPublished"] == 0

    # The Sydney host is repaired, the Virginia one too, but eu-west-1's
    # ListHosts fails: its host stays remembered, the others resolve.
    codestar.set_host_status(south, "AVAILABLE")
    codestar.set_host_status(east, "AVAILABLE")
    codestar.set_host_status(west, "AVAILABLE")
    codestar.set_faults("eu-west-1", fail_all=True, operations=["ListHosts"])
    third = monitor.invoke(scheduled(at(2)))
    assert third.error_type == "RegionsFailed"
    [note] = aws.drain(queue_url)
    assert hosts(note) == {east: "resolved", south: "resolved"}
    remembered = {i["arn"]["S"] for i in items(aws, table)}
    assert remembered == {west, pending}

    # eu-west-1 answers again: its host resolves.
    codestar.set_faults("eu-west-1")
    fourth = monitor.invoke(scheduled(at(3)))
    assert fourth.ok, fourth.body
    [note] = aws.drain(queue_url)
    assert hosts(note) == {west: "resolved"}
    assert note["Subject"] == "1 CodeStar host resolved"


def test_a_missing_state_table_still_alerts_then_fails(aws, codestar, lambda_function):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    stuck = codestar.seed("us-east-1", 3, "PENDING")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "STATE_TABLE": "no-such-table"})

    result = monitor.invoke(scheduled(T0))

    assert result.error_type == "StateFailed" and "no-such-table" in result.error_message
    [note] = aws.drain(queue_url)
    assert sorted(c["arn"] for c in json.loads(note["Message"])["connections"]) == sorted(stuck)
    logs = monitor.wait_for_log("run finished")
    assert any('"StuckConnections":3' in line for line in logs), "the run's metrics are still written"


def test_a_scheduled_time_far_in_the_future_cannot_silence_anything(aws, codestar, lambda_function, table):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    codestar.seed("us-east-1", 1, "PENDING")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "STATE_TABLE": table})

    assert monitor.invoke(scheduled("2099-01-01T00:00:00Z")).ok
    [item] = items(aws, table)
    assert item["lastAlerted"]["S"] < "2030", item["lastAlerted"]
    # A time a day ahead is clamped to the clock as well: nothing is due yet.
    aws.drain(queue_url)
    later = (datetime.now(timezone.utc) + timedelta(days=1, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert monitor.invoke(scheduled(later)).body["messagesPublished"] == 0, "the future is clamped too"


@pytest.mark.parametrize("record", [
    # Another version's schema: a number where this one writes RFC 3339, no document.
    {"kind": {"S": "connection"}, "status": {"S": "PENDING"}, "lastAlerted": {"N": "1700000000"}},
    # This schema, but a document that no longer decodes.
    {"kind": {"S": "connection"}, "status": {"S": "PENDING"}, "firstSeen": {"S": T0},
     "lastAlerted": {"S": T0}, "document": {"S": "{\"name\": 7}"}},
])
def test_a_record_of_another_version_is_replaced_and_its_connection_alerted(
        aws, codestar, lambda_function, table, record):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [arn] = codestar.seed("us-east-1", 1, "PENDING")
    aws.client("dynamodb").put_item(TableName=table, Item={
        "region": {"S": "us-east-1"}, "arn": {"S": arn}, **record})
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "STATE_TABLE": table})

    result = monitor.invoke(scheduled(at(1)))

    assert result.ok, result.body
    [note] = aws.drain(queue_url)
    assert connections(note) == {arn: "new"}
    [item] = items(aws, table)
    assert item["lastAlerted"]["S"].startswith(at(1)[:19]) and json.loads(item["document"]["S"])["arn"] == arn
    again = monitor.invoke(scheduled(at(2)))
    assert again.ok and len(again.body["suppressed"]) == 1, "now this version's own record"


def test_a_hanging_state_table_costs_the_lifecycle_not_the_deadline(aws, codestar, lambda_function):
    """DynamoDB accepts the connection and never answers: the state load is
    bounded by the run's deadline, the alert goes out, the run says why."""
    import socket
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(16)
    try:
        topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
        stuck = codestar.seed("us-east-1", 2, "PENDING")
        monitor = lambda_function("monitor", {
            "ALERT_TOPIC_ARN": topic_arn, "STATE_TABLE": "hangs",
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{hanging.getsockname()[1]}"})

        result = monitor.invoke(scheduled(at(1)), timeout_s=8)

        assert result.error_type == "StateFailed", result.body
        assert "deadline" in result.error_message
        assert result.seconds < 8
        [note] = aws.drain(queue_url)
        assert {c["arn"] for c in json.loads(note["Message"])["connections"]} == set(stuck)
    finally:
        hanging.close()
