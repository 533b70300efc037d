"""The rating pad: the small screen facing the customer at a counter (docs/staff-console.md)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template

from server.pages.common import page_branch, page_language
from server.pages.counter_devices import PAGES, blueprint
from server.services.views import vocabulary

PAGES.append(("Rating pads 评价器", "/pad/{branch}"))


@blueprint.get("/pad/<branch_code>", defaults={"counter_number": None})
@blueprint.get("/pad/<branch_code>/<counter_number>")
def rating_pad(branch_code: str, counter_number: str | None) -> Any:
    """Who serves, the number, then "rate our service".

    Without a counter number it lists the branch's counters, to set a pad up once.
    """
    branch = page_branch(branch_code)
    counter = branch.counter(counter_number) if counter_number is not None else None
    if counter_number is not None and counter is None:
        abort(404)
    language = page_language()
    page = {"branch": {"code": branch.code, "name": branch.name.as_dict()}, "language": language,
            "counter": None if counter is None else {"number": counter.number, "name": counter.name.as_dict()},
            "vocabulary": vocabulary()}
    return render_template("counter_devices/pad.html", branch=branch, counter=counter, page=page,
                           language=language, lock_zoom=True)
