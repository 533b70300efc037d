"""Staff console and manager pages: a Flask blueprint (sign-in through the same session as the API)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/pages-static")

PAGES: list[tuple[str, str]] = []  # (label, path with {branch}) printed by `make run` and linked from /

from server.pages import manager, routes  # noqa: E402,F401  (registers the routes)
