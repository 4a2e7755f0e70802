"""The benchmark's pipelines series: what `usedBy` costs in a run that
alerts, with 10, 100 or 1,000 pipelines a region in two regions (moto's
CodePipeline and CodeBuild), cold (a new process: every pipeline read) and
warm (definitions cached by `updated`: none read again), and cold again in
a new process with a state table holding the cache. Prints numbers; asserts
nothing."""

from __future__ import annotations

import math
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from local.codestar_standin import CodestarStandIn
from local.moto_aws import LocalAws
from local.runtime_api import LambdaFunction

REGIONS = ["us-east-1", "eu-west-1"]
# Hourly runs dated in the past week (the monitor takes an event's time only
# then), each one due (REPEAT_INTERVAL 30m), so every run alerts and looks up.
START = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=6)


def scheduled(run: int) -> dict:
    time_ = (START + timedelta(hours=run)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": time_, "detail": {}}


def state_table(aws) -> str:
    name = f"bench-state-{uuid.uuid4().hex[:8]}"
    aws.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "region", "KeyType": "HASH"}, {"AttributeName": "arn", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "region", "AttributeType": "S"},
                              {"AttributeName": "arn", "AttributeType": "S"}])
    return name


def row(aws, fn, event: dict, count: int, label: str) -> None:
    """One run, printed with the calls moto counted."""
    aws.take_calls()
    cpu = fn.cpu_seconds()
    started = time.perf_counter()
    result = fn.invoke(event)
    wall = (time.perf_counter() - started) * 1000
    if not result.ok:
        raise RuntimeError(f"run failed: {result.body}")
    calls = aws.take_calls()
    minimum = len(REGIONS) * count if label == "cold" else 0
    used_by = len(result.body["stuck"][0].get("usedBy", []))
    print(f"{count:>16} {label:>6} {wall:>9.1f} {calls['CodePipeline_20150709.ListPipelines']:>13} "
          f"{calls['CodePipeline_20150709.GetPipeline']:>11} {minimum:>5} {calls['CodeBuild_20161006.ListProjects']:>12} "
          f"{calls['CodeBuild_20161006.BatchGetProjects']:>16} {(fn.cpu_seconds() - cpu) * 1000:>7.1f} {used_by:>6}",
          flush=True)


def series(binary: Path, counts: list[int], runs: int) -> None:
    with LocalAws() as aws, CodestarStandIn() as codestar:
        topic_arn, _ = aws.topic_with_queue("bench-pipelines-alerts")
        [stuck] = codestar.seed("us-east-1", 1, "PENDING")
        codestar.seed("us-east-1", 99, "AVAILABLE")
        role = aws.service_role()
        env = {"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_SNS": aws.url,
               "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url,
               "ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": ",".join(REGIONS),
               "USED_BY_REGIONS": ",".join(REGIONS)}
        print(f"one stuck connection, used by one pipeline a region; {len(REGIONS)} regions; moto serves "
              "CodePipeline and CodeBuild (no injected latency)\n")
        header = (f"{'pipelines/region':>16} {'run':>6} {'wall ms':>9} {'ListPipelines':>13} {'GetPipeline':>11} "
                  f"{'min':>5} {'ListProjects':>12} {'BatchGetProjects':>16} {'CPU ms':>7} {'usedBy':>6}")
        print(header)
        print("-" * len(header))
        made = 0
        for count in counts:
            for region in REGIONS:
                for i in range(made, count):
                    aws.pipeline(region, f"p-{i:05d}", role, stuck if i == 0 else None)
            made = count
            listings = math.ceil(count / 1000)
            table_env = {**env, "STATE_TABLE": state_table(aws), "REPEAT_INTERVAL": "30m"}
            runs_so_far = 0
            for labels in (["cold"] + ["warm"] * runs, ["cached"]):
                with LambdaFunction(str(binary), "bench-pipelines", table_env) as fn:
                    fn.wait_ready()
                    for label in labels:
                        runs_so_far += 1
                        row(aws, fn, scheduled(runs_so_far), count, label)
            print(f"{'':>16} minimum ListPipelines per run: {len(REGIONS) * listings} "
                  f"(ceil({count}/1000) pages a region)")
    print("\nmin: GetPipeline calls needed (every pipeline cold, none warm: the definitions are cached by"
          " `updated`; none in a new process whose state table holds the cache: `cached`); ListProjects and"
          " BatchGetProjects: one a region when the region has under 100 projects;"
          " wall: at the Runtime API, moto serving every call; CPU: the function's user+system time per run.")
