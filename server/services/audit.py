"""The audit log's service: record an entry (inside the caller's transaction, so a change and its entry commit
together, or in one of its own), and find entries for the managers who may read them.

Who may read what: a manager reads the entries of the branches they work at, and the branch-less entries (a
sign-in, an account change) of the people who work there; a manager of every branch reads everything. Staff read
nothing. Rules about who may *do* the things recorded stay where they were; this only writes them down.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection

from server.domain.audit import (
    CSV_COLUMNS,
    AuditAction,
    AuditEntry,
    FieldChange,
    changes,
    people_named,
    pick,
    spreadsheet_safe,
    target_label,
    target_of,
)
from server.domain.errors import DomainError, NotAllowed, Unauthenticated
from server.persistence import audit as stored
from server.persistence.audit import AuditFilter
from server.services.access import SIGN_IN_FIRST, require_branch, works_at
from server.services.actor import Actor, Clock
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.unit_of_work import UnitOfWork
from server.settings import HallConfig

SYSTEM = Actor(username=None, role="system")
PAGE_MAX = 500
CSV_BOM = "\ufeff"  # Excel reads a CSV as UTF-8 (and so shows Chinese) only when it begins with this


def entry_of(actor: Actor, action: AuditAction, at: datetime, *, branch: str | None = None,
             target: str | None = None, before: Mapping[str, Any] | None = None,
             after: Mapping[str, Any] | None = None) -> AuditEntry:
    """The entry for ``actor`` doing ``action`` (who, and from which device and address, come from the actor)."""
    return AuditEntry(at=at, action=action, username=actor.username, role=actor.role, branch_code=branch,
                      target=target, before=dict(before) if before is not None else None,
                      after=dict(after) if after is not None else None, device=actor.device, address=actor.address)


class AuditLog(ReadsHallModel):
    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock

    def record_in(self, connection: Connection, actor: Actor, action: AuditAction, **details: Any) -> int:
        """Record within the caller's transaction: the entry commits (or rolls back) with the change itself."""
        return stored.append(connection, entry_of(actor, action, self.clock(), **details))

    def record(self, actor: Actor, action: AuditAction, **details: Any) -> int:
        """Record in a transaction of its own (for what changes nothing else in the database, e.g. an export)."""
        with self.uow.write() as session:
            return stored.append(session.connection(), entry_of(actor, action, self.clock(), **details))

    def readable(self, actor: Actor, wanted: AuditFilter) -> AuditFilter:
        """``wanted`` narrowed to what ``actor`` may read (401 for nobody, 403 for staff)."""
        if actor.username is None:
            raise Unauthenticated(SIGN_IN_FIRST)
        if not actor.is_manager:
            raise NotAllowed("only managers read the audit log", code="manager_only")
        account = self.config.account(actor.username)
        every_branch = account is None or not account.branches
        if every_branch and wanted.branches is None:
            return wanted
        mine = tuple(b.code for b in self.config.branches) if every_branch else tuple(account.branches)
        for code in wanted.branches or ():
            if code not in mine:
                raise NotAllowed(f"{actor.username} does not work at branch {code}")
        branches = mine if wanted.branches is None else wanted.branches
        people = tuple(a.username for a in self.config.staff if any(works_at(self.config, a, b) for b in branches))
        return AuditFilter(branches=branches, since=wanted.since, until=wanted.until, actions=wanted.actions,
                           username=wanted.username, text=wanted.text, people=people)

    def search(self, actor: Actor, wanted: AuditFilter, *, limit: int = 100,
               before_id: int | None = None) -> list[AuditEntry]:
        """The newest entries ``actor`` may read first; ``before_id`` pages on."""
        found = self.readable(actor, wanted)
        with self.uow.read() as session:
            return stored.search(session.connection(), found, limit=min(max(limit, 1), PAGE_MAX),
                                 before_id=before_id)

    def each(self, actor: Actor, wanted: AuditFilter, *, batch: int = PAGE_MAX) -> Iterator[AuditEntry]:
        """Every entry ``actor`` may read, newest first, a batch per query (for an export)."""
        for page in self._pages(self.readable(actor, wanted), batch):
            yield from page

    def _pages(self, found: AuditFilter, batch: int) -> Iterator[list[AuditEntry]]:
        """``found``'s entries, newest first, one query (and one short read transaction) per batch."""
        before_id = None
        while True:
            with self.uow.read() as session:
                page = stored.search(session.connection(), found, limit=batch, before_id=before_id)
            yield page
            if len(page) < batch:
                return
            before_id = page[-1].id

    # --- reading it ---------------------------------------------------------------------------------------------

    def period(self, branch_code: str | None, since: date | datetime | None,
               until: date | datetime | None) -> tuple[datetime | None, datetime | None]:
        """A search's time window as instants: a day is read in the branch's time zone (the server's without a
        branch), ``since`` from its start, ``until`` to its end (inclusive); an instant is taken as it is. 400
        ``bad_query`` naming ``to`` when the window ends before it starts."""
        zone = self.zone(branch_code)
        first = _start_of(since, zone) if isinstance(since, date) and not isinstance(since, datetime) else since
        last = _start_of(until + timedelta(days=1), zone) if isinstance(until, date) and not isinstance(
            until, datetime) else until
        if first is not None and last is not None and last <= first:
            raise DomainError("the window ends before it starts: `to` must be after `from`", code="bad_query",
                              http_status=400, parameter="to")
        return first, last

    def zone(self, branch_code: str | None) -> tzinfo:
        """The time zone an entry's times are read in: its branch's, else the server's."""
        branch = self.config.branch(branch_code) if branch_code else None
        return branch.timezone if branch is not None else self.config.server.timezone

    def display_name(self, username: str | None) -> str | None:
        account = self.config.account(username) if username else None
        return account.display_name if account is not None else None

    def _changes(self, entry: AuditEntry, zone: tzinfo) -> list[FieldChange]:
        """The changed fields as a person reads them (people by their display names)."""
        named = self.config.display_name
        return changes(people_named(entry.before, named), people_named(entry.after, named), zone)

    def view(self, entry: AuditEntry) -> dict[str, Any]:
        """An entry as the API answers it: the time in its branch's zone, the action and target in both languages,
        the person's display name, and the changed fields as a person reads them."""
        zone = self.zone(entry.branch_code)
        label = target_label(entry.target, self.config.display_name)
        return {
            "id": entry.id,
            "at": entry.at.astimezone(zone).isoformat(),
            "action": entry.action.value,
            "action_label": entry.action.label.as_dict(),
            "username": entry.username,
            "display_name": self.display_name(entry.username),
            "role": entry.role,
            "branch": entry.branch_code,
            "target": entry.target,
            "target_label": None if label is None else label.as_dict(),
            "before": entry.before,
            "after": entry.after,
            "changes": [{"field": c.field, "label": c.label.as_dict(), "before": c.before, "after": c.after}
                        for c in self._changes(entry, zone)],
            "device": entry.device,
            "address": entry.address,
        }

    def export(self, actor: Actor, wanted: AuditFilter, *, language: str,
               described: Mapping[str, Any]) -> Iterator[bytes]:
        """The entries ``actor`` may read as CSV for a spreadsheet, in batches: UTF-8 with a byte-order mark, a
        header in ``language``, times in each entry's branch's zone with their offset, no cell that a spreadsheet
        would run as a formula. The export itself is recorded first (``described``: the filter as asked), and
        refused (401/403) before anything is sent."""
        found = self.readable(actor, wanted)
        branch = wanted.branches[0] if wanted.branches and len(wanted.branches) == 1 else None
        self.record(actor, AuditAction.DATA_EXPORTED, branch=branch, target=target_of("audit_log"),
                    after={key: value for key, value in described.items() if value not in (None, "", [], ())})
        return self._csv(found, language)

    def _csv(self, found: AuditFilter, language: str) -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(CSV_BOM)
        writer.writerow([pick(text.as_dict(), language) for _, text in CSV_COLUMNS])
        for page in self._pages(found, PAGE_MAX):
            for entry in page:
                writer.writerow([spreadsheet_safe(cell) for cell in self._row(entry, language)])
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()

    def _row(self, entry: AuditEntry, language: str) -> list[str]:
        zone = self.zone(entry.branch_code)
        label = target_label(entry.target, self.config.display_name)
        changed = "; ".join(f"{pick(c.label.as_dict(), language)}: {_before_after(c, language, entry.before is None)}"
                            for c in self._changes(entry, zone))
        return [entry.at.astimezone(zone).isoformat(timespec="seconds"), entry.branch_code or "",
                entry.username or "", self.display_name(entry.username) or "", entry.role,
                pick(entry.action.label.as_dict(), language), pick(None if label is None else label.as_dict(),
                                                                      language),
                changed, entry.device or "", entry.address or ""]

    def file_name(self, branch_code: str | None, since: datetime | None, until: datetime | None) -> str:
        """An export's file name with its days in the branch's time zone: ``audit-SZ-FUTIAN-2026-12-01-2026-12-05.csv``
        (``start`` without a first day; the last day is today without one)."""
        zone = self.zone(branch_code)
        first = since.astimezone(zone).date().isoformat() if since is not None else "start"
        last = (until - timedelta(microseconds=1) if until is not None else self.clock()).astimezone(zone).date()
        return f"audit-{branch_code or 'all'}-{first}-{last.isoformat()}.csv"

    def branch_people(self, branch_code: str) -> list[dict[str, str]]:
        """The people of a branch, for the page's filter: username and display name."""
        branch = require_branch(self.config, branch_code)
        return [{"username": a.username, "display_name": a.display_name} for a in self.config.staff
                if works_at(self.config, a, branch)]


def _before_after(change: FieldChange, language: str, created: bool) -> str:
    """"before → after" ("—" for no value); for a creation (nothing before) the value alone."""
    before, after = pick(change.before, language), pick(change.after, language)
    return after if created else f"{before or '—'} → {after or '—'}"


def _start_of(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)

