"""The issue benchmark runs end to end against its own server and reports what it measured (not how fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_benchmark(*arguments: str) -> dict:
    finished = subprocess.run([sys.executable, "benchmarks/issue_throughput.py", *arguments], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_open_loop_run_issues_the_offered_tickets_and_calls_them() -> None:
    result = run_benchmark("--seconds", "1.5", "--clients", "4", "--rate", "40")
    assert result["failures"] == 0
    assert result["tickets"] == 60  # 40 per second for 1.5 s, every one answered 201
    assert result["offered_per_s"] == 40
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["calls"] > 0 and result["calls_per_s"] > 0
    assert result["server_cpu_ms_per_ticket"] > 0
    assert result["reference_loop_ms"] > 0
    assert 0 <= result["cpu_steal_pct"] <= 100
    assert result["database"] == "1 process, SQLite (WAL, synchronous=FULL)"
    assert result["processes"] == 1


def test_two_processes_on_postgresql_and_redis_share_the_clients() -> None:
    """The scaled-out set-up, started by the benchmark itself: the kiosks and the staff are spread over both
    processes, and every offered ticket is answered; with a display on each, both take in the relay's messages, one
    per command (an event's three rooms in one message), counted on the set-up's Redis."""
    result = run_benchmark("--system", "postgres-redis-2", "--seconds", "1.5", "--clients", "4", "--rate", "40",
                           "--displays", "1")
    assert result["processes"] == 2
    assert result["system"] == "postgres-redis-2"
    assert result["failures"] == 0
    assert result["tickets"] == 60
    assert result["calls"] > 0
    assert result["server_cpu_ms_per_ticket"] > 0
    assert 1 <= result["redis_publishes_per_ticket"] < 3


def test_a_network_of_branches_spreads_the_kiosks_and_the_staff_over_them() -> None:
    """``--branches``: the demo branch and copies of it; tickets go to the branches in turn, and a member of staff
    per branch calls them (at least eight)."""
    result = run_benchmark("--branches", "12", "--seconds", "1.5", "--clients", "4", "--rate", "40")
    assert result["branches"] == 12
    assert result["failures"] == 0
    assert result["tickets"] == 60  # every copy takes tickets: a refusal (unknown branch, closed) would fail one
    assert result["call_staff"] == 12
    assert result["calls"] > 0
    cores = result["issue_cores"]
    assert cores["servers"] > 0 and cores["clients"] > 0 and cores["machine"] > 0


def test_compare_runs_the_chosen_set_ups_in_turn_as_often_as_asked() -> None:
    result = run_benchmark("--compare", "--systems", "sqlite", "--repeat", "2", "--seconds", "1", "--clients", "2",
                           "--rate", "20")
    assert [(r["system"], r["repetition"]) for r in result["systems"]] == [("sqlite", 1), ("sqlite", 2)]
    assert all(r["tickets"] == 20 and r["failures"] == 0 for r in result["systems"])
    assert result["two_vs_one_each"] == [] and result["two_vs_one_tickets"] is None  # no PostgreSQL pair to compare


def test_two_against_one_is_taken_pair_by_pair() -> None:
    from benchmarks.issue_throughput import two_against_one

    runs = [{"system": system, "repetition": n, "tickets_per_s": rate}
            for n, pair in enumerate([(50.0, 80.0), (40.0, 40.0), (0.0, 10.0)], start=1)
            for system, rate in zip(("postgres", "postgres-redis-2"), pair, strict=True)]
    assert two_against_one([{"system": "sqlite", "repetition": 1, "tickets_per_s": 300.0}, *runs]) == [1.6, 1.0]
