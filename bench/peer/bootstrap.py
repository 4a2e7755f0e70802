"""A minimal Lambda runtime for the Python peer: the loop Lambda's Python
runtime runs (import the handler at init, then next/invoke/respond)."""

import http.client
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import handler  # noqa: E402  (init: imports boto3 and builds the clients)

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
api = http.client.HTTPConnection(host, int(port))
base = "/2018-06-01/runtime/invocation"
while True:
    api.request("GET", f"{base}/next")
    reply = api.getresponse()
    event = json.loads(reply.read())
    request_id = reply.getheader("Lambda-Runtime-Aws-Request-Id")
    try:
        result, outcome = handler.handler(event, None), "response"
    except Exception as e:  # the runtime reports any error to Lambda
        result, outcome = {"errorType": type(e).__name__, "errorMessage": str(e)}, "error"
    api.request("POST", f"{base}/{request_id}/{outcome}", json.dumps(result))
    api.getresponse().read()
