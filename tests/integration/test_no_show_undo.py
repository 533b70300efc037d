"""Taking back a mistaken no-show within seconds, and the console's list of no-shows that may come back.

Runs on SQLite and PostgreSQL (the ``hall`` fixture). The undo is a command of its own: the ticket is called at its
counter again as the customer last saw it (same call time, same recalls), not re-activated and called anew.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from server.domain.errors import DomainError, IllegalTransition, StaleState
from server.domain.tickets import Action
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.ratings import RatingService
from tests.conftest import RecordingPublisher
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")


def issue(hall: HallService, clock: FakeClock, service: str = "BILL") -> dict[str, Any]:
    clock.advance(seconds=30)
    return hall.tickets.issue(BRANCH, service)


def marked_no_show(hall: HallService, clock: FakeClock, counter: str = "2",
                   actor: Actor = ZHANG) -> tuple[dict[str, Any], str]:
    """A ticket called at ``counter``, recalled once, then marked no-show: the ticket and its undo deadline."""
    called = hall.counters.call_next(BRANCH, counter, actor)["ticket"]
    clock.advance(seconds=40)
    hall.tickets.act(BRANCH, called["id"], Action.RECALL, actor)
    clock.advance(seconds=60)
    answer = hall.tickets.act(BRANCH, called["id"], Action.NO_SHOW, actor)
    return answer["ticket"], answer["undo_until"]


def refusal(call: Any) -> DomainError:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value


def test_an_undone_no_show_is_called_at_its_counter_again_as_it_was(
        hall: HallService, clock: FakeClock, publisher: RecordingPublisher) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    issue(hall, clock)
    no_show, undo_until = marked_no_show(hall, clock)
    assert datetime.fromisoformat(undo_until) == clock.now + hall.config.queue.undo_no_show
    assert hall.queries.counter_queue(BRANCH, "2")["counter_state"]["current"] is None

    clock.advance(seconds=9)
    undone = hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG, expected_version=no_show["version"])["ticket"]
    assert (undone["state"], undone["counter"], undone["no_show_at"]) == ("called", "2", None)
    # as the customer last saw it: the same call, the same recall count; the queue place does not matter now
    assert undone["called_at"] == no_show["called_at"] and undone["recall_count"] == 1
    assert hall.queries.counter_queue(BRANCH, "2")["counter_state"]["current"]["id"] == no_show["id"]
    event = publisher.events[-1]
    assert event["kind"] == "no_show_undone" and event["counter"] == "2" and event["holds_counter"] is True
    # the counter carries on with that customer
    hall.tickets.act(BRANCH, no_show["id"], Action.START, ZHANG)
    hall.tickets.act(BRANCH, no_show["id"], Action.FINISH, ZHANG)
    ratings = RatingService(hall.config, hall.uow, clock)
    assert ratings.staff_day(BRANCH, ZHANG)["no_shows"] == 0  # "my day" does not count a no-show taken back


def test_undo_is_idempotent_with_its_key_and_refuses_a_second_undo_without_it(
        hall: HallService, clock: FakeClock, publisher: RecordingPublisher) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    issue(hall, clock)
    no_show, _ = marked_no_show(hall, clock)
    first = hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG, expected_version=no_show["version"],
                                      idempotency_key="undo-1")
    events = len(publisher.events)
    again = hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG, expected_version=no_show["version"],
                                      idempotency_key="undo-1")
    assert again == {**first, "replayed": True}
    assert len(publisher.events) == events  # nothing happened twice
    with pytest.raises(StaleState):
        hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG, expected_version=no_show["version"])
    with pytest.raises(IllegalTransition):
        hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG)


def test_undo_is_refused_once_the_counter_has_called_someone_else(hall: HallService, clock: FakeClock) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    issue(hall, clock)
    issue(hall, clock)
    issue(hall, clock)
    no_show, _ = marked_no_show(hall, clock)
    clock.advance(seconds=2)
    nxt = hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]
    busy = refusal(lambda: hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG))
    assert (busy.code, busy.details["current"]) == ("counter_moved_on", nxt["number"])
    # even when that customer is already gone again: the counter moved on
    hall.tickets.act(BRANCH, nxt["id"], Action.RETURN_TO_QUEUE, ZHANG)
    moved_on = refusal(lambda: hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG))
    assert (moved_on.code, moved_on.details["current"]) == ("counter_moved_on", nxt["number"])
    assert hall.queries.counter_queue(BRANCH, "2")["counter_state"]["current"] is None


def test_another_counter_calling_does_not_stop_the_undo(hall: HallService, clock: FakeClock) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    hall.counters.sign_in(BRANCH, "3", LI, services=["BILL"])
    issue(hall, clock)
    issue(hall, clock)
    no_show, _ = marked_no_show(hall, clock)
    hall.counters.call_next(BRANCH, "3", LI)
    undone = hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG)["ticket"]
    assert undone["state"] == "called"


def test_undo_is_refused_after_its_seconds_on_a_paused_counter_and_at_another_counter(
        hall: HallService, clock: FakeClock) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    hall.counters.sign_in(BRANCH, "3", LI)
    issue(hall, clock)
    no_show, _ = marked_no_show(hall, clock)
    assert refusal(lambda: hall.tickets.undo_no_show(BRANCH, no_show["id"], LI)).code == "not_your_counter"
    hall.counters.pause(BRANCH, "2", ZHANG, "break")
    assert refusal(lambda: hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG)).code == "counter_paused"
    hall.counters.resume(BRANCH, "2", ZHANG)
    clock.advance(seconds=hall.config.queue.undo_no_show.total_seconds() + 1)
    late = refusal(lambda: hall.tickets.undo_no_show(BRANCH, no_show["id"], ZHANG))
    assert late.code == "undo_window_passed" and "re-activate" in late.message
    # re-activating is still there for a customer who comes back
    assert hall.tickets.reactivate(BRANCH, no_show["id"], ZHANG)["ticket"]["state"] == "waiting"


def test_the_counter_queue_lists_no_shows_that_may_still_come_back(hall: HallService, clock: FakeClock) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    hall.counters.sign_in(BRANCH, "3", LI, services=["BILL"])
    for _ in range(4):
        issue(hall, clock, "BILL")
    old, _ = marked_no_show(hall, clock, "2", ZHANG)
    clock.advance(minutes=10)
    elsewhere, _ = marked_no_show(hall, clock, "3", LI)
    clock.advance(minutes=1)
    mine, _ = marked_no_show(hall, clock, "2", ZHANG)
    window = hall.config.queue.reactivate_window

    listed = hall.queries.counter_queue(BRANCH, "2")["no_shows"]
    assert [t["number"] for t in listed] == [mine["number"], old["number"], elsewhere["number"]]
    assert datetime.fromisoformat(listed[0]["reactivate_until"]) == datetime.fromisoformat(mine["no_show_at"]) + window
    assert [t["number"] for t in hall.queries.counter_queue(BRANCH, "3")["no_shows"]] == [
        elsewhere["number"], mine["number"], old["number"]]

    # the oldest one's window passes; a re-activated one leaves the list
    clock.advance(seconds=(datetime.fromisoformat(old["no_show_at"]) + window - clock.now).total_seconds() + 1)
    hall.tickets.reactivate(BRANCH, mine["id"], LI)
    assert [t["number"] for t in hall.queries.counter_queue(BRANCH, "2")["no_shows"]] == [elsewhere["number"]]
