"""Room broadcasts written straight to each display's websocket (eventlet, one process, no message queue).

Engine.IO gives every connection a send queue and a writer greenlet. A broadcast to 1,000 displays was
then 1,000 queue puts, 1,000 hub timers, 2,000 greenlet switches and 1,000 writer-loop turns around the
1,000 ``send`` calls that are the real work: about 50 µs a display, the ``send`` a fifth of it.

:class:`DirectFanout` encodes a broadcast once, frames it once (RFC 6455, unmasked text; the server
declines compression, see :class:`server.realtime.WithoutWebSocketCompression`) and writes the frame to
each connection with one non-blocking ``send``, when that connection is idle: upgraded to websocket,
nothing in its Engine.IO queue, and its websocket's send lock free (eventlet serialises writers per
websocket with that lock). Otherwise the message goes through the connection's queue as before, so
per connection the order of messages is kept: a queued message is older than anything sent directly
after it, and a message that finds the lock taken queues behind the send holding it. When the kernel
buffer of a slow client takes only part of a frame, a small greenlet sends the rest and holds the lock
until then, so later messages queue behind it and no frame is interleaved.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import engineio.packet
import socketio.packet
from flask_socketio import SocketIO

NAMESPACE = "/"


def text_frame(payload: str) -> bytes:
    """One unmasked, final websocket text frame (RFC 6455 §5.2), as a server sends it."""
    data = payload.encode("utf-8")
    length = len(data)
    if length <= 125:
        header = struct.pack("!BB", 0x81, length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + data


def capture_websockets(socketio_app: SocketIO) -> None:
    """Let each Engine.IO socket know its websocket while the connection lasts (``direct_websocket``)."""
    eio = socketio_app.server.eio
    base = eio._async["websocket"]

    class CapturingWebSocketWSGI(base):  # type: ignore[misc, valid-type]
        def __init__(self, handler: Callable[[Any], Any], server: Any) -> None:
            connection = getattr(handler, "__self__", None)

            def handle(ws: Any) -> Any:
                if connection is not None:
                    connection.direct_websocket = ws
                try:
                    return handler(ws)
                finally:
                    if connection is not None:
                        connection.direct_websocket = None

            super().__init__(handle, server)

    eio._async = {**eio._async, "websocket": CapturingWebSocketWSGI}


class DirectFanout:
    """Emits to a room: straight to the idle websockets, through Engine.IO's queues for the rest."""

    def __init__(self, socketio_app: SocketIO) -> None:
        self.socketio = socketio_app

    def emit(self, event: str, data: Any, room: str) -> None:
        server = self.socketio.server
        eio = server.eio
        encoded = server.packet_class(socketio.packet.EVENT, namespace=NAMESPACE, data=[event, data]).encode()
        if isinstance(encoded, list):  # binary attachments: not ours, but never send them half-done
            self.socketio.emit(event, data, to=room)
            return
        message = engineio.packet.Packet(engineio.packet.MESSAGE, encoded)
        frame: bytes | None = None
        for _sid, eio_sid in list(server.manager.get_participants(NAMESPACE, room)):
            connection = eio.sockets.get(eio_sid)
            if connection is None:
                continue
            ws = getattr(connection, "direct_websocket", None)
            if (ws is not None and hasattr(ws, "extensions") and not ws.extensions and connection.upgraded
                    and not connection.upgrading and not connection.closed and connection.queue.qsize() == 0):
                if frame is None:
                    frame = text_frame(message.encode())
                if self._send_now(ws, frame):
                    continue
            eio.send_packet(eio_sid, message)

    def _send_now(self, ws: Any, frame: bytes) -> bool:
        """Write ``frame`` if the websocket is free; False when it must go through the queue instead."""
        lock = ws._sendlock
        if not lock.acquire(blocking=False):
            return False
        try:
            sent = ws.socket.fd.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:  # the client is going away; Engine.IO notices and closes the connection
            lock.release()
            return True
        if sent == len(frame):
            lock.release()
            return True
        self.socketio.start_background_task(self._send_rest, ws, lock, frame[sent:])
        return True

    @staticmethod
    def _send_rest(ws: Any, lock: Any, rest: bytes) -> None:
        try:
            ws.socket.sendall(rest)
        except OSError:
            pass
        finally:
            lock.release()
