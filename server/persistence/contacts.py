"""Personal data in the database: customer contacts (``customer_contact``), and the free text that may hold personal
data elsewhere (rating comments, transfer notes, follow-up resolution notes, the notes kept in the event log).

Every removal here is a plain conditional DELETE or UPDATE ... SET NULL, so running it twice (or in two server
processes at once) removes each thing once: the second run finds nothing left and says 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, delete, or_, select, update
from sqlmodel import Session

from server.domain.tickets import EventKind
from server.persistence.tables import CustomerContact, FollowUp, FollowUpNote, Rating, TicketEvent, TicketRow

FREE_TEXT_EVENTS = (EventKind.TRANSFERRED.value, EventKind.FOLLOW_UP_RESOLVED.value)
"""Events whose ``reason`` is free text about a customer: the transfer note, the follow-up's resolution note."""

_C = CustomerContact.__table__.c  # type: ignore[attr-defined]
_T = TicketRow.__table__.c  # type: ignore[attr-defined]
_R = Rating.__table__.c  # type: ignore[attr-defined]
_F = FollowUp.__table__.c  # type: ignore[attr-defined]
_E = TicketEvent.__table__.c  # type: ignore[attr-defined]
_N = FollowUpNote.__table__.c  # type: ignore[attr-defined]


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def of_follow_ups(session: Session, follow_up_ids: Iterable[int | None]) -> dict[int, CustomerContact]:
    """The contact given with each of these follow-ups (at most one each), by follow-up id."""
    wanted = [i for i in follow_up_ids if i is not None]
    if not wanted:
        return {}
    rows = session.execute(select(CustomerContact).where(CustomerContact.follow_up_id.in_(wanted))  # type: ignore[union-attr]
                           .order_by(CustomerContact.id)).scalars()  # type: ignore[arg-type]
    return {row.follow_up_id: row for row in rows if row.follow_up_id is not None}


def by_phone(session: Session, branch_code: str, phone: str) -> list[CustomerContact]:
    """Every contact of this branch with this (E.164) phone number, oldest first."""
    return list(session.execute(select(CustomerContact).where(
        CustomerContact.branch_code == branch_code, CustomerContact.phone == phone)
        .order_by(CustomerContact.id)).scalars())  # type: ignore[arg-type]


def shorten_follow_up_contacts(connection: Connection, follow_up_id: int, purge_after: datetime) -> None:
    """The follow-up was resolved: its contacts go at ``purge_after`` if that is sooner than planned."""
    connection.execute(update(CustomerContact).where(_C.follow_up_id == follow_up_id, _C.purge_after > purge_after)
                       .values(purge_after=purge_after))


def remove(connection: Connection, contact_ids: Iterable[int]) -> int:
    ids = [i for i in contact_ids if i is not None]
    return _count(connection.execute(delete(CustomerContact).where(_C.id.in_(ids)))) if ids else 0


def blank_for_tickets(connection: Connection, ticket_ids: Iterable[int],
                      follow_up_ids: Iterable[int] = ()) -> dict[str, int]:
    """Blank the free text about these tickets' customers (a request to delete their data): the rating comments,
    the follow-ups' resolution notes, the transfer notes, and those notes in the event log; and, of these tickets'
    cases and of ``follow_up_ids`` (a complaint may have no ticket), the customer's words and the thread's texts.
    Scores, times and states stay, so the hall's statistics do not change."""
    ids = sorted({i for i in ticket_ids if i is not None})
    cases = sorted({i for i in follow_up_ids if i is not None} | {
        int(i) for i in connection.execute(select(_F.id).where(_F.ticket_id.in_(ids))).scalars()} if ids else
        {i for i in follow_up_ids if i is not None})
    case_texts = _blank_cases(connection, cases)
    if not ids:
        return {"comments": 0, "resolution_notes": 0, "transfer_notes": 0, "event_notes": 0,
                "case_notes": case_texts}
    return {
        "comments": _count(connection.execute(update(Rating).where(_R.ticket_id.in_(ids), _R.comment.is_not(None))
                                              .values(comment=None))),
        "resolution_notes": _count(connection.execute(
            update(FollowUp).where(_F.ticket_id.in_(ids), _F.resolution_note.is_not(None))
            .values(resolution_note=None))),
        "transfer_notes": _count(connection.execute(
            update(TicketRow).where(_T.id.in_(ids), _T.transfer_note.is_not(None)).values(transfer_note=None))),
        "event_notes": _count(connection.execute(
            update(TicketEvent).where(_E.ticket_id.in_(ids), _E.kind.in_(FREE_TEXT_EVENTS), _E.reason.is_not(None))
            .values(reason=None))),
        "case_notes": case_texts,
    }


def _blank_cases(connection: Connection, case_ids: list[int]) -> int:
    """Blank the customer's words and the thread's texts of these cases (their resolution notes go with the rest)."""
    if not case_ids:
        return 0
    return (_count(connection.execute(update(FollowUp).where(_F.id.in_(case_ids), _F.customer_words.is_not(None))
                                      .values(customer_words=None)))
            + _count(connection.execute(update(FollowUpNote).where(_N.follow_up_id.in_(case_ids),
                                                                   _N.text.is_not(None)).values(text=None))))


# --- the scheduled job's removals (one branch at a time, so that each branch's managers see their own) ---------

def purge_contacts(connection: Connection, branch_code: str, now: datetime, given_before: datetime) -> int:
    """Remove the branch's contacts past their ``purge_after``, and those given before ``given_before`` (the
    longest any contact is kept, so that a retention shortened in the configuration applies to older ones too)."""
    return _count(connection.execute(delete(CustomerContact).where(
        _C.branch_code == branch_code, or_(_C.purge_after <= now, _C.consent_at < given_before))))


def blank_free_text(connection: Connection, branch_code: str, before: datetime) -> dict[str, int]:
    """Blank the branch's free text written before ``before`` (a transfer note: of a ticket issued before it)."""
    return {
        "comments": _count(connection.execute(update(Rating).where(
            _R.branch_code == branch_code, _R.created_at < before, _R.comment.is_not(None)).values(comment=None))),
        "resolution_notes": _count(connection.execute(update(FollowUp).where(
            _F.branch_code == branch_code, _F.resolved_at < before, _F.resolution_note.is_not(None))
            .values(resolution_note=None))),
        "transfer_notes": _count(connection.execute(update(TicketRow).where(
            _T.branch_code == branch_code, _T.issued_at < before, _T.transfer_note.is_not(None))
            .values(transfer_note=None))),
        "event_notes": _count(connection.execute(update(TicketEvent).where(
            _E.branch_code == branch_code, _E.kind.in_(FREE_TEXT_EVENTS), _E.at < before, _E.reason.is_not(None))
            .values(reason=None))),
        "case_notes": _count(connection.execute(update(FollowUp).where(
            _F.branch_code == branch_code, _F.created_at < before, _F.customer_words.is_not(None))
            .values(customer_words=None))) + _count(connection.execute(update(FollowUpNote).where(
                _N.branch_code == branch_code, _N.at < before, _N.text.is_not(None)).values(text=None))),
    }
