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
    """The page's start: ``?branch=`` (a known branch) opens at its services, and ``&service=`` (one of its
    bookable services: the links of the kiosk's long-wait screen and the phone ticket's card) goes on to its days;
    a service the branch does not take bookings for is dropped with ``service_ignored``, for the page to say so."""
    asked_branch, asked_service = request.args.get("branch"), request.args.get("service")
    branch = hall().config.branch(asked_branch) if isinstance(asked_branch, str) else None
    service = None
    if branch is not None and isinstance(asked_service, str) and asked_service:
        service = next((s.code for s in branch.bookable_services if s.code == asked_service), None)
    return {"api": "/api", "language": page_language(None), "code": code,
            "branch": None if branch is None else branch.code, "service": service,
            "service_ignored": branch is not None and bool(asked_service) and service is None}


@blueprint.get("/book")
@may_locate
def booking_page() -> Any:
    """Book an appointment; ``?branch=CODE`` starts at that branch's services, ``&service=CODE`` at its days."""
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
