"""A Lambda Runtime API for running the real bootstrap binaries locally.

It serves the same endpoints Lambda serves to a custom runtime
(`/2018-06-01/runtime/invocation/next`, `.../response`, `.../error`,
`/runtime/init/error`) on 127.0.0.1, starts the binary with the environment
Lambda gives it, and hands it one invocation at a time with a real deadline.
It measures init time: from process start to the first `next` request.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT = "123456789012"
API = "/2018-06-01/runtime"


@dataclass
class Invocation:
    ok: bool
    body: object  # the function's response, or its error document
    seconds: float

    @property
    def error_type(self) -> str | None:
        return None if self.ok else (self.body or {}).get("errorType")

    @property
    def error_message(self) -> str:
        return "" if self.ok else (self.body or {}).get("errorMessage", "")


class LambdaFunction:
    def __init__(self, binary: str | list[str], name: str, env: dict[str, str], region: str = "us-east-1",
                 memory_mb: int = 128, timeout_s: float = 60):
        self.binary, self.name, self.region = binary, name, region
        self.memory_mb, self.timeout_s = memory_mb, timeout_s
        self.arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
        self.extra_env = env
        self.logs: list[str] = []
        self.init_seconds: float | None = None
        self._pending: queue.Queue = queue.Queue()
        self._results: dict[str, queue.Queue] = {}
        self._init_error: dict | None = None
        self._server: ThreadingHTTPServer | None = None
        self._process: subprocess.Popen | None = None
        self._started_at = 0.0
        self._stopping = threading.Event()

    # -- life cycle -----------------------------------------------------
    def start(self) -> "LambdaFunction":
        fn = self

        class Handler(_Handler):
            function = fn

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        host, port = self._server.server_address[:2]
        env = {
            # Only what Lambda provides, plus the caller's: nothing of this
            # machine's own AWS configuration leaks in.
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": f"{host}:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            **self.extra_env,
        }
        self._started_at = time.monotonic()
        command = [self.binary] if isinstance(self.binary, str) else self.binary
        self._process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._collect_logs, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _collect_logs(self):
        for line in self._process.stdout:
            self.logs.append(line.rstrip("\n"))

    def wait_for_log(self, text: str, timeout_s: float = 5) -> list[str]:
        """The log lines once one contains `text` (the pipe lags the invocation's result)."""
        end = time.monotonic() + timeout_s
        while not any(text in line for line in self.logs) and time.monotonic() < end:
            time.sleep(0.01)
        return list(self.logs)

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far."""
        with open(f"/proc/{self._process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_kb(self) -> int:
        """The process's peak resident set size so far (VmHWM)."""
        with open(f"/proc/{self._process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    @property
    def exit_code(self) -> int | None:
        return self._process.poll() if self._process else None

    # -- invoking -------------------------------------------------------
    def invoke(self, payload, timeout_s: float | None = None) -> Invocation:
        """One invocation with a deadline `timeout_s` from now (the function's timeout by default)."""
        timeout_s = timeout_s or self.timeout_s
        request_id = str(uuid.uuid4())
        results: queue.Queue = queue.Queue()
        self._results[request_id] = results
        deadline_ms = int((time.time() + timeout_s) * 1000)
        started = time.monotonic()
        self._pending.put((request_id, deadline_ms, json.dumps(payload).encode()))
        # Like Lambda, wait past the deadline only long enough to see the process is stuck.
        while True:
            try:
                ok, body = results.get(timeout=0.05)
                return Invocation(ok, body, time.monotonic() - started)
            except queue.Empty:
                pass
            if self.exit_code is not None:
                return Invocation(False, {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"exit code {self.exit_code}: " + "\n".join(self.logs[-20:]),
                }, time.monotonic() - started)
            if self._init_error is not None:
                return Invocation(False, self._init_error, time.monotonic() - started)
            if time.monotonic() - started > timeout_s + 5:
                return Invocation(False, {"errorType": "Sandbox.Timedout", "errorMessage": "timed out"},
                                  time.monotonic() - started)

    def wait_ready(self, timeout_s: float = 30) -> float:
        """Waits for the first `next` request; returns the init time in seconds."""
        end = time.monotonic() + timeout_s
        while self.init_seconds is None:
            if self.exit_code is not None or time.monotonic() > end:
                raise RuntimeError(f"{self.name} did not start: " + "\n".join(self.logs[-20:]))
            time.sleep(0.002)
        return self.init_seconds


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The function process went away mid-request (it was stopped): not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    function: LambdaFunction
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        fn = self.function
        if self.path != f"{API}/invocation/next":
            return self._reply(404, {"errorMessage": "not found"})
        if fn.init_seconds is None:
            fn.init_seconds = time.monotonic() - fn._started_at
        while not fn._stopping.is_set():
            try:
                request_id, deadline_ms, payload = fn._pending.get(timeout=0.1)
            except queue.Empty:
                continue
            self._reply(200, payload, {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": fn.arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
            })
            return

    def do_POST(self):
        fn = self.function
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = self.path.split("/")
        parsed = json.loads(body) if body else None
        if self.path == f"{API}/init/error":
            fn._init_error = parsed
        elif len(parts) == 6 and parts[5] in ("response", "error") and parts[4] in fn._results:
            fn._results.pop(parts[4]).put((parts[5] == "response", parsed))
        else:
            return self._reply(404, {"errorMessage": f"unknown path {self.path}"})
        self._reply(202, {"status": "OK"})

    def _reply(self, status: int, payload, headers: dict | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n"
        self.wfile.write(head.encode() + body)
        self.wfile.flush()

    def log_message(self, *args):
        pass
