"""Real clients for system tests: Socket.IO listeners that record what they receive, staff sessions, tickets."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import socketio

BRANCH = "SZ-FUTIAN"


class Listener:
    """A Socket.IO client that records everything it receives, joined with one role."""

    def __init__(self, url: str, http_session: requests.Session | None = None) -> None:
        self.client = socketio.Client(http_session=http_session, reconnection_delay=0.2,
                                      reconnection_delay_max=0.5)
        self.events: list[dict[str, Any]] = []
        self.summaries: list[dict[str, Any]] = []
        self.ticket_updates: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.event_times: list[float] = []  # time.monotonic() at each hall_event's arrival, in step with events
        self.lock = threading.Lock()
        self.join_payload: dict[str, Any] | None = None
        self.client.on("hall_event", self._record_event)
        self.client.on("hall_summary", lambda summary: self._record(self.summaries, summary))
        self.client.on("ticket_update", lambda update: self._record(self.ticket_updates, update))
        self.client.on("connect", self._rejoin)
        self.url = url

    def _record(self, target: list[dict[str, Any]], item: dict[str, Any]) -> None:
        with self.lock:
            target.append(item)

    def _record_event(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.event_times.append(time.monotonic())
            self.events.append(event)

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
