"""The benchmark's access series (docs/development.md, "The access series"):
what checking every consumer's role costs, with 1,000 pipelines over 17
regions (moto's CodePipeline, the local AWS's SimulatePrincipalPolicy), 50
roles and 10 connections: from a cold process with no verdict kept, run
after run until every check has a verdict (at most 250 checks a run), then
runs whose verdicts are all kept. Prints numbers beside the minimum; asserts
nothing."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from bench.pipelines import scheduled, state_table
from local.codestar_standin import CodestarStandIn
from local.moto_aws import LocalAws
from local.runtime_api import LambdaFunction

REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2", "sa-east-1",
]
ROLES = 50
CONNECTIONS = 10
# Every tenth role grants only the old prefix: its pipelines are denied (the rename).
LEGACY_EVERY = 10


def role_policy(legacy: bool) -> str:
    actions = ["codestar-connections:UseConnection"] + ([] if legacy else ["codeconnections:UseConnection"])
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})


def series(binary, peer: list[str], consumers: int, kept_runs: int) -> None:
    with LocalAws() as aws, CodestarStandIn() as codestar:
        topic_arn, _ = aws.topic_with_queue("bench-access-alerts")
        connections = [arn.replace(":codestar-connections:", ":codeconnections:")
                       for arn in codestar.seed("us-east-1", CONNECTIONS, "AVAILABLE")]
        roles = []
        for r in range(ROLES):
            arn = aws.service_role()
            aws.client("iam").put_role_policy(RoleName=arn.rsplit("/", 1)[1], PolicyName="connections",
                                              PolicyDocument=role_policy(r % LEGACY_EVERY == 0))
            roles.append(arn)
        started = time.perf_counter()
        for i in range(consumers):
            aws.pipeline(REGIONS[i % len(REGIONS)], f"a-{i:05d}", roles[i % ROLES], connections[i % CONNECTIONS])
        print(f"{consumers} pipelines over {len(REGIONS)} regions, {ROLES} roles (every {LEGACY_EVERY}th grants "
              f"only the old prefix), {CONNECTIONS} AVAILABLE connections with codeconnections ARNs; "
              f"made in {time.perf_counter() - started:.0f} s\n")
        pairs = {(i % ROLES, i % CONNECTIONS) for i in range(consumers)}
        legacy_pairs = {p for p in pairs if p[0] % LEGACY_EVERY == 0}
        print(f"minimum for every verdict: {len(pairs)} simulations (one per role, connection ARN and action "
              f"group) + {len(legacy_pairs)} under the other prefix for the denied ones\n")
        env = {"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_SNS": aws.url,
               "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url, "ALERT_TOPIC_ARN": topic_arn,
               "MONITOR_REGIONS": "us-east-1", "USED_BY": "pipelines", "USED_BY_REGIONS": ",".join(REGIONS),
               "GIT_SYNC": "false", "STATE_TABLE": state_table(aws), "REPEAT_INTERVAL": "30m"}
        header = (f"{'run':>4} {'kind':>6} {'wall ms':>9} {'CPU ms':>7} {'checks':>7} {'simulated':>9} "
                  f"{'kept':>5} {'left':>5} {'IAM sims':>8} {'denied':>6} {'GetPipeline':>11}")
        print(header)
        print("-" * len(header))
        with LambdaFunction(str(binary), "bench-access", env, timeout_s=600) as fn:
            fn.wait_ready()
            run, label = 0, "cold"
            while True:
                run += 1
                t = timed_run(fn, aws, run)
                c = t.body["accessChecks"]
                denied = len(t.body["accessFindings"]) + len(t.body.get("suppressedAccess", []))
                print(f"{run:>4} {label:>6} {t.wall_ms:>9.1f} {t.cpu_ms:>7.1f} {c['checks']:>7} "
                      f"{c['simulated']:>9} {c['cached']:>5} {c['notChecked']:>5} {c['simulations']:>8} "
                      f"{denied:>6} {t.get_pipeline:>11}", flush=True)
                if label == "kept":
                    kept_runs -= 1
                    if kept_runs == 0:
                        break
                label = "kept" if c["notChecked"] == 0 else "warm"
        peer_runs(peer, env, aws, runs=2)
    print("\nboto3 peer (bench/peer/handler.py, access()): every pipeline read and every (role, connection"
          " ARN) simulated on every run, as a script without kept verdicts does; the same 1,000 checks.")
    print("\nchecks: one per pipeline (its role, the connection ARN as it names it, UseConnection); simulated:"
          " checks simulated this run (at most 250); kept: verdicts younger than ACCESS_CHECK_HOURS (24);"
          " left: checks past the bound, taken up by later runs; IAM sims: SimulatePrincipalPolicy requests"
          " (checks asking the same share one); denied: consumers alerted or remembered; wall: at the"
          " Runtime API, moto and the local simulator serving every call; CPU: the function's user+system"
          " time per run.")


def peer_runs(peer: list[str], env: dict, aws, runs: int) -> None:
    """The boto3 peer's runs over the same pipelines and roles: every check, every run."""
    print(f"\n{'impl':>6} {'run':>4} {'wall ms':>9} {'CPU ms':>7} {'checks':>7} {'IAM sims':>8} {'denied':>6} "
          f"{'GetPipeline':>11}")
    with LambdaFunction(peer, "bench-access-peer", {**env, "ACCESS_PEER": "true"}, timeout_s=600) as fn:
        fn.wait_ready()
        for run in range(1, runs + 1):
            t = timed_run(fn, aws, run)
            b = t.body
            print(f"{'boto3':>6} {run:>4} {t.wall_ms:>9.1f} {t.cpu_ms:>7.1f} {b['checks']:>7} "
                  f"{b['simulations']:>8} {b['denied']:>6} {t.get_pipeline:>11}", flush=True)


@dataclass
class Timed:
    body: dict
    wall_ms: float
    cpu_ms: float
    get_pipeline: int


def timed_run(fn, aws, run: int) -> Timed:
    """Scheduled run `run` of `fn`: its result, wall and CPU time, and the GetPipeline calls moto served."""
    aws.take_calls()
    cpu = fn.cpu_seconds()
    started = time.perf_counter()
    result = fn.invoke(scheduled(run))
    wall = (time.perf_counter() - started) * 1000
    if not result.ok:
        raise RuntimeError(f"run {run} failed: {result.body}")
    calls = aws.take_calls()
    return Timed(result.body, wall, (fn.cpu_seconds() - cpu) * 1000, calls["CodePipeline_20150709.GetPipeline"])
