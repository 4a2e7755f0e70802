"""The local AWS for a dev loop of one's own (`cargo lambda watch`): moto and
the CodeStar stand-in on the fixed ports `local/cargo-lambda.env` names,
seeded with the demo's account, until interrupted (or its stdin closes)."""

from __future__ import annotations

import argparse
import sys

from local.codestar_standin import CodestarStandIn
from local.demo import seed
from local.moto_aws import LocalAws


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws-port", type=int, default=4566)
    parser.add_argument("--codestar-port", type=int, default=4567)
    args = parser.parse_args()
    with LocalAws(args.aws_port) as aws:
        codestar = CodestarStandIn()
        codestar.start(args.codestar_port)
        try:
            seed(codestar, aws)
            topic_arn, queue_url = aws.topic_with_queue("connection-watch-local")
            print(f"local AWS (moto) on {aws.url}, CodeStar stand-in on {codestar.url}", flush=True)
            print(f"alert topic {topic_arn}; its SQS subscriber {queue_url}", flush=True)
            print("READY", flush=True)
            for _line in sys.stdin:
                pass
        except KeyboardInterrupt:
            pass
        finally:
            codestar.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
