"""Small media files made in code for the display tests: a real PNG, MP4 and WebM headers with a length."""

from __future__ import annotations

import struct
import zlib


def png_bytes(width: int = 4, height: int = 3, padding: int = 0) -> bytes:
    """A valid RGB PNG; ``padding`` adds an ancillary chunk to make it larger."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    extra = chunk(b"teXt", b"pad\x00" + b"x" * padding) if padding else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + extra
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def mp4_bytes(seconds: float, *, version: int = 0) -> bytes:
    """An MP4 header (ftyp + moov/mvhd) that says how long the video is."""

    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    timescale = 1000
    if version == 1:
        mvhd = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, timescale, int(seconds * timescale))
    else:
        mvhd = bytes([0, 0, 0, 0]) + struct.pack(">IIII", 0, 0, timescale, int(seconds * timescale))
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + box(b"free", b"\x00" * 16) + box(
        b"moov", box(b"mvhd", mvhd + b"\x00" * 80))


def webm_bytes(seconds: float | None) -> bytes:
    """An EBML/WebM header, with a Segment Info Duration (milliseconds, 8-byte float) when given."""
    header = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02"
    info = b"\x2a\xd7\xb1\x83\x0f\x42\x40"  # TimecodeScale = 1,000,000 ns
    if seconds is not None:
        info += b"\x44\x89\x88" + struct.pack(">d", seconds * 1000)
    return header + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + b"\x15\x49\xa9\x66" + bytes(
        [0x80 | len(info)]) + info + b"\x00" * 64
