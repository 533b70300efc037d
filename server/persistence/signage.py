"""The wall displays' media playlist and scrolling notices in the database, in their playlist order."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from server.persistence.tables import MediaItem, Notice


def media(session: Session, branch_code: str, *, enabled_only: bool) -> list[MediaItem]:
    query = select(MediaItem).where(MediaItem.branch_code == branch_code)
    if enabled_only:
        query = query.where(MediaItem.enabled.is_(True))  # type: ignore[attr-defined]
    return list(session.execute(query.order_by(MediaItem.position, MediaItem.id)).scalars())


def notices(session: Session, branch_code: str, *, enabled_only: bool) -> list[Notice]:
    query = select(Notice).where(Notice.branch_code == branch_code)
    if enabled_only:
        query = query.where(Notice.enabled.is_(True))  # type: ignore[attr-defined]
    return list(session.execute(query.order_by(Notice.position, Notice.id)).scalars())


def media_count(session: Session, branch_code: str) -> int:
    return int(session.execute(select(func.count()).select_from(MediaItem).where(
        MediaItem.branch_code == branch_code)).scalar_one())


def media_item(session: Session, branch_code: str, media_id: int) -> MediaItem | None:
    item = session.get(MediaItem, media_id)
    return item if item is not None and item.branch_code == branch_code else None


def notice(session: Session, branch_code: str, notice_id: int) -> Notice | None:
    found = session.get(Notice, notice_id)
    return found if found is not None and found.branch_code == branch_code else None


def next_position(session: Session, table: type[MediaItem] | type[Notice], branch_code: str) -> int:
    """The position after the last one of the branch's playlist or notices."""
    highest = session.execute(select(func.max(table.position)).where(table.branch_code == branch_code)).scalar()
    return 0 if highest is None else int(highest) + 1
