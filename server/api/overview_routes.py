"""The regional / all-branches overview over HTTP: ``GET /overview`` (the rules live in
:mod:`server.services.overview`; the page gets the same rows live through its socket)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from server.api import responses as R
from server.api.registry import api, current_actor, query_text, route
from server.services.access import REPORTS
from server.services.overview import Overview


def overview() -> Overview:
    return current_app.extensions["overview"]


@route(api, "/overview", "GET", "Every branch the caller reads, worst first: waiting, the worst wait against its "
       "target, counters, today's service level and satisfaction, alerts, issuing (managers: their branches; "
       "regional accounts: their regions'; admins: all)", tag="reports", auth=REPORTS, manager_code="forbidden",
       response=R.Overview, query=(("region", "string", "only this region's branches"),),
       responses={400: "a region no branch of the hall has (bad_query)"})
def branches_overview() -> Any:
    return jsonify(overview().listing(current_actor(), query_text("region", 32)))
