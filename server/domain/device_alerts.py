"""What a manager is alerted to about the hall's equipment: a paired device that went silent, and a kiosk's printer
in trouble (out of paper, cover open, unreachable…, or paper running low).

An alert has a stable ``key`` (one per device, one per kiosk printer), so that the manager page can add, update and
remove it from the events that start and end it, and remember locally which ones a manager acknowledged.

Pure: no Flask, no SQL. The printer's fault codes are those the printing adapter reports
(:class:`server.printing.PrinterError`); the words for them live here, in both languages.
"""

from __future__ import annotations

from enum import StrEnum

from server.domain.hall_alerts import Severity
from server.domain.tickets import EventKind
from server.domain.values import Text


class AlertType(StrEnum):
    DEVICE_OFFLINE = "device_offline"  # a paired device sent no heartbeat for offline_after
    PRINTER = "printer"  # a kiosk's network printer failed its last print, or said its paper runs low


PAPER_LOW = "paper_low"

PRINTER_PROBLEMS: dict[str, Text] = {
    "paper_out": Text("缺纸", "out of paper"),
    "cover_open": Text("打印机盖未关好", "printer cover open"),
    "unreachable": Text("打印机无法连接", "printer unreachable"),
    "timeout": Text("打印机无响应", "printer not answering"),
    "printer_error": Text("打印机故障（切刀或机芯）", "printer error (cutter or mechanism)"),
    "bad_status": Text("打印机状态无法识别", "printer status unreadable"),
    "busy": Text("打印机忙，未能打印", "printer busy, ticket not printed"),
    PAPER_LOW: Text("打印纸快用完了", "paper running low"),
}
"""The printer problems a manager is shown, by the printing adapter's fault code (and ``paper_low``)."""

UNKNOWN_PROBLEM = "printer_error"  # a fault code this list does not know is shown as a printer error


def printer_problem(kind: EventKind | str, fault: str | None, paper_low: bool) -> str | None:
    """The printer's problem after a print's outcome: the fault of a failed print, ``paper_low`` after a print on a
    printer that said its paper runs low, else None (the printer is fine). The latest print decides."""
    if kind == EventKind.PRINT_FAILED:
        return fault if fault in PRINTER_PROBLEMS else UNKNOWN_PROBLEM
    if kind == EventKind.PRINTED and paper_low:
        return PAPER_LOW
    return None


def severity(kind: AlertType, problem: str | None = None) -> Severity:
    """How urgent an equipment alert is, on the same scale as the hall alerts: paper running low is a warning; a
    silent device or a printer that cannot print is critical."""
    return Severity.WARNING if kind is AlertType.PRINTER and problem == PAPER_LOW else Severity.CRITICAL


def device_key(device_id: int) -> str:
    """The alert key of a paired device's silence."""
    return f"device:{device_id}"


def printer_key(kiosk_id: str) -> str:
    """The alert key of a kiosk's printer."""
    return f"printer:{kiosk_id}"


__all__ = ["PAPER_LOW", "PRINTER_PROBLEMS", "AlertType", "device_key", "printer_key", "printer_problem", "severity"]
