"""ESC/POS rendering of a ticket receipt: pure bytes, checked command by command."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from server.domain.hall import Text
from server.printing import CHINESE_MODE, CUT, INIT, EscPos, Receipt, number_scale, render_receipt

URL = "http://192.168.1.10:8080/t/Xy_9-abcDEFghiJKLmnoPQR"
HALL = Text("星河通信 福田中心营业厅", "Xinghe Telecom Futian Central Hall")


def receipt(**changes: object) -> Receipt:
    fields: dict[str, object] = {
        "hall": HALL, "number": "A007", "service": Text("缴费充值", "Bill payment & top-up"),
        "issued_at": datetime(2026, 11, 24, 10, 5), "people_ahead": 3,
        "estimate": Text("约 10–15 分钟", "about 10–15 min"), "url": URL,
    }
    fields.update(changes)
    return Receipt(**fields)  # type: ignore[arg-type]


def qr_store(data: str) -> bytes:
    payload = data.encode()
    length = len(payload) + 3
    return b"\x1d(k" + bytes([length % 256, length // 256]) + b"1P0" + payload


def test_receipt_starts_with_initialise_and_chinese_mode_and_ends_with_a_cut() -> None:
    out = render_receipt(receipt())
    assert out.startswith(INIT + CHINESE_MODE)  # ESC @, FS &
    assert out.endswith(b"\x1bd\x06" + CUT)  # feed past the cutter, GS V 0
    assert b"\x1bt" not in out  # no code-page switching: Chinese mode reads GB18030


def test_receipt_holds_the_number_large_and_bold() -> None:
    out = render_receipt(receipt())
    assert b"\x1d!\x33\x1bE\x01A007\n" in out  # GS ! 4x4, bold, the number
    assert out.count(b"A007") == 1


def test_chinese_text_is_gb18030() -> None:
    out = render_receipt(receipt())
    for text in (HALL.zh, "缴费充值", "请留意大厅屏幕叫号", "扫码查看排队进度", "前面还有 3 人", "约 10–15 分钟"):
        assert text.encode("gb18030") in out, text
    assert "缴费充值".encode("gb18030") == b"\xbd\xc9\xb7\xd1\xb3\xe4\xd6\xb5"
    assert "缴费".encode() not in out  # never UTF-8
    for text in (HALL.en, "Bill payment & top-up", "Please watch the screen", "3 ahead of you",
                 "Estimated wait: about 10", "Issued 2026-11-24 10:05"):
        assert text.encode("gb18030") in out, text


def test_qr_code_is_native_gs_paren_k_with_the_ticket_url() -> None:
    out = render_receipt(receipt())
    assert b"\x1d(k\x04\x001A2\x00" in out  # model 2
    assert b"\x1d(k\x03\x001C\x06" in out  # module size 6
    assert b"\x1d(k\x03\x001E1" in out  # error correction M
    assert qr_store(URL) in out  # store the URL, with its length in pL pH
    assert out.index(qr_store(URL)) < out.index(b"\x1d(k\x03\x001Q0")  # then print it


def test_long_qr_data_has_a_two_byte_length() -> None:
    long_url = "http://hall.example/t/" + "x" * 300
    assert qr_store(long_url)[3:5] == bytes([(300 + 22 + 3) % 256, (300 + 22 + 3) // 256])
    assert qr_store(long_url) in EscPos().qr(long_url).getvalue()


def test_missing_estimate_and_people_ahead_are_left_out() -> None:
    out = render_receipt(receipt(estimate=None, people_ahead=None))
    assert "预计等待".encode("gb18030") not in out
    assert "前面还有".encode("gb18030") not in out
    assert b"A007" in out


def test_control_characters_in_names_cannot_inject_commands() -> None:
    hostile = receipt(hall=Text("营业厅\x1bd\xff", "Hall\x1dV\x00"), service=Text("缴费\x10\x04\x01", "Bill"))
    out = render_receipt(hostile)
    body = out[len(INIT + CHINESE_MODE):]
    assert b"\x10\x04" not in out  # a real-time status request inside the ticket would confuse the status check
    assert b"\x1dV\x00" not in body[:-3]
    assert b"\x1bd\xff" not in body


@pytest.mark.parametrize("number", ["A001", "VIP123456", "B7", "ABC000001"])
def test_the_number_fits_one_line_of_58mm_paper(number: str) -> None:
    scale = number_scale(number)
    assert 1 <= scale <= 4
    assert len(number) * 12 * scale <= 384
    assert f"\x1d!{chr((scale - 1) << 4 | (scale - 1))}".encode("latin-1") + b"\x1bE\x01" + number.encode() in \
        render_receipt(receipt(number=number))


def test_no_status_request_bytes_hide_in_an_ordinary_ticket() -> None:
    assert b"\x10\x04" not in render_receipt(receipt())


def test_size_and_alignment_commands() -> None:
    assert EscPos().align("center").size(2, 2).getvalue()[4:] == b"\x1ba\x01\x1d!\x11"
    assert EscPos().align("left").size(1, 2).getvalue()[4:] == b"\x1ba\x00\x1d!\x01"
    with pytest.raises(ValueError):
        EscPos().size(9, 1)
    with pytest.raises(ValueError):
        EscPos().qr("")


def test_qr_and_cut_bytes_match_python_escpos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """python-escpos, an independent implementation, produces the same QR and cut commands."""
    monkeypatch.setenv("ESCPOS_CAPABILITIES_PICKLE_DIR", str(tmp_path))  # its profile cache, not a new temp dir
    from escpos.constants import QR_ECLEVEL_M
    from escpos.printer import Dummy

    reference = Dummy()
    reference.qr(URL, ec=QR_ECLEVEL_M, size=6, native=True)
    reference.cut()
    ours = EscPos().qr(URL).cut().getvalue()[len(INIT + CHINESE_MODE):]
    assert ours == reference.output


def test_receipt_lines_fit_58mm_paper_except_names() -> None:
    """Every fixed line is at most 32 columns (a Chinese character takes two)."""
    out = render_receipt(receipt(hall=Text("厅", "Hall"), service=Text("缴费", "Bill")))
    text = re.sub(rb"\x1d\(k..1P0[^\x1d]*", b"", out)  # drop the QR data
    for raw in text.split(b"\n"):
        line = re.sub(rb"\x1b[aEd].|\x1d!.|\x1dV.|\x1d\(k..1..?|\x1b@|\x1c&", b"", raw)
        assert len(line) <= 32 or b"A007" in line, line.decode("gb18030", "replace")
