"""Online appointments: the public booking routes (branches, services, slots; book, look up, change, cancel by code
and phone number) and the staff's (a day's bookings, booking for a customer). Look-ups, changes and cancellations are
POST, so that a phone number never travels in a URL (nor lands in an access log). The public commands are limited per
client address (``[limits] booking_changes``, ``booking_lookups``) in the service layer (docs/appointments.md).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from server.api.registry import api, current_actor, query_date, query_int, query_number, route
from server.api.schemas import BookingKey, BookRequest, ChangeBookingRequest, CheckinRequest, StaffCheckinRequest
from server.device_web import device_actor
from server.domain.errors import DomainError
from server.services.access import PUBLIC, STAFF
from server.services.actor import Actor
from server.services.booking import BookingService
from server.services.views import iso
from server.web import device_id

BAD_BODY = ("a malformed body, a bad phone number (bad_phone), a missing consent (consent_required) or code "
            "(bad_code); details.text says why in both languages")
REFUSED = ("refused by a booking rule (slot_full, slot_started, no_such_slot, outside_horizon, overlapping_booking, "
           "weekly_limit, past_cutoff, booking_cancelled, not_bookable; details.text in both languages)")
CHECKIN_REFUSED = ("refused by the check-in rule (too_early with details.come_back, too_late, other_day, other_branch, "
                   "booking_cancelled), or the service closed or not issuing; details.text in both languages")
LIMITED = "too many booking requests from this address (too_many_requests; Retry-After)"


def booking() -> BookingService:
    return current_app.extensions["booking"]


def _day() -> Any:
    day = query_date("day")
    if day is None:
        raise DomainError("day is required, written YYYY-MM-DD", code="bad_query", http_status=400, parameter="day")
    return day


@route(api, "/booking/branches", "GET", "Branches that take bookings: nearest first with lat and lon", tag="booking",
       auth=PUBLIC, query=(("lat", "number", "the customer's latitude (degrees)"),
                           ("lon", "number", "the customer's longitude (degrees)")))
def booking_branches() -> Any:
    lat, lon = query_number("lat", -90, 90), query_number("lon", -180, 180)
    if (lat is None) != (lon is None):
        raise DomainError("give lat and lon together", code="bad_query", http_status=400,
                          parameter="lon" if lon is None else "lat")
    return jsonify({"branches": booking().branches(lat, lon)})


@route(api, "/booking/<branch>/services", "GET", "A branch's bookable services and the days open to booking",
       tag="booking", auth=PUBLIC, responses={404: "unknown branch"})
def booking_services(branch: str) -> Any:
    return jsonify(booking().services(branch))


@route(api, "/booking/<branch>/services/<service>/slots", "GET", "A service's slots on a day with the seats left",
       tag="booking", auth=PUBLIC, query=(("day", "string", "the branch-local day, YYYY-MM-DD (required)"),),
       responses={404: "unknown branch or service", 409: "the service takes no bookings (not_bookable)"})
def booking_slots(branch: str, service: str) -> Any:
    return jsonify(booking().slots(branch, service, _day()))


@route(api, "/booking/<branch>/bookings", "POST", "Book a slot (a customer, with consent); answers the code",
       tag="booking", auth=PUBLIC, body=BookRequest, status=201,
       responses={400: BAD_BODY, 404: "unknown branch or service", 409: REFUSED, 429: LIMITED})
def book(branch: str, body: BookRequest) -> Any:
    made = booking().book(branch, body.service, body.start, phone=body.phone, name=body.name, consent=body.consent,
                          language=body.language, actor=Actor(None, address=request.remote_addr),
                          address=request.remote_addr)
    return jsonify(made), 201


@route(api, "/booking/lookup", "POST", "A booking, by its code and phone number", tag="booking", auth=PUBLIC,
       body=BookingKey, responses={400: BAD_BODY, 404: "no booking with this code and number (unknown_booking)",
                                   429: LIMITED})
def lookup_booking(body: BookingKey) -> Any:
    return jsonify(booking().lookup(body.code, body.phone, address=request.remote_addr))


@route(api, "/booking/change", "POST", "Move a booking to another slot of its service (before the cut-off)",
       tag="booking", auth=PUBLIC, body=ChangeBookingRequest,
       responses={400: BAD_BODY, 404: "no booking with this code and number (unknown_booking)", 409: REFUSED,
                  429: LIMITED})
def change_booking(body: ChangeBookingRequest) -> Any:
    return jsonify(booking().change(body.code, body.phone, body.start, address=request.remote_addr))


@route(api, "/booking/cancel", "POST", "Cancel a booking (before the cut-off)", tag="booking", auth=PUBLIC,
       body=BookingKey, responses={400: BAD_BODY, 404: "no booking with this code and number (unknown_booking)",
                                   409: REFUSED, 429: LIMITED})
def cancel_booking(body: BookingKey) -> Any:
    return jsonify(booking().cancel(body.code, body.phone, address=request.remote_addr))


@route(api, "/branches/<branch>/bookings", "GET", "The branch's bookings on a day, numbers masked (staff)",
       tag="booking", auth=STAFF, query=(("day", "string", "the branch-local day, YYYY-MM-DD (required)"),))
def day_bookings(branch: str) -> Any:
    return jsonify(booking().day(branch, _day(), current_actor()))


@route(api, "/branches/<branch>/bookings", "POST", "Book for a customer at the counter or on the phone (staff; "
       "recorded in the audit log)", tag="booking", auth=STAFF, body=BookRequest, status=201,
       responses={400: BAD_BODY, 404: "unknown service", 409: REFUSED})
def book_for_customer(branch: str, body: BookRequest) -> Any:
    made = booking().book(branch, body.service, body.start, phone=body.phone, name=body.name, consent=body.consent,
                          language=body.language, actor=current_actor())
    return jsonify(made), 201


@route(api, "/branches/<branch>/bookings/upcoming", "GET", "Booked slots starting in the next minutes (staff): what "
       "the wait estimate will take into account", tag="booking", auth=STAFF,
       query=(("minutes", "integer", "how far ahead (1-1440, default 120)"),))
def upcoming_bookings(branch: str) -> Any:
    now = booking().clock()
    minutes = query_int("minutes", 120, 1, 1440)
    return jsonify({"branch": branch, "from": iso(now), "minutes": minutes,
                    "slots": booking().booked_between(branch, now, minutes)})


@route(api, "/branches/<branch>/checkin", "POST", "Check a booking in at the kiosk, by its code (typed or scanned) or "
       "phone number: an appointment ticket (called from its slot), a walk-in ticket when late past the grace "
       "period, or the ticket it already has", tag="booking", auth=PUBLIC, body=CheckinRequest,
       responses={400: BAD_BODY + "; neither or both of code and phone (bad_checkin)",
                  404: "no such booking (unknown_booking)", 409: CHECKIN_REFUSED,
                  429: "too many tickets or look-ups from this device or address"})
def check_in(branch: str, body: CheckinRequest) -> Any:
    return jsonify(booking().check_in(branch, code=body.code, phone=body.phone, language=body.language,
                                      device=device_id(), actor=device_actor(), address=request.remote_addr))


@route(api, "/branches/<branch>/bookings/<code>/checkin", "POST", "Check a customer's booking in by hand (staff of "
       "the branch; recorded in the audit log)", tag="booking", auth=STAFF, body=StaffCheckinRequest,
       responses={400: "a malformed code (bad_code)", 404: "no such booking (unknown_booking)",
                  409: CHECKIN_REFUSED})
def check_in_by_staff(branch: str, code: str, body: StaffCheckinRequest) -> Any:
    return jsonify(booking().check_in(branch, code=code, language=body.language, actor=current_actor()))


@route(api, "/branches/<branch>/bookings/<code>/checkin/undo", "POST", "Undo a booking's check-in (staff of the "
       "branch; audited): its ticket, still waiting, is cancelled and the booking can be checked in again",
       tag="booking", auth=STAFF,
       responses={400: "a malformed code (bad_code)", 404: "no such booking here (unknown_booking)",
                  409: "not checked in (not_checked_in), or its ticket already called or served (ticket_moved_on); "
                       "details.text in both languages"})
def undo_check_in(branch: str, code: str) -> Any:
    return jsonify(booking().undo_checkin(branch, code, current_actor()))
