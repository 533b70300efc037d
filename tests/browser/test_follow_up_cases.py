"""Follow-up cases end to end, in headless Chromium against a real server whose cases are due after 9 seconds
(``[follow_ups] answer_hours = 0.0025``): a dissatisfied rating on the pad opens a case that appears on the manager
page; once past due it raises an alert whose "Open the case" opens it; the manager assigns it, adds a note and
resolves it, and the alert ends. A member of staff records a complaint from the console. Screenshots on a tablet
(1280x800) and a phone (390x844) in both languages go to test-artifacts/screenshots/ (and $HALL_SHOTS)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from server.launcher import ServerProcess, write_config
from tests.browser.conftest import BRANCH, HallServer
from tests.browser.test_device_alerts import PHONE, TABLET, fits, manager
from tests.browser.test_device_pairing import shot
from tests.browser.test_rating_pad import open_pad, serve
from tests.browser.test_staff_console import open_console

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
DUE_S = 9  # 0.0025 h


@pytest.fixture
def quick_server(tmp_path: Path) -> Iterator[HallServer]:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"^answer_hours = .*$", "answer_hours = 0.0025", text, count=1, flags=re.M),
                      encoding="utf-8")
    with ServerProcess(config) as process:
        yield HallServer(process)


def test_a_pad_rating_becomes_a_case_that_goes_overdue_and_is_resolved(quick_server: HallServer,
                                                                        browser: Any) -> None:
    server = quick_server
    contexts: list[Any] = []
    try:
        pad_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                          timezone_id="Asia/Shanghai", has_touch=True)
        contexts.append(pad_context)
        staff = server.sign_in("3", "li.na")
        pad = open_pad(pad_context, server)
        server.issue("SIM")
        ticket = serve(server, staff)
        pad.click(".score[data-score='1']")
        pad.click(".chip[data-reason=SLOW]")
        pad.click("#send")
        expect(pad.locator("#thanks-text")).to_have_text("很抱歉。您的反馈已转给值班经理，我们会查明原因、改进服务。",
                                                         timeout=TIMEOUT)
        opened = time.monotonic()

        zh_context, zh = manager(browser, server, "zh-CN", TABLET)
        contexts.append(zh_context)
        item = zh.locator("#follow-ups li").first
        expect(item).to_contain_text(ticket["number"], timeout=TIMEOUT)
        expect(item).to_contain_text("评分 1")
        expect(item).to_contain_text("办理速度慢")
        expect(item).to_contain_text("负责人：未指派")

        # past due: the next refresh (any event) raises the alert
        time.sleep(max(0.0, DUE_S + 1 - (time.monotonic() - opened)))
        server.issue("BILL")
        alert = zh.locator('#alert-list li[data-key^="hall:follow_up_overdue:"]')
        expect(alert).to_contain_text("已超过处理期限", timeout=TIMEOUT)
        expect(alert).to_contain_text("尚未指派负责人")
        zh.click("#cases-card [data-show=overdue]")
        expect(zh.locator("#follow-ups li.overdue")).to_have_count(1, timeout=TIMEOUT)
        zh.evaluate("window.scrollTo(0, 0)")
        shot(zh, "follow-up-overdue-alert-zh-1280x800")
        alert.locator("button[data-action=open_case]").click()

        dialog = zh.locator("#case-dialog")
        expect(dialog).to_be_visible()
        expect(zh.locator("#case-title")).to_contain_text("待处理 · 已超时")
        zh.select_option("#case-assign-form select[name=owner]", "li.na")
        zh.click("#case-assign-form button[type=submit]")
        expect(zh.locator("#case-facts")).to_contain_text("李娜 Li Na", timeout=TIMEOUT)
        zh.fill("#case-note-form textarea", "已电话联系客户，说明原因")
        zh.click("#case-note-form button[type=submit]")
        expect(zh.locator("#case-thread li")).to_have_count(2, timeout=TIMEOUT)  # assigned, note
        expect(zh.locator("#case-thread")).to_contain_text("已电话联系客户，说明原因")
        shot(zh, "follow-up-case-zh-1280x800")
        zh.select_option("#case-resolve-form select[name=outcome]", "explained")
        zh.click("#case-resolve-form button[type=submit]")  # empty note: refused in the page, with a reason
        expect(zh.locator("#case-error")).to_have_text("请填写内容")
        zh.fill("#case-resolve-form textarea", "客户接受解释")
        zh.click("#case-resolve-form button[type=submit]")
        expect(zh.locator("#case-title")).to_contain_text("已解决", timeout=TIMEOUT)
        expect(zh.locator("#case-facts")).to_contain_text("已解释，客户接受")
        expect(zh.locator("#case-reopen-form")).to_be_visible()
        expect(alert).to_have_count(0, timeout=TIMEOUT)  # resolved: the alert ends
        zh.click("#case-close")

        en_context, en = manager(browser, server, "en", PHONE)
        contexts.append(en_context)
        en.click("#cases-card [data-show=resolved]")
        item = en.locator("#follow-ups li").first
        expect(item).to_contain_text("Explained, customer accepted", timeout=TIMEOUT)
        expect(item).to_contain_text("Li Na")
        en.locator("#cases-card").scroll_into_view_if_needed()
        assert fits(en), "the phone page scrolls sideways"
        shot(en, "follow-up-cases-en-390x844")
        item.locator("button.case-open").click()
        expect(en.locator("#case-title")).to_contain_text("Follow-up #1 · Resolved")
        expect(en.locator("#case-thread")).to_contain_text("resolved")
        assert fits(en), "the case view scrolls sideways on a phone"
        shot(en, "follow-up-case-en-390x844")
        for page, suffix, size in ((zh, "zh", PHONE), (en, "en", TABLET)):
            page.set_viewport_size(size)
            page.locator("#cases-card").scroll_into_view_if_needed()
            assert fits(page)
            shot(page, f"follow-up-cases-{suffix}-{size['width']}x{size['height']}")
        for page in (zh, en, pad):
            assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        for context in contexts:
            context.close()


def test_staff_record_a_complaint_from_the_console(hall_server: HallServer, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en", timezone_id="Asia/Shanghai")
    try:
        page = open_console(context, hall_server, "zhang.wei", "2", query="&lang=en")
        issued = hall_server.issue("BILL")
        page.click("#call-next")
        expect(page.locator("#current-number")).to_have_text(issued["number"], timeout=TIMEOUT)
        page.click("button[data-action=complaint]")
        expect(page.locator("#complaint-title")).to_have_text(f"Record a complaint about {issued['number']}")
        page.click("#complaint-form button[type=submit]")
        expect(page.locator("#complaint-error")).to_have_text("Write down what the customer said")
        page.locator("#complaint-categories label", has_text="Fees and charges").click()
        page.fill("#complaint-words", "Charged twice for the SIM")
        page.fill("#complaint-phone", "138 1234 5678")
        page.click("#complaint-form button[type=submit]")
        expect(page.locator("#complaint-error")).to_contain_text("Please tick the box", timeout=TIMEOUT)
        page.check("#complaint-consent")
        shot(page, "staff-console-complaint-en-1280x800")
        page.click("#complaint-form button[type=submit]")
        expect(page.locator("#complaint-dialog")).to_be_hidden(timeout=TIMEOUT)
        manager_session = hall_server.staff("manager", "demo-manager")
        [case] = manager_session.get(f"{hall_server.api}/branches/{BRANCH}/follow-ups").json()["follow_ups"]
        assert (case["source"], case["category"], case["ticket"]["number"], case["counter"]) == (
            "complaint", "fees", issued["number"], "2")
        assert case["contact"]["phone"] == "138****5678"
        assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        context.close()
