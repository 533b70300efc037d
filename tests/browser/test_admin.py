"""The administration pages in Chromium: signing in, every page at the tablet's and the desktop's size in both
languages (no sideways scroll), a refusal at its field, a stale save, retiring a service with waiting tickets, and
a change reaching an open kiosk (and then a counter) without a reload."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer
from tests.browser.kiosk_helpers import open_kiosk

SHOTS = Path(os.environ.get("HALL_ADMIN_SHOTS", "/work/shots/admin"))
SIZES = {"tablet": (1280, 800), "desktop": (1440, 900)}
HALL = "/api/admin/hall"


def admin_session(server: HallServer) -> requests.Session:
    return server.staff("admin", "demo-admin")


def sign_in(page: Any, server: HallServer, path: str = f"/admin/{BRANCH}", language: str = "en") -> None:
    page.goto(f"{server.url}{path}?lang={language}")
    expect(page.locator("#login")).to_be_visible()
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "demo-admin")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.locator(".piece").first).to_be_visible()


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "sideways scroll"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def piece(session: requests.Session, server: HallServer, kind: str, code: str) -> dict[str, Any]:
    pieces = session.get(f"{server.api}/admin/hall").json()["pieces"]
    return next(p for p in pieces if (p["kind"], p["code"]) == (kind, code) and not p["retired"])


def test_staff_and_managers_are_not_let_in(page: Any, hall_server: HallServer) -> None:
    page.goto(f"{hall_server.url}/admin?lang=en")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "demo-manager")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("An administrator account is needed")
    expect(page.locator("#workspace")).to_be_hidden()


def test_every_admin_page_at_both_sizes_in_both_languages(browser: Any, hall_server: HallServer) -> None:
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))  # noqa: B023
        sign_in(page, hall_server, "/admin", "zh-CN")
        for language in ("zh-CN", "en"):
            page.goto(f"{hall_server.url}/admin?lang={language}")
            expect(page.locator("#section-branches .piece")).to_have_count(1)
            no_sideways_scroll(page)
            shot(page, f"admin-branches-{size}-{language}")
            page.goto(f"{hall_server.url}/admin/{BRANCH}?lang={language}")
            expect(page.locator("#section-service .piece").first).to_be_visible()
            no_sideways_scroll(page)
            shot(page, f"admin-branch-{size}-{language}")
            edit = "编辑" if language == "zh-CN" else "Edit"
            page.locator("#section-service .piece", has_text="BILL").get_by_role("button", name=edit).click()
            expect(page.locator("#editor")).to_be_visible()
            no_sideways_scroll(page)
            shot(page, f"admin-service-form-{size}-{language}")
            page.click("#editor [data-close]")
            page.locator("#section-branch button.primary").click()
            expect(page.locator("#editor")).to_be_visible()
            shot(page, f"admin-branch-form-{size}-{language}")
            page.click("#editor [data-close]")
            page.locator("#section-settings .piece").first.locator("button").click()
            shot(page, f"admin-ratings-form-{size}-{language}")
            page.click("#editor [data-close]")
            page.goto(f"{hall_server.url}/manager/{BRANCH}?lang={language}")  # the manager page links here
            expect(page.locator("#to-admin")).to_be_visible()
        assert errors == []
        context.close()


def test_a_refused_value_is_shown_at_its_field_in_the_readers_language(page: Any, hall_server: HallServer) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, hall_server, language="zh-CN")
    page.locator("#section-service .piece", has_text="BILL").get_by_role("button", name="编辑").click()
    prefix = page.locator("#editor .field[data-key=prefix] input")
    expect(page.locator("#editor .field[data-key=code] input")).to_have_attribute("readonly", "")
    prefix.fill("a1")
    page.click("#editor button[type=submit]")
    error = page.locator('#editor .field-error[data-field="prefix"]')
    expect(error).to_have_text("号码前缀须为 1-3 个大写字母")
    expect(prefix).to_have_attribute("aria-invalid", "true")
    shot(page, "admin-field-error-tablet-zh-CN")
    prefix.fill("E")  # another service's prefix: refused naming the same field
    page.click("#editor button[type=submit]")
    expect(error).to_have_text("号码前缀 E 已被其他业务使用")


def test_a_refusal_is_worded_from_its_problem_code_in_chinese(page: Any, hall_server: HallServer) -> None:
    """The page words the server's problem code with its parameters; a code it does not know shows the server's
    English under a translated heading."""
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, hall_server, language="zh-CN")
    page.locator("#section-service .piece", has_text="BILL").get_by_role("button", name="编辑").click()
    cap = page.locator("#editor .field[data-key=daily_cap] input")
    cap.fill("0")
    page.click("#editor button[type=submit]")
    expect(page.locator('#editor .field-error[data-field="daily_cap"]')).to_have_text("不能小于 1")
    expect(cap).to_have_attribute("aria-invalid", "true")
    cap.fill("")
    page.locator("#editor .field[data-key=name] input").nth(0).fill("缴费" * 15)
    page.click("#editor button[type=submit]")
    name_error = page.locator('#editor .field-error[data-field="name"]')
    expect(name_error).to_have_text("名称太长，取号机按钮放不下：最多 20 个汉字或 72 个字母")
    shot(page, "admin-problem-code-tablet-zh-CN")

    def unknown_problem(route: Any) -> None:
        route.fulfill(status=400, content_type="application/json", body=(
            '{"error": "invalid_setup", "message": "a rule from a newer server", '
            '"details": {"field": "name", "key": "branches[0].services[0].name", "problem": "from_the_future", '
            '"params": {}}}'))

    page.route("**/api/admin/hall/pieces/service/BILL", unknown_problem)
    page.click("#editor button[type=submit]")
    expect(name_error).to_have_text("服务器提示：a rule from a newer server")


def test_a_stale_save_offers_theirs_or_mine(page: Any, hall_server: HallServer) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, hall_server)
    page.locator("#section-service .piece", has_text="BILL").get_by_role("button", name="Edit").click()
    other = admin_session(hall_server)  # another administrator saves first
    bill = piece(other, hall_server, "service", "BILL")
    answer = other.put(f"{hall_server.api}/admin/hall/pieces/service/BILL",
                       json={"branch": BRANCH, "version": bill["version"],
                             "body": {**bill["body"], "target_wait_min": 12}})
    assert answer.ok, answer.text
    page.fill("#editor .field[data-key=target_wait_min] input", "25")
    page.click("#editor button[type=submit]")
    expect(page.locator("#stale")).to_be_visible()
    row = page.locator("#stale-table tr", has_text="target_wait_min")
    expect(row).to_contain_text("25")
    expect(row).to_contain_text("12")
    shot(page, "admin-stale-tablet-en")
    page.click("#stale-mine")
    expect(page.locator("#editor")).to_be_hidden()
    assert piece(other, hall_server, "service", "BILL")["body"]["target_wait_min"] == 25


def test_retiring_a_service_with_waiting_tickets_transfers_them(page: Any, hall_server: HallServer) -> None:
    admin = admin_session(hall_server)
    created = admin.post(f"{hall_server.api}/admin/hall/pieces", json={
        "kind": "service", "branch": BRANCH, "code": "PASSPORT", "served_by": ["1"],
        "body": {"code": "PASSPORT", "prefix": "P", "name": {"zh-CN": "护照", "en": "Passports"}}})
    assert created.status_code == 201, created.text
    tickets = [hall_server.issue("PASSPORT") for _ in range(2)]
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, hall_server)
    page.locator("#section-service .piece", has_text="PASSPORT").get_by_role("button", name="Retire").click()
    page.click("#retire button[type=submit]")
    expect(page.locator("#retire-in-use")).to_have_text(
        "2 tickets are still in the hall (2 waiting). What becomes of them?")
    page.select_option("#retire select[name=to_service]", "BILL")
    shot(page, "admin-retire-in-use-tablet-en")
    page.click("#retire button[type=submit]")
    expect(page.locator("#retire")).to_be_hidden()
    expect(page.locator("#section-service .piece", has_text="PASSPORT")).to_have_count(0)
    for ticket in tickets:
        mine = requests.get(f"{hall_server.api}/tickets/{ticket['token']}", timeout=10).json()
        assert (mine["service"], mine["state"]) == ("BILL", "waiting")


def test_a_new_service_reaches_an_open_kiosk_and_a_counter_calls_it(context: Any, page: Any,
                                                                   hall_server: HallServer) -> None:
    kiosk = open_kiosk(context.new_page(), hall_server, "?lang=en")
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, hall_server)
    # a category (a kiosk sub-menu) ...
    page.click("#section-category .card-head button")
    page.fill("#editor .field[data-key=code] input", "TRAVEL")
    page.locator("#editor .field[data-key=name] input").nth(0).fill("出行")
    page.locator("#editor .field[data-key=name] input").nth(1).fill("Travel")
    page.fill("#editor .field[data-key=colour] input", "#0d9488")
    page.click("#editor button[type=submit]")
    expect(page.locator("#section-category .piece", has_text="TRAVEL")).to_be_visible()
    # ... and a service under it, served at counter 2
    page.click("#section-service .card-head button")
    page.fill("#editor .field[data-key=code] input", "PASSPORT")
    page.fill("#editor .field[data-key=prefix] input", "P")
    page.locator("#editor .field[data-key=name] input").nth(0).fill("护照")
    page.locator("#editor .field[data-key=name] input").nth(1).fill("Passports")
    page.select_option("#editor .field[data-key=parent] select", "TRAVEL")
    page.click("#editor button[type=submit]")
    expect(page.locator('#editor .field-error[data-field="served_by"]')).to_have_text(
        "No counter serves this service: tick at least one")
    page.locator("#editor .field[data-key=served_by] label", has_text="Counter 2").click()
    page.click("#editor button[type=submit]")
    expect(page.locator("#editor")).to_be_hidden()
    expect(page.locator("#section-service .piece", has_text="PASSPORT")).to_be_visible()
    # the open kiosk shows the new category's tile without a reload, and the service inside it
    tile = kiosk.locator('#home-tiles .tile[data-category="TRAVEL"]')
    expect(tile).to_be_visible(timeout=10_000)
    tile.click()
    service = kiosk.locator('#category-tiles .tile[data-service="PASSPORT"]')
    expect(service).to_be_visible()
    kiosk.screenshot(path=str(SHOTS / "kiosk-new-service-live-portrait-zh-CN.png"))
    service.click()
    expect(kiosk.locator("#screen-confirm")).to_be_visible(timeout=15_000)
    staff = hall_server.sign_in("2")
    called = hall_server.call_next(staff, "2")
    assert called["ticket"]["service"] == "PASSPORT" and called["ticket"]["number"] == "P001"


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN", timezone_id="Asia/Shanghai")
    yield context
    context.close()
