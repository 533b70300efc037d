"""Staff console routes.

The staff console is a tablet page at one counter: ``/staff/<branch>`` signs a staff member in and lets them
pick the counter and today's services; ``/staff/<branch>/counter/<n>`` is the console itself. Both only
render; every command goes through the JSON API with the session cookie, every update through the live
connection (role ``staff``). docs/staff-console.md describes the page.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for

from server.domain.hall import Branch
from server.pages.common import hall, page_branch, page_language
from server.pages.counter_devices import PAGES, blueprint
from server.services.views import service_view, vocabulary
from server.web import current_actor

PAGES.append(("Staff console 柜员工作台", "/staff/{branch}"))

# Why a counter pauses; the console offers these (plus free text). Stored as the English phrase.
PAUSE_REASONS = (
    {"code": "break", "text": {"zh-CN": "休息", "en": "Break"}},
    {"code": "back office", "text": {"zh-CN": "后台业务", "en": "Back office"}},
    {"code": "meeting", "text": {"zh-CN": "会议 / 培训", "en": "Meeting / training"}},
    {"code": "equipment", "text": {"zh-CN": "设备故障", "en": "Equipment problem"}},
)


def _page_config(branch: Branch) -> dict[str, Any]:
    """What both staff pages need to draw names: the branch's services and counters (configured)."""
    return {
        "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
        "services": [service_view(s, branch) for s in branch.services],
        "counters": [{"number": c.number, "name": c.name.as_dict(), "services": list(c.services),
                      "role": c.role.value} for c in branch.counters],
        "pause_reasons": list(PAUSE_REASONS),
        "api": f"/api/branches/{branch.code}",
        "vocabulary": vocabulary(),
    }


@blueprint.get("/staff/<branch_code>")
def staff_sign_in(branch_code: str) -> Any:
    """Sign in (username, password), then pick the counter and the services to serve today."""
    branch = page_branch(branch_code)
    counter = request.args.get("counter")
    page = {**_page_config(branch), "counter": counter if counter and branch.counter(counter) else None,
            "console_url": url_for("counter_devices.staff_console", branch_code=branch.code, counter_number="__N__")}
    return render_template("counter_devices/staff_sign_in.html", branch=branch, page=page, language=page_language())


@blueprint.get("/staff/<branch_code>/counter/<counter_number>")
def staff_console(branch_code: str, counter_number: str) -> Any:
    """The console at one counter; without a staff session it sends the tablet to the sign-in page."""
    branch = page_branch(branch_code)
    counter = branch.counter(counter_number)
    if counter is None:
        abort(404)
    actor = current_actor()
    account = hall().config.account(actor.username) if actor.username else None
    if account is None:
        return redirect(url_for("counter_devices.staff_sign_in", branch_code=branch.code, counter=counter.number))
    page = {
        **_page_config(branch),
        "counter": {"number": counter.number, "name": counter.name.as_dict(), "services": list(counter.services)},
        "me": {"username": account.username, "display_name": account.display_name, "role": account.role},
        "sign_in_url": url_for("counter_devices.staff_sign_in", branch_code=branch.code, counter=counter.number),
    }
    return render_template("counter_devices/staff_console.html", branch=branch, counter=counter, page=page,
                           language=page_language(), lock_zoom=True)
