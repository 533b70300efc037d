"""The end of a busy service day: how long closing thousands of leftover tickets holds the event loop.

Builds the demo hall's services on a fresh SQLite file (or ``--database-url``), puts ``--leftovers`` waiting
tickets of yesterday in it and signs eight counters in yesterday, then, under eventlet as the server runs, ends
the day (:meth:`server.services.service_day.ServiceDays.end_due`) while a green thread that wants to run every
millisecond measures how late it gets to: the longest delay is the longest time the hall's requests and sockets
would have waited.

    python benchmarks/day_end.py                      # 5,000 leftovers
    python benchmarks/day_end.py --leftovers 20000
    python benchmarks/day_end.py --database-url postgresql://user@host/db   # an empty database

Prints a table and, as its last line, JSON with leftovers, total_s, chunks, max_block_ms, p99_block_ms and
blocked_share. Target: max_block_ms under 100 (a kiosk's answer stays well under a second) for 5,000.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from server.config import load_config  # noqa: E402
from server.domain.numbering import service_day  # noqa: E402
from server.launcher import write_config  # noqa: E402
from server.persistence.database import make_engine, make_readonly_engine, migrate  # noqa: E402
from server.services.actor import Actor  # noqa: E402
from server.services.hall import HallService  # noqa: E402
from server.services.unit_of_work import UnitOfWork  # noqa: E402

BRANCH = "SZ-FUTIAN"
STAFF = [("1", "zhang.wei"), ("2", "li.na"), ("3", "wang.fang"), ("4", "liu.yang"), ("5", "sun.li"),
         ("6", "chen.jing"), ("7", "zhou.min"), ("8", "zhao.lei")]
TICK_S = 0.001


class CountingPublisher:
    def __init__(self) -> None:
        self.events = 0
        self.loud = 0

    def publish(self, branch_code: str, events: list[dict]) -> None:
        self.events += len(events)
        self.loud += sum(1 for e in events if not e.get("quiet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leftovers", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="day-end-"))
    url = args.database_url or f"sqlite:///{work / 'hall.sqlite3'}"
    config = load_config(write_config(work, url))
    migrate(url)
    now = datetime.now(UTC)
    clock_now = [now - timedelta(days=1)]
    publisher = CountingPublisher()
    engine = make_engine(url, sqlite_synchronous=config.server.sqlite_synchronous)
    hall = HallService(config, UnitOfWork(engine, make_readonly_engine(url), publisher), clock=lambda: clock_now[0])
    hall.ensure_branches()
    branch = hall.branch(BRANCH)
    yesterday = service_day(clock_now[0], branch.timezone)
    services = [s.code for s in branch.services]
    rows = [{"token": f"leftover-{n:08d}-xxxxxxxx", "b": BRANCH, "s": services[n % len(services)], "day": yesterday,
             "n": n, "number": f"Z{n:06d}", "at": clock_now[0].replace(tzinfo=None)} for n in range(args.leftovers)]
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO ticket (token, branch_code, service_code, issued_service_code, service_day, sequence, number,"
            " priority, state, channel, language, issued_at, queued_at, recall_count, transferred, version,"
            " queue_key_us) VALUES (:token, :b, :s, :s, :day, :n, :number, 'normal', 'waiting', 'kiosk', 'zh-CN',"
            " :at, :at, 0, false, 1, 0)"), rows)
    for counter, username in STAFF:
        hall.counters.sign_in(BRANCH, counter, Actor(username, "staff"))
    clock_now[0] = now  # the server is up again today

    delays: list[float] = []
    worst: list[tuple[float, float]] = []  # (delay, when after the start)
    running = [True]
    began = [0.0]

    def ticker() -> None:
        while running[0]:
            started = time.perf_counter()
            eventlet.sleep(TICK_S)
            delay = max(0.0, time.perf_counter() - started - TICK_S)
            delays.append(delay)
            worst.append((delay, started - began[0]))

    ticking = eventlet.spawn(ticker)
    eventlet.sleep(0.05)
    delays.clear()
    worst.clear()
    started = began[0] = time.perf_counter()
    result = hall.days.end_due(BRANCH)
    total = time.perf_counter() - started
    eventlet.sleep(0.01)
    running[0] = False
    ticking.wait()
    assert result is not None and result.expired == args.leftovers, result
    delays.sort()
    max_block = delays[-1] * 1000 if delays else 0.0
    p99 = delays[int(0.99 * (len(delays) - 1))] * 1000 if delays else 0.0
    blocked = sum(delays) / total if total else 0.0
    chunks = -(-args.leftovers // hall.days.CHUNK)
    print(f"database          {engine.dialect.name}")
    print(f"leftovers         {args.leftovers:,} (+{result.signed_out} counters signed out)")
    print(f"total             {total:.2f} s in {chunks} chunks of {hall.days.CHUNK}")
    print(f"loop blocked max  {max_block:.1f} ms   p99 {p99:.1f} ms   ({blocked:.0%} of the time)")
    longest = ", ".join(f"{d * 1000:.0f} ms at {at:.2f} s" for d, at in sorted(worst, reverse=True)[:3])
    print(f"longest waits     {longest}")
    print(f"events published  {publisher.events:,} ({publisher.loud} to the hall's screens)")
    print(json.dumps({"benchmark": "day_end", "database": engine.dialect.name, "leftovers": args.leftovers,
                      "total_s": round(total, 3), "chunks": chunks, "max_block_ms": round(max_block, 1),
                      "p99_block_ms": round(p99, 1), "blocked_share": round(blocked, 3),
                      "screen_events": publisher.loud}))


if __name__ == "__main__":
    main()
