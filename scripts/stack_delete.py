"""What scripts/deploy --delete checks before `sam delete`, and says after it.

  stack_delete.py before STACK [REGION] [PROFILE]
      prints the region STACK is deployed to (REGION when given, else the one
      enabled region that holds a stack of that name); exits 1, deleting
      nothing, when no region or several hold it, or when other stacks import
      its `<STACK>-ServiceToken` export (CloudFormation refuses to delete an
      export in use), naming them and what to do.
  stack_delete.py after REGION [PROFILE]
      says what `sam delete` leaves behind in REGION and how to remove it.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.exceptions import ClientError

# SAM's managed artifact stack, made by `resolve_s3 = true` (SAM CLI's
# `sam deploy --resolve-s3`), once per account and region.
SAM_MANAGED_STACK = "aws-sam-cli-managed-default"


def fail(message: str) -> None:
    print(f"deploy: {message}", file=sys.stderr)
    sys.exit(1)


def exists(session: boto3.Session, stack: str, region: str) -> bool:
    try:
        stacks = session.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"]
    except ClientError as e:
        if "does not exist" in str(e):
            return False
        raise
    return any(s["StackStatus"] != "DELETE_COMPLETE" for s in stacks)


def deployed_region(session: boto3.Session, stack: str) -> str:
    """The one enabled region holding `stack` (EC2 DescribeRegions lists the
    account's enabled regions only, unless AllRegions is asked for)."""
    regions = [r["RegionName"] for r in
               session.client("ec2", region_name=session.region_name or "us-east-1").describe_regions()["Regions"]]
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = [r for r, held in zip(regions, pool.map(lambda r: exists(session, stack, r), regions)) if held]
    if not found:
        fail(f"no stack named {stack} in any of the {len(regions)} regions enabled for this account; nothing deleted")
    if len(found) > 1:
        fail(f"a stack named {stack} is in {', '.join(found)}: say which with --region; nothing deleted")
    return found[0]


def importers(session: boto3.Session, stack: str, region: str) -> list[str]:
    cloudformation = session.client("cloudformation", region_name=region)
    names: list[str] = []
    try:
        for page in cloudformation.get_paginator("list_imports").paginate(ExportName=f"{stack}-ServiceToken"):
            names.extend(page["Imports"])
    except ClientError as e:
        # AWS's answer for an export nobody imports (or none by that name).
        if "is not imported by any stack" in str(e):
            return []
        raise
    return names


def before(stack: str, region: str, profile: str) -> None:
    session = boto3.Session(profile_name=profile or None, region_name=region or None)
    if region and not exists(session, stack, region):
        fail(f"no stack named {stack} in {region}; nothing deleted")
    region = region or deployed_region(session, stack)
    using = importers(session, stack, region)
    if using:
        commands = "\n".join(f"  aws cloudformation delete-stack --stack-name {name} --region {region}"
                             for name in using)
        fail(f"{len(using)} stack(s) in {region} import {stack}-ServiceToken, so CloudFormation would refuse to "
             f"delete {stack} (an export in use): {', '.join(using)}.\nDelete them first; each deletes the "
             f"connections it created through Custom::CodeStarConnection:\n{commands}\n"
             f"then run scripts/deploy --delete again. Nothing was deleted.")
    print(region)


def after(region: str, profile: str) -> None:
    session = boto3.Session(profile_name=profile or None, region_name=region)
    try:
        managed = session.client("cloudformation").describe_stacks(StackName=SAM_MANAGED_STACK)["Stacks"][0]
    except ClientError:
        return
    bucket = next((o["OutputValue"] for o in managed.get("Outputs", []) if o["OutputKey"] == "SourceBucket"), None)
    print(f"deploy: SAM's own stack {SAM_MANAGED_STACK} and its artifact bucket {bucket or '(its SourceBucket output)'} "
          f"stay in {region}: every SAM application deployed there shares them. If none is left: empty the bucket "
          f"in the S3 console (Empty removes every version; the bucket is versioned), then\n"
          f"  aws cloudformation delete-stack --stack-name {SAM_MANAGED_STACK} --region {region}",
          file=sys.stderr)


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "before":
        stack, region, profile = (rest + ["", ""])[:3]
        before(stack, region, profile)
    else:
        region, profile = (rest + [""])[:2]
        after(region, profile)
