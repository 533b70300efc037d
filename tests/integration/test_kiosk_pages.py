"""The kiosk and mobile ticket routes through Flask's test client: page settings, privacy headers, QR codes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
import qrcode.constants
from flask import Flask
from flask.testing import FlaskClient

from kiosk.pages import qr_svg
from server.app import create_app
from server.config import load_config
from tests.conftest import RecordingPublisher
from tests.support import DEMO_CONFIG, FakeClock, open_all_day

BRANCH = "SZ-FUTIAN"


@pytest.fixture
def make_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FlaskClient]]:
    """A test client on the demo hall (open all day), with ``tweak`` applied to the raw config."""
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)
    apps: list[Flask] = []

    def make(tweak: Callable[[dict[str, Any]], None] | None = None) -> FlaskClient:
        def overrides(data: dict[str, Any]) -> None:
            data["server"]["database_url"] = f"sqlite:///{tmp_path / f'hall{len(apps)}.sqlite3'}"
            data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
            open_all_day(data)
            if tweak is not None:
                tweak(data)

        app, _socketio = create_app(load_config(DEMO_CONFIG, overrides=overrides), clock=FakeClock(),
                                    publisher=RecordingPublisher())
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        hall = app.extensions["hall"]
        hall.uow.engine.dispose()
        hall.uow.read_engine.dispose()


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client()


def page_config(html: str, element_id: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


def take_ticket(client: FlaskClient, service: str = "BILL") -> dict[str, Any]:
    response = client.post(f"/api/branches/{BRANCH}/tickets", json={"service": service})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules of one of our QR SVGs, read back from its path's horizontal runs."""
    dark: set[tuple[int, int]] = set()
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", svg):
        dark |= {(int(x) + i, int(y)) for i in range(int(width))}
    return dark


# --- the kiosk page ---------------------------------------------------------------------------------


def test_the_kiosk_page_carries_its_kiosk_settings_and_the_overflow_notice(client: FlaskClient) -> None:
    response = client.get(f"/kiosk/{BRANCH}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    settings = page_config(html, "kiosk-config")
    assert settings["branch"] == BRANCH and settings["language"] == "zh-CN"
    assert settings["kiosk"]["id"] == "K1" and settings["kiosk"]["printer"] == "browser"  # the first kiosk
    assert settings["kiosk"]["confirmation_s"] == 20 and settings["kiosk"]["idle_reset_s"] == 60
    assert settings["overflow"]["wait_min"] == 60 and set(settings["overflow"]["notice"]) == {"zh-CN", "en"}
    assert "printer_host" not in json.dumps(settings)
    assert "user-scalable=no" in html  # no zoom accidents on the touchscreen
    assert "cdn" not in html.lower() and "https://" not in html  # nothing from the internet

    other = page_config(client.get(f"/kiosk/{BRANCH}?kiosk=K2&lang=en").get_data(as_text=True), "kiosk-config")
    assert other["kiosk"]["id"] == "K2" and other["kiosk"]["printer"] == "none" and other["language"] == "en"
    assert client.get(f"/kiosk/{BRANCH}?kiosk=K9").status_code == 404
    assert client.get("/kiosk/NOWHERE").status_code == 404


def test_a_branch_without_kiosks_gets_a_screen_only_kiosk(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client(lambda data: data["branches"][0].pop("kiosks"))
    settings = page_config(client.get(f"/kiosk/{BRANCH}").get_data(as_text=True), "kiosk-config")
    assert settings["kiosk"]["printer"] == "none" and settings["kiosk"]["confirmation_s"] == 20


def test_the_kiosk_is_listed_on_the_start_page(client: FlaskClient) -> None:
    assert f'href="/kiosk/{BRANCH}"' in client.get("/").get_data(as_text=True)


# --- the mobile ticket page --------------------------------------------------------------------------


def test_the_ticket_page_shows_that_ticket_privately(client: FlaskClient) -> None:
    other = take_ticket(client)
    mine = take_ticket(client, "PLAN")
    response = client.get(f"/t/{mine['token']}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]
    html = response.get_data(as_text=True)
    settings = page_config(html, "ticket-config")
    assert settings["token"] == mine["token"] and settings["branch"] == BRANCH
    assert settings["ticket"]["number"] == "B001" and settings["ticket"]["state"] == "waiting"
    assert settings["counters"]["2"] == {"zh-CN": "2号窗口", "en": "Counter 2"}
    assert other["number"] not in html and other["token"] not in html
    assert "user-scalable=no" not in html  # a phone page may be zoomed


def test_an_unknown_ticket_link_is_a_plain_404(client: FlaskClient) -> None:
    take_ticket(client)
    response = client.get("/t/not-a-real-token")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "找不到这张号票" in html and "Ticket not found" in html and "A001" not in html
    assert client.get("/t/not-a-real-token/qr.svg").status_code == 404


# --- the QR code ------------------------------------------------------------------------------------


def test_the_qr_code_opens_the_ticket_page_on_the_request_host(client: FlaskClient) -> None:
    mine = take_ticket(client)
    response = client.get(f"/t/{mine['token']}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True) == qr_svg(f"http://localhost/t/{mine['token']}")


def test_the_qr_code_uses_the_configured_public_url(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client(lambda data: data["server"].update(public_url="http://192.168.1.10:8080"))
    mine = take_ticket(client)
    svg = client.get(f"/t/{mine['token']}/qr.svg").get_data(as_text=True)
    assert svg == qr_svg(f"http://192.168.1.10:8080/t/{mine['token']}")


def test_qr_svg_draws_exactly_the_modules_of_the_code() -> None:
    url = "http://192.168.1.10:8080/t/AbCdEfGhIjKlMnOpQrStUvWx"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    expected = {(x, y) for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark}
    svg = qr_svg(url)
    assert modules(svg) == expected
    assert f'viewBox="0 0 {len(matrix)} {len(matrix)}"' in svg
