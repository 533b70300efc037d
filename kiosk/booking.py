"""The public booking pages (phone first): ``/book`` (branch → service → day → slot → phone → code and QR) and
``/book/<code>`` (the customer gives the phone number, then sees, changes or cancels the booking), and
``/book/qr.svg?code=…``, the QR code of a booking code. The pages act through the booking API
(``server/api/booking_routes.py``); the rules are the service layer's (docs/appointments.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, render_template, request

from kiosk import PAGES, blueprint
from kiosk.pages import PRIVATE_HEADERS, qr_svg
from server.domain.booking import normalise_code
from server.domain.errors import DomainError
from server.headers import may_locate
from server.pages.common import hall, page_branch, page_language
from server.web import public_base_url

PAGES.append(("Booking 预约", "/book?branch={branch}"))


def _config(code: str | None) -> dict[str, Any]:
    branch = request.args.get("branch")
    return {"api": "/api", "language": page_language(None), "code": code,
            "branch": branch if isinstance(branch, str) and hall().config.branch(branch) is not None else None}


@blueprint.get("/book")
@may_locate
def booking_page() -> Any:
    """Book an appointment; ``?branch=CODE`` starts at that branch's services."""
    return render_template("kiosk/book.html", page_config=_config(None), language="zh-CN"), 200, PRIVATE_HEADERS


@blueprint.get("/book/<code>")
def booking_manage_page(code: str) -> Any:
    """One booking: shown, changed or cancelled once the customer types its phone number (the code alone shows
    nothing, so a code seen over a shoulder is of no use)."""
    try:
        wanted = normalise_code(code)
    except DomainError:
        return render_template("kiosk/missing.html", language="zh-CN"), 404, PRIVATE_HEADERS
    return render_template("kiosk/book.html", page_config=_config(wanted), language="zh-CN"), 200, PRIVATE_HEADERS


@blueprint.get("/book/qr.svg")
def booking_qr() -> Any:
    """The QR code of a booking code (what the kiosk's check-in will scan). Made from the code alone, whether or
    not it exists, so it tells nobody anything."""
    try:
        code = normalise_code(request.args.get("code", ""))
    except DomainError as refused:
        return {"error": refused.code, "message": refused.message}, 400
    return Response(qr_svg(code, border=2), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400", "Referrer-Policy": "no-referrer"})


@blueprint.get("/book/<branch_code>/qr.svg")
def booking_link_qr(branch_code: str) -> Any:
    """The QR code of a branch's booking page on the server's public address, for a customer at the kiosk who would
    rather book a time (the kiosk's long-wait screen); 404 for an unknown branch."""
    branch = page_branch(branch_code)
    svg = qr_svg(f"{public_base_url()}/book?{urlencode({'branch': branch.code})}", border=2)
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=3600", "Referrer-Policy": "no-referrer"})
