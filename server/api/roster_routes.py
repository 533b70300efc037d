"""A branch's roster over HTTP: read a day (managers, admins, regional readers), add, edit and delete entries and
copy a day to others (managers of the branch, admins). The rules live in :mod:`server.domain.roster` and
:mod:`server.services.roster`; these views parse the input and answer."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from server.api import responses as R
from server.api.registry import api, current_actor, query_date, route
from server.api.schemas import CopyRosterRequest, NewRosterShiftRequest, RosterShiftRequest
from server.domain.api_tokens import Scope
from server.domain.roster import EntryKind, Shift, parse_clock
from server.services.access import MANAGER, REPORTS
from server.services.roster import RosterService

ROSTER = "/branches/<branch>/roster"
CHANGE = {400: "a bad value, naming the field (bad_shift), or a day the branch is closed (branch_closed)",
          401: "not signed in", 403: "not a manager of this branch", 404: "unknown branch",
          409: "the entry overlaps the person's or the counter's other shift that day (shift_clash)"}


def roster() -> RosterService:
    return current_app.extensions["hall"].roster


def _shift(body: RosterShiftRequest) -> Shift:
    return Shift(username=body.username, start=parse_clock(body.start, "start"), end=parse_clock(body.end, "end"),
                 kind=EntryKind(body.kind), counter=body.counter, services=tuple(body.services))


@route(api, ROSTER, "GET", "A day's roster: who works which counter with which services, and breaks; with the "
       "people, counters and services an editor offers (managers, admins, regional readers)", tag="roster",
       auth=REPORTS, manager_code="forbidden", response=R.RosterDay, token=Scope.READ.value,
       query=(("date", "string", "the day, YYYY-MM-DD (default: the branch's today)"),),
       responses={400: "a day not written YYYY-MM-DD, more than a year back or more than 60 days ahead",
                  404: "unknown branch"})
def roster_day(branch: str) -> Any:
    day = query_date("date") or current_app.extensions["hall"].staffing.today(branch)
    return jsonify(roster().day(branch, current_actor(), day))


@route(api, ROSTER + "/shifts", "POST", "Add a roster entry to a day: a shift at a counter, or a break (managers)",
       tag="roster", auth=MANAGER, body=NewRosterShiftRequest, status=201, response=R.RosterShift,
       responses=CHANGE)
def add_shift(branch: str, body: NewRosterShiftRequest) -> Any:
    return jsonify(roster().add(branch, current_actor(), body.date, _shift(body))), 201


@route(api, ROSTER + "/shifts/<id:shift_id>", "PUT", "Change a roster entry (same day) (managers)", tag="roster",
       auth=MANAGER, body=RosterShiftRequest, response=R.RosterShift,
       responses={**CHANGE, 404: "unknown branch or entry (unknown_shift)"})
def edit_shift(branch: str, shift_id: int, body: RosterShiftRequest) -> Any:
    return jsonify(roster().edit(branch, current_actor(), shift_id, _shift(body)))


@route(api, ROSTER + "/shifts/<id:shift_id>", "DELETE", "Delete a roster entry (managers)", tag="roster",
       auth=MANAGER, responses={401: "not signed in", 403: "not a manager of this branch",
                                404: "unknown branch or entry (unknown_shift)"})
def delete_shift(branch: str, shift_id: int) -> Any:
    roster().delete(branch, current_actor(), shift_id)
    return jsonify({"deleted": shift_id})


@route(api, ROSTER + "/copy", "POST", "Copy a day's roster to other days and to the same weekday of the next weeks, "
       "replacing their entries; days the branch is closed are skipped (managers)", tag="roster", auth=MANAGER,
       body=CopyRosterRequest, response=R.RosterCopied,
       responses={**CHANGE, 400: "no day to copy to, an empty day to copy (empty_roster), or an entry another day's "
                                 "hours refuse, naming the field"})
def copy_roster(branch: str, body: CopyRosterRequest) -> Any:
    return jsonify(roster().copy(branch, current_actor(), body.date, days=list(body.days), weeks=body.weeks))
