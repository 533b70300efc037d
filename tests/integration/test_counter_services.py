"""Today's services of a counter: chosen at sign-in within the configured ones, used by call-next and the queue.

Runs on SQLite and PostgreSQL (the ``hall`` fixture), plus the sign-in body through the HTTP API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.domain.errors import DomainError
from server.domain.tickets import Action
from server.services.actor import Actor
from server.services.hall import HallService
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")


def issue(hall: HallService, clock: FakeClock, service: str) -> dict[str, Any]:
    clock.advance(seconds=30)
    return hall.tickets.issue(BRANCH, service)


def counter(hall: HallService, number: str) -> dict[str, Any]:
    return next(c for c in hall.queries.snapshot(BRANCH, staff=True)["counters"] if c["number"] == number)


def test_call_next_uses_only_todays_services(hall: HallService, clock: FakeClock) -> None:
    bill = issue(hall, clock, "BILL")  # counter 2 prefers BILL, and BILL waits longer
    plan = issue(hall, clock, "PLAN")
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["PLAN"])
    called = hall.counters.call_next(BRANCH, "2", ZHANG)
    assert called["ticket"]["number"] == plan["number"]
    hall.tickets.act(BRANCH, plan["id"], Action.START, ZHANG)
    hall.tickets.act(BRANCH, plan["id"], Action.FINISH, ZHANG)
    assert hall.counters.call_next(BRANCH, "2", ZHANG) == {"ticket": None, "waiting": 0}
    assert [t["number"] for t in hall.queries.counter_queue(BRANCH, "1")["waiting"]] == [bill["number"]]


def test_chosen_services_keep_the_configured_order_of_preference(hall: HallService, clock: FakeClock) -> None:
    plan = issue(hall, clock, "PLAN")
    sim = issue(hall, clock, "SIM")
    bill = issue(hall, clock, "BILL")
    hall.counters.sign_in(BRANCH, "3", LI, services=["BILL", "SIM"])  # configured: PLAN, SIM, BILL
    view = counter(hall, "3")
    assert view["services"] == ["SIM", "BILL"]
    assert view["configured_services"] == ["PLAN", "SIM", "BILL"]
    queue = hall.queries.counter_queue(BRANCH, "3")
    assert [t["number"] for t in queue["waiting"]] == [sim["number"], bill["number"]]
    assert plan["number"] not in [t["number"] for t in queue["waiting"]]
    assert queue["counter_state"]["services"] == ["SIM", "BILL"]
    assert queue["seq"] > 0


def test_a_service_the_counter_may_not_serve_is_refused(hall: HallService) -> None:
    with pytest.raises(DomainError) as refused:
        hall.counters.sign_in(BRANCH, "2", ZHANG, services=["BILL", "VIP"])
    assert refused.value.code == "service_not_at_counter"
    assert refused.value.http_status == 422
    with pytest.raises(DomainError) as empty:
        hall.counters.sign_in(BRANCH, "2", ZHANG, services=[])
    assert empty.value.code == "no_services"
    assert counter(hall, "2")["status"] == "closed"


def test_calling_a_ticket_of_another_service_is_refused(hall: HallService, clock: FakeClock) -> None:
    bill = issue(hall, clock, "BILL")
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["PLAN"])
    with pytest.raises(DomainError) as refused:
        hall.counters.call_ticket(BRANCH, "2", bill["id"], ZHANG)
    assert refused.value.code == "not_eligible"


def test_a_ticket_transferred_to_the_counter_is_served_whatever_its_service(hall: HallService,
                                                                            clock: FakeClock) -> None:
    sim = issue(hall, clock, "SIM")
    hall.counters.sign_in(BRANCH, "3", LI, services=["SIM"])
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["PLAN"])
    hall.counters.call_next(BRANCH, "3", LI)
    hall.tickets.transfer(BRANCH, sim["id"], LI, to_counter="2", note="needs the plan desk")
    assert [t["number"] for t in hall.queries.counter_queue(BRANCH, "2")["waiting"]] == [sim["number"]]
    assert hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]["number"] == sim["number"]


def test_signing_in_again_changes_the_services_and_tells_the_screens(hall: HallService,
                                                                    publisher: RecordingPublisher) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["PLAN"])
    before = len(publisher.events)
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["BILL", "PLAN"])
    assert counter(hall, "2")["services"] == ["BILL", "PLAN"]
    changed = publisher.events[before:]
    assert [e["kind"] for e in changed] == ["counter_signed_in"]
    assert changed[0]["services"] == ["BILL", "PLAN"] and changed[0]["status"] == "open"
    hall.counters.sign_in(BRANCH, "2", ZHANG)  # no services given: no change, no event
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["PLAN", "BILL"])  # the same set: no event either
    assert len(publisher.events) == before + 1


def test_signing_out_or_a_takeover_starts_again_from_all_services(hall: HallService) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["PLAN"])
    hall.counters.sign_out(BRANCH, "2", ZHANG)
    assert counter(hall, "2")["services"] == ["BILL", "PLAN"]
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["PLAN"])
    hall.counters.sign_in(BRANCH, "2", LI, takeover=True)
    assert counter(hall, "2")["services"] == ["BILL", "PLAN"]
    assert counter(hall, "2")["staff"] == "li.na"


def test_people_ahead_count_only_the_counters_serving_the_service_today(hall: HallService,
                                                                      clock: FakeClock) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG, services=["PLAN"])  # counter 2 open, but not for BILL today
    hall.counters.sign_in(BRANCH, "3", LI)  # counter 3 serves PLAN, SIM, BILL: BILL is its last preference
    issue(hall, clock, "PLAN")
    issue(hall, clock, "SIM")
    bill = issue(hall, clock, "BILL")
    # counter 3 calls the PLAN and SIM tickets before the BILL one; counter 2 (PLAN only) is no help
    assert bill["people_ahead"] == 2


def test_the_api_takes_todays_services_at_sign_in(tmp_path: Path, clock: FakeClock) -> None:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path)
    app, _socketio = create_app(config, clock=clock, publisher=RecordingPublisher())
    try:
        client = app.test_client()
        assert client.post("/api/session", json={"username": "zhang.wei", "password": "demo-staff"}).status_code == 200
        url = f"/api/branches/{BRANCH}/counters/2/sign-in"
        refused = client.post(url, json={"services": ["SIM"]})
        assert refused.status_code == 422
        assert refused.get_json()["error"] == "service_not_at_counter"
        assert client.post(url, json={"services": []}).status_code == 422
        answer = client.post(url, json={"services": ["PLAN"]})
        assert answer.status_code == 200
        assert answer.get_json()["services"] == ["PLAN"]
        queue = client.get(f"/api/branches/{BRANCH}/counters/2/queue").get_json()
        assert queue["counter_state"]["services"] == ["PLAN"]
        assert queue["counter_state"]["staff"] == "zhang.wei"
    finally:
        hall = app.extensions["hall"]
        hall.uow.engine.dispose()
        hall.uow.read_engine.dispose()


# --- finish and call next: one tap for a clerk serving back to back --------------------------------------------

def test_finish_and_call_next_is_one_command_with_both_events(hall: HallService, clock: FakeClock,
                                                              publisher: RecordingPublisher) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    first, second = issue(hall, clock, "BILL"), issue(hall, clock, "BILL")
    called = hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]
    served = hall.tickets.act(BRANCH, called["id"], Action.START, ZHANG)["ticket"]
    clock.advance(minutes=4)
    before = len(publisher.events)

    answer = hall.counters.finish_and_call_next(BRANCH, "2", ZHANG, expected_version=served["version"],
                                                idempotency_key="tap-1")
    assert (answer["finished"]["number"], answer["finished"]["state"]) == (first["number"], "done")
    assert (answer["ticket"]["number"], answer["ticket"]["state"]) == (second["number"], "called")
    assert answer["waiting"] == 0
    events = publisher.events[before:]
    assert [e["kind"] for e in events] == ["finished", "called"]
    assert [e["seq"] for e in events] == [events[0]["seq"], events[0]["seq"] + 1]  # one commit, in order
    assert hall.counters.finish_and_call_next(BRANCH, "2", ZHANG, idempotency_key="tap-1")["replayed"] is True
    assert len(publisher.events) == before + 2  # the retry changed nothing


def test_finish_and_call_next_refuses_without_a_served_ticket_or_with_a_stale_one(
        hall: HallService, clock: FakeClock) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    with pytest.raises(DomainError) as nothing:
        hall.counters.finish_and_call_next(BRANCH, "2", ZHANG)
    assert nothing.value.code == "nothing_to_finish"
    issue(hall, clock, "BILL")
    called = hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]
    with pytest.raises(DomainError) as stale:
        hall.counters.finish_and_call_next(BRANCH, "2", ZHANG, expected_version=called["version"] - 1)
    assert stale.value.code == "stale"
    with pytest.raises(DomainError) as not_served:  # called, not yet served: finishing is not allowed
        hall.counters.finish_and_call_next(BRANCH, "2", ZHANG)
    assert not_served.value.code == "illegal_transition"
    with pytest.raises(DomainError) as other:
        hall.counters.finish_and_call_next(BRANCH, "2", LI)
    assert other.value.code == "not_your_counter"


def test_a_paused_counter_only_finishes(hall: HallService, clock: FakeClock) -> None:
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    issue(hall, clock, "BILL")
    waiting = issue(hall, clock, "BILL")
    called = hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]
    hall.tickets.act(BRANCH, called["id"], Action.START, ZHANG)
    hall.counters.pause(BRANCH, "2", ZHANG, "break")
    answer = hall.counters.finish_and_call_next(BRANCH, "2", ZHANG)
    assert answer["finished"]["state"] == "done" and answer["ticket"] is None
    assert hall.queries.ticket_by_token(waiting["token"])["state"] == "waiting"
