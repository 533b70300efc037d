"""HTTP endpoints for kiosks and their printers: settings, printing a ticket, the manager's device faults.

Registered on the API's one blueprint (``server.api.registry.api``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from server.api.registry import api, route
from server.api.schemas import Body, Code
from server.device_web import device_actor
from server.domain.api_tokens import Scope
from server.services.access import MANAGER, PUBLIC
from server.services.printing import PrintingService, ticket_url
from server.web import public_base_url


class PrintTicketRequest(Body):
    kiosk: str = Code


def printing() -> PrintingService:
    return current_app.extensions["printing"]


@route(api, "/branches/<branch>/kiosks", "GET", "Kiosk settings: printer kind, confirmation and idle timers",
       tag="kiosks", auth=PUBLIC, responses={404: "unknown branch"}, token=Scope.READ.value)
def list_kiosks(branch: str) -> Any:
    kiosks = printing().kiosks(branch)
    return jsonify({"branch": branch, "kiosks": kiosks, "ticket_url": ticket_url(public_base_url(), "{token}")})


@route(api, "/tickets/<token>/print", "POST",
       "Print the ticket on the network printer of the kiosk that issued it (ESC/POS), a bounded number of times "
       "soon after the issue; staff of the branch may print it again at any kiosk",
       tag="kiosks", auth=PUBLIC, body=PrintTicketRequest,
       responses={401: "the branch's kiosks must be paired and this one is not (device_not_paired, device_revoked)",
                  403: "another kiosk issued the ticket (wrong_kiosk), or this device is paired as another one "
                       "(wrong_device)",
                  404: "unknown ticket or kiosk",
                  409: "the kiosk has no network printer, the ticket is closed, printed as often as a kiosk may "
                       "(print_limit_reached), too long after its issue (print_window_passed), or being printed "
                       "(print_in_progress)",
                  503: "printer_failed: the printer did not take the ticket (it stays valid; show the QR)"})
def print_ticket(token: str, body: PrintTicketRequest) -> Any:
    return jsonify(printing().print_ticket(token, body.kiosk, public_base_url(), device_actor()))


@route(api, "/branches/<branch>/device-faults", "GET", "Kiosk printer faults of the last 24 hours (managers)",
       tag="kiosks", auth=MANAGER, responses={404: "unknown branch"}, token=Scope.READ.value)
def device_faults(branch: str) -> Any:
    return jsonify(printing().device_faults(branch))
