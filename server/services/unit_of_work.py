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

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlmodel import Session

from server.config import Branch
from server.domain.tickets import EventKind
from server.persistence.tables import BranchSequence, Ticket, TicketEvent

log = logging.getLogger(__name__)

_SEQUENCE = BranchSequence.__table__
_SELECT_SEQUENCE = select(_SEQUENCE.c.seq).where(_SEQUENCE.c.branch_code == bindparam("b"))
_LOCK_SEQUENCE = _SELECT_SEQUENCE.with_for_update()
_INSERT_SEQUENCE = insert(_SEQUENCE)
_UPDATE_SEQUENCE = update(_SEQUENCE).where(_SEQUENCE.c.branch_code == bindparam("b")).values(seq=bindparam("s"))
_INSERT_EVENT = insert(TicketEvent.__table__)


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
    seq: int
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for the statements on the hot path that skip the ORM."""
        return self.session.connection()

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
        self.seq += 1
        seq = self.seq
        if ticket is not None and ticket.id is None:
            self.session.flush()
        self.connection.execute(_INSERT_EVENT, {
            "branch_code": self.branch.code,
            "seq": seq,
            "at": self.now,
            "kind": kind.value,
            "ticket_id": ticket.id if ticket else None,
            "ticket_number": ticket.number if ticket else None,
            "service_code": ticket.service_code if ticket else None,
            "counter_number": counter,
            "staff_username": staff,
            "device": device,
            "reason": reason,
            "data": json.dumps(data, ensure_ascii=False, default=str) if data else None,
        })
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
                connection = session.connection()
                query = _LOCK_SEQUENCE if self._lock_rows else _SELECT_SEQUENCE
                seq = connection.execute(query, {"b": branch.code}).scalar_one_or_none()
                if seq is None:
                    connection.execute(_INSERT_SEQUENCE, {"branch_code": branch.code, "seq": 0})
                    seq = 0
                tx = Transaction(session=session, branch=branch, now=now, seq=seq)
                yield tx
                if tx.seq != seq:
                    session.flush()
                    connection.execute(_UPDATE_SEQUENCE, {"b": branch.code, "s": tx.seq})
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
