"""The database's people-ahead count equals the pure policy's count, for random queues."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import Session

from server.domain import policy
from server.domain.tickets import PriorityClass, TicketState
from server.persistence.queue_queries import count_ahead
from server.persistence.tables import Ticket
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
    ),
    min_size=1,
    max_size=40,
)


def test_sql_count_matches_policy(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher())
    branch = hall.config.branches[0]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ticket_specs)
    def check(specs: list[tuple[str, PriorityClass, int, str | None, bool]]) -> None:
        with Session(hall.uow.engine) as session, session.begin():
            session.execute(delete(Ticket))
            for i, (service, priority, minute, target, transferred) in enumerate(specs):
                at = clock.now + timedelta(minutes=minute)
                session.add(Ticket(id=i + 1, token=f"t{i}", branch_code=BRANCH, service_code=service,
                                   issued_service_code=service, service_day=at.date(), sequence=i + 1,
                                   number=f"X{i:03d}", priority=priority.value, state=TicketState.WAITING.value,
                                   channel="kiosk", language="en", issued_at=at, queued_at=at,
                                   target_counter=target, transferred=transferred or target is not None))
        queued = [policy.QueuedTicket(i + 1, service, priority, clock.now + timedelta(minutes=minute), target,
                                      transferred or target is not None)
                  for i, (service, priority, minute, target, transferred) in enumerate(specs)]
        skills = [c.skills for c in branch.counters]
        with Session(hall.uow.engine) as session:
            connection = session.connection()
            for me in queued:
                eligible = [c for c in skills if policy.is_eligible(me, c)]
                from_db = count_ahead(connection, BRANCH, me, eligible, hall.rules)
                expected = [policy.count_ahead(me, c, queued, hall.rules) for c in eligible]
                assert from_db == expected, (me, eligible)

    check()
