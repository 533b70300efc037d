"""The published real-time delay estimators the estimator is compared with (WAITTIME.md).

Each predicts the *remaining* minutes until a ticket is called, from what the hall can observe at that
moment. Delay-history estimators (last-10 mean, LES, HOL) predict the wait of a new arrival; for a
ticket that has already waited ``e`` minutes they predict ``max(estimate - e, 0)``. Queue-length
estimators use ``s`` = open counters that list the service and ``n`` = tickets of the service ahead
in the policy's order (and predict 0 when an idle counter of the service is free for the ticket);
``mu`` comes from the same learnt service-time model as the estimator, and ``theta`` from the learnt
rate of leaving the queue (cancellations and no-shows per minute waited).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime

from server.domain.estimation import BranchModel, CounterStatus, QueueSnapshot
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket, call_key

BASELINES = ("last10", "les", "hol", "ql", "ql_m")


def _minutes_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60.0


class Baselines:
    """Keeps the call history the delay-history estimators need, and computes all five."""

    def __init__(self, model: BranchModel, rules: PolicyRules) -> None:
        self.model = model
        self.rules = rules
        self._recent: dict[str, deque[float]] = {}
        self._last_entered: dict[str, float] = {}

    def on_call(self, service_code: str, waited_minutes: float) -> None:
        self._recent.setdefault(service_code, deque(maxlen=10)).append(waited_minutes)
        self._last_entered[service_code] = waited_minutes

    def service_lines(self, snapshot: QueueSnapshot) -> dict[str, list[QueuedTicket]]:
        """Waiting tickets per service in the policy's order at a plain counter of that service."""
        lines: dict[str, list[QueuedTicket]] = {}
        for ticket in snapshot.waiting:
            lines.setdefault(ticket.service_code, []).append(ticket)
        for code, line in lines.items():
            reference = CounterSkills("reference", (code,))
            line.sort(key=lambda t, r=reference: call_key(t, r, self.rules))
        return lines

    def open_counters(self, snapshot: QueueSnapshot, service_code: str) -> int:
        """s: open counters that list the service (paused ones if none is open; at least 1)."""
        listing = [c for c in snapshot.counters if service_code in c.skills.services]
        open_now = sum(c.status is CounterStatus.OPEN for c in listing)
        if open_now:
            return open_now
        return max(sum(c.status is CounterStatus.PAUSED for c in listing), 1)

    def idle_counters(self, snapshot: QueueSnapshot, service_code: str) -> int:
        return sum(
            c.status is CounterStatus.OPEN and c.serving_service is None and service_code in c.skills.services
            for c in snapshot.counters
        )

    def predict(
        self,
        snapshot: QueueSnapshot,
        ticket: QueuedTicket,
        line: Sequence[QueuedTicket],
        ahead: int,
    ) -> dict[str, float]:
        """Remaining minutes until ``ticket`` is called, by each baseline; ``ahead`` = n, ``line`` its service's."""
        service = ticket.service_code
        elapsed = _minutes_between(snapshot.now, ticket.queued_at)
        recent = self._recent.get(service)
        last10 = sum(recent) / len(recent) if recent else 0.0
        les = self._last_entered.get(service, 0.0)
        hol = _minutes_between(snapshot.now, line[0].queued_at) if line else 0.0
        servers = self.open_counters(snapshot, service)
        hour = self.model.local_hour(snapshot.now)
        rate = 1.0 / self.model.service_times.mean_minutes(service, hour)
        theta = self.model.abandonment.leave_hazard()
        # tickets ahead beyond the idle counters that may take them right away
        behind_busy = ahead - self.idle_counters(snapshot, service)
        ql = (behind_busy + 1) / (servers * rate) if behind_busy >= 0 else 0.0
        ql_m = sum(1.0 / (servers * rate + k * theta) for k in range(behind_busy + 1))
        return {
            "last10": max(last10 - elapsed, 0.0),
            "les": max(les - elapsed, 0.0),
            "hol": max(hol - elapsed, 0.0),
            "ql": ql,
            "ql_m": ql_m,
        }
