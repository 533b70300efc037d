"""The audit log's service: record an entry (inside the caller's transaction, so a change and its entry commit
together, or in one of its own), and find entries for the managers who may read them.

Who may read what: a manager reads the entries of the branches they work at, and the branch-less entries (a
sign-in, an account change) of the people who work there; a manager of every branch reads everything. Staff read
nothing. Rules about who may *do* the things recorded stay where they were; this only writes them down.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from server.domain.audit import AuditAction, AuditEntry
from server.domain.errors import NotAllowed, Unauthenticated
from server.persistence import audit as stored
from server.persistence.audit import AuditFilter
from server.services.access import SIGN_IN_FIRST, works_at
from server.services.actor import Actor, Clock
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.unit_of_work import UnitOfWork
from server.settings import HallConfig

SYSTEM = Actor(username=None, role="system")
PAGE_MAX = 500


def entry_of(actor: Actor, action: AuditAction, at: datetime, *, branch: str | None = None,
             target: str | None = None, before: Mapping[str, Any] | None = None,
             after: Mapping[str, Any] | None = None) -> AuditEntry:
    """The entry for ``actor`` doing ``action`` (who, and from which device and address, come from the actor)."""
    return AuditEntry(at=at, action=action, username=actor.username, role=actor.role, branch_code=branch,
                      target=target, before=dict(before) if before is not None else None,
                      after=dict(after) if after is not None else None, device=actor.device, address=actor.address)


class AuditLog(ReadsHallModel):
    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock

    def record_in(self, connection: Connection, actor: Actor, action: AuditAction, **details: Any) -> int:
        """Record within the caller's transaction: the entry commits (or rolls back) with the change itself."""
        return stored.append(connection, entry_of(actor, action, self.clock(), **details))

    def record(self, actor: Actor, action: AuditAction, **details: Any) -> int:
        """Record in a transaction of its own (for what changes nothing else in the database, e.g. an export)."""
        with self.uow.write() as session:
            return stored.append(session.connection(), entry_of(actor, action, self.clock(), **details))

    def readable(self, actor: Actor, wanted: AuditFilter) -> AuditFilter:
        """``wanted`` narrowed to what ``actor`` may read (401 for nobody, 403 for staff)."""
        if actor.username is None:
            raise Unauthenticated(SIGN_IN_FIRST)
        if not actor.is_manager:
            raise NotAllowed("only managers read the audit log", code="manager_only")
        account = self.config.account(actor.username)
        if account is None or not account.branches:
            return wanted
        mine = tuple(account.branches)
        branches = mine if wanted.branches is None else tuple(b for b in wanted.branches if b in mine)
        people = tuple(a.username for a in self.config.staff if any(works_at(self.config, a, b) for b in branches))
        return AuditFilter(branches=branches, since=wanted.since, until=wanted.until, actions=wanted.actions,
                           username=wanted.username, text=wanted.text, people=people)

    def search(self, actor: Actor, wanted: AuditFilter, *, limit: int = 100,
               before_id: int | None = None) -> list[AuditEntry]:
        """The newest entries ``actor`` may read first; ``before_id`` pages on."""
        found = self.readable(actor, wanted)
        with self.uow.read() as session:
            return stored.search(session.connection(), found, limit=min(max(limit, 1), PAGE_MAX),
                                 before_id=before_id)

    def each(self, actor: Actor, wanted: AuditFilter, *, batch: int = PAGE_MAX) -> Any:
        """Every entry ``actor`` may read, newest first, a batch per query (for an export)."""
        found = self.readable(actor, wanted)
        before_id = None
        while True:
            with self.uow.read() as session:
                page = stored.search(session.connection(), found, limit=batch, before_id=before_id)
            yield from page
            if len(page) < batch:
                return
            before_id = page[-1].id
