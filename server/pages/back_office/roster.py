"""The roster editor for managers (and, read only, regional readers): a day of a branch with its counters as rows
and its hours as columns, shifts and breaks as blocks, and the staffing advice beside each hour (needed, rostered,
open now). On a phone the day is a list.

Renders only; the roster comes from ``/api/branches/<b>/roster`` and the advice from ``/api/branches/<b>/staffing``
(:mod:`server.services.roster`, :mod:`server.services.staffing`).
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.domain.roster import MAX_COPY_DAYS, QUARTER
from server.pages.back_office import PAGES, blueprint
from server.pages.common import page_branch, page_language
from server.services.staffing import MAX_DAYS_AHEAD, MAX_DAYS_BACK

PAGES.append(("Roster 排班表", "/manager/{branch}/roster"))


@blueprint.get("/manager/<branch_code>/roster")
def roster_page(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    page = {
        "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
        "language": language,
        "api": f"/api/branches/{branch.code}/roster",
        "advice_api": f"/api/branches/{branch.code}/staffing",
        "manager_page": f"/manager/{branch.code}",
        "staffing_page": f"/manager/{branch.code}/staffing",
        "days_back": MAX_DAYS_BACK,
        "days_ahead": MAX_DAYS_AHEAD,
        "quarter": QUARTER,
        "max_copy_weeks": min(8, MAX_COPY_DAYS),
    }
    return render_template("back_office/roster.html", page=page, language=language, branch=branch)
