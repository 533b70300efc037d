"""Malformed and hostile requests get a 4xx on every database, never a 500.

SQLite stores almost anything; PostgreSQL refuses a NUL in text, a number past its column's range and a string
past its column's length, and every such refusal used to surface as a 500. These are the cases an API fuzzer
(schemathesis, against the OpenAPI document) found on PostgreSQL, kept as regression tests on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.launcher import ServerProcess, write_config
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

B = "/api/branches/SZ-FUTIAN"
NUL_TOKEN = "abcdefghijklmnop%00qrstuvwx"
HUGE = str(2**63 - 1)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app, _socketio = create_app(demo_config(database_url, tmp_path), clock=FakeClock(), publisher=RecordingPublisher())
    yield app
    app.extensions["hall"].uow.engine.dispose()
    app.extensions["hall"].uow.read_engine.dispose()


@pytest.fixture
def manager(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert client.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    return client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", f"/api/tickets/{NUL_TOKEN}", None),
        ("post", f"/api/tickets/{NUL_TOKEN}/cancel", None),
        ("post", f"/api/tickets/{NUL_TOKEN}/reactivate", None),
        ("get", f"/api/tickets/{NUL_TOKEN}/rating", None),
        ("post", f"/api/tickets/{NUL_TOKEN}/rating", {"score": 3}),
        ("post", f"/api/tickets/{NUL_TOKEN}/print", {"kiosk": "K1"}),
        ("get", f"/t/{NUL_TOKEN}", None),
        ("get", f"/t/{NUL_TOKEN}/qr.svg", None),
        ("get", f"/api/tickets/{'x' * 300}", None),
        ("get", f"{B}/announcements/{HUGE}", None),
        ("get", f"{B}/events?after={HUGE}", None),
        ("post", f"{B}/tickets/{HUGE}/start", {}),
        ("post", f"{B}/counters/2/call", {"ticket_id": 2**63 - 1}),
        ("post", f"{B}/counters/2/rating", {"ticket_id": 2**63 - 1, "score": 3}),
        ("post", f"{B}/follow-ups/{HUGE}/resolve", {"note": "called back"}),
        ("patch", f"{B}/media/{HUGE}", {"title": "x"}),
        ("patch", f"{B}/notices/{HUGE}", {"enabled": False}),
        ("post", f"{B}/notices", {"text": {"zh-CN": "通知\x00", "en": "notice"}}),
        ("post", f"{B}/counters/2/pause", {"reason": "\x00"}),
    ],
)
def test_hostile_request_is_answered_not_a_crash(manager: FlaskClient, method: str, path: str, body: Any) -> None:
    r = getattr(manager, method)(path, json=body) if body is not None else getattr(manager, method)(path)
    assert r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    if path.startswith("/api/") and r.status_code >= 400:
        assert r.get_json()["error"] and r.get_json()["message"]
    if "%00" in path:
        assert r.status_code == 404


def test_a_device_id_too_long_for_the_event_log_is_400(manager: FlaskClient) -> None:
    r = manager.post(f"{B}/tickets", json={"service": "BILL"}, headers={"X-Device-Id": "k" * 65})
    assert (r.status_code, r.get_json()["error"]) == (400, "bad_device_id")


def test_a_customer_joining_with_a_malformed_token_is_refused(app: Flask) -> None:
    socketio = app.extensions["hall_socketio"]
    client = socketio.test_client(app)
    answer = client.emit("join", {"role": "ticket", "branch": "SZ-FUTIAN", "token": "abc\x00defghijklmnopqrs"},
                         callback=True)
    assert answer == {"ok": False, "error": "unknown_ticket", "message": "no such ticket"}
    client.disconnect()


@pytest.mark.parametrize("depth", [33, 200, 5_000, 30_000])
def test_a_deeply_nested_body_is_400_with_the_reason(manager: FlaskClient, depth: int) -> None:
    """Nesting past the parser's recursion limit used to escape as a 500; any body deeper than the limit is
    refused before validation, whatever the field."""
    body = '{"service": ' + "[" * depth + "]" * depth + "}"
    r = manager.post(f"{B}/tickets", data=body, content_type="application/json")
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"] == "bad_request"
    assert "32 levels deep" in r.get_json()["message"]


def test_a_body_nested_within_the_limit_is_validated_as_usual(manager: FlaskClient) -> None:
    body = '{"service": ' + "[" * 31 + "]" * 31 + "}"
    r = manager.post(f"{B}/tickets", data=body, content_type="application/json")
    assert (r.status_code, r.get_json()["error"]) == (422, "invalid_request")


# --- a chunked body, through the real server (eventlet decodes the chunks) -------------------------------------

@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("chunked")
    with ServerProcess(write_config(directory, f"sqlite:///{directory / 'hall.sqlite3'}")) as process:
        yield process.url


def _chunks(body: bytes, size: int = 5) -> Iterator[bytes]:
    """A body sent as ``Transfer-Encoding: chunked`` (requests does so for a generator)."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_a_chunked_body_is_read_so_a_stale_version_is_refused(real_server: str) -> None:
    """A chunked body used to be read as empty, so the command ran without the version its sender saw."""
    staff = requests.Session()
    assert staff.post(f"{real_server}/api/session",
                      json={"username": "zhang.wei", "password": "demo-staff"}).status_code == 200
    assert staff.post(f"{real_server}{B}/counters/1/sign-in", json={"takeover": True}).ok
    requests.post(f"{real_server}{B}/tickets", json={"service": "BILL"}).raise_for_status()
    called = staff.post(f"{real_server}{B}/counters/1/call-next").json()["ticket"]
    stale = json.dumps({"version": called["version"] - 1}).encode()
    r = staff.post(f"{real_server}{B}/tickets/{called['id']}/start", data=_chunks(stale),
                   headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]) == (409, "stale"), r.text
    current = json.dumps({"version": called["version"]}).encode()
    r = staff.post(f"{real_server}{B}/tickets/{called['id']}/start", data=_chunks(current),
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text


def test_a_chunked_body_is_held_to_the_size_cap(real_server: str) -> None:
    body = json.dumps({"service": "BILL", "language": "x" * 70_000}).encode()
    r = requests.post(f"{real_server}{B}/tickets", data=_chunks(body, 8192),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "request_entity_too_large"


def test_a_chunked_issue_is_read_whole(real_server: str) -> None:
    body = json.dumps({"service": "PLAN", "channel": "mobile"}).encode()
    r = requests.post(f"{real_server}{B}/tickets", data=_chunks(body), headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["service"] == "PLAN"
