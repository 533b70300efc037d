"""Security headers on every response: what a browser may load, run and frame for a page of the hall.

A small WSGI middleware rather than Flask-Talisman: Talisman's defaults redirect every plain-HTTP request to
HTTPS and mark the session cookie ``Secure`` (a hall LAN serves kiosks over plain HTTP, so both must be switched
off), its headers are set in ``after_request`` and so miss the Socket.IO transport, which Flask-SocketIO serves
before Flask, and its per-view options are fixed at import, where the displays' framing comes from the
configuration. Outermost in the WSGI stack, this sets the headers on pages, the API, static files, error pages
and the Socket.IO long-polling answers alike.

- ``Content-Security-Policy``: everything from the server itself ('self'; the hall may have no internet, so
  nothing comes from a CDN); no inline script or style, no ``eval``, no plugins, no ``<base>``. A page hands
  its start-up data to its script in a ``<script type="application/json">`` block, which the browser never
  runs. ``frame-ancestors 'none'``: no other site may frame a page (the staff console in a hidden frame would
  take clicks); the wall and counter displays (:func:`may_be_framed`) also by the origins listed in
  ``server.display_frame_ancestors`` (a signage player's page). A manager's preview of the kiosk or a display
  (``?preview=1``, refused to anyone else and inert: :func:`server.pages.common.page_preview`) may also be framed by
  the hall's own pages ('self': the back office's displays page), and only that answer: the kiosk a customer
  touches stays unframeable. ``frame-ancestors`` supersedes
  ``X-Frame-Options`` in every browser a hall runs, and that header cannot list origins, so it is not sent.
- ``X-Content-Type-Options: nosniff``: an uploaded file or an API answer is never run as a script or page.
- ``Referrer-Policy: no-referrer``: a ticket's URL carries its private token; no request may pass it on.
- ``Permissions-Policy``: no page of the hall uses the camera, microphone, location, payment or device APIs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import g, make_response

from server.web import hall_config

CSP_DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    ("img-src", "'self' data:"),  # the pages' empty favicon is a data: URL
    ("media-src", "'self'"),
    ("font-src", "'self'"),
    ("connect-src", "'self'"),  # the API and the Socket.IO connection (ws: to this host is 'self')
    ("object-src", "'none'"),
    ("base-uri", "'none'"),
    ("form-action", "'self'"),
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "bluetooth", "browsing-topics", "camera", "display-capture", "geolocation", "gyroscope", "hid",
    "magnetometer", "microphone", "midi", "payment", "serial", "usb"))


LOCATING_PERMISSIONS_POLICY = PERMISSIONS_POLICY.replace("geolocation=()", "geolocation=(self)")
"""The booking page's policy: it may ask the phone where it is, to list the nearest branches first."""


def may_locate(view: Callable[..., Any]) -> Callable[..., Any]:
    """A page that may ask for the device's location (the booking page); every other page may not."""
    @functools.wraps(view)
    def located(*args: Any, **kwargs: Any) -> Any:
        response = make_response(view(*args, **kwargs))
        response.headers["Permissions-Policy"] = LOCATING_PERMISSIONS_POLICY
        return response

    return located


def content_security_policy(frame_ancestors: Sequence[str] = ()) -> str:
    """The policy of every response; ``frame_ancestors``: origins that may frame it (none: no one may)."""
    ancestors = " ".join(frame_ancestors) or "'none'"
    return "; ".join([*(f"{name} {value}" for name, value in CSP_DIRECTIVES), f"frame-ancestors {ancestors}"])


SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", content_security_policy()),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
)


class SecurityHeaders:
    """WSGI middleware: adds :data:`SECURITY_HEADERS` to every response that does not set its own."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            missing = [(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present]
            return start_response(status, [*headers, *missing], exc_info)

        return self.app(environ, start)


PREVIEW_FRAME_ANCESTORS = ("'self'",)
"""Who may frame a manager's preview: the hall's own pages (the back office's displays page), no other site."""


def frame_ancestors(*, display: bool) -> tuple[str, ...]:
    """Who may frame this answer of a device page: a display the configured origins, a manager's preview (``g.preview``,
    set by :func:`server.pages.common.page_preview` once the manager is checked) also the hall's own pages."""
    configured = tuple(hall_config().server.display_frame_ancestors) if display else ()
    return (*PREVIEW_FRAME_ANCESTORS, *configured) if g.get("preview") else configured


def _framing(view: Callable[..., Any], *, display: bool) -> Callable[..., Any]:
    @functools.wraps(view)
    def framed(*args: Any, **kwargs: Any) -> Any:
        response = make_response(view(*args, **kwargs))
        ancestors = frame_ancestors(display=display)
        if ancestors:
            response.headers["Content-Security-Policy"] = content_security_policy(ancestors)
        return response

    return framed


def may_be_framed(view: Callable[..., Any]) -> Callable[..., Any]:
    """A page that the origins of ``server.display_frame_ancestors`` may show in a frame (the hall's displays), and
    the hall's own pages too when it is a manager's preview."""
    return _framing(view, display=True)


def may_be_previewed(view: Callable[..., Any]) -> Callable[..., Any]:
    """A page that only a manager's preview lets the hall's own pages frame (the kiosk); otherwise no one may."""
    return _framing(view, display=False)
