"""One command = one transaction: state change, append-only event row, branch seq + 1, then publish.

Commands of one branch are serialised: on SQLite by ``BEGIN IMMEDIATE`` (one writer at a time), on
PostgreSQL by ``SELECT ... FOR UPDATE`` on the branch's ``branch_sequence`` row, which also holds
across server processes. Events are handed to the publisher only after the commit succeeded, so a
screen never sees a state that was rolled back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, select
from sqlmodel import Session

from server.config import Branch
from server.domain.tickets import EventKind
from server.persistence.tables import BranchSequence, Ticket, TicketEvent

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Receives a branch's committed events, in sequence order."""

    def publish(self, branch_code: str, events: list[dict[str, Any]]) -> None: ...


class NullPublisher:
    def publish(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        return None


@dataclass
class Transaction:
    """What a command sees while it runs: the session, the locked branch row and the clock reading."""

    session: Session
    branch: Branch
    now: datetime
    sequence_row: BranchSequence
    events: list[dict[str, Any]] = field(default_factory=list)

    def emit(
        self,
        kind: EventKind,
        *,
        ticket: Ticket | None = None,
        counter: str | None = None,
        staff: str | None = None,
        device: str | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
        public: dict[str, Any] | None = None,
        private: dict[str, Any] | None = None,
    ) -> int:
        """Append an event row with the next branch sequence number; queue it for publishing."""
        self.sequence_row.seq += 1
        seq = self.sequence_row.seq
        if ticket is not None and ticket.id is None:
            self.session.flush()
        self.session.add(
            TicketEvent(
                branch_code=self.branch.code,
                seq=seq,
                at=self.now,
                kind=kind.value,
                ticket_id=ticket.id if ticket else None,
                ticket_number=ticket.number if ticket else None,
                service_code=ticket.service_code if ticket else None,
                counter_number=counter,
                staff_username=staff,
                device=device,
                reason=reason,
                data=json.dumps(data, ensure_ascii=False, default=str) if data else None,
            )
        )
        self.events.append(
            {
                "seq": seq,
                "kind": kind.value,
                "at": self.now.isoformat(),
                "branch": self.branch.code,
                "counter": counter,
                **(public or {}),
                "private": {"staff": staff, "reason": reason, **(private or {})},
            }
        )
        return seq


class UnitOfWork:
    """Opens command transactions and read transactions on the configured database."""

    def __init__(self, engine: Engine, read_engine: Engine | None, publisher: Publisher) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.publisher = publisher
        self._lock_rows = engine.dialect.name == "postgresql"

    @contextmanager
    def command(self, branch: Branch, now: datetime) -> Iterator[Transaction]:
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                query = select(BranchSequence).where(BranchSequence.branch_code == branch.code)
                if self._lock_rows:
                    query = query.with_for_update()
                row = session.execute(query).scalar_one_or_none()
                if row is None:
                    row = BranchSequence(branch_code=branch.code, seq=0)
                    session.add(row)
                tx = Transaction(session=session, branch=branch, now=now, sequence_row=row)
                yield tx
            events = tx.events
        if events:
            try:
                self.publisher.publish(branch.code, events)
            except Exception:  # a publishing fault must never undo or fail a committed command
                log.exception("publishing %d events of branch %s failed", len(events), branch.code)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.read_engine, expire_on_commit=False) as session, session.begin():
            yield session
