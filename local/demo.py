"""The main job, locally: both Lambdas through the Lambda Runtime API against
moto (SNS, SQS, S3, DynamoDB, EventBridge) and the CodeStar stand-in. Shows,
in order: the email and the chat message (naming the pipelines a broken
connection stops, and one pipeline role flagged for the service prefix
rename with the statement to add), what machines receive (the SQS
document, one EventBridge event), the lifecycle over three runs, a dry run's
preview, a configuration error, and what CloudFormation receives from the
connection resource. Full JSON goes to target/demo/ (or the screen with
--verbose); everything it started is stopped."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from local.codestar_standin import CodestarStandIn
from local.moto_aws import LocalAws
from local.runtime_api import LambdaFunction

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "target" / "demo"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
SCHEDULED = json.loads((ROOT / "events" / "scheduled.json").read_text())


class Show:
    """Sections, indented text, and full JSON to a file (or the screen with --verbose)."""

    def __init__(self, verbose: bool):
        self.verbose, self.files = verbose, []

    def section(self, title: str) -> None:
        print(f"\n== {title} " + "=" * max(0, 74 - len(title)))

    def text(self, text: str) -> None:
        print(textwrap.indent(text, "  "))

    def json(self, name: str, value) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / name).write_text(json.dumps(value, indent=2) + "\n")
        self.files.append(name)
        if self.verbose:
            self.text(json.dumps(value, indent=2))


def build() -> None:
    """cargo build, with a line of progress: a first build takes a few minutes."""
    started = time.monotonic()
    build = subprocess.Popen(["cargo", "build", "--bins", "--quiet"], cwd=ROOT)
    while build.poll() is None:
        time.sleep(1)
        elapsed = int(time.monotonic() - started)
        if sys.stdout.isatty():
            print(f"\rBuilding both Lambdas (cargo build)... {elapsed} s", end="", flush=True)
        elif elapsed % 30 == 0:
            print(f"Building both Lambdas (cargo build)... {elapsed} s", flush=True)
    if build.returncode:
        raise SystemExit(f"cargo build failed ({build.returncode})")
    print(f"\rBuilt both Lambdas in {time.monotonic() - started:.0f} s.{' ' * 20}")


def seed(codestar, aws) -> None:
    """Connections created in three regions (AWS lists them all from any region), some never
    finished, one broken (which a pipeline and a CodeBuild project use), one ignored on
    purpose; hosts never set up or failed."""
    ghe = codestar.add_host("us-east-1", "ghe-build", status="PENDING")
    codestar.add_host("us-east-1", "ghe-main")
    codestar.add_host("eu-west-1", "gitlab-eu", "GitLabSelfManaged", status="VPC_CONFIG_FAILED_INITIALIZATION",
                      status_message="The VPC subnets have no route to https://gitlab-eu.example.com")
    codestar.seed("us-east-1", 120, "AVAILABLE", "GitHub")
    codestar.seed("us-east-1", 2, "PENDING", "GitHub", name_prefix="payments-api-github")
    codestar.seed("us-east-1", 1, "PENDING", "GitHubEnterpriseServer", name_prefix="build-ghe", host_arn=ghe)
    codestar.seed("us-east-1", 1, "PENDING", "GitHub", name_prefix="sandbox", tags={"connection-watch:ignore": "true"})
    codestar.seed("eu-west-1", 30, "AVAILABLE", "Bitbucket")
    [broken] = codestar.seed("eu-west-1", 1, "ERROR", "Bitbucket", name_prefix="billing-bitbucket")
    # The pipeline names the connection by its codeconnections ARN, and its role grants only
    # the old prefix: the service prefix rename, flagged with the statement to add.
    pipeline_role, project_role = aws.service_role(), aws.service_role()
    grant(aws, pipeline_role, ["codestar-connections:UseConnection"])
    grant(aws, project_role, ["codestar-connections:GetConnectionToken", "codestar-connections:GetConnection"])
    aws.pipeline("eu-west-1", "billing-release", pipeline_role,
                 broken.replace(":codestar-connections:", ":codeconnections:"))
    aws.project("eu-west-1", "billing-build", project_role, broken)
    codestar.seed("ap-southeast-2", 5, "AVAILABLE", "GitLab")
    # A stack synced from Git whose last sync failed: blocked until someone resolves it.
    [github] = codestar.seed("eu-west-1", 1, "AVAILABLE", "GitHub", name_prefix="platform-github")
    link = codestar.add_repository_link("eu-west-1", github, repository="platform-infra")
    for stack in ("network-prod", "dns-prod"):
        codestar.add_stack_sync("eu-west-1", link, stack)
        codestar.set_sync_status("eu-west-1", stack, "SUCCEEDED")
    codestar.add_sync_blocker("eu-west-1", "network-prod",
                              "Stack update failed: Resource handler returned message: subnet-0abc is in use")
    codestar.set_sync_status("eu-west-1", "network-prod", "FAILED")


def grant(aws, role: str, actions: list[str]) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    aws.client("iam").put_role_policy(RoleName=role.rsplit("/", 1)[1], PolicyName="connections",
                                      PolicyDocument=json.dumps(policy))


def state_table(aws) -> str:
    aws.client("dynamodb").create_table(
        TableName="connection-watch-state", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "region", "KeyType": "HASH"}, {"AttributeName": "arn", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "region", "AttributeType": "S"},
                              {"AttributeName": "arn", "AttributeType": "S"}])
    return "connection-watch-state"


def lifecycle(show, aws, codestar, monitor, queues) -> None:
    """Hourly runs ending now: the monitor takes an event's time only near the clock."""
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    first_ids = {}
    for hour in (0, 1, 2):
        if hour == 2:
            done = next(c for c in codestar.connections("us-east-1")
                        if c.status == "PENDING" and c.name.startswith("payments"))
            codestar.set_status(done.arn, "AVAILABLE")
            host = next(h for h in codestar.hosts("us-east-1") if h.status != "AVAILABLE")
            codestar.set_host_status(host.arn, "AVAILABLE")
            show.text(f"... a handshake is completed ({done.name}) and a host is set up ({host.name})")
        when = (start + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
        result = monitor.invoke({**SCHEDULED, "time": when})
        notes, events = aws.drain(queues["sqs"]), aws.drain(queues["events"])
        states = sorted({e["detail"]["state"] for e in events})
        quiet = sum(len(result.body.get(k, [])) for k in ("suppressed", "suppressedHosts", "suppressedSyncs",
                                                          "suppressedAccess"))
        said = notes[0]["Subject"] if notes else f"nothing published ({quiet} stuck, not due again yet)"
        show.text(f"run {hour + 1} at {when}: {said}; events: {len(events)} {'/'.join(states)}".rstrip())
        for e in events:
            # A denied consumer's identity is its lifecycle key, every other object's its ARN.
            key = e["detail"].get("arn") or e["detail"]["alertKey"]
            first_ids.setdefault(key, e["detail"]["alertId"])
            if e["detail"]["state"] == "resolved":
                same = first_ids[key] == e["detail"]["alertId"]
                show.text(f"    resolved {e['detail'].get('name') or e['detail']['resourceName']}: alertId {e['detail']['alertId']} "
                          f"({'the same as its new event' if same else 'DIFFERENT'})")


def connection_resource(show, aws, codestar, target, endpoints) -> list[str]:
    aws.versioned_bucket("cloudformation-responses")
    summary, created = [], None
    with LambdaFunction(str(target / "connection-resource"), "connection-watch-resource", endpoints) as resource:
        for label, request in [("Create", "create"), ("Create with ProviderType CodeCommit", "bad"),
                               ("Delete", "delete")]:
            event = json.loads((ROOT / "events" / f"cloudformation-{'delete' if request == 'delete' else 'create'}.json")
                               .read_text())
            if request == "bad":
                event["ResourceProperties"]["ProviderType"] = "CodeCommit"
            if request == "delete":
                event["PhysicalResourceId"] = created
            key = f"responses/{uuid.uuid4()}"
            event["ResponseURL"], event["ServiceToken"] = aws.response_url("cloudformation-responses", key), resource.arn
            invocation = resource.invoke(event)
            response = aws.read_response("cloudformation-responses", key) or {"Status": f"none: {invocation.body}"}
            show.json(f"cloudformation-{request}.json", response)
            line = f"{label}: {response['Status']}"
            if request == "create":
                created = response["PhysicalResourceId"]
                held = codestar.get(created)
                line += f", {created}; the stand-in holds {held.name!r}, {held.status}"
            elif request == "bad":
                line += f": {response.get('Reason')}"
            else:
                line += f"; the stand-in holds it no more: {codestar.get(created) is None}"
            show.text(line)
            summary.append(f"{label}: {response['Status']}")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="print the full JSON too")
    show = Show(parser.parse_args().verbose)
    build()
    target = ROOT / "target" / "debug"

    with LocalAws() as aws, CodestarStandIn() as codestar:
        print(f"Local AWS (moto) on {aws.url}; CodeStar Connections stand-in on {codestar.url}")
        # AWS_ENDPOINT_URL sends every other service to moto: nothing reaches AWS.
        endpoints = {"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_SNS": aws.url,
                     "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url}
        seed(codestar, aws)
        topic_arn, sqs_queue = aws.topic_with_queue("connection-watch-alerts")
        aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="email", Endpoint="platform-team@example.com")
        bus, event_queue = aws.bus_with_queue("platform-events")
        env = {**endpoints, "ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": ",".join(REGIONS), "EVENT_BUS": bus}
        with LambdaFunction(str(target / "monitor"), "connection-watch-monitor", env) as monitor:
            result = monitor.invoke({**SCHEDULED, "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
        if not result.ok:
            print(f"the monitor failed: {result.body}")
            return 1
        body = result.body
        print(f"One scheduled run: {body['scanned']} connections, {body['hostsScanned']} hosts and "
              f"{body['syncsScanned']} Git-synced stacks in {len(REGIONS)} regions; {len(body['stuck'])} "
              f"connections, {len(body['stuckHosts'])} hosts and {len(body['stuckSyncs'])} stack stuck, "
              f"{body['ignored']} ignored by tag.")
        show.json("run-result.json", body)

        [(subject, email)] = aws.email_view(topic_arn)
        show.section("1. The email")
        show.text(f"Subject: {subject}\n\n{email.rstrip()}")
        [(_subject, chat)] = aws.protocol_view(topic_arn, "https")
        content = json.loads(chat)["content"]
        show.section("1b. The chat message (Slack, Teams through AWS Chatbot)")
        description = "\n".join(line for line in content["description"].splitlines() if line.strip())
        show.text(f"**{content['title']}**\n{description}\nNext steps ({len(content['nextSteps'])}): "
                  + " ".join(content["nextSteps"]))

        show.section("2. What machines receive")
        [note] = aws.drain(sqs_queue)
        document = json.loads(note["Message"])
        show.json("sqs-document.json", document)
        first = document["connections"][0]
        show.text(f"SQS subscriber: the document v{document['version']}, {len(document['connections'])} connections, "
                  f"{len(document['hosts'])} hosts and {len(document['syncs'])} synced stack, each like\n"
                  f"  {json.dumps(first)}")
        events = aws.drain(event_queue)
        show.json("events.json", events)
        event = next(e for e in events if e["detail-type"] == "Git Sync Alert")
        show.text(f"EventBridge: {len(events)} events; the synced stack's, as the rule's SQS target receives it:")
        show.text(json.dumps({k: event[k] for k in ("source", "detail-type", "resources", "detail")}))
        show.section("3. The lifecycle over three runs (STATE_TABLE, REPEAT_INTERVAL=24h)")
        lifecycle_env = {**env, "STATE_TABLE": state_table(aws), "REPEAT_INTERVAL": "24h"}
        with LambdaFunction(str(target / "monitor"), "connection-watch-monitor", lifecycle_env) as monitor:
            lifecycle(show, aws, codestar, monitor, {"sqs": sqs_queue, "events": event_queue})
        show.section('4. A dry run (events/monitor-dry-run.json): what people would get, nothing sent')
        with LambdaFunction(str(target / "monitor"), "connection-watch-monitor", env) as monitor:
            dry = monitor.invoke(json.loads((ROOT / "events" / "monitor-dry-run.json").read_text())).body
        [preview] = dry["preview"]
        lines = preview["text"].splitlines()
        show.text(f"Subject: {preview['subject']}\n" + "\n".join(lines[:2]) + f"\n... ({len(lines) - 2} more lines); "
                  f"published {dry['messagesPublished']}, queues now hold {len(aws.drain(sqs_queue))} messages "
                  f"and {len(aws.drain(event_queue))} events")

        show.section("5. A configuration error: ALERT_STATUSES=PENDING,NOT-A-STATUS")
        # As Lambda starts it: with a Runtime API address (never reached: start-up stops
        # first). Without one, the binary is a person's look before deploying instead.
        bad = subprocess.run([str(target / "monitor")], env={**os.environ, **env, "AWS_REGION": "us-east-1",
                                                             "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9",
                                                             "ALERT_STATUSES": "PENDING,NOT-A-STATUS"},
                             capture_output=True, text=True, timeout=30)
        show.text(f"start-up stops (exit {bad.returncode}), once, naming the variable:\n  "
                  + (bad.stdout + bad.stderr).strip())

        show.section("6. The connection resource: what CloudFormation receives at its ResponseURL")
        answers = connection_resource(show, aws, codestar, target, endpoints)

    show.section("Summary")
    breaks = sum(len(c.get("usedBy", [])) for c in body["stuck"])
    show.text(f"- One run alerted {len(body['stuck'])} connections, {len(body['stuckHosts'])} hosts and "
              f"{len(body['stuckSyncs'])} blocked Git-synced stack "
              f"in {body['messagesPublished']} message (email, chat, SQS) and {body['eventsPut']} events,\n"
              f"  naming the {breaks} pipelines and projects they break, and {len(body['accessFindings'])} pipeline "
              "whose role may not use its connection (the prefix rename), with the statement to add.\n"
              "- With a state table: alerted once, quiet while not due, resolved with the same alertId.\n"
              f"- CloudFormation got exactly one answer each: {'; '.join(answers)}.\n"
              f"- Full JSON in {OUT.relative_to(ROOT)}/: {', '.join(show.files)} (or run with --verbose).\n"
              "- Every local service is stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
