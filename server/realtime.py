"""Socket.IO adapter: screens join rooms by role, get a snapshot, then ordered events.

The contract (docs/realtime.md has the full picture):

* A client emits ``join`` with ``{"role", "branch"}`` and, by role, ``zone`` (display), ``counter``
  (counter display, rating pad) or ``token`` (a customer's own ticket). The acknowledgement carries
  ``{"ok": true, "role", "snapshot"}``; the snapshot has the branch's sequence number ``seq``.
  A refused join acknowledges ``{"ok": false, "error", "message"}``.
* ``hall_event``: one committed change, with ``seq`` (the branch's sequence number, +1 per event).
  A client applies events with ``seq == last + 1``, ignores older ones and re-joins on a gap.
* ``hall_summary``: waiting counts and wait estimates per service (derived; carries the ``seq`` it was
  computed at and a ``version``), pushed when they change and at least once a minute (a client behind its ``seq``
  re-joins); the staff room's has ``private.alerts``, the hall alerts
  (:mod:`server.domain.hall_alerts`), which the public room's lacks.
* ``ticket_update``: to a customer's ticket room only: people ahead, estimate and state.

Rooms per branch: ``public:<branch>`` (displays, kiosks, counter displays; events without the
``private`` part), ``staff:<branch>`` (signed-in staff and managers, full events) and
``ticket:<branch>:<id>`` (one customer). Staff and manager joins are authenticated by the same
session cookie as the pages, and such a socket is dropped once its session ends; sockets carry no commands,
which go through the HTTP API.
With a Redis URL configured, Flask-SocketIO relays emits through Redis so that every server process
reaches its own clients; a committed command's emits cross Redis as one message (:mod:`server.message_queue`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import socket as socket_module
import sys
import time
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import SocketIO, disconnect, join_room, leave_room, rooms
from socketio import PubSubManager

from server.domain.errors import DomainError
from server.fanout import DirectFanout
from server.message_queue import Emit, HallRedisManager
from server.services.access import STAFF_VIEWS, require, require_counter, resolve_actor
from server.services.hall import HallService
from server.services.limits import JoinLimiter
from server.services.live import LiveHall
from server.staff_sockets import StaffSockets
from server.web import SESSION_COOKIE

log = logging.getLogger(__name__)

PUBLIC_ROLES = ("display", "kiosk", "counter", "ticket")
ROLES = PUBLIC_ROLES + STAFF_VIEWS


def public_room(branch_code: str) -> str:
    return f"public:{branch_code}"


def staff_room(branch_code: str) -> str:
    return f"staff:{branch_code}"


def ticket_room(branch_code: str, ticket_id: int) -> str:
    return f"ticket:{branch_code}:{ticket_id}"


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != "private"}


class WithoutWebSocketCompression:
    """WSGI middleware: the server declines per-message deflate on websockets.

    Browsers offer it on every websocket, and eventlet accepts: then every message is compressed again
    for every display, with a zlib context kept per connection. Hall messages are a few hundred bytes
    on a local network; at 1,000 displays compression took the server from 60 % to all of a core and
    from 195 MB to 410 MB, for no gain. Without the offer the handshake simply settles on no extension.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.app(environ, start_response)


def use_timerless_socket_queues(socketio: SocketIO) -> None:
    """Give each Engine.IO socket a send queue whose blocking ``get`` sets no timer.

    Every message to every client passes through its socket's queue, where the websocket writer waits
    with a timeout of ping interval + ping timeout. Under eventlet that timeout is a hub timer created
    and cancelled per message, and cancelled timers make the hub rebuild its timer heap: with 1,000
    displays that was a sixth of the fan-out's cost. The timeout is not needed: Engine.IO's service task
    closes a socket whose client stopped answering pings, and closing puts the ``None`` that ends the
    writer; a long-polling request still returns within a ping interval, since pings are packets too.
    """
    if socketio.async_mode != "eventlet" or socketio.server is None:
        return
    import eventlet.queue

    class TimerlessQueue(eventlet.queue.Queue):  # type: ignore[misc]
        def get(self, block: bool = True, timeout: float | None = None) -> Any:
            return super().get(block, None)

    socketio.server.eio.create_queue = TimerlessQueue


def drop_clients_that_fall_behind(socketio: SocketIO, max_queued: int) -> None:
    """Bound each connection's send queue: a client with ``max_queued`` messages still waiting is dropped.

    Engine.IO queues every message for every client without limit. A client that stops reading (a tablet gone to
    sleep mid-connection, a script that connects and never reads, a long-polling client that never polls again)
    would make the server keep every message for it until the ping timeout, and a busy hall makes hundreds a
    minute. Past the bound the queue is emptied and the connection closed: the client's Socket.IO library
    reconnects, and ``live.js`` joins again and starts from a fresh snapshot, which holds everything it missed. A
    websocket whose writer is stuck on a full kernel buffer is shut down too, so the stuck write ends at once.
    """
    server = socketio.server
    if server is None:
        return
    eio = server.eio
    send_packet = eio.send_packet
    queue_empty = eio.get_queue_empty_exception()

    def bounded(sid: str, pkt: Any) -> None:
        connection = eio.sockets.get(sid)
        if connection is not None and not connection.closed and connection.queue.qsize() >= max_queued:
            _drop(connection, queue_empty)
            return
        send_packet(sid, pkt)

    eio.send_packet = bounded


def _drop(connection: Any, queue_empty: type[BaseException]) -> None:
    """Close a connection that fell behind, dropping what it had not yet been sent."""
    log.warning("live client %s fell %d messages behind: dropped (it resyncs when it reconnects)", connection.sid,
                connection.queue.qsize())
    while True:
        try:
            connection.queue.get(block=False)
            connection.queue.task_done()
        except queue_empty:
            break
    websocket = getattr(connection, "direct_websocket", None)
    connection.close(wait=False, abort=True)
    if websocket is not None:
        with contextlib.suppress(OSError):
            websocket.socket.shutdown(socket_module.SHUT_RDWR)


class SocketIOPublisher:
    """Emits committed events and derived live state to the branch's rooms, in order.

    ``listener`` (the live side) hears of every committed batch so that estimates follow the queue.
    """

    def __init__(self, socketio: SocketIO, listener: Callable[[str, list[dict[str, Any]]], None] | None = None
                 ) -> None:
        self.socketio = socketio
        self.listener = listener
        self.fanout: DirectFanout | None = None  # set when broadcasts may be written straight to websockets

    def _listened(self, room: str, *, local_only: bool) -> bool:
        """Whether an emit to ``room`` can reach anyone. Without a message queue every socket is local, so an
        empty room here is empty everywhere; ``local_only`` says the message is for this process's sockets only
        (ticket updates: each process hands its own phones the updates of the branch's holder, which shares them as
        one message per refresh, :mod:`server.services.live_share`). Skipping empty rooms matters: a long queue
        means thousands of ticket rooms, most without a phone attached."""
        server = self.socketio.server
        if server is None:
            return False
        manager = server.manager
        if not local_only and isinstance(manager, PubSubManager):
            return True
        return room in manager.rooms.get("/", {})

    def publish(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        emits: list[Emit] = []
        for event in events:
            public = public_event(event)
            if not event.get("quiet"):  # one of a bulk change: the screens resync once, on the gap it leaves
                emits.append(("hall_event", event, staff_room(branch_code)))
                emits.append(("hall_event", public, public_room(branch_code)))
            ticket = event.get("ticket")
            if isinstance(ticket, dict) and ticket.get("id") is not None:
                emits.append(("hall_event", public, ticket_room(branch_code, ticket["id"])))
        self._emit_all(emits)
        if self.listener is not None:
            self.listener(branch_code, events)

    def _emit_all(self, emits: list[Emit]) -> None:
        """A command's emits, in order: through Redis as one message (:meth:`HallRedisManager.emit_many`), else each
        on its own as :meth:`_emit` does (one process: empty rooms skipped, the direct fan-out)."""
        server = self.socketio.server
        manager = None if server is None else server.manager
        if isinstance(manager, HallRedisManager):
            manager.emit_many(emits)  # every room counts as listened behind a message queue (see _listened)
            return
        for name, message, room in emits:
            self._emit(name, message, room)

    def _emit(self, name: str, message: dict[str, Any], room: str, *, local_only: bool = False) -> None:
        if not self._listened(room, local_only=local_only):
            return
        if self.fanout is not None:
            self.fanout.emit(name, message, room)
        elif local_only:  # not through the message queue: the other processes hand their phones their own copy
            self.socketio.emit(name, message, to=room, ignore_queue=True)
        else:
            self.socketio.emit(name, message, to=room)

    def publish_summary(self, branch_code: str, summary: dict[str, Any]) -> None:
        """The public room gets the summary without its ``private`` part (the hall alerts)."""
        self._emit_all([("hall_summary", public_event(summary), public_room(branch_code)),
                        ("hall_summary", summary, staff_room(branch_code))])

    def publish_ticket_updates(self, branch_code: str, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            self._emit("ticket_update", update, ticket_room(branch_code, update["ticket_id"]), local_only=True)


def _refused(error: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "message": message}


def register_socket_handlers(socketio: SocketIO, hall: HallService, live: LiveHall, heap: HeapKeeper,
                             staff_sockets: StaffSockets, joins: JoinLimiter | None = None) -> None:
    """The ``join`` handler: checks the role, joins the rooms and answers with the role's snapshot. A staff or
    manager join needs a session that holds (the handshake's cookie, checked at each join like an API request), and
    the socket is dropped when that session ends (:mod:`server.staff_sockets`). ``joins`` limits joins per
    connection and address (each one reads and sends a snapshot): past the limit a join is refused with
    ``too_many_joins`` and ``retry_after_s``, and a connection that goes on is closed."""

    @socketio.on("join")
    def on_join(payload: Any) -> dict[str, Any] | None:
        if joins is not None:
            try:
                if not joins.admit(request.sid, request.remote_addr or ""):  # type: ignore[attr-defined]
                    disconnect()
                    return None
            except DomainError as exc:
                return {**_refused(exc.code, exc.message), **exc.details}
        if not isinstance(payload, dict):
            return _refused("invalid_request", "join needs an object: {role, branch, ...}")
        role, branch_code = payload.get("role"), payload.get("branch")
        if role not in ROLES:
            return _refused("invalid_role", f"role must be one of {', '.join(ROLES)}")
        try:
            branch = hall.branch(branch_code)
            opened = None
            if role in STAFF_VIEWS:  # the same rules as the API's staff and manager routes
                opened = staff_sockets.sessions.resume(request.cookies.get(SESSION_COOKIE))
                actor = resolve_actor(hall.config, opened.account.username if opened else None)
                require(hall.config, actor, role, branch, manager_code="forbidden")
        except DomainError as exc:
            return _refused(exc.code, exc.message)

        for room in rooms():
            if room != request.sid:  # type: ignore[attr-defined]
                leave_room(room)
        if opened is None:
            staff_sockets.left(request.sid)  # type: ignore[attr-defined]
        else:
            staff_sockets.joined(request.sid, opened.key, opened.account.username)  # type: ignore[attr-defined]
        try:
            if role == "ticket":
                token = payload.get("token")
                if not isinstance(token, str) or not token:
                    return _refused("invalid_request", "the ticket role needs the ticket's token")
                ticket = hall.queries.ticket_by_token(token)
                if ticket["branch"] != branch.code:
                    return _refused("unknown_ticket", "no such ticket")
                join_room(ticket_room(branch.code, ticket["id"]))
                snapshot = {**hall.queries.ticket_by_token(token), "seq": live.branch_seq(branch.code)}
            elif role in STAFF_VIEWS:
                join_room(staff_room(branch.code))
                snapshot = live.decorate_snapshot(hall.queries.snapshot(branch.code, staff=True), staff=True)
            else:
                join_room(public_room(branch.code))
                snapshot = live.decorate_snapshot(hall.queries.snapshot(branch.code))
                if role == "display" and payload.get("zone"):
                    snapshot = _zoned(snapshot, branch, str(payload["zone"]))
                if role == "counter":
                    counter = require_counter(branch, str(payload.get("counter", "")))
                    snapshot["counter"] = hall.queries.counter_public(branch.code, counter.number)
        except DomainError as exc:
            return _refused(exc.code, exc.message)
        heap.note_join()
        return {"ok": True, "role": role, "snapshot": snapshot}

    @socketio.on("ping_hall")
    def on_ping(_payload: Any = None) -> dict[str, Any]:
        """A cheap round trip for clients that want to show their connection health."""
        return {"ok": True, "server_time": time.time()}


def _zoned(snapshot: dict[str, Any], branch: Any, zone_code: str) -> dict[str, Any]:
    """A display zone: the subset of services and counters a display in one part of a large hall shows."""
    zone = next((z for z in branch.zones if z.code == zone_code), None)
    if zone is None:
        raise DomainError(f"branch {branch.code} has no display zone {zone_code!r}", code="unknown_zone",
                          http_status=404)
    services, counters = set(zone.services), set(zone.counters)
    snapshot["zone"] = {"code": zone.code, "name": zone.name.as_dict(), "services": sorted(services),
                        "counters": sorted(counters)}
    snapshot["services"] = [s for s in snapshot["services"] if s["code"] in services]
    snapshot["counters"] = [c for c in snapshot["counters"] if c["number"] in counters]
    snapshot["recent_calls"] = [c for c in snapshot["recent_calls"] if c["counter"] in counters]
    return snapshot


class HeapKeeper:
    """Keeps Python's cyclic garbage collector from pausing pushes.

    With a thousand connected screens a full collection walks every long-lived object (sockets,
    greenlets, queues): measured pauses of 100-230 ms, the whole latency budget of a push. Objects that
    live long — everything made at start-up and by each wave of joining clients — are therefore frozen
    (``gc.freeze``) out of the collector's walks once joins settle, so routine collections only walk
    young objects. Frozen objects that later become cyclic garbage (a screen that left) are reclaimed by
    a full unfreeze-collect-freeze when the hall is quiet, at most once an hour.
    """

    def __init__(self, settle_s: float = 2.0, reclaim_every_s: float = 3600.0, quiet_s: float = 5.0) -> None:
        self.settle_s, self.reclaim_every_s, self.quiet_s = settle_s, reclaim_every_s, quiet_s
        self.last_join: float | None = None
        self.last_event = time.monotonic()
        self.last_reclaim = time.monotonic()

    def note_join(self) -> None:
        self.last_join = time.monotonic()

    def note_events(self) -> None:
        self.last_event = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if self.last_join is not None and now - self.last_join >= self.settle_s:
            self.last_join = None
            gc.collect(1)  # the young garbage first: only survivors get frozen
            gc.freeze()
        if now - self.last_reclaim >= self.reclaim_every_s and now - self.last_event >= self.quiet_s:
            self.last_reclaim = now
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    @staticmethod
    def start() -> None:
        """At start-up: freeze what the application built (config, engines, templates, modules).

        Also hand the interpreter lock back and forth more often (1 ms instead of 5): the estimator runs
        in a native thread, and the thread serving the sockets should not wait 5 ms for its turn.
        """
        gc.collect()
        gc.freeze()
        sys.setswitchinterval(0.001)
