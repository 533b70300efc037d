"""The virtual queue's commands: join from a phone, check in at the hall, held aside at the front, expiry.

The rules are in :mod:`server.domain.remote` (and "not called before check-in" in
:func:`server.domain.policy.is_callable`); this module runs them in the unit of work's transactions. A remote ticket
is issued through the normal issue path (:meth:`TicketService.issue_within`: opening hours, stops, the day's number,
the ``issued`` event, the estimate), with the phone number kept in ``customer_contact`` under its own purpose in the
same transaction, where the per-number limits are counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.domain import remote
from server.domain.audit import AuditAction, target_of
from server.domain.errors import NotFound
from server.domain.hall import Branch, Service
from server.domain.numbering import service_day
from server.domain.privacy import CONSENT_TO_USE, ContactGiven, Purpose, normalise_phone
from server.domain.tickets import PriorityClass
from server.persistence import tickets
from server.persistence.tables import CustomerContact
from server.services import idempotency
from server.services.access import require_arrival_reader, require_service, require_staff
from server.services.actor import CUSTOMER, Actor
from server.services.context import HallContext
from server.services.queries import people_ahead
from server.services.tickets import TicketService
from server.services.unit_of_work import Transaction
from server.services.views import iso, service_remote, ticket_public

SYSTEM = Actor(username=None, role="system", device="remote_queue")
"""Who expires a remote ticket that did not check in."""
CHECKIN_MISSED_REASON = "not_checked_in"
"""The reason an expired remote ticket's event carries (beside the end of the day's ``day_ended``)."""


class RemoteQueue:
    """Tickets taken on a phone before arriving, for every branch of one configuration."""

    def __init__(self, hall: HallContext, tickets_service: TicketService) -> None:
        self.hall = hall
        self.tickets = tickets_service

    # --- joining --------------------------------------------------------------------------------------------

    def join(self, branch_code: str, service_code: str, *, phone: str, consent: bool, language: str = "zh-CN",
             idempotency_key: str | None = None, device: str | None = None,
             address: str | None = None) -> dict[str, Any]:
        """Take a ticket on the phone for a service that allows it. The number (with consent) is checked against
        ``[limits] remote_per_phone_day`` and one open remote ticket per number in the branch, inside the issue
        transaction; the phone's issue limits (device and address) apply as to any phone."""
        hall = self.hall
        branch = hall.branch(branch_code)
        service = require_service(branch, service_code)
        if not service.remote.enabled:
            raise remote.refusal("remote_not_offered", remote.NOT_REMOTE, field="service")
        given = ContactGiven.with_consent(phone, None, consent, CONSENT_TO_USE)
        request = idempotency.Request.of("remote", idempotency_key, "remote", service.code, given.phone, language)
        limiter = self.tickets.limiter
        caller = limiter.caller(branch, CUSTOMER, address, device)
        refreshed = self.tickets.prepare_issue(branch, service.code, PriorityClass.NORMAL)
        with hall.uow.command(branch, hall.clock()) as tx:
            stored = idempotency.replay(tx, request)
            if stored is not None:
                return stored
            if caller is not None:
                limiter.check(tx.connection, branch, caller, tx.now)
            self._check_phone(tx, given.phone)
            answer = self.tickets.issue_within(tx, service, priority=PriorityClass.NORMAL, channel="remote",
                                               language=language, device=device, actor=CUSTOMER, caller=caller,
                                               refreshed=refreshed, remote=True)
            tx.session.add(CustomerContact(
                branch_code=branch.code, purpose=Purpose.REMOTE_QUEUE.value, phone=given.phone,
                ticket_id=int(answer["id"]), channel="mobile", language=language, consent_at=tx.now,
                purge_after=hall.config.privacy.notification_purge_after(tx.now)))
            tx.session.flush()
            idempotency.remember(tx, request, answer)
            return answer

    def _check_phone(self, tx: Transaction, phone: str) -> None:
        """One open remote ticket per number in the branch, and ``remote_per_phone_day`` a service day."""
        held = tickets.remote_of_phone(tx.connection, tx.branch.code, phone, Purpose.REMOTE_QUEUE.value)
        if any(t.state.in_progress for t in held):
            raise remote.refusal("remote_ticket_open", remote.OPEN_REMOTE_TICKET, field="phone")
        today = sum(1 for t in held if t.service_day == tx.today)
        if today >= self.hall.config.limits.remote_per_phone_day:
            raise remote.refusal("remote_daily_limit", remote.DAILY_REMOTE_LIMIT, field="phone",
                                 limit=self.hall.config.limits.remote_per_phone_day)

    # --- checking in ----------------------------------------------------------------------------------------

    def arrival(self, branch_code: str, actor: Actor) -> dict[str, Any]:
        """The code the wall display shows now (in its QR), and when to fetch the next one."""
        branch = self.hall.branch(branch_code)
        require_arrival_reader(self.hall.config, actor, branch)
        code, changes_at = remote.current_arrival_code(self.hall.config.server.secret_key, branch.code,
                                                       self.hall.clock())
        return {"code": code, "changes_at": iso(changes_at), "offered": bool(branch.remote_services)}

    def check_in_by_code(self, token: str, code: str) -> dict[str, Any]:
        """The phone that holds the ticket scanned the wall's QR: the code proves it is in the hall now."""
        hall = self.hall
        with hall.uow.read() as session:
            branch_code, ticket_id = tickets.locate(session.connection(), token)
        branch = hall.branch(branch_code)
        if not remote.arrival_code_valid(hall.config.server.secret_key, branch.code, code, hall.clock()):
            raise remote.refusal("bad_arrival_code", remote.BAD_ARRIVAL_CODE, http_status=400, field="code")
        return self._check_in(branch, ticket_id, "qr", CUSTOMER)

    def check_in_at_kiosk(self, branch_code: str, *, number: str | None = None, phone: str | None = None,
                          device: str | None = None) -> dict[str, Any]:
        """At the kiosk: by today's ticket number or by the phone number it was taken with."""
        hall = self.hall
        branch = hall.branch(branch_code)
        if (number is None) == (phone is None):
            raise remote.refusal("bad_checkin", remote.GIVE_ONE, http_status=400)
        with hall.uow.read() as session:
            connection = session.connection()
            today = service_day(hall.clock(), branch.timezone)
            waiting = tickets.awaiting(connection, branch.code)
            if phone is not None:
                mine = {t.id for t in tickets.remote_of_phone(connection, branch.code, normalise_phone(phone),
                                                              Purpose.REMOTE_QUEUE.value)}
                found = [t for t in waiting if t.id in mine and t.service_day == today]
            else:
                wanted = number.strip().upper() if number else ""
                found = [t for t in waiting if t.number == wanted and t.service_day == today]
        if not found or found[0].id is None:
            raise NotFound(remote.NO_REMOTE_TICKET.en, code="unknown_remote_ticket",
                           text=remote.NO_REMOTE_TICKET.as_dict())
        return self._check_in(branch, found[0].id, "kiosk", Actor(username=None, role="kiosk", device=device))

    def check_in_by_staff(self, branch_code: str, ticket_id: int, actor: Actor) -> dict[str, Any]:
        """Staff of the branch check a customer in by hand (audited)."""
        branch = self.hall.branch(branch_code)
        require_staff(self.hall.config, actor, branch)
        return self._check_in(branch, ticket_id, "staff", actor)

    def _check_in(self, branch: Branch, ticket_id: int, how: str, actor: Actor) -> dict[str, Any]:
        hall = self.hall
        with hall.uow.command(branch, hall.clock()) as tx:
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            change = ticket.check_in(tx.now, how)
            if change is not None:
                tickets.save(tx.connection, ticket)
                tx.record(ticket, change, actor)
                if actor.username is not None:
                    hall.audit.record_in(tx.connection, actor, AuditAction.CHECKED_IN_FOR_CUSTOMER,
                                         branch=branch.code, target=target_of("ticket", ticket.number),
                                         after={"ticket": ticket.number, "outcome": "remote"})
            return {**ticket_public(ticket, branch), "token": ticket.token, "priority": ticket.priority,
                    "checked_in": True, "already": change is None,
                    "people_ahead": people_ahead(tx.connection, branch, ticket.queued(), hall.rules)}

    # --- held aside and expiry ------------------------------------------------------------------------------

    def expire_due(self, branch_code: str) -> int:
        """Expire the branch's held remote tickets whose check-in time has run out (:meth:`expire_all_due`)."""
        return self.expire_all_due([branch_code])

    def expire_all_due(self, branch_codes: Iterable[str]) -> int:
        """Expire the held remote tickets of these branches whose check-in time has run out, each branch's in its
        own command; the number expired. Cheap when none is: one read of the tickets held aside (a partial index)
        for all the branches at once, since the live loop runs it every second for a whole network."""
        hall = self.hall
        branches = {code: branch for code in branch_codes
                    if (branch := hall.branch(code)).remote_services}  # none take tickets from phones: nothing held
        if not branches:
            return 0
        now = hall.clock()
        due: dict[str, list[int]] = {}
        with hall.uow.read() as session:
            for ticket in tickets.awaiting_anywhere(session.connection()):
                branch = branches.get(ticket.branch_code)
                if branch is not None and ticket.id is not None and remote.hold_expired(
                        ticket.held_since, service_remote(branch, ticket.service_code).allowance, now):
                    due.setdefault(branch.code, []).append(ticket.id)
        return sum(self._expire(branches[code], ids) for code, ids in due.items())

    def _expire(self, branch: Branch, due: list[int]) -> int:
        hall = self.hall
        expired = 0
        with hall.uow.command(branch, hall.clock()) as tx:
            for ticket_id in due:
                ticket = tickets.get(tx.connection, branch.code, ticket_id)
                allowance = service_remote(branch, ticket.service_code).allowance
                if not ticket.awaiting_arrival or not remote.hold_expired(ticket.held_since, allowance, tx.now):
                    continue  # checked in meanwhile
                change = ticket.expire(tx.now, CHECKIN_MISSED_REASON)
                tickets.save(tx.connection, ticket)
                tx.record(ticket, change, SYSTEM)
                expired += 1
        return expired


def remote_services(branch: Branch, service: Service | None = None) -> list[dict[str, Any]]:
    """The services of the branch a customer may join from a phone, for the join page."""
    chosen = [service] if service is not None else list(branch.remote_services)
    return [{"code": s.code, "name": s.name.as_dict(), "prefix": s.prefix, "icon": s.icon, "colour": s.colour,
             "checkin_min": s.remote.checkin_min} for s in chosen]
