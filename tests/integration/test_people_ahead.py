"""The database's queue (people ahead, next ticket, eligible count) equals the pure policy's, for random queues."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlmodel import Session

from server.domain import policy
from server.domain.tickets import Action, PriorityClass, TicketState
from server.persistence.queue_queries import count_ahead, count_eligible, held, next_candidates
from server.persistence.tables import QueueTally, TicketRow
from server.services.actor import Actor
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
SERVICES = ["BILL", "PLAN", "SIM", "BROADBAND", "DEVICE", "VIP"]
COUNTERS = [None, "1", "3", "8"]

ticket_specs = st.lists(
    st.tuples(
        st.sampled_from(SERVICES),
        st.sampled_from(list(PriorityClass)),
        st.integers(min_value=0, max_value=180),  # minutes after opening; duplicates make ties
        st.sampled_from(COUNTERS),
        st.booleans(),
        st.one_of(st.none(), st.integers(min_value=-30, max_value=30)),  # held until minutes after "now", if any
    ),
    min_size=1,
    max_size=40,
)


def test_sql_count_matches_policy(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher())
    branch = hall.config.branches[0]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ticket_specs, st.one_of(st.none(), st.integers(min_value=0, max_value=40)))
    def check(specs: list[tuple[str, PriorityClass, int, str | None, bool, int | None]], call_in: int | None) -> None:
        now = clock.now + timedelta(minutes=90)
        queued = [policy.QueuedTicket(i + 1, service, priority, clock.now + timedelta(minutes=minute), target,
                                      transferred or target is not None,
                                      None if held is None else now + timedelta(minutes=held))
                  for i, (service, priority, minute, target, transferred, held) in enumerate(specs)]
        with Session(hall.uow.engine) as session, session.begin():
            session.execute(delete(TicketRow))
            for t in queued:
                session.add(TicketRow(id=t.ticket_id, token=f"t{t.ticket_id}", branch_code=BRANCH,
                                   service_code=t.service_code, issued_service_code=t.service_code,
                                   service_day=t.queued_at.date(), sequence=t.ticket_id, number=f"X{t.ticket_id:03d}",
                                   priority=t.priority.value, state=TicketState.WAITING.value, channel="kiosk",
                                   language="en", issued_at=t.queued_at, queued_at=t.queued_at,
                                   queue_key_us=policy.queue_key_us(t, hall.rules), target_counter=t.target_counter,
                                   transferred=t.transferred, not_before=t.not_before))
        skills = [c.skills for c in branch.counters]
        until = None if call_in is None else now + timedelta(minutes=call_in)  # each one's expected call
        with Session(hall.uow.engine) as session:
            connection = session.connection()
            found = held(connection, BRANCH, now)
            assert {t.ticket_id for t in found} == {t.ticket_id for t in queued if not policy.is_callable(t, now)}
            for me in queued:
                eligible = [c for c in skills if policy.is_eligible(me, c)]
                from_db = count_ahead(connection, BRANCH, me, eligible, hall.rules)
                expected = [policy.count_ahead(me, c, queued, hall.rules) for c in eligible]
                assert from_db == expected, (me, eligible)
                # held tickets whose turn comes after ``me``'s step back: the count the issue and the phone page give
                told = [count - policy.held_behind(me, c, found, hall.rules, until)
                        for count, c in zip(from_db, eligible, strict=True)]
                assert told == [policy.count_ahead(me, c, queued, hall.rules, until) for c in eligible], (me, until)
            for counter in skills:
                candidates = next_candidates(connection, BRANCH, counter, hall.rules, now)
                chosen = policy.choose_next(counter, candidates, hall.rules, now)
                assert chosen == policy.choose_next(counter, queued, hall.rules, now), counter
                assert chosen is None or chosen.not_before is None or chosen.not_before <= now
                assert count_eligible(connection, BRANCH, counter) == sum(
                    1 for t in queued if policy.is_eligible(t, counter))

    check()


MANAGER = Actor("manager", "manager")
STAFF = [Actor("zhang.wei", "staff"), Actor("li.na", "staff"), Actor("wang.fang", "staff")]

commands = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.sampled_from(SERVICES), st.sampled_from(list(PriorityClass))),
        st.tuples(st.just("call"), st.sampled_from(["1", "3", "8"])),
        st.tuples(st.just("transfer"), st.sampled_from(SERVICES), st.sampled_from(COUNTERS)),
        st.tuples(st.just("no_show_and_back"), st.booleans()),
        st.tuples(st.just("return"), st.booleans()),
    ),
    min_size=1,
    max_size=30,
)


def _waiting(hall: HallService) -> list[tuple[policy.QueuedTicket, int]]:
    with Session(hall.uow.engine) as session:
        rows = session.execute(select(TicketRow).where(TicketRow.state == TicketState.WAITING.value)).scalars()
        return [(policy.QueuedTicket(t.id or 0, t.service_code, PriorityClass(t.priority), t.queued_at,
                                     t.target_counter, t.transferred), t.queue_key_us) for t in rows]


def test_commands_keep_the_queue_key_and_call_next_follows_the_policy(database_url: str, tmp_path: Path) -> None:
    """Issue, call, transfer, no-show + "I missed my call", return to queue: the stored key stays the policy's,
    and call-next (which reads only the heads of the index) calls what the policy picks from the whole queue."""
    clock = FakeClock()
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher())
    branch = hall.config.branches[0]
    at_counter = {"1": STAFF[0], "3": STAFF[1], "8": STAFF[2]}
    for number, actor in at_counter.items():
        hall.counters.sign_in(BRANCH, number, actor)
    counter_skills = {c.number: c.skills for c in branch.counters}

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(commands)
    def check(steps: list[tuple[Any, ...]]) -> None:
        for step in steps:
            clock.advance(seconds=40)
            waiting = [q for q, _ in _waiting(hall)]
            if step[0] == "issue":
                issued = hall.tickets.issue(BRANCH, step[1], priority=step[2], actor=MANAGER)
                me = next(q for q, _ in _waiting(hall) if q.ticket_id == issued["id"])
                counters = ([counter_skills[n] for n in at_counter if policy.is_eligible(me, counter_skills[n])]
                            or [c for c in counter_skills.values() if policy.is_eligible(me, c)])
                assert issued["people_ahead"] == min(
                    policy.count_ahead(me, c, [*waiting, me], hall.rules) for c in counters)
            elif step[0] == "call":
                number = step[1]
                expected = policy.choose_next(counter_skills[number], waiting, hall.rules)
                called = hall.counters.call_next(BRANCH, number, at_counter[number])["ticket"]
                assert (called and called["id"]) == (expected and expected.ticket_id)
                if called:
                    hall.tickets.act(BRANCH, called["id"], Action.START, at_counter[number])
                    hall.tickets.act(BRANCH, called["id"], Action.FINISH, at_counter[number])
            elif step[0] == "transfer" and waiting:
                hall.tickets.transfer(BRANCH, waiting[0].ticket_id, MANAGER, to_service=step[1], to_counter=step[2])
            elif step[0] in ("no_show_and_back", "return") and waiting:
                number = "8"
                target = policy.choose_next(counter_skills[number], waiting, hall.rules)
                if target is None:
                    continue
                hall.counters.call_next(BRANCH, number, at_counter[number])
                if step[0] == "return":
                    hall.tickets.act(BRANCH, target.ticket_id, Action.RETURN_TO_QUEUE, at_counter[number])
                else:
                    hall.tickets.act(BRANCH, target.ticket_id, Action.NO_SHOW, at_counter[number])
                    if step[1]:
                        hall.tickets.reactivate(BRANCH, target.ticket_id, MANAGER)
            for queued, stored in _waiting(hall):
                assert stored == policy.queue_key_us(queued, hall.rules), queued
            assert _tally(hall) == _grouped_waiting(hall)

    check()


def _tally(hall: HallService) -> dict[tuple[str, str], int]:
    with Session(hall.uow.engine) as session:
        rows = session.execute(select(QueueTally)).scalars()
        return {(t.branch_code, t.service_code): t.waiting for t in rows if t.waiting}


def _grouped_waiting(hall: HallService) -> dict[tuple[str, str], int]:
    with Session(hall.uow.engine) as session:
        rows = session.execute(select(TicketRow.branch_code, TicketRow.service_code, func.count())
                               .where(TicketRow.state == TicketState.WAITING.value)
                               .group_by(TicketRow.branch_code, TicketRow.service_code)).all()
        return {(branch, service): count for branch, service, count in rows}


def test_start_up_rekeys_the_waiting_tickets_when_head_starts_change(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher())
    for priority in (PriorityClass.NORMAL, PriorityClass.PRIORITY, PriorityClass.VIP):
        hall.tickets.issue(BRANCH, "BILL", priority=priority, actor=MANAGER)
    changed = build_service(database_url, tmp_path, clock, RecordingPublisher(), priority_head_start_min=40)
    assert changed.rules != hall.rules
    waiting = _waiting(changed)
    assert len(waiting) == 3
    for queued, stored in waiting:
        assert stored == policy.queue_key_us(queued, changed.rules)
