"""Follow-up cases and their threads in the database (the rules are in ``server/domain/follow_ups.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select
from sqlmodel import Session

from server.domain.follow_ups import UNRESOLVED, CaseStatus
from server.persistence.raw import RawStatement, constants
from server.persistence.tables import FollowUp, FollowUpNote, Rating, TicketRow

CaseRow = tuple[FollowUp, Rating | None, TicketRow | None]


def cases(session: Session, branch_code: str, *, states: tuple[str, ...] | None = None, owner: str | None = None,
          due_before: datetime | None = None, limit: int = 200) -> list[CaseRow]:
    """A branch's cases with their ratings and tickets (either may be missing for a complaint): unresolved ones
    oldest due first, the rest newest first."""
    query = (select(FollowUp, Rating, TicketRow).outerjoin(Rating, Rating.id == FollowUp.rating_id)
             .outerjoin(TicketRow, TicketRow.id == FollowUp.ticket_id).where(FollowUp.branch_code == branch_code))
    if states is not None:
        query = query.where(FollowUp.state.in_(states))  # type: ignore[attr-defined]
    if owner is not None:
        query = query.where(FollowUp.owner_username == owner)
    if due_before is not None:
        query = query.where(FollowUp.due_at < due_before)  # type: ignore[operator]
    unresolved_only = states is not None and CaseStatus.RESOLVED.value not in states
    order = (FollowUp.due_at.asc(), FollowUp.id) if unresolved_only else (  # type: ignore[union-attr]
        FollowUp.created_at.desc(), FollowUp.id.desc())  # type: ignore[union-attr]
    return [(f, r, t) for f, r, t in session.execute(query.order_by(*order).limit(limit)).all()]


def case_row(session: Session, branch_code: str, case_id: int) -> CaseRow | None:
    found = session.get(FollowUp, case_id)
    if found is None or found.branch_code != branch_code:
        return None
    rating = session.get(Rating, found.rating_id) if found.rating_id is not None else None
    ticket = session.get(TicketRow, found.ticket_id) if found.ticket_id is not None else None
    return found, rating, ticket


_OVERDUE_COUNT = RawStatement(select(func.count()).select_from(FollowUp).where(
    FollowUp.branch_code == bindparam("b"), FollowUp.state.in_(constants(UNRESOLVED)),  # type: ignore[attr-defined]
    FollowUp.due_at < bindparam("now", type_=FollowUp.__table__.c.due_at.type)))  # type: ignore[operator]


def any_overdue(connection: Connection, branch_code: str, now: datetime) -> bool:
    """Whether the branch has an unresolved case past its due time: one count over the ``(branch_code, state)`` index on
    the driver's cursor. The live refresh asks every branch every minute, and most have none."""
    row = _OVERDUE_COUNT.first(connection, {"b": branch_code, "now": now})
    return row is not None and int(row[0]) > 0


def overdue(session: Session, branch_code: str, now: datetime) -> list[CaseRow]:
    """The branch's unresolved cases past their due time (few: a query on ``(branch_code, state)``)."""
    return cases(session, branch_code, states=UNRESOLVED, due_before=now, limit=50)


def thread(session: Session, case_id: int) -> list[FollowUpNote]:
    """A case's thread, in the order it was written."""
    return list(session.execute(select(FollowUpNote).where(FollowUpNote.follow_up_id == case_id)
                                .order_by(FollowUpNote.id)).scalars())


def opened_between(session: Session, branch_codes: list[str], start: datetime, end: datetime) -> list[FollowUp]:
    """The cases of these branches opened in ``[start, end)`` (index ``(branch_code, created_at)``)."""
    if not branch_codes:
        return []
    return list(session.execute(select(FollowUp).where(
        FollowUp.branch_code.in_(branch_codes), FollowUp.created_at >= start,  # type: ignore[attr-defined]
        FollowUp.created_at < end)).scalars())


def resolved_between(session: Session, branch_codes: list[str], start: datetime, end: datetime) -> list[FollowUp]:
    """The cases of these branches resolved (last) in ``[start, end)``."""
    if not branch_codes:
        return []
    return list(session.execute(select(FollowUp).where(
        FollowUp.branch_code.in_(branch_codes), FollowUp.state == CaseStatus.RESOLVED.value,  # type: ignore[attr-defined]
        FollowUp.resolved_at >= start, FollowUp.resolved_at < end)).scalars())  # type: ignore[operator]


def unresolved_due_before(session: Session, branch_codes: list[str], moment: datetime) -> list[FollowUp]:
    """The cases of these branches unresolved and past due at ``moment`` (overdue now, for a report's end)."""
    if not branch_codes:
        return []
    return list(session.execute(select(FollowUp).where(
        FollowUp.branch_code.in_(branch_codes), FollowUp.state.in_(UNRESOLVED),  # type: ignore[attr-defined]
        FollowUp.due_at < moment)).scalars())  # type: ignore[operator]
