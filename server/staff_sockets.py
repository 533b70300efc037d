"""The staff and manager sockets of this process follow their sessions: a socket whose session has ended leaves.

A socket joins the staff rooms with the session of its handshake's cookie (checked at each ``join``), and keeps
receiving the staff events for as long as it stays connected. So each such socket is noted here with its session's
key; sessions ended by this process (sign-out, everywhere, by a manager) disconnect their sockets at once, and
:meth:`StaffSockets.sweep` (every few seconds, from the live loop) asks the database which sessions still hold,
which is how sockets learn of sessions ended by another process, a changed configuration or the time limits.
A disconnected client re-joins, and its join is refused while its cookie opens no session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass

from flask_socketio import SocketIO

from server.services.sessions import SessionService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Joined:
    key: str  # the session's key (a hash; not the cookie's secret)
    username: str


class StaffSockets:
    """This process's sockets in the staff rooms, by session."""

    def __init__(self, socketio: SocketIO, sessions: SessionService) -> None:
        self.socketio = socketio
        self.sessions = sessions
        self._joined: dict[str, _Joined] = {}  # socket id -> its session
        self._lock = threading.Lock()
        sessions.on_end(self.ended)

    def joined(self, sid: str, key: str, username: str) -> None:
        with self._lock:
            self._joined[sid] = _Joined(key, username)

    def left(self, sid: str) -> None:
        """The socket joined a public room instead (or is gone)."""
        with self._lock:
            self._joined.pop(sid, None)

    def ended(self, keys: Collection[str]) -> None:
        """Sessions ended here: their sockets go now."""
        ended = set(keys)
        with self._lock:
            sids = [sid for sid, joined in self._joined.items() if joined.key in ended]
        self._drop(sids)

    def sweep(self) -> None:
        """Forget sockets that have gone; drop those whose session no longer holds."""
        with self._lock:
            watched = dict(self._joined)
        if not watched:
            return
        manager = self.socketio.server.manager
        gone = [sid for sid in watched if not manager.is_connected(sid, "/")]
        with self._lock:
            for sid in gone:
                self._joined.pop(sid, None)
        connected = {sid: joined for sid, joined in watched.items() if sid not in gone}
        live = self.sessions.live({joined.key for joined in connected.values()})
        self._drop([sid for sid, joined in connected.items() if joined.key not in live])

    def _drop(self, sids: list[str]) -> None:
        for sid in sids:
            with self._lock:
                joined = self._joined.pop(sid, None)
            if joined is None:
                continue
            log.info("staff socket of %s closed: its session has ended", joined.username)
            try:
                self.socketio.server.disconnect(sid, namespace="/")
            except Exception:  # already gone
                log.debug("socket %s was gone", sid, exc_info=True)

    def __len__(self) -> int:
        return len(self._joined)
