"""Discrete-event simulation of a service hall, used to measure wait-time estimates.

* :mod:`benchmarks.sim.scenarios` — services, counters, arrivals, patience and staffing per scenario;
* :mod:`benchmarks.sim.hall` — one simulated day (simpy), driving the real call-next policy and feeding
  the branch model the server's events;
* :mod:`benchmarks.sim.baselines` — the published delay estimators used as baselines.
"""

from benchmarks.sim.baselines import BASELINES, Baselines
from benchmarks.sim.hall import DayObserver, DayResult, HallDay, Outcome, SimTicket
from benchmarks.sim.scenarios import SCENARIOS, Scenario, ServiceSpec

__all__ = [
    "BASELINES",
    "SCENARIOS",
    "Baselines",
    "DayObserver",
    "DayResult",
    "HallDay",
    "Outcome",
    "Scenario",
    "ServiceSpec",
    "SimTicket",
]
