"""eventlet's server with the guards of ``server/serving.py``, run in a thread of its own (its own event loop) and
spoken to over real sockets: what a half-sent request leads to, and how the accept loop shares the event loop."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import eventlet.wsgi
import pytest

from server.serving import AddressCap, GuardedListener, guarded_protocol


class CountingApp:
    """A WSGI app that answers 200 and counts the requests that reached it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.calls += 1
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]


@pytest.fixture
def served() -> Iterator[tuple[int, CountingApp]]:
    """The guarded server on a free loopback port, in a daemon thread (its green threads end with the test run)."""
    app = CountingApp()
    ready = threading.Event()
    port: list[int] = []

    def run() -> None:
        listener = eventlet.listen(("127.0.0.1", 0))
        port.append(listener.getsockname()[1])
        cap = AddressCap(100)
        ready.set()
        eventlet.wsgi.server(GuardedListener(listener, cap), app, log_output=False, socket_timeout=10,
                             protocol=guarded_protocol(cap, header_timeout_s=10, body_timeout_s=10))

    threading.Thread(target=run, daemon=True).start()
    assert ready.wait(10)
    yield port[0], app


def send_and_close(port: int, data: bytes) -> bytes:
    """Send ``data``, close the sending side, and read what the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
        return answer


@pytest.mark.parametrize("half", [
    b"GET /healthz HTTP/1.1\r\nHost: hall\r\nX-Slow: ",  # what benchmarks/abuse.py's slowloris sends
    b"GET /healthz HTTP/1.1\r\nHost: hall\r\n",  # every header line whole, the empty line missing
    b"GET /healthz HTTP/1.1",  # the request line without its end
])
def test_a_request_whose_client_left_before_the_end_of_its_headers_is_not_served(
        served: tuple[int, CountingApp], half: bytes) -> None:
    """Python's header parser takes the end of the stream for the end of the headers: a slowloris letting go of
    1,000 half-sent requests made the server answer 1,000 ``/healthz`` at once, and a kiosk waited 2-3.5 s."""
    port, app = served
    assert send_and_close(port, half) == b""
    assert send_and_close(port, b"GET /healthz HTTP/1.1\r\nHost: hall\r\n\r\n").startswith(b"HTTP/1.1 200")
    assert app.calls == 1  # only the whole request reached the application


def test_a_whole_request_from_a_client_that_closed_its_side_is_answered(served: tuple[int, CountingApp]) -> None:
    port, app = served
    answer = send_and_close(port, b"GET /healthz HTTP/1.0\r\nHost: hall\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok") and app.calls == 1


class BurstListener:
    """A listening socket with ``count`` connections waiting in its backlog, all over the cap: ``accept`` returns
    at once each time, as a green accept does while the backlog is not empty."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.accepted_at: list[float] = []

    def accept(self) -> tuple[Any, Any]:
        if not self.left:
            eventlet.sleep(3600)  # the backlog is empty: wait (the test is over by then)
        self.left -= 1
        self.accepted_at.append(time.monotonic())
        near, far = socket.socketpair()
        far.close()
        return near, ("127.0.0.2", 40000 + self.left)


def test_the_accept_loop_lets_other_green_threads_run_during_a_burst_of_refused_connections() -> None:
    """2,000 connections over the cap waiting at once held every other green thread until all were refused: a
    kiosk's request, already read, waited behind them. Now the accept loop gives way after each connection."""
    burst = BurstListener(200)
    cap = AddressCap(1)
    cap.admit("127.0.0.2")  # the attacker's address is at its cap: every connection of the burst is refused
    guarded = GuardedListener(burst, cap)
    kiosk_ran: list[int] = []

    def kiosk() -> None:  # a green thread that became ready as the burst arrived
        kiosk_ran.append(200 - burst.left)

    def run() -> None:
        accept = eventlet.spawn(guarded.accept)
        eventlet.spawn(kiosk)
        eventlet.sleep(0.5)
        accept.kill()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert burst.left == 0 and cap.refused == 200  # every connection of the burst was refused
    assert kiosk_ran and kiosk_ran[0] <= 2, kiosk_ran  # the kiosk ran after at most a couple of them, not all 200
