"""Limits on abuse, as the services apply them: tickets per kiosk, device and address (in the database), and
Socket.IO joins per connection and address (in memory, or in Redis when several processes run).

**Tickets** are counted in the database, inside the issue's own transaction: the branch's lock (SQLite's write
lock, PostgreSQL's row lock on ``branch_sequence``) serialises the count and the insert, so twenty requests at
once cannot all slip under a limit, and every server process on one PostgreSQL sees the same counts without
Redis. Tickets still in the hall can only be counted where the tickets are. The rules are
:mod:`server.domain.limits`; :mod:`server.persistence.issue_origins` counts.

Before a refused request takes a place in the write queue, :meth:`IssueLimiter.refuse_early` asks the same
question on a read connection: a flood is then refused without ever taking the write lock the kiosks need.

**Socket joins** go through the ``limits`` package (the storage behind Flask-Limiter): a moving window per
connection and per address, kept in this process's memory, or in Redis (``server.redis_url``) so that one address
is counted across processes. Each refused join is cheap; a connection that keeps joining past twice its limit is
closed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from server.domain.errors import DomainError
from server.domain.hall import Branch
from server.domain.limits import (
    CallerKind,
    IssueCaller,
    IssueLimits,
    IssueUsage,
    Rate,
    TooManyTickets,
    address_key,
    issue_caller,
    refusal,
)
from server.domain.values import Text
from server.persistence import issue_origins
from server.services.access import STAFF_ROLES, works_at
from server.services.actor import Actor
from server.settings import HallConfig

log = logging.getLogger(__name__)


class IssueLimiter:
    """The ticket limits of one configuration: who the caller is, whether one more ticket is allowed, and the
    record that counts it."""

    def __init__(self, config: HallConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.limits: IssueLimits = config.limits.issue
        self.delay_s = config.limits.refusal_delay_s
        self._sleep = sleep

    def hold_back(self) -> None:
        """Before answering a refusal (outside any transaction): a script that asks again as soon as it is answered
        then asks at most once per ``refusal_delay_s`` per connection. Measured: four such threads, refused at once,
        kept one server process busy with 800 refusals a second and the kiosk's issue went from 9 ms to 280 ms (a
        green sleep costs nothing meanwhile)."""
        if self.delay_s > 0:
            self._sleep(self.delay_s)

    def caller(self, branch: Branch, actor: Actor, address: str | None, device: str | None) -> IssueCaller | None:
        """The caller the limits count, or None when none apply: staff of the branch (they issue on behalf of
        customers), an integration's API token (limited per token), calls from inside the server (no address), or
        every ticket limit switched off."""
        if address is None or not self.limits.counts_anything or actor.token is not None:
            return None  # an integration's token has its own rate (TokenLimiter)
        if actor.username is not None and actor.role in STAFF_ROLES and works_at(self.config, actor, branch):
            return None
        return issue_caller(self.limits, address, device, {k.id for k in branch.kiosks})

    def refusal(self, connection: Connection, branch: Branch, caller: IssueCaller,
                now: datetime) -> TooManyTickets | None:
        """The limit one more ticket would break (429), or None."""
        return refusal(self.limits, caller, self._usage(connection, branch, caller, now), now)

    def check(self, connection: Connection, branch: Branch, caller: IssueCaller, now: datetime) -> None:
        """Raise :class:`TooManyTickets` when one more ticket would break a limit."""
        found = self.refusal(connection, branch, caller, now)
        if found is not None:
            raise found

    def record(self, connection: Connection, ticket_id: int, branch: Branch, caller: IssueCaller,
               now: datetime) -> None:
        issue_origins.add(connection, ticket_id, branch.code, caller, now)

    def _usage(self, connection: Connection, branch: Branch, caller: IssueCaller, now: datetime) -> IssueUsage:
        """Only what the caller's limits look at, so a kiosk's issue costs one indexed read."""
        limits = self.limits

        def recent(rate: Rate | None, which: CallerKind) -> list[datetime]:
            if rate is None:
                return []
            return issue_origins.recent(connection, branch.code, caller, which, since=now - rate.window,
                                        count=rate.count)

        if caller.is_kiosk:
            return IssueUsage(kiosk_recent=recent(limits.kiosk_tickets, CallerKind.KIOSK))
        device = caller.kind is CallerKind.DEVICE
        return IssueUsage(
            device_recent=recent(limits.device_tickets, CallerKind.DEVICE) if device else [],
            address_recent=recent(limits.address_tickets, CallerKind.ANONYMOUS),
            device_open=(issue_origins.open_count(connection, branch.code, caller, CallerKind.DEVICE, now=now)
                         if device and limits.device_open_tickets is not None else 0),
            address_open=(issue_origins.open_count(connection, branch.code, caller, CallerKind.ANONYMOUS, now=now)
                          if limits.address_open_tickets is not None else 0),
        )


class TooManyJoins(DomainError):
    """A socket join past its rate (the join is answered ``{ok: false, error: "too_many_joins"}``)."""

    code = "too_many_joins"
    http_status = 429


RateLimiter = Any  # limits.strategies.RateLimiter: the package is imported where it is used


class JoinLimiter:
    """Socket.IO joins per connection and per client address (``[limits] socket_joins``, ``address_socket_joins``).

    ``storage_url``: ``memory://`` for one process, the Redis URL when several share the counts. A refused join is
    answered ``refusal_delay_s`` late, as a refused ticket is (a green sleep): four scripts sending ``join`` as soon
    as they were answered had 1,250 refusals a second out of one process, and on a busy machine the kiosk's issue
    went from 30 ms to 80 ms (p50). A screen told ``too_many_joins`` waits ``retry_after_s`` anyway.
    """

    def __init__(self, per_connection: Rate | None, per_address: Rate | None, storage_url: str = "memory://",
                 refusal_delay_s: float = 0.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_connection = _item(per_connection)
        self.per_address = _item(per_address)
        self.close_after = _item(per_connection)  # refused joins: as many again as the limit, then it is closed
        self.delay_s = refusal_delay_s
        self._sleep = sleep
        self._limiter: RateLimiter | None = None
        self._storage_url = storage_url
        if self.per_connection or self.per_address:
            from limits.storage import storage_from_string
            from limits.strategies import MovingWindowRateLimiter

            self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url, key_prefix="hall-joins"))

    def admit(self, connection: str, address: str) -> bool:
        """True when this join may go ahead; else :class:`TooManyJoins` with ``retry_after_s``, or False when the
        connection should be closed (it went on joining well past its limit)."""
        limiter = self._limiter
        if limiter is None:
            return True
        key = address_key(address)
        if self.per_connection is not None and not limiter.hit(self.per_connection, "connection", connection):
            if self.close_after is not None and not limiter.hit(self.close_after, "closing", connection):
                return False
            raise self._refused(self.per_connection, "connection", connection)
        if self.per_address is not None and not limiter.hit(self.per_address, "address", key):
            raise self._refused(self.per_address, "address", key)
        return True

    def _refused(self, item: Any, scope: str, key: str) -> TooManyJoins:
        """The refusal, once ``refusal_delay_s`` has passed (its ``retry_after_s`` counted from then)."""
        assert self._limiter is not None
        if self.delay_s > 0:
            self._sleep(self.delay_s)
        stats = self._limiter.get_window_stats(item, scope, key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        who = "this connection" if scope == "connection" else "this address"
        return TooManyJoins(f"too many joins from {who} (at most {item}); try again in {retry} s",
                            limit=scope, retry_after_s=retry)


def _item(rate: Rate | None) -> Any:
    """A ``limits`` rate item for ``rate``, or None."""
    if rate is None:
        return None
    from limits import RateLimitItemPerSecond

    return RateLimitItemPerSecond(rate.count, int(rate.window.total_seconds()))


class TooManyRequests(DomainError):
    """An API token past its rate (``[limits] token_requests``): 429 with ``Retry-After``."""

    code = "too_many_requests"
    http_status = 429


class TokenLimiter:
    """Requests per API token (``[limits] token_requests``), in a moving window kept in this process's memory or in
    Redis (``server.redis_url``), so that a token is counted across processes: an integration that loops cannot
    take the server from the kiosks."""

    def __init__(self, rate: Rate | None, storage_url: str = "memory://") -> None:
        self.item = _item(rate)
        self._limiter: RateLimiter | None = None
        if self.item is not None:
            from limits.storage import storage_from_string
            from limits.strategies import MovingWindowRateLimiter

            self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url, key_prefix="hall-tokens"))

    def admit(self, token_id: int) -> None:
        """Count one request of the token; :class:`TooManyRequests` with ``retry_after_s`` past its rate."""
        if self._limiter is None or self._limiter.hit(self.item, "token", str(token_id)):
            return
        stats = self._limiter.get_window_stats(self.item, "token", str(token_id))
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests(f"too many requests with this API token (at most {self.item}); try again in "
                              f"{retry} s", limit="token", retry_after_s=retry)


class AddressLimiter:
    """Requests of one kind per client address in a moving window (memory, or Redis with ``server.redis_url``):
    the public booking routes' ``[limits] booking_changes`` and ``booking_lookups``. A stranger on the hall Wi-Fi
    can then neither fill a day's slots with made-up numbers nor try codes against a phone number; a refusal is
    answered ``refusal_delay_s`` late, as a refused ticket is."""

    def __init__(self, name: str, rate: Rate | None, storage_url: str = "memory://", refusal_delay_s: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        self.item = _item(rate)
        self.delay_s = refusal_delay_s
        self._sleep = sleep
        self._limiter: RateLimiter | None = None
        if self.item is not None:
            from limits.storage import storage_from_string
            from limits.strategies import MovingWindowRateLimiter

            self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url, key_prefix=f"hall-{name}"))

    def admit(self, address: str | None) -> None:
        """Count one request from ``address`` (None: from inside the server, not counted); past the rate
        :class:`TooManyRequests` (429, ``details.limit`` the limit's name, ``retry_after_s``)."""
        if self._limiter is None or address is None:
            return
        key = address_key(address)
        if self._limiter.hit(self.item, self.name, key):
            return
        if self.delay_s > 0:
            self._sleep(self.delay_s)
        stats = self._limiter.get_window_stats(self.item, self.name, key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests(f"too many requests of this kind from this address (at most {self.item}); try again "
                              f"in {retry} s", limit=self.name, retry_after_s=retry)

    def refuse_if_spent(self, key: str | None, text: Text) -> None:
        """Refuse (429, ``details.text`` in both languages saying why) when ``key`` has used up its rate, without
        counting this request: for limits that count only failures (:meth:`spend`)."""
        if self._limiter is None or key is None or self._limiter.test(self.item, self.name, key):
            return
        if self.delay_s > 0:
            self._sleep(self.delay_s)
        stats = self._limiter.get_window_stats(self.item, self.name, key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests(f"{text.en} (at most {self.item}); try again in {retry} s", limit=self.name,
                              retry_after_s=retry, text=text.as_dict())

    def spend(self, key: str | None) -> None:
        """Count one failure of ``key`` (None: not counted)."""
        if self._limiter is not None and key is not None:
            self._limiter.hit(self.item, self.name, key)
