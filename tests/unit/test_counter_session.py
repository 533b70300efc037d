"""The counter session aggregate: sign-in with today's services, pauses, sign-out, and who may act."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.counter_session import CounterChange, CounterSession, choose_services, services_today
from server.domain.errors import DomainError, NotAllowed
from server.domain.tickets import EventKind

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
CONFIGURED = ("bill", "plan", "sim")


def test_sign_in_opens_the_counter_with_todays_services_in_preference_order() -> None:
    session = CounterSession("B", "3")
    assert session.status == "closed" and session.services_today(CONFIGURED) == CONFIGURED
    chosen = choose_services("3", CONFIGURED, ["sim", "bill"])
    assert chosen == ("bill", "sim")
    change = session.sign_in("li.na", T0, chosen, CONFIGURED)
    assert change == CounterChange(EventKind.COUNTER_SIGNED_IN, "li.na", "open", data={"services": ["bill", "sim"]})
    assert session.services_today(CONFIGURED) == ("bill", "sim")
    assert session.change_services(("bill", "sim"), CONFIGURED) is None  # nothing changes
    again = session.change_services(None, CONFIGURED)
    assert again is not None and again.reason == "services changed" and again.data == {"services": list(CONFIGURED)}


def test_choosing_services_refuses_none_and_foreign_ones_and_stores_all_as_none() -> None:
    assert choose_services("3", CONFIGURED, None) is None
    assert choose_services("3", CONFIGURED, ["sim", "plan", "bill"]) is None
    with pytest.raises(DomainError) as empty:
        choose_services("3", CONFIGURED, [])
    assert (empty.value.code, empty.value.http_status) == ("no_services", 422)
    with pytest.raises(DomainError) as foreign:
        choose_services("3", CONFIGURED, ["bill", "vip"])
    assert foreign.value.code == "service_not_at_counter" and foreign.value.details["services"] == ["vip"]


def test_pause_and_resume_record_who_and_for_how_long() -> None:
    session = CounterSession("B", "3")
    session.sign_in("li.na", T0, None, CONFIGURED)
    paused = session.pause("break", T0 + timedelta(minutes=5), "manager")
    assert paused == CounterChange(EventKind.COUNTER_PAUSED, "manager", "paused", "break")
    with pytest.raises(DomainError, match="already paused"):
        session.pause("again", T0, "li.na")
    resumed = session.resume(T0 + timedelta(minutes=20), "li.na")
    assert resumed.data == {"paused_seconds": 900.0} and session.status == "open"
    with pytest.raises(DomainError) as not_paused:
        session.resume(T0, "li.na")
    assert not_paused.value.code == "not_paused"


def test_sign_out_is_refused_while_a_ticket_is_at_the_counter_and_changes_nothing() -> None:
    session = CounterSession("B", "3")
    session.sign_in("li.na", T0, ("sim",), CONFIGURED)
    before = dataclasses.asdict(session)
    with pytest.raises(DomainError) as busy:
        session.sign_out("signed out", "A007", "serving")
    assert busy.value.code == "counter_busy" and dataclasses.asdict(session) == before
    change = session.sign_out("signed out")
    assert change == CounterChange(EventKind.COUNTER_SIGNED_OUT, "li.na", "closed", "signed out")
    assert (session.staff_username, session.services, session.paused) == (None, None, False)


def test_take_over_signs_the_previous_holder_out() -> None:
    session = CounterSession("B", "3")
    session.sign_in("li.na", T0, None, CONFIGURED)
    change = session.take_over("zhang.wei")
    assert change == CounterChange(EventKind.COUNTER_SIGNED_OUT, "li.na", "closed", "taken over by zhang.wei")


def test_only_the_holder_or_a_manager_acts_at_a_counter() -> None:
    session = CounterSession("B", "3")
    with pytest.raises(DomainError) as closed:
        session.check_held_by("li.na", manager=True)
    assert closed.value.code == "counter_closed"
    session.sign_in("li.na", T0, None, CONFIGURED)
    session.check_held_by("li.na", manager=False)
    session.check_held_by("manager", manager=True)
    with pytest.raises(NotAllowed) as other:
        session.check_held_by("zhang.wei", manager=False)
    assert other.value.code == "not_your_counter"


@given(st.lists(st.sampled_from(CONFIGURED), unique=True))
def test_todays_services_keep_the_configured_order_and_are_never_empty(chosen: list[str]) -> None:
    today = services_today(CONFIGURED, chosen)
    assert today and list(today) == [c for c in CONFIGURED if c in chosen or not chosen]
