"""Kiosk and mobile ticket routes.

* ``/kiosk/<branch>?kiosk=<id>&lang=<zh-CN|en>``: the touchscreen kiosk. ``kiosk`` picks one of the
  branch's ``[[branches.kiosks]]`` (printer kind and timers); without it the branch's first kiosk is used.
  ``&preview=1``: a manager's inert preview (no ticket, no printing, no heartbeat), framed by the displays page.
* ``/t/<token>``: the customer's own ticket on their phone, opened from the QR code.
* ``/t/<token>/qr.svg``: that QR code, pointing at ``/t/<token>`` on the server's public address.

The pages get their live data from ``HallLive`` and act through the JSON API; these routes only render
what the configuration says (names, timers, the overflow notice) and the QR code.
"""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.constants
from flask import Response, abort, render_template, request

from kiosk import PAGES, blueprint
from server.device_web import device_actor
from server.domain.booking import CODE_ALPHABET, CODE_LENGTH
from server.domain.devices import DeviceKind, Role
from server.domain.errors import NotFound
from server.domain.hall import Branch
from server.headers import may_be_previewed
from server.pages.common import hall, page_branch, page_language, page_preview
from server.pages.pairing import device_gate
from server.services.access import ticket_classes
from server.services.printing import kiosk_view, ticket_url
from server.services.views import vocabulary
from server.web import public_base_url

PAGES.append(("Kiosk 取号机", "/kiosk/{branch}"))

PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def _kiosk_settings(branch: Branch, kiosk_id: str | None) -> dict[str, Any]:
    """The chosen kiosk's settings as the page uses them; a screen-only kiosk if the branch lists none."""
    if kiosk_id:
        kiosk = branch.kiosk(kiosk_id)
        if kiosk is None:
            known = ", ".join(k.id for k in branch.kiosks) or "none configured"
            abort(404, description=f"branch {branch.code} has no kiosk {kiosk_id!r} (kiosks: {known})")
        return kiosk_view(kiosk)
    if branch.kiosks:
        return kiosk_view(branch.kiosks[0])
    return {"id": "", "name": branch.name.as_dict(), "printer": "none", "print_timeout_s": 5.0,
            "confirmation_s": 20.0, "idle_reset_s": 60.0}


@blueprint.get("/kiosk/<branch_code>")
@may_be_previewed
def kiosk_page(branch_code: str) -> Any:
    """The touchscreen kiosk of one branch (its pairing code instead, where the branch's kiosks must be paired).

    A manager's preview (``?preview=1``) is not a device: no pairing, no heartbeat, and the page takes no ticket."""
    branch = page_branch(branch_code)
    kiosk = _kiosk_settings(branch, request.args.get("kiosk"))
    preview = page_preview(branch)
    if not preview and (gate := device_gate(branch, Role(DeviceKind.KIOSK, kiosk["id"] or None))) is not None:
        return gate
    language = page_language()
    page_config = {
        "branch": branch.code,
        "branch_name": branch.name.as_dict(),
        "timezone": branch.timezone.key,  # the clock before the first snapshot: the branch's time, not the device's
        "kiosk": kiosk,
        "language": language,
        "overflow": {"wait_min": branch.overflow.wait_min, "notice": branch.overflow.notice.as_dict(),
                     # the services whose long wait the kiosk checks for other branches before issuing
                     "covers": [s.code for s in branch.services if branch.overflow.covers(s.code)]},
        "api": "/api",
        # what this browser may take (a priority lane only where it would not be refused): told, not taught
        "ticket_classes": ticket_classes(hall().config, device_actor(), branch),
        "preview": preview,
        # the check-in keypad offers the booking code's own alphabet; whether a booking may check in is the server's
        "checkin": {"alphabet": CODE_ALPHABET, "length": CODE_LENGTH,
                    "offered": bool(branch.bookable_services or branch.remote_services)},
    }
    return render_template("kiosk/kiosk.html", branch=branch, page_config=page_config, language=language,
                           lock_zoom=True, preview=preview)


@blueprint.get("/t/<token>")
def ticket_page(token: str) -> Any:
    """A customer's own ticket on their phone. Unknown tokens get a plain "not found" page."""
    try:
        ticket = hall().queries.ticket_by_token(token)
    except NotFound:
        return render_template("kiosk/missing.html", language="zh-CN"), 404, PRIVATE_HEADERS
    branch = page_branch(ticket["branch"])
    page_config = {
        "branch": branch.code,
        "branch_name": branch.name.as_dict(),
        "timezone": branch.timezone.key,
        "token": token,
        "ticket": ticket,
        "counters": {c.number: c.name.as_dict() for c in branch.counters},
        "language": page_language(None),
        "api": "/api",
        "vocabulary": vocabulary(),
    }
    return render_template("kiosk/ticket.html", page_config=page_config, language="zh-CN",
                           number=ticket["number"]), 200, PRIVATE_HEADERS


@blueprint.get("/t/<token>/qr.svg")
def ticket_qr(token: str) -> Any:
    """The ticket's QR code as SVG: the URL of its phone page on the server's public address."""
    try:
        hall().queries.ticket_by_token(token)
    except NotFound:
        abort(404)
    svg = qr_svg(ticket_url(public_base_url(), token))
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400", "Referrer-Policy": "no-referrer"})


def qr_svg(data: str, *, border: int = 2) -> str:
    """A compact QR code (error correction M) as one SVG path, one unit per module, crisp when scaled."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges" '
            f'role="img" aria-label="QR code"><rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path fill="#000" d="{"".join(runs)}"/></svg>')
