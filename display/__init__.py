"""Wall displays, counter displays and the customer rating pad (issues 5 and 6): a Flask blueprint.

Pages only render and listen to the live connection; queue rules stay in the service layer.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("display", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/display-static")

PAGES: list[tuple[str, str]] = []  # (label, path with {branch}) printed by `make run` and linked from /

from display import pages  # noqa: E402,F401  (registers the routes)
