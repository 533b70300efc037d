"""The audit log over HTTP: search it (JSON, a page at a time) and export it (CSV for a spreadsheet), for managers.

Both take the same filters; a bad value is refused with 400 ``bad_query`` naming the parameter. ``from`` and ``to``
are days (YYYY-MM-DD, in the time zone of ``branch``, else the server's; ``to`` included) or instants with their
offset; ``to`` as an instant is excluded. What a manager may read is the service's rule
(:meth:`server.services.audit.AuditLog.readable`).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify

from server.api import responses as R
from server.api.registry import (
    api,
    current_actor,
    query_branch,
    query_choices,
    query_day_or_instant,
    query_int,
    query_text,
    route,
)
from server.api.schemas import ID_MAX
from server.domain.audit import AuditAction
from server.domain.hall import LANGUAGES
from server.persistence.audit import AuditFilter
from server.services.access import MANAGER
from server.services.audit import PAGE_MAX, AuditLog

ACTIONS = [action.value for action in AuditAction]
USER_MAX = 64
TEXT_MAX = 100
FILTERS: tuple[tuple[str, Any, str], ...] = (
    ("branch", "string", "only this branch's entries and its people's (default: every branch the manager works at)"),
    ("from", "string", "from this day (YYYY-MM-DD, in the branch's time zone, else the server's) or instant "
                       "(ISO 8601 with offset)"),
    ("to", "string", "to this day, included (YYYY-MM-DD), or this instant, excluded (ISO 8601 with offset)"),
    ("action", {"type": "array", "items": {"type": "string", "enum": ACTIONS}},
     "only these actions (repeat the parameter: action=sign_in&action=sign_out)"),
    ("user", "string", f"only what this account did (its username, at most {USER_MAX} characters)"),
    ("q", "string", f"text in what it happened to or in the changed values (at most {TEXT_MAX} characters)"),
)
BAD_FILTER = {400: "a filter that is not understood (bad_query, details.parameter names it)"}


def audit() -> AuditLog:
    return current_app.extensions["audit"]


def asked_filter() -> tuple[AuditFilter, dict[str, Any]]:
    """The request's filters, and the same as asked (what an export records)."""
    branch = query_branch()
    since, until = query_day_or_instant("from"), query_day_or_instant("to")
    actions = query_choices("action", ACTIONS)
    username, text = query_text("user", USER_MAX), query_text("q", TEXT_MAX)
    first, last = audit().period(branch, since, until)
    wanted = AuditFilter(branches=None if branch is None else (branch,), since=first, until=last,
                         actions=tuple(AuditAction(a) for a in actions), username=username, text=text)
    asked = {"branch": branch, "from": None if first is None else first.isoformat(),
             "to": None if last is None else last.isoformat(), "actions": actions, "user": username, "q": text}
    return wanted, asked


@route(api, "/audit", "GET", "The audit log, newest first, a page at a time (managers: their branches' entries and "
       "their people's)", tag="audit", auth=MANAGER, response=R.AuditEntries, responses=BAD_FILTER,
       query=(*FILTERS, ("before_id", "integer", "entries older than this one (the answer's next_before_id)"),
              ("limit", "integer", f"at most this many entries (1-{PAGE_MAX}, default 100)")))
def audit_entries() -> Any:
    wanted, _ = asked_filter()
    before_id = query_int("before_id", 0, 1, ID_MAX) or None
    limit = query_int("limit", 100, 1, PAGE_MAX)
    log = audit()
    entries = log.search(current_actor(), wanted, limit=limit, before_id=before_id)
    return jsonify({"entries": [log.view(entry) for entry in entries],
                    "next_before_id": entries[-1].id if len(entries) == limit else None})


@route(api, "/audit.csv", "GET", "The audit log as CSV for a spreadsheet: UTF-8 with a byte-order mark, times in "
       "each entry's branch's time zone, the header in the language asked for (managers; the export is recorded)",
       tag="audit", auth=MANAGER, produces=("text/csv",), responses=BAD_FILTER,
       query=(*FILTERS, ("lang", {"type": "string", "enum": list(LANGUAGES)}, "the header's and the texts' "
                                                                              "language (default zh-CN)")))
def audit_csv() -> Any:
    wanted, asked = asked_filter()
    chosen = query_choices("lang", LANGUAGES)
    language_code = chosen[-1] if chosen else LANGUAGES[0]
    log = audit()
    chunks = log.export(current_actor(), wanted, language=language_code, described={**asked, "lang": language_code})
    response = Response(chunks, content_type="text/csv; charset=utf-8")
    name = log.file_name(asked["branch"], wanted.since, wanted.until)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
