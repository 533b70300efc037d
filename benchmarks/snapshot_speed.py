"""What a screen's snapshot costs as the waiting queue grows: the public snapshot (wall display, kiosk, counter display:
what a display pays when it joins, and ``GET …/snapshot``) and the staff one, at 200, 2,000 and 10,000 waiting.

What it builds: the demo branch without daily caps (SQLite in a temporary directory, or ``--database-url``), six
counters signed in, and the queue grown step by step to each size (tickets of every service, issued through the
service layer); at each size every counter finishes its customer and calls the next twice (the last calls are recent,
as in a working hall; the recent calls are read back from the newest event). At each size it times
``HallQueries.snapshot`` with its JSON, public and staff, ``--repeat`` times each, and prints the medians and 99th
percentiles.

    python benchmarks/snapshot_speed.py [--sizes 200,2000,10000] [--repeat 30] [--database-url URL]

The public snapshot is bounded: per-service counts from the trigger-kept tally and the tickets counters hold, never
the waiting tickets themselves, so its cost stays flat; the staff view lists the waiting tickets and grows with them.
The last line is JSON with the figures per size.
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

from flask import Flask  # noqa: E402
from flask import json as flask_json  # noqa: E402

from server.config import load_config  # noqa: E402
from server.domain.tickets import Action  # noqa: E402
from server.launcher import write_config  # noqa: E402
from server.persistence.database import make_engine, make_readonly_engine, migrate  # noqa: E402
from server.services.actor import Actor  # noqa: E402
from server.services.hall import HallService  # noqa: E402
from server.services.unit_of_work import UnitOfWork  # noqa: E402


def no_caps(data: dict[str, Any]) -> None:
    for branch in data["branches"]:
        for service in branch["services"]:
            service.pop("daily_cap", None)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def figures(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return round(statistics.median(ordered), 2), round(p99, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sizes", default="200,2000,10000")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    work = Path(tempfile.mkdtemp(prefix="snapshot-speed-"))
    url = args.database_url or f"sqlite:///{work / 'hall.sqlite3'}"
    config = load_config(write_config(work, url), overrides=no_caps)
    migrate(url)
    clock = Clock()
    hall = HallService(config, UnitOfWork(make_engine(url, sqlite_synchronous="normal"), make_readonly_engine(url),
                                          None), clock=clock)
    hall.ensure_branches()
    branch = hall.config.branches[0]
    services = [s.code for s in branch.services]
    names = ("zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jing", "zhao.lei")
    staff = {counter.number: Actor(name, "staff") for counter, name in zip(branch.counters, names, strict=False)}
    for number, actor in staff.items():
        hall.counters.sign_in(branch.code, number, actor, takeover=True)
    issued = 0
    held: dict[str, int] = {}  # the ticket each counter called last
    out: dict[str, Any] = {"branch": branch.code}
    with Flask(__name__).app_context():
        for size in sizes:
            while issued < size + 12 * (sizes.index(size) + 1):
                hall.tickets.issue(branch.code, services[issued % len(services)])
                issued += 1
                if issued % 50 == 0:
                    clock.now += timedelta(seconds=20)
            for _ in range(2):  # every counter serves and calls again: the last calls are recent, as in a busy hall
                for number, actor in staff.items():
                    if number not in held:
                        answer = hall.counters.call_next(branch.code, number, actor)
                    else:
                        hall.tickets.act(branch.code, held[number], Action.START, actor)
                        answer = hall.counters.finish_and_call_next(branch.code, number, actor)
                    held[number] = answer["ticket"]["id"]
            row: dict[str, Any] = {}
            for view, staff_view in (("public", False), ("staff", True)):
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    body = flask_json.dumps(hall.queries.snapshot(branch.code, staff=staff_view))
                    times.append((time.perf_counter() - started) * 1000)
                p50, p99 = figures(times)
                row |= {f"{view}_p50_ms": p50, f"{view}_p99_ms": p99, f"{view}_kib": round(len(body) / 1024, 1)}
            waiting = hall.queries.snapshot(branch.code)["waiting_total"]
            print(f"{waiting:>6} waiting: public p50 {row['public_p50_ms']:7.2f} ms p99 {row['public_p99_ms']:7.2f} ms"
                  f" ({row['public_kib']} KiB)   staff p50 {row['staff_p50_ms']:7.2f} ms"
                  f" p99 {row['staff_p99_ms']:7.2f} ms ({row['staff_kib']} KiB)")
            out[str(size)] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
