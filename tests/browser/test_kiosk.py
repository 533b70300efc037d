"""The customer kiosk in headless Chromium against a real server process.

Screenshots (test-artifacts/screenshots/kiosk-*.png): home, category, priority lane, confirmation, the
"one moment" retry screen, the offline screen, refusals, the overflow notice, printing and portrait layout.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, SCREENSHOTS, HallServer, screenshot
from tests.browser.kiosk_helpers import (
    EN_WEEKDAYS,
    WEEKDAYS,
    ZH_WEEKDAYS,
    assert_language,
    assert_touch_targets,
    closed_hours_now,
    confirmed_token,
    exception,
    hall_now,
    kiosk_k1,
    open_kiosk,
    opening_soon,
    opens_at_minute,
    past_a_long_wait,
    running_hall,
    service_hours,
    set_key,
    ticket,
    waiting_total,
)
from tests.integration.test_printing import FakePrinter, closed_port

pytestmark = pytest.mark.browser
ISSUE_URL = f"**/api/branches/{BRANCH}/tickets"


def tile(page: Any, code: str) -> Any:
    return page.locator(f'.screen.active .tile[data-service="{code}"], .screen.active .tile[data-category="{code}"]')


# --- home, language, live counts --------------------------------------------------------------------


def test_home_shows_live_tiles_and_switches_every_text(hall_server: HallServer, page: Any) -> None:
    staff = hall_server.sign_in("2")
    hall_server.issue("BILL")
    hall_server.issue("BILL")
    hall_server.pair(page.context, "kiosk", "K1")  # a paired kiosk: it offers the priority lane
    open_kiosk(page, hall_server, "?kiosk=K1")

    bill = tile(page, "BILL")
    expect(bill).to_contain_text("缴费充值")
    expect(bill).to_contain_text("Bill payment & top-up")  # the other language underneath
    expect(bill).to_contain_text("前面 2 人")
    expect(bill).to_contain_text("分钟", timeout=5000)  # an estimate range once counter 2 is open
    mobile = tile(page, "MOBILE")
    expect(mobile).to_contain_text("号卡与套餐")
    expect(mobile).to_contain_text("2 项业务")
    expect(page.locator("#open-priority")).to_contain_text("爱心通道")
    expect(page.locator("#open-checkin")).to_contain_text("预约签到")

    hall_server.issue("BILL")  # the tile follows the hall live (hall_summary), no reload
    expect(bill).to_contain_text("前面 3 人", timeout=5000)
    hall_server.call_next(staff, "2")
    expect(bill).to_contain_text("前面 2 人", timeout=5000)

    assert_language(page, "zh-CN")
    assert_touch_targets(page, "#app")
    screenshot(page, "kiosk-home-zh")

    page.click('.lang[data-lang="en"]')
    assert_language(page, "en")
    expect(bill).to_contain_text("2 people ahead")
    expect(page.locator("#home-title")).to_have_text("Please choose a service")
    screenshot(page, "kiosk-home-en")

    mobile.click()
    expect(page.locator("#screen-category")).to_be_visible()
    assert_language(page, "en")
    screenshot(page, "kiosk-category-en")
    page.click("#screen-category .back")
    page.click("#open-priority")
    assert_language(page, "en")
    page.click('.lang[data-lang="zh-CN"]')
    assert_language(page, "zh-CN")
    screenshot(page, "kiosk-priority-zh")
    assert not page.js_errors


# --- taking a ticket ------------------------------------------------------------------------------


def test_two_taps_give_a_ticket_with_qr_and_the_kiosk_returns_home(tmp_path: Path, page: Any) -> None:
    with running_hall(tmp_path, lambda text: kiosk_k1(text, confirmation_s=8, printer="none")) as server:
        staff = server.sign_in("4")  # PLAN and BROADBAND
        server.issue("PLAN")
        open_kiosk(page, server)
        page.click('.lang[data-lang="en"]')

        tile(page, "MOBILE").click()  # tap 1: the category
        # an estimate once the live refresh has seen counter 4 open (a refresh follows a sign-in within ~0.5 s)
        expect(tile(page, "PLAN")).to_contain_text("min", timeout=10_000)
        tile(page, "PLAN").click()  # tap 2: the service
        token = confirmed_token(page)
        expect(page.locator("#confirm-number")).to_have_text("B002")
        expect(page.locator("#confirm-service")).to_contain_text("Plan changes")
        expect(page.locator("#confirm-ahead")).to_have_text("1")
        expect(page.locator("#confirm-estimate")).to_contain_text("min")
        expect(page.locator("#screen-confirm")).to_contain_text("Please watch the screens")
        expect(page.locator("#print-status")).to_contain_text("does not print")
        expect(page.locator("#confirm-qr")).to_have_js_property("complete", True)
        assert page.eval_on_selector("#confirm-qr", "img => img.naturalWidth") > 0
        assert_language(page, "en", "#app")
        assert_touch_targets(page, "#app")
        screenshot(page, "kiosk-confirm-en")
        page.click('.lang[data-lang="zh-CN"]')
        expect(page.locator("#confirm-ahead")).to_have_text("1 人")
        assert_language(page, "zh-CN", "#app")
        screenshot(page, "kiosk-confirm-zh")

        issued = ticket(server, token)
        assert issued["number"] == "B002" and issued["state"] == "waiting" and issued["priority"] == "normal"
        qr = requests.get(f"{server.url}/t/{token}/qr.svg", timeout=5)
        assert qr.status_code == 200 and qr.headers["Content-Type"].startswith("image/svg+xml")

        page.click('.lang[data-lang="en"]')
        # Back home by itself after confirmation_s, in the default language.
        expect(page.locator("#screen-home")).to_be_visible(timeout=12_000)
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        assert waiting_total(server) == 2
        assert server.call_next(staff, "4")["ticket"]["number"] == "B001"
        assert not page.js_errors


def test_priority_lane_takes_a_priority_ticket_at_a_paired_kiosk(hall_server: HallServer, page: Any) -> None:
    """The demo gives priority-lane tickets only at paired kiosks (and by staff): the page is told so by the
    server. Unpaired (a phone that opened the kiosk page), it offers no priority lane."""
    open_kiosk(page, hall_server)
    expect(page.locator("#open-priority")).to_be_hidden()
    expect(page.locator("#open-checkin")).to_be_visible()
    screenshot(page, "kiosk-home-unpaired-zh")

    hall_server.pair(page.context, "kiosk", "K1")
    open_kiosk(page, hall_server, "?kiosk=K1")
    page.click("#open-priority")
    expect(page.locator("#screen-priority")).to_be_visible()
    expect(page.locator("#screen-priority")).to_contain_text("老年人")
    expect(page.locator("#priority-tiles .tile")).to_have_count(6)  # every service, sub-categories flattened
    tile(page, "SIM").click()
    token = confirmed_token(page)
    expect(page.locator("#confirm-number")).to_have_text("E001")
    expect(page.locator("#confirm-priority")).to_be_visible()
    assert ticket(hall_server, token)["priority"] == "priority"
    assert not page.js_errors


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_kiosk_revoked_while_open_says_why_and_stops_offering_the_lane(browser: Any, hall_server: HallServer,
                                                                         language: str) -> None:
    """The pairing is revoked while the page is open (the lane still shows): the tap is refused with the server's
    words in the kiosk's language, and the lane is gone when the kiosk is back home."""
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale=language,
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    try:
        device = hall_server.pair(context, "kiosk", "K1")
        open_kiosk(page, hall_server, f"?kiosk=K1&lang={language}")
        expect(page.locator("#open-priority")).to_be_visible()
        manager = hall_server.staff("manager", "demo-manager")
        revoked = manager.post(f"{hall_server.api}/branches/{BRANCH}/devices/{device['id']}/revoke", timeout=5)
        assert revoked.ok, revoked.text
        page.click("#open-priority")
        tile(page, "SIM").click()
        expect(page.locator("#screen-refused")).to_be_visible()
        expect(page.locator("#refused-text")).to_contain_text(
            "已配对的取号机" if language == "zh-CN" else "paired kiosks")
        assert_language(page, language, "#screen-refused")
        screenshot(page, f"kiosk-priority-refused-{language}")
        page.locator("#screen-refused [data-action=home]").click()
        expect(page.locator("#screen-home")).to_be_visible()
        expect(page.locator("#open-priority")).to_be_hidden()
    finally:
        context.close()


def test_a_double_tap_issues_one_ticket(hall_server: HallServer, page: Any) -> None:
    open_kiosk(page, hall_server)
    tile(page, "BILL").dblclick()
    confirmed_token(page)
    expect(page.locator("#confirm-number")).to_have_text("A001")
    page.wait_for_timeout(300)  # the second tap must not have left anything in flight either
    assert waiting_total(hall_server) == 1
    # The Done button ignores the rest of a burst of taps, then takes the customer home.
    page.click("#confirm-done")
    expect(page.locator("#screen-confirm")).to_be_visible()
    page.wait_for_timeout(900)
    page.click("#confirm-done")
    expect(page.locator("#screen-home")).to_be_visible()
    # Two quick taps on two different tiles: still one ticket.
    page.evaluate("""() => { document.querySelector('.tile[data-service="BILL"]').click();
                             document.querySelector('.tile[data-service="BROADBAND"]').click(); }""")
    confirmed_token(page)
    expect(page.locator("#confirm-number")).to_have_text("A002")
    page.wait_for_timeout(300)
    assert waiting_total(hall_server) == 2


# --- the server unreachable --------------------------------------------------------------------------


def test_a_lost_answer_is_retried_with_the_same_key_and_issues_once(hall_server: HallServer, page: Any) -> None:
    open_kiosk(page, hall_server)
    keys: list[str] = []
    answers: list[dict[str, Any]] = []

    def lose_first_answer(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            response = route.fetch()  # the server issues the ticket, the kiosk never hears the answer
            answers.append({"status": response.status, **response.json()})
            route.abort("connectionreset")
        elif len(keys) == 2:
            route.abort("connectionrefused")  # and the first retry finds the server unreachable
        else:
            response = route.fetch()
            answers.append({"status": response.status, **response.json()})
            route.fulfill(response=response)

    page.route(ISSUE_URL, lose_first_answer)
    tile(page, "BILL").click()
    expect(page.locator("#screen-pending")).to_be_visible(timeout=5000)
    expect(page.locator("#screen-pending")).to_contain_text("请稍候")
    screenshot(page, "kiosk-pending-zh")

    confirmed_token(page)
    expect(page.locator("#confirm-number")).to_have_text("A001")
    assert len(keys) >= 2 and len(set(keys)) == 1 and keys[0].startswith("kiosk-")
    assert answers[0]["status"] == 201 and answers[-1]["status"] == 200 and answers[-1]["replayed"] is True
    assert answers[-1]["number"] == answers[0]["number"] == "A001"
    assert waiting_total(hall_server) == 1
    assert not page.js_errors


def test_a_server_outage_shows_one_moment_and_the_kiosk_recovers(hall_server: HallServer, page: Any) -> None:
    open_kiosk(page, hall_server)
    process = hall_server.process
    port = process.port

    process.stop()  # a real outage: the process is gone
    tile(page, "BILL").click()
    expect(page.locator("#screen-pending")).to_be_visible(timeout=5000)
    expect(page.locator("#pending-text")).to_contain_text("正在自动重试", timeout=5000)
    page.wait_for_timeout(3000)  # several retries fail meanwhile
    process.start()  # on the same port
    assert process.port == port and process.url == hall_server.url

    confirmed_token(page)
    expect(page.locator("#confirm-number")).to_have_text("A001")
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=15_000)
    assert waiting_total(hall_server) == 1

    page.wait_for_timeout(900)
    page.click("#confirm-done")
    page.click('.lang[data-lang="en"]')
    process.stop()  # idle on the home screen: the calm screen covers the tiles until the server is back
    expect(page.locator("#offline")).to_be_visible(timeout=10_000)
    expect(page.locator("#offline")).to_contain_text("One moment")
    screenshot(page, "kiosk-offline-en")
    process.start()
    expect(page.locator("#offline")).to_be_hidden(timeout=15_000)
    expect(tile(page, "BILL")).to_contain_text("1 person ahead")
    assert waiting_total(hall_server) == 1


def test_giving_up_during_an_outage_cancels_a_ticket_issued_meanwhile(hall_server: HallServer, page: Any) -> None:
    open_kiosk(page, hall_server)
    state = {"calls": 0}

    def issue_but_fail_for_a_while(route: Any) -> None:
        state["calls"] += 1
        if state["calls"] == 1:
            route.fetch()  # issued on the server, answer lost
            route.abort("connectionreset")
        elif not state.get("abandoned"):
            route.abort("connectionrefused")  # the server stays unreachable while the customer waits
        else:
            route.continue_()

    page.route(ISSUE_URL, issue_but_fail_for_a_while)
    tile(page, "BILL").click()
    expect(page.locator("#pending-cancel")).to_be_visible(timeout=15_000)
    assert waiting_total(hall_server) == 1
    page.click("#pending-cancel")
    expect(page.locator("#screen-home")).to_be_visible()
    state["abandoned"] = True  # the server is reachable again
    # The kiosk resolves the abandoned tap in the background: same key, the ticket it got is cancelled.
    deadline = time.monotonic() + 15
    while waiting_total(hall_server) != 0 and time.monotonic() < deadline:
        page.wait_for_timeout(300)  # (route handlers run while Playwright waits, not during time.sleep)
    assert waiting_total(hall_server) == 0
    page.wait_for_function("() => window.HallKiosk.abandoned.length === 0", timeout=5000)
    assert not page.js_errors


# --- closed, daily cap, long waits, idle reset, keyboard -------------------------------------------


def test_closed_service_and_daily_cap_are_explained(tmp_path: Path, page: Any) -> None:
    def tweak(text: str) -> str:
        text = set_key(text, "hours", closed_hours_now(), after='code = "DEVICE"')
        text = set_key(text, "daily_cap", "1", after='code = "BILL"')
        return set_key(text, "daily_cap", "1", after='code = "SIM"')

    with running_hall(tmp_path, tweak) as server:
        server.issue("BILL")
        open_kiosk(page, server)
        expect(tile(page, "BILL")).to_contain_text("今日号已取完")
        expect(tile(page, "BILL")).to_have_class(re.compile(r"\bunavailable\b"))
        expect(tile(page, "DEVICE")).to_contain_text(re.compile(r"(今天|明天) \d\d:00 开始取号"))

        tile(page, "DEVICE").click()
        expect(page.locator("#screen-refused")).to_be_visible()
        expect(page.locator("#refused-title")).to_have_text("该业务现在不办理")
        expect(page.locator("#refused-text")).to_contain_text(
            re.compile(r"“手机与终端”现在不办理。(今天|明天) \d\d:00"))
        screenshot(page, "kiosk-refused-closed-zh")
        page.click('.lang[data-lang="en"]')
        expect(page.locator("#refused-title")).to_have_text("This service is not available now")
        page.click("#screen-refused .primary")

        server.issue("SIM")  # the cap is reached after the kiosk loaded: the server refuses the tap (409)
        tile(page, "MOBILE").click()
        tile(page, "SIM").click()
        expect(page.locator("#screen-refused")).to_be_visible()
        expect(page.locator("#refused-title")).to_have_text("No more tickets today")  # still in English
        expect(page.locator("#refused-text")).to_contain_text("SIM replacement")
        screenshot(page, "kiosk-refused-cap-en")
        assert waiting_total(server) == 2
        page.click("#screen-refused .primary")
        tile(page, "MOBILE").click()
        expect(tile(page, "SIM")).to_contain_text("No more tickets today")


def closed_services(text: str) -> str:
    """DEVICE opens tomorrow at 09:00, BROADBAND in three days at 10:00, PLAN in ten days at 09:30 (an
    exception), SIM never; VIP (open all day otherwise) and DEVICE are closed today for a holiday."""
    now = hall_now()
    tomorrow, in_three = now + timedelta(days=1), now + timedelta(days=3)
    text = service_hours(text, "DEVICE", "closed", **{WEEKDAYS[tomorrow.weekday()]: "09:00-10:00"})
    text = service_hours(text, "BROADBAND", "closed", **{WEEKDAYS[in_three.weekday()]: "10:00-12:00"})
    text = service_hours(text, "PLAN", "closed")
    text = exception(text, (now + timedelta(days=10)).date().isoformat(), "09:30-11:00", services=("PLAN",))
    text = service_hours(text, "SIM", "closed")
    return exception(text, now.date().isoformat(), "closed", name=("国庆节", "National Day"),
                     services=("VIP", "DEVICE"))


def test_outside_its_hours_a_service_says_when_it_opens_and_a_tap_explains(tmp_path: Path, page: Any) -> None:
    issues: list[str] = []
    page.on("request", lambda request: issues.append(request.url) if request.method == "POST" else None)
    with running_hall(tmp_path, closed_services) as server:
        open_kiosk(page, server)
        in_three = hall_now() + timedelta(days=3)
        in_ten = hall_now() + timedelta(days=10)
        expect(tile(page, "DEVICE")).to_contain_text("国庆节休息明天 09:00 开始取号")
        expect(tile(page, "BROADBAND")).to_contain_text(f"{ZH_WEEKDAYS[in_three.weekday()]} 10:00 开始取号")
        expect(tile(page, "VIP")).to_contain_text("国庆节休息明天 00:00 开始取号")  # two lines
        for code in ("DEVICE", "BROADBAND", "VIP"):
            expect(tile(page, code)).to_have_class(re.compile(r"\bunavailable\b"))
        # both sub-services of the category are closed: it tells the earliest opening of the two
        expect(tile(page, "MOBILE")).to_contain_text(f"{in_ten.month}月{in_ten.day}日 09:30 开始取号")
        expect(tile(page, "MOBILE")).not_to_contain_text("项业务")
        expect(tile(page, "BILL")).not_to_have_class(re.compile(r"\bunavailable\b"))
        assert page.evaluate(TILES_CUT_OFF) == []
        tile(page, "MOBILE").click()
        expect(tile(page, "SIM")).to_contain_text("暂停取号")
        page.click('.lang[data-lang="en"]')
        expect(tile(page, "SIM")).to_contain_text("Not taking tickets")
        expect(tile(page, "PLAN")).to_contain_text(f"Tickets from 09:30 on {in_ten.day} ")
        page.click("#screen-category .back")
        expect(tile(page, "DEVICE")).to_contain_text("Closed for National DayTickets from 09:00 tomorrow")
        expect(tile(page, "BROADBAND")).to_contain_text(f"Tickets from 10:00 {EN_WEEKDAYS[in_three.weekday()]}")
        expect(tile(page, "VIP")).to_contain_text("Closed for National DayTickets from 00:00 tomorrow")

        tile(page, "VIP").click()  # nothing is refused silently: the tap explains, and nothing is issued
        expect(page.locator("#screen-refused")).to_be_visible()
        expect(page.locator("#refused-title")).to_have_text("This service is not available now")
        expect(page.locator("#refused-text")).to_have_text(
            "Business & VIP is not available now. Closed for National Day. Tickets from 00:00 tomorrow.")
        page.click('.lang[data-lang="zh-CN"]')
        expect(page.locator("#refused-text")).to_have_text(
            "“政企与VIP业务”现在不办理。国庆节休息，明天 00:00 开始取号。")
        page.click("#screen-refused .primary")
        tile(page, "DEVICE").click()
        expect(page.locator("#refused-text")).to_have_text("“手机与终端”现在不办理。国庆节休息，明天 09:00 开始取号。")
        assert waiting_total(server) == 0
        assert not [url for url in issues if url.endswith("/tickets")]
        assert not page.js_errors


def test_a_refusal_from_the_server_says_when_the_service_opens(hall_server: HallServer, page: Any) -> None:
    """The kiosk shows the service open (its snapshot older than the hours, say): the server's 409 says when
    it opens, and the kiosk shows that instead of failing silently."""
    open_kiosk(page, hall_server)
    expect(tile(page, "DEVICE")).not_to_have_class(re.compile(r"\bunavailable\b"))
    page.route(ISSUE_URL, lambda route: route.fulfill(status=409, content_type="application/json", body=json.dumps({
        "error": "service_closed", "message": "Phones & devices is closed now",
        "details": {"hours": "closed", "opens_at": (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=1, minute=30, second=0, microsecond=0).isoformat(), "closed_for": None}})))
    tile(page, "DEVICE").click()
    expect(page.locator("#refused-title")).to_have_text("该业务现在不办理")
    expect(page.locator("#refused-text")).to_contain_text(re.compile(r"(今天|明天) 09:30 开始取号"))
    assert not page.js_errors


def test_a_service_that_opens_while_the_kiosk_is_on_becomes_tappable(tmp_path: Path, page: Any) -> None:
    opens = opening_soon()
    with running_hall(tmp_path, lambda text: opens_at_minute(text, "DEVICE", opens)) as server:
        open_kiosk(page, server)
        day = "今天" if opens.date() == hall_now().date() else "明天"
        expect(tile(page, "DEVICE")).to_contain_text(f"{day} {opens:%H:%M} 开始取号")
        expect(tile(page, "DEVICE")).to_have_class(re.compile(r"\bunavailable\b"))
        page.evaluate("window.notReloaded = true")
        # at the opening minute (plus a few seconds of spread) the tile becomes tappable by itself
        expect(tile(page, "DEVICE")).not_to_have_class(re.compile(r"\bunavailable\b"), timeout=90_000)
        assert page.evaluate("window.notReloaded === true")
        expect(tile(page, "DEVICE")).to_contain_text("前面 0 人")
        tile(page, "DEVICE").click()
        confirmed_token(page)
        assert waiting_total(server) == 1
        assert not page.js_errors


TILES_CUT_OFF = """Array.from(document.querySelectorAll('.screen.active .tile'))
  .filter((t) => t.scrollHeight > t.clientHeight + 1).map((t) => t.dataset.service || t.dataset.category)"""


def test_portrait_kiosk_with_closed_services(tmp_path: Path, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", has_touch=True)
    try:
        with running_hall(tmp_path, closed_services) as server:
            page = context.new_page()
            open_kiosk(page, server)
            expect(tile(page, "VIP")).to_contain_text("国庆节休息")
            assert page.evaluate(TILES_CUT_OFF) == []
            screenshot(page, "kiosk-portrait-closed-zh")
            page.tap('.lang[data-lang="en"]')
            expect(tile(page, "VIP")).to_contain_text("Closed for National Day")
            assert_language(page, "en", "#app")
            assert page.evaluate(TILES_CUT_OFF) == []
            screenshot(page, "kiosk-portrait-closed-en")
            tile(page, "MOBILE").tap()
            assert page.evaluate(TILES_CUT_OFF) == []
            page.tap("#screen-category .back")
            tile(page, "DEVICE").tap()
            expect(page.locator("#screen-refused")).to_be_visible()
            screenshot(page, "kiosk-portrait-refused-closed-en")
    finally:
        context.close()


def test_a_very_long_wait_shows_the_overflow_notice(tmp_path: Path, page: Any) -> None:
    with running_hall(tmp_path, lambda text: set_key(text, "wait_min", "10", after="[branches.overflow]")) as server:
        server.sign_in("2")
        for _ in range(8):
            server.issue("BILL")
        open_kiosk(page, server)
        expect(page.locator("#home-overflow")).to_be_visible(timeout=10_000)
        expect(page.locator("#home-overflow")).to_contain_text("等候时间较长")
        expect(tile(page, "BILL")).to_contain_text("等候较久")
        expect(tile(page, "VIP")).not_to_contain_text("等候较久")
        screenshot(page, "kiosk-overflow-zh")
        tile(page, "BILL").click()
        # a covered service's long wait first offers the other ways (test_kiosk_overflow.py); no branch is near
        expect(page.locator("#overflow-nearby")).to_contain_text("附近暂时没有等候更短的营业厅")
        page.click("#overflow-take")
        confirmed_token(page)
        expect(page.locator("#confirm-overflow")).to_be_visible()
        page.click('.lang[data-lang="en"]')
        expect(page.locator("#confirm-overflow")).to_contain_text("The wait is long")
        screenshot(page, "kiosk-overflow-confirm-en")


def test_idle_reset_escape_and_keyboard_only_use(tmp_path: Path, page: Any) -> None:
    with running_hall(tmp_path, lambda text: kiosk_k1(text, idle_reset_s=3)) as server:
        open_kiosk(page, server)
        page.click('.lang[data-lang="en"]')
        tile(page, "MOBILE").click()
        expect(page.locator("#screen-category")).to_be_visible()
        expect(page.locator("#screen-home")).to_be_visible(timeout=6000)  # nobody touched it for 3 s
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

        page.focus('.tile[data-category="MOBILE"]')
        page.keyboard.press("Enter")
        expect(page.locator("#screen-category")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#screen-home")).to_be_visible()

        page.focus('.tile[data-service="BROADBAND"]')
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.dataset.service || document.activeElement.dataset.category")
        assert focused == "DEVICE"
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Enter")
        confirmed_token(page)
        expect(page.locator("#confirm-number")).to_have_text("C001")
        expect(page.locator("#confirm-done")).to_be_focused()


def test_the_kiosk_is_locked_down(hall_server: HallServer, page: Any) -> None:
    open_kiosk(page, hall_server)
    url = page.url
    page.evaluate("history.back()")
    page.wait_for_timeout(500)
    assert page.url == url
    expect(page.locator("#screen-home")).to_be_visible()
    viewport = page.get_attribute('meta[name="viewport"]', "content")
    assert "user-scalable=no" in viewport
    assert page.evaluate("getComputedStyle(document.body).userSelect") == "none"
    assert page.evaluate("""() => { const e = new MouseEvent('contextmenu', {bubbles: true, cancelable: true});
                                    return !document.querySelector('.tile').dispatchEvent(e); }""")
    assert page.locator("#app a[href]").count() == 0


# --- printing ------------------------------------------------------------------------------------


def test_browser_printing_prints_a_receipt(hall_server: HallServer, page: Any) -> None:
    page.add_init_script("window.print = () => { window.__prints = (window.__prints || 0) + 1; };")
    open_kiosk(page, hall_server, "?kiosk=K1")  # printer = "browser"
    tile(page, "BROADBAND").click()
    confirmed_token(page)
    expect(page.locator("#print-status")).to_contain_text("号票正在打印")
    page.wait_for_function("() => window.__prints === 1", timeout=5000)
    page.emulate_media(media="print")
    receipt = page.locator("#receipt")
    expect(receipt).to_be_visible()
    expect(page.locator("#r-number")).to_have_text("C001")
    expect(receipt).to_contain_text("宽带业务")
    expect(receipt).to_contain_text("Home broadband")
    expect(receipt).to_contain_text("星河通信 福田中心营业厅")
    expect(page.locator("#r-qr")).to_have_js_property("complete", True)
    width = receipt.bounding_box()["width"]
    assert 250 < width < 300  # 72 mm at 96 dpi is 272 px
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    receipt.screenshot(path=str(SCREENSHOTS / "kiosk-receipt.png"))
    page.emulate_media(media="screen")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__prints") == 1


def test_a_network_printer_failure_is_shown_and_reported(tmp_path: Path, page: Any) -> None:
    printer = FakePrinter()
    port = closed_port()
    try:
        def tweak(text: str) -> str:
            text = kiosk_k1(text, printer=f"escpos://127.0.0.1:{port}", print_timeout_s=2)
            return set_key(text, "printer", f'"escpos://127.0.0.1:{printer.port}"', after='id = "K2"')

        with running_hall(tmp_path, tweak) as server:
            open_kiosk(page, server, "?kiosk=K1&lang=en")
            tile(page, "BILL").click()
            token = confirmed_token(page)
            expect(page.locator("#print-status")).to_have_attribute("data-state", "failed", timeout=10_000)
            expect(page.locator("#print-status")).to_contain_text("printer failed")
            expect(page.locator("#print-again")).to_be_visible()
            expect(page.locator("#confirm-qr")).to_be_visible()  # the customer can still take the QR code
            screenshot(page, "kiosk-print-failed-en")
            assert ticket(server, token)["state"] == "waiting"  # valid, and not counted as printed

            manager = server.staff("manager", "demo-manager")
            faults = manager.get(f"{server.api}/branches/{BRANCH}/device-faults", timeout=5).json()
            k1 = next(k for k in faults["kiosks"] if k["kiosk"] == "K1")
            assert k1["status"] == "fault" and k1["failed"] == 1 and k1["printed"] == 0

            other = page.context.new_page()
            open_kiosk(other, server, "?kiosk=K2")
            tile(other, "BILL").click()
            confirmed_token(other)
            expect(other.locator("#print-status")).to_have_attribute("data-state", "printed", timeout=10_000)
            expect(other.locator("#print-status")).to_contain_text("请取走")
            assert b"A002" in bytes(printer.received)
    finally:
        printer.close()


# --- portrait -----------------------------------------------------------------------------------


def test_portrait_kiosk_fits_the_screen(hall_server: HallServer, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", has_touch=True)
    try:
        page = context.new_page()
        open_kiosk(page, hall_server)
        overflow = "document.documentElement.scrollWidth > innerWidth || document.querySelector('.screens')" \
                   ".scrollHeight > document.querySelector('.screens').clientHeight + 1"
        assert not page.evaluate(overflow)
        assert_touch_targets(page, "#app")
        screenshot(page, "kiosk-portrait-home-zh")
        tile(page, "BILL").tap()
        confirmed_token(page)
        page.tap('.lang[data-lang="en"]')
        assert not page.evaluate(overflow)
        screenshot(page, "kiosk-portrait-confirm-en")
    finally:
        context.close()


# --- what a customer is told from a trial day on the floor ---------------------------------------------------


def test_before_any_counter_opens_the_kiosk_says_why_there_is_no_estimate(hall_server: HallServer, page: Any) -> None:
    hall_server.issue("BILL")
    open_kiosk(page, hall_server)
    expect(page.locator("#home-staffing")).to_be_visible(timeout=5000)
    expect(page.locator("#home-staffing")).to_contain_text("窗口尚未开放，工作人员即将开始办理")
    expect(tile(page, "BILL")).to_contain_text("窗口尚未开放")
    expect(tile(page, "BILL")).to_contain_text("前面 1 人")
    screenshot(page, "kiosk-no-counter-open-zh")
    page.click('.lang[data-lang="en"]')
    expect(tile(page, "BILL")).to_contain_text("no counter open yet")
    tile(page, "BILL").click()
    confirmed_token(page)
    expect(page.locator("#confirm-estimate")).to_have_text("no counter open yet")
    expect(page.locator("#confirm-why")).to_contain_text("staff will open the counters shortly")
    screenshot(page, "kiosk-no-counter-open-confirm-en")
    page.wait_for_timeout(900)
    page.click("#confirm-done")
    hall_server.sign_in("2")  # BILL and PLAN: the notice goes, the tile gets an estimate; VIP is "not staffed"
    expect(page.locator("#home-staffing")).to_be_hidden(timeout=10_000)
    expect(tile(page, "BILL")).to_contain_text("分钟")  # back in the default language for the next customer
    expect(tile(page, "VIP")).to_contain_text("暂无窗口办理")
    tile(page, "VIP").click()
    confirmed_token(page)
    expect(page.locator("#confirm-why")).to_contain_text("目前没有窗口办理此业务")
    assert not page.js_errors


def test_a_tile_tells_the_booked_customers_served_before_a_new_ticket(tmp_path: Path, page: Any) -> None:
    """Two BROADBAND bookings in the next half-hour slot, a queue a new ticket waits longer than that for: the tile
    keeps the people ahead the ticket will say, adds the booked customers, and its estimate grows.

    The appointment class's head start is set past the slot length, so that the booked customers come first at any
    minute of the hour (with the demo's 20 minutes, a slot 25 minutes away would come after a walk-in issued now)."""
    with running_hall(tmp_path, lambda text: set_key(text, "appointment_head_start_min", "40")) as hall_server:
        booked_customers_served_first(hall_server, page)


def booked_customers_served_first(hall_server: HallServer, page: Any) -> None:
    staff = hall_server.sign_in("4")  # PLAN, BROADBAND
    for _ in range(5):
        hall_server.issue("BROADBAND")
    open_kiosk(page, hall_server)
    broadband = tile(page, "BROADBAND")
    expect(broadband).to_contain_text("前面 5 人", timeout=5000)
    expect(broadband.locator(".tile-booked")).to_have_count(0)
    now = datetime.now(UTC)
    slot = now.replace(minute=now.minute // 30 * 30, second=0, microsecond=0) + timedelta(minutes=30)
    for phone in ("13800001111", "13900002222"):
        booked = staff.post(f"{hall_server.api}/branches/{BRANCH}/bookings",
                            json={"service": "BROADBAND", "start": slot.isoformat(), "phone": phone, "consent": True})
        assert booked.status_code == 201, booked.text
    expect(broadband.locator(".tile-booked")).to_have_text("另有 2 位预约客户将先于您办理", timeout=10_000)
    expect(broadband).to_contain_text("前面 5 人")
    page.click('.lang[data-lang="en"]')
    expect(broadband.locator(".tile-booked")).to_have_text(
        "and 2 customers with appointments will be served before you")
    screenshot(page, "kiosk-booked-first-en")
    broadband.click()
    past_a_long_wait(page)  # the booked customers may take the estimate past the long-wait screen's threshold
    confirmed_token(page)
    expect(page.locator("#confirm-ahead")).to_have_text("5")  # what the tile said of the queue
    assert not page.js_errors


def test_a_tile_shows_the_people_ahead_and_wait_a_new_ticket_gets(hall_server: HallServer, page: Any) -> None:
    """Counter 4 takes PLAN before BROADBAND: one customer waits for broadband, but a new broadband ticket has the
    three PLAN tickets ahead too. The tile says what the ticket will say."""
    hall_server.sign_in("4")  # PLAN, BROADBAND
    for service in ("PLAN", "BROADBAND", "PLAN", "PLAN"):
        hall_server.issue(service)
    open_kiosk(page, hall_server)
    broadband = tile(page, "BROADBAND")
    expect(broadband).to_contain_text("前面 4 人", timeout=5000)
    expect(broadband).to_contain_text("其中本业务 1 人，其余为其他业务")
    page.click('.lang[data-lang="en"]')
    expect(broadband).to_contain_text("4 people ahead")
    expect(broadband).to_contain_text("1 of them for this service, the rest for others")
    estimate = broadband.locator(".stat").nth(1).inner_text()
    broadband.click()
    past_a_long_wait(page)  # the estimate may reach the threshold of the long-wait screen
    confirmed_token(page)
    expect(page.locator("#confirm-ahead")).to_have_text("4")
    expect(page.locator("#confirm-estimate")).to_have_text(estimate)
    page.wait_for_timeout(900)
    page.click("#confirm-done")
    expect(broadband).to_contain_text("前面 5 人", timeout=5000)  # the next customer's, live
    assert not page.js_errors


def test_a_service_that_reaches_its_cap_turns_full_on_every_kiosk_at_once(tmp_path: Path, page: Any) -> None:
    with running_hall(tmp_path, lambda text: set_key(text, "daily_cap", "2", after='code = "BILL"')) as server:
        open_kiosk(page, server)
        other = page.context.new_page()
        open_kiosk(other, server, "?kiosk=K2")
        joins: list[str] = []
        for kiosk in (page, other):
            kiosk.on("websocket", lambda ws: ws.on("framesent", lambda frame: joins.append(str(frame))
                                                   if '"join"' in str(frame) else None))
        server.issue("BILL")
        expect(tile(page, "BILL")).to_contain_text("前面 1 人", timeout=5000)
        server.issue("BILL")  # the second and last of the day
        for kiosk in (page, other):
            expect(tile(kiosk, "BILL")).to_contain_text("今日号已取完", timeout=3000)
            expect(tile(kiosk, "BILL")).to_have_class(re.compile(r"\bunavailable\b"))
        assert joins == []  # pushed with the ticket's event: no kiosk asked for a fresh snapshot
        tile(other, "BILL").click()
        expect(other.locator("#refused-title")).to_have_text("今日号已取完")
        assert waiting_total(server) == 2
        assert not page.js_errors


def stop_issue(server: HallServer, **body: Any) -> dict[str, Any]:
    manager = server.staff("manager", "demo-manager")
    response = manager.post(f"{server.api}/branches/{BRANCH}/issue-stops", json=body, timeout=5)
    assert response.ok, response.text
    return response.json()


def resume_issue(server: HallServer, stop_id: int) -> None:
    manager = server.staff("manager", "demo-manager")
    response = manager.post(f"{server.api}/branches/{BRANCH}/issue-stops/{stop_id}/resume", json={}, timeout=5)
    assert response.ok, response.text


def test_a_stopped_service_says_why_and_until_when_and_comes_back_live(hall_server: HallServer, page: Any) -> None:
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    open_kiosk(page, hall_server)
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    device = stop_issue(hall_server, service="DEVICE", reason="custom", until=until.isoformat(),
                        text={"zh-CN": "终端系统维护", "en": "Device system maintenance"})
    shown = until.astimezone(hall_now().tzinfo).strftime("%H:%M")
    expect(tile(page, "DEVICE")).to_contain_text("终端系统维护", timeout=5000)
    expect(tile(page, "DEVICE")).to_contain_text(f"{shown} 恢复取号")
    expect(tile(page, "DEVICE")).to_have_class(re.compile(r"\bunavailable\b"))
    screenshot(page, "kiosk-stopped-zh")
    tile(page, "DEVICE").click()  # refused, and told why: nothing is sent
    expect(page.locator("#refused-title")).to_have_text("暂停取号")
    expect(page.locator("#refused-text")).to_have_text(f"“手机与终端”暂停取号：终端系统维护。{shown} 恢复取号。")
    page.click('.lang[data-lang="en"]')
    expect(page.locator("#refused-text")).to_have_text(
        f"Phones & devices: Device system maintenance. Tickets again from {shown}.")
    screenshot(page, "kiosk-stopped-refused-en")
    page.click("#screen-refused .primary")
    assert not [url for url in posts if url.endswith("/tickets")]

    # the whole branch: a banner, and every tile says it (a stop until the day's end promises no time)
    branch = stop_issue(hall_server, reason="all_taken")
    expect(page.locator("#home-stopped")).to_be_visible(timeout=5000)
    expect(page.locator("#home-stopped")).to_contain_text("Ticket issue is paused for all services")
    expect(page.locator("#home-stopped")).to_contain_text("Today's tickets are all taken")
    expect(tile(page, "BILL")).to_contain_text("Today's tickets are all taken")
    expect(tile(page, "BILL")).not_to_contain_text("Tickets again")
    screenshot(page, "kiosk-branch-stopped-en")
    resume_issue(hall_server, branch["id"])
    resume_issue(hall_server, device["id"])
    expect(page.locator("#home-stopped")).to_be_hidden(timeout=5000)
    expect(tile(page, "DEVICE")).not_to_have_class(re.compile(r"\bunavailable\b"))
    expect(tile(page, "DEVICE")).to_contain_text("ahead")
    tile(page, "DEVICE").click()
    confirmed_token(page)
    assert not page.js_errors


def test_a_scheduled_stop_starts_and_ends_on_the_kiosk_without_an_event(hall_server: HallServer, page: Any) -> None:
    open_kiosk(page, hall_server)
    starts = datetime.now(UTC) + timedelta(seconds=4)
    stop_issue(hall_server, service="BILL", reason="busy", starts_at=starts.isoformat(),
               until=(starts + timedelta(seconds=6)).isoformat())
    expect(tile(page, "BILL")).not_to_have_class(re.compile(r"\bunavailable\b"))
    # its start and its end come without an event: the kiosk looks again at those instants (plus a little spread)
    expect(tile(page, "BILL")).to_contain_text("排队人数较多，暂停取号", timeout=9000)
    expect(tile(page, "BILL")).not_to_have_class(re.compile(r"\bunavailable\b"), timeout=12_000)
    assert not page.js_errors


def test_a_stop_the_kiosk_had_not_heard_of_is_explained_from_the_servers_refusal(hall_server: HallServer,
                                                                                 page: Any) -> None:
    open_kiosk(page, hall_server)
    resumes = (datetime.now(UTC) + timedelta(minutes=30)).replace(second=0, microsecond=0)
    page.route(ISSUE_URL, lambda route: route.fulfill(status=409, content_type="application/json", body=json.dumps({
        "error": "issuing_stopped", "message": "Bill payment is not issuing tickets now: busy",
        "details": {"reason": {"zh-CN": "排队人数较多，暂停取号", "en": "The queue is full: tickets are paused"},
                    "until": resumes.isoformat(), "resumes_at": resumes.isoformat()}})))
    tile(page, "BILL").click()
    shown = resumes.astimezone(hall_now().tzinfo).strftime("%H:%M")
    expect(page.locator("#refused-title")).to_have_text("暂停取号")
    expect(page.locator("#refused-text")).to_have_text(
        f"“缴费充值”暂停取号：排队人数较多，暂停取号。{shown} 恢复取号。")
    assert not page.js_errors


def test_an_english_name_never_breaks_at_its_hyphen(browser: Any, hall_server: HallServer) -> None:
    for width, height in ((1080, 1920), (1920, 1080)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en",
                                      timezone_id="Asia/Shanghai")
        try:
            page = context.new_page()
            open_kiosk(page, hall_server, "?lang=en")
            name = tile(page, "BILL").locator(".name-primary")
            expect(name).to_contain_text("Bill payment & top-up")
            # "top-up" is one unbreakable piece: both of its halves sit on one line
            tops = page.evaluate("""() => {
              const whole = document.querySelector('.screen.active .tile[data-service="BILL"] .name-primary .nobreak');
              const range = document.createRange();
              range.selectNodeContents(whole);
              return Array.from(range.getClientRects()).map((r) => Math.round(r.top));
            }""")
            assert len(set(tops)) == 1, tops
        finally:
            context.close()


def test_portrait_tiles_fill_the_screen(browser: Any, hall_server: HallServer) -> None:
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", has_touch=True)
    try:
        page = context.new_page()
        open_kiosk(page, hall_server)
        gap = page.evaluate("""() => {
          const extras = document.querySelector('.screen.active .extras').getBoundingClientRect();
          const tiles = Array.from(document.querySelectorAll('#home-tiles .tile'));
          return extras.top - Math.max(...tiles.map((t) => t.getBoundingClientRect().bottom));
        }""")
        assert gap < 60  # no empty band between the tiles and the buttons below them
        assert not page.evaluate(TILES_CUT_OFF)
        screenshot(page, "kiosk-portrait-home-filled-zh")
    finally:
        context.close()


def test_the_last_ticket_time_shows_before_it_and_closes_the_tile_after_it(tmp_path: Path, page: Any) -> None:
    last = opening_soon()  # the next whole minute, on the branch's clock
    if last.hour == 0 and last.minute == 0:
        pytest.skip("the last ticket cannot be at the midnight that closes the day; run again in a minute")

    def last_ticket(text: str) -> str:
        return text.replace('code = "BILL"', f'code = "BILL"\n  last_ticket = "{last:%H:%M}"', 1)

    with running_hall(tmp_path, last_ticket) as server:
        open_kiosk(page, server)
        expect(tile(page, "BILL")).to_contain_text(f"取号截止 {last:%H:%M}")
        expect(tile(page, "BROADBAND")).not_to_contain_text("取号截止")
        page.click('.lang[data-lang="en"]')
        expect(tile(page, "BILL")).to_contain_text(f"Tickets until {last:%H:%M}")
        screenshot(page, "kiosk-tickets-until-en")
        page.evaluate("window.notReloaded = true")
        # at the last-ticket time (plus a little spread) the tile closes for today by itself, with the next opening
        expect(tile(page, "BILL")).to_have_class(re.compile(r"\bunavailable\b"), timeout=90_000)
        page.click('.lang[data-lang="en"]')  # the wait may outlast the kiosk's idle reset to its first language
        expect(tile(page, "BILL")).to_contain_text("Closed for today")
        expect(tile(page, "BILL")).to_contain_text("Tickets from 00:00 tomorrow")
        assert page.evaluate("window.notReloaded === true")
        screenshot(page, "kiosk-last-ticket-passed-en")
        tile(page, "BILL").click()
        expect(page.locator("#refused-title")).to_have_text("Closed for today")
        expect(page.locator("#refused-text")).to_have_text(
            f"Bill payment & top-up took its last ticket for today at {last:%H:%M}. Tickets from 00:00 tomorrow.")
        page.click('.lang[data-lang="zh-CN"]')
        expect(page.locator("#refused-text")).to_have_text(
            f"“缴费充值”今天的取号已于 {last:%H:%M} 截止。明天 00:00 开始取号。")
        assert waiting_total(server) == 0
        assert not page.js_errors


def test_a_last_ticket_refusal_from_the_server_is_explained(hall_server: HallServer, page: Any) -> None:
    open_kiosk(page, hall_server)
    until = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    opens = (datetime.now(UTC) + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)  # 09:00
    page.route(ISSUE_URL, lambda route: route.fulfill(status=409, content_type="application/json", body=json.dumps({
        "error": "last_ticket_passed", "message": "Bill payment issued its last ticket for today",
        "details": {"tickets_until": until.isoformat(), "opens_at": opens.isoformat()}})))
    tile(page, "BILL").click()
    shown = until.astimezone(hall_now().tzinfo).strftime("%H:%M")
    expect(page.locator("#refused-title")).to_have_text("今日取号已截止")
    expect(page.locator("#refused-text")).to_contain_text(f"“缴费充值”今天的取号已于 {shown} 截止。")
    expect(page.locator("#refused-text")).to_contain_text("09:00 开始取号")
    assert not page.js_errors


def test_a_kiosk_that_has_not_reached_the_hall_yet_shows_the_branchs_time_not_the_devices(
        browser: Any, hall_server: HallServer) -> None:
    """A kiosk whose operating system runs on UTC, started while the hall's live connection is unreachable: its clock
    shows Shanghai's time from the start (the page says which zone), not the device's."""
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN", timezone_id="UTC")
    page = context.new_page()
    try:
        page.route(lambda url: "/socket.io/?" in url or "/snapshot" in url, lambda route: route.abort())
        page.route_web_socket(re.compile(r"/socket\.io/"), lambda socket: None)  # never reaches the server
        page.goto(f"{hall_server.url}/kiosk/{BRANCH}")
        clock = page.locator("#clock")
        expect(clock).not_to_be_empty()
        shown = clock.inner_text()
        shanghai = datetime.now(ZoneInfo("Asia/Shanghai"))
        expected = {(shanghai + timedelta(minutes=delta)).strftime("%H:%M") for delta in (-1, 0, 1)}
        assert shown in expected, (shown, expected)
        assert page.locator("html").get_attribute("data-live") != "live"  # it really has no snapshot
    finally:
        context.close()
