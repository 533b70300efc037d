"""Work that must not hold up the event loop.

Under eventlet one OS thread serves every request and socket, so a long computation there stalls the
whole hall. Such work (the wait estimator, password hashing) runs in a native thread of eventlet's pool
instead, where it holds the interpreter lock only for its Python parts; in any other set-up (tests,
plain threads) it simply runs where it is called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")
Offload = Callable[[Callable[[], Any]], Any]  # how a service runs work that must not hold up the event loop


def eventlet_serves() -> bool:
    """Whether eventlet has monkey-patched threading, i.e. the server runs on green threads."""
    try:
        import eventlet.patcher
    except ImportError:
        return False
    return bool(eventlet.patcher.is_monkey_patched("thread"))


def offload_cpu(work: Callable[[], Result]) -> Result:
    """Run ``work`` in a native thread when eventlet serves (the caller's green thread waits for it)."""
    if not eventlet_serves():
        return work()
    from eventlet import tpool

    result: Any = tpool.execute(work)
    return result


def event_loop_thread() -> int | None:
    """The OS thread that runs eventlet's event loop (the one creating the app), or None without eventlet."""
    if not eventlet_serves():
        return None
    import eventlet.patcher

    return int(eventlet.patcher.original("threading").get_ident())
