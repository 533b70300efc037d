"""Two live sides of one hall (two processes' worth, on one database): only the branch's holder refreshes and
publishes; the other answers issue estimates, snapshots, alerts, the overview and phones from what the holder
shares, computes the branch itself when nobody shares, and pokes the holder after its own commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from server.domain.tickets import PriorityClass
from server.services.actor import Actor
from server.services.branch_leases import BranchLeases, MemoryLeaseStore
from server.services.hall import HallService
from server.services.live import STALE_AFTER, LiveHall
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_live import RecordingLivePublisher
from tests.support import FakeClock

B = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")


class Bus:
    """The channel between the processes: every message, as JSON, to every live side (the sender ignores its own)."""

    enabled = True

    def __init__(self) -> None:
        self.receivers: list[LiveHall] = []
        self.sent: list[dict[str, Any]] = []

    def publish(self, message: dict[str, Any]) -> None:
        wire = json.loads(json.dumps(message))
        self.sent.append(wire)
        for live in self.receivers:
            live.receive(wire)


class Monotonic:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def uncapped(data: dict[str, Any]) -> None:
    """No daily cap on any service: the size measurement queues 1,000 for one service."""
    for branch in data["branches"]:
        for service in branch["services"]:
            service.pop("daily_cap", None)


@pytest.fixture
def pair(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher
         ) -> tuple[HallService, LiveHall, LiveHall, RecordingLivePublisher, RecordingLivePublisher, Bus]:
    hall = build_service(database_url, tmp_path, clock, publisher, more=uncapped)
    bus, mono = Bus(), Monotonic()
    store = MemoryLeaseStore(mono)
    pushed_a, pushed_b = RecordingLivePublisher(), RecordingLivePublisher()
    a = LiveHall(hall.config, hall.uow, clock, publisher=pushed_a, leases=BranchLeases(store, "a", clock=mono),
                 share=bus, owner="a")
    b = LiveHall(hall.config, hall.uow, clock, publisher=pushed_b, leases=BranchLeases(store, "b", clock=mono),
                 share=bus, owner="b")
    bus.receivers = [a, b]
    branches = [branch.code for branch in hall.config.branches]
    assert a.leases.tick(branches) == branches  # a starts first and takes the hall's one branch
    assert b.leases.tick(branches) == []
    hall.estimates = b  # the requests below reach process b
    return hall, a, b, pushed_a, pushed_b, bus


def test_only_the_holder_refreshes_and_publishes_and_the_other_serves_its_results(pair: Any, clock: FakeClock
                                                                                  ) -> None:
    hall, a, b, pushed_a, pushed_b, bus = pair
    hall.counters.sign_in(B, "2", ZHANG)
    tickets = [hall.tickets.issue(B, "BILL") for _ in range(3)]
    clock.advance(seconds=5)
    b.refresh(B)  # b runs a refresh for its own reads (at start-up, or orphaned): it publishes nothing
    assert pushed_b.summaries == [] and pushed_b.ticket_updates == [] and bus.sent == []
    clock.advance(seconds=5)
    a.refresh(B)
    assert len(pushed_a.summaries) == 1 and len(pushed_a.ticket_updates) == 3
    assert [m["type"] for m in bus.sent] == ["projection", "ticket_figures"]
    # b's screens get no second summary from b; b's phones get the holder's ticket updates through b
    assert pushed_b.summaries == [] and len(pushed_b.ticket_updates) == 3
    # b's reads are the holder's results, the same figures to the minute
    assert b.summary(B) == a.summary(B)
    for lane in (PriorityClass.NORMAL, PriorityClass.PRIORITY):
        mine, theirs = b.new_ticket_estimate(B, "BILL", lane, 7), a.new_ticket_estimate(B, "BILL", lane, 7)
        assert mine is not None and theirs is not None
        assert mine.as_dict() == theirs.as_dict()
    assert b.glance(B).as_dict() == a.glance(B).as_dict()
    assert b.ticket_live(B, tickets[2]["id"]) == a.ticket_live(B, tickets[2]["id"])
    snapshot = b.decorate_snapshot(hall.queries.snapshot(B), staff=True)
    assert snapshot["estimates_at"] == a.summary(B)["generated_at"]
    # a ticket called: the holder says it no longer waits, and b forgets its live figures
    called = hall.counters.call_next(B, "2", ZHANG)["ticket"]
    clock.advance(seconds=2)
    a.refresh(B)
    assert b.ticket_live(B, called["id"]) is None and b.ticket_live(B, tickets[2]["id"])["people_ahead"] == 1


def test_the_overview_on_the_other_process_hears_of_a_changed_glance(pair: Any, clock: FakeClock) -> None:
    hall, a, b, *_ = pair
    heard: list[str] = []
    b.on_glance(heard.append)
    a.refresh(B)
    assert heard == [B]
    a.refresh(B)
    assert heard == [B]  # nothing changed
    hall.tickets.issue(B, "BILL")
    clock.advance(seconds=3)
    a.refresh(B)
    assert heard == [B, B] and b.glance(B).waiting == 1


def test_a_command_on_the_other_process_pokes_the_holder(pair: Any) -> None:
    _hall, a, b, *_ = pair
    a.take_dirty()
    b.poke(B, True)
    assert a.take_dirty() == {B: True}
    b.note_plans_changed(B)  # a roster change or a booking through b: the holder reads its plans again
    assert a.take_dirty() == {B: False}


def test_without_a_holder_sharing_the_other_computes_the_branch_itself(pair: Any, clock: FakeClock) -> None:
    hall, a, b, _pushed_a, pushed_b, _bus = pair
    assert b.orphaned(B)  # nothing computed nor shared yet
    a.refresh(B)
    assert not b.orphaned(B)
    clock.advance(seconds=STALE_AFTER.total_seconds() + 1)  # the holder went silent (Redis down, or it died)
    assert b.orphaned(B)
    hall.tickets.issue(B, "BILL")
    b.refresh(B)  # for its own reads only
    assert not b.orphaned(B) and b.summary(B)["waiting_total"] == 1 and pushed_b.summaries == []


def test_a_former_holders_late_messages_are_ignored_by_the_new_holder(pair: Any, clock: FakeClock) -> None:
    hall, a, b, _pushed_a, _pushed_b, bus = pair
    a.refresh(B)
    stale = next(m for m in bus.sent if m["type"] == "projection")
    b.leases.store.keys.clear()  # a's lease expired; b takes the branch
    b.leases.tick([B])
    assert b.leases.holds(B) and b.leases.takeovers == 1
    hall.tickets.issue(B, "BILL")
    clock.advance(seconds=2)
    b.refresh(B, force_publish=True)
    b.receive(stale)
    assert b.summary(B)["waiting_total"] == 1


def test_a_phone_gets_the_same_update_from_either_process_built_from_the_figures_the_holder_sent(
        pair: Any, clock: FakeClock) -> None:
    hall, a, _b, pushed_a, pushed_b, bus = pair
    hall.counters.sign_in(B, "2", ZHANG)
    for _ in range(4):
        hall.tickets.issue(B, "BILL")
    clock.advance(seconds=5)
    a.refresh(B)
    hall.counters.call_next(B, "2", ZHANG)
    clock.advance(seconds=2)
    a.refresh(B)
    assert pushed_b.ticket_updates == pushed_a.ticket_updates and len(pushed_a.ticket_updates) == 7
    sent = [m for m in bus.sent if m["type"] == "ticket_figures"][-1]
    assert "text" not in json.dumps(sent)  # numbers only: the texts are built where the phones are
    assert all(update["estimate"]["text"]["zh-CN"] and update["estimate"]["text"]["en"]
               for update in pushed_b.ticket_updates if update["estimate"]["known"])


def test_the_updates_of_a_holder_of_the_earlier_release_still_reach_the_phones(pair: Any) -> None:
    _hall, _a, b, _pushed_a, pushed_b, _bus = pair
    update = {"ticket_id": 7, "number": "A007", "state": "waiting", "people_ahead": 2, "seq": 9,
              "estimate": {"known": False, "reason": "not_yet"}, "callable_from": None, "callable_from_time": None}
    b.receive({"format": 1, "type": "tickets", "owner": "old", "branch": B, "updates": [update], "gone": []})
    assert pushed_b.ticket_updates == [update]


@pytest.mark.parametrize("waiting", [200, 1000])
def test_the_ticket_updates_between_processes_after_a_call_are_compact(pair: Any, clock: FakeClock,
                                                                      waiting: int) -> None:
    """The message after a call: the changed tickets' figures, against the updates themselves as sent before."""
    hall, a, b, pushed_a, pushed_b, bus = pair
    hall.counters.sign_in(B, "2", ZHANG)
    for _ in range(waiting + 1):
        hall.tickets.issue(B, "BILL")
    clock.advance(seconds=5)
    a.refresh(B)
    before = len(pushed_a.ticket_updates)
    hall.counters.call_next(B, "2", ZHANG)
    clock.advance(seconds=2)
    a.refresh(B)
    updates = pushed_a.ticket_updates[before:]
    sent = [m for m in bus.sent if m["type"] == "ticket_figures"][-1]
    compact = len(json.dumps(sent, separators=(",", ":")))
    earlier = len(json.dumps({"format": 1, "type": "tickets", "owner": "a", "branch": B, "updates": updates,
                              "gone": sent["gone"]}, separators=(",", ":")))
    started = time.perf_counter()
    b.receive(json.loads(json.dumps(sent)))  # what taking it in costs the other process (its phones pushed again)
    took = time.perf_counter() - started
    print(f"{waiting} waiting, {len(updates)} changed: {earlier / 1000:.0f} kB as updates, "
          f"{compact / 1000:.0f} kB as figures; taken in in {took * 1000:.0f} ms")
    assert len(sent["tickets"]) == len(updates) and compact * 3 < earlier
    assert pushed_b.ticket_updates[-len(updates):] == updates
