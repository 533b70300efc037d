"""Printing a kiosk's ticket on its network printer, and the printer faults a manager sees.

``print_ticket`` first checks, in a command transaction, that this print is allowed
(:mod:`server.domain.print_policy`: only at the kiosk that issued the ticket, a bounded number of times, soon
after the issue; staff of the branch may print it anywhere) and reserves it; where the branch requires paired
kiosks, or the caller is a paired kiosk, the kiosk is the one its credential proves. Then it talks to the
printer, outside any transaction (the branch lock is never held while a printer thinks), and records the outcome
in one more command: a ``printed`` or ``print_failed`` event carrying the kiosk id as ``device`` and, on failure,
the reason, and the ticket's print count. A failure never changes the ticket and is not counted: it stays valid
and waiting, and the kiosk shows its QR code instead (``503 printer_failed``). ``device_faults`` reads those
events back for the manager page. Each outcome also says what the kiosk's printer has now (out of paper, cover
open…, paper low, or nothing): the manager's equipment alert, started, updated or ended by it
(:mod:`server.services.device_alerts`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from server.domain.device_alerts import PRINTER_PROBLEMS, printer_key, printer_problem
from server.domain.devices import DeviceKind, Role
from server.domain.errors import DomainError, NotFound
from server.domain.hall import Branch, Kiosk, Text
from server.domain.print_policy import PrintRecord, check_print
from server.domain.tickets import EventKind, TicketState
from server.persistence import devices as device_records
from server.persistence import hall_reads, tickets
from server.persistence.tables import TicketEvent
from server.printing import PrinterError, PrintOutcome, Receipt, render_receipt, send_to_printer
from server.services.access import STAFF_ROLES, require_device, works_at
from server.services.actor import CUSTOMER, Actor
from server.services.device_alerts import ended, printer_alert
from server.services.hall import HallService
from server.services.views import iso

log = logging.getLogger(__name__)

Sender = Callable[..., PrintOutcome]  # send_to_printer(host, port, payload, *, timeout, status_query)
PRINT_KINDS = (EventKind.PRINTED.value, EventKind.PRINT_FAILED.value)
FAULT_WINDOW = timedelta(hours=24)
RECENT_FAILURES = 10
RESERVE_MARGIN_S = 5  # a reserved print is let go this long after the printer's own timeout
_PRINTABLE = {s.value for s in TicketState if s.in_progress}


def ticket_url(base_url: str, token: str) -> str:
    """The customer's own ticket page, which the QR code opens."""
    return f"{base_url.rstrip('/')}/t/{token}"


class PrintingService:
    """Server-side ticket printing for the kiosks of every branch of one configuration."""

    def __init__(self, hall: HallService, *, send: Sender = send_to_printer) -> None:
        self.hall = hall
        self.send = send
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # --- queries ----------------------------------------------------------------------------------

    def kiosks(self, branch_code: str) -> list[dict[str, Any]]:
        """The kiosk settings a kiosk page needs (no printer addresses)."""
        return [kiosk_view(k) for k in self.hall.branch(branch_code).kiosks]

    def kiosk(self, branch: Branch, kiosk_id: str) -> Kiosk:
        kiosk = branch.kiosk(kiosk_id)
        if kiosk is None:
            raise NotFound(f"branch {branch.code} has no kiosk {kiosk_id!r}", code="unknown_kiosk")
        return kiosk

    def device_faults(self, branch_code: str) -> dict[str, Any]:
        """Per kiosk: printer status from its last print, counts and recent failures (last 24 hours)."""
        branch = self.hall.branch(branch_code)
        now = self.hall.clock()
        since = now - FAULT_WINDOW
        with self.hall.uow.read() as session:
            rows = hall_reads.events_of_kinds(session, branch.code, PRINT_KINDS, since, limit=5000)
        by_device: dict[str, list[TicketEvent]] = {}
        for row in rows:
            by_device.setdefault(row.device or "", []).append(row)
        views = [_kiosk_faults(kiosk.id, kiosk, by_device.pop(kiosk.id, [])) for kiosk in branch.kiosks]
        views += [_kiosk_faults(device, None, events) for device, events in sorted(by_device.items())]
        return {"branch": branch.code, "since": iso(since), "generated_at": iso(now),
                "faults": sum(1 for v in views if v["status"] == "fault"), "kiosks": views}

    def printer_alerts(self, branch_code: str) -> list[dict[str, Any]]:
        """The kiosks whose printer has a problem after its latest print (last 24 hours), as alerts."""
        branch = self.hall.branch(branch_code)
        return [printer_alert(branch, kiosk["kiosk"], kiosk["problem"], datetime.fromisoformat(kiosk["problem_at"]))
                for kiosk in self.device_faults(branch.code)["kiosks"] if kiosk["problem"]]

    # --- the command ------------------------------------------------------------------------------

    def print_ticket(self, token: str, kiosk_id: str, base_url: str, actor: Actor = CUSTOMER) -> dict[str, Any]:
        """Print a ticket on the kiosk's network printer; a failure is recorded and raised as 503, a print the
        rules refuse as 401/403/409 with the reason's code."""
        ticket = self.hall.queries.ticket_by_token(token)
        branch = self.hall.branch(ticket["branch"])
        by_staff = actor.username is not None and actor.role in STAFF_ROLES and works_at(self.hall.config, actor,
                                                                                          branch)
        paired = actor.paired
        if not by_staff and (branch.devices.must_pair(DeviceKind.KIOSK) or (
                paired is not None and paired.paired and paired.role.kind == DeviceKind.KIOSK)):
            require_device(self.hall.config, actor, branch, Role(DeviceKind.KIOSK, kiosk_id))
        kiosk = self.kiosk(branch, kiosk_id)
        if kiosk.printer != "escpos" or kiosk.printer_host is None or kiosk.printer_port is None:
            raise DomainError(f"kiosk {kiosk.id} has no network printer (printer = {kiosk.printer!r})",
                              code="no_network_printer", printer=kiosk.printer)
        if ticket["state"] not in _PRINTABLE:
            raise DomainError(f"{ticket['number']} is {ticket['state'].replace('_', ' ')}; it is not printed any more",
                              code="ticket_closed", state=ticket["state"])
        self._reserve(branch, ticket, kiosk, by_staff)
        url = ticket_url(base_url, token)
        payload = render_receipt(self._receipt(branch, ticket, url))
        where = f"{kiosk.printer_host}:{kiosk.printer_port}"
        started = time.monotonic()
        outcome: PrintOutcome | None = None
        failure: PrinterError | None = None
        try:
            outcome = self._send(kiosk, payload)
        except PrinterError as exc:
            failure = exc
        except Exception as exc:  # a bug must not count as a printed ticket either
            log.exception("printing %s on kiosk %s failed", ticket["number"], kiosk.id)
            failure = PrinterError("printer_error", f"printing failed: {exc}")
        elapsed = round(time.monotonic() - started, 3)
        data: dict[str, Any] = {"printer": where, "elapsed_s": elapsed, "bytes": len(payload)}
        if failure is not None:
            data["fault"] = failure.fault
            self._record(branch, token, kiosk, EventKind.PRINT_FAILED, failure.reason, data, actor, by_staff)
            raise DomainError(
                f"the printer of kiosk {kiosk.id} did not print {ticket['number']}: {failure.reason}; "
                "the ticket is valid, show its QR code instead",
                code="printer_failed", http_status=503, kiosk=kiosk.id, fault=failure.fault,
                reason=failure.reason, number=ticket["number"], url=url,
            )
        assert outcome is not None
        data.update(paper_low=outcome.paper_low, status_checked=outcome.status_checked)
        self._record(branch, token, kiosk, EventKind.PRINTED, None, data, actor, by_staff)
        return {"printed": True, "kiosk": kiosk.id, "number": ticket["number"], "url": url,
                "paper_low": outcome.paper_low}

    # --- internals --------------------------------------------------------------------------------

    def _receipt(self, branch: Branch, ticket: dict[str, Any], url: str) -> Receipt:
        service = branch.service(ticket["service"])
        service_name = service.name if service else Text(ticket["service"], ticket["service"])
        issued = datetime.fromisoformat(ticket["issued_at"])
        estimate = ticket.get("estimate")
        estimate_text = None
        if isinstance(estimate, dict) and estimate.get("known") and isinstance(estimate.get("text"), dict):
            estimate_text = Text(estimate["text"].get("zh-CN", ""), estimate["text"].get("en", ""))
        return Receipt(hall=branch.name, number=ticket["number"], service=service_name,
                       issued_at=issued.astimezone(branch.timezone),
                       people_ahead=ticket.get("people_ahead"), estimate=estimate_text, url=url)

    def _send(self, kiosk: Kiosk, payload: bytes) -> PrintOutcome:
        """One ticket at a time per printer: a second tap waits its turn within the same timeout."""
        assert kiosk.printer_host is not None and kiosk.printer_port is not None
        key = (kiosk.printer_host, kiosk.printer_port)
        with self._locks_guard:
            lock = self._locks.setdefault(key, threading.Lock())
        started = time.monotonic()
        if not lock.acquire(timeout=kiosk.print_timeout_s):
            raise PrinterError("busy", f"printer {key[0]}:{key[1]} is still busy with another ticket")
        try:
            left = max(0.05, kiosk.print_timeout_s - (time.monotonic() - started))
            return self.send(kiosk.printer_host, kiosk.printer_port, payload, timeout=left,
                             status_query=kiosk.status_query)
        finally:
            lock.release()

    def _reserve(self, branch: Branch, ticket: dict[str, Any], kiosk: Kiosk, by_staff: bool) -> None:
        """Check the print against the rules and hold it until the printer had its time (plus a margin), so that
        a second request cannot print the same allowance meanwhile."""
        with self.hall.uow.command(branch, self.hall.clock()) as tx:
            record = device_records.print_record(tx.session, ticket["id"])
            check_print(record, kiosk=kiosk.id, issued_by=device_records.issuing_device(tx.session, ticket["id"]),
                        issued_at=datetime.fromisoformat(ticket["issued_at"]), now=tx.now, settings=branch.devices,
                        by_staff=by_staff)
            record.reserved_until = tx.now + timedelta(seconds=kiosk.print_timeout_s + RESERVE_MARGIN_S)
            record.reserved_by = kiosk.id
            device_records.save_print_record(tx.session, branch.code, ticket["id"], record)

    def _record(self, branch: Branch, token: str, kiosk: Kiosk, kind: EventKind, reason: str | None,
                data: dict[str, Any], actor: Actor, by_staff: bool) -> None:
        with self.hall.uow.command(branch, self.hall.clock()) as tx:
            ticket = tickets.by_token(tx.connection, token)
            assert ticket.id is not None
            record = device_records.print_record(tx.session, ticket.id)
            printed = kind == EventKind.PRINTED
            if printed and by_staff:
                record.staff_prints += 1
            elif printed:
                record.prints += 1
            device_records.save_print_record(tx.session, branch.code, ticket.id,
                                             PrintRecord(record.prints, record.staff_prints),
                                             printed_at=tx.now if printed else None)
            data = {**data, "prints": record.prints, "staff_prints": record.staff_prints}
            problem = printer_problem(kind, data.get("fault"), bool(data.get("paper_low")))
            alert = printer_alert(branch, kiosk.id, problem, tx.now) if problem else ended(printer_key(kiosk.id))
            tx.emit(kind, ticket=ticket, device=kiosk.id, staff=actor.username if by_staff else None,
                    reason=reason[:500] if reason else None, data=data,
                    public={"device": kiosk.id, "number": ticket.number},
                    private={"fault": data.get("fault"), "paper_low": data.get("paper_low"), "alert": alert})


def kiosk_view(kiosk: Kiosk) -> dict[str, Any]:
    return {"id": kiosk.id, "name": kiosk.name.as_dict(), "printer": kiosk.printer,
            "print_timeout_s": kiosk.print_timeout_s, "confirmation_s": kiosk.confirmation_s,
            "idle_reset_s": kiosk.idle_reset_s}


def _kiosk_faults(device: str, kiosk: Kiosk | None, events: list[TicketEvent]) -> dict[str, Any]:
    """One kiosk's printing in the window; ``events`` newest first."""
    failures = [e for e in events if e.kind == EventKind.PRINT_FAILED.value]
    printed = [e for e in events if e.kind == EventKind.PRINTED.value]
    latest = events[0] if events else None
    latest_data = json.loads(latest.data) if latest is not None and latest.data else {}
    if kiosk is not None and kiosk.printer != "escpos" and latest is None:
        status = "no_printer"
    elif latest is None:
        status = "unknown"
    else:
        status = "fault" if latest.kind == EventKind.PRINT_FAILED.value else "ok"
    problem = None if latest is None else printer_problem(latest.kind, latest_data.get("fault"),
                                                          bool(latest_data.get("paper_low")))
    return {
        "kiosk": device,
        "name": kiosk.name.as_dict() if kiosk else None,
        "printer": kiosk.printer if kiosk else None,
        "status": status,
        "paper_low": bool(latest_data.get("paper_low")) if status == "ok" else False,
        "problem": problem,  # what the manager is alerted to (server/domain/device_alerts.py), None when fine
        "problem_name": PRINTER_PROBLEMS[problem].as_dict() if problem else None,
        "problem_at": iso(latest.at) if problem and latest is not None else None,
        "printed": len(printed),
        "failed": len(failures),
        "last_printed_at": iso(printed[0].at) if printed else None,
        "recent_failures": [_failure_view(e) for e in failures[:RECENT_FAILURES]],
    }


def _failure_view(event: TicketEvent) -> dict[str, Any]:
    data = json.loads(event.data) if event.data else {}
    return {"at": iso(event.at), "seq": event.seq, "ticket_number": event.ticket_number,
            "fault": data.get("fault"), "reason": event.reason, "printer": data.get("printer")}


__all__ = ["PrintingService", "kiosk_view", "ticket_url"]
