"""The back-office audience: the manager page, its audit log, the displays' content, staffing advice, the roster, the
what-if replay, reports, the day's bookings and the administration pages; a Flask blueprint with its templates and
scripts.

Registered from :data:`server.pages.AUDIENCES`.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("back_office", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/back-office-static")

PAGES: list[tuple[str, str]] = []  # (label, path with {branch}) printed by `make run` and linked from /

# the routes, registered in the order their pages are listed: the manager page, its audit log, the displays' content,
# staffing advice, the roster, the what-if replay, reports, the day's bookings, the administration, the overview
from server.pages.back_office import manager  # noqa: E402,F401,I001
from server.pages.back_office import audit  # noqa: E402,F401
from server.pages.back_office import displays  # noqa: E402,F401
from server.pages.back_office import staffing  # noqa: E402,F401
from server.pages.back_office import roster  # noqa: E402,F401
from server.pages.back_office import what_if  # noqa: E402,F401
from server.pages.back_office import reports  # noqa: E402,F401
from server.pages.back_office import bookings  # noqa: E402,F401
from server.pages.back_office import admin  # noqa: E402,F401
from server.pages.back_office import overview  # noqa: E402,F401
