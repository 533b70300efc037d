"""The migrations step of a zero-downtime upgrade (docs/deploy.md#zero-downtime-upgrades), on a real PostgreSQL.

* ``python -m server migrate`` brings a database that the previous releases left (schema 0017) to this release's
  while a server process keeps serving: every ticket issued meanwhile is acknowledged, none waits long. The
  additive migrations (a table, columns with defaults) are what the document allows while old processes run.
* Processes migrating together on a fresh database (systemd starting every ``hall@`` unit) queue on an advisory
  lock instead of failing on each other's ``CREATE TABLE``.
* A migration that cannot take its table's lock (a long transaction holds it) gives up after the lock timeout
  with the reason, instead of making the hall's commands queue behind it; run again, it succeeds.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from alembic import command
from alembic.script import ScriptDirectory

from server.launcher import ROOT, ServerProcess, write_config
from server.persistence.database import alembic_config, migrate
from tests.support import IN_CI, fresh_postgres_database
from tests.system.clients import BRANCH

pytestmark = pytest.mark.slow

PREVIOUS = "0017"  # before the migrations of 0018 on, all additive
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@pytest.fixture
def postgres(postgres_base_url: str | None) -> str:
    if postgres_base_url is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test upgrades on it")
        pytest.skip("PostgreSQL is not installed")
    return postgres_base_url


def run_migrate(config: Path) -> subprocess.Popen[str]:
    environment = {key: value for key, value in os.environ.items() if key != "HALL_DATABASE_URL"}
    return subprocess.Popen([sys.executable, "-m", "server", "migrate", "--config", str(config)], cwd=ROOT,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def revision(database_url: str) -> str:
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        assert row is not None
        return str(row[0])


def test_migrations_run_while_a_server_process_keeps_serving(tmp_path: Path, postgres: str) -> None:
    """``python -m server migrate`` takes a database from an older release's schema to this one while a process keeps
    answering: the load balancer's health check and the hall's public reads never wait on the migration. (This
    release's commands need this release's columns, so it is not asked to issue on the older schema: the upgrade
    runs the migrations first, then restarts the processes on the new code; old code beside new migrations is
    tests/system/test_rolling_upgrade.py, with the previous release's code from git.)"""
    database_url = fresh_postgres_database(postgres)
    config = write_config(tmp_path, database_url)
    with ServerProcess(config) as server:
        command.downgrade(alembic_config(database_url), PREVIOUS)  # the database as the last release left it
        assert revision(database_url) == PREVIOUS
        answers: list[tuple[int, float]] = []
        stop = threading.Event()

        def keep_asking() -> None:
            session = requests.Session()
            paths = ("/healthz", "/api/branches", f"/api/branches/{BRANCH}/kiosks")
            while not stop.is_set():
                started = time.perf_counter()
                status = session.get(f"{server.url}{paths[len(answers) % len(paths)]}", timeout=10).status_code
                answers.append((status, time.perf_counter() - started))

        kiosk = threading.Thread(target=keep_asking)
        kiosk.start()
        try:
            time.sleep(0.3)
            migrating = run_migrate(config)
            out, err = migrating.communicate(timeout=120)
            time.sleep(0.3)
        finally:
            stop.set()
            kiosk.join(30)
        assert migrating.returncode == 0, err
        assert out.startswith(f"schema at revision {HEAD} ")
        assert revision(database_url) == HEAD
        assert len(answers) > 20
        assert {status for status, _ in answers} == {200}, "every request during the migration was answered"
        assert max(seconds for _, seconds in answers) < 2.0
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200


def _migrate_in_child(database_url: str, results: Any) -> None:
    try:
        migrate(database_url)
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {str(exc)[:300]}")


def test_processes_started_together_on_a_fresh_database_all_migrate(postgres: str) -> None:
    # forked children reach the first migration within milliseconds of each other (without the lock one of two
    # failed every time); subprocesses of `python -m server` spread out over their imports
    context = multiprocessing.get_context("fork")
    for _ in range(2):
        database_url = fresh_postgres_database(postgres)
        results = context.Queue()
        children = [context.Process(target=_migrate_in_child, args=(database_url, results)) for _ in range(3)]
        for child in children:
            child.start()
        for child in children:
            child.join(120)
        assert [results.get(timeout=5) for _ in children] == ["ok"] * 3
        assert revision(database_url) == HEAD


def test_a_migration_waiting_for_a_held_table_gives_up_and_succeeds_when_run_again(
        tmp_path: Path, postgres: str) -> None:
    database_url = fresh_postgres_database(postgres)
    config = write_config(tmp_path, database_url)
    command.upgrade(alembic_config(database_url), PREVIOUS)
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as reader:
        reader.execute("LOCK TABLE report_figure IN ACCESS SHARE MODE")  # a long report query, say
        started = time.monotonic()
        migrating = run_migrate(config)
        _, err = migrating.communicate(timeout=120)
        assert migrating.returncode == 3
        assert "database error" in err and "due to lock timeout" in err, err[-500:]
        assert time.monotonic() - started < 30
        assert revision(database_url) == PREVIOUS, "nothing of the failed run was kept"
    again = run_migrate(config)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert revision(database_url) == HEAD
