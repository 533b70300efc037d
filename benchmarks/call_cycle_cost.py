"""What a call-next cycle costs the server against what an issue costs, at a backlog of 200 and 2,000 waiting: the
command itself and the live refresh it brings (one refresh per command: the live loop coalesces them when commands
come faster than it refreshes, so this is the cost when they do not).

What it builds: the demo branch without daily caps (SQLite in a temporary directory, or ``--database-url``), six
counters signed in and serving, the queue grown to each backlog. Then ``--commands`` times each, alternating so that
the backlog stays put: an issue (``POST …/tickets``'s service call) and its refresh; a call-next cycle (start the
called customer, finish and call the next) and its refresh. CPU time of this process (``time.process_time``).

    python benchmarks/call_cycle_cost.py [--backlogs 200,2000] [--commands 20]

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
        figures: dict[str, list[float]] = {"issue": [], "issue_refresh": [], "call": [], "call_refresh": []}
        for n in range(args.commands):
            clock.now += timedelta(seconds=5)
            figures["issue"].append(cpu_ms(issue))
            figures["issue_refresh"].append(cpu_ms(lambda: live.refresh(code)))
            clock.now += timedelta(seconds=5)
            number = list(staff)[n % len(staff)]
            figures["call"].append(cpu_ms(lambda number=number: cycle(number)))
            figures["call_refresh"].append(cpu_ms(lambda: live.refresh(code)))
        row = {name: round(statistics.median(values), 2) for name, values in figures.items()}
        waiting = live.summary(code)["waiting_total"]
        print(f"{waiting:>5} waiting: issue {row['issue']:.2f} ms + its refresh {row['issue_refresh']:.1f} ms;"
              f" call-next cycle {row['call']:.2f} ms + its refresh {row['call_refresh']:.1f} ms (CPU, medians)")
        out[str(backlog)] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
