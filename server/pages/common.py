"""What every page route needs: the hall service, the branch a URL names (or 404), the page language."""

from __future__ import annotations

from flask import current_app, request

from server.domain.hall import Branch
from server.services.access import require_branch
from server.services.hall import HallService

LANGUAGES = ("zh-CN", "en")


def hall() -> HallService:
    return current_app.extensions["hall"]


def page_branch(code: str) -> Branch:
    """The branch a page's URL names; a plain 404 page when there is none."""
    return require_branch(hall().config, code)


def page_language(default: str | None = "zh-CN") -> str | None:
    """``?lang=`` when it is one of the hall's page languages, else ``default``."""
    wanted = request.args.get("lang")
    return wanted if wanted in LANGUAGES else default
