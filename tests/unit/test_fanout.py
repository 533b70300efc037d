"""The websocket frame the direct fan-out writes (RFC 6455 §5.2: FIN + text opcode, unmasked, length)."""

from __future__ import annotations

import struct

import pytest

from server.fanout import text_frame


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 70000])
def test_text_frame_header_and_payload(length: int) -> None:
    payload = "号" * (length // 3) + "x" * (length % 3)  # 3 bytes each in UTF-8
    data = payload.encode("utf-8")
    frame = text_frame(payload)
    assert frame[0] == 0x81  # final frame, text
    second = frame[1]
    assert second & 0x80 == 0  # a server never masks
    if len(data) <= 125:
        assert second == len(data) and frame[2:] == data
    elif len(data) <= 0xFFFF:
        assert second == 126 and struct.unpack("!H", frame[2:4])[0] == len(data) and frame[4:] == data
    else:
        assert second == 127 and struct.unpack("!Q", frame[2:10])[0] == len(data) and frame[10:] == data
