"""Wait-time estimates: when will each waiting ticket be called?

The estimator projects the branch's queue forward from a :class:`QueueSnapshot` with the real
call-next policy (:mod:`server.domain.policy`): counters become free one after another, and each free
counter calls what :func:`~server.domain.policy.call_order` puts first among the tickets still waiting
(today's tickets plus the arrivals the projection expects, which may overtake through head starts or
service preference). Durations are random: service times by service and hour of day, learnt from the
branch's own history with the configured expected service time as the prior
(:class:`ServiceTimeModel`); walk-outs found only when called, costing the counter a short call
(:class:`AbandonmentModel`); cancellations costing nothing; counter pauses (:class:`PauseModel`).
A few dozen such projections (randomised quasi-Monte Carlo with a fixed seed, so an estimate does not
jitter between refreshes) give every ticket's mean call time and the spread of its call times, from
which the interval comes, widened by a per-branch calibration (:class:`IntervalCalibration`).
Everything here is pure: no I/O, the clock is ``snapshot.now``.

Typical use by the server, each time the queue moves::

    model = BranchModel(expected_service={s.code: s.expected_service for s in branch.services},
                        timezone=branch.timezone)
    model.observe_issued(...)/observe_served(...)/...      # as events happen (or replayed at start)
    estimates = estimate_waits(snapshot, rules, model)      # {ticket_id: WaitEstimate}
    tile = estimate_new_ticket(snapshot, "open_account", PriorityClass.NORMAL, rules, model)
    tile.text("zh-CN")                                      # "约 10–15 分钟"

See docs/wait-estimates.md for the method and the benchmark behind the numbers.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from statistics import NormalDist

from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket, call_key, keyed_call_order
from server.domain.tickets import PriorityClass

_STANDARD_NORMAL = NormalDist()
_INFINITY = math.inf


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60.0


HIGH_END_SLACK_MIN = 0.5  # how far past a grid step the interval's high end may go before the next step is shown
SHOWN_OPEN_ABOVE_MIN = 120
"""A shown range ending past this reads "… or more" / "more than 2 hours": customers are promised no high end."""


# --- snapshot of the hall ---------------------------------------------------------------------------


class CounterStatus(StrEnum):
    OPEN = "open"  # calls tickets when free
    PAUSED = "paused"  # staff on a short break; will resume
    CLOSED = "closed"  # not staffed; ignored unless ``opens_at`` says when it opens


@dataclass(frozen=True)
class CounterState:
    """One counter as the estimator sees it.

    ``serving_service``/``serving_since``: the ticket occupying the counter (called or being served)
    and when it was called. ``paused_since``: start of the current pause. ``opens_at``/``closes_at``:
    the roster, if known (a closed counter that will open; an open one that stops calling then). ``breaks``:
    (start, end) spans between those in which it calls nobody (a rostered break, a handover); a customer at
    the counter when one starts is finished first.
    """

    skills: CounterSkills
    status: CounterStatus = CounterStatus.OPEN
    serving_service: str | None = None
    serving_since: datetime | None = None
    paused_since: datetime | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    breaks: tuple[tuple[datetime, datetime], ...] = ()


@dataclass(frozen=True)
class BookedArrival:
    """A customer expected at ``at`` for ``service_code`` (a booked appointment not checked in yet): an arrival
    the projection knows of, of the ``appointment`` class unless said otherwise."""

    at: datetime
    service_code: str
    priority: PriorityClass = PriorityClass.APPOINTMENT


@dataclass(frozen=True)
class QueueSnapshot:
    """The branch at one moment: the clock, its counters, and the tickets waiting to be called.

    ``booked``: the arrivals known in advance (booked appointments). None: unknown, the projection draws the
    appointment class from the learnt arrival rates like the others; a list (even an empty one) replaces those
    draws, since every appointment ticket comes from a booking.
    """

    now: datetime
    counters: Sequence[CounterState]
    waiting: Sequence[QueuedTicket]
    booked: Sequence[BookedArrival] | None = None


# --- the estimate and its presentation -----------------------------------------------------------------


class UnknownReason(StrEnum):
    """Why a wait cannot be estimated; screens tell the customer (a kiosk ticket taken before the counters open
    must not just say "no estimate")."""

    NO_COUNTER_OPEN = "no_counter_open"  # no counter of the branch is open yet (before the staff sign in)
    NOT_STAFFED = "not_staffed"  # counters are open, but none that serves this ticket
    TOO_FAR = "too_far"  # counters serve it, but its call lies beyond what the projection looks ahead
    NOT_YET = "not_yet"  # the live side has not estimated the hall yet (the server has just started)


_UNKNOWN_TEXT = {
    UnknownReason.NO_COUNTER_OPEN: ("窗口尚未开放", "no counter open yet"),
    UnknownReason.NOT_STAFFED: ("暂无窗口办理", "no counter serving it now"),
    UnknownReason.TOO_FAR: ("暂无法估计", "no estimate yet"),
    UnknownReason.NOT_YET: ("暂无法估计", "no estimate yet"),
}


@dataclass(frozen=True)
class WaitEstimate:
    """Predicted time until a ticket is called: the point estimate and an interval.

    ``expected`` is the number the benchmark scores (MAE, MSE, under-prediction); ``low``-``high`` is
    the interval meant to contain the truth with probability ``level``. ``known`` is False when no
    counter that may serve the ticket is open or scheduled to open; ``reason`` then says why.
    """

    expected: timedelta
    low: timedelta
    high: timedelta
    level: float = 0.8
    known: bool = True
    reason: UnknownReason | None = None

    @classmethod
    def unknown(cls, reason: UnknownReason = UnknownReason.NOT_YET) -> WaitEstimate:
        return cls(timedelta(0), timedelta(0), timedelta(0), known=False, reason=reason)

    def at_least(self, wait: timedelta) -> WaitEstimate:
        """This estimate for a ticket no counter may call within ``wait`` (held until then: an appointment checked in
        before its slot): no part of it is shorter."""
        if not self.known or wait <= timedelta(0):
            return self
        return replace(self, expected=max(self.expected, wait), low=max(self.low, wait), high=max(self.high, wait))

    def with_more_ahead(self, extra: int, per_person: timedelta | None) -> WaitEstimate:
        """This estimate for a ticket with ``extra`` more people ahead than the one it was made for: each of them
        adds ``per_person`` (their expected counter time over the counters that share them) to the expected wait
        and to both ends of the interval. The estimate given at issue comes from the last refresh; tickets
        issued since (a burst at the kiosks) stand in front of the new one and must lengthen its wait."""
        if not self.known or extra <= 0 or per_person is None or per_person <= timedelta(0):
            return self
        shift = per_person * extra
        return replace(self, expected=self.expected + shift, low=self.low + shift, high=self.high + shift)

    def shifted(self, delta: timedelta) -> WaitEstimate:
        """This estimate ``delta`` later (or earlier, negative), every figure moved alike and none below zero."""
        if not self.known or not delta:
            return self
        zero = timedelta(0)
        return replace(self, expected=max(zero, self.expected + delta), low=max(zero, self.low + delta),
                       high=max(zero, self.high + delta))

    def aged(self, elapsed: timedelta) -> WaitEstimate | None:
        """This estimate of a waiting ticket ``elapsed`` later, nothing having happened meanwhile: the same call time,
        so every figure is that much shorter (the interval's ends not below zero). None when the call was expected
        by then: a ticket still waiting past its expected call needs a new estimate, not a shorter one. An unknown
        estimate stays as it is."""
        if not self.known or elapsed <= timedelta(0):
            return self
        if self.expected <= elapsed:
            return None
        zero = timedelta(0)
        return replace(self, expected=self.expected - elapsed, low=max(zero, self.low - elapsed),
                       high=max(zero, self.high - elapsed))

    def rounded_range(self) -> tuple[int, int] | None:
        """The interval in whole minutes as shown to customers, or None when there is no estimate.

        Bounds are on a 5-minute grid (15 beyond an hour) and at least one step apart. The low end is
        rounded to the nearest step; the high end, the figure customers hold us to, is rounded up unless
        it passes a step by under half a minute (an interval ending at 15.4 min reads "…–15", at 16 "…–20").
        """
        if not self.known:
            return None
        low, high = _minutes(self.low), _minutes(self.high)
        step = 5 if high <= 60 else 15
        low_shown = max(0, round(low / step) * step)
        high_shown = max(math.ceil((high - HIGH_END_SLACK_MIN) / step) * step, low_shown + step)
        return low_shown, high_shown

    def text(self, language: str) -> str:
        """The estimate as customers read it: "约 10–15 分钟" / "about 10–15 min", "少于5分钟" / "less than 5 min",
        "超过2小时" / "more than 2 hours"."""
        return self._text(language.lower().startswith("zh"), self.rounded_range())

    def _text(self, zh: bool, shown: tuple[int, int] | None) -> str:
        if shown is None:
            zh_text, en_text = _UNKNOWN_TEXT[self.reason or UnknownReason.NOT_YET]
            return zh_text if zh else en_text
        low, high = shown
        if low == 0 and high <= SHOWN_OPEN_ABOVE_MIN:
            return f"少于{high}分钟" if zh else f"less than {high} min"
        if low >= SHOWN_OPEN_ABOVE_MIN:
            return "超过2小时" if zh else "more than 2 hours"
        if high > SHOWN_OPEN_ABOVE_MIN:
            return f"{low} 分钟以上" if zh else f"{low} min or more"
        return f"约 {low}–{high} 分钟" if zh else f"about {low}–{high} min"

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly form for the API and screens."""
        shown = self.rounded_range()
        return {
            "known": self.known,
            "expected_min": round(_minutes(self.expected), 1),
            "low_min": round(_minutes(self.low), 1),
            "high_min": round(_minutes(self.high), 1),
            "range_min": list(shown) if shown else None,
            "text": {"zh-CN": self._text(True, shown), "en": self._text(False, shown)},  # one rounding for both
            "reason": None if self.known else (self.reason or UnknownReason.NOT_YET).value,
        }


@dataclass(frozen=True)
class GivenEstimate:
    """The estimate a ticket was given at issue, as the customer read it, in seconds: the shown range (``high_s``
    None when it read "… or more") and the point estimate (``mid_s``)."""

    low_s: float
    high_s: float | None
    mid_s: float

    @classmethod
    def of(cls, given: object) -> GivenEstimate | None:
        """From :meth:`WaitEstimate.as_dict` as the ``issued`` event keeps it; None when the ticket was given no
        known estimate (or the record is not one)."""
        if not isinstance(given, dict) or given.get("known") is not True:
            return None
        try:
            shown = given.get("range_min") or [given["low_min"], given["high_min"]]
            low, high, mid = float(shown[0]), float(shown[1]), float(given["expected_min"])
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        return cls(low * 60, None if high > SHOWN_OPEN_ABOVE_MIN else high * 60, mid * 60)

    def within(self, wait_s: float) -> bool:
        """Whether a wait (issue to first call) ended inside the shown range."""
        return self.low_s <= wait_s and (self.high_s is None or wait_s <= self.high_s)

    def late_by(self, wait_s: float) -> float:
        """How far past the shown high end a wait ended, in seconds (0 when not past it, or open above)."""
        return 0.0 if self.high_s is None else max(0.0, wait_s - self.high_s)


# --- what the branch has learnt -----------------------------------------------------------------------


@dataclass
class _Moments:
    """Exponentially weighted count, sum and sum of squares."""

    weight: float = 0.0
    total: float = 0.0
    squares: float = 0.0

    def add(self, value: float, decay: float) -> None:
        self.weight = self.weight * decay + 1.0
        self.total = self.total * decay + value
        self.squares = self.squares * decay + value * value


@dataclass(frozen=True)
class DurationTable:
    """Durations of one service as the projection draws them: ``means[hour] * ratio``, ratio from
    ``ratios`` (sorted, mean 1)."""

    means: list[float]
    ratios: list[float]


class ServiceTimeModel:
    """Mean and spread of counter occupancy per service and local hour, shrunk towards priors.

    A *duration* is the time a counter is occupied by a customer who showed up: from the call to the
    end of the service. For service s and hour h the mean is a credibility-weighted blend::

        mean_s   = (k0 * expected_service_s + sum of durations_s) / (k0 + n_s)
        mean_s,h = (k1 * mean_s + sum of durations_s,h) / (k1 + n_s,h)

    and likewise for the second moment (prior CV ``prior_cv``). The hour weight k1 is learnt by
    empirical Bayes: the within-hour variance divided by the variance of the true hourly means (the
    spread of the hourly means beyond what sampling noise explains), so hours only differ as much as
    the data says they do. Older observations fade with a half-life counted in observations.

    The *shape* of the distribution is not assumed: the projection draws ``mean_s,h * r`` where r is
    resampled from the recent durations of the service divided by their hour's mean (plus a few
    pseudo-observations from a lognormal with the prior CV, so a new branch has a shape to start with).
    """

    def __init__(
        self,
        priors: Mapping[str, timedelta],
        prior_cv: float = 0.8,
        prior_weight: float = 10.0,
        hour_weight: float = 25.0,
        max_hour_weight: float = 5000.0,
        half_life: float = 3000.0,
        default_prior: timedelta = timedelta(minutes=5),
        shape_memory: int = 500,
        prior_shape_points: int = 20,
    ) -> None:
        self._priors = {code: _minutes(value) for code, value in priors.items()}
        self._default_prior = _minutes(default_prior)
        self.prior_cv = prior_cv
        self.prior_weight = prior_weight
        self.hour_weight = hour_weight  # used until enough hours have data to learn it
        self.max_hour_weight = max_hour_weight
        self._decay = 0.5 ** (1.0 / half_life)
        self._by_service: dict[str, _Moments] = {}
        self._by_hour: dict[tuple[str, int], _Moments] = {}
        self._recent: dict[str, deque[tuple[float, int]]] = {}  # (minutes, hour) of recent durations
        self.shape_memory = shape_memory
        self.prior_shape_points = prior_shape_points
        self._table_cache: dict[str, DurationTable] = {}
        self._hour_weight_cache: dict[str, float] = {}

    def observe(self, service_code: str, hour: int, duration: timedelta) -> None:
        minutes = _minutes(duration)
        if minutes <= 0:
            return
        prior = self._priors.get(service_code, self._default_prior)
        minutes = min(minutes, 10 * max(prior, self.mean_minutes(service_code, hour)))  # tame typing errors
        self._by_service.setdefault(service_code, _Moments()).add(minutes, self._decay)
        self._by_hour.setdefault((service_code, hour), _Moments()).add(minutes, self._decay)
        self._recent.setdefault(service_code, deque(maxlen=self.shape_memory)).append((minutes, hour))
        self._table_cache.pop(service_code, None)
        self._hour_weight_cache.pop(service_code, None)

    def _service_moments(self, service_code: str) -> tuple[float, float]:
        prior = self._priors.get(service_code, self._default_prior)
        prior_second = prior * prior * (1 + self.prior_cv**2)
        stats = self._by_service.get(service_code, _Moments())
        weight = self.prior_weight + stats.weight
        return (
            (self.prior_weight * prior + stats.total) / weight,
            (self.prior_weight * prior_second + stats.squares) / weight,
        )

    def learnt_hour_weight(self, service_code: str) -> float:
        """k1: how many observations an hour needs before its own mean counts as much as the service's."""
        cached = self._hour_weight_cache.get(service_code)
        if cached is not None:
            return cached
        mean, second = self._service_moments(service_code)
        within = max(second - mean * mean, 1e-9)
        excess = [
            (stats.total / stats.weight - mean) ** 2 - within / stats.weight
            for (code, _hour), stats in self._by_hour.items()
            if code == service_code and stats.weight >= 5
        ]
        if len(excess) < 3:
            weight = self.hour_weight
        else:
            between = sum(excess) / len(excess)
            weight = self.max_hour_weight if between <= 0 else min(max(within / between, 5.0), self.max_hour_weight)
        self._hour_weight_cache[service_code] = weight
        return weight

    def moments(self, service_code: str, hour: int) -> tuple[float, float]:
        """(mean, standard deviation) in minutes for a service starting in local ``hour``."""
        mean, second = self._service_moments(service_code)
        stats = self._by_hour.get((service_code, hour))
        if stats is not None:
            prior_weight = self.learnt_hour_weight(service_code)
            weight = prior_weight + stats.weight
            mean = (prior_weight * mean + stats.total) / weight
            second = (prior_weight * second + stats.squares) / weight
        return mean, math.sqrt(max(second - mean * mean, (0.05 * mean) ** 2))

    def sampling_table(self, service_code: str) -> DurationTable:
        """What the projection draws durations from: hourly means and the learnt shape."""
        cached = self._table_cache.get(service_code)
        if cached is None:
            means = [self.moments(service_code, hour)[0] for hour in range(24)]
            sigma = math.sqrt(math.log(1 + self.prior_cv**2))
            points = self.prior_shape_points
            ratios = [
                math.exp(sigma * _STANDARD_NORMAL.inv_cdf((i + 0.5) / points) - sigma * sigma / 2)
                for i in range(points)
            ]
            ratios += [minutes / means[hour] for minutes, hour in self._recent.get(service_code, ())]
            average = sum(ratios) / len(ratios)
            cached = DurationTable(means, sorted(r / average for r in ratios))
            self._table_cache[service_code] = cached
        return cached

    def mean_minutes(self, service_code: str, hour: int) -> float:
        return self.moments(service_code, hour)[0]

    def mean(self, service_code: str, hour: int) -> timedelta:
        return timedelta(minutes=self.mean_minutes(service_code, hour))

    def observations(self, service_code: str) -> float:
        """The (faded) number of observations behind the service's estimate."""
        return self._by_service.get(service_code, _Moments()).weight


# Edges (minutes waited) of the bins in which the no-show share is learnt.
_WAIT_BIN_EDGES = (2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0)


class AbandonmentModel:
    """Walk-outs and no-shows, learnt from what the counters see.

    * No-show share by minutes waited: a customer who walked out is found only when called; the share
      absent among calls is learnt per bin of waited time (see :meth:`no_show_curve`).
    * Cancellations (customer cancels on the phone page): a hazard per minute waited, constant within
      each bin of waited time: cancellations in the bin / minutes of waiting spent in the bin, shrunk to
      the overall rate. (It falls with waiting when walk-outs who do not cancel accumulate.)
    * The time a counter loses on a no-show (call, recall, give up).
    """

    def __init__(
        self,
        prior_no_show: float = 0.05,
        prior_weight: float = 20.0,
        prior_no_show_cost: timedelta = timedelta(minutes=1),
        half_life: float = 5000.0,
        exposure_prior: float = 60.0,
    ) -> None:
        self.prior_no_show = prior_no_show
        self.prior_weight = prior_weight
        self.exposure_prior = exposure_prior  # minutes of waiting without a cancellation, as a prior
        self._decay = 0.5 ** (1.0 / half_life)
        bins = len(_WAIT_BIN_EDGES) + 1
        self._calls = [0.0] * bins
        self._absent = [0.0] * bins
        self._cancels = [0.0] * bins
        self._exposure = [0.0] * bins  # minutes waited within each bin by tickets that left the queue
        self._cost = _Moments()
        self._prior_cost = _minutes(prior_no_show_cost)

    def _left_queue(self, minutes: float) -> None:
        """Fade old data and add the exposure of a ticket that left the queue after ``minutes``."""
        decay = self._decay
        self._calls = [c * decay for c in self._calls]
        self._absent = [a * decay for a in self._absent]
        self._cancels = [c * decay for c in self._cancels]
        self._exposure = [e * decay for e in self._exposure]
        start = 0.0
        for index, edge in enumerate((*_WAIT_BIN_EDGES, _INFINITY)):
            if minutes <= start:
                break
            self._exposure[index] += min(minutes, edge) - start
            start = edge

    def observe_call(self, waited: timedelta, showed_up: bool, no_show_cost: timedelta | None = None) -> None:
        minutes = max(_minutes(waited), 0.0)
        self._left_queue(minutes)
        index = bisect.bisect_right(_WAIT_BIN_EDGES, minutes)
        self._calls[index] += 1
        if not showed_up:
            self._absent[index] += 1
            if no_show_cost is not None:
                self._cost.add(max(_minutes(no_show_cost), 0.0), self._decay)

    def observe_cancel(self, waited: timedelta) -> None:
        minutes = max(_minutes(waited), 0.0)
        self._left_queue(minutes)
        self._cancels[bisect.bisect_right(_WAIT_BIN_EDGES, minutes)] += 1

    def overall_no_show(self) -> float:
        return (self.prior_weight * self.prior_no_show + sum(self._absent)) / (self.prior_weight + sum(self._calls))

    def no_show_curve(self) -> list[float]:
        """No-show probability for each waited-time bin (edges ``_WAIT_BIN_EDGES``).

        Each bin is shrunk towards the bin before it (the first towards the overall share), then the
        curve is made non-decreasing by weighted isotonic regression: the longer a customer has been
        waiting, the likelier they have walked out.
        """
        rates: list[float] = []
        weights: list[float] = []
        previous = self.overall_no_show()
        for calls, absent in zip(self._calls, self._absent, strict=True):
            previous = (self.prior_weight * previous + absent) / (self.prior_weight + calls)
            rates.append(previous)
            weights.append(self.prior_weight + calls)
        return _isotonic(rates, weights)

    def no_show_probability(self, waited: timedelta) -> float:
        return self.no_show_curve()[bisect.bisect_right(_WAIT_BIN_EDGES, _minutes(waited))]

    def cancel_hazard(self) -> float:
        """Cancellations per minute waited, over all waits (prior: none in ``exposure_prior`` minutes)."""
        return sum(self._cancels) / (sum(self._exposure) + self.exposure_prior)

    def cancel_hazards(self) -> list[float]:
        """Cancellations per minute waited within each waited-time bin, shrunk to the overall rate."""
        overall = self.cancel_hazard()
        prior = self.exposure_prior
        return [
            (prior * overall + cancels) / (prior + exposure)
            for cancels, exposure in zip(self._cancels, self._exposure, strict=True)
        ]

    def cumulative_cancel_hazard(self) -> list[float]:
        """The integrated cancellation hazard at each bin edge (0 at no wait): P(no cancel by w) = exp(-H(w))."""
        cumulative = [0.0]
        start = 0.0
        for edge, hazard in zip(_WAIT_BIN_EDGES, self.cancel_hazards(), strict=False):
            cumulative.append(cumulative[-1] + hazard * (edge - start))
            start = edge
        return cumulative

    def no_show_cost_minutes(self) -> float:
        weight = 5.0 + self._cost.weight
        return (5.0 * self._prior_cost + self._cost.total) / weight

    def leave_hazard(self) -> float:
        """All departures from the queue other than calls of present customers, per minute waited."""
        return (sum(self._cancels) + sum(self._absent)) / (sum(self._exposure) + self.exposure_prior)


def _isotonic(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, length]
    for value, weight in zip(values, weights, strict=True):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean2, weight2, length2 = blocks.pop()
            mean1, weight1, length1 = blocks.pop()
            total = weight1 + weight2
            blocks.append([(mean1 * weight1 + mean2 * weight2) / total, total, length1 + length2])
    fitted: list[float] = []
    for mean, _weight, length in blocks:
        fitted.extend([mean] * int(length))
    return fitted


class PauseModel:
    """How often counters pause between customers and for how long (recent pauses, resampled)."""

    def __init__(self, prior_probability: float = 0.01, memory: int = 200) -> None:
        self.prior_probability = prior_probability
        self._durations: deque[float] = deque(maxlen=memory)
        self._pauses = 0.0
        self._completions = 0.0
        self._decay = 0.5 ** (1.0 / 2000.0)

    def observe_completion(self) -> None:
        self._completions = self._completions * self._decay + 1
        self._pauses *= self._decay

    def observe_pause(self, duration: timedelta) -> None:
        self._pauses += 1
        self._durations.append(max(_minutes(duration), 0.0))

    def probability(self) -> float:
        """Chance that a counter pauses after a customer."""
        return (50 * self.prior_probability + self._pauses) / (50 + self._completions + self._pauses)

    def durations(self) -> list[float]:
        return list(self._durations) or [10.0]


class ArrivalModel:
    """Expected arrivals per service and local hour: the mean over recent days, scaled to today's pace.

    Days are the local dates on which tickets were issued; ``memory_days`` of them are kept. Today's
    *level* is (arrivals in the last two hours + k) / (what the profile expected + k). A branch with no
    history uses today's last hour as a flat rate.
    """

    def __init__(self, timezone: tzinfo, memory_days: int = 28, level_prior: float = 15.0) -> None:
        self.timezone = timezone
        self._days: deque[Counter[tuple[str, int]]] = deque(maxlen=memory_days)
        self._today_date: date | None = None
        self._today: Counter[tuple[str, int]] = Counter()
        self._today_times: deque[tuple[datetime, str]] = deque()
        self._classes: dict[str, Counter[PriorityClass]] = {}
        self._profile: dict[tuple[str, int], float] = {}  # mean arrivals per minute over the remembered days
        self.level_prior = level_prior

    def observe(self, service_code: str, priority: PriorityClass, at: datetime) -> None:
        local = at.astimezone(self.timezone)
        self._roll_to(local.date())
        self._today[(service_code, local.hour)] += 1
        self._today_times.append((local, service_code))
        while self._today_times and local - self._today_times[0][0] > timedelta(hours=2):
            self._today_times.popleft()
        self._classes.setdefault(service_code, Counter())[priority] += 1

    def _roll_to(self, day: date) -> None:
        if self._today_date is None:
            self._today_date = day
        elif day > self._today_date:
            if self._today:
                self._days.append(self._today)
                self._profile = {
                    key: sum(day.get(key, 0) for day in self._days) / (60.0 * len(self._days))
                    for key in {key for day in self._days for key in day}
                }
            self._today = Counter()
            self._today_times.clear()
            self._today_date = day

    @property
    def history_days(self) -> int:
        return len(self._days)

    def profile_rate(self, service_code: str, hour: int) -> float:
        """Mean arrivals per minute in a local hour over the remembered days."""
        return self._profile.get((service_code, hour), 0.0)

    def services(self) -> set[str]:
        return set(self._classes)

    def class_mix(self, service_code: str) -> list[tuple[PriorityClass, float]]:
        counts = self._classes.get(service_code)
        if not counts:
            return [(PriorityClass.NORMAL, 1.0)]
        total = sum(counts.values())
        return [(priority, count / total) for priority, count in sorted(counts.items())]

    def hourly_rates(self, at: datetime, hours: int) -> list[dict[str, float]]:
        """Expected arrivals per minute for each service in the local hours starting with ``at``'s hour."""
        local = at.astimezone(self.timezone)
        services = sorted(self.services())
        today = self._today_date == local.date()
        cutoff = local - timedelta(hours=2)
        recent = [(t, s) for t, s in self._today_times if t >= cutoff] if today else []
        if not self._days:  # no history yet: today's last hour, flat
            last_hour = Counter(s for t, s in recent if local - t <= timedelta(hours=1))
            flat = {s: last_hour.get(s, 0) / 60.0 for s in services}
            return [flat for _ in range(hours)]
        window_start = local - timedelta(hours=2)
        expected = sum(self._profile_over(service, window_start, local) for service in services)
        level = (len(recent) + self.level_prior) / (expected + self.level_prior)
        return [{s: level * self.profile_rate(s, (local.hour + k) % 24) for s in services} for k in range(hours)]

    def _profile_over(self, service_code: str, start: datetime, end: datetime) -> float:
        """Arrivals the profile expects between two local times of the same day (or across midnight)."""
        total = 0.0
        cursor = start
        while cursor < end:
            boundary = min(cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1), end)
            total += self.profile_rate(service_code, cursor.hour) * _minutes(boundary - cursor)
            cursor = boundary
        return total


PRESENCE_BIN_MINUTES = 15
_PRESENCE_BINS = 24 * 60 // PRESENCE_BIN_MINUTES


class CounterPresence:
    """When each counter is usually signed in: per local quarter-hour, the share of it the counter was signed in
    (open or paused), over the last ``memory_days`` days on which any counter signed in.

    The server knows no roster, yet halls staff by one: counters open for the peaks and close after them, at the
    same times most days. Without this, a projection keeps every open counter open and every closed one closed,
    and waits that run past a usual closing are under-estimated (see docs/wait-estimates.md, "the live view").
    """

    def __init__(self, timezone: tzinfo, memory_days: int = 28, min_days: int = 3) -> None:
        self.timezone = timezone
        self.memory_days = memory_days
        self.min_days = min_days
        self._since: dict[str, datetime] = {}  # counters signed in now: since when
        self._days: dict[date, dict[str, list[float]]] = {}  # local day -> counter -> minutes signed in per bin
        self._profile: tuple[date, dict[str, list[float]]] | None = None  # (today, share per bin), cached

    def observe(self, counter: str, signed_in: bool, at: datetime) -> None:
        """A counter signed in (``signed_in``) or out at ``at``; a second sign-in keeps the first."""
        if signed_in:
            self._since.setdefault(counter, at)
            return
        since = self._since.pop(counter, None)
        if since is not None and at > since:
            self._add(counter, since, at)

    def _add(self, counter: str, start: datetime, end: datetime) -> None:
        cursor, end = start.astimezone(self.timezone), end.astimezone(self.timezone)
        step = timedelta(minutes=PRESENCE_BIN_MINUTES)
        while cursor < end:
            minute = cursor.hour * 60 + cursor.minute
            index = minute // PRESENCE_BIN_MINUTES
            bin_start = cursor.replace(hour=0, minute=0, second=0, microsecond=0) + step * index
            boundary = min(bin_start + step, end)
            bins = self._days.setdefault(cursor.date(), {}).setdefault(counter, [0.0] * _PRESENCE_BINS)
            bins[index] += _minutes(boundary - cursor)
            cursor = boundary
        for day in sorted(self._days)[: -(self.memory_days + 1)]:  # the remembered days, and today
            del self._days[day]
        self._profile = None

    def _shares(self, today: date) -> dict[str, list[float]]:
        if self._profile is None or self._profile[0] != today:
            days = [day for day in sorted(self._days) if day < today][-self.memory_days:]
            shares: dict[str, list[float]] = {}
            if len(days) >= self.min_days:
                for day in days:
                    for counter, minutes in self._days[day].items():
                        total = shares.setdefault(counter, [0.0] * _PRESENCE_BINS)
                        for index, value in enumerate(minutes):
                            total[index] += value / (PRESENCE_BIN_MINUTES * len(days))
            self._profile = (today, shares)
        return self._profile[1]

    def share(self, counter: str, at: datetime) -> float | None:
        """The share of ``at``'s quarter-hour the counter was signed in on the remembered days (None: too few)."""
        local = at.astimezone(self.timezone)
        shares = self._shares(local.date())
        if not shares:
            return None
        return shares.get(counter, [0.0] * _PRESENCE_BINS)[(local.hour * 60 + local.minute) // PRESENCE_BIN_MINUTES]

    def next_change(self, counter: str, signed_in: bool, now: datetime) -> datetime | None:
        """When today the counter usually changes from ``signed_in`` to the other state: the start of the first
        later quarter-hour in which it was mostly the other way. None when the history is too short, when today
        differs from the usual now (someone is late, or stayed), or when no change is usual before midnight."""
        local = now.astimezone(self.timezone)
        shares = self._shares(local.date())
        if not shares:
            return None
        profile = shares.get(counter, [0.0] * _PRESENCE_BINS)
        index = (local.hour * 60 + local.minute) // PRESENCE_BIN_MINUTES
        if (profile[index] >= 0.5) != signed_in:
            return None
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for later in range(index + 1, _PRESENCE_BINS):
            if (profile[later] >= 0.5) != signed_in:
                return midnight + timedelta(minutes=PRESENCE_BIN_MINUTES * later)
        return None


def with_usual_hours(snapshot: QueueSnapshot, model: BranchModel) -> QueueSnapshot:
    """The snapshot with each counter's usual next opening or closing (:class:`CounterPresence`) where the caller
    gave none: what the live server projects with, having no roster."""
    counters = []
    for counter in snapshot.counters:
        if counter.opens_at is None and counter.closes_at is None:
            signed_in = counter.status is not CounterStatus.CLOSED
            change = model.presence.next_change(counter.skills.counter, signed_in, snapshot.now)
            if change is not None:
                counter = replace(counter, closes_at=change) if signed_in else replace(counter, opens_at=change)
        counters.append(counter)
    return replace(snapshot, counters=counters)


class IntervalCalibration:
    """Widens or narrows the intervals until they cover the stated share of outcomes.

    Stochastic approximation on the log of the scale: after each resolved estimate,
    ``log scale += rate * (level - covered)``; it settles where the coverage equals ``level``.
    """

    def __init__(self, scale: float = 1.0, level: float = 0.8, rate: float = 0.005) -> None:
        self._log_scale = math.log(scale)
        self.level = level
        self.rate = rate
        self.observed = 0

    @property
    def scale(self) -> float:
        return math.exp(self._log_scale)

    def observe(self, estimate: WaitEstimate, actual: timedelta) -> None:
        if not estimate.known:
            return
        covered = estimate.low <= actual <= estimate.high
        self._log_scale = min(max(self._log_scale + self.rate * (self.level - covered), -2.0), 2.0)
        self.observed += 1


@dataclass(frozen=True)
class EstimatorSettings:
    """Knobs of the projection.

    ``interval_scale`` is the starting widening of the simulated band around the mean (fitted on
    tuning seeds by ``benchmarks/wait_accuracy.py``); each branch then calibrates its own online
    (:class:`IntervalCalibration`). ``seed`` is fixed so that estimates do not jitter between refreshes.
    """

    replications: int = 48
    min_replications: int = 16
    work_budget: int = 4000  # tickets x replications per refresh; long queues get fewer replications
    seed: int = 7
    level: float = 0.8
    interval_scale: float = 1.15  # the fit on tuning seeds printed by benchmarks/wait_accuracy.py (1.147)
    calibration_rate: float = 0.005
    horizon: timedelta = timedelta(hours=12)

    def replications_for(self, tickets: int) -> int:
        return max(self.min_replications, min(self.replications, self.work_budget // max(tickets, 1)))


@dataclass
class BranchModel:
    """Everything the estimator learns about one branch, fed by the branch's events.

    Times are aware datetimes; hours of day are taken in ``timezone`` (the branch's).
    """

    expected_service: Mapping[str, timedelta]
    timezone: tzinfo
    settings: EstimatorSettings = field(default_factory=EstimatorSettings)
    service_times: ServiceTimeModel = field(init=False)
    abandonment: AbandonmentModel = field(default_factory=AbandonmentModel)
    pauses: PauseModel = field(default_factory=PauseModel)
    arrivals: ArrivalModel = field(init=False)
    presence: CounterPresence = field(init=False)
    calibration: IntervalCalibration = field(init=False)  # for tickets already waiting
    issue_calibration: IntervalCalibration = field(init=False)  # for a ticket issued now (printed, kiosk tiles)

    def __post_init__(self) -> None:
        self.service_times = ServiceTimeModel(self.expected_service)
        self.arrivals = ArrivalModel(self.timezone)
        self.presence = CounterPresence(self.timezone)
        # Two widths: an estimate at issue is more certain than one for a ticket that has waited (the walk-outs
        # ahead of it are still to happen), so one width for both would make the printed range wider than 80%
        # needs, or the waiting tickets' ranges narrower than 80% allows.
        self.calibration, self.issue_calibration = (
            IntervalCalibration(self.settings.interval_scale, self.settings.level, self.settings.calibration_rate)
            for _ in range(2)
        )

    def local_hour(self, at: datetime) -> int:
        return at.astimezone(self.timezone).hour

    def observe_issued(self, service_code: str, priority: PriorityClass, at: datetime) -> None:
        self.arrivals.observe(service_code, priority, at)

    def observe_served(
        self, service_code: str, queued_at: datetime, called_at: datetime, finished_at: datetime
    ) -> None:
        """A called customer came and was served; the counter was busy from the call to the finish."""
        self.abandonment.observe_call(called_at - queued_at, showed_up=True)
        self.service_times.observe(service_code, self.local_hour(called_at), finished_at - called_at)
        self.pauses.observe_completion()

    def observe_no_show(self, queued_at: datetime, called_at: datetime, marked_at: datetime) -> None:
        """A called customer did not come; the counter gave up at ``marked_at``."""
        self.abandonment.observe_call(called_at - queued_at, showed_up=False, no_show_cost=marked_at - called_at)
        self.pauses.observe_completion()

    def observe_cancelled(self, queued_at: datetime, cancelled_at: datetime) -> None:
        self.abandonment.observe_cancel(cancelled_at - queued_at)

    def observe_pause(self, started_at: datetime, ended_at: datetime) -> None:
        self.pauses.observe_pause(ended_at - started_at)

    def observe_counter(self, counter: str, signed_in: bool, at: datetime) -> None:
        """Staff signed in at (``signed_in``) or out of a counter."""
        self.presence.observe(counter, signed_in, at)

    def observe_estimate(self, estimate: WaitEstimate, actual: timedelta, at_issue: bool = False) -> None:
        """An estimate given earlier, and the wait from that moment to the call that followed; ``at_issue``: the
        estimate a new ticket was given (calibrates the width of new tickets' estimates, not waiting ones')."""
        (self.issue_calibration if at_issue else self.calibration).observe(estimate, actual)


# --- the projection ------------------------------------------------------------------------------------

_Kind = tuple[int, PriorityClass]  # (service index, priority class) of a future arrival


@dataclass
class _Lane:
    """A counter in the projection: its call order over today's tickets and how it starts."""

    order: list[int]  # indices of eligible waiting tickets callable now, in the policy's call order
    keys: list[float]  # their call keys, minutes relative to now
    held: list[tuple[float, float, int]]  # (call key, minute callable from, index) of the eligible held ones, by key
    phantom_offsets: dict[_Kind, float]  # call key of a future arrival = arrival minute + offset
    opens: float  # minutes from now
    closes: float
    gaps: list[tuple[float, float]] = field(default_factory=list)  # breaks, minutes from now, in time order
    serving: tuple[float, list[float]] | None = None  # (elapsed, possible remaining durations)
    pause_left: list[float] | None = None  # possible remaining pause lengths, if paused


CHECKPOINT_STEPS = 256  # simulation steps (or tickets prepared) between two checkpoints: well under a millisecond
SUMMARY_STEPS = 32  # tickets summarised between two checkpoints (each sorts its simulated call times)


def _no_checkpoint() -> None:
    return None


class _Projection:
    """A snapshot prepared for Monte Carlo replications of the queue's future.

    Each replication lets the counters, in the order they become free, call what the policy puts first
    at that counter among today's untaken tickets and the future arrivals so far. Because a ticket's
    call key at a counter does not change with time (waiting tickets all age at the same rate), each
    counter's order over today's tickets (that of :func:`call_order`) is computed once, and a future arrival
    of kind k at minute t has key t + offset(counter, k), the offset taken from :func:`call_key`.

    A ticket held until a later instant (``QueuedTicket.callable_from``: an appointment checked in before its slot)
    enters the queue then, as a booked arrival would, but with the call key it really has: until then no counter
    calls it, and from then on it is called in its place. Held tickets are few, so each counter keeps them apart
    (``_Lane.held``) and looks them over at each call rather than slowing the walk along its order.
    """

    def __init__(
        self,
        snapshot: QueueSnapshot,
        tickets: Sequence[QueuedTicket],
        rules: PolicyRules,
        model: BranchModel,
        ghosts: int = 0,
        checkpoint: Callable[[], None] | None = None,
    ) -> None:
        settings = model.settings
        self.checkpoint = checkpoint or _no_checkpoint
        # the last ``ghosts`` tickets are would-be new tickets: called like the others, but they take no
        # counter time, so they never delay each other nor anyone behind them
        self.ghost = [False] * (len(tickets) - ghosts) + [True] * ghosts
        now = snapshot.now
        local_now = now.astimezone(model.timezone)
        self.minute_of_day = local_now.hour * 60 + local_now.minute + local_now.second / 60
        self.horizon = _minutes(settings.horizon)
        arrival_rates = model.arrivals.hourly_rates(now, int(self.horizon // 60) + 2)
        services = sorted(
            {t.service_code for t in tickets}
            | {c.serving_service for c in snapshot.counters if c.serving_service}
            | {code for c in snapshot.counters for code in c.skills.services}
            | {code for rates in arrival_rates for code in rates}
            | {b.service_code for b in snapshot.booked or ()}
        )
        index = {code: i for i, code in enumerate(services)}
        class_mixes = {index[code]: model.arrivals.class_mix(code) for code in services}
        booked_kinds = {(index[b.service_code], b.priority) for b in snapshot.booked or ()}

        self.count = len(tickets)
        self.tables = [model.service_times.sampling_table(code) for code in services]
        abandonment = model.abandonment
        self.no_show_curve = abandonment.no_show_curve()
        self.cancel_hazards = abandonment.cancel_hazards()
        self.cumulative_hazard = abandonment.cumulative_cancel_hazard()
        self.waited_now: list[float] = []
        self.ticket_service: list[int] = []
        self.hazard_so_far: list[float] = []  # hazard already "used up" by today's tickets: not cancelled so far
        self.callable_in: dict[int, float] = {}  # minutes until each held ticket may be called
        for i, ticket in enumerate(tickets):
            if i % CHECKPOINT_STEPS == CHECKPOINT_STEPS - 1:
                self.checkpoint()
            held_until = ticket.callable_from
            if held_until is not None and held_until > now:
                self.callable_in[i] = _minutes(held_until - now)
            waited = _minutes(now - ticket.queued_at)
            self.waited_now.append(waited)
            self.ticket_service.append(index[ticket.service_code])
            self.hazard_so_far.append(self.cumulative_cancel(waited))
        self.no_show_cost = abandonment.no_show_cost_minutes()
        self.pause_probability = model.pauses.probability()
        self.pause_durations = model.pauses.durations()
        self.lanes = self._lanes(snapshot, tickets, rules, index, class_mixes, booked_kinds)
        self.reachable = len(self.served())

        # A future arrival matters only if at some counter its key precedes one of today's tickets;
        # otherwise every counter would reach it after all of today's tickets it may call.
        self.targets: dict[_Kind, list[tuple[int, float]]] = {}
        self.relevant_until: dict[_Kind, float] = {}
        for lane_index, lane in enumerate(self.lanes):
            last_key = max(lane.keys[-1] if lane.keys else -_INFINITY, lane.held[-1][0] if lane.held else -_INFINITY)
            for kind, offset in lane.phantom_offsets.items():
                self.targets.setdefault(kind, []).append((lane_index, offset))
                self.relevant_until[kind] = max(self.relevant_until.get(kind, -_INFINITY), last_key - offset)
        # per kind: arrivals per minute in each projected hour (independent Poisson streams); with the bookings
        # known, the appointment class arrives only as booked
        self.kind_rates: dict[_Kind, list[float]] = {}
        booked_known = snapshot.booked is not None
        for hour_index, rates in enumerate(arrival_rates):
            for code, rate in rates.items():
                for priority, share in class_mixes[index[code]]:
                    kind = (index[code], priority)
                    if booked_known and priority is PriorityClass.APPOINTMENT:
                        continue
                    if kind in self.relevant_until and rate * share > 0:
                        per_hour = self.kind_rates.setdefault(kind, [0.0] * len(arrival_rates))
                        per_hour[hour_index] = rate * share
        # the booked arrivals that matter (those that could precede one of today's tickets somewhere), in minutes
        self.booked: list[tuple[float, _Kind]] = []
        for arrival in snapshot.booked or ():
            kind = (index[arrival.service_code], arrival.priority)
            minute = max(_minutes(arrival.at - now), 0.0)
            if minute < min(self.relevant_until.get(kind, -_INFINITY), self.horizon):
                self.booked.append((minute, kind))

    def _lanes(
        self,
        snapshot: QueueSnapshot,
        tickets: Sequence[QueuedTicket],
        rules: PolicyRules,
        index: Mapping[str, int],
        class_mixes: Mapping[int, list[tuple[PriorityClass, float]]],
        booked_kinds: set[_Kind],
    ) -> list[_Lane]:
        now = snapshot.now
        services_by_index = {i: code for code, i in index.items()}
        lanes: list[_Lane] = []
        for counter in snapshot.counters:
            self.checkpoint()
            if counter.status is CounterStatus.CLOSED and counter.opens_at is None:
                continue
            closes = _minutes(counter.closes_at - now) if counter.closes_at is not None else _INFINITY
            opens = max(_minutes(counter.opens_at - now), 0.0) if counter.opens_at is not None else 0.0
            if closes <= opens:
                continue
            skills = counter.skills
            keyed = keyed_call_order(skills, tickets, rules, self.checkpoint, CHECKPOINT_STEPS)
            offsets: dict[_Kind, float] = {}
            kinds = {(index[code], priority) for code in skills.services
                     for priority, _share in class_mixes.get(index[code], [])}
            kinds |= {kind for kind in booked_kinds if services_by_index[kind[0]] in skills.services}
            for kind in sorted(kinds):
                probe = QueuedTicket(ticket_id=-1, service_code=services_by_index[kind[0]], priority=kind[1],
                                     queued_at=now)
                offsets[kind] = _minutes(call_key(probe, skills, rules)[0] - now)
            callable_in = self.callable_in
            lane = _Lane(
                order=[position for _key, position in keyed if position not in callable_in],
                keys=[_minutes(key - now) for (key, _id), position in keyed if position not in callable_in],
                held=[(_minutes(key - now), callable_in[position], position) for (key, _id), position in keyed
                      if position in callable_in],
                phantom_offsets=offsets,
                opens=opens,
                closes=min(closes, self.horizon),
                gaps=sorted((max(_minutes(start - now), 0.0), _minutes(end - now))
                            for start, end in counter.breaks if end > now and end > start),
            )
            if counter.status is CounterStatus.PAUSED:
                elapsed = _minutes(now - counter.paused_since) if counter.paused_since else 0.0
                lane.pause_left = sorted(d - elapsed for d in self.pause_durations if d > elapsed) or [
                    max(sum(self.pause_durations) / len(self.pause_durations), 1.0)
                ]
            elif counter.status is CounterStatus.OPEN and counter.serving_service is not None:
                elapsed = max(_minutes(now - counter.serving_since), 0.0) if counter.serving_since else 0.0
                table = self.tables[index[counter.serving_service]]
                mean = table.means[int((self.minute_of_day - elapsed) // 60) % 24]
                longer = table.ratios[bisect.bisect_right(table.ratios, elapsed / mean) :]
                lane.serving = (elapsed, [mean * r - elapsed for r in longer] or [0.25 * mean])
            lanes.append(lane)
        return lanes

    def served(self) -> set[int]:
        """The tickets some counter of the projection may call (held or not)."""
        return {i for lane in self.lanes for i in (*lane.order, *(index for _k, _m, index in lane.held))}

    def cumulative_cancel(self, waited: float) -> float:
        """H(waited): the integrated cancellation hazard, piecewise linear between bin edges."""
        index = bisect.bisect_right(_WAIT_BIN_EDGES, waited)
        start = _WAIT_BIN_EDGES[index - 1] if index else 0.0
        return self.cumulative_hazard[index] + self.cancel_hazards[index] * (waited - start)

    @staticmethod
    def _start(lane: _Lane, u: float) -> float:
        """Minutes until the counter is first free (``u`` uniform): its customer's remaining time, or its pause.

        The remaining time is drawn from the learnt durations longer than what has already elapsed.
        """
        start = 0.0
        if lane.pause_left is not None:
            start = lane.pause_left[int(u * len(lane.pause_left))]
        elif lane.serving is not None:
            start = lane.serving[1][int(u * len(lane.serving[1]))]
        return max(start, lane.opens)

    def _arrivals(self, rnd: random.Random) -> list[tuple[float, _Kind]]:
        """Future arrivals that matter, in time order: each kind's Poisson stream up to its deadline."""
        arrivals: list[tuple[float, _Kind]] = []
        into_hour = self.minute_of_day % 60
        expovariate = rnd.expovariate
        for kind, per_hour in self.kind_rates.items():
            until = min(self.relevant_until[kind], self.horizon)
            for hour_index, rate in enumerate(per_hour):
                hour_start = max(hour_index * 60 - into_hour, 0.0)
                if hour_start >= until:
                    break
                if rate <= 0:
                    continue
                hour_end = min((hour_index + 1) * 60 - into_hour, until)
                clock = hour_start + expovariate(rate)
                while clock < hour_end:
                    arrivals.append((clock, kind))
                    clock += expovariate(rate)
        arrivals += self.booked
        arrivals.sort()
        return arrivals

    def run(self, replications: int, seed: int) -> list[list[float]]:
        """Every ticket's simulated call times (minutes from now), one per replication that reached it.

        The checkpoint is called before each replication and every ``CHECKPOINT_STEPS`` calls within one:
        where the caller may give way to other work (a replication of a long queue is tens of ms)."""
        checkpoint = self.checkpoint
        count, lanes = self.count, self.lanes
        samples: list[list[float]] = [[] for _ in range(count)]
        rnd = random.Random(seed)
        heappush, heappop = heapq.heappush, heapq.heappop
        uniform, exp, bisect_right = rnd.random, math.exp, bisect.bisect_right
        means = [table.means for table in self.tables]
        ratios = [table.ratios for table in self.tables]
        ratio_counts = [len(table.ratios) for table in self.tables]
        no_show_curve = self.no_show_curve
        cumulative_hazard, cancel_hazards, hazard_so_far = (
            self.cumulative_hazard,
            self.cancel_hazards,
            self.hazard_so_far,
        )
        no_show_cost = self.no_show_cost
        edges = (0.0, *_WAIT_BIN_EDGES)
        pause_probability, pause_durations = self.pause_probability, self.pause_durations
        waited_now, ticket_service, targets = self.waited_now, self.ticket_service, self.targets
        ghost = self.ghost
        minute_of_day = self.minute_of_day
        lane_orders = [lane.order for lane in lanes]
        lane_keys = [lane.keys for lane in lanes]
        lane_closes = [lane.closes for lane in lanes]
        lane_gaps = [lane.gaps for lane in lanes]
        lane_held = [lane.held for lane in lanes]
        # Randomised quasi-Monte Carlo: the k-th uniform of replication r is frac(lattice[k] + r/R), so
        # across replications every draw is stratified. With a fixed seed (estimates must not jitter
        # between refreshes) plain Monte Carlo error would repeat in every refresh and act as a bias.
        lattice = [uniform() for _ in range(3 * (count + len(lanes)) + 64)]

        steps_to_checkpoint = CHECKPOINT_STEPS
        for replication in range(replications):
            checkpoint()
            shift = replication / replications
            draw = 0  # index into the lattice
            arrivals = self._arrivals(rnd)
            next_arrival = 0  # index of the first arrival not yet in the counters' queues
            arrival_time = arrivals[0][0] if arrivals else _INFINITY
            phantom_taken: list[bool] = []
            phantom_arrival: list[float] = []
            phantom_service: list[int] = []
            phantom_heaps: list[list[tuple[float, int]]] = [[] for _ in lanes]
            taken = [False] * count
            remaining = self.reachable
            pointers = [0] * len(lanes)
            held_left = [list(held) for held in lane_held]  # each counter's held tickets not yet called
            has_work = [bool(lane.order or lane.held) for lane in lanes]  # may still call one of today's tickets
            lanes_with_work = sum(has_work)
            free = []
            for lane_index, lane in enumerate(lanes):
                free.append((self._start(lane, (lattice[draw] + shift) % 1.0), lane_index))
                draw += 1
            heapq.heapify(free)

            while remaining and lanes_with_work and free:
                steps_to_checkpoint -= 1
                if not steps_to_checkpoint:
                    checkpoint()
                    steps_to_checkpoint = CHECKPOINT_STEPS
                clock, lane_index = heappop(free)
                order = lane_orders[lane_index]
                pointer = pointers[lane_index]
                while pointer < len(order) and taken[order[pointer]]:
                    pointer += 1
                pointers[lane_index] = pointer
                held = held_left[lane_index]
                held_key, held_ticket, held_next = _INFINITY, -1, _INFINITY
                position = 0
                while position < len(held):  # by key: the first untaken one callable now, if any
                    key, callable_in, index = held[position]
                    if taken[index]:  # called at another counter: gone from this one's list
                        del held[position]
                        continue
                    if callable_in <= clock:
                        held_key, held_ticket = key, index
                        break
                    held_next = min(held_next, callable_in)
                    position += 1
                closed = clock >= lane_closes[lane_index]
                if (closed or (pointer == len(order) and held_ticket < 0 and held_next == _INFINITY)) \
                        and has_work[lane_index]:
                    has_work[lane_index] = False
                    lanes_with_work -= 1
                if closed:
                    continue
                gap_end = _gap_end(lane_gaps[lane_index], clock) if lane_gaps[lane_index] else None
                if gap_end is not None:  # on a break: it calls again when the break ends
                    heappush(free, (gap_end, lane_index))
                    continue
                while arrival_time <= clock:  # arrivals up to now join the queues of their counters
                    kind = arrivals[next_arrival][1]
                    phantom = len(phantom_taken)
                    phantom_taken.append(False)
                    phantom_arrival.append(arrival_time)
                    phantom_service.append(kind[0])
                    for other, offset in targets[kind]:
                        heappush(phantom_heaps[other], (arrival_time + offset, phantom))
                    next_arrival += 1
                    arrival_time = arrivals[next_arrival][0] if next_arrival < len(arrivals) else _INFINITY

                existing_key = lane_keys[lane_index][pointer] if pointer < len(order) else _INFINITY
                if held_key < existing_key:
                    existing_key = held_key
                else:
                    held_ticket = -1
                heap = phantom_heaps[lane_index]
                while heap and phantom_taken[heap[0][1]]:
                    heappop(heap)
                phantom_key = heap[0][0] if heap else _INFINITY
                if phantom_key == _INFINITY and existing_key == _INFINITY:
                    wake = min(arrival_time, held_next)
                    if wake < _INFINITY:
                        heappush(free, (wake, lane_index))  # idle until the next arrival or held ticket
                    continue
                if phantom_key < existing_key:
                    phantom = heappop(heap)[1]
                    phantom_taken[phantom] = True
                    waited = clock - phantom_arrival[phantom]
                    service = phantom_service[phantom]
                    hazard_before = 0.0
                else:
                    ticket = held_ticket if held_ticket >= 0 else order[pointer]
                    taken[ticket] = True
                    remaining -= 1
                    samples[ticket].append(clock)
                    if ghost[ticket]:
                        heappush(free, (clock, lane_index))
                        continue
                    waited = waited_now[ticket] + clock
                    service = ticket_service[ticket]
                    hazard_before = hazard_so_far[ticket]

                # the counter's time on it: nothing (cancelled), a call (no-show) or a service
                if draw + 3 > len(lattice):
                    lattice.extend([uniform() for _ in range(len(lattice))])
                u = lattice[draw] + shift
                u = u - 1.0 if u >= 1.0 else u
                bin_index = bisect_right(_WAIT_BIN_EDGES, waited)
                hazard = cumulative_hazard[bin_index] + cancel_hazards[bin_index] * (waited - edges[bin_index])
                cancelled = 1.0 - exp(hazard_before - hazard)  # cancels before its call, given not by now
                if u < cancelled:
                    duration = 0.0
                elif u < cancelled + (1.0 - cancelled) * no_show_curve[bin_index]:
                    duration = no_show_cost
                else:
                    u = lattice[draw + 1] + shift
                    u = u - 1.0 if u >= 1.0 else u
                    duration = (
                        means[service][int((minute_of_day + clock) // 60) % 24]
                        * ratios[service][int(u * ratio_counts[service])]
                    )
                u = lattice[draw + 2] + shift
                u = u - 1.0 if u >= 1.0 else u
                if u < pause_probability:
                    duration += pause_durations[int(u / pause_probability * len(pause_durations))]
                draw += 3
                heappush(free, (clock + duration, lane_index))
        return samples


def _gap_end(gaps: list[tuple[float, float]], clock: float) -> float | None:
    """The end of the break ``clock`` falls in (None: none; breaks are few, in time order)."""
    for start, end in gaps:
        if start > clock:
            return None
        if clock < end:
            return end
    return None


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    position = q * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    fraction = position - lower
    return sorted_values[lower] * (1 - fraction) + sorted_values[upper] * fraction


def _summarise(values: list[float], replications: int, level: float, scale: float, horizon: float) -> WaitEstimate:
    """Mean call time and the ``level`` band of the simulated call times, widened by ``scale`` around the mean."""
    if len(values) * 2 < replications:  # not reached in most replications: no counter will call it
        return WaitEstimate.unknown()
    values = values + [horizon] * (replications - len(values))  # censored at the horizon
    values.sort()
    tail = (1 - level) / 2
    point = sum(values) / len(values)
    low = point - scale * max(point - _quantile(values, tail), 0.0)
    high = point + scale * max(_quantile(values, 1 - tail) - point, 0.0)
    return WaitEstimate(
        expected=timedelta(minutes=point),
        low=timedelta(minutes=max(low, 0.0)),
        high=timedelta(minutes=high),
        level=level,
    )


def estimate_waits(
    snapshot: QueueSnapshot,
    rules: PolicyRules,
    model: BranchModel,
    new_tickets: Sequence[tuple[str, PriorityClass]] = (),
    checkpoint: Callable[[], None] | None = None,
) -> dict[int, WaitEstimate]:
    """Time until each waiting ticket of the snapshot is called, keyed by ticket id.

    ``new_tickets``: would-be tickets issued now (service, priority class), estimated in the same run
    without affecting anyone; their estimates are keyed -1, -2, ... in the given order. ``checkpoint``:
    called often, every fraction of a millisecond of work (the server uses it to give way to requests).
    """
    tickets = list(snapshot.waiting)
    if not tickets and not new_tickets:
        return {}
    replications = model.settings.replications_for(len(tickets))
    tickets += [QueuedTicket(ticket_id=-(i + 1), service_code=service, priority=priority, queued_at=snapshot.now)
                for i, (service, priority) in enumerate(new_tickets)]
    projection = _Projection(snapshot, tickets, rules, model, ghosts=len(new_tickets), checkpoint=checkpoint)
    samples = projection.run(replications, model.settings.seed)
    horizon = _minutes(model.settings.horizon)
    level, scale, new_scale = model.settings.level, model.calibration.scale, model.issue_calibration.scale
    first_new = len(tickets) - len(new_tickets)
    served = projection.served()
    nobody = (UnknownReason.NO_COUNTER_OPEN if all(c.status is CounterStatus.CLOSED for c in snapshot.counters)
              else UnknownReason.NOT_STAFFED)
    estimates = {}
    for index, (ticket, values) in enumerate(zip(tickets, samples, strict=True)):
        if checkpoint is not None and index % SUMMARY_STEPS == SUMMARY_STEPS - 1:
            checkpoint()
        estimate = _summarise(values, replications, level, new_scale if index >= first_new else scale, horizon)
        if not estimate.known:
            estimate = WaitEstimate.unknown(UnknownReason.TOO_FAR if index in served else nobody)
        elif index in projection.callable_in:  # every call lies past the hold; the widened interval must too
            estimate = estimate.at_least(timedelta(minutes=projection.callable_in[index]))
        estimates[ticket.ticket_id] = estimate
    return estimates


def estimate_new_ticket(
    snapshot: QueueSnapshot,
    service_code: str,
    priority: PriorityClass,
    rules: PolicyRules,
    model: BranchModel,
) -> WaitEstimate:
    """What a ticket of ``service_code`` issued now would wait (for kiosk tiles and the issue screen)."""
    return estimate_waits(snapshot, rules, model, [(service_code, priority)])[-1]


# --- accuracy the manager can read ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccuracySummary:
    """Recent accuracy of the estimates of one service (or all), in minutes."""

    count: int
    mae: float
    rmse: float
    bias: float  # mean of predicted - actual: positive means estimates run long
    coverage: float  # share of actual waits inside the stated interval
    under_5_share: float  # share of waits longer than predicted by more than 5 minutes


COVERAGE_SLACK_MIN = 0.5  # a call seconds after an estimate of "now" is not a miss


class AccuracyTracker:
    """Keeps the last ``window`` (estimate, actual wait) pairs per service; pure, persistence is the caller's."""

    def __init__(self, window: int = 200) -> None:
        self.window = window
        self._records: dict[str, deque[tuple[float, float, float, float]]] = {}

    def record(self, service_code: str, estimate: WaitEstimate, actual: timedelta) -> None:
        if not estimate.known:
            return
        records = self._records.setdefault(service_code, deque(maxlen=self.window))
        records.append((_minutes(estimate.expected), _minutes(estimate.low), _minutes(estimate.high), _minutes(actual)))

    def services(self) -> list[str]:
        return sorted(self._records)

    def summary(self, service_code: str | None = None) -> AccuracySummary | None:
        """Figures for one service, or pooled over all when ``service_code`` is None; None without data."""
        rows: Iterable[tuple[float, float, float, float]]
        if service_code is None:
            rows = [row for records in self._records.values() for row in records]
        else:
            rows = list(self._records.get(service_code, ()))
        rows = list(rows)
        if not rows:
            return None
        errors = [predicted - actual for predicted, _low, _high, actual in rows]
        n = len(rows)
        return AccuracySummary(
            count=n,
            mae=sum(abs(e) for e in errors) / n,
            rmse=math.sqrt(sum(e * e for e in errors) / n),
            bias=sum(errors) / n,
            coverage=sum(low - COVERAGE_SLACK_MIN <= actual <= high + COVERAGE_SLACK_MIN
                         for _p, low, high, actual in rows) / n,
            under_5_share=sum(e < -5 for e in errors) / n,
        )
