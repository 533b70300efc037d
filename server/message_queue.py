"""The Redis message queue between server processes: one message per committed command, and subscribing again soon
after Redis comes back.

**One message per command.** python-socketio publishes every emit as its own message, and every process decodes every
message: a committed event goes to the staff, the public and the ticket's room, three messages. :meth:`HallRedisManager.
emit_many` delivers a command's emits here first (as each emit does) and then sends them across as **one** message of
the method ``emits``, which every other process's subscriber unpacks into the same emits, in the same order
(:meth:`HallRedisManager._listen`), so per room the order of messages is what it was.

**Rolling upgrades.** A process of an earlier release ignores a method it does not know, so its screens would miss
whatever is batched. A process of this release therefore says that it understands batches by subscribing, in the
same ``SUBSCRIBE`` command as to the channel itself, to :data:`BATCH_CHANNEL` too (nobody publishes there: the
subscription is the announcement). Redis counts the subscribers of each channel, drops a connection's subscriptions
the moment it closes, and subscribes both channels of one command at once, so the subscribers of :data:`CHANNEL` that
do not understand batches are exactly ``NUMSUB(CHANNEL) - NUMSUB(BATCH_CHANNEL)``. One script
(:data:`_PUBLISH_BATCH`) compares the two and then publishes, the batch when they are equal, else each emit as its
own message as before; Redis runs a script without interleaving anything, so the decision holds for exactly the
subscribers the message reaches. Why this is safe whatever the order of start-up: a process hears a message only
through its subscription, and it is counted from the moment it has one, announced or not, lease loop started or
not; a process of the earlier release alive but not subscribed yet (python-socketio subscribes at a process's first
socket connection) would miss a message of either form, as today, and its screens resync on the gap in ``seq``
(docs/realtime.md "Faults"). A process killed stops counting at once (no expiry to wait for), and the check costs no
round trip: it is part of the publish. Nothing is cached, so nothing can be stale.

**Subscribing again.** python-socketio's ``RedisManager`` retries a lost subscription after 1, 2, 4 … up to 60 s:
after a Redis restart of half a minute, every screen would miss pushes for up to another half minute although Redis
was long back (a command on one process reaches the other processes' screens, and its own, only through that
subscription). A hall has one Redis on its own network; trying it again every :data:`RETRY_S` costs nothing, so
pushes resume within about a second of Redis answering again. Screens that missed events meanwhile see the gap in
``seq`` and take a fresh snapshot (docs/realtime.md "Faults").
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from redis.exceptions import ResponseError
from socketio import RedisManager

CHANNEL = "flask-socketio"
"""Flask-SocketIO's channel name: processes of an older release, still running during an upgrade, share it."""

BATCH_CHANNEL = "flask-socketio:emits"
"""Subscribed to (never published on) by the processes that unpack batches: the count of those processes."""

BATCH_METHOD = "emits"
"""The method of a batch: ``{"method": "emits", "host_id": <sender>, "emits": [<one emit's message>, ...]}``."""

_BATCH_HEAD = b'{"method":"emits",'
"""How a batch starts (its text is built here, not by a JSON encoder): told from other messages without decoding."""

RETRY_S = 0.5
"""Pause between attempts to subscribe again while Redis does not answer."""

_PUBLISH_BATCH = """
local counts = redis.call('pubsub', 'numsub', ARGV[1], ARGV[2])
if counts[4] >= counts[2] then
  return redis.call('publish', ARGV[1], ARGV[3] .. table.concat(ARGV, ',', 4) .. ']}')
end
local reached = 0
for i = 4, #ARGV do
  reached = redis.call('publish', ARGV[1], ARGV[i])
end
return reached
"""
"""ARGV: the channel, the batch channel, the batch's head, then each emit's message. Every subscriber unpacks
batches: one message; some do not: one message per emit, in order (what ``RedisManager.emit`` would have sent)."""

Emit = tuple[str, Any, str]
"""One emit: the event's name, its JSON data and the room."""


class HallRedisManager(RedisManager):  # type: ignore[misc]
    """``RedisManager`` that relays a command's emits as one message where every subscriber understands it, and
    whose subscriber retries every :data:`RETRY_S` instead of backing off to a minute."""

    def __init__(self, url: str) -> None:
        super().__init__(url, channel=CHANNEL)
        self._batch_script: Any = None
        self._own_batches = _BATCH_HEAD + f'"host_id":{json.dumps(self.host_id)},'.encode()

    def emit_many(self, emits: Sequence[Emit]) -> None:
        """Emit each ``(event, data, room)`` to this process's clients, in order, then send them to the other
        processes as one message (or one message each while a process that cannot unpack batches listens).
        ``data`` is JSON (no binary attachments, no callbacks: what the hall's pushes are)."""
        messages = [{"method": "emit", "event": event, "data": [data], "binary": False, "namespace": "/",
                     "room": room, "skip_sid": None, "callback": None, "host_id": self.host_id}
                    for event, data, room in emits]
        for message in messages:  # this process first, as RedisManager.emit does
            self._handle_emit(message)
        if messages:
            self._publish_batch(messages)

    def _publish_batch(self, messages: list[dict[str, Any]]) -> None:
        encoded = [self.json.dumps(message) for message in messages]
        head = self._own_batches.decode() + '"emits":['
        for retries_left in (1, 0):  # two attempts, as RedisManager._publish
            try:
                if not self.connected:
                    self._redis_connect()
                if self._batch_script is None:
                    self._batch_script = self.redis.register_script(_PUBLISH_BATCH)
                self._batch_script(args=[self.channel, BATCH_CHANNEL, head, *encoded], client=self.redis)
                return
            except ResponseError:  # a Redis that refuses the script (scripting disabled): one message per emit
                self._get_logger().exception("Cannot publish a batch to redis; publishing each emit")
                for message in messages:
                    self._publish(message)
                return
            except Exception as exc:
                self._get_logger().error("Cannot publish to redis... %s", "retrying" if retries_left else "giving up",
                                         extra={"redis_exception": str(exc)})
                self.connected = False

    def _redis_connect(self) -> None:
        super()._redis_connect()
        self._batch_script = None  # registered again on the new client

    def _listen(self) -> Iterator[Any]:
        """The channel's messages, with each batch of another process unpacked into its emits (own batches, already
        delivered here, are dropped unread; ``_thread`` drops this process's own single emits)."""
        for message in super()._listen():
            raw = message.encode() if isinstance(message, str) else message
            if not isinstance(raw, bytes) or not raw.startswith(_BATCH_HEAD):
                yield message
                continue
            if raw.startswith(self._own_batches):
                continue
            try:
                batch = self.json.loads(raw)
            except ValueError:
                self._get_logger().error("pubsub: a batch that is not JSON was dropped")
                continue
            yield from batch.get("emits") or []

    def _redis_listen_with_retries(self) -> Iterator[dict[str, Any]]:  # pragma: no cover - runs in the process
        failing = False
        while True:  # listen() ends only by an error (or an unsubscribe): either way, subscribe afresh
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel, BATCH_CHANNEL)  # one command: counted together (see above)
                if failing:
                    self._get_logger().warning("subscribed to redis again")
                failing = False
                yield from self.pubsub.listen()
            except Exception as exc:  # the library's own loop catches everything too: the relay must not die
                if not failing:  # one line per outage, not one per attempt
                    self._get_logger().error("Cannot receive from redis; retrying every %s s: %s", RETRY_S, exc)
                failing = True
                time.sleep(RETRY_S)
