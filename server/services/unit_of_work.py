"""One command = one transaction: state change, append-only event row, branch seq + 1, then publish.

Commands of one branch are serialised: on SQLite by ``BEGIN IMMEDIATE`` (one writer at a time), on
PostgreSQL by ``SELECT ... FOR UPDATE`` on the branch's ``branch_sequence`` row, which also holds
across server processes. Events are handed to the publisher only after the commit succeeded, so a
screen never sees a state that was rolled back.

After the commit the events go to the subscribers the application registered (the screens' fan-out,
then the live side), so the service layer never calls back up into the entry points.

Group commit (SQLite): a durable commit costs an fsync, which would cap one process at a few hundred
commands per second. Commands that arrive together therefore share one database transaction: each
runs in its own SAVEPOINT (a refused command rolls back only its own writes), the first one of the
batch waits a moment for the others that are ready to run, then commits them all with one fsync.
Nobody is answered before that commit, so an acknowledged command is as durable as before.

When the database fails (another process holds SQLite's write lock, the file is damaged, the server is gone) a
command or read ends with :class:`DatabaseUnavailable`, a 503 with the reason: ``database_busy`` within about a
second of waiting for the lock (:data:`server.persistence.database.WRITE_LOCK_WAIT_S`), else
``database_unavailable``. Nothing was changed and nothing is published, so the screens keep the last state.
Commands queued behind a batch that could not get the database fail with it at once rather than each waiting
again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import Connection, Engine
from sqlmodel import Session

from server.domain.counter_session import CounterChange
from server.domain.errors import DomainError
from server.domain.hall import Branch
from server.domain.numbering import service_day
from server.domain.privacy import mask_phone_like
from server.domain.ticket import Ticket, TicketChange
from server.domain.tickets import EventKind
from server.offload import eventlet_serves
from server.persistence import event_log
from server.persistence.database import DATABASE_ERRORS, FailureKind, failure_kind, failure_reason
from server.persistence.raw import DriverConnection
from server.persistence.tables import TicketRow
from server.services.actor import Actor
from server.services.views import holds_counter, ticket_public

log = logging.getLogger(__name__)


class DatabaseUnavailable(DomainError):
    """The database could not carry out a command or read (503): nothing was changed. ``database_busy``: another
    process holds the write lock, try again in a moment; ``database_unavailable``: damaged or unreachable."""

    http_status = 503
    RETRY_AFTER_S = 2
    MESSAGES: ClassVar[dict[FailureKind, str]] = {
        "busy": "the database is busy (another program holds its write lock); nothing was changed, try again in a "
                "moment",
        "corrupt": "the database file is damaged; nothing was changed (staff must restore it)",
        "unavailable": "the database cannot be reached; nothing was changed",
    }

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(self.MESSAGES[kind], code="database_busy" if kind == "busy" else "database_unavailable",
                         reason=reason, retry_after_s=self.RETRY_AFTER_S)
        self.kind = kind


class Publisher(Protocol):
    """Receives a branch's committed events, in sequence order."""

    def publish(self, branch_code: str, events: list[dict[str, Any]]) -> None: ...


Subscriber = Callable[[str, list[dict[str, Any]]], None]
"""Told of each branch's committed events, in sequence order: ``(branch_code, events)``."""


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
    plans_changed: bool = False
    """Set by a command that changed what the branch expects (its roster, its bookings) without a hall event: the
    live estimator is told after the commit (:meth:`UnitOfWork.on_plans_changed`)."""
    _connection: Connection | None = None

    @property
    def today(self) -> date:
        """The branch's service day at the command's clock reading (its local calendar day)."""
        return service_day(self.now, self.branch.timezone)

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for the statements on the hot path that skip the ORM."""
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    def emit(
        self,
        kind: EventKind,
        *,
        ticket: Ticket | TicketRow | None = None,
        counter: str | None = None,
        staff: str | None = None,
        device: str | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
        public: dict[str, Any] | None = None,
        private: dict[str, Any] | None = None,
        quiet: bool = False,
    ) -> int:
        """Append an event row with the next branch sequence number; queue it for publishing.

        ``quiet``: one of many events of one bulk change (the end of a day closing thousands of tickets). The
        hall's screens are not sent each of them; a closing event follows, and the gap in sequence numbers makes
        them fetch a fresh snapshot once (the phone of the ticket itself is still told).
        """
        self.seq += 1
        seq = self.seq
        if ticket is not None and ticket.id is None:
            self.session.flush()
        event_log.append(self.connection, {
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
                # a reason is free text (a transfer note): staff see phone-like numbers in it masked
                "private": {"staff": staff, "reason": mask_phone_like(reason), **(private or {})},
                **({"quiet": True} if quiet else {}),
            }
        )
        return seq

    def record(self, ticket: Ticket, change: TicketChange, actor: Actor, *,
               public: dict[str, Any] | None = None, quiet: bool = False) -> int:
        """Append the event a ticket command returned, with who sent it and the ticket's public view after it."""
        extra: dict[str, Any] = {"ticket": ticket_public(ticket, self.branch), **(public or {})}
        if change.counter is not None:
            extra["holds_counter"] = holds_counter(ticket, change.counter)
        return self.emit(change.kind, ticket=ticket, counter=change.counter, staff=actor.username,
                         device=actor.device, reason=change.reason, data=change.data or None, public=extra,
                         quiet=quiet)


    def record_counter(self, counter: str, change: CounterChange, actor: Actor) -> int:
        """Append the event a counter command returned; screens learn the counter's status (and today's services)."""
        public: dict[str, Any] = {"status": change.status}
        if "services" in change.data:
            public["services"] = change.data["services"]
        return self.emit(change.kind, counter=counter, staff=change.staff, device=actor.device,
                         reason=change.reason, data=change.data or None, public=public)


class _Batch:
    """One shared write transaction (SQLite group commit) and what its commands produced."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.seqs: dict[str, int] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.plans: set[str] = set()  # branches whose roster or bookings a command of the batch changed
        self.members = 0
        self.done = threading.Event()
        self.failure: BaseException | None = None  # set when the commit failed, or the batch got no database


class UnitOfWork:
    """Opens command transactions and read transactions on the configured database."""

    GATHER_ROUNDS = 4  # switches the first command of a batch gives the others to join it

    def __init__(self, engine: Engine, read_engine: Engine | None, publisher: Publisher | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.subscribers: list[Subscriber] = []
        self.plan_listeners: list[Callable[[str], None]] = []
        if publisher is not None:
            self.subscribe(publisher.publish)
        self._lock_rows = engine.dialect.name == "postgresql"
        self._group_commit = engine.dialect.name == "sqlite"
        self._writer = threading.Lock()  # one command body (or a commit) at a time on the shared session
        self._turns: dict[str, threading.RLock] = {}  # per branch: its commands one at a time (PostgreSQL)
        self._turns_lock = threading.Lock()
        self._batch: _Batch | None = None
        self._queued = 0  # commands waiting for the writer lock
        self._green = eventlet_serves()  # a sleep(0) is then a cheap switch to other requests
        self.damage: str | None = None  # the reason, once a query found the database file damaged (until restart)

    @contextmanager
    def command(self, branch: Branch, now: datetime) -> Iterator[Transaction]:
        if self._group_commit:
            with self._grouped(branch, now) as tx:
                assert isinstance(tx, Transaction)
                yield tx
            return
        with self._branch_turn(branch.code), self._database_failures(), \
                Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                connection = session.connection()
                seq = event_log.current_seq(connection, branch.code, lock=self._lock_rows)
                tx = Transaction(session=session, branch=branch, now=now, seq=seq)
                yield tx
                if tx.seq != seq:
                    session.flush()
                    event_log.set_seq(connection, branch.code, tx.seq)
            events = tx.events
        self._publish(branch.code, events)
        if tx.plans_changed:
            self._plans_changed(branch.code)

    @contextmanager
    def _branch_turn(self, branch_code: str) -> Iterator[None]:
        """One command of a branch at a time in this process (on PostgreSQL; SQLite has one writer anyway). The
        branch's row lock orders them in the database too, but a command that waits there holds a connection and,
        when PostgreSQL answers slowly, lets the holder's round trips wait behind every other request: queued here,
        the others cost nothing until their turn."""
        with self._turns_lock:
            turn = self._turns.setdefault(branch_code, threading.RLock())
        with turn:
            yield

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that records no hall event and moves no branch's ``seq`` (the staff's browser sessions).
        On SQLite it joins the group commit like a command (one writer, one fsync for the batch)."""
        if self._group_commit:
            with self._grouped(None, None) as session:
                assert isinstance(session, Session)
                yield session
            return
        with self._database_failures(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _failure(self, exc: BaseException) -> BaseException:
        """A failure of the database as :class:`DatabaseUnavailable` (noting damage for the health check);
        any other exception as it is."""
        kind = failure_kind(exc) if isinstance(exc, DATABASE_ERRORS) else None
        if kind is None:
            return exc
        reason = failure_reason(exc)
        if kind == "corrupt":
            self.damage = reason
        log.warning("database %s: %s", kind, reason)
        failure = DatabaseUnavailable(kind, reason)
        failure.__cause__ = exc
        return failure

    @contextmanager
    def _database_failures(self) -> Iterator[None]:
        try:
            yield
        except DATABASE_ERRORS as exc:
            failure = self._failure(exc)
            if failure is exc:
                raise
            raise failure from exc

    @contextmanager
    def _grouped(self, branch: Branch | None, now: datetime | None) -> Iterator[Transaction | Session]:
        """Run one command in the open batch (opening one if none), then wait for the batch's commit. Without a
        branch: a plain write in the batch (:meth:`write`), given the session."""
        self._queued += 1
        self._writer.acquire()
        self._queued -= 1
        batch, leader = self._batch, False
        if batch is None:
            session = Session(self.engine, expire_on_commit=False)
            session.begin()
            batch = self._batch = _Batch(session)
            leader = True
        batch.members += 1
        failure: BaseException | None = None
        try:
            if batch.failure is not None:  # the batch got no database (its lock wait ran out): fail with it now
                raise batch.failure
            session = batch.session
            if branch is not None and branch.code not in batch.seqs:
                try:
                    batch.seqs[branch.code] = event_log.current_seq(session.connection(), branch.code, lock=False)
                except BaseException as exc:
                    batch.failure = self._failure(exc)
                    if batch.failure is exc:
                        raise
                    raise batch.failure from exc
            savepoint = session.begin_nested()
            tx = None if branch is None or now is None else Transaction(
                session=session, branch=branch, now=now, seq=batch.seqs[branch.code])
            try:
                yield session if tx is None else tx
                session.flush()
                savepoint.commit()
            except BaseException:
                savepoint.rollback()
                raise
            if tx is not None:
                batch.seqs[tx.branch.code] = tx.seq
                batch.events.setdefault(tx.branch.code, []).extend(tx.events)
                if tx.plans_changed:
                    batch.plans.add(tx.branch.code)
        except BaseException as exc:
            failure = self._failure(exc)
        finally:
            self._writer.release()
        if leader:
            self._commit(batch)
        else:
            batch.done.wait()
        if failure is not None:
            raise failure
        if batch.failure is not None:
            raise batch.failure

    def _commit(self, batch: _Batch) -> None:
        """The batch's first command: let the others that are ready join, then commit all with one fsync."""
        for _ in range(self.GATHER_ROUNDS):
            if not (self._green or self._queued):
                break  # plain threads and nobody waiting: nothing to gather
            joined = batch.members
            time.sleep(0)  # let the requests that are ready run into this batch
            if batch.members == joined and not self._queued:
                break
        with self._writer:
            self._batch = None
            session = batch.session
            try:
                if batch.failure is not None:
                    raise batch.failure
                connection = session.connection()
                for code, seq in batch.seqs.items():
                    event_log.set_seq(connection, code, seq)
                session.commit()
            except BaseException as exc:
                batch.failure = exc if exc is batch.failure else self._failure(exc)
                session.rollback()
            finally:
                session.close()
                batch.done.set()
        if batch.failure is None:
            for code, events in batch.events.items():
                self._publish(code, events)
            for code in sorted(batch.plans):
                self._plans_changed(code)

    def subscribe(self, subscriber: Subscriber) -> None:
        """Tell ``subscriber`` of every commit's events, after those registered before it (the app factory
        registers the screens' fan-out first, then the live side that re-estimates)."""
        self.subscribers.append(subscriber)

    def on_plans_changed(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(branch_code)`` after each commit that changed a branch's roster or bookings (commands
        that set :attr:`Transaction.plans_changed`; they record no hall event the screens would be told of)."""
        self.plan_listeners.append(listener)

    def _plans_changed(self, branch_code: str) -> None:
        for listener in self.plan_listeners:
            try:
                listener(branch_code)
            except Exception:  # as for events: a listener's fault must never fail a committed command
                log.exception("telling of changed plans of branch %s failed", branch_code)

    def _publish(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        for subscriber in self.subscribers:
            try:
                subscriber(branch_code, events)
            except Exception:  # a subscriber's fault must never undo or fail a committed command
                log.exception("publishing %d events of branch %s failed", len(events), branch_code)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._database_failures(), Session(self.read_engine, expire_on_commit=False) as session, \
                session.begin():
            yield session

    @contextmanager
    def read_statements(self) -> Iterator[DriverConnection]:
        """A pooled read connection for statements on the driver cursor
        (:class:`~server.persistence.raw.RawStatement`), with no ORM session, no Core connection and no explicit
        transaction: each statement is its own snapshot. For a request's single hot read (its staff session), where
        those cost more than the statement. The driver's own errors are database failures like Core's
        (:class:`DatabaseUnavailable` for a busy, damaged or unreachable database)."""
        with self._database_failures():
            pooled = self.read_engine.raw_connection()
            try:
                yield DriverConnection(self.read_engine.dialect, pooled)
            finally:
                pooled.close()  # back to the pool, which rolls back whatever the driver began

    def database_problem(self) -> str | None:
        """None when the database answers a query and would take a command; else what went wrong, for a health
        check: damage that any query met since start-up, a failed read, or a write lock that another process holds
        (then a command would be refused)."""
        if self.damage is not None:
            return f"corrupt: {self.damage}"
        try:
            with self.read_engine.connect() as connection:
                event_log.ping(connection)
            if self._group_commit and self._batch is None:  # not writing ourselves: could we?
                with self.engine.connect() as connection:
                    connection.begin()  # BEGIN IMMEDIATE: waits for the write lock as a command would
                    connection.rollback()
        except Exception as exc:  # any driver or pool failure means "not ready"
            kind = failure_kind(exc) if isinstance(exc, DATABASE_ERRORS) else None
            if kind == "corrupt":
                self.damage = failure_reason(exc)
            label = {"busy": "locked", None: type(exc).__name__}.get(kind, kind)
            return f"{label}: {failure_reason(exc)}"
        return None
