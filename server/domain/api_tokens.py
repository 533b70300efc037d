"""API tokens for integrations (a booking system, a reporting tool, a signage feed): what a token is and may do.

A manager makes a token for some branches (or every branch) and a scope: ``read`` reaches the reads a manager of
those branches has (snapshots with the staff view, events, day summaries, estimate accuracy, ratings' follow-ups…),
``act`` those and the commands an integration needs (issue any ticket class, cancel a ticket, stop and resume
issue, notices). Which route needs which scope is declared on the route (``route(token=...)``); a route that
declares none is closed to tokens. Counter commands, and the management of accounts, sessions, devices and tokens,
are never open to a token.

The token is 256 random bits shown once at creation, with a recognisable prefix (``qt_``) so that a secret
scanner or a person spots it in a paste; the database keeps its SHA-256 and its first characters (to tell tokens
apart in a list). Revoking takes effect at the next request; a token may also expire.

Pure: no Flask, no SQL; the clock is passed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from server.domain.errors import DomainError, NotAllowed, Unauthenticated

TOKEN_PREFIX = "qt_"
SECRET_BYTES = 32  # 256 bits
TOKEN_PATTERN = re.compile(r"^qt_[A-Za-z0-9_-]{43}$")  # the prefix and 32 bytes in URL-safe base64
SHOWN_CHARS = 11  # "qt_" and 8 characters: what a list shows of a token (48 bits: tells tokens apart, opens none)
MAX_NAME = 40
MAX_EXPIRY = timedelta(days=3650)


class Scope(StrEnum):
    READ = "read"
    ACT = "act"

    def reaches(self, needed: Scope) -> bool:
        """Whether a token of this scope reaches a route that needs ``needed`` (``act`` includes ``read``)."""
        return self == Scope.ACT or needed == Scope.READ


class TokenState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def new_token(token_urlsafe: Callable[[int], str]) -> str:
    """A fresh token (``token_urlsafe``: the ``secrets`` module's, or a test's)."""
    return TOKEN_PREFIX + token_urlsafe(SECRET_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, in hex. The token has 256 random bits, so a fast hash is
    enough; a copy of the table opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(text: str) -> bool:
    return bool(TOKEN_PATTERN.match(text))


def shown_part(token: str) -> str:
    """The start of a token as lists and logs show it: ``qt_AbCd1234``."""
    return token[:SHOWN_CHARS]


def check_name(name: str) -> str:
    """A token's name ("预约系统 / booking system"): 1-40 printable characters."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise DomainError(f"a token's name is 1-{MAX_NAME} printable characters", code="bad_name", http_status=422,
                          field="name")
    return name


def check_branches(requested: Collection[str] | None, managed: Collection[str] | None,
                   known: Collection[str]) -> frozenset[str] | None:
    """The branches a manager may give a new token: ``requested`` (None: every branch, now and later) within the
    branches the manager works at (``managed``; None: every branch). 422 for an unknown or empty list, 403
    ``beyond_your_branches`` for a branch the manager does not manage."""
    if requested is None:
        if managed is not None:
            raise NotAllowed("only a manager of every branch may make a token for every branch; name the branches",
                             code="beyond_your_branches")
        return None
    chosen = frozenset(requested)
    if not chosen:
        raise DomainError("name at least one branch (or none at all for every branch)", code="bad_branches",
                          http_status=422, field="branches")
    unknown = sorted(chosen - set(known))
    if unknown:
        raise DomainError(f"no branch {', '.join(unknown)}", code="bad_branches", http_status=422, field="branches")
    beyond = sorted(chosen - set(managed)) if managed is not None else []
    if beyond:
        raise NotAllowed(f"you do not manage branch {', '.join(beyond)}", code="beyond_your_branches")
    return chosen


def check_expiry(days: int | None, now: datetime) -> datetime | None:
    """When a token made now for ``days`` days expires (None: never)."""
    if days is None:
        return None
    if not 1 <= days <= MAX_EXPIRY.days:
        raise DomainError(f"a token lasts 1-{MAX_EXPIRY.days} days, or has no expiry", code="bad_expiry",
                          http_status=422, field="expires_in_days")
    return now + timedelta(days=days)


@dataclass(frozen=True)
class TokenGrant:
    """What a request made with a token may do: the actor's side of a token (no secret in it)."""

    id: int
    shown: str  # qt_AbCd1234
    name: str
    scope: Scope
    branches: frozenset[str] | None  # None: every branch

    def covers(self, branch_code: str) -> bool:
        return self.branches is None or branch_code in self.branches

    @property
    def label(self) -> str:
        """How records name the integration (event rows, issue stops, notices): ``token:qt_AbCd1234``."""
        return f"token:{self.shown}"


def require_scope(grant: TokenGrant, needed: Scope | None, branch_code: str | None) -> None:
    """A request made with ``grant`` on a route that tokens of scope ``needed`` reach (None: closed to tokens),
    about ``branch_code`` (None: no branch in the path): 403 ``not_for_tokens``, ``insufficient_scope`` or
    ``forbidden`` (another branch, as for staff of another branch)."""
    if needed is None:
        raise NotAllowed("API tokens cannot call this route (it needs a person: a staff session or a paired "
                         "device)", code="not_for_tokens")
    if not grant.scope.reaches(needed):
        raise NotAllowed(f"this token may only {grant.scope.value}; this route needs a token that may "
                         f"{needed.value}", code="insufficient_scope", needed=needed.value)
    if branch_code is not None and not grant.covers(branch_code):
        raise NotAllowed(f"this token is not for branch {branch_code}", code="forbidden")


@dataclass(eq=False)
class ApiToken:
    """One token as stored: its grant and its life (made, last used, expires, revoked)."""

    id: int | None
    name: str
    shown: str
    scope: Scope
    branches: frozenset[str] | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None

    def state(self, now: datetime) -> TokenState:
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and now >= self.expires_at:
            return TokenState.EXPIRED
        return TokenState.ACTIVE

    def grant(self, now: datetime) -> TokenGrant:
        """What a request made with this token may do; 401 ``token_revoked`` / ``token_expired`` when nothing."""
        state = self.state(now)
        if state == TokenState.REVOKED:
            raise Unauthenticated("this API token was revoked", code="token_revoked")
        if state == TokenState.EXPIRED:
            raise Unauthenticated("this API token has expired", code="token_expired")
        assert self.id is not None
        return TokenGrant(self.id, self.shown, self.name, self.scope, self.branches)

    def revoke(self, by: str, now: datetime) -> None:
        if self.revoked_at is not None:
            raise DomainError("this token was already revoked", code="already_revoked")
        self.revoked_at, self.revoked_by = now, by

    def managed_by(self, managed: Collection[str] | None) -> bool:
        """Whether a manager of ``managed`` (None: every branch) may revoke it: they manage all it reaches."""
        if managed is None:
            return True
        return self.branches is not None and self.branches <= set(managed)


__all__ = ["SHOWN_CHARS", "TOKEN_PREFIX", "ApiToken", "Scope", "TokenGrant", "TokenState", "check_branches",
           "check_expiry", "check_name", "looks_like_token", "new_token", "require_scope", "shown_part",
           "token_hash"]
