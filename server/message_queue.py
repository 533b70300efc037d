"""The Redis message queue between server processes, subscribing again soon after Redis comes back.

python-socketio's ``RedisManager`` retries a lost subscription after 1, 2, 4 … up to 60 s: after a Redis restart
of half a minute, every screen would miss pushes for up to another half minute although Redis was long back (a
command on one process reaches the other processes' screens, and its own, only through that subscription). A hall
has one Redis on its own network; trying it again every :data:`RETRY_S` costs nothing, so pushes resume within
about a second of Redis answering again. Screens that missed events meanwhile see the gap in ``seq`` and take a
fresh snapshot (docs/realtime.md "Faults").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from socketio import RedisManager

CHANNEL = "flask-socketio"
"""Flask-SocketIO's channel name: processes of an older release, still running during an upgrade, share it."""

RETRY_S = 0.5
"""Pause between attempts to subscribe again while Redis does not answer."""


class HallRedisManager(RedisManager):  # type: ignore[misc]
    """``RedisManager`` whose subscriber retries every :data:`RETRY_S` instead of backing off to a minute."""

    def __init__(self, url: str) -> None:
        super().__init__(url, channel=CHANNEL)

    def _redis_listen_with_retries(self) -> Iterator[dict[str, Any]]:  # pragma: no cover - runs in the process
        failing = False
        while True:  # listen() ends only by an error (or an unsubscribe): either way, subscribe afresh
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                if failing:
                    self._get_logger().warning("subscribed to redis again")
                failing = False
                yield from self.pubsub.listen()
            except Exception as exc:  # the library's own loop catches everything too: the relay must not die
                if not failing:  # one line per outage, not one per attempt
                    self._get_logger().error("Cannot receive from redis; retrying every %s s: %s", RETRY_S, exc)
                failing = True
                time.sleep(RETRY_S)
