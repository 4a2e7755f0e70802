"""Benchmarks the release `monitor` against the boto3 peer, both through the
Lambda Runtime API, against the CodeStar stand-in (in its own process, with
injected latency) and moto's SNS. Prints numbers; asserts nothing."""

from __future__ import annotations

import argparse
import http.client
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.measure import measure
from local.moto_aws import LocalAws

ROOT = Path(__file__).resolve().parents[1]
REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2", "sa-east-1",
]
MB = 1024


class StandIn:
    """The CodeStar stand-in as a separate process, so its work does not share a GIL with the harness."""

    def __init__(self, regions: list[str], connections: int, hosts_per_region: int, latency_ms: float):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.codestar_standin", "--regions", ",".join(regions),
             "--connections", str(connections), "--hosts-per-region", str(hosts_per_region),
             "--latency-ms", str(latency_ms)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"stand-in did not start: {line!r}")
        self.url = line.split()[1]

    def take_calls(self) -> dict[str, int]:
        """The calls the stand-in served since the last time, by operation."""
        self.process.stdin.write("calls\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self):
        self.process.terminate()
        self.process.wait(5)


def walk_cost_ms(url: str, region: str, walks: int = 30) -> float:
    """What a full ListConnections walk costs the stand-in itself (keep-alive, no injected latency)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "CodeStar_connections_20191201.ListConnections",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=bench/20261125/{region}/codestar-connections/aws4_request",
    }
    samples = []
    for _ in range(walks):
        started, token = time.perf_counter(), None
        while True:
            conn.request("POST", "/", json.dumps({"MaxResults": 100, **({"NextToken": token} if token else {})}),
                         headers)
            token = json.loads(conn.getresponse().read()).get("NextToken")
            if not token:
                break
        samples.append((time.perf_counter() - started) * 1000)
    conn.close()
    return statistics.median(samples)


def publish_cost_ms(aws: LocalAws, topic_arn: str, samples: int = 10) -> float:
    sns = aws.client("sns")
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        sns.publish(TopicArn=topic_arn, Message="calibration")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def events_row(rust: str, env: dict, alerted: int, aws: LocalAws, standin, runs: int) -> None:
    """The same run with EVENT_BUS set, printed after the table: the EventBridge calls per
    run beside the minimum, ceil(alerted / 10) PutEvents and one DescribeEventBus."""
    aws.take_calls()
    m = measure(rust, "bench-rust-events", {**env, "EVENT_BUS": "default"}, runs, standin)
    calls = aws.take_calls()
    put, describe = calls["AWSEvents.PutEvents"] / runs, calls["AWSEvents.DescribeEventBus"] / runs
    print(f"{'events':>7} {'rust':>6} {m['wall_ms']:>9.1f}   EVENT_BUS=default: {m['body']['eventsPut']} events a run, "
          f"PutEvents {put:.0f} (min ceil({alerted}/10) = {math.ceil(alerted / 10)}), DescribeEventBus {describe:.0f} "
          f"(min 1), CPU {m['cpu_ms']:.1f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=250, help="in all, spread over 17 home regions")
    parser.add_argument("--hosts-per-region", type=int, default=3, help="the first of each region is PENDING")
    parser.add_argument("--stuck-every", type=int, default=25)
    parser.add_argument("--regions", default="1,5,17", help="watched regions (MONITOR_REGIONS) per row")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--org", default="", help="organization series, accounts per row (e.g. 10,100,1000)")
    parser.add_argument("--per-account", type=int, default=20, help="organization series: connections per account")
    parser.add_argument("--tls", action="store_true", help="organization series: the stand-in over HTTPS")
    parser.add_argument("--pipelines", default="", help="usedBy series, pipelines per region per row (e.g. 10,100,1000)")
    parser.add_argument("--git-sync", type=int, default=0, help="Git sync series: synced stacks per region (e.g. 100)")
    parser.add_argument("--access", type=int, default=0, help="access series: pipelines over 17 regions (e.g. 1000)")
    args = parser.parse_args()

    subprocess.run(["cargo", "build", "--release", "--bins", "--quiet"], cwd=ROOT, check=True)
    rust = str(ROOT / "target" / "release" / "monitor")
    peer = [sys.executable, str(ROOT / "bench" / "peer" / "bootstrap.py")]
    if args.access:
        from bench.access import series as access

        access(rust, peer, args.access, args.runs)
        return 0
    if args.git_sync:
        from bench.git_sync import series as git_sync

        git_sync(rust, peer, args.git_sync, args.latency_ms, args.runs)
        return 0
    if args.pipelines:
        from bench.pipelines import series as pipelines

        pipelines(Path(rust), [int(n) for n in args.pipelines.split(",")], args.runs)
        return 0
    if args.org:
        from bench.org import series

        series(Path(rust), [int(n) for n in args.org.split(",")], args.per_account, stuck_every=5, tls=args.tls,
               latency_ms=args.latency_ms, runs=args.runs)
        return 0
    bootstrap = ROOT / "target" / "lambda" / "monitor" / "bootstrap"
    size = f"{bootstrap.stat().st_size / MB / MB:.2f} MB" if bootstrap.exists() else "n/a (cargo lambda build --release --arm64)"

    with LocalAws() as aws:
        topic_arn, _ = aws.topic_with_queue("bench-alerts")
        idle = StandIn(REGIONS, args.connections, 0, 0)
        try:
            walk = walk_cost_ms(idle.url, "us-east-1")
        finally:
            idle.stop()
        publish = publish_cost_ms(aws, topic_arn)
        pages = math.ceil(args.connections / 100)
        print(f"account: {args.connections} connections over {len(REGIONS)} home regions (every "
              f"{args.stuck_every}th PENDING), {args.hosts_per_region} hosts per region (one PENDING)")
        print(f"stand-in cost, no injected latency: {walk:.2f} ms for a {pages}-page walk of {args.connections} connections")
        print(f"one SNS publish to moto (boto3, median): {publish:.2f} ms")
        print(f"injected latency: {args.latency_ms} ms per CodeStar call; arm64 bootstrap (monitor): {size}\n")

        header = (f"{'regions':>7} {'impl':>6} {'wall ms':>9} {'floor ms':>9} {'ratio':>6} {'calls':>6} {'min':>4} "
                  f"{'CPU ms':>7} {'init ms':>8} {'peak RSS MB':>11} {'GB-s/run':>9} {'GB-s cold':>9}")
        print(header)
        print("-" * len(header))
        # The pages, then the tag reads of the last page's stuck ones; ListHosts runs beside them.
        floor = (pages + 1) * args.latency_ms + publish
        for count in [int(n) for n in args.regions.split(",")]:
            watched = REGIONS[:count]
            stuck = sum(1 for i in range(args.connections)
                        if i % args.stuck_every == args.stuck_every - 1 and REGIONS[i % len(REGIONS)] in watched)
            hosts_stuck = count if args.hosts_per_region else 0
            minimum = pages + stuck + count + hosts_stuck
            standin = StandIn(REGIONS, args.connections, args.hosts_per_region, args.latency_ms)
            try:
                env = {"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_SNS": aws.url,
                       "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": standin.url,
                       "ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": ",".join(watched), "USED_BY": "none",
                       "GIT_SYNC": "false"}
                for label, command in [("rust", rust), ("boto3", peer)]:
                    m = measure(command, f"bench-{label}", env, args.runs, standin)
                    gbs = 0.125 * math.ceil(m["wall_ms"]) / 1000
                    cold = 0.125 * math.ceil(m["wall_ms"] + m["init_ms"]) / 1000
                    print(f"{count:>7} {label:>6} {m['wall_ms']:>9.1f} {floor:>9.1f} {m['wall_ms'] / floor:>6.2f} "
                          f"{m['calls']:>6.0f} {minimum:>4} {m['cpu_ms']:>7.1f} {m['init_ms']:>8.1f} "
                          f"{m['rss_kb'] / MB:>11.1f} {gbs:>9.5f} {cold:>9.5f}", flush=True)
                if count == max(int(n) for n in args.regions.split(",")):
                    events_row(rust, env, stuck + hosts_stuck, aws, standin, args.runs)
            finally:
                standin.stop()
    print("\nfloor = (ceil(connections/100) sequential ListConnections pages + one round trip for the last"
          " page's tag reads) x latency + one publish; calls: CodeStar calls per run counted by the stand-in;"
          " min: ceil(connections/100) pages + tag reads of stuck connections and hosts + one ListHosts per"
          " watched region; wall: median at the Runtime API; CPU: the function's user+system time per run;"
          " init: process start to the first `next`; GB-s at 128 MB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
