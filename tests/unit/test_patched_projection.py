"""Patching a projection after common commands (issues, calls): what a refresh publishes instead of running the
estimator again (:func:`server.services.live.patch_projection`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.domain import policy
from server.domain.estimation import BranchModel, CounterState, CounterStatus, QueueSnapshot
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket
from server.domain.tickets import OFF_QUEUE_KINDS, EventKind, PriorityClass, queue_keeping_kinds
from server.persistence.live_reads import ChangeRow, QueueRow
from server.services.live import (
    CALL_SLACK,
    PATCHABLE_KINDS,
    URGENT_KINDS,
    QueueChanges,
    joins_at_back,
    new_ticket_key,
    patch_projection,
    project_hall,
    queue_changes,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=TZ)
RULES = PolicyRules()
SERVICES = ("BILL", "PLAN", "SIM")
MODEL = BranchModel({code: timedelta(minutes=m) for code, m in zip(SERVICES, (4, 7, 5), strict=True)}, TZ)
COUNTERS = [
    CounterState(CounterSkills("1", ("BILL", "PLAN")), CounterStatus.OPEN, "BILL", NOW - timedelta(minutes=2)),
    CounterState(CounterSkills("2", ("PLAN", "SIM")), CounterStatus.OPEN),
    CounterState(CounterSkills("3", ("SIM", "BILL")), CounterStatus.PAUSED, paused_since=NOW - timedelta(minutes=1)),
    CounterState(CounterSkills("4", ("BILL",)), CounterStatus.CLOSED),
]
LANES = (PriorityClass.NORMAL, PriorityClass.PRIORITY)


def test_the_patchable_events_are_those_that_put_no_ticket_in_the_queue() -> None:
    assert set(queue_keeping_kinds()) == {
        EventKind.CALLED, EventKind.RECALLED, EventKind.SERVING, EventKind.FINISHED, EventKind.NO_SHOW,
        EventKind.PARKED, EventKind.RESUMED, EventKind.CANCELLED, EventKind.EXPIRED, EventKind.NO_SHOW_UNDONE}
    for kind in (EventKind.RETURNED, EventKind.TRANSFERRED, EventKind.REACTIVATED, EventKind.CHECKED_IN,
                 EventKind.HELD_ASIDE, EventKind.COUNTER_SIGNED_IN, EventKind.COUNTER_SIGNED_OUT,
                 EventKind.COUNTER_PAUSED, EventKind.COUNTER_RESUMED, EventKind.HALL_CHANGED, EventKind.DAY_ENDED,
                 EventKind.BOOKING_CHECKED_IN, EventKind.ISSUE_STOPPED):
        assert kind.value not in PATCHABLE_KINDS
    assert {EventKind.ISSUED.value, EventKind.PRINTED.value, EventKind.RATED.value} <= PATCHABLE_KINDS
    assert not set(OFF_QUEUE_KINDS) & set(queue_keeping_kinds())
    # the counters' own events always re-estimate, however urgent
    assert {k for k in URGENT_KINDS if k.startswith("counter_")}.isdisjoint(PATCHABLE_KINDS)


def test_only_a_plain_ticket_joins_at_the_back() -> None:
    plain = QueuedTicket(1, "BILL", PriorityClass.NORMAL, NOW)
    assert joins_at_back(plain) and joins_at_back(QueuedTicket(2, "BILL", PriorityClass.PRIORITY, NOW))
    for odd in (QueuedTicket(3, "BILL", PriorityClass.VIP, NOW),
                QueuedTicket(4, "BILL", PriorityClass.APPOINTMENT, NOW),
                QueuedTicket(5, "BILL", PriorityClass.NORMAL, NOW, target_counter="2"),
                QueuedTicket(6, "BILL", PriorityClass.NORMAL, NOW, transferred=True),
                QueuedTicket(7, "BILL", PriorityClass.NORMAL, NOW, not_before=NOW + timedelta(minutes=5)),
                QueuedTicket(8, "BILL", PriorityClass.NORMAL, NOW, awaiting_arrival=True)):
        assert not joins_at_back(odd)


@st.composite
def queues(draw: st.DrawFn) -> QueueSnapshot:
    count = draw(st.integers(min_value=0, max_value=25))
    waiting = [QueuedTicket(i + 1, draw(st.sampled_from(SERVICES)), draw(st.sampled_from(LANES)),
                            NOW - timedelta(seconds=draw(st.integers(min_value=0, max_value=3600))))
               for i in range(count)]
    return QueueSnapshot(NOW, COUNTERS, sorted(waiting, key=lambda t: (t.queued_at, t.ticket_id)))


def projected(snapshot: QueueSnapshot):  # type: ignore[no-untyped-def]
    return project_hall(snapshot, RULES, MODEL, SERVICES)


def policy_count(snapshot: QueueSnapshot, me: QueuedTicket) -> int:
    """People ahead of ``me`` by the pure reference count (no held tickets here)."""
    others = [t for t in snapshot.waiting if t.ticket_id != me.ticket_id]
    counted = policy.counted_at((c.status is not CounterStatus.CLOSED, c.skills)
                                for c in snapshot.counters if policy.is_eligible(me, c.skills))
    return policy.people_ahead((is_open, policy.count_ahead(me, skills, others, RULES)) for is_open, skills in counted)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queues(), st.data())
def test_a_patched_projection_keeps_every_waiting_ticket_once_and_counts_as_the_policy(
        snapshot: QueueSnapshot, data: st.DataObject) -> None:
    projection = projected(snapshot)
    elapsed = timedelta(seconds=data.draw(st.integers(min_value=0, max_value=20)))
    now = NOW + elapsed
    ids = [t.ticket_id for t in snapshot.waiting]
    leaving = data.draw(st.lists(st.sampled_from(ids), unique=True) if ids else st.just([]))
    left = {}
    for ticket_id in leaving:
        estimate = projection.waits[ticket_id]
        # called on time (the middle of its interval), or cancelled
        left[ticket_id] = data.draw(st.sampled_from([NOW + (estimate.low + estimate.high) / 2, None]))
    joined = tuple(QueuedTicket(1000 + i, data.draw(st.sampled_from(SERVICES)), data.draw(st.sampled_from(LANES)),
                                now) for i in range(data.draw(st.integers(min_value=0, max_value=5))))
    patched = patch_projection(snapshot, projection, projection.new, QueueChanges(joined, left), now, RULES)
    if patched is None:  # only when some ticket's expected call passed meanwhile, or one that joined overtook
        assert any(e.known and e.expected <= elapsed for t, e in projection.waits.items() if t > 0) or \
            goes_before_one_waiting(joined, [t for t in snapshot.waiting if t.ticket_id not in left])
        return
    after, result = patched
    expected_ids = [t for t in ids if t not in left] + [t.ticket_id for t in joined]
    assert [t.ticket_id for t in after.waiting] == expected_ids  # every waiting ticket exactly once
    assert after.now == now and list(after.counters) == list(snapshot.counters)
    assert set(result.waits) == set(expected_ids)
    for ticket in after.waiting:
        estimate = result.waits[ticket.ticket_id]
        assert timedelta(0) <= estimate.low <= estimate.high and estimate.expected >= timedelta(0)
        assert result.ahead[ticket.ticket_id] == policy_count(after, ticket)
        if ticket.ticket_id in ids:  # those already there keep their expected call
            assert estimate == projection.waits[ticket.ticket_id].aged(elapsed)
        else:  # a new one is given what the issue response promised for its people ahead
            lane = projection.new[new_ticket_key(ticket.service_code, ticket.priority)]
            assert estimate == lane.given(result.ahead[ticket.ticket_id])
    for (service, lane), new in result.new.items():
        ghost = QueuedTicket(10**9, service, PriorityClass(lane), now)  # issued last: behind a twin of its key
        assert new.ahead == policy_count(replace_waiting(after, [*after.waiting, ghost]), ghost)
        was = projection.new[(service, lane)]
        assert new.ahead >= 0 and new.estimate == was.moved_to(new.ahead).estimate
        if was.estimate.known and was.per_person is not None:  # one person fewer ahead: one counter time sooner
            assert new.estimate.expected == max(timedelta(0), was.estimate.expected
                                                + was.per_person * (new.ahead - was.ahead))


def goes_before_one_waiting(joined: Sequence[QueuedTicket], waiting: Sequence[QueuedTicket]) -> bool:
    """Whether some counter that is not closed would call one of ``joined`` before one of ``waiting`` (the patch is
    refused when that happens where the one waiting had its fewest people ahead; this is the looser reference)."""
    return any(policy.call_key(new, counter.skills, RULES) < policy.call_key(ticket, counter.skills, RULES)
               for counter in COUNTERS if counter.status is not CounterStatus.CLOSED
               for new in joined if policy.is_eligible(new, counter.skills)
               for ticket in waiting if policy.is_eligible(ticket, counter.skills))


def replace_waiting(snapshot: QueueSnapshot, waiting: list[QueuedTicket]) -> QueueSnapshot:
    return QueueSnapshot(snapshot.now, snapshot.counters, waiting)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queues(), st.lists(st.sampled_from(SERVICES), min_size=1, max_size=4))
def test_after_issues_alone_the_tickets_there_keep_what_a_full_re_estimate_gives_them(
        snapshot: QueueSnapshot, services: list[str]) -> None:
    """New normal tickets join at the back: a full re-estimate of the longer queue at the same moment gives those
    already waiting what the patch keeps, within a minute and what the newcomers' counter time may add where one of
    them is called before them at some counter (the estimator also still expects the arrivals they stood for)."""
    projection = projected(snapshot)
    joined = tuple(QueuedTicket(1000 + i, service, PriorityClass.NORMAL, NOW) for i, service in enumerate(services))
    patched = patch_projection(snapshot, projection, projection.new, QueueChanges(joined, {}), NOW, RULES)
    full = projected(QueueSnapshot(NOW, COUNTERS, [*snapshot.waiting, *joined]))
    if patched is None:  # one of them goes before a ticket already there, at a counter preferring its service
        assert goes_before_one_waiting(joined, snapshot.waiting)
        return
    _after, result = patched
    burst = sum((projection.new[(t.service_code, "normal")].per_person or timedelta(0) for t in joined), timedelta(0))
    for ticket in snapshot.waiting:
        kept, fresh = result.waits[ticket.ticket_id], full.waits[ticket.ticket_id]
        assert kept.known == fresh.known
        if kept.known:
            assert abs(kept.expected - fresh.expected) <= timedelta(minutes=1) + burst + fresh.expected * 0.1
    assert result.ahead == {t: a for t, a in full.ahead.items() if t > 0} | {
        t: a for t, a in result.ahead.items() if t < 0}


def test_a_call_far_from_its_estimate_or_an_odd_ticket_re_estimates() -> None:
    waiting = [QueuedTicket(i, "BILL", PriorityClass.NORMAL, NOW - timedelta(minutes=30 - i)) for i in range(1, 8)]
    snapshot = QueueSnapshot(NOW, COUNTERS, waiting)
    projection = projected(snapshot)
    last = projection.waits[7]
    assert last.known and last.high > timedelta(minutes=2)
    on_time = NOW + last.expected
    assert patch_projection(snapshot, projection, projection.new, QueueChanges((), {7: on_time}), NOW, RULES)
    early = NOW + last.low - CALL_SLACK - timedelta(seconds=1)
    late = NOW + last.high + CALL_SLACK + timedelta(seconds=1)
    for called_at in (early, late):
        assert patch_projection(snapshot, projection, projection.new, QueueChanges((), {7: called_at}), NOW,
                                RULES) is None
    vip = QueuedTicket(100, "BILL", PriorityClass.VIP, NOW)
    assert patch_projection(snapshot, projection, projection.new, QueueChanges((vip,), {}), NOW, RULES) is None
    # past the first ticket's expected call: the estimator must say what now
    assert patch_projection(snapshot, projection, projection.new, QueueChanges(), NOW + projection.waits[1].expected,
                            RULES) is None


def test_a_patch_applied_twice_is_applied_once() -> None:
    """The queue a full refresh read may already hold a change whose event it had not counted (its seq read first):
    patching it in again leaves the ticket where it is."""
    waiting = [QueuedTicket(i, "SIM", PriorityClass.NORMAL, NOW - timedelta(minutes=10 - i)) for i in range(1, 5)]
    snapshot = QueueSnapshot(NOW, COUNTERS, waiting)
    projection = projected(snapshot)
    again = QueueChanges((waiting[-1],), {})
    patched = patch_projection(snapshot, projection, projection.new, again, NOW, RULES)
    assert patched is not None
    assert [t.ticket_id for t in patched[0].waiting] == [1, 2, 3, 4]
    assert patched[1].waits[4] == projection.waits[4]


def test_the_changes_follow_each_ticket_as_it_stands_now() -> None:
    """From the events since a projection, each with its ticket's row now: who joined, who left and when called."""
    def row(ticket_id: int, state: str, called_at: datetime | None = None, priority: str = "normal") -> QueueRow:
        return QueueRow(ticket_id, f"A{ticket_id:03}", state, "BILL", priority, NOW, None, False, None, called_at,
                        None)

    driver_time = datetime(2025, 3, 3, 2, 0, 5)  # as the driver gives it: naive UTC
    issued, called = row(7, "waiting"), row(3, "serving", driver_time)
    rows = [ChangeRow(10, NOW, "issued", issued), ChangeRow(11, NOW, "printed", issued),
            ChangeRow(12, NOW, "called", called), ChangeRow(13, NOW, "serving", called),
            ChangeRow(14, NOW, "cancelled", row(4, "cancelled")), ChangeRow(15, NOW, "rated", None)]
    found = queue_changes(rows)
    assert found is not None
    changes, tickets = found
    assert [t.ticket_id for t in changes.joined] == [7] and changes.joined[0].priority is PriorityClass.NORMAL
    assert tickets[7].number == "A007" and tickets[7].state == "waiting"
    assert changes.left == {3: NOW + timedelta(seconds=5), 4: None} and changes.left[3].utcoffset() == timedelta(0)
    for kind in ("transferred", "returned", "counter_paused", "checked_in", "hall_changed"):
        assert queue_changes([*rows, ChangeRow(16, NOW, kind, None)]) is None
