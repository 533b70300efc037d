"""Domain errors. Each carries a stable machine-readable ``code`` and a human message."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused by a business rule."""

    code = "refused"
    http_status = 409

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None,
                 **details: object) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.details = details


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class StaleState(DomainError):
    """The caller acted on an outdated view of a ticket or counter."""

    code = "stale"


class NotAllowed(DomainError):
    code = "forbidden"
    http_status = 403


class Unauthenticated(DomainError):
    """No signed-in staff session where one is needed (HTTP 401)."""

    code = "unauthenticated"
    http_status = 401
