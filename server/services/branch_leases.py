"""Which server process runs each branch's live work: a lease per branch.

With several processes (``redis_url`` set) one live loop serves the system, not one per process: each branch's
refresh (learning, the estimator, alerts, the summary and ticket updates it pushes) runs in the one process that
holds the branch's lease, and the others take its results (:mod:`server.services.live_share`). A lease is a key in
Redis with a time to live (:data:`LEASE_TTL_S`), set only if absent and renewed by its holder every
:data:`RENEW_EVERY_S` with a compare-and-renew, so that a holder killed with SIGKILL loses its branches within the TTL
and another process takes them (docs/realtime.md "Scaling out").

Spreading: each process announces itself with a key of the same TTL; with ``n`` processes alive a process takes free
branches only up to its fair share, ``ceil(branches / n)``, and hands back what it holds beyond that share, a batch a
round proportional to what it holds (:data:`HAND_BACK_ROUNDS`), and the next batch only once the last was taken: a
process that started alone gives its branches to the ones that start after it within seconds, and no branch waits
for a holder longer than a round.

The other per-branch background jobs (the end of the service day, the watch over silent devices, the notifier's
deliveries) follow the lease too: they run where :meth:`BranchLeases.serves` says, the holder, or every process once
nobody has held the branch for :data:`ORPHAN_AFTER_S` (Redis down, a holder not yet found), so that a branch is never
left unserved.

One process without Redis holds every branch (:class:`AllBranches`): no lease, no call, nothing changes in its cost.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from server.services.outage_log import OutageLog

log = logging.getLogger(__name__)

LEASE_TTL_S = 5.0
"""How long a lease outlives its holder's last renewal: a killed holder's branches move within this."""
RENEW_EVERY_S = 1.0
"""How often a holder renews (and a process looks for free branches): several renewals fit in one TTL."""
SAFETY_S = 1.0
"""A holder stops acting this long before its lease could have expired in Redis (renewals it could not confirm,
clocks that drift): two processes never both believe they hold a branch."""
HAND_BACK_ROUNDS = 8
"""A process over its fair share hands back an eighth of what it holds per round (at least one): 500 branches split
between two processes in about 6 rounds, a third process takes its share in about 4."""
ORPHAN_AFTER_S = 2 * LEASE_TTL_S
"""A branch nobody has held for this long (as far as this process can tell) has its background jobs run here too."""


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

    def serves(self, branch: str) -> bool:
        """Whether this process runs the branch's background jobs: it holds the branch, or nobody has for long."""
        ...

    def tick(self, branches: Sequence[str]) -> list[str]: ...

    def held(self) -> list[str]: ...


class AllBranches:
    """One process: it holds every branch, always, without asking anyone."""

    shared = False
    every_s = math.inf
    takeovers = 0

    def holds(self, branch: str) -> bool:
        return True

    def serves(self, branch: str) -> bool:
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
    orphan_after_s: float = ORPHAN_AFTER_S
    shared = True
    takeovers: int = 0  # branches taken after another process held them (it died, or handed them over)
    _valid_until: dict[str, float] = field(default_factory=dict)  # held branch -> until when it may act
    _seen: dict[str, str] = field(default_factory=dict)  # free-or-not branch -> the other holder last seen
    _unheld_since: dict[str, float] = field(default_factory=dict)  # branch seen without a holder -> since when
    _outage: OutageLog = field(default_factory=lambda: OutageLog(log, "the branch leases' store"))

    def __post_init__(self) -> None:
        if not 0 < self.every_s < self.ttl_s - self.safety_s:
            raise ValueError("a lease must be renewed well within its time to live")

    def holds(self, branch: str) -> bool:
        until = self._valid_until.get(branch)
        return until is not None and self.clock() < until

    def serves(self, branch: str) -> bool:
        if self.holds(branch):
            return True
        since = self._unheld_since.get(branch)
        return since is not None and self.clock() - since >= self.orphan_after_s

    def held(self) -> list[str]:
        now = self.clock()
        return sorted(b for b, until in self._valid_until.items() if now < until)

    def tick(self, branches: Sequence[str]) -> list[str]:
        """Renew what is held, hand back what is beyond the fair share, take free branches up to it; answers the
        branches taken in this round (their first refresh publishes everything: the screens move to a new holder).
        A store that fails (Redis down) changes nothing: held leases lapse by themselves once past their validity."""
        try:
            taken = self._tick(list(branches))
            self._outage.succeeded()
            return taken
        except Exception as exc:  # the loop goes on; a lease not renewed in time is simply no longer acted on
            self._outage.failed(exc)
            self._drop_lapsed()
            now = self.clock()
            for branch in branches:  # nobody can be known to hold them: unheld from now, until the store answers
                if branch not in self._valid_until:
                    self._unheld_since.setdefault(branch, now)
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
        free = [b for b in branches if b not in self._valid_until]
        holders = self.store.holders(free) if free else {}
        self._note_holders(branches, holders, started)
        if len(held) > share:  # another process started: hand back a batch, once the last one was taken
            if any(holders.get(b) is None for b in free):
                return []
            batch = min(len(held) - share, max(1, math.ceil(len(held) / HAND_BACK_ROUNDS)))
            for branch in held[-batch:]:
                self.store.release(branch, self.owner)
                del self._valid_until[branch]
            return []
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
                self._unheld_since.pop(branch, None)
                if self._seen.pop(branch, None) is not None:
                    self.takeovers += 1
                taken.append(branch)
        return taken

    def _note_holders(self, branches: list[str], holders: dict[str, str | None], now: float) -> None:
        """Remember since when each branch has had no holder at all (for :meth:`serves`)."""
        for branch in branches:
            if branch in self._valid_until or holders.get(branch) is not None:
                self._unheld_since.pop(branch, None)
            else:
                self._unheld_since.setdefault(branch, now)
        wanted = set(branches)
        for gone in [b for b in self._unheld_since if b not in wanted]:
            del self._unheld_since[gone]

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


__all__ = ["HAND_BACK_ROUNDS", "LEASE_TTL_S", "ORPHAN_AFTER_S", "RENEW_EVERY_S", "AllBranches", "BranchLeases",
           "LeaseStore", "Leases", "MemoryLeaseStore", "spread"]
