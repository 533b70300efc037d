"""Follow-up cases: from a dissatisfied rating or a recorded complaint until the customer has their answer.

The rules (statuses, what may follow what, the due time and when a case is overdue, categories and outcomes) are in
:mod:`server.domain.follow_ups`. Who may do what: staff of the branch record complaints; a manager of the branch
assigns and reopens; the case's owner or a manager adds notes, starts and resolves it; its managers, the admins and
a regional account of its region read cases (:func:`server.services.access.require_reports`). Each command is one
transaction of :class:`~server.services.unit_of_work.UnitOfWork`: the case, its thread entry, the audit entry
(assigning, status changes, resolving, reopening, a complaint recorded) and the event that tells the manager pages.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.domain.api_tokens import Scope
from server.domain.audit import AuditAction, target_of
from server.domain.errors import DomainError, NotFound
from server.domain.follow_ups import (
    MAX_NOTE,
    MAX_WORDS,
    UNRESOLVED,
    CaseAction,
    CaseCategory,
    CaseSource,
    CaseStatus,
    FollowUpRules,
    Outcome,
    allowed_actions,
    checked_text,
    is_overdue,
    may_assign,
    next_status,
    time_to_resolve,
)
from server.domain.hall import Branch
from server.domain.privacy import ContactGiven
from server.domain.ticket import Ticket
from server.domain.tickets import EventKind
from server.persistence import follow_ups as stored
from server.persistence import tickets
from server.persistence.tables import CustomerContact, FollowUp, FollowUpNote, Rating, TicketRow
from server.services.access import (
    require_branch,
    require_counter,
    require_manager,
    require_owner_or_manager,
    require_reports,
    require_staff,
    works_at,
)
from server.services.actor import Actor, Clock, utc_now
from server.services.audit import AuditLog
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.privacy import (
    add_call_back,
    contact_masked,
    contacts_of_follow_ups,
    follow_up_resolved,
    staff_text,
)
from server.services.unit_of_work import Transaction, UnitOfWork
from server.services.views import iso
from server.settings import HallConfig

SHOW = ("open", "overdue", "mine", "resolved", "all")
"""The case list's filters: open (unresolved), overdue, mine (unresolved, owned by the reader), resolved, all."""

CHANNEL_COUNTER = "counter"  # a complaint's contact, taken by staff at the counter or by a manager


class FollowUpService(ReadsHallModel):
    """Case commands and the reads of the manager page's follow-ups card and case view."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock = utc_now,
                 audit: AuditLog | None = None) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock
        self.audit = audit or AuditLog(self.model, uow, clock)

    @property
    def rules(self) -> FollowUpRules:
        return self.config.follow_ups

    # --- reads ------------------------------------------------------------------------------------------

    def vocabulary(self) -> dict[str, Any]:
        """What the forms offer: categories, outcomes, statuses, each with its words in both languages."""
        return {"categories": [{"code": c.value, "text": c.label.as_dict()} for c in CaseCategory],
                "outcomes": [{"code": o.value, "text": o.label.as_dict()} for o in Outcome],
                "statuses": [{"code": s.value, "text": s.label.as_dict()} for s in CaseStatus],
                "answer_hours": self.rules.answer_hours, "words_max_length": MAX_WORDS, "note_max_length": MAX_NOTE}

    def cases(self, branch_code: str, actor: Actor, *, show: str = "open", limit: int = 200) -> dict[str, Any]:
        """The branch's cases under one filter of :data:`SHOW` (unresolved ones soonest due first)."""
        branch = self._branch(branch_code)
        require_reports(self.config, actor, branch, code="manager_only", token_scope=Scope.READ)
        if show not in SHOW:
            raise DomainError(f"show must be one of {', '.join(SHOW)}", code="bad_query", http_status=400)
        now = self.clock()
        states: tuple[str, ...] | None = {"resolved": (CaseStatus.RESOLVED.value,), "all": None}.get(show, UNRESOLVED)
        with self.uow.read() as session:
            rows = stored.cases(session, branch.code, states=states,
                                owner=actor.username if show == "mine" else None,
                                due_before=now if show == "overdue" else None, limit=limit)
            contacts = contacts_of_follow_ups(session, [f.id for f, _r, _t in rows])
            views = [self.case_view(f, r, t, branch, contacts.get(f.id or 0), now) for f, r, t in rows]
            overdue = len(stored.overdue(session, branch.code, now))
        return {"branch": branch.code, "show": show, "follow_ups": views, "overdue": overdue,
                "vocabulary": self.vocabulary(), "owners": self._owners(branch)}

    def case(self, branch_code: str, case_id: int, actor: Actor) -> dict[str, Any]:
        """One case with its thread, for the case view."""
        branch = self._branch(branch_code)
        require_reports(self.config, actor, branch, code="manager_only", token_scope=Scope.READ)
        with self.uow.read() as session:
            return self._detail(session, branch, _load(session, branch, case_id), self.clock())

    # --- commands ---------------------------------------------------------------------------------------

    def record_complaint(self, branch_code: str, actor: Actor, *, category: str, words: str,
                         ticket_id: int | None = None, counter: str | None = None,
                         call_back: ContactGiven | None = None) -> dict[str, Any]:
        """Staff at a counter (about the ticket they serve) or a manager record what a customer complained about;
        the case opens, due ``answer_hours`` from now."""
        branch = self._branch(branch_code)
        require_staff(self.config, actor, branch)
        chosen = _category(category)
        words = checked_text(words, limit=MAX_WORDS, what="the customer's words", code="bad_words")
        counter_number = require_counter(branch, counter).number if counter is not None else None
        with self.uow.command(branch, self.clock()) as tx:
            ticket = tickets.get(tx.connection, branch.code, ticket_id) if ticket_id is not None else None
            case = FollowUp(branch_code=branch.code, source=CaseSource.COMPLAINT.value,
                            ticket_id=ticket.id if ticket else None, category=chosen.value, customer_words=words,
                            counter_number=counter_number or (ticket.counter_number if ticket else None),
                            created_by=actor.username, state=CaseStatus.OPEN.value, created_at=tx.now,
                            due_at=self.rules.due_at(tx.now))
            tx.session.add(case)
            tx.session.flush()
            contact = None
            if call_back is not None:
                contact = add_call_back(tx, self.config.privacy, call_back, follow_up=case,
                                        ticket_id=case.ticket_id, channel=CHANNEL_COUNTER)
            _add_note(tx, case, actor, "recorded", None)
            self._audit(tx, actor, AuditAction.COMPLAINT_RECORDED, case,
                        {"category": chosen.value, "ticket": ticket.number if ticket else None,
                         "counter": case.counter_number, "call_back": contact is not None})
            return self._emit(tx, EventKind.FOLLOW_UP_OPENED, case, actor, ticket,
                              {"source": case.source, "category": case.category, "call_back": contact is not None})

    def assign(self, branch_code: str, case_id: int, actor: Actor, owner: str) -> dict[str, Any]:
        """Give an unresolved case its owner (or another one): the one person who answers the customer."""
        branch = self._branch(branch_code)
        require_manager(self.config, actor, branch)
        account = self.config.account(owner)
        if account is None or account.disabled or not works_at(self.config, account, branch):
            raise DomainError(f"{owner!r} is not a staff account of branch {branch.code}", code="unknown_owner",
                              http_status=422)
        with self.uow.command(branch, self.clock()) as tx:
            case = _load(tx.session, branch, case_id)
            if not may_assign(CaseStatus(case.state)):
                raise DomainError(f"follow-up {case.id} is already resolved; reopen it first",
                                  code="already_resolved")
            previous = case.owner_username
            case.owner_username = account.username
            _add_note(tx, case, actor, "assigned", account.username)
            self._audit(tx, actor, AuditAction.CASE_ASSIGNED, case, {"owner": account.username},
                        before={"owner": previous})
            return self._emit(tx, EventKind.FOLLOW_UP_ASSIGNED, case, actor, None,
                              {"owner": account.username, "previous_owner": previous})

    def add_note(self, branch_code: str, case_id: int, actor: Actor, text: str) -> dict[str, Any]:
        """Add to the case's thread (its owner or a manager); the thread is only ever added to."""
        branch = self._branch(branch_code)
        text = checked_text(text, limit=MAX_NOTE, what="a note", code="bad_note")
        with self.uow.command(branch, self.clock()) as tx:
            case = _load(tx.session, branch, case_id)
            require_owner_or_manager(self.config, actor, branch, case.owner_username, doing="work on this case")
            _add_note(tx, case, actor, "note", text)
            return self._emit(tx, EventKind.FOLLOW_UP_CHANGED, case, actor, None, {"change": "note"})

    def start(self, branch_code: str, case_id: int, actor: Actor) -> dict[str, Any]:
        """Open -> in progress (its owner or a manager); a case without an owner becomes the starter's."""
        branch = self._branch(branch_code)
        with self.uow.command(branch, self.clock()) as tx:
            case = _load(tx.session, branch, case_id)
            require_owner_or_manager(self.config, actor, branch, case.owner_username, doing="work on this case")
            before = case.state
            case.state = next_status(CaseStatus(case.state), CaseAction.START).value
            case.owner_username = case.owner_username or actor.username
            _add_note(tx, case, actor, "started", None)
            self._audit(tx, actor, AuditAction.CASE_STATUS_CHANGED, case, {"state": case.state},
                        before={"state": before})
            return self._emit(tx, EventKind.FOLLOW_UP_CHANGED, case, actor, None,
                              {"change": "started", "state": case.state})

    def resolve(self, branch_code: str, case_id: int, actor: Actor, outcome: str, note: str) -> dict[str, Any]:
        """Close the case with an outcome from the short list and a note saying how the customer was answered."""
        branch = self._branch(branch_code)
        chosen = _outcome(outcome)
        note = checked_text(note, limit=MAX_NOTE, what="the resolution note", code="bad_note")
        with self.uow.command(branch, self.clock()) as tx:
            case = _load(tx.session, branch, case_id)
            require_owner_or_manager(self.config, actor, branch, case.owner_username, doing="work on this case")
            before = case.state
            case.state = next_status(CaseStatus(case.state), CaseAction.RESOLVE).value
            case.outcome, case.resolution_note, case.resolved_at = chosen.value, note, tx.now
            case.owner_username = case.owner_username or actor.username
            tx.session.flush()
            follow_up_resolved(tx, self.config.privacy, case)  # its contact is kept a while, then goes
            _add_note(tx, case, actor, "resolved", note)
            took = time_to_resolve(case.created_at, case.resolved_at)
            self._audit(tx, actor, AuditAction.CASE_RESOLVED, case, {"state": case.state, "outcome": chosen.value},
                        before={"state": before})
            return self._emit(tx, EventKind.FOLLOW_UP_RESOLVED, case, actor, None,
                              {"owner": case.owner_username, "outcome": chosen.value,
                               "open_seconds": took.total_seconds() if took else None}, reason=note)

    def reopen(self, branch_code: str, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
        """A resolved case opens again (a manager, with a reason): due ``answer_hours`` from now, its outcome
        cleared (the earlier one stays in the thread)."""
        branch = self._branch(branch_code)
        require_manager(self.config, actor, branch)
        reason = checked_text(reason, limit=MAX_NOTE, what="the reason to reopen", code="bad_reason")
        with self.uow.command(branch, self.clock()) as tx:
            case = _load(tx.session, branch, case_id)
            before = {"state": case.state, "outcome": case.outcome}
            case.state = next_status(CaseStatus(case.state), CaseAction.REOPEN).value
            case.outcome = case.resolved_at = None
            case.due_at = self.rules.due_at(tx.now)
            _add_note(tx, case, actor, "reopened", reason)
            self._audit(tx, actor, AuditAction.CASE_REOPENED, case, {"state": case.state, "due_at": case.due_at},
                        before=before)
            return self._emit(tx, EventKind.FOLLOW_UP_CHANGED, case, actor, None,
                              {"change": "reopened", "state": case.state})

    # --- views ------------------------------------------------------------------------------------------

    def case_view(self, case: FollowUp, rating: Rating | None, ticket: Ticket | TicketRow | None, branch: Branch,
                  contact: CustomerContact | None, now: datetime) -> dict[str, Any]:
        """A case as the manager's list shows it: where it came from (the rating, or the complaint), who owns it,
        when it is due and whether it is overdue, the outcome, what may be done next, and the customer's call-back
        contact masked (phone-like numbers in the texts masked too)."""
        status = CaseStatus(case.state)
        settings = self.config.ratings
        chips = {c.code: c.text.as_dict() for c in (*settings.low_reasons, *settings.high_reasons)}
        service = branch.service(ticket.service_code) if ticket is not None else None
        took = time_to_resolve(case.created_at, case.resolved_at)
        category = CaseCategory(case.category) if case.category else None
        outcome = Outcome(case.outcome) if case.outcome else None
        return {
            "id": case.id,
            "source": case.source,
            "state": case.state,
            "state_text": status.label.as_dict(),
            "ticket": None if ticket is None else {
                "id": ticket.id, "number": ticket.number, "service": ticket.service_code,
                "service_name": service.name.as_dict() if service else None},
            "counter": rating.counter_number if rating is not None else case.counter_number,
            "staff": rating.staff_username if rating is not None else None,
            "staff_display_name": self.config.display_name(rating.staff_username) if rating is not None else None,
            "score": rating.score if rating is not None else None,
            "scale": rating.scale if rating is not None else None,
            "reasons": [] if rating is None else [{"code": code, "text": chips.get(code)}
                                                  for code in json.loads(rating.reasons)],
            "comment": staff_text(rating.comment) if rating is not None else None,
            "channel": rating.channel if rating is not None else None,
            "rated_at": iso(rating.created_at) if rating is not None else None,
            "category": case.category,
            "category_text": category.label.as_dict() if category else None,
            "customer_words": staff_text(case.customer_words),
            "recorded_by": case.created_by,
            "recorded_by_display_name": self.config.display_name(case.created_by),
            "owner": case.owner_username,
            "owner_display_name": self.config.display_name(case.owner_username),
            "outcome": case.outcome,
            "outcome_text": outcome.label.as_dict() if outcome else None,
            "resolution_note": staff_text(case.resolution_note),
            "contact": contact_masked(contact),
            "created_at": iso(case.created_at),
            "due_at": iso(case.due_at),
            "overdue": is_overdue(status, case.due_at, now),
            "resolved_at": iso(case.resolved_at),
            "time_to_resolve_s": took.total_seconds() if took is not None else None,
            "actions": [a.value for a in allowed_actions(status)],
        }

    # --- internals --------------------------------------------------------------------------------------

    def _detail(self, session: Session, branch: Branch, case: FollowUp, now: datetime) -> dict[str, Any]:
        found = stored.case_row(session, branch.code, case.id or 0)
        assert found is not None
        _case, rating, ticket = found
        contact = contacts_of_follow_ups(session, [case.id]).get(case.id or 0)
        return {**self.case_view(case, rating, ticket, branch, contact, now),
                "thread": [self._entry(note) for note in stored.thread(session, case.id or 0)]}

    def _entry(self, note: FollowUpNote) -> dict[str, Any]:
        text = note.text
        if note.kind == "assigned":  # the new owner's user name: shown as a person reads it
            text = self.config.display_name(text)
        return {"id": note.id, "kind": note.kind, "by": note.username,
                "by_display_name": self.config.display_name(note.username), "text": staff_text(text),
                "at": iso(note.at)}

    def _emit(self, tx: Transaction, kind: EventKind, case: FollowUp, actor: Actor, ticket: Ticket | TicketRow | None,
              data: dict[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        """Tell the branch's manager pages (the case whole only in ``private``); the case view is the answer."""
        tx.session.flush()
        if ticket is None and case.ticket_id is not None:
            ticket = tickets.get(tx.connection, tx.branch.code, case.ticket_id)
        view = self._detail(tx.session, tx.branch, case, tx.now)
        tx.emit(kind, ticket=ticket, counter=case.counter_number, staff=actor.username, device=actor.device,
                reason=reason, data={"follow_up_id": case.id, **data},
                public={"follow_up": {"id": case.id, "state": case.state}}, private={"follow_up": view})
        return view

    def _audit(self, tx: Transaction, actor: Actor, action: AuditAction, case: FollowUp, after: dict[str, Any], *,
               before: dict[str, Any] | None = None) -> None:
        """The audit entry keeps states, owners and codes, never the customer's words or the notes (free text is
        blanked after its retention; the audit log is never changed)."""
        self.audit.record_in(tx.connection, actor, action, branch=tx.branch.code, target=target_of("case", case.id),
                             before=before, after=after)

    def _owners(self, branch: Branch) -> list[dict[str, Any]]:
        """Who may own a case of this branch: its enabled staff accounts."""
        return [{"username": a.username, "display_name": a.display_name} for a in self.config.staff
                if not a.disabled and works_at(self.config, a, branch)]

    def _branch(self, code: str) -> Branch:
        return require_branch(self.config, code)


def open_for_rating(tx: Transaction, rules: FollowUpRules, rating: Rating) -> FollowUp:
    """The case a dissatisfied rating opens (inside the rating's own transaction)."""
    case = FollowUp(branch_code=tx.branch.code, source=CaseSource.RATING.value, ticket_id=rating.ticket_id,
                    rating_id=rating.id, counter_number=rating.counter_number, state=CaseStatus.OPEN.value,
                    created_at=tx.now, due_at=rules.due_at(tx.now))
    tx.session.add(case)
    tx.session.flush()
    return case


def _add_note(tx: Transaction, case: FollowUp, actor: Actor, kind: str, text: str | None) -> None:
    assert case.id is not None
    tx.session.add(FollowUpNote(follow_up_id=case.id, branch_code=case.branch_code, kind=kind,
                                username=actor.username, text=text, at=tx.now))


def _load(session: Session, branch: Branch, case_id: int) -> FollowUp:
    found = stored.case_row(session, branch.code, case_id)
    if found is None:
        raise NotFound(f"no follow-up {case_id} in branch {branch.code}", code="unknown_follow_up")
    return found[0]


def _category(code: str) -> CaseCategory:
    try:
        return CaseCategory(code)
    except ValueError:
        raise DomainError(f"category must be one of {', '.join(CaseCategory)}", code="bad_category",
                          http_status=422) from None


def _outcome(code: str) -> Outcome:
    try:
        return Outcome(code)
    except ValueError:
        raise DomainError(f"outcome must be one of {', '.join(Outcome)}", code="bad_outcome",
                          http_status=422) from None


__all__ = ["SHOW", "FollowUpService", "open_for_rating"]
