"""The follow-up case's state machine, due time and overdue rule (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import DomainError
from server.domain.follow_ups import (
    TRANSITIONS,
    CaseAction,
    CaseStatus,
    FollowUpRules,
    allowed_actions,
    is_overdue,
    may_assign,
    next_status,
    percentile,
    time_to_resolve,
)
from server.domain.values import InvalidValue

statuses = st.sampled_from(list(CaseStatus))
actions = st.sampled_from(list(CaseAction))
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))


@given(st.lists(actions, max_size=30))
def test_any_sequence_of_allowed_actions_keeps_a_known_status(sequence: list[CaseAction]) -> None:
    status = CaseStatus.OPEN
    for action in sequence:
        if action in allowed_actions(status):
            status = next_status(status, action)
        else:
            with pytest.raises(DomainError) as refused:
                next_status(status, action)
            assert refused.value.code == "bad_transition"
    assert status in CaseStatus


@given(statuses, actions)
def test_allowed_actions_are_exactly_the_transitions(status: CaseStatus, action: CaseAction) -> None:
    assert (action in allowed_actions(status)) == ((status, action) in TRANSITIONS)


def test_the_loop_open_in_progress_resolved_reopen() -> None:
    assert next_status(CaseStatus.OPEN, CaseAction.START) is CaseStatus.IN_PROGRESS
    assert next_status(CaseStatus.IN_PROGRESS, CaseAction.RESOLVE) is CaseStatus.RESOLVED
    assert next_status(CaseStatus.RESOLVED, CaseAction.REOPEN) is CaseStatus.OPEN
    assert allowed_actions(CaseStatus.RESOLVED) == [CaseAction.REOPEN]
    assert not may_assign(CaseStatus.RESOLVED) and may_assign(CaseStatus.IN_PROGRESS)


@given(statuses, instants, st.floats(min_value=0.01, max_value=720), st.integers(min_value=-10**6, max_value=10**6))
def test_overdue_exactly_when_unresolved_and_past_due(status: CaseStatus, opened: datetime, hours: float,
                                                      offset_s: int) -> None:
    due = FollowUpRules(hours).due_at(opened)
    assert due - opened == timedelta(hours=hours)
    now = due + timedelta(seconds=offset_s)
    assert is_overdue(status, due, now) == (status is not CaseStatus.RESOLVED and offset_s > 0)


@given(instants, instants)
def test_time_to_resolve_is_never_negative(created: datetime, resolved: datetime) -> None:
    took = time_to_resolve(created, resolved)
    assert took is not None and took >= timedelta(0)
    assert time_to_resolve(created, None) is None


@pytest.mark.parametrize("bad", [0, -1, 721, True, "24", float("nan")])
def test_a_bad_answer_time_is_refused_naming_the_key(bad: object) -> None:
    with pytest.raises(InvalidValue) as refused:
        FollowUpRules(bad)  # type: ignore[arg-type]
    assert refused.value.field == "answer_hours"


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50))
def test_percentiles_are_values_in_order(values: list[float]) -> None:
    median, p90 = percentile(values, 0.5), percentile(values, 0.9)
    assert median in values and p90 in values
    assert min(values) <= median <= p90 <= max(values)  # type: ignore[operator]


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([1, 2, 3, 4], 0.5) == 2
    assert percentile(list(range(1, 11)), 0.9) == 9
