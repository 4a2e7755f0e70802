"""The standard Rust Lambda dev loop, as the README gives it: scripts/local-aws's
services, both Lambdas under `cargo lambda watch --env-file local/cargo-lambda.env`,
and `cargo lambda invoke` (the project's pinned cargo-lambda). Its emulator sends
no usable deadline; the functions then take 60 s, never zero."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
CARGO_LAMBDA = str(ROOT / ".venv" / "bin" / "cargo-lambda")
ENV_FILE = "local/cargo-lambda.env"


def env_file() -> dict[str, str]:
    lines = (ROOT / ENV_FILE).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"nothing listens on {port} after {timeout_s} s")


@pytest.fixture(scope="module")
def watch():
    serve = subprocess.Popen([sys.executable, "-m", "local.serve"], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    watcher = None
    try:
        for line in serve.stdout:
            if line.strip() == "READY":
                break
        else:
            raise RuntimeError("local.serve did not start")
        watcher = subprocess.Popen([CARGO_LAMBDA, "lambda", "watch", "--env-file", ENV_FILE], cwd=ROOT,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        wait_for_port(9000, watcher, timeout_s=120)
        yield
    finally:
        if watcher:
            os.killpg(watcher.pid, signal.SIGTERM)
            watcher.wait(30)
        serve.stdin.close()
        serve.wait(30)


def invoke(function: str, data_file: Path) -> dict:
    done = subprocess.run([CARGO_LAMBDA, "lambda", "invoke", function, "--data-file", str(data_file),
                           "--output-format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_the_monitor_dry_runs_and_runs_under_cargo_lambda_watch(watch, tmp_path):
    dry = invoke("monitor", ROOT / "events" / "monitor-dry-run.json")
    assert dry["messagesPublished"] == 0
    [preview] = dry["preview"]
    assert "need attention" in preview["subject"] and "billing-bitbucket" in preview["text"]

    manual = tmp_path / "run.json"
    manual.write_text("{}")
    run = invoke("monitor", manual)
    assert run["messagesPublished"] == 1 and run["failedRegions"] == [], run
    assert run["eventsPut"] == len(run["stuck"]) + len(run["stuckHosts"]) + len(run["stuckSyncs"])


def test_the_connection_resource_answers_cloudformation_under_cargo_lambda_watch(watch, tmp_path):
    env = env_file()
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"],
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      config=Config(s3={"addressing_style": "path"}))
    bucket, key = f"responses-{uuid.uuid4().hex[:8]}", "create"
    s3.create_bucket(Bucket=bucket)
    event = json.loads((ROOT / "events" / "cloudformation-create.json").read_text())
    event["ResponseURL"] = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                                     ExpiresIn=600)
    request = tmp_path / "create.json"
    request.write_text(json.dumps(event))

    invoke("connection-resource", request)

    answer = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert answer["Status"] == "SUCCESS", answer
    assert answer["PhysicalResourceId"].startswith("arn:aws:codestar-connections:us-east-1:")
