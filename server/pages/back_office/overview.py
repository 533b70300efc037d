"""The regional / all-branches overview page: every branch the signed-in reader reads, worst first, updated live.

Renders only; the rows come from the ``watch_overview`` socket (:mod:`server.overview_sockets`), the same listing as
``GET /api/overview`` (:mod:`server.services.overview`). A regional account lands here after signing in.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.domain.hall_alerts import Severity
from server.domain.reports import SATISFACTION_GOAL
from server.domain.staffing import SERVICE_LEVEL
from server.pages.back_office import blueprint
from server.pages.common import page_language
from server.services.overview import ORDER_RULE

OVERVIEW_PATH = "/overview"


@blueprint.get(OVERVIEW_PATH)
def overview_page() -> Any:
    language = page_language()
    page = {
        "language": language,
        "api": "/api/overview",
        "severities": [severity.value for severity in sorted(Severity, key=lambda s: s.rank)],
        # what the page marks as short of the goal: the reports' satisfaction goal, staffing's service level
        "satisfaction_goal": SATISFACTION_GOAL,
        "service_level_goal": SERVICE_LEVEL,
        "order_rule": ORDER_RULE,
    }
    return render_template("back_office/overview.html", page=page, language=language)
