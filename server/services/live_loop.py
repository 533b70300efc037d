"""The background task that keeps each branch's live estimates fresh (see :class:`LiveLoop`)."""

from __future__ import annotations

import functools
import itertools
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from server.services.branch_leases import AllBranches, Leases
from server.services.live import LiveHall

log = logging.getLogger(__name__)


class Housekeeping(Protocol):
    """Work the server does between refreshes (the socket side's heap keeping: :class:`server.realtime.HeapKeeper`)."""

    def note_events(self) -> None: ...

    def tick(self) -> None: ...


class PurgeJobs:
    """The hourly clean-up (and the one at start-up) as one ``purge``: each job in turn, one failing not keeping
    the next from running (the first failure is raised after them all; the next hour tries again)."""

    def __init__(self, *jobs: Callable[[], Any]) -> None:
        self.jobs = jobs

    def __call__(self) -> None:
        failed: Exception | None = None
        for job in self.jobs:
            try:
                job()
            except Exception as exc:
                failed = failed or exc
        if failed is not None:
            raise failed


# The refresh cadence (seconds): the loop's turn; how soon after a call or pause, after a burst of issues (coalesced)
# and, with nothing happening, how often a branch is refreshed. benchmarks/wait_accuracy.py drives the estimator so.
TICK_S = 0.1
URGENT_S = 0.5
COALESCE_S = 1.0
IDLE_S = 60.0
REFRESH_WORKERS = 4  # branches refreshed at once by a server process (green threads: see LiveLoop)


class LiveLoop:
    """Keeps estimates fresh: at once after calls and pauses, coalesced after issues, once a minute regardless,
    and on a change committed by another server process (noticed from the branch's ``seq``).

    It runs as a background task of the server (``spawn``) and waits with the server's own ``sleep``, so that
    under eventlet it is one green thread among the requests; ``purge`` is the hourly clean-up of stored answers and
    of personal data past its retention (:class:`PurgeJobs`);
    ``end_days`` ends a branch's service day once it is over (checked every ``watch_s``; free until then);
    ``expire_holds`` expires the remote tickets of the given branches whose check-in time ran out (every ``watch_s``,
    all branches at once: one read of the few tickets held aside, not one per branch);
    ``check_sessions`` drops the staff sockets whose session has ended (every ``sessions_every_s``); ``check_hall``
    serves the database's hall model when another process (or ``python -m server hall import``) changed it, every
    ``hall_every_s``: one read of one row, so that a change is served within a second of its commit (every
    ``watch_s`` = 1 s, plus the tick and the reload, came to 1.02 s in a test of the command line's import);
    ``watch_devices`` records a branch's paired devices that went silent (every ``devices_every_s`` per branch; it
    reads the database only when one may have, see :meth:`server.services.devices.DeviceService.watch`).
    ``each_tick`` runs after the refreshes of every tick (the overview's coalesced pushes,
    :class:`server.services.overview.OverviewWatchers`).
    ``branches`` may be a function: the branches served change with the hall model.

    ``leases`` (several processes): only the branches this process holds are refreshed here, and watched for changes
    committed elsewhere; a command committed here for a branch another process holds pokes that holder; a branch
    just taken over is refreshed at once and publishes everything; a branch nobody shares results of (its holder's
    channel silent, :meth:`LiveHall.orphaned`) is refreshed here, quietly, for this process's own reads. The other
    per-branch jobs, ``end_days``, ``expire_holds`` and ``watch_devices``, run where :meth:`Leases.serves` says: the
    holder, or every process once nobody has held the branch for a while (each is safe to run twice: see their
    docstrings).
    ``listen``: a background task beside the loop (the channel of shared results).

    ``refresh_workers``: how many branches may be refreshed at once, each in a task of its own (``spawn``), never
    one branch twice at once. A refresh mostly waits (for the database, for the estimator's thread, which lets
    requests go first), so with a network's branches one at a time a burst of changes in many of them queued up
    behind each other's waits; with 1 (tests, a plain thread) the loop refreshes in turn itself.
    """

    DUTY_FACTOR = 5.0  # a refresh whose computation took t seconds of CPU is not repeated within 5 t

    def __init__(self, live: LiveHall, branches: Sequence[str] | Callable[[], Sequence[str]], *,
                 spawn: Callable[[Callable[[], None]], Any],
                 sleep: Callable[[float], Any], purge: Callable[[], Any], housekeeping: Housekeeping | None = None,
                 end_days: Callable[[str], Any] | None = None,
                 expire_holds: Callable[[Sequence[str]], Any] | None = None,
                 check_sessions: Callable[[], Any] | None = None,
                 check_hall: Callable[[], Any] | None = None, watch_devices: Callable[[str], Any] | None = None,
                 on_refresh: Callable[[float, float | None], Any] | None = None,
                 each_tick: Callable[[], Any] | None = None, leases: Leases | None = None,
                 listen: Callable[[], None] | None = None,
                 tick_s: float = TICK_S, urgent_s: float = URGENT_S, coalesce_s: float = COALESCE_S,
                 idle_s: float = IDLE_S, refresh_workers: int = 1, jitter: Callable[[], float] = random.random,
                 watch_s: float = 1.0, hall_every_s: float = 0.5, purge_every_s: float = 3600.0,
                 sessions_every_s: float = 5.0, devices_every_s: float = 5.0) -> None:
        self.live = live
        self._branches: Callable[[], Sequence[str]] = (
            branches if callable(branches) else (lambda fixed=list(branches): fixed))  # type: ignore[misc]
        self.check_hall, self.hall_every_s = check_hall, hall_every_s
        self.spawn, self.sleep, self.purge = spawn, sleep, purge
        self.housekeeping = housekeeping
        self.end_days = end_days
        self.expire_holds = expire_holds
        self.check_sessions, self.sessions_every_s = check_sessions, sessions_every_s
        self.watch_devices, self.devices_every_s = watch_devices, devices_every_s
        self.each_tick = each_tick
        self.tick_s, self.urgent_s, self.coalesce_s = tick_s, urgent_s, coalesce_s
        self.idle_s, self.watch_s = idle_s, watch_s
        self.refresh_workers = max(1, refresh_workers)
        self.jitter = jitter
        self.purge_every_s = purge_every_s
        self.on_refresh = on_refresh  # (seconds it took, seconds since its work was noticed or None): for /metrics
        self.leases: Leases = leases or AllBranches()
        self.listen = listen
        self.running = False

    def start(self) -> None:
        if not self.running:
            self.running = True
            if self.listen is not None:
                self.spawn(self.listen)
            self.spawn(self.run)

    def run(self) -> None:
        last_refresh: dict[str, float] = {}
        cost: dict[str, float] = {}
        pending: dict[str, bool] = {}
        noticed: dict[str, float] = {}  # when a branch's pending work was first noticed (the refresh lag)
        taken: set[str] = set()  # branches just taken over: their next refresh publishes everything
        leases = self.leases
        running: set[str] = set()  # branches being refreshed (by a worker: ``refresh_workers``)
        last_watch = last_hall = last_purge = last_sessions = last_devices = time.monotonic()

        def refresh(code: str, publish_all: bool, noticed_at: float | None) -> None:
            started = time.monotonic()
            try:
                if publish_all:
                    self._safe(lambda: self.live.refresh(code, force_publish=True))
                else:
                    self._safe(lambda: self.live.refresh(code))
            finally:
                running.discard(code)
                done = time.monotonic()
                # a branch's first refresh here (start-up, a take-over: hundreds at once) is followed by its idle
                # one at a random point of the next minute, so that they do not all come back in the same second
                first = code not in last_refresh or publish_all
                last_refresh[code] = done - (self.idle_s * self.jitter() if first else 0.0)
                cost[code] = self._safe(lambda: self.live.refresh_cost(code)) or 0.0
            if self.on_refresh is not None:
                lag = None if noticed_at is None else done - noticed_at
                self._safe(functools.partial(self.on_refresh, done - started, lag))

        last_lease = float("-inf")
        next_first = 0  # where the next tick's scan of the branches starts
        while self.running:
            self.sleep(self.tick_s)
            now = time.monotonic()
            branches = self._branches()
            if now - last_lease >= leases.every_s:
                last_lease = now
                for code in leases.tick(branches):
                    taken.add(code)
                    pending[code] = True
                    noticed.setdefault(code, now)
            dirty = self.live.take_dirty()
            for code, urgent in dirty.items():
                if leases.shared and not leases.holds(code):
                    self._safe(functools.partial(self.live.poke, code, urgent))  # its holder refreshes it
                    continue
                pending[code] = pending.get(code, False) or urgent
                noticed.setdefault(code, now)
            if self.housekeeping is not None:
                if dirty:
                    self.housekeeping.note_events()
                self.housekeeping.tick()
            if self.check_hall is not None and now - last_hall >= self.hall_every_s:
                last_hall = now  # another process changed the hall: serve the new model
                self._safe(self.check_hall)
                branches = self._branches()
            if now - last_watch >= self.watch_s:
                last_watch = now
                if self.end_days is not None:  # a service day that has ended: at once, not at the next command
                    for code in filter(leases.serves, branches):
                        self._safe(functools.partial(self.end_days, code))
                if self.expire_holds is not None:  # remote tickets whose check-in time ran out: one read for all
                    self._safe(functools.partial(self.expire_holds, [c for c in branches if leases.serves(c)]))
                seqs = self._safe(self.live.branch_seqs)  # one read for every branch, not one each
                for code in branches if seqs is not None else ():
                    # a branch being refreshed has not yet recorded the seq it read: the next watch tells
                    if code not in pending and code not in running and leases.holds(code) and \
                            seqs.get(code, 0) != self.live.refreshed_seq(code):
                        pending[code] = True
                        noticed.setdefault(code, now)
            # the scan starts after the branch dispatched last (round robin): when more are due than there are
            # workers, the rest wait for the next tick, and no branch (the last of the list, say) waits behind the
            # same others again and again
            start = next_first % len(branches) if branches else 0
            for index in itertools.chain(range(start, len(branches)), range(start)):
                code = branches[index]
                if code in running:
                    continue  # a change noticed meanwhile stays pending: refreshed again once this one is done
                if not leases.holds(code):
                    pending.pop(code, None)
                    noticed.pop(code, None)
                    if not self._safe(functools.partial(self.live.orphaned, code)):
                        continue  # its holder refreshes it and shares the results
                since = now - last_refresh.get(code, float("-inf"))
                # a busy branch's refresh takes longer; never spend more than a fifth of the time on it
                floor = self.DUTY_FACTOR * cost.get(code, 0.0)
                if code in pending:
                    due = since >= max(self.urgent_s if pending[code] else self.coalesce_s, floor)
                else:
                    due = since >= max(self.idle_s, floor)
                if due and len(running) < self.refresh_workers:
                    next_first = index + 1
                    pending.pop(code, None)
                    running.add(code)
                    job = functools.partial(refresh, code, code in taken, noticed.pop(code, None))
                    taken.discard(code)
                    if self.refresh_workers > 1:
                        self.spawn(job)  # beside the loop: while it waits (database, estimator thread) others run
                    else:
                        job()
            if self.each_tick is not None:
                self._safe(self.each_tick)
            if self.watch_devices is not None and now - last_devices >= self.devices_every_s:
                last_devices = now
                for code in filter(leases.serves, branches):  # silent devices: recorded once, to the staff room
                    self._safe(functools.partial(self.watch_devices, code))
            if self.check_sessions is not None and now - last_sessions >= self.sessions_every_s:
                last_sessions = now
                self._safe(self.check_sessions)
            if now - last_purge >= self.purge_every_s:
                last_purge = now
                self._safe(self.purge)

    @property
    def branches(self) -> list[str]:
        return list(self._branches())

    @staticmethod
    def _safe(work: Callable[[], Any]) -> Any:
        try:
            return work()
        except Exception:  # the loop must outlive a database hiccup; the next tick tries again
            log.exception("live refresh failed")
            return None
