"""The peer: the monitor's job as a competent Python user writes it with
boto3. Clients are made once at import, regions are scanned on a thread
pool, and one message is published."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import boto3

TOPIC_ARN = os.environ["ALERT_TOPIC_ARN"]
REGIONS = os.environ.get("MONITOR_REGIONS", os.environ["AWS_REGION"]).split(",")
STATUSES = {"PENDING", "ERROR"}
IGNORE_TAG = "connection-watch:ignore"

codestar = {region: boto3.client("codestar-connections", region_name=region) for region in REGIONS}
sns = boto3.client("sns")


def scan(region):
    client = codestar[region]
    found, token = [], None
    while True:
        page = client.list_connections(MaxResults=100, **({"NextToken": token} if token else {}))
        found.extend(page["Connections"])
        token = page.get("NextToken")
        if not token:
            break
    stuck = []
    for c in found:
        if c["ConnectionStatus"] not in STATUSES:
            continue
        tags = client.list_tags_for_resource(ResourceArn=c["ConnectionArn"])["Tags"]
        if any(t["Key"] == IGNORE_TAG and t["Value"].lower() == "true" for t in tags):
            continue
        stuck.append({"name": c["ConnectionName"], "arn": c["ConnectionArn"], "status": c["ConnectionStatus"],
                      "providerType": c["ProviderType"], "region": region})
    return len(found), stuck


def handler(event, context):
    with ThreadPoolExecutor(max_workers=len(REGIONS)) as pool:
        results = list(pool.map(scan, REGIONS))
    stuck = [c for _, s in results for c in s]
    if stuck:
        text = "\n".join(f"{c['name']} ({c['status']}) {c['region']} {c['arn']}" for c in stuck)
        sns.publish(TopicArn=TOPIC_ARN, Subject=f"{len(stuck)} CodeStar connections need attention",
                    MessageStructure="json",
                    Message=json.dumps({"default": text, "sqs": json.dumps({"connections": stuck})}))
    return {"scanned": sum(n for n, _ in results), "stuck": len(stuck)}
