"""The real server (eventlet, one thread) when its database fails: a command waiting for a write lock that another
process holds does not hold up anyone else, and a damaged database file stops start-up with one clear line."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from server.launcher import ROOT, ServerProcess, write_config

B = "/api/branches/SZ-FUTIAN"
pytestmark = pytest.mark.slow


def test_a_held_write_lock_refuses_commands_quickly_and_holds_up_no_one(tmp_path: Path) -> None:
    database = tmp_path / "hall.sqlite3"
    with ServerProcess(write_config(tmp_path, f"sqlite:///{database}")) as server:
        token = requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=10).json()["token"]
        other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        refused: list[tuple[int, str, float]] = []

        def issue() -> None:
            began = time.monotonic()
            answer = requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=60)
            refused.append((answer.status_code, answer.json()["error"], time.monotonic() - began))

        try:
            commands = [threading.Thread(target=issue) for _ in range(3)]
            for command in commands:
                command.start()
            time.sleep(0.2)  # the commands are waiting for the lock now
            reads = []
            for path in (f"{B}/snapshot", f"/api/tickets/{token}", "/static/hall/live.js"):
                began = time.monotonic()
                answer = requests.get(server.url + path, timeout=10)
                reads.append((path, answer.status_code, time.monotonic() - began))
            for command in commands:
                command.join(30)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert [(status, error) for status, error, _ in refused] == [(503, "database_busy")] * 3
        assert max(took for _, _, took in refused) < 2.5, refused
        assert all(status == 200 and took < 0.3 for _, status, took in reads), reads  # the event loop ran on
        assert requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=10).status_code == 201


@pytest.mark.parametrize("damage", ["not_a_database", "damaged_pages"])
def test_start_up_on_a_damaged_database_prints_one_line_naming_the_file(tmp_path: Path, damage: str) -> None:
    database = tmp_path / "hall.sqlite3"
    if damage == "not_a_database":
        database.write_bytes(b"\x00garbage\x01" * 5000)
    else:
        with ServerProcess(write_config(tmp_path, f"sqlite:///{database}")) as server:
            requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=10).raise_for_status()
        with database.open("r+b") as file:
            size = file.seek(0, 2)
            file.seek(4096)
            file.write(b"\xa5" * (size - 4096))
    config = write_config(tmp_path, f"sqlite:///{database}")
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "server", "--config", str(config), "--port", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"database error: {database}: ") and "damaged" in lines[0], lines
    assert "Traceback" not in done.stderr + done.stdout
    assert "READY" not in done.stdout
