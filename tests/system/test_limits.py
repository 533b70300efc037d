"""A real server process under abuse from one address: a ticket flood, a slowloris, a client that stops reading.

All traffic stays on this machine: the "attacker" binds 127.0.0.2 (loopback too) so that the kiosk and the health
check on 127.0.0.1 are another address, as they are in a hall.
"""

from __future__ import annotations

import json
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websocket

from server.launcher import LIMITS_OFF, ServerProcess, write_config
from tests.system.clients import Listener, issue, wait_for

pytestmark = pytest.mark.slow

BRANCH = "SZ-FUTIAN"
ATTACKER = "127.0.0.2"
ISSUE = f"/api/branches/{BRANCH}/tickets"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The demo's limits, with short header and body deadlines so that the test sees them act."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or hard == resource.RLIM_INFINITY:  # 2,000 sockets here, 1,000 in the server
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    tmp = tmp_path_factory.mktemp("limits")
    config = write_config(tmp, f"sqlite:///{tmp / 'hall.sqlite3'}",
                          limits={"header_timeout_s": 3, "body_timeout_s": 2, "send_queue": 20})
    with ServerProcess(config).start() as process:
        yield process


def timed(call: object) -> tuple[float, requests.Response]:
    started = time.monotonic()
    answer = call()  # type: ignore[operator]
    return time.monotonic() - started, answer


def test_a_ticket_flood_is_refused_while_the_kiosk_goes_on(server: ServerProcess) -> None:
    """Four threads take tickets as fast as they can, each request with a new device id; the kiosk (another device
    id, same address) takes one every 0.2 s meanwhile."""
    stop = threading.Event()
    outcomes: dict[int, int] = {}
    lock = threading.Lock()

    def flood(n: int) -> None:
        session = requests.Session()
        i = 0
        while not stop.is_set():
            i += 1
            answer = session.post(server.url + ISSUE, json={"service": "BILL"},
                                  headers={"X-Device-Id": f"script-{n}-{i}"})
            with lock:
                outcomes[answer.status_code] = outcomes.get(answer.status_code, 0) + 1

    threads = [threading.Thread(target=flood, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    kiosk = requests.Session()
    kiosk_latencies = []
    try:
        for _ in range(15):
            took, answer = timed(lambda: kiosk.post(server.url + ISSUE, json={"service": "PLAN"},
                                                    headers={"X-Device-Id": "K1"}))
            assert answer.status_code == 201, answer.text
            kiosk_latencies.append(took)
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert outcomes.get(201, 0) <= 30 and outcomes.get(429, 0) >= 8, outcomes  # 30 open per address
    took, refused = timed(lambda: requests.post(server.url + ISSUE, json={"service": "BILL"},
                                                headers={"X-Device-Id": "script-x"}))
    assert took >= 1.0  # refusal_delay_s: a script that asks again at once slows down
    assert refused.status_code == 429 and refused.json()["error"] in ("too_many_tickets", "too_many_open_tickets")
    assert int(refused.headers["Retry-After"]) >= 1
    assert max(kiosk_latencies) < 1.0, kiosk_latencies
    snapshot = requests.get(f"{server.url}/api/branches/{BRANCH}/snapshot").json()
    bill = next(s for s in snapshot["services"] if s["code"] == "BILL")
    assert not bill["daily_cap_reached"]


def open_half_requests(port: int, count: int) -> tuple[list[socket.socket], int]:
    """``count`` connections from the attacker's address, each with a request line and no end of headers."""
    sockets, refused = [], 0
    for _ in range(count):
        connection = socket.socket()
        connection.bind((ATTACKER, 0))
        try:
            connection.connect(("127.0.0.1", port))
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: hall\r\nX-Slow: ")
        except OSError:
            refused += 1
        sockets.append(connection)
    return sockets, refused


def closed_by_server(connection: socket.socket) -> bool:
    connection.setblocking(False)
    try:
        data = connection.recv(512)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408") or data.startswith(b"HTTP/1.1 503")


def test_a_slowloris_from_one_address_stops_neither_healthz_nor_the_kiosk(server: ServerProcess) -> None:
    started = time.monotonic()
    sockets, _ = open_half_requests(server.port, 2000)
    try:
        kiosk = requests.Session()
        for _ in range(5):
            took, health = timed(lambda: requests.get(server.url + "/healthz", timeout=5))
            assert health.status_code == 200 and took < 1.0
            took, ticket = timed(lambda: kiosk.post(server.url + ISSUE, json={"service": "SIM"},
                                                    headers={"X-Device-Id": "K2"}, timeout=5))
            assert ticket.status_code == 201 and took < 1.0
        # the cap: 1,000 held, the rest answered 503 and closed at once
        over_cap = sum(1 for s in sockets[1000:] if closed_by_server(s))
        assert over_cap >= 990
        # the header deadline: the held ones are let go after 3 s
        time.sleep(max(0.0, started + 3 + 1.5 - time.monotonic()))
        held_closed = sum(1 for s in sockets[:1000] if closed_by_server(s))
        assert held_closed >= 990, held_closed
    finally:
        for connection in sockets:
            connection.close()


def test_a_body_that_never_comes_is_answered_408(server: ServerProcess) -> None:
    connection = socket.create_connection(("127.0.0.1", server.port))
    connection.sendall(b"POST " + ISSUE.encode() + b" HTTP/1.1\r\nHost: hall\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 200\r\n\r\n{\"serv")
    connection.settimeout(10)
    started = time.monotonic()
    answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408") and 1.5 < time.monotonic() - started < 5
    connection.close()


def test_a_live_client_that_stops_reading_is_dropped(server: ServerProcess) -> None:
    """A long-polling Socket.IO client joins and never polls again: past 20 waiting messages it is dropped (the
    server keeps no unbounded queue for it); a client that reads is not."""
    base = server.url + "/socket.io/?EIO=4&transport=polling"
    stalled = requests.Session()
    sid = json.loads(stalled.get(base).text[1:])["sid"]
    stalled.post(f"{base}&sid={sid}", data="40")
    assert stalled.get(f"{base}&sid={sid}").text.startswith("40")
    stalled.post(f"{base}&sid={sid}", data=json.dumps(["join", {"role": "display", "branch": BRANCH}]).join(
        ["420", ""]))
    assert '"ok":true' in stalled.get(f"{base}&sid={sid}").text
    for _ in range(30):
        requests.post(server.url + ISSUE, json={"service": "PLAN"}, headers={"X-Device-Id": "K2"})
    time.sleep(1.5)
    assert stalled.get(f"{base}&sid={sid}", timeout=30).status_code == 400  # the session is gone
    assert any("fell 20 messages behind" in line for line in server.output)


@pytest.fixture(scope="module")
def unlimited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """No limit on tickets (a test that needs many messages takes many tickets), and a send queue of 20."""
    tmp = tmp_path_factory.mktemp("send-queue")
    config = write_config(tmp, f"sqlite:///{tmp / 'hall.sqlite3'}", limits={**LIMITS_OFF, "send_queue": 20})
    with ServerProcess(config).start() as process:
        yield process


def stalled_display(port: int) -> socket.socket:
    """A wall display on a websocket that joins and then never reads again. Its receive buffer and its segment
    size are made small, so that the kernel's buffers between it and the server fill after a few hundred messages:
    on loopback (64 KiB segments) the server's send buffer alone starts at about a megabyte."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)  # the server's send buffer follows the segment size
    raw.settimeout(10)
    raw.connect(("127.0.0.1", port))
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", socket=raw,
                                     timeout=10)
    assert ws.recv().startswith("0")  # Engine.IO open
    ws.send("40")
    assert ws.recv().startswith("40")  # Socket.IO connected
    ws.send(f'420["join",{{"role":"display","branch":"{BRANCH}"}}]')
    while not (answer := ws.recv()).startswith("430"):  # events may come before the join's answer
        pass
    assert '"ok":true' in answer
    return raw


def closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``connection`` within ``seconds``, reading (and dropping) what it had sent."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            if connection.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


def test_a_websocket_client_that_stops_reading_is_dropped_and_the_others_keep_receiving(
        unlimited: ServerProcess) -> None:
    """A wall display whose websocket stops reading (a screen whose browser hangs, a script): once 20 messages
    wait for it (``send_queue``) it is dropped, and a display that reads misses nothing meanwhile."""
    reader = Listener(unlimited.url).connect()
    first_seq = reader.join({"role": "display", "branch": BRANCH})["snapshot"]["seq"]
    stalled = stalled_display(unlimited.port)
    try:
        issued = 0
        services = ("BILL", "PLAN", "SIM")  # (their daily caps: 600, 400, 300) on a machine whose buffers hold more
        while issued < 900 and not any("fell 20 messages behind" in line for line in unlimited.output):
            issue(unlimited.url, services[issued % len(services)])
            issued += 1
        assert any("fell 20 messages behind" in line for line in unlimited.output), issued
        assert closed_within(stalled, 10)  # dropped: the server closed its connection
        for _ in range(5):  # the hall goes on: the reader still hears everything
            issue(unlimited.url)
        final_seq = requests.get(f"{unlimited.url}/api/branches/{BRANCH}/snapshot").json()["seq"]
        assert final_seq >= first_seq + issued + 5
        wait_for(lambda: {e["seq"] for e in reader.events} >= set(range(first_seq + 1, final_seq + 1)), timeout=10)
        assert len(reader.snapshots) == 1  # it never had to join again
    finally:
        stalled.close()
        reader.close()


def test_socket_join_limits_hold_across_two_processes_sharing_redis(tmp_path: Path, redis_url: str) -> None:
    """Joins from one address spread over two server processes of one hall are counted together (the counts live
    in Redis, ``server.redis_url``): each process's own count would let twice the limit through."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}", redis_url=redis_url,
                          limits={"address_socket_joins": "6/minute"})
    with ServerProcess(config) as first, ServerProcess(config) as second:
        screens = [Listener(first.url).connect(), Listener(second.url).connect()]
        try:
            answers = [screens[n % 2].join({"role": "display", "branch": BRANCH}) for n in range(6)]
            assert all(answer["ok"] for answer in answers), answers  # three joins through each process
            for screen in screens:  # the seventh, through either process, is one too many for the address
                refused = screen.join({"role": "display", "branch": BRANCH})
                assert refused["ok"] is False and refused["error"] == "too_many_joins", refused
                assert refused["limit"] == "address" and refused["retry_after_s"] >= 1
        finally:
            for screen in screens:
                screen.close()


def test_limits_off_lets_a_load_test_through(tmp_path: Path) -> None:
    """What the benchmarks use: with the limits off, one address may take as many tickets as it likes."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}", limits=LIMITS_OFF)
    with ServerProcess(config).start() as process:
        session = requests.Session()
        codes = {session.post(process.url + ISSUE, json={"service": "BILL"}).status_code for _ in range(40)}
        assert codes == {201}
