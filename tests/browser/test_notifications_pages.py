"""Text alerts and webhooks in the browser: the phone page's opt-in (number, consent, then the number masked and
"stop messages") with the test SMS gateway receiving "3 ahead" in the customer's language; the manager's webhooks
card (make one, see its secret once, send a test that a local listener receives signed, read the delivery log).

Screenshots (test-artifacts/screenshots/notify-*.png): the phone page at 390x844 and the card at 1280x800, in
Chinese and English.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from server.domain.notifications import SIGNATURE_HEADER, verify
from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.kiosk_helpers import assert_language, assert_touch_targets, running_hall
from tests.browser.test_manager import sign_in_as_manager
from tests.integration.test_notifications import Listener

pytestmark = pytest.mark.browser


@pytest.fixture
def gateway() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture
def notifying_hall(tmp_path: Path, gateway: Listener) -> Iterator[HallServer]:
    def tweak(text: str) -> str:
        return text + (f'\n[notifications]\nsms_gateway_url = "{gateway.url}"\nsms_sender = "HALL"\n'
                       "webhook_allow_loopback = true\nnotify_at_ahead = [3, 0]\n")

    with running_hall(tmp_path, tweak) as server:
        yield server


def phone_page(browser: Any, language: str) -> Any:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale=language, timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return page


def wait_for(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_phone_page_opts_in_to_text_alerts_and_stops_them(browser: Any, notifying_hall: HallServer,
                                                              gateway: Listener, language: str) -> None:
    server = notifying_hall
    staff = server.sign_in("2")
    before = [server.issue("BILL") for _ in range(4)]
    mine = server.issue("BILL")
    phone = phone_page(browser, language)
    try:
        phone.goto(f"{server.url}/t/{mine['token']}?lang={language}")
        expect(phone.locator("html")).to_have_attribute("data-live", "live", timeout=10_000)
        expect(phone.locator("#sms")).to_be_visible()
        phone.click("#sms-toggle")
        phone.fill("#sms-phone", "138 1234 5678")
        phone.click("#sms-send")  # no consent yet: the server's reason, in the page's language
        expect(phone.locator("#sms-error")).to_have_text(
            "Tick the box to agree that the hall texts this number about your ticket" if language == "en"
            else "请勾选同意营业厅用此号码发送排队提醒")
        phone.check("#sms-consent")
        expect(phone.locator("#sms-error")).to_be_hidden()  # corrected: the old reason goes
        assert_language(phone, language, "#sms")
        assert_touch_targets(phone, "#sms")
        phone.locator("#sms").scroll_into_view_if_needed()
        screenshot(phone, f"notify-phone-form-{language}")
        phone.click("#sms-send")
        expect(phone.locator("#sms-to")).to_contain_text("138****5678")
        expect(phone.locator("#sms-phone")).to_have_value("")
        assert_language(phone, language, "#sms")
        screenshot(phone, f"notify-phone-on-{language}")

        for ticket in before[:1]:  # 4 ahead -> 3 ahead: the first text
            staff.post(f"{server.api}/branches/{BRANCH}/counters/2/call", json={"ticket_id": ticket["id"]})
            for action in ("start", "finish"):
                staff.post(f"{server.api}/branches/{BRANCH}/tickets/{ticket['id']}/{action}", json={})
        wait_for(lambda: gateway.received)
        sent = json.loads(gateway.received[0]["body"])
        assert sent["to"] == "+8613812345678" and sent["sender"] == "HALL"
        assert ("3 ahead of you" if language == "en" else "您前面还有 3 位") in sent["text"]

        phone.click("#sms-stop")
        expect(phone.locator("#sms-to")).to_have_text(
            "Text messages stopped; your number was deleted." if language == "en" else "已停止短信提醒，号码已删除。")
        state = phone.request.get(f"{server.api}/tickets/{mine['token']}/sms").json()
        assert not state["subscribed"] and state["phone"] is None
        assert phone.js_errors == []
    finally:
        phone.context.close()


def test_the_manager_makes_tests_and_watches_a_webhook(browser: Any, notifying_hall: HallServer) -> None:
    server = notifying_hall
    listener = Listener(answers=[500])
    try:
        for language in ("zh-CN", "en"):
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=language,
                                          timezone_id="Asia/Shanghai")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            try:
                sign_in_as_manager(page, server, language)
                page.locator("#webhooks-card").scroll_into_view_if_needed()
                page.click("#webhook-new")
                # the booking events are listed with the ticket ones, named in the page's language
                labels = {"zh-CN": ["新预约", "预约改期", "预约取消", "预约签到"],
                          "en": ["Booking made", "Booking changed", "Booking cancelled", "Booking checked in"]}
                for value, label in zip(("booking.made", "booking.changed", "booking.cancelled",
                                         "booking.checked_in"), labels[language], strict=True):
                    chip = page.locator(f'#webhook-events label:has(input[value="{value}"])')
                    expect(chip).to_have_text(label)
                page.screenshot(path=f"/work/shots/bookmore/webhook-events-tablet-{language}.png")
                page.fill("#webhook-form input[name=name]", "客户系统" if language == "zh-CN" else "CRM")
                page.fill("#webhook-form input[name=url]", "http://169.254.169.254/latest")
                page.locator('#webhook-events input[value="ticket.called"]').check()
                page.click("#webhook-form button[type=submit]")
                expect(page.locator("#webhook-form-error")).to_contain_text(
                    "云元数据" if language == "zh-CN" else "cloud metadata")
                page.fill("#webhook-form input[name=url]", listener.url)
                page.locator('#webhook-events input[value="ticket.issued"]').check()
                assert_language(page, language, "#webhook-dialog")
                page.click("#webhook-form button[type=submit]")
                expect(page.locator("#webhook-made")).to_be_visible()
                secret = page.input_value("#webhook-secret")
                assert secret.startswith("whsec_")
                row = page.locator("#webhooks tbody tr.webhook").first
                row.get_by_role("button", name="发送测试" if language == "zh-CN" else "Send test").click()
                expected = 1 if language == "zh-CN" else 3
                wait_for(lambda expected=expected: len(listener.received) >= expected)
                got = listener.received[-1]
                assert verify(secret, got["body"], got["headers"][SIGNATURE_HEADER], int(time.time()))
                if language == "zh-CN":  # the first test met a 500: retried 10 s later
                    wait_for(lambda: len(listener.received) >= 2, 20)
                row.get_by_role("button", name="推送记录" if language == "zh-CN" else "Delivery log").click()
                expect(page.locator("#webhook-log tbody tr.delivery.sent")).to_have_count(1, timeout=10_000)
                page.click("#webhook-secret-done")
                assert_language(page, language, "#webhooks-card")
                assert_touch_targets(page, "#webhooks-card")
                page.locator("#webhooks-card").scroll_into_view_if_needed()
                screenshot(page, f"notify-manager-webhooks-{language}-1280x800")
                assert errors == []
            finally:
                context.close()
    finally:
        listener.close()
