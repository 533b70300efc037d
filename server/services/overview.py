"""The regional / all-branches overview: every branch the caller reads, worst first, and its live push.

Who reads which branches is the reports' rule (:meth:`server.services.reports.Reports.readable_scope`: managers their
branches, regional accounts their regions', admins all; staff are refused). Each branch's row is the glance the live
side keeps from its last refresh (:meth:`server.services.live.LiveHall.glance`), so a listing reads no ticket: it
costs a lookup and a sort per branch (``benchmarks/overview_speed.py``). The order is
:func:`server.domain.overview.rank_key`.

A watcher (the overview page's socket) is told, at most once per ``interval_s``, the rows of its branches that changed
since it was last told and the new order of all of them (:class:`OverviewWatchers`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.domain.hall import Branch
from server.domain.overview import BranchGlance, rank_key
from server.services.access import is_manager_of, reads_reports_of
from server.services.actor import Actor
from server.services.reports import Reports


class GlanceSource(Protocol):
    """The live side's glance of each branch (:class:`server.services.live.LiveHall`)."""

    def glance(self, branch_code: str) -> BranchGlance | None: ...

    def on_glance(self, listener: Callable[[str], None]) -> None: ...


class Overview:
    """The overview's reads; made in :func:`server.app.create_app`, beside the live side it reads from."""

    def __init__(self, reports: Reports, live: GlanceSource) -> None:
        self.reports = reports
        self.live = live

    def scope(self, actor: Actor, region: str | None = None) -> list[Branch]:
        """The branches the actor reads, within ``region`` (400 for a region no branch has, 403 for none read)."""
        return self.reports.readable_scope(actor, region)

    def regions(self, actor: Actor) -> list[str]:
        """The regions of the branches the actor reads: what the page's filter offers."""
        config = self.reports.hall.config
        return sorted({b.region for b in config.branches if b.region and reads_reports_of(config, actor, b)})

    def row(self, actor: Actor, branch: Branch) -> dict[str, Any]:
        """One branch as the overview lists it; ``links``: the pages the actor may open for it."""
        glance = self.live.glance(branch.code)
        manages = is_manager_of(self.reports.hall.config, actor, branch)
        return {"code": branch.code, "name": branch.name.as_dict(), "region": branch.region,
                "live": None if glance is None else glance.as_dict(),
                "links": {"manager": f"/manager/{branch.code}" if manages else None,
                          "staffing": f"/manager/{branch.code}/staffing"}}

    def order(self, branches: Sequence[Branch]) -> list[str]:
        """The branch codes worst first."""
        keyed = sorted((rank_key(b.code, self.live.glance(b.code)), b.code) for b in branches)
        return [code for _key, code in keyed]

    def listing(self, actor: Actor, region: str | None = None) -> dict[str, Any]:
        """Every branch the actor reads (within ``region``), worst first."""
        branches = self.scope(actor, region)
        by_code = {b.code: b for b in branches}
        rows = [self.row(actor, by_code[code]) for code in self.order(branches)]
        regions = self.regions(actor) if region is not None else sorted({b.region for b in branches if b.region})
        return {"region": region, "regions": regions, "order_rule": ORDER_RULE, "branches": rows}


ORDER_RULE = ("most severe alert first, then more critical alerts, more warnings, the worst wait against its target, "
              "more waiting; branches not yet refreshed last")
"""The order in words, for the API's readers (:func:`server.domain.overview.rank_key` is the rule)."""


@dataclass
class _Watcher:
    actor: Actor
    region: str | None
    codes: frozenset[str]
    pending: set[str] = field(default_factory=set)
    last_sent: float = float("-inf")


class OverviewWatchers:
    """The overview pages watching, by socket id: each told its changed rows, coalesced to one push per interval."""

    def __init__(self, overview: Overview, emit: Callable[[str, dict[str, Any]], None], *, interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.overview = overview
        self.emit = emit
        self.interval_s = interval_s
        self.clock = clock
        self._watchers: dict[str, _Watcher] = {}
        self._lock = threading.Lock()
        overview.live.on_glance(self.changed)

    def watch(self, sid: str, actor: Actor, region: str | None) -> dict[str, Any]:
        """Start telling ``sid`` of its branches (the same scope, and refusals, as ``GET /api/overview``); the
        answer is the listing as it stands."""
        listing = self.overview.listing(actor, region)
        codes = frozenset(row["code"] for row in listing["branches"])
        with self._lock:
            self._watchers[sid] = _Watcher(actor, region, codes, last_sent=self.clock())
        return listing

    def unwatch(self, sid: str) -> None:
        with self._lock:
            self._watchers.pop(sid, None)

    def watching(self) -> int:
        return len(self._watchers)

    def changed(self, branch_code: str) -> None:
        """A branch's glance changed (called by the live side after its refresh)."""
        with self._lock:
            for watcher in self._watchers.values():
                if branch_code in watcher.codes:
                    watcher.pending.add(branch_code)

    def tick(self) -> int:
        """Push to each watcher whose branches changed and whose interval has passed; returns how many were told."""
        now = self.clock()
        due: list[tuple[str, _Watcher, set[str]]] = []
        with self._lock:
            for sid, watcher in self._watchers.items():
                if watcher.pending and now - watcher.last_sent >= self.interval_s:
                    due.append((sid, watcher, watcher.pending))
                    watcher.pending, watcher.last_sent = set(), now
        config = self.overview.reports.hall.config
        for sid, watcher, codes in due:
            branches = [b for code in sorted(watcher.codes) if (b := config.branch(code)) is not None]
            rows = [self.overview.row(watcher.actor, b) for b in branches if b.code in codes]
            self.emit(sid, {"region": watcher.region, "rows": rows, "order": self.overview.order(branches)})
        return len(due)

    def forget(self, keep: Callable[[str], bool]) -> None:
        """Drop the watchers for which ``keep(sid)`` is false (sockets gone)."""
        with self._lock:
            for sid in [sid for sid in self._watchers if not keep(sid)]:
                del self._watchers[sid]


__all__ = ["ORDER_RULE", "GlanceSource", "Overview", "OverviewWatchers"]
