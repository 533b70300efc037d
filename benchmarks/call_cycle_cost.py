"""What a call-next cycle costs the server against what an issue costs, at a backlog of 200 and 2,000 waiting: the
command itself and the live refresh it brings (one refresh per command: the live loop coalesces them when commands
come faster than it refreshes, so this is the cost when they do not).

What it builds: the demo branch without daily caps (SQLite in a temporary directory, or ``--database-url``), six
counters signed in and serving, the queue grown to each backlog. Then ``--commands`` times each, alternating so that
the backlog stays put: an issue (``POST …/tickets``'s service call) and its refresh; a call-next cycle (start the
called customer, finish and call the next) and its refresh. CPU time of this process (``time.process_time``).

    python benchmarks/call_cycle_cost.py [--backlogs 200,2000] [--commands 20] [--no-patch]

The refresh after a command patches the last projection when it may (``LiveHall._patch``: issues and calls within
``PATCH_FOR`` of the estimator's last run) and runs the estimator otherwise; the figures of the two kinds are also
given apart (``patched_refresh``, ``full_refresh``: medians over both commands), with the mean of every refresh after
each command (what a branch's refreshes cost over time, at this command rate: one every 5 s of the clock). With
``--no-patch`` every refresh runs the estimator (the cost before the patched refresh).

Prints per backlog the milliseconds of CPU of each (command, refresh) and, as its last line, JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.config import load_config  # noqa: E402
from server.domain.tickets import Action  # noqa: E402
from server.launcher import write_config  # noqa: E402
from server.persistence.database import make_engine, make_readonly_engine, migrate  # noqa: E402
from server.services.actor import Actor  # noqa: E402
from server.services.hall import HallService  # noqa: E402
from server.services.live import LiveHall  # noqa: E402
from server.services.unit_of_work import UnitOfWork  # noqa: E402

NAMES = ("zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jing", "zhao.lei")
SERVICES = ("BILL", "PLAN", "SIM", "BROADBAND", "DEVICE")


def no_caps(data: dict[str, Any]) -> None:
    for branch in data["branches"]:
        for service in branch["services"]:
            service.pop("daily_cap", None)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def cpu_ms(work: Any) -> float:
    started = time.process_time()
    work()
    return (time.process_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--backlogs", default="200,2000")
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--no-patch", action="store_true", help="every refresh runs the estimator")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="call-cycle-"))
    url = args.database_url or f"sqlite:///{work / 'hall.sqlite3'}"
    config = load_config(write_config(work, url), overrides=no_caps)
    migrate(url)
    clock = Clock()
    hall = HallService(config, UnitOfWork(make_engine(url, sqlite_synchronous="normal"), make_readonly_engine(url),
                                          None), clock=clock)
    hall.ensure_branches()
    live = LiveHall(hall.config, hall.uow, clock)
    if args.no_patch:
        live._patch = lambda *_args: False  # type: ignore[method-assign]
    hall.estimates = live
    branch = hall.config.branches[0]
    code = branch.code
    staff = {c.number: Actor(name, "staff") for c, name in zip(branch.counters, NAMES, strict=False)}
    held: dict[str, int] = {}
    for number, actor in staff.items():
        hall.counters.sign_in(code, number, actor, takeover=True)
    issued = 0

    def issue() -> None:
        nonlocal issued
        hall.tickets.issue(code, SERVICES[issued % len(SERVICES)])
        issued += 1

    def cycle(number: str) -> None:
        actor = staff[number]
        if number in held:
            hall.tickets.act(code, held[number], Action.START, actor)
            answer = hall.counters.finish_and_call_next(code, number, actor)
        else:
            answer = hall.counters.call_next(code, number, actor)
        if answer.get("ticket"):
            held[number] = answer["ticket"]["id"]
        else:
            held.pop(number, None)

    out: dict[str, Any] = {}
    for backlog in sorted(int(b) for b in args.backlogs.split(",")):
        while issued < backlog + 2 * len(staff):
            issue()
            clock.now += timedelta(seconds=3)
        for number in staff:
            cycle(number)
        live.refresh(code)
        figures: dict[str, list[float]] = {"issue": [], "issue_refresh": [], "call": [], "call_refresh": [],
                                           "patched_refresh": [], "full_refresh": []}

        def refresh(after: str, figures: dict[str, list[float]] = figures) -> None:
            patched = live.estimates_patched
            took = cpu_ms(lambda: live.refresh(code))
            figures[after].append(took)
            figures["patched_refresh" if live.estimates_patched > patched else "full_refresh"].append(took)

        for n in range(args.commands):
            clock.now += timedelta(seconds=5)
            figures["issue"].append(cpu_ms(issue))
            refresh("issue_refresh")
            clock.now += timedelta(seconds=5)
            number = list(staff)[n % len(staff)]
            figures["call"].append(cpu_ms(lambda number=number: cycle(number)))
            refresh("call_refresh")
        row: dict[str, float | int | None] = {
            name: round(statistics.median(values), 2) if values else None for name, values in figures.items()}
        row |= {"issue_refresh_mean": round(statistics.mean(figures["issue_refresh"]), 2),
                "call_refresh_mean": round(statistics.mean(figures["call_refresh"]), 2),
                "patched": len(figures["patched_refresh"]), "full": len(figures["full_refresh"])}
        waiting = live.summary(code)["waiting_total"]
        print(f"{waiting:>5} waiting: issue {row['issue']:.2f} ms + its refresh {row['issue_refresh']:.1f} ms"
              f" (mean {row['issue_refresh_mean']:.1f}); call-next cycle {row['call']:.2f} ms + its refresh"
              f" {row['call_refresh']:.1f} ms (mean {row['call_refresh_mean']:.1f}) (CPU, medians);"
              f" {row['patched']} refreshes patched ({row['patched_refresh']} ms), {row['full']} full"
              f" ({row['full_refresh']} ms)")
        out[str(backlog)] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
