"""A discrete-event simulation (simpy) of one hall day.

Customers take tickets (time-varying Poisson arrivals), wait, may walk out when their patience runs
out (some cancel on their phone, the rest are found as no-shows when called), and are called by
counters that open and close by an hourly roster, pause at random, and always choose the next ticket
with the project's real policy (:func:`server.domain.policy.choose_next`). The branch's
:class:`~server.domain.estimation.BranchModel` is fed the same events the server would feed it.

An optional :class:`DayObserver` sees a :class:`~server.domain.estimation.QueueSnapshot` at each
issue (before the ticket joins) and every minute, and hears of every call; the benchmark uses it to
ask the estimator and the baselines for predictions.

Simulation time is in minutes from the opening hour; the clock the domain sees is an aware datetime.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
import simpy

from benchmarks.sim.scenarios import Scenario, weibull_scale
from server.domain.estimation import BranchModel, CounterState, CounterStatus, QueueSnapshot
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket, choose_next
from server.domain.tickets import EventKind, PriorityClass

HALL_TIMEZONE = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(2025, 3, 3)


class Outcome:
    WAITING = "waiting"
    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


@dataclass
class SimTicket:
    """A customer and their ticket; ``called_at`` etc. are minutes from opening."""

    ticket: QueuedTicket
    issued: float
    patience: float  # minutes they are willing to wait (inf: never walk out)
    absent_from_start: bool
    cancels_when_leaving: bool
    outcome: str = Outcome.WAITING
    called_at: float | None = None
    counter: str | None = None
    left_at: float | None = None  # walk-out time, if they walked out
    at_counter_min: float | None = None  # how long the counter spent on them (served, or found gone)

    @property
    def ticket_id(self) -> int:
        return self.ticket.ticket_id

    @property
    def service(self) -> str:
        return self.ticket.service_code

    def present_at(self, minute: float) -> bool:
        return not self.absent_from_start and minute - self.issued < self.patience


@dataclass
class _CounterNow:
    skills: CounterSkills
    status: CounterStatus = CounterStatus.CLOSED
    serving_service: str | None = None
    serving_since: float | None = None
    paused_since: float | None = None


class DayObserver(Protocol):
    def on_start(self, hall: HallDay) -> None: ...

    def on_event(self, hall: HallDay, kind: EventKind) -> None:
        """Something the server would commit as an event of ``kind`` just happened (state already changed)."""

    def on_issue(self, hall: HallDay, snapshot: QueueSnapshot, ticket: SimTicket) -> None: ...

    def on_tick(self, hall: HallDay, snapshot: QueueSnapshot) -> None: ...

    def on_call(self, hall: HallDay, ticket: SimTicket) -> None: ...


@dataclass
class DayResult:
    scenario: str
    day: date
    tickets: list[SimTicket]
    calls: list[tuple[float, str, int]] = field(default_factory=list)  # (minute, counter, ticket id)
    pauses: list[tuple[str, float, float]] = field(default_factory=list)  # (counter, from, to)
    waiting_at_close: int = 0

    def count(self, outcome: str) -> int:
        return sum(t.outcome == outcome for t in self.tickets)


class HallDay:
    """One simulated day of ``scenario``; ``run()`` returns what happened."""

    def __init__(
        self,
        scenario: Scenario,
        day_index: int,
        seed: int | np.random.SeedSequence,
        model: BranchModel,
        rules: PolicyRules | None = None,
        observer: DayObserver | None = None,
        choose: Callable[[CounterSkills, list[QueuedTicket], PolicyRules], QueuedTicket | None] = choose_next,
    ) -> None:
        self.scenario = scenario
        self.day = FIRST_DAY + timedelta(days=day_index)
        self.opening = datetime.combine(self.day, time(scenario.opens_hour), tzinfo=HALL_TIMEZONE)
        self.rng = np.random.default_rng(seed)
        self.model = model
        self.rules = rules or PolicyRules()
        self.observer = observer
        self.choose = choose
        self.env = simpy.Environment()
        self.plan = scenario.staffing()
        self.arrivals_end = 60.0 * scenario.hours
        self.hard_stop = self.arrivals_end + scenario.service_until.total_seconds() / 60
        self.counters = [_CounterNow(skills) for skills in scenario.counters]
        self.waiting: list[SimTicket] = []
        self.tickets: list[SimTicket] = []
        self.result = DayResult(scenario.name, self.day, self.tickets)
        self._arrival_signal = self.env.event()
        self._next_id = 1
        self._day_level = float(math.exp(self.rng.normal(0.0, scenario.day_level_sd))) if scenario.day_level_sd else 1.0

    # --- clock -------------------------------------------------------------------------------------
    def at(self, minute: float) -> datetime:
        return self.opening + timedelta(minutes=minute)

    def hour_of_day(self, minute: float) -> int:
        return self.scenario.opens_hour + int(minute // 60)

    # --- roster --------------------------------------------------------------------------------------
    def staffed(self, minute: float) -> int:
        """Counters on the roster at ``minute`` (after the last arrival hour: the last hour's roster)."""
        hour = min(int(minute // 60), self.scenario.hours - 1)
        return self.plan[hour]

    def rostered(self, index: int, minute: float) -> bool:
        return minute < self.hard_stop and index < self.staffed(minute)

    def next_roster_change(self, index: int, minute: float) -> float | None:
        """The next hour boundary at which counter ``index`` changes between on and off the roster."""
        current = self.rostered(index, minute)
        hour = int(minute // 60) + 1
        while hour < self.scenario.hours:
            if (index < self.plan[hour]) != current:
                return 60.0 * hour
            hour += 1
        return None

    # --- what the server would see ------------------------------------------------------------------
    def snapshot(self) -> QueueSnapshot:
        now = self.env.now
        states = []
        for index, counter in enumerate(self.counters):
            change = self.next_roster_change(index, now)
            rostered = self.rostered(index, now)
            states.append(
                CounterState(
                    skills=counter.skills,
                    status=counter.status,
                    serving_service=counter.serving_service,
                    serving_since=self.at(counter.serving_since) if counter.serving_since is not None else None,
                    paused_since=self.at(counter.paused_since) if counter.paused_since is not None else None,
                    opens_at=self.at(change) if change is not None and not rostered else None,
                    closes_at=self.at(change) if change is not None and rostered else None,
                )
            )
        return QueueSnapshot(now=self.at(now), counters=states, waiting=[t.ticket for t in self.waiting])

    # --- processes -----------------------------------------------------------------------------------
    def run(self) -> DayResult:
        for index in range(len(self.counters)):
            self.env.process(self._counter(index))
        self.env.process(self._arrivals())
        if self.observer is not None:
            self.observer.on_start(self)
            self.env.process(self._ticks())
        self.env.run(until=self.hard_stop)
        for counter in self.counters:  # the day's end signs every counter out
            if counter.status is not CounterStatus.CLOSED:
                self.model.observe_counter(counter.skills.counter, False, self.at(self.hard_stop))
        self.result.waiting_at_close = len(self.waiting)
        return self.result

    def _arrivals(self):  # type: ignore[no-untyped-def]
        scenario = self.scenario
        peak = max(scenario.arrivals_per_hour) * self._day_level / 60.0
        shares = np.array([s.share for s in scenario.services])
        shares = shares / shares.sum()
        while True:
            yield self.env.timeout(float(self.rng.exponential(1.0 / peak)))
            now = self.env.now
            if now >= self.arrivals_end:
                return
            rate = scenario.arrivals_per_hour[int(now // 60)] * self._day_level / 60.0
            if self.rng.random() * peak > rate:  # thinning: a non-homogeneous Poisson process
                continue
            self._issue(scenario.services[int(self.rng.choice(len(shares), p=shares))].code)

    def _issue(self, service: str) -> None:
        scenario = self.scenario
        now = self.env.now
        draw = self.rng.random()
        if draw < scenario.vip_share:
            priority = PriorityClass.VIP
        elif draw < scenario.vip_share + scenario.priority_share:
            priority = PriorityClass.PRIORITY
        else:
            priority = PriorityClass.NORMAL
        if scenario.mean_patience is None:
            patience = math.inf
        else:
            scale = weibull_scale(scenario.mean_patience, scenario.patience_shape)
            patience = float(scale * self.rng.weibull(scenario.patience_shape))
        ticket = SimTicket(
            ticket=QueuedTicket(self._next_id, service, priority, self.at(now)),
            issued=now,
            patience=patience,
            absent_from_start=bool(self.rng.random() < scenario.absent_share),
            cancels_when_leaving=bool(self.rng.random() < scenario.cancel_share),
        )
        self._next_id += 1
        if self.observer is not None:
            self.observer.on_issue(self, self.snapshot(), ticket)
        self.tickets.append(ticket)
        self.waiting.append(ticket)
        self.model.observe_issued(service, priority, self.at(now))
        self._event(EventKind.ISSUED)
        if math.isfinite(patience):
            self.env.timeout(patience).callbacks.append(lambda _event, t=ticket: self._walk_out(t))
        signal, self._arrival_signal = self._arrival_signal, self.env.event()
        signal.succeed()

    def _walk_out(self, ticket: SimTicket) -> None:
        if ticket.outcome != Outcome.WAITING or ticket.called_at is not None:
            return
        ticket.left_at = self.env.now
        if ticket.cancels_when_leaving:
            self.waiting.remove(ticket)
            ticket.outcome = Outcome.CANCELLED
            self.model.observe_cancelled(ticket.ticket.queued_at, self.at(self.env.now))
            self._event(EventKind.CANCELLED)

    def _event(self, kind: EventKind) -> None:
        if self.observer is not None:
            self.observer.on_event(self, kind)

    def _ticks(self):  # type: ignore[no-untyped-def]
        assert self.observer is not None
        while True:
            yield self.env.timeout(1.0)
            if self.waiting:
                self.observer.on_tick(self, self.snapshot())

    def _counter(self, index: int):  # type: ignore[no-untyped-def]
        env, scenario, counter = self.env, self.scenario, self.counters[index]
        while True:
            now = env.now
            if not self.rostered(index, now):
                if counter.status is not CounterStatus.CLOSED:
                    counter.status = CounterStatus.CLOSED
                    self.model.observe_counter(counter.skills.counter, False, self.at(now))
                    self._event(EventKind.COUNTER_SIGNED_OUT)
                change = self.next_roster_change(index, now)
                if change is None:
                    return
                yield env.timeout(change - now)
                continue
            if counter.status is not CounterStatus.OPEN:
                counter.status = CounterStatus.OPEN
                self.model.observe_counter(counter.skills.counter, True, self.at(now))
                self._event(EventKind.COUNTER_SIGNED_IN)
            chosen = self.choose(counter.skills, [t.ticket for t in self.waiting], self.rules)
            if chosen is None:
                change = self.next_roster_change(index, now)
                wake = [self._arrival_signal]
                if change is not None:
                    wake.append(env.timeout(change - now))
                yield env.any_of(wake)
                continue
            ticket = next(t for t in self.waiting if t.ticket is chosen)
            self.waiting.remove(ticket)
            ticket.called_at, ticket.counter = now, counter.skills.counter
            self.result.calls.append((now, counter.skills.counter, ticket.ticket_id))
            if self.observer is not None:
                self.observer.on_call(self, ticket)
            counter.serving_service, counter.serving_since = ticket.service, now
            self._event(EventKind.CALLED)
            queued_at, called_at = ticket.ticket.queued_at, self.at(now)
            if ticket.present_at(now):
                ticket.at_counter_min = self._service_minutes(ticket.service, now)
                yield env.timeout(ticket.at_counter_min)
                ticket.outcome = Outcome.SERVED
                self.model.observe_served(ticket.service, queued_at, called_at, self.at(env.now))
                finished = EventKind.FINISHED
            else:
                low, high = scenario.no_show_call_minutes
                ticket.at_counter_min = float(self.rng.uniform(low, high))
                yield env.timeout(ticket.at_counter_min)
                ticket.outcome = Outcome.NO_SHOW
                self.model.observe_no_show(queued_at, called_at, self.at(env.now))
                finished = EventKind.NO_SHOW
            counter.serving_service = counter.serving_since = None
            self._event(finished)
            if self.rng.random() < scenario.pause_probability and env.now < self.hard_stop:
                counter.status, counter.paused_since = CounterStatus.PAUSED, env.now
                self._event(EventKind.COUNTER_PAUSED)
                low, high = scenario.pause_minutes
                yield env.timeout(float(self.rng.uniform(low, high)))
                self.model.observe_pause(self.at(counter.paused_since), self.at(env.now))
                self.result.pauses.append((counter.skills.counter, counter.paused_since, env.now))
                counter.paused_since = None
                counter.status = CounterStatus.OPEN
                self._event(EventKind.COUNTER_RESUMED)

    def _service_minutes(self, service: str, minute: float) -> float:
        spec = next(s for s in self.scenario.services if s.code == service)
        mean = spec.mean_at(self.hour_of_day(minute))
        if spec.exponential:
            return float(self.rng.exponential(mean))
        sigma2 = math.log(1 + spec.cv**2)
        return float(self.rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))
