"""The push-latency benchmark runs end to end against the set-up it starts and reports what it measured (not how
fast): with two processes, calls made through one reach the displays connected to the other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_two_processes_push_every_call_to_every_display() -> None:
    finished = subprocess.run([sys.executable, "benchmarks/push_latency.py", "--system", "postgres-redis-2",
                               "--clients", "12", "--calls", "8", "--rate", "8", "--counters", "2"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["processes"] == 2
    assert result["connected"] == 12
    assert result["expected"] == 12 * 8
    assert result["delivered"] == result["expected"]  # the counters and displays are spread over both processes
    assert result["events_missed"] == 0
    assert result["disconnects"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
