"""Paired devices and ticket prints in the database, as the domain's :class:`Device` and :class:`PrintRecord`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, select, update
from sqlmodel import Session

from server.domain.devices import Device, DeviceKind, DeviceState, Role
from server.domain.print_policy import PrintRecord
from server.domain.tickets import EventKind
from server.persistence.tables import DeviceRow, TicketEvent, TicketPrintRow


def _device(row: DeviceRow) -> Device:
    return Device(id=row.id, branch_code=row.branch_code, role=Role(DeviceKind(row.kind), row.target),
                  state=DeviceState(row.state), created_at=row.created_at, name=row.name,
                  pairing_code=row.pairing_code, paired_at=row.paired_at, paired_by=row.paired_by,
                  revoked_at=row.revoked_at, revoked_by=row.revoked_by, last_seen_at=row.last_seen_at,
                  user_agent=row.user_agent, offline_noted_at=row.offline_noted_at)


def by_secret(session: Session, secret_hash: str) -> Device | None:
    row = session.execute(select(DeviceRow).where(DeviceRow.secret_hash == secret_hash)).scalar_one_or_none()
    return None if row is None else _device(row)


def get(session: Session, branch_code: str, device_id: int) -> Device | None:
    row = session.get(DeviceRow, device_id)
    return None if row is None or row.branch_code != branch_code else _device(row)


def pending_by_code(session: Session, branch_code: str, code: str) -> Device | None:
    row = session.execute(select(DeviceRow).where(
        DeviceRow.branch_code == branch_code, DeviceRow.state == DeviceState.PENDING.value,
        DeviceRow.pairing_code == code)).scalars().first()
    return None if row is None else _device(row)


def pending_codes(session: Session, branch_code: str) -> set[str]:
    return {code for code in session.execute(select(DeviceRow.pairing_code).where(
        DeviceRow.branch_code == branch_code, DeviceRow.state == DeviceState.PENDING.value)).scalars() if code}


def of_branch(session: Session, branch_code: str, states: tuple[DeviceState, ...]) -> list[Device]:
    rows = session.execute(select(DeviceRow).where(
        DeviceRow.branch_code == branch_code, DeviceRow.state.in_([s.value for s in states]))
        .order_by(DeviceRow.kind, DeviceRow.target, DeviceRow.id)).scalars()
    return [_device(row) for row in rows]


def add(session: Session, device: Device, secret_hash: str) -> Device:
    row = DeviceRow(branch_code=device.branch_code, kind=device.role.kind.value, target=device.role.target,
                    name=device.name, state=device.state.value, secret_hash=secret_hash,
                    pairing_code=device.pairing_code, user_agent=device.user_agent, created_at=device.created_at)
    session.add(row)
    session.flush()
    device.id = row.id
    return device


def save(session: Session, device: Device) -> None:
    """Write back what the aggregate changed (role, name, state, the pairing and revocation records)."""
    session.execute(update(DeviceRow).where(DeviceRow.id == device.id).values(
        kind=device.role.kind.value, target=device.role.target, name=device.name, state=device.state.value,
        pairing_code=device.pairing_code, paired_at=device.paired_at, paired_by=device.paired_by,
        revoked_at=device.revoked_at, revoked_by=device.revoked_by, last_seen_at=device.last_seen_at))


def paired(session: Session, branch_code: str) -> list[Device]:
    """The branch's paired devices: one range of the ``(branch_code, state)`` index."""
    rows = session.execute(select(DeviceRow).where(
        DeviceRow.branch_code == branch_code, DeviceRow.state == DeviceState.PAIRED.value)).scalars()
    return [_device(row) for row in rows]


def note_offline(connection: Connection, device_id: int, now: datetime, heard_before: datetime) -> bool:
    """Record that a paired device went silent: ``offline_noted_at = now``, only if that is not recorded yet and
    it was last heard before ``heard_before`` (a heartbeat committed meanwhile, by any process, wins). Whether this
    call recorded it: of two processes that look at once, exactly one does."""
    table = DeviceRow.__table__
    heard = func.coalesce(table.c.last_seen_at, table.c.paired_at, table.c.created_at)
    result = connection.execute(update(table).where(
        table.c.id == device_id, table.c.state == DeviceState.PAIRED.value, table.c.offline_noted_at.is_(None),
        heard < heard_before).values(offline_noted_at=now))
    return bool(result.rowcount)


def clear_offline_note(connection: Connection, device_id: int) -> bool:
    """Forget that the device went silent (it was heard again, or revoked). Whether its silence had been recorded:
    only one heartbeat or revoke ends it."""
    table = DeviceRow.__table__
    result = connection.execute(update(table).where(
        table.c.id == device_id, table.c.offline_noted_at.is_not(None)).values(offline_noted_at=None))
    return bool(result.rowcount)


def forget_expired_pairings(session: Session, branch_code: str, before: datetime) -> int:
    """Delete the branch's pending devices that asked at or before ``before``: nobody approved their code in time."""
    result = session.execute(delete(DeviceRow).where(
        DeviceRow.branch_code == branch_code, DeviceRow.state == DeviceState.PENDING.value,
        DeviceRow.created_at <= before))
    return int(result.rowcount or 0)


def count_pending(session: Session, branch_code: str) -> int:
    return len(session.execute(select(DeviceRow.id).where(
        DeviceRow.branch_code == branch_code, DeviceRow.state == DeviceState.PENDING.value)).all())


def touch(connection: Connection, device_id: int, now: datetime, stale_before: datetime) -> bool:
    """Note a heartbeat: ``last_seen_at = now`` unless it was noted after ``stale_before`` already (so a device
    heard often writes at most once per interval). Whether a row was written."""
    table = DeviceRow.__table__
    result = connection.execute(update(table).where(
        table.c.id == device_id, table.c.state == DeviceState.PAIRED.value,
        (table.c.last_seen_at.is_(None)) | (table.c.last_seen_at < stale_before)).values(last_seen_at=now))
    return bool(result.rowcount)


# --- ticket prints ---------------------------------------------------------------------------------------------


def print_record(session: Session, ticket_id: int) -> PrintRecord:
    row = session.get(TicketPrintRow, ticket_id)
    if row is None:
        return PrintRecord()
    return PrintRecord(prints=row.prints, staff_prints=row.staff_prints, reserved_until=row.reserved_until,
                       reserved_by=row.reserved_by)


def save_print_record(session: Session, branch_code: str, ticket_id: int, record: PrintRecord,
                      printed_at: datetime | None = None) -> None:
    row = session.get(TicketPrintRow, ticket_id)
    if row is None:
        row = TicketPrintRow(ticket_id=ticket_id, branch_code=branch_code)
        session.add(row)
    row.prints, row.staff_prints = record.prints, record.staff_prints
    row.reserved_until, row.reserved_by = record.reserved_until, record.reserved_by
    if printed_at is not None:
        row.last_printed_at = printed_at
    session.flush()


def issuing_device(session: Session, ticket_id: int) -> str | None:
    """The device that issued the ticket, as its ``issued`` event recorded it (the kiosk's id)."""
    return session.execute(select(TicketEvent.device).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EventKind.ISSUED.value)
        .order_by(TicketEvent.seq).limit(1)).scalar_one_or_none()
