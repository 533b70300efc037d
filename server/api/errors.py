"""Every API error is JSON: ``{"error": code, "message": text, "details": {...}}``; pages keep HTML errors."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from server.domain.errors import DomainError
from server.web import bearer_token

MACHINE_PATHS = ("/api/", "/metrics")
"""Paths read by programs, not people: their errors are JSON too."""


def _for_programs() -> bool:
    return request.path.startswith(MACHINE_PATHS)


def register_error_handlers(app: Any) -> None:
    """Every API error is JSON: ``{"error": code, "message": text, "details": {...}}``."""
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Any:
        if not _for_programs():  # a page (an unknown branch in its path): a plain HTML error page
            return default_exceptions.get(exc.http_status, InternalServerError)(description=exc.message)
        response = jsonify({"error": exc.code, "message": exc.message, "details": exc.details})
        if "retry_after_s" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after_s"])
        if exc.http_status == 401 and bearer_token() is not None:  # RFC 6750: say the token is what failed
            response.headers["WWW-Authenticate"] = (f'Bearer realm="hall", error="invalid_token", '
                                                    f'error_description="{exc.code}"')
        return response, exc.http_status

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> Any:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "problem": err["msg"]}
            for err in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return jsonify({"error": "invalid_request", "message": message, "details": {"problems": problems}}), 422

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not _for_programs():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        response = jsonify({"error": code, "message": exc.description})
        for name, value in exc.get_headers():  # e.g. the Allow header of a 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, exc.code
