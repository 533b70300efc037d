"""A quiet branch costs next to nothing: its idle refresh re-ages the last estimate instead of running the estimator,
until something happens, its plans change, a ticket's expected call passes or the re-estimate grows old."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.domain.tickets import Action
from server.services import live as live_module
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.live import QUIET_REESTIMATE, LiveHall
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

B = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")


@pytest.fixture
def quiet(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher,
          monkeypatch: pytest.MonkeyPatch) -> tuple[HallService, LiveHall, list[int]]:
    """A hall with one counter serving a customer and six waiting behind it; counts the estimator's runs."""
    hall = build_service(database_url, tmp_path, clock, publisher)
    live = LiveHall(hall.config, hall.uow, clock)
    hall.estimates = live
    runs: list[int] = []
    project = live_module.project_hall

    def counting(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return project(*args, **kwargs)

    monkeypatch.setattr(live_module, "project_hall", counting)
    hall.counters.sign_in(B, "2", ZHANG)
    for _ in range(7):
        clock.advance(seconds=30)
        hall.tickets.issue(B, "BILL")
    served = hall.counters.call_next(B, "2", ZHANG)["ticket"]
    hall.tickets.act(B, served["id"], Action.START, ZHANG)
    live.refresh(B)
    assert len(runs) == 1
    return hall, live, runs


def expected_minutes(live: LiveHall) -> dict[int, float]:
    state = live._states[B]
    return {ticket_id: ticket["estimate"]["expected_min"] for ticket_id, ticket in state.tickets.items()}


def test_an_unchanged_idle_branch_reages_its_estimates_without_the_estimator(
        quiet: tuple[HallService, LiveHall, list[int]], clock: FakeClock) -> None:
    hall, live, runs = quiet
    before = expected_minutes(live)
    summary = live.summary(B)
    assert len(before) == 6 and min(before.values()) > 1.0
    clock.advance(minutes=1)
    live.refresh(B)
    assert len(runs) == 1  # the estimator did not run
    assert live.estimates_reaged == 1
    after = expected_minutes(live)
    assert after == pytest.approx({ticket_id: minutes - 1.0 for ticket_id, minutes in before.items()}, abs=0.11)
    again = live.summary(B)
    assert again["waiting_total"] == summary["waiting_total"] == 6
    assert again["services"]["BILL"]["estimate"] == summary["services"]["BILL"]["estimate"]  # a new ticket's
    assert live.glance(B).at == clock.now  # the overview sees the branch as of now

    hall.tickets.issue(B, "PLAN")  # something happened: the next refresh runs the estimator
    clock.advance(seconds=2)
    live.refresh(B)
    assert len(runs) == 2


def test_changed_plans_and_an_old_estimate_are_estimated_again(quiet: tuple[HallService, LiveHall, list[int]],
                                                                clock: FakeClock) -> None:
    _hall, live, runs = quiet
    live.note_plans_changed(B)  # a booking or the roster changed: no event, but the projection's future did
    clock.advance(seconds=30)
    live.refresh(B)
    assert len(runs) == 2
    refreshes = 0
    while len(runs) == 2:  # re-aged every minute, until the re-estimate is too old or a ticket's call is due
        clock.advance(minutes=1)
        live.refresh(B)
        refreshes += 1
    assert live.estimates_reaged == refreshes - 1
    assert 1 <= refreshes <= QUIET_REESTIMATE / timedelta(minutes=1)


def test_a_ticket_waiting_past_its_expected_call_is_estimated_again(
        quiet: tuple[HallService, LiveHall, list[int]], clock: FakeClock) -> None:
    _hall, live, runs = quiet
    soonest = min(expected_minutes(live).values())
    clock.advance(minutes=soonest + 0.2)
    live.refresh(B)
    assert len(runs) == 2 and live.estimates_reaged == 0
