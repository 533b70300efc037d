"""Notifications in the database: webhooks, the delivery outbox and its attempts, the event-log cursor, and the
contacts given for "your turn is near" messages."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.domain.privacy import Purpose
from server.domain.tickets import TicketState
from server.persistence.tables import (
    BranchSequence,
    CustomerContact,
    NotificationAttempt,
    NotificationCursor,
    NotificationDelivery,
    TicketEvent,
    TicketRow,
    WebhookRow,
)

WEBHOOK = WebhookRow.__table__
DELIVERY = NotificationDelivery.__table__
ATTEMPT = NotificationAttempt.__table__
CURSOR = NotificationCursor.__table__
SEQUENCE = BranchSequence.__table__
EVENT = TicketEvent.__table__
CONTACT = CustomerContact.__table__
TICKET = TicketRow.__table__

PENDING, SENT, GIVEN_UP, CANCELLED = "pending", "sent", "given_up", "cancelled"
DELIVERY_STATES = (PENDING, SENT, GIVEN_UP, CANCELLED)


# --- webhooks ---------------------------------------------------------------------------------------------------

def webhook_view(row: Any) -> dict[str, Any]:
    values = dict(row._mapping)
    values["events"] = json.loads(values["events"])
    values["branches"] = None if values["branches"] is None else json.loads(values["branches"])
    return values


def add_webhook(connection: Connection, values: dict[str, Any]) -> int:
    stored = {**values, "events": json.dumps(list(values["events"])),
              "branches": None if values["branches"] is None else json.dumps(sorted(values["branches"]))}
    return int(connection.execute(insert(WEBHOOK).values(**stored)).inserted_primary_key[0])  # type: ignore[index]


def webhook(connection: Connection, webhook_id: int) -> dict[str, Any] | None:
    row = connection.execute(select(WEBHOOK).where(WEBHOOK.c.id == webhook_id)).first()
    return None if row is None else webhook_view(row)


def webhooks(connection: Connection) -> list[dict[str, Any]]:
    """Every webhook, newest first (a hall has a handful; the branch filter is the caller's)."""
    return [webhook_view(row) for row in connection.execute(select(WEBHOOK).order_by(WEBHOOK.c.id.desc()))]


def set_enabled(connection: Connection, webhook_id: int, enabled: bool) -> None:
    connection.execute(update(WEBHOOK).where(WEBHOOK.c.id == webhook_id).values(enabled=enabled))


def delete_webhook(connection: Connection, webhook_id: int) -> None:
    """The webhook goes; its pending deliveries are cancelled, its log stays until the deliveries are purged."""
    connection.execute(update(DELIVERY).where(DELIVERY.c.webhook_id == webhook_id, DELIVERY.c.state == PENDING)
                       .values(state=CANCELLED, lease_until=None))
    connection.execute(delete(WEBHOOK).where(WEBHOOK.c.id == webhook_id))


# --- the cursor and the event log -------------------------------------------------------------------------------

def cursor(connection: Connection, branch_code: str) -> int | None:
    row = connection.execute(select(CURSOR.c.seq).where(CURSOR.c.branch_code == branch_code)).first()
    return None if row is None else int(row[0])


def set_cursor(connection: Connection, branch_code: str, seq: int, existed: bool) -> None:
    if existed:
        connection.execute(update(CURSOR).where(CURSOR.c.branch_code == branch_code).values(seq=seq))
    else:
        connection.execute(insert(CURSOR).values(branch_code=branch_code, seq=seq))


def events_after(connection: Connection, branch_code: str, seq: int, limit: int) -> list[Any]:
    return list(connection.execute(select(EVENT).where(EVENT.c.branch_code == branch_code, EVENT.c.seq > seq)
                                   .order_by(EVENT.c.seq).limit(limit)))


def last_seq(connection: Connection, branch_code: str) -> int:
    return int(connection.execute(select(func.coalesce(func.max(EVENT.c.seq), 0))
                                  .where(EVENT.c.branch_code == branch_code)).scalar_one())


# --- the outbox -------------------------------------------------------------------------------------------------

def add_delivery(connection: Connection, values: dict[str, Any]) -> None:
    """Put a delivery in the outbox, unless one with the same ``dedupe`` is there (deriving twice, or two
    processes deriving together, adds nothing)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(pg_insert(DELIVERY).values(**values).on_conflict_do_nothing(index_elements=["dedupe"]))
    elif dialect == "sqlite":
        connection.execute(sqlite_insert(DELIVERY).values(**values).on_conflict_do_nothing(index_elements=["dedupe"]))
    else:  # pragma: no cover - the two supported databases are above
        if connection.execute(select(DELIVERY.c.id).where(DELIVERY.c.dedupe == values["dedupe"])).first() is None:
            connection.execute(insert(DELIVERY).values(**values))


def spent(connection: Connection, ticket_ids: Iterable[int]) -> dict[int, set[str]]:
    """Per ticket: the SMS milestones already in the outbox (whatever became of them)."""
    ids = list(ticket_ids)
    found: dict[int, set[str]] = {i: set() for i in ids}
    if ids:
        rows = connection.execute(select(DELIVERY.c.ticket_id, DELIVERY.c.event).where(
            DELIVERY.c.channel == "sms", DELIVERY.c.ticket_id.in_(ids)))
        for ticket_id, event in rows:
            found[int(ticket_id)].add(str(event))
    return found


def any_due(connection: Connection, now: datetime) -> bool:
    return connection.execute(select(DELIVERY.c.id).where(
        DELIVERY.c.state == PENDING, DELIVERY.c.next_attempt_at <= now,
        (DELIVERY.c.lease_until.is_(None)) | (DELIVERY.c.lease_until < now)).limit(1)).first() is not None


def has_work(connection: Connection, branch_code: str, after: int | None, contacts: bool) -> bool:
    """Whether a pass has anything to derive: no cursor yet, events after it, or (``contacts``) a waiting ticket
    whose customer opted in to texts."""
    if after is None or connection.execute(select(EVENT.c.id).where(
            EVENT.c.branch_code == branch_code, EVENT.c.seq > after).limit(1)).first() is not None:
        return True
    return contacts and bool(notification_contacts(connection, branch_code, waiting=True))


def branches_with_work(connection: Connection, branch_codes: Iterable[str], contacts: bool) -> list[str]:
    """:func:`has_work` for many branches in three reads, whatever their number (the notifier asks it of every
    branch every second): no cursor yet, events after it (the branch's sequence number, which every event
    advances, past the cursor), or (``contacts``) a waiting ticket whose customer opted in to texts."""
    codes = list(branch_codes)
    cursors = {str(code): int(seq) for code, seq in connection.execute(select(CURSOR.c.branch_code, CURSOR.c.seq))}
    seqs = {str(code): int(seq or 0) for code, seq in connection.execute(
        select(SEQUENCE.c.branch_code, SEQUENCE.c.seq))}
    texted: set[str] = set()
    if contacts:
        texted = {str(code) for (code,) in connection.execute(
            select(CONTACT.c.branch_code).distinct().join(TICKET, TICKET.c.id == CONTACT.c.ticket_id)
            .where(CONTACT.c.purpose == Purpose.NOTIFICATION.value, TICKET.c.state == TicketState.WAITING.value))}
    return [code for code in codes if code not in cursors or seqs.get(code, 0) > cursors[code] or code in texted]


def lease_due(connection: Connection, now: datetime, until: datetime, limit: int) -> list[Any]:
    """Take up to ``limit`` due deliveries for this sender until ``until``: on PostgreSQL ``FOR UPDATE SKIP
    LOCKED`` lets each process take other rows, and the lease keeps a row from a second sender after the commit
    (SQLite has one process; the clause is left out there)."""
    due = (select(DELIVERY.c.id).where(
        DELIVERY.c.state == PENDING, DELIVERY.c.next_attempt_at <= now,
        (DELIVERY.c.lease_until.is_(None)) | (DELIVERY.c.lease_until < now))
        .order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id).limit(limit).with_for_update(skip_locked=True))
    ids = [int(row[0]) for row in connection.execute(due)]
    if not ids:
        return []
    connection.execute(update(DELIVERY).where(DELIVERY.c.id.in_(ids)).values(lease_until=until))
    return list(connection.execute(select(DELIVERY).where(DELIVERY.c.id.in_(ids)).order_by(DELIVERY.c.id)))


def record_attempt(connection: Connection, delivery_id: int, attempt: dict[str, Any], outcome: dict[str, Any]) -> None:
    """One attempt's record, and the delivery's state after it (its lease given back)."""
    connection.execute(insert(ATTEMPT).values(delivery_id=delivery_id, **attempt))
    connection.execute(update(DELIVERY).where(DELIVERY.c.id == delivery_id).values(
        attempts=DELIVERY.c.attempts + 1, lease_until=None, **outcome))


def cancel(connection: Connection, delivery_id: int, reason: str, now: datetime) -> None:
    connection.execute(update(DELIVERY).where(DELIVERY.c.id == delivery_id).values(
        state=CANCELLED, lease_until=None, last_error=reason, finished_at=now))


def cancel_for_ticket(connection: Connection, ticket_id: int, now: datetime) -> None:
    connection.execute(update(DELIVERY).where(DELIVERY.c.ticket_id == ticket_id, DELIVERY.c.channel == "sms",
                                              DELIVERY.c.state == PENDING)
                       .values(state=CANCELLED, lease_until=None, last_error="messages stopped", finished_at=now))


def deliveries(connection: Connection, webhook_id: int, limit: int) -> list[dict[str, Any]]:
    """A webhook's latest deliveries, newest first, each with its attempts (oldest first)."""
    rows = [dict(r._mapping) for r in connection.execute(
        select(DELIVERY).where(DELIVERY.c.webhook_id == webhook_id).order_by(DELIVERY.c.id.desc()).limit(limit))]
    ids = [r["id"] for r in rows]
    attempts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for a in connection.execute(select(ATTEMPT).where(ATTEMPT.c.delivery_id.in_(ids)).order_by(ATTEMPT.c.id)):
            attempts[int(a.delivery_id)].append(dict(a._mapping))
    for row in rows:
        row["attempt_log"] = attempts[row["id"]]
    return rows


def purge_finished(connection: Connection, before: datetime) -> int:
    """Remove deliveries finished before ``before`` with their attempts (the log is for recent trouble)."""
    old = select(DELIVERY.c.id).where(DELIVERY.c.state != PENDING, DELIVERY.c.created_at < before)
    connection.execute(delete(ATTEMPT).where(ATTEMPT.c.delivery_id.in_(old)))
    return int(connection.execute(delete(DELIVERY).where(DELIVERY.c.id.in_(old))).rowcount or 0)


# --- contacts for messages --------------------------------------------------------------------------------------

def notification_contacts(connection: Connection, branch_code: str, *, waiting: bool = False,
                          ticket_ids: Iterable[int] | None = None) -> list[Any]:
    """The branch's contacts given for messages (id, ticket_id, phone, language), with their ticket's number,
    service and state; ``waiting``: only of waiting tickets; ``ticket_ids``: only of these tickets."""
    query = (select(CONTACT.c.id, CONTACT.c.ticket_id, CONTACT.c.phone, CONTACT.c.language, TICKET.c.number,
                    TICKET.c.service_code, TICKET.c.state)
             .join(TICKET, TICKET.c.id == CONTACT.c.ticket_id)
             .where(CONTACT.c.branch_code == branch_code, CONTACT.c.purpose == Purpose.NOTIFICATION.value))
    if waiting:
        query = query.where(TICKET.c.state == TicketState.WAITING.value)
    if ticket_ids is not None:
        ids = list(ticket_ids)
        if not ids:
            return []
        query = query.where(CONTACT.c.ticket_id.in_(ids))
    return list(connection.execute(query))


def contact_of_ticket(connection: Connection, ticket_id: int) -> Any:
    return connection.execute(select(CONTACT).where(CONTACT.c.ticket_id == ticket_id,
                                                    CONTACT.c.purpose == Purpose.NOTIFICATION.value)).first()


def contact_phone(connection: Connection, contact_id: int) -> str | None:
    row = connection.execute(select(CONTACT.c.phone).where(CONTACT.c.id == contact_id)).first()
    return None if row is None else str(row[0])


def remove_ticket_contacts(connection: Connection, ticket_id: int) -> int:
    return int(connection.execute(delete(CONTACT).where(
        CONTACT.c.ticket_id == ticket_id, CONTACT.c.purpose == Purpose.NOTIFICATION.value)).rowcount or 0)
