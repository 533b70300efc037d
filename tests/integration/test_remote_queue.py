"""The virtual queue on SQLite and PostgreSQL: a ticket taken on a phone is not called until it checks in, is held
aside (its check-in time running) once a counter calls past it, keeps its place and is called next once it checks in,
expires when held too long; one open remote ticket per number and a daily limit; check-in by the wall's code (old and
wrong codes refused), at the kiosk and by staff (audited), idempotent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.domain import remote
from server.domain.audit import AuditAction
from server.domain.errors import DomainError, NotFound
from server.domain.privacy import Purpose
from server.domain.tickets import Action, EventKind
from server.persistence.audit import AuditFilter
from server.persistence.tables import CustomerContact, TicketEvent
from server.services.actor import Actor
from server.services.hall import HallService
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
PHONE = "138 1234 5678"
ZHANG = Actor("zhang.wei", "staff")


def join(hall: HallService, phone: str = PHONE, service: str = "PLAN", **kwargs: Any) -> dict[str, Any]:
    return hall.remote.join(BRANCH, service, phone=phone, consent=True, language="en", **kwargs)


def call_next(hall: HallService) -> dict[str, Any] | None:
    return hall.counters.call_next(BRANCH, "3", ZHANG)["ticket"]


def code_now(hall: HallService) -> str:
    return remote.current_arrival_code(hall.config.server.secret_key, BRANCH, hall.clock())[0]


def refused(code: str, action: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        action()
    assert caught.value.code == code, caught.value.details
    return caught.value


def test_a_remote_ticket_is_passed_over_until_it_checks_in_then_called_next(hall: HallService,
                                                                             clock: FakeClock) -> None:
    mine = join(hall)
    assert mine["remote"] and mine["awaiting_arrival"] and mine["check_in_by"] is None and mine["token"]
    first = hall.tickets.issue(BRANCH, "PLAN")
    second = hall.tickets.issue(BRANCH, "PLAN")
    hall.counters.sign_in(BRANCH, "3", ZHANG)
    clock.advance(minutes=1)
    called = call_next(hall)
    assert called is not None and called["id"] == first["id"]  # the remote one does not block the queue
    held = hall.queries.ticket_by_token(mine["token"])
    assert held["state"] == "waiting" and held["check_in_by"] is not None  # held aside: its check-in time runs
    hall.tickets.act(BRANCH, first["id"], Action.START, ZHANG)
    clock.advance(minutes=2)
    answer = hall.remote.check_in_by_code(mine["token"], code_now(hall))
    assert answer["checked_in"] and not answer["already"] and not answer["awaiting_arrival"]
    assert answer["people_ahead"] == 0  # it kept its place: ahead of the walk-in who came after it
    nxt = hall.counters.finish_and_call_next(BRANCH, "3", ZHANG)["ticket"]
    assert nxt is not None and nxt["id"] == mine["id"] and second["id"] != mine["id"]


def test_a_held_remote_ticket_expires_after_its_check_in_time(hall: HallService, clock: FakeClock) -> None:
    mine = join(hall)
    never_held = join(hall, phone="139 0000 0000", service="BROADBAND")
    hall.tickets.issue(BRANCH, "PLAN")
    hall.counters.sign_in(BRANCH, "3", ZHANG)
    call_next(hall)
    clock.advance(minutes=19)
    assert hall.remote.expire_due(BRANCH) == 0
    clock.advance(minutes=1)
    # the live loop asks for all its branches at once (one read); only the branches asked about are expired
    others = [branch.code for branch in hall.config.branches if branch.code != BRANCH]
    assert hall.expire_holds(others) == 0
    assert hall.queries.ticket_by_token(mine["token"])["state"] == "waiting"
    assert hall.expire_holds([*others, BRANCH]) == 1
    assert hall.expire_holds([*others, BRANCH]) == 0
    assert hall.queries.ticket_by_token(mine["token"])["state"] == "expired"
    assert hall.queries.ticket_by_token(never_held["token"])["state"] == "waiting"  # nobody passed it: no clock
    with hall.uow.read() as session:
        event = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == mine["id"],
                                                       TicketEvent.kind == EventKind.EXPIRED.value)).one()
    assert event.reason == "not_checked_in"
    refused("not_waiting", lambda: hall.remote.check_in_by_code(mine["token"], code_now(hall)))


def test_one_open_remote_ticket_per_number_and_a_daily_limit(hall: HallService) -> None:
    first = join(hall)
    error = refused("remote_ticket_open", lambda: join(hall, phone="+86 138-1234-5678"))
    assert error.details["text"]["zh-CN"] and error.details["field"] == "phone"
    hall.tickets.cancel_by_customer(first["token"])
    second = join(hall)
    hall.tickets.cancel_by_customer(second["token"])
    third = join(hall)
    hall.tickets.cancel_by_customer(third["token"])
    error = refused("remote_daily_limit", lambda: join(hall))  # the demo's 3 a day
    assert error.details["limit"] == 3
    join(hall, phone="139 0000 0000")  # another number is not affected
    with hall.uow.read() as session:
        kept = session.scalars(select(CustomerContact)
                               .where(CustomerContact.purpose == Purpose.REMOTE_QUEUE.value)).all()
    assert len(kept) == 4 and all(c.phone == "+8613812345678" for c in kept[:3])
    assert all(c.purge_after <= c.consent_at + timedelta(days=1) for c in kept)  # kept a day at most


def test_joining_is_refused_where_the_service_does_not_allow_it_or_without_consent(hall: HallService) -> None:
    refused("remote_not_offered", lambda: join(hall, service="BILL"))
    refused("consent_required", lambda: hall.remote.join(BRANCH, "PLAN", phone=PHONE, consent=False))
    refused("bad_phone", lambda: join(hall, phone="12"))


def test_a_retried_join_gets_the_same_ticket(hall: HallService) -> None:
    first = join(hall, idempotency_key="k-1")
    again = join(hall, idempotency_key="k-1")
    assert again["id"] == first["id"]


def test_check_in_is_idempotent_and_old_or_wrong_codes_are_refused(hall: HallService, clock: FakeClock) -> None:
    mine = join(hall)
    old = code_now(hall)
    clock.advance(seconds=remote.ARRIVAL_WINDOW.total_seconds() * 2 + 1)
    error = refused("bad_arrival_code", lambda: hall.remote.check_in_by_code(mine["token"], old))
    assert error.http_status == 400 and error.details["text"]["en"].startswith("This check-in code is old")
    refused("bad_arrival_code", lambda: hall.remote.check_in_by_code(mine["token"], "WRONGCODE2"))
    assert hall.remote.check_in_by_code(mine["token"], code_now(hall))["already"] is False
    assert hall.remote.check_in_by_code(mine["token"], code_now(hall))["already"] is True
    walk_in = hall.tickets.issue(BRANCH, "PLAN")
    refused("not_remote", lambda: hall.remote.check_in_by_code(walk_in["token"], code_now(hall)))


def test_check_in_at_the_kiosk_by_phone_or_number_and_by_staff(hall: HallService) -> None:
    by_phone = join(hall)
    by_number = join(hall, phone="139 0000 0000")
    by_staff = join(hall, phone="137 0000 0000", service="BROADBAND")
    refused("bad_checkin", lambda: hall.remote.check_in_at_kiosk(BRANCH))
    with pytest.raises(NotFound):
        hall.remote.check_in_at_kiosk(BRANCH, phone="136 0000 0000")
    assert hall.remote.check_in_at_kiosk(BRANCH, phone=PHONE)["id"] == by_phone["id"]
    assert hall.remote.check_in_at_kiosk(BRANCH, number=by_number["number"].lower())["id"] == by_number["id"]
    with pytest.raises(NotFound):  # checked in already: no longer awaiting
        hall.remote.check_in_at_kiosk(BRANCH, phone=PHONE)
    answer = hall.remote.check_in_by_staff(BRANCH, by_staff["id"], ZHANG)
    assert not answer["awaiting_arrival"]
    [entry] = hall.audit.search(Actor("manager", "manager"),
                                AuditFilter(actions=(AuditAction.CHECKED_IN_FOR_CUSTOMER,)))
    assert hall.audit.view(entry)["after"] == {"ticket": by_staff["number"], "outcome": "remote"}
