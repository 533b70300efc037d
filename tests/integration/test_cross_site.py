"""Another site's page (another port of the same host included) cannot act with the staff cookie (CSRF).

Browsers say where a request comes from (``Sec-Fetch-Site``, and ``Origin`` on every cross-origin POST and
websocket); a state-changing request or a socket handshake from another origin is refused, while the hall's own
pages, and programs that send neither header, go on as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

B = "/api/branches/SZ-FUTIAN"
OWN = "http://localhost"  # the test client's host


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app, _socketio = create_app(demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path), clock=FakeClock(),
                                publisher=RecordingPublisher())
    yield app
    app.extensions["hall"].uow.engine.dispose()


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert client.post("/api/session", json={"username": "zhang.wei", "password": "demo-staff"},
                       headers={"Origin": OWN, "Sec-Fetch-Site": "same-origin"}).status_code == 200
    return client


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://localhost:8081"},  # another port of the same host: same site, not same origin
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:8081"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_commands_from_another_sites_page_are_refused_and_change_nothing(staff: FlaskClient,
                                                                        headers: dict[str, str]) -> None:
    # an empty form POST, as a hostile page would send: refused before the view runs
    response = staff.post(f"{B}/counters/2/sign-in", data="", content_type="application/x-www-form-urlencoded",
                          headers=headers)
    assert (response.status_code, response.get_json()["error"]) == (403, "cross_site_request")
    assert staff.post(f"{B}/tickets", json={"service": "BILL"}, headers=headers).status_code == 403
    assert staff.get(f"{B}/snapshot?view=staff").get_json()["counters"][1]["status"] == "closed"
    assert staff.get(f"{B}/snapshot").get_json()["waiting_total"] == 0
    # reads are not state changes: a page elsewhere may still show the public hall
    assert staff.get(f"{B}/snapshot", headers=headers).status_code == 200


@pytest.mark.parametrize("headers", [
    {"Origin": OWN, "Sec-Fetch-Site": "same-origin"},  # the hall's own page
    {"Origin": OWN},  # an older browser without fetch metadata
    {"Sec-Fetch-Site": "none"},  # typed into the address bar
    {},  # a program: the kiosk's own script, an integration
])
def test_the_halls_own_pages_and_programs_are_let_through(staff: FlaskClient, headers: dict[str, str]) -> None:
    assert staff.post(f"{B}/counters/2/sign-in", json={}, headers=headers).status_code == 200


def test_the_configured_public_address_counts_as_our_own(tmp_path: Path) -> None:
    def public(data: dict) -> None:
        data["server"]["public_url"] = "https://hall.example.com/"

    app, _ = create_app(demo_config(f"sqlite:///{tmp_path / 'h.sqlite3'}", tmp_path, more=public),
                        clock=FakeClock(), publisher=RecordingPublisher())
    client = app.test_client()
    assert client.post(f"{B}/tickets", json={"service": "BILL"},
                       headers={"Origin": "https://hall.example.com"}).status_code == 201
    assert client.post(f"{B}/tickets", json={"service": "BILL"},
                       headers={"Origin": "https://hall.example.com.evil.example"}).status_code == 403
    app.extensions["hall"].uow.engine.dispose()
