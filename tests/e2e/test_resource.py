"""The connection-resource binary through the Lambda Runtime API against the
CodeStar stand-in, answering to real S3 presigned URLs on moto, read back
the way CloudFormation would read them."""

from __future__ import annotations

import http.client
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

BUCKET = "cfn-responses"
STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/5b1c1d40-ca7e-11ee-8a2e-0e1b5a0a4f5f"


@pytest.fixture
def resource(aws, lambda_function):
    aws.versioned_bucket(BUCKET)
    return lambda_function("connection-resource")


class CloudFormation:
    """Sends requests the way CloudFormation does and reads the answers back from S3."""

    def __init__(self, aws, function):
        self.aws, self.function = aws, function

    def send(self, kind, props, physical_id=None, old=None, response_url=None, timeout_s=None):
        key = f"responses/{uuid.uuid4()}"
        event = {
            "RequestType": kind,
            "ServiceToken": self.function.arn,
            "ResponseURL": response_url(key) if response_url else self.aws.response_url(BUCKET, key),
            "StackId": STACK,
            "RequestId": str(uuid.uuid4()),
            "ResourceType": "Custom::CodeStarConnection",
            "LogicalResourceId": "RepoConnection",
            "ResourceProperties": {"ServiceToken": self.function.arn, **props},
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old is not None:
            event["OldResourceProperties"] = {"ServiceToken": self.function.arn, **old}
        invocation = self.function.invoke(event, timeout_s=timeout_s)
        assert invocation.ok, invocation.body
        response = self.aws.read_response(BUCKET, key)
        assert response is not None, "no response reached the ResponseURL"
        assert self.aws.object_versions(BUCKET, key) == 1, "exactly one response"
        assert response["RequestId"] == event["RequestId"] and response["StackId"] == STACK
        assert response["LogicalResourceId"] == "RepoConnection"
        return response, invocation


@pytest.fixture
def cfn(aws, resource):
    return CloudFormation(aws, resource)


GITHUB = {"ConnectionName": "app-source", "ProviderType": "GitHub", "Tags": [{"Key": "team", "Value": "platform"}]}


def test_create_update_delete(cfn, codestar):
    created, _ = cfn.send("Create", GITHUB)
    assert created["Status"] == "SUCCESS", created
    arn = created["PhysicalResourceId"]
    assert created["Data"]["ConnectionArn"] == arn
    assert created["Data"]["ConnectionStatus"] == "PENDING"
    assert created["Data"]["ConnectionName"] == "app-source"
    assert created["Data"]["ConsoleUrl"].startswith("https://us-east-1.console.aws.amazon.com/codesuite/settings/")
    connection = codestar.get(arn)
    assert connection.name == "app-source" and connection.provider_type == "GitHub"
    assert connection.tags["team"] == "platform"
    assert connection.tags["connection-watch:stack-id"] == STACK

    retagged = {**GITHUB, "Tags": [{"Key": "owner", "Value": "ci"}]}
    updated, _ = cfn.send("Update", retagged, physical_id=arn, old=GITHUB)
    assert updated["Status"] == "SUCCESS", updated
    assert updated["PhysicalResourceId"] == arn
    assert codestar.get(arn).tags.get("owner") == "ci"
    assert "team" not in codestar.get(arn).tags
    assert updated["Data"]["ConnectionArn"] == arn

    renamed = {**retagged, "ConnectionName": "app-source-v2"}
    replaced, _ = cfn.send("Update", renamed, physical_id=arn, old=retagged)
    assert replaced["Status"] == "SUCCESS", replaced
    new_arn = replaced["PhysicalResourceId"]
    assert new_arn != arn and codestar.get(new_arn).name == "app-source-v2"

    # CloudFormation then deletes the replaced connection.
    deleted, _ = cfn.send("Delete", retagged, physical_id=arn)
    assert deleted["Status"] == "SUCCESS" and codestar.get(arn) is None
    again, _ = cfn.send("Delete", retagged, physical_id=arn)
    assert again["Status"] == "SUCCESS"
    assert [c.arn for c in codestar.connections()] == [new_arn]


def test_a_host_connection(cfn, codestar):
    host = codestar.add_host("us-east-1", "ghe")
    created, _ = cfn.send("Create", {"ConnectionName": "ghe-source", "HostArn": host})
    assert created["Status"] == "SUCCESS", created
    assert created["Data"]["ProviderType"] == "GitHubEnterpriseServer"
    assert codestar.get(created["PhysicalResourceId"]).host_arn == host


MALFORMED = {
    "missing name": {"ProviderType": "GitHub"},
    "name too long": {"ConnectionName": "x" * 33, "ProviderType": "GitHub"},
    "unknown provider": {"ConnectionName": "a", "ProviderType": "CodeCommit"},
    "both provider and host": {"ConnectionName": "a", "ProviderType": "GitHub",
                               "HostArn": "arn:aws:codestar-connections:us-east-1:123456789012:host/h-1"},
    "neither provider nor host": {"ConnectionName": "a"},
    "tags not a list": {"ConnectionName": "a", "ProviderType": "GitHub", "Tags": {"team": "x"}},
    "tag without value": {"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": "team"}]},
    "reserved tag": {"ConnectionName": "a", "ProviderType": "GitHub", "Tags": [{"Key": "aws:owner", "Value": "x"}]},
    "typo in a property": {"ConnectionName": "a", "ProviderType": "GitHub", "Tag": []},
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_request_fails_with_a_reason_and_creates_nothing(cfn, codestar, case):
    response, _ = cfn.send("Create", MALFORMED[case])
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith("invalid properties: "), response
    assert response["PhysicalResourceId"].startswith("failed-create:")
    assert codestar.connections() == []
    assert codestar.calls.get("CreateConnection", 0) == 0
    # CloudFormation's rollback then deletes the failed resource: a success with no call.
    deleted, _ = cfn.send("Delete", MALFORMED[case], physical_id=response["PhysicalResourceId"])
    assert deleted["Status"] == "SUCCESS"
    assert codestar.calls.get("DeleteConnection", 0) == 0


def test_an_update_with_invalid_properties_changes_nothing(cfn, codestar):
    created, _ = cfn.send("Create", GITHUB)
    arn = created["PhysicalResourceId"]
    bad = {**GITHUB, "Tags": [{"Key": "k" * 129, "Value": "v"}]}
    response, _ = cfn.send("Update", bad, physical_id=arn, old=GITHUB)
    assert response["Status"] == "FAILED" and "1 to 128" in response["Reason"]
    assert response["PhysicalResourceId"] == arn
    assert codestar.get(arn).tags["team"] == "platform"
    assert len(codestar.connections()) == 1


def test_an_event_that_is_not_a_cloudformation_request_still_gets_an_answer(aws, resource):
    key = f"responses/{uuid.uuid4()}"
    event = {"RequestType": "Create", "ResponseURL": aws.response_url(BUCKET, key), "RequestId": "r-1"}
    assert resource.invoke(event).ok
    response = aws.read_response(BUCKET, key)
    assert response["Status"] == "FAILED" and "malformed CloudFormation request" in response["Reason"]


class FlakyProxy:
    """Answers the first `failures` PUTs with 500, then forwards to moto
    untouched (the presigned signature covers the Host it was signed for)."""

    def __init__(self, upstream: str, failures: int):
        self.upstream = urlsplit(upstream)
        self.failures, self.requests = failures, 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.requests += 1
                if proxy.requests <= proxy.failures:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=10)
                upstream.request("PUT", self.path, body, headers=dict(self.headers))
                reply = upstream.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://%s:%d" % self.server.server_address[:2]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_response_url_that_fails_twice_gets_exactly_one_response(aws, lambda_function, resource):
    proxy = FlakyProxy(aws.url, failures=2)
    # The proxy stands where S3 would: the function's configured S3 endpoint.
    cfn = CloudFormation(aws, lambda_function("connection-resource", {"AWS_ENDPOINT_URL_S3": proxy.url}))
    try:
        response, _ = cfn.send("Create", GITHUB, response_url=lambda key: aws.response_url(BUCKET, key, proxy.url))
    finally:
        proxy.stop()
    assert response["Status"] == "SUCCESS"
    assert proxy.requests == 3


def test_a_slow_service_gets_a_failed_answer_before_the_deadline(cfn, codestar):
    codestar.set_faults("*", latency_ms=20_000)
    response, invocation = cfn.send("Create", GITHUB, timeout_s=5)
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith("no result within"), response["Reason"]
    assert invocation.seconds < 5


@pytest.mark.parametrize("level", [{}, {"AWS_LAMBDA_LOG_LEVEL": "TRACE", "RUST_LOG": "trace"}])
def test_the_presigned_query_string_is_never_logged(aws, lambda_function, level):
    # At TRACE lambda_runtime would log each raw event, ResponseURL and all.
    aws.versioned_bucket(BUCKET)
    cfn = CloudFormation(aws, lambda_function("connection-resource", level))
    urls = []

    def response_url(key):
        urls.append(aws.response_url(BUCKET, key))
        return urls[-1]

    cfn.send("Create", GITHUB, response_url=response_url)
    query = urlsplit(urls[0]).query
    signature = next(v for k, v in (p.split("=", 1) for p in query.split("&")) if k.endswith("Signature"))
    logs = "\n".join(cfn.function.wait_for_log("response sent"))
    assert "responses/" in logs, "the URL itself is logged"
    assert query not in logs and signature not in logs


def test_a_replacement_that_keeps_the_name_fails_and_keeps_the_connection(cfn, codestar):
    created, _ = cfn.send("Create", GITHUB)
    arn = created["PhysicalResourceId"]
    moved = {**GITHUB, "ProviderType": "GitLab"}
    response, _ = cfn.send("Update", moved, physical_id=arn, old=GITHUB)
    assert response["Status"] == "FAILED"
    assert "choose another ConnectionName" in response["Reason"] and arn in response["Reason"]
    assert response["PhysicalResourceId"] == arn
    assert [c.arn for c in codestar.connections()] == [arn]


def test_a_name_used_only_in_another_region_is_free_here(cfn, codestar):
    # Names are unique per region; connections are listed globally.
    [elsewhere] = codestar.seed("eu-west-1", 1, "AVAILABLE", name_prefix="app-source")
    codestar.connections("eu-west-1")[0].name = "app-source"

    created, _ = cfn.send("Create", GITHUB)

    assert created["Status"] == "SUCCESS", created
    assert ":us-east-1:" in created["PhysicalResourceId"]
    assert codestar.get(elsewhere).name == "app-source", "the other region's connection is untouched"
    assert ("CreateConnection", created["PhysicalResourceId"], "us-east-1") in codestar.arrivals


def test_delete_and_update_go_to_the_connections_home_region(cfn, codestar):
    owner = {"connection-watch:stack-id": STACK, "connection-watch:logical-id": "RepoConnection"}
    [west] = codestar.seed("eu-west-1", 1, "PENDING", tags=owner, name_prefix="app-source")
    props = {**GITHUB, "ConnectionName": codestar.get(west).name}

    updated, _ = cfn.send("Update", {**props, "Tags": [{"Key": "owner", "Value": "ci"}]}, physical_id=west, old=props)
    assert updated["Status"] == "SUCCESS", updated
    assert codestar.get(west).tags["owner"] == "ci"

    deleted, _ = cfn.send("Delete", props, physical_id=west)
    assert deleted["Status"] == "SUCCESS", deleted
    assert codestar.get(west) is None
    calls = [(op, region) for op, arn, region in codestar.arrivals if arn == west]
    assert calls and all(region == "eu-west-1" for _, region in calls), calls
    assert ("DeleteConnection", "eu-west-1") in calls and ("TagResource", "eu-west-1") in calls


def test_a_response_url_that_is_not_s3_gets_nothing_and_nothing_is_done(aws, resource, codestar):
    event = {"RequestType": "Create", "ServiceToken": resource.arn, "StackId": STACK, "RequestId": "r-1",
             "ResponseURL": "http://127.0.0.1:1/steal?X-Amz-Signature=secret",
             "ResourceType": "Custom::CodeStarConnection", "LogicalResourceId": "RepoConnection",
             "ResourceProperties": {"ServiceToken": resource.arn, **GITHUB}}
    invocation = resource.invoke(event)
    assert not invocation.ok and "ResponseURL refused" in invocation.body["errorMessage"]
    assert "secret" not in invocation.body["errorMessage"]
    assert codestar.connections() == [] and codestar.calls == {}


def test_the_rollback_of_a_timed_out_create_removes_its_orphan_so_a_redeploy_works(cfn, codestar):
    import time

    # CreateConnection reaches AWS but answers after the function gave up.
    codestar.set_faults("*", latency_ms=4000, operations=["CreateConnection"])
    failed, _ = cfn.send("Create", GITHUB, timeout_s=3)
    assert failed["Status"] == "FAILED" and failed["PhysicalResourceId"].startswith("failed-create:")
    end = time.monotonic() + 10
    while not codestar.connections() and time.monotonic() < end:
        time.sleep(0.1)
    [orphan] = codestar.connections()
    codestar.set_faults("*")

    rolled_back, _ = cfn.send("Delete", GITHUB, physical_id=failed["PhysicalResourceId"])
    assert rolled_back["Status"] == "SUCCESS"
    assert codestar.get(orphan.arn) is None, "the orphan is gone"

    redeployed, _ = cfn.send("Create", GITHUB)
    assert redeployed["Status"] == "SUCCESS", redeployed
