"""Invariants of the hall simulator, and that it drives the real policy and the real estimator."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

import benchmarks.wait_accuracy as bench
from benchmarks.sim import SCENARIOS, DayResult, HallDay, Outcome, Scenario
from benchmarks.sim.hall import HALL_TIMEZONE
from server.domain import estimation
from server.domain.estimation import BranchModel, QueueSnapshot, WaitEstimate
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket, choose_next
from server.domain.tickets import PriorityClass


def run_day(scenario: Scenario, seed: int = 1, **kwargs: object) -> tuple[DayResult, BranchModel]:
    model = BranchModel(scenario.expected_service(), HALL_TIMEZONE)
    return HallDay(scenario, 0, np.random.SeedSequence([seed]), model, **kwargs).run(), model  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_ticket_is_called_cancelled_or_still_waiting_at_close(name: str) -> None:
    result, _model = run_day(SCENARIOS[name])
    assert result.tickets
    called = result.count(Outcome.SERVED) + result.count(Outcome.NO_SHOW)
    assert called + result.count(Outcome.CANCELLED) + result.waiting_at_close == len(result.tickets)
    assert result.count(Outcome.WAITING) == result.waiting_at_close
    assert len(result.calls) == called
    assert len({ticket_id for _m, _c, ticket_id in result.calls}) == called  # nobody is called twice
    for ticket in result.tickets:
        if ticket.outcome in (Outcome.SERVED, Outcome.NO_SHOW):
            assert ticket.called_at is not None and ticket.called_at >= ticket.issued
        if ticket.outcome == Outcome.SERVED:
            assert ticket.present_at(ticket.called_at)  # type: ignore[arg-type]
        if ticket.outcome == Outcome.CANCELLED:
            assert ticket.called_at is None and ticket.left_at is not None


def test_walk_outs_become_no_shows_or_cancellations() -> None:
    result, model = run_day(SCENARIOS["single_abandon"])
    walked = [t for t in result.tickets if t.left_at is not None]
    assert walked
    assert all(t.outcome in (Outcome.NO_SHOW, Outcome.CANCELLED, Outcome.WAITING) for t in walked)
    assert model.abandonment.no_show_probability(timedelta(minutes=20)) > 0.1


@pytest.mark.parametrize("name", ["single_abandon", "multi_bank", "multi_telecom"])
def test_fifo_within_priority_class_and_service(name: str) -> None:
    """The policy gives tickets of one class and service the same head start and rank at any counter,
    so none of them may be called while an earlier one of the same class and service still waits."""
    result, _model = run_day(SCENARIOS[name], seed=3)
    tickets = result.tickets
    for ticket in tickets:
        if ticket.called_at is None:
            continue
        for earlier in tickets:
            if (
                earlier.issued < ticket.issued
                and earlier.service == ticket.service
                and earlier.ticket.priority == ticket.ticket.priority
            ):
                left_queue = earlier.called_at if earlier.called_at is not None else earlier.left_at
                assert left_queue is not None and left_queue <= ticket.called_at, (earlier, ticket)


def test_counters_follow_the_roster_and_serve_only_their_services() -> None:
    scenario = SCENARIOS["multi_telecom"]
    result, _model = run_day(scenario)
    plan = scenario.staffing()
    skills = {c.counter: c.services for c in scenario.counters}
    order = [c.counter for c in scenario.counters]
    by_id = {t.ticket_id: t for t in result.tickets}
    for minute, counter, ticket_id in result.calls:
        assert by_id[ticket_id].service in skills[counter]
        hour = min(int(minute // 60), scenario.hours - 1)
        assert order.index(counter) < plan[hour]  # only rostered counters call


def test_the_simulator_calls_the_real_policy() -> None:
    calls: list[CounterSkills] = []

    def spy(counter: CounterSkills, waiting: list[QueuedTicket], rules: PolicyRules) -> QueuedTicket | None:
        calls.append(counter)
        return choose_next(counter, waiting, rules)

    assert HallDay.__init__.__defaults__ is not None and choose_next in HallDay.__init__.__defaults__
    result, _model = run_day(SCENARIOS["multi_bank"], choose=spy)
    assert len(calls) >= len(result.calls) > 0


def test_the_model_learns_from_the_simulated_history() -> None:
    scenario = SCENARIOS["multi_bank"]
    result, model = run_day(scenario)
    assert model.service_times.observations("cash") > 50
    cash = next(s for s in scenario.services if s.code == "cash")
    assert abs(model.service_times.mean_minutes("cash", 12) - cash.mean_minutes) < abs(
        cash.configured_minutes - cash.mean_minutes
    )
    assert model.arrivals.services() == {s.code for s in scenario.services}
    assert result.count(Outcome.SERVED) > 0


def test_the_benchmark_drives_the_real_estimator_through_its_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bench.estimate_waits is estimation.estimate_waits
    assert bench.estimate_new_ticket is estimation.estimate_new_ticket
    seen: dict[str, int] = {"waits": 0, "new": 0}

    def waits(snapshot: QueueSnapshot, rules: PolicyRules, model: BranchModel) -> dict[int, WaitEstimate]:
        assert isinstance(snapshot, QueueSnapshot) and snapshot.now.tzinfo is not None
        seen["waits"] += 1
        result = estimation.estimate_waits(snapshot, rules, model)
        assert set(result) == {t.ticket_id for t in snapshot.waiting}
        return result

    def new(snapshot: QueueSnapshot, service: str, priority: PriorityClass, rules, model) -> WaitEstimate:  # type: ignore[no-untyped-def]
        seen["new"] += 1
        return estimation.estimate_new_ticket(snapshot, service, priority, rules, model)

    monkeypatch.setattr(bench, "estimate_waits", waits)
    monkeypatch.setattr(bench, "estimate_new_ticket", new)
    short_day = replace(SCENARIOS["multi_telecom"], arrivals_per_hour=(70.0,))  # one busy hour
    model = BranchModel(short_day.expected_service(), HALL_TIMEZONE)
    recorder = bench.Recorder(model, PolicyRules())
    result = HallDay(short_day, 0, np.random.SeedSequence([4]), model, observer=recorder).run()
    recorder.new_day()
    assert seen["new"] == len(result.tickets)
    assert seen["waits"] > 30
    data = recorder.arrays()
    assert len(data["target"]) > len(result.tickets)  # predictions at issue and every minute
    assert np.all(data["target"] >= -1e-9)
    assert model.calibration.observed > 0  # the branch calibrated its intervals on resolved estimates
