"""The Redis relay subscribes again every RETRY_S after a loss, never backing off to a minute."""

from __future__ import annotations

from typing import Any

import pytest

from server import message_queue
from server.message_queue import CHANNEL, RETRY_S, HallRedisManager


class FakePubSub:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.channels: list[str] = []

    def subscribe(self, channel: str) -> None:
        self.channels.append(channel)

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
    assert manager.pubsub.channels == [CHANNEL]
