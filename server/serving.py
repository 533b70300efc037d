"""Serving on eventlet so that one client cannot exhaust the server: header and body deadlines, and a cap on
open connections per client address.

Measured on the server before these: 10,050 half-sent requests (a "slowloris": connect, send part of a request,
never finish) from one laptop made it unreachable, ``/healthz`` included. eventlet gives every connection a green
thread from a pool (10,000 here) and waits for the rest of a request without a deadline. Now:

* **A cap per address** (``[limits] connections_per_address``): :class:`GuardedListener` counts each address's
  open connections as it accepts them; one over the cap is answered 503 and closed at once, without a green
  thread, so other addresses (a kiosk, the load balancer's ``/healthz``) still get in. IPv6 counts per /64.
* **A header deadline** (``header_timeout_s``): a connection must deliver a request's line and headers within it
  from when it opened or finished its previous request, so an idle keep-alive connection is closed after it too.
  eventlet's own ``socket_timeout`` bounds each read, not the whole: a client sending a byte every few seconds
  would never meet it.
* **A body deadline** (``body_timeout_s`` plus 1 s per 64 KiB the request declares, so that a manager's video
  upload over slow Wi-Fi is not cut off): past it the request is answered 408 and the connection closed.
* **A deadline on each read and write** (``socket_timeout_s``, eventlet's ``socket_timeout``): a client that stops
  reading its answers or its websocket is let go. It must exceed Socket.IO's ping cycle (25 s + 20 s), since an
  idle websocket hears from its client only once per ping.

* **A half-sent request is never served**: a connection closed before its request line and headers ended is
  closed without running the application. Python's header parser takes the end of the stream for the end of the
  headers, so when a slowloris from one address let go of its 1,000 held connections the server answered 1,000
  ``/healthz`` requests in one burst, and a kiosk waited 2–3.5 s behind them (measured with a watchdog thread
  dumping the event loop's stack).

Each limit is per server process; a connection lives in one process. Behind a proxy every connection comes from
the proxy, so the per-address cap is off by default there (the proxy should cap its clients).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import eventlet
import eventlet.wsgi
from werkzeug.exceptions import RequestTimeout

from server.domain.limits import address_key
from server.settings import LimitSettings

log = logging.getLogger(__name__)

BODY_ALLOWANCE_BYTES_PER_S = 64 * 1024
"""A declared body gets this many bytes a second on top of ``body_timeout_s``: slow Wi-Fi carries 64 KiB/s easily."""
REFUSED = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\nConnection: close\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 46\r\n\r\n"
           b"too many open connections from this address\r\n\r\n")
TIMED_OUT = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
             b"Content-Length: 35\r\n\r\nthe request did not arrive in time\n")
WARN_EVERY_S = 60.0


class AddressCap:
    """Open connections per client address (a key of :func:`server.domain.limits.address_key`)."""

    def __init__(self, per_address: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_address = per_address
        self.open: dict[str, int] = {}
        self.refused = 0
        self._warned: dict[str, float] = {}
        self._clock = clock

    def admit(self, address: str) -> bool:
        key = address_key(address)
        count = self.open.get(key, 0)
        if self.per_address and count >= self.per_address:
            self.refused += 1
            now = self._clock()
            if now - self._warned.get(key, float("-inf")) >= WARN_EVERY_S:
                self._warned[key] = now
                if len(self._warned) > 10_000:
                    self._warned.clear()
                log.warning("refusing connections from %s: %d open, the cap is %d", key, count, self.per_address)
            return False
        self.open[key] = count + 1
        return True

    def release(self, address: str) -> None:
        key = address_key(address)
        count = self.open.get(key, 0) - 1
        if count > 0:
            self.open[key] = count
        else:
            self.open.pop(key, None)


class GuardedListener:
    """The listening socket as eventlet's server sees it: ``accept`` hands on only connections within the cap; one
    over it is answered 503 and closed here, in the accept loop, without taking a green thread."""

    def __init__(self, listener: Any, cap: AddressCap) -> None:
        self._listener = listener
        self.cap = cap

    def accept(self) -> tuple[Any, Any]:
        while True:
            # A green accept returns without going through the event loop while connections wait in the backlog:
            # a burst of 2,000 (a slowloris opening up) then held every other green thread for 0.6 s. One
            # connection per turn of the loop lets the kiosks' requests in between.
            eventlet.sleep(0)
            connection, address = self._listener.accept()
            host = _host(address)
            if self.cap.admit(host):
                return connection, address
            try:
                with contextlib.suppress(OSError):
                    connection.setblocking(False)
                    connection.send(REFUSED)
            finally:
                connection.close()

    def __getattr__(self, name: str) -> Any:  # getsockname, family, close, … of the real listener
        return getattr(self._listener, name)


def _host(address: Any) -> str:
    return str(address[0]) if isinstance(address, tuple) and address else str(address)


class _HeaderTimeout(BaseException):
    """Raised into a connection's green thread when its request's headers did not arrive in time. A
    BaseException, so that no ``except Exception`` on the way swallows it."""


class BodyTimeout(RequestTimeout):
    """The request's body did not arrive in time (408); the connection is closed after the answer."""

    description = "the request's body did not arrive in time"


class DeadlineInput:
    """``wsgi.input`` with a deadline for the whole body: each read waits at most until it.

    Only ``read``, ``readline``, ``readlines`` and iteration: Werkzeug uses ``readinto`` when the stream has it,
    which would go around the deadline.
    """

    def __init__(self, stream: Any, deadline: float, expired: Callable[[], None]) -> None:
        self._stream = stream
        self._deadline = deadline
        self._expired = expired

    def _within(self, read: Callable[..., Any], *args: Any) -> Any:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._expire()
        timer = eventlet.Timeout(remaining)
        try:
            return read(*args)
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            self._expire()
        finally:
            timer.cancel()

    def _expire(self) -> Any:
        self._expired()
        raise BodyTimeout()

    def read(self, *args: Any) -> bytes:
        return self._within(self._stream.read, *args)

    def readline(self, *args: Any) -> bytes:
        return self._within(self._stream.readline, *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._within(self._stream.readlines, *args)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class _CutShort(Exception):
    """The client closed the connection before the empty line that ends a request's headers."""


class _HeaderLines:
    """The reader a request's headers are parsed from: the end of the stream raises :class:`_CutShort` at once
    (before the email parser reads the lines that came)."""

    def __init__(self, rfile: Any) -> None:
        self._rfile = rfile

    def readline(self, *args: Any) -> bytes:
        line: bytes = self._rfile.readline(*args)
        if not line:
            raise _CutShort
        return line


def guarded_protocol(cap: AddressCap, header_timeout_s: float, body_timeout_s: float) -> type:
    """eventlet's HTTP protocol with the header and body deadlines, releasing the connection's place in the cap
    when it ends."""

    class GuardedProtocol(eventlet.wsgi.HttpProtocol):  # type: ignore[misc, name-defined]
        _header_timer: Any = None

        def __init__(self, conn_state: Any, server: Any) -> None:
            try:
                super().__init__(conn_state, server)
            finally:
                cap.release(_host(conn_state[0]))

        def handle_one_request(self) -> None:
            self._header_timer = eventlet.Timeout(header_timeout_s, _HeaderTimeout)
            begun = False
            try:
                if not self.rfile.closed:
                    self.rfile.peek(1)  # an idle keep-alive connection waits here for its next request
                begun = True
                super().handle_one_request()
            except _HeaderTimeout:
                self.close_connection = 1
                if begun:  # half a request came: say why it was not answered (an idle one is just closed)
                    with contextlib.suppress(OSError):
                        self.wfile.write(TIMED_OUT)
                        self.wfile.flush()
            except OSError:
                self.close_connection = 1
            finally:
                self._header_timer.cancel()

        def parse_request(self) -> bool:
            """The request line and headers, or False (nothing answered) when the client closed before their
            end: Python's parser takes the end of the stream for the end of the headers, so every half-sent
            request of a slowloris became a whole one, served at once, when the attacker let go."""
            try:
                if not self.raw_requestline.endswith(b"\n"):
                    self.close_connection = 1
                    return False
                self.rfile = _HeaderLines(self.rfile)  # eventlet puts its own reader back after parsing
                return bool(super().parse_request())
            except _CutShort:
                self.close_connection = 1
                return False
            finally:  # the headers are in: the app's own time (a long poll, a websocket) is not limited here
                self._header_timer.cancel()

        def get_environ(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            environ = super().get_environ(*args, **kwargs)
            try:
                declared = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
            except ValueError:
                declared = 0
            deadline = time.monotonic() + body_timeout_s + declared / BODY_ALLOWANCE_BYTES_PER_S

            def expired() -> None:
                self.close_connection = 1  # the rest of the body is not worth waiting for

            environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], deadline, expired)
            return environ

    return GuardedProtocol


BACKLOG = 2048
"""Connections the kernel holds for the accept loop: eventlet's default (50) drops new connections (a kiosk's too)
while a flood of connections is being accepted and refused."""


def listen(host: str, port: int) -> Any:
    return eventlet.listen((host, port), backlog=BACKLOG)


def serve(listener: Any, app: Callable[..., Any], limits: LimitSettings, *, max_connections: int,
          log_output: bool, access_log: logging.Logger) -> None:
    """Run eventlet's WSGI server on ``listener`` with the limits of ``[limits]``."""
    cap = AddressCap(limits.connections_per_address)
    eventlet.wsgi.server(GuardedListener(listener, cap), app, log_output=log_output, log=access_log,
                         max_size=max_connections, socket_timeout=limits.socket_timeout_s,
                         protocol=guarded_protocol(cap, limits.header_timeout_s, limits.body_timeout_s))
