"""Request-bound helpers shared by the JSON API and the pages: who is asking, from which device, at which address.

Who is asking is resolved once per request (:func:`current_actor`): an integration's API token when the request
carries one (``Authorization: Bearer qt_…``), else the staff session cookie. A request with a token is that token
and nothing else: its cookies (the staff session's, a paired device's) are not read, so a token never borrows the
rights of the browser or program that sends it, and the check against other sites' pages does not apply (a page of
another site cannot make a browser send an ``Authorization`` header here: that needs CORS, which this server never
grants).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, current_app, g, request

from server.domain.errors import DomainError
from server.services import access
from server.services.actor import Actor, token_actor
from server.services.api_tokens import ApiTokenService
from server.services.sessions import OpenSession, SessionService
from server.settings import HallConfig

DEVICE_HEADER = "X-Device-Id"
DEVICE_ID_MAX = 64  # ticket_event.device
DEVICE_ID_PATTERN = "^[ -~]*$"
"""Printable ASCII (spaces around it are dropped): the OpenAPI document states the same rule."""
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)


def public_base_url() -> str:
    """``server.public_url`` when configured, else the scheme and host this request came in on (the base of the
    addresses in QR codes and printed tickets: one that no phone can open is remembered for the managers)."""
    configured = current_app.extensions["hall"].config.server.public_url
    if configured:
        return configured
    base = request.host_url.rstrip("/")
    current_app.extensions["public_address"].note_request_base(base)
    return base


def hall_config() -> HallConfig:
    return current_app.extensions["hall"].config


def device_id() -> str | None:
    """The calling device's own id (``X-Device-Id``: a kiosk, a pad), kept in the event rows it causes."""
    raw = request.headers.get(DEVICE_HEADER) or ""
    if len(raw) > DEVICE_ID_MAX or not _DEVICE_ID.fullmatch(raw):
        raise DomainError(f"{DEVICE_HEADER} must be at most {DEVICE_ID_MAX} printable ASCII characters",
                          code="bad_device_id", http_status=400)
    return raw.strip() or None


SESSION_COOKIE = "hall_session"
"""The staff session cookie: a random session id (see :mod:`server.services.sessions`), HTTP-only, SameSite=Lax."""


def sessions() -> SessionService:
    return current_app.extensions["sessions"]


def current_session() -> OpenSession | None:
    """The staff session this request carries, if it still holds (checked once per request, kept in ``flask.g``);
    None for a request made with an API token, whatever cookie it also carries."""
    if "staff_session" not in g:
        cookie = None if bearer_token() is not None else request.cookies.get(SESSION_COOKIE)
        g.staff_session = sessions().resume(cookie)
    return g.staff_session


def api_tokens() -> ApiTokenService:
    return current_app.extensions["api_tokens"]


BEARER = "bearer"


def bearer_token() -> str | None:
    """The API token of ``Authorization: Bearer <token>`` ("" for a bearer header without one), or None when the
    request carries none."""
    scheme, _, credentials = (request.headers.get("Authorization") or "").strip().partition(" ")
    return credentials.strip() if scheme.lower() == BEARER else None


def current_actor() -> Actor:
    """Who sends this request, resolved once per request (kept in ``flask.g``): the API token it carries (401
    ``invalid_token`` / ``token_revoked`` / ``token_expired``, 429 past the token's rate), else its session."""
    actor = g.get("actor")
    if actor is None:
        token = bearer_token()
        if token is not None:
            actor = dataclasses.replace(token_actor(api_tokens().authenticate(token), device_id()),
                                        address=request.remote_addr)
        else:
            opened = current_session()
            actor = access.resolve_actor(hall_config(), opened.account.username if opened else None, device_id(),
                                         request.remote_addr)
        g.actor = actor
    return actor


def forget_actor() -> None:
    """After signing in or out within a request: the next :func:`current_actor` reads the new session."""
    g.pop("actor", None)
    g.pop("staff_session", None)


def set_session_cookie(response: Response, session_id: str) -> None:
    """Hand the browser its session id (``Secure`` where ``server.session_cookie_secure``: served over HTTPS)."""
    server = hall_config().server
    response.set_cookie(SESSION_COOKIE, session_id, max_age=int(server.session_lifetime.total_seconds()),
                        httponly=True, samesite="Lax", secure=server.session_cookie_secure, path="/")


def clear_session_cookie(response: Response) -> None:
    server = hall_config().server
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="Lax", secure=server.session_cookie_secure,
                           path="/")


# --- requests from other sites (CSRF) -----------------------------------------------------------------------

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})  # Sec-Fetch-Site: our own pages, or typed/bookmarked


def own_origins(environ: dict[str, object], public_url: str) -> set[str]:
    """The origins of this server as the request reached it (after a trusted proxy's rewrite) and as configured."""
    origins = set()
    host = environ.get("HTTP_HOST")
    if host:
        origins.add(f"{environ.get('wsgi.url_scheme', 'http')}://{host}")
    if public_url:
        scheme, _, rest = public_url.partition("://")
        origins.add(f"{scheme}://{rest.split('/', 1)[0]}")
    return origins


def from_another_site(origin: str | None, fetch_site: str | None, environ: dict[str, object], public_url: str) -> bool:
    """Whether a browser sent this request for a page of another origin (another site, or another port of this
    host): the browser says so in ``Sec-Fetch-Site`` or, older ones, in ``Origin``. A request with neither comes
    from a program (a kiosk's own script, an integration), which no web page can make carry a staff cookie."""
    if fetch_site is not None:
        return fetch_site not in SAME_ORIGIN_FETCH
    if origin is not None and origin != "null":
        return origin not in own_origins(environ, public_url)
    return origin == "null"  # a sandboxed frame or a redirect across origins


def refuse_cross_site() -> None:
    """Every state-changing request from another site's page is refused before it reaches a view (403
    ``cross_site_request``): with the staff session cookie it would act as that member of staff. A request made
    with an API token carries no ambient credential (its cookies are not read), so it is not checked."""
    if request.method not in STATE_CHANGING or bearer_token() is not None:
        return
    if from_another_site(request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"), request.environ,
                         hall_config().server.public_url):
        raise DomainError("requests from other sites' pages are refused", code="cross_site_request",
                          http_status=403)


def socket_origin_check(public_url: str) -> Callable[[str | None, dict[str, object]], bool]:
    """The Socket.IO handshake's origin check (``cors_allowed_origins``), by the same rule as
    :func:`refuse_cross_site`: a page of another site must not join the staff rooms with the staff cookie."""

    def allowed(origin: str | None, environ: dict[str, object]) -> bool:
        fetch_site = environ.get("HTTP_SEC_FETCH_SITE")
        return not from_another_site(origin, fetch_site if isinstance(fetch_site, str) else None, environ, public_url)

    return allowed


# --- the request body, and the access log ---------------------------------------------------------------------


class ChunkedBody:
    """WSGI middleware: a chunked request body is read whole and handed on as a body of known length.

    eventlet decodes ``Transfer-Encoding: chunked`` itself, but leaves ``CONTENT_LENGTH`` unset and does not set
    ``wsgi.input_terminated``; Werkzeug then took the body for empty (its guard against reading an unbounded
    stream), so a command's ``version`` went unread and its stale check was skipped. Werkzeug's own reading of a
    terminated stream would cut a body at the size limit without a word. So the body is read here, at most
    ``max_bytes`` (the largest any route takes: a media upload), and passed on with its length: every size check
    then applies as to any body (413 past ``MAX_CONTENT_LENGTH``, 64 KiB for the API). A longer body is refused
    with 413, broken chunking with 400.
    """

    def __init__(self, app: Callable[..., Any], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # the test eventlet applies before it decodes the chunks (eventlet.wsgi.HttpProtocol.handle_one_request)
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() != "chunked" or environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)
        try:
            body = environ["wsgi.input"].read(self.max_bytes + 1)
        except (OSError, ValueError):
            return _refuse(start_response, "400 Bad Request", "bad_request", "the chunked body is malformed")
        if len(body) > self.max_bytes:
            return _refuse(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                           f"the body is larger than {self.max_bytes} bytes")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING")
        return self.app(environ, start_response)


def _refuse(start_response: Callable[..., Any], status: str, code: str, message: str) -> list[bytes]:
    """An error answer in the API's shape, from WSGI middleware (before Flask)."""
    body = json.dumps({"error": code, "message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


TOKEN_IN_PATH = re.compile(r"(/t/|/api/tickets/)([^/?#\s\"]{0,4})[^/?#\s\"]*")
"""A ticket's private token in a URL path: the phone page ``/t/{token}`` and ``/api/tickets/{token}``."""
API_TOKEN = re.compile(r"(qt_[A-Za-z0-9_-]{0,8})[A-Za-z0-9_-]*")
"""An integration's API token (``qt_`` and URL-safe base64), wherever it appears (a query string it was pasted
into, a header a proxy logs)."""


def mask_tokens(text: str) -> str:
    """``text`` with each ticket token in a URL path cut to its first 4 characters and "…", and every API token to
    the part a manager's list shows ("qt_" and 8 characters) and "…"."""
    return API_TOKEN.sub(r"\1…", TOKEN_IN_PATH.sub(lambda m: f"{m.group(1)}{m.group(2)}…", text))


class TokenMaskingFilter(logging.Filter):
    """Keeps ticket tokens and API tokens out of the access log: whoever reads the log could otherwise open, cancel
    or rate any customer's ticket, or act as an integration."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


ACCESS_LOGGERS = ("access", "werkzeug")  # eventlet's access log (server/__main__.py), Werkzeug's development server


def mask_tokens_in_access_log() -> None:
    """Install :class:`TokenMaskingFilter` on the loggers that write one line per request."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenMaskingFilter) for f in logger.filters):
            logger.addFilter(TokenMaskingFilter())
