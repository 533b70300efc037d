"""Helpers shared by the kiosk and mobile ticket browser tests: tweaked hall configs and page checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from playwright.sync_api import expect

from server.launcher import ServerProcess, write_config
from tests.browser.conftest import BRANCH, HallServer

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
TEXT_OUTSIDE_OTHER_LANGUAGE = """(root) => {
  const lang = document.documentElement.lang;
  const parts = [];
  const walker = document.createTreeWalker(document.querySelector(root), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!node.textContent.trim() || !element || !element.checkVisibility()) continue;
    const tagged = element.closest("[lang]");
    if (tagged && tagged !== document.documentElement && tagged.lang !== lang) continue;
    parts.push(node.textContent.trim());
  }
  return parts;
}"""
SMALL_BUTTONS = """(root) => Array.from(document.querySelectorAll(root + " button"))
  .filter((b) => b.checkVisibility())
  .map((b) => ({text: b.textContent.trim(), rect: b.getBoundingClientRect()}))
  .filter((b) => b.rect.width < 44 || b.rect.height < 44)
  .map((b) => b.text + " " + Math.round(b.rect.width) + "x" + Math.round(b.rect.height))"""


def set_key(text: str, key: str, value: str, *, after: str | None = None) -> str:
    """Replace the first ``key = ...`` line (after the line containing ``after``, if given)."""
    start = text.index(after) if after else 0
    head, tail = text[:start], text[start:]
    tail, count = re.subn(rf"^(\s*){re.escape(key)} = [^\n]*$", rf"\g<1>{key} = {value}", tail, count=1, flags=re.M)
    assert count == 1, f"no {key} after {after!r}"
    return head + tail


def kiosk_k1(text: str, **settings: Any) -> str:
    """Change settings of kiosk K1 (the first kiosk) in a config text; strings are quoted."""
    for key, value in settings.items():
        shown = f'"{value}"' if isinstance(value, str) else str(value)
        text = set_key(text, key, shown, after='id = "K1"')
    return text


def closed_hours_now(timezone: str = "Asia/Shanghai") -> str:
    """An hour-long opening window that does not include the present moment."""
    opens = (datetime.now(ZoneInfo(timezone)).hour + 2) % 24
    closes = "24:00" if opens == 23 else f"{opens + 1:02d}:00"
    return f'"{opens:02d}:00-{closes}"'


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZH_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def hall_now(timezone: str = "Asia/Shanghai") -> datetime:
    return datetime.now(ZoneInfo(timezone))


def service_hours(text: str, code: str, hours: str, **by_day: str) -> str:
    """Give service ``code`` its own ``hours`` and weekday hours (``sat="10:00-12:00"``) in a config text."""
    start = text.index(f'code = "{code}"')
    end = text.find("[[", start)
    block = re.sub(r"^[ \t]*hours(?:_by_day)? = [^\n]*\n", "", text[start:end], flags=re.M)
    lines = [f'code = "{code}"', f'  hours = "{hours}"']
    if by_day:
        days = ", ".join(f'{day} = "{value}"' for day, value in by_day.items())
        lines.append(f"  hours_by_day = {{ {days} }}")
    return text[:start] + block.replace(f'code = "{code}"', "\n".join(lines), 1) + text[end:]


def exception(text: str, on: str, hours: str, *, name: tuple[str, str] | None = None,
              services: tuple[str, ...] = ()) -> str:
    """Add a ``[[branches.exceptions]]`` on local date ``on`` (ISO) to the first branch of a config text."""
    lines = ["  [[branches.exceptions]]", f"  date = {on}", f'  hours = "{hours}"']
    if name:
        lines.append(f'  name = {{ "zh-CN" = "{name[0]}", en = "{name[1]}" }}')
    if services:
        lines.append("  services = [" + ", ".join(f'"{s}"' for s in services) + "]")
    marker = "  [[branches.categories]]"
    return text.replace(marker, "\n".join(lines) + "\n\n" + marker, 1)


def opening_soon(timezone: str = "Asia/Shanghai") -> datetime:
    """The next whole minute at least 8 seconds away, on the branch's clock."""
    now = hall_now(timezone)
    return (now + timedelta(seconds=68)).replace(second=0, microsecond=0)


def opens_at_minute(text: str, code: str, opens: datetime) -> str:
    """Service ``code`` closed until ``opens`` (a branch-local minute), then open to the end of that day."""
    return service_hours(text, code, "closed", **{WEEKDAYS[opens.weekday()]: f"{opens:%H:%M}-24:00"})


@contextmanager
def running_hall(tmp_path: Path, tweak: Callable[[str], str] | None = None) -> Iterator[HallServer]:
    """A server on the demo hall (open all day) with the config text changed by ``tweak``."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    if tweak is not None:
        config.write_text(tweak(config.read_text(encoding="utf-8")), encoding="utf-8")
    with ServerProcess(config) as process:
        yield HallServer(process)


def open_kiosk(page: Any, server: HallServer, query: str = "") -> Any:
    page.goto(f"{server.url}/kiosk/{BRANCH}{query}")
    expect(page.locator("#home-tiles .tile").first).to_be_visible(timeout=10_000)
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=10_000)
    return page


def past_a_long_wait(page: Any) -> None:
    """After a tap on a tile: when the kiosk offers other branches first (a long wait), take the ticket here."""
    expect(page.locator('.screen.active:is([data-screen="confirm"], [data-screen="overflow"])')).to_be_visible(
        timeout=15_000)
    if page.locator('.screen.active[data-screen="overflow"]').count():
        page.click("#overflow-take")


def confirmed_token(page: Any) -> str:
    """The token of the ticket on the kiosk's confirmation screen (from its QR code's address)."""
    expect(page.locator("#screen-confirm")).to_be_visible(timeout=15_000)
    src = page.get_attribute("#confirm-qr", "src")
    match = re.fullmatch(r"/t/([A-Za-z0-9_-]+)/qr\.svg", src or "")
    assert match, src
    return match.group(1)


def waiting_total(server: HallServer) -> int:
    response = requests.get(f"{server.api}/branches/{BRANCH}/snapshot", timeout=5)
    assert response.ok, response.text
    return int(response.json()["waiting_total"])


def ticket(server: HallServer, token: str) -> dict[str, Any]:
    response = requests.get(f"{server.api}/tickets/{token}", timeout=5)
    assert response.ok, response.text
    return response.json()


def assert_language(page: Any, language: str, root: str = "body") -> None:
    """Every visible text is in ``language``, apart from elements marked as the other language."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    texts = page.evaluate(TEXT_OUTSIDE_OTHER_LANGUAGE, root)
    assert texts, "no visible text"
    if language == "en":
        chinese = [t for t in texts if CJK.search(t)]
        assert not chinese, f"Chinese text in the English page: {chinese}"
    else:
        english = [t for t in texts if re.search(r"[A-Za-z]{3,}", t.replace("VIP", "").replace("QR", ""))]
        assert not english, f"English text in the Chinese page: {english}"


def assert_touch_targets(page: Any, root: str = "body") -> None:
    small = page.evaluate(SMALL_BUTTONS, root)
    assert not small, f"buttons smaller than 44 px: {small}"
