"""The main job, locally: both Lambdas through the Lambda Runtime API against
moto (SNS, SQS, S3) and the CodeStar stand-in. Shows what an email and an
SQS subscriber receive from the monitor, and what CloudFormation receives
from the connection resource; then stops everything it started."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from local.codestar_standin import CodestarStandIn
from local.moto_aws import LocalAws
from local.runtime_api import LambdaFunction

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def banner(title: str) -> None:
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}")


def indent(text: str) -> str:
    return textwrap.indent(text, "    ")


def lifecycle_demo(aws, codestar, target, monitor_env, queue_url) -> None:
    """The same account with a state table: alert once, stay quiet, announce recovery."""
    table = "connection-watch-state"
    aws.client("dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "region", "KeyType": "HASH"},
                   {"AttributeName": "arn", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "region", "AttributeType": "S"},
                              {"AttributeName": "arn", "AttributeType": "S"}])
    env = {**monitor_env, "STATE_TABLE": table, "REPEAT_INTERVAL": "24h"}
    scheduled = json.loads((ROOT / "events" / "scheduled.json").read_text())
    banner("4. Monitor with STATE_TABLE: alert once, stay quiet, announce recovery")
    # Hourly runs ending now: the monitor takes an event's time only near the clock.
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    with LambdaFunction(str(target / "monitor"), "connection-watch-monitor", env) as monitor:
        for hour, change in [(0, None), (1, None), (2, "the payments team completes one handshake, "
                                                       "the platform team sets up the GitHub Enterprise host")]:
            if change:
                done = next(c for c in codestar.connections("us-east-1") if c.status == "PENDING"
                            and c.name.startswith("payments"))
                codestar.set_status(done.arn, "AVAILABLE")
                host = next(h for h in codestar.hosts("us-east-1") if h.status != "AVAILABLE")
                codestar.set_host_status(host.arn, "AVAILABLE")
                print(indent(f"... {change}: {done.name} and {host.name} are AVAILABLE"))
            when = (start + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
            result = monitor.invoke({**scheduled, "time": when})
            notes = aws.drain(queue_url)
            subjects = [n["Subject"] for n in notes] or ["(nothing published)"]
            print(indent(f"run at {when}: {result.body['messagesPublished']} message(s): {subjects[0]}"))
            for note in notes:
                document = json.loads(note["Message"])
                states = {c["name"]: c["state"] for c in document["connections"] + document["hosts"]}
                print(indent(f"    states: {states}"))


def main() -> int:
    print("Building the Lambda binaries (cargo build --bins)...", flush=True)
    subprocess.run(["cargo", "build", "--bins", "--quiet"], cwd=ROOT, check=True)
    target = ROOT / "target" / "debug"

    with LocalAws() as aws, CodestarStandIn() as codestar:
        print(f"moto (SNS, SQS, S3) on {aws.url}; CodeStar Connections stand-in on {codestar.url}")
        # AWS_ENDPOINT_URL sends every other service to moto: nothing reaches AWS.
        endpoints = {"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_SNS": aws.url,
                     "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url}

        # An account whose connections were created in three regions (AWS lists
        # them all from any region), some never finished, one broken, and
        # self-managed hosts: one never set up, one whose VPC settings failed.
        ghe = codestar.add_host("us-east-1", "ghe-build", status="PENDING")
        codestar.add_host("us-east-1", "ghe-main")
        codestar.add_host("eu-west-1", "gitlab-eu", "GitLabSelfManaged", status="VPC_CONFIG_FAILED_INITIALIZATION",
                          status_message="The VPC subnets have no route to https://gitlab-eu.example.com")
        codestar.seed("us-east-1", 120, "AVAILABLE", "GitHub")
        codestar.seed("us-east-1", 2, "PENDING", "GitHub", name_prefix="payments-api-github")
        codestar.seed("us-east-1", 1, "PENDING", "GitHubEnterpriseServer", name_prefix="build-ghe", host_arn=ghe)
        codestar.seed("us-east-1", 1, "PENDING", "GitHub", name_prefix="sandbox",
                      tags={"connection-watch:ignore": "true"})
        codestar.seed("eu-west-1", 30, "AVAILABLE", "Bitbucket")
        codestar.seed("eu-west-1", 1, "ERROR", "Bitbucket", name_prefix="billing-bitbucket")
        codestar.seed("ap-southeast-2", 5, "AVAILABLE", "GitLab")

        topic_arn, queue_url = aws.topic_with_queue("connection-watch-alerts")
        aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="email", Endpoint="platform-team@example.com")

        monitor_env = {**endpoints, "ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": ",".join(REGIONS)}
        with LambdaFunction(str(target / "monitor"), "connection-watch-monitor", monitor_env) as monitor:
            scheduled = json.loads((ROOT / "events" / "scheduled.json").read_text())
            scheduled["time"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            result = monitor.invoke(scheduled)
        banner("1. Monitor: the run result (Lambda's response to the scheduled event)")
        print(indent(json.dumps(result.body, indent=2) if result.ok else f"FAILED: {result.body}"))
        if not result.ok:
            return 1

        banner("2. What an email subscriber receives")
        for subject, body in aws.email_view(topic_arn):
            print(indent(f"Subject: {subject}\n\n{body}"))

        banner("2b. What a Slack or Teams channel shows (the `https` entry: an AWS Chatbot custom notification)")
        for _subject, body in aws.protocol_view(topic_arn, "https"):
            chat = json.loads(body)
            content = chat["content"]
            shown = [f"[thread {chat['metadata']['threadId']}]", f"**{content['title']}**", "",
                     content["description"], "", "Next steps:"]
            shown += [f"  - {step}" for step in content["nextSteps"]]
            shown += ["", "Keywords: " + ", ".join(content["keywords"])]
            print(indent("\n".join(shown)))

        banner("3. What an SQS subscriber receives (the SNS notification, Message parsed)")
        for note in aws.drain(queue_url):
            note["Message"] = json.loads(note["Message"])
            shown = {k: note[k] for k in ("Type", "Subject", "MessageAttributes", "Message")}
            print(indent(json.dumps(shown, indent=2)))

        lifecycle_demo(aws, codestar, target, monitor_env, queue_url)

        bucket = "cloudformation-responses"
        aws.versioned_bucket(bucket)
        with LambdaFunction(str(target / "connection-resource"), "connection-watch-resource", endpoints) as resource:
            for title, request in [
                ("5. Connection resource: Create", "cloudformation-create.json"),
                ("6. Connection resource: Create with a malformed property", None),
                ("7. Connection resource: Delete", "cloudformation-delete.json"),
            ]:
                event = json.loads((ROOT / "events" / (request or "cloudformation-create.json")).read_text())
                if request is None:
                    event["ResourceProperties"]["ProviderType"] = "CodeCommit"
                if event["RequestType"] == "Delete":
                    event["PhysicalResourceId"] = created_arn
                key = f"responses/{uuid.uuid4()}"
                event["ResponseURL"] = aws.response_url(bucket, key)
                event["ServiceToken"] = resource.arn
                invocation = resource.invoke(event)
                response = aws.read_response(bucket, key)
                banner(f"{title}: what CloudFormation receives at its ResponseURL")
                print(indent(json.dumps(response, indent=2)))
                if not invocation.ok or response is None:
                    print(f"the function failed: {invocation.body}")
                    return 1
                if request == "cloudformation-create.json":
                    created_arn = response["PhysicalResourceId"]
                    connection = codestar.get(created_arn)
                    print(indent(f"-> the stand-in now holds {connection.name!r}, status {connection.status}"))
                if event["RequestType"] == "Delete":
                    print(indent(f"-> the stand-in holds it no more: {codestar.get(created_arn) is None}"))
                    routed = [(op, region) for op, arn, region in codestar.arrivals if arn == created_arn]
                    print(indent(f"-> calls naming it, and the region each went to: {routed}"))
    print("\nAll local services stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
