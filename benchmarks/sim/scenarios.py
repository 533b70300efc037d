"""Hall scenarios for the simulator: services, counters, arrivals, patience, staffing.

Parameters follow the evaluation protocol in WAITTIME.md: lognormal service (mean 4–12 min, CV
0.6–1.0), a morning and an afternoon arrival peak, ~10% priority tickets, exponential or Weibull
patience (mean 15–30 min), no-shows found only when called, hourly staffing from Erlang C (SIPP)
then one or two counters short, random counter pauses. ``mm_s`` is the textbook M/M/s sanity check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from server.domain.policy import CounterRole, CounterSkills
from server.domain.staffing import hourly_plan


@dataclass(frozen=True)
class ServiceSpec:
    """One service as it really behaves in the simulation, and what the configuration claims."""

    code: str
    share: float  # share of all arrivals
    mean_minutes: float  # true mean counter occupancy of a customer who shows up (call to finish)
    cv: float  # coefficient of variation of that occupancy
    configured_minutes: float  # expected_service in config.toml: the estimator's prior, deliberately off
    hour_factors: dict[int, float] = field(default_factory=dict)  # multiplier on the mean by hour of day
    exponential: bool = False  # exponential instead of lognormal (M/M/s)

    def mean_at(self, hour: int) -> float:
        return self.mean_minutes * self.hour_factors.get(hour, 1.0)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    services: tuple[ServiceSpec, ...]
    counters: tuple[CounterSkills, ...]  # in the order they are opened when staffing grows
    arrivals_per_hour: tuple[float, ...]  # expected arrivals in each opening hour (index 0 = opening hour)
    multi_skill: bool
    opens_hour: int = 9
    service_until: timedelta = timedelta(minutes=90)  # counters keep calling this long after the last ticket
    priority_share: float = 0.10
    vip_share: float = 0.0
    mean_patience: float | None = 20.0  # minutes; None: nobody walks out
    patience_shape: float = 1.0  # Weibull shape; 1 is exponential
    cancel_share: float = 0.3  # walk-outs who cancel on their phone (the rest are found when called)
    absent_share: float = 0.02  # take a ticket and leave at once (found when called)
    no_show_call_minutes: tuple[float, float] = (0.5, 1.5)  # a counter's time lost on a no-show
    pause_probability: float = 0.03  # a counter pauses after a customer
    pause_minutes: tuple[float, float] = (4.0, 15.0)
    short_by: int = 1  # counters fewer than Erlang C asks for
    fixed_counters: int | None = None  # constant staffing (M/M/s)
    day_level_sd: float = 0.10  # day-to-day variation of the arrival volume (lognormal sd)
    target_wait: timedelta = timedelta(minutes=10)
    target_level: float = 0.8

    @property
    def hours(self) -> int:
        return len(self.arrivals_per_hour)

    def mean_occupancy(self) -> float:
        return sum(s.share * s.mean_minutes for s in self.services)

    def staffing(self) -> list[int]:
        """Counters open in each opening hour: the Erlang C plan (SIPP, lagged) minus ``short_by``."""
        if self.fixed_counters is not None:
            return [self.fixed_counters] * self.hours
        plan = hourly_plan(
            self.arrivals_per_hour,
            timedelta(minutes=self.mean_occupancy()),
            self.target_wait,
            self.target_level,
        )
        minimum = _covering_prefix(self.counters, {s.code for s in self.services})
        return [min(max(n - self.short_by, minimum), len(self.counters)) for n in plan]

    def expected_service(self) -> dict[str, timedelta]:
        return {s.code: timedelta(minutes=s.configured_minutes) for s in self.services}


def _covering_prefix(counters: tuple[CounterSkills, ...], services: set[str]) -> int:
    """The fewest counters, opened in order, that serve every service."""
    covered: set[str] = set()
    for n, counter in enumerate(counters, start=1):
        covered |= set(counter.services)
        if covered >= services:
            return n
    raise ValueError("the counters do not cover every service")


def weibull_scale(mean: float, shape: float) -> float:
    return mean / math.gamma(1 + 1 / shape)


_PEAKED_DAY = (38.0, 62.0, 70.0, 48.0, 40.0, 58.0, 66.0, 42.0)  # 09:00 … 16:00, peaks at 10–11 and 14–15


MM_S = Scenario(
    name="mm_s",
    description="M/M/s sanity check: 1 service, exponential 5 min, 5 counters, rho 0.9, no abandonment",
    services=(ServiceSpec("general", 1.0, 5.0, 1.0, 5.0, exponential=True),),
    counters=tuple(CounterSkills(f"{n}", ("general",)) for n in range(1, 6)),
    arrivals_per_hour=(54.0,) * 8,
    multi_skill=False,
    priority_share=0.0,
    mean_patience=None,
    absent_share=0.0,
    pause_probability=0.0,
    fixed_counters=5,
    day_level_sd=0.0,
    service_until=timedelta(hours=3),
)

SINGLE_ABANDON = Scenario(
    name="single_abandon",
    description="1 service, lognormal 6 min CV 0.8, exponential patience 20 min, 2 counters short",
    services=(ServiceSpec("general", 1.0, 6.0, 0.8, 5.0, hour_factors={9: 1.1, 10: 1.1, 15: 0.9, 16: 0.9}),),
    counters=tuple(CounterSkills(f"{n}", ("general",)) for n in range(1, 11)),
    arrivals_per_hour=_PEAKED_DAY,
    multi_skill=False,
    mean_patience=20.0,
    short_by=2,
)

MULTI_BANK = Scenario(
    name="multi_bank",
    description="bank hall: 3 services, 9 counters with preference lists, fast lane, VIP, 1 counter short",
    services=(
        ServiceSpec("cash", 0.55, 5.0, 0.7, 4.0, hour_factors={9: 1.1, 16: 0.9}),
        ServiceSpec("account", 0.25, 11.0, 0.9, 10.0),
        ServiceSpec("wealth", 0.20, 9.0, 1.0, 12.0, hour_factors={14: 1.15, 15: 1.15}),
    ),
    counters=(
        CounterSkills("1", ("cash", "account", "wealth")),
        CounterSkills("2", ("account", "wealth", "cash")),
        CounterSkills("3", ("cash", "wealth")),
        CounterSkills("4", ("wealth", "account")),
        CounterSkills("5", ("cash",), CounterRole.FAST_LANE),
        CounterSkills("6", ("account", "cash")),
        CounterSkills("7", ("cash", "account")),
        CounterSkills("8", ("wealth", "cash"), CounterRole.VIP),
        CounterSkills("9", ("cash", "account", "wealth")),
        CounterSkills("10", ("account", "wealth")),
        CounterSkills("11", ("cash",)),
    ),
    arrivals_per_hour=_PEAKED_DAY,
    multi_skill=True,
    priority_share=0.08,
    vip_share=0.03,
    mean_patience=25.0,
    short_by=1,
)

MULTI_TELECOM = Scenario(
    name="multi_telecom",
    description="telecom hall: 4 services, 10 counters, Weibull patience 20 min, 2 counters short",
    services=(
        ServiceSpec("bill", 0.40, 4.0, 0.6, 3.0, hour_factors={9: 1.15, 10: 1.1, 16: 0.9}),
        ServiceSpec("sim", 0.30, 7.0, 0.8, 8.0),
        ServiceSpec("broadband", 0.15, 12.0, 1.0, 10.0, hour_factors={13: 1.2, 14: 1.2}),
        ServiceSpec("device", 0.15, 10.0, 0.9, 10.0),
    ),
    counters=(
        CounterSkills("T1", ("bill", "sim", "broadband")),
        CounterSkills("T2", ("sim", "device", "bill")),
        CounterSkills("T3", ("broadband", "device", "sim")),
        CounterSkills("T4", ("bill", "sim"), CounterRole.FAST_LANE),
        CounterSkills("T5", ("device", "broadband", "bill")),
        CounterSkills("T6", ("sim", "bill")),
        CounterSkills("T7", ("bill",)),
        CounterSkills("T8", ("broadband", "sim")),
        CounterSkills("T9", ("device", "bill")),
        CounterSkills("T10", ("bill", "sim", "device", "broadband")),
        CounterSkills("T11", ("sim", "broadband")),
    ),
    arrivals_per_hour=tuple(rate * 1.15 for rate in _PEAKED_DAY),
    multi_skill=True,
    mean_patience=20.0,
    patience_shape=1.5,
    short_by=2,
)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (MM_S, SINGLE_ABANDON, MULTI_BANK, MULTI_TELECOM)}
