"""How accurate are the wait-time estimates? A simulation benchmark (issue 7).

For each scenario in :mod:`benchmarks.sim.scenarios`, simulated hall days drive the real call-next
policy and the real estimator (``estimate_new_ticket`` at issue, ``estimate_waits`` every minute for
every waiting ticket), and the published baselines on the very same days. The target of a prediction
made at minute ``t`` is the time from ``t`` until the ticket is called (known in simulation even for
customers who walked out: they are called and found absent). Cancelled tickets and tickets still
waiting when the hall closes have no call time and are left out.

Each chain of days is one branch: a few warm-up days build its history (service times, arrivals,
walk-outs), then predictions are scored while the model keeps learning. The estimator's one
calibration constant (the interval width) is fitted on *tuning* seeds only and then used unchanged
on the separate *test* seeds that produce every figure printed.

The same days are scored twice: the idealised view (a fresh estimate at each issue and every minute, the roster
known, calibration on every resolved estimate) and the live view (:class:`LiveRecorder`: the estimator as the live
server drives it, through the server's own functions). ``--no-live`` skips the latter.

    python benchmarks/wait_accuracy.py            # default run (a few minutes on 2 cores)
    python benchmarks/wait_accuracy.py --quick    # a smoke run
    python benchmarks/wait_accuracy.py --days 20 --seed 3

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.sim import BASELINES, SCENARIOS, Baselines, HallDay, SimTicket  # noqa: E402
from benchmarks.sim.hall import HALL_TIMEZONE  # noqa: E402
from server.domain import policy  # noqa: E402
from server.domain.estimation import (  # noqa: E402
    BranchModel,
    CounterState,
    CounterStatus,
    EstimatorSettings,
    QueueSnapshot,
    WaitEstimate,
    estimate_new_ticket,
    estimate_waits,
)
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket, call_key  # noqa: E402
from server.domain.roster import CounterChange, CounterChangeKind  # noqa: E402
from server.domain.tickets import EventKind, PriorityClass  # noqa: E402
from server.services.live import (  # noqa: E402
    PATCH_FOR,
    PATCHABLE_KINDS,
    URGENT_KINDS,
    HallProjection,
    NewTicket,
    QueueChanges,
    ShownEstimates,
    estimate_of,
    given_estimate,
    new_ticket_key,
    patch_projection,
    project_hall,
)
from server.services.live_loop import COALESCE_S, IDLE_S, TICK_S, URGENT_S  # noqa: E402

ESTIMATOR = "estimator"
PREDICTORS = (ESTIMATOR, *BASELINES)
UNDER_MINUTES = 5.0
LOAD_BANDS = ((0.0, 1.0, "<1 waiting/counter"), (1.0, 3.0, "1-3 waiting/counter"), (3.0, math.inf, ">=3"))


# --- recording predictions --------------------------------------------------------------------------


class Recorder:
    """A :class:`~benchmarks.sim.hall.DayObserver` that asks every predictor and remembers the answers."""

    def __init__(self, model: BranchModel, rules: PolicyRules) -> None:
        self.model = model
        self.rules = rules
        self.baselines = Baselines(model, rules)
        self.rows: list[tuple[float, ...]] = []  # see COLUMNS
        self.targets: list[float] = []
        self._pending: dict[int, list[tuple[int, WaitEstimate]]] = {}
        self.estimate_seconds = 0.0
        self.estimate_calls = 0

    COLUMNS = ("expected", "low", "high", "shown_low", "shown_high", *BASELINES, "at_issue", "delayed", "load", "time")

    def on_start(self, hall: HallDay) -> None:
        return None

    def on_event(self, hall: HallDay, kind: EventKind) -> None:
        return None

    def new_day(self) -> None:
        for pending in self._pending.values():  # cancelled or still waiting at close: no target
            for index, _estimate in pending:
                self.targets[index] = math.nan
        self._pending.clear()

    def _record(self, ticket_id: int, estimate: WaitEstimate, values: tuple[float, ...]) -> None:
        self._pending.setdefault(ticket_id, []).append((len(self.rows), estimate))
        self.rows.append(values)
        self.targets.append(math.nan)

    def issue_estimate(self, hall: HallDay, snapshot: QueueSnapshot, ticket: SimTicket) -> WaitEstimate:
        """The estimate ``ticket`` is given at issue (``snapshot``: the hall just before it joins)."""
        started = time.perf_counter()
        estimate = estimate_new_ticket(snapshot, ticket.service, ticket.ticket.priority, self.rules, self.model)
        self.estimate_seconds += time.perf_counter() - started
        self.estimate_calls += 1
        return estimate

    def tick_estimates(self, hall: HallDay, snapshot: QueueSnapshot) -> dict[int, WaitEstimate]:
        """The estimate of every waiting ticket at a whole minute."""
        started = time.perf_counter()
        estimates = estimate_waits(snapshot, self.rules, self.model)
        self.estimate_seconds += time.perf_counter() - started
        self.estimate_calls += 1
        return estimates

    def calibrate(self, ticket: SimTicket, pending: list[tuple[int, WaitEstimate]]) -> None:
        """The branch calibrates its intervals on its own resolved estimates (past only): here every one of them."""
        at_issue = self.COLUMNS.index("at_issue")
        for index, estimate in pending:
            self.model.observe_estimate(estimate, timedelta(minutes=self.targets[index]),
                                        at_issue=bool(self.rows[index][at_issue]))

    def on_issue(self, hall: HallDay, snapshot: QueueSnapshot, ticket: SimTicket) -> None:
        estimate = self.issue_estimate(hall, snapshot, ticket)
        lines = self.baselines.service_lines(snapshot)
        line = lines.get(ticket.service, [])
        reference = CounterSkills("reference", (ticket.service,))
        own_key = call_key(ticket.ticket, reference, self.rules)
        ahead = sum(call_key(t, reference, self.rules) < own_key for t in line)
        predictions = self.baselines.predict(snapshot, ticket.ticket, line, ahead)
        idle = any(
            c.status is CounterStatus.OPEN and c.serving_service is None and ticket.service in c.skills.services
            for c in snapshot.counters
        )
        self._add(ticket.ticket_id, estimate, predictions, True, not idle, snapshot, hall.env.now)

    def on_tick(self, hall: HallDay, snapshot: QueueSnapshot) -> None:
        estimates = self.tick_estimates(hall, snapshot)
        for line in self.baselines.service_lines(snapshot).values():
            for ahead, ticket in enumerate(line):
                predictions = self.baselines.predict(snapshot, ticket, line, ahead)
                self._add(
                    ticket.ticket_id, estimates[ticket.ticket_id], predictions, False, True, snapshot, hall.env.now
                )

    def _add(self, ticket_id, estimate, predictions, at_issue, delayed, snapshot, now) -> None:  # type: ignore[no-untyped-def]
        open_counters = sum(c.status is CounterStatus.OPEN for c in snapshot.counters)
        load = len(snapshot.waiting) / max(open_counters, 1)
        expected = estimate.expected.total_seconds() / 60 if estimate.known else math.nan
        low = estimate.low.total_seconds() / 60 if estimate.known else math.nan
        high = estimate.high.total_seconds() / 60 if estimate.known else math.nan
        shown = estimate.rounded_range() or (math.nan, math.nan)  # the range customers read
        values = (expected, low, high, *shown, *(predictions[name] for name in BASELINES))
        self._record(ticket_id, estimate, (*values, float(at_issue), float(delayed), load, now))

    def on_call(self, hall: HallDay, ticket: SimTicket) -> None:
        assert ticket.called_at is not None
        self.baselines.on_call(ticket.service, ticket.called_at - ticket.issued)
        pending = self._pending.pop(ticket.ticket_id, [])
        for index, _estimate in pending:
            self.targets[index] = ticket.called_at - self.rows[index][-1]
        self.calibrate(ticket, pending)

    def arrays(self) -> dict[str, np.ndarray]:
        self.new_day()
        table = np.array(self.rows, dtype=float).reshape(-1, len(self.COLUMNS))
        result = {name: table[:, i] for i, name in enumerate(self.COLUMNS)}
        result["target"] = np.array(self.targets, dtype=float)
        keep = ~np.isnan(result["target"])
        return {name: values[keep] for name, values in result.items()}


class LiveRecorder(Recorder):
    """The estimator as the live server drives it (:mod:`server.services.live`, :mod:`server.services.live_loop`),
    scored on the same predictions (at issue and every minute) as the idealised view.

    * A refresh runs when the server's loop would run it: ``URGENT_S`` after a call, no-show, cancellation, pause or
      counter signing in or out, ``COALESCE_S`` after issues and finishes (both counted from the previous refresh),
      ``IDLE_S`` after the last one when nothing happens, and never sooner than ``TICK_S`` after what caused it.
      It is :func:`~server.services.live.project_hall` on the hall as the live side reads it: counters signed in,
      paused or not, with no roster (no ``opens_at``/``closes_at``: the counters' usual hours instead), or, with
      ``rostered`` (``--live-roster``), the day's roster as the server reads one (:func:`roster_changes`).
    * A new ticket is promised the last refresh's estimate for its service and lane, lengthened for the people
      ahead counted at issue (:meth:`~server.services.live.NewTicket.given`), as ``TicketService.issue`` does.
    * A waiting ticket's page shows the last refresh's estimate (its issue estimate until it is in one).
    * A refresh after only the events the server patches (:data:`~server.services.live.PATCHABLE_KINDS`) within
      ``PATCH_FOR`` of the estimator's last run patches its projection
      (:func:`~server.services.live.patch_projection`) when the patch stands, as ``LiveHall._patch`` does
      (``patching`` False: every refresh runs the estimator, as before the patch).
    * The interval calibration learns from the estimate given at issue, as the ISSUED event stored it, against the
      wait from issue to call, and from the estimates the ticket's page showed, one a minute
      (:class:`~server.services.live.ShownEstimates`), as ``LiveHall._learn_one`` does; the branch starts from the
      configured :class:`EstimatorSettings`, not from a scale fitted here.
    """

    def __init__(self, model: BranchModel, rules: PolicyRules, services: list[str], rostered: bool = False,
                 patching: bool = True) -> None:
        super().__init__(model, rules)
        self.services = services
        self.rostered = rostered  # the server knows the day's roster (view "live-roster")
        self.patching = patching
        self.refreshes = 0
        self.patched = 0  # refreshes that patched the last projection instead of running the estimator
        self._snapshot: QueueSnapshot | None = None  # the queue the projection is of
        self._base: dict[tuple[str, str], NewTicket] = {}  # the would-be new tickets of the estimator's last run
        self._estimated_at = -math.inf  # minute the estimator last ran
        self._kinds: set[str] = set()  # the events since the last refresh
        self._called: dict[int, datetime] = {}  # when tickets were called since the last refresh
        self.shown_samples = 0  # waiting tickets' shown ranges at refreshes (one per ticket and refresh)
        self.range_changes = 0  # ... that differed from the ticket's at the refresh before
        self.range_reversals = 0  # ... moving the other way than its change before (up after down, down after up)
        self._ranges: dict[int, tuple[int, int]] = {}
        self._moved: dict[int, int] = {}  # each ticket's last change: +1 up, -1 down
        self._projection: HallProjection | None = None
        self._given: dict[int, WaitEstimate] = {}
        self._last = -math.inf  # minute of the last refresh
        self._due: float | None = None  # minute a pending refresh runs
        self._wake: simpy.Event | None = None
        self.shown = ShownEstimates()

    def on_start(self, hall: HallDay) -> None:
        self._projection, self._last, self._due = None, -math.inf, None
        self._snapshot, self._estimated_at = None, -math.inf
        self._ranges.clear()
        self._moved.clear()
        self._kinds.clear()
        self._called.clear()
        self._given.clear()
        self.shown = ShownEstimates()
        hall.env.process(self._loop(hall))

    def on_event(self, hall: HallDay, kind: EventKind) -> None:
        self._kinds.add(kind.value)
        delay = URGENT_S if kind.value in URGENT_KINDS else COALESCE_S
        due = max(hall.env.now + TICK_S / 60, self._last + delay / 60)
        if self._due is None or due < self._due:
            self._due = due
            if self._wake is not None and not self._wake.triggered:
                self._wake.succeed()

    def _next(self) -> float:
        return self._due if self._due is not None else self._last + IDLE_S / 60

    def _loop(self, hall: HallDay):  # type: ignore[no-untyped-def]
        env = hall.env
        while True:
            self._wake = env.event()
            yield env.any_of([env.timeout(max(self._next() - env.now, 0.0)), self._wake])
            if env.now >= self._next() - 1e-9:
                self._refresh(hall)

    def _refresh(self, hall: HallDay) -> None:
        snapshot = live_side_view(hall.snapshot())
        started = time.perf_counter()
        patched = self._patched(hall, snapshot)
        if patched is not None:
            snapshot, self._projection = patched
            self.patched += 1
        else:
            roster = roster_changes(hall, self.model.settings.horizon) if self.rostered else None
            self._projection = project_hall(snapshot, self.rules, self.model, self.services, roster=roster)
            self._base, self._estimated_at = self._projection.new, hall.env.now
        self._snapshot = snapshot
        self._kinds.clear()
        self._called.clear()
        self.estimate_seconds += time.perf_counter() - started
        self.estimate_calls += 1
        self.refreshes += 1
        self._last, self._due = hall.env.now, None
        waits = self._projection.waits
        self._count_changes(snapshot, waits)
        self.shown.note(snapshot.now, {t.ticket_id: estimate_of({"estimate": waits[t.ticket_id].as_dict()})
                                       for t in snapshot.waiting})

    def _count_changes(self, snapshot: QueueSnapshot, waits: dict[int, WaitEstimate]) -> None:
        """How the range each waiting ticket's page shows moved since the refresh before (does it jump about?)."""
        ranges = {}
        for ticket in snapshot.waiting:
            shown = waits[ticket.ticket_id].rounded_range() if ticket.ticket_id in waits else None
            if shown is None:
                continue
            ranges[ticket.ticket_id] = shown
            self.shown_samples += 1
            before = self._ranges.get(ticket.ticket_id)
            if before is None or before == shown:
                continue
            self.range_changes += 1
            moved = 1 if sum(shown) > sum(before) else -1
            if self._moved.get(ticket.ticket_id, moved) != moved:
                self.range_reversals += 1
            self._moved[ticket.ticket_id] = moved
        self._ranges = ranges
        self._moved = {t: m for t, m in self._moved.items() if t in ranges}

    def _patched(self, hall: HallDay, snapshot: QueueSnapshot) -> tuple[QueueSnapshot, HallProjection] | None:
        """The last projection patched to ``snapshot`` when the server would patch it, else None."""
        last, projection = self._snapshot, self._projection
        if (not self.patching or last is None or projection is None or not self._kinds <= PATCHABLE_KINDS
                or hall.env.now - self._estimated_at >= PATCH_FOR.total_seconds() / 60):
            return None
        before = {t.ticket_id for t in last.waiting}
        now = {t.ticket_id for t in snapshot.waiting}
        changes = QueueChanges(tuple(t for t in snapshot.waiting if t.ticket_id not in before),
                               {ticket_id: self._called.get(ticket_id) for ticket_id in before - now})
        return patch_projection(last, projection, self._base, changes, snapshot.now, self.rules)

    def on_call(self, hall: HallDay, ticket: SimTicket) -> None:
        assert ticket.called_at is not None
        self._called[ticket.ticket_id] = hall.at(ticket.called_at)
        super().on_call(hall, ticket)

    def issue_estimate(self, hall: HallDay, snapshot: QueueSnapshot, ticket: SimTicket) -> WaitEstimate:
        new = None if self._projection is None else self._projection.new.get(
            new_ticket_key(ticket.service, ticket.ticket.priority))
        if new is None:
            return WaitEstimate.unknown()
        estimate = new.given(people_ahead_at_issue(live_side_view(snapshot), ticket.ticket, self.rules))
        self._given[ticket.ticket_id] = estimate
        return estimate

    def tick_estimates(self, hall: HallDay, snapshot: QueueSnapshot) -> dict[int, WaitEstimate]:
        shown = {} if self._projection is None else self._projection.waits
        unknown = WaitEstimate.unknown()
        return {t.ticket_id: shown.get(t.ticket_id) or self._given.get(t.ticket_id, unknown) for t in snapshot.waiting}

    def calibrate(self, ticket: SimTicket, pending: list[tuple[int, WaitEstimate]]) -> None:
        given = self._given.pop(ticket.ticket_id, None)
        stored = None if given is None else given_estimate({"estimate": given.as_dict()})
        assert ticket.called_at is not None
        if stored is not None:
            self.model.observe_estimate(stored, timedelta(minutes=ticket.called_at - ticket.issued), at_issue=True)
        called_at = ticket.ticket.queued_at + timedelta(minutes=ticket.called_at - ticket.issued)
        for estimate, waited in self.shown.resolved(ticket.ticket_id, called_at):
            self.model.observe_estimate(estimate, waited)


def live_side_view(snapshot: QueueSnapshot) -> QueueSnapshot:
    """The hall as ``server.services.live._queue_snapshot`` reads it: counters signed in (open or paused) or not,
    and no roster, so no counter is known to open or close later."""
    counters = [replace(c, opens_at=None, closes_at=None) for c in snapshot.counters]
    return replace(snapshot, counters=counters)


def roster_changes(hall: HallDay, horizon: timedelta) -> list[CounterChange]:
    """The simulated day's roster as the server reads one (:func:`server.domain.roster.counter_changes`): every
    counter's rostered openings and closings within ``horizon``, not just the next one."""
    now = hall.env.now
    until = now + horizon.total_seconds() / 60
    boundaries = sorted({60.0 * h for h in range(int(now // 60) + 1, hall.scenario.hours + 1)} | {hall.hard_stop})
    changes = []
    for index, counter in enumerate(hall.counters):
        on = hall.rostered(index, now)
        for minute in boundaries:
            if minute <= now or minute > until:
                continue
            if hall.rostered(index, minute) != on:
                on = not on
                kind = CounterChangeKind.OPEN if on else CounterChangeKind.CLOSE
                changes.append(CounterChange(hall.at(minute), counter.skills.counter, kind, counter.skills.services))
    return sorted(changes, key=lambda c: (c.at, c.counter))


def people_ahead_at_issue(snapshot: QueueSnapshot, me: QueuedTicket, rules: PolicyRules) -> int:
    """The people ahead ``TicketService.issue`` counts for a new ticket (``server.services.queries.people_ahead``,
    with the policy's pure count instead of the database's)."""
    counted = policy.counted_at((c.status is not CounterStatus.CLOSED, c.skills)
                                for c in snapshot.counters if policy.is_eligible(me, c.skills))
    return policy.people_ahead((is_open, policy.count_ahead(me, skills, snapshot.waiting, rules))
                               for is_open, skills in counted)


# --- running chains of days ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    scenario: str
    phase: str  # "tune" or "test"
    chain: int
    seed: int
    warmup_days: int
    eval_days: int
    settings: EstimatorSettings
    view: str = "benchmark"  # "live": the estimator as the live server drives it (LiveRecorder); "live-roster": so,
    # with the day's roster known to the server


def run_job(job: Job) -> dict[str, object]:
    """One branch: warm-up days (history only), then scored days; returns the prediction arrays."""
    scenario = SCENARIOS[job.scenario]
    rules = PolicyRules()
    model = BranchModel(scenario.expected_service(), HALL_TIMEZONE, job.settings)
    phase_code = {"tune": 1, "test": 2}[job.phase]
    scenario_code = list(SCENARIOS).index(job.scenario)
    day_seeds = np.random.SeedSequence([job.seed, phase_code, scenario_code, job.chain]).spawn(
        job.warmup_days + job.eval_days
    )
    started = time.perf_counter()
    codes = [s.code for s in scenario.services]
    for day in range(job.warmup_days):
        # the live server calibrates on every day it has seen: its warm-up days run at the server's cadence too
        live = job.view.startswith("live")
        warmup = LiveRecorder(model, rules, codes, job.view == "live-roster", job.view != "live-full") if live else None
        HallDay(scenario, day, day_seeds[day], model, rules, observer=warmup).run()
    recorder = (LiveRecorder(model, rules, codes, job.view == "live-roster", job.view != "live-full")
                if job.view.startswith("live") else Recorder(model, rules))
    tickets = walked_out = 0
    for day in range(job.warmup_days, job.warmup_days + job.eval_days):
        result = HallDay(scenario, day, day_seeds[day], model, rules, observer=recorder).run()
        recorder.new_day()
        tickets += len(result.tickets)
        walked_out += sum(t.left_at is not None for t in result.tickets)
    return {
        "job": job,
        "arrays": recorder.arrays(),
        "estimate_seconds": recorder.estimate_seconds,
        "estimate_calls": recorder.estimate_calls,
        "seconds": time.perf_counter() - started,
        "tickets": tickets,
        "walked_out": walked_out,
        "final_scale": model.calibration.scale,
        "refreshes": getattr(recorder, "refreshes", 0),
        "patched": getattr(recorder, "patched", 0),
        "shown_samples": getattr(recorder, "shown_samples", 0),
        "range_changes": getattr(recorder, "range_changes", 0),
        "range_reversals": getattr(recorder, "range_reversals", 0),
    }


def run_jobs(jobs: list[Job], workers: int) -> list[dict[str, object]]:
    if workers <= 1:
        return [run_job(job) for job in jobs]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(run_job, jobs, chunksize=1)


def make_jobs(phase: str, days: int, warmup: int, chain_days: int, seed: int, settings: EstimatorSettings) -> list[Job]:
    jobs = []
    for name in SCENARIOS:
        chains = max(1, math.ceil(days / chain_days))
        for chain in range(chains):
            eval_days = min(chain_days, days - chain * chain_days)
            jobs.append(Job(name, phase, chain, seed, warmup, eval_days, settings))
    jobs.sort(key=lambda j: -j.eval_days)  # longest first, for the worker pool
    return jobs


def merge(results: list[dict[str, object]], scenario: str) -> dict[str, np.ndarray]:
    parts = [r["arrays"] for r in results if r["job"].scenario == scenario]  # type: ignore[union-attr]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}  # type: ignore[index]


def pool(arrays: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([a[name] for a in arrays]) for name in arrays[0]}


# --- calibration on tuning seeds ----------------------------------------------------------------------


def fit_interval_scale(data: dict[str, np.ndarray], level: float) -> float:
    """The widening k of [point - k(point - low), point + k(high - point)] giving ``level`` coverage."""
    point, low, high, target = data["expected"], data["low"], data["high"], data["target"]
    ok = ~np.isnan(point)
    point, low, high, target = point[ok], low[ok], high[ok], target[ok]

    def coverage(k: float) -> float:
        return float(np.mean((target >= point - k * (point - low)) & (target <= point + k * (high - point))))

    lo, hi = 0.3, 5.0
    for _ in range(40):
        middle = (lo + hi) / 2
        if coverage(middle) < level:
            lo = middle
        else:
            hi = middle
    return round((lo + hi) / 2, 3)


# --- metrics ---------------------------------------------------------------------------------------------


def metrics(prediction: np.ndarray, target: np.ndarray, low=None, high=None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    ok = ~np.isnan(prediction)
    prediction, target = prediction[ok], target[ok]
    error = prediction - target
    mse = float(np.mean(error**2))
    mean_target = float(np.mean(target))
    result = {
        "n": len(target),
        "mae": float(np.mean(np.abs(error))),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "rase": mse / mean_target**2 if mean_target > 0 else math.nan,
        "bias": float(np.mean(error)),
        "under5": float(np.mean(error < -UNDER_MINUTES)),
        "coverage": math.nan,
    }
    if low is not None and high is not None:
        low, high = low[ok], high[ok]
        result["coverage"] = float(np.mean((target >= low) & (target <= high)))
    return result


def scores(data: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    result = {ESTIMATOR: metrics(data["expected"], data["target"], data["low"], data["high"])}
    known = ~np.isnan(data["expected"])
    target = data["target"][known]
    result[ESTIMATOR]["above_high5"] = float(np.mean(target > data["high"][known] + UNDER_MINUTES))
    shown_low, shown_high = data["shown_low"][known], data["shown_high"][known]
    result[ESTIMATOR]["coverage_shown"] = float(np.mean((target >= shown_low) & (target <= shown_high)))
    result[ESTIMATOR]["above_shown_high5"] = float(np.mean(target > shown_high + UNDER_MINUTES))
    result[ESTIMATOR]["width"] = float(np.mean(data["high"][known] - data["low"][known]))
    result[ESTIMATOR]["width_shown"] = float(np.mean(shown_high - shown_low))
    for name in BASELINES:
        result[name] = metrics(data[name], data["target"])
    return result


def subset(data: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[mask] for name, values in data.items()}


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'predictor':<10} {'n':>7} {'MAE':>6} {'RMSE':>6} {'RASE':>6} {'bias':>6} {'under5':>7} {'cover80':>8}")
    for name in PREDICTORS:
        m = table[name]
        coverage = "n/a" if math.isnan(m["coverage"]) else f"{m['coverage']:.3f}"
        print(
            f"  {name:<10} {m['n']:>7} {m['mae']:>6.2f} {m['rmse']:>6.2f} {m['rase']:>6.3f} {m['bias']:>+6.2f}"
            f" {m['under5']:>7.2%} {coverage:>8}"
        )


def best_baseline(table: dict[str, dict[str, float]]) -> str:
    return min(BASELINES, key=lambda name: table[name]["mse"])


# --- the 200-ticket timing --------------------------------------------------------------------------------


def time_large_queue(settings: EstimatorSettings, repeats: int = 15) -> float:
    """Median milliseconds to estimate every ticket of a 200-ticket queue at 8 counters."""
    scenario = SCENARIOS["multi_telecom"]
    rules = PolicyRules()
    model = BranchModel(scenario.expected_service(), HALL_TIMEZONE, settings)
    seeds = np.random.SeedSequence([99]).spawn(3)
    for day in range(3):
        HallDay(scenario, day, seeds[day], model, rules).run()
    hall = HallDay(scenario, 3, 0, model, rules)
    now = hall.at(90.0)
    rnd = random.Random(5)
    counters = [
        CounterState(skills, CounterStatus.OPEN, skills.services[0], now - timedelta(minutes=rnd.uniform(0, 6)))
        for skills in scenario.counters[:8]
    ]
    codes = [s.code for s in scenario.services]
    weights = [s.share for s in scenario.services]
    waiting = [
        QueuedTicket(
            i + 1,
            rnd.choices(codes, weights)[0],
            PriorityClass.PRIORITY if rnd.random() < 0.1 else PriorityClass.NORMAL,
            now - timedelta(minutes=90 * (200 - i) / 200),
        )
        for i in range(200)
    ]
    snapshot = QueueSnapshot(now, counters, waiting)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        estimate_waits(snapshot, rules, model)
        timings.append(time.perf_counter() - started)
    return 1000 * float(np.median(timings))


# --- the live view ----------------------------------------------------------------------------------------


def view_figures(table: dict[str, dict[str, float]], issued: dict[str, np.ndarray]) -> dict[str, float]:
    """The figures compared between the idealised and the live view (multi-skill scenarios pooled): all predictions,
    and the estimate given at issue (the range printed on the ticket)."""
    at_issue = scores(issued)
    mine, ql_m = table[ESTIMATOR], table["ql_m"]
    return {
        "mae": round(mine["mae"], 3),
        "bias": round(mine["bias"], 3),
        "mse": round(mine["mse"], 3),
        "improvement_vs_ql_m": round(1 - mine["mse"] / ql_m["mse"], 3),
        "coverage80": round(mine["coverage"], 3),
        "above_high5_share": round(mine["above_high5"], 4),
        "coverage_shown_range": round(mine["coverage_shown"], 3),
        "above_shown_high5_share": round(mine["above_shown_high5"], 4),
        "width_min": round(mine["width"], 2),
        "width_shown_min": round(mine["width_shown"], 2),
        "at_issue_coverage80": round(at_issue[ESTIMATOR]["coverage"], 3),
        "at_issue_above_shown_high5_share": round(at_issue[ESTIMATOR]["above_shown_high5"], 4),
        "at_issue_width_shown_min": round(at_issue[ESTIMATOR]["width_shown"], 2),
        "at_issue_improvement_vs_ql_m": round(1 - at_issue[ESTIMATOR]["mse"] / at_issue["ql_m"]["mse"], 3),
        "predictions": mine["n"],
    }


def report_live(live: list[dict[str, object]], benchmark: dict[str, float], rostered: bool = False
                ) -> dict[str, object]:
    """Print the live view next to the idealised one; returns its figures for the JSON line."""
    per_scenario = {name: merge(live, name) for name in SCENARIOS}
    knows = "the day's roster" if rostered else "no roster, counters' usual hours"
    print(f"\n=== live view{' with the roster' if rostered else ''}: the estimator as the live server drives it"
          f" (refresh cadence, issue estimate from the last refresh, {knows}, calibration as the server's,"
          " configured starting scale) ===")
    figures: dict[str, object] = {}
    for name, data in per_scenario.items():
        table = scores(data)
        mine = table[ESTIMATOR]
        scales = [r["final_scale"] for r in live if r["job"].scenario == name]  # type: ignore[union-attr]
        print(f"  [{name}] MAE {mine['mae']:.2f} bias {mine['bias']:+.2f} cover80 {mine['coverage']:.3f}"
              f" >5 min past shown high {mine['above_shown_high5']:.2%}; MSE {mine['mse']:.2f} vs QL_m"
              f" {table['ql_m']['mse']:.2f}; interval scale learnt {', '.join(f'{x:.2f}' for x in scales)}")
        figures[name] = {"coverage80": round(mine["coverage"], 3), "mae": round(mine["mae"], 3),
                         "improvement_vs_ql_m": round(1 - mine["mse"] / table["ql_m"]["mse"], 3),
                         "above_shown_high5_share": round(mine["above_shown_high5"], 4)}
    multi = pool([per_scenario[n] for n, s in SCENARIOS.items() if s.multi_skill])
    table = scores(multi)
    print_table("[live view, multi-skill scenarios pooled] all predictions", table)
    pooled = view_figures(table, subset(multi, multi["at_issue"] == 1))
    print(f"  {'figure (multi-skill pooled)':<34} {'benchmark':>10} {'live':>10}")
    for key, value in pooled.items():
        print(f"  {key:<34} {benchmark[key]:>10} {value:>10}")
    refreshes = sum(r["refreshes"] for r in live)  # type: ignore[misc]
    seconds = sum(r["estimate_seconds"] for r in live)  # type: ignore[misc]
    patched = sum(r["patched"] for r in live)  # type: ignore[misc]
    print(f"  {refreshes} live refreshes ({patched} patched), mean {1000 * seconds / max(refreshes, 1):.2f} ms each")
    samples, changes, reversals = (sum(r[key] for r in live)  # type: ignore[misc]
                                   for key in ("shown_samples", "range_changes", "range_reversals"))
    print(f"  shown ranges at refreshes: {samples}, changed since the refresh before {changes / max(samples, 1):.2%},"
          f" of which reversing the ticket's change before {reversals / max(changes, 1):.2%}")
    return {**pooled, **figures, "refreshes": refreshes, "patched": patched,
            "range_changed_share": round(changes / max(samples, 1), 4),
            "range_reversed_share": round(reversals / max(changes, 1), 4)}


# --- main ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None, help="test days per scenario (default 16)")
    parser.add_argument("--tune-days", type=int, default=None, help="tuning days per scenario (default 6)")
    parser.add_argument("--warmup", type=int, default=None, help="history days before scoring (default 4)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 2))
    parser.add_argument("--no-live", action="store_true", help="skip the live view (the estimator as the server "
                        "drives it)")
    parser.add_argument("--live-full", action="store_true", help="also the live view with every refresh running the "
                        "estimator (no patched refreshes: as before them)")
    parser.add_argument("--live-roster", action="store_true", help="also the live view with the day's roster known to "
                        "the server (as when the branch keeps one)")
    args = parser.parse_args(argv)
    days = args.days or (2 if args.quick else 16)
    tune_days = args.tune_days or (1 if args.quick else 6)
    warmup = args.warmup or (2 if args.quick else 4)
    chain_days = 2 if args.quick else 4
    started = time.perf_counter()

    print("Wait-estimate accuracy: simulated hall days, real policy and estimator, same days for all predictors")
    print(
        f"test days/scenario {days}, tuning days/scenario {tune_days}, warm-up days/branch {warmup}, seed {args.seed}"
    )
    for scenario in SCENARIOS.values():
        print(f"  {scenario.name:<15} {scenario.description}; counters by hour {scenario.staffing()}")

    # 1. tuning seeds: fit the starting interval width (intervals unscaled, no online calibration)
    frozen = replace(EstimatorSettings(), interval_scale=1.0, calibration_rate=0.0)
    tuning = run_jobs(make_jobs("tune", tune_days, warmup, chain_days, args.seed, frozen), args.workers)
    tuning_data = pool([merge(tuning, name) for name in SCENARIOS])
    scale = fit_interval_scale(tuning_data, frozen.level)
    settings = replace(EstimatorSettings(), interval_scale=scale)
    print(f"\nfitted on tuning seeds: starting interval_scale = {scale} (each branch then calibrates online)")

    # 2. test seeds: every figure below
    jobs = make_jobs("test", days, warmup, chain_days, args.seed, settings)
    live_views = [] if args.no_live else ["live", *(["live-roster"] if args.live_roster else []),
                                          *(["live-full"] if args.live_full else [])]
    live_jobs = [replace(job, settings=EstimatorSettings(), view=view) for view in live_views for job in jobs]
    results = run_jobs(jobs + live_jobs, args.workers)
    testing = [r for r in results if r["job"].view == "benchmark"]  # type: ignore[union-attr]
    live = [r for r in results if r["job"].view == "live"]  # type: ignore[union-attr]
    live_roster = [r for r in results if r["job"].view == "live-roster"]  # type: ignore[union-attr]
    live_full = [r for r in results if r["job"].view == "live-full"]  # type: ignore[union-attr]
    per_scenario = {name: merge(testing, name) for name in SCENARIOS}
    summary: dict[str, object] = {"interval_scale_start": scale}
    for name, scenario in SCENARIOS.items():
        data = per_scenario[name]
        table = scores(data)
        issued = scores(subset(data, data["at_issue"] == 1))
        tickets = sum(r["tickets"] for r in testing if r["job"].scenario == name)  # type: ignore[union-attr]
        walked = sum(r["walked_out"] for r in testing if r["job"].scenario == name)  # type: ignore[union-attr]
        mean_wait = np.mean(data["target"][data["at_issue"] == 1])
        print_table(
            f"[{name}] all predictions (at issue + every minute); {tickets} tickets, "
            f"{walked / max(tickets, 1):.1%} walked out, mean wait at issue {mean_wait:.1f} min",
            table,
        )
        best = best_baseline(table)
        print(
            f"  estimator: rounded range shown to customers covers {table[ESTIMATOR]['coverage_shown']:.1%};"
            f" wait beyond the interval's upper end by > 5 min: {table[ESTIMATOR]['above_high5']:.2%}"
        )
        print(
            f"  at issue only: estimator MAE {issued[ESTIMATOR]['mae']:.2f} MSE {issued[ESTIMATOR]['mse']:.2f}"
            f" under5 {issued[ESTIMATOR]['under5']:.2%};"
            f" best baseline {best_baseline(issued)} MAE {issued[best_baseline(issued)]['mae']:.2f}"
            f" MSE {issued[best_baseline(issued)]['mse']:.2f} under5 {issued[best_baseline(issued)]['under5']:.2%}"
        )
        scales = [r["final_scale"] for r in testing if r["job"].scenario == name]  # type: ignore[union-attr]
        print(f"  interval scale learnt online by the branches: {', '.join(f'{x:.2f}' for x in scales)}")
        summary[name] = {
            "estimator_mse": round(table[ESTIMATOR]["mse"], 3),
            "best_baseline": best,
            "best_baseline_mse": round(table[best]["mse"], 3),
            "improvement": round(1 - table[ESTIMATOR]["mse"] / table[best]["mse"], 3),
            "under5_share": round(table[ESTIMATOR]["under5"], 4),
            "coverage80": round(table[ESTIMATOR]["coverage"], 3),
        }
        if scenario.fixed_counters is not None and not scenario.multi_skill:
            delayed = subset(data, (data["at_issue"] == 1) & (data["delayed"] == 1))
            delayed_scores = scores(delayed)
            rho = scenario.arrivals_per_hour[0] / 60 * scenario.mean_occupancy() / scenario.fixed_counters
            summary["mm_s_rase"] = round(delayed_scores[ESTIMATOR]["rase"], 3)
            summary["mm_s_ql_rase"] = round(delayed_scores["ql"]["rase"], 3)
            summary["mm_s_one_minus_rho"] = round(1 - rho, 3)
            print(
                f"  sanity (delayed arrivals, at issue): RASE estimator {summary['mm_s_rase']},"
                f" QL {summary['mm_s_ql_rase']}, 1 - rho = {summary['mm_s_one_minus_rho']}"
            )

    multi = pool([per_scenario[n] for n, s in SCENARIOS.items() if s.multi_skill])
    multi_table = scores(multi)
    print_table("[multi-skill scenarios pooled] all predictions", multi_table)
    for low, high, label in LOAD_BANDS:
        band = scores(subset(multi, (multi["load"] >= low) & (multi["load"] < high)))
        best = best_baseline(band)
        print(
            f"  load {label:<20} n {band[ESTIMATOR]['n']:>6}: estimator MAE {band[ESTIMATOR]['mae']:.2f}"
            f" under5 {band[ESTIMATOR]['under5']:.2%} cover {band[ESTIMATOR]['coverage']:.3f};"
            f" best baseline {best} MAE {band[best]['mae']:.2f} under5 {band[best]['under5']:.2%}"
        )
    print("  the price of fewer under-predictions: point = mean + a * (high - mean) on the same predictions")
    known = ~np.isnan(multi["expected"])
    point, high, target = multi["expected"][known], multi["high"][known], multi["target"][known]
    for shift in (0.0, 0.5, 1.0, 1.5, 2.0):
        error = point + shift * (high - point) - target
        print(
            f"    a = {shift:.1f}: MSE x{np.mean(error**2) / multi_table[ESTIMATOR]['mse']:.2f},"
            f" under-predicted by > 5 min {np.mean(error < -UNDER_MINUTES):.2%}"
        )
    overall = scores(pool(list(per_scenario.values())))
    print_table("[all scenarios pooled] all predictions", overall)

    best = best_baseline(multi_table)
    calls = sum(r["estimate_calls"] for r in testing)  # type: ignore[misc]
    seconds = sum(r["estimate_seconds"] for r in testing)  # type: ignore[misc]
    large_ms = time_large_queue(settings)
    print(
        f"\nestimator: {calls} calls, mean {1000 * seconds / max(calls, 1):.2f} ms per call;"
        f" 200 waiting tickets at 8 counters: {large_ms:.1f} ms per refresh (median)"
    )
    headline = {
        "estimator_mse": round(multi_table[ESTIMATOR]["mse"], 3),
        "best_baseline": best,
        "best_baseline_mse": round(multi_table[best]["mse"], 3),
        "improvement": round(1 - multi_table[ESTIMATOR]["mse"] / multi_table[best]["mse"], 3),
        "improvement_vs_last10": round(1 - multi_table[ESTIMATOR]["mse"] / multi_table["last10"]["mse"], 3),
        "under5_share": round(multi_table[ESTIMATOR]["under5"], 4),
        "coverage80": round(multi_table[ESTIMATOR]["coverage"], 3),
        "coverage_shown_range": round(multi_table[ESTIMATOR]["coverage_shown"], 3),
        "above_high5_share": round(multi_table[ESTIMATOR]["above_high5"], 4),
        "above_shown_high5_share": round(multi_table[ESTIMATOR]["above_shown_high5"], 4),
        "under5_share_shown_range": round(multi_table[ESTIMATOR]["above_shown_high5"], 4),
        "best_baseline_under5_share": round(multi_table[best]["under5"], 4),
        "estimator_mae": round(multi_table[ESTIMATOR]["mae"], 3),
        "estimator_bias": round(multi_table[ESTIMATOR]["bias"], 3),
        "predictions": multi_table[ESTIMATOR]["n"],
        "overall_improvement": round(1 - overall[ESTIMATOR]["mse"] / overall[best_baseline(overall)]["mse"], 3),
        **summary,
        "estimate_200_tickets_ms": round(large_ms, 1),
        "mean_estimate_ms": round(1000 * seconds / max(calls, 1), 2),
        "test_days_per_scenario": days,
        "tuning_days_per_scenario": tune_days,
        "seed": args.seed,
        "runtime_s": round(time.perf_counter() - started, 1),
    }
    if live:
        headline["benchmark_view"] = view_figures(multi_table, pool([subset(d, d["at_issue"] == 1) for n, d in
                                                                     per_scenario.items() if SCENARIOS[n].multi_skill]))
        headline["live_view"] = report_live(live, headline["benchmark_view"])  # type: ignore[arg-type]
    if live_roster:
        headline["live_roster_view"] = report_live(live_roster, headline["benchmark_view"],  # type: ignore[arg-type]
                                                   rostered=True)
    if live_full:
        print("\n(the live view again, every refresh running the estimator: no patched refreshes)")
        headline["live_full_view"] = report_live(live_full, headline["benchmark_view"])  # type: ignore[arg-type]
    headline["runtime_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(headline))
    return headline


if __name__ == "__main__":
    main()
