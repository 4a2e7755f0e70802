"""The deploy path the README gives, as a user types it: scripts/deploy (the
real script, in a copy of the repository whose SAM only records what it is
asked), samconfig.toml as SAM itself reads it, and scripts/first-run against
the local AWS, invoking the real monitor binary through a Lambda Invoke
endpoint that runs it through the Runtime API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"

# Records its arguments; `build` leaves two files whose ELF e_machine is AArch64.
RECORDING_SAM = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["SAM_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1] == "build":
    for function in ("MonitorFunction", "ConnectionResourceFunction"):
        os.makedirs(f".aws-sam/build/{function}", exist_ok=True)
        with open(f".aws-sam/build/{function}/bootstrap", "wb") as f:
            f.write(b"\\x7fELF" + bytes(14) + b"\\xb7\\x00")
"""


@pytest.fixture
def repository(tmp_path) -> Path:
    """scripts/deploy, samconfig.toml and the template in a copy whose setup has nothing to install."""
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "deploy", copy / "scripts" / "deploy")
    shutil.copy(ROOT / "scripts" / "stack_delete.py", copy / "scripts" / "stack_delete.py")
    shutil.copy(ROOT / "samconfig.toml", copy / "samconfig.toml")
    shutil.copy(ROOT / "template.yaml", copy / "template.yaml")
    (copy / "scripts" / "setup").write_text("#!/usr/bin/env bash\n")
    sam = copy / ".venv-sam" / "bin" / "sam"
    sam.parent.mkdir(parents=True)
    sam.write_text(RECORDING_SAM)
    # SAM's own Python (boto3) runs the checks around sam delete.
    (sam.parent / "python").symlink_to(SAM_PYTHON)
    for executable in (copy / "scripts" / "setup", sam):
        executable.chmod(0o755)
    return copy


def deploy(repository: Path, *args: str, aws=None) -> list[list[str]]:
    """Runs scripts/deploy with no terminal (no questions); the SAM commands it ran.
    With `aws`, AWS is the local one."""
    log = repository / "sam.log"
    run = deploying(repository, *args, aws=aws)
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def deploying(repository: Path, *args: str, aws=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_LOG": str(repository / "sam.log")}
    if aws:
        env.update({"AWS_ENDPOINT_URL": aws.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
        env.pop("AWS_REGION", None), env.pop("AWS_DEFAULT_REGION", None), env.pop("AWS_PROFILE", None)
    return subprocess.run([str(repository / "scripts" / "deploy"), *args], stdin=subprocess.DEVNULL, env=env,
                          capture_output=True, text=True, timeout=120)


def sam_reads_overrides(values: list[str]) -> dict[str, str]:
    """What SAM itself makes of --parameter-overrides values."""
    code = ("import json, sys; from samcli.cli.types import CfnParameterOverridesType as T; "
            "print(json.dumps(T().convert(tuple(sys.argv[1:]), None, None)))")
    return json.loads(subprocess.run([str(SAM_PYTHON), "-c", code, *values], check=True,
                                     capture_output=True, text=True).stdout)


def test_the_answers_and_the_users_overrides_reach_sam_deploy_as_one_list(repository):
    [build, deploy_call] = deploy(repository, "--alert-email", "ops@example.com", "--regions",
                                  "us-east-1,eu-west-1", "--dry-run", "-", "--parameter-overrides",
                                  "RetryOnResolved=true", "--region", "eu-west-1")
    assert build[:3] == ["build", "--template-file", "template.yaml"]
    assert deploy_call[:5] == ["deploy", "--template-file", ".aws-sam/build/template.yaml", "--config-file",
                               str(repository / "samconfig.toml")]
    overrides = deploy_call[deploy_call.index("--parameter-overrides") + 1:deploy_call.index("--region")]
    assert deploy_call.count("--parameter-overrides") == 1 and deploy_call[-2:] == ["--region", "eu-west-1"]
    assert sam_reads_overrides(overrides) == {"AlertEmail": "ops@example.com", "DryRun": "",
                                              "MonitorRegions": "us-east-1,eu-west-1", "RetryOnResolved": "true"}
    template = (repository / "template.yaml").read_text()
    assert all(f"\n  {name}:\n" in template for name in sam_reads_overrides(overrides))


def exporting_stacks(aws, region: str, stack: str, importers: list[str]) -> None:
    """`stack` exporting its ServiceToken in `region`, and stacks importing it."""
    cloudformation = aws.client("cloudformation", region)
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ServiceToken": {"Value": "arn:aws:lambda:x", "Export": {"Name": f"{stack}-ServiceToken"}}}}))
    for name in importers:
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {"Topic": {
            "Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Fn::ImportValue": f"{stack}-ServiceToken"}}}}}))


def test_nothing_answered_overrides_nothing_and_delete_finds_the_stacks_region(repository, aws):
    [_build, deploy_call] = deploy(repository)
    assert "--parameter-overrides" not in deploy_call, "every parameter keeps its value"
    (repository / "sam.log").unlink()
    stack = f"watch-{uuid.uuid4().hex[:8]}"
    exporting_stacks(aws, "eu-central-1", stack, [])
    try:
        assert deploy(repository, "--delete", "--no-prompts", "--stack-name", stack, aws=aws) == [
            ["delete", "--config-file", str(repository / "samconfig.toml"), "--no-prompts", "--stack-name", stack,
             "--region", "eu-central-1"]]
    finally:
        aws.client("cloudformation", "eu-central-1").delete_stack(StackName=stack)


def test_delete_stops_before_anything_while_a_stack_imports_the_service_token(repository, aws):
    stack = f"watch-{uuid.uuid4().hex[:8]}"
    exporting_stacks(aws, "eu-west-1", stack, [f"{stack}-pipeline"])
    try:
        run = deploying(repository, "--delete", "--stack-name", stack, aws=aws)
        assert run.returncode == 1
        assert not (repository / "sam.log").exists(), "nothing was deleted"
        assert f"import {stack}-ServiceToken" in run.stderr and f"{stack}-pipeline" in run.stderr, run.stderr
        assert (f"aws cloudformation delete-stack --stack-name {stack}-pipeline --region eu-west-1"
                in run.stderr), run.stderr
        # Not found anywhere, or named in a region where it is not: nothing is deleted either.
        for args in (["--stack-name", f"{stack}-absent"], ["--stack-name", stack, "--region", "us-east-2"]):
            run = deploying(repository, "--delete", *args, aws=aws)
            assert run.returncode == 1 and "nothing deleted" in run.stderr, run.stderr
            assert not (repository / "sam.log").exists()
    finally:
        for name in (f"{stack}-pipeline", stack):
            aws.client("cloudformation", "eu-west-1").delete_stack(StackName=name)


def test_sam_reads_the_stack_name_and_capabilities_from_samconfig():
    code = ("import json; from samcli.lib.config.samconfig import SamConfig; c = SamConfig('.'); "
            "print(json.dumps([c.get_all(['deploy'], 'parameters'), c.get_all(['delete'], 'parameters')]))")
    deploy_section, delete_section = json.loads(subprocess.run(
        [str(SAM_PYTHON), "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    # member-role.yaml and the example default to this stack's exports.
    assert deploy_section["stack_name"] == delete_section["stack_name"] == "connection-watch"
    assert deploy_section["capabilities"] == "CAPABILITY_IAM" and deploy_section["resolve_s3"] is True
    assert deploy_section["template_file"] == ".aws-sam/build/template.yaml", "never the repository"
    assert "parameter_overrides" not in deploy_section, "answers are not pinned: a console change survives"
    assert "Default: connection-watch" in (ROOT / "member-role.yaml").read_text()


@pytest.mark.parametrize("guided", [False, True])
def test_sam_deploy_before_a_build_refuses_instead_of_uploading_the_repository(tmp_path, guided):
    """The real SAM, in a copy with no build: it stops before reading any
    credentials or uploading anything, and writes nothing into samconfig.toml."""
    for name in ("samconfig.toml", "template.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SAM_CLI_TELEMETRY": "0",
           "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    sam = subprocess.run([str(ROOT / ".venv-sam" / "bin" / "sam"), "deploy", *(["--guided"] if guided else [])],
                         cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=120)
    assert sam.returncode != 0
    assert f"Template file not found at {tmp_path}/.aws-sam/build/template.yaml" in sam.stdout + sam.stderr
    assert (tmp_path / "samconfig.toml").read_text() == (ROOT / "samconfig.toml").read_text()


class LambdaInvoke(BaseHTTPRequestHandler):
    """Lambda's Invoke (POST /2015-03-31/functions/NAME/invocations) for one function,
    served by the real binary through the Runtime API."""
    function = None

    def do_POST(self):  # noqa: N802 (the standard library's name)
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        invocation = self.function.invoke(payload)
        body = json.dumps(invocation.body).encode()
        self.send_response(200)
        if not invocation.ok:
            self.send_header("X-Amz-Function-Error", "Unhandled")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def first_run(aws, monitor, *args: str) -> subprocess.CompletedProcess:
    """scripts/first-run as it runs on a machine with Python 3 and boto3 only: in
    a copy holding just what it needs, where cargo, cc and sam record any use."""
    copy = Path(tempfile.mkdtemp())
    (copy / "scripts").mkdir()
    for name in ("scripts/first-run", "scripts/first_run.py", "requirements.txt"):
        shutil.copy(ROOT / name, copy / name)
    tools = copy / "bin"
    tools.mkdir()
    (tools / "python3").symlink_to(ROOT / ".venv" / "bin" / "python")
    for tool in ("cargo", "cc", "sam", "rustup"):
        (tools / tool).write_text(f"#!/bin/sh\necho {tool} >> {copy}/used\nexit 97\n")
        (tools / tool).chmod(0o755)
    aws.client("cloudformation").create_stack(StackName="connection-watch", TemplateBody=json.dumps({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"MonitorFunctionName": {"Value": "connection-watch-MonitorFunction-abc"}}}))
    handler = type("Invoke", (LambdaInvoke,), {"function": monitor})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"PATH": f"{tools}:/usr/bin:/bin", "HOME": "/nonexistent", "AWS_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
               "AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{server.server_port}"}
        ran = subprocess.run([str(copy / "scripts" / "first-run"), *args], env=env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=120)
        assert not (copy / "used").exists(), (copy / "used").read_text()
        assert not (copy / ".venv-invoke").exists(), "a Python with boto3 is used as it is"
        return ran
    finally:
        shutil.rmtree(copy)
        server.shutdown()
        aws.client("cloudformation").delete_stack(StackName="connection-watch")


def test_first_run_prints_the_deployed_monitors_preview(aws, codestar, lambda_function):
    [pending] = codestar.seed("us-east-1", 1, "PENDING", name_prefix="first-run")
    monitor = lambda_function("monitor", {"MONITOR_REGIONS": "us-east-1", "USED_BY": "none",
                                          "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:never"})
    ran = first_run(aws, monitor)
    assert ran.returncode == 0, ran.stderr
    assert "Stuck: 1 connections, 0 hosts, 0 Git-synced stacks (0 muted by the ignore tag)." in ran.stdout, ran.stdout
    assert ran.stdout.startswith("A dry run of connection-watch for account 123456789012 from us-east-1"), ran.stdout
    assert "=== message 1 of 1 ===\nSubject: 1 CodeStar connection needs attention (1 PENDING)" in ran.stdout
    assert pending in ran.stdout


def test_first_run_says_a_failed_run_is_an_error(aws, codestar, lambda_function):
    codestar.set_faults(fail_all=True, operations=["ListHosts"])
    monitor = lambda_function("monitor", {"MONITOR_REGIONS": "us-east-1", "USED_BY": "none",
                                          "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:never"})
    ran = first_run(aws, monitor)
    assert ran.returncode == 1 and ran.stdout == ""
    assert "first-run: the run ended in RegionsFailed: could not scan" in ran.stderr, ran.stderr


def test_setup_names_everything_missing_in_one_line(tmp_path):
    """A machine with Python but no Rust toolchain, no C compiler and no Node.js."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "python3").symlink_to(Path(sys.base_prefix) / "bin" / "python3")
    ran = subprocess.run([str(ROOT / "scripts" / "setup")], env={"PATH": str(bin_dir)}, capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert ran.returncode == 1
    assert ran.stderr.splitlines() == ["setup: missing: the Rust toolchain (cargo, via rustup); "
                                       "a C compiler (cc: build-essential, or the Xcode command line tools); "
                                       "Node.js 18 or later with npm"]
