"""The hall-screens audience: what everyone in the hall sees (a Flask blueprint with its templates and scripts).

The wall display ``/display/{branch}`` and the counter display ``/display/{branch}/counter/{n}``, with the
chime and spoken announcements. Registered from :data:`server.pages.AUDIENCES`.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("display", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/display-static")

PAGES: list[tuple[str, str]] = []  # (label, path with {branch}) printed by `make run` and linked from /

from display import pages  # noqa: E402,F401  (registers the routes)
