"""The notifier: SMS to customers who opted in, and signed webhooks to integrations (docs/notifications.md).

Where deliveries come from. The event log is already a transactional outbox: every command appends its event rows
in its own transaction. The notifier reads each branch's log after a persisted cursor
(``notification_cursor``) and, in ONE transaction, writes the deliveries those events cause and moves the cursor.
So a queue command does no notification work at all (nothing can block it or make it fail), only committed events
are ever delivered, and a crash between a command's commit and the notifier's next pass loses nothing: the events
are still after the cursor. Writing deliveries inside each command instead would put webhook and contact reads on
every command's hot path (and its lock on the branch) for the same guarantee. Deriving twice (two processes, or a
crash after the insert) is harmless: each delivery has a unique ``dedupe`` key.

"N ahead" is not an event: the live side computes people ahead at each refresh, so the notifier looks at the
opted-in waiting tickets (a few) on each pass and adds the milestone the domain says is due
(:func:`server.domain.notifications.due_on_position`); the outbox itself remembers which were spent.

Sending. :class:`NotifierLoop` runs as a green thread, like the live loop: each pass derives, then leases due
deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several processes never send one row twice), sends each
with a bounded timeout, and records every attempt (ok, status code, error, duration); a failure is retried on the
domain's schedule and given up after the last attempt.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from server.domain.audit import AuditAction, target_of
from server.domain.errors import DomainError, NotFound
from server.domain.hall import Branch
from server.domain.notifications import (
    BOOKING_EVENTS,
    BOOKING_FIELDS,
    CALLED,
    SIGNATURE_HEADER,
    WEBHOOK_EVENT_OF,
    Message,
    NotificationSettings,
    WebhookEvent,
    bad,
    check_events,
    check_url,
    due_on_call,
    due_on_position,
    forbidden_address,
    next_attempt,
    render,
    signature,
)
from server.domain.privacy import ContactGiven, Purpose, mask_phone
from server.domain.tickets import EventKind, TicketState
from server.domain.values import Text
from server.persistence import notifications as records
from server.persistence import tickets as ticket_records
from server.persistence.tables import CustomerContact
from server.services.access import managed_branches
from server.services.actor import Actor, Clock, utc_now
from server.services.audit import AuditLog
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.unit_of_work import UnitOfWork
from server.services.views import iso
from server.settings import HallConfig

log = logging.getLogger(__name__)

EVENTS_PER_PASS = 500
SENDS_PER_PASS = 20
LOG_LENGTH = 30
KEEP_LOG = timedelta(days=30)
MAX_NAME = 40
SMS_CONSENT_REQUIRED = Text("请勾选同意营业厅用此号码发送排队提醒",
                            "Tick the box to agree that the hall texts this number about your ticket")
NAME_LENGTH = Text(f"名称须为 1 到 {MAX_NAME} 个字", f"A name of 1 to {MAX_NAME} characters")
LANGUAGES = ("zh-CN", "en")
OPEN_STATES = frozenset({TicketState.WAITING.value, TicketState.CALLED.value, TicketState.PARKED.value})


class DeliveryFailed(Exception):
    """An attempt that did not get a 2xx answer: ``status`` when the receiver answered, else None."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Transport(Protocol):
    """Posts one request; returns the 2xx status, or raises :class:`DeliveryFailed`."""

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could lead a webhook to an address its URL was refused for


class HttpTransport:
    """``urllib`` (green under eventlet), following no redirect; ``check_host`` refuses an address before
    connecting (a webhook's host name is resolved again at each delivery)."""

    def __init__(self, check_host: Callable[[str], None] | None = None) -> None:
        self.opener = urllib.request.build_opener(_NoRedirects)
        self.check_host = check_host

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        if self.check_host is not None:
            self.check_host(url)
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with self.opener.open(request, timeout=timeout_s) as answer:
                answer.read(4096)
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"answered {exc.code}", exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(str(reason)[:280] or type(exc).__name__) from None


def resolving_check(allow_loopback: bool,
                    resolve: Callable[..., list[Any]] = socket.getaddrinfo) -> Callable[[str], None]:
    """Refuse a URL whose host resolves to an address a webhook may not reach (checked at each delivery, since
    a name's addresses may change after the webhook was made)."""

    def check(url: str) -> None:
        host = urlsplit(url).hostname or ""
        try:
            found = resolve(host, None)
        except OSError as exc:
            raise DeliveryFailed(f"cannot resolve {host}: {exc}") from None
        for info in found:
            problem = forbidden_address(str(info[4][0]), allow_loopback=allow_loopback)
            if problem is not None:
                raise DeliveryFailed(f"refused: {problem}")

    return check


class NotificationService(ReadsHallModel):
    """Opt-in and stop for the phone page, webhooks for managers, and the notifier's passes (derive, send)."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock = utc_now, *,
                 people_ahead: Callable[[str, int], int | None] | None = None, audit: AuditLog | None = None,
                 transport: Transport | None = None, sms_transport: Transport | None = None,
                 jitter: Callable[[], float] = random.random, worker: str | None = None) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock
        self.audit = audit or AuditLog(self.model, uow, clock)
        self.people_ahead = people_ahead or (lambda branch, ticket: None)
        allow = self.settings.webhook_allow_loopback
        self.transport = transport or HttpTransport(resolving_check(allow))
        self.sms_transport = sms_transport or HttpTransport()  # the gateway is the deployment's own choice
        self.jitter = jitter
        self.worker = worker or f"{socket.gethostname()}:{id(self)}"

    @property
    def settings(self) -> NotificationSettings:
        return self.config.notifications

    # --- the phone page ---------------------------------------------------------------------------------------

    def sms_state(self, token: str) -> dict[str, Any]:
        """Whether SMS is offered, and the ticket's subscription (its number masked)."""
        with self.uow.read() as session:
            ticket = ticket_records.by_token(session.connection(), token)
            contact = records.contact_of_ticket(session.connection(), ticket.id)
        return self._state(ticket.state.value, contact)

    def opt_in(self, token: str, phone: str, consent: bool, language: str) -> dict[str, Any]:
        """Messages to ``phone`` for this ticket, in ``language``: 409 ``sms_off`` without a gateway, 409
        ``ticket_closed`` once the ticket is over; a second opt-in replaces the number."""
        if not self.settings.sms:
            raise DomainError("this hall sends no text messages", code="sms_off")
        if language not in LANGUAGES:
            raise DomainError(f"language must be one of {', '.join(LANGUAGES)}", code="bad_language",
                              http_status=422, field="language")
        if consent is not True:  # checked before the number is read, as for a call-back; the words are this use's
            raise DomainError(SMS_CONSENT_REQUIRED.en, code="consent_required", http_status=400,
                              text=SMS_CONSENT_REQUIRED.as_dict(), field="consent")
        given = ContactGiven.with_consent(phone, None, True)
        now = self.clock()
        with self.uow.write() as session:
            connection = session.connection()
            ticket = ticket_records.by_token(connection, token)
            if ticket.state.value not in OPEN_STATES:
                raise DomainError("this ticket is over: no more messages", code="ticket_closed")
            records.remove_ticket_contacts(connection, ticket.id)
            contact = CustomerContact(branch_code=ticket.branch_code, purpose=Purpose.NOTIFICATION.value,
                                      phone=given.phone, ticket_id=ticket.id, channel="mobile", language=language,
                                      consent_at=now, purge_after=self.config.privacy.notification_purge_after(now))
            session.add(contact)
            session.flush()
            stored = records.contact_of_ticket(connection, ticket.id)
        return self._state(ticket.state.value, stored)

    def stop(self, token: str) -> dict[str, Any]:
        """Stop messages: the number is removed at once and nothing pending is sent."""
        with self.uow.write() as session:
            connection = session.connection()
            ticket = ticket_records.by_token(connection, token)
            records.remove_ticket_contacts(connection, ticket.id)
            records.cancel_for_ticket(connection, ticket.id, self.clock())
        return self._state(ticket.state.value, None)

    def _state(self, ticket_state: str, contact: Any) -> dict[str, Any]:
        return {"available": self.settings.sms, "open": ticket_state in OPEN_STATES,
                "subscribed": contact is not None,
                "phone": mask_phone(contact.phone) if contact is not None else None,
                "language": contact.language if contact is not None else None,
                "purge_after": iso(contact.purge_after) if contact is not None else None}

    # --- managers: webhooks -----------------------------------------------------------------------------------

    def webhooks(self, branch_code: str, actor: Actor) -> dict[str, Any]:
        branch, managed = managed_branches(self.config, actor, branch_code)
        with self.uow.read() as session:
            found = [w for w in records.webhooks(session.connection()) if _reaches(w, branch.code)]
        return {"branch": branch.code, "events": [e.value for e in WebhookEvent if e is not WebhookEvent.TEST],
                "webhooks": [self._view(w, managed) for w in found]}

    def create_webhook(self, branch_code: str, actor: Actor, *, name: str, url: str, events: list[str],
                       branches: list[str] | None) -> tuple[dict[str, Any], str]:
        """A new webhook and its signing secret, which is shown this once."""
        from server.domain.api_tokens import check_branches  # the same rule as a token's branches

        branch, managed = managed_branches(self.config, actor, branch_code)
        name = name.strip()
        if not 1 <= len(name) <= MAX_NAME:
            raise bad("bad_name", "name", NAME_LENGTH)
        url = check_url(url, allow_loopback=self.settings.webhook_allow_loopback)
        chosen = check_branches(branches if branches is not None else [branch.code], managed,
                                [b.code for b in self.config.branches])
        if chosen is not None and branch.code not in chosen:
            raise DomainError(f"a webhook made on branch {branch.code}'s page is for that branch (and maybe others)",
                              code="bad_branches", http_status=422, field="branches")
        secret = "whsec_" + secrets.token_urlsafe(32)
        values = {"name": name, "url": url, "secret": secret, "shown": secret[:10], "events": check_events(events),
                  "branches": chosen, "enabled": True, "created_at": self.clock(), "created_by": actor.username}
        with self.uow.write() as session:
            webhook_id = records.add_webhook(session.connection(), values)
            self.audit.record_in(session.connection(), actor, AuditAction.WEBHOOK_CHANGED, branch=branch.code,
                                 target=target_of("webhook", name),
                                 after={"created": True, "url": url, "events": list(values["events"])})
            made = records.webhook(session.connection(), webhook_id)
        assert made is not None
        return self._view(made, managed), secret

    def set_enabled(self, branch_code: str, webhook_id: int, actor: Actor, enabled: bool) -> dict[str, Any]:
        branch, managed = managed_branches(self.config, actor, branch_code)
        with self.uow.write() as session:
            found = self._managed_webhook(session.connection(), branch, webhook_id, managed)
            records.set_enabled(session.connection(), webhook_id, enabled)
            self.audit.record_in(session.connection(), actor, AuditAction.WEBHOOK_CHANGED, branch=branch.code,
                                 target=target_of("webhook", found["name"]), before={"enabled": found["enabled"]},
                                 after={"enabled": enabled})
            changed = records.webhook(session.connection(), webhook_id)
        return self._view(changed, managed)

    def delete_webhook(self, branch_code: str, webhook_id: int, actor: Actor) -> None:
        branch, managed = managed_branches(self.config, actor, branch_code)
        with self.uow.write() as session:
            found = self._managed_webhook(session.connection(), branch, webhook_id, managed)
            records.delete_webhook(session.connection(), webhook_id)
            self.audit.record_in(session.connection(), actor, AuditAction.WEBHOOK_CHANGED, branch=branch.code,
                                 target=target_of("webhook", found["name"]), before={"url": found["url"]},
                                 after={"deleted": True})

    def send_test(self, branch_code: str, webhook_id: int, actor: Actor) -> dict[str, Any]:
        """Queue a ``webhook.test`` event for this webhook (sent by the next pass, retried like any other)."""
        branch, managed = managed_branches(self.config, actor, branch_code)
        now = self.clock()
        with self.uow.write() as session:
            found = self._managed_webhook(session.connection(), branch, webhook_id, managed)
            dedupe = f"test:{webhook_id}:{now.timestamp():.6f}"
            body = {"id": dedupe, "event": WebhookEvent.TEST.value, "branch": branch.code, "at": iso(now),
                    "data": {"by": actor.username}}
            records.add_delivery(session.connection(), self._delivery(
                branch.code, "webhook", dedupe, WebhookEvent.TEST.value, json.dumps(body, ensure_ascii=False), now,
                webhook_id=webhook_id))
            self.audit.record_in(session.connection(), actor, AuditAction.WEBHOOK_CHANGED, branch=branch.code,
                                 target=target_of("webhook", found["name"]), after={"test_sent": True})
        return {"queued": True, "id": dedupe}

    def delivery_log(self, branch_code: str, webhook_id: int, actor: Actor) -> dict[str, Any]:
        """The webhook's latest deliveries, each with its attempts and the last answer."""
        branch, managed = managed_branches(self.config, actor, branch_code)
        with self.uow.read() as session:
            self._managed_webhook(session.connection(), branch, webhook_id, managed, read_only=True)
            rows = records.deliveries(session.connection(), webhook_id, LOG_LENGTH)
        return {"webhook": webhook_id, "deliveries": [{
            "id": r["id"], "event": r["event"], "state": r["state"], "attempts": r["attempts"],
            "created_at": iso(r["created_at"]), "next_attempt_at": iso(r["next_attempt_at"]),
            "finished_at": iso(r["finished_at"]), "last_status": r["last_status"], "last_error": r["last_error"],
            "attempt_log": [{"at": iso(a["at"]), "ok": a["ok"], "status_code": a["status_code"], "error": a["error"],
                             "duration_ms": a["duration_ms"]} for a in r["attempt_log"]],
        } for r in rows]}

    def _managed_webhook(self, connection: Any, branch: Branch, webhook_id: int, managed: frozenset[str] | None,
                         *, read_only: bool = False) -> dict[str, Any]:
        found = records.webhook(connection, webhook_id)
        if found is None or not _reaches(found, branch.code):
            raise NotFound(f"branch {branch.code} has no webhook {webhook_id}", code="unknown_webhook")
        if not read_only and not _managed_by(found, managed):
            raise DomainError("this webhook also reaches branches you do not manage; a manager of all of them "
                              "changes it", code="beyond_your_branches", http_status=403)
        return found

    def _view(self, row: dict[str, Any], managed: frozenset[str] | None) -> dict[str, Any]:
        return {"id": row["id"], "name": row["name"], "url": row["url"], "secret_prefix": row["shown"],
                "events": row["events"], "branches": row["branches"], "enabled": bool(row["enabled"]),
                "created_at": iso(row["created_at"]), "created_by": row["created_by"],
                "created_by_name": self.config.display_name(row["created_by"]),
                "may_change": _managed_by(row, managed)}

    # --- the notifier's pass ----------------------------------------------------------------------------------

    def run_pass(self, serves: Callable[[str], bool] = lambda branch: True) -> int:
        """Derive the new deliveries of every branch this process serves (several processes: the branch's lease
        holder, :meth:`server.services.branch_leases.Leases.serves`), then send what is due, of any branch (the
        rows are leased: the processes share the sending); the number of attempts made."""
        served = [branch.code for branch in self.config.branches if serves(branch.code)]
        for code in self.branches_with_work(served):
            self.derive(code)
        return self.send_due()

    def branches_with_work(self, branch_codes: list[str]) -> list[str]:
        """Which of these branches a pass has anything to derive for (most passes: none), in one read for them all,
        however many they are."""
        if not branch_codes:
            return []
        with self.uow.read() as session:
            return records.branches_with_work(session.connection(), branch_codes, bool(self.settings.sms))

    def derive(self, branch_code: str) -> int:
        """Write the deliveries the branch's new events and people-ahead cause, and move the cursor past the
        events, in one transaction; the number of deliveries considered."""
        branch = self.config.branch(branch_code)
        if branch is None:
            return 0
        now = self.clock()
        added = 0
        with self.uow.read() as session:  # most passes find nothing: no write transaction for them
            connection = session.connection()
            if not records.has_work(connection, branch.code, records.cursor(connection, branch.code),
                                    self.settings.sms):
                return 0
        with self.uow.write() as session:
            connection = session.connection()
            at = records.cursor(connection, branch.code)
            if at is None:  # a first start: the notifier begins with what happens from now on
                records.set_cursor(connection, branch.code, records.last_seq(connection, branch.code), False)
                return 0
            events = records.events_after(connection, branch.code, at, EVENTS_PER_PASS)
            if events:
                added += self._event_deliveries(connection, branch, events, now)
                records.set_cursor(connection, branch.code, int(events[-1].seq), True)
            if self.settings.sms:
                added += self._position_deliveries(connection, branch, now)
        return added

    def _event_deliveries(self, connection: Any, branch: Branch, events: list[Any], now: datetime) -> int:
        added = 0
        hooks = [w for w in records.webhooks(connection) if w["enabled"] and _reaches(w, branch.code)]
        for event in events:
            kind = WEBHOOK_EVENT_OF.get(event.kind)
            if kind is None:
                continue
            body = json.dumps(_webhook_body(kind, branch.code, event), ensure_ascii=False)
            for hook in hooks:
                if kind.value in hook["events"]:
                    records.add_delivery(connection, self._delivery(
                        branch.code, "webhook", f"wh:{hook['id']}:{branch.code}:{event.seq}", kind.value, body, now,
                        webhook_id=hook["id"], ticket_id=event.ticket_id))
                    added += 1
        if self.settings.sms:
            called = {e.ticket_id: e for e in events if e.kind == EventKind.CALLED.value and e.ticket_id}
            contacts = records.notification_contacts(connection, branch.code, ticket_ids=called)
            spent = records.spent(connection, [c.ticket_id for c in contacts])
            for contact in contacts:
                message = due_on_call(called[contact.ticket_id].counter_number or "", spent[contact.ticket_id])
                added += self._sms(connection, branch, contact, message, now)
        return added

    def _position_deliveries(self, connection: Any, branch: Branch, now: datetime) -> int:
        contacts = records.notification_contacts(connection, branch.code, waiting=True)
        if not contacts:
            return 0
        spent = records.spent(connection, [c.ticket_id for c in contacts])
        positions = self.settings.positions(branch.code)
        added = 0
        for contact in contacts:
            ahead = self.people_ahead(branch.code, contact.ticket_id)
            if ahead is not None:
                added += self._sms(connection, branch, contact,
                                   due_on_position(positions, ahead, spent[contact.ticket_id]), now)
        return added

    def _sms(self, connection: Any, branch: Branch, contact: Any, message: Message | None, now: datetime) -> int:
        if message is None:
            return 0
        language = contact.language or "zh-CN"
        service = branch.service(contact.service_code)
        values = {"number": contact.number, "branch": _in(branch.name, language),
                  "service": _in(service.name, language) if service is not None else contact.service_code,
                  **message.values}
        text = render(self.settings.template(message.template), language, values)
        records.add_delivery(connection, self._delivery(
            branch.code, "sms", f"sms:{contact.ticket_id}:{message.milestone}", message.milestone,
            json.dumps({"text": text, "language": language}, ensure_ascii=False), now,
            contact_id=contact.id, ticket_id=contact.ticket_id))
        return 1

    @staticmethod
    def _delivery(branch_code: str, channel: str, dedupe: str, event: str, payload: str, now: datetime,
                  **refs: Any) -> dict[str, Any]:
        return {"branch_code": branch_code, "channel": channel, "dedupe": dedupe, "event": event,
                "payload": payload, "state": records.PENDING, "attempts": 0, "created_at": now,
                "next_attempt_at": now, **refs}

    def send_due(self) -> int:
        """Lease the due deliveries, send each, record each attempt; the number of attempts."""
        now = self.clock()
        lease = timedelta(seconds=self.settings.timeout_s * SENDS_PER_PASS + 30)
        with self.uow.read() as session:
            if not records.any_due(session.connection(), now):
                return 0
        with self.uow.write() as session:
            leased = records.lease_due(session.connection(), now, now + lease, SENDS_PER_PASS)
        for row in leased:
            self._send(row)
        return len(leased)

    def _send(self, row: Any) -> None:
        with self.uow.read() as session:
            connection = session.connection()
            if row.channel == "webhook":
                hook = records.webhook(connection, row.webhook_id) if row.webhook_id is not None else None
                target = None if hook is None or not hook["enabled"] else hook
                phone = None
            else:
                phone = records.contact_phone(connection, row.contact_id) if row.contact_id else None
                target = None
        now = self.clock()
        if row.channel == "webhook" and target is None:
            with self.uow.write() as session:
                records.cancel(session.connection(), row.id, "the webhook was disabled or deleted", now)
            return
        if row.channel == "sms" and (phone is None or not self.settings.sms):
            with self.uow.write() as session:
                records.cancel(session.connection(), row.id, "the number was removed", now)
            return
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            if target is not None:
                body = row.payload.encode()
                headers = {SIGNATURE_HEADER: signature(target["secret"], body, int(now.timestamp())),
                           "X-Hall-Event": row.event, "X-Hall-Delivery": row.dedupe,
                           "User-Agent": "hall-queue-webhooks/1"}
                status = self.transport.post(target["url"], body, headers, self.settings.timeout_s)
            else:
                status = self._send_sms(phone or "", json.loads(row.payload)["text"])
        except DeliveryFailed as exc:
            status, error = exc.status, str(exc)[:300]
        except Exception as exc:  # a transport's own fault counts as a failed attempt, never stops the loop
            error = f"{type(exc).__name__}: {exc}"[:300]
        duration_ms = int((time.monotonic() - started) * 1000)
        finished = self.clock()
        attempts = int(row.attempts) + 1
        if error is None:
            outcome = {"state": records.SENT, "finished_at": finished, "next_attempt_at": None,
                       "last_status": status, "last_error": None}
        else:
            retry = next_attempt(attempts, finished, self.jitter())
            outcome = {"state": records.PENDING if retry else records.GIVEN_UP, "next_attempt_at": retry,
                       "finished_at": None if retry else finished, "last_status": status, "last_error": error}
        with self.uow.write() as session:
            records.record_attempt(session.connection(), row.id, {
                "at": finished, "ok": error is None, "status_code": status, "error": error,
                "duration_ms": duration_ms}, outcome)
        if error is not None:
            log.info("delivery %s (%s) attempt %d failed: %s", row.id, row.event, attempts, error)

    def _send_sms(self, phone: str, text: str) -> int:
        settings = self.settings
        assert settings.sms_gateway_url is not None
        body = json.dumps({"to": phone, "text": text, "sender": settings.sms_sender}, ensure_ascii=False).encode()
        headers = {settings.sms_auth_header: settings.sms_auth_value} if settings.sms_auth_value else {}
        return self.sms_transport.post(settings.sms_gateway_url, body, headers, settings.timeout_s)

    def purge_old(self) -> int:
        """The hourly clean-up: finished deliveries older than 30 days (with their attempts)."""
        with self.uow.write() as session:
            return records.purge_finished(session.connection(), self.clock() - KEEP_LOG)


def _in(text: Any, language: str) -> str:
    return str(text.en if language == "en" else text.zh)


def _reaches(webhook: dict[str, Any], branch_code: str) -> bool:
    return webhook["branches"] is None or branch_code in webhook["branches"]


def _managed_by(webhook: dict[str, Any], managed: frozenset[str] | None) -> bool:
    return managed is None or (webhook["branches"] is not None and set(webhook["branches"]) <= managed)


def _webhook_body(kind: WebhookEvent, branch_code: str, event: Any) -> dict[str, Any]:
    """What an integration is told of a hall event: no names, no numbers, nothing personal. A booking's event
    tells the booking's own fields (:data:`BOOKING_FIELDS`: its code, service, slot and state), only those."""
    if event.kind in BOOKING_EVENTS:
        kept = json.loads(event.data) if event.data else {}
        data = {"kind": event.kind, **{name: kept.get(name) for name in BOOKING_FIELDS if name in kept}}
    else:
        data = {"kind": event.kind, "ticket": event.ticket_number, "service": event.service_code,
                "counter": event.counter_number, "device": event.device if kind is WebhookEvent.HALL_ALERT else None}
    return {"id": f"{branch_code}:{event.seq}", "event": kind.value, "branch": branch_code, "seq": int(event.seq),
            "at": iso(event.at), "data": data}


class NotifierLoop:
    """Runs the notifier's passes as a background task (``spawn``), waiting with the server's own ``sleep`` so
    that under eventlet it is one green thread among the requests; a pass that fails is tried again next time.
    ``serves``: whether this process derives a branch's deliveries (its lease; every branch by default)."""

    def __init__(self, service: NotificationService, *, spawn: Callable[[Callable[[], None]], Any],
                 sleep: Callable[[float], Any], every_s: float = 1.0,
                 serves: Callable[[str], bool] = lambda branch: True) -> None:
        self.service, self.spawn, self.sleep, self.every_s = service, spawn, sleep, every_s
        self.serves = serves
        self.running = False

    def start(self) -> None:
        if not self.running:
            self.running = True
            self.spawn(self.run)

    def run(self) -> None:
        while self.running:
            self.sleep(self.every_s)
            try:
                self.service.run_pass(self.serves)
            except Exception:  # the loop must outlive a database hiccup
                log.exception("notifier pass failed")


__all__ = ["CALLED", "DeliveryFailed", "HttpTransport", "NotificationService", "NotifierLoop", "Transport",
           "resolving_check"]
