"""The displays page for managers: what the wall displays show besides the calls (the notices and the media
playlist), with previews, and live previews of the branch's kiosk and wall display.

Renders only; the lists and every change go through the signage API (``/api/branches/<b>/notices``, ``…/media``)
with the session, which says who may (the branch's managers and the admins) and what the limits are. The previews
are the real pages in frames, asked for as ``?preview=1`` (:func:`server.pages.common.page_preview`: inert, and
only they may be framed by this page).
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.pages.back_office import PAGES, blueprint
from server.pages.common import LANGUAGES, page_branch, page_language

PAGES.append(("Displays: notices, media, previews 显示内容", "/manager/{branch}/displays"))

# the devices a manager previews, at the size they are drawn (the frame is then scaled to fit)
PREVIEWS = {
    "kiosk_portrait": {"path": "/kiosk/{branch}", "width": 1080, "height": 1920},
    "kiosk_landscape": {"path": "/kiosk/{branch}", "width": 1920, "height": 1080},
    "wall": {"path": "/display/{branch}", "width": 1920, "height": 1080},
}


@blueprint.get("/manager/<branch_code>/displays")
def displays_page(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    page = {
        "branch": {"code": branch.code, "name": branch.name.as_dict()},
        "language": language,
        "languages": list(LANGUAGES),
        "api": f"/api/branches/{branch.code}",
        "manager_page": f"/manager/{branch.code}",
        "previews": {name: {**size, "path": size["path"].format(branch=branch.code)}
                     for name, size in PREVIEWS.items()},
    }
    return render_template("back_office/displays.html", page=page, language=language, branch=branch)
