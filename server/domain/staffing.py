"""Staffing arithmetic for a hall: Erlang B, Erlang C, Erlang A and hourly staffing plans.

Conventions (docs/wait-estimates.md):

* ``arrival_rate``, ``mean_service`` and ``target_wait`` share one time unit of the caller's choice
  (e.g. arrivals per minute with minutes); the offered load is ``a = arrival_rate * mean_service``.
* The service level ``SL(T)`` is the share of arrivals whose wait is at most ``T``. In Erlang A it is
  the share whose *offered* wait (the wait they would have if they stayed) is at most ``T``.
* The hourly plan uses the stationary independent period-by-period approach (SIPP), lagged by one
  mean service time (Green, Kolesar & Soares, Oper Res 49(4), 2001).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of M/M/s/s by the stable recursion B_k = a B_{k-1} / (k + a B_{k-1})."""
    if servers < 0 or offered_load < 0:
        raise ValueError("servers and offered load must not be negative")
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/s (1 when the load is at or above capacity)."""
    if servers <= offered_load:
        return 1.0
    blocking = erlang_b(servers, offered_load)
    return servers * blocking / (servers - offered_load * (1 - blocking))


def service_level(servers: int, arrival_rate: float, mean_service: float, target_wait: float) -> float:
    """Share of arrivals that wait at most ``target_wait`` in M/M/s: 1 - C exp(-(s mu - lambda) T)."""
    offered_load = arrival_rate * mean_service
    if servers <= offered_load:
        return 0.0
    drain_rate = servers / mean_service - arrival_rate
    return 1.0 - erlang_c(servers, offered_load) * math.exp(-drain_rate * target_wait)


def mean_wait(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Mean wait over all arrivals in M/M/s: C / (s mu - lambda); infinite when unstable."""
    offered_load = arrival_rate * mean_service
    if servers <= offered_load:
        return math.inf
    return erlang_c(servers, offered_load) / (servers / mean_service - arrival_rate)


def counters_needed(
    arrival_rate: float,
    mean_service: float,
    target_wait: float,
    target_level: float,
    max_occupancy: float | None = None,
    max_counters: int = 10_000,
) -> int:
    """The smallest number of counters meeting ``SL(target_wait) >= target_level`` (and the occupancy cap)."""
    if not 0 <= target_level < 1:
        raise ValueError("target_level must be in [0, 1)")
    if arrival_rate <= 0:
        return 0
    offered_load = arrival_rate * mean_service
    servers = max(1, math.floor(offered_load) + 1)
    if max_occupancy is not None:
        if not 0 < max_occupancy <= 1:
            raise ValueError("max_occupancy must be in (0, 1]")
        servers = max(servers, math.ceil(offered_load / max_occupancy - 1e-12))
    while servers <= max_counters:
        if service_level(servers, arrival_rate, mean_service, target_wait) >= target_level:
            return servers
        servers += 1
    raise ValueError(f"no staffing up to {max_counters} counters meets the target")


@dataclass(frozen=True)
class ErlangAResult:
    """Steady state of M/M/s+M (Erlang A)."""

    p_wait: float  # an arrival finds every counter busy
    p_abandon: float  # an arrival leaves before being served
    service_level: float  # share whose offered wait is at most the target wait
    mean_wait: float  # mean time in queue over all arrivals (abandoners included)
    mean_queue: float  # mean number waiting
    occupancy: float  # mean share of counters busy


def erlang_a(
    servers: int,
    arrival_rate: float,
    mean_service: float,
    mean_patience: float,
    target_wait: float = 0.0,
    tolerance: float = 1e-13,
    max_states: int = 200_000,
) -> ErlangAResult:
    """Exact Erlang A from the birth-death chain with death rates min(k,s) mu + max(k-s,0) theta.

    ``mean_patience`` may be ``math.inf`` (no abandonment: Erlang C, if stable).
    """
    if servers < 1:
        raise ValueError("at least one server is needed")
    service_rate = 1.0 / mean_service
    abandon_rate = 0.0 if math.isinf(mean_patience) else 1.0 / mean_patience
    if abandon_rate == 0 and arrival_rate >= servers * service_rate:
        raise ValueError("without abandonment the load must be below the number of servers")

    # Unnormalised stationary probabilities, computed term by term until the tail is negligible.
    weights = [1.0]
    total = 1.0
    k = 0
    while True:
        k += 1
        death = min(k, servers) * service_rate + max(k - servers, 0) * abandon_rate
        weight = weights[-1] * arrival_rate / death
        weights.append(weight)
        total += weight
        if k > servers and weight < tolerance * total:
            break
        if k >= max_states:
            raise ValueError("the chain did not converge; load too high for the state limit")
        if total > 1e250:  # rescale to stay in floating-point range
            weights = [w / total for w in weights]
            total = 1.0
    probabilities = [w / total for w in weights]

    p_wait = sum(probabilities[servers:])
    mean_queue = sum((n - servers) * p for n, p in enumerate(probabilities) if n > servers)
    busy = sum(min(n, servers) * p for n, p in enumerate(probabilities))
    ahead_probabilities = probabilities[servers:]
    within = _offered_wait_within(len(ahead_probabilities) - 1, servers * service_rate, abandon_rate, target_wait)
    level = sum(probabilities[:servers]) + sum(p * f for p, f in zip(ahead_probabilities, within, strict=True))
    return ErlangAResult(
        p_wait=p_wait,
        p_abandon=abandon_rate * mean_queue / arrival_rate if arrival_rate > 0 else 0.0,
        service_level=min(level, 1.0),
        mean_wait=mean_queue / arrival_rate if arrival_rate > 0 else 0.0,
        mean_queue=mean_queue,
        occupancy=busy / servers,
    )


def _offered_wait_within(max_ahead: int, pool_rate: float, abandon_rate: float, target_wait: float) -> list[float]:
    """P(offered wait <= T) for an arrival with j = 0..max_ahead customers ahead in the queue.

    The offered wait is a sum of exponential stages with rates pool_rate + i*abandon_rate (i = j..0);
    computed for every j at once by uniformisation of that pure-death chain.
    """
    if target_wait <= 0:
        return [0.0] * (max_ahead + 1)
    rates = [pool_rate + i * abandon_rate for i in range(max_ahead + 1)]
    uniform_rate = rates[-1]
    mean_jumps = uniform_rate * target_wait
    absorbed = [0.0] * (max_ahead + 1)  # P(absorbed within n jumps), for the current n
    result = [0.0] * (max_ahead + 1)
    last_jump = int(mean_jumps + 12 * math.sqrt(mean_jumps) + 30)
    for jumps in range(last_jump + 1):
        log_weight = -mean_jumps + jumps * math.log(mean_jumps) - math.lgamma(jumps + 1)
        weight = math.exp(log_weight)
        if weight > 0:
            for j in range(max_ahead + 1):
                result[j] += weight * absorbed[j]
        # one more jump: from j ahead to j-1 with probability rates[j]/uniform_rate (j = 0 absorbs)
        previous = absorbed
        absorbed = [
            (rates[j] / uniform_rate) * (previous[j - 1] if j > 0 else 1.0)
            + (1 - rates[j] / uniform_rate) * previous[j]
            for j in range(max_ahead + 1)
        ]
    return [min(max(value, 0.0), 1.0) for value in result]


def hourly_plan(
    arrivals_per_hour: Sequence[float],
    mean_service: timedelta,
    target_wait: timedelta,
    target_level: float,
    lag: timedelta | None = None,
    max_occupancy: float | None = None,
) -> list[int]:
    """Counters to open in each hour (SIPP, lagged): hour h is staffed for the arrivals of [h - lag, h + 1 - lag].

    ``arrivals_per_hour[h]`` is the expected number of arrivals in hour ``h`` of the plan; before the
    first hour nobody arrives. ``lag`` defaults to one mean service time.
    """
    service_minutes = mean_service.total_seconds() / 60
    lag_hours = (mean_service if lag is None else lag).total_seconds() / 3600
    plan: list[int] = []
    for hour in range(len(arrivals_per_hour)):
        window_rate = _average_rate(arrivals_per_hour, hour - lag_hours, hour + 1 - lag_hours)
        plan.append(
            counters_needed(
                window_rate / 60,
                service_minutes,
                target_wait.total_seconds() / 60,
                target_level,
                max_occupancy=max_occupancy,
            )
        )
    return plan


def _average_rate(per_hour: Sequence[float], start: float, end: float) -> float:
    """Average of a piecewise-constant hourly rate over [start, end] (hours; zero outside the plan)."""
    total = 0.0
    for hour, rate in enumerate(per_hour):
        overlap = min(end, hour + 1) - max(start, hour)
        if overlap > 0:
            total += rate * overlap
    return total / (end - start)


def counters_needed_with_abandonment(
    arrival_rate: float,
    mean_service: float,
    mean_patience: float,
    target_wait: float,
    target_level: float,
    max_abandon: float = 0.05,
    max_counters: int = 10_000,
) -> int:
    """The smallest number of counters whose Erlang A service level (offered wait within ``target_wait``) reaches
    ``target_level`` with at most ``max_abandon`` of arrivals walking out (without that cap an overloaded hall
    "meets" its level by losing customers). Never more than :func:`counters_needed` (Erlang C), where the search
    ends."""
    if not 0 <= target_level < 1:
        raise ValueError("target_level must be in [0, 1)")
    if arrival_rate <= 0:
        return 0
    ceiling = counters_needed(arrival_rate, mean_service, target_wait, target_level, max_counters=max_counters)
    if math.isinf(mean_patience):
        return ceiling
    # the service level grows with the counters: bisect between one and the Erlang C answer
    # Fewer than a (1 - max_abandon) counters cannot serve all but max_abandon of the arrivals.
    low = max(1, min(ceiling, math.ceil(arrival_rate * mean_service * (1 - max_abandon) - 1e-9)))
    high = ceiling  # meets the target (Erlang A's level is at least Erlang C's)
    while low < high:
        middle = (low + high) // 2
        try:
            result = erlang_a(middle, arrival_rate, mean_service, mean_patience, target_wait)
        except ValueError:  # so overloaded that the queue's chain is too long to sum: far from the target
            low = middle + 1
            continue
        if result.service_level >= target_level and result.p_abandon <= max_abandon:
            high = middle
        else:
            low = middle + 1
    return high


# --- counters with skills ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """Services and the counters that serve them, connected by skills: no counter outside serves them."""

    services: frozenset[str]
    counters: frozenset[str]


def skill_pools(services: Sequence[str], counters: dict[str, Sequence[str]]) -> list[Pool]:
    """The connected groups of ``services`` and ``counters`` (number: the services it serves); a service no counter
    serves is a pool alone, and a counter's services outside ``services`` are ignored. Sorted by first service."""
    wanted = set(services)
    parent = {code: code for code in wanted}

    def root(code: str) -> str:
        while parent[code] != code:
            parent[code] = parent[parent[code]]
            code = parent[code]
        return code

    for served in counters.values():
        mine = [code for code in served if code in wanted]
        for other in mine[1:]:
            parent[root(other)] = root(mine[0])
    groups: dict[str, set[str]] = {}
    for code in wanted:
        groups.setdefault(root(code), set()).add(code)
    pools = []
    for members in groups.values():
        serving = frozenset(number for number, served in counters.items() if members & set(served))
        pools.append(Pool(frozenset(members), serving))
    return sorted(pools, key=lambda pool: min(pool.services))


def eligible(counters: dict[str, Sequence[str]], services: frozenset[str] | set[str]) -> int:
    """How many of ``counters`` serve at least one of ``services``."""
    return sum(1 for served in counters.values() if services & set(served))


MAX_SUBSET_SERVICES = 6  # beyond this, a pool's check covers single services and the whole pool only


def service_subsets(services: frozenset[str]) -> list[frozenset[str]]:
    """The sets of a pool's services whose counters are checked: every non-empty subset for a pool of up to
    :data:`MAX_SUBSET_SERVICES` services, else each service alone and the whole pool; smallest first."""
    ordered = sorted(services)
    if len(ordered) > MAX_SUBSET_SERVICES:
        return [frozenset([code]) for code in ordered] + [services]
    return sorted((frozenset(code for bit, code in enumerate(ordered) if mask >> bit & 1)
                   for mask in range(1, 1 << len(ordered))), key=len)  # smallest first


SERVICE_LEVEL = 0.8
"""The share of customers to be called within their service's target wait (``target_wait_min``) that the
staffing advice plans for: the customary 80% of an "80/20" service level."""


NEGLIGIBLE_ABANDON = 1e-6  # walk-outs per minute waited below which nobody walks out (a patience of two years)


@dataclass(frozen=True)
class Demand:
    """One service's demand in one hour, in minutes: arrivals per minute, mean service, target wait, and the
    walk-out rate per minute of waiting (None: the history does not tell)."""

    arrival_rate: float
    mean_service: float
    target_wait: float
    abandon_rate: float | None = None


@dataclass(frozen=True)
class Need:
    """Counters needed by Erlang C and, where walk-outs are known, by Erlang A."""

    erlang_c: int
    erlang_a: int | None

    @property
    def counters(self) -> int:
        """What to plan for: Erlang A where it applies (walk-outs relieve the queue), else Erlang C."""
        return self.erlang_c if self.erlang_a is None else self.erlang_a


def pooled_need(demands: Sequence[Demand], target_level: float = SERVICE_LEVEL, *,
                with_abandonment: bool = True) -> Need:
    """Counters needed when counters serving all of ``demands`` take whoever waits: one stream with the summed
    arrivals, the arrivals-weighted mean service time and walk-out rate, and the strictest target wait. With
    full cross-training this is exact for M/M/s; with partial skills it is a lower bound (see
    :func:`service_subsets` for the checks that complete it)."""
    rate = sum(d.arrival_rate for d in demands)
    if rate <= 0:
        return Need(0, 0 if any(d.abandon_rate is not None for d in demands) else None)
    mean_service = sum(d.arrival_rate * d.mean_service for d in demands) / rate
    target_wait = min(d.target_wait for d in demands)
    erlang_c_need = counters_needed(rate, mean_service, target_wait, target_level)
    known = [d for d in demands if d.abandon_rate is not None]
    if not known or not with_abandonment:
        return Need(erlang_c_need, None)
    abandon = sum(d.arrival_rate * (d.abandon_rate or 0.0) for d in demands) / rate
    patience = math.inf if abandon <= NEGLIGIBLE_ABANDON else 1.0 / abandon
    return Need(erlang_c_need, counters_needed_with_abandonment(rate, mean_service, patience, target_wait,
                                                                target_level))


def lagged_rate(per_hour: Sequence[float], hour: int, lag_hours: float) -> float:
    """The average arrivals per hour over [hour - lag, hour + 1 - lag] (SIPP lagged, as :func:`hourly_plan`)."""
    return _average_rate(per_hour, hour - lag_hours, hour + 1 - lag_hours)
