"""What every page route needs: the hall service, the branch a URL names (or 404), the page language, and whether a
device page is asked for as a manager's preview."""

from __future__ import annotations

from flask import current_app, g, request

from server.domain.hall import Branch
from server.services.access import require_branch, require_previewer
from server.services.hall import HallService
from server.web import current_actor

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


def page_preview(branch: Branch) -> bool:
    """Whether a kiosk or display page is asked for as a preview (``?preview=1``): an inert copy that the back office's
    displays page frames. Only the branch's managers (and admins) may ask (a 401/403 page for anyone else), since a
    preview skips the device's pairing; ``g.preview`` then lets the hall's own pages frame the answer
    (:func:`server.headers.frame_ancestors`)."""
    if request.args.get("preview") != "1":
        return False
    require_previewer(hall().config, current_actor(), branch)
    g.preview = True
    return True
