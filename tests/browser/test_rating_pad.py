"""The customer rating pad in headless Chromium against a real server.

Idle it shows the counter, the staff member (name, photo when configured) and the number at the counter;
after a finish it asks for a rating, offers reason chips, records the rating once (the phone page cannot
rate the same ticket again), thanks the customer and goes back to idle; unanswered it times out politely.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from server.launcher import ServerProcess, write_config
from tests.browser.conftest import BRANCH, HallServer, screenshot

pytestmark = pytest.mark.browser

PAD = {"width": 1024, "height": 600}
TIMEOUT = 10_000
# a 1x1 PNG, served in place of a staff photo
PHOTO_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5e1b1b40000000049454e44ae426082")


@pytest.fixture
def tweaked_server(tmp_path: Path) -> Iterator[Callable[[Callable[[str], str]], HallServer]]:
    """A server on the demo configuration as ``tweak`` rewrites its text (e.g. a shorter pad timeout)."""
    running: list[ServerProcess] = []

    def start(tweak: Callable[[str], str]) -> HallServer:
        path = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
        path.write_text(tweak(path.read_text(encoding="utf-8")), encoding="utf-8")
        process = ServerProcess(path).start()
        running.append(process)
        return HallServer(process)

    yield start
    for process in running:
        process.stop()


@pytest.fixture
def pad_context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PAD, locale="zh-CN", timezone_id="Asia/Shanghai", has_touch=True)
    yield context
    context.close()


def open_pad(context: Any, server: HallServer, counter: str = "3", query: str = "", *, pair: bool = True) -> Page:
    """The pad page of ``counter``, in a context paired as that counter's pad (unless ``pair`` is false)."""
    if pair:
        server.pair(context, "pad", counter)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{server.url}/pad/{BRANCH}/{counter}{query}")
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    return page


def serve(server: HallServer, staff: requests.Session, counter: str = "3", *, finish: bool = True) -> dict[str, Any]:
    """Call, start and (by default) finish the next ticket at ``counter``; returns the ticket's staff view."""
    ticket = server.call_next(staff, counter)["ticket"]
    api = f"{server.api}/branches/{BRANCH}/tickets/{ticket['id']}"
    ticket = staff.post(f"{api}/start", json={"version": ticket["version"]}).json()["ticket"]
    if finish:
        answer = staff.post(f"{api}/finish", json={"version": ticket["version"]})
        assert answer.ok, answer.text
        ticket = answer.json()["ticket"]
    return ticket


def test_idle_pad_shows_counter_staff_and_the_number(hall_server: HallServer, pad_context: Any) -> None:
    pad = open_pad(pad_context, hall_server)
    expect(pad.locator("#pad-counter")).to_have_text("3号窗口")
    expect(pad.locator("#now-label")).to_have_text("本窗口暂停服务")
    expect(pad.locator("#staff")).to_be_hidden()
    screenshot(pad, "rating-pad-closed-zh")

    staff = hall_server.sign_in("3", "li.na")
    expect(pad.locator("#staff-name")).to_have_text("李娜 Li Na", timeout=TIMEOUT)
    expect(pad.locator("#staff-initial")).to_have_text("李")
    expect(pad.locator("#now-label")).to_have_text("欢迎光临")
    ticket = hall_server.issue("PLAN")
    hall_server.call_next(staff, "3")
    expect(pad.locator("#now-number")).to_have_text(ticket["number"], timeout=TIMEOUT)
    expect(pad.locator("#now-label")).to_have_text("请以下号码到本窗口")
    screenshot(pad, "rating-pad-idle-zh")
    pad.click("#pad-language")
    expect(pad.locator("#now-label")).to_have_text("Now calling")
    expect(pad.locator("#pad-counter")).to_have_text("Counter 3")
    screenshot(pad, "rating-pad-idle-en")
    staff.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{ticket['id']}/start", json={})
    expect(pad.locator("#now-label")).to_have_text("Now serving", timeout=TIMEOUT)
    assert pad.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_satisfied_rating_is_recorded_once(hall_server: HallServer, pad_context: Any, language: str) -> None:
    suffix = "zh" if language == "zh-CN" else "en"
    staff = hall_server.sign_in("3", "li.na")
    pad = open_pad(pad_context, hall_server, query=f"?lang={language}")
    ticket = hall_server.issue("PLAN")
    serve(hall_server, staff)
    expect(pad.locator("#screen-ask")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator(".score")).to_have_count(3)
    expect(pad.locator(".score-label")).to_have_text(
        ["非常满意", "满意", "不满意"] if language == "zh-CN" else ["Very satisfied", "Satisfied", "Dissatisfied"])
    screenshot(pad, f"rating-pad-ask-{suffix}")
    pad.click(".score[data-score='3']")
    expect(pad.locator("#screen-reasons")).to_be_visible()
    pad.click(".chip[data-reason=FRIENDLY]")
    pad.click(".chip[data-reason=SOLVED]")
    expect(pad.locator(".chip[aria-pressed=true]")).to_have_count(2)
    screenshot(pad, f"rating-pad-reasons-{suffix}")
    pad.click("#send")
    expect(pad.locator("#screen-thanks")).to_be_visible(timeout=TIMEOUT)
    screenshot(pad, f"rating-pad-thanks-{suffix}")

    state = requests.get(f"{hall_server.api}/tickets/{ticket['token']}/rating").json()
    assert state["rated"] and not state["can_rate"]
    assert (state["rating"]["score"], state["rating"]["reasons"], state["rating"]["channel"]) == (
        3, ["FRIENDLY", "SOLVED"], "pad")
    again = requests.post(f"{hall_server.api}/tickets/{ticket['token']}/rating", json={"score": 1})
    assert again.status_code == 409 and again.json()["error"] == "already_rated"
    # back to idle after the thanks, in the pad's own language
    expect(pad.locator("#screen-idle")).to_be_visible(timeout=TIMEOUT)
    assert pad.js_errors == []  # type: ignore[attr-defined]


def test_a_dissatisfied_rating_opens_a_follow_up(hall_server: HallServer, pad_context: Any) -> None:
    staff = hall_server.sign_in("3", "li.na")
    pad = open_pad(pad_context, hall_server, query="?lang=en")
    ticket = hall_server.issue("SIM")
    serve(hall_server, staff)
    pad.click(".score[data-score='1']")
    expect(pad.locator("#reasons-title")).to_have_text("We are sorry. What went wrong? (choose any)")
    pad.click(".chip[data-reason=SLOW]")
    screenshot(pad, "rating-pad-dissatisfied-en")
    pad.click("#send")
    expect(pad.locator("#thanks-text")).to_have_text(
        "We are sorry. Your feedback goes to the duty manager, who will look into what went wrong.", timeout=TIMEOUT)
    manager = hall_server.staff("manager", "demo-manager")
    follow_ups = manager.get(f"{hall_server.api}/branches/{BRANCH}/follow-ups").json()["follow_ups"]
    assert [(f["ticket"]["number"], [r["code"] for r in f["reasons"]]) for f in follow_ups] == [
        (ticket["number"], ["SLOW"])]


def test_skip_sends_the_score_alone_and_the_phone_rating_ends_the_prompt(hall_server: HallServer,
                                                                        pad_context: Any) -> None:
    staff = hall_server.sign_in("3", "li.na")
    pad = open_pad(pad_context, hall_server)
    first = hall_server.issue("PLAN")
    second = hall_server.issue("PLAN")
    serve(hall_server, staff)
    pad.click(".score[data-score='2']")
    pad.click("#skip")
    expect(pad.locator("#screen-thanks")).to_be_visible(timeout=TIMEOUT)
    rating = requests.get(f"{hall_server.api}/tickets/{first['token']}/rating").json()["rating"]
    assert (rating["score"], rating["reasons"]) == (2, [])

    # the next customer rates on their phone while the pad is asking: the pad thanks them and stops asking
    serve(hall_server, staff)
    expect(pad.locator("#screen-ask")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator("#ask-number")).to_contain_text(second["number"])
    phone = requests.post(f"{hall_server.api}/tickets/{second['token']}/rating", json={"score": 3})
    assert phone.status_code == 201, phone.text
    expect(pad.locator("#screen-thanks")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator("#screen-idle")).to_be_visible(timeout=TIMEOUT)


def test_a_reloaded_pad_still_asks_for_the_last_finished_ticket(hall_server: HallServer, pad_context: Any) -> None:
    staff = hall_server.sign_in("3", "li.na")
    ticket = hall_server.issue("PLAN")
    serve(hall_server, staff)
    pad = open_pad(pad_context, hall_server)  # opened after the finish (a reload, a reconnect)
    expect(pad.locator("#screen-ask")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator("#ask-number")).to_contain_text(ticket["number"])


def test_the_pad_times_out_politely_and_rates_nothing(tweaked_server: Any, pad_context: Any) -> None:
    server = tweaked_server(lambda text: re.sub(r"^pad_timeout_s = \d+", "pad_timeout_s = 3", text, flags=re.M))
    staff = server.sign_in("3", "li.na")
    pad = open_pad(pad_context, server)
    ticket = server.issue("PLAN")
    serve(server, staff)
    expect(pad.locator("#screen-ask")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator("#thanks-title")).to_have_text("谢谢光临", timeout=TIMEOUT)
    screenshot(pad, "rating-pad-farewell-zh")
    expect(pad.locator("#screen-idle")).to_be_visible(timeout=TIMEOUT)
    assert requests.get(f"{server.api}/tickets/{ticket['token']}/rating").json()["rated"] is False


def test_five_point_scale_and_a_staff_photo(tweaked_server: Any, pad_context: Any) -> None:
    def tweak(text: str) -> str:
        text = re.sub(r'^scale = "three"', 'scale = "five"', text, flags=re.M)
        text = re.sub(r"^dissatisfied_scores = \[1\]", "dissatisfied_scores = [1, 2]", text, flags=re.M)
        return text.replace('display_name = "李娜 Li Na"', 'display_name = "李娜 Li Na"\nphoto = "/photos/li.na.png"')

    server = tweaked_server(tweak)
    pad_context.route("**/photos/li.na.png",
                      lambda route: route.fulfill(status=200, content_type="image/png", body=PHOTO_PNG))
    staff = server.sign_in("3", "li.na")
    pad = open_pad(pad_context, server, query="?lang=en")
    expect(pad.locator("#staff-photo")).to_be_visible(timeout=TIMEOUT)
    expect(pad.locator("#staff-photo")).to_have_attribute("src", "/photos/li.na.png")
    expect(pad.locator("#staff-initial")).to_be_hidden()
    server.issue("PLAN")
    serve(server, staff)
    expect(pad.locator(".score")).to_have_count(5, timeout=TIMEOUT)
    expect(pad.locator(".score-label")).to_have_text(
        ["Very satisfied", "Satisfied", "Neutral", "Dissatisfied", "Very dissatisfied"])
    screenshot(pad, "rating-pad-five-en")
    pad.click(".score[data-score='2']")
    expect(pad.locator(".chip[data-reason=WAIT_LONG]")).to_be_visible()  # 2 is dissatisfied here: low reasons


def test_the_pad_set_up_page_lists_the_counters(hall_server: HallServer, pad_context: Any) -> None:
    page = pad_context.new_page()
    page.goto(f"{hall_server.url}/pad/{BRANCH}")
    expect(page.locator(".pad-setup-counters a")).to_have_count(8)
    screenshot(page, "rating-pad-set-up")
    page.get_by_role("link", name=re.compile("3号窗口")).click()
    expect(page).to_have_url(re.compile(rf"/pad/{BRANCH}/3$"))
    assert requests.get(f"{hall_server.url}/pad/{BRANCH}/99").status_code == 404
