"""The audit log's page in Chromium: a manager finds who did what (filters, load more), exports it as CSV, and the
page fits the tablet and the desktop without sideways scrolling, in both languages; staff are not let in."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.kiosk_helpers import assert_language, assert_touch_targets
from tests.browser.test_manager import sign_in_as_manager

SHOTS = os.environ.get("HALL_AUDIT_SHOTS")  # a folder to copy the screenshots to, if set
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def manager_session(server: HallServer) -> requests.Session:
    return server.staff("manager", "demo-manager")


def some_history(server: HallServer) -> None:
    """A refused sign-in, a takeover, a no-show, a stop and its resume, 55 changes of a notice (more than a page)."""
    assert requests.post(f"{server.api}/session", json={"username": "li.na", "password": "guess"},
                         headers={"X-Device-Id": "=HYPERLINK(\"http://evil\")"}).status_code == 401
    server.sign_in("1", "li.na")
    staff = server.sign_in("1", "zhang.wei")  # takes counter 1 over from li.na
    server.issue("BILL")
    called = server.call_next(staff, "1")["ticket"]
    assert staff.post(f"{server.api}/branches/{BRANCH}/tickets/{called['id']}/no-show", json={}).ok
    manager = manager_session(server)
    stops = f"{server.api}/branches/{BRANCH}/issue-stops"
    stop = manager.post(stops, json={"service": "SIM", "reason": "custom", "until": "resumed",
                                     "text": {"zh-CN": "=系统维护", "en": "=Maintenance"}})
    assert stop.status_code == 201, stop.text
    assert manager.post(f"{stops}/{stop.json()['id']}/resume").ok
    notices = f"{server.api}/branches/{BRANCH}/notices"
    notice = manager.post(notices, json={"text": {"zh-CN": "今日办理宽带享优惠", "en": "Broadband offer today"}})
    assert notice.status_code == 201, notice.text
    for n in range(55):
        assert manager.patch(f"{notices}/{notice.json()['id']}", json={"enabled": n % 2 == 1}).ok


def test_a_manager_finds_filters_pages_and_exports(page: Any, hall_server: HallServer) -> None:
    some_history(hall_server)
    sign_in_as_manager(page, hall_server, "en")
    link = page.locator("#audit-link")
    expect(link).to_have_text("Audit log")
    link.click()
    expect(page.locator("#audit-board")).to_be_visible()
    rows = page.locator("#entries tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#shown")).to_have_text("50 entries shown; older ones follow")
    page.click("#more")
    expect(page.locator("#more")).to_be_hidden()
    count = rows.count()
    assert count > 60  # the branch's changes and its people's sign-ins

    page.select_option("select[name=action]", "counter_takeover")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)
    takeover = rows.first
    # people by their display names; the user name only as the cell's title
    expect(takeover.locator("td.who")).to_have_text("张伟 Zhang Wei")
    expect(takeover.locator("td.who")).to_have_attribute("title", "zhang.wei")
    expect(takeover.locator("td.what")).to_have_text("counter 1")
    expect(takeover.locator("td.changes")).to_have_text("staff: 李娜 Li Na → 张伟 Zhang Wei")
    expect(page.locator("select[name=user] option[value='li.na']")).to_have_text("李娜 Li Na")

    page.select_option("select[name=action]", "sign_in_refused")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.what")).to_have_text("account 李娜 Li Na")

    page.select_option("select[name=action]", "issue_resumed")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.what")).to_have_text("service SIM")
    expect(rows.first.locator("td.changes")).to_contain_text("ends at: — →")

    page.select_option("select[name=action]", "")
    page.fill("input[name=q]", "no such thing anywhere")
    page.click("#filters button[type=submit]")
    expect(page.locator("#empty")).to_have_text("No entries match these filters")
    page.fill("input[name=q]", "")
    page.fill("input[name=from]", "2030-01-02")
    page.fill("input[name=to]", "2030-01-01")
    page.click("#filters button[type=submit]")
    expect(page.locator("#filter-error")).to_have_text("The end date is before the start date")

    page.click("#clear-filters")
    expect(rows).to_have_count(50)
    with page.expect_download() as download_info:
        page.click("#export")
    download = download_info.value
    assert download.suggested_filename.startswith(f"audit-{BRANCH}-")
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbfTime,Branch,Username,Name,")
    # the device id the caller gave would have been a formula
    assert b"'=HYPERLINK(" in data and b",=HYPERLINK" not in data and b'"=HYPERLINK' not in data
    assert "结束时间".encode() not in data and b"ends at: " in data  # the language of the page
    assert not page.js_errors


def test_screenshots_at_the_tablet_and_desktop_in_both_languages(browser: Any, hall_server: HallServer) -> None:
    some_history(hall_server)
    for language in ("zh-CN", "en"):
        for width, height in ((1280, 800), (1440, 900)):
            context = browser.new_context(viewport={"width": width, "height": height}, locale=language,
                                          timezone_id="Asia/Shanghai", accept_downloads=True)
            page = context.new_page()
            try:
                assert context.request.post(f"{hall_server.api}/session",
                                            data={"username": "manager", "password": "demo-manager"}).ok
                page.goto(f"{hall_server.url}/manager/{BRANCH}/audit?lang={language}")
                expect(page.locator("#entries tbody tr")).to_have_count(50)
                assert page.evaluate(NO_SIDEWAYS_SCROLL), f"sideways scroll at {width}x{height}"
                assert_language(page, language, "thead")
                assert_language(page, language, ".filter-actions")
                assert_touch_targets(page, "#filters")
                name = f"audit-{language}-{width}x{height}"
                path = screenshot(page, name)
                page.select_option("select[name=action]", "sign_in_refused")
                page.click("#filters button[type=submit]")
                expect(page.locator("#entries tbody tr")).to_have_count(1)
                filtered = screenshot(page, f"{name}-filtered")
                page.fill("input[name=q]", "nothing like this")
                page.click("#filters button[type=submit]")
                expect(page.locator("#empty")).to_be_visible()
                empty = screenshot(page, f"{name}-empty")
                if SHOTS:
                    for shot in (path, filtered, empty):
                        shutil.copy(shot, SHOTS)
            finally:
                context.close()


def test_staff_are_told_it_is_for_managers(page: Any, hall_server: HallServer) -> None:
    for language, text in (("zh-CN", "审计日志只对本网点的经理开放。"), ("en", "The audit log is open to this branch's "
                                                                          "managers only.")):
        page.context.clear_cookies()
        page.goto(f"{hall_server.url}/manager/{BRANCH}/audit?lang={language}")
        expect(page.locator("#signed-out")).to_be_visible()
        expect(page.locator("#audit-board")).to_be_hidden()
        response = page.context.request.post(f"{hall_server.api}/session",
                                             data={"username": "zhang.wei", "password": "demo-staff"})
        assert response.ok
        page.reload()
        expect(page.locator("#signed-out-why")).to_have_text(text)
        if SHOTS and language == "en":
            shutil.copy(screenshot(page, "audit-staff-refused-en"), SHOTS)
