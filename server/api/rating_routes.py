"""Rating endpoints (pad, phone page) and the staff "my day" summary (follow-up cases: ``follow_up_routes``).

Registered on the API's one blueprint (``server.api.registry.api``),
so they share its error handlers and appear in ``/api/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from server.api.device_routes import DEVICE_REFUSED, device_rule
from server.api.registry import api, current_actor, route
from server.api.schemas import CallBackRequest, PadRateRequest, RateRequest
from server.device_web import device_actor
from server.domain.api_tokens import Scope
from server.domain.devices import DeviceKind
from server.domain.privacy import ContactGiven
from server.services.access import PUBLIC, STAFF
from server.services.ratings import RatingService


def ratings() -> RatingService:
    return current_app.extensions["ratings"]


def call_back(body: CallBackRequest | None) -> ContactGiven | None:
    """The call-back a rating came with, checked (consent, then the number: 400 with the reason)."""
    return None if body is None else ContactGiven.with_consent(body.phone, body.name, body.consent)


# --- public: the pad and the phone page --------------------------------------------------------------

@route(api, "/ratings/config", "GET", "The rating scale with its words, the reason chips and the pad's timers",
       tag="ratings", auth=PUBLIC, token=Scope.READ.value)
def rating_config() -> Any:
    return jsonify(ratings().rating_config())


@route(api, "/tickets/<token>/rating", "GET", "Whether a customer's ticket is rated and may still be rated",
       tag="ratings", auth=PUBLIC, responses={404: "unknown token"})
def ticket_rating_state(token: str) -> Any:
    return jsonify(ratings().rating_state(token))


@route(api, "/tickets/<token>/rating", "POST", "The customer rates their finished ticket (phone page)",
       tag="ratings", auth=PUBLIC, body=RateRequest, status=201,
       responses={400: "a malformed body, or a call-back without consent (consent_required) or with a number that "
                       "is not a phone's (bad_phone, bad_name: the reason in both languages in details.text)",
                  404: "unknown token",
                  409: "not finished (not_finished), already rated (already_rated) or too late "
                       "(rating_window_passed)"})
def rate_ticket(token: str, body: RateRequest) -> Any:
    rating = ratings().rate_by_token(token, body.score, reasons=body.reasons, comment=body.comment,
                                     call_back=call_back(body.call_back))
    return jsonify(rating), 201


@device_rule(DeviceKind.PAD)
@route(api, "/branches/<branch>/counters/<counter>/rating", "GET",
       "For the counter's pad (the device paired as it, or the staff member signed in at the counter): the ticket "
       "it last finished and whether it is rated", tag="ratings", auth=PUBLIC,
       responses={**DEVICE_REFUSED, 404: "unknown branch or counter"})
def pad_prompt(branch: str, counter: str) -> Any:
    return jsonify(ratings().pad_prompt(branch, counter, device_actor()))


@device_rule(DeviceKind.PAD)
@route(api, "/branches/<branch>/counters/<counter>/rating", "POST",
       "The counter's pad (the device paired as it, or the staff member signed in at the counter) rates the last "
       "ticket this counter finished (within the rating window)", tag="ratings", auth=PUBLIC,
       body=PadRateRequest, status=201,
       responses={**DEVICE_REFUSED, 400: "a malformed body, or a call-back without consent or with a bad number",
                  404: "unknown branch, counter or ticket",
                  409: "another counter's ticket (wrong_counter), not its last one (not_last_ticket), not finished, "
                       "already rated or too late"})
def rate_at_counter(branch: str, counter: str, body: PadRateRequest) -> Any:
    rating = ratings().rate_at_counter(branch, counter, body.ticket_id, body.score, reasons=body.reasons,
                                       comment=body.comment, actor=device_actor(),
                                       call_back=call_back(body.call_back))
    return jsonify(rating), 201


# --- staff: my day -------------------------------------------------------------------------------------

@route(api, "/branches/<branch>/staff/me/today", "GET",
       "My day so far (branch-local): served, no-shows, average service minutes, ratings", tag="ratings",
       auth=STAFF)
def staff_today(branch: str) -> Any:
    return jsonify(ratings().staff_day(branch, current_actor()))

