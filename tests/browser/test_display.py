"""The wall display and the counter display in headless Chromium against a real server process.

Calls are made through the HTTP API like staff would; the pages must show them, announce each call exactly
once (one announcement request, then the server's audio because headless Chromium has no voices), announce
recalls again, show a small offline mark while the server is down and recover to the right state after it
restarts on the same port. Screenshots (landscape, portrait, counter display; both languages) are saved to
test-artifacts/screenshots/ and the tests check that no text is cut off.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from server.launcher import ServerProcess, write_config
from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.kiosk_helpers import (
    EN_WEEKDAYS,
    WEEKDAYS,
    ZH_WEEKDAYS,
    exception,
    hall_now,
    opening_soon,
    opens_at_minute,
    running_hall,
    service_hours,
)

pytestmark = pytest.mark.browser

WALL = f"/display/{BRANCH}"
ANNOUNCEMENT = re.compile(rf"/api/branches/{BRANCH}/announcements/(\d+)$")
AUDIO = re.compile(rf"/api/branches/{BRANCH}/announcements/(\d+)/audio/([\w-]+)$")
LIVE_TIMEOUT = 15_000
ZONES = """
[[branches.zones]]
code = "EAST"
name = { "zh-CN" = "东区 缴费", en = "East wing: bill payment" }
services = ["BILL"]
counters = ["1", "2"]
"""
LONG_NAMES = {
    '"SIM replacement & ownership transfer"':
        '"SIM replacement, number porting, transfer & real-name registration"',
    '"补换卡与过户"': '"补换卡、携号转网、过户及实名登记业务"',
    '"Counter 6 (devices)"': '"Counter 6 (phones, tablets and smart home devices)"',
}


# --- helpers ---------------------------------------------------------------------------------------------

class Requests:
    """Announcement and audio requests a page made (page.on("request"))."""

    def __init__(self, page: Any) -> None:
        self.announcements: list[int] = []
        self.audio: list[tuple[int, str]] = []
        page.on("request", self.seen)

    def seen(self, request: Any) -> None:
        path = request.url.split("?", 1)[0]
        if match := ANNOUNCEMENT.search(path):
            self.announcements.append(int(match.group(1)))
        elif match := AUDIO.search(path):
            self.audio.append((int(match.group(1)), match.group(2)))


def open_page(context: Any, url: str) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=LIVE_TIMEOUT)
    return page


def wait_spoken(page: Any, count: int, timeout: float = 60_000) -> None:
    """Until the wall's announcer finished ``count`` announcements (chime + every language's audio)."""
    page.wait_for_function(f"() => window.HallWall && window.HallWall.announcer.spoken >= {count}", timeout=timeout)


def manager(server: HallServer) -> requests.Session:
    return server.staff("manager", "demo-manager")


def cut_off(page: Any) -> list[str]:
    """Texts wider than their box, panels taller than theirs, a page taller than the screen (as readable lines).

    Texts are checked across only: a tight line height makes any CJK glyph box "overflow" without clipping."""
    return page.evaluate("""() => {
      const problems = [];
      const selectors = ['.hall-name', '.zone-name', '.now-number', '.now-counter', '.now-service', '.recent-number',
        '.recent-counter', '.service-name', '.service-waiting', '.service-estimate', '.chip-ticket', '.chip-number',
        '.counter-name', '.counter-number', '.counter-state', '.counter-paused', '.counter-staff', '.counter-hall',
        '.clock', '.date'];
      for (const selector of selectors) {
        for (const el of document.querySelectorAll(selector)) {
          if (!el.offsetParent) continue;  // not shown
          if (el.scrollWidth > el.clientWidth + 2) {
            problems.push(`${selector}: ${el.textContent} (${el.scrollWidth}x${el.scrollHeight} in ` +
                          `${el.clientWidth}x${el.clientHeight})`);
          }
        }
      }
      for (const selector of ['.now', '.recent', '.services', '.counter-main', '.wall-main', '.counters']) {
        for (const el of document.querySelectorAll(selector)) {
          if (el.offsetParent && el.scrollHeight > el.clientHeight + 2) {
            problems.push(`${selector} overflows (${el.scrollHeight} > ${el.clientHeight})`);
          }
        }
      }
      const frame = document.querySelector('.wall-frame, .counter-frame');
      if (frame && frame.scrollHeight > window.innerHeight + 2) problems.push('page taller than the screen');
      return problems;
    }""")


def busy_hall(server: HallServer) -> dict[str, requests.Session]:
    """Staff at six counters, tickets waiting for every service, calls at most counters, counter 4 paused."""
    staff = {}
    for counter, username in (("1", "zhang.wei"), ("2", "li.na"), ("3", "wang.fang"), ("4", "liu.yang"),
                              ("6", "chen.jing"), ("8", "zhao.lei")):
        staff[counter] = server.sign_in(counter, username)
    for service, count in (("BILL", 9), ("PLAN", 6), ("SIM", 4), ("BROADBAND", 3), ("DEVICE", 5), ("VIP", 2)):
        for _ in range(count):
            server.issue(service)
    for counter in ("1", "2", "3", "4", "6", "8"):
        ticket = server.call_next(staff[counter], counter)["ticket"]
        if counter in ("1", "2"):
            for action in ("start", "finish"):
                assert staff[counter].post(f"{server.api}/branches/{BRANCH}/tickets/{ticket['id']}/{action}",
                                           json={}).ok
    for counter in ("1", "2"):
        server.call_next(staff[counter], counter)
    assert staff["4"].post(f"{server.api}/branches/{BRANCH}/counters/4/pause", json={"reason": "break"}).ok
    return staff


def add_signage(server: HallServer, browser: Any) -> None:
    """A promotional image (drawn by Chromium itself) and two notices, uploaded by the manager."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_content(
        "<body style='margin:0;height:720px;display:flex;flex-direction:column;align-items:center;"
        "justify-content:center;background:linear-gradient(135deg,#0ea5e9,#6366f1);color:#fff;"
        "font-family:\"Noto Sans CJK SC\",sans-serif'><div style='font-size:120px;font-weight:800'>千兆宽带</div>"
        "<div style='font-size:60px'>Gigabit broadband · 199元/月</div></body>")
    image = page.screenshot()
    page.close()
    session = manager(server)
    response = session.post(f"{server.api}/branches/{BRANCH}/media", files={"file": ("promo.png", image, "image/png")},
                            data={"seconds": "20"})
    assert response.status_code == 201, response.text
    notices = (("宽带新装即送千兆路由器，详询5号窗口。",
                "New broadband plans come with a free gigabit router: ask at counter 5."),
               ("请保管好您的随身物品。", "Please keep your belongings with you."))
    for zh, en in notices:
        assert session.post(f"{server.api}/branches/{BRANCH}/notices",
                            json={"text": {"zh-CN": zh, "en": en}}).status_code == 201


@pytest.fixture
def custom_server(tmp_path: Path) -> Iterator[Any]:
    """A server on the demo config changed by text replacements and extra TOML (zones, long names)."""
    started: list[ServerProcess] = []

    def start(extra: str = "", replacements: dict[str, str] | None = None) -> HallServer:
        config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
        text = config.read_text(encoding="utf-8")
        for old, new in (replacements or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        config.write_text(text + extra, encoding="utf-8")
        process = ServerProcess(config).start()
        started.append(process)
        return HallServer(process)

    yield start
    for process in started:
        process.stop()


# --- calls, announcements, recalls ------------------------------------------------------------------------

def test_a_call_shows_on_both_displays_and_is_announced_once(hall_server: HallServer, context: Any) -> None:
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=zh-CN")
    heard = Requests(wall)
    counter_3 = open_page(context, f"{hall_server.url}{WALL}/counter/3?lang=zh-CN")
    counter_2 = open_page(context, f"{hall_server.url}{WALL}/counter/2?lang=en")
    expect(wall.locator("#now-idle")).to_be_visible()

    staff = hall_server.sign_in("3")
    hall_server.issue("BILL")
    called = hall_server.call_next(staff, "3")["ticket"]
    assert called["number"] == "A001"

    expect(wall.locator("#now-number")).to_have_text("A001")
    expect(wall.locator("#now-counter")).to_have_text("3号窗口")
    expect(wall.locator("#now-service")).to_have_text("缴费充值")
    expect(wall.locator(".counter-chip[data-counter='3'] .chip-ticket")).to_have_text("A001")
    expect(counter_3.locator("#counter-number")).to_have_text("A001")
    expect(counter_3.locator("#counter-state")).to_have_text("请到本窗口办理")
    expect(counter_3.locator("#counter-staff")).to_contain_text("张伟")
    expect(counter_2.locator("#counter-number")).to_have_text("—")  # another counter's display stays as it was
    expect(counter_2.locator("#counter-paused")).to_have_text("Closed")

    wait_spoken(wall, 1)
    assert len(heard.announcements) == 1, heard.announcements
    seq = heard.announcements[0]
    announcement = requests.get(f"{hall_server.api}/branches/{BRANCH}/announcements/{seq}").json()
    assert (announcement["number"], announcement["counter"], announcement["kind"]) == ("A001", "3", "called")
    # headless Chromium has no voices: each language is the server's audio, once, in the configured order
    assert heard.audio == [(seq, "zh-CN"), (seq, "en")]

    assert staff.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{called['id']}/start", json={}).ok
    expect(counter_3.locator("#counter-state")).to_have_text("正在办理")
    assert staff.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{called['id']}/finish", json={}).ok
    expect(counter_3.locator("#counter-number")).to_have_text("—")
    expect(wall.locator(".counter-chip[data-counter='3'] .chip-ticket")).to_have_text("空闲")
    expect(wall.locator("#now-number")).to_have_text("A001")  # the last call stays up on the wall
    assert len(heard.announcements) == 1  # serving and finishing are not announced
    for page in (wall, counter_3, counter_2):
        assert page.js_errors == []


def test_a_recall_is_announced_again_and_calls_queue_up(hall_server: HallServer, context: Any) -> None:
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=en")
    heard = Requests(wall)
    at_3, at_2 = hall_server.sign_in("3"), hall_server.sign_in("2", "li.na")
    hall_server.issue("BILL")
    hall_server.issue("PLAN")
    first = hall_server.call_next(at_3, "3")["ticket"]
    second = hall_server.call_next(at_2, "2")["ticket"]  # while the first is still being spoken
    expect(wall.locator("#now-number")).to_have_text(second["number"])
    expect(wall.locator(".recent-list li").first).to_contain_text(first["number"])
    assert at_3.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{first['id']}/recall", json={}).ok
    expect(wall.locator("#now-number")).to_have_text(first["number"])
    expect(wall.locator("#now-counter")).to_have_text("Counter 3")

    wait_spoken(wall, 3, timeout=90_000)
    assert len(heard.announcements) == 3
    kinds = [requests.get(f"{hall_server.api}/branches/{BRANCH}/announcements/{seq}").json()["kind"]
             for seq in heard.announcements]
    assert kinds == ["called", "called", "recalled"]
    # never two at once: each announcement's audio comes before the next announcement's
    assert [seq for seq, _lang in heard.audio] == [s for s in heard.announcements for _ in range(2)]
    assert wall.js_errors == []


def test_a_zone_display_shows_and_announces_only_its_counters(custom_server: Any, context: Any) -> None:
    server = custom_server(ZONES)
    wall = open_page(context, f"{server.url}{WALL}?zone=EAST&lang=en")
    heard = Requests(wall)
    expect(wall.locator("#zone-name")).to_have_text("East wing: bill payment")
    expect(wall.locator(".counter-chip")).to_have_count(2)
    expect(wall.locator("#service-rows tr")).to_have_count(1)
    at_3, at_2 = server.sign_in("3"), server.sign_in("2", "li.na")
    server.issue("BILL")
    server.issue("BILL")
    outside = server.call_next(at_3, "3")["ticket"]
    inside = server.call_next(at_2, "2")["ticket"]
    expect(wall.locator("#now-number")).to_have_text(inside["number"])
    wait_spoken(wall, 1)
    assert len(heard.announcements) == 1
    assert outside["number"] not in wall.locator(".wall-main").inner_text()
    assert wall.goto(f"{server.url}{WALL}?zone=NOWHERE").status == 404


# --- opening hours ---------------------------------------------------------------------------------------

def closed_for_the_wall(opens: datetime) -> Callable[[str], str]:
    """PLAN opens at ``opens`` (in a minute or so); DEVICE tomorrow at 09:00; BROADBAND in three days; SIM
    never; VIP is closed today for a holiday."""

    def tweak(text: str) -> str:
        now = hall_now()
        tomorrow, in_three = now + timedelta(days=1), now + timedelta(days=3)
        text = opens_at_minute(text, "PLAN", opens)
        text = service_hours(text, "DEVICE", "closed", **{WEEKDAYS[tomorrow.weekday()]: "09:00-10:00"})
        text = service_hours(text, "BROADBAND", "closed", **{WEEKDAYS[in_three.weekday()]: "10:00-12:00"})
        text = service_hours(text, "SIM", "closed")
        return exception(text, now.date().isoformat(), "closed", name=("国庆节", "National Day"), services=("VIP",))

    return tweak


def row(page: Any, code: str) -> Any:
    return page.locator(f'#service-rows tr[data-service="{code}"]')


def test_the_wall_says_when_closed_services_open_and_flips_at_the_minute(tmp_path: Path, browser: Any) -> None:
    opens = opening_soon()
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="Asia/Shanghai")
    try:
        with running_hall(tmp_path, closed_for_the_wall(opens)) as server:
            staff = {counter: server.sign_in(counter, name) for counter, name in (("1", "zhang.wei"), ("2", "li.na"))}
            for _ in range(5):
                server.issue("BILL")
            for counter, session in staff.items():
                server.call_next(session, counter)
            add_signage(server, browser)
            wall = open_page(context, f"{server.url}{WALL}?lang=en&sound=off")
            day = "today" if opens.date() == hall_now().date() else "tomorrow"
            expect(row(wall, "PLAN")).to_contain_text(f"Tickets from {opens:%H:%M} {day}")
            expect(row(wall, "PLAN")).to_have_class("closed")
            wall.evaluate("window.notReloaded = true")
            # the minute it opens (plus a few seconds of spread), without a reload: the estimate again
            expect(row(wall, "PLAN")).not_to_have_class("closed", timeout=90_000)
            expect(row(wall, "PLAN").locator(".service-estimate")).not_to_contain_text("Tickets")
            assert wall.evaluate("window.notReloaded === true")

            in_three = hall_now() + timedelta(days=3)
            for language, texts in (
                ("en", {"DEVICE": "Tickets from 09:00 tomorrow", "SIM": "Not taking tickets",
                        "BROADBAND": f"Tickets from 10:00 {EN_WEEKDAYS[in_three.weekday()]}",
                        "VIP": ["Closed for National Day", "Tickets from 00:00 tomorrow"]}),
                ("zh-CN", {"DEVICE": "明天 09:00 开始取号", "SIM": "暂停取号",
                           "BROADBAND": f"{ZH_WEEKDAYS[in_three.weekday()]} 10:00 开始取号",
                           "VIP": ["国庆节休息", "明天 00:00 开始取号"]}),
            ):
                if language != "en":
                    wall = open_page(context, f"{server.url}{WALL}?lang={language}&sound=off")
                for code, lines in texts.items():
                    expect(row(wall, code).locator(".service-estimate .opening-line")).to_have_text(lines)
                    expect(row(wall, code)).to_have_class("closed")
                expect(row(wall, "BILL")).not_to_have_class("closed")
                wall.wait_for_function("() => document.getElementById('media-image').complete")
                wall.wait_for_timeout(600)
                assert cut_off(wall) == [], language
                screenshot(wall, f"wall-closed-services-{language}")
                assert wall.js_errors == []
    finally:
        context.close()


# --- resilience ------------------------------------------------------------------------------------------

def test_a_dropped_connection_shows_offline_and_recovers(hall_server: HallServer, context: Any) -> None:
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=zh-CN&sound=off")
    counter = open_page(context, f"{hall_server.url}{WALL}/counter/3?lang=zh-CN")
    mark = wall.locator(".live-mark")
    expect(mark).to_be_hidden()
    staff = hall_server.sign_in("3")
    hall_server.issue("BILL")
    hall_server.issue("BILL")
    first = hall_server.call_next(staff, "3")["ticket"]
    expect(wall.locator("#now-number")).to_have_text(first["number"])
    expect(counter.locator("#counter-number")).to_have_text(first["number"])

    hall_server.process.kill()  # the server dies: the sockets drop
    expect(mark).to_be_visible(timeout=LIVE_TIMEOUT)
    expect(mark).to_have_text("离线 · 正在重新连接")
    expect(counter.locator(".live-mark")).to_be_visible(timeout=LIVE_TIMEOUT)
    expect(wall.locator("#now-number")).to_have_text(first["number"])  # the last state stays, no blank screen
    expect(counter.locator("#counter-number")).to_have_text(first["number"])
    screenshot(wall, "wall-offline")

    hall_server.process.restart()  # same port, same database
    expect(wall.locator("html")).to_have_attribute("data-live", "live", timeout=30_000)
    expect(mark).to_be_hidden()
    assert staff.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{first['id']}/no-show", json={}).ok
    second = hall_server.call_next(staff, "3")["ticket"]
    expect(wall.locator("#now-number")).to_have_text(second["number"])
    expect(wall.locator(".recent-list li").first).to_contain_text(first["number"])
    expect(counter.locator("html")).to_have_attribute("data-live", "live", timeout=30_000)
    expect(counter.locator("#counter-number")).to_have_text(second["number"])
    assert wall.js_errors == [] and counter.js_errors == []


def test_pauses_show_on_the_wall_and_the_counter_display(hall_server: HallServer, context: Any) -> None:
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=en&sound=off")
    counter = open_page(context, f"{hall_server.url}{WALL}/counter/3?lang=en")
    staff = hall_server.sign_in("3")
    chip = wall.locator(".counter-chip[data-counter='3']")
    expect(chip).to_have_class(re.compile(r"\bopen\b"))
    assert staff.post(f"{hall_server.api}/branches/{BRANCH}/counters/3/pause", json={"reason": "lunch"}).ok
    expect(chip).to_have_class(re.compile(r"\bpaused\b"))
    expect(chip.locator(".chip-ticket")).to_have_text("Paused")
    expect(counter.locator("#counter-paused")).to_have_text("Paused")
    expect(counter.locator("#counter-paused")).to_be_visible()
    assert staff.post(f"{hall_server.api}/branches/{BRANCH}/counters/3/resume", json={}).ok
    expect(counter.locator("#counter-paused")).to_be_hidden()
    expect(chip).to_have_class(re.compile(r"\bopen\b"))
    assert staff.post(f"{hall_server.api}/branches/{BRANCH}/counters/3/sign-out", json={}).ok
    expect(counter.locator("#counter-paused")).to_have_text("Closed")
    expect(counter.locator("#counter-staff")).to_have_text("")


def test_blocked_autoplay_asks_for_one_tap(hall_server: HallServer, context: Any) -> None:
    """A browser that blocks autoplay: the wall shows a small "tap to turn on sound" button; one tap unlocks."""
    context.add_init_script("""(() => {
      let unlocked = false;
      window.AudioContext = class { constructor() { this.state = 'suspended'; } close() {} };
      const play = HTMLMediaElement.prototype.play;
      HTMLMediaElement.prototype.play = function () {
        if (!unlocked) return Promise.reject(new DOMException('blocked', 'NotAllowedError'));
        return play.call(this);
      };
      addEventListener('click', () => { unlocked = true; }, true);
    })()""")
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=en")
    button = wall.locator("#sound-start")
    expect(button).to_be_visible()
    expect(button).to_have_text("Tap to turn on sound")
    button.click()
    expect(button).to_be_hidden()


# --- sound set-up for staff ----------------------------------------------------------------------------------

FAKE_ENGLISH_VOICE = """(() => {
  // an offline English voice that records what it is asked to say (headless Chromium has no voices)
  window.spokenUtterances = [];
  const voice = { lang: 'en-GB', localService: true, name: 'test voice', default: true, voiceURI: 'test' };
  window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; this.volume = 1; } };
  Object.defineProperty(window, 'speechSynthesis', { value: {
    getVoices: () => [voice],
    speak(utterance) {
      window.spokenUtterances.push({ text: utterance.text, volume: utterance.volume, lang: utterance.lang });
      setTimeout(() => utterance.onend && utterance.onend(), 10);
    },
  } });
})()"""


def long_press_header(wall: Any) -> None:
    box = wall.locator(".hall").bounding_box()
    wall.mouse.move(box["x"] + 10, box["y"] + 10)
    wall.mouse.down()
    wall.wait_for_timeout(3300)
    wall.mouse.up()


def test_only_staff_set_a_displays_sound_and_the_volume_is_kept(hall_server: HallServer, context: Any) -> None:
    """A visitor's long press or key combination opens only a sign-in; a wrong password opens nothing. Staff of
    the branch get the volume and the tests; the volume applies to the chime, the server's audio and the
    browser's voice, is kept across reloads, and the panel signs its session out when it closes."""
    context.add_init_script(FAKE_ENGLISH_VOICE)
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=en")
    heard = Requests(wall)
    test_audio: list[str] = []
    wall.on("request", lambda request: test_audio.append(request.url.rsplit("/", 1)[1])
            if "/announcements/test/audio/" in request.url else None)
    sample = wall.evaluate(f"fetch('/api/branches/{BRANCH}/announcements/test').then((r) => r.status)")
    assert sample == 401  # the sample call itself is for staff only

    long_press_header(wall)
    expect(wall.locator("#setup")).to_be_visible()
    expect(wall.locator("#setup-sign-in")).to_be_visible()
    expect(wall.locator("#setup-controls")).to_be_hidden()
    wall.locator("#setup-username").fill("zhang.wei")
    wall.locator("#setup-password").fill("not-the-password")
    wall.locator("#setup-sign-in button[type=submit]").click()
    expect(wall.locator("#setup-error")).to_have_text("Wrong username or password")
    expect(wall.locator("#setup-volume")).to_be_hidden()
    wall.locator("#setup-close").click()
    expect(wall.locator("#setup")).to_be_hidden()
    assert wall.evaluate("HallWall.announcer.volume") == 1

    wall.keyboard.press("Control+Alt+s")
    expect(wall.locator("#setup-sign-in")).to_be_visible()
    wall.locator("#setup-username").fill("zhang.wei")
    wall.locator("#setup-password").fill("demo-staff")
    wall.locator("#setup-sign-in button[type=submit]").click()
    expect(wall.locator("#setup-volume")).to_be_visible()
    expect(wall.locator("#setup-volume-value")).to_have_text("100%")
    screenshot(wall, "wall-sound-setup-en")
    wall.locator("#setup-volume").fill("40")
    expect(wall.locator("#setup-volume-value")).to_have_text("40%")
    assert wall.evaluate("[HallWall.announcer.volume, HallWall.announcer.audio.volume]") == [0.4, 0.4]

    wall.locator("#setup-test-chime").click()
    wall.locator("#setup-test-voice").click()
    # after the chime and the zh audio
    wall.wait_for_function("() => window.spokenUtterances.length >= 1", timeout=60_000)
    [spoken] = wall.evaluate("window.spokenUtterances")
    assert spoken["volume"] == pytest.approx(0.4) and spoken["text"].startswith("Number A, zero zero one")
    wall.wait_for_function("() => HallWall.announcer.queue.length === 0 && !HallWall.announcer.busy",
                           timeout=LIVE_TIMEOUT)
    assert heard.announcements == [] and heard.audio == []  # no call's announcement is involved
    assert test_audio == ["zh-CN"]  # Chinese from the server (no Chinese voice here), at the volume:
    assert wall.evaluate("HallWall.announcer.audio.volume") == pytest.approx(0.4)
    assert wall.evaluate("HallWall.announcer.spoken") == 0  # tests are not counted as calls

    wall.locator("#setup-close").click()
    expect(wall.locator("#setup")).to_be_hidden()
    assert wall.evaluate("fetch('/api/session').then((r) => r.json())")["username"] is None

    wall.reload()
    expect(wall.locator("html")).to_have_attribute("data-live", "live", timeout=LIVE_TIMEOUT)
    assert wall.evaluate("[HallWall.announcer.volume, HallWall.announcer.audio.volume]") == [0.4, 0.4]
    wall.keyboard.press("Control+Alt+s")
    expect(wall.locator("#setup-sign-in")).to_be_visible()  # signed out: staff sign in again
    expect(wall.locator("#setup-controls")).to_be_hidden()
    wall.locator("#setup-username").fill("zhang.wei")
    wall.locator("#setup-password").fill("demo-staff")
    wall.locator("#setup-sign-in button[type=submit]").click()
    expect(wall.locator("#setup-volume-value")).to_have_text("40%")
    assert wall.js_errors == []


def test_the_sound_set_up_speaks_chinese_too(hall_server: HallServer, context: Any) -> None:
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=zh-CN")
    wall.keyboard.press("Control+Alt+s")
    expect(wall.locator("#setup-title")).to_have_text("声音设置")
    wall.locator("#setup-username").fill("manager")
    wall.locator("#setup-password").fill("demo-manager")
    wall.locator("#setup-sign-in button[type=submit]").click()
    expect(wall.locator("#setup-test-voice")).to_be_visible()
    expect(wall.locator("#setup-test-voice")).to_have_text("试听叫号")
    screenshot(wall, "wall-sound-setup-zh-CN")


# --- signage -------------------------------------------------------------------------------------------

def test_media_and_notices_change_live(hall_server: HallServer, context: Any, browser: Any) -> None:
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=en&sound=off")
    expect(wall.locator("#wall")).to_have_attribute("data-media", "none")
    expect(wall.locator("#notice-bar")).to_be_hidden()
    add_signage(hall_server, browser)
    expect(wall.locator("#wall")).to_have_attribute("data-media", "on")
    expect(wall.locator("#media-image")).to_be_visible()
    expect(wall.locator("#media-image")).to_have_attribute("src", re.compile(r"/media/\d+/file\?v="))
    wall.wait_for_function("() => document.getElementById('media-image').naturalWidth === 1280")
    expect(wall.locator("#notice-track .notice-copy").first).to_contain_text("free gigabit router")
    session = manager(hall_server)
    notices = session.get(f"{hall_server.api}/branches/{BRANCH}/notices").json()["notices"]
    for notice in notices:
        assert session.patch(f"{hall_server.api}/branches/{BRANCH}/notices/{notice['id']}",
                             json={"enabled": False}).ok
    expect(wall.locator("#notice-bar")).to_be_hidden()
    media = session.get(f"{hall_server.api}/branches/{BRANCH}/media").json()["media"]
    assert session.delete(f"{hall_server.api}/branches/{BRANCH}/media/{media[0]['id']}").ok
    expect(wall.locator("#wall")).to_have_attribute("data-media", "none")
    expect(wall.locator("#media-image")).to_be_hidden()
    assert wall.js_errors == []


# --- screenshots: looked at before resolving; nothing may be cut off ------------------------------------

@pytest.mark.parametrize(("name", "width", "height"), [
    ("landscape", 1920, 1080), ("portrait", 1080, 1920), ("4k", 3840, 2160)])
def test_wall_screenshots(hall_server: HallServer, browser: Any, name: str, width: int, height: int) -> None:
    busy_hall(hall_server)
    add_signage(hall_server, browser)
    context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai")
    try:
        for language in ("zh-CN", "en") if name != "4k" else ("en",):
            wall = open_page(context, f"{hall_server.url}{WALL}?lang={language}&sound=off")
            expect(wall.locator("#now-number")).not_to_have_text("—")
            wall.wait_for_function("() => document.getElementById('media-image').complete")
            wall.wait_for_timeout(600)  # the flash of the last call has ended
            problems = cut_off(wall)
            assert problems == [], (name, language, problems)
            screenshot(wall, f"wall-{name}-{language}")
            wall.close()
    finally:
        context.close()


def test_counter_display_screenshots(hall_server: HallServer, browser: Any) -> None:
    busy_hall(hall_server)
    for width, height, suffix in ((1920, 1080, ""), (1280, 360, "-strip")):
        context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai")
        try:
            for counter, language, label in (("3", "zh-CN", "calling"), ("6", "en", "calling"),
                                             ("4", "zh-CN", "paused"), ("4", "en", "paused")):
                page = open_page(context, f"{hall_server.url}{WALL}/counter/{counter}?lang={language}")
                if label == "paused":
                    expect(page.locator("#counter-paused")).to_be_visible()
                else:
                    expect(page.locator("#counter-number")).not_to_have_text("—")
                assert cut_off(page) == [], (counter, language, suffix)
                screenshot(page, f"counter-{label}-{counter}-{language}{suffix}")
                page.close()
        finally:
            context.close()


def test_long_names_are_not_cut_off(custom_server: Any, browser: Any) -> None:
    server = custom_server(ZONES, LONG_NAMES)
    staff = server.sign_in("6", "chen.jing")
    server.issue("DEVICE")
    server.call_next(staff, "6")
    for service in ("SIM", "SIM", "BILL"):
        server.issue(service)
    for width, height in ((1920, 1080), (1080, 1920)):
        context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai")
        try:
            for language in ("zh-CN", "en"):
                wall = open_page(context, f"{server.url}{WALL}?lang={language}&sound=off")
                expect(wall.locator("#now-counter")).not_to_be_empty()
                assert cut_off(wall) == [], (width, language)
                screenshot(wall, f"wall-long-names-{width}x{height}-{language}")
                wall.close()
            counter = open_page(context, f"{server.url}{WALL}/counter/6?lang=en")
            assert cut_off(counter) == []
            screenshot(counter, f"counter-long-name-{width}x{height}-en")
            for language in ("zh-CN", "en"):  # the kiosk's tiles show the longest name the set-up allows whole
                kiosk = open_page(context, f"{server.url}/kiosk/SZ-FUTIAN?lang={language}")
                kiosk.locator(".tile").first.wait_for()
                # names across only (a tight line height lets CJK glyph boxes "overflow" without clipping), the
                # tile as a whole also down; on the home screen and in the category that holds the long name
                clipped_js = """() => [
                  ...[...document.querySelectorAll('.tile-names')].filter((el) => el.offsetParent
                                                                   && el.scrollWidth > el.clientWidth + 2),
                  ...[...document.querySelectorAll('.tile')].filter((el) => el.offsetParent
                                                                   && el.scrollHeight > el.clientHeight + 2),
                ].map((el) => el.textContent.trim().slice(0, 60))"""
                assert kiosk.evaluate(clipped_js) == [], (width, language, "home")
                kiosk.locator(".tile", has_text="SIM" if language == "en" else "号卡").first.click()
                long_tile = kiosk.locator(".tile", has_text="porting" if language == "en" else "携号转网").first
                expect(long_tile).to_be_visible()
                clipped = kiosk.evaluate(clipped_js)
                screenshot(kiosk, f"kiosk-long-names-category-{width}x{height}-{language}")
                assert clipped == [], (width, language, clipped)
                screenshot(kiosk, f"kiosk-long-names-{width}x{height}-{language}")
                kiosk.close()
        finally:
            context.close()


# --- legible from 10 m (docs/displays.md: a capital letter subtends at least 8 minutes of arc) ----------------

MM_PER_PX = 0.63  # a 55-inch 1080p screen
READ_DISTANCE_MM = 10_000
MIN_CAP_PX = READ_DISTANCE_MM * math.tan(math.radians(8 / 60)) / MM_PER_PX  # 36.9 px on 1080p
KEY_TEXTS = (".now-number", ".now-please", ".now-counter", ".recent-number", ".recent-counter", ".service-name",
             ".service-waiting", ".service-estimate")


def legibility(page: Any, min_cap_px: float) -> list[str]:
    """Key texts whose capital letters are shorter than ``min_cap_px`` (measured in the rendered font), and
    panels or texts outside the viewport."""
    return page.evaluate("""([selectors, minCap]) => {
      const problems = [];
      const context = document.createElement('canvas').getContext('2d');
      const inside = (r) => r.left >= -1 && r.top >= -1 && r.right <= innerWidth + 1 && r.bottom <= innerHeight + 1;
      for (const selector of selectors) {
        const shown = [...document.querySelectorAll(selector)].filter((el) => el.offsetParent);
        if (!shown.length) problems.push(`${selector}: not shown`);
        for (const el of shown) {
          const style = getComputedStyle(el);
          context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
          const cap = context.measureText('H').actualBoundingBoxAscent;
          if (cap < minCap) problems.push(`${selector} "${el.textContent}": cap ${cap.toFixed(1)} px`);
          if (!inside(el.getBoundingClientRect())) problems.push(`${selector} "${el.textContent}" outside the screen`);
        }
      }
      for (const el of document.querySelectorAll('.now, .recent, .services, .counters, .wall-header')) {
        if (!inside(el.getBoundingClientRect())) problems.push(`${el.className} outside the screen`);
      }
      return problems;
    }""", [list(KEY_TEXTS), min_cap_px])


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1080, 1920)])
def test_without_media_the_wall_is_legible_from_ten_metres(hall_server: HallServer, browser: Any, width: int,
                                                           height: int) -> None:
    """No media: the calls and the waits take the room, every key text keeps the 10 m cap height (scaled with
    the screen: 1 rem is 1/54 of its shorter side), nothing leaves the screen or is cut off; also with notices."""
    busy_hall(hall_server)
    assert manager(hall_server).post(f"{hall_server.api}/branches/{BRANCH}/notices", json={"text": {
        "zh-CN": "请保管好您的随身物品。", "en": "Please keep your belongings with you."}}).status_code == 201
    context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai")
    try:
        for language in ("zh-CN", "en"):
            wall = open_page(context, f"{hall_server.url}{WALL}?lang={language}&sound=off")
            expect(wall.locator("#wall")).to_have_attribute("data-notices", "on")
            expect(wall.locator("#wall")).to_have_attribute("data-media", "none")
            expect(wall.locator("#service-rows tr")).to_have_count(6)
            wall.wait_for_timeout(600)
            min_cap = MIN_CAP_PX * min(width, height) / 1080
            assert legibility(wall, min_cap) == [], (width, language)
            assert cut_off(wall) == [], (width, language)
            screenshot(wall, f"wall-no-media-{width}x{height}-{language}")
            wall.close()
    finally:
        context.close()


# --- weeks of running: a short soak (benchmarks/display_soak.py runs thousands of calls) ------------------

@pytest.mark.slow
def test_soak_smoke_keeps_the_page_bounded(hall_server: HallServer, browser: Any) -> None:
    from benchmarks.display_soak import soak

    result = soak(hall_server.url, calls=200, counters=6, max_seconds=240, browser=browser, quiet=True)
    assert result["calls"] == 200
    assert result["page_errors"] == 0
    assert result["recent_max"] <= 7 and result["queue_max"] <= 5
    assert result["nodes_end"] <= result["nodes_start"] + 40
    assert result["listeners_end"] <= result["listeners_start"] + 5
    assert result["growth_mb"] < 1.0, result


def test_a_call_leaves_the_wall_when_its_customer_is_no_longer_expected_at_the_counter(
        hall_server: HallServer, context: Any) -> None:
    wall = open_page(context, f"{hall_server.url}{WALL}?lang=en")
    at_3, at_2 = hall_server.sign_in("3"), hall_server.sign_in("2", "li.na")
    hall_server.issue("BILL")
    hall_server.issue("BILL")
    first = hall_server.call_next(at_3, "3")["ticket"]
    second = hall_server.call_next(at_2, "2")["ticket"]
    expect(wall.locator("#now-number")).to_have_text(second["number"])

    # the second customer is sent back to the queue and counter 2 goes on a break
    assert at_2.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{second['id']}/return", json={}).ok
    assert at_2.post(f"{hall_server.api}/branches/{BRANCH}/counters/2/pause", json={"reason": "break"}).ok
    expect(wall.locator("#now-number")).to_have_text(first["number"])  # the call that still stands
    expect(wall.locator("#now-counter")).to_have_text("Counter 3")
    expect(wall.locator(".counter-chip[data-counter='2'] .chip-ticket")).not_to_have_text(second["number"])
    expect(wall.locator(".recent-list")).not_to_contain_text(second["number"])

    wall.reload()  # a screen joining now is told the same
    expect(wall.locator("#now-number")).to_have_text(first["number"], timeout=10_000)
    expect(wall.locator(".recent-list")).not_to_contain_text(second["number"])

    assert at_3.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{first['id']}/transfer",
                     json={"to_service": "PLAN"}).ok
    expect(wall.locator("#now-idle")).to_be_visible()  # no call stands any more: both will be called again
    assert wall.js_errors == []


def test_a_long_queue_shows_its_counts_on_the_wall_and_the_calls_at_the_counters(
        hall_server: HallServer, context: Any) -> None:
    """The public snapshot counts the queue without listing it: the wall's counts are still the queue's, and the
    events that follow the snapshot move them on."""
    at_1, at_3 = hall_server.sign_in("1"), hall_server.sign_in("3", "wang.fang")
    kiosk = requests.Session()
    counts = {"BILL": 210, "PLAN": 150, "SIM": 90}
    for service, count in counts.items():
        for _ in range(count):
            assert kiosk.post(f"{hall_server.api}/branches/{BRANCH}/tickets", json={"service": service}).ok
    called = [hall_server.call_next(at_1, "1")["ticket"], hall_server.call_next(at_3, "3")["ticket"]]
    for ticket in called:
        counts[ticket["service"]] -= 1

    wall = open_page(context, f"{hall_server.url}{WALL}?lang=en&sound=off")
    at_counter_3 = open_page(context, f"{hall_server.url}{WALL}/counter/3?lang=en")
    for service, count in counts.items():
        expect(row(wall, service).locator(".service-waiting")).to_contain_text(str(count))
    expect(wall.locator(".counter-chip[data-counter='1'] .chip-ticket")).to_have_text(called[0]["number"])
    expect(wall.locator(".counter-chip[data-counter='3'] .chip-ticket")).to_have_text(called[1]["number"])
    expect(at_counter_3.locator("#counter-number")).to_have_text(called[1]["number"])

    hall_server.issue("SIM")
    expect(row(wall, "SIM").locator(".service-waiting")).to_contain_text(str(counts["SIM"] + 1))
    assert at_3.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{called[1]['id']}/no-show", json={}).ok
    following = hall_server.call_next(at_3, "3")["ticket"]
    expect(at_counter_3.locator("#counter-number")).to_have_text(following["number"])
    expect(wall.locator("#now-number")).to_have_text(following["number"])
    for page in (wall, at_counter_3):
        assert page.js_errors == []
