"""One benchmark measurement: a function's warm runs through the Lambda
Runtime API, with the CodeStar calls they made."""

from __future__ import annotations

import statistics

from local.runtime_api import LambdaFunction


def measure(command, name: str, env: dict, runs: int, standin, timeout_s: float = 120,
            tolerated: tuple[str, ...] = ()) -> dict:
    """Warm runs through the Runtime API; `standin` counts the CodeStar calls
    (the stand-in process's wrapper or the stand-in itself). A run that ends in
    one of the `tolerated` error types is measured too: its error document is
    the body."""
    with LambdaFunction(command, name, env, timeout_s=timeout_s) as fn:
        init_ms = fn.wait_ready() * 1000
        walls = []
        standin.take_calls()
        cpu_before = fn.cpu_seconds()
        for _ in range(runs):
            result = fn.invoke({})
            if not result.ok and result.error_type not in tolerated:
                raise RuntimeError(f"{name} failed: {result.body}")
            walls.append(result.seconds * 1000)
        cpu_ms = (fn.cpu_seconds() - cpu_before) / runs * 1000
        calls = sum(standin.take_calls().values()) / runs
        return {"init_ms": init_ms, "wall_ms": statistics.median(walls), "cpu_ms": cpu_ms,
                "rss_kb": fn.peak_rss_kb(), "calls": calls, "body": result.body}
