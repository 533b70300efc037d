"""Trusted devices over HTTP: a device asks to be paired and sends heartbeats; managers pair, list, rename and
revoke devices; and :func:`device_rule`, the access rule of the routes only a paired device may call.

``device_rule(kind)`` goes above ``route(...)``: before the body is read, the request must come from the device
paired for that kind and the path's counter (or, for a rating pad, from the member of staff signed in at that
counter), else 401 ``device_not_paired`` / ``device_revoked`` or 403 ``wrong_device`` / ``not_at_counter`` /
``forbidden``. :data:`DEVICE_RULES` lists those routes for the generated access test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, request
from pydantic import Field

from server.api import responses as R
from server.api.registry import api, current_actor, route
from server.api.schemas import Body, Code
from server.device_web import device_actor, device_secret, devices, set_device_cookie
from server.domain.devices import DeviceKind, Role
from server.services.access import MANAGER, PUBLIC

DEVICES = "/branches/<branch>/devices"
DEVICE_REFUSED = {401: "this device is not paired (device_not_paired) or its pairing was revoked (device_revoked)",
                  403: "paired for another role (wrong_device), staff not signed in at this counter (not_at_counter) "
                       "or of another branch (forbidden)"}

DEVICE_RULES: dict[str, DeviceKind] = {}
"""``"api.<view>"`` of every route that only a paired device (of this kind, at the path's counter) may call."""


def device_rule(kind: DeviceKind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only the device paired as ``kind`` for the path's ``<branch>`` and ``<counter>`` call the route below."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        DEVICE_RULES[f"{api.name}.{view.__name__}"] = kind
        return view

    return register


@api.before_request
def require_declared_device() -> None:
    """Apply a route's :func:`device_rule` before its body is read."""
    kind = DEVICE_RULES.get(request.endpoint or "")
    if kind is None:
        return
    args = request.view_args or {}
    devices().require(args.get("branch", ""), Role(kind, args.get("counter")), device_actor())


class PairingRequest(Body):
    branch: str = Code
    kind: str = Field(min_length=1, max_length=32, description="kiosk, wall, counter_display or pad")
    target: str | None = Field(default=None, max_length=32,
                               description="the kiosk's id, the counter's number, or the wall display's zone")


class PairDeviceRequest(Body):
    code: str = Field(min_length=6, max_length=12, description='the code the device shows, "482 913"')
    kind: str = Field(min_length=1, max_length=32, description="kiosk, wall, counter_display or pad")
    target: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=40, description="e.g. by the door")


class RenameDeviceRequest(Body):
    name: str | None = Field(default=None, max_length=40, description="blank: show its role")


# --- the device -----------------------------------------------------------------------------------------------

@route(api, "/devices/pairing", "POST",
       "A device page asks to be paired for a role: its pairing code (the credential comes as an HTTP-only cookie)",
       tag="devices", auth=PUBLIC, body=PairingRequest, status=201, response=R.DeviceSelf,
       responses={404: "unknown branch", 422: "no such role at the branch (bad_role)",
                  429: "too many devices are waiting to be paired (too_many_pairings)"})
def request_pairing(body: PairingRequest) -> Any:
    view, secret = devices().request_pairing(body.branch, body.kind, body.target, device_secret(),
                                             request.headers.get("User-Agent"))
    response = jsonify(view)
    if secret is None:
        return response, 200
    set_device_cookie(response, secret)
    return response, 201


@route(api, "/devices/me", "GET", "This device: pending (with its code), paired or revoked", tag="devices",
       auth=PUBLIC, response=R.DeviceSelf, responses={401: "this browser holds no pairing (device_not_paired)"})
def this_device() -> Any:
    return jsonify(devices().me(device_secret()))


@route(api, "/devices/me/heartbeat", "POST", "A paired device says it is there (and keeps its credential)",
       tag="devices", auth=PUBLIC, response=R.DeviceSelf,
       responses={401: "not paired (device_not_paired) or revoked (device_revoked)"})
def heartbeat() -> Any:
    secret = device_secret()
    response = jsonify(devices().heartbeat(secret))
    assert secret is not None
    set_device_cookie(response, secret)  # renewed: a browser keeps a cookie 400 days at most
    return response


# --- managers -------------------------------------------------------------------------------------------------

@route(api, DEVICES, "GET", "The branch's paired and revoked devices: role, last heartbeat, offline since (managers)",
       tag="devices", auth=MANAGER, response=R.DeviceList)
def list_devices(branch: str) -> Any:
    return jsonify(devices().devices(branch, current_actor()))


@route(api, "/branches/<branch>/device-alerts", "GET",
       "Equipment alerts as they stand: paired devices gone silent, kiosk printers in trouble (managers); the "
       "events that start and end them reach the staff room live", tag="devices", auth=MANAGER,
       response=R.DeviceAlertList)
def device_alerts(branch: str) -> Any:
    return jsonify(current_app.extensions["device_alerts"].alerts(branch, current_actor()))


@route(api, "/branches/<branch>/pairing-requests/<code>", "GET",
       "The device showing this pairing code: the role it asks for, its browser (managers)", tag="devices",
       auth=MANAGER, response=R.ManagedDevice, responses={404: "no device shows this code (unknown_pairing_code)"})
def pairing_request(branch: str, code: str) -> Any:
    return jsonify(devices().pending(branch, code, current_actor()))


@route(api, DEVICES, "POST", "Pair the device showing a code for a role of the branch (managers)", tag="devices",
       auth=MANAGER, body=PairDeviceRequest, status=201, response=R.ManagedDevice,
       responses={404: "no device shows this code (unknown_pairing_code)",
                  409: "the code expired meanwhile (pairing_expired)", 422: "no such role (bad_role) or bad name"})
def pair_device(branch: str, body: PairDeviceRequest) -> Any:
    device = devices().pair(branch, body.code, body.kind, body.target, body.name, current_actor())
    return jsonify(device), 201


@route(api, f"{DEVICES}/<id:device_id>", "PATCH", "Rename a device (managers)", tag="devices", auth=MANAGER,
       body=RenameDeviceRequest, response=R.ManagedDevice,
       responses={404: "unknown device", 409: "revoked (already_revoked)", 422: "bad name"})
def rename_device(branch: str, device_id: int, body: RenameDeviceRequest) -> Any:
    return jsonify(devices().rename(branch, device_id, body.name, current_actor()))


@route(api, f"{DEVICES}/<id:device_id>/revoke", "POST",
       "Revoke a device: its credential opens nothing any more, its page shows a new pairing code (managers)",
       tag="devices", auth=MANAGER, response=R.ManagedDevice,
       responses={404: "unknown device", 409: "already revoked (already_revoked)"})
def revoke_device(branch: str, device_id: int) -> Any:
    return jsonify(devices().revoke(branch, device_id, current_actor()))
