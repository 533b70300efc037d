"""Stopping and resuming issue by hand, and the daily cap, on a real database (SQLite and PostgreSQL), with an
injected clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.domain.errors import DomainError, NotAllowed
from server.domain.hall import Text
from server.services.actor import Actor
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
MANAGER = Actor("manager", "manager")
ZHANG = Actor("zhang.wei", "staff")


def refusal(work: object) -> DomainError:
    with pytest.raises(DomainError) as refused:
        work()  # type: ignore[operator]
    return refused.value


def test_a_stopped_service_refuses_new_tickets_with_its_reason_and_the_queue_keeps_its_place(
        hall: HallService, clock: FakeClock, publisher: RecordingPublisher) -> None:
    waiting = hall.tickets.issue(BRANCH, "BILL")
    stop = hall.issuing.stop(BRANCH, MANAGER, service="BILL", reason="all_taken")
    assert stop["reason"] == {"zh-CN": "今日号已发完", "en": "Today's tickets are all taken"}
    assert stop["ends_at"] == "2026-11-24T16:00:00+00:00"  # the end of the service day (midnight in this hall)
    refused = refusal(lambda: hall.tickets.issue(BRANCH, "BILL"))
    assert refused.code == "issuing_stopped" and refused.details["reason"] == stop["reason"]
    assert hall.tickets.issue(BRANCH, "PLAN")["number"] == "B001"  # other services go on
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    assert hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]["id"] == waiting["id"]
    snapshot = hall.queries.snapshot(BRANCH)
    bill = next(s for s in snapshot["services"] if s["code"] == "BILL")
    assert bill["stopped"] == stop and snapshot["issue_stops"] == [stop]
    stopped_event = next(e for e in publisher.events if e["kind"] == "issue_stopped")
    assert stopped_event["stop"] == stop and stopped_event["resync"] is True
    assert stopped_event["private"]["staff"] == "manager"
    # resumed: issue again; a second resume is refused
    clock.advance(minutes=10)
    resumed = hall.issuing.resume(BRANCH, stop["id"], MANAGER)
    assert resumed["id"] == stop["id"]
    assert hall.tickets.issue(BRANCH, "BILL")["number"] == "A002"
    assert refusal(lambda: hall.issuing.resume(BRANCH, stop["id"], MANAGER)).code == "not_stopped"
    assert hall.issuing.current(BRANCH) == [] and publisher.kinds().count("issue_resumed") == 1


def test_a_branch_stop_from_a_later_time_until_the_day_ends(hall: HallService, clock: FakeClock) -> None:
    later = clock.now + timedelta(hours=2)
    stop = hall.issuing.stop(BRANCH, MANAGER, starts_at=later, reason="custom",
                             text=Text(" 系统升级，暂停取号 ", "System upgrade: no tickets"))
    assert stop["service"] is None
    assert stop["reason"] == {"zh-CN": "系统升级，暂停取号", "en": "System upgrade: no tickets"}
    assert hall.tickets.issue(BRANCH, "VIP")["number"]  # not yet
    assert next(s for s in hall.queries.snapshot(BRANCH)["services"] if s["code"] == "VIP")["stopped"] is None
    clock.now = later
    assert refusal(lambda: hall.tickets.issue(BRANCH, "VIP")).code == "issuing_stopped"
    assert all(s["stopped"] == stop for s in hall.queries.snapshot(BRANCH)["services"])
    clock.now = later.replace(hour=16, minute=0)  # Shanghai midnight: a new day, issue again by itself
    assert hall.tickets.issue(BRANCH, "VIP")["number"].endswith("001")
    assert hall.issuing.current(BRANCH) == []


def test_until_resumed_outlasts_the_day(hall: HallService, clock: FakeClock) -> None:
    hall.issuing.stop(BRANCH, MANAGER, service="DEVICE", until="resumed", reason="maintenance")
    clock.advance(days=2)
    assert refusal(lambda: hall.tickets.issue(BRANCH, "DEVICE")).code == "issuing_stopped"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"reason": "nonsense"}, "reason"),
    ({"reason": "custom"}, "text"),
    ({"reason": "custom", "text": Text("   ", "Closed")}, "text.zh-CN"),
    ({"reason": "custom", "text": Text("关闭", "x" * 101)}, "text.en"),
    ({"reason": "busy", "text": Text("忙", "Busy")}, "text"),
    ({"reason": "busy", "until": "past"}, "until"),
    ({"reason": "busy", "starts_at": "far"}, "starts_at"),
])
def test_a_stop_that_makes_no_sense_is_refused_naming_the_field(
        hall: HallService, clock: FakeClock, kwargs: dict[str, object], field: str) -> None:
    if kwargs.get("until") == "past":
        kwargs = {**kwargs, "until": clock.now - timedelta(minutes=1)}
    if kwargs.get("starts_at") == "far":
        kwargs = {**kwargs, "starts_at": clock.now + timedelta(days=40)}
    refused = refusal(lambda: hall.issuing.stop(BRANCH, MANAGER, **kwargs))  # type: ignore[arg-type]
    assert (refused.code, refused.http_status, refused.details["field"]) == ("bad_stop", 422, field)
    assert hall.issuing.current(BRANCH) == []


def test_only_managers_stop_issue_unless_the_configuration_lets_staff(database_url: str, tmp_path: Path) -> None:
    managers_only = build_service(database_url, tmp_path, FakeClock(), RecordingPublisher())
    with pytest.raises(NotAllowed):
        managers_only.issuing.stop(BRANCH, ZHANG, reason="busy")
    stop = managers_only.issuing.stop(BRANCH, MANAGER, reason="busy")
    with pytest.raises(NotAllowed):
        managers_only.issuing.resume(BRANCH, stop["id"], ZHANG)
    staff_too = build_service(database_url, tmp_path / "2", FakeClock(), RecordingPublisher(),
                              staff_may_stop_issuing=True)
    assert staff_too.issuing.resume(BRANCH, stop["id"], ZHANG)["id"] == stop["id"]
    with pytest.raises(NotAllowed):  # staff of another branch never
        staff_too.issuing.stop(BRANCH, Actor("other.staff", "staff"), reason="busy")


def test_a_stopped_service_says_when_it_issues_again_today(hall: HallService, clock: FakeClock) -> None:
    def bill(snapshot: dict[str, Any]) -> dict[str, Any]:
        return next(s for s in snapshot["services"] if s["code"] == "BILL")

    assert bill(hall.queries.snapshot(BRANCH))["resumes_at"] is None  # issuing
    lunch = hall.issuing.stop(BRANCH, MANAGER, service="BILL", until=clock.now + timedelta(hours=2), reason="busy")
    branch = hall.issuing.stop(BRANCH, MANAGER, starts_at=clock.now + timedelta(hours=1),
                               until=clock.now + timedelta(hours=3), reason="maintenance")
    snapshot = hall.queries.snapshot(BRANCH)
    assert bill(snapshot)["stopped"] == lunch
    assert bill(snapshot)["resumes_at"] == branch["ends_at"]  # the branch's stop follows without a gap: 13:00
    refused = refusal(lambda: hall.tickets.issue(BRANCH, "BILL"))
    assert refused.details["resumes_at"] == branch["ends_at"] and refused.details["until"] == lunch["ends_at"]
    # a stop until the day's end (after the close) does not promise tickets again today
    clock.advance(hours=3)
    hall.issuing.stop(BRANCH, MANAGER, service="BILL", reason="all_taken")
    assert bill(hall.queries.snapshot(BRANCH))["resumes_at"] is None
    assert refusal(lambda: hall.tickets.issue(BRANCH, "BILL")).details["resumes_at"] is None


def test_the_ticket_that_fills_the_daily_cap_tells_every_screen(database_url: str, tmp_path: Path, clock: FakeClock,
                                                               publisher: RecordingPublisher) -> None:
    def cap(data: dict[str, Any]) -> None:
        data["branches"][0]["services"][0]["daily_cap"] = 2  # BILL

    hall = build_service(database_url, tmp_path, clock, publisher, more=cap)
    hall.tickets.issue(BRANCH, "BILL")
    assert "daily_cap_reached" not in publisher.events[-1]
    hall.tickets.issue(BRANCH, "BILL")
    last = publisher.events[-1]
    assert last["kind"] == "issued" and last["daily_cap_reached"] is True and last["ticket"]["service"] == "BILL"
    assert refusal(lambda: hall.tickets.issue(BRANCH, "BILL")).code == "daily_cap_reached"


def closing_at_nine(last_ticket: str):
    def change(data: dict) -> None:
        data["branches"][0]["hours"] = "09:00-21:00"
        next(s for s in data["branches"][0]["services"] if s["code"] == "BILL")["last_ticket"] = last_ticket
    return change


def test_a_fixed_last_ticket_time(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()  # 10:00 in Shanghai
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=closing_at_nine("20:30"))
    bill = next(s for s in hall.queries.snapshot(BRANCH)["services"] if s["code"] == "BILL")
    assert (bill["last_ticket"], bill["tickets_until"], bill["last_ticket_passed"]) == (
        "20:30", "2026-11-24T12:30:00+00:00", False)
    clock.now = clock.now.replace(hour=12, minute=29)  # 20:29
    assert hall.tickets.issue(BRANCH, "BILL")["number"] == "A001"
    clock.now = clock.now.replace(minute=30)  # 20:30: the last ticket has gone, other services still issue
    refused = refusal(lambda: hall.tickets.issue(BRANCH, "BILL"))
    assert refused.code == "last_ticket_passed"
    assert refused.details == {"tickets_until": "2026-11-24T12:30:00+00:00", "opens_at": "2026-11-25T01:00:00+00:00"}
    assert hall.tickets.issue(BRANCH, "PLAN")["number"] == "B001"
    assert next(s for s in hall.queries.snapshot(BRANCH)["services"] if s["code"] == "BILL")["last_ticket_passed"]


class FixedEstimates:
    """The live side's estimate for a new ticket, fixed by the test."""

    def __init__(self, high_min: float | None) -> None:
        self.high_min = high_min

    def new_ticket_estimate(self, branch_code: str, service_code: str, priority: object = None,
                            people_ahead: int | None = None) -> object:
        from server.domain.estimation import WaitEstimate

        if self.high_min is None:
            return WaitEstimate.unknown()
        high = timedelta(minutes=self.high_min)
        return WaitEstimate(high / 2, high / 4, high)

    def ticket_live(self, branch_code: str, ticket_id: int) -> None:
        return None


def test_auto_last_ticket_follows_the_estimate(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=closing_at_nine("auto"))
    hall.estimates = FixedEstimates(40)  # up to 40 min wait, 4 min service: tickets until 20:16
    bill = next(s for s in hall.queries.snapshot(BRANCH)["services"] if s["code"] == "BILL")
    assert bill["tickets_until"] == "2026-11-24T12:16:00+00:00"
    clock.now = clock.now.replace(hour=12, minute=15)
    assert hall.tickets.issue(BRANCH, "BILL")["number"] == "A001"
    clock.now = clock.now.replace(minute=17)
    assert refusal(lambda: hall.tickets.issue(BRANCH, "BILL")).code == "last_ticket_passed"
    hall.estimates = FixedEstimates(5)  # the queue has melted: tickets again until 20:51
    assert hall.tickets.issue(BRANCH, "BILL")["number"] == "A002"
    hall.estimates = FixedEstimates(None)  # no estimate (no counter open): only the service time is kept
    assert next(s for s in hall.queries.snapshot(BRANCH)["services"]
                if s["code"] == "BILL")["tickets_until"] == "2026-11-24T12:56:00+00:00"


def test_past_its_last_ticket_a_service_says_when_it_takes_tickets_again(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()  # 10:00 in Shanghai
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=closing_at_nine("20:30"))

    def bill() -> dict[str, Any]:
        return next(s for s in hall.queries.snapshot(BRANCH)["services"] if s["code"] == "BILL")

    assert (bill()["open"], bill()["opens_at"]) == (True, None)
    # a stop until 20:45 ends after the last ticket: no kiosk promises tickets at 20:45
    clock.now = clock.now.replace(hour=12, minute=0)  # 20:00
    hall.issuing.stop(BRANCH, MANAGER, service="BILL", until=clock.now + timedelta(minutes=45), reason="busy")
    assert bill()["resumes_at"] is None
    assert refusal(lambda: hall.tickets.issue(BRANCH, "BILL")).details["resumes_at"] is None
    clock.now = clock.now.replace(minute=30)  # 20:30: still open until 21:00, but closed for tickets: the kiosk
    assert (bill()["open"], bill()["last_ticket_passed"]) == (True, True)  # shows the same as the 409 says
    assert bill()["opens_at"] == "2026-11-25T01:00:00+00:00"  # 09:00 tomorrow


def test_a_service_open_around_the_clock_takes_tickets_again_at_midnight_after_its_last(
        database_url: str, tmp_path: Path) -> None:
    def last_at_half_past_eight(data: dict[str, Any]) -> None:
        next(s for s in data["branches"][0]["services"] if s["code"] == "BILL")["last_ticket"] = "20:30"

    clock = FakeClock()
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=last_at_half_past_eight)
    clock.now = clock.now.replace(hour=12, minute=31)  # 20:31 in a hall open 00:00-24:00
    midnight = "2026-11-24T16:00:00+00:00"
    assert refusal(lambda: hall.tickets.issue(BRANCH, "BILL")).details["opens_at"] == midnight
    assert next(s for s in hall.queries.snapshot(BRANCH)["services"] if s["code"] == "BILL")["opens_at"] == midnight
