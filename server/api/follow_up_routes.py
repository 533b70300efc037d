"""Follow-up cases: the manager page's list and case view, complaints recorded at the counter or by a manager, and
the commands that carry a case to its answer (server/services/follow_ups.py says who may do what).

Registered on the API's one blueprint (``server.api.registry.api``), so they share its error handlers and appear
in ``/api/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from server.api.rating_routes import call_back
from server.api.registry import api, current_actor, route
from server.api.schemas import (
    AssignFollowUpRequest,
    CaseNoteRequest,
    ComplaintRequest,
    ReopenFollowUpRequest,
    ResolveFollowUpRequest,
)
from server.domain.api_tokens import Scope
from server.services.access import MANAGER, REPORTS, STAFF
from server.services.follow_ups import SHOW, FollowUpService

FOLLOW_UPS = "/branches/<branch>/follow-ups"
CASE = f"{FOLLOW_UPS}/<id:follow_up_id>"
CASE_REFUSALS = {403: "not the case's owner nor a manager (not_owner), or not of this branch",
                 404: "unknown follow-up (unknown_follow_up)"}
BAD_MOVE = {409: "the case's status does not allow it (bad_transition)"}


def follow_ups() -> FollowUpService:
    return current_app.extensions["follow_ups"]


@route(api, FOLLOW_UPS, "GET", "Follow-up cases (the branch's managers; a regional account of its region reads): "
       "unresolved ones soonest due first", tag="follow-ups", auth=REPORTS,
       query=(("show", "string", f"{', '.join(SHOW)} (default open: not yet resolved)"),), token=Scope.READ.value,
       responses={400: "an unknown filter (bad_query)"})
def list_follow_ups(branch: str) -> Any:
    return jsonify(follow_ups().cases(branch, current_actor(), show=request.args.get("show", "open")))


@route(api, f"{FOLLOW_UPS}/vocabulary", "GET", "What a complaint or a resolution may say: categories, outcomes and "
       "statuses in both languages (staff)", tag="follow-ups", auth=STAFF)
def follow_up_vocabulary(branch: str) -> Any:
    return jsonify(follow_ups().vocabulary())


@route(api, CASE, "GET", "One case with its thread (as the list; the thread is closed to API tokens)",
       tag="follow-ups", auth=REPORTS, responses={404: "unknown follow-up"})
def follow_up_case(branch: str, follow_up_id: int) -> Any:
    return jsonify(follow_ups().case(branch, follow_up_id, current_actor()))


@route(api, FOLLOW_UPS, "POST", "Record a customer's complaint as a case (staff at the counter, or a manager)",
       tag="follow-ups", auth=STAFF, body=ComplaintRequest, status=201,
       responses={400: "a call-back without consent (consent_required) or with a bad number (bad_phone)",
                  404: "unknown ticket or counter",
                  422: "an unknown category (bad_category), or no words (bad_words)"})
def record_complaint(branch: str, body: ComplaintRequest) -> Any:
    case = follow_ups().record_complaint(branch, current_actor(), category=body.category, words=body.words,
                                         ticket_id=body.ticket_id, counter=body.counter,
                                         call_back=call_back(body.call_back))
    return jsonify(case), 201


@route(api, f"{CASE}/assign", "POST", "Give a case its owner, or another one (managers; recorded in the audit log)",
       tag="follow-ups", body=AssignFollowUpRequest, auth=MANAGER,
       responses={404: "unknown follow-up", 409: "already resolved (already_resolved)",
                  422: "not a staff account of the branch (unknown_owner)"})
def assign_follow_up(branch: str, follow_up_id: int, body: AssignFollowUpRequest) -> Any:
    return jsonify(follow_ups().assign(branch, follow_up_id, current_actor(), body.owner))


@route(api, f"{CASE}/notes", "POST", "Add a note to a case's thread (its owner or a manager)", tag="follow-ups",
       body=CaseNoteRequest, auth=STAFF, status=201, responses=CASE_REFUSALS)
def add_follow_up_note(branch: str, follow_up_id: int, body: CaseNoteRequest) -> Any:
    return jsonify(follow_ups().add_note(branch, follow_up_id, current_actor(), body.text)), 201


@route(api, f"{CASE}/start", "POST", "Open -> in progress (its owner or a manager; recorded in the audit log)",
       tag="follow-ups", auth=STAFF, responses={**CASE_REFUSALS, **BAD_MOVE})
def start_follow_up(branch: str, follow_up_id: int) -> Any:
    return jsonify(follow_ups().start(branch, follow_up_id, current_actor()))


@route(api, f"{CASE}/resolve", "POST", "Resolve a case with an outcome and a note (its owner or a manager; "
       "recorded in the audit log)", tag="follow-ups", body=ResolveFollowUpRequest, auth=STAFF,
       responses={**CASE_REFUSALS, **BAD_MOVE, 422: "an unknown outcome (bad_outcome)"})
def resolve_follow_up(branch: str, follow_up_id: int, body: ResolveFollowUpRequest) -> Any:
    return jsonify(follow_ups().resolve(branch, follow_up_id, current_actor(), body.outcome, body.note))


@route(api, f"{CASE}/reopen", "POST", "Reopen a resolved case with a reason (managers; recorded in the audit log)",
       tag="follow-ups", body=ReopenFollowUpRequest, auth=MANAGER, responses={404: "unknown follow-up", **BAD_MOVE})
def reopen_follow_up(branch: str, follow_up_id: int, body: ReopenFollowUpRequest) -> Any:
    return jsonify(follow_ups().reopen(branch, follow_up_id, current_actor(), body.reason))
