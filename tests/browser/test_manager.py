"""The manager page in Chromium: sign-in, the live hall, stopping and resuming ticket issue, and the accuracy of
the wait estimates."""

from __future__ import annotations

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
    assert_language,
    assert_touch_targets,
    closed_hours_now,
    running_hall,
    set_key,
)


def sign_in_as_manager(page: Any, server: HallServer, language: str = "zh-CN") -> None:
    page.goto(f"{server.url}/manager/{BRANCH}?lang={language}")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator(".live-mark")).to_be_hidden()  # signed out is not "reconnecting"
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "demo-manager")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#board")).to_be_visible()


def test_staff_account_is_not_let_in(page: Any, hall_server: HallServer) -> None:
    page.goto(f"{hall_server.url}/manager/{BRANCH}?lang=en")
    page.fill("input[name=username]", "zhang.wei")
    page.fill("input[name=password]", "demo-staff")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("A manager account is needed")
    expect(page.locator("#board")).to_be_hidden()


def test_wrong_passwords_then_a_lockout_are_told_apart(page: Any, hall_server: HallServer) -> None:
    """A name no account has, so that the lockout touches no other test on this server."""
    page.goto(f"{hall_server.url}/manager/{BRANCH}?lang=en")
    page.fill("input[name=username]", "not.the.manager")
    for _ in range(5):
        page.fill("input[name=password]", "guess")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("Wrong username or password")
        page.evaluate("document.getElementById('login-error').textContent = ''")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text(
        "Too many wrong passwords: this device is locked out. Try again in 5 min")
    expect(page.locator("#board")).to_be_hidden()


def test_live_hall_and_estimate_accuracy(page: Any, hall_server: HallServer) -> None:
    staff = hall_server.sign_in("1")
    time.sleep(0.6)  # the estimates refresh after the sign-in: then tickets get a known estimate
    for _ in range(4):
        hall_server.issue("BILL")
    sign_in_as_manager(page, hall_server)
    counter_1 = page.locator(".counter").first
    expect(counter_1).to_contain_text("张伟 Zhang Wei")  # the display name, not the user name
    bill = page.locator("#services tbody tr").first
    expect(bill.locator("td").nth(1)).to_have_text("4")

    for _ in range(2):
        called = hall_server.call_next(staff, "1")["ticket"]
        for action in ("start", "finish"):
            response = staff.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{called['id']}/{action}", json={})
            assert response.ok, response.text
    expect(counter_1.locator(".ticket")).to_have_text("—")
    expect(bill.locator("td").nth(1)).to_have_text("2")
    accuracy_rows = page.locator("#accuracy tbody tr")
    expect(accuracy_rows.first.locator("td").first).to_have_text("全部", timeout=5000)
    expect(accuracy_rows.first.locator("td").nth(1)).to_have_text("2")
    screenshot(page, "manager-zh")
    page.click("#lang")
    expect(page.locator("h1")).to_contain_text("Manager")
    expect(accuracy_rows.first.locator("td").first).to_have_text("All")
    screenshot(page, "manager-en")
    assert not page.js_errors


# --- ticket issuing: stop and resume by hand ---------------------------------------------------------------

BILL_ROW = "#issuing tbody tr[data-service=BILL]"


def public_snapshot(browser: Any, server: HallServer) -> dict[str, Any]:
    """The branch's public snapshot as another device sees it: a browser context of its own, not signed in."""
    context = browser.new_context()
    try:
        answer = context.request.get(f"{server.api}/branches/{BRANCH}/snapshot")
        assert answer.ok, answer.text()
        return answer.json()
    finally:
        context.close()


def service_of(snapshot: dict[str, Any], code: str) -> dict[str, Any]:
    return next(s for s in snapshot["services"] if s["code"] == code)


def choose(page: Any, name: str, value: str) -> None:
    """Tap a chip of the stop dialog (the radio itself is hidden behind its label)."""
    page.click(f"#stop-form label.chip:has(input[name={name}][value={value}])")


def test_a_service_stopped_with_a_preset_reason_then_resumed(page: Any, hall_server: HallServer,
                                                             browser: Any) -> None:
    for _ in range(3):
        hall_server.issue("BILL")
    sign_in_as_manager(page, hall_server, "en")
    bill = page.locator(BILL_ROW)
    expect(bill.locator(".issue-state")).to_have_text("Issuing")
    bill.locator(".stop-issue").click()
    dialog = page.locator("#stop-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#stop-form select[name=service]")).to_have_value("BILL")
    expect(page.locator("#stop-summary")).to_have_text(
        "New tickets for Bill payment & top-up will be refused until the end of today; "
        "the 3 customers waiting keep their place.")
    assert_touch_targets(page, "#stop-dialog")
    choose(page, "reason", "busy")
    page.click("#stop-submit")
    expect(dialog).to_be_hidden()
    # the card shows it from the fresh snapshot the stop's event brought: the reason and the branch's local end
    # (this hall is open all day: its service day ends at midnight, Shanghai time, whatever this browser's zone)
    expect(bill.locator(".issue-state")).to_have_text(
        "Stopped" "The queue is full: tickets are paused · until 24:00")
    expect(bill).to_have_class("is-stopped")
    expect(bill.locator("td.num")).to_have_text("3")  # the customers waiting keep their place
    expect(page.locator("#issuing tbody tr[data-service=PLAN] .issue-state")).to_have_text("Issuing")
    # another device: the public snapshot says the service is not issuing, and a new ticket is refused
    stopped = service_of(public_snapshot(browser, hall_server), "BILL")["stopped"]
    assert stopped["reason_code"] == "busy" and stopped["service"] == "BILL"
    refused = requests.post(f"{hall_server.api}/branches/{BRANCH}/tickets", json={"service": "BILL"}, timeout=5)
    assert refused.status_code == 409 and refused.json()["error"] == "issuing_stopped"

    bill.locator(".resume-issue").click()
    expect(bill.locator(".issue-state")).to_have_text("Issuing")
    expect(bill.locator(".stop-issue")).to_be_visible()
    assert service_of(public_snapshot(browser, hall_server), "BILL")["stopped"] is None
    hall_server.issue("BILL")
    expect(bill.locator("td.num")).to_have_text("4")
    assert not page.js_errors


def test_a_custom_reason_needs_both_languages_and_the_server_says_which(page: Any, hall_server: HallServer,
                                                                        browser: Any) -> None:
    sign_in_as_manager(page, hall_server, "en")
    page.click("#stop-all")
    expect(page.locator("#stop-form select[name=service]")).to_have_value("")
    choose(page, "reason", "custom")
    expect(page.locator("#custom-reason")).to_be_visible()
    page.fill("input[name=text_zh]", "系统升级，暂停取号")
    page.click("#stop-submit")
    # refused by the server (422, field text.en): said at that field, in the page's language; nothing stopped
    english = page.locator('.field-error[data-field="text.en"]')
    expect(english).to_have_text("Enter the reason in English (at most 100 characters)")
    expect(page.locator("input[name=text_en]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("input[name=text_en]")).to_be_focused()
    expect(page.locator('.field-error[data-field="text.zh-CN"]')).to_be_hidden()
    expect(page.locator("#stop-dialog")).to_be_visible()
    assert public_snapshot(browser, hall_server)["issue_stops"] == []
    # the error follows the language (switched under the modal dialog, as the page's button would), and goes once
    # the field is typed in
    page.evaluate("document.getElementById('lang').click()")
    expect(english).to_have_text("请填写英文原因（最多 100 个字符）")
    expect(page.locator("#stop-summary")).to_contain_text("全部业务将不再发放新号")
    page.fill("input[name=text_en]", "System upgrade: no tickets")
    expect(english).to_be_hidden()
    page.click("#stop-submit")
    expect(page.locator("#stop-dialog")).to_be_hidden()
    banner = page.locator("#branch-stops .branch-stop")
    expect(banner).to_contain_text("全网点已停止取号")
    expect(banner).to_contain_text("系统升级，暂停取号")
    expect(page.locator("#stop-all")).to_be_hidden()
    expect(page.locator(f"{BILL_ROW} .issue-state")).to_contain_text("全网点 · 系统升级，暂停取号")
    page.locator("#issuing-card").scroll_into_view_if_needed()
    screenshot(page, "manager-issuing-branch-stopped-zh-CN-1920x1080")
    page.click("#lang")
    expect(banner).to_contain_text("System upgrade: no tickets")
    assert all(s["stopped"] for s in public_snapshot(browser, hall_server)["services"])
    banner.locator(".resume-issue").click()
    expect(banner).to_have_count(0)
    expect(page.locator("#stop-all")).to_be_visible()
    assert not page.js_errors


def test_a_scheduled_stop_is_listed_then_cancelled_and_stops_made_elsewhere_show_live(
        browser: Any, hall_server: HallServer) -> None:
    """The manager's tablet is set to another time zone: the time typed is the branch's (Shanghai)."""
    shanghai = ZoneInfo("Asia/Shanghai")
    later = datetime.now(shanghai) + timedelta(hours=2)
    if later.date() != datetime.now(shanghai).date():
        pytest.skip("less than two hours of the day left in Shanghai")
    at = f"{later.hour:02d}:{later.minute:02d}"
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US",
                                  timezone_id="America/New_York")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in_as_manager(page, hall_server, "en")
        page.locator(BILL_ROW).locator(".stop-issue").click()
        page.fill("input[name=start_time]", at)
        expect(page.locator("#stop-form input[name=start][value=at]")).to_be_checked()
        choose(page, "reason", "maintenance")
        choose(page, "until", "resumed")
        expect(page.locator("#stop-summary")).to_have_text(
            f"From {at} today, new tickets for Bill payment & top-up will be refused until you resume issuing; "
            "no one is waiting now.")
        expect(page.locator("#stop-submit")).to_have_text("Schedule the stop")
        page.click("#stop-submit")
        expect(page.locator("#stop-dialog")).to_be_hidden()
        scheduled = page.locator("#scheduled-stops li")
        expect(scheduled).to_have_count(1)
        expect(scheduled).to_contain_text(f"From {at}Bill payment & top-up · Paused for maintenance · until resumed")
        expect(page.locator(f"{BILL_ROW} .issue-state")).to_have_text("Issuing")  # not yet
        [stop] = public_snapshot(browser, hall_server)["issue_stops"]
        assert datetime.fromisoformat(stop["starts_at"]).astimezone(shanghai).strftime("%H:%M") == at
        assert stop["ends_at"] is None
        assert service_of(public_snapshot(browser, hall_server), "BILL")["stopped"] is None

        # another manager stops a service: this card shows it without a reload
        other = requests.Session()
        assert other.post(f"{hall_server.api}/session", json={"username": "manager", "password": "demo-manager"}).ok
        made = other.post(f"{hall_server.api}/branches/{BRANCH}/issue-stops",
                          json={"service": "PLAN", "reason": "all_taken"}, timeout=5)
        assert made.status_code == 201, made.text
        expect(page.locator("#issuing tbody tr[data-service=PLAN] .issue-state")).to_contain_text(
            "Today's tickets are all taken")
        # a stop that starts a few seconds from now has no event when it starts: the card looks again by itself
        soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
        made = other.post(f"{hall_server.api}/branches/{BRANCH}/issue-stops",
                          json={"service": "BROADBAND", "reason": "busy", "starts_at": soon}, timeout=5)
        assert made.status_code == 201, made.text
        broadband = page.locator("#issuing tbody tr[data-service=BROADBAND] .issue-state")
        expect(scheduled).to_have_count(2)
        expect(broadband).to_have_text("Issuing")
        expect(broadband).to_contain_text("Stopped", timeout=10_000)
        expect(scheduled).to_have_count(1)
        other.post(f"{hall_server.api}/branches/{BRANCH}/issue-stops/{made.json()['id']}/resume", timeout=5)

        scheduled.locator(".cancel-stop").click()
        expect(scheduled).to_have_text("None")
        assert [s["service"] for s in public_snapshot(browser, hall_server)["issue_stops"]] == ["PLAN"]
        assert not errors
    finally:
        context.close()


def test_issuing_card_screenshots(browser: Any, tmp_path: Path) -> None:
    """The card with a stop in force, one until resumed, one to come and a service outside its hours; the dialog
    with a refused field. At the tablet's and the desktop's size, in both languages."""
    def device_closed(text: str) -> str:
        return set_key(text, "hours", closed_hours_now(), after='code = "DEVICE"')

    with running_hall(tmp_path, device_closed) as hall_server:
        for _ in range(12):
            hall_server.issue("BILL")
        manager = requests.Session()
        assert manager.post(f"{hall_server.api}/session",
                            json={"username": "manager", "password": "demo-manager"}).ok
        stops = f"{hall_server.api}/branches/{BRANCH}/issue-stops"
        for body in ({"service": "SIM", "reason": "all_taken"},
                     {"service": "BROADBAND", "reason": "custom", "until": "resumed",
                      "text": {"zh-CN": "片区光缆抢修，暂停受理", "en": "Fibre repairs nearby: no new requests"}},
                     {"reason": "closing", "starts_at": (datetime.now(UTC) + timedelta(minutes=90)).isoformat()}):
            assert manager.post(stops, json=body, timeout=5).status_code == 201
        for language in ("zh-CN", "en"):
            for width, height in ((1280, 800), (1920, 1080)):
                context = browser.new_context(viewport={"width": width, "height": height}, locale=language,
                                              timezone_id="Asia/Shanghai")
                page = context.new_page()
                try:
                    sign_in_as_manager(page, hall_server, language)
                    expect(page.locator("#issuing tbody tr.is-stopped")).to_have_count(2)
                    expect(page.locator("#issuing tbody tr[data-service=DEVICE] .badge")).to_have_text(
                        "未到营业时间" if language == "zh-CN" else "Outside hours")
                    page.locator("#issuing-card").scroll_into_view_if_needed()
                    assert_language(page, language, "#issuing-card")
                    assert_touch_targets(page, "#issuing-card")
                    screenshot(page, f"manager-issuing-{language}-{width}x{height}")
                    page.locator(BILL_ROW).locator(".stop-issue").click()
                    choose(page, "reason", "custom")
                    page.fill("input[name=text_zh]", "窗口系统故障")
                    page.click("#stop-submit")
                    expect(page.locator('.field-error[data-field="text.en"]')).to_be_visible()
                    assert_language(page, language, "#stop-dialog")
                    assert_touch_targets(page, "#stop-dialog")
                    screenshot(page, f"manager-stop-dialog-{language}-{width}x{height}")
                finally:
                    context.close()


TOKEN_NAMES = {"zh-CN": "预约系统", "en": "Booking system"}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_api_tokens_card_makes_shows_once_and_revokes(browser: Any, hall_server: HallServer, language: str) -> None:
    """At the tablet's size: make a token (name, scope, branches, expiry), see it once and copy it, use it, see its
    last use in the list, revoke it; the integration is refused at once."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=language,
                                  timezone_id="Asia/Shanghai")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hall_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in_as_manager(page, hall_server, language)
        card = page.locator("#tokens-card")
        card.scroll_into_view_if_needed()
        expect(card.locator("#tokens tbody td.empty")).to_be_visible()
        card.locator("#token-new").click()
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        page.fill("#token-form input[name=name]", TOKEN_NAMES[language])
        dialog.locator("label.chip", has=page.locator("input[value=act]")).click()
        expect(dialog.locator(f"input[name=branch][value={BRANCH}]")).to_be_checked()  # this branch, always
        page.select_option("#token-form select[name=expiry]", "30")
        assert_language(page, language, "#token-dialog")
        assert_touch_targets(page, "#token-dialog")
        screenshot(page, f"manager-token-dialog-{language}-1280x800")
        dialog.locator("button[type=submit]").click()

        made = page.locator("#token-made")
        expect(made).to_be_visible()
        token = page.locator("#token-value").input_value()
        assert token.startswith("qt_") and len(token) == 46
        page.click("#token-copy")
        expect(page.locator("#token-copied")).to_have_text("已复制到剪贴板" if language == "zh-CN"
                                                           else "Copied to the clipboard")
        assert page.evaluate("navigator.clipboard.readText()") == token
        row = card.locator("#tokens tbody tr.token")
        expect(row).to_have_count(1)
        expect(row.locator(".token-prefix")).to_have_text(token[:11] + "…")
        expect(row.locator(".badge")).to_have_text("读取和操作" if language == "zh-CN" else "Read and act")
        assert_language(page, language, "#tokens-card")
        assert_touch_targets(page, "#tokens-card")
        screenshot(page, f"manager-tokens-card-{language}-1280x800")

        bearer = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{hall_server.api}/branches/{BRANCH}/events", headers=bearer, timeout=5).ok
        page.click("#token-done")
        expect(made).to_be_hidden()
        assert page.locator("#token-value").input_value() == ""  # gone from the page
        page.reload()
        expect(page.locator("#board")).to_be_visible()
        expect(row.locator("td").nth(2)).not_to_have_text("从未使用" if language == "zh-CN" else "Never used")
        assert token not in page.content()  # the list never holds the token itself
        card.scroll_into_view_if_needed()
        card.screenshot(path=str(SCREENSHOTS / f"manager-tokens-list-{language}-1280x800.png"))

        page.once("dialog", lambda box: box.accept())
        row.locator("button.danger-outline").click()
        expect(row).to_have_class("token revoked")
        card.screenshot(path=str(SCREENSHOTS / f"manager-tokens-revoked-{language}-1280x800.png"))
        refused = requests.get(f"{hall_server.api}/branches/{BRANCH}/events", headers=bearer, timeout=5)
        assert refused.status_code == 401 and refused.json()["error"] == "token_revoked"
        assert errors == []
    finally:
        context.close()
