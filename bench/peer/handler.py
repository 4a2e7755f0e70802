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


def handler(event, context):
    with ThreadPoolExecutor(max_workers=len(REGIONS) + 1) as pool:
        listing = pool.submit(connections)
        stuck_hosts = [h for found in pool.map(hosts, REGIONS) for h in found]
        scanned, stuck = listing.result()
    if stuck or stuck_hosts:
        text = "\n".join(f"{c['name']} ({c['status']}) {c['region']} {c['arn']}" for c in stuck + stuck_hosts)
        sns.publish(TopicArn=TOPIC_ARN, Subject=f"{len(stuck)} connections and {len(stuck_hosts)} hosts need attention",
                    MessageStructure="json",
                    Message=json.dumps({"default": text,
                                        "sqs": json.dumps({"connections": stuck, "hosts": stuck_hosts})}))
    return {"scanned": scanned, "stuck": len(stuck), "stuckHosts": len(stuck_hosts)}
