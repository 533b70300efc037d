"""Paired devices for tests: a test client that asked to be paired and that a manager approved, and the same at the
service layer."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from server.services.actor import Actor
from server.services.devices import DeviceService

MANAGER = Actor("manager", "manager")


def paired_client(app: Flask, kind: str, target: str | None, *, branch: str = "SZ-FUTIAN",
                  manager: FlaskClient | None = None) -> FlaskClient:
    """A test client holding the credential of a device paired as ``kind``/``target`` (approved by ``manager``)."""
    device = app.test_client()
    asked = device.post("/api/devices/pairing", json={"branch": branch, "kind": kind, "target": target})
    assert asked.status_code == 201, asked.get_json()
    if manager is None:
        manager = app.test_client()
        assert manager.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    approved = manager.post(f"/api/branches/{branch}/devices",
                            json={"code": asked.get_json()["code"], "kind": kind, "target": target})
    assert approved.status_code == 201, approved.get_json()
    return device


def paired_actor(devices: DeviceService, kind: str, target: str | None, *, branch: str = "SZ-FUTIAN",
                 device: str | None = None, **approve: Any) -> tuple[Actor, str]:
    """An actor whose credential is a device paired as ``kind``/``target``, and that credential."""
    _, secret = devices.request_pairing(branch, kind, target, None)
    assert secret is not None
    pending = devices.authenticate(secret)
    assert pending is not None and pending.pairing_code is not None
    devices.pair(branch, pending.pairing_code, kind, target, approve.get("name"), MANAGER)
    return Actor(None, device=device, paired=devices.authenticate(secret)), secret
