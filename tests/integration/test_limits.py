"""The limits on abuse through the service layer (SQLite and PostgreSQL), the API and the socket ``join``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.app import create_app
from server.domain.limits import Rate, TooManyTickets
from server.domain.tickets import PriorityClass
from server.launcher import LIMITS_OFF
from server.persistence.database import make_engine, make_readonly_engine
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.limits import JoinLimiter, TooManyJoins
from server.services.unit_of_work import UnitOfWork
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
PHONE_A, PHONE_B = "phone-6d1f0c2a", "phone-93be7f10"
HERE, THERE = "192.168.1.20", "192.168.1.77"


def with_limits(**limits: Any) -> Any:
    """``more`` for the demo config: the demo's [limits] (not the tests' "off"), with these changes."""

    def more(data: dict[str, Any]) -> None:
        for key in LIMITS_OFF:
            data["limits"].pop(key, None)
        data["limits"].update({"refusal_delay_s": 0, **limits})

    return more


@pytest.fixture
def limited(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> HallService:
    return build_service(database_url, tmp_path, clock, publisher, more=with_limits())


def issue(hall: HallService, *, device: str | None = None, address: str | None = HERE, key: str | None = None,
          actor: Actor | None = None, service: str = "BILL") -> dict[str, Any]:
    return hall.tickets.issue(BRANCH, service, device=device, address=address, idempotency_key=key,
                              actor=actor or Actor(username=None, device=device))


def refused(hall: HallService, **kwargs: Any) -> TooManyTickets:
    with pytest.raises(TooManyTickets) as caught:
        issue(hall, **kwargs)
    return caught.value


# --- tickets -------------------------------------------------------------------------------------------


def test_a_busy_kiosk_is_never_refused(limited: HallService, clock: FakeClock) -> None:
    """Ten tickets a minute for an hour from kiosk K1, and bursts of five within seconds."""
    for minute in range(60):
        for _ in range(10):
            issue(limited, device="K1")
            clock.advance(seconds=5 if minute % 10 else 1)
        clock.advance(seconds=60 - (50 if minute % 10 else 10))


def test_a_kiosk_flood_is_refused_past_its_rate_and_let_in_again(limited: HallService, clock: FakeClock) -> None:
    for _ in range(30):
        issue(limited, device="K1")
    found = refused(limited, device="K1")
    assert (found.code, found.details["limit"], found.details["retry_after_s"]) == ("too_many_tickets", "kiosk", 60)
    clock.advance(seconds=61)
    issue(limited, device="K1")


def test_a_phone_has_two_tickets_in_the_hall_at_most(limited: HallService, clock: FakeClock) -> None:
    first = issue(limited, device=PHONE_A)
    issue(limited, device=PHONE_A, service="PLAN")
    found = refused(limited, device=PHONE_A, service="SIM")
    assert (found.code, found.details["limit"]) == ("too_many_open_tickets", "device_open")
    assert found.http_status == 429 and found.details["retry_after_s"] == 60
    issue(limited, device=PHONE_B)  # another phone at the same address is not affected
    limited.tickets.cancel_by_customer(first["token"])
    issue(limited, device=PHONE_A)


def test_a_phone_takes_a_few_tickets_an_hour(limited: HallService, clock: FakeClock) -> None:
    for _ in range(4):
        ticket = issue(limited, device=PHONE_A)
        limited.tickets.cancel_by_customer(ticket["token"])
        clock.advance(minutes=5)
    found = refused(limited, device=PHONE_A, address=THERE)  # the device's count follows it to another address
    assert (found.code, found.details["limit"], found.details["retry_after_s"]) == ("too_many_tickets", "device",
                                                                                  40 * 60)


def test_new_device_ids_per_request_meet_the_address_limit_while_a_kiosk_there_goes_on(
        limited: HallService, clock: FakeClock) -> None:
    """The flood of the report (a script inventing ids) from one address; the hall's kiosk shares the address."""
    taken = 0
    for n in range(200):
        try:
            ticket = issue(limited, device=f"script-{n}")
        except TooManyTickets as exc:
            assert exc.details["limit"] in ("address", "address_open")
            continue
        taken += 1
        limited.tickets.cancel_by_customer(ticket["token"])  # a careful attacker frees its open tickets
        if n % 10 == 0:
            issue(limited, device="K1")
    assert taken == 60
    assert refused(limited).details["limit"] == "address"  # no device id at all: the same address count
    for _ in range(5):
        issue(limited, device="K1")
    issue(limited, device=PHONE_A, address=THERE)  # another address is not affected


def test_someone_claiming_to_be_a_kiosk_does_not_use_up_the_real_kiosk(limited: HallService) -> None:
    for _ in range(30):
        issue(limited, device="K1", address=THERE)
    assert refused(limited, device="K1", address=THERE).details["limit"] == "kiosk"
    issue(limited, device="K1", address=HERE)


def test_kiosk_networks_keep_a_claimed_kiosk_id_to_a_phones_limits(
        database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> None:
    hall = build_service(database_url, tmp_path, clock, publisher,
                         more=with_limits(kiosk_networks=["192.168.1.0/28"]))
    for _ in range(10):
        issue(hall, device="K1", address="192.168.1.5")
    issue(hall, device="K1", address=THERE)
    issue(hall, device="K1", address=THERE)
    assert refused(hall, device="K1", address=THERE).details["limit"] == "device_open"


def test_staff_and_calls_from_inside_the_server_are_not_limited(limited: HallService) -> None:
    staff = Actor(username="zhang.wei", role="staff")
    for _ in range(40):
        issue(limited, actor=staff)
        issue(limited, address=None)
    limited.tickets.issue(BRANCH, "BILL", priority=PriorityClass.VIP, actor=staff, address=HERE)


def test_a_retry_of_a_ticket_already_given_is_answered_past_the_limit(limited: HallService) -> None:
    first = issue(limited, device=PHONE_A, key="tap-1")
    issue(limited, device=PHONE_A, key="tap-2")
    refused(limited, device=PHONE_A, key="tap-3")
    again = issue(limited, device=PHONE_A, key="tap-1")
    assert again["replayed"] is True and again["token"] == first["token"]


def test_simultaneous_requests_cannot_slip_past_a_limit(
        database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> None:
    """Twenty threads at once, five allowed: the count and the insert share the branch's lock."""
    hall = build_service(database_url, tmp_path, clock, publisher, more=with_limits(address_tickets="5/hour"))
    outcomes: list[str] = []
    start = threading.Barrier(20)

    def one(n: int) -> None:
        start.wait()
        try:
            issue(hall, device=f"thread-{n}")
            outcomes.append("issued")
        except TooManyTickets:
            outcomes.append("refused")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("issued") == 5


def test_two_server_processes_share_the_counts(
        database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> None:
    """Two services, each with its own engines (as two processes have), on one database."""
    first = build_service(database_url, tmp_path, clock, publisher, more=with_limits(address_tickets="10/hour"))
    url = first.config.server.database_url
    second = HallService(first.config, UnitOfWork(make_engine(url), make_readonly_engine(url), publisher),
                         clock=clock)
    issued = 0
    for n in range(20):
        try:
            issue(first if n % 2 else second, device=f"d{n}")
            issued += 1
        except TooManyTickets:
            pass
    assert issued == 10


def test_old_origins_are_purged_after_two_days(limited: HallService, clock: FakeClock) -> None:
    issue(limited, device=PHONE_A)
    clock.advance(hours=47)
    assert limited.purge_old_records() == 0
    clock.advance(hours=2)
    assert limited.purge_old_records() >= 1


# --- the API -------------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[Flask]:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=with_limits())
    app, _socketio = create_app(config, clock=clock, publisher=publisher)
    yield app
    app.extensions["hall"].uow.engine.dispose()


def test_the_api_answers_429_with_retry_after_and_the_reason(app: Flask) -> None:
    client = app.test_client()
    url = f"/api/branches/{BRANCH}/tickets"
    for _ in range(2):
        assert client.post(url, json={"service": "BILL"}, headers={"X-Device-Id": PHONE_A}).status_code == 201
    answer = client.post(url, json={"service": "BILL"}, headers={"X-Device-Id": PHONE_A})
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "60"
    assert answer.get_json()["error"] == "too_many_open_tickets"
    assert answer.get_json()["details"] == {"limit": "device_open", "allowed": 2, "retry_after_s": 60}
    for _ in range(30):
        assert client.post(url, json={"service": "BILL"}, headers={"X-Device-Id": "K1"}).status_code == 201
    answer = client.post(url, json={"service": "BILL"}, headers={"X-Device-Id": "K1"})
    assert answer.status_code == 429 and answer.get_json()["error"] == "too_many_tickets"
    assert answer.get_json()["details"]["limit"] == "kiosk" and answer.headers["Retry-After"] == "60"
    other = app.test_client()  # another address: werkzeug's test client takes REMOTE_ADDR from the environ
    assert other.post(url, json={"service": "BILL"}, headers={"X-Device-Id": "K1"},
                      environ_base={"REMOTE_ADDR": "192.168.1.99"}).status_code == 201


def test_the_openapi_document_names_the_429(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").get_json()
    assert "429" in document["paths"]["/api/branches/{branch}/tickets"]["post"]["responses"]


# --- socket joins --------------------------------------------------------------------------------------


def test_joins_are_limited_per_connection_and_a_flood_is_cut_off(app: Flask) -> None:
    socketio = app.extensions["hall_socketio"]
    client = socketio.test_client(app)
    answers = [client.emit("join", {"role": "display", "branch": BRANCH}, callback=True) for _ in range(20)]
    assert all(answer["ok"] for answer in answers)
    answer = client.emit("join", {"role": "display", "branch": BRANCH}, callback=True)
    assert answer["ok"] is False and answer["error"] == "too_many_joins" and answer["retry_after_s"] >= 1
    for _ in range(25):
        if not client.is_connected():
            break
        client.emit("join", {"role": "display", "branch": BRANCH}, callback=True)
    assert not client.is_connected()  # twice the limit: the connection is closed
    fresh = socketio.test_client(app)
    assert fresh.emit("join", {"role": "display", "branch": BRANCH}, callback=True)["ok"] is True


def test_joins_are_limited_per_address(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> None:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path,
                         more=with_limits(address_socket_joins="6/minute"))
    app, socketio = create_app(config, clock=clock, publisher=publisher)
    clients = [socketio.test_client(app) for _ in range(4)]
    answers = [c.emit("join", {"role": "kiosk", "branch": BRANCH}, callback=True) for c in clients for _ in range(2)]
    assert [a["ok"] for a in answers] == [True] * 6 + [False] * 2
    assert answers[-1]["error"] == "too_many_joins"
    app.extensions["hall"].uow.engine.dispose()


def test_a_refused_join_is_answered_late_and_a_granted_one_at_once() -> None:
    """Like a refused ticket: a script sending ``join`` as soon as it is answered then asks once a second, not
    1,250 times (four such scripts slowed the kiosk on a busy machine). Closing a connection is not delayed."""
    slept: list[float] = []
    joins = JoinLimiter(Rate(2, timedelta(minutes=1)), Rate(3, timedelta(seconds=10)), refusal_delay_s=1.0,
                        sleep=slept.append)
    assert joins.admit("sid-1", HERE) and joins.admit("sid-1", HERE) and slept == []
    with pytest.raises(TooManyJoins) as caught:
        joins.admit("sid-1", HERE)  # past the connection's limit
    assert slept == [1.0] and caught.value.details["limit"] == "connection"
    assert joins.admit("sid-2", HERE)
    with pytest.raises(TooManyJoins) as caught:
        joins.admit("sid-3", HERE)  # past the address's limit
    assert slept == [1.0, 1.0] and caught.value.details["limit"] == "address"
    with pytest.raises(TooManyJoins):
        joins.admit("sid-1", HERE)
    assert joins.admit("sid-1", HERE) is False  # twice the connection's limit: closed, without waiting
    assert slept == [1.0, 1.0, 1.0]
