"""What-if replay of a closed day over HTTP: ``POST /branches/<b>/what-if`` (a read-only computation: POST for its
body). The rules live in :mod:`server.services.what_if`; this view turns the body into the domain's changes."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, jsonify

from server.api import responses as R
from server.api.registry import api, current_actor, route
from server.api.schemas import AddCounterChange, AddServiceChange, WhatIfRequest
from server.domain import replay
from server.domain.errors import DomainError
from server.offload import offload_cpu
from server.services.access import REPORTS
from server.services.what_if import parse_clock


def _changes(body: WhatIfRequest) -> list[replay.Change]:
    changes: list[replay.Change] = []
    for index, change in enumerate(body.changes):
        where = f"changes[{index}]"
        start, end = parse_clock(change.start, f"{where}.start"), parse_clock(change.end, f"{where}.end")
        if isinstance(change, AddCounterChange):
            changes.append(replay.AddCounter(start, end, tuple(change.services)))
        elif isinstance(change, AddServiceChange):
            changes.append(replay.AddService(change.counter, change.service, start, end))
        else:
            changes.append(replay.CloseCounter(change.counter, start, end))
    return changes


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"day must be a date YYYY-MM-DD, got {text!r}", code="bad_day", http_status=400,
                          parameter="day") from None


@route(api, "/branches/<branch>/what-if", "POST",
       "Replay a closed day as it was and with changed counters, beside what happened: waits, service level and "
       "walk-outs per hour and service (managers, admins, regional readers; computes, changes nothing)",
       tag="hall", auth=REPORTS, manager_code="forbidden", body=WhatIfRequest, response=R.WhatIfAnswer,
       responses={400: "a bad day or a change that cannot apply (the field is named)",
                  404: "unknown branch, a day with no tickets (no_tickets) or not closed yet (day_not_closed)",
                  422: "a malformed body, or a day of more tickets than a replay takes (day_too_large)",
                  429: "another what-if is running on this server (what_if_busy): try again in a second"})
def what_if(branch: str, body: WhatIfRequest) -> Any:
    hall = current_app.extensions["hall"]
    return jsonify(hall.what_if.run(branch, current_actor(), _day(body.day), _changes(body), body.seed,
                                    offload_cpu))
