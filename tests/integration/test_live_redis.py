"""The lease store and the live channel on a real Redis: set if absent, compare-and-renew, compare-and-delete, the
processes alive by Redis's own clock, and messages between two processes' live sides."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from server.live_redis import RedisLeaseStore, RedisLiveShare, client
from server.services.branch_leases import BranchLeases
from tests.support import IN_CI, redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        if url is None:
            if IN_CI:
                pytest.fail("redis-server is not installed; CI must test the live leases on it")
            pytest.skip("redis-server is not installed")
        client(url).flushdb()
        yield url


def test_a_lease_is_taken_once_renewed_and_released_only_by_its_holder(redis_url: str) -> None:
    store = RedisLeaseStore(client(redis_url))
    assert store.acquire("L1", "a", 5.0) and not store.acquire("L1", "b", 5.0)
    assert store.holders(["L1", "L2"]) == {"L1": "a", "L2": None}
    assert store.renew(["L1", "L2"], "b", 5.0) == {"L1": False, "L2": False}
    assert store.renew(["L1"], "a", 5.0) == {"L1": True}
    store.release("L1", "b")
    assert store.holders(["L1"]) == {"L1": "a"}
    store.release("L1", "a")
    assert store.holders(["L1"]) == {"L1": None}
    assert store.acquire("L3", "a", 0.2)
    time.sleep(0.3)  # its holder went silent: the lease expires by itself
    assert store.acquire("L3", "b", 5.0)


def test_processes_alive_are_counted_until_their_announcement_ends(redis_url: str) -> None:
    store = RedisLeaseStore(client(redis_url))
    store.redis.delete("hall:live:members")
    assert store.announce("p1", 5.0) == 1
    assert store.announce("p2", 0.2) == 2
    assert store.announce("p1", 5.0) == 2
    time.sleep(0.3)
    assert store.announce("p1", 5.0) == 1  # p2 stopped saying it is alive; a short one does not end the others


def test_two_processes_on_redis_split_branches_one_holder_each(redis_url: str) -> None:
    store = RedisLeaseStore(client(redis_url))
    store.redis.delete("hall:live:members")
    branches = ["R1", "R2", "R3"]
    a, b = BranchLeases(store, "ra"), BranchLeases(store, "rb")
    for _ in range(3):
        a.tick(branches)
        b.tick(branches)
    assert sorted(a.held() + b.held()) == branches and sorted([len(a.held()), len(b.held())]) == [1, 2]


def test_a_message_published_reaches_a_listening_process(redis_url: str) -> None:
    received: list[dict[str, Any]] = []
    listener = RedisLiveShare(redis_url)
    listener.receive = received.append
    thread = threading.Thread(target=listener.listen, daemon=True)
    thread.start()
    sender = RedisLiveShare(redis_url)
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:  # the subscription takes a moment
        sender.publish({"format": 1, "type": "poke", "owner": "x", "branch": "B", "urgent": True})
        time.sleep(0.05)
    listener.running = False
    assert received and received[0]["type"] == "poke" and received[0]["urgent"] is True
