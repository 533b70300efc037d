"""Issue and call throughput of the real HTTP API, with concurrent clients.

Starts its own set-up (``--system``: one process on a fresh SQLite file with durable commits, the default;
one on PostgreSQL; two on PostgreSQL + Redis, see :mod:`benchmarks.systems`) unless given ``--url`` (repeat it for
several processes: clients are spread over them in turn, as a load balancer would); ``--compare`` runs the three
set-ups (or those of ``--systems``) one after the other and prints them side by side, ``--repeat`` times in turn
(alternating runs: the shared machine's speed drifts between them), with two processes' tickets per second against
one's, pair by pair.

``--displays N``: N displays (Socket.IO clients joined to the public room of the demo branch) on each server
process while tickets are issued, so that with several processes each one subscribes to the Redis relay and takes in
the others' pushes as in a hall with screens (python-socketio subscribes at a process's first socket connection;
without screens the relay's messages reach nobody). Their own CPU counts as the benchmark's.

``--branches N``: the set-up holds the demo branch and N - 1 copies of it (a network, as
``benchmarks/network_scale.py`` builds it) and the requests go to the branches in turn, so that the clients of a
network are spread over its branches as they are in life (the default, one branch, puts every kiosk in one hall:
every command then waits for that branch's row lock).

Phase 1: ``--clients`` threads take tickets for ``--seconds``: as fast as they can (closed loop, the
default: the figure is the capacity), or together ``--rate`` tickets per second on a fixed schedule (open
loop: latency counts from the scheduled time). Phase 2: staff at every counter call next (and mark no-show)
as fast as they can.
Prints a summary and, as its last line, JSON with tickets_per_s, p50_ms, p99_ms, calls_per_s.

The machine is shared and its speed drifts (up to twice as slow in its busy phases), so each run also
reports ``reference_loop_ms`` (a fixed pure-Python workload timed just before the run: about 25 ms on
a quiet machine of ours) and ``cpu_steal_pct`` (time the hypervisor gave to other guests during the
run). Compare figures from runs with similar readings.

    python benchmarks/issue_throughput.py              # closed loop, 20 clients, 10 s
    python benchmarks/issue_throughput.py --rate 300   # open loop at 300 tickets/s
    python benchmarks/issue_throughput.py --compare    # SQLite, PostgreSQL, 2 processes + Redis side by side
    python benchmarks/issue_throughput.py --compare --branches 50 --rate 200
    python benchmarks/issue_throughput.py --compare --systems postgres,postgres-redis-2 --branches 50 --repeat 5
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import resource
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.systems import DEMO_BRANCH, STAFF_PASSWORD, SYSTEMS, branch_codes, running_system, staff_names

BRANCH = DEMO_BRANCH
COUNTERS = [str(n) for n in range(1, 9)]  # the demo branch's counters (and so every copy's)
SERVICES = ["BILL", "PLAN", "SIM", "BROADBAND", "DEVICE"]
STAFF = ["zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jing", "zhao.lei", "sun.li", "zhou.min"]


class Client:
    """One keep-alive HTTP connection with a cookie jar of one cookie: light enough not to be the bottleneck."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        self.cookie = ""

    def post(self, path: str, body: object | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        payload = b"" if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if self.cookie:
            all_headers["Cookie"] = self.cookie
        self.connection.request("POST", path, body=payload, headers=all_headers)
        response = self.connection.getresponse()
        data = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, json.loads(data) if data else {}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_steal_seconds() -> float:
    """Time the hypervisor ran other guests on this machine's cores, summed over cores, from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return (int(fields[7]) if len(fields) > 7 else 0) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every core of the machine spent on anything but idling and waiting for I/O (steal excluded), from
    /proc/stat: what all processes together used."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """User + system CPU time of this process (the benchmark's clients), all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def where_cpu_goes(pids: list[int], helpers: dict[str, Callable[[], list[int]]]) -> dict[str, float]:
    """CPU seconds so far of: the server processes, each helper (PostgreSQL's processes, Redis), the benchmark's
    clients, and the whole machine ("machine": so that the rest, other users' work, shows as the difference)."""

    def total(of: list[int]) -> float:
        found = 0.0
        for pid in of:
            with contextlib.suppress(OSError, IndexError, ValueError):  # a backend that ended meanwhile
                found += cpu_seconds(pid)
        return found

    return {"servers": total(pids), **{name: total(list_pids()) for name, list_pids in helpers.items()},
            "clients": own_cpu_seconds(), "machine": machine_busy_seconds()}


def cores_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """What each part used between two :func:`where_cpu_goes` readings, in cores (CPU seconds per second), with
    "other" (the machine's use by anything else: other users, the kernel's own threads)."""
    used = {name: max(after[name] - before[name], 0.0) / seconds for name in before}
    machine = used.pop("machine")
    used["other"] = max(machine - sum(used.values()), 0.0)
    used["machine"] = machine
    return {name: round(value, 2) for name, value in used.items()}


def reference_loop_ms(repeats: int = 7) -> float:
    """Best of ``repeats`` timings of a fixed pure-Python workload: how fast this machine runs the interpreter."""
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        total, table = 0, {}
        for i in range(200_000):
            total += i * i % 7
            table[i & 1023] = total
        timings.append((time.perf_counter() - began) * 1000)
    return min(timings)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def issue_phase(bases: list[str], clients: int, seconds: float, rate: float | None = None,
                branches: list[str] | None = None) -> tuple[int, list[float], int]:
    """Closed loop (``rate`` None): each client sends its next request when the last is answered. Open loop:
    the clients together send ``rate`` requests per second on a fixed schedule, and a request's latency runs
    from its scheduled time, so a server that falls behind is charged for the wait (no coordinated omission).
    The requests go to ``branches`` (default: the demo branch) in turn, in the order of the schedule."""
    codes = branches or [BRANCH]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = 0.0
    began_at = 0.0

    def worker(index: int) -> None:
        client = Client(bases[index % len(bases)])
        start.wait()
        n = 0
        while time.perf_counter() < deadline:
            if rate is None:
                began = time.perf_counter()
            else:
                began = began_at + (n * clients + index) / rate
                if began >= deadline:
                    break
                time.sleep(max(0.0, began - time.perf_counter()))
            status, _ = client.post(
                f"/api/branches/{codes[(n * clients + index) % len(codes)]}/tickets",
                {"service": SERVICES[(index + n) % len(SERVICES)]},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            elapsed = (time.perf_counter() - began) * 1000
            if status == 201:
                latencies[index].append(elapsed)
            else:
                failures[index] += 1
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began_at = time.perf_counter() + 0.05
    deadline = began_at + seconds
    start.wait()
    for thread in threads:
        thread.join()
    flat = [x for per in latencies for x in per]
    return len(flat), flat, sum(failures)


def call_phase(bases: list[str], seconds: float, on_ready: Callable[[], object] | None = None,
               branches: int = 1) -> tuple[int, list[float], float]:
    """Staff at every counter call and mark no-show for ``seconds``, timed from when all are signed in (a sign-in
    hashes a password on purpose slowly; on a busy machine eight of them could eat a short phase). ``on_ready`` is
    called then, before the first call (to read the servers' CPU time from there). With several ``branches``
    (:func:`benchmarks.systems.branch_codes`), eight staff or one per branch, whichever is more, spread over the
    branches' counters (the accounts of :func:`benchmarks.systems.staff_names`)."""
    latencies: list[float] = []
    lock = threading.Lock()
    if branches <= 1:
        places = [(BRANCH, counter, name, "demo-staff") for counter, name in zip(COUNTERS, STAFF, strict=True)]
    else:
        codes, names = branch_codes(branches), staff_names(branches, len(COUNTERS))
        places = [(codes[i % branches], COUNTERS[(i // branches) % len(COUNTERS)],
                   names[(i % branches) * len(COUNTERS) + (i // branches) % len(COUNTERS)], STAFF_PASSWORD)
                  for i in range(max(len(COUNTERS), branches))]
    ready = threading.Barrier(len(places) + 1)
    deadline = [0.0]

    def staff(index: int, branch: str, counter: str, username: str, password: str) -> None:
        client = Client(bases[(index + 1) % len(bases)])
        try:
            assert client.post("/api/session", {"username": username, "password": password})[0] == 200
            assert client.post(f"/api/branches/{branch}/counters/{counter}/sign-in", {})[0] == 200
        finally:
            ready.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            status, body = client.post(
                f"/api/branches/{branch}/counters/{counter}/call-next", headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            elapsed = (time.perf_counter() - began) * 1000
            assert status == 200, body
            ticket = body["ticket"]
            if ticket is None:
                return
            with lock:
                latencies.append(elapsed)
            assert client.post(f"/api/branches/{branch}/tickets/{ticket['id']}/no-show", {})[0] == 200

    threads = [threading.Thread(target=staff, args=(i, *place)) for i, place in enumerate(places)]
    for thread in threads:
        thread.start()
    deadline[0] = float("inf")
    ready.wait()
    if on_ready is not None:
        on_ready()
    began = time.perf_counter()
    deadline[0] = began + seconds
    for thread in threads:
        thread.join()
    return len(latencies), latencies, time.perf_counter() - began


def redis_publishes(redis_url: str) -> int | None:
    """Messages published on the Redis so far (scripts' publishes included), or None without Redis."""
    if not redis_url:
        return None
    import redis

    stats = redis.Redis.from_url(redis_url).info("commandstats")
    return int(stats.get("cmdstat_publish", {}).get("calls", 0))


def displays(bases: list[str], per_process: int) -> list[Any]:
    """``per_process`` displays joined on each of ``bases`` (see ``--displays``)."""
    if per_process <= 0:
        return []
    from tests.system.clients import Listener

    screens = []
    for base in bases:
        for _ in range(per_process):
            screen = Listener(base).connect()
            if not screen.join({"role": "display", "branch": BRANCH}).get("ok"):
                raise RuntimeError(f"a display could not join on {base}")
            screens.append(screen)
    time.sleep(0.5)  # the processes' subscriptions to the relay, made at their first connection
    return screens


def measure(bases: list[str], pids: list[int], args: argparse.Namespace, database: str,
            helpers: dict[str, Callable[[], list[int]]] | None = None, redis_url: str = "") -> dict[str, object]:
    """Both phases against ``bases`` (``pids``: the server processes, for their CPU time; empty if not ours;
    ``helpers``: the pids of PostgreSQL's and Redis's processes, for theirs; ``redis_url``: the Redis between the
    processes, for the messages published on it while tickets were issued)."""
    reference_ms = reference_loop_ms()
    steal_before, wall_before = cpu_steal_seconds(), time.monotonic()
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    parts_before, issue_began = where_cpu_goes(pids, helpers or {}), time.monotonic()
    screens = displays(bases, args.displays)
    published_before = redis_publishes(redis_url)
    issued, latencies, failures = issue_phase(bases, args.clients, args.seconds, args.rate,
                                              branch_codes(args.branches))
    published = redis_publishes(redis_url)
    for screen in screens:
        screen.close()
    issue_cores = cores_used(parts_before, where_cpu_goes(pids, helpers or {}), time.monotonic() - issue_began)
    load_average = [round(x, 2) for x in os.getloadavg()]
    cpu_issue = sum(cpu_seconds(pid) for pid in pids) - cpu_before if pids else None
    signed_in_cpu: list[float] = []
    calls, call_latencies, call_seconds = call_phase(
        bases, args.seconds, lambda: signed_in_cpu.append(sum(cpu_seconds(pid) for pid in pids)), args.branches)
    cpu_calls = sum(cpu_seconds(pid) for pid in pids) - signed_in_cpu[0] if pids and signed_in_cpu else None
    steal_pct = 100 * (cpu_steal_seconds() - steal_before) / ((time.monotonic() - wall_before) * (os.cpu_count() or 1))
    return {
        "processes": len(bases),
        "branches": args.branches,
        "clients": args.clients,
        "offered_per_s": args.rate,
        "seconds": args.seconds,
        "tickets": issued,
        "failures": failures,
        "tickets_per_s": round(issued / args.seconds, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "calls": calls,
        "call_staff": max(len(COUNTERS), args.branches) if args.branches > 1 else len(COUNTERS),
        "calls_per_s": round(calls / call_seconds, 1) if call_seconds else None,
        "call_p50_ms": round(statistics.median(call_latencies), 2) if call_latencies else None,
        "call_p99_ms": round(percentile(call_latencies, 0.99), 2) if call_latencies else None,
        "server_cpu_ms_per_ticket": round(cpu_issue * 1000 / issued, 3) if cpu_issue and issued else None,
        # every message published on Redis while tickets were issued (Socket.IO relay and live channel together)
        "redis_publishes_per_ticket": (round((published - published_before) / issued, 2)
                                       if published is not None and published_before is not None and issued else None),
        # a cycle is a call-next and the no-show after it: two durable commands and the refreshes they cause
        "server_cpu_ms_per_call_cycle": round(cpu_calls * 1000 / calls, 3) if cpu_calls and calls else None,
        "database": database,
        "reference_loop_ms": round(reference_ms, 1),
        "cpu_steal_pct": round(steal_pct, 1),
        # where the machine's cores went while tickets were issued (of os.cpu_count()), and the load then
        "issue_cores": issue_cores,
        "load_average": load_average,
    }


def report(result: dict[str, object]) -> None:
    print(f"[{result['database']}]")
    print(
        f"  issue: {result['tickets_per_s']} tickets/s with {result['clients']} clients over "
        f"{result['branches']} branch(es), p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, {result['failures']} failures"
    )
    print(
        f"  call-next ({result['call_staff']} counters, call + no-show each): {result['calls_per_s']} calls/s, "
        f"p50 {result['call_p50_ms']} ms, p99 {result['call_p99_ms']} ms"
    )
    print(f"  server CPU: {result['server_cpu_ms_per_ticket']} ms per ticket issued, "
          f"{result['server_cpu_ms_per_call_cycle']} ms per call-next + no-show")
    if result.get("redis_publishes_per_ticket") is not None:
        print(f"  redis: {result['redis_publishes_per_ticket']} messages published per ticket issued")
    print(f"  machine: reference loop {result['reference_loop_ms']} ms (about 25 on a quiet machine), "
          f"CPU steal {result['cpu_steal_pct']} %, load average {result['load_average']}")
    cores = result["issue_cores"]
    assert isinstance(cores, dict)
    print(f"  cores used while issuing (of {os.cpu_count()}): "
          + ", ".join(f"{name} {value}" for name, value in cores.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append",
                        help="an already running server; repeat for several processes (default: start a set-up)")
    parser.add_argument("--system", choices=SYSTEMS, default="sqlite", help="the set-up to start (default sqlite)")
    parser.add_argument("--compare", action="store_true", help="run every set-up in turn and print them side by side")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="with --compare: the set-ups to run, comma-separated (default all)")
    parser.add_argument("--repeat", type=int, default=1, help="with --compare: run the set-ups in turn this often")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: tickets per second the clients send together (default: closed loop)")
    parser.add_argument("--displays", type=int, default=0,
                        help="displays connected to each server process while tickets are issued (default 0)")
    parser.add_argument("--branches", type=int, default=1,
                        help="the demo branch and copies of it; requests go to them in turn (default 1)")
    args = parser.parse_args()
    if args.branches < 1:
        parser.error("--branches: at least 1")
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    systems = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = [name for name in systems if name not in SYSTEMS]
    if unknown or not systems:
        parser.error(f"--systems: {', '.join(unknown) or 'none given'}; choose from {', '.join(SYSTEMS)}")

    if args.url:
        result = measure(args.url, [], args, f"given server{'s' if len(args.url) > 1 else ''}")
        report(result)
        print(json.dumps(result))
        return 0
    results = []
    for repetition in range(args.repeat if args.compare else 1):
        for name in systems if args.compare else [args.system]:
            with running_system(name, branches=args.branches) as system:
                result = measure(system.urls, system.pids, args, system.description, system.helpers,
                                 system.redis_url)
            result["system"], result["repetition"] = name, repetition + 1
            report(result)
            results.append(result)
    if not args.compare:
        print(json.dumps(results[0]))
        return 0
    print(f"{'set-up':<44} {'run':>4} {'tickets/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'calls/s':>8} "
          f"{'CPU ms/ticket':>14} {'other cores':>12}")
    for r in results:
        cores = r["issue_cores"]
        assert isinstance(cores, dict)
        print(f"{r['database']!s:<44} {r['repetition']!s:>4} {r['tickets_per_s']!s:>10} {r['p50_ms']!s:>8} "
              f"{r['p99_ms']!s:>8} {r['calls_per_s']!s:>8} {r['server_cpu_ms_per_ticket']!s:>14} "
              f"{cores['other']!s:>12}")
    ratios = two_against_one(results)
    if ratios:
        print(f"two processes against one on PostgreSQL, run by run: {ratios}x the tickets per second "
              f"(median {round(statistics.median(ratios), 2)}x)")
    print(json.dumps({"clients": args.clients, "branches": args.branches, "seconds": args.seconds,
                      "systems": results, "two_vs_one_each": ratios,
                      "two_vs_one_tickets": round(statistics.median(ratios), 2) if ratios else None}))
    return 0


def two_against_one(results: list[dict[str, object]]) -> list[float]:
    """Tickets per second of two processes on PostgreSQL + Redis over one process on PostgreSQL, for each
    repetition that ran both (and in which one process issued any)."""
    by_run = {(r["repetition"], r["system"]): float(r["tickets_per_s"]) for r in results}  # type: ignore[arg-type]
    return [round(by_run[(n, "postgres-redis-2")] / by_run[(n, "postgres")], 2)
            for n in sorted({r["repetition"] for r in results})  # type: ignore[type-var]
            if by_run.get((n, "postgres")) and (n, "postgres-redis-2") in by_run]


if __name__ == "__main__":
    sys.exit(main())
