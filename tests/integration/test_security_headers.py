"""Every answer carries the security headers: a Content-Security-Policy without inline script, no framing by
other sites (the displays only by configured origins), nosniff, no referrer, no powerful browser features.

The browser side (no page breaks the policy, in either language) is tests/browser/test_content_security_policy.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.config import ConfigError
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
PAGES = [f"/kiosk/{BRANCH}", f"/display/{BRANCH}", f"/display/{BRANCH}/counter/1", f"/staff/{BRANCH}",
         f"/staff/{BRANCH}/counter/1", f"/pad/{BRANCH}/1", f"/manager/{BRANCH}", f"/manager/{BRANCH}/displays", "/"]
DISPLAYS = {f"/display/{BRANCH}", f"/display/{BRANCH}/counter/1"}


def _app(tmp_path: Path, **server: Any) -> Flask:
    def more(data: dict[str, Any]) -> None:
        data["server"].update(server)

    app, _socketio = create_app(demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=more),
                                clock=FakeClock(), publisher=RecordingPublisher())
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = _app(tmp_path)
    yield app
    app.extensions["hall"].uow.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _policy(header: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";")) if part}


def assert_secured(headers: Any, *, framed_by: str = "'none'") -> None:
    policy = _policy(headers["Content-Security-Policy"])
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no CDN
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == framed_by
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]


def _ticket(client: FlaskClient) -> str:
    answer = client.post(f"/api/branches/{BRANCH}/tickets", json={"service": "BILL"})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["token"]


def test_every_kind_of_answer_carries_the_headers(client: FlaskClient) -> None:
    token = _ticket(client)
    answers = {path: client.get(path) for path in [
        *PAGES, f"/t/{token}", f"/t/{token}/qr.svg", "/t/no-such-ticket-token-here", f"/api/branches/{BRANCH}/snapshot",
        "/api/openapi.json", "/static/hall/live.js", "/kiosk/static/kiosk.js", "/api/nothing-here", "/nothing-here",
        "/healthz", "/socket.io/?EIO=4&transport=polling"]}
    answers["POST refused"] = client.post(f"/api/branches/{BRANCH}/tickets", json={"service": "NOPE"})
    for path, answer in answers.items():
        assert_secured(answer.headers, framed_by="'none'")
        assert answer.status_code < 500, (path, answer.status_code)


def test_pages_hand_their_data_to_their_scripts_without_inline_script(client: FlaskClient) -> None:
    """The policy forbids inline script: a page's start-up data is a JSON block the browser never runs, and no
    element has an inline event handler or style attribute."""
    token = _ticket(client)
    for path in [*PAGES, f"/t/{token}", f"/staff/{BRANCH}/counter/1"]:
        html = client.get(path).get_data(as_text=True)
        for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert "src=" in attributes or 'type="application/json"' in attributes, (path, attributes, body[:80])
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path
        assert not re.search(r"<[^>]+\sstyle=", html), path
        assert "<style" not in html, path
        # nothing from another host (a CDN); the JSON handed to the scripts is data (an address a manager is told of)
        markup = re.sub(r'<script type="application/json"[^>]*>.*?</script>', "", html, flags=re.S)
        outside = re.sub(r'xmlns="http://www\.w3\.org/[^"]*"', "", markup).replace("http://localhost", "")
        assert "http://" not in outside and "https://" not in outside, path


def test_displays_may_be_framed_only_by_the_configured_origins(tmp_path: Path) -> None:
    app = _app(tmp_path, display_frame_ancestors=["https://signage.example", "http://10.0.0.5:8080"])
    client = app.test_client()
    for path in PAGES:
        expected = "https://signage.example http://10.0.0.5:8080" if path in DISPLAYS else "'none'"
        assert_secured(client.get(path).headers, framed_by=expected)
    app.extensions["hall"].uow.engine.dispose()


@pytest.mark.parametrize("value", [["*"], ["'self'"], ["https://signage.example/player"], ["signage.example"],
                                   ["javascript:alert(1)"], ["https://a.example; script-src *"], [42],
                                   ["https://a.example:99999"], "https://a.example"])
def test_a_frame_ancestor_that_is_not_an_origin_is_refused_naming_the_key(tmp_path: Path, value: Any) -> None:
    with pytest.raises(ConfigError, match=r"server\.display_frame_ancestors"):
        _app(tmp_path, display_frame_ancestors=value)


PREVIEWS = [f"/kiosk/{BRANCH}?preview=1", f"/display/{BRANCH}?preview=1"]


def _signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    assert client.post("/api/session", json={"username": username, "password": password}).status_code == 200
    return client


def test_a_managers_preview_may_be_framed_by_the_halls_own_pages_and_by_nothing_else(app: Flask) -> None:
    """The back office's displays page frames the kiosk and the wall as ``?preview=1``: only that answer, and only
    for the branch's managers (and admins), lets 'self' frame it; the kiosk a customer touches stays unframeable."""
    for username, password in (("manager", "demo-manager"), ("admin", "demo-admin")):
        manager = _signed_in(app, username, password)
        for path in PREVIEWS:
            answer = manager.get(path)
            assert answer.status_code == 200, (username, path)
            assert_secured(answer.headers, framed_by="'self'")
        for path in (f"/kiosk/{BRANCH}", f"/display/{BRANCH}", f"/kiosk/{BRANCH}?preview=0", f"/manager/{BRANCH}",
                     f"/manager/{BRANCH}/displays", f"/staff/{BRANCH}", f"/display/{BRANCH}/counter/1?preview=1"):
            assert_secured(manager.get(path).headers, framed_by="'none'")

    staff = _signed_in(app, "zhang.wei", "demo-staff")
    for client, status in ((app.test_client(), 401), (staff, 403)):
        for path in PREVIEWS:
            answer = client.get(path)
            assert answer.status_code == status, path
            assert_secured(answer.headers, framed_by="'none'")
            assert "kiosk-config" not in answer.get_data(as_text=True)


def test_a_displays_preview_keeps_the_configured_framing_origins(tmp_path: Path) -> None:
    app = _app(tmp_path, display_frame_ancestors=["https://signage.example"])
    manager = _signed_in(app, "manager", "demo-manager")
    assert_secured(manager.get(f"/display/{BRANCH}?preview=1").headers, framed_by="'self' https://signage.example")
    assert_secured(manager.get(f"/display/{BRANCH}").headers, framed_by="https://signage.example")
    assert_secured(manager.get(f"/kiosk/{BRANCH}?preview=1").headers, framed_by="'self'")
    app.extensions["hall"].uow.engine.dispose()
