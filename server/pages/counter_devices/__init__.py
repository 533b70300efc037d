"""The counter-devices audience: the screens at a counter (a Flask blueprint with its templates and scripts).

The staff console ``/staff/{branch}`` → ``/staff/{branch}/counter/{n}`` (the staff member's tablet) and the
rating pad ``/pad/{branch}/{counter}`` (facing the customer). Registered from :data:`server.pages.AUDIENCES`.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("counter_devices", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/counter-static")

PAGES: list[tuple[str, str]] = []  # (label, path with {branch}) printed by `make run` and linked from /

from server.pages.counter_devices import rating_pad, staff_console  # noqa: E402,F401  (registers the routes)
