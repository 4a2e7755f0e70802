"""scripts/first-run: invokes the deployed monitor once as a dry run (nothing
is published, no event put, nothing written) and prints the monitor's own
look at it (what was read, what is stuck, what subscribers would get), or
the run's error as an error. boto3 from the project's .venv."""

from __future__ import annotations

import argparse
import json
import os
import sys

import boto3
from botocore.config import Config

# Organization-wide the monitor may run for its whole timeout, 900 s
# (template.yaml); the read waits that long and a minute more, and is never
# retried: a retry would start a second run.
INVOKE = Config(read_timeout=960, connect_timeout=10, retries={"total_max_attempts": 1})


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/first-run", description=__doc__)
    parser.add_argument("--stack", default="connection-watch", help="the stack's name (samconfig.toml's)")
    parser.add_argument("--region", help="the stack's region (default: your AWS configuration's)")
    parser.add_argument("--profile", help="an AWS CLI profile")
    parser.add_argument("--json", action="store_true", help="print the whole run result")
    args = parser.parse_args()

    # boto3 reads AWS_DEFAULT_REGION and profiles; AWS_REGION (what the Rust SDK reads) too.
    region = args.region or os.environ.get("AWS_REGION")
    session = boto3.Session(profile_name=args.profile, region_name=region)
    stack = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    function = outputs.get("MonitorFunctionName")
    if not function:
        print(f"first-run: stack {args.stack} has no MonitorFunctionName output (deployed from an older "
              "template? run scripts/deploy)", file=sys.stderr)
        return 1
    print(f"first-run: invoking {function} once as a dry run (up to 15 minutes organization-wide)",
          file=sys.stderr)
    answer = session.client("lambda", config=INVOKE).invoke(
        FunctionName=function, Payload=json.dumps({"dryRun": True}).encode())
    result = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        result = result or {}
        print(f"first-run: the run ended in {result.get('errorType', 'an error')}: "
              f"{result.get('errorMessage', '')}\n(logs: the stack's MonitorLogGroupName output)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    # The monitor's own rendering (the one `monitor --once` prints): a second
    # renderer here would drift from it, and a count of what was not read
    # must never print as 0.
    look = result.get("look")
    if look is None:
        print(f"first-run: {function} returned no look (deployed from an older template? run "
              "scripts/deploy); the whole result follows", file=sys.stderr)
        print(json.dumps(result, indent=2))
        return 1
    print(look, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
