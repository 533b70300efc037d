"""The manager's equipment alerts: paired devices gone silent and kiosk printers in trouble, as one list.

An alert starts and ends with a hall event, pushed to the branch's staff room only (in the event's ``private``
part, which the public rooms never get, see :func:`server.realtime.public_event`):

* ``device_offline`` (recorded once, by :meth:`DeviceService.watch <server.services.devices.DeviceService.watch>`,
  from the live loop) starts a device's alert; ``device_online`` (its next heartbeat) and ``device_revoked`` end it;
* every ``printed`` / ``print_failed`` says what the kiosk's printer has now: a problem starts or updates its alert,
  none ends it (:func:`server.domain.device_alerts.printer_problem`, the latest print decides).

Each such event carries ``private.alert``: the alert as :func:`offline_alert` / :func:`printer_alert` make it, or
``{"key", "active": false}`` when it ends. :meth:`DeviceAlerts.alerts` gives the list as it stands, for a page
that (re)connects.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from server.domain.device_alerts import PRINTER_PROBLEMS, AlertType, device_key, printer_key, severity
from server.domain.devices import Device, DeviceKind, Role
from server.domain.hall import Branch
from server.services.actor import Actor
from server.services.views import iso

if TYPE_CHECKING:
    from server.services.devices import DeviceService
    from server.services.printing import PrintingService


def offline_alert(device: Device, branch: Branch) -> dict[str, Any]:
    """A paired device that went silent: which one, named as the manager named it and by its role, and since when
    it is not heard."""
    assert device.id is not None
    return _alert(device_key(device.id), AlertType.DEVICE_OFFLINE, branch, device.role, device.heard_at,
                  device_id=device.id, name=device.name)


def printer_alert(branch: Branch, kiosk_id: str, problem: str, since: datetime) -> dict[str, Any]:
    """A kiosk's printer with a problem (a code of :data:`PRINTER_PROBLEMS`), since its print at ``since``."""
    return _alert(printer_key(kiosk_id), AlertType.PRINTER, branch, Role(DeviceKind.KIOSK, kiosk_id), since,
                  problem=problem)


def ended(key: str) -> dict[str, Any]:
    """An alert that ends (the device was heard again or revoked, the printer printed fine)."""
    return {"key": key, "active": False}


def _alert(key: str, kind: AlertType, branch: Branch, role: Role, since: datetime, *, device_id: int | None = None,
           name: str | None = None, problem: str | None = None) -> dict[str, Any]:
    return {"key": key, "active": True, "type": kind.value, "severity": severity(kind, problem).value,
            "device_id": device_id, **role.as_dict(),
            "role_name": role.label(branch).as_dict(), "name": name, "since": iso(since), "problem": problem,
            "problem_name": PRINTER_PROBLEMS[problem].as_dict() if problem else None}


class DeviceAlerts:
    """The list of a branch's equipment alerts as it stands (managers)."""

    def __init__(self, devices: DeviceService, printing: PrintingService) -> None:
        self.devices = devices
        self.printing = printing

    def alerts(self, branch_code: str, actor: Actor) -> dict[str, Any]:
        """Silent devices (oldest silence first), then printers with a problem."""
        offline = self.devices.offline(branch_code, actor)
        printers = self.printing.printer_alerts(branch_code)
        return {"branch": branch_code, "generated_at": iso(self.devices.clock()), "alerts": offline + printers}


__all__ = ["DeviceAlerts", "ended", "offline_alert", "printer_alert"]
