"""Failed staff sign-ins and the lockouts they earn, kept where every server process sees them.

After ``server.sign_in_attempts`` failures in a row for one name from one device, that pair is locked out for
``server.sign_in_lockout_min``, twice as long after each further run of failures, up to a day
(:func:`after_failure`). A locked pair is refused before any password hash is computed, even with the right
password, so a lockout costs the server nothing. The pair, not the name alone, is the key: someone guessing at the
manager's name from a phone on the hall's Wi-Fi does not lock the manager out of the back-office PC.

Where the records live:

* one process (no ``redis_url``): in its memory (:class:`MemoryFailures`), bounded;
* several processes (``redis_url``): in Redis (:class:`RedisFailures`), so that a guesser spread over the processes
  behind a load balancer meets one count and one lockout. Each record expires a day after its lockout ends. Should
  Redis be unreachable, sign-in goes on unthrottled (the password is still checked) and the failure is logged:
  staff are not locked out of the hall because a cache is down.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from server.domain.errors import DomainError

log = logging.getLogger(__name__)

LONGEST_LOCKOUT = timedelta(days=1)
KEPT_AFTER = timedelta(days=1)  # a record outlives its last failure or lockout by this much
REDIS_PREFIX = "hall:sign-in:"


class TooManySignIns(DomainError):
    code = "too_many_attempts"
    http_status = 429
    first = True  # the first refusal of this lockout (the audit log records that one, not each further knock)


@dataclass(frozen=True)
class Failures:
    """One (name, device) pair's failed sign-ins since its last success."""

    count: int
    last_at: datetime
    locked_until: datetime | None = None
    refused_at: datetime | None = None  # when the current lockout last refused an attempt (None: not yet)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def expires_at(self) -> datetime:
        """When the record may be forgotten: a day after the later of its last failure and its lockout's end."""
        return max(self.last_at, self.locked_until or self.last_at) + KEPT_AFTER

    def to_json(self) -> str:
        return json.dumps({key: value.isoformat() if isinstance(value, datetime) else value
                           for key, value in asdict(self).items()})

    @classmethod
    def from_json(cls, text: str | bytes) -> Failures:
        data = json.loads(text)
        return cls(count=int(data["count"]), last_at=datetime.fromisoformat(data["last_at"]),
                   locked_until=_instant(data.get("locked_until")), refused_at=_instant(data.get("refused_at")))


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def after_failure(record: Failures | None, now: datetime, attempts: int, lockout: timedelta) -> Failures:
    """The record after one more failure: every ``attempts``-th failure starts a lockout, ``lockout`` long the first
    time and twice as long each further time, at most :data:`LONGEST_LOCKOUT`."""
    count = (record.count if record else 0) + 1
    updated = Failures(count=count, last_at=now, locked_until=record.locked_until if record else None,
                       refused_at=record.refused_at if record else None)
    if count % attempts == 0:
        runs = count // attempts
        updated = replace(updated, locked_until=now + min(lockout * 2 ** min(runs - 1, 20), LONGEST_LOCKOUT),
                          refused_at=None)
    return updated


def after_refusal(record: Failures | None, now: datetime) -> Failures | None:
    """The record once a locked pair was refused (unchanged when it is not locked)."""
    if record is None or not record.locked(now):
        return record
    return replace(record, refused_at=now)


class FailureStore(Protocol):
    """Where the records live. ``change`` applies a rule to one record atomically (across processes where the
    store is shared) and answers the record before and after."""

    def change(self, key: str, rule: Callable[[Failures | None], Failures | None],
               now: datetime) -> tuple[Failures | None, Failures | None]: ...

    def forget(self, key: str) -> None: ...


class MemoryFailures:
    """The records in this process's memory, at most ``max_entries`` (then the unlocked ones touched longest ago go)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self.records: dict[str, Failures] = {}
        self._lock = threading.Lock()

    def change(self, key: str, rule: Callable[[Failures | None], Failures | None],
               now: datetime) -> tuple[Failures | None, Failures | None]:
        with self._lock:
            before = self.records.get(key)
            after = rule(before)
            if after is None:
                self.records.pop(key, None)
            elif after is not before:
                if before is None and len(self.records) >= self.max_entries:
                    self._forget_stale(now)
                self.records[key] = after
            return before, after

    def forget(self, key: str) -> None:
        with self._lock:
            self.records.pop(key, None)

    def _forget_stale(self, now: datetime) -> None:
        unlocked = sorted((r.last_at, key) for key, r in self.records.items() if not r.locked(now))
        for _, key in unlocked[: max(1, len(unlocked) // 2)]:
            del self.records[key]


class RedisFailures:
    """The records in Redis, shared by every process: one JSON value per pair, changed under WATCH (an optimistic
    transaction, retried when another process changed the same pair meanwhile), expiring by itself."""

    def __init__(self, url: str, client: Any = None) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.redis = client

    def change(self, key: str, rule: Callable[[Failures | None], Failures | None],
               now: datetime) -> tuple[Failures | None, Failures | None]:
        from redis.exceptions import WatchError

        name = REDIS_PREFIX + key
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(name)
                    stored = pipe.get(name)
                    before = Failures.from_json(stored) if stored else None
                    after = rule(before)
                    if after == before:
                        pipe.unwatch()
                        return before, after
                    pipe.multi()
                    if after is None:
                        pipe.delete(name)
                    else:
                        seconds = max(1, math.ceil((after.expires_at() - now).total_seconds()))
                        pipe.set(name, after.to_json(), ex=seconds)
                    pipe.execute()
                    return before, after
                except WatchError:
                    continue

    def forget(self, key: str) -> None:
        self.redis.delete(REDIS_PREFIX + key)


def pair_key(username: str, client: str) -> str:
    """The record's key: a hash, so that neither the name typed (perhaps a password typed in the wrong field) nor
    the device id is stored in the clear in a shared store."""
    return hashlib.sha256(f"{username}\x00{client}".encode()).hexdigest()


class SignInThrottle:
    """Failed sign-ins per (user name, device), and the lockouts they earn. The clock is passed in."""

    def __init__(self, attempts: int, lockout: timedelta, clock: Callable[[], datetime],
                 store: FailureStore | None = None) -> None:
        self.attempts = attempts
        self.lockout = lockout
        self.clock = clock
        self.store: FailureStore = store if store is not None else MemoryFailures()

    def check(self, username: str, client: str) -> None:
        """Refuse (429, with ``retry_after_s``) while this name is locked out for this device."""
        now = self.clock()
        changed = self._change(username, client, lambda record: after_refusal(record, now), now)
        if changed is None:
            return
        before, after = changed
        if after is None or not after.locked(now):
            return
        seconds = math.ceil((after.locked_until - now).total_seconds())  # type: ignore[operator]
        refusal = TooManySignIns(f"too many failed sign-ins for {username!r}; try again in {math.ceil(seconds / 60)} "
                                 "min", retry_after_s=seconds)
        refusal.first = before is None or before.refused_at is None
        raise refusal

    def failed(self, username: str, client: str) -> None:
        now = self.clock()
        self._change(username, client, lambda record: after_failure(record, now, self.attempts, self.lockout), now)

    def succeeded(self, username: str, client: str) -> None:
        try:
            self.store.forget(pair_key(username, client))
        except Exception:
            log.warning("the sign-in throttle's store is unreachable; a success was not recorded", exc_info=True)

    def _change(self, username: str, client: str, rule: Callable[[Failures | None], Failures | None],
                now: datetime) -> tuple[Failures | None, Failures | None] | None:
        try:
            return self.store.change(pair_key(username, client), rule, now)
        except Exception:
            log.warning("the sign-in throttle's store is unreachable; this sign-in is not throttled", exc_info=True)
            return None


def make_throttle(attempts: int, lockout: timedelta, clock: Callable[[], datetime],
                  redis_url: str | None) -> SignInThrottle:
    """The throttle of a server: shared through Redis when the processes share one, else in memory."""
    store: FailureStore = RedisFailures(redis_url) if redis_url else MemoryFailures()
    return SignInThrottle(attempts, lockout, clock, store)
