"""Abuse from one address while the hall works: a ticket flood, a slowloris and a join flood.

Starts its own server (the demo hall with the demo's ``[limits]``, fresh SQLite file, one eventlet process) unless
given ``--url``. Throughout, a kiosk (``X-Device-Id: K1`` from 127.0.0.1) takes a ticket every ``--kiosk-every``
seconds and a wall display (a Socket.IO client joined as ``display``) listens. The kiosk's own rate limit is raised
to let it sample that often (a real kiosk issues at most a few a minute); every other limit is the demo's. Phases,
``--seconds`` each:

* ``quiet``: the kiosk alone, for reference;
* ``ticket_flood``: ``--flooders`` threads from 127.0.0.2 take tickets as fast as they are answered, each request
  with a new device id (the script of the security report);
* ``slowloris``: ``--slow`` connections from 127.0.0.2 each send half a request and nothing more, and are opened
  again as the server closes them;
* ``join_flood``: ``--joiners`` websockets from 127.0.0.2 send ``join`` as fast as they are answered.

Prints per phase the kiosk's p50/p99/max and refusals and what the attacker got; then whether the display missed
anything: every ``hall_event`` from its join to the end, ``seq`` by ``seq``, against the server's final ``seq``.
All traffic goes to 127.0.0.1 and stops by itself. The last line is JSON.

    python benchmarks/abuse.py
    python benchmarks/abuse.py --seconds 5 --slow 1500
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import websocket  # noqa: E402

from benchmarks.issue_throughput import percentile  # noqa: E402
from server.launcher import ServerProcess, write_config  # noqa: E402
from tests.system.clients import Listener  # noqa: E402

BRANCH = "SZ-FUTIAN"
ATTACKER = "127.0.0.2"
ISSUE = f"/api/branches/{BRANCH}/tickets"
PHASES = ("quiet", "ticket_flood", "slowloris", "join_flood")


class Kiosk(threading.Thread):
    """Takes a ticket every ``every`` seconds; records (phase, latency, status, wall-clock start)."""

    def __init__(self, url: str, every: float) -> None:
        super().__init__(daemon=True)
        self.url, self.every = url, every
        self.phase = "quiet"
        self.samples: list[tuple[str, float, int, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        services = ["BILL", "PLAN", "SIM", "BROADBAND"]
        n = 0
        while not self.stop.is_set():
            started, wall = time.monotonic(), time.time()
            try:
                status = session.post(self.url + ISSUE, json={"service": services[n % 4]},
                                      headers={"X-Device-Id": "K1"}, timeout=10).status_code
            except requests.RequestException:
                status = 0
            self.samples.append((self.phase, time.monotonic() - started, status, wall))
            n += 1
            self.stop.wait(max(0.0, self.every - (time.monotonic() - started)))


def attacker_connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(ATTACKER, 0))


def ticket_flood(port: int, stop: threading.Event, counts: dict[str, int], lock: threading.Lock, n: int) -> None:
    connection = attacker_connection(port)
    i = 0
    while not stop.is_set():
        i += 1
        try:
            connection.request("POST", ISSUE, body=json.dumps({"service": "BILL"}),
                               headers={"Content-Type": "application/json", "X-Device-Id": f"script-{n}-{i}"})
            answer = connection.getresponse()
            answer.read()
            key = str(answer.status)
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = attacker_connection(port)
            key = "error"
        with lock:
            counts[key] = counts.get(key, 0) + 1


def slowloris(port: int, stop: threading.Event, target: int, counts: dict[str, int]) -> None:
    """Keep ``target`` half-sent requests open from the attacker's address, reopening those the server closes."""
    held: list[socket.socket] = []
    while not stop.is_set():
        alive = []
        for connection in held:
            try:
                if connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    raise ConnectionResetError
                connection.close()  # the server answered (408 or 503): it let go
                counts["closed_by_server"] = counts.get("closed_by_server", 0) + 1
            except BlockingIOError:
                alive.append(connection)
            except OSError:
                connection.close()
                counts["closed_by_server"] = counts.get("closed_by_server", 0) + 1
        held = alive
        while len(held) < target and not stop.is_set():
            connection = socket.socket()
            connection.bind((ATTACKER, 0))
            try:
                connection.connect(("127.0.0.1", port))
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: hall\r\nX-Slow: ")
                counts["opened"] = counts.get("opened", 0) + 1
            except OSError:
                connection.close()
                counts["refused"] = counts.get("refused", 0) + 1
                continue
            held.append(connection)
        counts["held"] = len(held)
        stop.wait(0.5)
    for connection in held:
        connection.close()


def join_flood(port: int, stop: threading.Event, counts: dict[str, int], lock: threading.Lock) -> None:
    """A raw Engine.IO websocket from the attacker's address sending ``join`` as fast as it is answered; a closed
    connection is opened again."""
    while not stop.is_set():
        raw = socket.socket()
        raw.bind((ATTACKER, 0))
        raw.settimeout(5)  # websocket-client leaves a socket it is given as it is
        try:
            raw.connect(("127.0.0.1", port))
            ws = websocket.create_connection(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                                             socket=raw, timeout=5)
            ws.recv()  # open
            ws.send("40")
            ws.recv()  # connected to the namespace
            n = 0
            while not stop.is_set():
                n += 1
                ws.send(f'42{n}["join",{{"role":"display","branch":"{BRANCH}"}}]')
                while True:
                    message = ws.recv()
                    if message == "2":  # ping
                        ws.send("3")
                        continue
                    if message.startswith(("43", "41")):
                        break
                if message.startswith("41"):  # the server closed this connection's namespace
                    raise websocket.WebSocketException("disconnected by the server")
                key = "join_ok" if '"ok":true' in message else "join_refused"
                with lock:
                    counts[key] = counts.get(key, 0) + 1
        except (OSError, websocket.WebSocketException):
            with lock:
                counts["connections_closed"] = counts.get("connections_closed", 0) + 1
        finally:
            raw.close()
        stop.wait(0.05)


Attack = Callable[[Any, dict[str, int], threading.Lock], list[threading.Thread]]


def attack_process(attack: Attack, stop: Any, report: Any) -> None:
    """In the attacker's process: run the attack's threads until ``stop``, then send back what they counted."""
    counts: dict[str, int] = {}
    lock = threading.Lock()
    local_stop = threading.Event()
    threads = attack(local_stop, counts, lock)
    for thread in threads:
        thread.start()
    stop.wait()
    local_stop.set()
    for thread in threads:
        thread.join(15)
    with lock:
        report.send(dict(counts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (its kiosk K1 must be allowed --kiosk-every)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--kiosk-every", type=float, default=0.25, help="seconds between the kiosk's tickets")
    parser.add_argument("--flooders", type=int, default=4)
    parser.add_argument("--slow", type=int, default=2000, help="half-sent requests held open")
    parser.add_argument("--joiners", type=int, default=4)
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"which phases to run, in this order (default: {','.join(PHASES)})")
    args = parser.parse_args(argv)
    args.phases = [name.strip() for name in args.phases.split(",") if name.strip()]
    unknown = sorted(set(args.phases) - set(PHASES))
    if unknown or not args.phases:
        parser.error(f"--phases: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(PHASES)}")

    if args.url:
        return run(args, args.url, None)
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), f"sqlite:///{Path(tmp) / 'hall.sqlite3'}",
                              limits={"kiosk_tickets": f"{int(120 / args.kiosk_every)}/minute"})
        with ServerProcess(config).start() as server:
            return run(args, server.url, server)


def run(args: argparse.Namespace, url: str, server: ServerProcess | None) -> int:
    port = int(url.rsplit(":", 1)[1])
    display = Listener(url).connect()
    joined = display.join({"role": "display", "branch": BRANCH})
    first_seq = joined["snapshot"]["seq"]
    kiosk = Kiosk(url, args.kiosk_every)
    kiosk.start()
    phases: dict[str, dict[str, Any]] = {}
    attacks: dict[str, Attack | None] = {
        "quiet": None,
        "ticket_flood": lambda stop, counts, lock: [threading.Thread(
            target=ticket_flood, args=(port, stop, counts, lock, n), daemon=True) for n in range(args.flooders)],
        "slowloris": lambda stop, counts, lock: [threading.Thread(
            target=slowloris, args=(port, stop, args.slow, counts), daemon=True)],
        "join_flood": lambda stop, counts, lock: [threading.Thread(
            target=join_flood, args=(port, stop, counts, lock), daemon=True) for _ in range(args.joiners)],
    }
    for name in args.phases:
        attack = attacks[name]
        # the attacker is another machine: its own process, so that its threads never hold this one's GIL
        context = multiprocessing.get_context("fork")
        parent_end, child_end = context.Pipe()
        stop = context.Event()
        attacker = context.Process(target=attack_process, args=(attack, stop, child_end), daemon=True)
        if attack is not None:
            attacker.start()
        time.sleep(0.5)  # let the attack build up before the phase is measured
        kiosk.phase = name
        time.sleep(args.seconds)
        health_started = time.monotonic()
        try:
            health = requests.get(url + "/healthz", timeout=5).status_code
        except requests.RequestException:
            health = 0
        health_ms = (time.monotonic() - health_started) * 1000
        kiosk.phase = "between"
        stop.set()
        counts: dict[str, int] = {}
        if attack is not None:
            if parent_end.poll(30):
                counts = parent_end.recv()
            attacker.join(15)
        samples = [s for s in kiosk.samples if s[0] == name]
        latencies = [s[1] * 1000 for s in samples]
        phases[name] = {
            "kiosk_tickets": len(samples), "kiosk_refused": sum(1 for s in samples if s[2] != 201),
            "kiosk_p50_ms": round(percentile(latencies, 0.5), 1), "kiosk_p99_ms": round(percentile(latencies, 0.99), 1),
            "kiosk_max_ms": round(max(latencies, default=float("nan")), 1),
            "healthz": health, "healthz_ms": round(health_ms, 1), "attacker": dict(sorted(counts.items())),
        }
        line = phases[name]
        print(f"{name:13} kiosk {line['kiosk_tickets']:3} tickets, refused {line['kiosk_refused']}, "
              f"p50 {line['kiosk_p50_ms']} ms, p99 {line['kiosk_p99_ms']} ms, max {line['kiosk_max_ms']} ms; "
              f"/healthz {health} in {line['healthz_ms']} ms; attacker {line['attacker']}", flush=True)
        time.sleep(1.0)
    kiosk.stop.set()
    kiosk.join(15)
    time.sleep(1.5)  # the last events reach the display
    final_seq = requests.get(f"{url}/api/branches/{BRANCH}/snapshot", timeout=10).json()["seq"]
    with display.lock:
        seqs = sorted({e["seq"] for e in display.events})
        rejoined = len(display.snapshots) - 1
    expected = set(range(first_seq + 1, final_seq + 1))
    missed = sorted(expected - set(seqs))
    display.close()
    all_kiosk = [s[1] * 1000 for s in kiosk.samples if s[0] in attacks]
    print(f"display: {len(seqs)} events of {len(expected)} (seq {first_seq + 1}..{final_seq}), missed {len(missed)}, "
          f"re-joined {rejoined} times")
    result = {
        "kiosk_p99_ms": round(percentile(all_kiosk, 0.99), 1),
        "kiosk_p99_ms_worst_phase": max(p["kiosk_p99_ms"] for p in phases.values()),
        "kiosk_refused": sum(p["kiosk_refused"] for p in phases.values()),
        "display_missed": len(missed), "display_events": len(seqs), "display_rejoined": rejoined,
        "phases": phases,
    }
    if server is not None:
        result["server_warnings"] = sum(1 for line in server.output if " WARNING " in line)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
