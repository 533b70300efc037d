"""static/hall/live.js in real Chromium: snapshot then ordered events, one connection, resync on gap and restart."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer

CONNECT = """
([branch]) => {
  window.log = {snapshots: [], events: [], statuses: [], summaries: 0};
  window.live = HallLive.connect({
    branch, role: "display",
    onSnapshot: (s) => log.snapshots.push(s.seq),
    onEvent: (e) => log.events.push(e.seq),
    onSummary: () => { log.summaries += 1; },
    onStatus: (s) => log.statuses.push(s),
  });
  window.again = HallLive.connect({branch, role: "display"});
}
"""


def open_client(page: Any, server: HallServer) -> list[str]:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(server.url + "/")
    for script in ("vendor/socket.io/socket.io.min.js", "hall/i18n.js", "hall/live.js"):
        page.add_script_tag(url=f"{server.url}/static/{script}")
    page.evaluate(CONNECT, [BRANCH])
    page.wait_for_function("() => window.log.snapshots.length === 1")
    return sockets


def test_snapshot_then_events_in_order_over_one_connection(page: Any, hall_server: HallServer) -> None:
    staff = hall_server.sign_in("2")
    sockets = open_client(page, hall_server)
    assert page.evaluate("() => window.live === window.again")
    for _ in range(3):
        hall_server.issue()
    hall_server.call_next(staff, "2")
    page.wait_for_function("() => window.log.events.length === 4")
    assert page.evaluate("() => window.log")["events"] == [2, 3, 4, 5]
    assert page.evaluate("() => document.documentElement.dataset.live") == "live"
    assert len(sockets) == 1
    assert not page.js_errors


def test_a_gap_in_seq_brings_a_fresh_snapshot(page: Any, hall_server: HallServer) -> None:
    open_client(page, hall_server)
    hall_server.issue()
    page.wait_for_function("() => window.log.events.length === 1")
    page.evaluate("() => window.live.receive({seq: window.live.seq + 3, kind: 'issued'})")
    page.wait_for_function("() => window.log.snapshots.length === 2")
    assert page.evaluate("() => window.log.snapshots") == [0, 1]
    hall_server.issue()
    page.wait_for_function("() => window.log.events.length === 2")
    assert page.evaluate("() => window.log.events") == [1, 2]


def test_restart_shows_reconnecting_then_resyncs(page: Any, hall_server: HallServer) -> None:
    hall_server.sign_in("2")  # seq 1
    open_client(page, hall_server)
    hall_server.process.kill()
    expect(page.locator("html")).to_have_attribute("data-live", "reconnecting", timeout=5000)
    hall_server.process.restart()
    page.wait_for_function("() => window.log.snapshots.length === 2", timeout=15000)
    expect(page.locator("html")).to_have_attribute("data-live", "live")
    hall_server.issue()
    page.wait_for_function("() => window.log.events.length === 1")
    assert page.evaluate("() => window.log.events") == [2]


def test_a_summary_ahead_of_the_events_brings_a_fresh_snapshot(page: Any, hall_server: HallServer) -> None:
    """Events lost with none after them to show a gap (pushes lost while Redis restarted): the summary's seq says
    the client is behind, and once the missed events have not come within the grace it re-joins."""
    open_client(page, hall_server)
    page.evaluate("() => window.live.receiveSummary({seq: window.live.seq + 2, services: {}})")
    page.wait_for_function("() => window.log.snapshots.length === 2", timeout=5000)
    hall_server.issue()
    page.wait_for_function("() => window.log.events.length === 1")
    assert page.evaluate("() => window.log.snapshots") == [0, 0]  # the fake summary's events never existed


def test_a_summary_that_overtakes_its_event_brings_no_snapshot(page: Any, hall_server: HallServer) -> None:
    open_client(page, hall_server)
    page.evaluate("() => window.live.receiveSummary({seq: window.live.seq + 1, services: {}})")
    hall_server.issue()  # the event arrives within the grace
    page.wait_for_function("() => window.log.events.length === 1")
    page.wait_for_timeout(2500)
    assert page.evaluate("() => window.log.snapshots") == [0]
    assert page.evaluate("() => window.log.events") == [1]
