"""Fixtures for the end-to-end tests: the release-shaped binaries built once,
moto for SNS/SQS/S3, a fresh CodeStar stand-in per test, and Lambda
functions run through the Runtime API, all on 127.0.0.1 and all stopped at
teardown, failures included."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from local.codestar_standin import CodestarStandIn
from local.moto_aws import LocalAws
from local.runtime_api import LambdaFunction

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def binaries() -> dict[str, str]:
    subprocess.run(["cargo", "build", "--bins", "--quiet"], cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
    return {name: str(target / name) for name in ("monitor", "connection-resource")}


@pytest.fixture(scope="session")
def aws():
    with LocalAws() as local:
        yield local


@pytest.fixture
def codestar():
    with CodestarStandIn() as standin:
        yield standin


@pytest.fixture
def lambda_function(binaries, aws, codestar):
    """Starts a binary through the Runtime API with the stand-ins' endpoints."""
    started: list[LambdaFunction] = []

    def start(binary: str, env: dict[str, str] | None = None, **kwargs) -> LambdaFunction:
        endpoints = {
            # Every service not named below goes to moto too: never to AWS.
            "AWS_ENDPOINT_URL": aws.url,
            "AWS_ENDPOINT_URL_SNS": aws.url,
            "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url,
        }
        fn = LambdaFunction(binaries[binary], binary, {**endpoints, **(env or {})}, **kwargs)
        started.append(fn)
        return fn.start()

    yield start
    for fn in started:
        fn.stop()
