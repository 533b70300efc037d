"""The customer kiosk and the mobile ticket page (issue 4): a Flask blueprint with its templates and scripts.

Pages only render and call the JSON API and the live connection; queue rules stay in the service layer.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/kiosk-static")

PAGES: list[tuple[str, str]] = []  # (label, path with {branch}) printed by `make run` and linked from /

from kiosk import pages  # noqa: E402,F401  (registers the routes)
