"""moto in server mode on 127.0.0.1: SNS, SQS, S3, DynamoDB, EventBridge,
CodePipeline and CodeBuild (and every other service moto serves) for the
binaries to call, plus the helpers the tests and the demo use to read back
what subscribers and CloudFormation received.

Calls moto 5.2 lacks are added here, each request checked against
botocore's model of its operation (as AWS's own SDKs send it): Account
Management's ListRegions, CodeBuild's ImportSourceCredentials and
ListSourceCredentials, and CodePipeline's GetPipelineState and
RetryStageExecution (with StartPipelineExecution's idempotency token)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections import Counter

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local import iam_simulator

ACCOUNT = "123456789012"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _AtomicDynamoDb:
    """WSGI middleware: one DynamoDB request at a time. moto checks a
    condition and writes without a lock, so two concurrent conditional
    writes could both pass; DynamoDB itself applies each atomically. It also
    counts the JSON-protocol operations (`X-Amz-Target`) for the benchmarks."""

    def __init__(self, app):
        self.app, self.lock = app, threading.Lock()
        self.calls: Counter[str] = Counter()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            self.calls[target] += 1
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


def _index_access_keys() -> None:
    """Makes moto's key-to-account lookup O(1). moto scans every account's IAM
    backend for each request's access key (`get_account_id_from`, which moto's
    request handling and the CodeStar stand-in both call): 20-40 ms of this
    process's CPU a request at 2,000 member accounts (measured), growing with
    them, which would be what the organization benchmark measured at 10,000.
    Same answers: keys STS issues are indexed as issued, other answers are
    remembered until an IAM user's key is made or deleted."""
    from moto import iam
    from moto.iam.models import IAMBackend

    scan, known = iam.models.get_account_id_from, {}

    def account_of(access_key: str) -> str:
        if access_key not in known:
            known[access_key] = scan(access_key)
        return known[access_key]

    def indexed(method, issued: bool):
        def wrapper(self, *args, **kwargs):
            result = method(self, *args, **kwargs)
            if issued:
                known[result.access_key_id] = self.account_id
            else:
                known.clear()
            return result
        return wrapper

    IAMBackend.create_temp_access_key = indexed(IAMBackend.create_temp_access_key, issued=True)
    IAMBackend.create_access_key = indexed(IAMBackend.create_access_key, issued=False)
    IAMBackend.delete_access_key = indexed(IAMBackend.delete_access_key, issued=False)
    IAMBackend.delete_access_key_by_name = indexed(IAMBackend.delete_access_key_by_name, issued=False)
    iam.models.get_account_id_from = account_of


_index_access_keys()

# "Regions introduced before March 20, 2019 are enabled by default";
# later ones are opt-in (Account Management guide, "Specify which AWS
# Regions your account can use"). ListRegions reports the first as
# ENABLED_BY_DEFAULT, opted-in ones as ENABLED.
ENABLED_BY_DEFAULT = (
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
    "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
    "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)
OPT_IN = (
    "af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1",
    "me-south-1", "mx-central-1",
)
# Per account: region -> RegionOptStatus; unset accounts have the defaults.
_region_status: dict[str, dict[str, str]] = {}
# CodeBuild's account-level source credentials: (account, region) ->
# serverType -> SourceCredentialsInfo. "Only one credential per server type
# per Region" (CodeBuild API reference, ImportSourceCredentials).
_source_credentials: dict[tuple[str, str], dict[str, dict]] = {}


# CodePipeline: (account, region, pipeline) -> the `stageStates` GetPipelineState
# answers (tests set them), and every retry and start the pipelines received.
_pipeline_states: dict[tuple[str, str, str], list[dict]] = {}
pipeline_calls: list[dict] = []
_start_tokens: dict[tuple[str, str, str, str], str] = {}


# Service Catalog: (account, region, product id) -> the `LastSync` AWS reports
# for a product synced from a repository (tests set it; moto keeps none).
_product_syncs: dict[tuple[str, str, str], dict] = {}


def _checked(service: str, operation: str, params: dict) -> None:
    """Refuses a request botocore's model of the operation would refuse."""
    from moto.core.exceptions import JsonRESTError

    from local.model_check import model_error

    error = model_error(service, operation, params)
    if error:
        raise JsonRESTError("ValidationException", error)


def _extend_moto() -> None:
    from moto.account import urls as account_urls
    from moto.account.responses import AccountResponse
    from moto.codebuild.responses import CodeBuildResponse
    from moto.core.exceptions import JsonRESTError

    def list_regions(self):
        params = json.loads(self.body or "{}")
        _checked("account", "ListRegions", params)
        statuses = _region_status.get(self.current_account) or {
            **{r: "ENABLED_BY_DEFAULT" for r in ENABLED_BY_DEFAULT}, **{r: "DISABLED" for r in OPT_IN}}
        wanted = set(params.get("RegionOptStatusContains") or [])
        regions = [{"RegionName": r, "RegionOptStatus": s} for r, s in sorted(statuses.items())
                   if not wanted or s in wanted]
        start = int(params.get("NextToken") or 0)
        size = params.get("MaxResults") or 20
        page = {"Regions": regions[start:start + size]}
        if start + size < len(regions):
            page["NextToken"] = str(start + size)
        return 200, {"Content-Type": "application/json"}, json.dumps(page)

    def import_source_credentials(self):
        params = json.loads(self.body or "{}")
        _checked("codebuild", "ImportSourceCredentials", params)
        server, auth = params["serverType"], params["authType"]
        held = _source_credentials.setdefault((self.current_account, self.region), {})
        if server in held and not params.get("shouldOverwrite", True):
            raise JsonRESTError("ResourceAlreadyExistsException", f"a {server} credential exists")
        arn = f"arn:aws:codebuild:{self.region}:{self.current_account}:token/{server.lower()}"
        info = {"arn": arn, "serverType": server, "authType": auth}
        # The token is the connection's ARN for CODECONNECTIONS (or a secret's
        # for SECRETS_MANAGER), which ListSourceCredentials returns as `resource`.
        if auth in ("CODECONNECTIONS", "SECRETS_MANAGER"):
            info["resource"] = params["token"]
        held[server] = info
        return json.dumps({"arn": arn})

    def list_source_credentials(self):
        _checked("codebuild", "ListSourceCredentials", json.loads(self.body or "{}"))
        held = _source_credentials.get((self.current_account, self.region), {})
        return json.dumps({"sourceCredentialsInfos": list(held.values())})

    from moto.codepipeline.responses import CodePipelineResponse

    def pipeline_key(self, name):
        # Unknown pipelines are refused as AWS does (PipelineNotFoundException).
        self.codepipeline_backend.get_pipeline(name)
        return (self.current_account, self.region, name)

    def get_pipeline_state(self):
        params = json.loads(self.body or "{}")
        _checked("codepipeline", "GetPipelineState", params)
        key = pipeline_key(self, params["name"])
        return json.dumps({"pipelineName": params["name"], "pipelineVersion": 1,
                           "stageStates": _pipeline_states.get(key, [])})

    def retry_stage_execution(self):
        # What AWS documents for RetryStageExecution (API reference): a stage
        # that is not failed is StageNotRetryableException, an execution that
        # is not the stage's latest NotLatestPipelineExecutionException; a
        # retry of FAILED_ACTIONS runs the failed actions again.
        params = json.loads(self.body or "{}")
        _checked("codepipeline", "RetryStageExecution", params)
        key = pipeline_key(self, params["pipelineName"])
        # Every retry sent is recorded, the refused ones too.
        pipeline_calls.append({"call": "RetryStageExecution", "account": key[0], "region": key[1], **params})
        stage = next((s for s in _pipeline_states.get(key, []) if s["stageName"] == params["stageName"]), None)
        if stage is None:
            raise JsonRESTError("StageNotFoundException", f"stage {params['stageName']} not found")
        latest = stage.get("latestExecution", {})
        if latest.get("pipelineExecutionId") != params["pipelineExecutionId"]:
            raise JsonRESTError("NotLatestPipelineExecutionException", "not the latest execution")
        if latest.get("status") != "Failed":
            raise JsonRESTError("StageNotRetryableException", "the stage has no failed actions")
        latest["status"] = "InProgress"
        for action in stage.get("actionStates", []):
            if action.get("latestExecution", {}).get("status") == "Failed":
                action["latestExecution"]["status"] = "InProgress"
        return json.dumps({"pipelineExecutionId": params["pipelineExecutionId"]})

    original_start = CodePipelineResponse.start_pipeline_execution

    def start_pipeline_execution(self):
        params = json.loads(self.body or "{}")
        _checked("codepipeline", "StartPipelineExecution", params)
        # The same clientRequestToken starts one execution (API reference).
        token = params.get("clientRequestToken")
        key = (self.current_account, self.region, params["name"], token)
        if token and key in _start_tokens:
            return json.dumps({"pipelineExecutionId": _start_tokens[key]})
        answer = original_start(self)
        if token:
            _start_tokens[key] = json.loads(answer)["pipelineExecutionId"]
        pipeline_calls.append({"call": "StartPipelineExecution", "account": key[0], "region": key[1], **params})
        return answer

    from moto.events.models import EventPattern
    from moto.events.responses import EventsHandler

    def test_event_pattern(self):
        # moto has the matcher its rules use but answers nothing here. AWS
        # requires the event's envelope fields (API reference, TestEventPattern,
        # `Event`: id, account, source, time, region, detail-type; resources
        # may be empty) and refuses a pattern it cannot parse.
        params = json.loads(self.body or "{}")
        _checked("events", "TestEventPattern", params)
        event = json.loads(params["Event"])
        missing = [f for f in ("id", "account", "source", "time", "region", "detail-type") if f not in event]
        if missing:
            raise JsonRESTError("InvalidEventPatternException", f"the event has no {', '.join(missing)}")
        pattern = EventPattern.load(params["EventPattern"])
        return json.dumps({"Result": pattern.matches_event(event)})

    from moto.servicecatalog.responses import ServiceCatalogResponse

    def product_view(self, product) -> dict:
        # SourceConnection with its LastSync comes back from both the search
        # and the description (API reference, SourceConnection: "returns this
        # field for the CreateProduct, UpdateProduct, DescribeProductAsAdmin,
        # and SearchProductAsAdmin APIs").
        view = {"ProductViewSummary": product.to_dict(), "Status": "AVAILABLE",
                "ProductARN": product.arn, "CreatedTime": product.created_time.timestamp()}
        if product.source_connection:
            sync = _product_syncs.get((self.current_account, self.region, product.id))
            view["SourceConnection"] = {**product.source_connection, **({"LastSync": sync} if sync else {})}
        return view

    original_create_product = ServiceCatalogResponse.create_product

    def create_product(self):
        # The model's pattern is checked at every depth: a SourceConnection's
        # ConnectionArn must be a codestar-connections ARN (CodeStarConnectionArn).
        _checked("servicecatalog", "CreateProduct", json.loads(self.body or "{}"))
        return original_create_product(self)

    def search_products_as_admin(self):
        # Pages of PageSize products (at most 20, the model's maximum; 20 when
        # unset), in creation order, the page token an offset.
        params = json.loads(self.body or "{}")
        _checked("servicecatalog", "SearchProductsAsAdmin", params)
        products = list(self.servicecatalog_backend.products.values())
        start = int(params.get("PageToken") or 0)
        size = params.get("PageSize") or 20
        page = {"ProductViewDetails": [product_view(self, p) for p in products[start:start + size]]}
        if start + size < len(products):
            page["NextPageToken"] = str(start + size)
        return json.dumps(page)

    def describe_product_as_admin(self):
        params = json.loads(self.body or "{}")
        _checked("servicecatalog", "DescribeProductAsAdmin", params)
        products = self.servicecatalog_backend.products.values()
        product = next((p for p in products if p.id == params.get("Id") or
                        (not params.get("Id") and p.name == params.get("Name"))), None)
        if product is None:
            raise JsonRESTError("ResourceNotFoundException", "Product not found")
        return json.dumps({"ProductViewDetail": product_view(self, product), "ProvisioningArtifactSummaries": [],
                           "Tags": product.tags, "TagOptions": [], "Budgets": []})

    ServiceCatalogResponse.create_product = create_product
    ServiceCatalogResponse.search_products_as_admin = search_products_as_admin
    ServiceCatalogResponse.describe_product_as_admin = describe_product_as_admin
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def imports_of(node, export: str) -> bool:
        if isinstance(node, dict):
            return node.get("Fn::ImportValue") == export or any(imports_of(v, export) for v in node.values())
        return isinstance(node, list) and any(imports_of(v, export) for v in node)

    def list_imports(self):
        # moto has none. The live stacks whose template imports the export by
        # its literal name; none is a ValidationError, as AWS answers it
        # ("Export 'X' is not imported by any stack.", field reports of
        # `aws cloudformation list-imports`).
        _checked("cloudformation", "ListImports", {"ExportName": self._get_param("ExportName")})
        export = self._get_param("ExportName")
        stacks = self.cloudformation_backend.stacks.values()
        names = sorted(st.name for st in stacks
                       if st.status != "DELETE_COMPLETE" and imports_of(st.template_dict, export))
        if not names:
            raise ValidationError(message=f"Export '{export}' is not imported by any stack.")
        return ActionResult({"Imports": names})

    CloudFormationResponse.list_imports = list_imports
    EventsHandler.test_event_pattern = test_event_pattern
    CodePipelineResponse.get_pipeline_state = get_pipeline_state
    CodePipelineResponse.retry_stage_execution = retry_stage_execution
    CodePipelineResponse.start_pipeline_execution = start_pipeline_execution
    AccountResponse.list_regions = list_regions
    account_urls.url_paths["{0}/listRegions$"] = AccountResponse.dispatch
    CodeBuildResponse.import_source_credentials = import_source_credentials
    CodeBuildResponse.list_source_credentials = list_source_credentials
    iam_simulator.extend()


_extend_moto()


class _Server(ThreadedMotoServer):
    app: _AtomicDynamoDb

    def _server_entry(self) -> None:
        app = self.app = _AtomicDynamoDb(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class LocalAws:
    def __init__(self, port: int = 0):
        self._server = _Server(ip_address="127.0.0.1", port=port or free_port(), verbose=False)
        self.url = ""

    def start(self) -> "LocalAws":
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    @staticmethod
    def set_pipeline_state(region: str, name: str, stages: list[dict], account: str = ACCOUNT) -> None:
        """What GetPipelineState answers for a pipeline: its `stageStates`."""
        _pipeline_states[(account, region, name)] = json.loads(json.dumps(stages))

    @staticmethod
    def pipeline_calls_for(names: set[str]) -> list[dict]:
        """The RetryStageExecution and StartPipelineExecution calls these pipelines received."""
        return [c for c in pipeline_calls if (c.get("pipelineName") or c.get("name")) in names]

    @staticmethod
    def set_product_sync(region: str, product_id: str, status: str, message: str,
                         account: str = ACCOUNT) -> None:
        """The `LastSync` a product synced from a repository reports."""
        _product_syncs[(account, region, product_id)] = {
            "LastSyncTime": time.time(), "LastSyncStatus": status, "LastSyncStatusMessage": message}

    @staticmethod
    def set_regions(account: str, statuses: dict[str, str]) -> None:
        """The regions `account` has and their RegionOptStatus, as ListRegions reports them."""
        _region_status[account] = dict(statuses)

    def take_calls(self) -> Counter[str]:
        """The JSON-protocol calls (e.g. `AWSEvents.PutEvents`) served since the last take."""
        calls, self._server.app.calls = self._server.app.calls, Counter()
        return calls

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def client(self, service: str, region: str = "us-east-1", account: str | None = None):
        """A boto3 client on moto; with `account`, as that account (moto's STS
        hands out credentials that moto then serves as that account's)."""
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}
        if account and account != ACCOUNT:
            assumed = self.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/local-admin",
                                                    RoleSessionName="local")["Credentials"]
            keys = {"aws_access_key_id": assumed["AccessKeyId"], "aws_secret_access_key": assumed["SecretAccessKey"],
                    "aws_session_token": assumed["SessionToken"]}
        return boto3.client(
            service, region_name=region, endpoint_url=self.url, **keys,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    # -- SNS -> SQS -----------------------------------------------------
    def topic_with_queue(self, name: str, region: str = "us-east-1", raw: bool = False) -> tuple[str, str]:
        """An alert topic with an SQS queue subscribed to it, as a machine subscriber would have."""
        sns, sqs = self.client("sns", region), self.client("sqs", region)
        topic_arn = sns.create_topic(Name=name)["TopicArn"]
        queue_url = sqs.create_queue(QueueName=f"{name}-subscriber")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true" if raw else "false"})
        return topic_arn, queue_url

    def drain(self, queue_url: str, region: str = "us-east-1") -> list[dict]:
        """Every message waiting in the queue, as SQS delivers it, parsed: an SNS
        notification's envelope, or an EventBridge event."""
        sqs = self.client("sqs", region)
        notes = []
        while True:
            got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                return notes
            for m in messages:
                notes.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

    # -- EventBridge -> SQS ----------------------------------------------
    def bus_with_queue(self, name: str, pattern: dict | None = None,
                       region: str = "us-east-1") -> tuple[str, str]:
        """A custom event bus with a rule (`pattern`, else every connection-watch
        event) whose target is an SQS queue, as a subscriber's stack makes it.
        `drain` then returns each event as the rule's target receives it."""
        events, sqs = self.client("events", region), self.client("sqs", region)
        events.create_event_bus(Name=name)
        events.put_rule(Name=f"{name}-rule", EventBusName=name,
                        EventPattern=json.dumps(pattern or {"source": ["connection-watch"]}))
        queue_url = sqs.create_queue(QueueName=f"{name}-target")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule=f"{name}-rule", EventBusName=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
        return name, queue_url

    def stack(self, region: str, name: str, tags: dict[str, str] | None = None) -> None:
        """A CloudFormation stack (one SNS topic), with `tags`:
        what DescribeStacks reads for a synced stack's ignore tag."""
        template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
        self.client("cloudformation", region).create_stack(
            StackName=name, TemplateBody=json.dumps(template),
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])

    # -- CodePipeline, CodeBuild: what uses a connection ------------------
    def service_role(self, account: str | None = None) -> str:
        """A role CodePipeline and CodeBuild may assume (moto checks the trust
        of a pipeline's role, one service principal a statement)."""
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            for service in ("codepipeline.amazonaws.com", "codebuild.amazonaws.com")]}
        name = f"pipelines-{uuid.uuid4().hex[:8]}"
        iam = self.client("iam", account=account)
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]

    def pipeline(self, region: str, name: str, role: str, connection: str | None, account: str | None = None,
                 full_clone_to: str | None = None) -> None:
        """A two-stage pipeline whose source is `connection` (a CodeStarSourceConnection
        action), or an S3 bucket when `connection` is None. With `full_clone_to`, the source
        hands that CodeBuild project a full clone (`OutputArtifactFormat` `CODEBUILD_CLONE_REF`)."""
        kind = {"category": "Source", "owner": "AWS", "version": "1"}
        if connection:
            configuration = {"ConnectionArn": connection, "FullRepositoryId": "acme/payments", "BranchName": "main"}
            if full_clone_to:
                configuration["OutputArtifactFormat"] = "CODEBUILD_CLONE_REF"
            source = {"name": "Source", "actionTypeId": {**kind, "provider": "CodeStarSourceConnection"},
                      "configuration": configuration, "outputArtifacts": [{"name": "src"}]}
        else:
            source = {"name": "Source", "actionTypeId": {**kind, "provider": "S3"},
                      "configuration": {"S3Bucket": "artifacts", "S3ObjectKey": "src.zip"},
                      "outputArtifacts": [{"name": "src"}]}
        build = {"name": "Build", "actionTypeId": {**kind, "category": "Build", "provider": "CodeBuild"},
                 "configuration": {"ProjectName": full_clone_to or "build"}, "inputArtifacts": [{"name": "src"}]}
        self.client("codepipeline", region, account).create_pipeline(pipeline={
            "name": name, "roleArn": role, "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": [{"name": "Source", "actions": [source]}, {"name": "Build", "actions": [build]}]})

    def project(self, region: str, name: str, role: str, connection: str | None, in_pipeline: bool = False) -> None:
        """A CodeBuild project whose source authenticates with `connection` (CODECONNECTIONS),
        or, `in_pipeline`, one whose source and artifacts a pipeline's action supplies
        (both `CODEPIPELINE`, as a pipeline's project is made)."""
        source = {"type": "GITHUB", "location": "https://github.com/acme/payments.git"}
        artifacts = {"type": "NO_ARTIFACTS"}
        if connection:
            source["auth"] = {"type": "CODECONNECTIONS", "resource": connection}
        if in_pipeline:
            # AWS ignores the locations of a CODEPIPELINE source and artifacts
            # (CodeBuild API Reference, ProjectSource and ProjectArtifacts
            # `location`); moto requires them.
            source = {"type": "CODEPIPELINE", "location": "ignored"}
            artifacts = {"type": "CODEPIPELINE", "location": "ignored"}
        self.client("codebuild", region).create_project(
            name=name, source=source, artifacts=artifacts, serviceRole=role,
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                         "computeType": "BUILD_GENERAL1_SMALL"})

    def product(self, region: str, name: str, connection: str | None, account: str | None = None) -> str:
        """A Service Catalog product whose versions sync from a repository through
        `connection` (named by the codestar-connections prefix, as the model
        requires), or an ordinary one; its id."""
        source = {}
        if connection:
            arn = connection.replace(":codeconnections:", ":codestar-connections:")
            source["SourceConnection"] = {"Type": "CODESTAR", "ConnectionParameters": {"CodeStar": {
                "ConnectionArn": arn, "Repository": "acme/catalog", "Branch": "main",
                "ArtifactPath": "products/payments.yaml"}}}
        created = self.client("servicecatalog", region, account).create_product(
            Name=name, Owner="platform", ProductType="CLOUD_FORMATION_TEMPLATE", **source,
            ProvisioningArtifactParameters={"Name": "v1", "Type": "CLOUD_FORMATION_TEMPLATE",
                                            "Info": {"LoadTemplateFromURL": "https://example.com/t.yaml"}})
        return created["ProductViewDetail"]["ProductViewSummary"]["ProductId"]

    @staticmethod
    def email_view(topic_arn: str, region: str = "us-east-1") -> list[tuple[str, str]]:
        """(subject, body) of each message as an email subscriber receives it: the
        `email` entry of the published structure. moto delivers no email, but it
        keeps what was published; this process runs moto, so it can read it."""
        return LocalAws.protocol_view(topic_arn, "email", region)

    @staticmethod
    def protocol_view(topic_arn: str, protocol: str, region: str = "us-east-1") -> list[tuple[str, str]]:
        """(subject, body) of each message as a subscriber of `protocol` receives
        it: that entry of the published structure, else `default`. `https` is
        what an AWS Chatbot (Slack, Teams) subscription receives."""
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT][region].topics[topic_arn]
        views = []
        for _id, message, subject, _attributes, _group in topic.sent_notifications:
            try:
                structure = json.loads(message)
                body = structure.get(protocol, structure["default"])
            except (ValueError, KeyError, TypeError):
                body = message
            views.append((subject, body))
        return views

    # -- S3: CloudFormation's ResponseURL -------------------------------
    def response_url(self, bucket: str, key: str, endpoint: str | None = None) -> str:
        """A presigned PUT URL, as CloudFormation hands to custom resources.
        `endpoint` presigns for another address (a proxy in front of moto)."""
        s3 = self.client("s3")
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        signer = s3 if endpoint is None else boto3.client(
            "s3", region_name="us-east-1", endpoint_url=endpoint,
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(s3={"addressing_style": "path"}))
        return signer.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)

    def read_response(self, bucket: str, key: str) -> dict | None:
        s3 = self.client("s3")
        try:
            return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    def object_versions(self, bucket: str, key: str) -> int:
        """How many PUTs reached the key (the bucket is versioned)."""
        s3 = self.client("s3")
        return len([v for v in s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []) if v["Key"] == key])

    def versioned_bucket(self, bucket: str) -> None:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
