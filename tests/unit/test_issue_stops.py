"""When a service issues again after stops by hand (:func:`server.domain.issuing.resumes_at`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.domain.hall import Text
from server.domain.issuing import IssueStop, blocking, resumes_at

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


def stop(service: str | None, starts_min: int, ends_min: int | None, resumed_min: int | None = None) -> IssueStop:
    return IssueStop(branch_code="B", service_code=service, starts_at=NOW + timedelta(minutes=starts_min),
                     ends_at=None if ends_min is None else NOW + timedelta(minutes=ends_min), reason_code="busy",
                     reason=Text("排队人数较多", "busy"), created_by=None, created_at=NOW,
                     resumed_at=None if resumed_min is None else NOW + timedelta(minutes=resumed_min))


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_the_end_of_the_stop_in_force_and_of_those_that_follow_without_a_gap() -> None:
    assert resumes_at([], "BILL", NOW) is None
    assert resumes_at([stop("BILL", -10, 30)], "BILL", NOW) == at(30)
    assert resumes_at([stop("BILL", -10, 30)], "PLAN", NOW) is None  # another service's stop
    assert resumes_at([stop("BILL", 10, 30)], "BILL", NOW) is None  # not yet in force
    assert resumes_at([stop(None, -10, 30), stop("BILL", 20, 60)], "BILL", NOW) == at(60)  # overlapping: 60
    assert resumes_at([stop(None, -10, 30), stop("BILL", 30, 60)], "BILL", NOW) == at(60)  # back to back
    assert resumes_at([stop(None, -10, 30), stop("BILL", 31, 60)], "BILL", NOW) == at(30)  # a minute's gap
    assert resumes_at([stop("BILL", -10, 30), stop(None, 20, None)], "BILL", NOW) is None  # then until resumed
    assert resumes_at([stop("BILL", -10, 30, resumed_min=-1)], "BILL", NOW) is None  # resumed by hand


STOPS = st.lists(st.builds(stop, st.sampled_from([None, "BILL", "PLAN"]), st.integers(-60, 120),
                           st.one_of(st.none(), st.integers(-30, 240))).filter(
    lambda s: s.ends_at is None or s.ends_at > s.starts_at), max_size=6)


@given(STOPS)
def test_refused_until_then_and_issued_from_then(stops: list[IssueStop]) -> None:
    resumes = resumes_at(stops, "BILL", NOW)
    if blocking(stops, "BILL", NOW) is None:
        assert resumes is None
        return
    instants = sorted({NOW, *(s.starts_at for s in stops), *(s.ends_at for s in stops if s.ends_at)})
    if resumes is None:  # refused from now on, as far as the stops reach
        assert all(blocking(stops, "BILL", t) is not None for t in instants if t >= NOW)
        return
    assert resumes > NOW and blocking(stops, "BILL", resumes) is None
    assert all(blocking(stops, "BILL", t) is not None for t in instants if NOW <= t < resumes)
