"""The customer audience: the pages a walk-in customer uses (a Flask blueprint with its templates and scripts).

The touchscreen kiosk ``/kiosk/{branch}``, the customer's own phone ticket ``/t/{token}`` with its QR code, and
online booking ``/book`` and ``/book/{code}``, joining the queue from a phone ``/join/{branch}`` and checking in
by the wall's QR ``/arrive/{branch}``. Registered from :data:`server.pages.AUDIENCES`.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/kiosk-static")

PAGES: list[tuple[str, str]] = []  # (label, path with {branch}) printed by `make run` and linked from /

from kiosk import booking, pages, remote  # noqa: E402,F401  (registers the routes)
