"""Real clients for system tests: Socket.IO listeners that record what they receive, staff sessions, tickets."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import socketio

BRANCH = "SZ-FUTIAN"
SUMMARY_GRACE_S = 1.5  # static/hall/live.js's SUMMARY_GRACE_MS


class Listener:
    """A Socket.IO client that records everything it receives, joined with one role."""

    def __init__(self, url: str, http_session: requests.Session | None = None, *,
                 failover: list[str] | None = None, resync_on_gap: bool = False,
                 resync_on_summary: bool = False) -> None:
        """``failover``: the processes' URLs; a lost connection goes to the next of them in turn (what a round-robin
        in front of them does) instead of reconnecting to the same URL. ``resync_on_gap``: an event whose ``seq``
        skips one re-joins for a fresh snapshot, like ``static/hall/live.js``. ``resync_on_summary``: so does a
        summary whose ``seq`` is still ahead of the last one known after :data:`SUMMARY_GRACE_S` (live.js too)."""
        self.client = socketio.Client(http_session=http_session, reconnection=failover is None,
                                      reconnection_delay=0.2, reconnection_delay_max=0.5)
        self.failover = failover
        self.resync_on_gap = resync_on_gap
        self.resync_on_summary = resync_on_summary
        self.behind: list[tuple[int, int]] = []  # (last seq known, a summary's seq) that brought a re-join
        self.closing = False
        self.gaps: list[tuple[int, int]] = []  # (last seq known, seq of the event that skipped)
        self.events: list[dict[str, Any]] = []
        self.summaries: list[dict[str, Any]] = []
        self.ticket_updates: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.event_times: list[float] = []  # time.monotonic() at each hall_event's arrival, in step with events
        self.lock = threading.Lock()
        self.join_payload: dict[str, Any] | None = None
        self.client.on("hall_event", self._record_event)
        self.client.on("hall_summary", self._record_summary)
        self.client.on("ticket_update", lambda update: self._record(self.ticket_updates, update))
        self.client.on("connect", self._rejoin)
        self.client.on("disconnect", self._lost)
        self.url = url

    def _record(self, target: list[dict[str, Any]], item: dict[str, Any]) -> None:
        with self.lock:
            target.append(item)

    def _record_summary(self, summary: dict[str, Any]) -> None:
        self._record(self.summaries, summary)
        if self.resync_on_summary and isinstance(summary.get("seq"), int):
            threading.Thread(target=self._catch_up, args=(summary["seq"],), daemon=True).start()

    def _catch_up(self, seq: int) -> None:
        """Like live.js: a summary's seq still ahead of what this client knows after the grace means lost events."""
        time.sleep(SUMMARY_GRACE_S)
        with self.lock:
            last = self.last_seq()
            behind = last is not None and seq > last
            if behind:
                self.behind.append((last, seq))
        if behind and self.join_payload is not None:
            self.join(self.join_payload)

    def _record_event(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.event_times.append(time.monotonic())
            self.events.append(event)
            last = self.last_seq()
            gap = self.resync_on_gap and last is not None and event["seq"] > last + 1
            if gap:
                self.gaps.append((last, event["seq"]))
            self.seen_seq = max(self.seen_seq or 0, event["seq"])
        if gap and self.join_payload is not None:
            threading.Thread(target=self.join, args=(self.join_payload,), daemon=True).start()

    seen_seq: int | None = None

    def last_seq(self) -> int | None:
        """The newest seq this client knows of: its last snapshot's or event's (call with the lock held)."""
        known = [s["seq"] for s in self.snapshots[-1:]] + ([self.seen_seq] if self.seen_seq is not None else [])
        return max(known) if known else None

    def _lost(self, *_: Any) -> None:
        if self.failover is not None and not self.closing:
            threading.Thread(target=self._fail_over, daemon=True).start()

    def _fail_over(self) -> None:
        """Connect to the next process in turn until one answers (the connect handler then re-joins)."""
        assert self.failover is not None
        turn = self.failover.index(self.url) if self.url in self.failover else 0
        deadline = time.monotonic() + 30
        while not self.closing and time.monotonic() < deadline:
            turn += 1
            self.url = self.failover[turn % len(self.failover)]
            try:
                self.client.connect(self.url, transports=["websocket"], wait_timeout=3)
                return
            except (socketio.exceptions.ConnectionError, ValueError):
                time.sleep(0.2)

    def _rejoin(self) -> None:
        if self.join_payload is not None:  # after a reconnect: a fresh snapshot, like static/hall/live.js
            threading.Thread(target=self.join, args=(self.join_payload,), daemon=True).start()

    def connect(self) -> Listener:
        self.client.connect(self.url, transports=["websocket"])
        return self

    def join(self, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.call("join", payload, timeout=10)
        if answer.get("ok"):
            self.join_payload = payload
            self._record(self.snapshots, answer["snapshot"])
        return answer

    def close(self) -> None:
        self.closing = True
        self.client.disconnect()


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def staff_session(url: str, username: str = "zhang.wei", password: str = "demo-staff") -> requests.Session:
    session = requests.Session()
    assert session.post(f"{url}/api/session", json={"username": username, "password": password}).ok
    return session


def issue(url: str, service: str = "BILL") -> dict[str, Any]:
    response = requests.post(f"{url}/api/branches/{BRANCH}/tickets", json={"service": service})
    assert response.status_code == 201, response.text
    return response.json()
