"""The overview's pure parts: today's tally of calls and ratings, the worst wait, and the order worst first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.domain.estimation import CounterStatus, WaitEstimate
from server.domain.hall_alerts import HallAlert, HallAlertKind, alert_key
from server.domain.overview import (
    BranchGlance,
    DayTally,
    ServiceWait,
    counter_counts,
    rank_key,
    worst_first,
    worst_wait,
)
from server.domain.values import Text

AT = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
DAY = date(2026, 11, 24)


def service(code: str, waiting: int, waited_min: float, target_min: float) -> ServiceWait:
    return ServiceWait(code, Text(code, code), waiting, timedelta(minutes=waited_min), timedelta(minutes=target_min),
                       WaitEstimate.unknown())


def alert(kind: HallAlertKind, subject: str = "BILL") -> HallAlert:
    return HallAlert(alert_key(kind, subject), kind, Text("告警", "alert"), Text("建议", "do"), service=subject)


def glance(*, waiting: int = 0, worst: ServiceWait | None = None, alerts: tuple[HallAlert, ...] = ()) -> BranchGlance:
    return BranchGlance(at=AT, waiting=waiting, worst=worst, counters=counter_counts([CounterStatus.OPEN]),
                        alerts=alerts, open_now=True, stopped_services=(), stopped_all=False, service_level=None,
                        satisfaction=None)


def test_a_recall_counts_once_and_a_new_day_starts_again() -> None:
    tally = DayTally()
    tally.note_call(DAY, 1, timedelta(minutes=4), timedelta(minutes=10))
    tally.note_call(DAY, 1, timedelta(minutes=40), timedelta(minutes=10))  # called again: not a second call
    tally.note_call(DAY, 2, timedelta(minutes=12), timedelta(minutes=10))
    tally.note_rating(DAY, dissatisfied=False)
    assert tally.service_level(DAY) == 0.5 and tally.satisfaction(DAY) == 1.0
    assert tally.service_level(DAY + timedelta(days=1)) is None  # yesterday's figures are not today's
    tally.note_rating(DAY + timedelta(days=1), dissatisfied=True)
    assert tally.satisfaction(DAY + timedelta(days=1)) == 0.0 and tally.called == 0


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 60)), max_size=60),
       st.lists(st.booleans(), max_size=30))
def test_the_tally_is_the_share_of_first_calls_within_target_and_of_content_ratings(
        calls: list[tuple[int, int]], ratings: list[bool]) -> None:
    tally = DayTally()
    first: dict[int, int] = {}
    for ticket, wait in calls:
        tally.note_call(DAY, ticket, timedelta(minutes=wait), timedelta(minutes=15))
        first.setdefault(ticket, wait)
    for dissatisfied in ratings:
        tally.note_rating(DAY, dissatisfied)
    within = sum(1 for wait in first.values() if wait <= 15)
    assert tally.service_level(DAY) == (round(within / len(first), 4) if first else None)
    assert tally.satisfaction(DAY) == (round(ratings.count(False) / len(ratings), 4) if ratings else None)


def test_the_worst_wait_is_the_one_furthest_along_its_target() -> None:
    vip = service("VIP", 1, 4, 5)  # 80% of a short target
    bill = service("BILL", 6, 7, 10)  # 70%
    assert worst_wait([bill, vip, service("PLAN", 0, 0, 15)]) == vip
    assert worst_wait([service("PLAN", 0, 0, 15)]) is None


def test_worst_first_alerts_then_wait_against_target_then_waiting_and_unknown_last() -> None:
    glances = {
        "CALM": glance(waiting=30, worst=service("BILL", 30, 5, 10)),
        "LATE": glance(waiting=2, worst=service("BILL", 2, 9, 10)),
        "WARN": glance(waiting=1, worst=service("BILL", 1, 1, 10),
                       alerts=(alert(HallAlertKind.WAIT_WILL_PASS_TARGET),)),
        "CRIT": glance(waiting=1, worst=service("BILL", 1, 11, 10), alerts=(alert(HallAlertKind.WAIT_OVER_TARGET),)),
        "TWO": glance(waiting=1, worst=service("BILL", 1, 11, 10), alerts=(
            alert(HallAlertKind.WAIT_OVER_TARGET), alert(HallAlertKind.UNSERVED_WAITING, "VIP"))),
        "QUIET": glance(),
    }
    ordered = worst_first([*glances.items(), ("NEW", None)])
    assert ordered == ["TWO", "CRIT", "WARN", "LATE", "CALM", "QUIET", "NEW"]


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 40), st.integers(0, 50)),
                min_size=1, max_size=12))
def test_a_branch_with_a_critical_alert_is_never_below_one_without(rows: list[tuple[int, int, int, int]]) -> None:
    made = []
    for index, (criticals, warnings, waited, waiting) in enumerate(rows):
        alerts = tuple(alert(HallAlertKind.WAIT_OVER_TARGET, f"S{i}") for i in range(criticals)) + tuple(
            alert(HallAlertKind.WAIT_WILL_PASS_TARGET, f"W{i}") for i in range(warnings))
        made.append((f"B{index:02d}", glance(waiting=waiting, worst=service("BILL", waiting, waited, 10),
                                              alerts=alerts)))
    ordered = worst_first(made)
    severity = {code: rank_key(code, g)[1] for code, g in made}
    assert [severity[code] for code in ordered] == sorted(severity[code] for code in ordered)
    assert sorted(ordered) == sorted(code for code, _ in made)
