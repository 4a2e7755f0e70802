"""The CodeStar stand-in checked by an independent client: boto3, whose
service model is AWS's own, with its parameter validation on. If the
stand-in drifts from the real protocol, these fail."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def client(codestar, service="codestar-connections", region="us-east-1", attempts=1):
    return boto3.client(
        service, region_name=region, endpoint_url=codestar.url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}, parameter_validation=True),
    )


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.mark.parametrize("service", ["codestar-connections", "codeconnections"])
def test_every_operation_round_trips(codestar, service):
    cs = client(codestar, service)
    created = cs.create_connection(ProviderType="GitHub", ConnectionName="app",
                                   Tags=[{"Key": "team", "Value": "platform"}])
    arn = created["ConnectionArn"]
    assert created["Tags"] == [{"Key": "team", "Value": "platform"}]

    got = cs.get_connection(ConnectionArn=arn)["Connection"]
    assert got["ConnectionName"] == "app"
    assert got["ConnectionStatus"] == "PENDING"
    assert got["ProviderType"] == "GitHub"
    assert got["OwnerAccountId"] == "123456789012"

    cs.tag_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "ci"}])
    cs.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert cs.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "ci"}]

    assert [c["ConnectionArn"] for c in cs.list_connections()["Connections"]] == [arn]
    cs.delete_connection(ConnectionArn=arn)
    with pytest.raises(ClientError) as e:
        cs.get_connection(ConnectionArn=arn)
    assert error_code(e) == "ResourceNotFoundException"


def test_paging_honours_max_results_and_filters(codestar):
    codestar.seed("us-east-1", 7, "PENDING", "GitHub")
    codestar.seed("us-east-1", 3, "ERROR", "Bitbucket")
    host = codestar.add_host("us-east-1", "ghe")
    cs = client(codestar)
    via_host = cs.create_connection(ConnectionName="ghe", HostArn=host)["ConnectionArn"]

    pages, token = [], None
    while True:
        kwargs = {"MaxResults": 4, **({"NextToken": token} if token else {})}
        page = cs.list_connections(**kwargs)
        pages.append(len(page["Connections"]))
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [4, 4, 3]

    bitbucket = cs.list_connections(ProviderTypeFilter="Bitbucket")["Connections"]
    assert {c["ProviderType"] for c in bitbucket} == {"Bitbucket"} and len(bitbucket) == 3
    by_host = cs.list_connections(HostArnFilter=host)["Connections"]
    assert [(c["ConnectionArn"], c["HostArn"]) for c in by_host] == [(via_host, host)]


def test_connections_are_global_and_listed_whole_from_any_region(codestar):
    west = set(codestar.seed("eu-west-1", 60))
    east = set(codestar.seed("us-east-1", 60))
    for region in ("eu-west-1", "us-east-1", "ap-southeast-2"):
        cs, listed, token = client(codestar, region=region), [], None
        while True:
            page = cs.list_connections(MaxResults=50, **({"NextToken": token} if token else {}))
            listed += [c["ConnectionArn"] for c in page["Connections"]]
            token = page.get("NextToken")
            if not token:
                break
        assert sorted(listed) == sorted(west | east), region
    # Usable, and readable, everywhere.
    arn = next(iter(west))
    assert client(codestar, region="us-east-1").get_connection(ConnectionArn=arn)["Connection"]["ConnectionArn"] == arn


def test_names_are_unique_per_region_not_per_account(codestar):
    client(codestar, region="eu-west-1").create_connection(ProviderType="GitHub", ConnectionName="app")
    client(codestar, region="us-east-1").create_connection(ProviderType="GitHub", ConnectionName="app")
    with pytest.raises(ClientError) as e:
        client(codestar, region="us-east-1").create_connection(ProviderType="GitHub", ConnectionName="app")
    assert error_code(e) == "ResourceUnavailableException"
    assert sorted(c.region for c in codestar.connections()) == ["eu-west-1", "us-east-1"]


@pytest.mark.parametrize("service", ["codestar-connections", "codeconnections"])
def test_changes_go_to_the_home_region_and_arrivals_are_recorded(codestar, service):
    [arn] = codestar.seed("eu-west-1", 1)
    elsewhere = client(codestar, service, region="us-east-1")
    for call in (lambda cs: cs.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
                 lambda cs: cs.untag_resource(ResourceArn=arn, TagKeys=["k"]),
                 lambda cs: cs.delete_connection(ConnectionArn=arn)):
        with pytest.raises(ClientError) as e:
            call(elsewhere)
        assert error_code(e) == "ValidationException" and "home region eu-west-1" in str(e.value)
    home = client(codestar, service, region="eu-west-1")
    home.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    home.delete_connection(ConnectionArn=arn)
    assert codestar.get(arn) is None
    assert codestar.arrivals[-2:] == [("TagResource", arn, "eu-west-1"), ("DeleteConnection", arn, "eu-west-1")]
    assert ("DeleteConnection", arn, "us-east-1") in codestar.arrivals


@pytest.mark.parametrize("service", ["codestar-connections", "codeconnections"])
def test_hosts_are_regional_with_paging_and_documented_statuses(codestar, service):
    statuses = ["PENDING", "AVAILABLE", "ERROR", "VPC_CONFIG_INITIALIZING",
                "VPC_CONFIG_FAILED_INITIALIZATION", "VPC_CONFIG_DELETING"]
    arns = [codestar.add_host("us-east-1", f"ghe{i}", status=status, status_message=f"because {i}")
            for i, status in enumerate(statuses)]
    codestar.add_host("eu-west-1", "gitlab", "GitLabSelfManaged")
    cs = client(codestar, service)
    pages, token, hosts = 0, None, []
    while True:
        page = cs.list_hosts(MaxResults=4, **({"NextToken": token} if token else {}))
        pages, hosts = pages + 1, hosts + page["Hosts"]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 2
    assert [h["HostArn"] for h in hosts] == arns
    assert [h["Status"] for h in hosts] == statuses
    assert hosts[0]["StatusMessage"] == "because 0" and hosts[0]["ProviderType"] == "GitHubEnterpriseServer"
    assert [h["Name"] for h in client(codestar, service, region="eu-west-1").list_hosts()["Hosts"]] == ["gitlab"]

    got = cs.get_host(HostArn=arns[4])
    assert (got["Name"], got["Status"], got["ProviderEndpoint"]) == (
        "ghe4", "VPC_CONFIG_FAILED_INITIALIZATION", "https://ghe4.example.com")
    with pytest.raises(ClientError) as e:
        client(codestar, service, region="eu-west-1").get_host(HostArn=arns[0])
    assert error_code(e) == "ResourceNotFoundException"
    cs.tag_resource(ResourceArn=arns[0], Tags=[{"Key": "connection-watch:ignore", "Value": "true"}])
    assert cs.list_tags_for_resource(ResourceArn=arns[0])["Tags"] == [
        {"Key": "connection-watch:ignore", "Value": "true"}]


@pytest.mark.parametrize("call,code", [
    (lambda cs: cs.get_connection(ConnectionArn="arn:aws:codestar-connections:us-east-1:123456789012:connection/x"),
     "ResourceNotFoundException"),
    (lambda cs: cs.list_connections(NextToken="not-a-token"), "ValidationException"),
    (lambda cs: cs.create_connection(ConnectionName="h", HostArn="arn:aws:codestar-connections:us-east-1:123456789012:host/none-1"),
     "ResourceNotFoundException"),
    (lambda cs: cs.list_tags_for_resource(ResourceArn="arn:aws:codestar-connections:us-east-1:123456789012:connection/x"),
     "ResourceNotFoundException"),
])
def test_errors_have_aws_shape(codestar, call, code):
    with pytest.raises(ClientError) as e:
        call(client(codestar))
    assert error_code(e) == code


def test_duplicate_names_and_the_quota(codestar):
    cs = client(codestar)
    cs.create_connection(ProviderType="GitLab", ConnectionName="same")
    with pytest.raises(ClientError) as e:
        cs.create_connection(ProviderType="GitLab", ConnectionName="same")
    assert error_code(e) == "ResourceUnavailableException"
    codestar.seed("us-east-1", 249)
    with pytest.raises(ClientError) as e:
        cs.create_connection(ProviderType="GitLab", ConnectionName="one-too-many")
    assert error_code(e) == "LimitExceededException"


def test_injected_throttling_and_server_errors(codestar):
    codestar.set_faults("us-east-1", throttle_burst=1)
    with pytest.raises(ClientError) as e:
        client(codestar).list_connections()
    assert error_code(e) == "ThrottlingException"
    # boto3's standard retry treats both as retryable and gets through.
    codestar.set_faults("us-east-1", throttle_burst=2)
    assert client(codestar, attempts=3).list_connections()["Connections"] == []

    codestar.set_faults("us-east-1", fail_all=True)
    with pytest.raises(ClientError) as e:
        client(codestar).list_connections()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert client(codestar, region="eu-west-1").list_connections()["Connections"] == []

    codestar.set_faults("us-east-1", fail_all=True, operations=["ListHosts"])
    assert client(codestar).list_connections()["Connections"] == []
    with pytest.raises(ClientError):
        client(codestar).list_hosts()


def test_latency_is_injected(codestar):
    codestar.set_faults("*", latency_ms=150)
    started = time.monotonic()
    client(codestar).list_connections()
    assert time.monotonic() - started >= 0.15


def raw(codestar, target: str, body: dict, region="us-east-1"):
    request = urllib.request.Request(codestar.url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": target,
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261125/{region}/codestar-connections/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    })
    try:
        with urllib.request.urlopen(request) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_bare_target_the_rust_sdk_sends(codestar):
    codestar.seed("us-east-1", 1)
    status, body = raw(codestar, "CodeStar_connections_20191201.ListConnections", {"MaxResults": 100})
    assert status == 200 and len(body["Connections"]) == 1
    status, body = raw(codestar, "CodeStar_connections_20191201.NoSuchOperation", {})
    assert status == 400 and body["__type"] == "UnknownOperationException"


@pytest.mark.parametrize("service", ["codestar-connections", "codeconnections"])
def test_repository_links_and_sync_configurations_page_as_boto3_reads_them(codestar, service):
    [connection] = codestar.seed("us-east-1", 1, "PENDING")
    links = [codestar.add_repository_link("eu-west-1", connection, f"repo-{i}") for i in range(3)]
    for i in range(101):
        codestar.add_stack_sync("eu-west-1", links[0], f"stack-{i}")
    cs = client(codestar, service, region="eu-west-1")

    first_links = cs.list_repository_links(MaxResults=2)
    pages = [first_links, cs.list_repository_links(MaxResults=2, NextToken=first_links["NextToken"])]
    assert [len(p["RepositoryLinks"]) for p in pages] == [2, 1] and "NextToken" not in pages[1]
    assert {link["ConnectionArn"] for p in pages for link in p["RepositoryLinks"]} == {connection}
    # 100 a page at most (botocore's model, MaxResults): 101 stacks are two pages.
    first = cs.list_sync_configurations(RepositoryLinkId=links[0], SyncType="CFN_STACK_SYNC", MaxResults=100)
    assert len(first["SyncConfigurations"]) == 100 and first["NextToken"]
    rest = cs.list_sync_configurations(RepositoryLinkId=links[0], SyncType="CFN_STACK_SYNC",
                                       NextToken=first["NextToken"])
    assert [s["ResourceName"] for s in rest["SyncConfigurations"]] == ["stack-100"]
    with pytest.raises(ClientError) as e:
        client(codestar, service, region="eu-west-1").list_repository_links(MaxResults=101)
    assert error_code(e) == "ValidationException"
    # Links are regional: another region neither lists nor knows them.
    other = client(codestar, service, region="us-east-1")
    assert other.list_repository_links()["RepositoryLinks"] == []
    with pytest.raises(ClientError) as e:
        other.list_sync_configurations(RepositoryLinkId=links[0], SyncType="CFN_STACK_SYNC")
    assert error_code(e) == "ResourceNotFoundException"


@pytest.mark.parametrize("service", ["codestar-connections", "codeconnections"])
def test_sync_blockers_and_sync_status_read_as_boto3_parses_them(codestar, service):
    [connection] = codestar.seed("us-east-1", 1, "AVAILABLE")
    link = codestar.add_repository_link("eu-west-1", connection)
    for stack in ("web", "fresh"):
        codestar.add_stack_sync("eu-west-1", link, stack)
    blocker = codestar.add_sync_blocker("eu-west-1", "web", "Stack update failed")
    codestar.set_sync_status("eu-west-1", "web", "FAILED")
    cs = client(codestar, service, region="eu-west-1")

    [read] = cs.get_sync_blocker_summary(ResourceName="web", SyncType="CFN_STACK_SYNC")[
        "SyncBlockerSummary"]["LatestBlockers"]
    assert (read["Id"], read["Status"], read["CreatedReason"]) == (blocker, "ACTIVE", "Stack update failed")
    assert read["CreatedAt"].year >= 2026, "a timestamp boto3 parses"
    latest = cs.get_resource_sync_status(ResourceName="web", SyncType="CFN_STACK_SYNC")["LatestSync"]
    assert latest["Status"] == "FAILED" and latest["Target"] == "web"
    codestar.resolve_sync_blocker("eu-west-1", "web", blocker)
    [read] = cs.get_sync_blocker_summary(ResourceName="web", SyncType="CFN_STACK_SYNC")[
        "SyncBlockerSummary"]["LatestBlockers"]
    assert read["Status"] == "RESOLVED" and read["ResolvedReason"]
    # Not synced yet, and synced in another region only: not found.
    for region, stack in (("eu-west-1", "fresh"), ("us-east-1", "web")):
        with pytest.raises(ClientError) as e:
            client(codestar, service, region=region).get_resource_sync_status(
                ResourceName=stack, SyncType="CFN_STACK_SYNC")
        assert error_code(e) == "ResourceNotFoundException"


def test_every_request_is_checked_against_botocores_model(codestar):
    """What boto3 would refuse before sending, the stand-in refuses on the wire: the Rust SDK
    does not check patterns, lengths or required members."""
    for target, body in [
        ("CodeStar_connections_20191201.GetSyncBlockerSummary", {"SyncType": "CFN_STACK_SYNC"}),
        ("CodeStar_connections_20191201.GetSyncBlockerSummary",
         {"SyncType": "CFN_STACK_SYNC", "ResourceName": "x" * 101}),
        ("CodeConnections_20231201.GetResourceSyncStatus", {"SyncType": "CFN_STACK_SYNC", "ResourceName": ""}),
        ("CodeConnections_20231201.GetRepositorySyncStatus",
         {"SyncType": "CFN_STACK_SYNC", "RepositoryLinkId": "not-a-uuid", "Branch": "main"}),
        ("CodeConnections_20231201.GetRepositorySyncStatus",
         {"SyncType": "CFN_STACK_SYNC", "RepositoryLinkId": "0a1b2c3d-0000-4000-8000-00000000000f", "Branch": ""}),
        ("CodeStar_connections_20191201.ListRepositoryLinks", {"MaxResults": 101}),
        ("CodeStar_connections_20191201.ListConnections", {"MaxResults": "100"}),
        ("CodeStar_connections_20191201.ListSyncConfigurations", {"RepositoryLinkId": "not-a-uuid",
                                                                  "SyncType": "CFN_STACK_SYNC"}),
    ]:
        status, answer = raw(codestar, target, body)
        assert (status, answer["__type"]) == (400, "ValidationException"), (target, body, answer)
    status, _ = raw(codestar, "CodeStar_connections_20191201.ListRepositoryLinks", {"MaxResults": 100})
    assert status == 200, "at the model's edge"


def test_moto_gains_list_regions_and_source_credentials_as_aws_serves_them(aws):
    account = aws.client("account")
    enabled = [r["RegionName"] for p in account.get_paginator("list_regions").paginate(
        RegionOptStatusContains=["ENABLED", "ENABLED_BY_DEFAULT"], PaginationConfig={"PageSize": 50})
        for r in p["Regions"]]
    assert len(enabled) == 17 and "us-east-1" in enabled and "af-south-1" not in enabled
    for size, refused in ((49, False), (50, False), (51, True)):
        if refused:
            with pytest.raises(ClientError) as e:
                account.list_regions(MaxResults=size)
            assert error_code(e) == "ValidationException"
        else:
            assert account.list_regions(MaxResults=size)["Regions"]

    codebuild = aws.client("codebuild", "ca-central-1")
    connection = "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-dddddddddddd"
    codebuild.import_source_credentials(token=connection, serverType="GITLAB", authType="CODECONNECTIONS")
    codebuild.import_source_credentials(token=connection, serverType="GITLAB", authType="CODECONNECTIONS",
                                        shouldOverwrite=True)
    [info] = codebuild.list_source_credentials()["sourceCredentialsInfos"]
    assert (info["serverType"], info["authType"], info["resource"]) == ("GITLAB", "CODECONNECTIONS", connection)
    assert aws.client("codebuild", "eu-north-1").list_source_credentials()["sourceCredentialsInfos"] == []
