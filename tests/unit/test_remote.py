"""The virtual queue's pure rules: call-next never calls a remote ticket not checked in, an arrived one keeps its
turn; the arrival code's windows; the set-up's values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain import remote
from server.domain.policy import (
    CounterSkills,
    PolicyRules,
    QueuedTicket,
    call_key,
    choose_next,
    is_callable,
    is_eligible,
)
from server.domain.tickets import PriorityClass
from server.domain.values import InvalidValue

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
RULES = PolicyRules()
COUNTER = CounterSkills("1", ("BILL", "PLAN"))
SECRET = "s" * 40

tickets = st.lists(
    st.builds(lambda i, service, minutes, priority, away: (i, service, minutes, priority, away),
              st.integers(1, 10_000), st.sampled_from(["BILL", "PLAN", "SIM"]), st.integers(0, 600),
              st.sampled_from(list(PriorityClass)), st.booleans()),
    max_size=25, unique_by=lambda t: t[0])


def queue(raw: list[tuple[int, str, int, PriorityClass, bool]]) -> list[QueuedTicket]:
    return [QueuedTicket(i, service, priority, T0 + timedelta(minutes=minutes), awaiting_arrival=away)
            for i, service, minutes, priority, away in raw]


@given(tickets)
def test_call_next_never_calls_a_remote_ticket_not_checked_in(raw: list[tuple[int, str, int, PriorityClass, bool]]
                                                             ) -> None:
    waiting = queue(raw)
    chosen = choose_next(COUNTER, waiting, RULES, T0 + timedelta(hours=12))
    assert chosen is None or not chosen.awaiting_arrival
    # ... and it is the one the counter would call were those customers not in the queue at all (none is blocked)
    assert chosen == choose_next(COUNTER, [t for t in waiting if not t.awaiting_arrival], RULES, T0)


@given(tickets, st.data())
def test_a_checked_in_ticket_keeps_its_turn(raw: list[tuple[int, str, int, PriorityClass, bool]],
                                            data: st.DataObject) -> None:
    """Checked in, a remote ticket is called by the key it had all along: next, if that key is ahead of the ticket
    that would be called otherwise (it was held aside meanwhile), else it waits its turn like anyone."""
    waiting = queue(raw)
    away = [t for t in waiting if t.awaiting_arrival]
    if not away:
        return
    arriving = data.draw(st.sampled_from(away))
    arrived = replace(arriving, awaiting_arrival=False)
    now = T0 + timedelta(hours=12)
    before = choose_next(COUNTER, waiting, RULES, now)
    after = choose_next(COUNTER, [arrived if t.ticket_id == arriving.ticket_id else t for t in waiting], RULES, now)
    if not is_eligible(arrived, COUNTER):
        assert after == before
    elif before is None or call_key(arrived, COUNTER, RULES) < call_key(before, COUNTER, RULES):
        assert after == arrived
    else:
        assert after == before


def test_the_estimators_projection_counts_a_customer_on_the_way() -> None:
    away = QueuedTicket(1, "BILL", PriorityClass.NORMAL, T0, awaiting_arrival=True)
    assert is_callable(away, None)
    assert not is_callable(away, T0)


def test_the_arrival_code_changes_and_the_previous_one_is_still_accepted() -> None:
    code, changes_at = remote.current_arrival_code(SECRET, "SZ-FUTIAN", T0)
    assert len(code) == remote.ARRIVAL_CODE_LENGTH and changes_at > T0
    assert remote.arrival_code_valid(SECRET, "SZ-FUTIAN", code.lower(), T0)
    assert remote.arrival_code_valid(SECRET, "SZ-FUTIAN", code, changes_at + timedelta(seconds=1))
    assert not remote.arrival_code_valid(SECRET, "SZ-FUTIAN", code, changes_at + remote.ARRIVAL_WINDOW)
    assert not remote.arrival_code_valid(SECRET, "SZ-LUOHU", code, T0)  # another branch's wall
    assert not remote.arrival_code_valid("t" * 40, "SZ-FUTIAN", code, T0)  # another server's secret


@given(st.text(min_size=1, max_size=40))
def test_any_text_is_checked_as_a_code_without_error(code: str) -> None:
    """Whatever a phone sends (accents, lone surrogates) is a code that does not match, never an error."""
    assert not remote.arrival_code_valid(SECRET, "SZ-FUTIAN", code, T0) or code.strip().isascii()


@given(st.integers(0, 10**9))
def test_a_code_is_accepted_for_at_least_one_window_and_at_most_two(seconds: int) -> None:
    shown_at = T0 + timedelta(seconds=seconds)
    code, changes_at = remote.current_arrival_code(SECRET, "B", shown_at)
    assert remote.arrival_code_valid(SECRET, "B", code, shown_at + remote.ARRIVAL_WINDOW - timedelta(microseconds=1))
    assert not remote.arrival_code_valid(SECRET, "B", code, changes_at + remote.ARRIVAL_WINDOW)


def test_a_held_ticket_expires_after_its_check_in_time() -> None:
    allowance = remote.ServiceRemote(enabled=True, checkin_min=20).allowance
    assert not remote.hold_expired(None, allowance, T0 + timedelta(days=1))  # never held aside: never expires
    assert not remote.hold_expired(T0, allowance, T0 + timedelta(minutes=19, seconds=59))
    assert remote.hold_expired(T0, allowance, T0 + timedelta(minutes=20))


@pytest.mark.parametrize("minutes", [0, 241, True])
def test_a_bad_check_in_time_is_refused_naming_it(minutes: int) -> None:
    with pytest.raises(InvalidValue) as refused:
        remote.ServiceRemote(enabled=True, checkin_min=minutes)
    assert refused.value.field == "checkin_min"
