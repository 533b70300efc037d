"""Appointment check-in end to end in headless Chromium: a customer books on a phone (390x844), arrives at the slot
and checks in at the portrait kiosk (1080x1920) by typing the code on its keypad; the counter's call-next calls that
ticket within the slot, ahead of a walk-in who came earlier. An early arrival is told from when it is called and is
not called before; a late one past the grace period (scanned: the scanner types the code and Enter) becomes a walk-in.

The server runs on the real clock, so "arriving at the slot" moves the booking's slot in the database rather than
waiting for it. Screenshots (test-artifacts/screenshots/checkin-*.png), in Chinese and English."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.kiosk_helpers import confirmed_token, open_kiosk

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                                  has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    yield context.new_page()
    context.close()


@pytest.fixture
def kiosk(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


def stored(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def move_slot(database: Path, code: str, minutes_from_now: float) -> datetime:
    """The booking's slot (30 minutes) starts ``minutes_from_now``: the customer arrives then, relative to it. The
    booking stays on today's date whatever the hour the test runs at (near midnight the slot may cross it)."""
    now = datetime.now(UTC)
    start = now + timedelta(minutes=minutes_from_now)
    day = (now + timedelta(hours=8)).date()  # Shanghai has no summer time
    with sqlite3.connect(database) as connection:
        changed = connection.execute(
            "UPDATE booking SET slot_start = ?, slot_end = ?, service_day = ? WHERE code = ?",
            (stored(start), stored(start + timedelta(minutes=30)), day.isoformat(), code.replace("-", ""))).rowcount
    assert changed == 1
    return start


def book_by_api(server: HallServer, phone: str) -> str:
    """Another customer's booking (tomorrow 10:00), made as the phone page makes it."""
    tomorrow = requests.get(f"{server.api}/booking/{BRANCH}/services", timeout=5).json()["days"][1]
    slots = requests.get(f"{server.api}/booking/{BRANCH}/services/PLAN/slots?day={tomorrow}", timeout=5).json()
    start = next(s["start"] for s in slots["slots"] if s["time"] == "10:00")
    made = requests.post(f"{server.api}/booking/{BRANCH}/bookings", timeout=5, json={
        "service": "PLAN", "start": start, "phone": phone, "consent": True, "language": "en"})
    assert made.status_code == 201, made.text
    return str(made.json()["code"])


def book_on_the_phone(page: Any, server: HallServer) -> str:
    page.goto(f"{server.url}/book")
    page.locator("#branches .choice").first.click()
    page.locator("[data-service='PLAN']").click()
    page.locator(".day").nth(1).click()
    page.locator(".slot[data-time='11:00']").click()
    page.locator("#phone").fill("13812345678")
    page.locator("#consent").check()
    page.locator("#book-it").click()
    expect(page.locator("#done-title")).to_have_text("预约成功")
    screenshot(page, "checkin-booked-phone-zh")
    return str(page.locator("#code").inner_text())


def open_checkin(page: Any, server: HallServer, language: str = "zh-CN") -> None:
    page.goto(f"{server.url}/kiosk/{BRANCH}?lang={language}")
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=10_000)
    page.locator("#open-checkin").tap()
    expect(page.locator("#screen-checkin")).to_be_visible()
    expect(page.locator(".keypad-code .key[data-key]")).to_have_count(31)


def type_code(page: Any, code: str) -> None:
    for ch in code.replace("-", ""):
        page.locator(f".keypad .key[data-key='{ch}']").tap()


def fits(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth > innerWidth || "
                             "document.querySelector('.screens').scrollHeight > "
                             "document.querySelector('.screens').clientHeight + 1")
    assert not overflow, "the check-in screen does not fit the portrait kiosk"


def test_book_on_the_phone_check_in_by_code_called_within_the_slot_late_becomes_walk_in(
        tmp_path: Path, hall_server: HallServer, phone: Any, kiosk: Any) -> None:
    database = tmp_path / "hall.sqlite3"
    code = book_on_the_phone(phone, hall_server)
    walk_in = hall_server.issue("PLAN")  # came earlier, without a booking
    slot = move_slot(database, code, -2)  # the customer arrives two minutes into the slot

    open_checkin(kiosk, hall_server)
    type_code(kiosk, code[:6])
    expect(kiosk.locator("#checkin-input")).to_have_value(code[:6])
    expect(kiosk.locator(".checkin-go")).to_be_disabled()  # a code is 8 characters
    type_code(kiosk, code[6:])
    expect(kiosk.locator("#checkin-input")).to_have_value(code)
    fits(kiosk)
    screenshot(kiosk, "checkin-kiosk-code-zh")
    kiosk.locator(".checkin-go").tap()
    token = confirmed_token(kiosk)
    expect(kiosk.locator("#confirm-checkin")).to_contain_text("预约号")
    screenshot(kiosk, "checkin-kiosk-ticket-zh")
    mine = requests.get(f"{hall_server.api}/tickets/{token}", timeout=5).json()

    counter = hall_server.sign_in("3")
    called = hall_server.call_next(counter, "3")["ticket"]
    assert called["number"] == mine["number"] != walk_in["number"]  # the appointment, ahead of the walk-in
    called_at = datetime.fromisoformat(called["called_at"])
    assert slot <= called_at <= slot + timedelta(minutes=30)  # within its slot

    # a second customer, 20 minutes late (past the 10-minute grace): the scanner types the code and Enter
    late = book_by_api(hall_server, "13900001111")
    move_slot(database, late, -20)
    open_checkin(kiosk, hall_server, "en")
    kiosk.locator("#checkin-input").focus()
    kiosk.keyboard.type(late.lower() + "\n")
    confirmed_token(kiosk)
    expect(kiosk.locator("#confirm-checkin")).to_have_text("Past your booking time: queued as a walk-in")
    screenshot(kiosk, "checkin-kiosk-walk-in-en")
    assert kiosk.js_errors == []


def test_early_arrival_is_told_when_it_is_called_and_a_too_early_one_when_to_come_back(
        tmp_path: Path, hall_server: HallServer, kiosk: Any, phone: Any) -> None:
    database = tmp_path / "hall.sqlite3"
    early = book_by_api(hall_server, "13900002222")
    starts = move_slot(database, early, 20)  # 20 minutes early: inside the 30-minute window
    too_early = book_by_api(hall_server, "13900003333")
    move_slot(database, too_early, 50)

    open_checkin(kiosk, hall_server, "en")
    type_code(kiosk, too_early)
    screenshot(kiosk, "checkin-kiosk-code-en")
    kiosk.locator(".checkin-go").tap()
    expect(kiosk.locator(".checkin-error")).to_contain_text("Too early to check in: please come back at")
    fits(kiosk)
    screenshot(kiosk, "checkin-kiosk-too-early-en")
    kiosk.locator(".lang[data-lang='zh-CN']").tap()
    kiosk.locator(".checkin-mode[data-mode='phone']").tap()
    expect(kiosk.locator(".keypad-phone .key[data-key]")).to_have_count(10)
    for digit in "13900002222":
        kiosk.locator(f".keypad .key[data-key='{digit}']").tap()
    fits(kiosk)
    screenshot(kiosk, "checkin-kiosk-phone-zh")
    kiosk.locator(".checkin-go").tap()
    token = confirmed_token(kiosk)
    local = (starts + timedelta(hours=8)).strftime("%H:%M")
    expect(kiosk.locator("#confirm-checkin")).to_contain_text(f"{local} 起叫号")
    screenshot(kiosk, "checkin-kiosk-early-zh")
    kiosk.locator(".lang[data-lang='en']").tap()
    expect(kiosk.locator("#confirm-checkin")).to_contain_text(f"called from {local}")
    screenshot(kiosk, "checkin-kiosk-early-en")

    counter = hall_server.sign_in("3")
    assert hall_server.call_next(counter, "3")["ticket"] is None  # held until its slot starts
    assert kiosk.js_errors == []

    # its phone page says from when it is called, not a wait shorter than that, and not "you're next"
    phone.goto(f"{hall_server.url}/t/{token}")
    expect(phone.locator("html")).to_have_attribute("data-live", "live", timeout=10_000)
    expect(phone.locator("#estimate")).to_have_text(f"{local} 起叫号")
    expect(phone.locator("#estimate-label")).to_have_text("您的预约")
    expect(phone.locator("#banner")).to_be_hidden()
    screenshot(phone, "checkin-phone-held-zh")
    phone.locator(".lang[data-lang='en']").tap()
    expect(phone.locator("#estimate")).to_have_text(f"Called from {local}")
    expect(phone.locator("#estimate-label")).to_have_text("Your appointment")
    screenshot(phone, "checkin-phone-held-en")

    # the kiosk's PLAN tile: a walk-in taking a ticket now is called before the slot, so the held appointment is not
    # one of its people ahead
    open_kiosk(kiosk, hall_server, "?lang=en")
    kiosk.locator(".screen.active .tile[data-category='MOBILE']").tap()
    plan = kiosk.locator(".screen.active .tile[data-service='PLAN']")
    expect(plan).to_contain_text("0 people ahead", timeout=10_000)
    screenshot(kiosk, "checkin-kiosk-tile-held-en")
    kiosk.locator(".lang[data-lang='zh-CN']").tap()
    expect(plan).to_contain_text("前面 0 人")
    screenshot(kiosk, "checkin-kiosk-tile-held-zh")
    assert kiosk.js_errors == []


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_staff_check_a_customer_in_from_the_bookings_page(tmp_path: Path, hall_server: HallServer, browser: Any,
                                                          language: str) -> None:
    """On the counter's tablet (1280x800): today's booking has a Check in button; the answer names the ticket;
    a booking past its slot and grace is counted as a no-show."""
    database = tmp_path / "hall.sqlite3"
    code = book_by_api(hall_server, "13900004444")
    move_slot(database, code, 5)
    missed = book_by_api(hall_server, "13900005555")
    move_slot(database, missed, -45)  # ended 15 minutes ago, grace 10: a no-show
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=language,
                                  timezone_id="Asia/Shanghai", has_touch=True)
    try:
        assert context.request.post(f"{hall_server.api}/session",
                                    data={"username": "zhang.wei", "password": "demo-staff"}).ok
        page = context.new_page()
        page.goto(f"{hall_server.url}/manager/{BRANCH}/bookings?lang={language}")
        row = page.locator(f"#list tr[data-code='{code}']")
        expect(row.locator("button.check-in")).to_be_visible(timeout=10_000)
        no_show = "未到（爽约）" if language == "zh-CN" else "No-show"
        expect(page.locator(f"#list tr[data-code='{missed}'] td.state")).to_have_text(no_show)
        expect(page.locator("#summary")).to_contain_text("爽约 1 个" if language == "zh-CN" else "1 no-show")
        row.locator("button.check-in").click()
        expect(page.locator("#checkin-done")).to_contain_text("B001")
        expect(row.locator("td.state")).to_have_text("已签到" if language == "zh-CN" else "Checked in")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        screenshot(page, f"checkin-bookings-tablet-{language}", full_page=True)
        # the check-in was not the customer's: staff take it back, the booking is open to check in again
        undo = row.locator("button.undo-check-in")
        expect(undo).to_have_text("撤销签到" if language == "zh-CN" else "Undo check-in")
        page.screenshot(path=f"/work/shots/bookmore/bookings-undo-tablet-{language}.png", full_page=True)
        page.once("dialog", lambda dialog: dialog.accept())
        undo.click()
        expect(page.locator("#checkin-done")).to_contain_text("撤销" if language == "zh-CN" else "undone")
        expect(row.locator("button.check-in")).to_be_visible()
        expect(row.locator("td.state")).to_have_text("已预约" if language == "zh-CN" else "Booked")
    finally:
        context.close()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_kiosk_says_why_after_too_many_phone_misses(tmp_path: Path, kiosk: Any, language: str) -> None:
    """A kiosk where numbers that found no booking were typed twice (the limit here) refuses check-in by number
    for a while, saying why and pointing to the code, in the kiosk's language."""
    from tests.browser.test_kiosk_limits import limited_hall

    with limited_hall(tmp_path, phone_checkin_misses="2 per 10 minutes") as process:
        server = HallServer(process)
        open_checkin(kiosk, server, language)
        kiosk.locator(".checkin-mode").nth(1).tap()
        for number in ("13700000001", "13700000002", "13700000003"):
            kiosk.locator("#checkin-input").fill("")
            for digit in number:
                kiosk.locator(f".keypad-phone .key[data-key='{digit}']").tap()
            kiosk.locator(".checkin-go").tap()
            expect(kiosk.locator(".checkin-error")).not_to_be_empty()
        expect(kiosk.locator(".checkin-error")).to_have_text(
            "在这台取号机上输入的手机号码多次没有找到可签到的预约。请改用预约码签到，或咨询大堂工作人员"
            if language == "zh-CN"
            else "Several phone numbers typed here found no booking to check in: please use your booking code, "
                 "or ask a member of staff")
        fits(kiosk)
        kiosk.screenshot(path=f"/work/shots/bookmore/kiosk-phone-misses-portrait-{language}.png")
        assert kiosk.js_errors == []
