"""The what-if page for managers and regional readers: a closed day, changes of its counters, then waits, service
level and walk-outs per hour and per service for what happened, the replay as it was and the replay with the
changes, side by side (a chart and tables).

Renders only; the ended days come from ``GET /api/branches/<b>/days`` and the figures from
``POST /api/branches/<b>/what-if`` (:mod:`server.services.what_if`), with the session.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.domain.replay import MAX_CHANGES
from server.pages.back_office import PAGES, blueprint
from server.pages.common import page_branch, page_language

PAGES.append(("What-if 假设推演", "/manager/{branch}/what-if"))


@blueprint.get("/manager/<branch_code>/what-if")
def what_if_page(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    page = {
        "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
        "language": language,
        "api": f"/api/branches/{branch.code}/what-if",
        "days_api": f"/api/branches/{branch.code}/days",
        "manager_page": f"/manager/{branch.code}",
        "staffing_page": f"/manager/{branch.code}/staffing",
        "services": [{"code": s.code, "name": s.name.as_dict()} for s in branch.services],
        "counters": [{"number": c.number, "name": c.name.as_dict(), "services": list(c.services)}
                     for c in branch.counters],
        "max_changes": MAX_CHANGES,
    }
    return render_template("back_office/what_if.html", page=page, language=language, branch=branch)
