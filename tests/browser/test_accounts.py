"""Accounts in Chromium: a manager creates a staff account (the temporary password shown once), the new person signs
in at the counter tablet and must choose their own password (a weak one refused at the field, in the page's
language); disabling an account or resetting its password signs its open console out at once, and it says so; the
"Change password" of the manager page and of the console ends the other devices' sessions; the demo's published
passwords must be changed where the deployment does not allow them; a manager of one branch sees only their
branch's staff. Screenshots of the card, its dialogs and the password dialog at 1280x800 and 1440x900.

``HALL_ACCOUNTS_SHOTS``: a folder to copy the screenshots to (they are always in test-artifacts/screenshots/)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from server.launcher import ServerProcess, write_config
from tests.browser.conftest import BRANCH, HallServer, screenshot

pytestmark = pytest.mark.browser

TABLET = {"width": 1280, "height": 800}
DESKTOP = {"width": 1440, "height": 900}
TIMEOUT = 10_000
SHOTS = os.environ.get("HALL_ACCOUNTS_SHOTS")
NEW_PASSWORD = "river-lamp-orchid"
TEMPORARY = re.compile(r"^[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}$")
LANGUAGES = ["zh-CN", "en"]


def shot(page: Page, name: str) -> None:
    path = screenshot(page, f"accounts-{name}")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS) / path.name)


def short(language: str) -> str:
    return "zh" if language == "zh-CN" else "en"


@pytest.fixture
def contexts(browser: Any) -> Iterator[Any]:
    """Makes browser contexts (each its own cookie jar: a device)."""
    made: list[Any] = []

    def make(viewport: dict[str, int] | None = None, language: str = "zh-CN") -> Any:
        context = browser.new_context(viewport=viewport or TABLET, locale=language, timezone_id="Asia/Shanghai")
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def new_page(context: Any) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())  # the card's confirm() questions
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


def manager_page(context: Any, server: HallServer, language: str, username: str = "manager",
                 password: str = "demo-manager") -> Page:
    """The manager page signed in, its Accounts card loaded."""
    page = new_page(context)
    page.goto(f"{server.url}/manager/{BRANCH}?lang={language}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#board")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#accounts-card")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#accounts tbody tr").first).to_be_visible(timeout=TIMEOUT)
    return page


def account_row(page: Page, username: str) -> Any:
    return page.locator(f'#accounts tbody tr[data-username="{username}"]')


def sign_in_page(context: Any, server: HallServer, username: str, password: str, counter: str,
                 language: str) -> Page:
    page = new_page(context)
    page.goto(f"{server.url}/staff/{BRANCH}?counter={counter}&lang={language}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")
    return page


def open_console(context: Any, server: HallServer, username: str, counter: str, language: str,
                 password: str = "demo-staff") -> Page:
    page = sign_in_page(context, server, username, password, counter, language)
    return start_at_counter(page, counter)


def start_at_counter(page: Page, counter: str) -> Page:
    expect(page.locator("#services-step")).to_be_visible(timeout=TIMEOUT)
    page.click("#start-button")
    page.wait_for_url(re.compile(rf"/staff/{BRANCH}/counter/{counter}"), timeout=TIMEOUT)
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    expect(page.locator("#console")).not_to_have_attribute("data-view", "loading", timeout=TIMEOUT)
    return page


def choose_password(page: Page, new: str, *, current: str | None = None) -> None:
    """Fill the shared "choose a new password" dialog and save."""
    dialog = page.locator("dialog.password-dialog")
    expect(dialog).to_be_visible(timeout=TIMEOUT)
    if current is not None:
        page.fill("#password-current", current)
    page.fill("#password-new", new)
    page.fill("#password-repeat", new)
    dialog.locator("button[type=submit]").click()


def signed_in(server: HallServer, session: requests.Session) -> bool:
    return session.get(f"{server.api}/branches/{BRANCH}/events").status_code == 200


def expect_signed_out_console(console: Page, language: str) -> None:
    """The console says, and keeps saying, that this tablet's sign-in has ended, and offers to sign in again."""
    expect(console.locator("#away-view")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#away-view")).to_have_attribute("data-why", "session-ended")
    expect(console.locator("#away-title")).to_have_text(
        "您已退出登录" if language == "zh-CN" else "You are signed out")
    expect(console.locator("#away-reason")).to_contain_text(
        "请重新登录" if language == "zh-CN" else "Please sign in again")
    expect(console.locator("#console-message-text")).to_have_text(
        "登录已失效，请重新登录。" if language == "zh-CN" else "Your session ended; please sign in again.")
    expect(console.locator("#sign-in-again")).to_be_visible()
    expect(console.locator("#call-next")).to_be_hidden()


# --- a new account, from the card to the counter -----------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_new_account_signs_in_and_chooses_its_own_password(hall_server: HallServer, contexts: Any,
                                                             language: str) -> None:
    manager = manager_page(contexts(TABLET, language), hall_server, language)
    manager.click("#account-new")
    dialog = manager.locator("#account-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("新建账号" if language == "zh-CN" else "New account")
    manager.fill("#account-form input[name=username]", "wu.hao")
    manager.fill("#account-form input[name=display_name]", "吴浩 Wu Hao")
    expect(manager.locator("#account-branches input[value=SZ-FUTIAN]")).to_be_checked()  # the only branch
    manager.click("#account-save")
    temporary = manager.locator("#account-temporary")
    expect(temporary).to_be_visible(timeout=TIMEOUT)
    expect(temporary.locator(".hint")).to_contain_text("吴浩 Wu Hao")
    password = temporary.locator("output").inner_text()
    assert TEMPORARY.match(password), password
    manager.click("#account-temporary-close")
    row = account_row(manager, "wu.hao")
    expect(row).to_contain_text("吴浩 Wu Hao")
    expect(row.locator(".badge.must-change")).to_have_text(
        "待改密码" if language == "zh-CN" else "Must change password")

    tablet = sign_in_page(contexts(TABLET, language), hall_server, "wu.hao", password, "6", language)
    dialog = tablet.locator("dialog.password-dialog")
    expect(dialog).to_be_visible(timeout=TIMEOUT)
    expect(dialog.locator(".password-reason")).to_have_text(
        "管理员为您设置了临时密码，请设置您自己的新密码。" if language == "zh-CN"
        else "An administrator set a temporary password for you: choose your own now.")
    expect(tablet.locator("#password-current")).to_have_count(0)  # just typed: not asked again
    choose_password(tablet, "wu.hao.2024")  # holds the user name
    expect(tablet.locator("#password-new-error")).to_have_text(
        "密码不能包含用户名" if language == "zh-CN" else "The password must not contain the user name")
    expect(dialog).to_be_visible()
    choose_password(tablet, "short")
    expect(tablet.locator("#password-new-error")).to_have_text(
        "密码至少 10 个字符" if language == "zh-CN" else "Use at least 10 characters")
    choose_password(tablet, NEW_PASSWORD)
    expect(dialog).to_be_hidden(timeout=TIMEOUT)
    expect(tablet.locator("#hello")).to_contain_text("吴浩 Wu Hao")
    start_at_counter(tablet, "6")
    expect(tablet.locator("#me-name")).to_have_text("吴浩 Wu Hao")
    # the temporary password opens nothing any more; the new one does
    again = requests.post(f"{hall_server.api}/session", json={"username": "wu.hao", "password": password})
    assert again.status_code == 401
    hall_server.staff("wu.hao", NEW_PASSWORD)
    manager.reload()
    expect(account_row(manager, "wu.hao").locator(".badge.must-change")).to_have_count(0, timeout=TIMEOUT)
    assert manager.js_errors == [] and tablet.js_errors == []  # type: ignore[attr-defined]


# --- sessions that end elsewhere ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_disabling_an_account_signs_its_open_console_out_at_once(hall_server: HallServer, contexts: Any,
                                                                 language: str) -> None:
    console = open_console(contexts(TABLET, language), hall_server, "zhao.lei", "5", language)
    manager = manager_page(contexts(DESKTOP, language), hall_server, language)
    row = account_row(manager, "zhao.lei")
    row.locator("button[data-act=disable]").click()
    expect(row.locator(".badge.closed")).to_have_text("已停用" if language == "zh-CN" else "Disabled",
                                                      timeout=TIMEOUT)
    expect(row.locator("button[data-act=enable]")).to_be_visible()
    expect_signed_out_console(console, language)
    shot(console, f"console-disabled-{short(language)}-1280x800")
    # it cannot sign back in (answered like a wrong password: the sign-in does not tell which names exist)
    console.click("#sign-in-again")
    expect(console.locator("#login-form")).to_be_visible(timeout=TIMEOUT)
    console.fill("#username", "zhao.lei")
    console.fill("#password", "demo-staff")
    console.click("#login-button")
    expect(console.locator("#signin-message")).to_have_text(
        "用户名或密码错误" if language == "zh-CN" else "Wrong username or password", timeout=TIMEOUT)
    assert console.js_errors == [] and manager.js_errors == []  # type: ignore[attr-defined]


def test_a_password_reset_by_an_admin_ends_the_session_and_asks_for_a_new_password(hall_server: HallServer,
                                                                                   contexts: Any) -> None:
    console = open_console(contexts(TABLET, "en"), hall_server, "li.na", "3", "en")
    admin = manager_page(contexts(DESKTOP, "en"), hall_server, "en", "admin", "demo-admin")
    account_row(admin, "li.na").locator("button[data-act=reset]").click()
    temporary = admin.locator("#account-temporary")
    expect(temporary).to_be_visible(timeout=TIMEOUT)
    password = temporary.locator("output").inner_text()
    assert TEMPORARY.match(password), password
    admin.click("#account-temporary-close")
    expect_signed_out_console(console, "en")
    console.click("#sign-in-again")
    expect(console.locator("#login-form")).to_be_visible(timeout=TIMEOUT)
    console.fill("#username", "li.na")
    console.fill("#password", password)
    console.click("#login-button")
    expect(console.locator("dialog.password-dialog .password-reason")).to_have_text(
        "An administrator set a temporary password for you: choose your own now.", timeout=TIMEOUT)
    choose_password(console, NEW_PASSWORD)
    start_at_counter(console, "3")
    assert console.js_errors == [] and admin.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
def test_change_password_on_the_manager_page_ends_the_other_devices_sessions(hall_server: HallServer,
                                                                             contexts: Any, language: str) -> None:
    other_device = hall_server.staff("manager", "demo-manager")
    page = manager_page(contexts(DESKTOP, language), hall_server, language)
    page.click("#change-password")
    dialog = page.locator("dialog.password-dialog")
    expect(dialog.locator(".password-reason")).to_have_text(
        "修改后，您在其他设备上的登录会退出。" if language == "zh-CN"
        else "Once changed, you are signed out on your other devices.")
    choose_password(page, NEW_PASSWORD, current="not-my-password")
    expect(page.locator("#password-current-error")).to_have_text(
        "当前密码不正确" if language == "zh-CN" else "The current password is wrong")
    choose_password(page, NEW_PASSWORD, current="demo-manager")
    expect(dialog).to_be_hidden(timeout=TIMEOUT)
    expect(page.locator("#password-done")).to_have_text("密码已修改" if language == "zh-CN" else "Password changed")
    assert not signed_in(hall_server, other_device)
    page.reload()  # this browser stays signed in, with the new password's session
    expect(page.locator("#board")).to_be_visible(timeout=TIMEOUT)
    hall_server.staff("manager", NEW_PASSWORD)
    assert page.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
def test_change_password_on_the_console_keeps_it_working_and_ends_the_other_devices(
        hall_server: HallServer, contexts: Any, language: str) -> None:
    console = open_console(contexts(TABLET, language), hall_server, "zhang.wei", "2", language)
    phone = hall_server.staff("zhang.wei")
    console.click("#password-button")
    choose_password(console, NEW_PASSWORD, current="demo-staff")
    expect(console.locator("dialog.password-dialog")).to_be_hidden(timeout=TIMEOUT)
    expect(console.locator("#console-message-text")).to_have_text(
        "密码已修改" if language == "zh-CN" else "Password changed")
    assert not signed_in(hall_server, phone)
    # the console's own socket was dropped with the old session and joins again with the new one
    expect(console.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    ticket = hall_server.issue("BILL")
    console.click("#call-next")
    expect(console.locator("#current-number")).to_have_text(ticket["number"], timeout=TIMEOUT)
    expect(console.locator("#away-view")).to_be_hidden()
    assert console.js_errors == []  # type: ignore[attr-defined]


def test_the_demo_password_must_be_changed_where_the_deployment_does_not_allow_it(tmp_path: Path,
                                                                                   contexts: Any) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    text = config.read_text(encoding="utf-8")
    assert re.search(r"^allow_demo_passwords = true", text, flags=re.M)
    config.write_text(re.sub(r"^allow_demo_passwords = true", "allow_demo_passwords = false", text, flags=re.M),
                      encoding="utf-8")
    with ServerProcess(config) as process:
        server = HallServer(process)
        page = new_page(contexts(DESKTOP, "en"))
        page.goto(f"{server.url}/manager/{BRANCH}?lang=en")
        page.fill("input[name=username]", "manager")
        page.fill("input[name=password]", "demo-manager")
        page.click("#login-form button[type=submit]")
        dialog = page.locator("dialog.password-dialog")
        expect(dialog.locator(".password-reason")).to_have_text(
            "This is the published demo password that everyone knows: choose a new one first.", timeout=TIMEOUT)
        shot(page, "manager-demo-password-en-1440x900")
        choose_password(page, "demo-manager")  # a demo password is as common as they come
        expect(page.locator("#password-new-error")).to_have_text("This password is too common: it is easily guessed")
        choose_password(page, NEW_PASSWORD)
        expect(page.locator("#board")).to_be_visible(timeout=TIMEOUT)
        refused = requests.post(f"{server.api}/session", json={"username": "manager", "password": "demo-manager"})
        assert refused.status_code == 401
        assert page.js_errors == []  # type: ignore[attr-defined]


# --- who manages whom ---------------------------------------------------------------------------------------


def two_branches(server: HallServer) -> None:
    """A second branch (by an administrator, through the API), the manager and two of the staff kept to the first,
    and a clerk of the second."""
    admin = server.staff("admin", "demo-admin")
    first = [{"kind": "service", "body": {"code": "BILL", "prefix": "A", "name": {"zh-CN": "缴费", "en": "Bills"}}},
             {"kind": "counter", "body": {"number": "1", "name": {"zh-CN": "1号", "en": "1"}, "services": ["BILL"]}}]
    made = admin.post(f"{server.api}/admin/hall/pieces", json={
        "kind": "branch", "code": "SZ-NANSHAN", "first": first,
        "body": {"code": "SZ-NANSHAN", "name": {"zh-CN": "南山营业厅", "en": "Nanshan Hall"}}})
    assert made.status_code == 201, made.text
    versions = {a["username"]: a["version"] for a in admin.get(f"{server.api}/accounts").json()["accounts"]}
    for username in ("manager", "zhang.wei", "li.na"):
        changed = admin.patch(f"{server.api}/accounts/{username}",
                              json={"version": versions[username], "branches": [BRANCH]})
        assert changed.ok, changed.text
    created = admin.post(f"{server.api}/accounts", json={"username": "nan.clerk", "display_name": "南山 Clerk",
                                                         "branches": ["SZ-NANSHAN"]})
    assert created.status_code == 201, created.text


def test_a_manager_of_one_branch_sees_only_that_branchs_staff(hall_server: HallServer, contexts: Any) -> None:
    two_branches(hall_server)
    page = manager_page(contexts(DESKTOP, "en"), hall_server, "en")
    rows = page.locator("#accounts tbody tr")
    expect(rows).to_have_count(2)
    assert sorted(rows.evaluate_all("(rows) => rows.map((r) => r.dataset.username)")) == ["li.na", "zhang.wei"]
    page.click("#account-new")
    boxes = page.locator("#account-branches input")
    expect(boxes).to_have_count(1)
    expect(boxes.first).to_have_attribute("value", BRANCH)
    expect(page.locator("#account-form select[name=role] option")).to_have_count(1)  # staff only
    page.click("#account-cancel")
    admin = manager_page(contexts(DESKTOP, "en"), hall_server, "en", "admin", "demo-admin")
    expect(account_row(admin, "nan.clerk")).to_contain_text("Nanshan Hall")
    assert page.js_errors == [] and admin.js_errors == []  # type: ignore[attr-defined]


# --- display names where people read -------------------------------------------------------------------------


def test_people_are_shown_by_their_display_names(hall_server: HallServer, contexts: Any) -> None:
    """The manager page's counters, a device's and a token's "by", the sign-in page's counter cards and the
    console taken over: the display name, never the user name."""
    hall_server.sign_in("1", "li.na")
    manager = hall_server.staff("manager", "demo-manager")
    asked = requests.post(f"{hall_server.api}/devices/pairing", json={"branch": BRANCH, "kind": "pad", "target": "4"},
                          headers={"X-Device-Id": "pad-4"})
    assert asked.status_code == 201, asked.text
    device = hall_server.approve(asked.json()["code"], "pad", "4")
    assert manager.post(f"{hall_server.api}/branches/{BRANCH}/devices/{device['id']}/revoke").ok
    token = manager.post(f"{hall_server.api}/branches/{BRANCH}/api-tokens",
                         json={"name": "CRM", "scope": "read", "branches": [BRANCH]})
    assert token.status_code == 201, token.text
    assert token.json()["created_by_name"] == "黄经理 Manager Huang"
    assert manager.post(f"{hall_server.api}/branches/{BRANCH}/api-tokens/{token.json()['id']}/revoke").ok

    page = manager_page(contexts(DESKTOP, "en"), hall_server, "en")
    counter_1 = page.locator(".counter").first
    expect(counter_1).to_contain_text("李娜 Li Na")
    expect(counter_1).not_to_contain_text("li.na")
    revoked = page.locator("#devices tbody tr", has_text="Revoked")
    expect(revoked).to_contain_text("黄经理 Manager Huang")
    expect(revoked).not_to_contain_text("· manager")
    token_row = page.locator("#tokens tbody tr.token")
    expect(token_row).to_contain_text("made by 黄经理 Manager Huang")
    expect(token_row).to_contain_text("Revoked")
    expect(token_row.locator("small").last).to_contain_text("黄经理 Manager Huang")

    sign_in = sign_in_page(contexts(TABLET, "en"), hall_server, "zhang.wei", "demo-staff", "1", "en")
    card = sign_in.locator('#counter-grid [data-counter="1"]')
    expect(card).to_contain_text("李娜 Li Na is signed in", timeout=TIMEOUT)
    expect(sign_in.locator("#takeover-question")).to_have_text(
        "李娜 Li Na is signed in at " + card.locator(".counter-card-name").inner_text() + ". Take it over?")

    console = open_console(contexts(TABLET, "zh-CN"), hall_server, "wang.fang", "2", "zh-CN")
    hall_server.sign_in("2", "zhou.min")  # takes counter 2 over
    expect(console.locator("#away-reason")).to_have_text("周敏 Zhou Min 已接管本窗口", timeout=TIMEOUT)
    assert page.js_errors == [] and console.js_errors == []  # type: ignore[attr-defined]


# --- how it looks ---------------------------------------------------------------------------------------------

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def assert_fits(page: Page, selector: str) -> None:
    """Nothing of ``selector`` sticks out of the window, and nothing inside it out of its own box."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 1, (selector, box)
    overflowing = page.locator(selector).evaluate(
        "(root) => [...root.querySelectorAll('*')].filter((e) => e.scrollWidth > e.clientWidth + 1"
        " && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0).map((e) => e.outerHTML.slice(0, 80))")
    assert overflowing == [], overflowing


@pytest.mark.parametrize("language", LANGUAGES)
def test_screenshots_of_the_card_its_dialogs_and_the_password_dialog(hall_server: HallServer, contexts: Any,
                                                                    language: str) -> None:
    for viewport in (TABLET, DESKTOP):
        size = f"{viewport['width']}x{viewport['height']}"
        name = f"{short(language)}-{size}"
        page = manager_page(contexts(viewport, language), hall_server, language, "admin", "demo-admin")
        card = page.locator("#accounts-card")
        card.scroll_into_view_if_needed()
        page.wait_for_function(NO_SIDEWAYS_SCROLL)
        assert_fits(page, "#accounts-card")
        shot(page, f"card-{name}")

        page.click("#account-new")
        expect(page.locator("#account-dialog")).to_be_visible()
        assert_fits(page, "#account-dialog")
        shot(page, f"new-account-{name}")
        page.click("#account-cancel")
        account_row(page, "li.na").locator("button[data-act=edit]").click()
        expect(page.locator("#account-dialog h2")).to_contain_text("李娜 Li Na")
        assert_fits(page, "#account-dialog")
        shot(page, f"edit-account-{name}")
        page.click("#account-cancel")

        username = f"new.{short(language)}.{viewport['width']}"
        page.click("#account-new")
        page.fill("#account-form input[name=username]", username)
        page.fill("#account-form input[name=display_name]", "吴浩 Wu Hao")
        page.check("#account-branches input[value=SZ-FUTIAN]")
        page.click("#account-save")
        expect(page.locator("#account-temporary")).to_be_visible(timeout=TIMEOUT)
        assert_fits(page, "#account-temporary")
        shot(page, f"temporary-password-{name}")
        page.click("#account-temporary-close")

        page.click("#change-password")
        expect(page.locator("dialog.password-dialog")).to_be_visible()
        page.fill("#password-current", "demo-admin")
        page.fill("#password-new", "admin1234567")
        page.fill("#password-repeat", "admin1234567")
        page.locator("dialog.password-dialog button[type=submit]").click()
        expect(page.locator("#password-new-error")).to_be_visible(timeout=TIMEOUT)  # holds the user name
        assert_fits(page, "dialog.password-dialog")
        shot(page, f"manager-password-{name}")
        page.locator("dialog.password-dialog button.ghost").click()
        assert page.js_errors == []  # type: ignore[attr-defined]

    console = open_console(contexts(TABLET, language), hall_server, "zhang.wei", "2", language)
    console.click("#password-button")
    expect(console.locator("dialog.password-dialog")).to_be_visible()
    assert_fits(console, "dialog.password-dialog")
    shot(console, f"console-password-{short(language)}-1280x800")
    assert console.js_errors == []  # type: ignore[attr-defined]
