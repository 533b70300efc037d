"""The overview page's socket: ``watch_overview`` with ``{"region"}`` (optional), checked by the same rule as
``GET /api/overview`` with the session of the handshake's cookie; the acknowledgement is the listing
(``{"ok": true, "overview": {...}}``), then ``overview`` messages carry the rows that changed and the new order,
at most one a second (:class:`server.services.overview.OverviewWatchers`). A refused watch acknowledges
``{"ok": false, "error", "message"}``. The socket is dropped when its session ends (:mod:`server.staff_sockets`).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import SocketIO, disconnect

from server.domain.errors import DomainError
from server.services.access import REPORTS, require, resolve_actor
from server.services.hall import HallService
from server.services.limits import JoinLimiter
from server.services.overview import OverviewWatchers
from server.staff_sockets import StaffSockets
from server.web import SESSION_COOKIE

REGION_MAX = 32


def register_overview_handlers(socketio: SocketIO, hall: HallService, watchers: OverviewWatchers,
                               staff_sockets: StaffSockets, joins: JoinLimiter | None = None) -> None:
    @socketio.on("watch_overview")
    def on_watch(payload: Any = None) -> dict[str, Any] | None:
        sid: str = request.sid  # type: ignore[attr-defined]
        if joins is not None:
            try:
                if not joins.admit(sid, request.remote_addr or ""):
                    disconnect()
                    return None
            except DomainError as exc:
                return {"ok": False, "error": exc.code, "message": exc.message, **exc.details}
        payload = payload if payload is not None else {}
        region = payload.get("region") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or (region is not None and (
                not isinstance(region, str) or len(region) > REGION_MAX or not region.isprintable())):
            return {"ok": False, "error": "invalid_request",
                    "message": f"watch_overview takes {{region}}: a text of at most {REGION_MAX} characters"}
        try:
            opened = staff_sockets.sessions.resume(request.cookies.get(SESSION_COOKIE))
            actor = resolve_actor(hall.config, opened.account.username if opened else None)
            require(hall.config, actor, REPORTS, None, manager_code="forbidden")  # as GET /api/overview
            listing = watchers.watch(sid, actor, (region or "").strip() or None)
        except DomainError as exc:
            watchers.unwatch(sid)
            return {"ok": False, "error": exc.code, "message": exc.message}
        assert opened is not None  # require refused nobody signed in
        staff_sockets.joined(sid, opened.key, opened.account.username)
        return {"ok": True, "overview": listing}

    @socketio.on("disconnect")
    def on_disconnect(*_args: Any) -> None:
        watchers.unwatch(request.sid)  # type: ignore[attr-defined]
