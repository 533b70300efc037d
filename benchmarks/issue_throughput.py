"""Issue and call throughput of the real HTTP API, with concurrent clients.

Starts its own set-up (``--system``: one process on a fresh SQLite file with durable commits, the default;
one on PostgreSQL; two on PostgreSQL + Redis, see :mod:`benchmarks.systems`) unless given ``--url`` (repeat it for
several processes: clients are spread over them in turn, as a load balancer would); ``--compare`` runs the three
set-ups one after the other and prints them side by side.

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
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.systems import SYSTEMS, running_system

BRANCH = "SZ-FUTIAN"
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


def issue_phase(bases: list[str], clients: int, seconds: float, rate: float | None = None
                ) -> tuple[int, list[float], int]:
    """Closed loop (``rate`` None): each client sends its next request when the last is answered. Open loop:
    the clients together send ``rate`` requests per second on a fixed schedule, and a request's latency runs
    from its scheduled time, so a server that falls behind is charged for the wait (no coordinated omission)."""
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
                f"/api/branches/{BRANCH}/tickets",
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


def call_phase(bases: list[str], seconds: float, on_ready: Callable[[], object] | None = None
               ) -> tuple[int, list[float], float]:
    """Staff at every counter call and mark no-show for ``seconds``, timed from when all are signed in (a sign-in
    hashes a password on purpose slowly; on a busy machine eight of them could eat a short phase). ``on_ready`` is
    called then, before the first call (to read the servers' CPU time from there)."""
    latencies: list[float] = []
    lock = threading.Lock()
    counters = [str(n) for n in range(1, 9)]
    ready = threading.Barrier(len(counters) + 1)
    deadline = [0.0]

    def staff(counter: str, username: str) -> None:
        client = Client(bases[int(counter) % len(bases)])
        try:
            assert client.post("/api/session", {"username": username, "password": "demo-staff"})[0] == 200
            assert client.post(f"/api/branches/{BRANCH}/counters/{counter}/sign-in", {})[0] == 200
        finally:
            ready.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            status, body = client.post(
                f"/api/branches/{BRANCH}/counters/{counter}/call-next", headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            elapsed = (time.perf_counter() - began) * 1000
            assert status == 200, body
            ticket = body["ticket"]
            if ticket is None:
                return
            with lock:
                latencies.append(elapsed)
            assert client.post(f"/api/branches/{BRANCH}/tickets/{ticket['id']}/no-show", {})[0] == 200

    threads = [threading.Thread(target=staff, args=(c, u)) for c, u in zip(counters, STAFF, strict=True)]
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


def measure(bases: list[str], pids: list[int], args: argparse.Namespace, database: str) -> dict[str, object]:
    """Both phases against ``bases`` (``pids``: the server processes, for their CPU time; empty if not ours)."""
    reference_ms = reference_loop_ms()
    steal_before, wall_before = cpu_steal_seconds(), time.monotonic()
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    issued, latencies, failures = issue_phase(bases, args.clients, args.seconds, args.rate)
    cpu_issue = sum(cpu_seconds(pid) for pid in pids) - cpu_before if pids else None
    signed_in_cpu: list[float] = []
    calls, call_latencies, call_seconds = call_phase(
        bases, args.seconds, lambda: signed_in_cpu.append(sum(cpu_seconds(pid) for pid in pids)))
    cpu_calls = sum(cpu_seconds(pid) for pid in pids) - signed_in_cpu[0] if pids and signed_in_cpu else None
    steal_pct = 100 * (cpu_steal_seconds() - steal_before) / ((time.monotonic() - wall_before) * (os.cpu_count() or 1))
    return {
        "processes": len(bases),
        "clients": args.clients,
        "offered_per_s": args.rate,
        "seconds": args.seconds,
        "tickets": issued,
        "failures": failures,
        "tickets_per_s": round(issued / args.seconds, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "calls": calls,
        "calls_per_s": round(calls / call_seconds, 1) if call_seconds else None,
        "call_p50_ms": round(statistics.median(call_latencies), 2) if call_latencies else None,
        "call_p99_ms": round(percentile(call_latencies, 0.99), 2) if call_latencies else None,
        "server_cpu_ms_per_ticket": round(cpu_issue * 1000 / issued, 3) if cpu_issue and issued else None,
        # a cycle is a call-next and the no-show after it: two durable commands and the refreshes they cause
        "server_cpu_ms_per_call_cycle": round(cpu_calls * 1000 / calls, 3) if cpu_calls and calls else None,
        "database": database,
        "reference_loop_ms": round(reference_ms, 1),
        "cpu_steal_pct": round(steal_pct, 1),
    }


def report(result: dict[str, object]) -> None:
    print(f"[{result['database']}]")
    print(
        f"  issue: {result['tickets_per_s']} tickets/s with {result['clients']} clients, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, {result['failures']} failures"
    )
    print(
        f"  call-next (8 counters, call + no-show each): {result['calls_per_s']} calls/s, "
        f"p50 {result['call_p50_ms']} ms, p99 {result['call_p99_ms']} ms"
    )
    print(f"  server CPU: {result['server_cpu_ms_per_ticket']} ms per ticket issued, "
          f"{result['server_cpu_ms_per_call_cycle']} ms per call-next + no-show")
    print(f"  machine: reference loop {result['reference_loop_ms']} ms (about 25 on a quiet machine), "
          f"CPU steal {result['cpu_steal_pct']} %")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append",
                        help="an already running server; repeat for several processes (default: start a set-up)")
    parser.add_argument("--system", choices=SYSTEMS, default="sqlite", help="the set-up to start (default sqlite)")
    parser.add_argument("--compare", action="store_true", help="run every set-up in turn and print them side by side")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: tickets per second the clients send together (default: closed loop)")
    args = parser.parse_args()

    if args.url:
        result = measure(args.url, [], args, f"given server{'s' if len(args.url) > 1 else ''}")
        report(result)
        print(json.dumps(result))
        return 0
    results = []
    for name in SYSTEMS if args.compare else (args.system,):
        with running_system(name) as system:
            result = measure(system.urls, system.pids, args, system.description)
        result["system"] = name
        report(result)
        results.append(result)
    if not args.compare:
        print(json.dumps(results[0]))
        return 0
    by_name = {str(r["system"]): r for r in results}
    one, two = by_name["postgres"], by_name["postgres-redis-2"]
    print(f"{'set-up':<44} {'tickets/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'calls/s':>8} {'CPU ms/ticket':>14}")
    for r in results:
        print(f"{r['database']!s:<44} {r['tickets_per_s']!s:>10} {r['p50_ms']!s:>8} {r['p99_ms']!s:>8} "
              f"{r['calls_per_s']!s:>8} {r['server_cpu_ms_per_ticket']!s:>14}")
    ratio = (float(two["tickets_per_s"]) / float(one["tickets_per_s"])  # type: ignore[arg-type]
             if one["tickets_per_s"] else None)
    print(f"two processes against one on PostgreSQL: {ratio and round(ratio, 2)}x the tickets per second "
          f"(p99 {two['p99_ms']} ms against {one['p99_ms']} ms)")
    print(json.dumps({"clients": args.clients, "seconds": args.seconds, "systems": results,
                      "two_vs_one_tickets": ratio and round(ratio, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
