"""Request-bound helpers shared by the JSON API and the pages: who is asking, from which device, at which address."""

from __future__ import annotations

from flask import current_app, g, request, session

from server.domain.errors import DomainError
from server.services import access
from server.services.actor import Actor
from server.settings import HallConfig

DEVICE_HEADER = "X-Device-Id"
DEVICE_ID_MAX = 64  # ticket_event.device


def public_base_url() -> str:
    """``server.public_url`` when configured, else the scheme and host this request came in on."""
    return current_app.extensions["hall"].config.server.public_url or request.host_url.rstrip("/")


def hall_config() -> HallConfig:
    return current_app.extensions["hall"].config


def device_id() -> str | None:
    """The calling device's own id (``X-Device-Id``: a kiosk, a pad), kept in the event rows it causes."""
    device = (request.headers.get(DEVICE_HEADER) or "").strip()
    if len(device) > DEVICE_ID_MAX or not device.isprintable():
        raise DomainError(f"{DEVICE_HEADER} must be at most {DEVICE_ID_MAX} printable characters",
                          code="bad_device_id", http_status=400)
    return device or None


def current_actor() -> Actor:
    """Who sends this request, resolved once per request from the session (kept in ``flask.g``)."""
    actor = g.get("actor")
    if actor is None:
        username = session.get("username")
        actor = access.resolve_actor(hall_config(), username, device_id())
        if username and actor.username is None:  # the account was removed from the configuration
            session.clear()
        g.actor = actor
    return actor


def forget_actor() -> None:
    """After signing in or out within a request: the next :func:`current_actor` reads the new session."""
    g.pop("actor", None)
