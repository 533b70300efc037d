"""Hall alerts on the manager page, in headless Chromium against a real server: a VIP ticket is issued while no counter
serves VIP; both manager pages (Chinese on a tablet, English on a phone) show the alert as it is pushed, within the
live loop's second; a manager acknowledges it, posts the prefilled notice from it and opens the stop dialog from it;
it clears when the VIP counter opens. Screenshots at 1280x800 and 390x844 in both languages go to
test-artifacts/screenshots/ (and to $HALL_SHOTS when set)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer
from tests.browser.test_device_alerts import PHONE, TABLET, fits, manager
from tests.browser.test_device_pairing import shot

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
KEY = '#alert-list li[data-key="hall:unserved_waiting:VIP"]'
# An issue is refreshed within the live loop's coalescing second of it (urgent changes at once); the margin is for
# two shared cores running the server and two browser pages.
WITHIN_S = 1.5


def test_an_alert_appears_is_acknowledged_acted_on_and_clears(hall_server: HallServer, browser: Any) -> None:
    server = hall_server
    contexts: list[Any] = []
    try:
        zh_context, zh = manager(browser, server, "zh-CN", TABLET)
        en_context, en = manager(browser, server, "en", PHONE)
        contexts += [zh_context, en_context]
        for page in (zh, en):
            expect(page.locator("#alerts")).to_be_hidden()

        started = time.monotonic()
        server.issue("VIP", by=server.staff())  # no counter serves VIP now
        zh.wait_for_selector(KEY, timeout=TIMEOUT)
        assert time.monotonic() - started < WITHIN_S
        expect(zh.locator(KEY)).to_contain_text("政企与VIP业务：1 人等候，但没有开启的窗口办理")
        expect(zh.locator(KEY)).to_contain_text("请安排人员开启8号 VIP室")
        expect(en.locator(KEY)).to_contain_text("Business & VIP: 1 waiting, and no open counter serves it",
                                                timeout=TIMEOUT)
        expect(en.locator(KEY)).to_contain_text("Have someone open Counter 8 (VIP room).")
        expect(zh.locator(KEY)).to_have_class(re.compile(r"\bcritical\b"))
        for page in (zh, en):
            expect(page.locator("#alerts-count")).to_be_visible()
            assert page.title().startswith("(1) ")
        assert fits(en), "the phone page scrolls sideways"
        for page, suffix in ((zh, "zh"), (en, "en")):
            for viewport, size in ((TABLET, "1280x800"), (PHONE, "390x844")):
                page.set_viewport_size(viewport)
                page.evaluate("window.scrollTo(0, 0)")
                assert fits(page), f"{suffix} at {size} scrolls sideways"
                shot(page, f"manager-hall-alerts-{suffix}-{size}")
        zh.set_viewport_size(TABLET)
        en.set_viewport_size(PHONE)

        zh.locator(KEY).locator("button.alert-ack").click()  # acknowledged on this page only
        expect(zh.locator(KEY)).to_have_class(re.compile(r"\backnowledged\b"))
        expect(zh.locator(KEY)).to_contain_text("已确认")
        expect(en.locator(KEY).locator("button.alert-ack")).to_be_visible()

        zh.locator(KEY).locator('button[data-action="stop_issuing"]').click()  # the issuing dialog, for VIP
        expect(zh.locator("#stop-dialog")).to_be_visible()
        expect(zh.locator('#stop-form select[name="service"]')).to_have_value("VIP")
        zh.locator("#stop-cancel").click()

        en.locator(KEY).locator('button[data-action="post_notice"]').click()  # prefilled, both languages
        expect(en.locator("#notice-dialog")).to_be_visible()
        expect(en.locator('#notice-form textarea[name="zh"]')).to_have_value(re.compile("政企与VIP业务暂时等候较长"))
        expect(en.locator('#notice-form textarea[name="en"]')).to_have_value(re.compile("Business & VIP: the wait"))
        shot(en, "manager-hall-alerts-notice-en-390x844")
        en.locator("#notice-submit").click()
        expect(en.locator("#notice-dialog")).to_be_hidden()
        expect(en.locator(KEY)).to_contain_text("Notice posted")
        notices = server.staff("manager", "demo-manager").get(f"{server.api}/branches/{BRANCH}/notices").json()
        assert any("Business & VIP: the wait" in n["text"]["en"] for n in notices["notices"])

        en.locator("#lang").click()  # every list redraws in the other language at once
        expect(en.locator(KEY)).to_contain_text("政企与VIP业务：1 人等候")
        expect(en.locator(KEY)).to_contain_text("已发布公告")
        expect(en.locator("#alerts-title")).to_have_text("告警")
        shot(en, "manager-hall-alerts-switched-zh-390x844")
        en.locator("#lang").click()

        server.sign_in("8")  # the VIP room opens: the alert ends on every page
        for page in (zh, en):
            expect(page.locator(KEY)).to_have_count(0, timeout=TIMEOUT)
        # what may stand now are warnings: the one counter's 15-minute VIP service holds up VIP and PLAN tickets
        keys = [item.get_attribute("data-key") or "" for item in en.locator("#alert-list li").all()]
        assert all(key.startswith("hall:wait_will_pass_target:") for key in keys), keys
        shot(en, "manager-hall-alerts-cleared-en-390x844")
        for page in (zh, en):
            assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        for context in contexts:
            context.close()


def test_equipment_and_hall_alerts_share_the_list_in_severity_order(hall_server: HallServer, browser: Any) -> None:
    """A warning (the wait will pass its target) is listed after a critical one (tickets nobody serves)."""
    server = hall_server
    context, page = manager(browser, server, "en", TABLET)
    try:
        staff = server.staff()
        server.issue("VIP", by=staff)
        server.sign_in("2")  # BILL and PLAN
        for _ in range(12):  # more BILL tickets than one counter serves within the target
            server.issue("BILL")
        items = page.locator("#alert-list li")
        expect(items.first).to_have_attribute("data-key", "hall:unserved_waiting:VIP", timeout=TIMEOUT)
        classes = [item.get_attribute("class") or "" for item in items.all()]
        ranks = [0 if "critical" in c else 1 for c in classes]
        assert ranks == sorted(ranks)
        assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        context.close()
