"""The benchmark's Git sync series: one run's CodeConnections calls, wall
time and CPU with N synced stacks in each of 3 regions (one repository link
a region, every 10th stack BLOCKED), the release monitor beside the boto3
peer, both through the Runtime API, against the in-process stand-in with
injected latency. Prints numbers; asserts nothing."""

from __future__ import annotations

import math

from bench.measure import measure
from local.codestar_standin import CodestarStandIn
from local.moto_aws import LocalAws

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
IN_FLIGHT = 8  # stacks read at once per region, by both implementations


def series(rust: str, peer: list[str], stacks: int, latency_ms: float, runs: int) -> None:
    with LocalAws() as aws, CodestarStandIn() as codestar:
        topic_arn, _ = aws.topic_with_queue("bench-git-sync-alerts")
        codestar.seed("us-east-1", 10, "AVAILABLE")
        [connection] = codestar.seed("us-east-1", 1, "AVAILABLE")
        blocked = 0
        for region in REGIONS:
            link = codestar.add_repository_link(region, connection)
            for i in range(stacks):
                name = f"stack-{i:04d}"
                codestar.add_stack_sync(region, link, name)
                codestar.set_sync_status(region, name, "SUCCEEDED")
                if i % 10 == 9:
                    codestar.add_sync_blocker(region, name, "Stack update failed")
                    blocked += 1
        codestar.set_faults(latency_ms=latency_ms)
        env = {"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_SNS": aws.url,
               "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url, "ALERT_TOPIC_ARN": topic_arn,
               "MONITOR_REGIONS": ",".join(REGIONS), "USED_BY": "none", "GIT_SYNC": "true"}
        pages = math.ceil(stacks / 100)
        # Connections listed once (one page), hosts once a region; per region one links page,
        # `pages` configuration pages, one repository sync read (one link, one branch) and two
        # reads per stack.
        minimum = 1 + len(REGIONS) + len(REGIONS) * (1 + pages + 1 + 2 * stacks)
        # A region's reads: the links page, the configuration pages, the repository sync, then
        # rounds of IN_FLIGHT stacks whose two reads go at once; the regions overlap.
        floor = (1 + pages + 1 + math.ceil(stacks / IN_FLIGHT)) * latency_ms
        print(f"{stacks} synced stacks in each of {len(REGIONS)} regions ({blocked} BLOCKED), "
              f"{latency_ms} ms injected per CodeConnections call, {IN_FLIGHT} stacks in flight a region\n")
        header = f"{'impl':>6} {'wall ms':>9} {'floor ms':>9} {'calls':>6} {'min':>5} {'CPU ms':>7} {'stuck':>6}"
        print(header)
        print("-" * len(header))
        for label, command in [("rust", rust), ("boto3", peer)]:
            m = measure(command, f"bench-git-sync-{label}", env, runs, codestar)
            body = m["body"]
            stuck = len(body["stuckSyncs"])
            print(f"{label:>6} {m['wall_ms']:>9.1f} {floor:>9.1f} {m['calls']:>6.0f} {minimum:>5} "
                  f"{m['cpu_ms']:>7.1f} {stuck:>6}", flush=True)
    print("\ncalls: CodeConnections calls per run counted by the stand-in (both implementations also list"
          " connections and hosts); min: 1 ListConnections page + 1 ListHosts a region + per region 1 links"
          " page, ceil(stacks/100) configuration pages, 1 GetRepositorySyncStatus a (link, branch) and 2 reads a stack; the monitor adds one DescribeStacks"
          " (moto) per stuck stack for the ignore tag; floor: the sequential round trips of one region;"
          " CPU: the function's user+system time per run.")
