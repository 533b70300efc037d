"""The virtual queue's routes: join from a phone, the wall's arrival code, check in (by the wall's QR, at the kiosk,
by staff). The phone number travels only in POST bodies. The rules are the service's (server/services/remote.py)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from server.api.registry import api, current_actor, route
from server.api.routes import hall, idempotency_key
from server.api.schemas import ArrivalRequest, KioskArrivalRequest, RemoteJoinRequest
from server.device_web import device_actor
from server.services.access import PUBLIC, STAFF
from server.services.remote import remote_services
from server.web import device_id

JOIN_REFUSED = ("the service takes no tickets from phones (remote_not_offered), the number holds an open remote "
                "ticket here (remote_ticket_open) or has taken today's (remote_daily_limit), or the service is closed, "
                "stopped or full; details.text in both languages")
CHECKIN_REFUSED = "the ticket needs no check-in (not_remote) or no longer waits (not_waiting)"


@route(api, "/remote/<branch>/services", "GET", "The services of a branch a customer may join from a phone",
       tag="remote", auth=PUBLIC, responses={404: "unknown branch"})
def remote_join_services(branch: str) -> Any:
    found = hall().branch(branch)
    return jsonify({"branch": found.code, "services": remote_services(found)})


@route(api, "/remote/<branch>/tickets", "POST", "Take a ticket on the phone before arriving: it waits, not called "
       "until it checks in at the hall", tag="remote", auth=PUBLIC, body=RemoteJoinRequest, idempotent=True,
       status=201, responses={400: "a bad phone number (bad_phone) or no consent (consent_required)",
                              404: "unknown branch or service", 409: JOIN_REFUSED,
                              429: "a limit on taking tickets (too_many_tickets, too_many_open_tickets)"})
def remote_join(branch: str, body: RemoteJoinRequest) -> Any:
    ticket = hall().remote.join(branch, body.service, phone=body.phone, consent=body.consent, language=body.language,
                                idempotency_key=idempotency_key(), device=device_id(), address=request.remote_addr)
    return jsonify(ticket), 200 if ticket.get("replayed") else 201


@route(api, "/branches/<branch>/arrival", "GET", "The arrival code the wall display shows in its QR now (changes "
       "every 90 s) and when it changes", tag="remote", auth=PUBLIC,
       responses={401: "the branch's displays must be paired and this is not one (device_not_paired)",
                  404: "unknown branch"})
def arrival_code(branch: str) -> Any:
    return jsonify(hall().remote.arrival(branch, device_actor()))


@route(api, "/remote/checkin", "POST", "Check a remote ticket in with the code of the wall's QR (the phone that "
       "holds the ticket, in the hall)", tag="remote", auth=PUBLIC, body=ArrivalRequest,
       responses={400: "an old or wrong code (bad_arrival_code; details.text in both languages)",
                  404: "unknown ticket", 409: CHECKIN_REFUSED})
def remote_check_in(body: ArrivalRequest) -> Any:
    return jsonify(hall().remote.check_in_by_code(body.token, body.code))


@route(api, "/branches/<branch>/arrivals", "POST", "Check a remote ticket in at the kiosk, by today's ticket number "
       "or the phone number it was taken with", tag="remote", auth=PUBLIC, body=KioskArrivalRequest,
       responses={400: "neither or both of number and phone (bad_checkin), a bad phone number (bad_phone)",
                  404: "no remote ticket awaiting check-in (unknown_remote_ticket)", 409: CHECKIN_REFUSED})
def kiosk_arrival(branch: str, body: KioskArrivalRequest) -> Any:
    return jsonify(hall().remote.check_in_at_kiosk(branch, number=body.number, phone=body.phone,
                                                   device=device_id()))


@route(api, "/branches/<branch>/tickets/<int:ticket_id>/checkin", "POST", "Check a remote ticket in by hand (staff "
       "of the branch; recorded in the audit log)", tag="remote", auth=STAFF,
       responses={404: "unknown ticket", 409: CHECKIN_REFUSED})
def staff_arrival(branch: str, ticket_id: int) -> Any:
    return jsonify(hall().remote.check_in_by_staff(branch, ticket_id, current_actor()))
