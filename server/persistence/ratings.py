"""Ratings and follow-ups in the database, and the reads of a staff member's day."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from server.domain.tickets import EventKind
from server.persistence.tables import FollowUp, Rating, TicketEvent, TicketRow


def of_ticket(session: Session, ticket_id: int | None) -> Rating | None:
    """The ticket's rating, if it was rated (a ticket is rated once)."""
    return session.execute(select(Rating).where(Rating.ticket_id == ticket_id)).scalar_one_or_none()


def follow_up(session: Session, branch_code: str, follow_up_id: int) -> FollowUp | None:
    """A follow-up of this branch by id."""
    found = session.get(FollowUp, follow_up_id)
    return found if found is not None and found.branch_code == branch_code else None


def follow_ups(session: Session, branch_code: str, state: str | None, *, oldest_first: bool,
               limit: int) -> list[tuple[FollowUp, Rating, TicketRow]]:
    """A branch's follow-ups (in one state, or all for None) with their ratings and tickets."""
    query = (select(FollowUp, Rating, TicketRow).join(Rating, Rating.id == FollowUp.rating_id)
             .join(TicketRow, TicketRow.id == FollowUp.ticket_id).where(FollowUp.branch_code == branch_code))
    if state is not None:
        query = query.where(FollowUp.state == state)
    order = FollowUp.created_at.asc() if oldest_first else FollowUp.created_at.desc()
    return [(f, r, t) for f, r, t in session.execute(query.order_by(order, FollowUp.id).limit(limit)).all()]


def finished_by(session: Session, branch_code: str, username: str | None, start: datetime,
                end: datetime) -> list[tuple[Any, Any, Any]]:
    """(service started, called, finished) of the tickets this staff member finished in ``[start, end)``."""
    return [tuple(row) for row in session.execute(
        select(TicketRow.service_started_at, TicketRow.called_at, TicketRow.finished_at)
        .join(TicketEvent, TicketEvent.ticket_id == TicketRow.id)
        .where(TicketEvent.branch_code == branch_code, TicketEvent.kind == EventKind.FINISHED.value,
               TicketEvent.staff_username == username, TicketEvent.at >= start, TicketEvent.at < end)).all()]


def no_shows_by(session: Session, branch_code: str, username: str | None, start: datetime, end: datetime) -> int:
    """How many tickets this staff member marked no-show in ``[start, end)``, less those they took back."""
    def count(kind: EventKind) -> int:
        return len(session.execute(select(TicketEvent.id).where(
            TicketEvent.branch_code == branch_code, TicketEvent.kind == kind.value,
            TicketEvent.staff_username == username, TicketEvent.at >= start, TicketEvent.at < end)).all())
    return max(0, count(EventKind.NO_SHOW) - count(EventKind.NO_SHOW_UNDONE))


def ratings_of(session: Session, branch_code: str, username: str | None, start: datetime,
               end: datetime) -> list[tuple[int, str, bool]]:
    """(score, scale, dissatisfied) of the ratings this staff member received in ``[start, end)``."""
    return [(int(score), str(scale), bool(dissatisfied)) for score, scale, dissatisfied in session.execute(
        select(Rating.score, Rating.scale, Rating.dissatisfied).where(
            Rating.branch_code == branch_code, Rating.staff_username == username,
            Rating.created_at >= start, Rating.created_at < end)).all()]
