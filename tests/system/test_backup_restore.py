"""Backups restored for real (docs/deploy.md#backups-and-restore): a hall serves tickets, ``deploy/hall-backup.sh``
backs it up while the server runs, the backup is restored into a fresh database, and a server started on it has
every acknowledged ticket in its acknowledged state, the same hall set-up, and numbers that carry on.

PostgreSQL: ``pg_dump --format=custom``, then ``createdb`` and ``pg_restore`` as the document says. SQLite: the
online backup API while the server runs (and writes), the copy started as the database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from server.launcher import ROOT, ServerProcess, write_config
from tests.support import IN_CI, _pg_bin, fresh_postgres_database
from tests.system.clients import BRANCH, staff_session

pytestmark = pytest.mark.slow

BACKUP_SCRIPT = ROOT / "deploy" / "hall-backup.sh"
B = f"/api/branches/{BRANCH}"


def run_the_hall(url: str) -> dict[str, str]:
    """Tickets of two services issued, some served to the end, one a no-show, the rest waiting or called: the
    acknowledged state of each, by its token."""
    staff = staff_session(url, "li.na")
    assert staff.post(f"{url}{B}/counters/2/sign-in", json={}).ok
    tokens: dict[int, str] = {}
    for n in range(12):
        service = "BILL" if n % 3 else "PLAN"
        answer = requests.post(f"{url}{B}/tickets", json={"service": service},
                               headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=10)
        assert answer.status_code == 201, answer.text
        tokens[answer.json()["id"]] = answer.json()["token"]
    for step in range(5):
        called = staff.post(f"{url}{B}/counters/2/call-next", timeout=10).json()["ticket"]
        actions = ["no-show"] if step == 3 else ["start", "finish"] if step < 4 else []
        for action in actions:
            assert staff.post(f"{url}{B}/tickets/{called['id']}/{action}", json={}, timeout=10).ok, action
    states = {}
    for token in tokens.values():
        states[token] = requests.get(f"{url}/api/tickets/{token}", timeout=10).json()["state"]
    assert {"done", "no_show", "called", "waiting"} <= set(states.values()), states
    return states


def last_numbers(url: str, tokens: list[str]) -> dict[str, int]:
    """The highest number issued per prefix (A… BILL, B… PLAN) among these tickets."""
    highest: dict[str, int] = {}
    for token in tokens:
        number = requests.get(f"{url}/api/tickets/{token}", timeout=10).json()["number"]
        highest[number[0]] = max(highest.get(number[0], 0), int(number[1:]))
    return highest


def export_hall(config: Path, tmp_path: Path, name: str) -> str:
    """The database's hall set-up as ``python -m server hall export`` writes it."""
    out = tmp_path / name
    done = subprocess.run([sys.executable, "-m", "server", "hall", "--config", str(config), "export", "-o", str(out)],
                          cwd=ROOT, env=_without_database_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8")


def _without_database_env(**more: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "HALL_DATABASE_URL"}
    return {**environment, **more}


def backup(database_url: str, directory: Path) -> Path:
    """``deploy/hall-backup.sh DIRECTORY`` with the database in ``HALL_DATABASE_URL``, as the systemd unit runs it."""
    done = subprocess.run([str(BACKUP_SCRIPT), str(directory)], env=_without_database_env(
        HALL_DATABASE_URL=database_url), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    written = Path(done.stdout.split()[0])
    assert written.parent == directory and written.exists() and not written.name.endswith(".part")
    return written


def check_restored(url: str, acknowledged: dict[str, str], before: dict[str, int]) -> None:
    lost, wrong = [], []
    for token, state in acknowledged.items():
        answer = requests.get(f"{url}/api/tickets/{token}", timeout=10)
        if answer.status_code == 404:
            lost.append(token)
        elif answer.json()["state"] != state:
            wrong.append((token, state, answer.json()["state"]))
    assert not lost and not wrong, (lost, wrong)
    for service, prefix in (("BILL", "A"), ("PLAN", "B")):
        answer = requests.post(f"{url}{B}/tickets", json={"service": service}, timeout=10)
        assert answer.status_code == 201, answer.text
        assert answer.json()["number"][0] == prefix
        assert int(answer.json()["number"][1:]) == before[prefix] + 1, "numbering carries on from the backup"


def test_a_postgresql_backup_restored_into_a_fresh_database_serves_the_same_hall(
        tmp_path: Path, postgres_base_url: str | None) -> None:
    if postgres_base_url is None or shutil.which("pg_dump") is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test the backups on it")
        pytest.skip("PostgreSQL is not installed")
    source_url = fresh_postgres_database(postgres_base_url)
    (tmp_path / "source").mkdir()
    config = write_config(tmp_path / "source", source_url)
    with ServerProcess(config) as server:
        acknowledged = run_the_hall(server.url)
        numbers = last_numbers(server.url, list(acknowledged))
        dump = backup(source_url, tmp_path / "backups")  # the server keeps running
        assert dump.suffix == ".dump"
        hall_before = export_hall(config, tmp_path, "before.toml")

    # the document's restore: a new database, then pg_restore of the custom-format dump into it
    socket_dir = source_url.split("host=", 1)[1]
    bin_dir = _pg_bin()
    assert bin_dir is not None
    name = "hall_restored_" + uuid.uuid4().hex[:8]
    subprocess.run([str(bin_dir / "createdb"), "-h", socket_dir, "-U", "hall", name], check=True, timeout=60)
    restored = subprocess.run([str(bin_dir / "pg_restore"), "--exit-on-error", "--no-owner", "-h", socket_dir,
                               "-U", "hall", "-d", name, str(dump)], capture_output=True, text=True, timeout=300)
    assert restored.returncode == 0, restored.stderr
    restored_url = source_url.replace(source_url.split("/")[3].split("?")[0], name)
    assert name in restored_url

    (tmp_path / "restored").mkdir()
    config = write_config(tmp_path / "restored", restored_url)
    with ServerProcess(config) as server:
        check_restored(server.url, acknowledged, numbers)
        assert export_hall(config, tmp_path, "after.toml") == hall_before


def test_an_online_sqlite_backup_taken_while_the_server_writes_starts_as_the_database(tmp_path: Path) -> None:
    database = tmp_path / "live" / "hall.sqlite3"
    database.parent.mkdir()
    config = write_config(database.parent, f"sqlite:///{database}")
    stop = threading.Event()
    extra: list[Any] = []

    def keep_issuing() -> None:  # the server writes while the backup reads: the copy is one consistent moment
        session = requests.Session()
        while not stop.is_set():
            answer = session.post(f"{server.url}{B}/tickets", json={"service": "SIM"}, timeout=10)
            extra.append(answer.status_code)

    with ServerProcess(config) as server:
        acknowledged = run_the_hall(server.url)
        numbers = last_numbers(server.url, list(acknowledged))
        writer = threading.Thread(target=keep_issuing)
        writer.start()
        try:
            copy = backup(f"sqlite:///{database}", tmp_path / "backups")
        finally:
            stop.set()
            writer.join(30)
        assert extra and set(extra) == {201}, "the server served throughout the backup"
        hall_before = export_hall(config, tmp_path, "before.toml")
    assert copy.suffix == ".sqlite3"

    # restore: the copy becomes the database file of a fresh installation
    restored = tmp_path / "restored" / "hall.sqlite3"
    restored.parent.mkdir()
    shutil.copy(copy, restored)
    config = write_config(restored.parent, f"sqlite:///{restored}")
    with ServerProcess(config) as server:
        check_restored(server.url, acknowledged, numbers)
        assert export_hall(config, tmp_path, "after.toml") == hall_before


def test_the_backup_script_refuses_a_database_it_cannot_back_up(tmp_path: Path) -> None:
    done = subprocess.run([str(BACKUP_SCRIPT), str(tmp_path)], env=_without_database_env(
        HALL_DATABASE_URL="sqlite:///relative/hall.sqlite3"), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "sqlite:////absolute/path" in done.stderr
    assert not list(tmp_path.iterdir())
