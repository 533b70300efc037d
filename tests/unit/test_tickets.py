"""The ticket lifecycle state machine: every allowed transition, readable refusals, final states."""

from __future__ import annotations

import itertools

import pytest

from server.domain.errors import DomainError, IllegalTransition, NotFound
from server.domain.tickets import (
    ACTION_EVENT,
    SYSTEM_ACTIONS,
    Action,
    EventKind,
    TicketState,
    allowed_actions,
    counter_taking_kinds,
    is_token,
    new_token,
    next_state,
    require_token,
)

W, C, S, P, D, N, X, E = (
    TicketState.WAITING,
    TicketState.CALLED,
    TicketState.SERVING,
    TicketState.PARKED,
    TicketState.DONE,
    TicketState.NO_SHOW,
    TicketState.CANCELLED,
    TicketState.EXPIRED,
)

# The lifecycle as documented in server/domain/tickets.py, written out independently of the code's table.
EXPECTED: dict[tuple[TicketState, Action], TicketState] = {
    (W, Action.CALL): C,
    (W, Action.TRANSFER): W,
    (W, Action.CANCEL): X,
    (C, Action.RECALL): C,
    (C, Action.START): S,
    (C, Action.NO_SHOW): N,
    (C, Action.RETURN_TO_QUEUE): W,
    (C, Action.TRANSFER): W,
    (S, Action.FINISH): D,
    (S, Action.PARK): P,
    (S, Action.TRANSFER): W,
    (P, Action.RESUME): S,
    (N, Action.REACTIVATE): W,
    # the end of the service day closes whatever is still in the hall
    (W, Action.EXPIRE): E,
    (C, Action.EXPIRE): E,
    (S, Action.EXPIRE): E,
    (P, Action.EXPIRE): E,
    (N, Action.UNDO_NO_SHOW): C,
}

ILLEGAL = [pair for pair in itertools.product(TicketState, Action) if pair not in EXPECTED]


@pytest.mark.parametrize(("state", "action"), list(EXPECTED), ids=lambda v: str(v))
def test_allowed_transition_moves_to_documented_state(state: TicketState, action: Action) -> None:
    assert next_state(state, action) is EXPECTED[(state, action)]


@pytest.mark.parametrize("state", list(TicketState), ids=str)
def test_allowed_actions_lists_exactly_the_documented_ones(state: TicketState) -> None:
    expected = {action for (source, action) in EXPECTED if source == state and action not in SYSTEM_ACTIONS}
    actions = allowed_actions(state)
    assert set(actions) == expected
    assert len(actions) == len(set(actions))


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_transition_raises_and_names_the_allowed_actions(state: TicketState, action: Action) -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state(state, action)
    exc = info.value
    assert isinstance(exc, DomainError)
    assert exc.code == "illegal_transition"
    assert exc.http_status == 409
    assert exc.details == {"state": state.value, "action": action.value}
    message = str(exc)
    assert message == exc.message
    assert action.value.replace("_", " ") in message
    assert state.value.replace("_", " ") in message
    allowed_part = message.split("allowed:", 1)[1]
    for allowed in allowed_actions(state):
        assert allowed.value in allowed_part
    for other in set(Action) - set(allowed_actions(state)):
        assert other.value not in allowed_part.replace(" ", "").split(",")


def test_illegal_transition_message_reads_naturally() -> None:
    with pytest.raises(IllegalTransition,
                       match=r"^cannot finish a ticket that is no show; allowed: reactivate, undo_no_show$"):
        next_state(N, Action.FINISH)
    with pytest.raises(IllegalTransition, match=r"^cannot no show a ticket that is waiting; allowed: "):
        next_state(W, Action.NO_SHOW)


def test_the_system_alone_expires_a_ticket() -> None:
    assert SYSTEM_ACTIONS == (Action.EXPIRE,)
    assert all(Action.EXPIRE not in allowed_actions(state) for state in TicketState)


@pytest.mark.parametrize("state", [D, X, E], ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_final_states_accept_nothing(state: TicketState, action: Action) -> None:
    assert state.is_final
    assert allowed_actions(state) == []
    with pytest.raises(IllegalTransition, match=r"allowed: nothing \(final state\)$"):
        next_state(state, action)


def test_only_done_cancelled_and_expired_are_final() -> None:
    assert {s for s in TicketState if s.is_final} == {D, X, E}
    # a no-show can still be re-activated, so it is not final
    assert not N.is_final


def test_only_called_and_serving_hold_the_counter() -> None:
    assert {s for s in TicketState if s.holds_counter} == {C, S}


def test_a_counter_takes_up_a_customer_by_a_call_a_resume_or_an_undone_no_show() -> None:
    assert set(counter_taking_kinds()) == {EventKind.CALLED, EventKind.RESUMED, EventKind.NO_SHOW_UNDONE}


def test_every_action_records_an_event_kind() -> None:
    assert set(ACTION_EVENT) == set(Action)
    assert all(isinstance(kind, EventKind) for kind in ACTION_EVENT.values())
    assert len(set(ACTION_EVENT.values())) == len(Action)


def test_every_non_final_state_can_be_left_and_every_state_is_reachable() -> None:
    reachable = {W}
    frontier = [W]
    while frontier:
        state = frontier.pop()
        for action in [*allowed_actions(state), *(a for a in SYSTEM_ACTIONS if (state, a) in EXPECTED)]:
            target = next_state(state, action)
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(TicketState)
    for state in TicketState:
        assert state.is_final or allowed_actions(state)


@pytest.mark.parametrize(
    "path",
    [
        [Action.CALL, Action.START, Action.FINISH],
        [Action.CALL, Action.RECALL, Action.RECALL, Action.START, Action.PARK, Action.RESUME, Action.FINISH],
        [Action.CALL, Action.NO_SHOW, Action.REACTIVATE, Action.CALL, Action.START, Action.FINISH],
        [Action.CALL, Action.RETURN_TO_QUEUE, Action.CANCEL],
        [Action.CALL, Action.START, Action.TRANSFER, Action.CALL, Action.START, Action.FINISH],
        [Action.TRANSFER, Action.TRANSFER, Action.CANCEL],
    ],
    ids=["plain", "recall-park", "no-show-reactivate", "return-cancel", "transfer-serving", "transfer-waiting"],
)
def test_whole_lifecycles_end_in_a_final_state(path: list[Action]) -> None:
    state = W
    for action in path:
        state = next_state(state, action)
    assert state.is_final


def test_issued_tokens_are_tokens_and_malformed_ones_name_no_ticket() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200 and all(is_token(t) and len(t) == 24 for t in tokens)
    for bad in ["", "short", "a" * 65, "abcdefghijklmnop\x00qrstuvw", "abcdefghijklmnop/qrstuvw", None, 7]:
        assert not is_token(bad)
        with pytest.raises(NotFound) as refused:
            require_token(bad)
        assert refused.value.code == "unknown_ticket"
