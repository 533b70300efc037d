"""One branch at a glance, for the regional / all-branches overview, and the order it is listed in.

Pure: the live side (:class:`server.services.live.LiveHall`) fills a :class:`BranchGlance` at each refresh from what it
already holds (the queue it estimated, its hall alerts, the stops in force) and keeps a :class:`DayTally` of today's
calls and ratings as it learns events; :mod:`server.services.overview` lists the glances a caller may read.

**Worst first** (:func:`rank_key`), in this order:

1. the most severe hall alert (critical, then warning, then none);
2. more critical alerts, then more warnings;
3. the worst wait against its target: the longest current wait of a service divided by that service's target
   (above 1: over target), highest first;
4. more people waiting;
5. the branch code, so that equal branches keep a stable order.

A branch the live side has not refreshed yet (a server that just started) is listed last: nothing is known of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from server.domain.estimation import CounterStatus, WaitEstimate
from server.domain.hall_alerts import HallAlert, Severity
from server.domain.values import Text

TOP_ALERTS = 3
"""How many alerts a glance names (the most severe first); the counts cover them all."""


@dataclass
class DayTally:
    """Today's calls within target and ratings of one branch, counted as the events are learnt.

    ``service_level``: the share of tickets first called today whose wait (issue to first call) was within their
    service's target, as the reports count it; ``satisfaction``: the share of today's ratings that were not
    dissatisfied. A tally of another day starts again at zero (the branch's local day)."""

    day: date | None = None
    called: int = 0
    within_target: int = 0
    rated: int = 0
    satisfied: int = 0
    counted: set[int] = field(default_factory=set)  # tickets whose first call is counted (a recall is not)

    def _on(self, day: date) -> None:
        if day != self.day:
            self.day, self.called, self.within_target, self.rated, self.satisfied = day, 0, 0, 0, 0
            self.counted = set()

    def note_call(self, day: date, ticket_id: int, wait: timedelta, target: timedelta | None) -> None:
        """A ticket called on ``day``, having waited ``wait`` since issue; only its first call counts."""
        if self.day is not None and day < self.day:
            return
        self._on(day)
        if ticket_id in self.counted:
            return
        self.counted.add(ticket_id)
        self.called += 1
        if target is not None and wait <= target:
            self.within_target += 1

    def note_rating(self, day: date, dissatisfied: bool) -> None:
        if self.day is not None and day < self.day:
            return
        self._on(day)
        self.rated += 1
        self.satisfied += 0 if dissatisfied else 1

    def service_level(self, today: date) -> float | None:
        return _share(self.within_target, self.called) if self.day == today else None

    def satisfaction(self, today: date) -> float | None:
        return _share(self.satisfied, self.rated) if self.day == today else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class ServiceWait:
    """A service's longest current wait against its target, and what a ticket issued now would wait."""

    code: str
    name: Text
    waiting: int
    longest_wait: timedelta
    target: timedelta
    new_ticket: WaitEstimate

    @property
    def ratio(self) -> float:
        """The longest wait as a share of the target (1.0: at the target)."""
        target = self.target.total_seconds()
        return self.longest_wait.total_seconds() / target if target > 0 else 0.0


def worst_wait(services: Iterable[ServiceWait]) -> ServiceWait | None:
    """The service whose longest wait is furthest along its target (None when nobody waits)."""
    waiting = [s for s in services if s.waiting > 0]
    return max(waiting, key=lambda s: (s.ratio, s.longest_wait, s.waiting), default=None)


@dataclass(frozen=True)
class BranchGlance:
    """What the overview shows of one branch at one refresh."""

    at: datetime
    waiting: int
    worst: ServiceWait | None
    counters: dict[str, int]  # open / paused / closed
    alerts: tuple[HallAlert, ...]  # most severe first, as hall_alerts gives them
    open_now: bool  # within the branch's opening hours
    stopped_services: tuple[str, ...]  # services whose new tickets a stop refuses now
    stopped_all: bool  # a branch-wide stop is in force
    service_level: float | None
    satisfaction: float | None

    @cached_property
    def alert_counts(self) -> dict[str, int]:
        counts = {severity.value: 0 for severity in Severity}
        for alert in self.alerts:
            counts[alert.severity.value] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """As the API and the page get it; made once per refresh and shared by every reader (do not change it)."""
        return self._dict

    @cached_property
    def _dict(self) -> dict[str, Any]:
        worst = self.worst
        return {
            "at": self.at.isoformat(),
            "waiting": self.waiting,
            "worst_wait": None if worst is None else {
                "service": worst.code, "service_name": worst.name.as_dict(), "waiting": worst.waiting,
                "longest_wait_min": _minutes(worst.longest_wait), "target_min": _minutes(worst.target),
                "ratio": round(worst.ratio, 2), "over_target": worst.longest_wait > worst.target,
                "new_ticket": worst.new_ticket.as_dict()},
            "counters": dict(self.counters),
            "alerts": {"counts": self.alert_counts,
                       "top": [{"key": a.key, "type": a.kind.value, "severity": a.severity.value,
                                "text": a.text.as_dict()} for a in self.alerts[:TOP_ALERTS]]},
            "open_now": self.open_now,
            "issuing": {"stopped_all": self.stopped_all, "stopped_services": list(self.stopped_services)},
            "service_level": self.service_level,
            "satisfaction": self.satisfaction,
        }

    def shown(self) -> tuple[Any, ...]:
        """What a watcher sees of the glance (not the instant): a push follows only a change of this."""
        worst = self.worst
        return (self.waiting, None if worst is None else (worst.code, _minutes(worst.longest_wait),
                                                           _minutes(worst.target), worst.new_ticket.rounded_range()),
                tuple(sorted(self.counters.items())), tuple((a.key, a.text) for a in self.alerts), self.open_now,
                self.stopped_services, self.stopped_all, self.service_level, self.satisfaction)


def counter_counts(statuses: Iterable[CounterStatus]) -> dict[str, int]:
    """How many counters are open, paused and closed."""
    counts = {status.value: 0 for status in CounterStatus}
    for status in statuses:
        counts[status.value] += 1
    return counts


def rank_key(code: str, glance: BranchGlance | None) -> tuple[Any, ...]:
    """The sort key of worst first (see the module's docstring); smaller sorts first."""
    if glance is None:
        return (1, 0, 0, 0, 0.0, 0, code)
    counts = glance.alert_counts
    worst = min((a.severity.rank for a in glance.alerts), default=len(Severity))
    ratio = glance.worst.ratio if glance.worst is not None else 0.0
    return (0, worst, -counts[Severity.CRITICAL.value], -counts[Severity.WARNING.value], -ratio, -glance.waiting,
            code)


def worst_first(glances: Sequence[tuple[str, BranchGlance | None]]) -> list[str]:
    """The branch codes in the overview's order."""
    return [code for code, glance in sorted(glances, key=lambda item: rank_key(*item))]


def _minutes(value: timedelta) -> int:
    return max(0, int(value.total_seconds() // 60))


__all__ = ["TOP_ALERTS", "BranchGlance", "DayTally", "ServiceWait", "counter_counts", "rank_key", "worst_first",
           "worst_wait"]
