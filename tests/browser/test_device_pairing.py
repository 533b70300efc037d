"""Trusted devices in headless Chromium against a real server: an unpaired rating pad shows its pairing code, a
manager pairs it on the manager page and the pad opens by itself and rates; a revoked pad loses its access and
shows a code again. Screenshots of the pairing screen (pad size) and the manager's device list, in both languages,
go to test-artifacts/screenshots/ (and to $HALL_SHOTS when set)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import BRANCH, HallServer, screenshot

pytestmark = pytest.mark.browser

PAD = {"width": 1280, "height": 800}
TABLET = {"width": 1280, "height": 800}
TIMEOUT = 10_000


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    path = screenshot(page, name, full_page=full_page)
    if os.environ.get("HALL_SHOTS"):
        Path(os.environ["HALL_SHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["HALL_SHOTS"]) / path.name)


@pytest.fixture
def contexts(browser: Any) -> Iterator[Any]:
    made: list[Any] = []

    def make(viewport: dict[str, int], locale: str = "zh-CN") -> Any:
        context = browser.new_context(viewport=viewport, locale=locale, timezone_id="Asia/Shanghai", has_touch=True)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def watched(page: Page) -> Page:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


def manager_page(context: Any, server: HallServer, language: str) -> Page:
    assert context.request.post(f"{server.api}/session",
                                data={"username": "manager", "password": "demo-manager"}).ok
    page = watched(context.new_page())
    page.goto(f"{server.url}/manager/{BRANCH}?lang={language}")
    expect(page.locator("#devices-card")).to_be_visible(timeout=TIMEOUT)
    return page


def finish_at_3(server: HallServer, staff: requests.Session) -> dict[str, Any]:
    ticket = server.issue("PLAN")
    called = server.call_next(staff, "3")["ticket"]
    api = f"{server.api}/branches/{BRANCH}/tickets/{called['id']}"
    assert staff.post(f"{api}/start", json={}).ok
    assert staff.post(f"{api}/finish", json={}).ok
    return ticket


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_manager_pairs_the_pad_on_the_manager_page_and_it_rates(
    hall_server: HallServer, contexts: Any, language: str, tmp_path: Path
) -> None:
    suffix = "zh" if language == "zh-CN" else "en"
    pad = watched(contexts(PAD, language).new_page())
    pad.goto(f"{hall_server.url}/pad/{BRANCH}/3?lang={language}")
    code = pad.locator("#pairing-code")
    expect(code).to_have_text(re.compile(r"^\d{3} \d{3}$"), timeout=TIMEOUT)
    expect(pad.locator("#pad")).to_have_count(0)  # no rating screens before pairing
    expect(pad.locator(".pairing-title")).to_have_text("设备配对" if language == "zh-CN" else "Pair this device")
    expect(pad.locator("#pairing-role")).to_contain_text("评价器" if language == "zh-CN" else "Rating pad")
    shot(pad, f"pad-pairing-{suffix}")
    shown = code.inner_text()

    manager = manager_page(contexts(TABLET, language), hall_server, language)
    manager.fill("#pair-form input[name=code]", shown)
    expect(manager.locator("#pair-asked")).to_contain_text("3", timeout=TIMEOUT)  # what the device asked to be
    assert manager.locator("#pair-form select[name=role]").input_value() == "pad:3"
    manager.fill("#pair-form input[name=name]", "门口 · by the door")
    manager.click("#pair-form button[type=submit]")
    row = manager.locator("#devices tbody tr.device")
    expect(row).to_have_count(1, timeout=TIMEOUT)
    expect(row.locator(".badge")).to_have_text("在线" if language == "zh-CN" else "Online")

    # the pad sees the approval by itself and opens the rating pad
    expect(pad.locator("#pad")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    staff = hall_server.sign_in("3", "li.na")
    ticket = finish_at_3(hall_server, staff)
    expect(pad.locator("#screen-ask")).to_be_visible(timeout=TIMEOUT)
    pad.click(".score[data-score='3']")
    pad.click("#send")
    expect(pad.locator("#screen-thanks")).to_be_visible(timeout=TIMEOUT)
    state = requests.get(f"{hall_server.api}/tickets/{ticket['token']}/rating").json()
    assert state["rated"] and state["rating"]["channel"] == "pad"

    # a second device, paired and then silent, for the list's picture: one online, one offline
    silent = hall_server.staff("manager", "demo-manager")
    asked = requests.post(f"{hall_server.api}/devices/pairing", json={"branch": BRANCH, "kind": "kiosk",
                                                                       "target": "K1"}).json()
    assert silent.post(f"{hall_server.api}/branches/{BRANCH}/devices",
                       json={"code": asked["code"], "kind": "kiosk", "target": "K1"}).status_code == 201
    # ...silent for 25 minutes: its last heartbeat moved back in the server's database (the hall_server's file)
    with sqlite3.connect(tmp_path / "hall.sqlite3") as database:
        database.execute("UPDATE device SET last_seen_at = datetime(last_seen_at, '-25 minutes') WHERE kind = 'kiosk'")
    manager.reload()
    expect(manager.locator("#devices tbody tr.device")).to_have_count(2, timeout=TIMEOUT)
    expect(manager.locator("#devices tbody tr.offline")).to_have_count(1)
    expect(manager.locator("#devices-offline")).to_be_visible()
    manager.locator("#devices-card").scroll_into_view_if_needed()
    shot(manager, f"manager-devices-{suffix}")
    manager.locator("#devices-card").screenshot(path=str(Path(screenshot(manager, f"manager-page-{suffix}")).parent
                                                         / f"manager-devices-card-{suffix}.png"))
    if os.environ.get("HALL_SHOTS"):
        shutil.copy(Path(screenshot(manager, f"manager-page-{suffix}")).parent / f"manager-devices-card-{suffix}.png",
                    Path(os.environ["HALL_SHOTS"]) / f"manager-devices-card-{suffix}.png")
    assert pad.js_errors == [] and manager.js_errors == []  # type: ignore[attr-defined]


def test_an_unpaired_pad_cannot_rate_and_a_revoked_pad_loses_access(hall_server: HallServer, contexts: Any) -> None:
    context = contexts(PAD)
    device = hall_server.pair(context, "pad", "3")
    pad = watched(context.new_page())
    pad.goto(f"{hall_server.url}/pad/{BRANCH}/3")
    expect(pad.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    stranger = requests.get(f"{hall_server.api}/branches/{BRANCH}/counters/3/rating")
    assert (stranger.status_code, stranger.json()["error"]) == (401, "device_not_paired")

    manager = hall_server.staff("manager", "demo-manager")
    revoked = manager.post(f"{hall_server.api}/branches/{BRANCH}/devices/{device['id']}/revoke")
    assert revoked.ok, revoked.text
    staff = hall_server.sign_in("3", "li.na")
    finish_at_3(hall_server, staff)
    # its next call (the prompt after the counter opened, or the rating) is refused as a revoked device: the page
    # reloads and shows a new pairing code instead of the rating screens
    expect(pad.locator("#pairing-code")).to_have_text(re.compile(r"^\d{3} \d{3}$"), timeout=TIMEOUT)
    expect(pad.locator("#pad")).to_have_count(0)
    follow_ups = manager.get(f"{hall_server.api}/branches/{BRANCH}/follow-ups").json()["follow_ups"]
    assert follow_ups == []  # no dissatisfied rating got through


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_kiosk_says_plainly_when_it_may_not_print_a_ticket_again(
    tmp_path: Path, browser: Any, language: str
) -> None:
    """A refusal of the print rules (here: "Print again" after the print window) reads as such, not as a broken
    printer, and offers no pointless retry."""
    from tests.browser.kiosk_helpers import confirmed_token, kiosk_k1, open_kiosk, running_hall, set_key
    from tests.integration.test_printing import closed_port

    def tweak(text: str) -> str:
        text = kiosk_k1(text, printer=f"escpos://127.0.0.1:{closed_port()}", print_timeout_s=1)
        return set_key(text, "print_window_min", "0.02")  # 1.2 s

    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale=language,
                                  timezone_id="Asia/Shanghai", has_touch=True)
    try:
        with running_hall(tmp_path, tweak) as server:
            page = watched(context.new_page())
            open_kiosk(page, server, f"?kiosk=K1&lang={language}")
            page.locator('.screen.active .tile[data-service="BILL"]').click()
            confirmed_token(page)
            status = page.locator("#print-status")
            expect(status).to_have_attribute("data-state", "failed", timeout=TIMEOUT)  # the printer is down
            page.wait_for_timeout(1500)
            page.click("#print-again")
            expect(status).to_have_attribute("data-state", "refused", timeout=TIMEOUT)
            expect(status).to_contain_text("不能在本机再次打印" if language == "zh-CN" else "cannot be printed again")
            expect(page.locator("#print-again")).to_be_hidden()
            shot(page, f"kiosk-print-refused-{'zh' if language == 'zh-CN' else 'en'}")
            assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        context.close()
