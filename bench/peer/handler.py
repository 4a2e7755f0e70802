"""The peer: the monitor's job as a competent Python user writes it with
boto3, knowing that connections are global and hosts regional. Clients are
made once at import; connections are listed once, their tags read in their
home region; hosts are listed per watched region on a thread pool; one
message is published."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import boto3

TOPIC_ARN = os.environ["ALERT_TOPIC_ARN"]
OWN_REGION = os.environ["AWS_REGION"]
REGIONS = os.environ.get("MONITOR_REGIONS", OWN_REGION).split(",")
STATUSES = {"PENDING", "ERROR"}
HOST_STATUSES = {"PENDING", "ERROR", "VPC_CONFIG_FAILED_INITIALIZATION"}
IGNORE_TAG = "connection-watch:ignore"

codestar = {region: boto3.client("codestar-connections", region_name=region) for region in {OWN_REGION, *REGIONS}}
sns = boto3.client("sns")


def home(arn):
    return arn.split(":")[3]


def ignored(arn):
    tags = codestar[home(arn)].list_tags_for_resource(ResourceArn=arn)["Tags"]
    return any(t["Key"] == IGNORE_TAG and t["Value"].lower() == "true" for t in tags)


def connections():
    found, token = [], None
    while True:
        page = codestar[OWN_REGION].list_connections(MaxResults=100, **({"NextToken": token} if token else {}))
        found.extend(c for c in page["Connections"] if home(c["ConnectionArn"]) in REGIONS)
        token = page.get("NextToken")
        if not token:
            break
    stuck = [{"name": c["ConnectionName"], "arn": c["ConnectionArn"], "status": c["ConnectionStatus"],
              "providerType": c["ProviderType"], "region": home(c["ConnectionArn"])}
             for c in found if c["ConnectionStatus"] in STATUSES and not ignored(c["ConnectionArn"])]
    return len(found), stuck


def hosts(region):
    found, token = [], None
    while True:
        page = codestar[region].list_hosts(MaxResults=100, **({"NextToken": token} if token else {}))
        found.extend(page["Hosts"])
        token = page.get("NextToken")
        if not token:
            break
    return [{"name": h["Name"], "arn": h["HostArn"], "status": h["Status"], "region": region}
            for h in found if h["Status"] in HOST_STATUSES and not ignored(h["HostArn"])]


def pages(call, key, **params):
    token = None
    while True:
        page = call(MaxResults=100, **params, **({"NextToken": token} if token else {}))
        yield from page[key]
        token = page.get("NextToken")
        if not token:
            return


def stack_state(region, stack):
    """BLOCKED, FAILED or None, from the stack's two reads."""
    client, missing = codestar[region], codestar[region].exceptions.ResourceNotFoundException
    try:
        blockers = client.get_sync_blocker_summary(ResourceName=stack, SyncType="CFN_STACK_SYNC")
        active = [b for b in blockers["SyncBlockerSummary"].get("LatestBlockers", []) if b["Status"] == "ACTIVE"]
    except missing:
        active = []
    try:
        latest = client.get_resource_sync_status(ResourceName=stack, SyncType="CFN_STACK_SYNC").get("LatestSync")
    except missing:
        latest = None
    return "BLOCKED" if active else "FAILED" if latest and latest["Status"] == "FAILED" else None


def repository_failed(region, link, branch):
    """Whether the (link, branch)'s latest repository sync FAILED."""
    client = codestar[region]
    try:
        latest = client.get_repository_sync_status(RepositoryLinkId=link, Branch=branch, SyncType="CFN_STACK_SYNC")
    except client.exceptions.ResourceNotFoundException:
        return False
    return latest["LatestSync"]["Status"] == "FAILED"


def syncs(region):
    """The region's stuck synced stacks: links, their configurations, each (link, branch)'s
    repository sync, then 8 stacks' reads at a time."""
    client = codestar[region]
    configurations = [s for link in pages(client.list_repository_links, "RepositoryLinks")
                      for s in pages(client.list_sync_configurations, "SyncConfigurations",
                                     RepositoryLinkId=link["RepositoryLinkId"], SyncType="CFN_STACK_SYNC")]
    branches = sorted({(s["RepositoryLinkId"], s["Branch"]) for s in configurations})
    with ThreadPoolExecutor(max_workers=8) as pool:
        failed = {b for b, f in zip(branches, pool.map(lambda b: repository_failed(region, *b), branches)) if f}
        states = pool.map(lambda s: "REPOSITORY_SYNC_FAILED" if (s["RepositoryLinkId"], s["Branch"]) in failed
                          and stack_state(region, s["ResourceName"]) != "BLOCKED"
                          else stack_state(region, s["ResourceName"]), configurations)
        return [{"name": s["ResourceName"], "status": state, "region": region}
                for s, state in zip(configurations, states) if state]


def access():
    """Every pipeline source action's role simulated on the connection as the action names it
    (UseConnection under that ARN's prefix), one simulation per (role, ARN): what a competent
    script does without verdicts kept between runs. Simulation is global: one IAM client."""
    iam, checks, answers = boto3.client("iam"), [], {}
    for region in os.environ["USED_BY_REGIONS"].split(","):
        client = boto3.client("codepipeline", region_name=region)
        for summary in client.get_paginator("list_pipelines").paginate().search("pipelines"):
            pipeline = client.get_pipeline(name=summary["name"])["pipeline"]
            for stage in pipeline["stages"]:
                for action in stage["actions"]:
                    if action["actionTypeId"]["provider"] == "CodeStarSourceConnection":
                        checks.append((action.get("roleArn", pipeline["roleArn"]),
                                       action["configuration"]["ConnectionArn"]))
    for role, arn in checks:
        if (role, arn) not in answers:
            prefix = arn.split(":")[2]
            result = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=[f"{prefix}:UseConnection"],
                                                   ResourceArns=[arn])["EvaluationResults"][0]
            answers[role, arn] = result["EvalDecision"]
    denied = sum(answers[c] in ("implicitDeny", "explicitDeny") for c in checks)
    return {"checks": len(checks), "simulations": len(answers), "denied": denied}


def handler(event, context):
    if os.environ.get("ACCESS_PEER") == "true":
        return access()
    with ThreadPoolExecutor(max_workers=2 * len(REGIONS) + 1) as pool:
        listing = pool.submit(connections)
        synced = [pool.submit(syncs, r) for r in REGIONS] if os.environ.get("GIT_SYNC") == "true" else []
        stuck_hosts = [h for found in pool.map(hosts, REGIONS) for h in found]
        stuck_syncs = [s for f in synced for s in f.result()]
        scanned, stuck = listing.result()
    if stuck or stuck_hosts or stuck_syncs:
        lines = [f"{c['name']} ({c['status']}) {c['region']} {c['arn']}" for c in stuck + stuck_hosts]
        lines += [f"stack {s['name']} ({s['status']}) {s['region']}" for s in stuck_syncs]
        sns.publish(TopicArn=TOPIC_ARN, Subject=f"{len(stuck) + len(stuck_hosts) + len(stuck_syncs)} need attention",
                    MessageStructure="json",
                    Message=json.dumps({"default": "\n".join(lines), "sqs": json.dumps(
                        {"connections": stuck, "hosts": stuck_hosts, "syncs": stuck_syncs})}))
    return {"scanned": scanned, "stuck": len(stuck), "stuckHosts": len(stuck_hosts), "stuckSyncs": stuck_syncs}
