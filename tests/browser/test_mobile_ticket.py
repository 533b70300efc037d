"""The customer's ticket on a phone (opened from the kiosk's QR code), in headless Chromium.

Screenshots (test-artifacts/screenshots/mobile-*.png): waiting, "your turn", "you're next", missed call,
rating (scores, then the chips of the chosen score) and the cancelled ticket, in Chinese and English.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.kiosk_helpers import (
    assert_language,
    assert_touch_targets,
    confirmed_token,
    open_kiosk,
    opening_soon,
    running_hall,
    set_key,
    ticket,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized touch browser (its own context: no cookies shared with the kiosk)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.add_init_script("""
      window.__vibrations = [];
      navigator.vibrate = (pattern) => { window.__vibrations.push(pattern); return true; };
    """)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


def open_ticket(phone: Any, server: HallServer, token: str) -> Any:
    phone.goto(f"{server.url}/t/{token}")
    expect(phone.locator("html")).to_have_attribute("data-live", "live", timeout=10_000)
    return phone


def staff_act(server: HallServer, session: requests.Session, ticket_id: int, action: str) -> None:
    response = session.post(f"{server.api}/branches/{BRANCH}/tickets/{ticket_id}/{action}", json={}, timeout=5)
    assert response.ok, response.text


def test_kiosk_ticket_then_your_turn_on_the_phone_within_a_second(
        hall_server: HallServer, page: Any, phone: Any) -> None:
    staff = hall_server.sign_in("2")
    open_kiosk(page, hall_server)
    page.locator('#home-tiles .tile[data-service="BILL"]').click()
    token = confirmed_token(page)
    assert len(token) >= 24  # 18 random bytes: unguessable

    open_ticket(phone, hall_server, token)
    expect(phone.locator("#number")).to_have_text("A001")
    expect(phone.locator("#service")).to_have_text("缴费充值")
    expect(phone.locator("#ahead")).to_have_text("0 人")
    expect(phone.locator("#banner")).to_contain_text("您是下一位")  # nobody ahead
    assert_language(phone, "zh-CN", "#phone")
    assert_touch_targets(phone, "body")
    screenshot(phone, "mobile-next-zh")

    started = time.monotonic()
    called = hall_server.call_next(staff, "2")
    assert called["ticket"]["number"] == "A001"
    expect(phone.locator("#banner-title")).to_have_text("轮到您了！", timeout=1000)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"'your turn' showed {elapsed:.2f} s after the call"
    expect(phone.locator("#banner-text")).to_have_text("请到 2号窗口 办理")
    expect(phone.locator("#waiting-actions")).to_be_hidden()
    phone.wait_for_function("() => window.__vibrations.length >= 2")  # "you're next", then "your turn"
    screenshot(phone, "mobile-turn-zh")

    phone.click('.lang[data-lang="en"]')
    expect(phone.locator("#banner-title")).to_have_text("It's your turn!")
    expect(phone.locator("#banner-text")).to_have_text("Please go to Counter 2")
    assert_language(phone, "en", "#phone")
    screenshot(phone, "mobile-turn-en")

    staff_act(hall_server, staff, called["ticket"]["id"], "recall")
    expect(phone.locator("#banner-title")).to_have_text("Calling again!", timeout=2000)
    assert not phone.js_errors


def test_live_position_and_you_are_next(hall_server: HallServer, phone: Any) -> None:
    staff = hall_server.sign_in("2")
    hall_server.issue("BILL")
    hall_server.issue("BILL")
    mine = hall_server.issue("BILL")
    phone.goto(f"{hall_server.url}/t/{mine['token']}?lang=en")
    expect(phone.locator("#ahead")).to_have_text("2", timeout=10_000)
    expect(phone.locator("#estimate")).to_contain_text("min")
    expect(phone.locator("#banner")).to_be_hidden()
    expect(phone.locator("#state-line")).to_have_text("Waiting — watch for your number")
    assert_language(phone, "en", "#phone")
    # the alerts button: a muted speaker until tapped, then a sounding one
    expect(phone.locator("#sound .sound-icon .muted")).to_be_visible()
    expect(phone.locator("#sound .sound-icon .waves")).to_be_hidden()
    phone.click("#sound")
    expect(phone.locator("#sound")).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("#sound .sound-icon .waves")).to_be_visible()
    expect(phone.locator("#sound .sound-icon .muted")).to_be_hidden()
    screenshot(phone, "mobile-waiting-en")

    first = hall_server.call_next(staff, "2")
    staff_act(hall_server, staff, first["ticket"]["id"], "start")
    staff_act(hall_server, staff, first["ticket"]["id"], "finish")
    hall_server.call_next(staff, "2")  # the second one is called now: I'm next
    expect(phone.locator("#ahead")).to_have_text("0", timeout=3000)
    expect(phone.locator("#banner")).to_have_attribute("data-kind", "next")
    expect(phone.locator("#banner-title")).to_have_text("You're next")
    screenshot(phone, "mobile-next-en")
    phone.click('.lang[data-lang="zh-CN"]')
    expect(phone.locator("#banner-title")).to_have_text("您是下一位")
    screenshot(phone, "mobile-next-zh-2")


def test_leaving_cancels_the_ticket(hall_server: HallServer, phone: Any) -> None:
    mine = hall_server.issue("PLAN")
    open_ticket(phone, hall_server, mine["token"])
    phone.tap("#leave")
    expect(phone.locator("#confirm-leave")).to_be_visible()
    phone.tap("#leave-no")
    expect(phone.locator("#confirm-leave")).to_be_hidden()
    assert ticket(hall_server, mine["token"])["state"] == "waiting"
    phone.tap("#leave")
    phone.tap("#leave-yes")
    expect(phone.locator("#state-line")).to_have_text("号票已取消")
    expect(phone.locator("#waiting-actions")).to_be_hidden()
    assert ticket(hall_server, mine["token"])["state"] == "cancelled"
    screenshot(phone, "mobile-cancelled-zh")


def finished_on_the_phone(hall_server: HallServer, phone: Any) -> dict[str, Any]:
    """A ticket served and finished at counter 2 while its page is open on the phone."""
    staff = hall_server.sign_in("2")
    mine = hall_server.issue("BILL")
    open_ticket(phone, hall_server, mine["token"])
    called = hall_server.call_next(staff, "2")
    staff_act(hall_server, staff, called["ticket"]["id"], "start")
    expect(phone.locator("#state-line")).to_have_text("正在 2号窗口 为您办理", timeout=3000)
    staff_act(hall_server, staff, called["ticket"]["id"], "finish")
    expect(phone.locator("#state-line")).to_have_text("办理完成，感谢您的光临", timeout=3000)
    return mine


def test_rating_on_the_phone_offers_the_chips_of_the_chosen_score_and_a_comment(
        hall_server: HallServer, phone: Any) -> None:
    mine = finished_on_the_phone(hall_server, phone)
    scores = phone.locator("#scores .score")
    expect(scores).to_have_count(3, timeout=5000)
    expect(scores.first).to_have_text("非常满意")
    expect(phone.locator("#rating-details")).to_be_hidden()  # nothing to add before a score

    scores.first.tap()  # a score alone sends nothing yet: the chips of that score follow
    expect(phone.locator("#rating-details")).to_be_visible()
    expect(scores.first).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("#reasons-title")).to_have_text("谢谢！哪些方面让您满意？（可多选）")
    expect(phone.locator("#chips .chip")).to_have_text(["热情周到", "办理高效", "专业耐心", "问题已解决"])
    assert requests.get(f"{hall_server.api}/tickets/{mine['token']}/rating", timeout=5).json()["rated"] is False
    phone.locator("#chips .chip[data-reason=FAST]").tap()
    assert_touch_targets(phone, "body")
    screenshot(phone, "mobile-rating-chips-zh", full_page=True)

    # a change of mind: the dissatisfied score offers its own chips (and drops the other score's)
    phone.locator("#scores .score[data-score='1']").tap()
    expect(phone.locator("#reasons-title")).to_have_text("非常抱歉！请告诉我们哪里做得不好（可多选）")
    expect(phone.locator("#chips .chip")).to_have_count(5)
    expect(phone.locator("#chips .chip[aria-pressed=true]")).to_have_count(0)
    phone.locator("#chips .chip[data-reason=WAIT_LONG]").tap()
    phone.locator("#chips .chip[data-reason=UNCLEAR]").tap()
    phone.locator("#chips .chip[data-reason=UNCLEAR]").tap()  # and back off
    phone.fill("#comment", "  排队四十分钟  ")
    phone.click('.lang[data-lang="en"]')
    expect(phone.locator("#reasons-title")).to_have_text("We are sorry. What went wrong? (choose any)")
    expect(phone.locator("#chips .chip[aria-pressed=true]")).to_have_text(["Waited too long"])
    expect(phone.locator("#comment")).to_have_value("  排队四十分钟  ")
    screenshot(phone, "mobile-rating-chips-en", full_page=True)

    phone.locator("#rate-send").tap()
    expect(phone.locator("#rating-thanks")).to_have_text(
        "We are sorry. Thank you for telling us — the duty manager will look into what went wrong.", timeout=5000)
    expect(phone.locator("#rating-details")).to_be_hidden()
    state = requests.get(f"{hall_server.api}/tickets/{mine['token']}/rating", timeout=5).json()
    assert (state["rating"]["score"], state["rating"]["reasons"], state["rating"]["comment"],
            state["rating"]["channel"]) == (1, ["WAIT_LONG"], "排队四十分钟", "mobile")
    phone.reload()
    expect(phone.locator("#rating-thanks")).to_have_text("You have already rated this service. Thank you!",
                                                        timeout=10_000)
    assert not phone.js_errors


def test_a_satisfied_rating_with_no_chips_or_comment_is_two_taps(hall_server: HallServer, phone: Any) -> None:
    mine = finished_on_the_phone(hall_server, phone)
    scores = phone.locator("#scores .score")
    expect(scores).to_have_count(3, timeout=5000)
    screenshot(phone, "mobile-rating-zh")
    scores.nth(1).tap()
    phone.locator("#rate-send").tap()
    expect(phone.locator("#rating-thanks")).to_have_text("感谢您的评价！", timeout=5000)
    state = requests.get(f"{hall_server.api}/tickets/{mine['token']}/rating", timeout=5).json()
    assert (state["rating"]["score"], state["rating"]["reasons"], state["rating"]["comment"]) == (2, [], None)
    assert not phone.js_errors


def test_missed_call_and_rejoining(hall_server: HallServer, phone: Any) -> None:
    staff = hall_server.sign_in("2")
    mine = hall_server.issue("BILL")
    phone.goto(f"{hall_server.url}/t/{mine['token']}?lang=en")
    expect(phone.locator("html")).to_have_attribute("data-live", "live", timeout=10_000)
    called = hall_server.call_next(staff, "2")
    expect(phone.locator("#banner")).to_be_visible(timeout=2000)
    staff_act(hall_server, staff, called["ticket"]["id"], "no-show")
    expect(phone.locator("#state-line")).to_have_text("You missed your call", timeout=2000)
    expect(phone.locator("#banner")).to_be_hidden()
    expect(phone.locator("#reactivate")).to_be_visible()
    screenshot(phone, "mobile-missed-en")
    phone.tap("#reactivate")
    expect(phone.locator("#state-line")).to_have_text("Waiting — watch for your number", timeout=3000)
    expect(phone.locator("#note")).to_contain_text("back in the queue")
    assert ticket(hall_server, mine["token"])["state"] == "waiting"


def test_the_page_shows_only_its_own_ticket(hall_server: HallServer, phone: Any) -> None:
    staff = hall_server.sign_in("2")
    other = hall_server.issue("BILL")  # A001: someone else
    mine = hall_server.issue("BILL")  # A002
    frames: list[str] = []
    phone.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    response = phone.goto(f"{hall_server.url}/t/{mine['token']}")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    expect(phone.locator("html")).to_have_attribute("data-live", "live", timeout=10_000)
    hall_server.call_next(staff, "2")  # calls A001, the other customer
    expect(phone.locator("#banner-title")).to_have_text("您是下一位", timeout=3000)
    phone.wait_for_timeout(500)
    assert frames, "the page should be live over a WebSocket"
    assert not any("A001" in frame or other["token"] in frame for frame in frames)
    assert "A001" not in phone.content()

    missing = phone.goto(f"{hall_server.url}/t/{mine['token'][:-2]}xx")
    assert missing.status == 404
    expect(phone.locator("body")).to_contain_text("找不到这张号票")
    expect(phone.locator("body")).to_contain_text("Ticket not found")
    assert requests.get(f"{hall_server.url}/t/not-a-token/qr.svg", timeout=5).status_code == 404


def test_the_phone_page_speaks_the_language_chosen_at_the_kiosk_until_the_customer_switches(
        hall_server: HallServer, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="en-US", timezone_id="Asia/Shanghai")
    phone = context.new_page()
    try:
        chosen_chinese = hall_server.issue("BILL", language="zh-CN")
        open_ticket(phone, hall_server, chosen_chinese["token"])
        expect(phone.locator("#state-line")).to_have_text("排队中，请留意叫号")
        assert_language(phone, "zh-CN", "#phone")

        phone.click('.lang[data-lang="en"]')  # the customer switches: kept for this ticket on this phone
        phone.reload()
        expect(phone.locator("html")).to_have_attribute("data-live", "live", timeout=10_000)
        assert_language(phone, "en", "#phone")

        chosen_english = hall_server.issue("BILL", language="en")
        open_ticket(phone, hall_server, chosen_english["token"])
        assert_language(phone, "en", "#phone")
        another_chinese = hall_server.issue("PLAN", language="zh-CN")
        open_ticket(phone, hall_server, another_chinese["token"])  # an English phone, an earlier switch elsewhere
        assert_language(phone, "zh-CN", "#phone")
    finally:
        context.close()


def test_a_ticket_expired_at_the_days_end_says_when_tickets_are_issued_again(tmp_path: Path, phone: Any) -> None:
    closes = opening_soon()  # the next whole minute, on the branch's clock
    if closes.hour == 0 and closes.minute == 0:
        pytest.skip("the branch cannot close at midnight of the day it opened; run again in a minute")

    def closing_now(text: str) -> str:
        text = set_key(text, "hours", f'"00:00-{closes:%H:%M}"', after='code = "SZ-FUTIAN"')
        return set_key(text, "day_end_grace_min", "0", after="[queue]")

    with running_hall(tmp_path, closing_now) as server:
        waiting = server.issue("BILL")
        open_ticket(phone, server, waiting["token"])
        expect(phone.locator("#state-line")).to_have_text("排队中，请留意叫号")
        expect(phone.locator("#next-opening")).to_be_hidden()
        # the day ends at the close (no grace): the ticket expires live, and the page says when to come back
        expect(phone.locator("#state-line")).to_contain_text("此号票已失效", timeout=90_000)
        expect(phone.locator("#next-opening")).to_have_text("明天 00:00 开始取号，届时请到取号机重新取号。",
                                                           timeout=10_000)
        screenshot(phone, "mobile-expired-zh")
        phone.click('.lang[data-lang="en"]')
        expect(phone.locator("#next-opening")).to_have_text(
            "Tickets from 00:00 tomorrow: please take a new one at the kiosk then.")
        assert_language(phone, "en", "#phone")
        screenshot(phone, "mobile-expired-en")
        phone.reload()  # and so it stays when the customer opens the page again
        expect(phone.locator("#next-opening")).to_contain_text("Tickets from 00:00 tomorrow", timeout=10_000)
        assert ticket(server, waiting["token"])["service_opening"]["open"] is False
        assert not phone.js_errors
