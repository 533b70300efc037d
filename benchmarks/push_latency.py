"""Push latency of the real-time hall feed: staff "call next" to receipt at every connected display.

Starts its own set-up for each level (``--system``: one eventlet process on a fresh SQLite file with durable
commits, the default; one on PostgreSQL; two on PostgreSQL + Redis, see :mod:`benchmarks.systems`) unless given
``--url`` (repeat it for several processes: displays and counters are spread over them in turn, as a load
balancer would, so that a call made through one process must reach the displays of the other). A separate
process holds ``--clients`` Socket.IO clients on the websocket transport, connected 50 at a time, each joined as
a display of the branch. Staff at ``--counters`` counters then call pre-issued tickets round-robin at ``--rate``
calls per second, one thread per counter (each called ticket is marked no-show half a period later, so every
call is a new ``called`` event). The caller stamps ``time.monotonic()`` just before each call-next is sent;
every client stamps it when the ``called`` hall_event for that ticket arrives (CLOCK_MONOTONIC is system-wide,
so the two processes' stamps compare). Latency is taken per (call, client) pair and split into "to the first
display" (command, commit, first frame) and "then to the last one" (the fan-out). Every hall_event's ``seq`` is
checked for gaps, and disconnects are counted.

The clients (``--client``): ``light`` (default) speaks Engine.IO 4 / Socket.IO 5 straight over aiohttp
websockets and, like a browser, offers per-message deflate in the handshake (the server declines it);
``socketio`` uses python-socketio's AsyncClient, which costs several times the CPU per message: at
1,000 clients and 5 calls/s it needs a whole core of this 2-core machine, falls behind, and then
measures itself. The CPU used by other processes during a level is reported too: on a shared
machine a level where it is high is flagged as not representative.

    python benchmarks/push_latency.py                        # sweep 100, 500, 1000 clients
    python benchmarks/push_latency.py --clients 100,1000 --calls 200 --rate 5
    python benchmarks/push_latency.py --clients 20 --calls 10  # a smoke run
    python benchmarks/push_latency.py --system postgres-redis-2 --clients 100,500
    python benchmarks/push_latency.py --url http://127.0.0.1:8080 --server-pid 1234  # a test server only:
                                                           # staff take over its first --counters counters

Prints a table per level and, as its last line, JSON with clients, delivered, expected, p50_ms,
p99_ms, server_rss_mb (the largest level, peak VmRSS during it) and ``levels``, the same figures for
every level. Targets (2 cores, one server process): delivered == expected; p99 < 50 ms at 100 clients
and < 150 ms at 1,000; server memory < 400 MB at 1,000 clients.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.issue_throughput import STAFF, Client, cpu_seconds, percentile  # noqa: E402
from benchmarks.systems import DESCRIPTIONS, SYSTEMS, running_system  # noqa: E402

BRANCH = "SZ-FUTIAN"
CONNECT_BATCH = 50
TARGET_P99_MS = {100: 50.0, 1000: 150.0}
TARGET_RSS_MB = {1000: 400.0}
CLIENT_LAG_MS = 20.0  # p99 event-loop lag of the client process beyond which its receipt stamps are suspect
BUSY_MACHINE_PCT = 25.0  # CPU share of a core used by other processes during a level that makes it suspect


# --- the client process ------------------------------------------------------------------------------


@dataclass
class Display:
    """What one client saw: its join snapshot seq, disconnects, every hall_event seq, called receipts."""

    snapshot_seq: int = -1
    closing: bool = False
    messages: int = 0  # every event pushed to it (hall_event, hall_summary, ...)
    drops: list[str] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    called: list[tuple[int, float]] = field(default_factory=list)

    def on_hall_event(self, event: dict[str, Any], received: float) -> None:
        self.messages += 1
        if event.get("kind") == "called" and event.get("ticket"):
            self.called.append((event["ticket"]["id"], received))
        seq = event.get("seq")
        if isinstance(seq, int):
            self.seqs.append(seq)

    def on_joined(self, ack: object) -> None:
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise RuntimeError(f"join refused: {ack!r}")
        self.snapshot_seq = int(ack["snapshot"]["seq"])

    def on_drop(self, reason: object, since: float) -> None:
        if not self.closing:
            self.drops.append(f"{reason} after {time.monotonic() - since:.1f} s")


Closer = Callable[[], Awaitable[Any]]


async def connect_socketio(url: str, branch: str, display: Display, began: float) -> Closer:
    """A python-socketio AsyncClient on the websocket transport, joined as a display."""
    import socketio

    sio = socketio.AsyncClient(reconnection=False)
    monotonic = time.monotonic
    sio.on("hall_event", lambda event: display.on_hall_event(event, monotonic()))
    sio.on("disconnect", lambda reason="?": display.on_drop(reason, began))
    sio.on("*", lambda *_: setattr(display, "messages", display.messages + 1))
    await sio.connect(url, transports=["websocket"], wait_timeout=30)
    try:
        display.on_joined(await sio.call("join", {"role": "display", "branch": branch}, timeout=30))
    except BaseException:
        await sio.disconnect()
        raise
    return sio.disconnect


async def connect_light(session: Any, url: str, branch: str, display: Display, began: float) -> Closer:
    """The same protocol spoken directly over an aiohttp websocket (Engine.IO 4, Socket.IO 5, namespace "/").

    Open packet, namespace connect, ``join`` with an acknowledgement, ``hall_event`` messages, and a pong
    for every ping: what a browser's socket.io client does on the websocket transport, at a fraction
    of python-socketio's per-message cost, so that 1,000 of them fit in one process beside the server.
    """
    import asyncio

    import aiohttp

    ws_url = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    # offers per-message deflate as browsers do (Chromium: "permessage-deflate; client_max_window_bits")
    ws = await session.ws_connect(ws_url, max_msg_size=0, compress=15, timeout=aiohttp.ClientWSTimeout(ws_close=5))
    try:
        opened = await ws.receive_str(timeout=30)
        if not opened.startswith("0"):
            raise RuntimeError(f"expected an Engine.IO open packet, got {opened[:80]!r}")
        await ws.send_str("40")
        connected = await ws.receive_str(timeout=30)
        if not connected.startswith("40"):
            raise RuntimeError(f"expected a Socket.IO connect packet, got {connected[:80]!r}")
        joined: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        await ws.send_str("420" + json.dumps(["join", {"role": "display", "branch": branch}]))
    except BaseException:
        await ws.close()
        raise

    async def read() -> None:
        monotonic, loads, text = time.monotonic, json.loads, aiohttp.WSMsgType.TEXT
        reason = "closed by the server"
        try:
            while True:
                message = await ws.receive()
                received = monotonic()
                if message.type != text:
                    reason = f"websocket {message.type.name.lower()}"
                    break
                data: str = message.data
                if data.startswith('42["hall_event"'):
                    display.on_hall_event(loads(data[2:])[1], received)
                elif data.startswith("42"):
                    display.messages += 1
                elif data == "2":
                    await ws.send_str("3")
                elif data.startswith("430") and not joined.done():
                    joined.set_result(loads(data[3:])[0])
                elif data.startswith(("1", "41")):
                    reason = "disconnected by the server"
                    break
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        display.on_drop(reason, began)
        if not joined.done():
            joined.set_exception(RuntimeError(f"join not acknowledged: {reason}"))

    reader = asyncio.create_task(read())
    try:
        display.on_joined(await asyncio.wait_for(joined, 30))
    except BaseException:
        display.closing = True
        await ws.close()
        raise

    async def close() -> None:
        await ws.close()
        await reader

    return close


def client_worker(pipe: Connection, urls: list[str], clients: int, branch: str, batch: int, kind: str) -> None:
    """Entry point of the client process: connect, report ready, collect, report receipts, disconnect."""
    import asyncio

    try:
        asyncio.run(_client_main(pipe, urls, clients, branch, batch, kind))
    except BaseException as exc:  # report anything to the parent instead of dying silently
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


async def _client_main(pipe: Connection, urls: list[str], clients: int, branch: str, batch: int, kind: str) -> None:
    import asyncio
    import logging
    import resource

    import aiohttp

    # a client that the server drops or that is torn down at the end logs "packet queue is empty": counted instead
    for name in ("engineio.client", "socketio.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < clients + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, clients + 1000), hard))

    displays = [Display() for _ in range(clients)]
    closers: list[Closer] = []
    failures: list[str] = []
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def connect(index: int) -> None:
        url = urls[index % len(urls)]
        try:
            if kind == "socketio":
                closer = await connect_socketio(url, branch, displays[index], began)
            else:
                closer = await connect_light(session, url, branch, displays[index], began)
        except Exception as exc:
            failures.append(f"client {index}: {type(exc).__name__}: {exc}")
            return
        closers.append(closer)

    began = time.monotonic()
    for start in range(0, clients, batch):
        await asyncio.gather(*(connect(i) for i in range(start, min(clients, start + batch))))
    pipe.send(("ready", clients - len(failures), failures[:5], time.monotonic() - began))

    # how late this process's event loop runs while the calls go on: receipts are stamped that much late
    loop_lag_ms: list[float] = []
    calling = True

    async def watch_loop() -> None:
        while calling:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            loop_lag_ms.append((time.monotonic() - before - 0.01) * 1000)

    watcher = asyncio.create_task(watch_loop())
    loop = asyncio.get_running_loop()
    command, expected_ids, final_seq, timeout = await loop.run_in_executor(None, pipe.recv)
    assert command == "finish"
    calling = False
    await watcher
    wanted = set(expected_ids)
    joined = [d for d in displays if d.snapshot_seq >= 0]

    def complete() -> bool:
        return all(
            len(d.called) >= len(wanted) and (not d.seqs or max(d.seqs) >= final_seq) and
            wanted <= {ticket_id for ticket_id, _ in d.called}
            for d in joined
        )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not complete():
        await asyncio.sleep(0.25)

    missed = 0
    for d in joined:
        seen = {s for s in d.seqs if s > d.snapshot_seq}
        missed += sum(1 for s in range(d.snapshot_seq + 1, final_seq + 1) if s not in seen)
    loop_lag_ms.sort()
    lag_p99 = loop_lag_ms[int(0.99 * (len(loop_lag_ms) - 1))] if loop_lag_ms else 0.0
    pipe.send(("result", [d.called for d in displays], missed, [r for d in displays for r in d.drops], lag_p99,
               sum(d.messages for d in joined)))

    for display in displays:
        display.closing = True
    await asyncio.gather(*(close() for close in closers), return_exceptions=True)
    await session.close()


# --- the staff side ---------------------------------------------------------------------------------


def get_json(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.loads(response.read())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_busy_seconds() -> float:
    """CPU seconds that all processes on the machine have used (non-idle time of every core), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Counter:
    """One signed-in counter: its staff member's HTTP connection and the services it serves, in order."""

    def __init__(self, base: str, number: str, services: list[str], username: str) -> None:
        self.number = number
        self.services = services
        self.client = Client(base)
        status, body = self.client.post("/api/session", {"username": username, "password": "demo-staff"})
        assert status == 200, body
        status, body = self.client.post(f"/api/branches/{BRANCH}/counters/{number}/sign-in", {"takeover": True})
        assert status == 200, body
        self.current: dict[str, Any] | None = None

    def issue(self) -> None:
        """Take one ticket this counter serves (the next service if one reached its daily cap)."""
        for service in self.services:
            status, body = self.client.post(f"/api/branches/{BRANCH}/tickets", {"service": service},
                                            headers={"Idempotency-Key": uuid.uuid4().hex})
            if status == 201:
                return
        raise RuntimeError(f"counter {self.number}: could not issue a ticket: {status} {body}")

    def call_next(self) -> tuple[float, float, dict[str, Any]]:
        """(monotonic stamp before sending, command round trip in ms, the called ticket)."""
        for _ in range(3):
            sent = time.monotonic()
            status, body = self.client.post(f"/api/branches/{BRANCH}/counters/{self.number}/call-next",
                                            headers={"Idempotency-Key": uuid.uuid4().hex})
            elapsed = (time.monotonic() - sent) * 1000
            assert status == 200, body
            if body["ticket"] is not None:
                self.current = body["ticket"]
                return sent, elapsed, body["ticket"]
            self.issue()  # nothing this counter serves is waiting: take one and call again
        raise RuntimeError(f"counter {self.number}: nothing to call")

    def release(self) -> None:
        if self.current is not None:
            ticket, self.current = self.current, None
            status, body = self.client.post(f"/api/branches/{BRANCH}/tickets/{ticket['id']}/no-show",
                                            {"version": ticket["version"]})
            assert status == 200, body


def sign_in_counters(bases: list[str], count: int) -> list[Counter]:
    """The first ``count`` counters, signed in through the processes in turn."""
    branch = next(b for b in get_json(bases[0], "/api/branches")["branches"] if b["code"] == BRANCH)
    layout = branch["counters"][:count]
    return [Counter(bases[k % len(bases)], c["number"], c["services"], username)
            for k, (c, username) in enumerate(zip(layout, STAFF[: len(layout)], strict=True))]


def run_calls(counters: list[Counter], calls: int, rate: float, server_pids: list[int]
              ) -> tuple[dict[int, float], list[float], float, float]:
    """Call at a steady rate, one thread per counter, so that one slow answer does not hold up the others.

    Call ``i`` goes to counter ``i % len(counters)`` at ``t0 + i / rate``; that ticket is marked no-show half
    a period later. Returns the send stamp per ticket id, every command's round trip (ms), the worst lag
    behind schedule (ms) and the largest server process's peak RSS (MB, sampled every 50 ms).
    """
    sent_at: dict[int, float] = {}
    command_ms: list[float] = []
    lags: list[float] = [0.0]
    errors: list[BaseException] = []
    lock = threading.Lock()
    period = 1.0 / rate
    t0 = time.monotonic() + 0.2

    def wait_until(moment: float) -> None:
        delay = moment - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            with lock:
                lags.append(-delay * 1000)

    def staff(k: int) -> None:
        counter = counters[k]
        try:
            for i in range(k, calls, len(counters)):
                wait_until(t0 + i * period)
                sent, elapsed, ticket = counter.call_next()
                with lock:
                    sent_at[ticket["id"]] = sent
                    command_ms.append(elapsed)
                wait_until(t0 + (i + 0.5) * period)
                began = time.monotonic()
                counter.release()
                with lock:
                    command_ms.append((time.monotonic() - began) * 1000)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=staff, args=(k,), daemon=True) for k in range(len(counters))]
    for thread in threads:
        thread.start()
    peak_rss = max((rss_mb(pid) for pid in server_pids), default=float("nan"))
    while any(thread.is_alive() for thread in threads):
        if server_pids:
            peak_rss = max(peak_rss, *(rss_mb(pid) for pid in server_pids))
        time.sleep(0.05)
    if errors:
        raise errors[0]
    return sent_at, command_ms, max(lags), peak_rss


# --- one level ---------------------------------------------------------------------------------------


def run_level(bases: list[str], server_pids: list[int], clients: int, args: argparse.Namespace) -> dict[str, Any]:
    counters = sign_in_counters(bases, args.counters)
    for i in range(args.calls):  # pre-issued, before any display connects
        counters[i % len(counters)].issue()

    context = multiprocessing.get_context("spawn")
    processes = max(1, min(args.client_processes, clients))
    ends, workers = [], []
    for k in range(processes):
        share = clients // processes + (1 if k < clients % processes else 0)
        parent_end, child_end = context.Pipe()
        worker = context.Process(target=client_worker,
                                 args=(child_end, bases, share, BRANCH, CONNECT_BATCH, args.client), daemon=True)
        worker.start()
        ends.append(parent_end)
        workers.append(worker)

    def gather() -> list[Any]:
        answers = []
        for end in ends:
            answer = end.recv()
            if answer[0] == "error":
                raise RuntimeError(f"client process failed: {answer[1]}")
            answers.append(answer)
        return answers

    try:
        answers = gather()
        connected = sum(a[1] for a in answers)
        failures = [f for a in answers for f in a[2]]
        connect_s = max(a[3] for a in answers)
        if failures:
            print(f"  {clients - connected} clients failed to connect or join, e.g. {failures[0]}", file=sys.stderr)
        time.sleep(1.0)  # let the connection storm settle

        # CPU shares are over the calling phase; "other" is whatever else ran on the machine meanwhile
        worker_pids = [w.pid for w in workers if w.pid]
        own_pids = [pid for pid in (*server_pids, *worker_pids, os.getpid()) if pid]
        server_cpu0 = sum(cpu_seconds(pid) for pid in server_pids)
        client_cpu0 = sum(cpu_seconds(pid) for pid in worker_pids)
        own0, machine0 = sum(cpu_seconds(pid) for pid in own_pids), machine_busy_seconds()
        began = time.monotonic()
        sent_at, command_ms, worst_lag, peak_rss = run_calls(counters, args.calls, args.rate, server_pids)
        seconds = time.monotonic() - began
        server_cpu = sum(cpu_seconds(pid) for pid in server_pids) - server_cpu0 if server_pids else None
        client_cpu = sum(cpu_seconds(pid) for pid in worker_pids) - client_cpu0
        other_cpu = max(0.0, machine_busy_seconds() - machine0 - (sum(cpu_seconds(pid) for pid in own_pids) - own0))
        final_seq = int(get_json(bases[0], f"/api/branches/{BRANCH}/snapshot")["seq"])
        for end in ends:
            end.send(("finish", list(sent_at), final_seq, args.grace))
        answers = gather()
        receipts = [per_client for a in answers for per_client in a[1]]
        missed_events = sum(a[2] for a in answers)
        drops = [d for a in answers for d in a[3]]
        client_lag_p99 = max(a[4] for a in answers)
        messages = sum(a[5] for a in answers)
        if drops:
            print(f"  {len(drops)} clients were disconnected during the level, e.g. {drops[0]}, {drops[-1]}",
                  file=sys.stderr)
        if server_pids:
            peak_rss = max(peak_rss, *(rss_mb(pid) for pid in server_pids))
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
        for counter in counters:
            counter.release()

    latencies: list[float] = []
    first: dict[int, float] = {}  # per call: the earliest and the latest receipt of any client
    last: dict[int, float] = {}
    for per_client in receipts:
        seen: set[int] = set()
        for ticket_id, received in per_client:
            if ticket_id in sent_at and ticket_id not in seen:
                seen.add(ticket_id)
                latencies.append((received - sent_at[ticket_id]) * 1000)
                first[ticket_id] = min(first.get(ticket_id, received), received)
                last[ticket_id] = max(last.get(ticket_id, received), received)
    # where the time goes: until the first display has the call (command, commit, first frames) vs. the spread
    # from the first display to the last one (the fan-out)
    to_first = [(first[t] - sent_at[t]) * 1000 for t in first]
    spread = [(last[t] - first[t]) * 1000 for t in first]
    return {
        "clients": clients,
        "connected": connected,
        "delivered": len(latencies),
        "expected": len(sent_at) * clients,
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "server_rss_mb": round(peak_rss, 1) if server_pids else None,
        "first_p50_ms": round(statistics.median(to_first), 2) if to_first else None,
        "first_p99_ms": round(percentile(to_first, 0.99), 2) if to_first else None,
        "spread_p50_ms": round(statistics.median(spread), 2) if spread else None,
        "spread_p99_ms": round(percentile(spread, 0.99), 2) if spread else None,
        "events_missed": missed_events,
        "pushes_per_call": round(messages / (connected * len(sent_at)), 2) if connected and sent_at else None,
        "disconnects": len(drops),
        "calls": len(sent_at),
        "command_p50_ms": round(statistics.median(command_ms), 2) if command_ms else None,
        "command_p99_ms": round(percentile(command_ms, 0.99), 2) if command_ms else None,
        "caller_lag_max_ms": round(worst_lag, 1),
        "connect_s": round(connect_s, 2),
        "server_cpu_pct": round(100 * server_cpu / seconds, 1) if server_cpu is not None else None,
        "client_cpu_pct": round(100 * client_cpu / seconds, 1) if client_cpu is not None else None,
        "other_cpu_pct": round(100 * other_cpu / seconds, 1),
        "client_loop_lag_p99_ms": round(client_lag_p99, 1),
    }


def verdict(level: dict[str, Any]) -> str:
    notes = ["nothing lost" if level["delivered"] == level["expected"] and not level["events_missed"]
             else f"LOST {level['expected'] - level['delivered']} calls, {level['events_missed']} events"]
    target = TARGET_P99_MS.get(level["clients"])
    if target is not None and level["p99_ms"] is not None:
        notes.append(f"p99 {'<' if level['p99_ms'] < target else 'NOT <'} {target:g} ms")
    rss_target = TARGET_RSS_MB.get(level["clients"])
    if rss_target is not None and level["server_rss_mb"] is not None:
        notes.append(f"RSS {'<' if level['server_rss_mb'] < rss_target else 'NOT <'} {rss_target:g} MB")
    if level["client_loop_lag_p99_ms"] > CLIENT_LAG_MS:
        notes.append(f"(the client process lagged, p99 {level['client_loop_lag_p99_ms']:g} ms: receipts stamped late)")
    if level["other_cpu_pct"] > BUSY_MACHINE_PCT:
        notes.append(f"(other processes used {level['other_cpu_pct']:g}% of a core: not representative)")
    return ", ".join(notes)


def print_row(level: dict[str, Any]) -> None:
    def show(value: object) -> str:
        return "-" if value is None else str(value)

    print(f"{level['clients']:>7} {level['delivered']:>9}/{level['expected']:<9} {show(level['p50_ms']):>8} "
          f"{show(level['p99_ms']):>8} {show(level['max_ms']):>8} {show(level['server_rss_mb']):>7} "
          f"{show(level['server_cpu_pct']):>6} {show(level['client_cpu_pct']):>6} {show(level['other_cpu_pct']):>6} "
          f"{show(level['command_p99_ms']):>8}  {verdict(level)}")
    print(f"{'':>7}   to the first display p50/p99 {show(level['first_p50_ms'])}/{show(level['first_p99_ms'])} ms, "
          f"then to the last one +{show(level['spread_p50_ms'])}/+{show(level['spread_p99_ms'])} ms; "
          f"{show(level['pushes_per_call'])} pushes per call per display", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append",
                        help="an already running server; repeat for several processes (default: start a set-up "
                             "per level)")
    parser.add_argument("--server-pid", type=int, action="append",
                        help="with --url: that server's pid, to report its memory and CPU (repeat for each)")
    parser.add_argument("--system", choices=SYSTEMS, default="sqlite", help="the set-up to start (default sqlite)")
    parser.add_argument("--clients", default="100,500,1000", help="client counts, comma-separated (a sweep)")
    parser.add_argument("--calls", type=int, default=100, help="tickets called per level")
    parser.add_argument("--rate", type=float, default=5.0, help="calls per second")
    parser.add_argument("--counters", type=int, default=4, help="counters calling round-robin (1-8)")
    parser.add_argument("--client", choices=("light", "socketio"), default="light",
                        help="light: the Socket.IO protocol straight over aiohttp websockets (default); "
                             "socketio: python-socketio's AsyncClient, several times the CPU per message")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait for late deliveries")
    parser.add_argument("--client-processes", type=int, default=2,
                        help="processes sharing the clients (one process at 1,000 sockets lags behind the server)")
    args = parser.parse_args()
    try:
        levels_wanted = [int(n) for n in args.clients.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--clients: comma-separated whole numbers, got {args.clients!r}")
    if not levels_wanted or min(levels_wanted) < 1 or args.calls < 1 or args.rate <= 0:
        parser.error("--clients, --calls and --rate must be positive")
    if not 1 <= args.counters <= len(STAFF):
        parser.error(f"--counters must be 1-{len(STAFF)}")

    print(f"{args.calls} calls per level at {args.rate:g}/s on {args.counters} counters; "
          f"{DESCRIPTIONS[args.system] + ', fresh for each level' if args.url is None else ', '.join(args.url)}")
    print(f"{'clients':>7} {'delivered/expected':<19} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'RSS MB':>7} "
          f"{'srv %':>6} {'cli %':>6} {'other%':>6} {'cmd p99':>8}  verdict")
    levels: list[dict[str, Any]] = []
    for clients in levels_wanted:
        if args.url:
            level = run_level([url.rstrip("/") for url in args.url], args.server_pid or [], clients, args)
        else:
            with running_system(args.system, tweak=lambda text: text) as system:
                level = run_level(system.urls, system.pids, clients, args)
        levels.append(level)
        print_row(level)

    keys = ("clients", "delivered", "expected", "p50_ms", "p99_ms", "server_rss_mb")
    largest = max(levels, key=lambda level: level["clients"])
    result = {
        **largest,
        "rate": args.rate,
        "counters": args.counters,
        "database": DESCRIPTIONS[args.system] if args.url is None else "given server",
        "system": args.system if args.url is None else None,
        "processes": len(args.url) if args.url else 2 if args.system == "postgres-redis-2" else 1,
        "levels": [{key: level[key] for key in (*keys, "max_ms", "events_missed", "disconnects", "server_cpu_pct",
                                               "client_cpu_pct", "other_cpu_pct")} for level in levels],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
