"""Request-bound helpers shared by the JSON API and the pages."""

from __future__ import annotations

from flask import current_app, request


def public_base_url() -> str:
    """``server.public_url`` when configured, else the scheme and host this request came in on."""
    return current_app.extensions["hall"].config.server.public_url or request.host_url.rstrip("/")
