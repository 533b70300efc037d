"""What a quiet branch's once-a-minute refresh costs: the live refresh of branches where nothing happened since the
last one, against a refresh after a change (an issue).

What it builds: the demo branch and ``--branches - 1`` copies (SQLite in a temporary directory, or ``--database-url``),
each with one counter serving a customer and ``--waiting`` tickets waiting behind it. Every branch is refreshed once
(the live loop does so at start). Then, ``--rounds`` times: the clock moves on a minute and every branch is refreshed
(the idle refresh: nothing happened); and, for comparison, one ticket is issued in every branch and every branch is
refreshed (a refresh after a change, which runs the estimator).

    python benchmarks/idle_refresh.py [--branches 50] [--waiting 5] [--rounds 5]

Prints the milliseconds of one branch's refresh of each kind (median over the rounds) and, as its last line, JSON.
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

from server.config import load_config  # noqa: E402
from server.domain.tickets import Action  # noqa: E402
from server.launcher import write_config  # noqa: E402
from server.persistence.database import make_engine, make_readonly_engine, migrate  # noqa: E402
from server.services.actor import Actor  # noqa: E402
from server.services.hall import HallService  # noqa: E402
from server.services.live import LiveHall  # noqa: E402
from server.services.unit_of_work import UnitOfWork  # noqa: E402


def copies(data: dict[str, Any], count: int) -> None:
    """The demo branch and ``count - 1`` copies, and a staff account for each (one counter open in each)."""
    first = data["branches"][0]
    for n in range(1, count):
        other = copy.deepcopy(first)
        other["code"] = f"BR-{n:03d}"
        data["branches"].append(other)
    for n in range(count):
        data["staff"].append({"username": f"bench.{n}", "display_name": f"bench.{n}",
                              "password_hash": data["staff"][0]["password_hash"]})


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def per_branch_ms(work: Any, branches: int) -> float:
    started = time.process_time()
    work()
    return (time.process_time() - started) * 1000 / branches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--waiting", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="idle-refresh-"))
    url = args.database_url or f"sqlite:///{work / 'hall.sqlite3'}"
    config = load_config(write_config(work, url), overrides=lambda data: copies(data, args.branches))
    migrate(url)
    clock = Clock()
    hall = HallService(config, UnitOfWork(make_engine(url, sqlite_synchronous="normal"), make_readonly_engine(url),
                                          None), clock=clock)
    hall.ensure_branches()
    live = LiveHall(hall.config, hall.uow, clock)
    hall.estimates = live
    codes = [b.code for b in hall.config.branches]
    for n, code in enumerate(codes):
        staff = Actor(f"bench.{n}", "staff")
        hall.counters.sign_in(code, "1", staff)
        for _ in range(args.waiting + 1):
            hall.tickets.issue(code, "BILL")
        called = hall.counters.call_next(code, "1", staff)["ticket"]
        hall.tickets.act(code, called["id"], Action.START, staff)
    for code in codes:
        live.refresh(code)

    idle, changed = [], []
    for _ in range(args.rounds):
        clock.now += timedelta(minutes=1)
        idle.append(per_branch_ms(lambda: [live.refresh(code) for code in codes], len(codes)))
        for code in codes:
            hall.tickets.issue(code, "BILL")
        clock.now += timedelta(seconds=1)
        changed.append(per_branch_ms(lambda: [live.refresh(code) for code in codes], len(codes)))
    out = {"branches": len(codes), "waiting": args.waiting,
           "idle_refresh_ms": round(statistics.median(idle), 3),
           "refresh_after_change_ms": round(statistics.median(changed), 3),
           "estimator_runs": getattr(live, "estimates_run", None), "reaged": getattr(live, "estimates_reaged", None)}
    print(f"{len(codes)} branches, {args.waiting}+ waiting: an idle refresh {out['idle_refresh_ms']:.2f} ms of CPU a"
          f" branch, a refresh after an issue {out['refresh_after_change_ms']:.2f} ms")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
