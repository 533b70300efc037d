"""Soak of the wall display: thousands of calls through the API while the page runs in Chromium; JS heap flat?

Starts its own server (demo hall without daily caps, fresh SQLite file) unless given ``--url``, opens the wall
display in Debian's Chromium (Playwright, headless, autoplay allowed, sound on, the language alternating every
5 s) with a media playlist (an image every 2 s) and two scrolling notices, then lets staff at ``--counters``
counters drive ``--calls`` calls: issue a ticket, call next, start, finish; every tenth call is recalled first.
The page's JavaScript heap is measured through the Chrome DevTools Protocol after a forced garbage collection
(``HeapProfiler.collectGarbage``, then ``Runtime.getHeapUsage``) once warmed up, then at every tenth of the run;
DOM nodes and event listeners come from ``Performance.getMetrics``.

    python benchmarks/display_soak.py                  # 3,000 calls
    python benchmarks/display_soak.py --calls 300      # a smoke run
    python benchmarks/display_soak.py --url http://127.0.0.1:8080

Prints a table and, as its last line, JSON with calls, heap_start_mb, heap_mid_mb, heap_end_mb, growth_mb and
the DOM and announcer figures. Target: growth_mb < 1 over 3,000 calls (no steady growth: the recent list and the
announcement queue are bounded, the playlist reuses one <img> and one <video>).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.launcher import ServerProcess, write_config  # noqa: E402

BRANCH = "SZ-FUTIAN"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]
# (counter, staff, the counter's first service: the soak issues a ticket of it before each call there)
COUNTERS = [("1", "zhang.wei", "BILL"), ("2", "li.na", "BILL"), ("3", "wang.fang", "PLAN"),
            ("4", "liu.yang", "PLAN"), ("6", "chen.jing", "DEVICE"), ("8", "zhao.lei", "VIP"),
            ("5", "sun.li", "BROADBAND"), ("7", "zhou.min", "DEVICE")]
TARGET_GROWTH_MB = 1.0
MB = 1024 * 1024


@dataclass
class Sample:
    calls: int
    heap_mb: float
    nodes: int
    listeners: int
    recent: int
    queue: int
    spoken: int
    dropped: int


def chromium() -> str:
    path = os.environ.get("HALL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    return path


def no_caps_config(directory: Path) -> Path:
    """The demo hall, open all day, without daily caps (thousands of tickets in one day)."""
    config = write_config(directory, f"sqlite:///{directory / 'hall.sqlite3'}")
    text = re.sub(r"^\s*daily_cap = \d+\s*$", "", config.read_text(encoding="utf-8"), flags=re.M)
    config.write_text(text, encoding="utf-8")
    return config


class Hall:
    """Staff sessions at the counters and the manager, over the HTTP API."""

    def __init__(self, url: str, counters: int) -> None:
        self.api = url + "/api/branches/" + BRANCH
        self.root = url + "/api"
        self.staff: list[tuple[str, str, requests.Session]] = []
        for number, username, service in COUNTERS[:counters]:
            session = requests.Session()
            login = session.post(f"{self.root}/session", json={"username": username, "password": "demo-staff"})
            login.raise_for_status()
            session.post(f"{self.api}/counters/{number}/sign-in", json={"takeover": True}).raise_for_status()
            self.staff.append((number, service, session))
        self.calls = 0

    def signage(self, image: bytes) -> None:
        manager = requests.Session()
        manager.post(f"{self.root}/session", json={"username": "manager", "password": "demo-manager"}
                     ).raise_for_status()
        manager.post(f"{self.api}/media", files={"file": ("a.png", image, "image/png")}, data={"seconds": "2"}
                     ).raise_for_status()
        manager.post(f"{self.api}/media", files={"file": ("b.png", image, "image/png")}, data={"seconds": "2"}
                     ).raise_for_status()
        for zh, en in (("欢迎光临", "Welcome"), ("请保管好随身物品", "Please keep your belongings with you")):
            manager.post(f"{self.api}/notices", json={"text": {"zh-CN": zh, "en": en}}).raise_for_status()

    def one_call(self) -> None:
        """A ticket is issued and called at the next counter; every tenth is recalled; then served and finished."""
        number, service, session = self.staff[self.calls % len(self.staff)]
        ticket = None
        for _attempt in range(3):  # another counter may have taken the ticket issued for this one
            requests.post(f"{self.api}/tickets", json={"service": service}).raise_for_status()
            response = session.post(f"{self.api}/counters/{number}/call-next")
            response.raise_for_status()
            ticket = response.json()["ticket"]
            if ticket is not None:
                break
        if ticket is None:
            raise RuntimeError(f"counter {number} found nothing to call")
        if self.calls % 10 == 9:
            session.post(f"{self.api}/tickets/{ticket['id']}/recall", json={}).raise_for_status()
        session.post(f"{self.api}/tickets/{ticket['id']}/start", json={}).raise_for_status()
        session.post(f"{self.api}/tickets/{ticket['id']}/finish", json={}).raise_for_status()
        self.calls += 1

    def seq(self) -> int:
        return int(requests.get(f"{self.api}/snapshot").json()["seq"])


def measure(page: Any, cdp: Any, calls: int) -> Sample:
    """Heap after a full garbage collection, DOM nodes, listeners, and the page's own bounded lists.

    Nodes are read twice, half a second apart, and the smaller count kept: a call or a slide fading in
    holds the old and the new content together for a moment (a busy machine stretches it), which is not
    growth; a leak shows in both readings."""
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page.wait_for_timeout(500)
    cdp.send("HeapProfiler.collectGarbage")
    again = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    metrics["Nodes"] = min(metrics.get("Nodes", 0), again.get("Nodes", 0))
    sizes = page.evaluate("window.HallWall.sizes()")
    return Sample(calls=calls, heap_mb=heap["usedSize"] / MB, nodes=int(metrics.get("Nodes", 0)),
                  listeners=int(metrics.get("JSEventListeners", 0)), recent=sizes["recent"], queue=sizes["queue"],
                  spoken=sizes["spoken"], dropped=sizes["dropped"])


def caught_up(page: Any, hall: Hall, timeout_s: float = 30.0) -> None:
    """Wait until the page has applied every committed event."""
    target = hall.seq()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (page.evaluate("window.HallWall.state.seq") or 0) >= target:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the page did not catch up with seq {target}")


def soak(url: str, calls: int, counters: int, max_seconds: float, *, browser: Any = None,
         quiet: bool = False) -> dict[str, Any]:
    """Run the soak against ``url``; ``browser`` is a Playwright Chromium to use (default: launch one)."""
    if browser is not None:
        return _soak(url, calls, counters, max_seconds, browser, quiet)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS, headless=True)
        try:
            return _soak(url, calls, counters, max_seconds, launched, quiet)
        finally:
            launched.close()


def _soak(url: str, calls: int, counters: int, max_seconds: float, browser: Any, quiet: bool) -> dict[str, Any]:
    started = time.monotonic()
    hall = Hall(url, counters)
    samples: list[Sample] = []
    errors: list[str] = []
    maker = browser.new_page(viewport={"width": 640, "height": 360})
    maker.set_content("<body style='margin:0;background:#2563eb;color:#fff;font:60px sans-serif'>Soak</body>")
    hall.signage(maker.screenshot())
    maker.close()
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="Asia/Shanghai")
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}/display/{BRANCH}?lang=auto&rotate=5")
        page.wait_for_function("() => document.documentElement.dataset.live === 'live'", timeout=30_000)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")

        warm_up = min(100, max(10, calls // 20))
        for _ in range(warm_up):
            hall.one_call()
        caught_up(page, hall)
        samples.append(measure(page, cdp, hall.calls))
        checkpoints = {warm_up + (calls - warm_up) * step // 10 for step in range(1, 11)}
        while hall.calls < calls:
            if time.monotonic() - started > max_seconds:
                print(f"stopping early after {max_seconds:.0f} s", file=sys.stderr)
                break
            hall.one_call()
            if hall.calls in checkpoints:
                caught_up(page, hall)
                samples.append(measure(page, cdp, hall.calls))
                if not quiet:
                    s = samples[-1]
                    print(f"  {s.calls:>6} calls  heap {s.heap_mb:6.2f} MB  nodes {s.nodes:>5}", file=sys.stderr)
        caught_up(page, hall)
        if samples[-1].calls != hall.calls:
            samples.append(measure(page, cdp, hall.calls))
        shown = page.locator("#now-number").inner_text()
    finally:
        context.close()

    first, last = samples[0], samples[-1]
    middle = min(samples, key=lambda s: abs(s.calls - (first.calls + last.calls) / 2))
    # steady growth would show as a positive slope over the samples after warm-up (MB per 1,000 calls)
    slope = _slope([(s.calls, s.heap_mb) for s in samples])
    print(f"{'calls':>7} {'heap MB':>8} {'nodes':>6} {'listeners':>9} {'recent':>6} {'queue':>5} {'spoken':>6} "
          f"{'dropped':>7}")
    for s in samples:
        print(f"{s.calls:>7} {s.heap_mb:8.2f} {s.nodes:>6} {s.listeners:>9} {s.recent:>6} {s.queue:>5} "
              f"{s.spoken:>6} {s.dropped:>7}")
    result = {
        "calls": hall.calls,
        "heap_start_mb": round(first.heap_mb, 2),
        "heap_mid_mb": round(middle.heap_mb, 2),
        "heap_end_mb": round(last.heap_mb, 2),
        "growth_mb": round(last.heap_mb - first.heap_mb, 2),
        "slope_mb_per_1000_calls": round(slope * 1000, 3),
        "nodes_start": first.nodes,
        "nodes_end": last.nodes,
        "listeners_start": first.listeners,
        "listeners_end": last.listeners,
        "recent_max": max(s.recent for s in samples),
        "queue_max": max(s.queue for s in samples),
        "announcements_spoken": last.spoken,
        "announcements_dropped": last.dropped,
        "last_call_shown": shown,
        "page_errors": len(errors),
        "seconds": round(time.monotonic() - started, 1),
        "target_growth_mb": TARGET_GROWTH_MB,
    }
    for error in errors[:5]:
        print("page error:", error, file=sys.stderr)
    return result


def _slope(points: list[tuple[int, float]]) -> float:
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return 0.0 if spread == 0 else sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--counters", type=int, default=6, choices=range(1, len(COUNTERS) + 1))
    parser.add_argument("--url", help="a running server (its demo hall must have no daily caps)")
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="stop early after this long")
    args = parser.parse_args(argv)
    if args.url:
        result = soak(args.url.rstrip("/"), args.calls, args.counters, args.max_seconds)
    else:
        with tempfile.TemporaryDirectory(prefix="display-soak-") as directory, \
                ServerProcess(no_caps_config(Path(directory))) as server:
            result = soak(server.url, args.calls, args.counters, args.max_seconds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
