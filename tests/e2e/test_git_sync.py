"""Git sync health end to end: the real monitor binary through the Runtime
API, the CodeStar stand-in serving repository links, sync configurations,
blockers and sync status (every request checked against botocore's model),
and moto serving SNS, SQS, EventBridge, DynamoDB and CloudFormation."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from tests.e2e.test_lifecycle import at, scheduled, table  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


def synced(codestar, stacks: list[str]) -> None:
    """Stacks synced in REGION through one link on a fresh connection."""
    [connection] = codestar.seed(REGION, 1, "AVAILABLE")
    link = codestar.add_repository_link(REGION, connection, repository="infra")
    for stack in stacks:
        codestar.add_stack_sync(REGION, link, stack)


def syncs(note: dict) -> dict[str, dict]:
    return {s["resourceName"]: s for s in json.loads(note["Message"])["syncs"]}


def test_blocked_and_failed_stacks_are_alerted_and_resolve_with_their_alert_id(aws, codestar, lambda_function, table):
    suffix = uuid.uuid4().hex[:6]
    names = {k: f"{k}-{suffix}" for k in ("blocked", "failed", "healthy", "cleared", "muted", "new")}
    synced(codestar, list(names.values()))
    reason = "Stack update failed: Template format error\nOpen: https://ev.il"
    blocker = codestar.add_sync_blocker(REGION, names["blocked"], reason)
    codestar.set_sync_status(REGION, names["blocked"], "FAILED")
    codestar.set_sync_status(REGION, names["failed"], "FAILED")
    codestar.set_sync_status(REGION, names["healthy"], "SUCCEEDED")
    cleared = codestar.add_sync_blocker(REGION, names["cleared"], "old failure")
    codestar.resolve_sync_blocker(REGION, names["cleared"], cleared)
    codestar.set_sync_status(REGION, names["cleared"], "SUCCEEDED")
    codestar.add_sync_blocker(REGION, names["muted"], "known")
    aws.stack(REGION, names["muted"], {"connection-watch:ignore": "true"})
    aws.stack(REGION, names["blocked"], {"team": "web"})
    # names["new"] was never synced: GetResourceSyncStatus says ResourceNotFound.
    topic_arn, queue = aws.topic_with_queue(f"alerts-{suffix}")
    bus, events_queue = aws.bus_with_queue(f"bus-{suffix}")
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": REGION, "STATE_TABLE": table,
           "EVENT_BUS": bus, "USED_BY": "none"}

    first = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert first.ok, first.body
    report = first.body
    assert report["syncsScanned"] == 6 and report["ignored"] == 1
    assert report["regions"][REGION]["stuckSyncs"] == 2
    assert {s["resourceName"]: (s["status"], s["state"]) for s in report["stuckSyncs"]} == {
        names["blocked"]: ("BLOCKED", "new"), names["failed"]: ("FAILED", "new")}
    [note] = aws.drain(queue)
    assert note["Subject"] == "2 Git-synced stacks need attention (1 BLOCKED, 1 FAILED)"
    document = syncs(note)
    assert document[names["blocked"]]["blockers"] == [
        {"id": blocker, "createdReason": reason, "createdAt": document[names["blocked"]]["blockers"][0]["createdAt"]}]
    assert document[names["blocked"]]["repositoryName"] == "infra"
    assert document[names["failed"]]["latestSync"]["status"] == "FAILED"
    [(_subject, email)] = aws.email_view(topic_arn)
    assert "Stack update failed: Template format error\\u{a}Open: https://ev.il" in email, email
    assert not re.search(r"^Open: https://ev.il", email, re.M), "the reason cannot forge a line"
    assert f"--resource-name {names['blocked']} --id {blocker}" in email
    [(_s, chat)] = aws.protocol_view(topic_arn, "https")
    assert f"`{names['blocked']}` `BLOCKED`" in json.loads(chat)["content"]["description"]
    events = aws.drain(events_queue)
    assert sorted(e["detail"]["resourceName"] for e in events) == sorted([names["blocked"], names["failed"]])
    assert {e["detail-type"] for e in events} == {"Git Sync Alert"}
    alert_ids = {e["detail"]["resourceName"]: e["detail"]["alertId"] for e in events}

    # Cleared: the blocker resolved and a sync succeeded; the failed one synced again.
    codestar.resolve_sync_blocker(REGION, names["blocked"], blocker)
    codestar.set_sync_status(REGION, names["blocked"], "SUCCEEDED")
    codestar.set_sync_status(REGION, names["failed"], "SUCCEEDED")
    second = lambda_function("monitor", env).invoke(scheduled(at(1)))
    assert second.ok, second.body
    assert second.body["stuckSyncs"] == []
    assert sorted(s["resourceName"] for s in second.body["resolvedSyncs"]) == sorted(
        [names["blocked"], names["failed"]])
    [note] = aws.drain(queue)
    assert note["Subject"] == "2 Git-synced stacks resolved"
    resolved = aws.drain(events_queue)
    assert {e["detail"]["resourceName"]: e["detail"]["alertId"] for e in resolved} == alert_ids
    assert {e["detail"]["state"] for e in resolved} == {"resolved"}


def transformed(rule: str, event: dict) -> dict:
    """What the template's rule `rule` hands the monitor for `event`: its
    input transformer applied as EventBridge applies it. In quotes a
    variable is the value's text; unquoted it is the value as JSON, and null
    where the event has no such path (EventBridge User Guide, "Amazon
    EventBridge input transformation")."""
    template = (ROOT / "template.yaml").read_text()
    section = template[template.index(f"  {rule}:\n"):]
    paths = dict(re.findall(r"^\s+(\w+): (\$\.[\w.]+)$", section.split("InputTemplate")[0], re.M))
    body = re.search(r"InputTemplate: '(.*)'", section).group(1)
    for name, path in paths.items():
        value = event
        for part in path[2:].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        body = body.replace(f'"<{name}>"', json.dumps(value)).replace(f"<{name}>", json.dumps(value))
    return json.loads(body)


def test_a_failed_sync_event_runs_the_monitor_for_that_stack_only(aws, codestar, lambda_function, table):
    suffix = uuid.uuid4().hex[:6]
    web, api = f"web-{suffix}", f"api-{suffix}"
    synced(codestar, [web, api])
    codestar.set_sync_status(REGION, web, "FAILED")
    codestar.set_sync_status(REGION, api, "FAILED")
    [connection] = codestar.seed(REGION, 1, "PENDING")
    topic_arn, queue = aws.topic_with_queue(f"alerts-{suffix}")
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": REGION, "STATE_TABLE": table, "USED_BY": "none"}
    sample = json.loads((ROOT / "events" / "git-sync-resource-failed.json").read_text())
    sample["detail"]["syncTarget"] = web
    request = transformed("GitSyncFailedRule", sample)
    assert request == {"syncs": [{"region": REGION, "resourceName": web}]}
    codestar.take_calls()

    run = lambda_function("monitor", env).invoke(request)
    assert run.ok, run.body
    assert [s["resourceName"] for s in run.body["stuckSyncs"]] == [web]
    assert run.body["stuck"] == [] and run.body["listedFrom"] is None, "connections are not listed"
    calls = codestar.take_calls()
    assert "ListConnections" not in calls and "ListHosts" not in calls, calls
    assert calls["GetSyncBlockerSummary"] == 1 and calls["GetResourceSyncStatus"] == 1, calls
    [note] = aws.drain(queue)
    assert list(syncs(note)) == [web]
    # The raw event, as a rule without the transformer sends it, means the same.
    raw = lambda_function("monitor", {**env, "DRY_RUN": "true"}).invoke(sample)
    assert raw.ok and [s["resourceName"] for s in raw.body["stuckSyncs"]] == [web], raw.body
    # The scheduled run still sees everything; the narrowed one resolved nothing else.
    full = lambda_function("monitor", env).invoke(scheduled(at(1)))
    assert full.ok, full.body
    assert {s["resourceName"]: s["state"] for s in full.body["stuckSyncs"]} == {web: "ongoing", api: "new"}
    assert [c["arn"] for c in full.body["stuck"]] == [connection]
    # Another run for `web` alone leaves `api` and the connection as they are: not read, not resolved.
    again = lambda_function("monitor", env).invoke(request)
    assert again.ok, again.body
    assert again.body["resolvedSyncs"] == [] and again.body["resolved"] == [], again.body

    # An event this monitor does not serve is skipped, not a Lambda error that
    # would set off the errors alarm and fill the failure queue.
    codestar.take_calls()
    aws.drain(queue)
    outside = lambda_function("monitor", env).invoke({"syncs": [{"region": "ap-south-1", "resourceName": web}]})
    assert outside.ok and "does not watch" in outside.body["skipped"], outside.body
    off = lambda_function("monitor", {**env, "GIT_SYNC": "false"}).invoke(request)
    assert off.ok and "GIT_SYNC=false" in off.body["skipped"], off.body
    assert codestar.take_calls() == {}, "a skipped request reads nothing"
    assert aws.drain(queue) == []


def test_a_watched_region_without_git_sync_is_not_available_neither_read_nor_failed(codestar, lambda_function):
    # af-south-1 is not in the CloudFormation User Guide's Git sync region list.
    suffix = uuid.uuid4().hex[:6]
    synced(codestar, [f"here-{suffix}"])
    codestar.set_faults("af-south-1", deny=True, operations=["ListRepositoryLinks"])
    codestar.take_calls()
    env = {"MONITOR_REGIONS": f"{REGION},af-south-1", "DRY_RUN": "true", "USED_BY": "none"}
    run = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert run.ok, run.body
    assert run.body["gitSyncUnavailable"] == ["af-south-1"], run.body
    assert run.body["unread"] == [] and run.body["failedRegions"] == [], run.body
    assert codestar.take_calls()["ListRepositoryLinks"] == 1, "read in eu-west-1 only"
    assert "Git sync is not offered by AWS in af-south-1" in run.body["look"], run.body["look"]


def test_a_failed_repository_sync_alerts_its_branchs_stacks_and_names_their_connection(
        aws, codestar, lambda_function, table):
    suffix = uuid.uuid4().hex[:6]
    web, api, docs, other = (f"{k}-{suffix}" for k in ("web", "api", "docs", "other"))
    [broken] = codestar.seed(REGION, 1, "ERROR")
    link = codestar.add_repository_link(REGION, broken, repository="infra")
    for stack, branch in ((web, "main"), (api, "main"), (docs, "dev")):
        codestar.add_stack_sync(REGION, link, stack, branch=branch)
        codestar.set_sync_status(REGION, stack, "SUCCEEDED")
    [fine] = codestar.seed(REGION, 1, "AVAILABLE")
    other_link = codestar.add_repository_link(REGION, fine, repository="tools")
    codestar.add_stack_sync(REGION, other_link, other)
    codestar.set_sync_status(REGION, other, "FAILED")
    event = "Failed to read deployment file\nOpen: https://ev.il"
    codestar.set_repository_sync_status(REGION, link, "main", "FAILED", events=[
        {"Event": "Sync started", "Type": "INFO"}, {"Event": event, "Type": "ERROR"}])
    codestar.set_repository_sync_status(REGION, link, "dev", "SUCCEEDED")
    topic_arn, queue = aws.topic_with_queue(f"alerts-{suffix}")
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": REGION, "STATE_TABLE": table, "USED_BY": "none"}
    sample = json.loads((ROOT / "events" / "git-sync-repository-failed.json").read_text())
    sample["detail"].update(repositoryLinkId=link, branch="main")
    request = transformed("GitSyncRepositoryFailedRule", sample)
    assert request == {"syncs": [{"region": REGION, "repositoryLinkId": link, "branch": "main"}]}
    codestar.take_calls()

    run = lambda_function("monitor", env).invoke(request)
    assert run.ok, run.body
    stuck = {s["resourceName"]: s for s in run.body["stuckSyncs"]}
    assert {n: (s["status"], s["connectionStatus"]) for n, s in stuck.items()} == {
        web: ("REPOSITORY_SYNC_FAILED", "ERROR"), api: ("REPOSITORY_SYNC_FAILED", "ERROR")}
    assert stuck[web]["latestSync"]["status"] == "SUCCEEDED", "its own sync succeeded"
    assert [e["event"] for e in stuck[web]["repositorySync"]["events"]] == ["Sync started", event]
    calls = codestar.take_calls()
    assert "ListConnections" not in calls, calls
    assert calls["ListSyncConfigurations"] == 1, "that link only"
    assert calls["GetRepositorySyncStatus"] == 1 and calls["GetConnection"] == 1, calls
    [note] = aws.drain(queue)
    [(_subject, email)] = aws.email_view(topic_arn)
    assert "its connection is ERROR: repair it first" in email, email
    assert "Failed to read deployment file\\u{a}Open: https://ev.il" in email, email
    assert not re.search(r"^Open: https://ev.il", email, re.M), "an event cannot forge a line"

    # The scheduled run reads everything, each branch once, and takes the
    # connection's status from its one listing.
    codestar.take_calls()
    full = lambda_function("monitor", env).invoke(scheduled(at(1)))
    assert full.ok, full.body
    assert {s["resourceName"]: (s["status"], s["state"], s.get("connectionStatus"))
            for s in full.body["stuckSyncs"]} == {
        web: ("REPOSITORY_SYNC_FAILED", "ongoing", "ERROR"), api: ("REPOSITORY_SYNC_FAILED", "ongoing", "ERROR"),
        other: ("FAILED", "new", "AVAILABLE")}
    calls = codestar.take_calls()
    assert calls["GetRepositorySyncStatus"] == 3 and "GetConnection" not in calls, calls
