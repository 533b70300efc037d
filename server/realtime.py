"""Socket.IO adapter: committed events go to the branch's rooms; public rooms never see private fields.

Rooms per branch: ``public:<branch>`` (displays, kiosks, customers' tickets) and ``staff:<branch>``
(signed-in staff and managers). With a Redis URL configured, Flask-SocketIO relays emits through
Redis so that every server process reaches its own clients.
"""

from __future__ import annotations

from typing import Any

from flask_socketio import SocketIO


def public_room(branch_code: str) -> str:
    return f"public:{branch_code}"


def staff_room(branch_code: str) -> str:
    return f"staff:{branch_code}"


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != "private"}


class SocketIOPublisher:
    """The service layer's publisher: emits each committed event to the branch's rooms, in order."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio

    def publish(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.socketio.emit("hall_event", event, to=staff_room(branch_code))
            self.socketio.emit("hall_event", public_event(event), to=public_room(branch_code))
