"""A simulated hall day as the what-if replay sees a closed day (:class:`server.domain.replay.Day`).

The simulator (:mod:`benchmarks.sim.hall`) plays a day with the real policy; here its tickets (issue, service,
class, how each ended, the counter's time on each) and its counters (the hourly roster less the pauses) become the
replay's input, as the server reads them from a closed day's tickets and counter events. Replaying such a day
without a change shows how close the replay comes to a day it did not make itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

from benchmarks.sim.hall import HALL_TIMEZONE, DayResult, HallDay, Outcome
from benchmarks.sim.scenarios import MULTI_TELECOM, Scenario
from server.domain import replay
from server.domain.estimation import BranchModel, EstimatorSettings
from server.domain.policy import CounterSkills
from server.domain.tickets import EventKind

_ENDINGS = {Outcome.SERVED: replay.Ending.SERVED, Outcome.NO_SHOW: replay.Ending.NO_SHOW,
            Outcome.CANCELLED: replay.Ending.CANCELLED, Outcome.WAITING: replay.Ending.EXPIRED}


def _copies(counters: tuple[CounterSkills, ...], times: int) -> tuple[CounterSkills, ...]:
    return tuple(replace(c, counter=f"{c.counter}{'abc'[n]}") for n in range(times) for c in counters)


BUSY_TELECOM = replace(
    MULTI_TELECOM, name="busy_telecom",
    description="a busy telecom hall: about 1,500 tickets a day, up to 33 counters",
    counters=_copies(MULTI_TELECOM.counters, 3),
    arrivals_per_hour=tuple(rate * 3.1 for rate in MULTI_TELECOM.arrivals_per_hour))


def simulated_day(scenario: Scenario = BUSY_TELECOM, seed: int = 1) -> tuple[replay.Day, DayResult]:
    """One simulated day of ``scenario`` and the same day as the replay's input."""
    hall = HallDay(scenario, 0, seed, BranchModel(scenario.expected_service(), HALL_TIMEZONE, EstimatorSettings()))
    result = hall.run()
    origin = datetime.combine(hall.day, time(0), tzinfo=hall.opening.tzinfo)
    offset = (hall.opening - origin).total_seconds() / 60
    tickets = []
    for t in result.tickets:
        ending = _ENDINGS[t.outcome]
        tickets.append(replay.DayTicket(
            ticket_id=t.ticket_id, service=t.service, priority=t.ticket.priority, issued=t.issued + offset,
            ending=ending, called=None if t.called_at is None else t.called_at + offset,
            service_min=t.at_counter_min if ending is replay.Ending.SERVED else None,
            left=None if t.left_at is None or ending is not replay.Ending.CANCELLED else t.left_at + offset,
            no_show_call_min=t.at_counter_min if ending is replay.Ending.NO_SHOW else None))
    return replay.Day(origin=origin, tickets=tuple(tickets), shifts=tuple(_shifts(hall, result, offset)),
                      target_min={s.code: scenario.target_wait.total_seconds() / 60 for s in scenario.services},
                      expected_service_min={s.code: s.configured_minutes for s in scenario.services}), result


def _shifts(hall: HallDay, result: DayResult, offset: float) -> list[replay.Shift]:
    """Each counter's rostered time (the simulator's hourly roster until its hard stop) less its pauses."""
    events = []
    for index, skills in enumerate(hall.scenario.counters):
        on = False
        for hour in range(hall.scenario.hours):
            rostered = index < hall.plan[hour]
            if rostered != on:
                kind = EventKind.COUNTER_SIGNED_IN if rostered else EventKind.COUNTER_SIGNED_OUT
                events.append(replay.CounterEvent(60.0 * hour + offset, skills.counter, kind, skills.services))
                on = rostered
        if on:
            events.append(replay.CounterEvent(hall.hard_stop + offset, skills.counter,
                                              EventKind.COUNTER_SIGNED_OUT))
    for counter, start, end in result.pauses:
        events.append(replay.CounterEvent(start + offset, counter, EventKind.COUNTER_PAUSED))
        events.append(replay.CounterEvent(end + offset, counter, EventKind.COUNTER_RESUMED))
    roles = {c.counter: c.role for c in hall.scenario.counters}
    return replay.shifts_from_events(events, hall.hard_stop + offset, {}, roles)
