"""A long wait at the kiosk: before issuing, the nearby branch's live wait, its distance and address, and the
self-service ways; "take a ticket here anyway" issues here. Kiosk portrait 1080x1920, both languages."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, screenshot
from tests.browser.kiosk_helpers import (
    assert_touch_targets,
    confirmed_token,
    open_kiosk,
    running_hall,
    set_key,
)

SHOTS = Path("/work/shots/overflow")
NEAR = "SZ-CHEGONGMIAO"
NEAR_BRANCH = f'''
[[branches]]
code = "{NEAR}"
name = {{ "zh-CN" = "车公庙营业厅", en = "Chegongmiao Hall" }}
address = {{ "zh-CN" = "深圳市福田区深南大道 7002 号", en = "7002 Shennan Avenue, Futian" }}
latitude = 22.5350
longitude = 114.0260
hours = "00:00-24:00"

  [[branches.services]]
  code = "PLAN"
  prefix = "P"
  name = {{ "zh-CN" = "套餐办理", en = "Plans" }}
  booking = {{ bookable = true }}

  [[branches.counters]]
  number = "1"
  name = {{ "zh-CN" = "1号窗口", en = "Counter 1" }}
  services = ["PLAN"]
'''


def busy_here_quiet_nearby(text: str) -> str:
    """The demo hall with a 10-minute threshold, and a branch 3 km away that also changes plans (bookable)."""
    return set_key(text, "wait_min", "10", after="[branches.overflow]") + NEAR_BRANCH


def keep(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, name), SHOTS / f"{name}.png")


def test_a_long_wait_shows_the_nearby_branchs_live_wait_and_take_here_anyway_issues_here(
        tmp_path: Path, browser: Any) -> None:
    with running_hall(tmp_path, busy_here_quiet_nearby) as server:
        server.sign_in("2")
        for _ in range(8):
            server.issue("PLAN")
        admin = server.staff("admin", "demo-admin")
        opened = admin.post(f"{server.api}/branches/{NEAR}/counters/1/sign-in", json={"takeover": True})
        assert opened.ok, opened.text
        context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", has_touch=True)
        page = context.new_page()
        try:
            open_kiosk(page, server)
            page.locator('#home-tiles .tile[data-category="MOBILE"]').tap()
            plan = page.locator('#category-tiles .tile[data-service="PLAN"]')
            expect(plan).to_contain_text("等候较久", timeout=10_000)
            plan.tap()
            expect(page.locator("#screen-overflow")).to_be_visible(timeout=10_000)
            near = page.locator(f'#overflow-nearby li[data-branch="{NEAR}"]')
            expect(near).to_contain_text("车公庙营业厅")
            expect(near).to_contain_text("公里")
            expect(near).to_contain_text("深南大道 7002 号")
            expect(page.locator("#overflow-self")).to_contain_text("星河通信 App")
            expect(page.locator("#overflow-wait")).to_contain_text("在本厅办理预计等候")
            assert_touch_targets(page, "#screen-overflow")
            keep(page, "kiosk-overflow-interstitial-zh")
            page.click('.lang[data-lang="en"]')
            expect(near).to_contain_text("Chegongmiao Hall")
            expect(near).to_contain_text("km away")
            expect(page.locator("#overflow-take")).to_have_text("Take a ticket here anyway")
            page.locator("#overflow-book-open").tap()
            expect(page.locator("#overflow-book-qr")).to_be_visible()
            keep(page, "kiosk-overflow-interstitial-en")
            waiting = requests.get(f"{server.api}/branches/{BRANCH}/snapshot", timeout=5).json()
            before = sum(s["waiting"] for s in waiting["services"])
            page.locator("#overflow-take").tap()
            token = confirmed_token(page)
            ticket = requests.get(f"{server.api}/tickets/{token}", timeout=5).json()
            assert ticket["branch"] == BRANCH and ticket["service"] == "PLAN", ticket
            after = requests.get(f"{server.api}/branches/{BRANCH}/snapshot", timeout=5).json()
            assert sum(s["waiting"] for s in after["services"]) == before + 1
        finally:
            context.close()


def test_a_service_the_overflow_does_not_cover_is_issued_at_once(tmp_path: Path, page: Any) -> None:
    with running_hall(tmp_path, busy_here_quiet_nearby) as server:
        server.sign_in("2")
        for _ in range(8):
            server.issue("BILL")
        open_kiosk(page, server)
        page.locator('#home-tiles .tile[data-service="DEVICE"]').click()
        confirmed_token(page)


def test_the_phone_page_of_a_ticket_with_a_long_wait_offers_the_nearby_branch(tmp_path: Path, browser: Any) -> None:
    with running_hall(tmp_path, busy_here_quiet_nearby) as server:
        server.sign_in("2")
        for _ in range(8):
            server.issue("PLAN")
        admin = server.staff("admin", "demo-admin")
        assert admin.post(f"{server.api}/branches/{NEAR}/counters/1/sign-in", json={"takeover": True}).ok
        token = server.issue("PLAN")["token"]
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = context.new_page()
        try:
            page.goto(f"{server.url}/t/{token}")
            near = page.locator(f'#elsewhere-nearby li[data-branch="{NEAR}"]')
            expect(near).to_contain_text("车公庙营业厅", timeout=15_000)
            expect(near).to_contain_text("公里")
            expect(near.locator("a.elsewhere-book")).to_have_attribute("href", f"/book?branch={NEAR}&service=PLAN")
            expect(page.locator("#elsewhere-self")).to_contain_text("星河通信 App")
            page.locator("#elsewhere").scroll_into_view_if_needed()
            keep(page, "phone-overflow-zh")
            page.click('.lang[data-lang="en"]')
            expect(near).to_contain_text("km away")
            expect(page.locator("#elsewhere")).to_contain_text("A long wait?")
            page.locator("#elsewhere").scroll_into_view_if_needed()
            keep(page, "phone-overflow-en")
        finally:
            context.close()


def test_the_manager_is_told_that_phones_cannot_open_the_qr_codes_and_how_to_fix_it(
        hall_server: Any, browser: Any) -> None:
    """The test server runs on 127.0.0.1 like the demo: it starts, and the manager page says so with the fix."""
    from tests.browser.test_manager import sign_in_as_manager

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    try:
        sign_in_as_manager(page, hall_server)
        warning = page.locator("#public-address")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("顾客的手机打不开")
        expect(warning).to_contain_text("public_url")
        keep(page, "manager-public-url-zh")
        page.click("#lang")
        expect(warning).to_contain_text("customers' phones cannot open")
        keep(page, "manager-public-url-en")
    finally:
        context.close()
