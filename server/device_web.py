"""Request-bound helpers for paired devices: the device credential cookie, and the actor with the device it proves.

The credential is a random string the server hands a device when it asks to be paired; the browser keeps it in
an HTTP-only cookie (scripts cannot read it, so a script injected into a page could not carry it off), and sends
it with every page load, API call and socket handshake without the pages' scripts doing anything. The database
keeps only its SHA-256 (:mod:`server.services.devices`).
"""

from __future__ import annotations

import dataclasses

from flask import Response, current_app, g, request

from server.domain.devices import Device
from server.services.actor import Actor
from server.services.devices import DeviceService
from server.web import current_actor

DEVICE_COOKIE = "hall_device"
COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest a browser keeps a cookie; every heartbeat renews it


def devices() -> DeviceService:
    return current_app.extensions["devices"]


def device_secret() -> str | None:
    return request.cookies.get(DEVICE_COOKIE) or None


def current_device() -> Device | None:
    """The device whose credential this request carries (in any state), looked up once per request."""
    if "hall_device" not in g:
        g.hall_device = devices().authenticate(device_secret())
    return g.hall_device


def device_actor() -> Actor:
    """The request's actor (:func:`server.web.current_actor`: the staff session, the ``X-Device-Id``) with the
    device its credential proves, for the rules that ask which device is calling. A request made with an API
    token is the token alone (its device cookie is not read)."""
    actor = current_actor()
    if actor.token is not None:
        return actor
    return dataclasses.replace(actor, paired=current_device())


def set_device_cookie(response: Response, secret: str) -> None:
    """Hand the device its credential (HTTP-only, SameSite=Lax; ``Secure`` when this request came over HTTPS)."""
    response.set_cookie(DEVICE_COOKIE, secret, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="Lax",
                        secure=request.is_secure, path="/")


__all__ = ["DEVICE_COOKIE", "current_device", "device_actor", "device_secret", "devices", "set_device_cookie"]
