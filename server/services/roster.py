"""The roster of a branch (docs/staffing.md): read a day (the branch's managers, admins and its region's readers),
add, edit and delete entries and copy a day to others (the branch's managers and admins), each change audited in
its own transaction. The rules are :mod:`server.domain.roster`; this finds the branch, the day's window and who may
be rostered, and keeps the entries.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from server.domain.api_tokens import Scope
from server.domain.audit import AuditAction, target_of
from server.domain.hall import AccountRole, Branch
from server.domain.roster import (
    CounterChange,
    DayRoster,
    EntryKind,
    RosterRefused,
    Shift,
    check_shift,
    copy_days,
    counter_changes,
    shift_window,
)
from server.persistence import roster as stored
from server.services.access import require_manager, require_reports, works_at
from server.services.actor import Actor
from server.services.context import HallContext
from server.services.staffing import check_day

ROSTERED_ROLES = (AccountRole.STAFF, AccountRole.MANAGER)
"""Who may be rostered: the branch's staff and managers (not its administrators or regional readers)."""


class RosterService:
    """Rosters of every branch of a hall."""

    def __init__(self, hall: HallContext) -> None:
        self.hall = hall

    # --- what the rules are given ----------------------------------------------------------------------------

    def people(self, branch: Branch) -> dict[str, str]:
        """The user names that may be rostered at ``branch``, with their display names, by display name."""
        config = self.hall.config
        found = [a for a in config.staff if a.role in ROSTERED_ROLES and not a.disabled and works_at(config, a, branch)]
        return {a.username: a.display_name for a in sorted(found, key=lambda a: (a.display_name, a.username))}

    def window(self, branch: Branch, day: date) -> tuple[int, int] | None:
        return shift_window(branch.schedule.hours_on(day), self.hall.config.queue.day_end_grace)

    def _check_day(self, branch: Branch, day: date) -> None:
        check_day(day, branch.schedule.local(self.hall.clock()).date())

    # --- reads ---------------------------------------------------------------------------------------------------

    def day(self, branch_code: str, actor: Actor, day: date) -> dict[str, Any]:
        """A day's roster with what the editor offers: the people, the counters with their services, the window."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_reports(hall.config, actor, branch, token_scope=Scope.READ)
        self._check_day(branch, day)
        with hall.uow.read() as session:
            shifts = stored.on_day(session.connection(), branch.code, day)
        window = self.window(branch, day)
        people = self.people(branch)
        return {
            "branch": branch.code,
            "date": day.isoformat(),
            "closed": window is None,
            "window": None if window is None else {"start": window[0], "end": window[1]},
            "may_edit": actor.token is None and actor.is_manager and works_at(hall.config, actor, branch),
            "people": [{"username": u, "display_name": n} for u, n in people.items()],
            "counters": [{"number": c.number, "name": c.name.as_dict(), "services": list(c.services)}
                         for c in branch.counters],
            "services": [{"code": s.code, "name": s.name.as_dict()} for s in branch.services],
            "shifts": [{**s.as_dict(), "display_name": people.get(s.username, s.username)} for s in shifts],
        }

    def day_roster(self, connection: Connection, branch: Branch, day: date) -> DayRoster:
        """A day's entries as the staffing advice plans with them (within the caller's read)."""
        return DayRoster(tuple(stored.on_day(connection, branch.code, day)))

    def changes_ahead(self, branch_code: str, moment: datetime, horizon: timedelta) -> list[CounterChange]:
        """The counters rostered to open or close within ``horizon`` of ``moment`` (for the live estimator)."""
        branch = self.hall.branch(branch_code)
        first = branch.schedule.local(moment).date() - timedelta(days=1)
        last = branch.schedule.local(moment + horizon).date()
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        with self.hall.uow.read() as session:
            found = stored.on_days(session.connection(), branch.code, days)
        return counter_changes(branch, found, moment, horizon)

    # --- changes -----------------------------------------------------------------------------------------------

    def add(self, branch_code: str, actor: Actor, day: date, shift: Shift) -> dict[str, Any]:
        """Add an entry to ``day``: 400/409 naming the field the rules refuse."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_manager(hall.config, actor, branch)
        self._check_day(branch, day)
        with hall.uow.command(branch, hall.clock()) as tx:
            tx.plans_changed = True  # the live estimator projects with the roster
            others = stored.on_day(tx.connection, branch.code, day)
            checked = check_shift(replace(shift, id=None), branch=branch, window=self.window(branch, day),
                                  people=self.people(branch), others=others)
            checked = replace(checked, id=stored.add(tx.connection, branch.code, day, checked))
            hall.audit.record_in(tx.connection, actor, AuditAction.ROSTER_CHANGED, branch=branch.code,
                                 target=target_of("shift", checked.id), after=_audited(day, checked))
        return checked.as_dict()

    def edit(self, branch_code: str, actor: Actor, shift_id: int, shift: Shift) -> dict[str, Any]:
        """Replace an entry (same day); 404 ``unknown_shift``, else as :meth:`add`."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_manager(hall.config, actor, branch)
        with hall.uow.command(branch, hall.clock()) as tx:
            tx.plans_changed = True  # the live estimator projects with the roster
            day, before = _existing(tx.connection, branch, shift_id)
            self._check_day(branch, day)
            others = stored.on_day(tx.connection, branch.code, day)
            checked = check_shift(replace(shift, id=shift_id), branch=branch, window=self.window(branch, day),
                                  people=self.people(branch), others=others)
            stored.replace(tx.connection, checked)
            hall.audit.record_in(tx.connection, actor, AuditAction.ROSTER_CHANGED, branch=branch.code,
                                 target=target_of("shift", shift_id), before=_audited(day, before),
                                 after=_audited(day, checked))
        return checked.as_dict()

    def delete(self, branch_code: str, actor: Actor, shift_id: int) -> None:
        """Delete an entry; 404 ``unknown_shift``."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_manager(hall.config, actor, branch)
        with hall.uow.command(branch, hall.clock()) as tx:
            tx.plans_changed = True  # the live estimator projects with the roster
            day, before = _existing(tx.connection, branch, shift_id)
            stored.remove(tx.connection, shift_id)
            hall.audit.record_in(tx.connection, actor, AuditAction.ROSTER_CHANGED, branch=branch.code,
                                 target=target_of("shift", shift_id), before=_audited(day, before))

    def copy(self, branch_code: str, actor: Actor, source: date, *, days: list[date] | None = None,
             weeks: int = 0) -> dict[str, Any]:
        """Copy ``source``'s entries to ``days`` and the same weekday of the ``weeks`` next weeks, replacing what
        those days had. Days the branch is closed are skipped (and said); an entry another day's hours refuse
        refuses the whole copy, naming that day."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_manager(hall.config, actor, branch)
        self._check_day(branch, source)
        targets = copy_days(source, days=days or (), weeks=weeks)
        for target in targets:
            self._check_day(branch, target)
        people = self.people(branch)
        copied, skipped = [], []
        with hall.uow.command(branch, hall.clock()) as tx:
            tx.plans_changed = True  # the live estimator projects with the roster
            entries = stored.on_day(tx.connection, branch.code, source)
            if not entries:
                raise RosterRefused("date", f"{source.isoformat()} has no roster to copy", code="empty_roster")
            for target in targets:
                window = self.window(branch, target)
                if window is None:
                    skipped.append(target.isoformat())
                    continue
                placed: list[Shift] = []
                for entry in entries:
                    try:
                        placed.append(check_shift(replace(entry, id=None), branch=branch, window=window,
                                                  people=people, others=placed))
                    except RosterRefused as refused:
                        raise RosterRefused("days", f"{target.isoformat()}: {refused.message}",
                                            code=refused.code, http_status=refused.http_status) from None
                stored.clear(tx.connection, branch.code, target)
                for entry in placed:
                    stored.add(tx.connection, branch.code, target, entry)
                copied.append(target.isoformat())
            hall.audit.record_in(tx.connection, actor, AuditAction.ROSTER_CHANGED, branch=branch.code,
                                 target=target_of("roster", source.isoformat()),
                                 after={"copied_to": copied, "shifts": len(entries)})
        return {"date": source.isoformat(), "copied": copied, "skipped_closed": skipped, "shifts": len(entries)}


def _existing(connection: Connection, branch: Branch, shift_id: int) -> tuple[date, Shift]:
    found = stored.find(connection, branch.code, shift_id)
    if found is None:
        raise RosterRefused("shift", f"branch {branch.code} has no roster entry {shift_id}", code="unknown_shift",
                            http_status=404)
    return found


def _audited(day: date, shift: Shift) -> dict[str, Any]:
    """An entry as the audit log keeps it (``staff``: the log shows the display name)."""
    values: dict[str, Any] = {"date": day.isoformat(), "kind": shift.kind.value, "staff": shift.username}
    if shift.kind == EntryKind.WORK:
        values.update(counter=shift.counter, services=list(shift.services))
    return {**values, "start": shift.as_dict()["start"], "end": shift.as_dict()["end"]}
