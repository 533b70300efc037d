"""The staff console in headless Chromium against a real server: sign-in, calling, serving, transfer, races.

The full flow of the acceptance criteria runs across two consoles and the rating pad: zhang.wei at counter 2
calls, starts and transfers a ticket to counter 3; li.na at counter 3 sees it arrive, calls, serves and
finishes it; the customer rates it on counter 3's pad and the rating is recorded (a follow-up for a
dissatisfied one). Racing consoles never get the same ticket; a stale action is refused with a clear
message and a refreshed view.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import BRANCH, HallServer, screenshot

pytestmark = pytest.mark.browser

TABLET = {"width": 1280, "height": 800}
TIMEOUT = 10_000
B = f"/api/branches/{BRANCH}"


@pytest.fixture
def tablets(browser: Any) -> Iterator[Any]:
    """Makes browser contexts shaped like the counter tablets (each has its own session cookie)."""
    made: list[Any] = []

    def make(viewport: dict[str, int] | None = None, *, touch: bool = True) -> Any:
        context = browser.new_context(viewport=viewport or TABLET, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      has_touch=touch)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def new_page(context: Any) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


def open_console(context: Any, server: HallServer, username: str, counter: str, *,
                 services: list[str] | None = None, takeover: bool = False, query: str = "") -> Page:
    """Sign in through the sign-in page and land on the console of ``counter``."""
    page = new_page(context)
    page.goto(f"{server.url}/staff/{BRANCH}?counter={counter}{query}")
    page.fill("#username", username)
    page.fill("#password", "demo-staff")
    page.click("#login-button")
    expect(page.locator("#services-step")).to_be_visible(timeout=TIMEOUT)
    if services is not None:
        for box in page.locator("#service-choices input").all():
            box.set_checked(box.get_attribute("value") in services)
    if takeover:
        page.check("#takeover-check")
    page.click("#start-button")
    page.wait_for_url(re.compile(rf"/staff/{BRANCH}/counter/{counter}"), timeout=TIMEOUT)
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    expect(page.locator("#console")).not_to_have_attribute("data-view", "loading", timeout=TIMEOUT)
    return page


def manager(server: HallServer) -> requests.Session:
    return server.staff("manager", "demo-manager")


def counter_ticket(server: HallServer, counter: str) -> dict[str, Any] | None:
    snapshot = manager(server).get(f"{server.api}/branches/{BRANCH}/snapshot?view=staff").json()
    return next(c for c in snapshot["counters"] if c["number"] == counter)["current"]


# --- the acceptance flow -----------------------------------------------------------------------------------


def test_full_flow_from_sign_in_to_the_rating_on_the_pad(hall_server: HallServer, tablets: Any) -> None:
    console_a = open_console(tablets(), hall_server, "zhang.wei", "2")
    console_b = open_console(tablets(), hall_server, "li.na", "3")
    pad_context = tablets({"width": 1024, "height": 600})
    hall_server.pair(pad_context, "pad", "3")
    pad = new_page(pad_context)
    pad.goto(f"{hall_server.url}/pad/{BRANCH}/3")
    expect(pad.locator("#staff-name")).to_have_text("李娜 Li Na", timeout=TIMEOUT)

    ticket = hall_server.issue("BILL")
    number = ticket["number"]
    # the new ticket appears live in counter 2's waiting list
    expect(console_a.locator("#waiting-list .ticket-row").first).to_have_attribute("data-number", number,
                                                                                  timeout=TIMEOUT)
    screenshot(console_a, "staff-console-idle-zh")

    console_a.click("#call-next")
    expect(console_a.locator("#current-number")).to_have_text(number, timeout=TIMEOUT)
    expect(console_a.locator("#current-state")).to_have_text("已呼叫")
    console_a.click("[data-action=start]")
    expect(console_a.locator("#current-state")).to_have_text("办理中", timeout=TIMEOUT)

    console_a.click("[data-action=transfer]")
    dialog = console_a.locator("#transfer-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("label[for=to_counter-3]").click()
    console_a.fill("#transfer-note", "需要办理套餐变更，已核对身份证")
    screenshot(console_a, "staff-console-transfer-zh")
    console_a.click("#transfer-confirm")
    expect(dialog).to_be_hidden()
    expect(console_a.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    expect(console_a.locator("#console-message")).to_contain_text(f"{number} 已转移")

    # counter 3 sees the transferred ticket at the front of its queue, marked for it, with the note
    row = console_b.locator(f"#waiting-list .ticket-row[data-number={number}]")
    expect(row).to_be_visible(timeout=TIMEOUT)
    expect(row).to_contain_text("指定本窗口")
    expect(row).to_contain_text("已核对身份证")
    console_b.click("#call-next")
    expect(console_b.locator("#current-number")).to_have_text(number, timeout=TIMEOUT)
    expect(console_b.locator("#current-transfer")).to_contain_text("需要办理套餐变更，已核对身份证")
    console_b.click("[data-action=start]")
    expect(console_b.locator("#current-state")).to_have_text("办理中", timeout=TIMEOUT)
    console_b.click("[data-action=finish]")
    expect(console_b.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    expect(console_b.locator("#day-served")).to_have_text("1", timeout=TIMEOUT)

    # the pad at counter 3 asks this customer; a dissatisfied rating with a reason
    expect(pad.locator("#screen-ask")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator("#ask-number")).to_contain_text(number)
    pad.click(".score[data-score='1']")
    expect(pad.locator("#screen-reasons")).to_be_visible()
    pad.click(".chip[data-reason=WAIT_LONG]")
    pad.click("#send")
    expect(pad.locator("#screen-thanks")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator("#thanks-text")).to_contain_text("经理")

    follow_ups = manager(hall_server).get(f"{hall_server.api}/branches/{BRANCH}/follow-ups").json()["follow_ups"]
    assert [(f["ticket"]["number"], f["counter"], f["staff"], f["score"], [r["code"] for r in f["reasons"]])
            for f in follow_ups] == [(number, "3", "li.na", 1, ["WAIT_LONG"])]
    rating = requests.get(f"{hall_server.api}/tickets/{ticket['token']}/rating").json()
    assert rating["rated"] and rating["rating"]["channel"] == "pad"
    # li.na's "my day" follows the rating live
    expect(console_b.locator("#day-ratings")).to_contain_text("1 条评价", timeout=TIMEOUT)
    expect(console_b.locator("#day-ratings")).to_contain_text("0%")
    console_b.click("#language-button")  # counts read naturally in English too: one rating, not "1 ratings"
    expect(console_b.locator("#day-ratings small")).to_have_text("1 rating")
    for page in (console_a, console_b, pad):
        assert page.js_errors == []  # type: ignore[attr-defined]


# --- concurrency and staleness ---------------------------------------------------------------------------


def test_two_consoles_racing_on_call_next_get_different_tickets(hall_server: HallServer, tablets: Any) -> None:
    console_a = open_console(tablets(), hall_server, "zhang.wei", "2", services=["BILL"])
    console_b = open_console(tablets(), hall_server, "li.na", "3", services=["BILL"])
    for _ in range(6):
        hall_server.issue("BILL")
    expect(console_a.locator("#waiting-count")).to_have_text("6", timeout=TIMEOUT)
    expect(console_b.locator("#waiting-count")).to_have_text("6", timeout=TIMEOUT)
    seen: set[str] = set()
    for _round in range(3):
        expect(console_a.locator("#call-next")).to_be_enabled(timeout=TIMEOUT)
        expect(console_b.locator("#call-next")).to_be_enabled(timeout=TIMEOUT)
        # both presses go out before either answer is back (click() here does not wait for the fetch)
        console_a.evaluate("document.getElementById('call-next').click()")
        console_b.evaluate("document.getElementById('call-next').click()")
        expect(console_a.locator("#ticket-view")).to_be_visible(timeout=TIMEOUT)
        expect(console_b.locator("#ticket-view")).to_be_visible(timeout=TIMEOUT)
        number_a = console_a.locator("#current-number").inner_text()
        number_b = console_b.locator("#current-number").inner_text()
        assert number_a != number_b
        assert not {number_a, number_b} & seen
        seen |= {number_a, number_b}
        assert counter_ticket(hall_server, "2")["number"] == number_a  # type: ignore[index]
        assert counter_ticket(hall_server, "3")["number"] == number_b  # type: ignore[index]
        for console in (console_a, console_b):
            console.click("[data-action=start]")
            expect(console.locator("#current-state")).to_have_text("办理中", timeout=TIMEOUT)
            console.click("[data-action=finish]")
            expect(console.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    assert len(seen) == 6


def test_two_tablets_on_one_counter_cannot_both_call(hall_server: HallServer, tablets: Any) -> None:
    first = open_console(tablets(), hall_server, "zhang.wei", "2")
    second = open_console(tablets(), hall_server, "zhang.wei", "2")
    hall_server.issue("BILL")
    hall_server.issue("BILL")
    expect(first.locator("#waiting-count")).to_have_text("2", timeout=TIMEOUT)
    expect(second.locator("#waiting-count")).to_have_text("2", timeout=TIMEOUT)
    first.evaluate("document.getElementById('call-next').click()")
    second.evaluate("document.getElementById('call-next').click()")
    called = counter_ticket_when_settled(hall_server, "2")
    # both tablets end up showing the one ticket the counter really called; the other stays waiting
    expect(first.locator("#current-number")).to_have_text(called, timeout=TIMEOUT)
    expect(second.locator("#current-number")).to_have_text(called, timeout=TIMEOUT)
    expect(first.locator("#waiting-count")).to_have_text("1", timeout=TIMEOUT)
    refused = [page for page in (first, second) if "请先处理当前客户" in page.locator("#console-message").inner_text()]
    assert len(refused) == 1


def counter_ticket_when_settled(server: HallServer, counter: str) -> str:
    for _ in range(50):
        current = counter_ticket(server, counter)
        if current is not None:
            return str(current["number"])
        time.sleep(0.1)
    raise AssertionError(f"counter {counter} called nothing")


def test_a_stale_action_is_refused_with_a_clear_message_and_a_refreshed_view(hall_server: HallServer,
                                                                            tablets: Any) -> None:
    console = open_console(tablets(), hall_server, "zhang.wei", "2")
    hall_server.issue("BILL")
    expect(console.locator("#waiting-count")).to_have_text("1", timeout=TIMEOUT)
    console.click("#call-next")
    expect(console.locator("[data-action=no-show]")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#waiting-count")).to_have_text("0", timeout=TIMEOUT)
    console.wait_for_function("() => StaffConsole.settled()", timeout=TIMEOUT)  # no refresh under way
    number = console.locator("#current-number").inner_text()
    # this tablet drops off the network for a moment; the other tablet at the counter serves the customer
    console.evaluate("HallLive.client.socket.disconnect()")
    other_tablet = hall_server.staff("zhang.wei")
    current = counter_ticket(hall_server, "2")
    assert current is not None
    started = other_tablet.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{current['id']}/start",
                                json={"version": current["version"]}).json()["ticket"]
    finished = other_tablet.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{current['id']}/finish",
                                 json={"version": started["version"]})
    assert finished.ok, finished.text
    expect(console.locator("#current-number")).to_have_text(number)  # still the stale view
    console.click("[data-action=no-show]")
    message = console.locator("#console-message")
    expect(message).to_be_visible(timeout=TIMEOUT)
    expect(message).to_contain_text(f"{number} 已被更改（现为：已完成），界面已刷新")
    expect(console.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#ticket-view")).to_be_hidden()
    screenshot(console, "staff-console-stale-zh")
    console.evaluate("HallLive.client.socket.connect()")
    expect(console.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    assert counter_ticket(hall_server, "2") is None


# --- the other actions -------------------------------------------------------------------------------------


def test_recall_park_resume_return_and_no_show(hall_server: HallServer, tablets: Any) -> None:
    console = open_console(tablets(), hall_server, "zhang.wei", "2")
    first, second, third = (hall_server.issue("BILL")["number"] for _ in range(3))
    expect(console.locator("#waiting-count")).to_have_text("3", timeout=TIMEOUT)

    console.click("#call-next")
    expect(console.locator("#current-number")).to_have_text(first, timeout=TIMEOUT)
    console.click("[data-action=recall]")
    expect(console.locator("#recall-count")).to_have_text("(1)", timeout=TIMEOUT)
    expect(console.locator("#current-recalls")).to_have_text("已重呼 1 次")
    console.click("[data-action=start]")
    console.click("[data-action=park]")
    parked = console.locator(f"#parked-list .ticket-row[data-number={first}]")
    expect(parked).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#call-next")).to_be_visible()

    console.click("#call-next")
    expect(console.locator("#current-number")).to_have_text(second, timeout=TIMEOUT)
    expect(parked.locator("button")).to_be_disabled()  # busy with a customer: no resuming now
    console.click("[data-action=return]")
    expect(console.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator(f"#waiting-list .ticket-row[data-number={second}]")).to_be_visible(timeout=TIMEOUT)

    parked.locator("button").click()
    expect(console.locator("#current-number")).to_have_text(first, timeout=TIMEOUT)
    expect(console.locator("#current-state")).to_have_text("办理中")
    expect(console.locator("#parked-section")).to_be_hidden(timeout=TIMEOUT)
    console.click("[data-action=finish]")
    expect(console.locator("#call-next")).to_be_visible(timeout=TIMEOUT)

    # call a specific ticket from the list, then mark it no-show
    console.locator(f"#waiting-list .ticket-row[data-number={third}] button").click()
    expect(console.locator("#current-number")).to_have_text(third, timeout=TIMEOUT)
    console.click("[data-action=no-show]")
    expect(console.locator("#undo-bar")).to_contain_text(f"{third} 已标记过号", timeout=TIMEOUT)
    expect(console.locator("#waiting-count")).to_have_text("1", timeout=TIMEOUT)
    assert console.js_errors == []  # type: ignore[attr-defined]


def test_pause_with_a_reason_and_resume(hall_server: HallServer, tablets: Any) -> None:
    console = open_console(tablets(), hall_server, "zhang.wei", "2")
    console.click("#pause-button")
    dialog = console.locator("#pause-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#pause-parked-warning")).to_be_hidden()
    expect(dialog.locator("#pause-confirm")).to_have_text("暂停")
    dialog.locator("label[for=reason-back_office]").click()
    dialog.locator("button[type=submit]").click()
    expect(console.locator("#paused-view")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#paused-reason")).to_have_text("后台业务")
    expect(console.locator("#paused-parked")).to_be_hidden()  # nobody parked here
    expect(console.locator("#counter-status")).to_have_text("暂停 · 后台业务")
    expect(console.locator("#call-next")).to_be_hidden()
    snapshot = requests.get(f"{hall_server.api}/branches/{BRANCH}/snapshot").json()
    assert next(c for c in snapshot["counters"] if c["number"] == "2")["status"] == "paused"
    console.click("#paused-view [data-action=resume-counter]")
    expect(console.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#counter-status")).to_have_text("服务中")


def test_todays_services_limit_the_queue_and_can_change(hall_server: HallServer, tablets: Any) -> None:
    bill = hall_server.issue("BILL")["number"]
    plan = hall_server.issue("PLAN")["number"]
    console = open_console(tablets(), hall_server, "zhang.wei", "2", services=["PLAN"])
    expect(console.locator("#services-today")).to_have_text("套餐变更")
    expect(console.locator("#waiting-list .ticket-row")).to_have_count(1, timeout=TIMEOUT)
    expect(console.locator("#waiting-list .ticket-row").first).to_have_attribute("data-number", plan)
    console.click("#services-button")
    console.locator("#services-choices label[for=today-BILL]").click()
    console.locator("#services-dialog button[type=submit]").click()
    expect(console.locator("#services-today")).to_have_text("缴费充值套餐变更", timeout=TIMEOUT)
    expect(console.locator("#waiting-list .ticket-row")).to_have_count(2, timeout=TIMEOUT)
    # counter 2 prefers BILL, so the BILL ticket now comes first, as the server orders it
    expect(console.locator("#waiting-list .ticket-row").first).to_have_attribute("data-number", bill)


def test_keyboard_shortcuts_on_a_desktop(hall_server: HallServer, tablets: Any) -> None:
    console = open_console(tablets({"width": 1440, "height": 900}, touch=False), hall_server, "zhang.wei", "2")
    number = hall_server.issue("BILL")["number"]
    expect(console.locator("#waiting-count")).to_have_text("1", timeout=TIMEOUT)
    expect(console.locator("#call-next kbd")).to_be_visible()

    def press(key: str, action: str) -> None:
        # a key does nothing while a command is under way (its button is disabled): wait until it is not
        expect(console.locator(f"button[data-action={action}]:visible")).to_be_enabled(timeout=TIMEOUT)
        console.keyboard.press(key)

    press("n", "call-next")
    expect(console.locator("#current-number")).to_have_text(number, timeout=TIMEOUT)
    press("r", "recall")
    expect(console.locator("#recall-count")).to_have_text("(1)", timeout=TIMEOUT)
    press("s", "start")
    expect(console.locator("#current-state")).to_have_text("办理中", timeout=TIMEOUT)
    press("f", "finish")
    expect(console.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    press("p", "pause")
    expect(console.locator("#pause-dialog")).to_be_visible()
    console.keyboard.press("Escape")
    expect(console.locator("#pause-dialog")).to_be_hidden()


def test_taken_over_counter_tells_the_first_tablet(hall_server: HallServer, tablets: Any) -> None:
    console = open_console(tablets(), hall_server, "zhang.wei", "2")
    other = open_console(tablets(), hall_server, "li.na", "2", takeover=True)
    expect(other.locator("#call-next")).to_be_visible()
    expect(console.locator("#away-view")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#away-reason")).to_have_text("李娜 Li Na 已接管本窗口", timeout=TIMEOUT)
    expect(console.locator("#sign-in-again")).to_be_visible()


def test_sign_out_and_a_console_without_a_session_goes_to_sign_in(hall_server: HallServer, tablets: Any) -> None:
    context = tablets()
    page = new_page(context)
    page.goto(f"{hall_server.url}/staff/{BRANCH}/counter/4")
    expect(page).to_have_url(re.compile(rf"/staff/{BRANCH}\?counter=4$"))
    expect(page.locator("#login-form")).to_be_visible()
    page.fill("#username", "wang.fang")
    page.fill("#password", "wrong")
    page.click("#login-button")
    expect(page.locator("#signin-message")).to_have_text("用户名或密码错误", timeout=TIMEOUT)
    console = open_console(context, hall_server, "wang.fang", "4")
    console.click("#sign-out-button")
    console.locator("#sign-out-dialog button[type=submit]").click()
    expect(console.locator("#login-form")).to_be_visible(timeout=TIMEOUT)
    snapshot = requests.get(f"{hall_server.api}/branches/{BRANCH}/snapshot").json()
    assert next(c for c in snapshot["counters"] if c["number"] == "4")["status"] == "closed"


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_console_whose_session_ends_elsewhere_says_so(hall_server: HallServer, tablets: Any, language: str) -> None:
    """Sign out everywhere from another device: the open console loses the staff room at once, its re-join is
    refused, and it says the session ended; its next command is refused too."""
    console = open_console(tablets(), hall_server, "zhao.lei", "5", query=f"&lang={language}")
    answer = hall_server.staff("zhao.lei").delete(f"{hall_server.api}/session/everywhere").json()
    assert answer == {"username": "zhao.lei", "ended": 2}
    ended = "登录已失效，请重新登录。" if language == "zh-CN" else "Your session ended; please sign in again."
    expect(console.locator("#console-message-text")).to_have_text(ended, timeout=TIMEOUT)
    screenshot(console, f"staff-console-session-ended-{'zh' if language == 'zh-CN' else 'en'}")
    status = console.evaluate(f"fetch('/api/branches/{BRANCH}/events').then((r) => r.status)")
    assert status == 401
    assert console.js_errors == []  # type: ignore[attr-defined]


def test_a_run_of_wrong_passwords_locks_the_device_out_with_a_clear_message(hall_server: HallServer,
                                                                             tablets: Any) -> None:
    """A name no account has (so no other test's sign-in is locked out on this server): after five wrong
    passwords the page says this device is locked and for how long, in the tablet's language."""
    page = new_page(tablets())
    page.goto(f"{hall_server.url}/staff/{BRANCH}?counter=5")
    page.fill("#username", "guess.who")
    for _ in range(5):
        page.fill("#password", "wrong")
        page.click("#login-button")
        expect(page.locator("#signin-message")).to_have_text("用户名或密码错误", timeout=TIMEOUT)
        expect(page.locator("#login-button")).to_be_enabled()
        page.evaluate("document.getElementById('signin-message').textContent = ''")
    page.click("#login-button")
    expect(page.locator("#signin-message")).to_have_text(
        "密码错误次数过多，此设备已暂时锁定，请 5 分钟后再试", timeout=TIMEOUT)
    screenshot(page, "staff-sign-in-locked-zh")
    assert page.js_errors == []  # type: ignore[attr-defined]


# --- screenshots in both languages -------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_screenshots_of_the_console(hall_server: HallServer, tablets: Any, language: str) -> None:
    suffix = "zh" if language == "zh-CN" else "en"
    query = f"&lang={language}"
    sign_in = new_page(tablets())
    sign_in.goto(f"{hall_server.url}/staff/{BRANCH}?counter=3{query}")
    sign_in.fill("#username", "li.na")
    sign_in.fill("#password", "demo-staff")
    sign_in.click("#login-button")
    expect(sign_in.locator("#services-step")).to_be_visible(timeout=TIMEOUT)
    screenshot(sign_in, f"staff-sign-in-{suffix}")

    colleague = hall_server.sign_in("2", "zhang.wei")
    for service, priority in (("PLAN", "normal"), ("SIM", "priority"), ("BILL", "normal"), ("PLAN", "vip")):
        hall_server.issue(service, priority=priority, by=colleague)
    moved = hall_server.issue("BILL")
    called = hall_server.call_next(colleague, "2")["ticket"] or moved
    colleague.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{called['id']}/transfer",
                   json={"to_service": "PLAN", "to_counter": "3", "version": called["version"],
                         "note": "客户要改套餐 · wants a cheaper plan"})
    console = open_console(tablets(), hall_server, "li.na", "3", query=query)
    expect(console.locator("#waiting-count")).to_have_text("5", timeout=TIMEOUT)
    console.wait_for_function("() => StaffConsole.settled()", timeout=TIMEOUT)
    screenshot(console, f"staff-console-idle-{suffix}")
    console.click("#call-next")
    expect(console.locator("#current-transfer")).to_be_visible(timeout=TIMEOUT)
    console.click("[data-action=start]")
    expect(console.locator("#ticket-view")).to_have_attribute("data-state", "serving", timeout=TIMEOUT)
    console.wait_for_function("() => StaffConsole.settled()", timeout=TIMEOUT)
    screenshot(console, f"staff-console-serving-{suffix}")

    portrait = open_console(tablets({"width": 800, "height": 1280}), hall_server, "zhao.lei", "4", query=query)
    expect(portrait.locator("#waiting-list .ticket-row").first).to_be_visible(timeout=TIMEOUT)
    portrait.click("#call-next")
    expect(portrait.locator("#ticket-view")).to_be_visible(timeout=TIMEOUT)
    portrait.wait_for_function("() => StaffConsole.settled()", timeout=TIMEOUT)
    screenshot(portrait, f"staff-console-portrait-{suffix}")
    for page in (sign_in, console, portrait):
        assert page.js_errors == []  # type: ignore[attr-defined]


def test_finish_and_call_next_in_one_tap(hall_server: HallServer, tablets: Any) -> None:
    console = open_console(tablets(), hall_server, "zhang.wei", "2", query="&lang=en")
    first, second = hall_server.issue("BILL")["number"], hall_server.issue("BILL")["number"]
    expect(console.locator("#waiting-count")).to_have_text("2", timeout=TIMEOUT)
    console.click("[data-action=call-next]")
    expect(console.locator("#current-number")).to_have_text(first, timeout=TIMEOUT)
    expect(console.locator("[data-action=finish-next]")).to_be_hidden()  # called, not served yet
    console.click("[data-action=start]")
    expect(console.locator("[data-action=finish-next]")).to_have_text("Finish & call nextG", timeout=TIMEOUT)

    console.click("[data-action=finish-next]")
    expect(console.locator("#current-number")).to_have_text(second, timeout=TIMEOUT)
    expect(console.locator("#current-state")).to_have_text("Called")
    expect(console.locator("#console-message-text")).to_have_text(f"{first} finished; called {second}")
    expect(console.locator("#day-served")).to_have_text("1", timeout=TIMEOUT)

    console.click("[data-action=start]")
    expect(console.locator("button[data-action=finish-next]:visible")).to_be_enabled(timeout=TIMEOUT)
    console.keyboard.press("g")  # the shortcut, with nobody left waiting: finished, and the counter is free
    expect(console.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#console-message-text")).to_have_text(f"{second} finished; nobody is waiting")
    assert console.js_errors == []


# --- a no-show's way back, re-activating, pausing with parked customers --------------------------------------


def no_show_at(server: HallServer, session: requests.Session, counter: str) -> dict[str, Any]:
    """Call the next ticket at ``counter`` and mark it no-show (as that counter's staff): the no-show ticket."""
    called = server.call_next(session, counter)["ticket"]
    assert called is not None
    response = session.post(f"{server.api}/branches/{BRANCH}/tickets/{called['id']}/no-show",
                            json={"version": called["version"]})
    assert response.ok, response.text
    return response.json()["ticket"]


def ticket_state(server: HallServer, token: str) -> str:
    return str(requests.get(f"{server.api}/tickets/{token}", timeout=5).json()["state"])


def test_a_no_show_can_be_undone_for_a_few_seconds(hall_server: HallServer, tablets: Any) -> None:
    console = open_console(tablets(), hall_server, "zhang.wei", "2", services=["BILL"])
    first = hall_server.issue("BILL")
    hall_server.issue("BILL")
    expect(console.locator("#waiting-count")).to_have_text("2", timeout=TIMEOUT)
    console.click("#call-next")
    expect(console.locator("#current-number")).to_have_text(first["number"], timeout=TIMEOUT)
    console.click("[data-action=recall]")
    expect(console.locator("#recall-count")).to_have_text("(1)", timeout=TIMEOUT)
    console.click("[data-action=no-show]")

    bar = console.locator("#undo-bar")
    expect(bar).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#undo-text")).to_have_text(f"{first['number']} 已标记过号")
    expect(console.locator("#undo-seconds")).to_have_text(re.compile(r"^([1-9]|10) 秒$"))
    seconds = int(console.locator("#undo-seconds").inner_text().split()[0])
    expect(console.locator("#undo-seconds")).to_have_text(f"{seconds - 1} 秒", timeout=2000)  # counting down
    expect(console.locator("#call-next")).to_be_visible()  # the counter is free meanwhile
    assert ticket_state(hall_server, first["token"]) == "no_show"
    console.click("#undo-button")
    # back as it was: called at this counter, with its recall
    expect(console.locator("#current-number")).to_have_text(first["number"], timeout=TIMEOUT)
    expect(console.locator("#current-state")).to_have_text("已呼叫")
    expect(console.locator("#recall-count")).to_have_text("(1)")
    expect(bar).to_be_hidden()
    expect(console.locator("#console-message")).to_contain_text(f"已撤销过号：{first['number']} 重新在本窗口呼叫")
    assert ticket_state(hall_server, first["token"]) == "called"
    assert counter_ticket(hall_server, "2")["number"] == first["number"]  # type: ignore[index]
    assert console.js_errors == []  # type: ignore[attr-defined]


def test_the_undo_keys_on_a_desktop_and_a_clean_refusal_once_the_counter_moved_on(
        hall_server: HallServer, tablets: Any) -> None:
    console = open_console(tablets({"width": 1440, "height": 900}, touch=False), hall_server, "zhang.wei", "2",
                           services=["BILL"], query="&lang=en")
    first, second = hall_server.issue("BILL"), hall_server.issue("BILL")
    expect(console.locator("#waiting-count")).to_have_text("2", timeout=TIMEOUT)

    def press(key: str, action: str) -> None:
        expect(console.locator(f"button[data-action={action}]:visible")).to_be_enabled(timeout=TIMEOUT)
        console.keyboard.press(key)

    press("n", "call-next")
    expect(console.locator("#current-number")).to_have_text(first["number"], timeout=TIMEOUT)
    press("m", "no-show")
    expect(console.locator("#undo-text")).to_have_text(f"{first['number']} marked no-show", timeout=TIMEOUT)
    expect(console.locator("#undo-button kbd")).to_have_text("U")
    press("u", "undo-no-show")
    expect(console.locator("#current-number")).to_have_text(first["number"], timeout=TIMEOUT)
    expect(console.locator("#current-state")).to_have_text("Called")

    press("m", "no-show")
    expect(console.locator("#undo-bar")).to_be_visible(timeout=TIMEOUT)
    console.wait_for_function("() => StaffConsole.settled()", timeout=TIMEOUT)
    # this tablet drops off the network; the other tablet at the counter calls the next customer
    console.evaluate("HallLive.client.socket.disconnect()")
    other_tablet = hall_server.staff("zhang.wei")
    assert hall_server.call_next(other_tablet, "2")["ticket"]["number"] == second["number"]
    press("u", "undo-no-show")
    message = console.locator("#console-message")
    expect(message).to_contain_text(f"Too late to undo: this counter has taken up {second['number']} since",
                                    timeout=TIMEOUT)
    expect(console.locator("#undo-bar")).to_be_hidden()
    expect(console.locator("#current-number")).to_have_text(second["number"], timeout=TIMEOUT)  # refreshed
    assert ticket_state(hall_server, first["token"]) == "no_show"
    console.evaluate("HallLive.client.socket.connect()")
    # the customer who comes back can still rejoin, from the list of no-shows
    row = console.locator(f"#no-shows-list .ticket-row[data-number={first['number']}]")
    expect(row).to_be_visible(timeout=TIMEOUT)
    assert console.js_errors == []  # type: ignore[attr-defined]


def test_recent_no_shows_can_be_put_back_into_the_queue(hall_server: HallServer, tablets: Any) -> None:
    li = hall_server.sign_in("3", "li.na")
    for _ in range(3):
        hall_server.issue("BILL")
    console = open_console(tablets(), hall_server, "zhang.wei", "2", services=["BILL"])
    zhang = hall_server.staff("zhang.wei")
    mine = no_show_at(hall_server, zhang, "2")
    elsewhere = no_show_at(hall_server, li, "3")

    rows = console.locator("#no-shows-list .ticket-row")
    expect(rows).to_have_count(2, timeout=TIMEOUT)
    expect(console.locator("#no-shows-count")).to_have_text("2")
    # this counter's first; the other one says where it was called; each with the time left to come back
    expect(rows.nth(0)).to_have_attribute("data-number", mine["number"])
    expect(rows.nth(1)).to_have_attribute("data-number", elsewhere["number"])
    expect(rows.nth(1)).to_contain_text("3号窗口过号")
    expect(rows.nth(0).locator(".row-left")).to_have_text(re.compile(r"^剩 (30|29) 分钟$"))
    expect(console.locator("#waiting-count")).to_have_text("1")

    rows.nth(1).locator("button").click()
    expect(console.locator("#console-message")).to_contain_text(f"{elsewhere['number']} 已重新排队", timeout=TIMEOUT)
    expect(rows).to_have_count(1, timeout=TIMEOUT)
    expect(console.locator(f"#waiting-list .ticket-row[data-number={elsewhere['number']}]")).to_be_visible(
        timeout=TIMEOUT)
    assert requests.get(f"{hall_server.api}/branches/{BRANCH}/snapshot", timeout=5).json()["waiting_total"] == 2
    assert console.js_errors == []  # type: ignore[attr-defined]


def test_pausing_with_a_parked_customer_asks_first_and_keeps_them_in_sight(hall_server: HallServer,
                                                                          tablets: Any) -> None:
    console = open_console(tablets(), hall_server, "zhang.wei", "2", services=["BILL"])
    parked = hall_server.issue("BILL")
    expect(console.locator("#waiting-count")).to_have_text("1", timeout=TIMEOUT)
    console.click("#call-next")
    console.click("[data-action=start]")
    console.click("[data-action=park]")
    expect(console.locator(f"#parked-list .ticket-row[data-number={parked['number']}]")).to_be_visible(
        timeout=TIMEOUT)
    console.wait_for_function("() => StaffConsole.settled()", timeout=TIMEOUT)

    console.click("#pause-button")
    dialog = console.locator("#pause-dialog")
    warning = dialog.locator("#pause-parked-warning")
    expect(warning).to_be_visible()
    expect(warning).to_have_text(f"{parked['number']} 仍挂起在本窗口，客户正在等您继续办理，暂停期间会一直等候。")
    expect(dialog.locator("#pause-confirm")).to_have_text("仍然暂停")
    dialog.locator("[data-close]").click()  # think again: nothing happens
    expect(dialog).to_be_hidden()
    expect(console.locator("#counter-status")).to_have_text("服务中")

    console.click("#pause-button")
    dialog.locator("label[for=reason-break]").click()
    dialog.locator("#pause-confirm").click()
    expect(console.locator("#paused-view")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#paused-parked")).to_be_visible()
    expect(console.locator("#paused-parked-list li")).to_have_text([f"{parked['number']} 缴费充值"])
    console.click("#language-button")
    expect(console.locator("#paused-parked")).to_contain_text("Parked, still waiting for you:")
    console.click("#pause-button")  # resumes
    expect(console.locator("#call-next")).to_be_visible(timeout=TIMEOUT)
    assert console.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_screenshots_of_undo_reactivate_and_the_pause_warning(hall_server: HallServer, tablets: Any,
                                                              language: str) -> None:
    suffix = "zh" if language == "zh-CN" else "en"
    li = hall_server.sign_in("3", "li.na")
    for service in ("BILL", "BILL", "BILL", "PLAN", "BILL", "SIM"):
        hall_server.issue(service)
    no_show_at(hall_server, li, "3")
    console = open_console(tablets(), hall_server, "zhang.wei", "2", query=f"&lang={language}")
    zhang = hall_server.staff("zhang.wei")
    no_show_at(hall_server, zhang, "2")
    console.click("#call-next")
    console.click("[data-action=start]")
    console.click("[data-action=park]")
    expect(console.locator("#parked-list .ticket-row")).to_have_count(1, timeout=TIMEOUT)
    console.click("#call-next")
    expect(console.locator("[data-action=no-show]")).to_be_visible(timeout=TIMEOUT)
    console.click("[data-action=no-show]")
    expect(console.locator("#undo-bar")).to_be_visible(timeout=TIMEOUT)
    expect(console.locator("#no-shows-list .ticket-row")).to_have_count(3, timeout=TIMEOUT)
    console.wait_for_function("() => StaffConsole.settled()", timeout=TIMEOUT)
    assert_fits(console)
    screenshot(console, f"staff-console-undo-{suffix}")

    console.click("#pause-button")
    expect(console.locator("#pause-parked-warning")).to_be_visible()
    screenshot(console, f"staff-console-pause-warning-{suffix}")
    console.locator("#pause-dialog label[for=reason-break]").click()
    console.click("#pause-confirm")
    expect(console.locator("#paused-parked")).to_be_visible(timeout=TIMEOUT)
    assert_fits(console)
    screenshot(console, f"staff-console-paused-parked-{suffix}")
    assert console.js_errors == []  # type: ignore[attr-defined]


def assert_fits(page: Page) -> None:
    """Nothing of the console spills out of the tablet's screen: no page scrolling, no box wider than it."""
    overflow = page.evaluate("""() => {
      const root = document.documentElement;
      const wide = Array.from(document.querySelectorAll('#console *'))
        .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().right > root.clientWidth + 1)
        .map((e) => e.id || e.className);
      return {scrollW: root.scrollWidth, w: root.clientWidth, scrollH: root.scrollHeight, h: root.clientHeight,
              wide};
    }""")
    assert overflow["scrollW"] <= overflow["w"] and overflow["scrollH"] <= overflow["h"], overflow
    assert overflow["wide"] == [], overflow
