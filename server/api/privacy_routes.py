"""Personal data: a follow-up's contact shown whole for a call, and one customer's data found, exported and deleted
on request (managers of the branch). Every route that shows or removes personal data records an audit entry; all
are POST, so that a number never travels in a URL (nor lands in an access log) and no GET changes anything.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from server.api.registry import api, current_actor, route
from server.api.schemas import PhoneRequest
from server.services.access import MANAGER, STAFF
from server.services.privacy import PrivacyService

PERSONAL_DATA = "/branches/<branch>/personal-data"
BAD_PHONE = "a malformed body, or not a phone number (bad_phone: the reason in both languages in details.text)"


def privacy() -> PrivacyService:
    return current_app.extensions["privacy"]


@route(api, "/branches/<branch>/follow-ups/<id:follow_up_id>/contact", "POST",
       "The whole number the customer left with a follow-up, to call them back (the follow-up's owner or a "
       "manager; recorded in the audit log)", tag="privacy", auth=STAFF,
       responses={403: "not the follow-up's owner (not_owner), or not of this branch",
                  404: "unknown follow-up, or no number left with it (no_contact)"})
def reveal_contact(branch: str, follow_up_id: int) -> Any:
    return jsonify(privacy().reveal_contact(branch, follow_up_id, current_actor()))


@route(api, f"{PERSONAL_DATA}/search", "POST",
       "What the branch holds about the customer with this number: contacts and the follow-ups and ratings linked "
       "to them, masked (managers)", tag="privacy", auth=MANAGER, body=PhoneRequest, responses={400: BAD_PHONE})
def find_personal_data(branch: str, body: PhoneRequest) -> Any:
    return jsonify(privacy().find(branch, body.phone, current_actor()))


@route(api, f"{PERSONAL_DATA}/export", "POST",
       "Everything the branch holds about the customer with this number, whole, as a JSON file for the customer "
       "(managers; recorded in the audit log)", tag="privacy", auth=MANAGER, body=PhoneRequest,
       responses={400: BAD_PHONE})
def export_personal_data(branch: str, body: PhoneRequest) -> Any:
    exported = privacy().export(branch, body.phone, current_actor())
    response = jsonify(exported)
    day = exported["exported_at"][:10]
    response.headers["Content-Disposition"] = f'attachment; filename="personal-data-{branch}-{day}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@route(api, f"{PERSONAL_DATA}/delete", "POST",
       "Delete the customer's contacts and blank the comments and notes linked to them, keeping the anonymous "
       "queue statistics (managers; recorded in the audit log)", tag="privacy", auth=MANAGER, body=PhoneRequest,
       responses={400: BAD_PHONE, 404: "the branch holds no contact with this number (nothing_held)"})
def delete_personal_data(branch: str, body: PhoneRequest) -> Any:
    return jsonify(privacy().delete(branch, body.phone, current_actor()))
