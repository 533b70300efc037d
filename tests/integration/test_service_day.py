"""The end of a service day on a real database (SQLite and PostgreSQL), with an injected clock.

The demo hall in these tests is open 00:00-24:00 unless a test sets hours, so its day ends at local
midnight; the clock starts on Tuesday 2026-11-24 at 10:00 in Shanghai.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from server.domain.errors import DomainError
from server.domain.tickets import Action, TicketState
from server.persistence.tables import DayClose, DaySummary, TicketEvent
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.ratings import RatingService
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")  # counter 2: BILL, PLAN
LI = Actor("li.na", "staff")
MANAGER = Actor("manager", "manager")
TUESDAY = date(2026, 11, 24)


def midnight_after(clock: FakeClock, minutes: float = 1) -> None:
    """Move the clock to ``minutes`` past the next Shanghai midnight (16:00 UTC)."""
    now = clock.now
    target = now.replace(hour=16, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    clock.now = target + timedelta(minutes=minutes)


def states(hall: HallService) -> dict[str, str]:
    with hall.uow.engine.connect() as connection:
        return dict(connection.execute(text("SELECT number || '@' || service_day, state FROM ticket")).all())


def busy_day(hall: HallService, clock: FakeClock) -> dict[str, dict[str, Any]]:
    """Tuesday with one ticket in each state a day can leave behind, and one of each end."""
    issue = hall.tickets.issue
    made = {name: issue(BRANCH, "BILL") for name in ("done", "no_show", "cancelled", "serving", "parked",
                                                      "called", "waiting")}
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    hall.counters.sign_in(BRANCH, "3", LI)

    def call(ticket: str, actor: Actor, counter: str) -> int:
        return hall.counters.call_ticket(BRANCH, counter, made[ticket]["id"], actor)["ticket"]["id"]

    clock.advance(minutes=5)
    done = call("done", ZHANG, "2")
    hall.tickets.act(BRANCH, done, Action.START, ZHANG)
    clock.advance(minutes=4)
    hall.tickets.act(BRANCH, done, Action.FINISH, ZHANG)
    hall.tickets.act(BRANCH, call("no_show", ZHANG, "2"), Action.NO_SHOW, ZHANG)
    hall.tickets.cancel_by_customer(made["cancelled"]["token"])
    parked = call("parked", ZHANG, "2")
    hall.tickets.act(BRANCH, parked, Action.START, ZHANG)
    hall.tickets.act(BRANCH, parked, Action.PARK, ZHANG)
    serving = call("serving", ZHANG, "2")
    hall.tickets.act(BRANCH, serving, Action.START, ZHANG)
    call("called", LI, "3")
    return made


def test_the_day_end_expires_what_is_left_signs_counters_out_and_starts_a_clean_hall(
        hall: HallService, clock: FakeClock, publisher: RecordingPublisher) -> None:
    busy_day(hall, clock)
    assert hall.days.end_due(BRANCH) is None  # the day has not ended: nothing to do, nothing asked
    midnight_after(clock)
    result = hall.days.end_due(BRANCH)
    assert result is not None
    assert (result.ended_through, result.expired, result.signed_out, result.recorded) == (TUESDAY, 4, 2, [TUESDAY])
    assert states(hall) == {"A001@2026-11-24": "done", "A002@2026-11-24": "no_show", "A003@2026-11-24": "cancelled",
                            "A004@2026-11-24": "expired", "A005@2026-11-24": "expired", "A006@2026-11-24": "expired",
                            "A007@2026-11-24": "expired"}
    # each expiry is an event saying why and what the ticket was; the screens hear one day_ended, marked resync
    expired = [e for e in publisher.events if e["kind"] == "expired"]
    assert len(expired) == 4 and all(e["quiet"] and e["private"]["reason"] == "day_ended" for e in expired)
    assert {e["ticket"]["number"]: e.get("counter") for e in expired} == {"A004": "2", "A005": "2", "A006": "3",
                                                                           "A007": None}
    signed_out = [e for e in publisher.events if e["kind"] == "counter_signed_out"]
    assert sorted((e["counter"], e["private"]["reason"]) for e in signed_out) == [("2", "day_ended"),
                                                                                 ("3", "day_ended")]
    day_ended = publisher.events[-1]
    assert day_ended["kind"] == "day_ended" and day_ended["resync"] is True
    assert (day_ended["day"], day_ended["expired"], day_ended["signed_out"]) == ("2026-11-24", 4, 2)
    assert [e["seq"] for e in publisher.events] == list(range(1, len(publisher.events) + 1))
    with hall.uow.engine.connect() as connection:
        rows = connection.execute(select(TicketEvent.kind, TicketEvent.data).where(TicketEvent.kind == "expired")).all()
    assert sorted(r.data for r in rows) == sorted(['{"was": "called"}', '{"was": "parked"}', '{"was": "serving"}',
                                                   '{"was": "waiting"}'])
    # nothing of Tuesday on the screens
    snapshot = hall.queries.snapshot(BRANCH, staff=True)
    assert snapshot["waiting_total"] == 0 and snapshot["waiting"] == [] and snapshot["parked"] == []
    assert snapshot["recent_calls"] == []
    assert all(c["status"] == "closed" and c["current"] is None for c in snapshot["counters"])
    # Wednesday numbers start again and are the only ones called
    wednesday = hall.tickets.issue(BRANCH, "BILL")
    assert wednesday["number"] == "A001" and wednesday["people_ahead"] == 0
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    assert hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]["id"] == wednesday["id"]
    assert hall.days.end_due(BRANCH) is None  # done once; until Wednesday ends, asking is free


def test_the_first_ticket_of_a_new_day_ends_the_old_one_even_without_the_live_loop(
        hall: HallService, clock: FakeClock) -> None:
    yesterday = hall.tickets.issue(BRANCH, "BILL")
    midnight_after(clock, minutes=0)  # exactly midnight: the new day
    today = hall.tickets.issue(BRANCH, "BILL")
    assert today["number"] == yesterday["number"] == "A001"
    assert states(hall) == {"A001@2026-11-24": "expired", "A001@2026-11-25": "waiting"}
    assert today["people_ahead"] == 0


def test_a_ticket_of_an_earlier_day_is_never_called(hall: HallService, clock: FakeClock) -> None:
    yesterday = hall.tickets.issue(BRANCH, "BILL")
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    midnight_after(clock)
    hall.day_keeper = None  # as if the day's end had not run (a process that missed it): calling still refuses
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    with pytest.raises(DomainError) as refused:
        hall.counters.call_ticket(BRANCH, "2", yesterday["id"], ZHANG)
    assert refused.value.code == "ticket_of_another_day"


def test_a_no_show_of_yesterday_cannot_come_back_today(hall: HallService, clock: FakeClock) -> None:
    clock.now = clock.now.replace(hour=15, minute=50)  # 23:50 in Shanghai
    ticket = hall.tickets.issue(BRANCH, "BILL")
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    hall.counters.call_next(BRANCH, "2", ZHANG)
    hall.tickets.act(BRANCH, ticket["id"], Action.NO_SHOW, ZHANG)
    clock.advance(minutes=15)  # within the 30-minute window, but the day has changed
    with pytest.raises(DomainError) as refused:
        hall.tickets.reactivate_by_customer(ticket["token"])
    assert refused.value.code == "ticket_of_another_day"


def test_closing_and_grace_a_ticket_served_after_closing_is_left_alone_until_the_day_ends(
        database_url: str, tmp_path: Path) -> None:
    def closing_at_nine(data: dict[str, Any]) -> None:
        data["branches"][0]["hours"] = "09:00-21:00"

    clock = FakeClock()
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=closing_at_nine,
                         day_end_grace_min=45)
    waiting = hall.tickets.issue(BRANCH, "BILL")
    clock.now = clock.now.replace(hour=13, minute=44)  # 21:44: closed, still within the grace
    assert hall.days.end_due(BRANCH) is None
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    assert hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]["id"] == waiting["id"]  # the last customers
    clock.now = clock.now.replace(hour=13, minute=45)  # 21:45: the day is over
    result = hall.days.end_due(BRANCH)
    assert result is not None and (result.expired, result.signed_out) == (1, 1)
    # a manager opening a counter late that evening is not signed out again at midnight
    clock.advance(minutes=30)
    hall.counters.sign_in(BRANCH, "3", LI)
    midnight_after(clock)
    assert hall.days.end_due(BRANCH) is None  # Wednesday's end is at 21:45 Wednesday


def test_several_processes_end_the_day_once(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    first_events, second_events = RecordingPublisher(), RecordingPublisher()
    first = build_service(database_url, tmp_path, clock, first_events)
    second = build_service(database_url, tmp_path, clock, second_events)
    for _ in range(7):
        first.tickets.issue(BRANCH, "BILL")
    first.counters.sign_in(BRANCH, "2", ZHANG)
    midnight_after(clock)
    first.days.CHUNK = second.days.CHUNK = 3  # several chunks
    one = first.days.end_days(BRANCH)
    two = second.days.end_days(BRANCH)
    assert (one.expired, one.signed_out, one.recorded) == (7, 1, [TUESDAY])
    assert (two.expired, two.signed_out, two.recorded) == (0, 0, [])
    assert not two.changed
    assert [e["kind"] for e in second_events.events] == []
    assert first_events.kinds().count("day_ended") == 1
    with first.uow.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(DayClose)).scalar_one() == 1


def test_a_server_off_for_a_week_closes_every_day_with_its_figures(hall: HallService, clock: FakeClock) -> None:
    for _ in range(3):
        hall.tickets.issue(BRANCH, "BILL")
        hall.tickets.issue(BRANCH, "PLAN")
        clock.advance(days=1)
        hall.day_keeper = None  # no day end while "switched off"
    clock.advance(days=4)
    hall.day_keeper = hall.days
    result = hall.days.end_due(BRANCH)
    assert result is not None and result.expired == 6
    assert result.recorded == [TUESDAY, TUESDAY + timedelta(days=1), TUESDAY + timedelta(days=2)]
    summaries = hall.days.summaries(BRANCH, MANAGER)
    assert [d["day"] for d in summaries["days"]] == ["2026-11-26", "2026-11-25", "2026-11-24"]
    assert all({s["service_code"]: (s["issued"], s["expired"]) for s in d["services"]} == {
        "BILL": (1, 1), "PLAN": (1, 1)} for d in summaries["days"])


def test_the_days_figures_per_service(hall: HallService, clock: FakeClock) -> None:
    made = busy_day(hall, clock)
    ratings = RatingService(hall.config, hall.uow, clock=clock)
    ratings.rate_by_token(made["done"]["token"], 3)
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    with hall.uow.engine.connect() as connection:
        row = connection.execute(select(DaySummary)).mappings().one()
    assert (row["service_day"], row["service_code"]) == (TUESDAY, "BILL")
    assert (row["issued"], row["served"], row["no_shows"], row["cancelled"], row["expired"]) == (7, 1, 1, 1, 4)
    assert row["issued"] == row["served"] + row["no_shows"] + row["cancelled"] + row["expired"]
    # called: one at +5 min, four at +9 min (the no-show, parked, serving and counter 3's); all within the 10-min
    # target
    assert row["called"] == 5 and row["within_target"] == 5
    assert row["wait_mean_s"] == pytest.approx((300 + 4 * 540) / 5)
    assert row["wait_p90_s"] == pytest.approx(540.0)
    assert row["service_mean_s"] == pytest.approx(240.0)
    assert (row["rated"], row["satisfied"]) == (1, 1)


def test_summaries_are_for_the_branchs_managers(hall: HallService) -> None:
    from server.domain.errors import NotAllowed

    with pytest.raises(NotAllowed):
        hall.days.summaries(BRANCH, ZHANG)


def test_5000_leftovers_expire_in_short_transactions(hall: HallService, clock: FakeClock,
                                                     publisher: RecordingPublisher) -> None:
    with hall.uow.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO ticket (token, branch_code, service_code, issued_service_code, service_day, sequence, number,"
            " priority, state, channel, language, issued_at, queued_at, recall_count, transferred, version,"
            " queue_key_us) VALUES (:token, :b, 'BILL', 'BILL', :day, :n, :number, 'normal', 'waiting', 'kiosk',"
            " 'en', :at, :at, 0, :no, 1, 0)"),
            [{"token": f"leftover-token-{n:06d}", "b": BRANCH, "day": TUESDAY, "n": n, "number": f"A{n:04d}",
              "at": clock.now.replace(tzinfo=None), "no": False} for n in range(1, 5001)])
    midnight_after(clock)
    result = hall.days.end_due(BRANCH)
    assert result is not None and result.expired == 5000
    assert states(hall) and set(states(hall).values()) == {TicketState.EXPIRED.value}
    # the screens get one event to resync on, not 5,000
    assert [e["kind"] for e in publisher.events if not e.get("quiet")] == ["day_ended"]


def test_a_clock_set_back_a_day_and_then_right_again(hall: HallService, clock: FakeClock) -> None:
    """Tickets issued while the clock was a day behind belong to that day: they are ended once it is right again."""
    hall.tickets.issue(BRANCH, "BILL")
    right = clock.now
    clock.advance(days=-1)
    behind = hall.tickets.issue(BRANCH, "BILL")
    assert behind["number"] == "A001"  # Monday's numbers
    clock.now = right + timedelta(minutes=5)
    result = hall.days.end_due(BRANCH)
    assert result is not None and result.expired == 1
    assert states(hall) == {"A001@2026-11-24": "waiting", "A001@2026-11-23": "expired"}


def test_an_expired_ticket_tells_when_its_service_takes_tickets_again(database_url: str, tmp_path: Path) -> None:
    def hours(data: dict[str, Any]) -> None:
        data["branches"][0]["hours"] = "09:00-21:00"

    clock = FakeClock()  # Tuesday 10:00 in Shanghai
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=hours, day_end_grace_min=30)
    ticket = hall.tickets.issue(BRANCH, "BILL")
    assert hall.queries.ticket_by_token(ticket["token"])["service_opening"] is None  # waiting: not asked
    clock.now = clock.now.replace(hour=13, minute=31)  # 21:31: the day ended at 21:30
    assert hall.days.end_due(BRANCH) is not None
    expired = hall.queries.ticket_by_token(ticket["token"])
    assert expired["state"] == "expired"
    assert expired["service_opening"] == {"open": False, "opens_at": "2026-11-25T01:00:00+00:00",  # 09:00 tomorrow
                                          "closed_for": None}
    clock.now = clock.now.replace(day=25, hour=2)  # Wednesday 10:00: taking tickets now
    assert hall.queries.ticket_by_token(ticket["token"])["service_opening"]["open"] is True
