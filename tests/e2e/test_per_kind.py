"""One kind's trouble stays in its kind (docs/reference.md): a denied Git sync
read, end to end through the Runtime API, costs only the synced stacks of
that region; and what a narrowed, event or dry run writes for alarms."""

from __future__ import annotations

import json
import time
import uuid

from tests.e2e.test_git_sync import synced
from tests.e2e.test_lifecycle import at, scheduled, table  # noqa: F401 (fixture)

REGION = "eu-west-1"


def metrics(fn, before: int) -> dict[str, list]:
    """metric name -> the values the invocation's EMF lines gave it (logged after `before`)."""
    end = time.monotonic() + 5
    while not any("run finished" in line for line in fn.logs[before:]) and time.monotonic() < end:
        time.sleep(0.01)  # the pipe lags the invocation's result
    found: dict[str, list] = {}
    for line in fn.logs[before:]:
        if '"_aws"' not in line:
            continue
        doc = json.loads(line)
        dimensions = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            name = metric["Name"] + ("/" + ",".join(doc[d] for d in dimensions) if dimensions else "")
            found.setdefault(name, []).append(doc[metric["Name"]])
    return found


def test_a_denied_git_sync_read_costs_only_the_synced_stacks_of_its_region(aws, codestar, lambda_function, table):
    suffix = uuid.uuid4().hex[:6]
    stack = f"web-{suffix}"
    synced(codestar, [stack])
    codestar.add_sync_blocker(REGION, stack, "Stack update failed")
    [connection] = codestar.seed(REGION, 1, "PENDING")
    host = codestar.add_host(REGION, f"ghe-{suffix}", status="PENDING")
    topic_arn, queue = aws.topic_with_queue(f"alerts-{suffix}")
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": REGION, "STATE_TABLE": table, "USED_BY": "none"}
    monitor = lambda_function("monitor", env)
    first = monitor.invoke(scheduled(at(0)))
    assert first.ok, first.body
    assert [s["resourceName"] for s in first.body["stuckSyncs"]] == [stack]
    aws.drain(queue)

    # Both handshakes completed; the role is refused its Git sync reads (a
    # member role not yet redeployed, say).
    codestar.set_status(connection, "AVAILABLE")
    codestar.set_host_status(host, "AVAILABLE")
    codestar.set_faults(REGION, deny=True, operations=["ListRepositoryLinks"])
    before = len(monitor.logs)
    second = monitor.invoke(scheduled(at(1)))

    assert second.error_type == "RegionsFailed", second.body
    assert "eu-west-1, synced stacks (" in second.error_message, second.error_message
    [note] = aws.drain(queue)
    document = json.loads(note["Message"])
    assert {c["arn"]: c["state"] for c in document["connections"]} == {connection: "resolved"}
    assert {h["arn"]: h["state"] for h in document["hosts"]} == {host: "resolved"}
    assert document["syncs"] == [], "the blocked stack was not read: neither alerted nor resolved"
    [unread] = document["unread"]
    assert (unread["account"], unread["region"], unread["kind"]) == ("123456789012", REGION, "git-sync")
    assert "AccessDeniedException" in unread["error"] and "ListRepositoryLinks" in unread["error"], unread
    written = metrics(monitor, before)
    assert written["Stuck"] == [0] and written["StuckConnections"] == [0] and written["StuckHosts"] == [0]
    assert written[f"StuckConnections/PENDING,{REGION}"] == [0]
    assert written["FailedRegions"] == [0] and written["UnreadKinds"] == [1]
    assert not any(name.startswith("StuckSyncs") for name in written), written

    # Read again: the stack, still blocked, is still one stuck period (not new).
    codestar.set_faults(REGION)
    third = monitor.invoke(scheduled(at(2)))
    assert third.ok, third.body
    assert [(s["resourceName"], s["state"]) for s in third.body["suppressedSyncs"]] == [(stack, "ongoing")]
    assert third.body["resolvedSyncs"] == [] and third.body["unread"] == []


def test_narrowed_event_and_dry_runs_write_nothing_an_alarm_reads_for_what_they_did_not_read(
        aws, codestar, lambda_function):
    suffix = uuid.uuid4().hex[:6]
    stack = f"api-{suffix}"
    synced(codestar, [stack])
    codestar.set_sync_status(REGION, stack, "FAILED")
    codestar.seed(REGION, 1, "PENDING")
    codestar.seed("us-east-1", 1, "PENDING")
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{suffix}")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": f"us-east-1,{REGION}",
                                          "USED_BY": "none"})
    alarmed = ("Stuck", "StuckConnections", "StuckHosts", "StuckSyncs", "FailedRegions", "FailedAccounts",
               "UnreadKinds")

    before = len(monitor.logs)
    whole = monitor.invoke({})
    assert whole.ok, whole.body
    written = metrics(monitor, before)
    assert all(name in written for name in alarmed), written
    assert written["Stuck"] == [3]

    before = len(monitor.logs)
    narrowed = monitor.invoke({"regions": [REGION]})
    assert narrowed.ok, narrowed.body
    written = metrics(monitor, before)
    assert not any(name in written for name in alarmed), "no total and no failure count speaks for us-east-1"
    assert written[f"StuckConnections/PENDING,{REGION}"] == [1] and written[f"StuckSyncs/{REGION}"] == [1]
    assert not any(name.endswith("us-east-1") for name in written), written

    before = len(monitor.logs)
    event = monitor.invoke({"syncs": [{"region": REGION, "resourceName": stack}]})
    assert event.ok and [s["resourceName"] for s in event.body["stuckSyncs"]] == [stack], event.body
    assert metrics(monitor, before) == {}, "one stack's run counts no region"

    before = len(monitor.logs)
    dry = monitor.invoke({"dryRun": True})
    assert dry.ok and dry.body["preview"], dry.body
    assert metrics(monitor, before) == {}, "a dry run pages nobody"
