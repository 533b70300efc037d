"""How much the overview of branches costs with 500 branches: the live refresh that keeps each branch's glance, the
listing an admin (all branches) and a regional reader (one region) are answered with, and one coalesced push.

What it builds: the demo branch and ``--branches - 1`` copies in ten regions (SQLite in a temporary directory, or
``--database-url``), with one counter open and a few waiting tickets in every branch (a ticket every third minute
for half an hour, in a third of the branches), so that alerts, worst waits and estimates are real. Every branch is
refreshed once, as the live loop does at start.

What it times, ``--repeat`` times each: ``Overview.listing`` for an admin and for a regional reader (the service call
and its JSON, as ``GET /api/overview`` answers it, without the network), and ``OverviewWatchers.tick`` with every
branch changed (one admin watcher: the rows and the new order of all branches). The listing reads no ticket: its
cost is the glance lookup, the row and the sort per branch.

    python benchmarks/overview_speed.py [--branches 500] [--repeat 20]

Prints the figures and, as its last line, JSON with the medians and the 99th percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import copy
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

from flask import json as flask_json  # noqa: E402

from server.config import load_config  # noqa: E402
from server.launcher import write_config  # noqa: E402
from server.persistence.database import make_engine, make_readonly_engine, migrate  # noqa: E402
from server.services.actor import Actor  # noqa: E402
from server.services.hall import HallService  # noqa: E402
from server.services.live import LiveHall  # noqa: E402
from server.services.overview import Overview, OverviewWatchers  # noqa: E402
from server.services.unit_of_work import UnitOfWork  # noqa: E402

REGIONS = 10


def many_branches(data: dict[str, Any], count: int) -> None:
    """The demo branch and ``count - 1`` copies in ten regions, and a regional reader of the first region."""
    first = data["branches"][0]
    first["region"] = "R0"
    for n in range(1, count):
        other = copy.deepcopy(first)
        other["code"], other["region"] = f"BR-{n:03d}", f"R{n % REGIONS}"
        other["name"] = {"zh-CN": f"网点{n:03d}", "en": f"Branch {n:03d}"}
        data["branches"].append(other)
    data["staff"].append({"username": "region.r0", "display_name": "区域 R0", "role": "regional", "regions": ["R0"],
                          "password_hash": data["staff"][0]["password_hash"]})


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def timed(work: Any, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def figures(name: str, times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(f"{name:<34} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms   ({len(times)} runs)")
    return {f"{name}_p50_ms": round(p50, 2), f"{name}_p99_ms": round(p99, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--branches", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="overview-speed-"))
    url = args.database_url or f"sqlite:///{work / 'hall.sqlite3'}"
    config = load_config(write_config(work, url), overrides=lambda data: many_branches(data, args.branches))
    migrate(url)
    clock = Clock()
    hall = HallService(config, UnitOfWork(make_engine(url, sqlite_synchronous="normal"), make_readonly_engine(url),
                                          None), clock=clock)
    hall.ensure_branches()
    live = LiveHall(hall.config, hall.uow, clock)
    hall.estimates = live
    codes = [b.code for b in hall.config.branches]

    started = time.perf_counter()
    staff = Actor("zhang.wei", "staff")
    for code in codes:
        hall.counters.sign_in(code, "1", staff, takeover=True)
    for step in range(10):
        for index, code in enumerate(codes):
            if index % 3 == 0:
                hall.tickets.issue(code, ("BILL", "SIM", "PLAN")[step % 3])
        clock.now += timedelta(minutes=3)
    print(f"set up {len(codes)} branches with tickets in {time.perf_counter() - started:.1f} s")

    refresh = timed(lambda: [live.refresh(code) for code in codes], 1)[0]
    print(f"first refresh of every branch: {refresh:.0f} ms ({refresh / len(codes):.2f} ms a branch)")
    again = timed(lambda: [live.refresh(code) for code in codes], 1)[0]
    print(f"a refresh of every branch again: {again:.0f} ms ({again / len(codes):.2f} ms a branch; the live loop "
          "spreads these over the minute)")

    overview = Overview(hall.reports, live)
    admin, regional = Actor("admin", "admin"), Actor("region.r0", "regional")
    listing = overview.listing(admin)
    body = flask_json.dumps(listing)
    print(f"admin listing: {len(listing['branches'])} branches, {len(body) / 1024:.0f} KiB of JSON; worst first: "
          + ", ".join(row["code"] for row in listing["branches"][:3]))
    out: dict[str, Any] = {"branches": len(codes)}
    from flask import Flask

    with Flask(__name__).app_context():
        out |= figures("listing_admin", timed(lambda: flask_json.dumps(overview.listing(admin)), args.repeat))
        out |= figures("listing_regional", timed(lambda: flask_json.dumps(overview.listing(regional)), args.repeat))
    sent: list[int] = []
    ticking = [0.0]
    watchers = OverviewWatchers(overview, lambda sid, message: sent.append(len(message["rows"])),
                                clock=lambda: ticking[0])
    watchers.watch("admin", admin, None)

    def push_all() -> None:
        for code in codes:
            watchers.changed(code)
        ticking[0] += 2.0
        watchers.tick()

    out |= figures("push_all_changed", timed(push_all, args.repeat))
    assert sent and sent[-1] == len(codes)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
