"""A command's emits cross a real Redis as one message, unpacked by every other process in order; while a process
that cannot unpack batches (an earlier release's) listens, they cross one message per emit as before."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.message_queue import BATCH_CHANNEL, CHANNEL, Emit, HallRedisManager
from tests.support import IN_CI, redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        if url is None:
            if IN_CI:
                pytest.fail("redis-server is not installed; CI must test the relay between processes on it")
            pytest.skip("redis-server is not installed")
        yield url


class StubServer:
    logger = logging.getLogger("tests.batched_pushes")


class Process:
    """One server process's relay: a HallRedisManager whose local deliveries are recorded instead of sent."""

    def __init__(self, url: str) -> None:
        self.manager = HallRedisManager(url)
        self.manager.server = StubServer()
        self.delivered: list[Emit] = []
        self.manager._handle_emit = self._record  # type: ignore[method-assign]

    def _record(self, message: dict[str, Any]) -> None:
        assert message["method"] == "emit" and message["namespace"] == "/"
        self.delivered.append((message["event"], message["data"][0], message["room"]))

    def listen(self) -> Process:
        threading.Thread(target=self.manager._thread, daemon=True).start()
        return self

    def stop(self) -> None:
        """As the process ending: its subscription closes and is never made again."""
        def gone() -> None:
            raise ConnectionError("this process has ended")

        self.manager._redis_connect = gone  # type: ignore[method-assign]
        if self.manager.pubsub is not None and self.manager.pubsub.connection is not None:
            self.manager.pubsub.connection.disconnect()


class OldProcess:
    """A process of the earlier release: subscribed to the channel only, handling only the methods it knows."""

    def __init__(self, url: str) -> None:
        self.pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(CHANNEL)
        self.messages: list[dict[str, Any]] = []

    def read(self, until: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 5
        while not until() and time.monotonic() < deadline:
            raw = self.pubsub.get_message(timeout=0.05)
            if raw is not None and raw["type"] == "message":
                self.messages.append(json.loads(raw["data"]))

    def delivered(self) -> list[Emit]:
        return [(m["event"], m["data"][0], m["room"]) for m in self.messages if m["method"] == "emit"]


class Wire:
    """Counts the messages on the channel; subscribed to the batch channel too, so that it counts as a process that
    unpacks batches (it does not change what is sent)."""

    def __init__(self, url: str) -> None:
        self.pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(CHANNEL, BATCH_CHANNEL)
        self.messages: list[dict[str, Any]] = []

    def read(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 5
        while len(self.messages) < count and time.monotonic() < deadline:
            raw = self.pubsub.get_message(timeout=0.05)
            if raw is not None and raw["type"] == "message":
                self.messages.append(json.loads(raw["data"]))
        time.sleep(0.1)  # nothing more than that arrives
        while (raw := self.pubsub.get_message(timeout=0.01)) is not None:
            if raw["type"] == "message":
                self.messages.append(json.loads(raw["data"]))
        return self.messages


def subscribed(url: str, channel_count: int, batch_count: int) -> None:
    connection = redis.Redis.from_url(url)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        counts = dict(connection.pubsub_numsub(CHANNEL, BATCH_CHANNEL))
        if counts[CHANNEL.encode()] == channel_count and counts[BATCH_CHANNEL.encode()] == batch_count:
            return
        time.sleep(0.02)
    raise AssertionError(f"subscribers: {connection.pubsub_numsub(CHANNEL, BATCH_CHANNEL)}")


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


COMMAND: list[Emit] = [
    ("hall_event", {"seq": 7, "kind": "issued", "private": {"phone": "138"}}, "staff:B1"),
    ("hall_event", {"seq": 7, "kind": "issued"}, "public:B1"),
    ("hall_event", {"seq": 7, "kind": "issued", "name": "张伟"}, "ticket:B1:42"),
]


@pytest.fixture
def started(redis_url: str) -> Iterator[Callable[[], Process]]:
    """Processes for one test, each ended with it: the next test's processes are the only subscribers."""
    made: list[Process] = []

    def start() -> Process:
        made.append(Process(redis_url))
        return made[-1]

    yield start
    for process in made:
        process.stop()
    subscribed(redis_url, 0, 0)


def test_a_command_crosses_as_one_message_and_arrives_in_order(redis_url: str, started: Callable[[], Process]
                                                               ) -> None:
    sender, receiver = started().listen(), started().listen()
    wire = Wire(redis_url)
    subscribed(redis_url, 3, 3)
    sender.manager.emit_many(COMMAND)
    assert sender.delivered == COMMAND  # its own clients at once
    wait_until(lambda: len(receiver.delivered) >= 3)
    assert receiver.delivered == COMMAND
    [message] = wire.read(1)
    assert message["method"] == "emits" and message["host_id"] == sender.manager.host_id
    assert [(m["event"], m["data"][0], m["room"]) for m in message["emits"]] == COMMAND
    time.sleep(0.1)
    assert sender.delivered == COMMAND, "its own batch, back from Redis, is not delivered again"


def test_while_an_earlier_release_listens_each_emit_is_its_own_message(redis_url: str,
                                                                      started: Callable[[], Process]) -> None:
    sender, receiver = started().listen(), started().listen()
    old = OldProcess(redis_url)
    wire = Wire(redis_url)
    subscribed(redis_url, 4, 3)
    sender.manager.emit_many(COMMAND)
    old.read(lambda: len(old.messages) >= 3)
    assert old.delivered() == COMMAND, "the earlier release's screens get every push"
    assert [m["method"] for m in wire.read(3)] == ["emit"] * 3
    wait_until(lambda: len(receiver.delivered) >= 3)
    assert receiver.delivered == COMMAND and sender.delivered == COMMAND

    old.pubsub.close()  # the last process of the earlier release stopped: batches from the next command on
    subscribed(redis_url, 3, 3)
    wire.messages.clear()
    sender.manager.emit_many(COMMAND[:2])
    assert [m["method"] for m in wire.read(1)] == ["emits"]
    wait_until(lambda: len(receiver.delivered) >= 5)
    assert receiver.delivered == COMMAND + COMMAND[:2]


def test_batches_and_single_emits_keep_one_order_per_room(redis_url: str, started: Callable[[], Process]) -> None:
    sender, receiver = started().listen(), started().listen()
    subscribed(redis_url, 2, 2)
    expected: list[Emit] = []
    for seq in range(1, 21):
        emits = [("hall_event", {"seq": seq}, "staff:B1"), ("hall_event", {"seq": seq}, "public:B1")]
        if seq % 3 == 0:  # a single emit (an overview push, say) between commands
            sender.manager.emit("note", {"seq": seq}, room="public:B1")
            expected.append(("note", {"seq": seq}, "public:B1"))
        sender.manager.emit_many(emits)
        expected += emits
    wait_until(lambda: len(receiver.delivered) >= len(expected))
    assert receiver.delivered == expected


data = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
emits = st.lists(st.tuples(st.sampled_from(["hall_event", "hall_summary"]), data,
                           st.sampled_from(["staff:B1", "public:B1", "ticket:B1:1"])), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(emits, min_size=1, max_size=3))
def test_whatever_the_data_a_receiver_gets_exactly_what_was_emitted(redis_url: str, batches: list[list[Emit]]
                                                                   ) -> None:
    sender, receiver = Process(redis_url), Process(redis_url).listen()
    try:
        subscribed(redis_url, 1, 1)
        expected = [emit for batch in batches for emit in batch]
        for batch in batches:
            sender.manager.emit_many(batch)
        wait_until(lambda: len(receiver.delivered) >= len(expected))
        assert receiver.delivered == expected and sender.delivered == expected
    finally:
        receiver.stop()
        subscribed(redis_url, 0, 0)
