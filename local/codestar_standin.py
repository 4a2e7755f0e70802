"""A local stand-in for AWS CodeStar Connections (and CodeConnections).

Speaks the real wire protocol, awsJson1_0: POST / with `X-Amz-Target` either
bare (`CodeStar_connections_20191201.ListConnections`, as the Rust SDK sends
it) or namespaced (`com.amazonaws.codestar.connections.CodeStar_connections_20191201...`,
as boto3 sends it). The region is read from the SigV4 credential scope, so
one server holds every region. Errors have AWS's shape: HTTP 400/5xx with
`{"__type": ..., "message": ...}`.

It models how AWS serves them (each rule cites its source beside it):
connections are global (listed whole from any region, changed only in their
home region, names unique per region), hosts are regional.

Tests seed it, change connections behind the client's back, and inject
latency, throttling and 5xx, per region or everywhere. It listens on
127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus

import botocore.session

from local.model_check import model_error

ACCOUNT = "123456789012"
# CreateConnection's provider types, from AWS's own model of the service
# (botocore's codeconnections ProviderType, which both target prefixes serve):
# AzureDevOps and GitHubEnterpriseCloudDataResidency are newer than the
# codestar-connections model's five.
PROVIDER_TYPES = tuple(
    botocore.session.get_session()
    .get_service_model("codeconnections")
    .shape_for("ProviderType")
    .enum
)
STATUSES = ("PENDING", "AVAILABLE", "ERROR")
# Host statuses as the Developer Tools user guide lists them ("View host
# details", https://docs.aws.amazon.com/dtconsole/latest/userguide/connections-host-view.html);
# the API types Status as a free string (API_Host), so tests may set others.
HOST_STATUSES = ("PENDING", "AVAILABLE", "ERROR", "VPC_CONFIG_INITIALIZING",
                 "VPC_CONFIG_FAILED_INITIALIZATION", "VPC_CONFIG_DELETING")
# "Maximum number of connections per AWS account: 250", a quota that
# "applies per AWS Region and can be increased" (Developer Tools console
# user guide, "Quotas for connections"); past it CreateConnection answers
# LimitExceededException ("Exceeded the maximum limit for connections", its
# documented error in the API reference).
CONNECTION_QUOTA = 250
MAX_TAGS = 200
TARGET_PREFIXES = (
    "com.amazonaws.codestar.connections.CodeStar_connections_20191201.",
    "CodeStar_connections_20191201.",
    "com.amazonaws.codeconnections.CodeConnections_20231201.",
    "CodeConnections_20231201.",
)
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([a-z0-9-]+)/")
# Operations that change a connection: AWS controls them in its home region
# ("Global resources in AWS CodeConnections",
# https://docs.aws.amazon.com/dtconsole/latest/userguide/welcome-connections-how-it-works-global.html).
CONNECTION_WRITES = ("DeleteConnection", "TagResource", "UntagResource")


class ServiceError(Exception):
    def __init__(self, kind: str, message: str, status: int = 400):
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


class _Named:
    """What an ARN names: the home region and the account."""

    arn: str

    @property
    def region(self) -> str:
        return _region_of(self.arn)

    @property
    def account(self) -> str:
        return _account_of(self.arn)


@dataclass
class Connection(_Named):
    name: str
    arn: str
    provider_type: str
    status: str
    host_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    _encoded: tuple[str, bytes] | None = field(default=None, repr=False, compare=False)

    def wire_json(self) -> bytes:
        """`wire()` encoded, kept until the status changes: listing pages are
        most of the stand-in's own cost."""
        if self._encoded is None or self._encoded[0] != self.status:
            self._encoded = (self.status, json.dumps(self.wire()).encode())
        return self._encoded[1]

    def wire(self) -> dict:
        out = {
            "ConnectionName": self.name,
            "ConnectionArn": self.arn,
            "ProviderType": self.provider_type,
            "OwnerAccountId": self.account,
            "ConnectionStatus": self.status,
        }
        if self.host_arn:
            out["HostArn"] = self.host_arn
        return out


@dataclass
class Host(_Named):
    name: str
    arn: str
    provider_type: str
    endpoint: str
    status: str = "AVAILABLE"
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def wire(self) -> dict:
        out = {
            "Name": self.name,
            "HostArn": self.arn,
            "ProviderType": self.provider_type,
            "ProviderEndpoint": self.endpoint,
            "Status": self.status,
        }
        if self.status_message:
            out["StatusMessage"] = self.status_message
        return out


@dataclass
class Faults:
    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    # The next N requests are throttled, then normal service resumes.
    throttle_burst: int = 0
    fail_all: bool = False
    # Refused as IAM refuses a caller without the action (AccessDeniedException,
    # HTTP 400, with IAM's wording): a member role not yet redeployed, say.
    deny: bool = False
    # Only these operations are affected; None: every operation.
    operations: tuple[str, ...] | None = None


class CodestarStandIn:
    """The connections and hosts of accounts, served for every region.

    Connections are global: one store per account, listed whole from any
    region, each with a home region named by its ARN. Hosts are regional:
    listed and read only in their own region. The account is the one the
    request's credentials belong to: moto's, when the caller got them from
    moto's STS (`AssumeRole` into another account), else the default account."""

    def __init__(self, seed: int = 7):
        self._lock = threading.RLock()
        self._connections: dict[str, Connection] = {}  # ARN -> connection, in creation order
        # The same, by account: a listing reads one account's, not every account's
        # (10,000 accounts in the benchmark's organization series).
        self._by_account: dict[str, dict[str, Connection]] = {}
        self._hosts: dict[str, Host] = {}  # ARN -> host
        self._faults: dict[str, Faults] = {}
        # Accounts whose credentials are refused, as when the member role lacks permission.
        self._denied: set[str] = set()
        self._caller = ACCOUNT
        self._random = random.Random(seed)
        self.calls: dict[str, int] = {}
        # (operation, resource ARN, region the request arrived at) for every
        # call that names a connection or host, so tests can assert routing.
        self.arrivals: list[tuple[str, str, str]] = []
        self.failures_injected = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tls: ssl.SSLContext | None = None
        self.connections_accepted = 0
        self._seeded: dict[str, int] = {}
        # Git sync: repository links (ARN -> region, account, wire) and their
        # stacks' sync configurations (region, account, wire).
        self._links: dict[str, tuple[str, str, dict]] = {}
        self._syncs: list[tuple[str, str, dict]] = []
        # Each synced stack's blockers and latest sync attempt, by (region, account, stack).
        self._blockers: dict[tuple[str, str, str], list[dict]] = {}
        self._sync_status: dict[tuple[str, str, str], dict] = {}
        self._repository_sync: dict[tuple[str, str, str, str], dict] = {}

    # -- life cycle -----------------------------------------------------
    def start(self, port: int = 0, tls: ssl.SSLContext | None = None) -> str:
        """Serves on 127.0.0.1 from an asyncio loop in its own thread: one
        thread for every connection, and injected latency is a timer, not a
        sleeping thread, so the stand-in's own cost stays small at high fan-out.
        With `tls`, over HTTPS, as AWS serves it (`local/tls.py`)."""
        self._tls = tls
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run():
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", port, ssl=tls))
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait()
        return self.url

    @property
    def url(self) -> str:
        assert self._server, "start() first"
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def stop(self) -> None:
        if not self._loop:
            return

        async def close():
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._loop = self._server = self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- test controls --------------------------------------------------
    def seed(self, region: str, count: int, status: str = "PENDING", provider_type: str = "GitHub",
             tags: dict[str, str] | None = None, name_prefix: str | None = None,
             host_arn: str | None = None, account: str = ACCOUNT) -> list[str]:
        """`count` connections of `account` whose home region is `region`; returns their ARNs."""
        assert status in STATUSES and provider_type in PROVIDER_TYPES
        prefix = name_prefix or f"{provider_type.lower()}-{status.lower()}"
        with self._lock:
            # A counter, not a count of the region's connections: seeding
            # 10,000 accounts one by one must not read every connection each time.
            existing = self._seeded.get(region, 0)
            self._seeded[region] = existing + count
            return [
                self._add(region, f"{prefix}-{existing + i}"[:32], provider_type, status, host_arn,
                          dict(tags or {}), account).arn
                for i in range(count)
            ]

    def deny(self, account: str) -> None:
        """Refuses every request made with `account`'s credentials (AccessDeniedException)."""
        with self._lock:
            self._denied.add(account)

    def add_host(self, region: str, name: str, provider_type: str = "GitHubEnterpriseServer",
                 status: str = "AVAILABLE", status_message: str | None = None,
                 tags: dict[str, str] | None = None, account: str = ACCOUNT) -> str:
        arn = f"arn:aws:codestar-connections:{region}:{account}:host/{name}-{uuid.uuid4().hex[:8]}"
        endpoint = f"https://{name}.example.com"
        with self._lock:
            self._hosts[arn] = Host(name, arn, provider_type, endpoint, status, status_message, dict(tags or {}))
        return arn

    def set_status(self, arn: str, status: str) -> None:
        assert status in STATUSES
        with self._lock:
            self._find(arn).status = status

    def set_host_status(self, arn: str, status: str, message: str | None = None) -> None:
        with self._lock:
            host = self._hosts[arn]
            host.status, host.status_message = status, message

    def remove(self, arn: str) -> None:
        with self._lock:
            if self._connections.pop(arn, None) is None:
                self._hosts.pop(arn)
            else:
                self._by_account[arn.split(":")[4]].pop(arn)

    def connections(self, region: str | None = None) -> list[Connection]:
        """Every connection, or those whose home region is `region`."""
        with self._lock:
            return [c for c in self._connections.values() if region is None or c.region == region]

    def hosts(self, region: str | None = None) -> list[Host]:
        with self._lock:
            return [h for h in self._hosts.values() if region is None or h.region == region]

    def get(self, arn: str) -> Connection | None:
        with self._lock:
            return self._connections.get(arn)

    def take_calls(self) -> dict[str, int]:
        """The calls per operation so far, counting from zero again."""
        with self._lock:
            calls, self.calls = self.calls, {}
            return calls

    def set_faults(self, region: str = "*", **faults) -> None:
        """latency_ms, throttle_rate, error_rate, throttle_burst, fail_all,
        deny, operations; region '*' is every region."""
        with self._lock:
            if "operations" in faults and faults["operations"] is not None:
                faults["operations"] = tuple(faults["operations"])
            self._faults[region] = Faults(**faults)

    # -- HTTP -----------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Without it, a response written in two segments waits ~40 ms on delayed ACK.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writers.add(writer)
        # One TCP connection, and over TLS one handshake.
        self.connections_accepted += 1
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                headers = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length", 0)))
                status, payload = await self._respond(request_line, headers, raw)
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                head = (
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                    "Content-Type: application/x-amz-json-1.0\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    f"x-amzn-RequestId: {uuid.uuid4()}\r\n"
                    + (f"x-amzn-ErrorType: {payload['__type']}\r\n" if status >= 400 else "")
                    + "\r\n"
                ).encode()
                # One write: headers and body in the same segment.
                writer.write(head + body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _respond(self, request_line: bytes, headers: dict[str, str], raw: bytes) -> tuple[int, dict | bytes]:
        target = headers.get("x-amz-target", "")
        operation = next((target[len(p):] for p in TARGET_PREFIXES if target.startswith(p)), None)
        scope = CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
        try:
            if not request_line.startswith(b"POST "):
                raise ServiceError("UnknownOperationException", "only POST is served", 404)
            if operation is None:
                raise ServiceError("UnknownOperationException", f"unknown X-Amz-Target {target!r}")
            if not headers.get("content-type", "").startswith("application/x-amz-json-1.0"):
                raise ServiceError("SerializationException", "Content-Type must be application/x-amz-json-1.0")
            if scope is None:
                raise ServiceError("MissingAuthenticationTokenException", "Request is not signed", 403)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise ServiceError("SerializationException", "Body is not JSON") from None
            access_key, region = scope.group(1), scope.group(2)
            verdict, latency_ms = self._admit(region, operation)
            if latency_ms:
                await asyncio.sleep(latency_ms / 1000)
            if verdict:
                raise verdict
            account = _account_of_key(access_key)
            if account in self._denied:
                raise ServiceError("AccessDeniedException", f"account {account} may not call {operation}")
            # Every request as AWS's model of the service it named takes it.
            service = "codeconnections" if "CodeConnections_" in target else "codestar-connections"
            error = model_error(service, operation, body) if hasattr(self, f"_op_{operation}") else None
            if error:
                raise ServiceError("ValidationException", error)
            return 200, self._execute(region, operation, body, account)
        except ServiceError as e:
            return e.status, {"__type": e.kind, "message": e.message}

    # -- service --------------------------------------------------------
    def _admit(self, region: str, operation: str) -> tuple[ServiceError | None, float]:
        """Counts the call and decides its injected fault and latency."""
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            faults = self._faults.get(region) or self._faults.get("*") or Faults()
            if faults.operations is not None and operation not in faults.operations:
                return None, 0.0
            return self._inject(faults, operation), faults.latency_ms

    def _execute(self, region: str, operation: str, body: dict, account: str = ACCOUNT) -> dict | bytes:
        method = getattr(self, f"_op_{operation}", None)
        if method is None:
            raise ServiceError("UnknownOperationException", f"unknown operation {operation}")
        with self._lock:
            arn = body.get("ConnectionArn") or body.get("ResourceArn") or body.get("HostArn")
            if isinstance(arn, str) and operation != "CreateConnection":
                self.arrivals.append((operation, arn, region))
                # One account cannot see another's resources.
                if _account_of(arn) != account:
                    raise ServiceError("ResourceNotFoundException", f"{arn} does not exist in account {account}")
            self._caller = account
            return method(region, body)

    def _inject(self, faults: Faults, operation: str) -> ServiceError | None:
        if faults.deny:
            self.failures_injected += 1
            return ServiceError("AccessDeniedException", (
                f"User: arn:aws:sts::{ACCOUNT}:assumed-role/connection-watch/monitor is not authorized to "
                f"perform: codeconnections:{operation} because no identity-based policy allows the "
                f"codeconnections:{operation} action"))
        if faults.fail_all:
            self.failures_injected += 1
            return ServiceError("InternalFailure", "injected failure", 500)
        if faults.throttle_burst > 0:
            faults.throttle_burst -= 1
            self.failures_injected += 1
            return ServiceError("ThrottlingException", "Rate exceeded")
        roll = self._random.random()
        if roll < faults.throttle_rate:
            self.failures_injected += 1
            return ServiceError("ThrottlingException", "Rate exceeded")
        if roll < faults.throttle_rate + faults.error_rate:
            self.failures_injected += 1
            return self._random.choice([
                ServiceError("InternalFailure", "injected 500", 500),
                ServiceError("ServiceUnavailableException", "injected 503", 503),
            ])
        return None

    def _add(self, region, name, provider_type, status, host_arn, tags, account=ACCOUNT) -> Connection:
        arn = f"arn:aws:codestar-connections:{region}:{account}:connection/{uuid.uuid4()}"
        connection = Connection(name, arn, provider_type, status, host_arn, tags)
        self._connections[arn] = connection
        self._by_account.setdefault(account, {})[arn] = connection
        return connection

    def _find(self, arn: str) -> Connection:
        connection = self._connections.get(arn)
        if connection is None:
            raise ServiceError("ResourceNotFoundException", f"Connection {arn} does not exist")
        return connection

    def _find_host(self, region: str, arn: str) -> Host:
        # Hosts are regional: "You use host resources only in the Region where
        # they were created" (Global resources in AWS CodeConnections).
        host = self._hosts.get(arn)
        if host is None or host.region != region:
            raise ServiceError("ResourceNotFoundException", f"Host {arn} does not exist in {region}")
        return host

    def _resource(self, region: str, operation: str, arn: str) -> Connection | Host:
        """The connection or host an ARN names, as the calling region may use it."""
        if ":host/" in arn:
            return self._find_host(region, arn)
        connection = self._find(arn)
        # A connection's data is controlled in its home region (the same guide);
        # what AWS answers to a write sent elsewhere is undocumented, so the
        # stand-in refuses it rather than guess.
        if operation in CONNECTION_WRITES and connection.region != region:
            raise ServiceError(
                "ValidationException",
                f"{operation} of {arn} must be sent to its home region {connection.region}, not {region}")
        return connection

    # -- Git sync -------------------------------------------------------
    def add_repository_link(self, region: str, connection_arn: str, repository: str = "infra",
                            owner: str = "acme", account: str = ACCOUNT) -> str:
        """A repository link in `region` on a connection (of any home region:
        the connection is global, the link is not). Returns its id."""
        link_id = str(uuid.uuid4())
        arn = f"arn:aws:codestar-connections:{region}:{account}:repository-link/{link_id}"
        connection = self._connections.get(connection_arn.replace(":codeconnections:", ":codestar-connections:"))
        wire = {"ConnectionArn": connection_arn, "OwnerId": owner,
                "ProviderType": connection.provider_type if connection else "GitHub",
                "RepositoryLinkArn": arn, "RepositoryLinkId": link_id, "RepositoryName": repository}
        with self._lock:
            self._links[arn] = (region, account, wire)
        return link_id

    def add_stack_sync(self, region: str, link_id: str, stack: str, branch: str = "main",
                       account: str = ACCOUNT) -> None:
        """A CloudFormation stack synced from Git through the link `link_id`."""
        [link] = [w for r, a, w in self._links.values() if w["RepositoryLinkId"] == link_id]
        wire = {"Branch": branch, "ConfigFile": "deployment.yaml", "OwnerId": link["OwnerId"],
                "ProviderType": link["ProviderType"], "RepositoryLinkId": link_id,
                "RepositoryName": link["RepositoryName"], "ResourceName": stack,
                "RoleArn": f"arn:aws:iam::{account}:role/git-sync", "SyncType": "CFN_STACK_SYNC"}
        with self._lock:
            self._syncs.append((region, account, wire))

    def add_sync_blocker(self, region: str, stack: str, reason: str, account: str = ACCOUNT) -> str:
        """An ACTIVE sync blocker on a synced stack, as AWS adds one when a
        sync fails (API reference, SyncBlocker). Returns its id."""
        blocker_id = str(uuid.uuid4())
        with self._lock:
            self._blockers.setdefault((region, account, stack), []).append({
                "Id": blocker_id, "Type": "AUTOMATED", "Status": "ACTIVE", "CreatedReason": reason,
                "CreatedAt": time.time(), "Contexts": []})
        return blocker_id

    def resolve_sync_blocker(self, region: str, stack: str, blocker_id: str, account: str = ACCOUNT) -> None:
        """What `update-sync-blocker` does: the blocker stays listed, RESOLVED."""
        with self._lock:
            for blocker in self._blockers[(region, account, stack)]:
                if blocker["Id"] == blocker_id:
                    blocker.update(Status="RESOLVED", ResolvedReason="fixed", ResolvedAt=time.time())

    def set_sync_status(self, region: str, stack: str, status: str, account: str = ACCOUNT) -> None:
        """The stack's latest sync attempt: FAILED, INITIATED, IN_PROGRESS or SUCCEEDED."""
        [sync] = [w for r, a, w in self._syncs if r == region and a == account and w["ResourceName"] == stack]
        revision = {"Branch": sync["Branch"], "Directory": sync["ConfigFile"], "OwnerId": sync["OwnerId"],
                    "RepositoryName": sync["RepositoryName"], "ProviderType": sync["ProviderType"],
                    "Sha": "0" * 40}
        with self._lock:
            self._sync_status[(region, account, stack)] = {
                "Events": [], "InitialRevision": revision, "StartedAt": time.time(), "Status": status,
                "TargetRevision": revision, "Target": stack}

    def set_repository_sync_status(self, region: str, link_id: str, branch: str, status: str,
                                   events: list | None = None, account: str = ACCOUNT) -> None:
        """The latest repository sync of (link, branch): FAILED, INITIATED, IN_PROGRESS, SUCCEEDED
        or QUEUED, with its events ({"Event", "Type"} each; the time is now)."""
        now = time.time()
        with self._lock:
            self._repository_sync[(region, account, link_id, branch)] = {
                "StartedAt": now, "Status": status,
                "Events": [{"Time": now, **e} for e in events or []]}

    def _synced(self, region: str, stack: str) -> bool:
        return any(r == region and a == self._caller and w["ResourceName"] == stack for r, a, w in self._syncs)

    def _op_GetSyncBlockerSummary(self, region, body):
        stack = body["ResourceName"]
        # A stack with no sync configuration in the region is not found; what
        # AWS answers for one never blocked is not documented: no blockers.
        if not self._synced(region, stack):
            raise ServiceError("ResourceNotFoundException", f"No sync configuration for {stack} in {region}")
        blockers = self._blockers.get((region, self._caller, stack), [])
        return {"SyncBlockerSummary": {"ResourceName": stack, "LatestBlockers": blockers}}

    def _op_GetResourceSyncStatus(self, region, body):
        stack = body["ResourceName"]
        attempt = self._sync_status.get((region, self._caller, stack))
        # Not synced yet: no attempt to describe.
        if not self._synced(region, stack) or attempt is None:
            raise ServiceError("ResourceNotFoundException", f"No sync status for {stack} in {region}")
        return {"LatestSync": attempt}

    def _op_GetRepositorySyncStatus(self, region, body):
        link_id, branch = _required(body, "RepositoryLinkId"), _required(body, "Branch")
        if _required(body, "SyncType") != "CFN_STACK_SYNC":
            raise ServiceError("ValidationException", f"Invalid SyncType {body['SyncType']}")
        attempt = self._repository_sync.get((region, self._caller, link_id, branch))
        # A branch that never synced has no attempt (the API reference lists
        # ResourceNotFoundException for the call).
        if attempt is None:
            raise ServiceError("ResourceNotFoundException",
                               f"No repository sync status for {link_id} {branch} in {region}")
        return {"LatestSync": attempt}

    def _op_ListRepositoryLinks(self, region, body):
        # A link's ARN names its region (arn:...:repository-link/<id>, API
        # reference RepositoryLinkInfo), and it lists where it was made, as a
        # host does; what it links to is a global connection.
        max_results = _int(body, "MaxResults", 0, 100, default=100) or 100
        items = [w for r, a, w in self._links.values() if r == region and a == self._caller]
        return _page(items, body, max_results, "RepositoryLinks", lambda w: json.dumps(w).encode())

    def _op_ListSyncConfigurations(self, region, body):
        link_id, sync_type = _required(body, "RepositoryLinkId"), _required(body, "SyncType")
        if sync_type != "CFN_STACK_SYNC":
            raise ServiceError("ValidationException", f"Invalid SyncType {sync_type}")
        if not any(w["RepositoryLinkId"] == link_id and r == region and a == self._caller
                   for r, a, w in self._links.values()):
            raise ServiceError("ResourceNotFoundException", f"Repository link {link_id} does not exist in {region}")
        max_results = _int(body, "MaxResults", 0, 100, default=100) or 100
        items = [w for r, a, w in self._syncs if r == region and a == self._caller and w["RepositoryLinkId"] == link_id]
        return _page(items, body, max_results, "SyncConfigurations", lambda w: json.dumps(w).encode())

    def _op_ListConnections(self, region, body):
        # Global: any region lists the account's connections of every region
        # ("When you list connection resources ... the list shows all connection
        # resources associated with your account across all Regions").
        max_results = _int(body, "MaxResults", 0, 100, default=100) or 100
        provider, host = body.get("ProviderTypeFilter"), body.get("HostArnFilter")
        if provider is not None and provider not in PROVIDER_TYPES:
            raise ServiceError("ValidationException", f"Invalid ProviderTypeFilter {provider}")
        items = [
            c for c in self._by_account.get(self._caller, {}).values()
            if (provider is None or c.provider_type == provider) and (host is None or c.host_arn == host)
        ]
        return _page(items, body, max_results, "Connections", Connection.wire_json)

    def _op_ListHosts(self, region, body):
        # Regional: "the list shows host resources associated with your account
        # in the selected Region only" (the same guide).
        max_results = _int(body, "MaxResults", 0, 100, default=100) or 100
        items = [h for h in self._hosts.values() if h.region == region and h.account == self._caller]
        return _page(items, body, max_results, "Hosts", lambda h: json.dumps(h.wire()).encode())

    def _op_GetHost(self, region, body):
        host = self._find_host(region, _required(body, "HostArn"))
        return {k: v for k, v in host.wire().items() if k not in ("HostArn", "StatusMessage")}

    def _op_GetConnection(self, region, body):
        arn = _required(body, "ConnectionArn")
        return {"Connection": self._resource(region, "GetConnection", arn).wire()}

    def _op_CreateConnection(self, region, body):
        name = _required(body, "ConnectionName")
        if not 1 <= len(name) <= 32:
            raise ServiceError("ValidationException", "ConnectionName must have 1 to 32 characters")
        provider, host = body.get("ProviderType"), body.get("HostArn")
        if host is not None:
            provider = provider or self._find_host(region, host).provider_type
        if provider not in PROVIDER_TYPES:
            raise ServiceError("ValidationException", f"Invalid ProviderType {provider}")
        tags = _tags(body.get("Tags", []))
        # Names are unique per region, not per account: the field report
        # hashicorp/terraform-provider-aws#34395 found same-named connections
        # in two regions of one account.
        # What AWS answers for a name taken in the region is undocumented
        # (CreateConnection's errors are LimitExceeded, ResourceNotFound,
        # ResourceUnavailable, and in the codeconnections model InvalidInput
        # and UnsupportedProviderType). ResourceUnavailableException is the
        # stand-in's own choice among them; the resource never relies on it,
        # since it looks a name up with ListConnections before creating.
        home = [c for c in self.connections(region) if c.account == self._caller]
        if any(c.name == name for c in home):
            raise ServiceError("ResourceUnavailableException", f"Connection name {name} already exists")
        if len(home) >= CONNECTION_QUOTA:
            raise ServiceError("LimitExceededException", "Connection limit exceeded")
        connection = self._add(region, name, provider, "PENDING", host, tags, self._caller)
        self.arrivals.append(("CreateConnection", connection.arn, region))
        return {"ConnectionArn": connection.arn, "Tags": _wire_tags(tags)}

    def _op_DeleteConnection(self, region, body):
        arn = _required(body, "ConnectionArn")
        self._resource(region, "DeleteConnection", arn)
        del self._connections[arn]
        del self._by_account[arn.split(":")[4]][arn]
        return {}

    def _op_ListTagsForResource(self, region, body):
        resource = self._resource(region, "ListTagsForResource", _required(body, "ResourceArn"))
        return {"Tags": _wire_tags(resource.tags)}

    def _op_TagResource(self, region, body):
        resource = self._resource(region, "TagResource", _required(body, "ResourceArn"))
        merged = {**resource.tags, **_tags(_required(body, "Tags"))}
        if len(merged) > MAX_TAGS:
            raise ServiceError("LimitExceededException", f"A resource has at most {MAX_TAGS} tags")
        resource.tags = merged
        return {}

    def _op_UntagResource(self, region, body):
        resource = self._resource(region, "UntagResource", _required(body, "ResourceArn"))
        for key in _required(body, "TagKeys"):
            resource.tags.pop(key, None)
        return {}


def _page(items: list, body: dict, max_results: int, key: str, encode) -> bytes:
    """One page of `items` from the offset in `NextToken`, encoded as AWS does."""
    start = _decode_token(body.get("NextToken"))
    page = items[start:start + max_results]
    out = b'{"' + key.encode() + b'": [' + b", ".join(encode(i) for i in page) + b"]"
    if start + max_results < len(items):
        out += b', "NextToken": ' + json.dumps(_encode_token(start + max_results)).encode()
    return out + b"}"


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6:
        raise ServiceError("ValidationException", f"Invalid ARN {arn}")
    return parts[4]


def _account_of_key(access_key: str) -> str:
    """The account an access key belongs to: moto keeps the keys its STS
    hands out per account, when it runs in this process; else the default."""
    try:
        from moto.iam.models import get_account_id_from
    except ImportError:
        return ACCOUNT
    return get_account_id_from(access_key)


def _region_of(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6:
        raise ServiceError("ValidationException", f"Invalid ARN {arn}")
    return parts[3]


def _required(body: dict, name: str):
    if name not in body:
        raise ServiceError("ValidationException", f"{name} is required")
    return body[name]


def _int(body: dict, name: str, low: int, high: int, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or not low <= value <= high:
        raise ServiceError("ValidationException", f"{name} must be between {low} and {high}")
    return value


def _tags(items: list) -> dict[str, str]:
    tags = {}
    for item in items:
        key, value = item.get("Key"), item.get("Value")
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not isinstance(value, str) or len(value) > 256:
            raise ServiceError("ValidationException", f"Invalid tag {item}")
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise ServiceError("LimitExceededException", f"A resource has at most {MAX_TAGS} tags")
    return tags


def _wire_tags(tags: dict[str, str]) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise ServiceError("ValidationException", "Invalid NextToken") from None



def main() -> None:
    """Runs the stand-in as its own process (for benchmarks), seeded from the command line."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--regions", default="us-east-1", help="home regions the connections are spread over")
    parser.add_argument("--connections", type=int, default=0, help="connections in all, round-robin over the regions")
    parser.add_argument("--stuck-every", type=int, default=25, help="every Nth connection is PENDING")
    parser.add_argument("--hosts-per-region", type=int, default=0, help="hosts per region; the first of each is PENDING")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    standin = CodestarStandIn()
    regions = args.regions.split(",")
    for i in range(args.connections):
        stuck = args.stuck_every and i % args.stuck_every == args.stuck_every - 1
        standin.seed(regions[i % len(regions)], 1, "PENDING" if stuck else "AVAILABLE")
    for region in regions:
        for i in range(args.hosts_per_region):
            standin.add_host(region, f"ghe-{i}", status="PENDING" if i == 0 else "AVAILABLE")
    standin.set_faults("*", latency_ms=args.latency_ms)
    print(f"READY {standin.start(args.port)}", flush=True)
    # The benchmark asks for the call counts (and resets them) on stdin.
    try:
        for line in sys.stdin:
            if line.strip() == "calls":
                print(json.dumps(standin.take_calls()), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
