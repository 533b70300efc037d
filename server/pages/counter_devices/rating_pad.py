"""The rating pad: the small screen facing the customer at a counter (docs/staff-console.md)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template

from server.domain.devices import DeviceKind, Role
from server.pages.common import page_branch, page_language
from server.pages.counter_devices import PAGES, blueprint
from server.pages.pairing import device_gate
from server.services.access import DEVICE_REFUSALS
from server.services.views import vocabulary

PAGES.append(("Rating pads 评价器 (show a code: pair on the manager page)", "/pad/{branch}"))


@blueprint.get("/pad/<branch_code>", defaults={"counter_number": None})
@blueprint.get("/pad/<branch_code>/<counter_number>")
def rating_pad(branch_code: str, counter_number: str | None) -> Any:
    """Who serves, the number, then "rate our service".

    Without a counter number it lists the branch's counters, to set a pad up once. A pad works only when paired
    as that counter's pad (or in the browser of the staff member signed in at that counter): otherwise it shows
    its pairing code.
    """
    branch = page_branch(branch_code)
    counter = branch.counter(counter_number) if counter_number is not None else None
    if counter_number is not None and counter is None:
        abort(404)
    if counter is not None and (gate := device_gate(branch, Role(DeviceKind.PAD, counter.number))) is not None:
        return gate
    language = page_language()
    page = {"branch": {"code": branch.code, "name": branch.name.as_dict()}, "language": language,
            "counter": None if counter is None else {"number": counter.number, "name": counter.name.as_dict()},
            "vocabulary": vocabulary(), "device_refusals": list(DEVICE_REFUSALS)}
    return render_template("counter_devices/pad.html", branch=branch, counter=counter, page=page,
                           language=language, lock_zoom=True)
