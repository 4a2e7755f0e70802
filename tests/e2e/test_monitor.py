"""The monitor binary through the Lambda Runtime API against the CodeStar
stand-in and moto's SNS, read back from an SQS subscriber."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

IGNORE = {"connection-watch:ignore": "true"}
NOW = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def alerts(aws):
    """A fresh topic with an SQS subscriber."""
    return aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")


def seed_three_regions(codestar) -> set[str]:
    """Connections whose home regions are three (AWS lists them all from any
    region) and a few hosts in each. Returns the connection ARNs that must be alerted."""
    stuck = set()
    # 250 in us-east-1: three pages of ListConnections.
    stuck |= set(codestar.seed("us-east-1", 40, "PENDING", "GitHub"))
    stuck |= set(codestar.seed("us-east-1", 5, "ERROR", "Bitbucket"))
    codestar.seed("us-east-1", 200, "AVAILABLE", "GitHub")
    codestar.seed("us-east-1", 5, "PENDING", "GitHub", tags=IGNORE, name_prefix="ignored")
    stuck |= set(codestar.seed("eu-west-1", 3, "ERROR", "GitLab"))
    codestar.seed("eu-west-1", 10, "AVAILABLE", "GitLab")
    codestar.seed("eu-west-1", 1, "ERROR", "GitLab", tags={"connection-watch:ignore": "false"}, name_prefix="kept")
    stuck |= {c.arn for c in codestar.connections("eu-west-1") if c.name.startswith("kept")}
    stuck |= set(codestar.seed("ap-southeast-2", 2, "PENDING", "GitHubEnterpriseServer"))
    # Connections in a region nobody watches: listed, never alerted.
    codestar.seed("sa-east-1", 4, "PENDING")
    return stuck


def seed_hosts(codestar) -> dict[str, str]:
    """A few hosts per region; returns the stuck ones' ARNs and regions."""
    stuck = {
        codestar.add_host("us-east-1", "ghe-build", status="PENDING"): "us-east-1",
        codestar.add_host("eu-west-1", "gitlab-eu", "GitLabSelfManaged", status="VPC_CONFIG_FAILED_INITIALIZATION",
                          status_message="no route to https://gitlab-eu.example.com"): "eu-west-1",
        codestar.add_host("ap-southeast-2", "ghe-syd", status="ERROR"): "ap-southeast-2",
    }
    codestar.add_host("us-east-1", "ghe-main")
    codestar.add_host("eu-west-1", "ghe-eu", status="VPC_CONFIG_INITIALIZING")
    codestar.add_host("ap-southeast-2", "ghe-quiet", status="PENDING", tags=IGNORE)
    return stuck


def monitor_env(topic_arn: str, **extra) -> dict[str, str]:
    return {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1,eu-west-1,ap-southeast-2", **extra}


def alerted_arns(note: dict) -> list[str]:
    document = json.loads(note["Message"])
    return [c["arn"] for c in document["connections"]]


def test_subscribers_receive_every_stuck_connection_and_host_exactly_once(aws, codestar, lambda_function, alerts):
    topic_arn, queue_url = alerts
    stuck = seed_three_regions(codestar)
    stuck_hosts = seed_hosts(codestar)
    monitor = lambda_function("monitor", monitor_env(topic_arn))

    result = monitor.invoke({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
                             "time": NOW, "detail": {}})

    assert result.ok, result.body
    report = result.body
    assert report["listedFrom"] == "us-east-1"
    assert report["scanned"] == 250 + 14 + 2
    assert report["hostsScanned"] == 6
    assert report["ignored"] == 5 + 1
    assert report["failedRegions"] == []
    assert report["messagesPublished"] == 1
    assert report["regions"]["us-east-1"] == {"scanned": 250, "stuck": 45, "hostsScanned": 2, "stuckHosts": 1,
                                            "syncsScanned": 0, "stuckSyncs": 0}
    assert set(report["regions"]) == {"us-east-1", "eu-west-1", "ap-southeast-2"}
    assert sorted(c["arn"] for c in report["stuck"]) == sorted(stuck), "each once"
    assert all(c["region"] == c["arn"].split(":")[3] for c in report["stuck"])
    assert {h["arn"]: h["region"] for h in report["stuckHosts"]} == stuck_hosts
    assert len(report["stuckHosts"]) == 3
    # One listing for all regions (270 connections, 3 pages); tags of stuck
    # ones only, each in its home region; one ListHosts per watched region.
    assert codestar.calls["ListConnections"] == 3
    assert codestar.calls["ListHosts"] == 3
    assert codestar.calls["ListTagsForResource"] == 56 + 4
    tag_reads = [(arn, region) for op, arn, region in codestar.arrivals if op == "ListTagsForResource"]
    assert all(arn.split(":")[3] == region for arn, region in tag_reads)

    notes = aws.drain(queue_url)
    assert len(notes) == 1
    note = notes[0]
    assert sorted(alerted_arns(note)) == sorted(stuck)
    # 100 characters in full: SNS takes "less than 100", so it is cut to 99.
    full = (f"{len(stuck)} connections and 3 hosts need attention "
            "(43 PENDING, 10 ERROR, 1 VPC_CONFIG_FAILED_INITIALIZATION)")
    assert len(full) == 100
    assert note["Subject"] == full[:96] + "..."
    # SNS drops message attributes of JSON-structured messages (SNS Developer
    # Guide, "Amazon SNS message attributes"); moto would deliver them, so none are sent.
    assert "MessageAttributes" not in note
    document = json.loads(note["Message"])
    assert document["version"] == 1 and document["account"] == "123456789012"
    assert document["generatedAt"] == NOW
    first = document["connections"][0]
    assert set(first) == {"name", "arn", "status", "providerType", "region", "ownerAccountId", "hostArn", "consoleUrl",
                          "usedBy", "usedByCoverage"}
    assert first["usedBy"] == [], "no pipeline or project uses it"
    assert {h["arn"] for h in document["hosts"]} == set(stuck_hosts)
    assert set(document["hosts"][0]) == {"name", "arn", "status", "statusMessage", "providerType",
                                         "providerEndpoint", "region", "consoleUrl"}

    [(subject, email)] = aws.email_view(topic_arn)
    assert subject == note["Subject"]
    for item in document["connections"] + document["hosts"]:
        assert item["arn"] in email and item["consoleUrl"] in email
    assert email.count("Open:") == len(stuck) + 3


def test_unset_monitor_regions_watches_every_home_region_and_the_own_regions_hosts(
        aws, codestar, lambda_function, alerts):
    topic_arn, queue_url = alerts
    stuck = seed_three_regions(codestar) | {c.arn for c in codestar.connections("sa-east-1")}
    seed_hosts(codestar)
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn})

    result = monitor.invoke({})

    assert result.ok, result.body
    assert sorted(c["arn"] for c in result.body["stuck"]) == sorted(stuck)
    assert [h["region"] for h in result.body["stuckHosts"]] == ["us-east-1"]
    assert codestar.calls["ListConnections"] == 3 and codestar.calls["ListHosts"] == 1


def test_a_failing_listing_region_falls_over(aws, codestar, lambda_function, alerts):
    topic_arn, queue_url = alerts
    stuck = seed_three_regions(codestar)
    codestar.set_faults("us-east-1", fail_all=True, operations=["ListConnections"])
    monitor = lambda_function("monitor", monitor_env(topic_arn))

    result = monitor.invoke({})

    assert result.ok, result.body
    assert result.body["listedFrom"] == "eu-west-1"
    assert result.body["failedRegions"] == []
    [note] = aws.drain(queue_url)
    assert sorted(alerted_arns(note)) == sorted(stuck)


def test_a_failing_region_is_reported_and_the_others_still_alerted(aws, codestar, lambda_function, alerts):
    topic_arn, queue_url = alerts
    stuck = seed_three_regions(codestar)
    stuck_hosts = seed_hosts(codestar)
    codestar.set_faults("ap-southeast-2", fail_all=True)
    monitor = lambda_function("monitor", monitor_env(topic_arn))

    result = monitor.invoke({})

    assert not result.ok
    assert result.error_type == "RegionsFailed"
    assert "ap-southeast-2" in result.error_message
    [note] = aws.drain(queue_url)
    # Its connections' tags and its hosts cannot be read; everything else is alerted.
    assert sorted(alerted_arns(note)) == sorted(a for a in stuck if ":ap-southeast-2:" not in a)
    document = json.loads(note["Message"])
    assert {h["arn"] for h in document["hosts"]} == {a for a, r in stuck_hosts.items() if r != "ap-southeast-2"}


def test_dry_run_publishes_nothing(aws, codestar, lambda_function, alerts):
    topic_arn, queue_url = alerts
    stuck = seed_three_regions(codestar)
    monitor = lambda_function("monitor", monitor_env(topic_arn))

    result = monitor.invoke({"regions": ["eu-west-1"], "dryRun": True})

    assert result.ok, result.body
    assert set(result.body["regions"]) == {"eu-west-1"}
    assert codestar.calls["ListConnections"] == 3, "still one listing of every region"
    assert {c["arn"] for c in result.body["stuck"]} == {a for a in stuck if ":eu-west-1:" in a}
    assert result.body["messagesPublished"] == 0
    assert aws.drain(queue_url) == []


def test_dry_run_configuration_needs_no_topic(aws, codestar, lambda_function):
    codestar.seed("us-east-1", 2, "PENDING")
    monitor = lambda_function("monitor", {"DRY_RUN": "true"})
    result = monitor.invoke({})
    assert result.ok, result.body
    assert len(result.body["stuck"]) == 2 and result.body["messagesPublished"] == 0


def test_throttling_bursts_and_server_errors_still_give_the_complete_alert(aws, codestar, lambda_function, alerts):
    topic_arn, queue_url = alerts
    stuck = seed_three_regions(codestar)
    codestar.set_faults("*", throttle_burst=4, error_rate=0.2)
    monitor = lambda_function("monitor", monitor_env(topic_arn))

    result = monitor.invoke({})

    assert result.ok, result.body
    assert codestar.failures_injected >= 4
    [note] = aws.drain(queue_url)
    assert sorted(alerted_arns(note)) == sorted(stuck)


def test_nothing_stuck_publishes_nothing(aws, codestar, lambda_function, alerts):
    topic_arn, queue_url = alerts
    codestar.seed("us-east-1", 3, "AVAILABLE")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn})
    result = monitor.invoke({})
    assert result.ok and result.body["messagesPublished"] == 0
    assert aws.drain(queue_url) == []


def test_a_missing_topic_fails_the_run_naming_it(aws, codestar, lambda_function):
    codestar.seed("us-east-1", 1, "ERROR")
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": missing})
    result = monitor.invoke({})
    assert result.error_type == "PublishFailed"
    assert missing in result.error_message


@pytest.mark.parametrize("variable,value", [
    ("ALERT_STATUSES", "PENDING,NOT-A-STATUS"),
    ("MONITOR_REGIONS", "us-east-1,"),
    ("ALERT_TOPIC_ARN", "not-an-arn"),
])
def test_bad_configuration_stops_start_up_naming_the_variable(lambda_function, variable, value):
    env = {"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts", variable: value}
    monitor = lambda_function("monitor", env)
    result = monitor.invoke({})
    assert not result.ok
    assert monitor.exit_code not in (None, 0)
    assert variable in result.error_message and repr(value).replace("'", '"') in result.error_message


def test_logs_are_json_under_lambda_advanced_logging(codestar, lambda_function):
    # Nothing stuck, so nothing is published; not a dry run, which writes no metric.
    codestar.seed("us-east-1", 1, "AVAILABLE")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
                                          "AWS_LAMBDA_LOG_FORMAT": "JSON"})
    assert monitor.invoke({}).ok
    parsed = [json.loads(line) for line in monitor.wait_for_log("run finished") if line.strip()]
    assert any(p.get("fields", {}).get("message") == "run finished" for p in parsed)
    metrics = [p for p in parsed if "_aws" in p]
    assert {m["_aws"]["CloudWatchMetrics"][0]["Namespace"] for m in metrics} == {"ConnectionWatch"}


def test_a_hanging_region_fails_alone_and_the_rest_is_published_before_the_deadline(
        aws, codestar, lambda_function, alerts):
    topic_arn, queue_url = alerts
    stuck = seed_three_regions(codestar)
    # Every call to ap-southeast-2 (its hosts, its connections' tags) hangs.
    codestar.set_faults("ap-southeast-2", latency_ms=120_000)
    monitor = lambda_function("monitor", monitor_env(topic_arn))

    result = monitor.invoke({}, timeout_s=8)

    assert result.error_type == "RegionsFailed", result.body
    assert "ap-southeast-2" in result.error_message and "deadline" in result.error_message
    assert result.seconds < 8
    [note] = aws.drain(queue_url)
    assert sorted(alerted_arns(note)) == sorted(a for a in stuck if ":ap-southeast-2:" not in a)


def test_events_that_only_look_scheduled_are_refused(codestar, lambda_function):
    monitor = lambda_function("monitor", {"DRY_RUN": "true"})
    result = monitor.invoke({"detail-type": "anything", "time": "2099-01-01T00:00:00Z"})
    assert result.error_type == "InvalidEvent"


def test_a_configuration_error_is_printed_once(lambda_function):
    monitor = lambda_function("monitor", {"DRY_RUN": "maybe"})
    result = monitor.invoke({})
    assert not result.ok and monitor.exit_code not in (None, 0)
    said = [line for line in monitor.logs if "DRY_RUN" in line]
    assert len(said) == 1, said
