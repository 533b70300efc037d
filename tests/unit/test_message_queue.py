"""The Redis relay subscribes again every RETRY_S after a loss, never backing off to a minute; the publisher hands a
command's emits to the relay as one batch behind Redis, and emits them one by one without it."""

from __future__ import annotations

from typing import Any

import pytest

from server import message_queue
from server.message_queue import BATCH_CHANNEL, CHANNEL, RETRY_S, HallRedisManager
from server.realtime import SocketIOPublisher


class FakePubSub:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.channels: list[str] = []

    def subscribe(self, *channels: str) -> None:
        self.channels += channels

    def listen(self) -> Any:
        yield from self.messages
        raise ConnectionError("redis went away")


def test_a_lost_subscription_is_tried_again_every_retry_s(monkeypatch: pytest.MonkeyPatch) -> None:
    manager = HallRedisManager("redis://127.0.0.1:1/0")
    assert manager.channel == CHANNEL
    naps: list[float] = []
    monkeypatch.setattr(message_queue.time, "sleep", naps.append)
    attempts = iter([False] * 8 + [True])  # Redis down for eight attempts, then back

    def connect() -> None:
        if not next(attempts):
            raise ConnectionError("connection refused")
        manager.pubsub = FakePubSub([{"channel": CHANNEL.encode(), "type": "message", "data": b"{}"}])

    monkeypatch.setattr(manager, "_redis_connect", connect)
    listening = manager._redis_listen_with_retries()
    assert next(listening)["data"] == b"{}"
    assert naps == [RETRY_S] * 8  # no back-off: at most RETRY_S after Redis answers again
    assert manager.pubsub.channels == [CHANNEL, BATCH_CHANNEL]  # one command: counted together


class FakeManager:
    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, Any]] = {"/": {"public:B1": {}}}


class FakeSocketIO:
    def __init__(self, manager: Any) -> None:
        self.server = type("Server", (), {"manager": manager})()
        self.emitted: list[tuple[str, Any, str]] = []
        self.local_only: list[bool] = []

    def emit(self, name: str, message: Any, to: str, ignore_queue: bool = False) -> None:
        self.emitted.append((name, message, to))
        self.local_only.append(ignore_queue)


EVENTS = [{"seq": 1, "kind": "issued", "ticket": {"id": 5}, "private": {"phone": "1"}},
          {"seq": 2, "kind": "called", "ticket": {"id": 6}},
          {"seq": 3, "kind": "cancelled", "quiet": True, "ticket": {"id": 7}}]


def test_behind_redis_a_commands_emits_go_to_the_relay_as_one_batch_in_order(monkeypatch: pytest.MonkeyPatch
                                                                             ) -> None:
    manager = HallRedisManager("redis://127.0.0.1:1/0")
    batches: list[list[tuple[str, Any, str]]] = []
    monkeypatch.setattr(manager, "emit_many", lambda emits: batches.append(list(emits)))
    socketio = FakeSocketIO(manager)
    heard: list[int] = []
    publisher = SocketIOPublisher(socketio, listener=lambda branch, events: heard.append(len(events)))  # type: ignore[arg-type]
    publisher.publish("B1", EVENTS)
    public = [{k: v for k, v in e.items() if k != "private"} for e in EVENTS]
    assert batches == [[("hall_event", EVENTS[0], "staff:B1"), ("hall_event", public[0], "public:B1"),
                        ("hall_event", public[0], "ticket:B1:5"),
                        ("hall_event", EVENTS[1], "staff:B1"), ("hall_event", public[1], "public:B1"),
                        ("hall_event", public[1], "ticket:B1:6"),
                        ("hall_event", public[2], "ticket:B1:7")]]  # a quiet event: its ticket's room only
    assert heard == [3] and socketio.emitted == []
    summary = {"seq": 3, "waiting": 4, "private": {"alerts": []}}
    publisher.publish_summary("B1", summary)
    assert batches[1] == [("hall_summary", {"seq": 3, "waiting": 4}, "public:B1"),
                          ("hall_summary", summary, "staff:B1")]


def test_without_a_message_queue_each_emit_goes_alone_and_empty_rooms_are_skipped() -> None:
    socketio = FakeSocketIO(FakeManager())
    publisher = SocketIOPublisher(socketio)  # type: ignore[arg-type]
    publisher.publish("B1", EVENTS[:1])
    publisher.publish_summary("B1", {"seq": 1, "private": {}})
    assert socketio.emitted == [("hall_event", {"seq": 1, "kind": "issued", "ticket": {"id": 5}}, "public:B1"),
                                ("hall_summary", {"seq": 1}, "public:B1")]


def test_ticket_updates_stay_off_the_message_queue() -> None:
    """Each process hands its own phones the updates (one shared message per refresh): relaying them as well
    would push a phone each update twice and cost every process a Redis message to decode."""
    manager = HallRedisManager("redis://127.0.0.1:1/0")
    manager.rooms = {"/": {"ticket:B1:5": {}}}
    socketio = FakeSocketIO(manager)
    publisher = SocketIOPublisher(socketio)  # type: ignore[arg-type]
    publisher.publish_ticket_updates("B1", [{"ticket_id": 5, "ahead": 2}, {"ticket_id": 6, "ahead": 3}])
    assert socketio.emitted == [("ticket_update", {"ticket_id": 5, "ahead": 2}, "ticket:B1:5")]  # 6: no phone here
    assert socketio.local_only == [True]
