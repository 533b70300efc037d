"""The real server (eventlet, one thread) on PostgreSQL: a command waiting for a row lock that another client holds
holds up no one else (the driver's waits are green), and one that waits too long is refused quickly with a reason
instead of hanging."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests

from server.launcher import ServerProcess, write_config
from tests.support import IN_CI, fresh_postgres_database

B = "/api/branches/SZ-FUTIAN"
pytestmark = pytest.mark.slow


@pytest.fixture
def database(postgres_base_url: str | None) -> str:
    if postgres_base_url is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test the server on it")
        pytest.skip("PostgreSQL is not installed")
    return fresh_postgres_database(postgres_base_url)


def test_a_command_waiting_for_a_locked_branch_holds_up_no_one_and_is_refused_in_time(
        tmp_path: Path, database: str) -> None:
    with ServerProcess(write_config(tmp_path, database)) as server:
        token = requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=10).json()["token"]
        other = psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://"))
        other.execute("SELECT seq FROM branch_sequence WHERE branch_code = 'SZ-FUTIAN' FOR UPDATE")
        answers: list[tuple[int, str, float]] = []

        def issue() -> None:
            began = time.monotonic()
            answer = requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=60)
            answers.append((answer.status_code, answer.json().get("error", ""), time.monotonic() - began))

        try:
            commands = [threading.Thread(target=issue) for _ in range(2)]
            for command in commands:
                command.start()
            time.sleep(0.5)  # both wait for the branch's row lock now
            reads = []
            for path in (f"{B}/snapshot", f"/api/tickets/{token}", "/healthz", "/static/hall/live.js"):
                began = time.monotonic()
                answer = requests.get(server.url + path, timeout=10)
                reads.append((path, answer.status_code, time.monotonic() - began))
            for command in commands:
                command.join(30)
        finally:
            other.rollback()
            other.close()
        assert all(status == 200 and took < 0.5 for _, status, took in reads), reads  # the event loop ran on
        assert [(status, error) for status, error, _ in answers] == [(503, "database_busy")] * 2, answers
        assert max(took for _, _, took in answers) < 7, answers  # one waits behind the other, each up to 2 s
        assert requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=10).status_code == 201
