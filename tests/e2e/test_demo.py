"""The README's first command: the demo runs to the end, in order, and stays short."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_shows_each_part_in_order_in_under_150_lines():
    run = subprocess.run([sys.executable, "-m", "local.demo"], cwd=ROOT, capture_output=True, text=True,
                         timeout=900, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) < 150, len(lines)
    order = ["== 1. The email", "== SYNCED STACKS ==", "network-prod - BLOCKED", "== DENIED CONSUMERS ==",
             "billing-release - DENIED", "Cause:    the service prefix rename", 'Fix:      add to the role {"Effect":"Allow","Action":["codeconnections:UseConnection"]',
             "== 1b. The chat message", "(the service prefix rename)", "== 2. What machines receive", "EventBridge: 8 events",
             '"detail-type": "Git Sync Alert"',
             "== 3. The lifecycle", "1 connection and 1 host resolved", "(the same as its new event)",
             "== 4. A dry run", "published 0", "== 5. A configuration error", "ALERT_STATUSES=\"PENDING,NOT-A-STATUS\"",
             "== 6. The connection resource", "Create: SUCCESS", "Delete: SUCCESS", "== Summary"]
    at = [run.stdout.find(marker) for marker in order]
    assert -1 not in at, [m for m, i in zip(order, at) if i == -1]
    assert at == sorted(at), "in the order the README describes"
    assert run.stdout.count("ERROR configuration:") == 1, "the configuration error is printed once"
