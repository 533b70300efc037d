"""A refresh reads everything it needs in one read transaction (one connection checked out of the read pool), whichever
way it goes: the full re-estimate, the re-aged estimate of a quiet branch, the patch after an issue or a call, and a
refused patch that falls through to the full re-estimate. The connection is back in the pool before it computes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from server.domain.tickets import PriorityClass
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.live import LiveHall
from tests.conftest import RecordingPublisher
from tests.integration.test_patched_refresh import busy_hall
from tests.support import FakeClock

B = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")


class Checkouts:
    """Counts the read pool's connection checkouts, and how many were out whenever the refresh computed."""

    def __init__(self, live: LiveHall) -> None:
        self.count = 0
        self.out = 0
        self.out_while_computing: list[int] = []
        engine = live.uow.read_engine
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)
        compute = live._compute

        def watched(state: Any, work: Callable[[], Any]) -> Any:
            self.out_while_computing.append(self.out)
            return compute(state, work)

        live._compute = watched  # type: ignore[method-assign]

    def _checkout(self, *_args: Any) -> None:
        self.count += 1
        self.out += 1

    def _checkin(self, *_args: Any) -> None:
        self.out -= 1

    def during(self, step: Callable[[], None]) -> int:
        before = self.count
        self.out_while_computing.clear()
        step()
        assert self.out_while_computing and all(out == 0 for out in self.out_while_computing)
        return self.count - before


@pytest.fixture
def busy(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher,
         ) -> Iterator[tuple[HallService, LiveHall, Checkouts]]:
    """Two counters serving, a dozen waiting; a live side that has not refreshed the branch yet."""
    hall, live = busy_hall(database_url, tmp_path, clock, publisher)
    yield hall, live, Checkouts(live)


def test_each_way_of_a_refresh_reads_in_one_transaction(busy: tuple[HallService, LiveHall, Checkouts],
                                                        clock: FakeClock) -> None:
    hall, live, checkouts = busy
    assert checkouts.during(lambda: live.refresh(B)) == 1  # the first: learns 28 days, reads plans, queue, cases
    assert live.estimates_run == 1

    clock.advance(seconds=1)
    hall.tickets.issue(B, "PLAN")
    assert checkouts.during(lambda: live.refresh(B)) == 1  # patched
    assert live.estimates_patched == 1 and live.estimates_run == 1

    clock.advance(seconds=1)
    hall.counters.pause(B, "2", LI, "break")  # an event no patch follows
    assert checkouts.during(lambda: live.refresh(B)) == 1
    assert live.estimates_run == 2 and live.estimates_patched == 1

    clock.advance(seconds=1)
    hall.tickets.issue(B, "BILL", priority=PriorityClass.VIP, actor=ZHANG)  # the patch is tried and refused
    assert checkouts.during(lambda: live.refresh(B)) == 1
    assert live.estimates_run == 3 and live.estimates_patched == 1

    clock.advance(minutes=1)  # nothing happened since: re-aged
    assert checkouts.during(lambda: live.refresh(B)) == 1
    assert live.estimates_reaged == 1 and live.estimates_run == 3

    live.note_plans_changed(B)  # plans read again, with the rest
    clock.advance(seconds=1)
    assert checkouts.during(lambda: live.refresh(B, force_publish=True)) == 1
    assert live.estimates_run == 4 and live.estimates_patched == 1 and live.estimates_reaged == 1
    assert live.refreshes[B] == 6


def test_a_refused_patch_reads_the_queue_it_falls_back_to_in_the_same_transaction(
        busy: tuple[HallService, LiveHall, Checkouts], clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    hall, live, checkouts = busy
    live.refresh(B)
    refused: list[int] = []
    from server.services import live as live_module

    def refusing(*_args: Any, **_kwargs: Any) -> None:
        refused.append(1)
        return None

    monkeypatch.setattr(live_module, "patch_projection", refusing)
    clock.advance(seconds=1)
    hall.tickets.issue(B, "PLAN")
    assert checkouts.during(lambda: live.refresh(B)) == 1
    assert refused == [1]
    assert live.estimates_run == 2 and live.estimates_patched == 0
    assert live.summary(B)["waiting_total"] == 11
