"""Kiosk ticket receipts as ESC/POS bytes, and sending them to a network printer (an adapter).

Rendering (:func:`render_receipt`) is pure: a :class:`Receipt` in, bytes out, so it unit-tests without a
printer. Sending (:func:`send_to_printer`) is plain TCP ("raw" printing, port 9100) with one deadline for
the whole exchange, and talks to nothing else: the service layer (:mod:`server.services.printing`) calls it
outside any database transaction and records the outcome.

**Why a small encoder of our own rather than python-escpos's classes.** python-escpos (pinned in
requirements.txt; the tests use it as an independent reference for the QR and cut commands) has a
``Network`` printer, but for a Chinese hall its text path is wrong in ways that matter:
``Escpos.text()`` writes a string as raw GB18030 only if it contains a character in U+4E00–U+9FA5 and
never switches the printer into Chinese mode (``FS &``); any other non-ASCII string (full-width
punctuation alone, an en dash, "·") goes through code-page switching (``ESC t n``), which a printer in
Chinese mode does not honour, so it prints as garbage. Importing it also loads printer profiles and
writes a cache into a fresh temporary directory on every start. Its ``Network`` class only sends: a
printer that accepts the connection but is out of paper, has its cover open or is hung would count
as printed. So this module writes the handful of commands a ticket needs itself:

* ``ESC @`` initialise; ``FS &`` Chinese character mode, after which the printer reads bytes
  0x81–0xFE as the lead byte of a GB18030/GBK character and plain ASCII as ASCII. All text is encoded
  as GB18030 (identical to GBK/GB2312 for every character those cover; printers sold in China carry a
  GB18030 font). ``ESC t`` code pages are never used.
* ``ESC a n`` alignment; ``ESC E n`` bold; ``GS ! n`` character size, which scales ASCII and Chinese
  characters alike (``ESC !`` would scale ASCII only).
* Native QR code, ``GS ( k``: model 2 (fn 65), module size (fn 67), error correction M (fn 69),
  store the data (fn 80), print (fn 81).
* ``ESC d n`` feed past the cutter, ``GS V 0`` cut.
* Status, ``DLE EOT 2`` (offline cause: cover open, error) and ``DLE EOT 4`` (roll paper sensor), asked
  before the ticket is sent and ``DLE EOT 4`` again after it. Real-time commands are answered in the
  order the printer takes bytes in, so the second answer shows that the printer took the whole ticket;
  no answer within the deadline is a failure ("timeout"), never a silent success. Printers (or
  serial/USB bridges) that cannot answer need ``status_query = false`` on their kiosk; a hung printer
  then cannot be told from a working one.

Text from the configuration is stripped of control characters so that no name can inject a command.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from server.domain.hall import Text

ESC, GS, FS, DLE, EOT = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x04"
INIT = ESC + b"@"
CHINESE_MODE = FS + b"&"
CUT = GS + b"V\x00"
STATUS_OFFLINE = DLE + EOT + b"\x02"  # DLE EOT 2: offline cause
STATUS_PAPER = DLE + EOT + b"\x04"  # DLE EOT 4: roll paper sensor
TEXT_ENCODING = "gb18030"
PAPER_DOTS = 384  # printable width of 58 mm paper at 203 dpi; 80 mm paper has 576, so this fits both
FONT_A_DOTS = 12  # an ASCII character of font A is 12 dots wide

_ALIGN = {"left": 0, "center": 1, "right": 2}
_QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class EscPos:
    """A byte buffer with the ESC/POS commands a ticket uses; starts with initialise + Chinese mode."""

    def __init__(self) -> None:
        self._out = bytearray(INIT + CHINESE_MODE)

    def align(self, where: str) -> EscPos:
        self._out += ESC + b"a" + bytes([_ALIGN[where]])
        return self

    def bold(self, on: bool) -> EscPos:
        self._out += ESC + b"E" + bytes([1 if on else 0])
        return self

    def size(self, width: int = 1, height: int = 1) -> EscPos:
        """Character size, 1-8 times in each direction (``GS ! n``)."""
        if not (1 <= width <= 8 and 1 <= height <= 8):
            raise ValueError("character size must be 1-8")
        self._out += GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])
        return self

    def text(self, value: str) -> EscPos:
        self._out += _CONTROL.sub(" ", value).encode(TEXT_ENCODING)
        return self

    def line(self, value: str = "") -> EscPos:
        return self.text(value).newline()

    def newline(self) -> EscPos:
        self._out += b"\n"
        return self

    def qr(self, data: str, *, module: int = 6, error_correction: str = "M") -> EscPos:
        """A native QR code (``GS ( k``), model 2; the printer draws it, no image is sent."""
        payload = data.encode("utf-8")
        if not payload or len(payload) > 7089:
            raise ValueError("QR data must be 1-7089 bytes")
        if not 1 <= module <= 16:
            raise ValueError("QR module size must be 1-16 dots")

        def fn(cn_fn: bytes, params: bytes) -> bytes:
            length = len(params) + 2
            return GS + b"(k" + bytes([length % 256, length // 256]) + cn_fn + params

        self._out += fn(b"1A", b"2\x00")  # model 2
        self._out += fn(b"1C", bytes([module]))
        self._out += fn(b"1E", bytes([_QR_EC[error_correction]]))
        self._out += fn(b"1P", b"0" + payload)  # store
        self._out += fn(b"1Q", b"0")  # print
        return self

    def feed(self, lines: int) -> EscPos:
        self._out += ESC + b"d" + bytes([max(0, min(lines, 255))])
        return self

    def cut(self) -> EscPos:
        """Feed past the cutter and cut (``ESC d 6``, ``GS V 0``)."""
        self.feed(6)
        self._out += CUT
        return self

    def getvalue(self) -> bytes:
        return bytes(self._out)


@dataclass(frozen=True)
class Receipt:
    """What a ticket receipt shows; every customer-facing text in Chinese and English."""

    hall: Text
    number: str
    service: Text
    issued_at: datetime  # already in the branch's local time
    people_ahead: int | None
    estimate: Text | None
    url: str  # the ticket's own page, for the QR code


def number_scale(number: str) -> int:
    """How many times to enlarge the ticket number so it stays on one line of 58 mm paper (at most 4)."""
    return max(1, min(4, PAPER_DOTS // (FONT_A_DOTS * max(1, len(number)))))


def render_receipt(receipt: Receipt) -> bytes:
    """The ticket as ESC/POS bytes: hall, big number, service, time, people ahead, estimate, QR, cut."""
    p = EscPos().align("center")
    p.bold(True).line(receipt.hall.zh).bold(False).line(receipt.hall.en)
    p.line("-" * 24)
    p.line("您的号码 Your number")
    scale = number_scale(receipt.number)
    p.size(scale, scale).bold(True).line(receipt.number).bold(False).size(1, 1)
    p.size(1, 2).line(receipt.service.zh).size(1, 1).line(receipt.service.en)
    p.newline()
    p.line(f"取号时间 Issued {receipt.issued_at:%Y-%m-%d %H:%M}")
    if receipt.people_ahead is not None:
        p.line(f"前面还有 {receipt.people_ahead} 人 · {receipt.people_ahead} ahead of you")
    if receipt.estimate is not None:
        p.line(f"预计等待 {receipt.estimate.zh}")
        p.line(f"Estimated wait: {receipt.estimate.en}")
    p.newline().qr(receipt.url)
    p.line("扫码查看排队进度").line("Scan to follow your place")
    p.newline()
    p.bold(True).line("请留意大厅屏幕叫号").bold(False)
    p.line("Please watch the screen")
    return p.cut().getvalue()


# --- sending ----------------------------------------------------------------------------------------


class PrinterError(Exception):
    """The printer did not take the ticket. ``fault`` is a stable code, ``reason`` is for a person."""

    def __init__(self, fault: str, reason: str) -> None:
        super().__init__(reason)
        self.fault = fault  # unreachable, timeout, paper_out, cover_open, printer_error, bad_status, busy
        self.reason = reason


@dataclass(frozen=True)
class PrintOutcome:
    """A ticket the printer took; ``status_checked`` says whether the printer confirmed it."""

    paper_low: bool
    status_checked: bool
    elapsed_s: float


def _fixed_bits_ok(status: int) -> bool:
    """Every ``DLE EOT`` answer has bit 1 and bit 4 set, bits 0 and 7 clear."""
    return status & 0x93 == 0x12


def send_to_printer(host: str, port: int, payload: bytes, *, timeout: float,
                    status_query: bool = True) -> PrintOutcome:
    """Send ``payload`` to ``host:port`` within ``timeout`` seconds in all; raise :class:`PrinterError`."""
    started = time.monotonic()
    deadline = started + timeout
    where = f"{host}:{port}"

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PrinterError("timeout", f"printer {where} did not answer within {round(timeout, 1):g} s")
        return left

    try:
        sock = socket.create_connection((host, port), timeout=remaining())
    except TimeoutError:
        raise PrinterError("timeout", f"no connection to printer {where} within {round(timeout, 1):g} s") from None
    except OSError as exc:
        raise PrinterError("unreachable", f"printer {where} unreachable: {exc.strerror or exc}") from None
    paper_low = False
    with sock:
        try:
            if status_query:
                offline, paper = _ask(sock, STATUS_OFFLINE + STATUS_PAPER, 2, remaining, where)
                if offline & 0x04:
                    raise PrinterError("cover_open", f"printer {where}: the cover is open")
                paper_low = _check_paper(paper, where)
                if offline & 0x40:
                    raise PrinterError("printer_error", f"printer {where} reports an error (cutter or mechanism)")
            sock.settimeout(remaining())
            sock.sendall(payload)
            if status_query:
                (paper,) = _ask(sock, STATUS_PAPER, 1, remaining, where)
                paper_low = _check_paper(paper, where) or paper_low
        except TimeoutError:
            raise PrinterError("timeout",
                               f"printer {where} did not take the ticket within {round(timeout, 1):g} s") from None
        except OSError as exc:
            raise PrinterError("unreachable", f"printer {where} dropped the connection: "
                                              f"{exc.strerror or exc}") from None
    return PrintOutcome(paper_low=paper_low, status_checked=status_query,
                        elapsed_s=round(time.monotonic() - started, 3))


def _ask(sock: socket.socket, query: bytes, answers: int, remaining: Callable[[], float], where: str) -> bytes:
    """Send real-time status queries and read one status byte for each."""
    sock.settimeout(remaining())
    sock.sendall(query)
    got = b""
    while len(got) < answers:
        sock.settimeout(remaining())
        chunk = sock.recv(answers - len(got))
        if not chunk:
            raise PrinterError("unreachable", f"printer {where} closed the connection")
        got += chunk
    for status in got:
        if not _fixed_bits_ok(status):
            raise PrinterError("bad_status", f"printer {where} gave an unexpected status byte 0x{status:02x}; "
                                             "set status_query = false if it does not answer DLE EOT")
    return got


def _check_paper(status: int, where: str) -> bool:
    """Raise if the roll is out (bits 5-6); return whether it is nearly out (bits 2-3)."""
    if status & 0x60:
        raise PrinterError("paper_out", f"printer {where} is out of paper")
    return bool(status & 0x0C)


__all__ = ["EscPos", "PrintOutcome", "PrinterError", "Receipt", "number_scale", "render_receipt",
           "send_to_printer"]
