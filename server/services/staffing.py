"""Staffing advice for one day of a branch: per opening hour, the arrivals forecast per service, the counters
needed for each service's target wait, the counters planned and, for today, those open (docs/staffing.md).

The forecast is :mod:`server.domain.forecast`; the counters are :mod:`server.domain.staffing` (Erlang C, and
Erlang A where the history gives a walk-out rate). Counters with skills are handled by pools: the services and
counters connected by what the counters serve. A pool needs what one stream of all its services needs (the
lower bound when every counter there takes every service); and for every set of the pool's services, the
counters serving at least one of them must be at least what that set alone needs (a service only three
counters serve cannot be given four). An hour is short when a pool's planned counters fail either test.

"Planned" comes from the day's roster (:mod:`server.domain.roster`) when it has a shift; else from ``roster``, by
default :class:`ConfiguredRoster`: every counter configured, with its services, in every opening hour. The answer's
``planned_source`` says which.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from server.domain import forecast, staffing
from server.domain.api_tokens import Scope
from server.domain.errors import DomainError
from server.domain.hall import Branch, Service
from server.domain.roster import DayRoster
from server.domain.schedule import DayHours
from server.offload import Offload
from server.persistence import arrivals, counter_sessions
from server.persistence import roster as rosters
from server.services.access import require_reports
from server.services.actor import Actor
from server.services.context import HallContext

MAX_DAYS_BACK = 365
MAX_DAYS_AHEAD = 60
MIN_SERVED = 20  # served tickets in the history before its mean service time replaces the configured one
MIN_ISSUED = 20  # tickets in the history before its walk-out rate is trusted


class Roster(Protocol):
    """Who is planned: the counters (number: services they serve) planned in a local hour of a day."""

    def planned(self, branch: Branch, day: date, hour: int) -> dict[str, tuple[str, ...]]: ...


class ConfiguredRoster:
    """No roster yet: every configured counter, with its configured services, all day."""

    def planned(self, branch: Branch, day: date, hour: int) -> dict[str, tuple[str, ...]]:
        return {counter.number: counter.services for counter in branch.counters}


def open_hours(hours: DayHours) -> list[int]:
    """The local hours (0-23) in which ``hours`` are open for at least a minute."""
    minutes = [r.minutes for r in hours.ranges]
    return [h for h in range(24) if any(start < (h + 1) * 60 and end > h * 60 for start, end in minutes)]


@dataclass(frozen=True)
class ServiceModel:
    """What the advice assumes of one service on the day."""

    service: Service
    mean_service_min: float
    from_history: bool
    abandon_rate: float | None  # per minute of waiting

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.service.code, "name": self.service.name.as_dict(),
                "target_wait_min": self.service.target_wait.total_seconds() / 60,
                "service_min": round(self.mean_service_min, 2),
                "service_min_source": "history" if self.from_history else "configured",
                "patience_min": (None if self.abandon_rate is None else
                                 None if self.abandon_rate == 0 else round(1 / self.abandon_rate, 1))}


def service_model(service: Service, history: arrivals.ServiceHistory | None) -> ServiceModel:
    """Mean service time from the ended days when at least :data:`MIN_SERVED` were served, else the configured
    one; the walk-out rate as walk-outs per minute waited (walk-outs / (issued x mean wait): in Erlang A the share
    walking out is the rate times the mean wait), when at least :data:`MIN_ISSUED` tickets were issued."""
    configured = service.expected_service.total_seconds() / 60
    if history is None:
        return ServiceModel(service, configured, False, None)
    from_history = history.served >= MIN_SERVED and history.service_s_total > 0
    mean_service = history.service_s_total / history.served / 60 if from_history else configured
    abandon: float | None = None
    if history.issued >= MIN_ISSUED:
        if history.walked_out == 0:
            abandon = 0.0
        elif history.called and history.wait_s_total > 0:
            mean_wait_min = history.wait_s_total / history.called / 60
            abandon = history.walked_out / history.issued / mean_wait_min
    return ServiceModel(service, mean_service, from_history, abandon)


class StaffingAdvice:
    """The staffing advice of every branch of a hall."""

    def __init__(self, hall: HallContext, roster: Roster | None = None, weeks: int = forecast.DEFAULT_WEEKS) -> None:
        self.hall = hall
        self.roster = roster or ConfiguredRoster()
        self.weeks = weeks

    def today(self, branch_code: str) -> date:
        """The branch's local date now (the day asked for when none is given)."""
        return self.hall.branch(branch_code).schedule.local(self.hall.clock()).date()

    def advice(self, branch_code: str, actor: Actor, day: date, offload: Offload | None = None) -> dict[str, Any]:
        """The day's advice (a reader of the branch's figures); 400 for a day more than a year back or more than
        60 days ahead. The Erlang arithmetic (tens of milliseconds an hour) runs through ``offload``."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_reports(hall.config, actor, branch, token_scope=Scope.READ)
        now = hall.clock()
        today = branch.schedule.local(now).date()
        check_day(day, today)
        schedule = branch.schedule
        services = branch.services
        branch_hours = open_hours(schedule.hours_on(day))
        hours_of = {s.code: open_hours(schedule.hours_on(day, s.code)) for s in services}
        candidates = forecast.history_days(day, today, self.weeks, lambda d: schedule.hours_on(d).closed)
        with hall.uow.read() as session:
            connection = session.connection()
            rows = arrivals.arrivals(connection, branch.code, candidates)
            histories = arrivals.service_history(connection, branch.code, candidates)
            sessions = counter_sessions.for_branch(connection, branch.code) if day == today else {}
            rostered = DayRoster(tuple(rosters.on_day(connection, branch.code, day)))
        if rostered.has_work:
            source, planned = "roster", rostered.planned
        else:
            source = "configured"

            def planned(hour: int) -> dict[str, tuple[str, ...]]:
                return self.roster.planned(branch, day, hour)
        counts: dict[str, dict[date, dict[int, float]]] = {}
        for service_code, service_day, quarter, count in rows:
            hour = quarter.astimezone(branch.timezone).hour
            per_day = counts.setdefault(service_code, {}).setdefault(service_day, {})
            per_day[hour] = per_day.get(hour, 0) + count
        used = {d for per_service in counts.values() for d in per_service}
        days = [d for d in candidates if d in used]  # a day without a single ticket: the hall was not in use
        models = {s.code: service_model(s, histories.get(s.code)) for s in services}
        forecasts = {}
        for s in services:
            own_days = [d for d in days if not schedule.hours_on(d, s.code).closed]
            forecasts[s.code] = forecast.forecast_day(day, own_days, counts.get(s.code, {}), hours_of[s.code])
        signed_in = {number: branch.counter(number).services for number, sess in sessions.items()
                     if sess.signed_in_at is not None and branch.counter(number) is not None}
        current_hour = branch.schedule.local(now).hour if day == today else None
        hours = (offload or _run)(lambda: [self._hour(planned(hour), hour, models, forecasts, signed_in, current_hour)
                                           for hour in branch_hours])
        return {
            "branch": branch.code,
            "date": day.isoformat(),
            "timezone": branch.timezone.key,
            "today": day == today,
            "closed": not branch_hours,
            "planned_source": source,
            "service_level": staffing.SERVICE_LEVEL,
            "history_days": [d.isoformat() for d in days],
            "services": [{**models[s.code].as_dict(), **_totals(forecasts[s.code].values())} for s in services],
            "hours": hours,
            "short_hours": sum(1 for h in hours if h["short"]),
        }

    def _hour(self, planned: dict[str, tuple[str, ...]], hour: int, models: dict[str, ServiceModel],
              forecasts: dict[str, dict[int, forecast.HourForecast]], signed_in: dict[str, tuple[str, ...]],
              current_hour: int | None) -> dict[str, Any]:
        demands = {}
        service_rows = []
        for code, model in models.items():
            per_hour = [f.expected for f in _by_hour(forecasts[code])]
            rate = staffing.lagged_rate(per_hour, hour, model.mean_service_min / 60) / 60
            demand = staffing.Demand(rate, model.mean_service_min, model.service.target_wait.total_seconds() / 60,
                                     model.abandon_rate)
            demands[code] = demand
            if hour not in forecasts[code]:
                continue  # the service is closed this hour
            need = staffing.pooled_need([demand])
            estimate = forecasts[code][hour]
            service_rows.append({"code": code, **_forecast_dict(estimate), "needed": need.counters,
                                 "needed_erlang_c": need.erlang_c, "needed_erlang_a": need.erlang_a,
                                 "eligible": staffing.eligible(planned, {code})})
        open_services = [code for code in models if hour in forecasts[code]]
        show_open = current_hour is not None and hour >= current_hour
        pools = []
        for pool in staffing.skill_pools(open_services, planned):
            pool_counters = {n: planned[n] for n in pool.counters}
            need = staffing.pooled_need([demands[c] for c in pool.services])
            shortfalls = []
            for subset in staffing.service_subsets(pool.services):
                have = staffing.eligible(pool_counters, subset)
                if subset == pool.services:
                    subset_need = need
                elif have >= staffing.pooled_need([demands[c] for c in subset], with_abandonment=False).erlang_c:
                    continue  # enough even by Erlang C, which never needs fewer than Erlang A: no need to ask A
                else:
                    subset_need = staffing.pooled_need([demands[c] for c in subset])
                if have < subset_need.counters and not any(set(gap["services"]) < subset for gap in shortfalls):
                    # only the smallest sets that fall short: a larger one containing them says nothing new
                    shortfalls.append({"services": sorted(subset), "needed": subset_need.counters, "eligible": have})
            opened = staffing.eligible(signed_in, pool.services) if show_open else None
            pools.append({"services": sorted(pool.services), "counters": sorted(pool.counters),
                          "needed": need.counters, "needed_erlang_c": need.erlang_c, "planned": len(pool.counters),
                          "open": opened, "short": bool(shortfalls),
                          "open_short": None if opened is None else opened < need.counters,
                          "shortfalls": shortfalls})
        estimates = [forecasts[c][hour] for c in open_services]
        needed = sum(p["needed"] for p in pools)
        opened_total = len([n for n, served in signed_in.items() if set(served) & set(open_services)]) \
            if show_open else None
        return {"hour": hour, "start": f"{hour:02d}:00", **_combined(estimates), "needed": needed,
                "needed_erlang_c": sum(p["needed_erlang_c"] for p in pools),
                "planned": len({n for p in pools for n in p["counters"]}), "open": opened_total,
                "short": any(p["short"] for p in pools),
                "open_short": None if opened_total is None else any(p["open_short"] for p in pools),
                "services": service_rows, "pools": pools}


def _run(work: Any) -> Any:
    return work()


def check_day(day: date, today: date) -> None:
    """400 ``date_too_early`` / ``date_too_far`` for a day outside the advice's reach, naming the limits."""
    if day < today - timedelta(days=MAX_DAYS_BACK):
        raise DomainError(f"date must be at most {MAX_DAYS_BACK} days back (from {today - timedelta(days=365)})",
                          code="date_too_early", http_status=400, parameter="date")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise DomainError(f"date must be at most {MAX_DAYS_AHEAD} days ahead (until "
                          f"{today + timedelta(days=MAX_DAYS_AHEAD)})", code="date_too_far", http_status=400,
                          parameter="date")


def _by_hour(per_hour: dict[int, forecast.HourForecast]) -> list[forecast.HourForecast]:
    """A forecast for each of the 24 hours (zero where the service is closed)."""
    zero = forecast.HourForecast(0.0, 0.0, 0.0)
    return [per_hour.get(h, zero) for h in range(24)]


def _forecast_dict(estimate: forecast.HourForecast) -> dict[str, float]:
    return {"arrivals": round(estimate.expected, 2), "low": round(estimate.low, 2), "high": round(estimate.high, 2)}


def _combined(estimates: Sequence[forecast.HourForecast]) -> dict[str, float]:
    """Forecasts summed; the range's half-widths added in quadrature (the services' counts taken as independent)."""
    expected = sum(e.expected for e in estimates)
    margin = math.sqrt(sum((e.high - e.expected) ** 2 for e in estimates))
    return _forecast_dict(forecast.HourForecast(expected, max(0.0, expected - margin), expected + margin))


def _totals(estimates: Any) -> dict[str, float]:
    return _combined(list(estimates))


