"""The tickets' QR codes and ``[server] public_url``: an address no phone can open is warned about at start-up and
shown to the managers with the fix; the demo on 127.0.0.1 still starts."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.app import create_app
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"


def make_app(tmp_path: Path, **server: Any) -> Flask:
    def more(data: dict[str, Any]) -> None:
        data["server"].update(server)

    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=more)
    app, _ = create_app(config, clock=FakeClock(), publisher=RecordingPublisher())
    return app


def manager_page_problem(app: Flask) -> Any:
    html = app.test_client().get(f"/manager/{BRANCH}").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="manager-config">(.*?)</script>', html, re.S)
    assert found, "no manager-config"
    return json.loads(found.group(1))["public_address"]


def test_a_loopback_public_url_is_told_to_the_managers_with_the_fix(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(tmp_path, public_url="http://127.0.0.1:8080")
    problem = manager_page_problem(app)
    assert problem["url"] == "http://127.0.0.1:8080" and problem["reason"] == "loopback"
    assert "public_url" in problem["text"]["en"] and "public_url" in problem["text"]["zh-CN"]
    with caplog.at_level(logging.WARNING):
        line = app.extensions["public_address"].warn_at_start(8080)
    assert line and "!!!" in line and "http://127.0.0.1:8080" in caplog.text


def test_a_hall_network_public_url_is_fine(tmp_path: Path) -> None:
    app = make_app(tmp_path, public_url="http://192.168.1.10:8080", host="0.0.0.0")
    assert manager_page_problem(app) is None
    assert app.extensions["public_address"].warn_at_start(8080) is None


def test_without_public_url_a_qr_made_for_a_loopback_host_is_noticed(tmp_path: Path) -> None:
    app = make_app(tmp_path, public_url="", host="0.0.0.0")
    assert manager_page_problem(app) is None  # all interfaces: the kiosks' host decides
    client = app.test_client()
    token = client.post(f"/api/branches/{BRANCH}/tickets", json={"service": "BILL"}).get_json()["token"]
    assert client.get(f"/t/{token}/qr.svg", base_url="http://192.168.1.10:8080").status_code == 200
    assert manager_page_problem(app) is None
    assert client.get(f"/t/{token}/qr.svg", base_url="http://127.0.0.1:8080").status_code == 200
    assert manager_page_problem(app)["url"] == "http://127.0.0.1:8080"
    assert client.get(f"/t/{token}/qr.svg", base_url="http://192.168.1.10:8080").status_code == 200
    assert manager_page_problem(app) is None  # the kiosks now use the hall network's address
