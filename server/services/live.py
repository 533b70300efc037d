"""The live side of the hall: what the estimator learns, and the derived state pushed to screens.

Committed events are the source of truth (:mod:`server.services.hall`); this module derives from them,
per branch:

* the estimator's :class:`~server.domain.estimation.BranchModel`, fed from the event log (replayed at
  start, then incrementally by sequence number, so a restart or a second server process learns the same);
* wait estimates for every waiting ticket and for a would-be new ticket of each service (kiosk tiles,
  the issue response and the printed ticket);
* "people ahead" for every waiting ticket, from the same call-order policy that call-next uses;
* the recent accuracy of the estimates given at issue, per service, for the manager.

A refresh reads the queue, runs the estimator and hands the results to the :class:`LivePublisher`:
one summary per branch (waiting counts and estimates) and one update per waiting ticket whose people
ahead or shown estimate changed. Refreshes are triggered by commands (at once for calls and pauses,
coalesced for a burst of issues) and run at least once a minute, since waits change as time passes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select

from server.config import Branch, HallConfig
from server.domain import policy
from server.domain.estimation import (
    AccuracyTracker,
    BranchModel,
    CounterState,
    CounterStatus,
    QueueSnapshot,
    WaitEstimate,
    estimate_waits,
)
from server.domain.tickets import EventKind, PriorityClass, TicketState
from server.persistence.tables import BranchSequence, CounterSession, Ticket, TicketEvent
from server.services.unit_of_work import UnitOfWork
from server.services.views import skills_today

log = logging.getLogger(__name__)

LEARNING_DAYS = 28
NEW_TICKET_CLASSES = (PriorityClass.NORMAL, PriorityClass.PRIORITY)
URGENT_KINDS = frozenset({
    EventKind.CALLED.value, EventKind.COUNTER_PAUSED.value, EventKind.COUNTER_RESUMED.value,
    EventKind.COUNTER_SIGNED_IN.value, EventKind.COUNTER_SIGNED_OUT.value, EventKind.NO_SHOW.value,
    EventKind.CANCELLED.value, EventKind.TRANSFERRED.value, EventKind.RETURNED.value,
    EventKind.REACTIVATED.value,
})
_LEARNT_KINDS = (
    EventKind.ISSUED.value, EventKind.CALLED.value, EventKind.FINISHED.value, EventKind.NO_SHOW.value,
    EventKind.CANCELLED.value, EventKind.COUNTER_PAUSED.value, EventKind.COUNTER_RESUMED.value,
    EventKind.COUNTER_SIGNED_OUT.value,
)


class LivePublisher(Protocol):
    """Where derived state goes: the branch's screens, and each waiting customer's own ticket page."""

    def publish_summary(self, branch_code: str, summary: dict[str, Any]) -> None: ...

    def publish_ticket_updates(self, branch_code: str, updates: list[dict[str, Any]]) -> None: ...


class NullLivePublisher:
    def publish_summary(self, branch_code: str, summary: dict[str, Any]) -> None:
        return None

    def publish_ticket_updates(self, branch_code: str, updates: list[dict[str, Any]]) -> None:
        return None


Offload = Callable[[Callable[[], Any]], Any]


def run_inline(work: Callable[[], Any]) -> Any:
    return work()


@dataclass
class _BranchState:
    """What the live side keeps per branch between refreshes."""

    model: BranchModel
    accuracy: AccuracyTracker = field(default_factory=lambda: AccuracyTracker(window=200))
    learnt_seq: int = 0
    refreshed_seq: int = -1
    refreshed_at: datetime | None = None
    issue_estimates: dict[int, WaitEstimate] = field(default_factory=dict)
    open_pauses: dict[str, datetime] = field(default_factory=dict)
    new_ticket: dict[tuple[str, str], WaitEstimate] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    version: int = 0


class LiveHall:
    """Derived, pushed state of every branch; the one place the server runs the wait estimator."""

    def __init__(self, config: HallConfig, uow: UnitOfWork, clock: Callable[[], datetime],
                 publisher: LivePublisher | None = None, offload: Offload = run_inline) -> None:
        self.config = config
        self.uow = uow
        self.clock = clock
        self.publisher = publisher or NullLivePublisher()
        self.offload = offload
        self.rules = config.queue.policy
        self._states: dict[str, _BranchState] = {}
        self._dirty: dict[str, bool] = {}  # branch -> urgent?
        self._lock = threading.Lock()

    # --- triggers -----------------------------------------------------------------------------------

    def note_events(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        """Called after a command committed: the branch needs a refresh (soon, or at once for a call)."""
        urgent = any(event.get("kind") in URGENT_KINDS for event in events)
        with self._lock:
            self._dirty[branch_code] = self._dirty.get(branch_code, False) or urgent

    def take_dirty(self) -> dict[str, bool]:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        return dirty

    # --- reads for the API and the socket handlers ---------------------------------------------------

    def new_ticket_estimate(self, branch_code: str, service_code: str,
                            priority: PriorityClass = PriorityClass.NORMAL) -> WaitEstimate | None:
        """The estimate for a ticket issued now, from the latest refresh (None before the first one)."""
        state = self._states.get(branch_code)
        if state is None:
            return None
        key = (service_code, priority.value if priority in NEW_TICKET_CLASSES else PriorityClass.NORMAL.value)
        return state.new_ticket.get(key)

    def summary(self, branch_code: str) -> dict[str, Any] | None:
        state = self._states.get(branch_code)
        return None if state is None else state.summary

    def ticket_live(self, branch_code: str, ticket_id: int) -> dict[str, Any] | None:
        """People ahead and the estimate of one waiting ticket, as last pushed."""
        state = self._states.get(branch_code)
        return None if state is None else state.tickets.get(ticket_id)

    def decorate_snapshot(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """Add the latest estimates to a hall snapshot (per service: a new ticket's wait)."""
        summary = self.summary(snapshot["branch"]["code"])
        services = (summary or {}).get("services", {})
        for service in snapshot.get("services", []):
            live = services.get(service["code"])
            service["estimate"] = live["estimate"] if live else WaitEstimate.unknown().as_dict()
            service["priority_estimate"] = live["priority_estimate"] if live else WaitEstimate.unknown().as_dict()
        snapshot["estimates_at"] = (summary or {}).get("generated_at")
        return snapshot

    def accuracy(self, branch_code: str) -> dict[str, Any]:
        """Recent accuracy of the estimates given at issue (estimate vs. actual wait to the call), per service."""
        state = self._state(self._branch(branch_code))
        rows = []
        for code in [None, *state.accuracy.services()]:
            figures = state.accuracy.summary(code)
            if figures is None:
                continue
            rows.append({"service": code or "ALL", "count": figures.count, "mae_min": round(figures.mae, 2),
                         "rmse_min": round(figures.rmse, 2), "bias_min": round(figures.bias, 2),
                         "coverage": round(figures.coverage, 3), "under_5_share": round(figures.under_5_share, 3)})
        return {"branch": branch_code, "window": state.accuracy.window, "services": rows,
                "interval_scale": round(state.model.calibration.scale, 3)}

    # --- the refresh -------------------------------------------------------------------------------

    def refresh(self, branch_code: str, *, force_publish: bool = False) -> None:
        """Learn from new events, re-estimate every waiting ticket, publish what changed."""
        branch = self._branch(branch_code)
        state = self._state(branch)
        now = self.clock()
        self._learn(branch, state)
        seq, snapshot, tickets = self._read_queue(branch, now)

        kinds = [(service.code, priority) for service in branch.services for priority in NEW_TICKET_CLASSES]

        def compute() -> tuple[dict[int, WaitEstimate], dict[tuple[str, str], WaitEstimate]]:
            estimates = estimate_waits(snapshot, self.rules, state.model, kinds)
            new = {(service, priority.value): estimates[-(i + 1)] for i, (service, priority) in enumerate(kinds)}
            return estimates, new

        waits, new = self.offload(compute)
        ahead = _people_ahead(snapshot, self.rules)
        state.new_ticket = new
        state.refreshed_seq, state.refreshed_at = seq, now

        updates = []
        current: dict[int, dict[str, Any]] = {}
        for ticket in tickets:
            estimate = waits.get(ticket.id, WaitEstimate.unknown())
            live = {"ticket_id": ticket.id, "number": ticket.number, "state": ticket.state,
                    "people_ahead": ahead.get(ticket.id, 0), "estimate": estimate.as_dict()}
            current[ticket.id] = live
            previous = state.tickets.get(ticket.id)
            if force_publish or previous is None or _shown(previous) != _shown(live):
                updates.append({**live, "seq": seq})
        state.tickets = current

        summary = self._summary(branch, seq, now, snapshot, new)
        changed = force_publish or state.summary is None or _summary_key(state.summary) != _summary_key(summary)
        if changed:
            state.version += 1
        summary["version"] = state.version
        state.summary = summary
        if changed:
            self.publisher.publish_summary(branch.code, summary)
        if updates:
            self.publisher.publish_ticket_updates(branch.code, updates)

    def branch_seq(self, branch_code: str) -> int:
        with self.uow.read() as session:
            return session.execute(select(BranchSequence.seq).where(
                BranchSequence.branch_code == branch_code)).scalar_one_or_none() or 0

    def refreshed_seq(self, branch_code: str) -> int:
        state = self._states.get(branch_code)
        return -1 if state is None else state.refreshed_seq

    # --- internals ----------------------------------------------------------------------------------

    def _branch(self, code: str) -> Branch:
        branch = self.config.branch(code)
        if branch is None:
            raise KeyError(code)
        return branch

    def _state(self, branch: Branch) -> _BranchState:
        state = self._states.get(branch.code)
        if state is None:
            model = BranchModel({s.code: s.expected_service for s in branch.services}, branch.timezone)
            state = _BranchState(model=model)
            self._states[branch.code] = state
        return state

    def _learn(self, branch: Branch, state: _BranchState) -> None:
        """Feed the model the branch's events after the last one it saw (all of the last 28 days at start)."""
        since = self.clock() - timedelta(days=LEARNING_DAYS)
        with self.uow.read() as session:
            query = (select(TicketEvent, Ticket)
                     .outerjoin(Ticket, Ticket.id == TicketEvent.ticket_id)
                     .where(TicketEvent.branch_code == branch.code, TicketEvent.seq > state.learnt_seq,
                            TicketEvent.kind.in_(_LEARNT_KINDS))
                     .order_by(TicketEvent.seq))
            if state.learnt_seq == 0:
                query = query.where(TicketEvent.at >= since)
            rows = session.execute(query).all()
        for event, ticket in rows:
            try:
                self._learn_one(state, event, ticket)
            except (TypeError, ValueError):  # an odd historic row must not stop learning
                log.exception("could not learn from event %s of branch %s", event.seq, branch.code)
            state.learnt_seq = event.seq

    def _learn_one(self, state: _BranchState, event: TicketEvent, ticket: Ticket | None) -> None:
        model = state.model
        kind = event.kind
        if kind == EventKind.COUNTER_PAUSED.value and event.counter_number:
            state.open_pauses[event.counter_number] = event.at
            return
        if kind in (EventKind.COUNTER_RESUMED.value, EventKind.COUNTER_SIGNED_OUT.value) and event.counter_number:
            started = state.open_pauses.pop(event.counter_number, None)
            if started is not None and kind == EventKind.COUNTER_RESUMED.value:
                model.observe_pause(started, event.at)
            return
        if ticket is None:
            return
        if kind == EventKind.ISSUED.value:
            model.observe_issued(ticket.issued_service_code, PriorityClass(ticket.priority), event.at)
            data = json.loads(event.data) if event.data else {}
            given = data.get("estimate")
            if given and given.get("known"):
                state.issue_estimates[ticket.id] = WaitEstimate(  # type: ignore[index]
                    expected=timedelta(minutes=given["expected_min"]), low=timedelta(minutes=given["low_min"]),
                    high=timedelta(minutes=given["high_min"]))
        elif kind == EventKind.CALLED.value:
            given_estimate = state.issue_estimates.pop(ticket.id, None)  # type: ignore[arg-type]
            if given_estimate is not None and not ticket.transferred:
                actual = event.at - ticket.issued_at
                state.accuracy.record(ticket.issued_service_code, given_estimate, actual)
                model.observe_estimate(given_estimate, actual)
        elif kind == EventKind.FINISHED.value and ticket.called_at and ticket.finished_at:
            model.observe_served(ticket.service_code, ticket.queued_at, ticket.called_at, ticket.finished_at)
        elif kind == EventKind.NO_SHOW.value and ticket.called_at and ticket.no_show_at:
            model.observe_no_show(ticket.queued_at, ticket.called_at, ticket.no_show_at)
        elif kind == EventKind.CANCELLED.value:
            state.issue_estimates.pop(ticket.id, None)  # type: ignore[arg-type]
            model.observe_cancelled(ticket.queued_at, event.at)

    def _read_queue(self, branch: Branch, now: datetime) -> tuple[int, QueueSnapshot, list[_Waiting]]:
        """The branch's queue as the estimator needs it, read as plain rows (no ORM objects: it may be long)."""
        columns = Ticket.__table__.c
        with self.uow.read() as session:
            seq = session.execute(select(BranchSequence.seq).where(
                BranchSequence.branch_code == branch.code)).scalar_one_or_none() or 0
            rows = session.execute(select(
                columns.id, columns.number, columns.state, columns.service_code, columns.priority,
                columns.queued_at, columns.target_counter, columns.transferred, columns.counter_number,
                columns.called_at,
            ).where(
                columns.branch_code == branch.code,
                columns.state.in_([TicketState.WAITING.value, TicketState.CALLED.value, TicketState.SERVING.value]),
            ).order_by(columns.queued_at, columns.id)).all()
            sessions = {s.counter_number: s for s in session.execute(
                select(CounterSession).where(CounterSession.branch_code == branch.code)).scalars()}
        active = {row.counter_number: row for row in rows if row.state != TicketState.WAITING.value}
        waiting = [_Waiting(row.id, row.number, row.state) for row in rows if row.state == TicketState.WAITING.value]
        queued = [policy.QueuedTicket(ticket_id=row.id, service_code=row.service_code,
                                      priority=PriorityClass(row.priority), queued_at=row.queued_at,
                                      target_counter=row.target_counter, transferred=bool(row.transferred))
                  for row in rows if row.state == TicketState.WAITING.value]
        counters = []
        for counter in branch.counters:
            counter_session = sessions.get(counter.number)
            occupant = active.get(counter.number)
            if counter_session is None or counter_session.staff_username is None:
                status, paused_since = CounterStatus.CLOSED, None
            elif counter_session.paused:
                status, paused_since = CounterStatus.PAUSED, counter_session.paused_at
            else:
                status, paused_since = CounterStatus.OPEN, None
            counters.append(CounterState(
                skills=skills_today(counter, counter_session), status=status,
                serving_service=occupant.service_code if occupant else None,
                serving_since=occupant.called_at if occupant else None,
                paused_since=paused_since,
            ))
        snapshot = QueueSnapshot(now=now, counters=counters, waiting=queued)
        return seq, snapshot, waiting

    def _summary(self, branch: Branch, seq: int, now: datetime, snapshot: QueueSnapshot,
                 new: dict[tuple[str, str], WaitEstimate]) -> dict[str, Any]:
        waiting: dict[str, int] = {}
        for ticket in snapshot.waiting:
            waiting[ticket.service_code] = waiting.get(ticket.service_code, 0) + 1
        services = {}
        for service in branch.services:
            normal = new.get((service.code, PriorityClass.NORMAL.value), WaitEstimate.unknown())
            priority = new.get((service.code, PriorityClass.PRIORITY.value), WaitEstimate.unknown())
            services[service.code] = {
                "waiting": waiting.get(service.code, 0),
                "estimate": normal.as_dict(),
                "priority_estimate": priority.as_dict(),
            }
        return {"branch": branch.code, "seq": seq, "generated_at": now.isoformat(),
                "waiting_total": len(snapshot.waiting), "services": services}


@dataclass(frozen=True)
class _Waiting:
    id: int
    number: str
    state: str


def _people_ahead(snapshot: QueueSnapshot, rules: policy.PolicyRules) -> dict[int, int]:
    """Per waiting ticket: tickets called before it at the open counter where it is nearest the front.

    The same definition as the issue response (:meth:`HallService._people_ahead`), computed for the
    whole queue at once from each counter's call order.
    """
    open_counters = [c.skills for c in snapshot.counters if c.status != CounterStatus.CLOSED]
    all_counters = [c.skills for c in snapshot.counters]
    positions: dict[str, dict[int, int]] = {}
    for skills in all_counters:
        order = policy.call_order(skills, snapshot.waiting, rules)
        positions[skills.counter] = {ticket.ticket_id: index for index, ticket in enumerate(order)}
    result: dict[int, int] = {}
    open_numbers = {c.counter for c in open_counters}
    for ticket in snapshot.waiting:
        eligible = [c for c in all_counters if ticket.ticket_id in positions[c.counter]]
        considered = [c for c in eligible if c.counter in open_numbers] or eligible
        result[ticket.ticket_id] = min((positions[c.counter][ticket.ticket_id] for c in considered), default=0)
    return result


def _shown(live: dict[str, Any]) -> tuple[Any, ...]:
    """What a customer sees of a ticket's live state; an update is pushed only when this changes."""
    estimate = live["estimate"]
    return live["state"], live["people_ahead"], estimate["known"], tuple(estimate["range_min"] or ())


def _summary_key(summary: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        (code, s["waiting"], tuple(s["estimate"]["range_min"] or ()), tuple(s["priority_estimate"]["range_min"] or ()))
        for code, s in sorted(summary["services"].items())
    )
