"""Online booking on a phone (390x844) in headless Chromium: branch → service → day → slot → phone and consent → the
code and its QR; the language switches at once; then /book/<code> asks the number and cancels. No sideways scroll.

Screenshots (test-artifacts/screenshots/book-*.png), in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot

pytestmark = pytest.mark.browser
PHONE = "13812345678"


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


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"


def switch(page: Any, language: str) -> None:
    page.locator(f".lang[data-lang='{language}']").click()


def test_book_see_the_code_and_qr_then_cancel_in_both_languages(phone: Any, hall_server: HallServer) -> None:
    page = phone
    page.goto(f"{hall_server.url}/book")
    expect(page.locator("#branches .choice")).to_have_count(1)
    expect(page.locator("#branch-title")).to_have_text("选择营业厅")
    expect(page.locator("#branches")).to_contain_text("福田区")
    no_sideways_scroll(page)
    screenshot(page, "book-branch-zh")
    switch(page, "en")
    expect(page.locator("#branch-title")).to_have_text("Choose a branch")
    expect(page.locator("#branches")).to_contain_text("Futian District")
    screenshot(page, "book-branch-en")
    switch(page, "zh-CN")

    page.locator("#branches .choice").first.click()
    expect(page.locator("#services .choice")).to_have_count(2)
    page.locator("[data-service='PLAN']").click()
    page.locator(".day").nth(1).click()  # tomorrow: every slot still to come
    expect(page.locator(".day").nth(1)).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".slot[data-time='10:00']")).to_contain_text("剩 2 个")
    no_sideways_scroll(page)
    screenshot(page, "book-slots-zh")
    switch(page, "en")
    expect(page.locator(".slot[data-time='10:00']")).to_contain_text("2 left")
    screenshot(page, "book-slots-en")
    switch(page, "zh-CN")
    page.locator(".slot[data-time='10:00']").click()

    page.locator("#phone").fill(PHONE)
    page.locator("#book-it").click()  # without consent: refused with the reason in the page's language
    expect(page.locator("#error")).to_have_text("请勾选同意按上面所说的用途使用您的号码")
    switch(page, "en")
    page.locator("#book-it").click()
    expect(page.locator("#error")).to_contain_text("Please tick the box")
    screenshot(page, "book-phone-en")
    switch(page, "zh-CN")
    page.locator("#consent").check()
    page.locator("#book-it").click()

    expect(page.locator("#done-title")).to_have_text("预约成功")
    code = page.locator("#code").inner_text()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code), code
    expect(page.locator("#qr")).to_have_attribute("src", re.compile(r"/book/qr\.svg\?code="))
    page.wait_for_function("document.getElementById('qr').naturalWidth > 0")
    expect(page.locator("#facts")).to_contain_text("套餐变更")
    no_sideways_scroll(page)
    screenshot(page, "book-done-zh", full_page=True)
    switch(page, "en")
    expect(page.locator("#done-title")).to_have_text("You're booked")
    expect(page.locator("#facts")).to_contain_text("Plan changes")
    screenshot(page, "book-done-en", full_page=True)

    # the slot now has one seat left, for everyone
    tomorrow = requests.get(f"{hall_server.api}/booking/{BRANCH}/services", timeout=5).json()["days"][1]
    slots = requests.get(f"{hall_server.api}/booking/{BRANCH}/services/PLAN/slots?day={tomorrow}", timeout=5).json()
    assert {s["time"]: s["left"] for s in slots["slots"]}["10:00"] == 1

    page.locator("#manage-link").click()
    expect(page.locator("#find-title")).to_have_text("Find my booking")
    page.locator("#find-phone").fill("139 0000 0000")  # a wrong number shows nothing
    page.locator("#find-form button[type=submit]").click()
    expect(page.locator("#error")).to_have_text("No booking with this code and phone number")
    page.locator("#find-phone").fill(PHONE)
    page.locator("#find-form button[type=submit]").click()
    expect(page.locator("#done-title")).to_have_text("Your booking")
    expect(page.locator("#manage-actions")).to_be_visible()
    page.locator("#cancel").click()
    expect(page.locator("#confirm")).to_be_visible()
    screenshot(page, "book-cancel-en", full_page=True)
    page.locator("#cancel-yes").click()
    expect(page.locator("#done-title")).to_have_text("Booking cancelled")
    expect(page.locator("#manage-actions")).to_be_hidden()
    switch(page, "zh-CN")
    expect(page.locator("#done-title")).to_have_text("预约已取消")
    no_sideways_scroll(page)
    screenshot(page, "book-cancelled-zh", full_page=True)
    assert page.js_errors == []


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_link_naming_the_service_opens_at_its_days_and_an_unbookable_one_is_said(
        phone: Any, hall_server: HallServer, language: str) -> None:
    """``/book?branch=&service=`` (the kiosk's long-wait QR, the phone ticket's card) skips to the service's days;
    a service the branch does not book online (or no such service) leaves the choice open, with a note."""
    page = phone
    page.add_init_script(f"localStorage.setItem('hall-booking-language', '{language}')")
    page.goto(f"{hall_server.url}/book?branch={BRANCH}&service=BROADBAND")
    expect(page.locator("#step-slot")).to_be_visible()
    expect(page.locator("#picked-service")).to_contain_text("宽带业务" if language == "zh-CN" else "Home broadband")
    expect(page.locator(".day").first).to_have_attribute("aria-pressed", "true")
    no_sideways_scroll(page)
    shots = "/work/shots/bookmore"
    page.screenshot(path=f"{shots}/book-preselected-phone-{language}.png")
    page.locator("#back-from-slot").click()  # the other services are a tap away
    expect(page.locator("#services .choice")).to_have_count(2)
    expect(page.locator("#service-note")).to_be_hidden()

    for asked in ("BILL", "NO-SUCH"):  # BILL is not bookable online; NO-SUCH is nothing
        page.goto(f"{hall_server.url}/book?branch={BRANCH}&service={asked}")
        expect(page.locator("#step-service")).to_be_visible()
        expect(page.locator("#services .choice")).to_have_count(2)
        expect(page.locator("#service-note")).to_be_visible()
        expect(page.locator("#service-note")).to_have_text(
            "链接中的业务不能在本营业厅网上预约，请在下面选择一项业务。" if language == "zh-CN"
            else "The service in the link cannot be booked online at this branch; please choose one below.")
    no_sideways_scroll(page)
    page.screenshot(path=f"{shots}/book-service-ignored-phone-{language}.png")
    assert not page.js_errors, page.js_errors


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_customer_sees_that_the_booking_was_checked_in(phone: Any, hall_server: HallServer, tmp_path: Any,
                                                           language: str) -> None:
    """Someone checks the booking in at the kiosk by its number: the customer's own booking page says when and with
    which ticket, and that staff can undo it."""
    from tests.browser.test_checkin import book_by_api, move_slot

    code = book_by_api(hall_server, "13900006666")
    move_slot(tmp_path / "hall.sqlite3", code, 5)
    checked = requests.post(f"{hall_server.api}/branches/{BRANCH}/checkin", timeout=5,
                            json={"phone": "13900006666"})
    assert checked.status_code == 200, checked.text
    number = checked.json()["ticket"]["number"]
    page = phone
    page.add_init_script(f"localStorage.setItem('hall-booking-language', '{language}')")
    page.goto(f"{hall_server.url}/book/{code}")
    page.locator("#find-phone").fill("139 0000 6666")
    page.locator("#find-form button[type=submit]").click()
    note = page.locator("#checked-in")
    expect(note).to_be_visible()
    expect(note).to_contain_text(number)
    expect(note).to_contain_text("如果不是您本人签到" if language == "zh-CN" else "If that was not you")
    no_sideways_scroll(page)
    page.screenshot(path=f"/work/shots/bookmore/book-checked-in-phone-{language}.png", full_page=True)
    assert not page.js_errors, page.js_errors
