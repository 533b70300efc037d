"""Bookings in the database (``booking``, with the phone number in ``customer_contact``): seats taken in a slot, a
phone's bookings, a day's bookings, and the booked slots of a time window (what the estimator will ask)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlmodel import Session

from server.domain.booking import BookingState
from server.domain.privacy import Purpose
from server.persistence.tables import BookingRow, CustomerContact, TicketRow

_B = BookingRow.__table__.c  # type: ignore[attr-defined]
_C = CustomerContact.__table__.c  # type: ignore[attr-defined]


def seats_taken(session: Session, branch_code: str, service_code: str, start: datetime) -> list[int]:
    """The seats of one slot held by bookings."""
    return [int(seat) for seat in session.execute(select(_B.seat).where(
        _B.branch_code == branch_code, _B.service_code == service_code, _B.slot_start == start,
        _B.seat.is_not(None))).scalars()]


def taken_per_slot(session: Session, branch_code: str, service_code: str, day: date) -> Counter[datetime]:
    """Seats held per slot start on one local date of one service."""
    rows = session.execute(select(_B.slot_start, func.count()).where(
        _B.branch_code == branch_code, _B.service_code == service_code, _B.service_day == day,
        _B.seat.is_not(None)).group_by(_B.slot_start)).all()
    return Counter({start: int(count) for start, count in rows})


def booked_between(session: Session, branch_code: str, start: datetime,
                   end: datetime) -> list[tuple[str, datetime, int]]:
    """(service, slot start, bookings) for every booked slot of the branch starting in [start, end): what the wait
    estimator asks about the next minutes."""
    rows = session.execute(select(_B.service_code, _B.slot_start, func.count()).where(
        _B.branch_code == branch_code, _B.slot_start >= start, _B.slot_start < end, _B.seat.is_not(None))
        .group_by(_B.service_code, _B.slot_start).order_by(_B.slot_start, _B.service_code)).all()
    return [(service, at, int(count)) for service, at, count in rows]


def awaited_between(session: Session, branch_code: str, start: datetime,
                    end: datetime) -> list[tuple[str, datetime, int]]:
    """(service, slot start, bookings) for the booked slots of the branch starting in [start, end), counting only
    the bookings not checked in yet (no ticket): the customers the live estimator expects to arrive."""
    rows = session.execute(select(_B.service_code, _B.slot_start, func.count()).where(
        _B.branch_code == branch_code, _B.slot_start >= start, _B.slot_start < end, _B.seat.is_not(None),
        _B.ticket_id.is_(None))
        .group_by(_B.service_code, _B.slot_start).order_by(_B.slot_start, _B.service_code)).all()
    return [(service, at, int(count)) for service, at, count in rows]


def held_by_phone(session: Session, phone: str, since: datetime) -> list[BookingRow]:
    """The phone's bookings (any branch) still booked whose slot ends after ``since``."""
    return list(session.execute(select(BookingRow).join(CustomerContact, _C.booking_id == _B.id).where(
        _C.phone == phone, _C.purpose == Purpose.APPOINTMENT.value, _B.state == BookingState.BOOKED.value,
        _B.slot_end > since).order_by(_B.slot_start)).scalars())


def by_code(session: Session, code: str) -> tuple[BookingRow, CustomerContact | None] | None:
    """A booking and its contact (None once purged), by code."""
    row = session.execute(select(BookingRow, CustomerContact).outerjoin(
        CustomerContact, _C.booking_id == _B.id).where(_B.code == code)).first()
    return None if row is None else (row[0], row[1])


def code_exists(session: Session, code: str) -> bool:
    return session.execute(select(_B.id).where(_B.code == code)).first() is not None


def of_day(session: Session, branch_code: str, day: date) -> list[tuple[BookingRow, CustomerContact | None]]:
    """A branch's bookings on a local date (cancelled ones too), by slot, with their contacts."""
    rows = session.execute(select(BookingRow, CustomerContact).outerjoin(
        CustomerContact, _C.booking_id == _B.id).where(_B.branch_code == branch_code, _B.service_day == day)
        .order_by(_B.slot_start, _B.service_code, _B.id)).all()
    return [(booking, contact) for booking, contact in rows]


def of_phone_on(session: Session, branch_code: str, phone: str, day: date) -> list[BookingRow]:
    """The phone's bookings (still booked) in a branch on one local date: a check-in by phone number."""
    return list(session.execute(select(BookingRow).join(CustomerContact, _C.booking_id == _B.id).where(
        _C.phone == phone, _C.purpose == Purpose.APPOINTMENT.value, _B.branch_code == branch_code,
        _B.service_day == day, _B.state == BookingState.BOOKED.value).order_by(_B.slot_start)).scalars())


def between_days(session: Session, branch_code: str, first: date, last: date) -> list[BookingRow]:
    """A branch's bookings on local dates ``first`` to ``last`` (cancelled ones too)."""
    return list(session.execute(select(BookingRow).where(
        _B.branch_code == branch_code, _B.service_day >= first, _B.service_day <= last)).scalars())


def lock_phone(connection: Connection, phone: str) -> None:
    """On PostgreSQL, hold a lock on this phone number until the transaction ends, so that two bookings of one
    number in two branches (each under its own branch's lock) cannot both pass the per-phone rules. SQLite has
    one writer at a time already."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                           {"key": f"booking-phone:{phone}"})


def of_closed_day(connection: Connection, branch_code: str, day: date) -> list[Any]:
    """A branch's bookings of one local date (cancelled ones too): service, state, slot and ``ticket_id`` with the
    ``priority`` of the ticket its check-in issued (None: not checked in); what the day's figures are folded from."""
    ticket = TicketRow.__table__.c  # type: ignore[attr-defined]
    return list(connection.execute(
        select(_B.branch_code, _B.service_code, _B.state, _B.service_day, _B.slot_start, _B.slot_end, _B.ticket_id,
               ticket.priority)
        .select_from(BookingRow.__table__.outerjoin(TicketRow.__table__, ticket.id == _B.ticket_id))  # type: ignore[attr-defined]
        .where(_B.branch_code == branch_code, _B.service_day == day)))
