"""API tokens: managers make, list and revoke them; every request that carries one is checked here.

A token is shown once, when it is made; the database keeps its SHA-256 (:func:`server.domain.api_tokens.token_hash`)
and its first characters. Every request with a token reads its row (:meth:`ApiTokenService.authenticate`), so a
revoked or expired token is refused at once, in every process; its last use is written at most once a minute, and
each token has its own rate (``[limits] token_requests``). Writes record no hall event (the screens have nothing to
show); the rows say who made and revoked which token, when.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from server.domain.api_tokens import (
    ApiToken,
    Scope,
    TokenGrant,
    check_branches,
    check_expiry,
    check_name,
    looks_like_token,
    new_token,
    shown_part,
    token_hash,
)
from server.domain.audit import AuditAction, target_of
from server.domain.errors import DomainError, NotFound, Unauthenticated
from server.domain.hall import Branch
from server.persistence import api_tokens as records
from server.services.access import managed_branches
from server.services.actor import Actor, Clock, utc_now
from server.services.audit import AuditLog
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.limits import TokenLimiter
from server.services.unit_of_work import DatabaseUnavailable, UnitOfWork
from server.services.views import iso
from server.settings import HallConfig

log = logging.getLogger(__name__)

TOUCH_EVERY = timedelta(minutes=1)
"""How stale a token's "last used" may get before a request writes it again (one small write a minute per busy
token, not one per request)."""


class ApiTokenService(ReadsHallModel):
    """API tokens for every branch of one hall model; each made or revoked is in the audit log."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock = utc_now, *,
                 limiter: TokenLimiter | None = None, audit: AuditLog | None = None,
                 token_urlsafe: Callable[[int], str] = secrets.token_urlsafe) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock
        self.audit = audit or AuditLog(self.model, uow, clock)
        self.limiter = limiter or TokenLimiter(None)
        self.token_urlsafe = token_urlsafe

    # --- requests made with a token ---------------------------------------------------------------------------

    def authenticate(self, token: str) -> TokenGrant:
        """What a request carrying ``token`` may do: 401 ``invalid_token`` for an unknown or malformed token,
        ``token_revoked`` or ``token_expired``; 429 ``too_many_requests`` past the token's rate."""
        if not looks_like_token(token):
            raise Unauthenticated("this is not an API token of this hall (they begin with qt_)", code="invalid_token")
        with self.uow.read() as session:
            stored = records.by_hash(session.connection(), token_hash(token))
        if stored is None:
            raise Unauthenticated("unknown API token", code="invalid_token")
        now = self.clock()
        grant = stored.grant(now)
        self.limiter.admit(grant.id)
        if stored.last_used_at is None or now - stored.last_used_at >= TOUCH_EVERY:
            try:
                with self.uow.write() as session:
                    records.touch(session.connection(), grant.id, now, now - TOUCH_EVERY)
            except DatabaseUnavailable:  # the request goes on; a later one notes the use
                pass
        return grant

    # --- managers ---------------------------------------------------------------------------------------------

    def create(self, branch_code: str, actor: Actor, *, name: str, scope: str, branches: list[str] | None,
               expires_in_days: int | None) -> tuple[dict[str, Any], str]:
        """A new token for ``branches`` (None: every branch) made by a manager of ``branch_code``: its view and the
        token itself, which is never shown again. The branches must include this one and be the manager's own."""
        branch, managed = self._managed(branch_code, actor)
        now = self.clock()
        if scope not in Scope.__members__.values():
            raise DomainError(f"scope must be one of {', '.join(Scope)}, got {scope!r}", code="bad_scope",
                              http_status=422, field="scope")
        chosen = check_branches(branches, managed, [b.code for b in self.config.branches])
        if chosen is not None and branch.code not in chosen:
            raise DomainError(f"a token made on branch {branch.code}'s page is for that branch (and maybe others)",
                              code="bad_branches", http_status=422, field="branches")
        token = new_token(self.token_urlsafe)
        assert actor.username is not None
        made = ApiToken(id=None, name=check_name(name), shown=shown_part(token), scope=Scope(scope), branches=chosen,
                        created_at=now, created_by=actor.username, expires_at=check_expiry(expires_in_days, now))
        with self.uow.write() as session:
            records.add(session.connection(), made, token_hash(token))
            self.audit.record_in(session.connection(), actor, AuditAction.TOKEN_CREATED, branch=branch.code,
                                 target=target_of("api_token", made.shown),
                                 after={"name": made.name, "scope": made.scope.value,
                                        "branches": list(made.branches) if made.branches is not None else "all",
                                        "expires_at": made.expires_at.isoformat() if made.expires_at else None})
        log.info("API token %s (%s, %s) made by %s", made.shown, made.name, made.scope.value, actor.username)
        return self.view(made, managed, now), token

    def tokens(self, branch_code: str, actor: Actor) -> dict[str, Any]:
        """Every token that reaches this branch (also all-branch ones), active first, newest first."""
        branch, managed = self._managed(branch_code, actor)
        now = self.clock()
        with self.uow.read() as session:
            found = [t for t in records.every(session.connection())
                     if t.branches is None or branch.code in t.branches]
        views = [self.view(t, managed, now) for t in found]
        views.sort(key=lambda v: v["state"] != "active")
        return {"branch": branch.code, "generated_at": iso(now), "may_make_all_branch": managed is None,
                "branches": [{"code": b.code, "name": b.name.as_dict()} for b in self.config.branches
                             if managed is None or b.code in managed],
                "tokens": views}

    def revoke(self, branch_code: str, token_id: int, actor: Actor) -> dict[str, Any]:
        """Take a token's trust back at once (409 ``already_revoked``); only a manager of every branch it reaches."""
        branch, managed = self._managed(branch_code, actor)
        assert actor.username is not None
        now = self.clock()
        with self.uow.write() as session:
            token = records.get(session.connection(), token_id)
            if token is None or not (token.branches is None or branch.code in token.branches):
                raise NotFound(f"branch {branch.code} has no API token {token_id}", code="unknown_token")
            if not token.managed_by(managed):
                raise DomainError("this token also reaches branches you do not manage; a manager of all of them "
                                  "revokes it", code="beyond_your_branches", http_status=403)
            token.revoke(actor.username, now)
            records.revoke(session.connection(), token)
            self.audit.record_in(session.connection(), actor, AuditAction.TOKEN_REVOKED, branch=branch.code,
                                 target=target_of("api_token", token.shown), before={"name": token.name},
                                 after={"revoked": True})
        log.info("API token %s (%s) revoked by %s", token.shown, token.name, actor.username)
        return self.view(token, managed, now)

    def view(self, token: ApiToken, managed: frozenset[str] | None, now: datetime) -> dict[str, Any]:
        return {
            "id": token.id,
            "name": token.name,
            "prefix": token.shown,
            "scope": token.scope.value,
            "branches": None if token.branches is None else sorted(token.branches),
            "state": token.state(now).value,
            "created_at": iso(token.created_at),
            "created_by": token.created_by,
            "created_by_name": self.config.display_name(token.created_by),
            "expires_at": iso(token.expires_at),
            "last_used_at": iso(token.last_used_at),
            "revoked_at": iso(token.revoked_at),
            "revoked_by": token.revoked_by,
            "revoked_by_name": self.config.display_name(token.revoked_by),
            "may_revoke": token.revoked_at is None and token.managed_by(managed),
        }

    # --- internals --------------------------------------------------------------------------------------------

    def _managed(self, branch_code: str, actor: Actor) -> tuple[Branch, frozenset[str] | None]:
        return managed_branches(self.config, actor, branch_code)


__all__ = ["TOUCH_EVERY", "ApiTokenService"]
