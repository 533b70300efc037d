"""The public snapshot reads only what it shows, whatever the length of the queue; the staff view keeps its lists."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest

from server.domain.tickets import Action, PriorityClass, TicketState
from server.persistence import tickets as stored_tickets
from server.services.actor import Actor
from server.services.hall import HallService
from tests.support import FakeClock

B = "SZ-FUTIAN"
STAFF = {"1": Actor("zhang.wei", "staff"), "2": Actor("li.na", "staff"), "3": Actor("wang.fang", "staff")}


def busy(hall: HallService, clock: FakeClock, count: int) -> dict[str, Any]:
    """``count`` tickets of every kind of service and lane, with every way of leaving the queue: called, served,
    parked, cancelled, transferred, no-show. Returns the ticket each counter holds."""
    for number, actor in STAFF.items():
        hall.counters.sign_in(B, number, actor)
    services = ["BILL", "PLAN", "SIM", "BROADBAND", "DEVICE"]
    issued = []
    for index in range(count):
        clock.advance(seconds=10)
        priority = PriorityClass.PRIORITY if index % 7 == 0 else PriorityClass.NORMAL
        issued.append(hall.tickets.issue(B, services[index % len(services)], priority=priority, actor=STAFF["1"]))
    hall.tickets.cancel_by_customer(issued[-1]["token"])
    hall.tickets.transfer(B, issued[-2]["id"], STAFF["1"], to_service="SIM")
    held = {}
    for number, actor in STAFF.items():
        held[number] = hall.counters.call_next(B, number, actor)["ticket"]
    hall.tickets.act(B, held["1"]["id"], Action.START, STAFF["1"])
    hall.tickets.act(B, held["1"]["id"], Action.FINISH, STAFF["1"])
    held["1"] = hall.counters.call_next(B, "1", STAFF["1"])["ticket"]
    hall.tickets.act(B, held["2"]["id"], Action.NO_SHOW, STAFF["2"])
    held["2"] = hall.counters.call_next(B, "2", STAFF["2"])["ticket"]
    hall.tickets.act(B, held["2"]["id"], Action.START, STAFF["2"])
    return held


def test_the_public_snapshot_counts_what_the_staff_view_lists(hall: HallService, clock: FakeClock) -> None:
    held = busy(hall, clock, 120)
    public, staff = hall.queries.snapshot(B), hall.queries.snapshot(B, staff=True)

    assert "waiting" not in public and "parked" not in public  # public screens get counts, never the queue
    listed = Counter(ticket["service"] for ticket in staff["waiting"])
    assert sum(listed.values()) == 120 - 1 - 5  # one cancelled; five called (two called again after leaving)
    for view in (public, staff):
        assert view["waiting_total"] == sum(listed.values())
        assert {s["code"]: s["waiting"] for s in view["services"]} == {
            s.code: listed.get(s.code, 0) for s in hall.config.branch(B).services}
    assert public["seq"] == staff["seq"]
    counters = {c["number"]: c for c in public["counters"]}
    for number, ticket in held.items():
        assert counters[number]["current"]["number"] == ticket["number"]
    assert counters["2"]["current"]["state"] == TicketState.SERVING.value
    assert all(counters[c.number]["current"] is None for c in hall.config.branch(B).counters if c.number not in held)
    assert [call["number"] for call in public["recent_calls"]][:3] == [
        held["2"]["number"], held["1"]["number"], held["3"]["number"]]


def test_the_public_snapshot_reads_no_waiting_ticket(hall: HallService, clock: FakeClock,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Its reads of tickets stay bounded by the counters, so a display joining a long queue pays nothing for it."""
    busy(hall, clock, 60)
    asked: list[set[TicketState]] = []
    loaded = []
    original = stored_tickets.in_states

    def recording(connection: Any, branch_code: str, states: Iterable[TicketState], *args: Any) -> Any:
        asked.append(set(states))
        found = original(connection, branch_code, list(asked[-1]), *args)
        loaded.extend(found)
        return found

    monkeypatch.setattr(stored_tickets, "in_states", recording)
    public = hall.queries.snapshot(B)
    assert public["waiting_total"] == 60 - 1 - 5
    assert asked and all(TicketState.WAITING not in states and TicketState.PARKED not in states for states in asked)
    assert len(loaded) <= len(hall.config.branch(B).counters)

    asked.clear()
    staff = hall.queries.snapshot(B, staff=True)  # staff consoles list the queue: they still read it
    assert any(TicketState.WAITING in states for states in asked)
    assert len(staff["waiting"]) == public["waiting_total"]
