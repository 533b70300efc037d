"""When the database fails the hall answers quickly and says why: a command while another process holds SQLite's
write lock is refused with 503 ``database_busy`` within about a second (it used to wait 30 s and then fail with a
500), reads go on (WAL), and ``/healthz`` reports a locked or damaged database."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.persistence.database import (
    WRITE_LOCK_WAIT_S,
    DatabaseFileError,
    check_database_file,
    make_engine,
    make_readonly_engine,
    migrate,
)
from server.services.unit_of_work import DatabaseUnavailable, UnitOfWork
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

B = "/api/branches/SZ-FUTIAN"
ANSWER_WITHIN_S = WRITE_LOCK_WAIT_S + 1.0


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "hall.sqlite3"


@pytest.fixture
def app(database: Path, tmp_path: Path) -> Iterator[Flask]:
    app, _socketio = create_app(demo_config(f"sqlite:///{database}", tmp_path), clock=FakeClock(),
                                publisher=RecordingPublisher())
    yield app
    app.extensions["hall"].uow.engine.dispose()
    app.extensions["hall"].uow.read_engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def write_lock(database: Path) -> Iterator[sqlite3.Connection]:
    """Another process's connection holding the write lock (as a backup tool or a stray script would)."""
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def _timed(call: object) -> tuple[object, float]:
    started = time.monotonic()
    result = call()  # type: ignore[operator]
    return result, time.monotonic() - started


def test_a_command_under_a_held_write_lock_is_503_database_busy_within_seconds(
        client: FlaskClient, write_lock: sqlite3.Connection) -> None:
    answer, took = _timed(lambda: client.post(f"{B}/tickets", json={"service": "BILL"}))
    assert answer.status_code == 503, answer.get_json()  # type: ignore[attr-defined]
    body = answer.get_json()  # type: ignore[attr-defined]
    assert body["error"] == "database_busy"
    assert "try again" in body["message"] and "locked" in body["details"]["reason"]
    assert answer.headers["Retry-After"] == "2"  # type: ignore[attr-defined]
    assert WRITE_LOCK_WAIT_S * 0.9 <= took < ANSWER_WITHIN_S


def test_reads_go_on_while_the_write_lock_is_held(client: FlaskClient, write_lock: sqlite3.Connection) -> None:
    write_lock.execute("ROLLBACK")
    token = client.post(f"{B}/tickets", json={"service": "BILL"}).get_json()["token"]
    write_lock.execute("BEGIN IMMEDIATE")
    for path in (f"{B}/snapshot", f"/api/tickets/{token}", f"/t/{token}", "/kiosk/SZ-FUTIAN"):
        answer, took = _timed(lambda path=path: client.get(path))
        assert answer.status_code == 200, (path, answer.status_code)  # type: ignore[attr-defined]
        assert took < 0.5, (path, took)


def test_commands_queued_together_all_fail_within_seconds_not_one_after_another(
        app: Flask, write_lock: sqlite3.Connection) -> None:
    """Commands arriving while one waits for the lock fail with it, instead of each waiting its own second."""
    results: list[tuple[int, float]] = []

    def issue() -> None:
        answer, took = _timed(lambda: app.test_client().post(f"{B}/tickets", json={"service": "BILL"}))
        results.append((answer.status_code, took))  # type: ignore[attr-defined]

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [status for status, _ in results] == [503] * 6
    assert max(took for _, took in results) < 2 * ANSWER_WITHIN_S, results


def test_commands_work_again_once_the_lock_is_released(client: FlaskClient, write_lock: sqlite3.Connection) -> None:
    assert client.post(f"{B}/tickets", json={"service": "BILL"}).status_code == 503
    write_lock.execute("ROLLBACK")
    assert client.post(f"{B}/tickets", json={"service": "BILL"}).status_code == 201
    assert client.get("/healthz").status_code == 200


def test_healthz_reports_a_locked_database(client: FlaskClient, database: Path) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        answer, took = _timed(lambda: client.get("/healthz"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert answer.status_code == 503  # type: ignore[attr-defined]
    assert answer.get_json()["database"].startswith("locked: ")  # type: ignore[attr-defined]
    assert took < ANSWER_WITHIN_S


def _damage(database: Path, app: Flask) -> None:
    """Overwrite every page but the first (the schema) with garbage, as a failing disk might."""
    uow = app.extensions["hall"].uow
    uow.engine.dispose()
    uow.read_engine.dispose()
    plain = sqlite3.connect(database, isolation_level=None)
    plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    plain.close()
    page_size = 4096
    with database.open("r+b") as file:
        size = file.seek(0, 2)
        file.seek(page_size)
        file.write(b"\xa5" * (size - page_size))


def test_a_damaged_database_is_503_and_healthz_says_corrupt(app: Flask, client: FlaskClient, database: Path) -> None:
    token = client.post(f"{B}/tickets", json={"service": "BILL"}).get_json()["token"]
    _damage(database, app)
    for answer in (client.get(f"/api/tickets/{token}"), client.post(f"{B}/tickets", json={"service": "BILL"})):
        assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
        assert answer.get_json()["error"] == "database_unavailable"
        assert "damaged" in answer.get_json()["message"]
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["database"].startswith("corrupt: ")


def test_a_damaged_file_is_refused_before_start_up_naming_it(tmp_path: Path) -> None:
    not_a_database = tmp_path / "hall.sqlite3"
    not_a_database.write_bytes(b"these are not the pages you are looking for" * 100)
    with pytest.raises(DatabaseFileError, match=str(not_a_database)) as refused:
        check_database_file(f"sqlite:///{not_a_database}")
    assert "\n" not in str(refused.value)


def test_a_staff_request_on_a_damaged_database_is_503_not_500(app: Flask, client: FlaskClient,
                                                                database: Path) -> None:
    """The staff session is read on the driver cursor (no ORM session around it): the driver's own error still
    means 503 ``database_unavailable``, as on every other path."""
    assert client.post("/api/session", json={"username": "zhang.wei", "password": "demo-staff"}).status_code == 200
    assert client.post(f"{B}/counters/1/sign-in", json={}).status_code == 200
    _damage(database, app)
    answer = client.post(f"{B}/counters/1/call-next")
    assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["error"] == "database_unavailable"


@pytest.mark.parametrize(("error", "kind"), [
    (sqlite3.OperationalError("database is locked"), "busy"),
    (sqlite3.DatabaseError("database disk image is malformed"), "corrupt"),
])
def test_a_driver_error_in_a_read_on_the_cursor_is_database_unavailable(
        database: Path, tmp_path: Path, error: sqlite3.Error, kind: str) -> None:
    """Statements on the driver cursor raise the driver's own errors, which Core would have wrapped: the read
    they run in maps them the same way (a busy or damaged database is a 503, not a 500)."""
    url = f"sqlite:///{database}"
    migrate(url)
    uow = UnitOfWork(make_engine(url), make_readonly_engine(url))
    with pytest.raises(DatabaseUnavailable) as raised, uow.read_statements():
        raise error
    assert raised.value.kind == kind
    assert (uow.damage is not None) == (kind == "corrupt")
    with pytest.raises(sqlite3.OperationalError), uow.read_statements():  # anything else: as it is (a 500)
        raise sqlite3.OperationalError("no such table: nothing")
