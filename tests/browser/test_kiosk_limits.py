"""The kiosk when a limit on taking tickets is met: a bilingual explanation, never a silent retry."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from server.launcher import ServerProcess, limits_section, write_config
from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.kiosk_helpers import open_kiosk

pytestmark = pytest.mark.browser
SHOTS = Path("/work/shots/limits")


def limited_hall(tmp_path: Path, **limits: Any) -> ServerProcess:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}", limits=None)
    config.write_text(limits_section(config.read_text(encoding="utf-8"), {"refusal_delay_s": 0, **limits}),
                      encoding="utf-8")
    return ServerProcess(config)


def take(page: Any, code: str) -> None:
    page.locator(f'#home-tiles .tile[data-service="{code}"]').click()


def keep(page: Any, name: str) -> None:
    """A test artifact, and a copy for people to look at when the shots folder exists."""
    path = screenshot(page, name)
    if SHOTS.parent.exists():
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


@pytest.fixture
def portrait(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


def refusal_after_one(page: Any, server: HallServer, retake: Callable[[], None]) -> None:
    open_kiosk(page, server)
    take(page, "BILL")
    expect(page.locator("#screen-confirm")).to_be_visible(timeout=15_000)
    page.wait_for_timeout(900)  # the Done button ignores taps in its first 0.8 s
    page.click("#screen-confirm .primary")
    expect(page.locator("#screen-home")).to_be_visible()
    retake()


def test_a_kiosk_past_its_rate_says_so_in_both_languages(tmp_path: Path, portrait: Any) -> None:
    with limited_hall(tmp_path, kiosk_tickets="1/hour") as process:
        server = HallServer(process)
        page = portrait
        refusal_after_one(page, server, lambda: take(page, "BILL"))
        expect(page.locator("#screen-refused")).to_be_visible(timeout=10_000)
        expect(page.locator("#refused-title")).to_have_text("请稍后再取号")
        expect(page.locator("#refused-text")).to_contain_text(
            re.compile(r"本机刚刚发出了很多号票，请 (59|60) 分钟后再试"))
        keep(page, "kiosk-limit-rate-zh")
        page.click('.lang[data-lang="en"]')
        expect(page.locator("#refused-title")).to_have_text("Please wait before taking another ticket")
        expect(page.locator("#refused-text")).to_contain_text(re.compile(r"try again in (59|60) minutes"))
        keep(page, "kiosk-limit-rate-en")
        page.click("#screen-refused .primary")
        expect(page.locator("#screen-home")).to_be_visible()
        assert not page.js_errors


def test_a_kiosk_id_outside_the_kiosk_network_meets_the_open_ticket_limit(tmp_path: Path, portrait: Any) -> None:
    """A browser claiming to be K1 from an address where no kiosk may be is held to a phone's limits."""
    with limited_hall(tmp_path, kiosk_networks=["192.0.2.0/24"], device_open_tickets=1) as process:
        server = HallServer(process)
        page = portrait
        refusal_after_one(page, server, lambda: take(page, "BILL"))
        expect(page.locator("#screen-refused")).to_be_visible(timeout=10_000)
        expect(page.locator("#refused-text")).to_contain_text("这里取的 1 张号票还在等候中")
        keep(page, "kiosk-limit-open-zh")
        page.click('.lang[data-lang="en"]')
        expect(page.locator("#refused-text")).to_contain_text("1 ticket taken here is still waiting")
        keep(page, "kiosk-limit-open-en")
        snapshot = requests.get(f"{server.api}/branches/{BRANCH}/snapshot").json()
        assert snapshot["waiting_total"] == 1  # refused, not retried behind the customer's back
        assert not page.js_errors
