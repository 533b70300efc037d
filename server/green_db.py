"""psycopg's waits for PostgreSQL through eventlet's hub, so that one query waiting (for a row lock, a slow plan, a
server that has gone quiet) holds up only its own request.

psycopg waits in C (``wait_c``) unless it sees gevent's patching; under eventlet that C wait blocks the process's one
thread, and with it every request and every screen, for as long as the query waits. A wholly green wait (psycopg's
select()-based one under eventlet's patched ``select``, or a ``trampoline``) fixes that but halves a branch's command
throughput on PostgreSQL: each command then switches away at every round trip while holding its branch's row lock,
so the lock is held across other requests' work, and 20 kiosks' commands pile up in PostgreSQL's lock queue (60
tickets/s against 128 with the C wait, and twice the CPU per ticket, in ``benchmarks/issue_throughput.py --system
postgres``).

:func:`green_wait` does both: it waits for the socket natively for up to :data:`NATIVE_WAIT_S` (a query's round trip
and a commit's flush usually end within it, with no switch, as before), and only a longer wait (a row lock, a slow
plan, a server gone quiet) parks the green thread on the socket with ``trampoline`` so that the rest of the process
carries on. :func:`install` gives it to psycopg in the server process (``python -m server``). A wait in a native
worker thread keeps psycopg's own wait, since only the main thread runs the hub.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from time import monotonic
from typing import Any

from eventlet.hubs import trampoline
from eventlet.patcher import original

_threading = original("threading")
_select = original("select")


NATIVE_WAIT_S = 0.005
"""How long a query's wait may hold up the process before it gives way to the others (seconds)."""


class _Expired(Exception):
    """The wait's deadline passed with the socket not ready."""


def install() -> None:
    """Make psycopg wait through eventlet's hub in this process (after ``eventlet.monkey_patch()``)."""
    import psycopg.waiting as waiting

    native = waiting.wait
    hub_thread = _threading.get_ident()
    waiting.wait = _green_or_native(hub_thread, native, waiting)


def _green_or_native(hub_thread: int, native: Callable[..., Any], waiting: Any) -> Callable[..., Any]:
    def wait(gen: Generator[Any, Any, Any], fileno: int, interval: float = 0.0, timeout: float | None = None) -> Any:
        if _threading.get_ident() != hub_thread:
            return native(gen, fileno, interval=interval, timeout=timeout)
        return green_wait(gen, fileno, timeout, waiting)

    return wait


def green_wait(gen: Generator[Any, Any, Any], fileno: int, timeout: float | None, waiting: Any) -> Any:
    """Drive psycopg's generator ``gen``: at each state it yields (read, write or both), park this green thread until
    the socket is ready, then send back what it is ready for. ``timeout`` (seconds, None: none): psycopg's
    ``_WaitTimeout`` once it has passed."""
    read, write = waiting.WAIT_R, waiting.WAIT_W
    deadline = None if timeout is None else monotonic() + timeout
    try:
        state = next(gen)
        while True:
            left = None if deadline is None else max(0.0, deadline - monotonic())
            native = NATIVE_WAIT_S if left is None else min(left, NATIVE_WAIT_S)
            soon = _ready_within(fileno, state, read, write, native)
            if soon:
                state = gen.send(soon)
                continue
            try:
                if state & write:  # rarely: sending a large query, or both while connecting
                    trampoline(fileno, write=True, timeout=left, timeout_exc=_Expired)
                    ready = waiting.READY_W | (waiting.READY_R if state & read and _readable(fileno) else 0)
                else:
                    trampoline(fileno, read=True, timeout=left, timeout_exc=_Expired)
                    ready = waiting.READY_R
            except _Expired:
                ready = waiting.READY_NONE
            state = gen.send(ready)
            if deadline is not None and monotonic() >= deadline:
                raise waiting.e._WaitTimeout("wait timeout expired")
    except StopIteration as done:
        return done.value


def _ready_within(fileno: int, state: int, read: int, write: int, seconds: float) -> int:
    """What the socket is ready for within ``seconds`` of a native wait (0: nothing yet)."""
    poller = _select.poll()
    poller.register(fileno, (_select.POLLIN if state & read else 0) | (_select.POLLOUT if state & write else 0))
    events = poller.poll(seconds * 1000)
    if not events:
        return 0
    mask = events[0][1]
    ready = (read if mask & (_select.POLLIN | _select.POLLERR | _select.POLLHUP) and state & read else 0)
    return ready | (write if mask & (_select.POLLOUT | _select.POLLERR | _select.POLLHUP) and state & write else 0)


def _readable(fileno: int) -> bool:
    poller = _select.poll()
    poller.register(fileno, _select.POLLIN)
    return bool(poller.poll(0))
