"""The benchmark's organization series: the release monitor with
ACCOUNTS=organization against moto's Organizations and STS and the CodeStar
stand-in, in this process (the stand-in tells accounts apart by the
credentials moto's STS handed out, so they must share a process). Prints
numbers; asserts nothing."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from bench.measure import measure
from local.codestar_standin import CodestarStandIn
from local.moto_aws import ACCOUNT, LocalAws
from local.tls import local_ca
from moto.organizations.models import organizations_backends

MB = 1024


def series(binary: Path, counts: list[int], per_account: int, stuck_every: int, latency_ms: float,
           runs: int, tls: bool) -> None:
    """With `tls`, the stand-in serves HTTPS (a local CA the SDK trusts), as AWS does, and the
    rows count its TLS connections: one handshake each."""
    with contextlib.ExitStack() as stack:
        aws = stack.enter_context(LocalAws())
        ca = local_ca(Path(stack.enter_context(tempfile.TemporaryDirectory()))) if tls else None
        codestar = CodestarStandIn()
        codestar.start(tls=ca.context if ca else None)
        stack.callback(codestar.stop)
        topic_arn, _ = aws.topic_with_queue("bench-org-alerts")
        orgs = aws.client("organizations")
        orgs.create_organization(FeatureSet="ALL")
        organizations = organizations_backends[ACCOUNT]["aws"]
        own = orgs.describe_organization()["Organization"]["MasterAccountId"]
        accounts = [own]
        codestar.seed("us-east-1", per_account, "AVAILABLE", account=own)
        codestar.set_faults("*", latency_ms=latency_ms)
        print(f"stand-in over {'HTTPS (local CA)' if tls else 'plain HTTP'}")
        print(f"organization: {per_account} connections per account (one PENDING every {stuck_every} accounts), "
              f"hosts of us-east-1 watched; {latency_ms} ms per CodeStar call; moto serves Organizations and STS\n")
        header = (f"{'accounts':>8} {'wall ms':>9} {'ms/account':>10} {'CPU ms':>8} {'CPU ms/account':>14} "
                  f"{'peak RSS MB':>11} {'calls/account':>13} {'stuck':>6} {'ListAccounts pages':>18} "
                  f"{'ListAccounts ms':>15} {'local AWS CPU ms':>16} {'TLS conns':>9}")
        print(header)
        print("-" * len(header))
        for count in counts:
            while len(accounts) < count:
                i = len(accounts)
                # Straight into moto's backend: CreateAccount over HTTP takes
                # about 110 ms each in moto (17 minutes for 9,000), which is
                # set-up, not what is measured.
                status = organizations.create_account(AccountName=f"team-{i}", Email=f"team-{i}@example.com")
                account = status["CreateAccountStatus"]["AccountId"]
                accounts.append(account)
                stuck = 1 if i % stuck_every == 0 else 0
                codestar.seed("us-east-1", per_account - stuck, "AVAILABLE", account=account)
                codestar.seed("us-east-1", stuck, "PENDING", account=account)
            env = {"AWS_ENDPOINT_URL": aws.url, "AWS_ENDPOINT_URL_SNS": aws.url,
                   "AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS": codestar.url,
                   "ALERT_TOPIC_ARN": topic_arn, "ACCOUNTS": "organization", "MONITOR_REGIONS": "us-east-1",
                   "USED_BY": "none", **({"SSL_CERT_FILE": str(ca.ca_file)} if ca else {})}
            # ListAccounts alone, walked as the monitor walks it (moto's time, not AWS's).
            started, pages = time.perf_counter(), 0
            for _page in orgs.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 20}):
                pages += 1
            list_ms = (time.perf_counter() - started) * 1000
            # What moto, the stand-in and the harness (one process) spend, apart from the monitor's.
            local_cpu = time.process_time()
            connections = codestar.connections_accepted
            # The template's timeout; a run the budget cuts ends in AccountsFailed, and its row
            # says how many accounts it did not reach.
            m = measure(str(binary), "bench-org", env, runs, codestar, timeout_s=900, tolerated=("AccountsFailed",))
            local_cpu_ms = (time.process_time() - local_cpu) / runs * 1000
            wall, cpu_ms = m["wall_ms"], m["cpu_ms"]
            stuck_found = len(m["body"]["stuck"]) if "stuck" in m["body"] else "-"
            cut = f"  ({accounts_failed(m['body']['errorMessage'])} accounts not reached)" if "stuck" not in m["body"] else ""
            # CodeStar calls, plus one AssumeRole per member account, plus the ListAccounts pages.
            calls_per_account = (m["calls"] + (count - 1) + -(-count // 20)) / count
            print(f"{count:>8} {wall:>9.1f} {wall / count:>10.2f} {cpu_ms:>8.1f} {cpu_ms / count:>14.3f} "
                  f"{m['rss_kb'] / MB:>11.1f} {calls_per_account:>13.2f} {stuck_found:>6} {pages:>18} "
                  f"{list_ms:>15.1f} {local_cpu_ms:>16.1f} {codestar.connections_accepted - connections:>9}{cut}",
                  flush=True)


def accounts_failed(message: str) -> int:
    """How many accounts an AccountsFailed message names: each listed one,
    plus the "... and N more" the message's cap left out."""
    listed, _, rest = message.partition(" ... and ")
    more = int(rest.split(" ", 1)[0]) if rest else 0
    return listed.count("; ") + 1 + more
