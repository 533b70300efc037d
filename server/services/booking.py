"""Online appointments: the branches and services a customer may book, a day's slots with seats left, and booking,
looking up, changing and cancelling one; staff book for a customer and see a day's bookings (docs/appointments.md).

The rules are :mod:`server.domain.booking`; this module loads what they need and writes the result in one command
of the unit of work, so that the branch's lock (SQLite's one writer, PostgreSQL's row lock on the branch's
sequence) serialises the count of a slot's seats with the insert, and a lock on the phone number (PostgreSQL)
serialises one person's bookings across branches. Behind both, the database's unique (service, slot, seat) makes
a double booking impossible even if a lock were missed. The phone number is kept as a ``customer_contact`` with
purpose ``appointment`` under the ``[privacy]`` retention (:mod:`server.services.privacy`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from server.domain.audit import AuditAction
from server.domain.booking import (
    SLOT_FULL,
    BookingFacts,
    BookingRefused,
    BookingState,
    CheckinOutcome,
    HeldBooking,
    Slot,
    bookable_days,
    booking_by_phone,
    change_deadline,
    check_may_change,
    check_near_enough,
    check_new_booking,
    day_slots,
    decide_checkin,
    display_code,
    free_seat,
    is_no_show,
    new_code,
    normalise_code,
)
from server.domain.errors import DomainError, NotFound
from server.domain.hall import Branch, Service
from server.domain.limits import issue_caller
from server.domain.numbering import service_day
from server.domain.privacy import (
    CONSENT_TO_USE,
    ContactGiven,
    Purpose,
    display_phone,
    mask_name,
    mask_phone,
    normalise_phone,
)
from server.domain.tickets import EventKind, PriorityClass, TicketState
from server.domain.values import Text
from server.persistence import bookings as stored
from server.persistence import tickets
from server.persistence.tables import BookingRow, CustomerContact
from server.services.access import require_branch, require_service, require_staff
from server.services.actor import CUSTOMER, Actor, Clock
from server.services.audit import AuditLog
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.limits import AddressLimiter
from server.services.queries import expected_call, people_ahead
from server.services.remote import RemoteQueue
from server.services.tickets import TicketService
from server.services.unit_of_work import UnitOfWork
from server.services.views import iso, ticket_public
from server.settings import HallConfig

NOT_FOUND = Text("没有找到这个预约，请检查预约码和手机号码", "No booking with this code and phone number")
NOT_FOUND_CODE = Text("没有找到这个预约码，请核对后重新输入", "No booking with this code; please check it")
NOT_FOUND_PHONE = Text("这个手机号码今天在本营业厅没有预约", "This phone number has no booking here today")
GIVE_ONE = Text("请输入预约码或手机号码（二选一）", "Give the booking code or the phone number (one of them)")
PHONE_MISSES = Text("在这台取号机上输入的手机号码多次没有找到可签到的预约。请改用预约码签到，或咨询大堂工作人员",
                    "Several phone numbers typed here found no booking to check in: please use your booking code, "
                    "or ask a member of staff")
NOT_CHECKED_IN = Text("这个预约还没有签到", "This booking has not been checked in")
TICKET_MOVED_ON = Text("这个预约的号票已被叫号或正在办理，不能撤销签到，请在窗口处理",
                       "This booking's ticket has already been called or served: its check-in cannot be undone; "
                       "settle it at the counter")
NOT_BOOKABLE = Text("这项业务不接受网上预约", "This service cannot be booked online")
CODE_ATTEMPTS = 5  # fresh codes tried before giving up (a collision is 1 in ~10^11 per booking held)


class BookingService(ReadsHallModel):
    """Booking, look-up, change and cancel for customers; booking for a customer and the day's list for staff."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, audit: AuditLog, clock: Clock, *,
                 changes: AddressLimiter | None = None, lookups: AddressLimiter | None = None,
                 phone_misses: AddressLimiter | None = None, tickets: TicketService | None = None,
                 remote: RemoteQueue | None = None) -> None:
        self.model = model_of(config)
        self.tickets = tickets  # check-in issues through it
        self.remote = remote  # the kiosk's check-in by phone number also finds a ticket taken on that phone
        self.uow = uow
        self.audit = audit
        self.clock = clock
        self.changes = changes or AddressLimiter("booking_changes", None)
        self.lookups = lookups or AddressLimiter("booking_lookups", None)
        self.phone_misses = phone_misses or AddressLimiter("phone_checkin_misses", None)

    # --- reads for the booking page ------------------------------------------------------------------------

    def branches(self, latitude: float | None = None, longitude: float | None = None) -> list[dict[str, Any]]:
        """The branches with a bookable service: nearest first when a place is given (those without coordinates
        last), else by district and name."""
        found = []
        for branch in self.config.branches:
            if not branch.bookable_services:
                continue
            place = branch.location
            distance = None if latitude is None or longitude is None else place.distance_km(latitude, longitude)
            found.append({"code": branch.code, "name": branch.name.as_dict(),
                          "district": None if place.district is None else place.district.as_dict(),
                          "address": None if place.address is None else place.address.as_dict(),
                          "distance_km": None if distance is None else round(distance, 2)})
        if latitude is not None and longitude is not None:
            found.sort(key=lambda b: (b["distance_km"] is None, b["distance_km"] or 0.0))
        else:
            found.sort(key=lambda b: ((b["district"] or {}).get("en", "~"), b["name"]["en"]))
        return found

    def services(self, branch_code: str) -> dict[str, Any]:
        """The branch's bookable services and the days a customer may book."""
        branch = require_branch(self.config, branch_code)
        today = service_day(self.clock(), branch.timezone)
        return {"branch": branch.code, "branch_name": branch.name.as_dict(), "timezone": branch.timezone.key,
                "days": [d.isoformat() for d in bookable_days(today, branch.booking)],
                "change_cutoff_min": branch.booking.change_cutoff_min,
                "services": [{"code": s.code, "name": s.name.as_dict(), "icon": s.icon, "colour": s.colour,
                              "slot_min": s.booking.slot_min} for s in branch.bookable_services]}

    def slots(self, branch_code: str, service_code: str, day: date) -> dict[str, Any]:
        """The service's slots on ``day`` with the seats left in each (a past slot is shown, not offered)."""
        branch, service = self._bookable(branch_code, service_code)
        now = self.clock()
        today = service_day(now, branch.timezone)
        slots = day_slots(branch.schedule, service.code, day, service.booking, branch.booking_seats(service)) \
            if today <= day <= today + timedelta(days=branch.booking.horizon_days) else []
        with self.uow.read() as session:
            taken = stored.taken_per_slot(session, branch.code, service.code, day)
        return {"branch": branch.code, "service": service.code, "day": day.isoformat(),
                "closed_for": _closed_for(branch, service, day),
                "slots": [{"start": iso(s.start), "end": iso(s.end), "time": s.local.strftime("%H:%M"),
                           "seats": s.seats, "left": max(0, s.seats - taken[s.start]) if s.start > now else 0}
                          for s in slots]}

    def booked_between(self, branch_code: str, start: datetime, minutes: int) -> list[dict[str, Any]]:
        """The booked slots of the branch starting within ``minutes`` of ``start``: what the wait estimator asks."""
        branch = require_branch(self.config, branch_code)
        with self.uow.read() as session:
            rows = stored.booked_between(session, branch.code, start, start + timedelta(minutes=minutes))
        return [{"service": service, "start": iso(at), "bookings": count} for service, at, count in rows]

    # --- a customer's commands ---------------------------------------------------------------------------

    def book(self, branch_code: str, service_code: str, start: datetime, *, phone: str, name: str | None,
             consent: bool, language: str, actor: Actor, address: str | None = None) -> dict[str, Any]:
        """Book a seat in the slot starting at ``start``: the customer themselves (rate-limited per address), or
        staff of the branch for a customer (audited). Answers the booking with its code, phone number in full
        for the customer who just typed it."""
        branch, service = self._bookable(branch_code, service_code)
        for_customer = actor.username is not None
        if for_customer:
            require_staff(self.config, actor, branch)
        else:
            self.changes.admit(address)
        given = ContactGiven.with_consent(phone, name, consent, CONSENT_TO_USE)
        now = self.clock()
        with self._command(branch, now) as tx:
            stored.lock_phone(tx.connection, given.phone)
            slot, day = self._slot(branch, service, start)
            check_new_booking(branch.booking, branch_code=branch.code, slot=slot, day=day,
                              today=tx.today, now=now, held=self._held(tx.session, branch, given.phone, now),
                              taken=len(stored.seats_taken(tx.session, branch.code, service.code, start)))
            assert slot is not None
            seat = self._seat(tx.session, branch, service, slot)
            row = BookingRow(code=self._fresh_code(tx.session), branch_code=branch.code, service_code=service.code,
                             slot_start=slot.start, slot_end=slot.end, service_day=day, seat=seat,
                             state=BookingState.BOOKED.value, language=language,
                             channel="staff" if for_customer else "online",
                             booked_by=actor.username, created_at=now)
            tx.session.add(row)
            tx.session.flush()
            retention = self.config.privacy
            contact = CustomerContact(branch_code=branch.code, purpose=Purpose.APPOINTMENT.value, phone=given.phone,
                                      name=given.name, booking_id=row.id,
                                      channel="staff" if for_customer else "booking",
                                      consent_at=now, purge_after=retention.contact_purge_after(now, slot.end))
            tx.session.add(contact)
            tx.session.flush()
            if for_customer:
                self.audit.record_in(tx.connection, actor, AuditAction.BOOKED_FOR_CUSTOMER, branch=branch.code,
                                     target=f"booking {display_code(row.code)}",
                                     after={"service": service.code, "slot": iso(slot.start),
                                            "phone": mask_phone(given.phone)})
            _emit(tx, EventKind.BOOKING_MADE, row, actor)
            return self._view(branch, row, contact, whole=True)

    def lookup(self, code: str, phone: str, *, address: str | None = None) -> dict[str, Any]:
        """The booking with this code, for the customer who gives its phone number (both, or 404 alike)."""
        self.lookups.admit(address)
        wanted, number = normalise_code(code), normalise_phone(phone)
        with self.uow.read() as session:
            found = stored.by_code(session, wanted)
            branch, row, contact = self._owned(found, number)
            ticket = None if row.ticket_id is None else tickets.get(session.connection(), branch.code, row.ticket_id)
        view = self._view(branch, row, contact, whole=True)
        if ticket is not None:  # its customer sees that it was checked in, when and with which ticket
            view["checked_in_at"] = iso(ticket.issued_at)
            view["checked_in_time"] = ticket.issued_at.astimezone(branch.timezone).strftime("%H:%M")
            view["ticket_number"] = ticket.number
        return view

    def change(self, code: str, phone: str, start: datetime, *, address: str | None = None) -> dict[str, Any]:
        """Move the booking to another slot of its service (up to the cut-off before its present slot)."""
        self.changes.admit(address)
        self.lookups.admit(address)
        wanted, number = normalise_code(code), normalise_phone(phone)
        now = self.clock()
        branch, row, _ = self._find(wanted, number)
        service = require_service(branch, row.service_code)
        with self._command(branch, now) as tx:
            stored.lock_phone(tx.connection, number)
            branch, row, contact = self._owned(stored.by_code(tx.session, wanted), number)
            check_may_change(branch.booking, BookingState(row.state), row.slot_start, now)
            slot, day = self._slot(branch, service, start)
            check_new_booking(branch.booking, branch_code=branch.code, slot=slot, day=day, today=tx.today, now=now,
                              held=self._held(tx.session, branch, number, now), replacing=row.code,
                              taken=len(stored.seats_taken(tx.session, branch.code, service.code, start)))
            assert slot is not None
            row.seat = None  # free the old seat first: the new one may be in the same slot's list
            tx.session.flush()
            row.seat = self._seat(tx.session, branch, service, slot)
            row.slot_start, row.slot_end, row.service_day = slot.start, slot.end, day
            row.changed_at, row.version = now, row.version + 1
            if contact is not None:
                contact.purge_after = self.config.privacy.contact_purge_after(contact.consent_at, slot.end)
            tx.session.flush()
            _emit(tx, EventKind.BOOKING_CHANGED, row, CUSTOMER)
            return self._view(branch, row, contact, whole=True)

    def cancel(self, code: str, phone: str, *, address: str | None = None) -> dict[str, Any]:
        """Cancel the booking (up to the cut-off): its seat is free at once; the number is kept only as long as
        a resolved contact is (``contact_days_after_resolved``)."""
        self.changes.admit(address)
        self.lookups.admit(address)
        wanted, number = normalise_code(code), normalise_phone(phone)
        now = self.clock()
        branch, _, _ = self._find(wanted, number)
        with self._command(branch, now) as tx:
            branch, row, contact = self._owned(stored.by_code(tx.session, wanted), number)
            check_may_change(branch.booking, BookingState(row.state), row.slot_start, now)
            row.state, row.seat, row.cancelled_at = BookingState.CANCELLED.value, None, now
            row.version += 1
            if contact is not None:
                contact.purge_after = min(contact.purge_after,
                                          self.config.privacy.contact_purge_after(contact.consent_at, now))
            tx.session.flush()
            _emit(tx, EventKind.BOOKING_CANCELLED, row, CUSTOMER)
            return self._view(branch, row, contact, whole=True)

    # --- check-in ----------------------------------------------------------------------------------------

    def check_in(self, branch_code: str, *, code: str | None = None, phone: str | None = None,
                 language: str = "zh-CN", device: str | None = None, actor: Actor = CUSTOMER,
                 address: str | None = None) -> dict[str, Any]:
        """Check a booking in at the branch, found by its code (typed or scanned from its QR) or by the phone
        number it was booked with (today's booking here): the rule (:func:`decide_checkin`) says whether it
        becomes an appointment ticket (held until its slot starts when early), a walk-in ticket (late past the
        grace period, where the branch says so) or a refusal. The ticket is issued through the normal issue path
        (its events, receipt and phone page) and linked to the booking in the same transaction; a second check-in
        answers the same ticket. Staff of the branch checking a customer in by hand are audited. A caller not at
        a kiosk is held to the look-up limit too (a code is a secret; the kiosk's own limits are the issue's)."""
        if self.tickets is None:
            raise RuntimeError("check-in needs the ticket service")
        branch = require_branch(self.config, branch_code)
        by_staff = actor.username is not None
        if by_staff:
            require_staff(self.config, actor, branch)
        if (code is None) == (phone is None):
            raise DomainError(GIVE_ONE.en, code="bad_checkin", http_status=400, text=GIVE_ONE.as_dict())
        wanted = None if code is None else normalise_code(code)
        number = None if phone is None else normalise_phone(phone)
        caller = self.tickets.limiter.caller(branch, actor, address, device)
        if caller is not None and not caller.is_kiosk:
            self.lookups.admit(address)
        now = self.clock()
        today = service_day(now, branch.timezone)
        misses = None if by_staff or number is None else self._miss_key(branch, address, device)
        self.phone_misses.refuse_if_spent(misses, PHONE_MISSES)
        try:
            with self.uow.read() as session:
                found = self._checkin_booking(session, branch, wanted, number, today, now)
        except NotFound:
            if number is not None and not by_staff and self.remote is not None:
                try:  # no booking of this number today: perhaps a ticket taken on this phone before arriving
                    return self._remote_check_in(branch, number, device)
                except DomainError:
                    self.phone_misses.spend(misses)
                    raise
            self.phone_misses.spend(misses)
            raise
        except DomainError:
            self.phone_misses.spend(misses)  # a number that named no single open booking here today
            raise
        service = branch.service(found.service_code)
        if service is None:
            raise NotFound(NOT_FOUND.en, code="unknown_booking", text=NOT_FOUND.as_dict())
        refreshed = self.tickets.prepare_issue(branch, service.code, PriorityClass.APPOINTMENT)
        with self.uow.command(branch, now) as tx:
            row = tx.session.get(BookingRow, found.id)
            assert row is not None
            decision = decide_checkin(branch.booking, _facts(row), branch_code=branch.code, today=tx.today,
                                      now=tx.now, local_time=lambda at: at.astimezone(branch.timezone)
                                      .strftime("%H:%M"))
            held = decision.not_before
            if decision.outcome is CheckinOutcome.ALREADY:
                assert row.ticket_id is not None
                ticket = tickets.get(tx.connection, branch.code, row.ticket_id)
                held = ticket.not_before if ticket.not_before is not None and ticket.not_before > tx.now else None
                hall = self.tickets.hall
                live = hall.estimates.ticket_live(branch.code, row.ticket_id) if hall.estimates else None
                until = expected_call(tx.now, live["estimate"] if live else None)
                answer = {**ticket_public(ticket, branch), "token": ticket.token, "priority": ticket.priority,
                          "people_ahead": people_ahead(tx.connection, branch, ticket.queued(), hall.rules, tx.now,
                                                       until)}
            else:
                priority = (PriorityClass.APPOINTMENT if decision.outcome is CheckinOutcome.APPOINTMENT
                            else PriorityClass.NORMAL)
                answer = self.tickets.issue_within(
                    tx, service, priority=priority, channel="appointment", language=language, device=device,
                    actor=actor, caller=caller, refreshed=refreshed, not_before=decision.not_before)
                row.ticket_id, row.version = int(answer["id"]), row.version + 1
                tx.session.add(row)
                tx.session.flush()
                if by_staff:
                    self.audit.record_in(tx.connection, actor, AuditAction.CHECKED_IN_FOR_CUSTOMER,
                                         branch=branch.code, target=f"booking {display_code(row.code)}",
                                         after={"ticket": answer["number"], "outcome": decision.outcome.value})
                _emit(tx, EventKind.BOOKING_CHECKED_IN, row, actor, device,
                      ticket=answer["number"], outcome=decision.outcome.value)
            local = branch.timezone
            return {"outcome": decision.outcome.value, "late": decision.late, "booking": display_code(row.code),
                    "service": row.service_code, "slot": iso(row.slot_start),
                    "slot_time": row.slot_start.astimezone(local).strftime("%H:%M"),
                    "callable_from": iso(held), "callable_from_time": None if held is None
                    else held.astimezone(local).strftime("%H:%M"),
                    "ticket": answer}

    def undo_checkin(self, branch_code: str, code: str, actor: Actor) -> dict[str, Any]:
        """Staff of the branch take a check-in back (someone checked the booking in who was not its customer): its
        ticket, still waiting, is cancelled, and the booking is booked again, for its customer to check in. A
        ticket already called or served stays (409 ``ticket_moved_on``: settle it at the counter). Audited."""
        branch = require_branch(self.config, branch_code)
        require_staff(self.config, actor, branch)
        wanted = normalise_code(code)
        with self.uow.command(branch, self.clock()) as tx:
            found = stored.by_code(tx.session, wanted)
            if found is None or found[0].branch_code != branch.code:
                raise NotFound(NOT_FOUND_CODE.en, code="unknown_booking", text=NOT_FOUND_CODE.as_dict())
            row, contact = found
            if row.ticket_id is None:
                raise DomainError(NOT_CHECKED_IN.en, code="not_checked_in", http_status=409,
                                  text=NOT_CHECKED_IN.as_dict())
            ticket = tickets.get(tx.connection, branch.code, row.ticket_id)
            if ticket.state is not TicketState.WAITING:
                raise DomainError(TICKET_MOVED_ON.en, code="ticket_moved_on", http_status=409,
                                  text=TICKET_MOVED_ON.as_dict(), ticket=ticket.number)
            change = ticket.cancel(tx.now)
            tickets.save(tx.connection, ticket)
            tx.record(ticket, change, actor)
            row.ticket_id, row.version = None, row.version + 1
            tx.session.add(row)
            tx.session.flush()
            self.audit.record_in(tx.connection, actor, AuditAction.CHECKIN_UNDONE, branch=branch.code,
                                 target=f"booking {display_code(row.code)}", before={"ticket": ticket.number},
                                 after={"ticket": None, "ticket_state": ticket.state.value})
            _emit(tx, EventKind.BOOKING_CHANGED, row, actor, outcome="checkin_undone")
            return self._view(branch, row, contact, whole=False)
    def _remote_check_in(self, branch: Branch, phone: str, device: str | None) -> dict[str, Any]:
        """No booking of this number here today: a ticket taken on this phone before arriving, checked in (the
        booking's refusal stands when there is none)."""
        assert self.remote is not None
        try:
            ticket = self.remote.check_in_at_kiosk(branch.code, phone=phone, device=device)
        except NotFound:
            raise NotFound(NOT_FOUND_PHONE.en, code="unknown_booking", text=NOT_FOUND_PHONE.as_dict(),
                           field="phone") from None
        return {"outcome": "remote", "late": False, "booking": None, "service": ticket["service"], "slot": None,
                "slot_time": None, "callable_from": None, "callable_from_time": None, "ticket": ticket}

    def _checkin_booking(self, session: Any, branch: Branch, code: str | None, phone: str | None, today: date,
                         now: datetime) -> BookingRow:
        """The booking a check-in names: by code (any branch and day, so that the rule can say which), or the
        phone's booking here today nearest to now (one not yet checked in first)."""
        if code is not None:
            found = stored.by_code(session, code)
            if found is None:
                raise NotFound(NOT_FOUND_CODE.en, code="unknown_booking", text=NOT_FOUND_CODE.as_dict(),
                               field="code")
            return found[0]
        assert phone is not None
        rows = stored.of_phone_on(session, branch.code, phone, today)
        if not rows:
            raise NotFound(NOT_FOUND_PHONE.en, code="unknown_booking", text=NOT_FOUND_PHONE.as_dict(),
                           field="phone")
        return booking_by_phone(rows, lambda row: row.ticket_id is not None)

    def _miss_key(self, branch: Branch, address: str | None, device: str | None) -> str | None:
        """What the phone check-in misses are counted by: the kiosk (its device id, where a kiosk may be), else the
        client address (a phone on the hall Wi-Fi); None from inside the server."""
        if address is None:
            return None
        assert self.tickets is not None
        caller = issue_caller(self.tickets.limiter.limits, address, device, {k.id for k in branch.kiosks})
        return f"kiosk:{branch.code}:{device}" if caller.is_kiosk else caller.address

    # --- staff -------------------------------------------------------------------------------------------

    def day(self, branch_code: str, day: date, actor: Actor) -> dict[str, Any]:
        """The branch's bookings on ``day`` for its staff: numbers and names masked, per slot."""
        branch = require_branch(self.config, branch_code)
        require_staff(self.config, actor, branch)
        with self.uow.read() as session:
            rows = stored.of_day(session, branch.code, day)
        now = self.clock()
        return {"branch": branch.code, "day": day.isoformat(),
                "services": [{"code": s.code, "name": s.name.as_dict(), "seats": branch.booking_seats(s)}
                             for s in branch.bookable_services],
                "no_shows": sum(1 for row, _ in rows if is_no_show(branch.booking, _facts(row), now)),
                "bookings": [self._view(branch, row, contact, whole=False) for row, contact in rows]}

    def no_shows(self, branch_code: str, first: date, last: date) -> int:
        """Bookings of the branch on local dates ``first`` to ``last`` never checked in by the end of their slot
        plus the grace period (:func:`is_no_show`): the report's count."""
        branch = require_branch(self.config, branch_code)
        now = self.clock()
        with self.uow.read() as session:
            rows = stored.between_days(session, branch.code, first, last)
        return sum(1 for row in rows if is_no_show(branch.booking, _facts(row), now))

    # --- helpers -----------------------------------------------------------------------------------------

    def _command(self, branch: Branch, now: datetime) -> Any:
        return _Booking(self.uow, branch, now)

    def _bookable(self, branch_code: str, service_code: str) -> tuple[Branch, Service]:
        branch = require_branch(self.config, branch_code)
        service = require_service(branch, service_code)
        if service not in branch.bookable_services:
            raise DomainError(NOT_BOOKABLE.en, code="not_bookable", http_status=409, text=NOT_BOOKABLE.as_dict(),
                              field="service")
        return branch, service

    def _slot(self, branch: Branch, service: Service, start: datetime) -> tuple[Slot | None, date]:
        check_near_enough(branch.booking, start, self.clock())
        day = service_day(start, branch.timezone)
        slots = day_slots(branch.schedule, service.code, day, service.booking, branch.booking_seats(service))
        return next((s for s in slots if s.start == start), None), day

    def _held(self, session: Any, branch: Branch, phone: str, now: datetime) -> list[HeldBooking]:
        # a week's limit looks back to the Monday of this week at most; overlaps only at slots still to come
        rows = stored.held_by_phone(session, phone, now - timedelta(days=7))
        return [HeldBooking(r.code, r.branch_code, r.slot_start, r.slot_end, r.service_day) for r in rows]

    def _seat(self, session: Any, branch: Branch, service: Service, slot: Slot) -> int:
        seat = free_seat(slot.seats, stored.seats_taken(session, branch.code, service.code, slot.start))
        if seat is None:
            raise BookingRefused("slot_full", SLOT_FULL, "start")
        return seat

    def _fresh_code(self, session: Any) -> str:
        for _ in range(CODE_ATTEMPTS):
            code = new_code()
            if not stored.code_exists(session, code):
                return code
        raise DomainError("no free booking code found; try again", code="try_again", http_status=503)

    def _find(self, code: str, phone: str) -> tuple[Branch, BookingRow, CustomerContact | None]:
        with self.uow.read() as session:
            return self._owned(stored.by_code(session, code), phone)

    def _owned(self, found: tuple[BookingRow, CustomerContact | None] | None,
               phone: str) -> tuple[Branch, BookingRow, CustomerContact | None]:
        """The booking, when the phone number is the one it was booked with; one 404 for a wrong code and a wrong
        number alike, so that a look-up tells a stranger nothing."""
        if found is None or found[1] is None or found[1].phone != phone:
            raise NotFound(NOT_FOUND.en, code="unknown_booking", text=NOT_FOUND.as_dict())
        row, contact = found
        branch = self.config.branch(row.branch_code)
        if branch is None:
            raise NotFound(NOT_FOUND.en, code="unknown_booking", text=NOT_FOUND.as_dict())
        return branch, row, contact

    def _view(self, branch: Branch, row: BookingRow, contact: CustomerContact | None, *, whole: bool) -> dict[str, Any]:
        """A booking as its customer (``whole``: their own number) or staff (masked) see it."""
        service = branch.service(row.service_code)
        local = row.slot_start.astimezone(branch.timezone)
        phone = None if contact is None else (display_phone(contact.phone) if whole else mask_phone(contact.phone))
        name = None if contact is None else (contact.name if whole else mask_name(contact.name))
        deadline = change_deadline(branch.booking, row.slot_start)
        return {"code": row.code, "code_display": display_code(row.code), "branch": branch.code,
                "branch_name": branch.name.as_dict(), "service": row.service_code,
                "service_name": None if service is None else service.name.as_dict(),
                "start": iso(row.slot_start), "end": iso(row.slot_end), "day": row.service_day.isoformat(),
                "time": local.strftime("%H:%M"), "state": row.state, "channel": row.channel,
                "booked_by": row.booked_by if not whole else None, "phone": phone, "name": name,
                "change_until": iso(deadline),
                "may_change": row.state == BookingState.BOOKED.value and self.clock() <= deadline,
                "checked_in": row.ticket_id is not None,
                "no_show": is_no_show(branch.booking, _facts(row), self.clock())}


def _emit(tx: Any, kind: EventKind, row: BookingRow, actor: Actor, device: str | None = None, **more: Any) -> None:
    """The booking's event in the branch's log, in the command's transaction: the outbox the webhooks are derived
    from. It holds the booking's code, service, slot and state (never the phone number or the name); the hall's
    screens get only its kind and seq (their sequence stays gapless), the staff room the code and slot too."""
    data = {"code": display_code(row.code), "service": row.service_code, "slot": iso(row.slot_start),
            "state": row.state, **more}
    tx.emit(kind, staff=actor.username, device=device or actor.device, data=data,
            private={"booking": data["code"], "service": row.service_code, "slot": data["slot"]})


def _facts(row: BookingRow) -> BookingFacts:
    return BookingFacts(row.branch_code, BookingState(row.state), row.service_day, row.slot_start, row.slot_end,
                        row.ticket_id is not None)


def _closed_for(branch: Branch, service: Service, day: date) -> dict[str, str] | None:
    exception = branch.schedule.exception_on(day, service.code)
    if exception is None or exception.name is None or not branch.schedule.hours_on(day, service.code).closed:
        return None
    return exception.name.as_dict()


class _Booking:
    """One booking command: the unit of work's command on the branch, with a unique-constraint violation (two
    bookings of one seat, should the locks ever let both through) answered as the slot being full."""

    def __init__(self, uow: UnitOfWork, branch: Branch, now: datetime) -> None:
        self._context = uow.command(branch, now)

    def __enter__(self) -> Any:
        tx = self._context.__enter__()
        tx.plans_changed = True  # a booked seat is future demand the live estimator counts
        return tx

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        try:
            return bool(self._context.__exit__(kind, exc, tb))
        except IntegrityError as problem:
            raise BookingRefused("slot_full", SLOT_FULL, "start") from problem
