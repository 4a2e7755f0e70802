"""A look before deploying (docs/reference.md, "A look before deploying"): the
monitor binary started outside Lambda, as a person starts it, with a profile's
region and credentials, against the local AWS. It prints the preview, writes
nothing (not even a table's index), and refuses what it does not know."""

from __future__ import annotations

import json
import os
import subprocess

from tests.e2e.test_lifecycle import table  # noqa: F401 (fixture)


def look(binaries, aws, codestar, tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The binary with no AWS_LAMBDA_RUNTIME_API, its region and keys from a profile (no
    AWS_REGION: the SDK has no default region, so it reads the profile's)."""
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[default]\nregion = us-east-1\n")
    credentials.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        # Nothing on this machine may reach for the instance metadata service.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": aws.url,
        "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url,
        "USED_BY": "none",
        **env,
    }
    return subprocess.run([binaries["monitor"], *args], env=environment, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_outside_lambda_it_prints_what_subscribers_would_get_and_writes_nothing(
        binaries, aws, codestar, tmp_path, table):  # noqa: F811 (fixture)
    [pending] = codestar.seed("us-east-1", 1, "PENDING", name_prefix="first-look")
    codestar.seed("eu-west-1", 2, "AVAILABLE")
    # A table without its record index: a real run would index it; a look may not.
    ran = look(binaries, aws, codestar, tmp_path, "--once", STATE_TABLE=table)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert out.startswith("A dry run of connection-watch for account 123456789012 from us-east-1: "
                          "nothing was published"), out
    assert "Read: 3 connections (listed from us-east-1)" in out, out
    assert "=== message 1 of 1 ===\nSubject: 1 CodeStar connection needs attention (1 PENDING)" in out, out
    assert "first-look-0 - PENDING" in out and pending in out, out
    assert aws.client("dynamodb").scan(TableName=table)["Items"] == []

    as_json = look(binaries, aws, codestar, tmp_path, "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert [c["arn"] for c in report["stuck"]] == [pending]
    assert report["messagesPublished"] == 0 and len(report["preview"]) == 1


def test_a_look_refuses_an_unknown_argument_and_names_a_bad_variable(binaries, aws, codestar, tmp_path):
    refused = look(binaries, aws, codestar, tmp_path, "--dry")
    assert refused.returncode == 2 and "usage: monitor [--once | --inventory] [--json]" in refused.stderr
    misconfigured = look(binaries, aws, codestar, tmp_path, ALERT_STATUSES="PENDING;ERROR")
    assert misconfigured.returncode == 2
    assert "ALERT_STATUSES" in misconfigured.stderr and misconfigured.stdout == ""


def test_a_look_uses_a_credential_process_profile_by_flag_or_by_aws_profile(binaries, aws, codestar, tmp_path):
    """The credentials people use from a terminal: a profile whose credential_process
    prints them (the AWS CLI's and SDKs' shared config format), named by --profile or
    AWS_PROFILE. The [default] profile's keys are left wrong, so only the process's work."""
    [pending] = codestar.seed("us-east-1", 1, "PENDING", name_prefix="by-process")
    calls = tmp_path / "process-calls"
    process = tmp_path / "credentials.sh"
    process.write_text("#!/bin/sh\n"
                       f"echo called >> {calls}\n"
                       'echo \'{"Version": 1, "AccessKeyId": "testing", "SecretAccessKey": "testing"}\'\n')
    process.chmod(0o755)
    config = tmp_path / "process-config"
    config.write_text(f"[profile by-process]\nregion = us-east-1\ncredential_process = {process}\n")
    for args, env in ((["--once", "--profile", "by-process"], {}), (["--once"], {"AWS_PROFILE": "by-process"})):
        ran = look(binaries, aws, codestar, tmp_path, *args, AWS_CONFIG_FILE=str(config),
                   AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), **env)
        assert ran.returncode == 0, ran.stderr
        assert pending in ran.stdout, ran.stdout
    assert calls.read_text().count("called") >= 2
    refused = look(binaries, aws, codestar, tmp_path, "--profile", "nobody", AWS_CONFIG_FILE=str(config))
    assert refused.returncode == 2
    assert 'the profile "nobody" gives no region' in refused.stderr, refused.stderr
