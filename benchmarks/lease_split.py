"""How long the branch leases take to split when processes join, on a real Redis.

Starts one lease-keeping OS process (:class:`server.services.branch_leases.BranchLeases` on
:class:`server.live_redis.RedisLeaseStore`, a round every second as in the server) for ``--branches`` branches, waits
until it holds them all, starts a second and times how long until each holds its fair share, then a third. Meanwhile
it reads every lease ten times a second: no branch may be without a holder for longer than ``--max-unheld-s``.

    python benchmarks/lease_split.py --redis-url redis://127.0.0.1:6379/0
    python benchmarks/lease_split.py                  # a throw-away redis-server on a free port

Prints one line per step and, as its last line, JSON with branches, to_2_s, to_3_s and longest_unheld_s.
Target: each split within 10 s for 500 branches; no branch unheld for more than a round (1 s) and a bit.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.live_redis import PREFIX, RedisLeaseStore, client  # noqa: E402
from server.services.branch_leases import RENEW_EVERY_S, BranchLeases  # noqa: E402


def keep_leases(url: str, owner: str, branches: list[str], stop: multiprocessing.synchronize.Event) -> None:
    """One server process's lease rounds, and nothing else."""
    leases = BranchLeases(RedisLeaseStore(client(url)), owner)
    while not stop.is_set():
        started = time.monotonic()
        leases.tick(branches)
        time.sleep(max(0.0, RENEW_EVERY_S - (time.monotonic() - started)))
    for branch in leases.held():  # as a server stopping: its branches go at once
        leases.store.release(branch, owner)


def measure(url: str, count: int, max_unheld_s: float) -> dict[str, float]:
    branches = [f"B{i:04}" for i in range(count)]
    redis = client(url)
    redis.delete(*[f"{PREFIX}lease:{b}" for b in branches], f"{PREFIX}members")
    stop = multiprocessing.Event()
    workers: list[multiprocessing.Process] = []
    unheld_since: dict[str, float] = {}
    longest = 0.0

    def holders() -> dict[str, str | None]:
        return RedisLeaseStore(redis).holders(branches)

    def start(owner: str) -> None:
        worker = multiprocessing.Process(target=keep_leases, args=(url, owner, branches, stop), daemon=True)
        worker.start()
        workers.append(worker)

    def until_split(processes: int, timeout_s: float = 120.0) -> float:
        """Seconds until every branch is held and nobody holds more than its fair share (watching the gaps)."""
        nonlocal longest
        share = math.ceil(count / processes)
        began = time.monotonic()
        while time.monotonic() - began < timeout_s:
            now = time.monotonic()
            held = holders()
            for branch, holder in held.items():
                if holder is None:
                    unheld_since.setdefault(branch, now)
                    longest = max(longest, now - unheld_since[branch])
                else:
                    unheld_since.pop(branch, None)
            per_owner: dict[str, int] = {}
            for holder in held.values():
                if holder is not None:
                    per_owner[holder] = per_owner.get(holder, 0) + 1
            if None not in held.values() and len(per_owner) == processes and max(per_owner.values()) <= share:
                return now - began
            time.sleep(0.1)
        raise SystemExit(f"the leases did not split between {processes} processes in {timeout_s:.0f} s")

    try:
        start("p1")
        alone = until_split(1)
        print(f"{count} branches: the first process held them all after {alone:.1f} s")
        start("p2")
        to_2 = until_split(2)
        print(f"a second process joined: split in {to_2:.1f} s")
        start("p3")
        to_3 = until_split(3)
        print(f"a third process joined: split in {to_3:.1f} s")
        print(f"longest a branch was without a holder meanwhile: {longest:.2f} s")
    finally:
        stop.set()
        for worker in workers:
            worker.join(10)
    if longest > max_unheld_s:
        raise SystemExit(f"a branch was without a holder for {longest:.2f} s")
    return {"branches": count, "to_2_s": round(to_2, 2), "to_3_s": round(to_3, 2),
            "longest_unheld_s": round(longest, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", help="a Redis to use (default: a throw-away redis-server)")
    parser.add_argument("--branches", type=int, default=500)
    parser.add_argument("--max-unheld-s", type=float, default=RENEW_EVERY_S + 1.0)
    args = parser.parse_args()
    if args.redis_url:
        result = measure(args.redis_url, args.branches, args.max_unheld_s)
    else:
        from tests.support import RedisServer

        server = RedisServer.create()
        if server is None:
            raise SystemExit("redis-server is not installed: give --redis-url")
        server.start()
        try:
            result = measure(server.url, args.branches, args.max_unheld_s)
        finally:
            server.stop()
    print(json.dumps({"benchmark": "lease_split", **result}))


if __name__ == "__main__":
    main()
