"""The virtual queue's pages (phone first): ``/join/<branch>`` (take a ticket on the phone before arriving, for the
services that allow it), ``/arrive/<branch>?c=CODE`` (opened by scanning the wall display's QR: checks in the ticket
this phone holds) and ``/arrive/<branch>/qr.svg`` (that QR with the current code, for the wall). The pages act
through the API (``server/api/remote_routes.py``); the rules are the service layer's (docs/appointments.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, render_template, request

from kiosk import PAGES, blueprint
from kiosk.pages import PRIVATE_HEADERS, qr_svg
from server.device_web import device_actor
from server.pages.common import hall, page_branch, page_language
from server.services.remote import remote_services
from server.web import public_base_url

PAGES.append(("Join from a phone 手机取号", "/join/{branch}"))


def _config(branch_code: str, **more: Any) -> dict[str, Any]:
    branch = page_branch(branch_code)
    return {"api": "/api", "language": page_language(None), "branch": branch.code,
            "branch_name": branch.name.as_dict(), "services": remote_services(branch), **more}


@blueprint.get("/join/<branch_code>")
def join_page(branch_code: str) -> Any:
    """Take a ticket on the phone before arriving (from a link or the QR on the hall's door)."""
    return (render_template("kiosk/join.html", page_config=_config(branch_code, mode="join"), language="zh-CN"),
            200, PRIVATE_HEADERS)


@blueprint.get("/arrive/<branch_code>")
def arrive_page(branch_code: str) -> Any:
    """Opened by scanning the wall's QR: checks in the remote ticket this phone holds (its token is in the phone
    page's local storage), with the code the QR carries."""
    code = request.args.get("c", "")
    config = _config(branch_code, mode="arrive", code=code if isinstance(code, str) else "")
    return render_template("kiosk/join.html", page_config=config, language="zh-CN"), 200, PRIVATE_HEADERS


@blueprint.get("/arrive/<branch_code>/qr.svg")
def arrival_qr(branch_code: str) -> Any:
    """The wall's arrival QR: the check-in page's URL with the code of this time window. Read like the code itself
    (the branch's paired display where displays must be paired); never cached."""
    branch = page_branch(branch_code)
    found = hall().remote.arrival(branch.code, device_actor())
    url = f"{public_base_url()}/arrive/{branch.code}?{urlencode({'c': found['code']})}"
    return Response(qr_svg(url, border=2), mimetype="image/svg+xml",
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
