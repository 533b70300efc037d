"""Request-bound helpers shared by the JSON API and the pages: who is asking, from which device, at which address."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, request, session

from server.domain.errors import DomainError
from server.services import access
from server.services.actor import Actor
from server.settings import HallConfig

DEVICE_HEADER = "X-Device-Id"
DEVICE_ID_MAX = 64  # ticket_event.device


def public_base_url() -> str:
    """``server.public_url`` when configured, else the scheme and host this request came in on."""
    return current_app.extensions["hall"].config.server.public_url or request.host_url.rstrip("/")


def hall_config() -> HallConfig:
    return current_app.extensions["hall"].config


def device_id() -> str | None:
    """The calling device's own id (``X-Device-Id``: a kiosk, a pad), kept in the event rows it causes."""
    device = (request.headers.get(DEVICE_HEADER) or "").strip()
    if len(device) > DEVICE_ID_MAX or not device.isprintable():
        raise DomainError(f"{DEVICE_HEADER} must be at most {DEVICE_ID_MAX} printable characters",
                          code="bad_device_id", http_status=400)
    return device or None


def current_actor() -> Actor:
    """Who sends this request, resolved once per request from the session (kept in ``flask.g``)."""
    actor = g.get("actor")
    if actor is None:
        username = session.get("username")
        actor = access.resolve_actor(hall_config(), username, device_id())
        if username and actor.username is None:  # the account was removed from the configuration
            session.clear()
        g.actor = actor
    return actor


def forget_actor() -> None:
    """After signing in or out within a request: the next :func:`current_actor` reads the new session."""
    g.pop("actor", None)


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
    ``cross_site_request``): with the staff session cookie it would act as that member of staff."""
    if request.method not in STATE_CHANGING:
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
