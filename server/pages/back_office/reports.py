"""The reports page: charts and tables of a branch's figures (``/manager/<branch>/reports``) or of every branch the
caller reads (``/reports``, with a region choice for administrators and regional accounts) over a range of closed
days, grouped as the reader picks; each table also as CSV.

Renders only; the figures come from ``GET /api/branches/<b>/reports`` and ``GET /api/reports`` with the session
(:mod:`server.services.reports`). Which groupings each table can have is the service's (:func:`groups_of`).
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.domain.hall import Branch
from server.domain.reports import LABELS, MAX_RANGE_DAYS, SATISFACTION_GOAL
from server.pages.back_office import PAGES, blueprint
from server.pages.common import hall, page_branch, page_language
from server.services.reports import GROUPS, SECTIONS, groups_of
from server.web import current_actor

PAGES.append(("Reports 报表", "/manager/{branch}/reports"))


def _page(language: str | None, branch: Branch | None) -> dict[str, Any]:
    """What the page's script starts from: where to read, the tables and groupings there are, every label."""
    first = branch or hall().config.branches[0]
    scope = f"/api/branches/{branch.code}/reports" if branch else "/api/reports"
    return {
        "language": language,
        "branch": {"code": branch.code, "name": branch.name.as_dict()} if branch else None,
        "timezone": first.timezone.key,  # quick ranges ("yesterday") in the calendar the API defaults to
        "api": scope,
        "csv": scope + "/{section}.csv",
        "sign_in_page": f"/manager/{first.code}",
        "sections": [s.value for s in SECTIONS],
        "groups": [g.value for g in GROUPS],
        "groups_of": {s.value: [g.value for g in groups_of(s)] for s in SECTIONS},
        "labels": {key: text.as_dict() for key, text in LABELS.items()},
        "satisfaction_goal": SATISFACTION_GOAL,
        "max_days": MAX_RANGE_DAYS,
        "regions": [] if branch else hall().reports.region_choices(current_actor()),
    }


@blueprint.get("/manager/<branch_code>/reports")
def branch_reports_page(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    return render_template("back_office/reports.html", page=_page(language, branch), language=language,
                           branch=branch)


@blueprint.get("/reports")
def reports_page() -> Any:
    language = page_language()
    return render_template("back_office/reports.html", page=_page(language, None), language=language,
                           branch=None, back_href="/")
