"""The live side of the hall: what the estimator learns, and the derived state pushed to screens.

Committed events are the source of truth (:mod:`server.services.hall`); this module derives from them,
per branch:

* the estimator's :class:`~server.domain.estimation.BranchModel`, fed from the event log (replayed at
  start, then incrementally by sequence number, so a restart or a second server process learns the same);
* wait estimates for every waiting ticket and for a would-be new ticket of each service (kiosk tiles,
  the issue response and the printed ticket);
* "people ahead" for every waiting ticket, from the same call-order policy that call-next uses;
* the recent accuracy of the estimates given at issue, per service, for the manager;
* the branch at a glance for the overview of branches (:mod:`server.domain.overview`): waiting, the worst wait
  against its target, counters, hall alerts, stops of issue, and today's service level and satisfaction, counted
  from the ``called`` and ``rated`` events as they are learnt.

A refresh reads the queue, runs the estimator and hands the results to the :class:`LivePublisher`:
one summary per branch (waiting counts and estimates) and one update per waiting ticket whose people
ahead or shown estimate changed. Refreshes are triggered by commands (at once for calls and pauses,
coalesced for a burst of issues) and run at least once a minute, since waits change as time passes.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlmodel import Session

from server.domain import policy
from server.domain.counter_session import CounterSession
from server.domain.estimation import (
    AccuracyTracker,
    BookedArrival,
    BranchModel,
    CounterState,
    CounterStatus,
    QueueSnapshot,
    WaitEstimate,
    estimate_waits,
)
from server.domain.foresight import LATE_ARRIVAL, BookedSlot, booked_arrivals, booked_first, foreseen
from server.domain.hall import Branch
from server.domain.hall_alerts import (
    AlertRules,
    CounterLoad,
    HallAlert,
    OverdueCase,
    ServiceLoad,
    carry_since,
    hall_alerts,
)
from server.domain.issuing import IssueStop, blocking
from server.domain.numbering import service_day
from server.domain.overview import BranchGlance, DayTally, ServiceWait, counter_counts, worst_wait
from server.domain.remote import awaiting_arrival
from server.domain.roster import CounterChange, DayRoster, Shift, counter_changes
from server.domain.tickets import OFF_QUEUE_KINDS, EventKind, PriorityClass, TicketState, queue_keeping_kinds
from server.offload import Offload
from server.persistence import bookings as stored_bookings
from server.persistence import counter_sessions, hall_reads, issue_stops, live_reads
from server.persistence import roster as stored_roster
from server.persistence.follow_ups import any_overdue
from server.persistence.follow_ups import overdue as overdue_follow_ups
from server.persistence.live_reads import ChangeRow, LearnRow, QueueRow
from server.persistence.raw import utc_datetime
from server.services.access import require_branch
from server.services.branch_leases import AllBranches, Leases
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.live_share import (
    FORMAT,
    LiveShare,
    NoShare,
    estimate_from_wire,
    glance_from_wire,
    poke_message,
    projection_message,
    ticket_figures,
    ticket_figures_message,
)
from server.services.outage_log import OutageLog
from server.services.unit_of_work import UnitOfWork
from server.services.views import callable_from, skills_today
from server.settings import HallConfig

log = logging.getLogger(__name__)

LEARNING_DAYS = 28
NEW_TICKET_CLASSES = (PriorityClass.NORMAL, PriorityClass.PRIORITY)
URGENT_KINDS = frozenset({
    EventKind.CALLED.value, EventKind.COUNTER_PAUSED.value, EventKind.COUNTER_RESUMED.value,
    EventKind.COUNTER_SIGNED_IN.value, EventKind.COUNTER_SIGNED_OUT.value, EventKind.NO_SHOW.value,
    EventKind.CANCELLED.value, EventKind.TRANSFERRED.value, EventKind.RETURNED.value,
    EventKind.REACTIVATED.value, EventKind.NO_SHOW_UNDONE.value,
})
T = TypeVar("T")


class LivePublisher(Protocol):
    """Where derived state goes: the branch's screens, and each waiting customer's own ticket page."""

    def publish_summary(self, branch_code: str, summary: dict[str, Any]) -> None: ...

    def publish_ticket_updates(self, branch_code: str, updates: list[dict[str, Any]]) -> None: ...


class NullLivePublisher:
    def publish_summary(self, branch_code: str, summary: dict[str, Any]) -> None:
        return None

    def publish_ticket_updates(self, branch_code: str, updates: list[dict[str, Any]]) -> None:
        return None


def run_inline(work: Callable[[], Any]) -> Any:
    return work()


class Pacing(Protocol):
    """How a refresh shares the server with requests (see :class:`server.app.EventletPacing`).

    A refresh of a long queue is tens of milliseconds of Python work. Requests come first: the reads
    on the event loop pause between chunks (``cooperate``), and the estimator, in its worker thread, waits
    at each checkpoint while requests are being served (``checkpoint``), up to a bound so that it is never
    starved.
    """

    def cooperate(self) -> None: ...

    def checkpoint(self) -> None: ...


class NoPacing:
    def cooperate(self) -> None:
        return None

    def checkpoint(self) -> None:
        return None


READ_CHUNK = 500  # rows read between two turns for waiting requests
LEARN_CHUNK = 20  # events learnt between two turns (about 50 µs each)
STEP_CHUNK = 100  # tickets converted or diffed between two checkpoints (well under a millisecond)
STALE_AFTER = timedelta(seconds=75)
"""A branch whose freshest results (its holder's, or this process's own) are older than this, although its holder
refreshes at least once a minute, has no holder this process hears from (Redis down, no lease taken yet): this
process then refreshes it itself, without publishing, rather than answer reads without an estimate."""
INLINE_BELOW_S = 0.005
"""A refresh computation that took less CPU than this (seconds) last time runs on the event loop, not in a worker
thread: as long as the longest native wait for the database may hold up the process (``server.green_db``)."""
QUIET_REESTIMATE = timedelta(minutes=10)
"""How long an idle branch's re-estimate may be re-aged (:meth:`LiveHall._reage`) before the estimator runs again:
the wait of a ticket behind a customer served for long, and the hour's rates, move on without any event."""
PLANS_REREAD = timedelta(minutes=10)
"""How long a branch's roster and bookings, once read, serve its refreshes: a change made through this process
drops them at once (:meth:`LiveHall.note_plans_changed`); this bounds how late one made by another process is seen."""
PATCH_FOR = timedelta(seconds=15)
"""How long after the estimator last ran the refreshes after the common commands (issues, calls, what happens at a
counter) may patch its projection (:func:`patch_projection`) instead of running it again: a busy branch's estimates
are re-made from scratch at least this often."""
PATCH_EVENTS = 64
"""More events than this since the last projection (a burst, a bulk change): re-estimate rather than patch."""
CALL_SLACK = timedelta(minutes=1)
"""How far outside its estimate's interval a ticket may be called for a patch still to stand: a call much earlier or
later than the projection expected moves everyone behind it, which only the estimator can tell."""
PATCHABLE_KINDS = frozenset(kind.value for kind in (EventKind.ISSUED, *queue_keeping_kinds(), *OFF_QUEUE_KINDS))
"""The events a refresh may follow by patching the last projection: issues (of tickets that join at the back,
:func:`joins_at_back`), the actions that put no ticket in the queue, and the events of neither tickets nor counters.
Any other (a counter signing in or out or pausing, a transfer, a return to the queue, a check-in, the plans or the
hall changed) re-estimates."""
SUMMARY_HEARTBEAT = timedelta(seconds=50)
"""A summary goes out when what it shows changed or the branch did (a new ``seq``), and at a refresh at least this long
after the last one went out even when nothing did (the live loop refreshes an idle branch every minute): it carries
the branch's ``seq``, so a screen that missed events (a Redis restart lost their pushes) learns of it without waiting
for the next command."""


@dataclass(frozen=True)
class NewTicket:
    """What a ticket of one service and class issued at the last refresh would have had: its estimate, its people
    ahead in the queue, and what each further person ahead adds to its wait (None: no open counter serves it);
    ``booked``: booked customers not arrived yet whom its counter would call first (:func:`booked_first`), which a
    kiosk tile tells besides the people ahead (those the ticket will say it has)."""

    estimate: WaitEstimate
    ahead: int
    per_person: timedelta | None
    booked: int = 0

    def given(self, people_ahead: int | None) -> WaitEstimate:
        """The estimate a ticket issued now with ``people_ahead`` is promised (the tile's without a count): more
        people ahead than at the refresh (tickets issued since, a burst at the kiosks) each lengthen the wait
        (:meth:`WaitEstimate.with_more_ahead`), so that six tickets taken in a row are not all promised the first
        one's wait."""
        if people_ahead is None:
            return self.estimate
        return self.estimate.with_more_ahead(people_ahead - self.ahead, self.per_person)

    def moved_to(self, people_ahead: int) -> NewTicket:
        """This would-be ticket after the queue moved (a patched refresh): ``people_ahead`` now, each person more than
        at the estimate adding ``per_person`` to its wait and each person fewer (called since) taking as much off."""
        if self.per_person is None or not self.estimate.known:
            return replace(self, ahead=people_ahead)
        return replace(self, estimate=self.estimate.shifted(self.per_person * (people_ahead - self.ahead)),
                       ahead=people_ahead)


def new_ticket_key(service_code: str, priority: PriorityClass) -> tuple[str, str]:
    """Which would-be ticket a refresh estimated stands for a ticket of this service and class (VIP and appointment
    tickets get the normal lane's: the refresh estimates the normal and the priority lane only)."""
    return service_code, priority.value if priority in NEW_TICKET_CLASSES else PriorityClass.NORMAL.value


@dataclass(frozen=True)
class HallProjection:
    """One refresh's estimator results for a branch: every waiting ticket's estimate and people ahead, and what a
    ticket of each service and lane issued now would have."""

    waits: dict[int, WaitEstimate]
    ahead: dict[int, int]
    new: dict[tuple[str, str], NewTicket]


def project_hall(snapshot: QueueSnapshot, rules: policy.PolicyRules, model: BranchModel,
                 service_codes: Sequence[str], checkpoint: Callable[[], None] | None = None, *,
                 roster: Sequence[CounterChange] | None = None,
                 booked: Sequence[BookedArrival] | None = None) -> HallProjection:
    """What a refresh computes from the queue it read (pure; the benchmark drives the estimator through this too):
    the estimator over the waiting tickets plus a would-be new ticket per service and lane, and people ahead.

    ``roster``: the counters' rostered openings and closings ahead (None: the day has no roster, and counters are
    projected to open and close when they usually do); ``booked``: the booked customers expected (None: unknown)."""
    kinds = [(code, priority) for code in service_codes for priority in NEW_TICKET_CLASSES]
    now = snapshot.now
    waits = estimate_waits(foreseen(snapshot, model, roster, booked), rules, model, kinds, checkpoint)
    ghosts = [policy.QueuedTicket(ticket_id=-(i + 1), service_code=service, priority=priority, queued_at=now)
              for i, (service, priority) in enumerate(kinds)]
    ahead = _people_ahead(snapshot, rules, checkpoint, ghosts, expected_calls(now, waits))
    per_person = _time_per_person(snapshot, model, now)
    first = _booked_first(snapshot, rules, ghosts, waits, booked or ())
    new = {(service, priority.value): NewTicket(waits[-(i + 1)], ahead[-(i + 1)], per_person.get(service),
                                                first.get(-(i + 1), 0))
           for i, (service, priority) in enumerate(kinds)}
    return HallProjection(waits, ahead, new)


def expected_calls(now: datetime, waits: Mapping[int, WaitEstimate]) -> dict[int, datetime]:
    """When each ticket with a known estimate is expected to be called: the ``until`` of its people ahead
    (:func:`policy.called_before`)."""
    return {ticket_id: now + estimate.expected for ticket_id, estimate in waits.items() if estimate.known}
def age_projection(projection: HallProjection, elapsed: timedelta) -> HallProjection | None:
    """A projection ``elapsed`` later with nothing having happened (no event, the same queue and counters): every
    waiting ticket's estimate that much shorter (:meth:`WaitEstimate.aged`), the people ahead and what a new ticket
    would have unchanged. None when some ticket's expected call has passed: the branch needs a new estimate."""
    waits = {}
    for ticket_id, estimate in projection.waits.items():
        if ticket_id < 0:  # the would-be new tickets' own entries: a ticket issued now is new again
            continue
        aged = estimate.aged(elapsed)
        if aged is None:
            return None
        waits[ticket_id] = aged
    return HallProjection(waits, projection.ahead, projection.new)


@dataclass(frozen=True)
class QueueChanges:
    """What commands changed in the queue since a projection: the tickets that wait now and may not have then
    (``joined``, in the order they joined), and those that no longer wait with when each was called (``left``; None:
    it left without a call, cancelled)."""

    joined: tuple[policy.QueuedTicket, ...] = ()
    left: Mapping[int, datetime | None] = field(default_factory=dict)


def joins_at_back(ticket: policy.QueuedTicket) -> bool:
    """A ticket that takes its place behind every waiting ticket of its service and lane, as the projection's
    would-be new ticket does: of the normal or the priority lane, for no one counter, callable at once."""
    return (ticket.priority in NEW_TICKET_CLASSES and ticket.target_counter is None and ticket.callable_from is None
            and not ticket.awaiting_arrival and not ticket.transferred)


def patch_projection(snapshot: QueueSnapshot, projection: HallProjection, base: Mapping[tuple[str, str], NewTicket],
                     changes: QueueChanges, now: datetime, rules: policy.PolicyRules,
                     checkpoint: Callable[[], None] | None = None) -> tuple[QueueSnapshot, HallProjection] | None:
    """The projection ``projection`` of ``snapshot`` brought to ``now`` after ``changes``, without the estimator (pure).

    Those still waiting keep their expected call (their estimates re-aged, :func:`age_projection`); those who left are
    dropped; each ticket that joined gets what the projection said a new ticket of its service and lane would have,
    given its people ahead (:meth:`NewTicket.given`: what the issue response promised it). People ahead, of every
    ticket and of the would-be new ones, are counted again by the call-order policy (:func:`_people_ahead`); the
    would-be new tickets' estimates come from ``base``, those of the estimator's last run, moved to their people ahead
    now (:meth:`NewTicket.moved_to`: shorter after calls, longer after issues; from ``base``, so that patches in a row
    do not add up their roundings). The counters are the snapshot's: the commands that
    may be patched change none but whom they serve, which only the estimator reads.

    None when a patch would not be what the estimator says closely enough: some ticket's expected call has passed,
    one was called well outside its interval (:data:`CALL_SLACK`), or a ticket joined elsewhere than at the back of
    its lane (:func:`joins_at_back`) or before some ticket already waiting at a counter (more people ahead of it than
    before: a counter preferring its service, the priority lane's head start)."""
    aged = age_projection(projection, now - snapshot.now)
    if aged is None:
        return None
    waiting_ids = {t.ticket_id for t in snapshot.waiting}
    for ticket_id, called_at in changes.left.items():
        if ticket_id not in waiting_ids or called_at is None:
            continue
        estimate = projection.waits.get(ticket_id)
        if estimate is None or not estimate.known:
            return None
        if not (snapshot.now + estimate.low - CALL_SLACK <= called_at <= snapshot.now + estimate.high + CALL_SLACK):
            return None
    joined = [t for t in changes.joined if t.ticket_id not in waiting_ids and t.ticket_id not in changes.left]
    if not all(joins_at_back(t) and new_ticket_key(t.service_code, t.priority) in base for t in joined):
        return None
    waiting = [t for t in snapshot.waiting if t.ticket_id not in changes.left] + joined
    patched = replace(snapshot, now=now, waiting=waiting)
    ghosts = [policy.QueuedTicket(ticket_id=-(i + 1), service_code=service, priority=PriorityClass(lane),
                                  queued_at=now) for i, (service, lane) in enumerate(base)]
    waits = {t.ticket_id: aged.waits[t.ticket_id] for t in waiting if t.ticket_id in aged.waits}
    expected = expected_calls(now, waits)
    for ticket in [*joined, *ghosts]:  # before their estimates: when a would-be new ticket is expected, roughly
        estimate = base[new_ticket_key(ticket.service_code, ticket.priority)].estimate
        if estimate.known:
            expected[ticket.ticket_id] = now + estimate.expected
    overtaken: set[int] = set()
    ahead = _people_ahead(patched, rules, checkpoint, ghosts, expected, {t.ticket_id for t in joined}, overtaken)
    if overtaken:
        return None  # a ticket that joined goes before one already waiting (a preferred service, the priority lane)
    for ticket in joined:  # as the issue response promised it, from the projection's would-be new ticket
        lane = projection.new.get(new_ticket_key(ticket.service_code, ticket.priority))
        waits[ticket.ticket_id] = (lane or base[new_ticket_key(ticket.service_code, ticket.priority)]).given(
            ahead[ticket.ticket_id])
    new = {(ghost.service_code, ghost.priority.value): base[(ghost.service_code, ghost.priority.value)].moved_to(
        ahead[ghost.ticket_id]) for ghost in ghosts}
    return patched, HallProjection(waits, ahead, new)


def _booked_first(snapshot: QueueSnapshot, rules: policy.PolicyRules, tickets: Sequence[policy.QueuedTicket],
                  waits: dict[int, WaitEstimate], booked: Sequence[BookedArrival]) -> dict[int, int]:
    """Per ticket: booked customers arriving before its expected call whom the counter where it is nearest the front
    would call first (the fewest over the counters that count, as :func:`policy.people_ahead` counts the queue)."""
    if not booked:
        return {}
    open_numbers = {c.skills.counter for c in snapshot.counters if c.status != CounterStatus.CLOSED}
    result = {}
    for ticket in tickets:
        estimate = waits.get(ticket.ticket_id)
        if estimate is None or not estimate.known:
            continue
        until = snapshot.now + estimate.expected
        result[ticket.ticket_id] = policy.people_ahead(
            (c.skills.counter in open_numbers, booked_first(booked, ticket, c.skills, rules, until))
            for c in snapshot.counters if policy.is_eligible(ticket, c.skills))
    return result


def given_estimate(data: dict[str, Any] | None) -> WaitEstimate | None:
    """The estimate a ticket was given at issue, as its ISSUED event stored it (None: it was given none). This, not
    the unrounded figure, is what the accuracy record and the interval calibration judge."""
    given = (data or {}).get("estimate")
    if not given or not given.get("known"):
        return None
    return WaitEstimate(expected=timedelta(minutes=given["expected_min"]), low=timedelta(minutes=given["low_min"]),
                        high=timedelta(minutes=given["high_min"]))


class ShownEstimates:
    """The estimates waiting tickets' pages showed, one a minute per ticket, kept until the ticket is called: the
    interval calibration of waiting tickets learns from them (that of new tickets from the estimate given at issue).
    In memory only: after a restart the calibration resumes from the issue estimates the events replay."""

    EVERY = timedelta(minutes=1)

    def __init__(self) -> None:
        self._shown: dict[int, list[tuple[datetime, WaitEstimate]]] = {}

    def note(self, now: datetime, waits: Mapping[int, T], estimate_of: Callable[[T], WaitEstimate] | None = None
             ) -> None:
        """After a refresh: ``waits`` are the estimates now shown to the tickets waiting (the others are dropped);
        ``estimate_of``: how to read one (only those due a sample are read: a long queue's refresh, most of them are
        not)."""
        for ticket_id in [t for t in self._shown if t not in waits]:
            del self._shown[ticket_id]
        for ticket_id, shown in waits.items():
            samples = self._shown.setdefault(ticket_id, [])
            if not samples or now - samples[-1][0] >= self.EVERY:
                estimate = shown if estimate_of is None else estimate_of(shown)
                if isinstance(estimate, WaitEstimate) and estimate.known:
                    samples.append((now, estimate))

    def resolved(self, ticket_id: int, called_at: datetime) -> list[tuple[WaitEstimate, timedelta]]:
        """A ticket was called (or left): its shown estimates with the time from each to the call."""
        return [(estimate, called_at - at) for at, estimate in self._shown.pop(ticket_id, [])]


def estimate_of(live: dict[str, Any]) -> WaitEstimate:
    """A pushed ticket state's estimate, as the page received it (to the tenth of a minute)."""
    return given_estimate(live) or WaitEstimate.unknown()


@dataclass(frozen=True)
class _Plans:
    """A branch's roster days and its booked slots not checked in, as read at ``read_at`` for the hours until
    ``until``: what the projection knows of the future (cheap to keep; read again when changed or stale)."""

    read_at: datetime
    until: datetime
    today: date  # the local date they were read on
    has_roster: bool  # today has rostered work: the roster, not the usual hours, says when counters open
    days: dict[date, list[Shift]]
    slots: tuple[BookedSlot, ...]

    def fresh(self, now: datetime, horizon: timedelta, today: date) -> bool:
        return self.today == today and now + horizon <= self.until and now - self.read_at < PLANS_REREAD

    def roster(self, branch: Branch, now: datetime, horizon: timedelta) -> list[CounterChange] | None:
        return counter_changes(branch, self.days, now, horizon) if self.has_roster else None

    def booked(self, now: datetime) -> list[BookedArrival]:
        return booked_arrivals(self.slots, now)


@dataclass(frozen=True)
class _Projected:
    """A branch's last re-estimate, as of ``seq`` at ``at``: the queue it was made for and what it said; an idle
    refresh re-ages it instead of running the estimator again (:meth:`LiveHall._reage`), a refresh after common
    commands patches it (:meth:`LiveHall._patch`)."""

    at: datetime
    seq: int
    branch: Branch  # the hall model's branch it was made with: a changed model re-estimates
    plans: _Plans
    snapshot: QueueSnapshot
    tickets: list[_Waiting]
    projection: HallProjection
    estimated_at: datetime  # when the estimator last ran (``at`` itself, unless patched since)
    base: dict[tuple[str, str], NewTicket]  # its would-be new tickets, which tickets issued since are given


@dataclass(frozen=True)
class _Derived:
    """What a refresh hands the event loop to keep and publish."""

    new: dict[tuple[str, str], NewTicket]
    current: dict[int, dict[str, Any]]
    updates: list[dict[str, Any]]
    figures: list[list[Any]]  # the updates' figures, as sent to the other processes
    summary: dict[str, Any]
    alerts: list[HallAlert]
    glance: BranchGlance


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
    shown: ShownEstimates = field(default_factory=lambda: ShownEstimates())
    new_ticket: dict[tuple[str, str], NewTicket] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    plans: _Plans | None = None  # the roster and bookings read for the projection, until changed or too old
    plans_changes: int = 0  # changes told of: plans read before the last one are not kept
    version: int = 0
    summary_sent_at: datetime | None = None  # when a summary of the branch was last published (the heartbeat)
    alert_since: dict[str, datetime] = field(default_factory=dict)  # each current hall alert: when it started
    today: DayTally = field(default_factory=DayTally)  # today's calls within target and ratings, for the overview
    glance: BranchGlance | None = None  # the branch at the last refresh, for the overview
    projected: _Projected | None = None  # the last re-estimate, which an idle refresh re-ages (LiveHall._reage)
    work_s: float = 0.0  # CPU seconds of the last refresh's computation (LiveHall.refresh_cost)


@dataclass
class _Shared:
    """A branch's latest results as its holder (another process) sent them (:mod:`server.services.live_share`)."""

    refreshed_at: datetime
    seq: int
    summary: dict[str, Any]
    new_ticket: dict[tuple[str, str], NewTicket]
    glance: BranchGlance | None
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)


class LiveHall(ReadsHallModel):
    """Derived, pushed state of every branch; the one place the server runs the wait estimator.

    With several processes (``leases`` and ``share`` from :mod:`server.live_redis`), a branch's refresh runs and
    publishes only in the process holding its lease; the others read the results it shares (:meth:`receive`),
    whichever of theirs and its own is fresher (:meth:`_fresher`)."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Callable[[], datetime],
                 publisher: LivePublisher | None = None, offload: Offload = run_inline,
                 pacing: Pacing | None = None, *, leases: Leases | None = None, share: LiveShare | None = None,
                 owner: str = "") -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock
        self.publisher = publisher or NullLivePublisher()
        self.offload = offload
        self.pacing = pacing or NoPacing()
        self.rules = self.config.queue.policy
        self._states: dict[str, _BranchState] = {}
        self._dirty: dict[str, bool] = {}  # branch -> urgent?
        self._lock = threading.Lock()
        self._glance_listeners: list[Callable[[str], None]] = []
        self.leases: Leases = leases or AllBranches()
        self.share: LiveShare = share or NoShare()
        self.owner = owner  # this process, as its messages name it
        self._share_outage = OutageLog(log, "sharing the live side's results")  # Redis down: one warning, a count
        self._shared: dict[str, _Shared] = {}
        self.refreshes: dict[str, int] = {}  # refreshes run per branch in this process (/metrics)
        self.estimates_run = 0  # refreshes that ran the estimator, and those that re-aged the last run instead
        self.estimates_reaged = 0
        self.estimates_patched = 0  # refreshes that patched the last projection (LiveHall._patch)

    # --- triggers -----------------------------------------------------------------------------------

    def note_events(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        """Called after a command committed: the branch needs a refresh (soon, or at once for a call)."""
        urgent = any(event.get("kind") in URGENT_KINDS for event in events)
        with self._lock:
            self._dirty[branch_code] = self._dirty.get(branch_code, False) or urgent

    def note_plans_changed(self, branch_code: str) -> None:
        """Called after a commit changed the branch's roster or bookings: read them again and refresh soon (and tell
        the branch's holder, when another process holds it)."""
        if self.share.enabled and not self.leases.holds(branch_code):
            self._send(poke_message(self.owner, branch_code, urgent=False, plans=True))
        state = self._states.get(branch_code)
        if state is not None:
            state.plans, state.plans_changes = None, state.plans_changes + 1
        with self._lock:
            self._dirty[branch_code] = self._dirty.get(branch_code, False)

    def take_dirty(self) -> dict[str, bool]:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        return dirty

    def poke(self, branch_code: str, urgent: bool) -> None:
        """Tell the branch's holder (another process) that a command committed here needs its refresh."""
        self._send(poke_message(self.owner, branch_code, urgent))

    def orphaned(self, branch_code: str) -> bool:
        """No fresh results for a branch this process does not hold: nobody shared any lately (see
        :data:`STALE_AFTER`)."""
        view = self._fresher(branch_code)
        return view is None or view.refreshed_at is None or self.clock() - view.refreshed_at > STALE_AFTER

    # --- what the other processes share ---------------------------------------------------------------

    def receive(self, message: dict[str, Any]) -> None:
        """A message of another process's live side (its holder's results, ticket updates, a poke)."""
        if message.get("format") != FORMAT or message.get("owner") == self.owner:
            return
        code = message.get("branch")
        if not isinstance(code, str) or self.config.branch(code) is None:
            return
        kind = message.get("type")
        if kind == "poke":
            if self.leases.holds(code):
                if message.get("plans"):
                    self.note_plans_changed(code)
                with self._lock:
                    self._dirty[code] = self._dirty.get(code, False) or bool(message.get("urgent"))
        elif self.leases.holds(code):
            return  # a former holder's last words: this process computes the branch now
        elif kind == "projection":
            self._take_projection(code, message)
        elif kind == "ticket_figures":
            branch, seq = self._branch(code), message["seq"]
            self._take_tickets(code, [{**live_ticket(figures, branch), "seq": seq} for figures in message["tickets"]],
                               message.get("gone", []))
        elif kind == "tickets":  # from a holder of the earlier release, during a rolling upgrade
            self._take_tickets(code, message["updates"], message.get("gone", []))

    def _take_tickets(self, code: str, updates: list[dict[str, Any]], gone: list[int]) -> None:
        """The holder's ticket updates: kept for this process's reads, and pushed to the phones connected here."""
        shared = self._shared.get(code)
        if shared is not None:
            for ticket_id in gone:
                shared.tickets.pop(ticket_id, None)
            for update in updates:
                shared.tickets[update["ticket_id"]] = {k: v for k, v in update.items() if k != "seq"}
        self.publisher.publish_ticket_updates(code, updates)

    def _take_projection(self, code: str, message: dict[str, Any]) -> None:
        refreshed_at = datetime.fromisoformat(message["refreshed_at"])
        before = self._shared.get(code)
        if before is not None and refreshed_at < before.refreshed_at:
            return
        new = {(service, lane): NewTicket(estimate_from_wire(estimate), ahead,
                                          None if per_person is None else timedelta(seconds=per_person), booked)
               for service, lane, estimate, ahead, per_person, booked in message["new"]}
        glance = None if message["glance"] is None else glance_from_wire(message["glance"])
        was = self.glance(code)
        self._shared[code] = _Shared(refreshed_at, message["seq"], message["summary"], new, glance,
                                     before.tickets if before is not None else {})
        if glance is not None and (was is None or was.shown() != glance.shown()):
            for listener in self._glance_listeners:
                listener(code)

    def _fresher(self, branch_code: str) -> _BranchState | _Shared | None:
        """This process's own results or those its holder shared, whichever are newer."""
        state = self._states.get(branch_code)
        shared = self._shared.get(branch_code)
        if shared is None:
            return state
        if state is None or state.refreshed_at is None or state.refreshed_at < shared.refreshed_at:
            return shared
        return state

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.share.publish(message)
        except Exception as exc:  # Redis down: the holder notices the change from the branch's seq; readers fall back
            self._share_outage.failed(f"{message['type']} of branch {message['branch']}: {exc}")
        else:
            self._share_outage.succeeded()

    # --- reads for the API and the socket handlers ---------------------------------------------------

    def new_ticket_estimate(self, branch_code: str, service_code: str,
                            priority: PriorityClass = PriorityClass.NORMAL,
                            people_ahead: int | None = None) -> WaitEstimate | None:
        """The estimate for a ticket issued now, from the latest refresh (None before the first one).

        ``people_ahead``: the new ticket's, counted at issue. When more people stand ahead of it than stood ahead
        of a new ticket at the refresh (tickets issued since, a burst at the kiosks), each of them lengthens the
        wait (:meth:`NewTicket.given`)."""
        state = self._fresher(branch_code)
        if state is None:
            return None
        new = state.new_ticket.get(new_ticket_key(service_code, priority))
        return None if new is None else new.given(people_ahead)

    def summary(self, branch_code: str) -> dict[str, Any] | None:
        state = self._fresher(branch_code)
        return None if state is None else state.summary

    def glance(self, branch_code: str) -> BranchGlance | None:
        """The branch as the overview shows it, from the latest refresh (None before the first one)."""
        state = self._fresher(branch_code)
        return None if state is None else state.glance

    def on_glance(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(branch_code)`` after a refresh that changed what the overview shows of the branch."""
        self._glance_listeners.append(listener)

    def ticket_live(self, branch_code: str, ticket_id: int) -> dict[str, Any] | None:
        """People ahead and the estimate of one waiting ticket, as last pushed."""
        state = self._fresher(branch_code)
        return None if state is None else state.tickets.get(ticket_id)

    def position(self, branch_code: str, ticket_id: int) -> int | None:
        """The people ahead a position message counts ("2 ahead", "you're next"), as last pushed; None when not known,
        and while the ticket is held (an appointment before its slot is told from when it is called instead)."""
        live = self.ticket_live(branch_code, ticket_id)
        if live is None or live.get("callable_from") is not None:
            return None
        return int(live["people_ahead"])

    def hall_alerts(self, branch_code: str) -> list[dict[str, Any]]:
        """The branch's current hall alerts as last pushed to its staff room (staff and managers only)."""
        summary = self.summary(branch_code)
        return list((summary or {}).get("private", {}).get("alerts", []))

    def decorate_snapshot(self, snapshot: dict[str, Any], *, staff: bool = False) -> dict[str, Any]:
        """Add the latest estimates to a hall snapshot (per service: a new ticket's wait), and for the staff view
        the hall alerts."""
        summary = self.summary(snapshot["branch"]["code"])
        if staff:
            snapshot["hall_alerts"] = self.hall_alerts(snapshot["branch"]["code"])
        services = (summary or {}).get("services", {})
        for service in snapshot.get("services", []):
            live = services.get(service["code"])
            service["estimate"] = live["estimate"] if live else WaitEstimate.unknown().as_dict()
            service["priority_estimate"] = live["priority_estimate"] if live else WaitEstimate.unknown().as_dict()
            service["ahead"] = live["ahead"] if live else None
            service["priority_ahead"] = live["priority_ahead"] if live else None
            service["booked_ahead"] = live["booked_ahead"] if live else 0
            service["priority_booked_ahead"] = live["priority_booked_ahead"] if live else 0
        snapshot["estimates_at"] = (summary or {}).get("generated_at")
        return snapshot

    def accuracy(self, branch_code: str) -> dict[str, Any]:
        """Recent accuracy of the estimates given at issue (estimate vs. actual wait to the call), per service."""
        branch = self._branch(branch_code)
        state = self._state(branch)
        if not self.leases.holds(branch.code):  # learning runs in the holder's refreshes: catch up with the log here
            with self.uow.read() as session:
                events = self._events_to_learn(session, branch, state)
            # on the request's own thread: no checkpoint naps (they would hold up the event loop itself)
            self._learn(branch, state, events, lambda: None)
        for attempt in range(3):
            try:
                rows = self._accuracy_rows(state)
                break
            except RuntimeError:  # the estimator's thread was recording a new figure meanwhile
                if attempt == 2:
                    raise
        return {"branch": branch_code, "window": state.accuracy.window, "services": rows,
                "interval_scale": round(state.model.issue_calibration.scale, 3)}

    @staticmethod
    def _accuracy_rows(state: _BranchState) -> list[dict[str, Any]]:
        rows = []
        for code in [None, *state.accuracy.services()]:
            figures = state.accuracy.summary(code)
            if figures is None:
                continue
            rows.append({"service": code or "ALL", "count": figures.count, "mae_min": round(figures.mae, 2),
                         "rmse_min": round(figures.rmse, 2), "bias_min": round(figures.bias, 2),
                         "coverage": round(figures.coverage, 3), "under_5_share": round(figures.under_5_share, 3)})
        return rows

    # --- the refresh -------------------------------------------------------------------------------

    def refresh(self, branch_code: str, *, force_publish: bool = False) -> None:
        """Learn from new events, re-estimate every waiting ticket, publish what changed (only the branch's holder
        publishes; another process refreshes a branch only when it hears from no holder, for its own reads). A branch
        where nothing happened since its last re-estimate (the idle refresh of a quiet branch) has that re-estimate
        re-aged instead (:meth:`_reage`), one after a few common commands has it patched (:meth:`_patch`).

        Whichever way it goes, everything the refresh needs is read in one read transaction (one connection from the
        pool, one BEGIN and ROLLBACK: at network scale every round trip costs the event loop), and the computation
        runs once the connection is back in the pool. The way is chosen inside it: each of :meth:`_reage`,
        :meth:`_patch` and :meth:`_reestimate` reads with the open ``session`` and hands back what is left to do."""
        branch = self._branch(branch_code)
        publish = self.leases.holds(branch.code)
        self.refreshes[branch.code] = self.refreshes.get(branch.code, 0) + 1
        state = self._state(branch)
        now = self.clock()
        with self.uow.read() as session:
            finish = None if force_publish else (self._reage(session, branch, state, now, publish)
                                                 or self._patch(session, branch, state, now, publish))
            if finish is None:
                finish = self._reestimate(session, branch, state, now, publish, force_publish)
        finish()

    def _reestimate(self, session: Session, branch: Branch, state: _BranchState, now: datetime, publish: bool,
                    force_publish: bool) -> Callable[[], None]:
        """The full refresh: reads the events to learn, the queue, the overdue cases and (when stale) the plans with
        the refresh's ``session``; the step it returns runs the estimator over them and publishes."""
        events = self._events_to_learn(session, branch, state)
        seq, rows, sessions, stops = self._read_queue(session, branch, now)
        cases = self._overdue_cases(session, branch, now)
        horizon = state.model.settings.horizon
        plans = self._plans(session, branch, state, now)

        def finish() -> None:
            previous = state.tickets

            def compute() -> tuple[_Projected, _Derived]:
                """Everything CPU-bound, off the server's event loop (see ``offload``)."""
                checkpoint = self.pacing.checkpoint
                self._learn(branch, state, events, checkpoint)
                snapshot, tickets = _queue_snapshot(branch, now, rows, sessions, checkpoint)
                projection = project_hall(snapshot, self.rules, state.model, [s.code for s in branch.services],
                                          checkpoint, roster=plans.roster(branch, now, horizon),
                                          booked=plans.booked(now))
                projected = _Projected(now, seq, branch, plans, snapshot, tickets, projection, now, projection.new)
                return projected, self._derive(branch, state, projected, now, stops, cases, previous, force_publish)

            projected, derived = self._compute(state, compute)
            state.projected = projected
            self.estimates_run += 1
            self._publish(branch, state, now, projected.seq, derived, previous, force_publish=force_publish,
                          publish=publish)

        return finish

    def _reage(self, session: Session, branch: Branch, state: _BranchState, now: datetime,
               publish: bool) -> Callable[[], None] | None:
        """The refresh of a branch whose queue, counters and plans did not change since its last re-estimate (no
        event: the same ``seq``) and whose estimates all still lie ahead: that re-estimate, re-aged
        (:func:`age_projection`), stands for a new one, so a quiet branch's minute costs a read of its ``seq``, its
        stops of issue and overdue cases (with the refresh's ``session``), not the queue and the estimator. Every
        :data:`QUIET_REESTIMATE` the estimator runs again anyway (the counters' elapsed service times and the hour's
        rates move on). Returns the step that publishes the re-aged estimate; None: re-estimate."""
        last = state.projected
        if last is None or last.branch is not branch or not last.at <= now < last.estimated_at + QUIET_REESTIMATE:
            return None
        connection = session.connection()
        if (hall_reads.branch_seq(connection, branch.code) != last.seq
                or self._plans(session, branch, state, now) is not last.plans):
            return None
        projection = age_projection(last.projection, now - last.at)
        if projection is None:
            return None
        stops = issue_stops.current(connection, branch.code, now)
        cases = self._overdue_cases(session, branch, now)
        aged = replace(last, snapshot=replace(last.snapshot, now=now), projection=projection)

        def finish() -> None:
            previous = state.tickets
            derived = self._compute(state, lambda: self._derive(branch, state, aged, now, stops, cases, previous,
                                                                False))
            self.estimates_reaged += 1
            self._publish(branch, state, now, last.seq, derived, previous, force_publish=False, publish=publish)

        return finish

    def _compute(self, state: _BranchState, work: Callable[[], T]) -> T:
        """``work`` off the event loop (``offload``), its CPU time kept as the branch's refresh cost; a branch whose
        last computation took under :data:`INLINE_BELOW_S` (most branches of a network: a few tickets waiting) has
        it run here, on the event loop, with no hand-over to a worker thread and back and no pauses for requests,
        which made such a refresh wait some twenty times its work while the hall's requests came first."""

        def timed() -> T:
            started = time.thread_time()
            try:
                return work()
            finally:
                state.work_s = time.thread_time() - started

        if 0.0 < state.work_s < INLINE_BELOW_S:
            return timed()
        return cast(T, self.offload(timed))

    def refresh_cost(self, branch_code: str) -> float:
        """CPU seconds of the branch's last refresh's computation (the estimator's, which grows with the queue), in
        whichever thread ran it: what the live loop bounds a branch's share of the time by. Its wall time would
        also count the waits for requests it lets go first, for the database and for the other branches' work."""
        state = self._states.get(branch_code)
        return 0.0 if state is None else state.work_s

    def _patch(self, session: Session, branch: Branch, state: _BranchState, now: datetime,
               publish: bool) -> Callable[[], None] | None:
        """The refresh after a few common commands (issues, calls, what happens at a counter: :data:`PATCHABLE_KINDS`)
        within :data:`PATCH_FOR` of the estimator's last run: the last projection patched with what they changed
        (:func:`patch_projection`), read from their events and their tickets' rows rather than from the whole queue
        (with the refresh's ``session``). The patch is made while the session is open, since whether it stands
        decides whether the refresh must read the whole queue instead. Returns the step that learns and publishes;
        None (re-estimate): another event, too many, changed plans or hall, or a patch that would not stand."""
        last = state.projected
        if last is None or last.branch is not branch or not last.at <= now < last.estimated_at + PATCH_FOR:
            return None
        if self._plans(session, branch, state, now) is not last.plans:
            return None
        connection = session.connection()
        seq = hall_reads.branch_seq(connection, branch.code)
        if not last.seq < seq <= last.seq + PATCH_EVENTS:
            return None
        rows = self._read_rows(live_reads.changes(connection, branch.code, last.seq, seq), ChangeRow.make)
        stops = issue_stops.current(connection, branch.code, now)
        found = queue_changes(rows)
        if found is None or len(rows) != seq - last.seq:
            return None
        changes, joined = found
        patched = patch_projection(last.snapshot, last.projection, last.base, changes, now, self.rules)
        if patched is None:
            return None
        snapshot, projection = patched
        by_id = {ticket.id: ticket for ticket in last.tickets} | joined
        tickets = [by_id[ticket.ticket_id] for ticket in snapshot.waiting]
        events = self._events_to_learn(session, branch, state)
        cases = self._overdue_cases(session, branch, now)
        projected = replace(last, at=now, seq=seq, snapshot=snapshot, tickets=tickets, projection=projection)

        def finish() -> None:
            previous = state.tickets

            def compute() -> _Derived:
                self._learn(branch, state, events, self.pacing.checkpoint)
                return self._derive(branch, state, projected, now, stops, cases, previous, False)

            derived = self._compute(state, compute)
            state.projected = projected
            self.estimates_patched += 1
            self._publish(branch, state, now, seq, derived, previous, force_publish=False, publish=publish)

        return finish

    def _derive(self, branch: Branch, state: _BranchState, projected: _Projected, now: datetime,
                stops: list[IssueStop], cases: list[OverdueCase], previous: dict[int, dict[str, Any]],
                force_publish: bool) -> _Derived:
        """What a projection means for the screens: each waiting ticket's live state and the updates to push (with
        their figures, as sent to the other processes), the summary, the hall alerts and the overview's glance (pure
        but for the pacing checkpoints)."""
        checkpoint = self.pacing.checkpoint
        snapshot, seq = projected.snapshot, projected.seq
        waits, ahead, new = projected.projection.waits, projected.projection.ahead, projected.projection.new
        unknown = WaitEstimate.unknown()
        current: dict[int, dict[str, Any]] = {}
        updates = []
        changed: list[list[Any]] = []
        for index, (ticket, queued) in enumerate(zip(projected.tickets, snapshot.waiting, strict=True)):
            if index % STEP_CHUNK == STEP_CHUNK - 1:
                checkpoint()
            figures = ticket_figures(ticket.id, ticket.number, ticket.state, ahead.get(ticket.id, 0),
                                     waits.get(ticket.id, unknown),
                                     None if policy.is_callable(queued, now) else queued.callable_from)
            live = live_ticket(figures, branch)  # as every other process builds it from the figures
            current[ticket.id] = live
            before = previous.get(ticket.id)
            if force_publish or before is None or _shown(before) != _shown(live):
                updates.append({**live, "seq": seq})
                changed.append(figures)
        loads = _service_loads(branch, snapshot, waits, new)
        alerts = hall_alerts(now, loads, _counter_loads(branch, snapshot),
                             AlertRules(pause_alert=self.config.queue.pause_alert), cases)
        glance = _glance(branch, now, snapshot, loads, alerts, stops, state.today)
        return _Derived(new, current, updates, changed, self._summary(branch, seq, now, snapshot, new), alerts,
                        glance)

    def _publish(self, branch: Branch, state: _BranchState, now: datetime, seq: int, derived: _Derived,
                 previous: dict[int, dict[str, Any]], *, force_publish: bool, publish: bool) -> None:
        """Keep a refresh's results and, in the branch's holder (``publish``), push what changed and share it with
        the other processes (on the event loop)."""
        new, current, updates, summary, alerts, glance = (derived.new, derived.current, derived.updates,
                                                          derived.summary, derived.alerts, derived.glance)
        glance_changed = state.glance is None or state.glance.shown() != glance.shown()
        state.glance = glance
        state.alert_since = carry_since(state.alert_since, alerts, now)
        summary["private"] = {"alerts": [alert.as_dict(state.alert_since[alert.key]) for alert in alerts]}
        state.new_ticket = new
        state.shown.note(now, current, estimate_of)
        state.refreshed_seq, state.refreshed_at = seq, now
        state.tickets = current
        # a summary goes out when what it shows changed, and after every change to the branch (a new seq) even when
        # it shows the same (a call and an issue of the same service): the screens then know their figures are as of
        # the last event, and a screen behind it learns so (``checkBehind`` in static/hall/live.js)
        changed = force_publish or state.summary is None or state.summary["seq"] != seq or \
            _summary_key(state.summary) != _summary_key(summary)
        shared = self._shared.get(branch.code) if publish else None
        if shared is not None:  # a new holder goes on from the last one's summary versions
            state.version = max(state.version, int(shared.summary.get("version", 0)))
        if changed:
            state.version += 1
        summary["version"] = state.version
        state.summary = summary
        heartbeat = state.summary_sent_at is None or now - state.summary_sent_at >= SUMMARY_HEARTBEAT
        if publish and (changed or heartbeat):
            state.summary_sent_at = now
            self.publisher.publish_summary(branch.code, summary)
        if updates and publish:
            self.publisher.publish_ticket_updates(branch.code, updates)
        if publish and self.share.enabled:
            self._send(projection_message(self.owner, branch.code, now, seq, summary, new, glance))
            gone = [ticket_id for ticket_id in previous if ticket_id not in current]
            if updates or gone:
                self._send(ticket_figures_message(self.owner, branch.code, seq, derived.figures, gone))
        if glance_changed and self._fresher(branch.code) is state:
            for listener in self._glance_listeners:
                listener(branch.code)

    def estimate_counts(self) -> dict[str, int]:
        """How this process's refreshes were made so far (for ``/metrics``): the estimator's full runs, patched
        projections (:meth:`_patch`), re-aged ones (:meth:`_reage`)."""
        return {"estimated": self.estimates_run, "patched": self.estimates_patched, "reaged": self.estimates_reaged}

    def branch_seq(self, branch_code: str) -> int:
        """The branch's ``seq`` now, in a read of its own (a refresh reads it with the rest of what it reads)."""
        with self.uow.read() as session:
            return hall_reads.branch_seq(session.connection(), branch_code)

    def branch_seqs(self) -> dict[str, int]:
        """Every branch's ``seq`` in one read (the live loop's watch for commands committed by other processes)."""
        with self.uow.read_statements() as connection:
            return hall_reads.branch_seqs(connection)

    def refreshed_seq(self, branch_code: str) -> int:
        state = self._states.get(branch_code)
        return -1 if state is None else state.refreshed_seq

    def freshness(self) -> list[tuple[str, int, datetime | None]]:
        """Per branch this process has refreshed: (code, tickets waiting, when its estimates were computed), from
        what is held already (for ``/metrics``)."""
        views = [(code, self._fresher(code)) for code in {*self._states, *self._shared}]
        return [(code, int((view.summary or {}).get("waiting_total", 0)), view.refreshed_at)
                for code, view in views if view is not None]

    # --- internals ----------------------------------------------------------------------------------

    def _branch(self, code: str) -> Branch:
        return require_branch(self.config, code)

    def _plans(self, session: Session, branch: Branch, state: _BranchState, now: datetime) -> _Plans:
        """The branch's roster days and booked slots for the projection's horizon: those read before while fresh,
        else read now with the refresh's ``session`` (two small indexed reads, once in :data:`PLANS_REREAD` or after a
        change). Plans read while a change was told of are used but not kept: the read may predate its commit."""
        horizon = state.model.settings.horizon
        today = branch.schedule.local(now).date()
        plans = state.plans
        if plans is not None and plans.fresh(now, horizon, today):
            return plans
        until = now + horizon + PLANS_REREAD
        changes = state.plans_changes
        first = today - timedelta(days=1)  # a shift of yesterday's may run until midnight
        days = [first + timedelta(days=n) for n in range((branch.schedule.local(until).date() - first).days + 1)]
        shifts = stored_roster.on_days(session.connection(), branch.code, days)
        slots = stored_bookings.awaited_between(session, branch.code, now - LATE_ARRIVAL, until)
        plans = _Plans(read_at=now, until=until, today=today,
                       has_roster=DayRoster(tuple(shifts.get(today, ()))).has_work,
                       days=shifts, slots=tuple(BookedSlot(code, utc_datetime(at), count) for code, at, count in slots))
        if changes == state.plans_changes:  # else a change committed meanwhile: read again at the next refresh
            state.plans = plans
        return plans

    def _overdue_cases(self, session: Session, branch: Branch, now: datetime) -> list[OverdueCase]:
        """The branch's follow-up cases past due, read with the refresh's ``session`` (few; an idle branch refreshes
        every minute, so a case that passes its due time without any event is alerted within about a minute)."""
        if not any_overdue(session.connection(), branch.code, now):  # most branches: one cheap count
            return []
        rows = overdue_follow_ups(session, branch.code, now)
        return [OverdueCase(id=case.id or 0, due_at=case.due_at, ticket_number=ticket.number if ticket else None,
                            owner=self.config.display_name(case.owner_username))
                for case, _rating, ticket in rows if case.due_at is not None]

    def _state(self, branch: Branch) -> _BranchState:
        state = self._states.get(branch.code)
        if state is None:
            model = BranchModel({s.code: s.expected_service for s in branch.services}, branch.timezone)
            state = _BranchState(model=model)
            self._states[branch.code] = state
        return state

    def _events_to_learn(self, session: Session, branch: Branch, state: _BranchState) -> list[LearnRow]:
        """The branch's events after the last one the model saw (all of the last 28 days at start), read with
        ``session`` (the refresh's, or the accuracy request's own)."""
        since = self.clock() - timedelta(days=LEARNING_DAYS) if state.learnt_seq == 0 else None
        cursor = live_reads.events_to_learn(session.connection(), branch.code, state.learnt_seq, since)
        return self._read_rows(cursor, LearnRow._make)

    def _learn(self, branch: Branch, state: _BranchState, rows: list[LearnRow],
               checkpoint: Callable[[], None]) -> None:
        """Feed the model those events (runs in the estimator's thread, before the estimate that uses it)."""
        for index, row in enumerate(rows):
            if index % LEARN_CHUNK == LEARN_CHUNK - 1:
                checkpoint()
            event = _LearntEvent(row.seq, utc_datetime(row.at), row.kind, row.counter_number, row.data)
            ticket = None if row.ticket_id is None else _LearntTicket(
                row.ticket_id, row.issued_service_code, row.service_code, row.priority, bool(row.transferred),
                utc_datetime(row.issued_at), utc_datetime(row.queued_at), utc_datetime(row.called_at),
                utc_datetime(row.finished_at), utc_datetime(row.no_show_at))
            try:
                self._learn_one(branch, state, event, ticket)
            except (TypeError, ValueError):  # an odd historic row must not stop learning
                log.exception("could not learn from event %s of branch %s", event.seq, branch.code)
            state.learnt_seq = event.seq

    def _read_rows(self, cursor: Any, make: Callable[[Any], T]) -> list[T]:
        """All rows of a driver cursor, named by ``make``, in chunks with a turn for waiting requests in between."""
        rows: list[T] = []
        try:
            while chunk := cursor.fetchmany(READ_CHUNK):
                rows += map(make, chunk)
                if len(chunk) == READ_CHUNK:
                    self.pacing.cooperate()
        finally:
            cursor.close()
        return rows

    def _learn_one(self, branch: Branch, state: _BranchState, event: _LearntEvent,
                   ticket: _LearntTicket | None) -> None:
        model = state.model
        kind = event.kind
        if kind in (EventKind.COUNTER_SIGNED_IN.value, EventKind.COUNTER_SIGNED_OUT.value) and event.counter_number:
            model.observe_counter(event.counter_number, kind == EventKind.COUNTER_SIGNED_IN.value, event.at)
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
        if kind == EventKind.RATED.value:
            data = json.loads(event.data) if event.data else {}
            state.today.note_rating(service_day(event.at, branch.timezone), bool(data.get("dissatisfied")))
            return
        if kind == EventKind.ISSUED.value:
            model.observe_issued(ticket.issued_service_code, PriorityClass(ticket.priority), event.at)
            given = given_estimate(json.loads(event.data) if event.data else None)
            if given is not None:
                state.issue_estimates[ticket.id] = given
        elif kind == EventKind.CALLED.value:
            service = branch.service(ticket.issued_service_code)
            state.today.note_call(service_day(event.at, branch.timezone), ticket.id, event.at - ticket.issued_at,
                                  service.target_wait if service is not None else None)
            issued_with = state.issue_estimates.pop(ticket.id, None)
            if issued_with is not None and not ticket.transferred:
                actual = event.at - ticket.issued_at
                state.accuracy.record(ticket.issued_service_code, issued_with, actual)
                model.observe_estimate(issued_with, actual, at_issue=True)
            for estimate, waited in state.shown.resolved(ticket.id, event.at):
                model.observe_estimate(estimate, waited)
        elif kind == EventKind.FINISHED.value and ticket.called_at and ticket.finished_at:
            model.observe_served(ticket.service_code, ticket.queued_at, ticket.called_at, ticket.finished_at)
        elif kind == EventKind.NO_SHOW.value and ticket.called_at and ticket.no_show_at:
            model.observe_no_show(ticket.queued_at, ticket.called_at, ticket.no_show_at)
        elif kind == EventKind.CANCELLED.value:
            state.issue_estimates.pop(ticket.id, None)
            state.shown.resolved(ticket.id, event.at)
            model.observe_cancelled(ticket.queued_at, event.at)

    def _read_queue(self, session: Session, branch: Branch, now: datetime
                    ) -> tuple[int, list[QueueRow], dict[str, CounterSession], list[IssueStop]]:
        """The branch's queue as the driver's rows (it may be long) and its counters, with their seq, and the stops of
        issue in force or to come (a handful of rows: what the overview says of issuing), read with the refresh's
        ``session``."""
        connection = session.connection()
        seq = hall_reads.branch_seq(connection, branch.code)
        rows = self._read_rows(live_reads.queue(connection, branch.code), QueueRow._make)
        sessions = counter_sessions.for_branch(connection, branch.code)
        stops = issue_stops.current(connection, branch.code, now)
        return seq, rows, sessions, stops


    def _summary(self, branch: Branch, seq: int, now: datetime, snapshot: QueueSnapshot,
                 new: dict[tuple[str, str], NewTicket]) -> dict[str, Any]:
        """Per service: how many wait for it, and what a ticket issued now would have (people ahead, which count
        other services' tickets the same counters call first, and the estimate), normal and priority lane."""
        waiting: dict[str, int] = {}
        for ticket in snapshot.waiting:
            waiting[ticket.service_code] = waiting.get(ticket.service_code, 0) + 1
        services = {}
        for service in branch.services:
            normal = new.get((service.code, PriorityClass.NORMAL.value))
            priority = new.get((service.code, PriorityClass.PRIORITY.value))
            unknown = WaitEstimate.unknown()
            services[service.code] = {
                "waiting": waiting.get(service.code, 0),
                "ahead": normal.ahead if normal else None,
                "booked_ahead": normal.booked if normal else 0,
                "estimate": (normal.estimate if normal else unknown).as_dict(),
                "priority_ahead": priority.ahead if priority else None,
                "priority_booked_ahead": priority.booked if priority else 0,
                "priority_estimate": (priority.estimate if priority else unknown).as_dict(),
            }
        return {"branch": branch.code, "seq": seq, "generated_at": now.isoformat(),
                "waiting_total": len(snapshot.waiting), "services": services}


@dataclass(frozen=True, slots=True)
class _LearntEvent:
    seq: int
    at: datetime
    kind: str
    counter_number: str | None
    data: str | None


@dataclass(frozen=True, slots=True)
class _LearntTicket:
    id: int
    issued_service_code: str
    service_code: str
    priority: str
    transferred: bool
    issued_at: datetime
    queued_at: datetime
    called_at: datetime | None
    finished_at: datetime | None
    no_show_at: datetime | None


@dataclass(frozen=True)
class _Waiting:
    id: int
    number: str
    state: str


def _queued(row: QueueRow, priorities: Mapping[str, PriorityClass]) -> policy.QueuedTicket:
    """The call-order policy's view of a waiting ticket's row."""
    return policy.QueuedTicket(row.id, row.service_code, priorities[row.priority], utc_datetime(row.queued_at),
                               row.target_counter, bool(row.transferred), utc_datetime(row.not_before),
                               awaiting_arrival=awaiting_arrival(bool(row.remote), row.arrived_at))


def queue_changes(rows: Sequence[ChangeRow]) -> tuple[QueueChanges, dict[int, _Waiting]] | None:
    """What the events ``rows`` (each with its ticket as it stands now) changed in the queue, with the tickets that
    wait now as a refresh lists them; None when one of them is not of :data:`PATCHABLE_KINDS` (pure)."""
    waiting_state = TicketState.WAITING.value
    priorities = {p.value: p for p in PriorityClass}
    touched: dict[int, QueueRow] = {}
    for row in rows:
        if row.kind not in PATCHABLE_KINDS:
            return None
        if row.ticket is not None:
            touched[row.ticket.id] = row.ticket
    joined = {ticket.id: ticket for ticket in touched.values() if ticket.state == waiting_state}
    left = {ticket.id: utc_datetime(ticket.called_at) for ticket in touched.values() if ticket.state != waiting_state}
    changes = QueueChanges(tuple(_queued(ticket, priorities) for ticket in joined.values()), left)
    return changes, {ticket.id: _Waiting(ticket.id, ticket.number, ticket.state) for ticket in joined.values()}


def _queue_snapshot(branch: Branch, now: datetime, rows: list[QueueRow], sessions: dict[str, CounterSession],
                    checkpoint: Callable[[], None] | None = None) -> tuple[QueueSnapshot, list[_Waiting]]:
    """The estimator's view of the rows :meth:`LiveHall._read_queue` read (pure; runs off the event loop)."""
    waiting_state = TicketState.WAITING.value
    active = {row.counter_number: row for row in rows if row.state != waiting_state}
    priorities = {p.value: p for p in PriorityClass}
    waiting: list[_Waiting] = []
    queued: list[policy.QueuedTicket] = []
    for index, row in enumerate(rows):
        if checkpoint is not None and index % STEP_CHUNK == STEP_CHUNK - 1:
            checkpoint()
        if row.state == waiting_state:
            waiting.append(_Waiting(row.id, row.number, row.state))
            queued.append(_queued(row, priorities))
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
            serving_since=utc_datetime(occupant.called_at) if occupant else None,
            paused_since=paused_since,
        ))
    return QueueSnapshot(now=now, counters=counters, waiting=queued), waiting


def _people_ahead(snapshot: QueueSnapshot, rules: policy.PolicyRules,
                  checkpoint: Callable[[], None] | None = None,
                  new_tickets: Sequence[policy.QueuedTicket] = (),
                  expected: Mapping[int, datetime] | None = None, joined: Collection[int] = (),
                  overtaken: set[int] | None = None) -> dict[int, int]:
    """Per waiting ticket: tickets called before it at the open counter where it is nearest the front.

    The same definition as the issue response (:func:`server.services.queries.people_ahead`, both through
    :func:`policy.people_ahead`), computed for the
    whole queue at once from each counter's call order (sorted by the queue key plus the counter's offsets,
    which is :func:`policy.call_key`, without recomputing the head starts per counter).

    ``new_tickets``: would-be tickets issued now (negative ids), each counted as if it alone joined the queue,
    after every waiting ticket with the same call key (it would be issued last).

    ``expected``: when each ticket is expected to be called (none for a ticket not in it); a held ticket that
    cannot be called by then is not ahead of it (:func:`policy.called_before`, :func:`policy.held_behind`).

    ``joined`` and ``overtaken``: the tickets not among ``joined`` that one of them goes before at a counter where
    the ticket had its fewest people ahead without them are added to ``overtaken`` (such a ticket's expected call moves
    back). Its people ahead, the fewest at any counter, may not show it: at a counter preferring the joined ticket's
    service that one goes first, while the ticket it passed keeps its count at another counter (a paused one, say)
    where its expected call was not.
    """
    pause = checkpoint or (lambda: None)
    queue_keys = {}
    for index, t in enumerate(snapshot.waiting):
        if index % STEP_CHUNK == STEP_CHUNK - 1:
            pause()
        queue_keys[t.ticket_id] = policy.queue_key_us(t, rules)
    expected = expected or {}
    held = {t.ticket_id: t for t in snapshot.waiting if not policy.is_callable(t, snapshot.now)}
    open_numbers = {c.skills.counter for c in snapshot.counters if c.status != CounterStatus.CLOSED}
    codes = {t.service_code for t in snapshot.waiting} | {t.service_code for t in new_tickets}
    positions: dict[str, dict[int, int]] = {}
    passed: dict[str, dict[int, int]] = {}  # per counter: how many of ``joined`` it calls before a ticket, if any
    for counter in snapshot.counters:
        pause()
        skills = counter.skills
        order = policy.counter_order(skills, rules)
        offsets = {(service, priority): policy.microseconds(order.offset(service, priority))
                   for service in codes for priority in PriorityClass}
        services = set(skills.services)
        keyed = []
        for index, t in enumerate(snapshot.waiting):
            if index % STEP_CHUNK == STEP_CHUNK - 1:
                pause()
            if t.target_counter == skills.counter or (t.target_counter is None and t.service_code in services):
                keyed.append((queue_keys[t.ticket_id] + offsets[(t.service_code, t.priority)], t.ticket_id))
        keyed.sort()
        if joined and overtaken is not None:
            passed[skills.counter] = _passed_by(keyed, joined)
        at = {ticket_id: index for index, (_key, ticket_id) in enumerate(keyed)}
        new_keys = {}
        for new in new_tickets:
            if new.service_code in services:
                key = policy.queue_key_us(new, rules) + offsets[(new.service_code, new.priority)]
                new_keys[new.ticket_id] = (key, math.inf)
                at[new.ticket_id] = bisect.bisect_right(keyed, (key, math.inf))
        if held:
            _step_behind_held(at, keyed, new_keys, held, expected, pause)
        positions[skills.counter] = at
    result: dict[int, int] = {}
    for index, ticket in enumerate([*snapshot.waiting, *new_tickets]):
        if index % STEP_CHUNK == STEP_CHUNK - 1:
            pause()
        result[ticket.ticket_id] = policy.people_ahead((number in open_numbers, at[ticket.ticket_id])
                                                       for number, at in positions.items() if ticket.ticket_id in at)
    if overtaken is not None:
        for ticket_id in {ticket_id for by_counter in passed.values() for ticket_id in by_counter}:
            before = [(number, at[ticket_id] - passed[number].get(ticket_id, 0))
                      for number, at in positions.items() if ticket_id in at]
            counted = policy.counted_at((number in open_numbers, (number, count)) for number, count in before)
            fewest = min(count for _, (_, count) in counted)
            if any(count == fewest and passed[number].get(ticket_id, 0) for _, (number, count) in counted):
                overtaken.add(ticket_id)
    return result


def _passed_by(keyed: Sequence[tuple[int, int]], joined: Collection[int]) -> dict[int, int]:
    """Per ticket not in ``joined``: how many of ``joined`` come before it in a counter's call order ``keyed`` (only
    those that some do)."""
    passed: dict[int, int] = {}
    seen = 0
    for _key, ticket_id in keyed:
        if ticket_id in joined:
            seen += 1
        elif seen:
            passed[ticket_id] = seen
    return passed


def _step_behind_held(at: dict[int, int], keyed: list[tuple[int, int]], new_keys: dict[int, tuple[int, float]],
                      held: dict[int, policy.QueuedTicket], expected: Mapping[int, datetime],
                      pause: Callable[[], None]) -> None:
    """At one counter: take off each ticket's position (``at``, from the counter's call order ``keyed``) the held
    tickets before it that cannot be called by its expected call (:func:`policy.called_before`, whose key order is
    ``keyed``'s). Held tickets are few, and a ticket expected after every hold ends (most of a long queue) is
    passed over at once: this costs the refresh next to nothing."""
    held_keys = [(entry, held[entry[1]]) for entry in keyed if entry[1] in held]
    if not held_keys:
        return
    last_hold = max(ticket.callable_from for _key, ticket in held_keys if ticket.callable_from is not None)
    for index, (mine, ticket_id) in enumerate([*((key, key[1]) for key in keyed),
                                                    *((key, ticket_id) for ticket_id, key in new_keys.items())]):
        if index % STEP_CHUNK == STEP_CHUNK - 1:
            pause()
        until = expected.get(ticket_id)
        if until is not None and ticket_id in held:
            until = policy.turn(held[ticket_id], until)
        if until is None or until >= last_hold:
            continue
        for key, ticket in held_keys:  # in call order: only those before ``mine`` may be counted ahead of it
            if key >= mine:
                break
            if not policy.is_callable(ticket, until):
                at[ticket_id] -= 1


def _time_per_person(snapshot: QueueSnapshot, model: BranchModel, now: datetime) -> dict[str, timedelta]:
    """Per service: what one more person ahead adds to a new ticket's wait, roughly: the service's mean counter
    time this hour, shared by the counters open (or paused) that serve it. Services nobody serves are left out."""
    serving: dict[str, int] = {}
    for counter in snapshot.counters:
        if counter.status is not CounterStatus.CLOSED:
            for code in counter.skills.services:
                serving[code] = serving.get(code, 0) + 1
    hour = model.local_hour(now)
    return {code: model.service_times.mean(code, hour) / count for code, count in serving.items()}


def live_ticket(figures: list[Any], branch: Branch) -> dict[str, Any]:
    """What a waiting ticket's phone is pushed (people ahead, the estimate with its texts, the hold), from its
    :func:`server.services.live_share.ticket_figures`: built so by the holder and by every process it shares them
    with, so that a phone gets the same update whichever process it is connected to."""
    ticket_id, number, state, people_ahead, estimate, held_until = figures
    return {"ticket_id": ticket_id, "number": number, "state": state, "people_ahead": people_ahead,
            "estimate": estimate_from_wire(estimate).as_dict(),
            **callable_from(None if held_until is None else datetime.fromisoformat(held_until), branch)}


def _shown(live: dict[str, Any]) -> tuple[Any, ...]:
    """What a customer sees of a ticket's live state; an update is pushed only when this changes."""
    estimate = live["estimate"]
    return (live["state"], live["people_ahead"], estimate["known"], tuple(estimate["range_min"] or ()),
            estimate["reason"], live.get("callable_from"))


def _summary_key(summary: dict[str, Any]) -> tuple[Any, ...]:
    services = tuple(
        (code, s["waiting"], s["ahead"], s["priority_ahead"], s["booked_ahead"], s["priority_booked_ahead"],
         tuple(s["estimate"]["range_min"] or ()),
         s["estimate"]["reason"], tuple(s["priority_estimate"]["range_min"] or ()), s["priority_estimate"]["reason"])
        for code, s in sorted(summary["services"].items())
    )
    alerts = json.dumps(summary.get("private", {}).get("alerts", []), sort_keys=True)
    return services, alerts


def _service_loads(branch: Branch, snapshot: QueueSnapshot, waits: dict[int, WaitEstimate],
                   new: dict[tuple[str, str], NewTicket]) -> list[ServiceLoad]:
    """Per service, what the hall alerts are decided on: the longest wait and its estimate, a new ticket's."""
    waiting: dict[str, int] = {}
    oldest: dict[str, policy.QueuedTicket] = {}
    for ticket in snapshot.waiting:
        code = ticket.service_code
        waiting[code] = waiting.get(code, 0) + 1
        if code not in oldest or ticket.queued_at < oldest[code].queued_at:
            oldest[code] = ticket
    unknown = WaitEstimate.unknown()
    loads = []
    for service in branch.services:
        first = oldest.get(service.code)
        normal = new.get((service.code, PriorityClass.NORMAL.value))
        loads.append(ServiceLoad(
            code=service.code, name=service.name, target=service.target_wait, waiting=waiting.get(service.code, 0),
            longest_wait=max(timedelta(0), snapshot.now - first.queued_at) if first else timedelta(0),
            longest_remaining=waits.get(first.ticket_id, unknown) if first else unknown,
            new_ticket=normal.estimate if normal else unknown))
    return loads


def _counter_loads(branch: Branch, snapshot: QueueSnapshot) -> list[CounterLoad]:
    """Per counter (the snapshot lists them in the branch's order): its services, configured and today's, its state."""
    return [CounterLoad(number=counter.number, name=counter.name, status=state.status, configured=counter.services,
                        today=tuple(state.skills.services), paused_since=state.paused_since)
            for counter, state in zip(branch.counters, snapshot.counters, strict=True)]


def _glance(branch: Branch, now: datetime, snapshot: QueueSnapshot, loads: Sequence[ServiceLoad],
            alerts: Sequence[HallAlert], stops: Sequence[IssueStop], today: DayTally) -> BranchGlance:
    """The branch as the overview shows it, from what this refresh computed anyway (pure)."""
    stopped = tuple(s.code for s in branch.services if blocking(list(stops), s.code, now) is not None)
    day = service_day(now, branch.timezone)
    return BranchGlance(
        at=now, waiting=len(snapshot.waiting),
        worst=worst_wait(ServiceWait(load.code, load.name, load.waiting, load.longest_wait, load.target,
                                     load.new_ticket) for load in loads),
        counters=counter_counts(counter.status for counter in snapshot.counters), alerts=tuple(alerts),
        open_now=branch.schedule.status(now).open, stopped_services=stopped,
        stopped_all=any(s.service_code is None and s.active_at(now) for s in stops),
        service_level=today.service_level(day), satisfaction=today.satisfaction(day))
