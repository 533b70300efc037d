"""How fast the manager's reports answer on a year of a busy branch and of 50 branches.

What it builds: a year (365 days) of one busy telecom branch, every day simulated (``benchmarks/sim``, the
``multi_telecom`` hall with 1.7 times its arrivals: about 300,000 tickets), and 49 more branches whose days are
drawn from a pool of ``--pool`` simulated days of the usual telecom and bank halls (a real day each, repeated
across branches: simulating 18,000 days would take a quarter of an hour and change nothing the reports read).
Each simulated day goes through the same fold the day end uses (:func:`server.domain.reports.day_cells`) into
the same tables (``report_figure``, ``report_reason``), so the database holds what a deployment would hold after
a year of day ends; the tickets themselves are not written (the reports never read them). The simulator has no
ratings, transfers or estimates given at issue: 40 % of served customers rate, dissatisfied more often after a long
wait, 2 % of tickets are transferred, 90 % of cancels are the customer's own (walk-outs), and 90 % of tickets get an
estimate around their real wait, drawn at random.

What it times: every table (volumes, waits, service times, service level, satisfaction, reasons, heat map, the
estimates' accuracy) in every grouping it allows, once for the busy branch and once for all 50 branches (an
admin's report), a year each, in process (the service call and the JSON or CSV it answers: the server's time
without the network), ``--repeat`` times each.

    python benchmarks/report_speed.py                         # SQLite in a temporary directory
    python benchmarks/report_speed.py --database-url postgresql://user@host/db   # an empty database

Prints a table per report and, as its last line, JSON with tickets, branches, report_p50_ms and report_p99_ms.
Target: every report under 300 ms.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.sim import SCENARIOS, HallDay, Outcome  # noqa: E402
from benchmarks.sim.hall import HALL_TIMEZONE  # noqa: E402
from server.config import load_config  # noqa: E402
from server.domain.estimation import BranchModel, EstimatorSettings, GivenEstimate  # noqa: E402
from server.domain.reports import Cell, Group, Section, day_cells  # noqa: E402
from server.domain.service_day import TicketFacts  # noqa: E402
from server.domain.tickets import TicketState  # noqa: E402
from server.launcher import write_config  # noqa: E402
from server.persistence import report_figures  # noqa: E402
from server.persistence.database import make_engine, make_readonly_engine, migrate  # noqa: E402
from server.services.actor import Actor  # noqa: E402
from server.services.hall import HallService  # noqa: E402
from server.services.reports import SECTION_GROUPS  # noqa: E402
from server.services.unit_of_work import UnitOfWork  # noqa: E402

BUSY = "SZ-FUTIAN"
FIRST = date(2026, 1, 1)
DAYS = 365
ADMIN = Actor("admin", "admin")
END = {Outcome.SERVED: TicketState.DONE, Outcome.NO_SHOW: TicketState.NO_SHOW,
       Outcome.CANCELLED: TicketState.CANCELLED, Outcome.WAITING: TicketState.EXPIRED}


class TimedDay(HallDay):
    """A simulated day that keeps each customer's service time (the simulator draws it and forgets it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.durations: dict[tuple[float, str], list[float]] = defaultdict(list)

    def _service_minutes(self, service: str, minute: float) -> float:
        drawn = super()._service_minutes(service, minute)
        self.durations[(minute, service)].append(drawn)
        return drawn


def simulate(scenario_name: str, scale: float, index: int, seed: int, model: BranchModel,
             services: list[str], staff: list[str], rng: random.Random) -> list[TicketFacts]:
    """One simulated day as the facts the day end reads of each ticket (services and staff renamed to the hall's)."""
    base = SCENARIOS[scenario_name]
    scenario = dataclasses.replace(base, arrivals_per_hour=tuple(r * scale for r in base.arrivals_per_hour))
    day = TimedDay(scenario, index, seed, model)
    result = day.run()
    names = {spec.code: services[i % len(services)] for i, spec in enumerate(scenario.services)}
    on_duty = {c.counter: staff[(i + index) % len(staff)] for i, c in enumerate(scenario.counters)}
    facts = []
    for ticket in result.tickets:
        called = day.at(ticket.called_at) if ticket.called_at is not None else None
        finished = None
        if ticket.outcome == Outcome.SERVED:
            finished = called + timedelta(minutes=day.durations[(ticket.called_at, ticket.service)].pop())
        wait_min = (ticket.called_at if ticket.called_at is not None else ticket.issued) - ticket.issued
        rated = ticket.outcome == Outcome.SERVED and rng.random() < 0.4
        dissatisfied = rated and rng.random() < (0.03 + (0.25 if wait_min > 20 else 0.0))
        facts.append(TicketFacts(
            issued_service_code=names[ticket.service], state=END[ticket.outcome], transferred=rng.random() < 0.02,
            issued_at=day.at(ticket.issued), first_called_at=called, service_started_at=called, finished_at=finished,
            rating_dissatisfied=dissatisfied if rated else None, counter_number=ticket.counter,
            staff_username=on_duty.get(ticket.counter) if ticket.counter else None,
            rating_reasons=(rng.choice(["WAIT_LONG", "SLOW", "ATTITUDE"]),) if dissatisfied else (),
            estimate=shown_estimate(wait_min, rng) if rng.random() < 0.9 else None,
            cancelled_by_customer=ticket.outcome == Outcome.CANCELLED and rng.random() < 0.9))
    return facts


def shown_estimate(wait_min: float, rng: random.Random) -> GivenEstimate:
    """An estimate as a customer might have been shown it: a point near the real wait, a 5-minute range around it."""
    mid = max(0.0, wait_min * rng.lognormvariate(0, 0.35))
    low = max(0, round(mid / 5) * 5 - 5)
    return GivenEstimate(low * 60.0, (low + 10) * 60.0, mid * 60)


def fifty_branches(data: dict[str, Any], count: int) -> None:
    """The demo branch and ``count - 1`` copies in five regions."""
    first = data["branches"][0]
    for n in range(1, count):
        other = copy.deepcopy(first)
        other["code"], other["region"] = f"BR-{n:02d}", f"R{n % 5}"
        other["name"] = {"zh-CN": f"网点{n:02d}", "en": f"Branch {n:02d}"}
        data["branches"].append(other)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--pool", type=int, default=60, help="simulated days the other branches draw from")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="report-speed-"))
    url = args.database_url or f"sqlite:///{work / 'hall.sqlite3'}"
    config = load_config(write_config(work, url), overrides=lambda data: fifty_branches(data, args.branches))
    migrate(url)
    engine = make_engine(url, sqlite_synchronous=config.server.sqlite_synchronous)
    hall = HallService(config, UnitOfWork(engine, make_readonly_engine(url), None),
                       clock=lambda: datetime.combine(FIRST + timedelta(days=DAYS), datetime.min.time(),
                                                      tzinfo=HALL_TIMEZONE))
    branch = hall.branch(BUSY)
    services = [s.code for s in branch.services]
    staff = [a.username for a in config.staff if a.role in ("staff", "manager")][:12]
    targets = {s.code: s.target_wait for s in branch.services}
    rng = random.Random(11)
    seeds = np.random.SeedSequence([2026]).spawn(DAYS + args.pool)

    started = time.perf_counter()
    tickets = 0
    model = BranchModel(SCENARIOS["multi_telecom"].expected_service(), HALL_TIMEZONE, EstimatorSettings())
    with engine.begin() as connection:
        for index in range(DAYS):
            facts = simulate("multi_telecom", 1.7, index, seeds[index], model, services, staff, rng)
            tickets += len(facts)
            report_figures.replace_day(connection, BUSY, FIRST + timedelta(days=index),
                                       day_cells(facts, branch.timezone, targets))
    busy_tickets = tickets
    simulated = time.perf_counter() - started
    pool: list[tuple[int, list[Cell]]] = []
    for n in range(args.pool):
        name = "multi_telecom" if n % 2 else "multi_bank"
        model = BranchModel(SCENARIOS[name].expected_service(), HALL_TIMEZONE, EstimatorSettings())
        facts = simulate(name, 1.0, n, seeds[DAYS + n], model, services, staff, rng)
        pool.append((len(facts), day_cells(facts, branch.timezone, targets)))
    for other in config.branches:
        if other.code == BUSY:
            continue
        with engine.begin() as connection:
            for index in range(DAYS):
                count, cells = pool[rng.randrange(len(pool))]
                tickets += count
                report_figures.replace_day(connection, other.code, FIRST + timedelta(days=index), cells)
    built = time.perf_counter() - started
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT count(*) FROM report_figure").scalar_one()
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE report_figure")
            connection.exec_driver_sql("ANALYZE report_reason")

    reports = hall.reports
    period = reports.period([branch], FIRST, FIRST + timedelta(days=DAYS - 1))
    kinds: list[tuple[str, Section, Group]] = []
    for section in Section:
        if section is Section.HEATMAP:
            kinds.append(("json", section, Group.TOTAL))
            continue
        for group in SECTION_GROUPS.get(section, tuple(Group)):
            kinds.append(("json", section, group))
    kinds += [("csv", Section.WAITS, Group.STAFF), ("csv", Section.VOLUMES, Group.DAY),
              ("csv", Section.HEATMAP, Group.TOTAL)]
    scopes = [("busy branch", [branch]), (f"{len(config.branches)} branches", reports.readable_scope(ADMIN))]
    timings: list[float] = []
    table: list[tuple[str, str, str, str, float, float]] = []
    for scope_name, scope in scopes:
        for kind, section, group in kinds:
            measured = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                if kind == "json":
                    json.dumps(reports.report(scope, period, group, [section]))
                else:
                    reports.csv(scope, period, group, section, "zh-CN")
                measured.append((time.perf_counter() - began) * 1000)
            timings += measured
            table.append((scope_name, kind, section.value, group.value, statistics.median(measured), max(measured)))
        began = time.perf_counter()
        json.dumps(reports.report(scope, period, Group.SERVICE))
        whole = (time.perf_counter() - began) * 1000
        table.append((scope_name, "json", "(all tables)", "service", whole, whole))
        timings.append(whole)

    load = os.getloadavg()
    print(f"database        {engine.dialect.name}   cores {os.cpu_count()}   load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}")
    print(f"data            {len(config.branches)} branches x {DAYS} days: {tickets:,} tickets ({busy_tickets:,} at "
          f"the busy branch, every day simulated; the others from a pool of {args.pool} simulated days)")
    print(f"                {rows:,} figure rows; built in {built:.1f} s (the busy branch's year simulated in "
          f"{simulated:.1f} s)")
    print(f"{'scope':<14} {'as':<5} {'table':<14} {'group':<8} {'p50 ms':>8} {'max ms':>8}")
    for scope_name, kind, section_name, group_name, p50, worst in table:
        flag = "  OVER 300 ms" if worst > 300 else ""
        print(f"{scope_name:<14} {kind:<5} {section_name:<14} {group_name:<8} {p50:8.1f} {worst:8.1f}{flag}")
    timings.sort()
    p50 = timings[len(timings) // 2]
    p99 = timings[min(len(timings) - 1, int(0.99 * len(timings)))]
    print(f"all reports     p50 {p50:.1f} ms   p99 {p99:.1f} ms   max {timings[-1]:.1f} ms   ({len(timings)} timed)")
    print(json.dumps({"benchmark": "report_speed", "database": engine.dialect.name, "tickets": tickets,
                      "branches": len(config.branches), "busy_branch_tickets": busy_tickets, "figure_rows": rows,
                      "report_p50_ms": round(p50, 1), "report_p99_ms": round(p99, 1),
                      "report_max_ms": round(timings[-1], 1), "load_average": [round(x, 2) for x in load]}))


if __name__ == "__main__":
    main()
