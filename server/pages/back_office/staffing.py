"""The staffing advice page for managers and regional readers: a day, then per opening hour the forecast arrivals
with their range, the counters needed, planned and open, the short hours marked, and a bar chart.

Renders only; the figures come from ``GET /api/branches/<b>/staffing?date=`` with the session
(:mod:`server.services.staffing`).
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.pages.back_office import PAGES, blueprint
from server.pages.common import page_branch, page_language
from server.services.staffing import MAX_DAYS_AHEAD, MAX_DAYS_BACK

PAGES.append(("Staffing advice 排班建议", "/manager/{branch}/staffing"))


@blueprint.get("/manager/<branch_code>/staffing")
def staffing_page(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    page = {
        "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
        "language": language,
        "api": f"/api/branches/{branch.code}/staffing",
        "manager_page": f"/manager/{branch.code}",
        "roster_page": f"/manager/{branch.code}/roster",
        "days_back": MAX_DAYS_BACK,
        "days_ahead": MAX_DAYS_AHEAD,
    }
    return render_template("back_office/staffing.html", page=page, language=language, branch=branch)
