"""The ticket aggregate: each command checks the lifecycle, sets its fields and returns the event to record."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import policy
from server.domain.errors import DomainError, IllegalTransition, StaleState
from server.domain.ticket import COUNTER_ACTIONS, Ticket, TicketChange
from server.domain.tickets import (
    ACTION_EVENT,
    SYSTEM_ACTIONS,
    Action,
    EventKind,
    PriorityClass,
    TicketState,
    allowed_actions,
)

RULES = policy.PolicyRules()
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
DAY = date(2026, 11, 24)
UNDO = timedelta(seconds=10)


def issued(priority: PriorityClass = PriorityClass.NORMAL, now: datetime = T0) -> Ticket:
    ticket, change = Ticket.issue(branch_code="B", service_code="bill", day=date(2026, 11, 24), sequence=7,
                                  number="A007", priority=priority, channel="kiosk", language="en", now=now,
                                  rules=RULES, estimate={"known": False})
    assert change == TicketChange(EventKind.ISSUED, data={"priority": priority.value, "channel": "kiosk",
                                                           "estimate": {"known": False}})
    ticket.id = 1
    return ticket


def perform(ticket: Ticket, action: Action, now: datetime) -> TicketChange:
    """Any action with plausible arguments (what a service would pass)."""
    if action is Action.CALL:
        return ticket.call("3", "zhang.wei", now, today=DAY)
    if action is Action.TRANSFER:
        return ticket.transfer(now, to_service="sim", to_counter=None, note="needs a SIM", rules=RULES)
    if action is Action.CANCEL:
        return ticket.cancel(now)
    if action is Action.REACTIVATE:
        return ticket.reactivate(now, window=WINDOW, rules=RULES, today=DAY)
    if action is Action.EXPIRE:
        return ticket.expire(now, "day_ended")
    if action is Action.UNDO_NO_SHOW:
        return ticket.undo_no_show(now, window=UNDO, today=DAY)
    return ticket.at_counter(action, now)


def test_a_new_ticket_waits_with_the_queue_key_of_its_class() -> None:
    ticket = issued(PriorityClass.PRIORITY)
    assert ticket.state is TicketState.WAITING and ticket.version == 1
    assert ticket.queued_at == ticket.issued_at == T0
    assert ticket.queue_key_us == policy.queue_key_us(ticket.queued(), RULES)
    assert ticket.queue_key_us < issued(PriorityClass.NORMAL).queue_key_us  # the head start


def test_a_service_walks_call_start_finish_with_its_times_and_event_data() -> None:
    ticket = issued()
    called = ticket.call("3", "zhang.wei", T0 + timedelta(minutes=4), today=DAY)
    assert called == TicketChange(EventKind.CALLED, "3", {"wait_seconds": 240.0, "priority": "normal"})
    assert (ticket.state, ticket.counter_number, ticket.staff_username) == (TicketState.CALLED, "3", "zhang.wei")
    started = ticket.start(T0 + timedelta(minutes=5))
    assert started == TicketChange(EventKind.SERVING, "3", {"walk_up_seconds": 60.0})
    finished = ticket.finish(T0 + timedelta(minutes=11))
    assert finished == TicketChange(EventKind.FINISHED, "3", {"service_seconds": 360.0})
    assert ticket.state is TicketState.DONE and ticket.finished_at == T0 + timedelta(minutes=11)
    assert ticket.version == 4


def test_a_transfer_requeues_with_the_transfer_head_start_and_says_where_from() -> None:
    ticket = issued()
    ticket.call("3", "zhang.wei", T0, today=DAY)
    ticket.start(T0 + timedelta(minutes=1))
    change = ticket.transfer(T0 + timedelta(minutes=3), to_service="sim", to_counter="5", note="ID", rules=RULES)
    assert change.kind is EventKind.TRANSFERRED and change.counter == "3" and change.reason == "ID"
    assert change.data == {"from_service": "bill", "to_service": "sim", "from_counter": "3", "to_counter": "5",
                           "service_seconds": 120.0}
    assert (ticket.state, ticket.service_code, ticket.target_counter) == (TicketState.WAITING, "sim", "5")
    assert ticket.counter_number is None and ticket.service_started_at is None and ticket.transferred
    assert ticket.queue_key_us == policy.queue_key_us(ticket.queued(), RULES)


def test_reactivation_is_refused_after_the_window_and_allowed_within_it() -> None:
    ticket = issued()
    ticket.call("3", "zhang.wei", T0, today=DAY)
    ticket.no_show(T0 + timedelta(minutes=2))
    late = copy.deepcopy(ticket)
    with pytest.raises(DomainError) as refused:
        late.reactivate(T0 + timedelta(minutes=33), window=WINDOW, rules=RULES, today=DAY)
    assert refused.value.code == "reactivate_window_passed"
    assert dataclasses.asdict(late) == dataclasses.asdict(ticket)  # nothing changed
    change = ticket.reactivate(T0 + timedelta(minutes=20), window=WINDOW, rules=RULES, today=DAY)
    assert change == TicketChange(EventKind.REACTIVATED)
    assert ticket.state is TicketState.WAITING and ticket.queued_at == T0 + timedelta(minutes=20)
    assert ticket.counter_number is None and ticket.no_show_at is None


@pytest.mark.parametrize("steps", [[], [Action.CALL], [Action.CALL, Action.START],
                                   [Action.CALL, Action.START, Action.PARK]],
                         ids=["waiting", "called", "serving", "parked"])
def test_a_ticket_left_in_the_hall_expires_naming_its_state_and_counter(steps: list[Action]) -> None:
    ticket = issued()
    for step in steps:
        perform(ticket, step, T0)
    was, counter = ticket.state, ticket.counter_number
    change = ticket.expire(T0 + timedelta(hours=12), "day_ended")
    assert change == TicketChange(EventKind.EXPIRED, counter, {"was": was.value}, "day_ended")
    assert ticket.state is TicketState.EXPIRED and ticket.state.is_final
    assert ticket.expired_at == T0 + timedelta(hours=12)
    with pytest.raises(IllegalTransition):
        ticket.expire(T0 + timedelta(hours=13), "day_ended")


def test_a_ticket_of_an_earlier_day_is_never_called_or_reactivated() -> None:
    ticket = issued()
    before = dataclasses.asdict(ticket)
    with pytest.raises(DomainError) as refused:
        ticket.call("3", "zhang.wei", T0 + timedelta(days=1), today=DAY + timedelta(days=1))
    assert refused.value.code == "ticket_of_another_day"
    assert refused.value.details == {"service_day": "2026-11-24"}
    assert dataclasses.asdict(ticket) == before
    ticket.call("3", "zhang.wei", T0, today=DAY)
    ticket.no_show(T0)
    with pytest.raises(DomainError, match="not of today"):
        ticket.reactivate(T0 + timedelta(minutes=5), window=WINDOW, rules=RULES, today=DAY + timedelta(days=1))
    assert ticket.state is TicketState.NO_SHOW
def test_an_undone_no_show_is_called_again_as_it_was_within_seconds_only() -> None:
    ticket = issued()
    ticket.call("3", "zhang.wei", T0, today=DAY)
    ticket.recall(T0 + timedelta(minutes=1))
    ticket.no_show(T0 + timedelta(minutes=2))
    assert ticket.reactivate_until(WINDOW) == T0 + timedelta(minutes=32)
    late = copy.deepcopy(ticket)
    with pytest.raises(DomainError) as refused:
        late.undo_no_show(T0 + timedelta(minutes=2, seconds=11), window=UNDO, today=DAY)
    assert refused.value.code == "undo_window_passed"
    assert dataclasses.asdict(late) == dataclasses.asdict(ticket)
    change = ticket.undo_no_show(T0 + timedelta(minutes=2, seconds=10), window=UNDO, today=DAY)
    assert change == TicketChange(EventKind.NO_SHOW_UNDONE, "3", {"no_show_seconds": 10.0})
    assert (ticket.state, ticket.counter_number, ticket.no_show_at) == (TicketState.CALLED, "3", None)
    assert (ticket.called_at, ticket.recall_count) == (T0 + timedelta(minutes=1), 1)
    assert ticket.reactivate_until(WINDOW) is None


def test_a_stale_version_is_refused_with_the_current_state() -> None:
    ticket = issued()
    ticket.call("3", "zhang.wei", T0, today=DAY)
    ticket.check_version(2)
    ticket.check_version(None)
    with pytest.raises(StaleState) as stale:
        ticket.check_version(1)
    assert stale.value.details == {"state": "called", "version": 2}


def test_at_counter_takes_only_the_counter_actions() -> None:
    assert set(COUNTER_ACTIONS) == {Action.RECALL, Action.START, Action.FINISH, Action.NO_SHOW,
                                    Action.RETURN_TO_QUEUE, Action.PARK, Action.RESUME}
    with pytest.raises(ValueError):
        issued().at_counter(Action.CALL, T0)


@settings(max_examples=300, deadline=None)
@given(actions=st.lists(st.sampled_from(list(Action)), max_size=25),
       priority=st.sampled_from(list(PriorityClass)),
       gaps=st.lists(st.integers(min_value=0, max_value=600), min_size=25, max_size=25))
def test_any_command_sequence_follows_the_lifecycle_and_a_refusal_changes_nothing(
        actions: list[Action], priority: PriorityClass, gaps: list[int]) -> None:
    ticket = issued(priority)
    now = T0
    for action, gap in zip(actions, gaps, strict=False):
        now += timedelta(seconds=gap)
        before = dataclasses.asdict(ticket)
        allowed = action in allowed_actions(ticket.state) or (action in SYSTEM_ACTIONS and ticket.state.in_progress)
        try:
            change = perform(ticket, action, now)
        except IllegalTransition:
            assert not allowed
            assert dataclasses.asdict(ticket) == before
            continue
        except DomainError as refused:  # a no-show back too late
            assert (refused.code, action) in {("reactivate_window_passed", Action.REACTIVATE),
                                              ("undo_window_passed", Action.UNDO_NO_SHOW)}
            assert dataclasses.asdict(ticket) == before
            continue
        assert allowed
        assert change.kind is ACTION_EVENT[action]
        assert ticket.version == before["version"] + 1
        if ticket.state is TicketState.EXPIRED:
            assert ticket.expired_at == now and change.data == {"was": before["state"].value}
            assert change.counter == before["counter_number"]
            continue
        # the counter fields say the same as the state
        assert (ticket.counter_number is not None) == (ticket.state in (TicketState.CALLED, TicketState.SERVING,
                                                                         TicketState.PARKED, TicketState.NO_SHOW,
                                                                         TicketState.DONE))
        if ticket.state is TicketState.WAITING:
            assert ticket.queue_key_us == policy.queue_key_us(ticket.queued(), RULES)
        if action is Action.CALL:
            assert change.counter == ticket.counter_number == "3"
        elif action in (Action.RETURN_TO_QUEUE, Action.TRANSFER, Action.NO_SHOW):
            assert change.counter == before["counter_number"]


def test_no_code_outside_the_aggregate_sets_a_ticket_field() -> None:
    """Services load, act and save: an assignment to a ticket's lifecycle field elsewhere would bypass the rules."""
    import ast
    from pathlib import Path

    fields = {f.name for f in dataclasses.fields(Ticket)} - {"id"}
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("server/**/*.py"), *root.glob("kiosk/**/*.py"), *root.glob("display/**/*.py")]:
        if path.name == "ticket.py" and path.parent.name == "domain":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
            for target in targets:
                for part in (target.elts if isinstance(target, ast.Tuple | ast.List) else [target]):
                    if (isinstance(part, ast.Attribute) and part.attr in fields and isinstance(part.value, ast.Name)
                            and "ticket" in part.value.id.lower()):
                        offenders.append(f"{path.relative_to(root)}:{node.lineno} {part.value.id}.{part.attr}")
    assert offenders == []
