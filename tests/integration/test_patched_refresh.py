"""The refresh after issues and calls patches the last projection instead of running the estimator (within
PATCH_FOR of its last run), and what it publishes stays exact: waiting counts, people ahead, a new ticket's estimate
as the issue response gave it. Any other event, or an old projection, re-estimates."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.domain.tickets import Action, PriorityClass
from server.persistence import hall_reads
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.live import PATCH_FOR, LiveHall
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_live import RecordingLivePublisher
from tests.support import FakeClock

B = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")


def busy_hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher,
              ) -> tuple[HallService, LiveHall]:
    """Two counters serving, a dozen waiting; a live side that has not refreshed the branch yet."""
    hall = build_service(database_url, tmp_path, clock, publisher)
    live = LiveHall(hall.config, hall.uow, clock)
    hall.estimates = live
    hall.counters.sign_in(B, "1", ZHANG, takeover=True)
    hall.counters.sign_in(B, "2", LI, takeover=True)
    for n in range(12):
        clock.advance(seconds=20)
        hall.tickets.issue(B, ("BILL", "PLAN")[n % 2])
    for number, actor in (("1", ZHANG), ("2", LI)):
        serve_next(hall, number, actor)
    return hall, live


def serve_next(hall: HallService, counter: str, actor: Actor, *, finishing: bool = False) -> None:
    """The counter calls its next ticket (finishing the one it serves first) and starts serving it."""
    call = hall.counters.finish_and_call_next if finishing else hall.counters.call_next
    called = call(B, counter, actor)["ticket"]
    hall.tickets.act(B, called["id"], Action.START, actor)


@pytest.fixture
def busy(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher,
         ) -> tuple[HallService, LiveHall]:
    """Two counters serving, a dozen waiting, one full refresh."""
    hall, live = busy_hall(database_url, tmp_path, clock, publisher)
    live.refresh(B)
    assert live.estimates_run == 1
    return hall, live


def fresh_view(hall: HallService, clock: FakeClock) -> LiveHall:
    """Another live side that has never refreshed the branch: its first refresh runs the estimator."""
    other = LiveHall(hall.config, hall.uow, clock)
    other.refresh(B)
    assert other.estimates_run == 1
    return other


def assert_exact(hall: HallService, live: LiveHall, clock: FakeClock) -> None:
    """What the patched refresh published counts as a full one does: waiting per service, people ahead."""
    summary = live.summary(B)
    with hall.uow.read() as session:
        waiting = hall_reads.waiting_by_service(session.connection(), B)
    assert {code: s["waiting"] for code, s in summary["services"].items() if s["waiting"]} == waiting
    assert summary["waiting_total"] == sum(waiting.values())
    full = fresh_view(hall, clock)
    state, other = live._states[B], full._states[B]
    assert set(state.tickets) == set(other.tickets)
    assert {t: v["people_ahead"] for t, v in state.tickets.items()} == {
        t: v["people_ahead"] for t, v in other.tickets.items()}
    for code, service in summary["services"].items():
        assert service["ahead"] == full.summary(B)["services"][code]["ahead"]
        assert service["priority_ahead"] == full.summary(B)["services"][code]["priority_ahead"]


def test_an_issue_is_patched_in_with_the_estimate_it_was_given(
        busy: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    hall, live = busy
    before = {t: v["estimate"]["expected_min"] for t, v in live._states[B].tickets.items()}
    clock.advance(seconds=3)
    issued = hall.tickets.issue(B, "PLAN")  # counter 2 calls it after every BILL ticket and every PLAN one before it
    clock.advance(seconds=1)
    live.refresh(B)
    assert live.estimates_run == 1 and live.estimates_patched == 1  # the estimator did not run
    tickets = live._states[B].tickets
    mine = tickets[issued["id"]]
    assert mine["people_ahead"] == issued["people_ahead"]
    assert mine["estimate"]["range_min"] == issued["estimate"]["range_min"]  # the page shows what the ticket says
    for ticket_id, expected in before.items():  # the others keep their expected call, four seconds on
        assert tickets[ticket_id]["estimate"]["expected_min"] == pytest.approx(expected - 4 / 60, abs=0.11)
    assert_exact(hall, live, clock)


def test_a_call_next_cycle_is_patched_and_the_called_ticket_leaves(
        busy: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    hall, live = busy
    clock.advance(seconds=5)
    first = hall.counters.finish_and_call_next(B, "1", ZHANG)["ticket"]
    clock.advance(seconds=1)
    live.refresh(B)
    if live.estimates_patched == 0:  # called well outside its estimate: a full re-estimate is right too
        assert live.estimates_run == 2
        pytest.skip("the first call came too far from its estimate to patch")
    assert live.estimates_run == 1
    assert first["id"] not in live._states[B].tickets
    assert_exact(hall, live, clock)
    hall.tickets.act(B, first["id"], Action.START, ZHANG)
    clock.advance(seconds=1)
    live.refresh(B)  # starting a service changes no waiting ticket
    assert live.estimates_run == 1 and live.estimates_patched == 2
    assert_exact(hall, live, clock)
    issued = [hall.tickets.issue(B, "PLAN"), hall.tickets.issue(B, "PLAN")]  # a burst: fewer ahead than at the
    clock.advance(seconds=1)  # estimator's run (a call since), more than at the last refresh
    live.refresh(B)
    assert live.estimates_run == 1 and live.estimates_patched == 3
    for ticket in issued:  # each page shows what its ticket said
        mine = live._states[B].tickets[ticket["id"]]
        assert mine["people_ahead"] == ticket["people_ahead"]
        assert mine["estimate"]["range_min"] == ticket["estimate"]["range_min"]
    assert_exact(hall, live, clock)


def test_a_pause_or_an_old_projection_re_estimates(busy: tuple[HallService, LiveHall],
                                                   clock: FakeClock) -> None:
    hall, live = busy
    clock.advance(seconds=2)
    hall.counters.pause(B, "2", LI, "break")
    clock.advance(seconds=1)
    live.refresh(B)
    assert live.estimates_run == 2 and live.estimates_patched == 0
    clock.advance(seconds=2)
    hall.tickets.issue(B, "PLAN")
    live.refresh(B)
    assert live.estimates_run == 2 and live.estimates_patched == 1
    clock.advance(seconds=PATCH_FOR.total_seconds())  # commands keep coming, but the estimator last ran too long ago
    hall.tickets.issue(B, "PLAN")
    live.refresh(B)
    assert live.estimates_run == 3 and live.estimates_patched == 1
    assert_exact(hall, live, clock)


def test_a_ticket_going_before_others_re_estimates(busy: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    hall, live = busy
    clock.advance(seconds=2)
    hall.tickets.issue(B, "BILL", priority=PriorityClass.VIP, actor=ZHANG)
    live.refresh(B)
    assert live.estimates_run == 2 and live.estimates_patched == 0
    clock.advance(seconds=2)
    hall.tickets.issue(B, "BILL")  # counter 2 prefers it to the PLAN tickets waiting: they have one more ahead
    live.refresh(B)
    assert live.estimates_run == 3 and live.estimates_patched == 0
    assert_exact(hall, live, clock)


def test_a_change_that_leaves_the_figures_as_they_were_still_sends_a_summary_of_its_seq(
        database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> None:
    """A call and an issue of the same service between two refreshes leave the waiting count and a new ticket's
    figures as they were: the summary still goes out, carrying the new ``seq``, so that the screens know their figures
    are as of the last event; a refresh with no event since sends none."""
    hall = build_service(database_url, tmp_path, clock, publisher)
    live = LiveHall(hall.config, hall.uow, clock)
    hall.estimates = live
    hall.counters.sign_in(B, "1", ZHANG, takeover=True)  # serves BILL and SIM; none of BILL waits
    for _ in range(6):
        clock.advance(seconds=20)
        hall.tickets.issue(B, "SIM")
    serve_next(hall, "1", ZHANG)
    live.refresh(B)
    pushed = RecordingLivePublisher()
    live.publisher = pushed
    for _ in range(4):
        clock.advance(seconds=5)
        hall.tickets.issue(B, "SIM")
        serve_next(hall, "1", ZHANG, finishing=True)
        live.refresh(B)
        with hall.uow.read() as session:
            seq = hall_reads.branch_seq(session.connection(), B)
        assert pushed.summaries[-1]["seq"] == seq
    assert live.estimates_patched >= 2  # the patched refresh, whose figures change least, was among them
    sent = len(pushed.summaries)
    clock.advance(seconds=5)
    live.refresh(B)
    assert len(pushed.summaries) == sent
