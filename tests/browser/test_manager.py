"""The manager page in Chromium: sign-in, the live hall, and the accuracy of the wait estimates."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot


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
    expect(counter_1).to_contain_text("zhang.wei")
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
