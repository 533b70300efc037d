"""Arrivals forecast for one day of a branch, per service and local hour, from the branch's own history.

The method (docs/staffing.md):

1. **History days.** The same weekday as the target date in each of the last ``weeks`` weeks before it, and only
   days that have ended (before the clock's local today). A day on which the service was closed (a holiday, a
   dated exception, closed weekly hours) is left out, and so is a day on which the branch issued no ticket at all
   (the hall was not in use yet, or the system was down): such a day says nothing about demand. A target date on
   which the service is closed is forecast as zero.
2. **Level.** For each local hour, the weighted mean of that hour's arrivals over the history days, week ``k``
   back weighted ``DECAY ** (k - 1)``: recent weeks count most (the weight halves in about three weeks).
3. **Trend.** An ordinary least-squares line through the history days' totals against their week, read at the
   target date, divided by the weighted level of the totals: one factor for the whole day (the day's shape is
   kept), bounded to [``TREND_MIN``, ``TREND_MAX``] and 1 with fewer than ``TREND_MIN_DAYS`` days.
4. **Range.** An 80% range from the spread: the prediction variance of the weighted mean for a new day,
   ``v (1 + sum w^2 / (sum w)^2)`` with ``v`` the weighted variance of the hour's counts across the history days,
   never below the Poisson variance (the forecast itself); the range is the forecast ± 1.2816 standard deviations,
   cut at zero. With no history the forecast is zero and the range [0, 0] (nothing is known).

Hours are the wall-clock hours of the branch's time zone; on the night summer time ends the repeated hour holds
both. Pure Python: the clock's local date is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

DEFAULT_WEEKS = 8
DECAY = 0.8
TREND_MIN, TREND_MAX = 0.5, 1.5
TREND_MIN_DAYS = 4
Z_80 = 1.2815515655446004  # the 90th percentile of the standard normal: a central 80% range


@dataclass(frozen=True)
class HourForecast:
    """Expected arrivals in one hour, with an 80% range."""

    expected: float
    low: float
    high: float


def history_days(target: date, today: date, weeks: int, closed: Callable[[date], bool]) -> list[date]:
    """The same weekday as ``target`` in each of the ``weeks`` weeks before it that has ended (before ``today``)
    and on which ``closed`` is false; newest first."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    days = (target - timedelta(weeks=k) for k in range(1, weeks + 1))
    return [day for day in days if day < today and not closed(day)]


def week_weight(target: date, day: date) -> float:
    """The weight of a history day ``day`` for ``target``: ``DECAY ** (weeks back - 1)``."""
    return DECAY ** ((target - day).days // 7 - 1)


def trend_factor(target: date, totals: Mapping[date, float]) -> float:
    """The day's trend factor from the history days' totals (see the module's docstring)."""
    if len(totals) < TREND_MIN_DAYS:
        return 1.0
    xs = [-((target - day).days / 7) for day in totals]  # weeks before the target, negative
    ys = list(totals.values())
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0 or mean_y <= 0:
        return 1.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    projected = mean_y + slope * (0 - mean_x)
    weights = {day: week_weight(target, day) for day in totals}
    level = sum(weights[day] * total for day, total in totals.items()) / sum(weights.values())
    if level <= 0:
        return 1.0
    return min(max(projected / level, TREND_MIN), TREND_MAX)


def forecast_day(target: date, days: Sequence[date], counts: Mapping[date, Mapping[int, float]],
                 hours: Sequence[int], *, trend: float | None = None) -> dict[int, HourForecast]:
    """Each of ``hours`` (local hours the service is open on ``target``) forecast from ``counts[day][hour]`` over
    the history ``days`` (absent: no arrivals that hour). ``trend`` defaults to :func:`trend_factor` of the
    days' totals. No hours (a closed day): an empty answer, which the caller shows as zero."""
    if not days:
        return {hour: HourForecast(0.0, 0.0, 0.0) for hour in hours}
    weights = [week_weight(target, day) for day in days]
    total_weight = sum(weights)
    inflation = 1 + sum(w * w for w in weights) / total_weight ** 2
    if trend is None:
        trend = trend_factor(target, {day: float(sum(counts.get(day, {}).values())) for day in days})
    answer = {}
    for hour in hours:
        values = [float(counts.get(day, {}).get(hour, 0)) for day in days]
        mean = sum(w * v for w, v in zip(weights, values, strict=True)) / total_weight
        spread = sum(w * (v - mean) ** 2 for w, v in zip(weights, values, strict=True)) / total_weight
        expected = mean * trend
        variance = max(spread * trend * trend, expected) * inflation
        margin = Z_80 * math.sqrt(variance)
        answer[hour] = HourForecast(expected, max(0.0, expected - margin), expected + margin)
    return answer
