"""The manager's reports over HTTP: one branch's (``/branches/<b>/reports``) or every branch the caller reads
(``/reports``, optionally one region's), as JSON with every table, or one table as CSV for a spreadsheet.

The rules live in :mod:`server.services.reports`; these views parse the query and answer.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify

from server.api.registry import api, current_actor, query_choices, query_date, query_text, route
from server.domain.api_tokens import Scope
from server.domain.hall import LANGUAGES, Branch
from server.domain.reports import MAX_RANGE_DAYS, Group, Period, Section
from server.services.access import REPORTS
from server.services.reports import GROUPS, SECTIONS, Reports

SECTION_NAMES = [s.value for s in SECTIONS]
GROUP_NAMES = [g.value for g in GROUPS]
RANGE = (("from", "string", "first day, YYYY-MM-DD (default: 29 days before `to`)"),
         ("to", "string", "last day, included, YYYY-MM-DD (default: yesterday in the branch's time zone)"),
         ("group", {"type": "string", "enum": GROUP_NAMES}, "rows per branch, service, counter, staff member, day, "
                                                            "weekday or hour of issue (default: total)"))
SECTION_QUERY = (("section", {"type": "array", "items": {"type": "string", "enum": SECTION_NAMES}},
                  "only these tables (repeat the parameter; default: all)"),)
LANG_QUERY = (("lang", {"type": "string", "enum": list(LANGUAGES)}, "the header's language (default zh-CN)"),)
REGION_QUERY = (("region", "string", "only this region's branches (default: every branch the caller reads)"),)
BAD = {400: f"a bad day, a range that is reversed or longer than {MAX_RANGE_DAYS} days (bad_date_range), or a "
            "grouping a table cannot have (bad_group; bad_query names the parameter)"}
SECTION_PATH = "<any(" + ", ".join(SECTION_NAMES) + "):section>"


def reports() -> Reports:
    return current_app.extensions["hall"].reports


def _asked(branches: list[Branch]) -> tuple[Period, Group]:
    period = reports().period(branches, query_date("from"), query_date("to"))
    chosen = query_choices("group", GROUP_NAMES)
    return period, Group(chosen[-1] if chosen else Group.TOTAL.value)


def _json(branches: list[Branch]) -> Any:
    period, group = _asked(branches)
    sections = [Section(s) for s in query_choices("section", SECTION_NAMES)] or None  # None: all the group allows
    return jsonify(reports().report(branches, period, group, sections))


def _csv(branches: list[Branch], section: str) -> Any:
    period, group = _asked(branches)
    chosen = query_choices("lang", LANGUAGES)
    language = chosen[-1] if chosen else LANGUAGES[0]
    body = reports().csv(branches, period, group, Section(section), language)
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (f'attachment; filename="'
                                               f'{reports().file_name(branches, period, Section(section))}"')
    response.headers["Cache-Control"] = "no-store"
    return response


@route(api, "/branches/<branch>/reports", "GET", "A branch's report over a range of closed days: volumes, waits, "
       "service times, service level, satisfaction, rating reasons and the arrivals heat map (managers, regional "
       "readers)", tag="reports", auth=REPORTS, manager_code="forbidden", token=Scope.READ.value,
       query=(*RANGE, *SECTION_QUERY), responses=BAD)
def branch_report(branch: str) -> Any:
    return _json(reports().branch_scope(current_actor(), branch))


@route(api, f"/branches/<branch>/reports/{SECTION_PATH}.csv", "GET", "One table of a branch's report as CSV for a "
       "spreadsheet: UTF-8 with a byte-order mark, the header in the language asked for (managers, regional readers)",
       tag="reports", auth=REPORTS, manager_code="forbidden", token=Scope.READ.value, produces=("text/csv",),
       query=(*RANGE, *LANG_QUERY), responses=BAD)
def branch_report_csv(branch: str, section: str) -> Any:
    return _csv(reports().branch_scope(current_actor(), branch), section)


@route(api, "/reports", "GET", "The report over every branch the caller reads (managers: their branches; regional "
       "accounts: their regions'; admins: all), or one region's", tag="reports", auth=REPORTS,
       manager_code="forbidden", query=(*RANGE, *SECTION_QUERY, *REGION_QUERY), responses=BAD)
def all_reports() -> Any:
    return _json(reports().readable_scope(current_actor(), query_text("region", 32)))


@route(api, f"/reports/{SECTION_PATH}.csv", "GET", "One table of the report over every branch the caller reads, as "
       "CSV for a spreadsheet", tag="reports", auth=REPORTS, manager_code="forbidden", produces=("text/csv",),
       query=(*RANGE, *LANG_QUERY, *REGION_QUERY), responses=BAD)
def all_reports_csv(section: str) -> Any:
    return _csv(reports().readable_scope(current_actor(), query_text("region", 32)), section)
