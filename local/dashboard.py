"""Draws the template's CloudWatch dashboard (no console is reachable here)
from the EMF metrics the monitor writes: a simulated day of hourly runs
against the CodeStar stand-in, where connections get stuck and are fixed."""

from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from local.codestar_standin import CodestarStandIn  # noqa: E402
from local.moto_aws import LocalAws  # noqa: E402
from local.runtime_api import LambdaFunction  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def simulate(hours: int = 24) -> tuple[list[list[dict]], list[float], int]:
    subprocess.run(["cargo", "build", "--bins", "--quiet"], cwd=ROOT, check=True)
    runs, durations, errors = [], [], 0
    with LocalAws() as aws, CodestarStandIn() as codestar:
        topic_arn, _ = aws.topic_with_queue("dashboard-alerts")
        for region, n in zip(REGIONS, (60, 30, 10)):
            codestar.seed(region, n, "AVAILABLE")
        ghe = codestar.add_host("us-east-1", "ghe-build", status="PENDING")
        env = {"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_SNS": aws.url,
               "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url,
               "ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": ",".join(REGIONS)}
        with LambdaFunction(str(ROOT / "target" / "debug" / "monitor"), "monitor", env) as monitor:
            pending = []
            for hour in range(hours):
                # A team deploys new pipelines in the morning and completes some handshakes later.
                if hour in (3, 4, 9):
                    pending += codestar.seed(REGIONS[hour % 3], 3, "PENDING", name_prefix=f"new-{hour}")
                if hour == 7:
                    codestar.seed("eu-west-1", 2, "ERROR", "Bitbucket", name_prefix="lost-app")
                if hour in (12, 15, 18):
                    for arn in pending[:3]:
                        codestar.set_status(arn, "AVAILABLE")
                    pending = pending[3:]
                if hour == 14:
                    codestar.set_host_status(ghe, "AVAILABLE")
                before = len(monitor.logs)
                result = monitor.invoke({})
                errors += not result.ok
                durations.append(result.seconds * 1000)
                # The pipe lags the result: wait for this run's own last line.
                end = time.monotonic() + 5
                while sum("run finished" in line for line in monitor.logs[before:]) < 1 and time.monotonic() < end:
                    time.sleep(0.01)
                lines = monitor.logs[before:]
                runs.append([json.loads(line) for line in lines if line.startswith("{") and "_aws" in line])
    return runs, durations, errors


def main() -> int:
    runs, durations, errors = simulate()
    start = datetime(2026, 11, 25, tzinfo=timezone.utc)
    hours = [start + timedelta(hours=h) for h in range(len(runs))]
    series: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0] * len(runs)))
    for i, docs in enumerate(runs):
        for doc in docs:
            region, status = doc.get("Region"), doc.get("Status")
            if "StuckConnections" in doc and region:
                series["by status"][status][i] += doc["StuckConnections"]
                series["by region"][f"{region} {status}"][i] = doc["StuckConnections"]
            if "StuckHosts" in doc and region:
                series["hosts"][f"{region} {status}"][i] = doc["StuckHosts"]
            if "ScannedConnections" in doc:
                series["scanned"][region][i] = doc["ScannedConnections"]
    fig, axes = plt.subplots(3, 2, figsize=(14, 10), sharex=True)
    panels = [
        ("Stuck connections by status", "by status"), ("Stuck connections by region and status", "by region"),
        ("Stuck hosts by region and status", "hosts"), ("Scanned connections by home region", "scanned"),
    ]
    for ax, (title, key) in zip(axes.flat, panels):
        for label, values in sorted(series[key].items()):
            if any(values):
                ax.plot(hours, values, label=label, marker=".")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    duration = axes[2][0]
    duration.plot(hours, durations, color="tab:gray", marker=".")
    duration.set_title(f"Monitor duration (ms, at the Runtime API); errors: {errors}", fontsize=10)
    duration.grid(alpha=0.3)
    axes[2][1].axis("off")
    axes[2][1].text(0.02, 0.5, "ConnectionWatch dashboard (template.yaml: Dashboard)\n"
                    "drawn from the monitor's EMF lines over 24 simulated hourly runs\n"
                    "against the local stand-ins (scripts/dashboard-picture)", fontsize=9)
    fig.autofmt_xdate()
    out = ROOT / "docs" / "dashboard.png"
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
