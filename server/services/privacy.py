"""Personal data: contacts a customer gives with consent, how staff see them, the scheduled purge, and one
customer's data exported or deleted on request (docs/privacy.md).

The rules (what a phone number is, masking, retention) are in :mod:`server.domain.privacy`; who may see a number
is :func:`server.services.access.require_owner_or_manager`. Every look at a whole number, every export, deletion
and purge is written to the audit log in the same transaction, and the log itself keeps only masked numbers, so a
deletion leaves nothing of the number behind.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from server.domain.audit import AuditAction
from server.domain.errors import NotFound
from server.domain.hall import Branch
from server.domain.privacy import (
    ContactGiven,
    Purpose,
    Retention,
    display_phone,
    mask_name,
    mask_phone,
    mask_phone_like,
    normalise_phone,
)
from server.persistence import contacts as stored
from server.persistence import ratings as records
from server.persistence.tables import CustomerContact, FollowUp, Rating, TicketRow
from server.services.access import require_branch, require_manager, require_owner_or_manager
from server.services.actor import Actor, Clock
from server.services.audit import SYSTEM, AuditLog
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.unit_of_work import Transaction, UnitOfWork
from server.services.views import iso
from server.settings import HallConfig

PURGE_ACTOR = SYSTEM


def add_call_back(tx: Transaction, retention: Retention, given: ContactGiven, *, follow_up: FollowUp,
                  rating: Rating | None = None, ticket_id: int | None = None, channel: str) -> CustomerContact:
    """Keep the contact a customer gave with a dissatisfied rating or a complaint, attached to its follow-up (inside
    the command's own transaction: the rating or complaint, the follow-up and the contact commit together)."""
    contact = CustomerContact(branch_code=tx.branch.code, purpose=Purpose.FOLLOW_UP.value, phone=given.phone,
                              name=given.name, ticket_id=rating.ticket_id if rating is not None else ticket_id,
                              rating_id=rating.id if rating is not None else None,
                              follow_up_id=follow_up.id, channel=channel, consent_at=tx.now,
                              purge_after=retention.contact_purge_after(tx.now))
    tx.session.add(contact)
    tx.session.flush()
    return contact


def follow_up_resolved(tx: Transaction, retention: Retention, follow_up: FollowUp) -> None:
    """A resolved follow-up's contact is kept ``contact_days_after_resolved`` more at most."""
    assert follow_up.id is not None and follow_up.resolved_at is not None
    stored.shorten_follow_up_contacts(tx.connection, follow_up.id,
                                      retention.contact_purge_after(follow_up.created_at, follow_up.resolved_at))


def contact_masked(contact: CustomerContact | None) -> dict[str, Any] | None:
    """A contact as staff lists show it: the number and name masked."""
    if contact is None:
        return None
    return {"id": contact.id, "purpose": contact.purpose, "phone": mask_phone(contact.phone),
            "name": mask_name(contact.name), "channel": contact.channel, "consent_at": iso(contact.consent_at),
            "purge_after": iso(contact.purge_after)}


def contacts_of_follow_ups(session: Session, follow_up_ids: list[int | None]) -> dict[int, CustomerContact]:
    """The contact left with each of these follow-ups, by follow-up id."""
    return stored.of_follow_ups(session, follow_up_ids)


def has_call_back(session: Session, rating_id: int | None) -> bool:
    """Whether the customer left a number with this rating (what their own phone page may know: yes or no)."""
    if rating_id is None:
        return False
    return session.execute(select(CustomerContact.id).where(CustomerContact.rating_id == rating_id)
                           .limit(1)).first() is not None


def staff_text(text: str | None) -> str | None:
    """Free text as staff see it: phone-like numbers masked."""
    return mask_phone_like(text)


class PrivacyService(ReadsHallModel):
    """Seeing a contact for a call, finding, exporting and deleting one customer's data, and the purge job."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, audit: AuditLog, clock: Clock) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.audit = audit
        self.clock = clock

    @property
    def retention(self) -> Retention:
        return self.config.privacy

    # --- a follow-up's contact, for a call -----------------------------------------------------------------

    def reveal_contact(self, branch_code: str, follow_up_id: int, actor: Actor) -> dict[str, Any]:
        """The whole number of a follow-up's contact, for its owner or a manager to call; recorded in the audit
        log (``data_exported``, the number masked) in the same transaction."""
        branch = require_branch(self.config, branch_code)
        with self.uow.write() as session:
            follow_up = records.follow_up(session, branch.code, follow_up_id)
            if follow_up is None:
                raise NotFound(f"no follow-up {follow_up_id} in branch {branch.code}", code="unknown_follow_up")
            require_owner_or_manager(self.config, actor, branch, follow_up.owner_username)
            contact = stored.of_follow_ups(session, [follow_up.id]).get(follow_up_id)
            if contact is None:
                raise NotFound(f"the customer of follow-up {follow_up_id} left no number (or it was removed)",
                               code="no_contact")
            self.audit.record_in(session.connection(), actor, AuditAction.DATA_EXPORTED, branch=branch.code,
                                 target=f"follow-up {follow_up_id}",
                                 after={"shown": "contact", "purpose": "call_back", "contact_id": contact.id,
                                        "phone": mask_phone(contact.phone)})
            return {"follow_up_id": follow_up_id, "contact_id": contact.id, "purpose": contact.purpose,
                    "phone": contact.phone, "phone_display": display_phone(contact.phone), "name": contact.name,
                    "purge_after": iso(contact.purge_after)}

    # --- one customer's data, on request (managers of the branch) --------------------------------------------

    def find(self, branch_code: str, phone: str, actor: Actor) -> dict[str, Any]:
        """What the branch holds about the customer with this number: their contacts and the follow-ups and
        ratings linked to them, as staff see them (masked). Not audited: it shows nothing the manager did not type."""
        branch, number = self._request(branch_code, phone, actor)
        with self.uow.read() as session:
            held = _held(session, branch, number)
        return {"branch": branch.code, "phone": mask_phone(number), **_summary(held)}

    def export(self, branch_code: str, phone: str, actor: Actor) -> dict[str, Any]:
        """Everything the branch holds about the customer with this number, whole, for the customer; recorded in
        the audit log (``data_exported``) in the same transaction."""
        branch, number = self._request(branch_code, phone, actor)
        now = self.clock()
        with self.uow.write() as session:
            held = _held(session, branch, number)
            counts = _counts(held)
            self.audit.record_in(session.connection(), actor, AuditAction.DATA_EXPORTED, branch=branch.code,
                                 target=f"customer {mask_phone(number)}", after={"request": "export", **counts})
        return {"kind": "personal_data_export", "branch": branch.code, "branch_name": branch.name.as_dict(),
                "phone": number, "exported_at": now.isoformat(), "exported_by": actor.username,
                "retention": {"contact_days_after_resolved": self.retention.contact_days_after_resolved,
                              "contact_max_days": self.retention.contact_max_days,
                              "free_text_days": self.retention.free_text_days},
                **_whole(held, branch), "counts": counts}

    def delete(self, branch_code: str, phone: str, actor: Actor) -> dict[str, Any]:
        """Remove the customer's contacts and blank the free text linked to them (rating comments, resolution and
        transfer notes), keeping the anonymous queue statistics (scores, times, states); recorded in the audit
        log (``data_deleted``) in the same transaction. 404 ``nothing_held`` when the branch holds nothing."""
        branch, number = self._request(branch_code, phone, actor)
        with self.uow.write() as session:
            held = _held(session, branch, number)
            if not held["contacts"]:
                raise NotFound(f"branch {branch.code} holds no contact with the number {mask_phone(number)}",
                               code="nothing_held")
            connection = session.connection()
            removed = {"contacts": stored.remove(connection, [c.id for c in held["contacts"] if c.id is not None]),
                       **stored.blank_for_tickets(connection, held["tickets"],
                                                  [f.id for f in held["follow_ups"] if f.id is not None])}
            session.expire_all()  # the rows changed under the session
            self.audit.record_in(connection, actor, AuditAction.DATA_DELETED, branch=branch.code,
                                 target=f"customer {mask_phone(number)}", after={"request": "delete", **removed})
        return {"branch": branch.code, "phone": mask_phone(number), "removed": removed}

    # --- the scheduled job --------------------------------------------------------------------------------

    def purge_expired(self) -> dict[str, dict[str, int]]:
        """Remove what is past its retention, branch by branch, each in one transaction with one ``data_purged``
        audit entry when something was removed. Safe to run in several processes at once: a second run finds
        nothing left to remove, and records nothing. What was removed, by branch."""
        now = self.clock()
        retention = self.retention
        removed: dict[str, dict[str, int]] = {}
        for branch in self.config.branches:
            before = retention.free_text_before(now)
            with self.uow.write() as session:
                connection = session.connection()
                counts = {"contacts": stored.purge_contacts(connection, branch.code, now,
                                                            retention.contacts_given_before(now)),
                          **stored.blank_free_text(connection, branch.code, before)}
                if any(counts.values()):
                    self.audit.record_in(connection, PURGE_ACTOR, AuditAction.DATA_PURGED, branch=branch.code,
                                         target="retention",
                                         after={**counts, "contact_days_after_resolved":
                                                retention.contact_days_after_resolved,
                                                "contact_max_days": retention.contact_max_days,
                                                "free_text_days": retention.free_text_days})
                    removed[branch.code] = counts
        return removed

    # --- internals ----------------------------------------------------------------------------------------

    def _request(self, branch_code: str, phone: str, actor: Actor) -> tuple[Branch, str]:
        branch = require_branch(self.config, branch_code)
        require_manager(self.config, actor, branch)
        return branch, normalise_phone(phone)


def _held(session: Session, branch: Branch, phone: str) -> dict[str, Any]:
    """The contacts with this number and the follow-ups, ratings and tickets they are linked to."""
    found = stored.by_phone(session, branch.code, phone)
    follow_up_ids = sorted({c.follow_up_id for c in found if c.follow_up_id is not None})
    rating_ids = sorted({c.rating_id for c in found if c.rating_id is not None})
    ticket_ids = sorted({c.ticket_id for c in found if c.ticket_id is not None})
    follow_ups = list(session.execute(select(FollowUp).where(FollowUp.id.in_(follow_up_ids))).scalars()  # type: ignore[union-attr]
                      ) if follow_up_ids else []
    ratings = list(session.execute(select(Rating).where(Rating.id.in_(rating_ids))).scalars()  # type: ignore[union-attr]
                   ) if rating_ids else []
    tickets = {t.id: t for t in session.execute(select(TicketRow).where(TicketRow.id.in_(ticket_ids))).scalars()  # type: ignore[union-attr]
               } if ticket_ids else {}
    return {"contacts": found, "follow_ups": follow_ups, "ratings": ratings, "tickets": tickets}


def _counts(held: dict[str, Any]) -> dict[str, int]:
    return {"contacts": len(held["contacts"]), "follow_ups": len(held["follow_ups"]),
            "ratings": len(held["ratings"]), "tickets": len(held["tickets"])}


def _summary(held: dict[str, Any]) -> dict[str, Any]:
    """What is held, as a manager's card lists it (masked)."""
    tickets: dict[int, TicketRow] = held["tickets"]
    follow_ups = {f.id: f for f in held["follow_ups"]}
    contacts = []
    for contact in held["contacts"]:
        ticket = tickets.get(contact.ticket_id) if contact.ticket_id is not None else None
        follow_up = follow_ups.get(contact.follow_up_id)
        contacts.append({**(contact_masked(contact) or {}),
                         "ticket": None if ticket is None else {"number": ticket.number,
                                                                "service": ticket.service_code,
                                                                "day": ticket.service_day.isoformat()},
                         "follow_up": None if follow_up is None else {"id": follow_up.id, "state": follow_up.state}})
    return {"contacts": contacts, "counts": _counts(held)}


def _whole(held: dict[str, Any], branch: Branch) -> dict[str, Any]:
    """Everything held, whole (for the customer's own copy)."""
    tickets: dict[int, TicketRow] = held["tickets"]
    return {
        "contacts": [{"id": c.id, "purpose": c.purpose, "phone": c.phone, "name": c.name, "channel": c.channel,
                      "consent_at": iso(c.consent_at), "purge_after": iso(c.purge_after), "ticket_id": c.ticket_id,
                      "rating_id": c.rating_id, "follow_up_id": c.follow_up_id, "booking_id": c.booking_id}
                     for c in held["contacts"]],
        "follow_ups": [{"id": f.id, "ticket_id": f.ticket_id, "state": f.state, "created_at": iso(f.created_at),
                        "resolved_at": iso(f.resolved_at), "resolution_note": f.resolution_note}
                       for f in held["follow_ups"]],
        "ratings": [{"id": r.id, "ticket_id": r.ticket_id, "score": r.score, "scale": r.scale,
                     "reasons": json.loads(r.reasons), "comment": r.comment, "channel": r.channel,
                     "rated_at": iso(r.created_at)} for r in held["ratings"]],
        "tickets": [_ticket_whole(t, branch) for t in tickets.values()],
    }


def _ticket_whole(ticket: TicketRow, branch: Branch) -> dict[str, Any]:
    service = branch.service(ticket.service_code)
    return {"id": ticket.id, "number": ticket.number, "service": ticket.service_code,
            "service_name": service.name.as_dict() if service else None, "day": ticket.service_day.isoformat(),
            "issued_at": iso(ticket.issued_at), "finished_at": iso(ticket.finished_at),
            "transfer_note": ticket.transfer_note}


__all__ = ["PrivacyService", "add_call_back", "contact_masked", "contacts_of_follow_ups", "follow_up_resolved",
           "has_call_back", "staff_text"]
