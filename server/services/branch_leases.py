"""Which server process runs each branch's live work: a lease per branch.

With several processes (``redis_url`` set) one live loop serves the system, not one per process: each branch's
refresh (learning, the estimator, alerts, the summary and ticket updates it pushes) runs in the one process that
holds the branch's lease, and the others take its results (:mod:`server.services.live_share`). A lease is a key in
Redis with a time to live (:data:`LEASE_TTL_S`), set only if absent and renewed by its holder every
:data:`RENEW_EVERY_S` with a compare-and-renew, so that a holder killed with SIGKILL loses its branches within the TTL
and another process takes them (docs/realtime.md "Scaling out").

Spreading: each process announces itself with a key of the same TTL; with ``n`` processes alive a process takes free
branches only up to its fair share, ``ceil(branches / n)``, and hands back what it holds beyond that share (one a
round), so that a process that started alone gives branches to the ones that start after it.

One process without Redis holds every branch (:class:`AllBranches`): no lease, no call, nothing changes in its cost.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

LEASE_TTL_S = 5.0
"""How long a lease outlives its holder's last renewal: a killed holder's branches move within this."""
RENEW_EVERY_S = 1.0
"""How often a holder renews (and a process looks for free branches): several renewals fit in one TTL."""
SAFETY_S = 1.0
"""A holder stops acting this long before its lease could have expired in Redis (renewals it could not confirm,
clocks that drift): two processes never both believe they hold a branch."""


class LeaseStore(Protocol):
    """Where leases live (Redis: :class:`server.live_redis.RedisLeaseStore`; tests: :class:`MemoryLeaseStore`)."""

    def announce(self, owner: str, ttl_s: float) -> int:
        """Say ``owner`` is alive for ``ttl_s``; answer how many processes are alive (this one included)."""
        ...

    def holders(self, branches: Sequence[str]) -> dict[str, str | None]:
        """Who holds each branch's lease (None: nobody)."""
        ...

    def acquire(self, branch: str, owner: str, ttl_s: float) -> bool:
        """Take a free lease (set if absent, with the TTL)."""
        ...

    def renew(self, branches: Sequence[str], owner: str, ttl_s: float) -> dict[str, bool]:
        """Extend each lease still held by ``owner`` (compare and renew); False: it was lost."""
        ...

    def release(self, branch: str, owner: str) -> None:
        """Give a lease back if ``owner`` still holds it (compare and delete)."""
        ...


class Leases(Protocol):
    """What the live side asks: does this process run the branch's live work?"""

    shared: bool  # False: one process, every branch is its own and nothing is shared
    every_s: float  # how often :meth:`tick` is due
    takeovers: int  # leases taken after another process held them

    def holds(self, branch: str) -> bool: ...

    def tick(self, branches: Sequence[str]) -> list[str]: ...

    def held(self) -> list[str]: ...


class AllBranches:
    """One process: it holds every branch, always, without asking anyone."""

    shared = False
    every_s = math.inf
    takeovers = 0

    def holds(self, branch: str) -> bool:
        return True

    def tick(self, branches: Sequence[str]) -> list[str]:
        return []

    def held(self) -> list[str]:
        return []


@dataclass
class BranchLeases:
    """This process's leases in a :class:`LeaseStore`, kept by :meth:`tick` (the live loop calls it every
    :attr:`every_s`). ``clock``: monotonic seconds (a fake one in tests)."""

    store: LeaseStore
    owner: str
    clock: Callable[[], float] = time.monotonic
    ttl_s: float = LEASE_TTL_S
    every_s: float = RENEW_EVERY_S
    safety_s: float = SAFETY_S
    shared = True
    takeovers: int = 0  # branches taken after another process held them (it died, or handed them over)
    _valid_until: dict[str, float] = field(default_factory=dict)  # held branch -> until when it may act
    _seen: dict[str, str] = field(default_factory=dict)  # free-or-not branch -> the other holder last seen

    def __post_init__(self) -> None:
        if not 0 < self.every_s < self.ttl_s - self.safety_s:
            raise ValueError("a lease must be renewed well within its time to live")

    def holds(self, branch: str) -> bool:
        until = self._valid_until.get(branch)
        return until is not None and self.clock() < until

    def held(self) -> list[str]:
        now = self.clock()
        return sorted(b for b, until in self._valid_until.items() if now < until)

    def tick(self, branches: Sequence[str]) -> list[str]:
        """Renew what is held, hand back what is beyond the fair share, take free branches up to it; answers the
        branches taken in this round (their first refresh publishes everything: the screens move to a new holder).
        A store that fails (Redis down) changes nothing: held leases lapse by themselves once past their validity."""
        try:
            return self._tick(list(branches))
        except Exception:  # the loop goes on; a lease not renewed in time is simply no longer acted on
            log.exception("branch leases: the store did not answer")
            self._drop_lapsed()
            return []

    def _tick(self, branches: list[str]) -> list[str]:
        started = self.clock()
        alive = max(1, self.store.announce(self.owner, self.ttl_s))
        wanted = set(branches)
        for gone in [b for b in self._valid_until if b not in wanted]:  # a branch removed from the hall
            self.store.release(gone, self.owner)
            del self._valid_until[gone]
        mine = sorted(self._valid_until)
        if mine:
            for branch, kept in self.store.renew(mine, self.owner, self.ttl_s).items():
                if kept:
                    self._valid_until[branch] = started + self.ttl_s - self.safety_s
                else:
                    log.warning("lost the live lease of branch %s", branch)
                    self._valid_until.pop(branch, None)
        self._drop_lapsed()
        share = math.ceil(len(branches) / alive)
        held = sorted(self._valid_until)
        if len(held) > share:  # another process started: hand one back per round, it takes it
            branch = held[-1]
            self.store.release(branch, self.owner)
            del self._valid_until[branch]
            return []
        free = [b for b in branches if b not in self._valid_until]
        if not free:
            return []
        holders = self.store.holders(free)
        taken = []
        for branch in free:
            holder = holders.get(branch)
            if holder is not None and holder != self.owner:
                self._seen[branch] = holder
                continue
            if len(held) + len(taken) >= share:
                continue
            if self.store.acquire(branch, self.owner, self.ttl_s):
                self._valid_until[branch] = started + self.ttl_s - self.safety_s
                if self._seen.pop(branch, None) is not None:
                    self.takeovers += 1
                taken.append(branch)
        return taken

    def _drop_lapsed(self) -> None:
        now = self.clock()
        for branch in [b for b, until in self._valid_until.items() if now >= until]:
            del self._valid_until[branch]


@dataclass
class MemoryLeaseStore:
    """Leases in memory with expiry by ``clock``: the Redis store's behaviour, for tests of the lease logic."""

    clock: Callable[[], float]
    keys: dict[str, tuple[str, float]] = field(default_factory=dict)  # key -> (value, expires at)
    fail: bool = False  # True: every call raises, as a Redis that does not answer

    def _live(self, key: str) -> str | None:
        if self.fail:
            raise ConnectionError("store down")
        entry = self.keys.get(key)
        if entry is None or self.clock() >= entry[1]:
            self.keys.pop(key, None)
            return None
        return entry[0]

    def announce(self, owner: str, ttl_s: float) -> int:
        self._live("")
        self.keys[f"member:{owner}"] = (owner, self.clock() + ttl_s)
        return sum(1 for key in list(self.keys) if key.startswith("member:") and self._live(key) is not None)

    def holders(self, branches: Sequence[str]) -> dict[str, str | None]:
        return {b: self._live(f"lease:{b}") for b in branches}

    def acquire(self, branch: str, owner: str, ttl_s: float) -> bool:
        if self._live(f"lease:{branch}") is not None:
            return False
        self.keys[f"lease:{branch}"] = (owner, self.clock() + ttl_s)
        return True

    def renew(self, branches: Sequence[str], owner: str, ttl_s: float) -> dict[str, bool]:
        kept = {}
        for branch in branches:
            kept[branch] = self._live(f"lease:{branch}") == owner
            if kept[branch]:
                self.keys[f"lease:{branch}"] = (owner, self.clock() + ttl_s)
        return kept

    def release(self, branch: str, owner: str) -> None:
        if self._live(f"lease:{branch}") == owner:
            del self.keys[f"lease:{branch}"]


def spread(processes: Iterable[BranchLeases]) -> dict[str, list[str]]:
    """Who holds what (for tests and logs)."""
    return {p.owner: p.held() for p in processes}


__all__ = ["LEASE_TTL_S", "RENEW_EVERY_S", "AllBranches", "BranchLeases", "LeaseStore", "Leases",
           "MemoryLeaseStore", "spread"]
