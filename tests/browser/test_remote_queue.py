"""The virtual queue end to end in headless Chromium: a customer takes a ticket on a phone (390x844) before arriving;
the counter's call-next passes it over (a walk-in who came later is called) and the phone says "you have reached the
front: check in within N minutes"; the customer scans the wall display's arrival QR (1920x1080: its URL, read from the
same code the QR carries), the phone checks the ticket in, and the next call-next calls it. An old or wrong code is
refused with the reason in the customer's language. Another customer checks in at the portrait kiosk (1080x1920) by
the phone number. Screenshots (test-artifacts/screenshots/vqueue-*.png), in Chinese and English."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.kiosk_helpers import confirmed_token
from tests.browser.test_staff_console import open_console

pytestmark = pytest.mark.browser
TIMEOUT = 10_000


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def kiosk(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", has_touch=True)
    yield context.new_page()
    context.close()


def staff_post(server: HallServer, session: requests.Session, path: str) -> dict[str, Any]:
    response = session.post(f"{server.api}/branches/{BRANCH}/{path}", json={}, timeout=5)
    assert response.ok, response.text
    return response.json()


def arrival_url(page: Any) -> str:
    """What the wall's QR encodes: the check-in page with the code of this time window (the QR is drawn from it)."""
    qr = page.locator("#arrival-qr")
    expect(qr).to_be_visible(timeout=TIMEOUT)
    page.wait_for_function("() => document.getElementById('arrival-qr').naturalWidth > 0", timeout=TIMEOUT)
    src = qr.get_attribute("src")
    assert src and src.startswith(f"/arrive/{BRANCH}/qr.svg")
    code = requests.get(f"{page.url.split('/display')[0]}/api/branches/{BRANCH}/arrival", timeout=5).json()["code"]
    return f"/arrive/{BRANCH}?c={code}"


def test_a_remote_ticket_is_held_until_it_checks_in_by_the_walls_qr(hall_server: HallServer, phone: Any,
                                                                    page: Any) -> None:
    phone.goto(f"{hall_server.url}/join/{BRANCH}")
    expect(phone.locator(".service-choice")).to_have_count(2)  # the demo's PLAN and BROADBAND allow it
    screenshot(phone, "vqueue-join-zh")
    phone.locator(".lang[data-lang='en']").tap()
    expect(phone.locator("#join-title")).to_have_text("Join the queue now, check in when you arrive")
    phone.locator("input[name='service'][value='PLAN']").check()
    phone.locator("#phone-input").fill("138 1234 5678")
    phone.locator("#join-send").tap()
    expect(phone.locator("#join-error")).to_contain_text("Please tick the box")  # no consent: the server's reason
    phone.locator("#consent").check()
    expect(phone.locator("#join-error")).to_be_hidden()  # the refusal goes once the box is ticked
    screenshot(phone, "vqueue-join-en")
    phone.locator("#join-send").tap()
    phone.wait_for_url("**/t/**", timeout=TIMEOUT)
    expect(phone.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    token = urlparse(phone.url).path.rsplit("/", 1)[-1]
    banner = phone.locator("#banner")
    expect(banner).to_have_attribute("data-kind", "away")
    expect(phone.locator("#banner-title")).to_have_text("Not yet in the hall")
    screenshot(phone, "vqueue-phone-away-en")
    phone.locator(".lang[data-lang='zh-CN']").tap()
    expect(phone.locator("#banner-title")).to_have_text("还未到厅")
    screenshot(phone, "vqueue-phone-away-zh")
    phone.locator(".lang[data-lang='en']").tap()

    walk_in = hall_server.issue("PLAN")  # came after the remote customer, but is in the hall
    staff = hall_server.sign_in("3")
    called = hall_server.call_next(staff, "3")["ticket"]
    assert called["id"] == walk_in["id"]  # the remote ticket does not block the queue
    expect(banner).to_have_attribute("data-kind", "held", timeout=TIMEOUT)  # pushed live
    expect(phone.locator("#banner-text")).to_contain_text("Check in within 20 min")
    screenshot(phone, "vqueue-phone-held-en")
    phone.locator(".lang[data-lang='zh-CN']").tap()
    expect(phone.locator("#banner-title")).to_have_text("已排到您，请尽快签到")
    screenshot(phone, "vqueue-phone-held-zh")

    page.goto(f"{hall_server.url}/display/{BRANCH}?arrival=on&lang=en")
    url = arrival_url(page)
    expect(page.locator("#arrival-title")).to_have_text("Took a ticket on your phone?")
    screenshot(page, "vqueue-wall-arrival-en")
    page.goto(f"{hall_server.url}/display/{BRANCH}?arrival=on&lang=zh-CN")
    expect(page.locator("#arrival-title")).to_have_text("手机取号的顾客")
    page.wait_for_function("() => document.getElementById('arrival-qr').naturalWidth > 0", timeout=TIMEOUT)
    screenshot(page, "vqueue-wall-arrival-zh")

    phone.goto(f"{hall_server.url}/arrive/{BRANCH}?c=WRONGCODE2")  # a stale photo of the QR, say
    expect(phone.locator("#arrive-step")).to_have_attribute("data-kind", "refused", timeout=TIMEOUT)
    expect(phone.locator("#arrive-text")).to_contain_text("签到码已过期或无效")
    screenshot(phone, "vqueue-phone-bad-code-zh")
    phone.locator(".lang[data-lang='en']").tap()
    expect(phone.locator("#arrive-text")).to_contain_text("This check-in code is old or wrong")

    assert parse_qs(urlparse(url).query)["c"]
    phone.goto(f"{hall_server.url}{url}&lang=zh-CN")
    expect(phone.locator("#arrive-step")).to_have_attribute("data-kind", "ok", timeout=TIMEOUT)
    expect(phone.locator("#arrive-title")).to_have_text("签到成功")
    screenshot(phone, "vqueue-phone-checked-in-zh")
    phone.locator(".lang[data-lang='en']").tap()
    expect(phone.locator("#arrive-title")).to_have_text("You are checked in")
    screenshot(phone, "vqueue-phone-checked-in-en")
    phone.goto(f"{hall_server.url}{phone.locator('#arrive-link').get_attribute('href')}")
    expect(phone.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    expect(banner).to_have_attribute("data-kind", "next")  # it kept its place: first in line
    screenshot(phone, "vqueue-phone-after-check-in-en")

    staff_post(hall_server, staff, f"tickets/{walk_in['id']}/start")
    nxt = staff_post(hall_server, staff, "counters/3/finish-and-call-next")["ticket"]
    assert nxt is not None and nxt["remote"]  # held aside meanwhile: called next once checked in
    mine = requests.get(f"{hall_server.api}/tickets/{token}", timeout=5).json()
    assert mine["state"] == "called" and nxt["id"] == mine["id"]
    assert not phone.js_errors and not page.js_errors


def test_a_remote_ticket_checks_in_at_the_kiosk_by_phone_number(hall_server: HallServer, kiosk: Any) -> None:
    joined = requests.post(f"{hall_server.api}/remote/{BRANCH}/tickets", timeout=5, json={
        "service": "BROADBAND", "phone": "139 0000 2222", "consent": True, "language": "zh-CN"})
    assert joined.status_code == 201, joined.text
    kiosk.goto(f"{hall_server.url}/kiosk/{BRANCH}?lang=zh-CN")
    expect(kiosk.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    kiosk.locator("#open-checkin").tap()
    expect(kiosk.locator("#screen-checkin")).to_be_visible()
    kiosk.locator(".checkin-mode[data-mode='phone']").tap()
    for digit in "13900002222":
        kiosk.locator(f".keypad .key[data-key='{digit}']").tap()
    screenshot(kiosk, "vqueue-kiosk-phone-zh")
    kiosk.locator(".checkin-go").tap()
    confirmed_token(kiosk)
    expect(kiosk.locator("#confirm-checkin")).to_have_text("手机取号已签到，请留意叫号屏")
    screenshot(kiosk, "vqueue-kiosk-checked-in-zh")
    kiosk.locator(".lang[data-lang='en']").tap()
    expect(kiosk.locator("#confirm-checkin")).to_have_text("Ticket from your phone checked in: watch the screen")
    screenshot(kiosk, "vqueue-kiosk-checked-in-en")
    mine = requests.get(f"{hall_server.api}/tickets/{joined.json()['token']}", timeout=5).json()
    assert not mine["awaiting_arrival"]


def test_staff_see_remote_tickets_not_arrived_check_one_in_and_an_unchecked_one_expires(
        hall_server: HallServer, browser: Any, phone: Any, tmp_path: Path) -> None:
    """On the tablet (1280x800) the console marks the remote tickets not arrived and offers Check in; one passed over
    by a call and not checked in within its time expires, and its phone says so."""
    away = [requests.post(f"{hall_server.api}/remote/{BRANCH}/tickets", timeout=5, json={
        "service": "PLAN", "phone": number, "consent": True, "language": "en"}).json()
        for number in ("139 0000 1111", "139 0000 3333")]
    hall_server.issue("PLAN")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", has_touch=True)
    try:
        console = open_console(context, hall_server, "zhang.wei", "3", query="&lang=en")
        rows = console.locator("#waiting-list .ticket-row")
        expect(rows).to_have_count(3, timeout=TIMEOUT)
        expect(console.locator("#waiting-list .tag.away")).to_have_count(2)
        expect(console.locator(f"[data-check-in='{away[0]['id']}']")).to_have_text("Check in")
        console.locator("#call-next").click()
        expect(console.locator("#waiting-list .tag.away").first).to_contain_text("At the front · check-in by",
                                                                                 timeout=TIMEOUT)
        screenshot(console, "vqueue-console-en")
        console.locator(f"[data-check-in='{away[1]['id']}']").click()
        expect(console.locator("#waiting-list .tag.away")).to_have_count(1, timeout=TIMEOUT)
        expect(console.locator(f"[data-call='{away[1]['id']}']")).to_be_visible()
        console.locator("#language-button").click()
        expect(console.locator("#waiting-list .tag.away")).to_contain_text("已排到")
        screenshot(console, "vqueue-console-zh")
    finally:
        context.close()

    phone.goto(f"{hall_server.url}/t/{away[0]['token']}")
    expect(phone.locator("#banner")).to_have_attribute("data-kind", "held", timeout=TIMEOUT)
    # its check-in time ran out: the live loop expires it within a second (held_since moved back rather than waiting)
    with sqlite3.connect(tmp_path / "hall.sqlite3") as connection:
        connection.execute("UPDATE ticket SET held_since = ? WHERE id = ?",
                           ((datetime.now(UTC) - timedelta(minutes=21)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                            away[0]["id"]))
    expect(phone.locator("#phone")).to_have_attribute("data-state", "expired", timeout=TIMEOUT)
    expect(phone.locator("#state-line")).to_have_text("Not checked in in time: this ticket has expired")
    screenshot(phone, "vqueue-phone-expired-en")  # the language the ticket was taken in
    phone.locator(".lang[data-lang='zh-CN']").tap()
    expect(phone.locator("#state-line")).to_have_text("未在规定时间内到厅签到，此号票已失效")
    screenshot(phone, "vqueue-phone-expired-zh")
