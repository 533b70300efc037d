"""The live side on real databases: estimates, people ahead, summaries, learning and accuracy, replay."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.domain.estimation import SUMMARY_STEPS
from server.domain.tickets import Action, PriorityClass
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.live import STEP_CHUNK, LiveHall
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

B = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")


class RecordingLivePublisher:
    def __init__(self) -> None:
        self.summaries: list[dict[str, Any]] = []
        self.ticket_updates: list[dict[str, Any]] = []

    def publish_summary(self, branch_code: str, summary: dict[str, Any]) -> None:
        self.summaries.append(summary)

    def publish_ticket_updates(self, branch_code: str, updates: list[dict[str, Any]]) -> None:
        self.ticket_updates.extend(updates)


@pytest.fixture
def pushed() -> RecordingLivePublisher:
    return RecordingLivePublisher()


@pytest.fixture
def live_hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher,
              pushed: RecordingLivePublisher) -> tuple[HallService, LiveHall]:
    hall = build_service(database_url, tmp_path, clock, publisher)
    live = LiveHall(hall.config, hall.uow, clock, publisher=pushed)
    hall.estimates = live
    return hall, live


def test_people_ahead_pushed_matches_the_issue_response(live_hall: tuple[HallService, LiveHall],
                                                        clock: FakeClock) -> None:
    hall, live = live_hall
    hall.counters.sign_in(B, "2", ZHANG)  # BILL, PLAN
    hall.counters.sign_in(B, "8", LI)  # VIP, PLAN
    issued = []
    for service, priority in [("BILL", PriorityClass.NORMAL), ("PLAN", PriorityClass.NORMAL),
                              ("BILL", PriorityClass.PRIORITY), ("VIP", PriorityClass.VIP),
                              ("PLAN", PriorityClass.NORMAL), ("BILL", PriorityClass.NORMAL)]:
        clock.advance(minutes=1)
        issued.append(hall.tickets.issue(B, service, priority=priority, actor=LI))
    live.refresh(B)
    for ticket in issued:
        pushed_view = live.ticket_live(B, ticket["id"])
        assert pushed_view is not None
        # the answer at issue time counted only tickets issued before; nobody was called since, and a later
        # ticket can only overtake by priority, so the live count is at least the one at issue
        assert pushed_view["people_ahead"] >= ticket["people_ahead"]
        assert pushed_view["people_ahead"] == hall.queries.ticket_by_token(ticket["token"])["people_ahead"]
    assert live.ticket_live(B, issued[0]["id"])["people_ahead"] == 1  # the priority ticket goes first at 2


def test_estimates_reach_the_issue_response_the_event_and_the_summary(
        live_hall: tuple[HallService, LiveHall], clock: FakeClock, publisher: RecordingPublisher,
        pushed: RecordingLivePublisher) -> None:
    hall, live = live_hall
    first = hall.tickets.issue(B, "BILL")
    assert first["estimate"] is None  # before the first refresh the server does not guess
    live.refresh(B)
    assert live.new_ticket_estimate(B, "BILL") is not None
    assert live.new_ticket_estimate(B, "BILL").known is False  # no counter open: no honest estimate
    hall.counters.sign_in(B, "1", ZHANG)
    live.refresh(B)
    ticket = hall.tickets.issue(B, "BILL")
    assert ticket["estimate"]["known"] is True
    assert ticket["estimate"]["text"]["zh-CN"] and ticket["estimate"]["text"]["en"]
    issued_event = publisher.events[-1]
    assert issued_event["kind"] == "issued"
    assert pushed.summaries[-1]["services"]["BILL"]["waiting"] == 1
    live.refresh(B)
    assert pushed.summaries[-1]["services"]["BILL"]["waiting"] == 2
    snapshot = live.decorate_snapshot(hall.queries.snapshot(B))
    bill = next(s for s in snapshot["services"] if s["code"] == "BILL")
    assert bill["estimate"]["known"] is True and bill["waiting"] == 2


def test_before_any_counter_opens_estimates_say_why(live_hall: tuple[HallService, LiveHall],
                                                    pushed: RecordingLivePublisher) -> None:
    hall, live = live_hall
    before = live.decorate_snapshot(hall.queries.snapshot(B))  # not estimated yet (the server has just started)
    assert {s["estimate"]["reason"] for s in before["services"]} == {"not_yet"}
    first = hall.tickets.issue(B, "BILL")
    live.refresh(B)
    summary = pushed.summaries[-1]["services"]
    assert {s["estimate"]["reason"] for s in summary.values()} == {"no_counter_open"}
    assert summary["BILL"]["estimate"]["text"] == {"zh-CN": "窗口尚未开放", "en": "no counter open yet"}
    assert live.ticket_live(B, first["id"])["estimate"]["reason"] == "no_counter_open"
    ticket = hall.tickets.issue(B, "BILL")
    assert ticket["estimate"]["reason"] == "no_counter_open"  # what the kiosk shows and prints with the ticket
    hall.counters.sign_in(B, "2", ZHANG)  # BILL and PLAN only
    live.refresh(B)
    summary = pushed.summaries[-1]["services"]
    assert summary["BILL"]["estimate"]["known"] is True and summary["BILL"]["estimate"]["reason"] is None
    assert summary["VIP"]["estimate"]["reason"] == "not_staffed"  # counters open, none for VIP
    assert live.ticket_live(B, first["id"])["estimate"]["known"] is True


def test_a_new_tickets_people_ahead_count_what_the_counters_call_first(
        live_hall: tuple[HallService, LiveHall], clock: FakeClock, pushed: RecordingLivePublisher) -> None:
    """The kiosk tile shows what a new ticket would have: its people ahead include other services' tickets that
    the counters serving it call first, and match the ticket the customer then gets."""
    hall, live = live_hall
    hall.counters.sign_in(B, "4", ZHANG)  # PLAN, BROADBAND
    hall.counters.sign_in(B, "5", LI)  # BROADBAND, PLAN
    for service in ("PLAN", "PLAN", "BROADBAND", "PLAN", "BROADBAND"):
        clock.advance(minutes=1)
        hall.tickets.issue(B, service)
    hall.tickets.issue(B, "PLAN", priority=PriorityClass.PRIORITY, actor=LI)  # staff give priority-lane tickets
    live.refresh(B)
    summary = pushed.summaries[-1]["services"]
    assert summary["BROADBAND"]["waiting"] == 2 and summary["PLAN"]["waiting"] == 4
    # a new BROADBAND ticket: at counter 5 (BROADBAND first) the two BROADBAND tickets and the priority-lane PLAN
    # ticket, whose head start puts it before everyone: 3 ahead while 2 wait for BROADBAND
    assert summary["BROADBAND"]["ahead"] == 3
    assert summary["PLAN"]["ahead"] == 4  # at counter 4: the four PLAN tickets
    assert summary["PLAN"]["priority_ahead"] == 1  # behind the earlier priority ticket only
    # no open counter serves VIP: counted at counter 8 (VIP, PLAN), closed, as the issue answer counts it
    assert summary["VIP"]["ahead"] == 1
    for service in ("PLAN", "BROADBAND", "VIP", "PLAN"):
        clock.advance(seconds=10)
        live.refresh(B)
        expected = pushed.summaries[-1]["services"][service]["ahead"]
        snapshot = live.decorate_snapshot(hall.queries.snapshot(B))
        assert next(s for s in snapshot["services"] if s["code"] == service)["ahead"] == expected
        assert hall.tickets.issue(B, service)["people_ahead"] == expected


def test_a_burst_of_tickets_between_refreshes_get_growing_estimates(
        live_hall: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    hall, live = live_hall
    hall.counters.sign_in(B, "1", ZHANG)  # BILL, SIM
    for _ in range(8):
        clock.advance(seconds=20)
        hall.tickets.issue(B, "BILL")
    live.refresh(B)
    burst = []
    for _ in range(6):  # no refresh in between
        clock.advance(seconds=1)
        burst.append(hall.tickets.issue(B, "BILL"))
    assert [t["people_ahead"] for t in burst] == [8, 9, 10, 11, 12, 13]
    expected = [t["estimate"]["expected_min"] for t in burst]
    assert expected == sorted(expected) and len(set(expected)) == 6
    # each ticket ahead adds BILL's expected 4 minutes at the one counter serving it
    assert expected[-1] - expected[0] == pytest.approx(5 * 4.0, abs=0.2)
    assert burst[-1]["estimate"]["range_min"][1] > burst[0]["estimate"]["range_min"][1]
    # after the refresh the estimator itself gives the sixth ticket about what it was promised
    live.refresh(B)
    projected = live.ticket_live(B, burst[-1]["id"])["estimate"]["expected_min"]
    assert projected == pytest.approx(expected[-1], rel=0.15)


def test_only_changed_tickets_get_an_update(live_hall: tuple[HallService, LiveHall], clock: FakeClock,
                                            pushed: RecordingLivePublisher) -> None:
    hall, live = live_hall
    hall.counters.sign_in(B, "1", ZHANG)
    tickets = [hall.tickets.issue(B, "BILL") for _ in range(3)]
    live.refresh(B)
    assert {u["ticket_id"] for u in pushed.ticket_updates} == {t["id"] for t in tickets}
    pushed.ticket_updates.clear()
    live.refresh(B)
    assert pushed.ticket_updates == []  # nothing moved
    hall.counters.call_next(B, "1", ZHANG)
    live.refresh(B)
    moved = {u["ticket_id"]: u["people_ahead"] for u in pushed.ticket_updates}
    assert moved == {tickets[1]["id"]: 0, tickets[2]["id"]: 1}


def test_learns_service_times_and_accuracy_and_replays_them_after_a_restart(
        live_hall: tuple[HallService, LiveHall], clock: FakeClock, pushed: RecordingLivePublisher) -> None:
    hall, live = live_hall
    hall.counters.sign_in(B, "1", ZHANG)  # fast lane: BILL, SIM
    live.refresh(B)
    for _ in range(12):
        ticket = hall.tickets.issue(B, "BILL")
        clock.advance(minutes=1)
        called = hall.counters.call_next(B, "1", ZHANG)["ticket"]
        assert called["id"] == ticket["id"]
        hall.tickets.act(B, called["id"], Action.START, ZHANG)
        clock.advance(minutes=9)  # much slower than the configured 4 minutes
        hall.tickets.act(B, called["id"], Action.FINISH, ZHANG)
        live.refresh(B)
    learnt = live._states[B].model.service_times.mean_minutes("BILL", 10)
    assert learnt > 6.0
    accuracy = live.accuracy(B)
    assert accuracy["services"][0]["service"] == "ALL" and accuracy["services"][0]["count"] == 12
    bill = next(row for row in accuracy["services"] if row["service"] == "BILL")
    assert bill["count"] == 12 and bill["mae_min"] >= 0

    restarted = LiveHall(hall.config, hall.uow, clock)
    restarted.refresh(B)
    assert restarted._states[B].model.service_times.mean_minutes("BILL", 10) == pytest.approx(learnt)
    assert restarted.accuracy(B)["services"] == accuracy["services"]


class CountingPacing:
    """Records where the refresh gives way (the server's pacing then lets waiting requests run)."""

    def __init__(self) -> None:
        self.sites: list[str] = []

    def cooperate(self) -> None:
        return None

    def checkpoint(self) -> None:
        self.sites.append(sys._getframe(1).f_code.co_name)


def test_a_refresh_of_a_long_queue_gives_way_throughout(database_url: str, tmp_path: Path, clock: FakeClock,
                                                        publisher: RecordingPublisher) -> None:
    """Every stage of the estimator's work stops at checkpoints, in proportion to the queue's length, so that
    under eventlet no stretch of it holds the interpreter lock for long while requests wait."""
    hall = build_service(database_url, tmp_path, clock, publisher)
    pacing = CountingPacing()
    live = LiveHall(hall.config, hall.uow, clock, pacing=pacing)
    hall.estimates = live
    services = ["BILL", "PLAN", "SIM", "BROADBAND", "DEVICE"]
    for n in range(600):
        clock.advance(seconds=5)
        hall.tickets.issue(B, services[n % len(services)])
    live.refresh(B)
    assert {"_learn", "_queue_snapshot", "__init__", "_lanes", "run", "estimate_waits", "_people_ahead",
            "_derive"} <= set(pacing.sites)
    assert pacing.sites.count("_queue_snapshot") >= 600 // STEP_CHUNK
    assert pacing.sites.count("_people_ahead") >= 600 // STEP_CHUNK * len(hall.config.branches[0].counters)
    assert pacing.sites.count("estimate_waits") >= 600 // SUMMARY_STEPS


def test_learns_when_counters_are_usually_staffed_and_replays_it(live_hall: tuple[HallService, LiveHall],
                                                                  clock: FakeClock) -> None:
    hall, live = live_hall
    start = clock()
    for _day in range(3):  # counter 1 staffed for two hours at the same time each day
        hall.counters.sign_in(B, "1", ZHANG)
        clock.advance(hours=2)
        hall.counters.sign_out(B, "1", ZHANG)
        clock.advance(hours=22)
    live.refresh(B)
    presence = live._states[B].model.presence
    assert presence.share("1", clock() + timedelta(hours=1)) == pytest.approx(1.0)
    assert presence.share("2", clock() + timedelta(hours=1)) == 0.0
    assert presence.next_change("1", False, clock() - timedelta(minutes=30)) == clock()
    restarted = LiveHall(hall.config, hall.uow, clock)
    restarted.refresh(B)
    assert restarted._states[B].model.presence.share("1", clock() + timedelta(hours=1)) == pytest.approx(1.0)
    assert clock() - start == timedelta(days=3)


def test_calibrates_on_the_issue_estimate_and_on_what_the_ticket_page_showed(
        live_hall: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    hall, live = live_hall
    hall.counters.sign_in(B, "1", ZHANG)  # BILL, SIM
    live.refresh(B)
    first = hall.tickets.issue(B, "BILL")
    hall.counters.call_next(B, "1", ZHANG)  # the counter is busy with the first ticket
    live.refresh(B)
    second = hall.tickets.issue(B, "BILL")
    assert second["estimate"]["known"]
    for _ in range(4):  # its page is refreshed every 30 s: one estimate a minute is kept
        clock.advance(seconds=30)
        live.refresh(B)
    hall.tickets.act(B, first["id"], Action.START, ZHANG)
    hall.tickets.act(B, first["id"], Action.FINISH, ZHANG)
    hall.counters.call_next(B, "1", ZHANG)
    live.refresh(B)
    model = live._states[B].model
    assert model.issue_calibration.observed == 2  # the two tickets' estimates given at issue
    assert model.calibration.observed == 2  # what its page showed at 0:30 and 1:30


def test_an_idle_refresh_still_publishes_the_summary_with_the_current_seq(
        live_hall: tuple[HallService, LiveHall], clock: FakeClock, pushed: RecordingLivePublisher) -> None:
    """A summary is pushed when it changed, and also at the once-a-minute refresh when it did not: it carries the
    branch's seq, so a screen that missed a push (Redis restarted) learns that it is behind without a new command."""
    hall, live = live_hall
    hall.counters.sign_in(B, "2", ZHANG)  # an event; nobody waits, so the figures stay the same as time passes
    live.refresh(B)
    assert len(pushed.summaries) == 1
    live.refresh(B)  # at once again: nothing changed, nothing pushed
    assert len(pushed.summaries) == 1
    clock.advance(seconds=60)  # the live loop's idle refresh
    live.refresh(B)
    assert len(pushed.summaries) == 2
    assert pushed.summaries[-1]["seq"] == live.branch_seq(B) == pushed.summaries[0]["seq"]
    assert pushed.summaries[-1]["version"] == pushed.summaries[0]["version"]  # the same figures, sent again


def test_a_small_branchs_refresh_computes_on_the_event_loop_and_a_large_ones_in_a_worker(
        live_hall: tuple[HallService, LiveHall], monkeypatch: pytest.MonkeyPatch) -> None:
    """The first refresh of a branch (its cost unknown) and any whose last computation took 5 ms of CPU or more go to
    the worker (``offload``); one that took less runs where it is called: the hand-over and the pauses for requests
    cost such a refresh many times its work."""
    import server.services.live as live_module

    hall, live = live_hall
    offloaded: list[int] = []

    def offload(work: Any) -> Any:
        offloaded.append(1)
        return work()

    live.offload = offload
    cpu = [0.0]
    step = [0.001]

    def thread_time() -> float:
        cpu[0] += step[0]  # read at the start and at the end: each computation "takes" ``step``
        return cpu[0]

    monkeypatch.setattr(live_module.time, "thread_time", thread_time)
    live.refresh(B)
    assert len(offloaded) == 1 and live.refresh_cost(B) == pytest.approx(0.001)
    hall.tickets.issue(B, "BILL")
    live.refresh(B)
    assert len(offloaded) == 1  # 1 ms last time: computed here
    step[0] = 0.008
    hall.tickets.issue(B, "BILL")
    live.refresh(B)
    assert len(offloaded) == 1 and live.refresh_cost(B) == pytest.approx(0.008)
    hall.tickets.issue(B, "BILL")
    live.refresh(B)
    assert len(offloaded) == 2  # 8 ms last time: to the worker
