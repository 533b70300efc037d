"""The day's bookings of a branch, for its staff and managers: per slot, numbers and names masked, and "book for a
customer" at the counter or on the phone. Renders only; the list and the booking go through the booking API with
the session (:mod:`server.services.booking`)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.pages.back_office import PAGES, blueprint
from server.pages.common import page_branch, page_language

PAGES.append(("Bookings 预约", "/manager/{branch}/bookings"))


@blueprint.get("/manager/<branch_code>/bookings")
def bookings_page(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    page = {
        "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
        "language": language,
        "api": "/api",
        "manager_page": f"/manager/{branch.code}",
    }
    return render_template("back_office/bookings.html", page=page, language=language, branch=branch)
