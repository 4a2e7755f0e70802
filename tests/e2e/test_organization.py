"""Organization-wide monitoring end to end: moto serves Organizations and STS
(AssumeRole hands out per-account credentials), and the CodeStar stand-in
tells accounts apart by those credentials."""

from __future__ import annotations

import json
import uuid

import pytest

from local.codestar_standin import CodestarStandIn
from local.tls import local_ca

from tests.e2e.test_lifecycle import T0, at, items, scheduled, table  # noqa: F401 (fixture)

OWN = "123456789012"


@pytest.fixture(scope="module")
def organization(aws) -> dict[str, str]:
    """An organization of the own (management) account and four members, one closed."""
    orgs = aws.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    ids = {}
    for name in ("payments", "data", "sandbox", "retired"):
        status = orgs.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        ids[name] = status["AccountId"]
    orgs.close_account(AccountId=ids["retired"])
    return ids


def alerted(note: dict) -> dict[str, tuple[str | None, str | None]]:
    """arn -> (account, accountName) of the connections in one alert."""
    return {c["arn"]: (c.get("account"), c.get("accountName"))
            for c in json.loads(note["Message"])["connections"]}


def test_every_account_is_scanned_through_its_role_and_a_denied_one_fails_alone(
        aws, codestar, lambda_function, organization):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    own = codestar.seed("us-east-1", 1, "PENDING")
    payments = codestar.seed("eu-west-1", 2, "PENDING", account=organization["payments"])
    data = codestar.seed("us-east-1", 1, "ERROR", account=organization["data"])
    codestar.seed("us-east-1", 1, "PENDING", account=organization["sandbox"])
    codestar.seed("us-east-1", 1, "PENDING", account=organization["retired"])
    codestar.deny(organization["sandbox"])
    bus, received = aws.bus_with_queue(f"bus-{uuid.uuid4().hex[:8]}")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": "organization",
                                          "MONITOR_REGIONS": "us-east-1,eu-west-1", "EVENT_BUS": bus})

    result = monitor.invoke({})

    assert result.error_type == "AccountsFailed", result.body
    assert organization["sandbox"] in result.error_message and "AccessDenied" in result.error_message
    [note] = aws.drain(queue_url)
    accounts = alerted(note)
    assert set(accounts) == set(own + payments + data), "the closed account is skipped, the denied one failed"
    assert accounts[payments[0]] == (organization["payments"], "payments")
    assert accounts[own[0]][0] == OWN
    [(_subject, email)] = aws.email_view(topic_arn)
    assert f"=== ACCOUNT {organization['payments']} (payments) ===" in email, email
    events = {e["detail"]["arn"]: e["detail"]["account"] for e in aws.drain(received)}
    assert events == {arn: account for arn, (account, _name) in accounts.items()}, "each event names its account"
    # Each member's connections were read with that member's credentials.
    assert all(arn.split(":")[4] in (OWN, organization["payments"], organization["data"])
               for _op, arn, _region in codestar.arrivals)

    narrowed = monitor.invoke({"accounts": [organization["payments"]], "dryRun": True})
    assert narrowed.ok, narrowed.body
    assert {c["account"] for c in narrowed.body["stuck"]} == {OWN, organization["payments"]}
    assert narrowed.body["accounts"] == 2 and narrowed.body["failedAccounts"] == []


def test_a_member_accounts_stuck_connection_names_that_accounts_pipelines(
        aws, codestar, lambda_function, organization):
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    member = organization["data"]
    [stuck] = codestar.seed("eu-west-1", 1, "PENDING", account=member)
    name = f"data-ingest-{uuid.uuid4().hex[:6]}"
    aws.pipeline("eu-west-1", name, aws.service_role(account=member), stuck, account=member)
    # The same name in the own account uses another connection: not listed.
    aws.pipeline("eu-west-1", name, aws.service_role(), None)
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": member,
                                          "MONITOR_REGIONS": "eu-west-1"})

    result = monitor.invoke({})

    assert result.ok, result.body
    [connection] = [c for c in result.body["stuck"] if c["arn"] == stuck]
    [pipeline] = connection["usedBy"]
    assert (pipeline["name"], pipeline["account"]) == (name, member)
    assert pipeline["arn"] == f"arn:aws:codepipeline:eu-west-1:{member}:{name}"


def test_the_lifecycle_spans_accounts_and_a_failed_account_resolves_nothing(
        aws, codestar, lambda_function, organization, table):  # noqa: F811
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [payments] = codestar.seed("us-east-1", 1, "PENDING", account=organization["payments"])
    [data] = codestar.seed("us-east-1", 1, "PENDING", account=organization["data"])
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": organization["payments"]
                                          + "," + organization["data"], "STATE_TABLE": table})
    first = monitor.invoke(scheduled(T0))
    assert first.ok, first.body
    assert {c["state"] for c in json.loads(aws.drain(queue_url)[0]["Message"])["connections"]} == {"new"}

    # Both handshakes are completed, but data's role is now refused.
    codestar.set_status(payments, "AVAILABLE")
    codestar.set_status(data, "AVAILABLE")
    codestar.deny(organization["data"])
    second = monitor.invoke(scheduled(at(1)))
    assert second.error_type == "AccountsFailed"
    [note] = aws.drain(queue_url)
    assert {c["arn"]: c["state"] for c in json.loads(note["Message"])["connections"]} == {payments: "resolved"}
    assert {i["arn"]["S"] for i in items(aws, table)} == {data}, "the failed account's record stays"


def test_a_narrowed_run_stays_inside_the_configured_scope(aws, codestar, lambda_function, organization):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    outsider = "999999999999"
    codestar.seed("us-east-1", 1, "PENDING", account=outsider)
    org_wide = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": "organization"})
    refused = org_wide.invoke({"accounts": [outsider]})
    assert refused.error_type == "InvalidEvent" and outsider in refused.error_message, refused.body
    listed = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": organization["payments"]})
    refused = listed.invoke({"accounts": [organization["data"]]})
    assert refused.error_type == "InvalidEvent" and organization["data"] in refused.error_message
    single = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn})
    refused = single.invoke({"accounts": [organization["payments"]]})
    assert refused.error_type == "InvalidEvent" and "ACCOUNTS is unset" in refused.error_message
    assert aws.drain(queue_url) == [], "nothing outside the scope was alerted"
    assert not any(arn.split(":")[4] == outsider for _op, arn, _region in codestar.arrivals)


def test_turning_organization_wide_off_resolves_no_member_record(
        aws, codestar, lambda_function, organization, table):  # noqa: F811
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [member] = codestar.seed("us-east-1", 1, "PENDING", account=organization["payments"])
    [own] = codestar.seed("us-east-1", 1, "PENDING")
    env = {"ALERT_TOPIC_ARN": topic_arn, "STATE_TABLE": table}
    first = lambda_function("monitor", {**env, "ACCOUNTS": "organization"}).invoke(scheduled(T0))
    assert first.error_type in (None, "AccountsFailed"), first.body
    aws.drain(queue_url)

    codestar.set_status(own, "AVAILABLE")
    single = lambda_function("monitor", env).invoke(scheduled(at(1)))
    assert single.ok, single.body
    [note] = aws.drain(queue_url)
    assert {c["arn"]: c["state"] for c in json.loads(note["Message"])["connections"]} == {own: "resolved"}
    assert member in {i["arn"]["S"] for i in items(aws, table)}, "the member's record stays"


def test_accounts_the_budget_leaves_out_differ_from_run_to_run(aws, codestar, lambda_function, organization):
    """A slow CodeConnections and one account at a time: each run reaches a
    few accounts; each next run starts where the last was cut off, so every
    account is alerted within a bounded number of runs."""
    orgs = aws.client("organizations")
    members = [orgs.create_account(AccountName=f"m{i}", Email=f"m{i}@example.com")
               ["CreateAccountStatus"]["AccountId"] for i in range(10)]
    stuck = {arn: account for account in members
             for arn in codestar.seed("us-east-1", 1, "PENDING", account=account)}
    codestar.set_faults("*", latency_ms=300)
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    # USED_BY off: this is the rotation's test, and at 300 ms a call the lookup in 17
    # regions an account would take the time the publish needs.
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": ",".join(members),
                                          "ACCOUNT_CONCURRENCY": "1", "USED_BY": "none"})
    seen: list[set[str]] = []
    for _ in range(5):
        result = monitor.invoke({}, timeout_s=5)
        assert result.error_type == "AccountsFailed", result.body
        alerted_here = {arn for note in aws.drain(queue_url) for arn in alerted(note)}
        seen.append({stuck[arn] for arn in alerted_here if arn in stuck})
    assert all(0 < len(run) < len(members) for run in seen), [len(s) for s in seen]
    assert set().union(*seen) == set(members), [sorted(s) for s in seen]


def test_over_tls_connections_to_one_endpoint_are_reused_across_accounts(
        aws, lambda_function, organization, tmp_path):
    """AWS serves every endpoint over HTTPS: the stand-in does too, with a local CA the
    SDK trusts (SSL_CERT_FILE), and counts its TLS connections. Accounts scanned one
    at a time share the handshakes instead of paying one each."""
    ca = local_ca(tmp_path)
    standin = CodestarStandIn()
    standin.start(tls=ca.context)
    try:
        members = [organization[name] for name in ("payments", "data")]
        for account in [OWN, *members]:
            standin.seed("us-east-1", 3, "PENDING", account=account)
        topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
        monitor = lambda_function("monitor", {
            "ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": ",".join(members), "MONITOR_REGIONS": "us-east-1",
            "ACCOUNT_CONCURRENCY": "1", "USED_BY": "none",
            "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": standin.url, "SSL_CERT_FILE": str(ca.ca_file)})

        first = monitor.invoke({})
        assert first.ok, first.body
        assert len(first.body["stuck"]) == 9, "every account scanned over TLS"
        calls = sum(standin.take_calls().values())
        assert calls >= 3 * 3, calls
        # One account at a time lists connections and hosts at once, then reads its 3 stuck
        # ones' tags at once: at most 5 connections in flight. Reused, 3 accounts need no
        # more than that; a pool per account paid 4 handshakes each (12, measured).
        first_run = standin.connections_accepted
        assert first_run <= 5, first_run
        assert monitor.invoke({}).ok
        # Warm, the pool is reused: at most a handshake for a peak in flight the first
        # run did not reach (seen once here), never a pool per run or account.
        assert standin.connections_accepted <= 5, (first_run, standin.connections_accepted)
    finally:
        standin.stop()


def member_pipeline(aws, codestar, member: str, region: str, name: str) -> str:
    """In `member`: an AVAILABLE connection named by the new prefix, and pipeline `name` in
    `region` on it whose role grants only the old prefix. Returns the ARN it names."""
    from tests.e2e.test_iam_simulator import allow, document
    from tests.e2e.test_inventory import new_prefix
    [available] = codestar.seed("us-east-1", 1, "AVAILABLE", name_prefix=name, account=member)
    named = new_prefix(available)
    legacy = aws.service_role(account=member)
    aws.client("iam", account=member).put_role_policy(
        RoleName=legacy.rsplit("/", 1)[1], PolicyName="connection",
        PolicyDocument=document(allow("codestar-connections:UseConnection")))
    aws.pipeline(region, name, legacy, named, account=member)
    return named


def test_access_is_checked_in_each_member_account_with_its_credentials(
        aws, codestar, lambda_function, organization):
    member, name = organization["payments"], f"member-deploy-{uuid.uuid4().hex[:6]}"
    named = member_pipeline(aws, codestar, member, "ap-south-1", name)
    topic_arn, _queue = aws.topic_with_queue(f"member-access-{uuid.uuid4().hex[:8]}")
    monitor = lambda_function("monitor", {
        "ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": member, "MONITOR_REGIONS": "us-east-1",
        "USED_BY": "pipelines", "USED_BY_REGIONS": "ap-south-1", "GIT_SYNC": "false"})

    ran = monitor.invoke(scheduled(T0))
    assert ran.ok, ran.body
    [finding] = [f for f in ran.body["accessFindings"] if f["name"] == name]
    assert finding["account"] == member
    assert finding["consumer"]["arn"] == f"arn:aws:codepipeline:ap-south-1:{member}:{name}"
    assert finding["role"].split(":")[4] == member, "the member's own role"
    assert finding["otherPrefixAllowed"] is True, "simulated in the member account, where the role is"
    assert finding["fix"] == {"Effect": "Allow", "Action": ["codeconnections:UseConnection"], "Resource": named}


def test_the_inventory_reads_each_member_account_through_its_role(
        binaries, aws, codestar, tmp_path, organization):
    from tests.e2e.test_look import look
    member, name = organization["data"], f"inventory-deploy-{uuid.uuid4().hex[:6]}"
    member_pipeline(aws, codestar, member, "ap-southeast-1", name)
    codestar.deny(organization["sandbox"])
    accounts = f"{member},{organization['sandbox']}"
    ran = look(binaries, aws, codestar, tmp_path, "--inventory", ACCOUNTS=accounts,
               MONITOR_REGIONS="us-east-1", USED_BY="pipelines", USED_BY_REGIONS="ap-southeast-1",
               GIT_SYNC="false")
    out = ran.stdout
    assert ran.returncode == 1, "an account not read is not a whole inventory"
    assert f"Account {OWN}\n" in out and f"Account {member}\n" in out, out
    assert f"- pipeline {name} (ap-southeast-1) on arn:aws:codeconnections:us-east-1:{member}:" in out, out
    assert "Cause:    the service prefix rename" in out, out
    sandbox = organization["sandbox"]
    assert f"Account {sandbox}\n" in out and "(connections could not be listed)" in out, out
    line = out.splitlines()[-1]
    assert line.startswith("Read: 3 accounts; 1 connection (listed from us-east-1);"), line
    assert f"Not read: synced stacks (GIT_SYNC=false); {member}: CodeBuild projects" in line, line
    assert f"{sandbox}: connections; {sandbox}: hosts in us-east-1 (ListHosts failed" in line, line
    assert len(line) < 1000, "each error cut to one line's worth"
    assert f"{OWN}: consumers" not in line, "an account with no connection has nothing to search"
