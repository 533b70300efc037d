"""HTTP endpoints: each declares who may call it (``route(auth=...)``), parses its input and calls the service
layer with the request's actor."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from server.api import responses as R
from server.api.account_routes import session_view
from server.api.registry import (
    api,
    current_actor,
    device_id,
    forget_actor,
    openapi_document,
    query_date,
    query_int,
    route,
)
from server.api.schemas import (
    ID_MAX,
    CallTicketRequest,
    CancelTicketRequest,
    FinishAndCallNextRequest,
    IssueTicketRequest,
    LoginRequest,
    PauseRequest,
    SignInRequest,
    StopIssueRequest,
    TicketActionRequest,
    TransferRequest,
    UndoNoShowRequest,
)
from server.device_web import device_actor
from server.domain.api_tokens import Scope
from server.domain.errors import DomainError
from server.domain.hall import Text
from server.domain.ticket import COUNTER_ACTIONS
from server.domain.tickets import Action
from server.offload import offload_cpu
from server.services.access import MANAGER, PUBLIC, REPORTS, STAFF, require
from server.services.hall import HallService
from server.services.sessions import OpenSession
from server.services.views import exception_view, service_view, weekly_view
from server.web import SESSION_COOKIE, clear_session_cookie, current_session, sessions, set_session_cookie


def action_path(action: Action) -> str:
    """The URL word of an action at the counter: ``no-show``, and ``return`` for return-to-queue."""
    return "return" if action is Action.RETURN_TO_QUEUE else action.value.replace("_", "-")


TICKET_ACTIONS = {action_path(action): action for action in COUNTER_ACTIONS}
"""The actions staff take on the ticket at their counter, by URL word (from the domain's list)."""
IDEMPOTENCY_HEADER = "Idempotency-Key"


READ, ACT = Scope.READ.value, Scope.ACT.value


def hall() -> HallService:
    return current_app.extensions["hall"]


def idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 100:
        raise DomainError("Idempotency-Key must be 1-100 characters", code="bad_idempotency_key", http_status=400)
    return key


# --- documents and public reads ---------------------------------------------------------------------

@route(api, "/openapi.json", "GET", "This API described in OpenAPI 3.1", tag="meta", auth=PUBLIC, documented=False,
       token=READ)
def openapi() -> Any:
    return jsonify(openapi_document("Hall queue API", "1"))


@route(api, "/branches", "GET", "Branches with their services and counters", tag="hall", auth=PUBLIC,
       response=R.Branches, token=READ)
def list_branches() -> Any:
    return jsonify({"branches": [
        {"code": b.code, "name": b.name.as_dict(), "timezone": b.timezone.key, **weekly_view(b.hours),
         "exceptions": [exception_view(e) for e in b.exceptions],
         "services": [service_view(s, b) for s in b.services],
         "counters": [{"number": c.number, "name": c.name.as_dict(), "services": list(c.services),
                       "role": c.role.value} for c in b.counters]}
        for b in hall().config.branches]})


@route(api, "/branches/<branch>/snapshot", "GET", "The hall now: waiting counts, counters, recent calls, seq",
       tag="hall", auth=PUBLIC, response=R.Snapshot, responses={404: "unknown branch"}, token=READ,
       query=(("view", "string", "'staff' for the staff view (needs sign-in): adds names, notes, waiting list"),))
def snapshot(branch: str) -> Any:
    staff_view = request.args.get("view") == "staff"
    if staff_view:  # the public route's private variant: names, notes and the waiting list for the branch's staff
        require(hall().config, current_actor(), STAFF, branch, token=Scope.READ)
    answer = hall().queries.snapshot(branch, staff=staff_view)
    return jsonify(current_app.extensions["hall_live"].decorate_snapshot(answer, staff=staff_view))


@route(api, "/branches/<branch>/events", "GET", "Event history after a sequence number (staff)", tag="hall",
       response=R.Events, auth=STAFF, token=READ, query=(("after", "integer", "sequence number to start after"),
                            ("limit", "integer", "at most this many events (1-1000)")))
def events(branch: str) -> Any:
    after = query_int("after", 0, 0, ID_MAX)
    limit = query_int("limit", 500, 1, 1000)
    return jsonify({"events": hall().queries.events_since(branch, after, limit)})


@route(api, "/branches/<branch>/estimates/accuracy", "GET",
       "Recent accuracy of the wait estimates given at issue, per service (managers, regional readers)", tag="hall",
       auth=REPORTS, manager_code="forbidden", responses={404: "unknown branch"}, token=READ)
def estimate_accuracy(branch: str) -> Any:
    return jsonify(current_app.extensions["hall_live"].accuracy(branch))


@route(api, "/branches/<branch>/days", "GET",
       "Ended service days with their figures per service (managers, regional readers)", tag="hall", auth=REPORTS,
       manager_code="forbidden", response=R.DaySummaries, token=READ,
       query=(("from", "string", "first day, YYYY-MM-DD (default: 13 days before `to`)"),
              ("to", "string", "last day, YYYY-MM-DD (default: the last day that has ended)")),
       responses={400: "a day not written YYYY-MM-DD, or a range that is reversed or longer than a year"})
def day_summaries(branch: str) -> Any:
    return jsonify(hall().days.summaries(branch, current_actor(), first=query_date("from"), last=query_date("to")))


@route(api, "/branches/<branch>/staffing", "GET",
       "Staffing advice for a day: forecast arrivals per hour and service, counters needed, planned and open "
       "(managers, regional readers)", tag="hall", auth=REPORTS, manager_code="forbidden", response=R.StaffingAdvice,
       token=READ, query=(("date", "string", "the day, YYYY-MM-DD (default: the branch's today)"),),
       responses={400: "a day not written YYYY-MM-DD, more than a year back or more than 60 days ahead",
                  404: "unknown branch"})
def staffing_advice(branch: str) -> Any:
    hall_service = hall()
    day = query_date("date") or hall_service.staffing.today(branch)
    return jsonify(hall_service.staffing.advice(branch, current_actor(), day, offload_cpu))


@route(api, "/branches/<branch>/issue-stops", "GET", "Issue stopped by hand, in force or still to come", tag="hall",
       auth=STAFF, response=R.IssueStops, token=READ)
def issue_stops(branch: str) -> Any:
    return jsonify({"stops": hall().issuing.current(branch)})


@route(api, "/branches/<branch>/issue-stops", "POST",
       "Stop issuing tickets of a service or the whole branch, now or from a time (manager)", tag="hall",
       body=StopIssueRequest, auth=STAFF, response=R.IssueStop, status=201, token=ACT,
       responses={404: "unknown branch or service", 422: "a reason or time that makes no sense"})
def stop_issue(branch: str, body: StopIssueRequest) -> Any:
    text = None if body.text is None else Text(body.text.zh_cn, body.text.en)
    return jsonify(hall().issuing.stop(branch, current_actor(), service=body.service, starts_at=body.starts_at,
                                       until=body.until, reason=body.reason, text=text)), 201


@route(api, "/branches/<branch>/issue-stops/<id:stop_id>/resume", "POST", "Issue again: end a stop (manager)",
       tag="hall", auth=STAFF, response=R.IssueStop, responses={404: "unknown stop", 409: "already over"},
       token=ACT)
def resume_issue(branch: str, stop_id: int) -> Any:
    return jsonify(hall().issuing.resume(branch, stop_id, current_actor()))


# --- customers -------------------------------------------------------------------------------------

@route(api, "/branches/<branch>/tickets", "POST", "Take a ticket (kiosk, phone, integration)", tag="tickets",
       auth=PUBLIC, token=ACT,
       response=R.IssuedTicket, body=IssueTicketRequest, idempotent=True, status=201,
       responses={401: "a VIP or appointment ticket asked for without a staff session or an API token",
                  403: "a VIP or appointment ticket asked for by staff of another branch, or a priority-lane ticket "
                       "by someone who is neither a paired kiosk nor staff of the branch where the branch wants it "
                       "so (priority_needs_paired_kiosk, with details.text in both languages)",
                  404: "unknown branch or service",
                  409: "service closed, issue stopped or daily cap reached",
                  429: "a limit on taking tickets (too_many_tickets, too_many_open_tickets; Retry-After)"})
def issue_ticket(branch: str, body: IssueTicketRequest) -> Any:
    ticket = hall().tickets.issue(branch, body.service, priority=body.priority, channel=body.channel,
                                 language=body.language, idempotency_key=idempotency_key(),
                                 device=device_id(), actor=device_actor(), address=request.remote_addr)
    return jsonify(ticket), 200 if ticket.get("replayed") else 201


@route(api, "/tickets/<token>", "GET", "A customer's own ticket (by its private token)", tag="tickets", auth=PUBLIC,
       response=R.CustomerTicket, responses={404: "unknown token"})
def ticket_by_token(token: str) -> Any:
    return jsonify(hall().queries.ticket_by_token(token))


@route(api, "/tickets/<token>/cancel", "POST", "The customer leaves: cancel a waiting ticket", tag="tickets",
       auth=PUBLIC,
       response=R.Ticket, responses={404: "unknown token", 409: "not waiting any more"})
def cancel_ticket(token: str) -> Any:
    return jsonify(hall().tickets.cancel_by_customer(token))


@route(api, "/tickets/<token>/reactivate", "POST", "\"I missed my call\": back into the queue", tag="tickets",
       auth=PUBLIC,
       response=R.Ticket, responses={404: "unknown token", 409: "not a no-show, or the window has passed"})
def reactivate_ticket(token: str) -> Any:
    return jsonify(hall().tickets.reactivate_by_customer(token))


# --- staff session ---------------------------------------------------------------------------------

@route(api, "/session", "POST", "Staff sign-in (sets the session cookie)", tag="staff", auth=PUBLIC, body=LoginRequest,
       response=R.StaffSession, responses={401: "wrong username or password",
                                           403: "right password, but it must be changed first "
                                                "(password_change_required: POST /api/session/password)",
                                           429: "too many failed sign-ins from this device: locked for a while"})
def login(body: LoginRequest) -> Any:
    session_id, opened = sessions().sign_in(body.username, body.password, current_actor(), offload_cpu,
                                            previous=request.cookies.get(SESSION_COOKIE))
    forget_actor()
    response = jsonify(_session_view(opened))
    set_session_cookie(response, session_id)
    return response


def _session_view(opened: OpenSession | None) -> dict[str, Any]:
    if opened is None:
        return {"username": None}
    return session_view(opened.account, opened.expires_at)


@route(api, "/session", "GET", "Who is signed in", tag="staff", auth=PUBLIC, response=R.StaffSession)
def whoami() -> Any:
    return jsonify(_session_view(current_session()))


@route(api, "/session", "DELETE", "Sign out of the staff session (it ends on the server: the cookie opens nothing "
       "any more)", tag="staff", auth=PUBLIC, response=R.StaffSession)
def logout() -> Any:
    sessions().sign_out(request.cookies.get(SESSION_COOKIE), current_actor())
    forget_actor()
    response = jsonify({"username": None})
    clear_session_cookie(response)
    return response


@route(api, "/session/everywhere", "DELETE", "Sign out everywhere: end every session of the signed-in account, on "
       "every device", tag="staff", auth=PUBLIC, response=R.SessionsEnded, responses={401: "not signed in"})
def logout_everywhere() -> Any:
    actor = current_actor()
    ended = sessions().sign_out_everywhere(actor)
    forget_actor()
    response = jsonify({"username": actor.username, "ended": ended})
    clear_session_cookie(response)
    return response


@route(api, "/branches/<branch>/staff/<username>/sessions", "DELETE",
       "End every session of a staff member of the branch: a lost or shared tablet (manager)", tag="staff",
       auth=MANAGER, response=R.SessionsEnded,
       responses={404: "no such staff member at the branch"})
def end_staff_sessions(branch: str, username: str) -> Any:
    ended = sessions().end_for_staff(branch, current_actor(), username)
    return jsonify({"username": username, "ended": ended})


# --- staff: counters -------------------------------------------------------------------------------

COUNTER = "/branches/<branch>/counters/<counter>"


@route(api, f"{COUNTER}/sign-in", "POST",
       "Sign in at a counter (takeover to replace someone; services: today's subset of the counter's services)",
       tag="counters", body=SignInRequest, auth=STAFF, response=R.Counter,
       responses={409: "the counter is signed in by someone else", 422: "a service this counter may not serve"})
def counter_sign_in(branch: str, counter: str, body: SignInRequest) -> Any:
    return jsonify(hall().counters.sign_in(branch, counter, current_actor(), takeover=body.takeover,
                                           services=body.services))


@route(api, f"{COUNTER}/sign-out", "POST", "Sign out of a counter", tag="counters", auth=STAFF, response=R.Counter,
       responses={409: "a ticket is still at the counter"})
def counter_sign_out(branch: str, counter: str) -> Any:
    return jsonify(hall().counters.sign_out(branch, counter, current_actor()))


@route(api, f"{COUNTER}/pause", "POST", "Pause the counter with a reason", tag="counters", body=PauseRequest,
       response=R.Counter, auth=STAFF, responses={409: "already paused"})
def counter_pause(branch: str, counter: str, body: PauseRequest) -> Any:
    return jsonify(hall().counters.pause(branch, counter, current_actor(), body.reason))


@route(api, f"{COUNTER}/resume", "POST", "Resume a paused counter", tag="counters", auth=STAFF, response=R.Counter,
       responses={409: "not paused"})
def counter_resume(branch: str, counter: str) -> Any:
    return jsonify(hall().counters.resume(branch, counter, current_actor()))


@route(api, f"{COUNTER}/call-next", "POST", "Call the next ticket the policy picks for this counter",
       tag="counters", auth=STAFF, response=R.Called, idempotent=True,
       responses={409: "counter paused or busy with a ticket"})
def counter_call_next(branch: str, counter: str) -> Any:
    return jsonify(hall().counters.call_next(branch, counter, current_actor(), idempotency_key=idempotency_key()))


@route(api, f"{COUNTER}/finish-and-call-next", "POST",
       "Finish the ticket served here and call the next one, in one command (a paused counter only finishes)",
       tag="counters", body=FinishAndCallNextRequest, auth=STAFF, response=R.FinishedAndCalled, idempotent=True,
       responses={409: "nobody is served here, or the served ticket changed meanwhile"})
def counter_finish_and_call_next(branch: str, counter: str, body: FinishAndCallNextRequest) -> Any:
    return jsonify(hall().counters.finish_and_call_next(branch, counter, current_actor(), expected_version=body.version,
                                                        idempotency_key=idempotency_key()))


@route(api, f"{COUNTER}/call", "POST", "Call one specific waiting ticket", tag="counters", body=CallTicketRequest,
       response=R.TicketChanged, auth=STAFF, responses={409: "not eligible, stale, or counter busy"})
def counter_call_ticket(branch: str, counter: str, body: CallTicketRequest) -> Any:
    return jsonify(hall().counters.call_ticket(branch, counter, body.ticket_id, current_actor(),
                                               expected_version=body.version))


@route(api, f"{COUNTER}/queue", "GET", "Waiting tickets in the order this counter will call them", tag="counters",
       response=R.CounterQueue, auth=STAFF, token=READ)
def counter_queue(branch: str, counter: str) -> Any:
    return jsonify(hall().queries.counter_queue(branch, counter))


# --- staff: tickets --------------------------------------------------------------------------------

@route(api, f"/branches/<branch>/tickets/<id:ticket_id>/<any({','.join(repr(w) for w in TICKET_ACTIONS)}):action>",
       "POST", f"Act on the ticket at its counter: {', '.join(TICKET_ACTIONS)}", tag="tickets",
       response=R.TicketChanged, body=TicketActionRequest, auth=STAFF,
       responses={409: "illegal transition or stale version"})
def ticket_action(branch: str, ticket_id: int, action: str, body: TicketActionRequest) -> Any:
    return jsonify(hall().tickets.act(branch, ticket_id, TICKET_ACTIONS[action], current_actor(),
                                      expected_version=body.version, reason=body.reason))


@route(api, "/branches/<branch>/tickets/<id:ticket_id>/transfer", "POST",
       "Transfer a ticket to another service and/or a specific counter, with a note", tag="tickets",
       response=R.TicketChanged, body=TransferRequest, auth=STAFF,
       responses={409: "illegal transition or stale version"})
def ticket_transfer(branch: str, ticket_id: int, body: TransferRequest) -> Any:
    return jsonify(hall().tickets.transfer(branch, ticket_id, current_actor(), to_service=body.to_service,
                                           to_counter=body.to_counter, note=body.note,
                                           expected_version=body.version))


@route(api, "/branches/<branch>/tickets/<id:ticket_id>/cancel", "POST",
       "Cancel a waiting ticket (staff of the branch, or an integration: a booking whose customer cancelled)",
       tag="tickets", response=R.TicketChanged, body=CancelTicketRequest, auth=STAFF, token=ACT,
       responses={404: "unknown ticket", 409: "not waiting (illegal_transition) or stale version"})
def ticket_cancel(branch: str, ticket_id: int, body: CancelTicketRequest) -> Any:
    return jsonify(hall().tickets.cancel(branch, ticket_id, current_actor(), expected_version=body.version))


@route(api, "/branches/<branch>/tickets/<id:ticket_id>/reactivate", "POST",
       "Put a no-show ticket back into the queue (staff)", tag="tickets", response=R.TicketChanged, auth=STAFF,
       responses={409: "not a no-show, or the window has passed"})
def ticket_reactivate(branch: str, ticket_id: int) -> Any:
    return jsonify(hall().tickets.reactivate(branch, ticket_id, current_actor()))


@route(api, "/branches/<branch>/tickets/<id:ticket_id>/undo-no-show", "POST",
       "Take back a no-show within seconds: called at its counter again as it was (staff)", tag="tickets",
       response=R.NoShowUndone, body=UndoNoShowRequest, auth=STAFF, idempotent=True,
       responses={409: "not a no-show, too late (undo_window_passed), the counter has taken up someone else "
                       "(counter_moved_on) or is paused, or the ticket changed meanwhile"})
def ticket_undo_no_show(branch: str, ticket_id: int, body: UndoNoShowRequest) -> Any:
    return jsonify(hall().tickets.undo_no_show(branch, ticket_id, current_actor(), expected_version=body.version,
                                               idempotency_key=idempotency_key()))
