"""Browser end-to-end fixtures: a real server process and Debian's Chromium driven by Playwright.

No browser is downloaded: Playwright launches the system Chromium (``/usr/bin/chromium``, or the path in
``HALL_CHROMIUM``). Without it the browser tests skip locally and fail in CI. Screenshots go to
``test-artifacts/screenshots/`` (not committed); look at them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from server.launcher import ServerProcess, write_config
from tests.support import IN_CI, ROOT

BRANCH = "SZ-FUTIAN"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]
pytestmark = pytest.mark.browser


def chromium_path() -> str | None:
    candidate = os.environ.get("HALL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if candidate and Path(candidate).exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        if IN_CI:
            pytest.fail("Chromium is not installed; CI must run the browser tests (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


class HallServer:
    """A running server with a fresh SQLite database, and API helpers for driving it like staff would."""

    def __init__(self, process: ServerProcess) -> None:
        self.process = process
        self.url = process.url
        self.api = process.url + "/api"

    def staff(self, username: str = "zhang.wei", password: str = "demo-staff") -> requests.Session:
        session = requests.Session()
        response = session.post(f"{self.api}/session", json={"username": username, "password": password})
        assert response.ok, response.text
        return session

    def sign_in(self, counter: str, username: str = "zhang.wei") -> requests.Session:
        session = self.staff(username)
        response = session.post(f"{self.api}/branches/{BRANCH}/counters/{counter}/sign-in", json={"takeover": True})
        assert response.ok, response.text
        return session

    def issue(self, service: str = "BILL", *, by: requests.Session | None = None, **body: Any) -> dict[str, Any]:
        """A ticket taken as a customer would, or (``by``, for VIP and appointment tickets) by staff."""
        response = (by or requests).post(f"{self.api}/branches/{BRANCH}/tickets", json={"service": service, **body})
        assert response.status_code == 201, response.text
        return response.json()

    def approve(self, code: str, kind: str, target: str | None, name: str | None = None) -> dict[str, Any]:
        """The manager pairs the device showing ``code`` for a role."""
        manager = self.staff("manager", "demo-manager")
        response = manager.post(f"{self.api}/branches/{BRANCH}/devices",
                                json={"code": code, "kind": kind, "target": target, "name": name})
        assert response.status_code == 201, response.text
        return response.json()

    def pair(self, context: Any, kind: str, target: str | None) -> dict[str, Any]:
        """Pair a browser context (its cookie jar is the device) for a role, as its pairing screen would."""
        asked = context.request.post(f"{self.api}/devices/pairing",
                                     data={"branch": BRANCH, "kind": kind, "target": target})
        assert asked.status == 201, asked.text()
        return self.approve(asked.json()["code"], kind, target)

    def call_next(self, session: requests.Session, counter: str) -> dict[str, Any]:
        response = session.post(f"{self.api}/branches/{BRANCH}/counters/{counter}/call-next")
        assert response.ok, response.text
        return response.json()


@pytest.fixture
def hall_server(tmp_path: Path) -> Iterator[HallServer]:
    """A fresh server per test (about 2 s to start), open all day."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    with ServerProcess(config) as process:
        yield HallServer(process)


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors  # tests may assert the page threw nothing
    return page


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot as a test artifact: test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
