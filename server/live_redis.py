"""Redis for the live side of several processes: the branch leases and the channel of shared results.

* :class:`RedisLeaseStore`: a lease is ``hall:live:lease:<branch>`` holding its owner's id, set with ``SET NX PX``
  and renewed or released only by its owner (a compare-and-renew and a compare-and-delete, each one Lua script, so
  that a process whose lease expired cannot extend or delete the lease another has taken since). Each process says it
  is alive in the sorted set ``hall:live:members`` (its id, scored with when that ends by Redis's own clock, so hosts'
  clocks do not matter); the processes alive are those not yet past their score (one script: no key scan).
* :class:`RedisLiveShare`: the messages of :mod:`server.services.live_share` as JSON on the channel
  ``hall:live``; :meth:`RedisLiveShare.listen` (a background task of the server) hands every process's messages to
  the live side and subscribes again every :data:`server.message_queue.RETRY_S` while Redis does not answer.

Every key expires by itself: a killed process leaves nothing behind for long.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import redis

from server.message_queue import RETRY_S

log = logging.getLogger(__name__)

PREFIX = "hall:live:"
CHANNEL = "hall:live"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_ANNOUNCE = """
local time = redis.call('time')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('zadd', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
redis.call('pexpire', KEYS[1], math.max(redis.call('pttl', KEYS[1]), 2 * tonumber(ARGV[2])))
return redis.call('zcard', KEYS[1])
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def process_id() -> str:
    """A new id for this process's leases and messages (unique among processes, also across hosts)."""
    return uuid.uuid4().hex[:16]


def client(url: str) -> redis.Redis:
    """A client for the leases and publishing: short timeouts, so that a Redis outage delays the live loop by a
    second at most (its leases then lapse, see :class:`server.services.branch_leases.BranchLeases`)."""
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


class RedisLeaseStore:
    """:class:`server.services.branch_leases.LeaseStore` in Redis."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection
        self._renew = connection.register_script(_RENEW)
        self._release = connection.register_script(_RELEASE)
        self._announce = connection.register_script(_ANNOUNCE)

    def announce(self, owner: str, ttl_s: float) -> int:
        return int(self._announce(keys=[f"{PREFIX}members"], args=[owner, int(ttl_s * 1000)]))

    def holders(self, branches: Sequence[str]) -> dict[str, str | None]:
        values = self.redis.mget([f"{PREFIX}lease:{b}" for b in branches])
        return {b: None if v is None else v.decode() for b, v in zip(branches, values, strict=True)}

    def acquire(self, branch: str, owner: str, ttl_s: float) -> bool:
        return bool(self.redis.set(f"{PREFIX}lease:{branch}", owner, nx=True, px=int(ttl_s * 1000)))

    def renew(self, branches: Sequence[str], owner: str, ttl_s: float) -> dict[str, bool]:
        pipe = self.redis.pipeline(transaction=False)
        for branch in branches:
            self._renew(keys=[f"{PREFIX}lease:{branch}"], args=[owner, int(ttl_s * 1000)], client=pipe)
        return {b: bool(kept) for b, kept in zip(branches, pipe.execute(), strict=True)}

    def release(self, branch: str, owner: str) -> None:
        self._release(keys=[f"{PREFIX}lease:{branch}"], args=[owner])


class RedisLiveShare:
    """:class:`server.services.live_share.LiveShare` on a Redis channel."""

    enabled = True

    def __init__(self, url: str, connection: redis.Redis | None = None) -> None:
        self.url = url
        self.redis = connection or client(url)
        self.receive: Callable[[dict[str, Any]], None] = lambda message: None  # set by the app factory
        self.running = True

    def publish(self, message: dict[str, Any]) -> None:
        self.redis.publish(CHANNEL, json.dumps(message, separators=(",", ":")))

    def listen(self) -> None:  # pragma: no cover - runs in the server process (tests/system)
        """Hand every message on the channel to ``receive``, for as long as the process runs."""
        failing = False
        while self.running:
            try:
                subscriber = redis.Redis.from_url(self.url, socket_connect_timeout=1.0).pubsub(
                    ignore_subscribe_messages=True)
                subscriber.subscribe(CHANNEL)
                if failing:
                    log.warning("live channel: subscribed to redis again")
                failing = False
                for raw in subscriber.listen():
                    if raw.get("type") != "message":
                        continue
                    try:
                        self.receive(json.loads(raw["data"]))
                    except Exception:  # one odd message must not end the subscription
                        log.exception("live channel: a message could not be taken in")
            except Exception as exc:
                if not failing:
                    log.error("live channel: cannot receive from redis; retrying every %s s: %s", RETRY_S, exc)
                failing = True
                time.sleep(RETRY_S)


__all__ = ["CHANNEL", "PREFIX", "RedisLeaseStore", "RedisLiveShare", "client", "process_id"]
