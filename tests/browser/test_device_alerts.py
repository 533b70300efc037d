"""Equipment alerts on the manager page, in headless Chromium against a real server: a kiosk's printer fails and a
paired rating pad goes silent; both manager pages (Chinese on a tablet, English on a phone) show the alerts as they
are pushed, a manager acknowledges one (remembered in that browser), and the pad's alert clears itself when the pad
is heard again. Screenshots at 1280x800 and 390x844 in both languages go to test-artifacts/screenshots/ (and to
$HALL_SHOTS when set)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import BRANCH, HallServer
from tests.browser.kiosk_helpers import kiosk_k1, running_hall, set_key
from tests.browser.test_device_pairing import shot, watched
from tests.integration.test_printing import closed_port

pytestmark = pytest.mark.browser

TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
OFFLINE_AFTER_S = 30  # the shortest the configuration allows: the test waits this long for the pad's silence
TIMEOUT = 10_000


def manager(browser: Any, server: HallServer, language: str, viewport: dict[str, int]) -> tuple[Any, Page]:
    context = browser.new_context(viewport=viewport, locale=language, timezone_id="Asia/Shanghai", has_touch=True)
    assert context.request.post(f"{server.api}/session",
                                data={"username": "manager", "password": "demo-manager"}).ok
    page = watched(context.new_page())
    page.goto(f"{server.url}/manager/{BRANCH}?lang={language}")
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    return context, page


def fail_a_print(server: HallServer) -> None:
    """K1 issues a ticket and its printer (nobody listens on its port) does not print it."""
    issued = requests.post(f"{server.api}/branches/{BRANCH}/tickets", json={"service": "BILL"},
                           headers={"X-Device-Id": "K1"})
    assert issued.status_code == 201, issued.text
    printed = requests.post(f"{server.api}/tickets/{issued.json()['token']}/print", json={"kiosk": "K1"})
    assert printed.status_code == 503, printed.text


def fits(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_the_manager_sees_a_silent_pad_and_a_failing_printer_acknowledges_and_the_pad_clears_itself(
    tmp_path: Path, browser: Any
) -> None:
    def tweak(text: str) -> str:
        text = kiosk_k1(text, printer=f"escpos://127.0.0.1:{closed_port()}", print_timeout_s=1)
        return set_key(text, "offline_after_s", str(OFFLINE_AFTER_S))

    contexts: list[Any] = []
    try:
        with running_hall(tmp_path, tweak) as server:
            server.sign_in("2")  # BILL is served: the kiosk's ticket raises no hall alert (docs/manager.md)
            pad_context = browser.new_context(viewport=TABLET, locale="zh-CN", timezone_id="Asia/Shanghai")
            contexts.append(pad_context)
            server.pair(pad_context, "pad", "3")
            pad = watched(pad_context.new_page())
            pad.goto(f"{server.url}/pad/{BRANCH}/3")  # its page sends heartbeats
            expect(pad.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)

            zh_context, zh = manager(browser, server, "zh-CN", TABLET)
            en_context, en = manager(browser, server, "en", PHONE)
            contexts += [zh_context, en_context]
            for page in (zh, en):
                expect(page.locator("#alerts")).to_be_hidden()

            fail_a_print(server)  # pushed at once: the printer's alert
            printer_zh = zh.locator('#alert-list li[data-key="printer:K1"]')
            printer_en = en.locator('#alert-list li[data-key="printer:K1"]')
            expect(printer_zh).to_contain_text(re.compile(r"取号机 · K1 入口取号机：打印机(无法连接|无响应)"),
                                               timeout=TIMEOUT)
            expect(printer_en).to_contain_text(re.compile(r"Kiosk · K1 Entrance kiosk: printer (unreachable|not "
                                                          r"answering)"), timeout=TIMEOUT)

            pad.close()  # the pad goes silent: its alert comes without a reload, once offline_after_s has passed
            pad_zh = zh.locator('#alert-list li.device_offline')
            pad_en = en.locator('#alert-list li.device_offline')
            expect(pad_zh).to_contain_text(re.compile(r"评价器 · .*3.* 已离线 1 分钟"),
                                           timeout=(OFFLINE_AFTER_S + 20) * 1000)
            expect(pad_en).to_contain_text(re.compile(r"Rating pad · .*3.* offline for 1 min"), timeout=TIMEOUT)
            expect(pad_zh).to_contain_text("最近心跳")
            for page in (zh, en):
                expect(page.locator("#alerts-count")).to_be_visible()
                expect(page.locator("#devices tbody tr.offline")).to_have_count(1)  # the Devices card follows
                assert page.title().startswith("(2) ")
            assert fits(en), "the phone page scrolls sideways"

            for page, suffix in ((zh, "zh"), (en, "en")):
                for viewport, size in ((TABLET, "1280x800"), (PHONE, "390x844")):
                    page.set_viewport_size(viewport)
                    page.evaluate("window.scrollTo(0, 0)")
                    assert fits(page), f"{suffix} at {size} scrolls sideways"
                    shot(page, f"manager-alerts-{suffix}-{size}")

            pad_zh.locator("button.alert-ack").click()  # acknowledged on this page only, and kept over a reload
            expect(pad_zh).to_have_class(re.compile(r"\backnowledged\b"))
            expect(pad_zh).to_contain_text("已确认")
            expect(pad_en.locator("button.alert-ack")).to_be_visible()
            zh.reload()
            expect(zh.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
            expect(zh.locator('#alert-list li.device_offline.acknowledged')).to_have_count(1, timeout=TIMEOUT)
            expect(zh.locator("#alerts-count")).to_have_text("1 条待处理")
            zh.set_viewport_size(TABLET)
            shot(zh, "manager-alerts-acknowledged-zh-1280x800")

            heard = watched(pad_context.new_page())
            heard.goto(f"{server.url}/pad/{BRANCH}/3")  # heard again: the alert ends on every manager page
            for page in (zh, en):
                expect(page.locator("#alert-list li.device_offline")).to_have_count(0, timeout=TIMEOUT)
                expect(page.locator('#alert-list li[data-key="printer:K1"]')).to_have_count(1)
                expect(page.locator("#devices tbody tr.offline")).to_have_count(0, timeout=TIMEOUT)
            en.set_viewport_size(PHONE)
            shot(en, "manager-alerts-heard-again-en-390x844")
            for page in (zh, en, heard):
                assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        for context in contexts:
            context.close()
