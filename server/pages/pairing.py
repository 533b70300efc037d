"""The gate in front of every device page: a kiosk, wall or counter display or rating pad that must be paired and is
not shows its pairing screen instead of its page, and a device paired for another role of the branch is sent to
its own page.

Which kinds must be paired is the branch's rule (:class:`server.domain.devices.DeviceSettings`); who counts as
the device is :func:`server.services.access.require_device`'s. A paired device's page also gets the heartbeat
script (``static/hall/device.js``).
"""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for

from server.device_web import device_actor, devices
from server.domain.devices import PAIRING_TTL, Device, DeviceKind, Role
from server.domain.errors import DomainError
from server.domain.hall import Branch
from server.pages.common import page_language
from server.services.access import DEVICE_REFUSALS


def page_of(device: Device) -> str:
    """The URL of the page a paired device is for."""
    role, branch = device.role, device.branch_code
    if role.kind == DeviceKind.KIOSK:
        return url_for("kiosk.kiosk_page", branch_code=branch, kiosk=role.target)
    if role.kind == DeviceKind.WALL:
        return url_for("display.wall_display", branch_code=branch, zone=role.target)
    if role.kind == DeviceKind.COUNTER_DISPLAY:
        return url_for("display.counter_display", branch_code=branch, counter_number=role.target)
    return url_for("counter_devices.rating_pad", branch_code=branch, counter_number=role.target)


def device_gate(branch: Branch, role: Role) -> Any | None:
    """None when the page may be shown; else the pairing screen, or a redirect to this device's own page."""
    actor = device_actor()
    device = actor.paired
    if device is not None and device.paired and device.branch_code == branch.code:
        g.device_heartbeat = {"heartbeat_s": branch.devices.heartbeat.total_seconds(),
                              "must_pair": branch.devices.must_pair(role.kind), "refusals": DEVICE_REFUSALS}
    if not branch.devices.must_pair(role.kind):
        return None
    try:
        devices().require(branch.code, role, actor)
    except DomainError as refusal:
        if refusal.code == "wrong_device" and device is not None and device.branch_code == branch.code:
            return redirect(page_of(device))
        return pairing_page(branch, role)
    return None


def pairing_page(branch: Branch, role: Role) -> Any:
    language = page_language() or "zh-CN"
    page = {"branch": {"code": branch.code, "name": branch.name.as_dict()}, "language": language,
            "role": role.as_dict(), "role_name": role.label(branch).as_dict(),
            "code_minutes": PAIRING_TTL.total_seconds() / 60, "manager_url": url_for(
                "back_office.manager_page", branch_code=branch.code), "path": request.full_path}
    return render_template("pairing.html", page=page, branch=branch, language=language, lock_zoom=True,
                           role_name=role.label(branch))
