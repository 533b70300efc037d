"""Which uploads a wall display can show, judged by their bytes (never by the name or the declared type alone).

Images: PNG, JPEG, WebP. Videos: MP4 (ISO base media) and WebM. The length of a video is read from its
header when it can be (MP4 ``mvhd``, WebM ``Duration``) so that over-long videos are refused at upload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

IMAGE = "image"
VIDEO = "video"
NOTICE_MAX_CHARS = 500  # a notice's text, per language
TITLE_MAX_CHARS = 100  # a playlist item's title
MAX_SECONDS = 600  # an item's time on screen (a video's also at most its length and [media] max_video_s)


@dataclass(frozen=True)
class MediaType:
    kind: str  # "image" or "video"
    content_type: str
    extension: str


PNG = MediaType(IMAGE, "image/png", "png")
JPEG = MediaType(IMAGE, "image/jpeg", "jpg")
WEBP = MediaType(IMAGE, "image/webp", "webp")
MP4 = MediaType(VIDEO, "video/mp4", "mp4")
WEBM = MediaType(VIDEO, "video/webm", "webm")
SUPPORTED = (PNG, JPEG, WEBP, MP4, WEBM)
SUPPORTED_TYPES = tuple(t.content_type for t in SUPPORTED)
# Types browsers and tools send for the same formats.
TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
                "audio/webm": "video/webm", "application/mp4": "video/mp4"}
_MP4_BRANDS_NOT_VIDEO = {b"heic", b"heix", b"mif1", b"msf1", b"avif", b"M4A ", b"M4B "}


def sniff(head: bytes) -> MediaType | None:
    """The media type of a file from its first bytes (at least 32), or None if it is not one we show."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] not in _MP4_BRANDS_NOT_VIDEO:
        return MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return WEBM
    return None


def normalise_content_type(declared: str | None) -> str | None:
    """``image/JPG; charset=x`` -> ``image/jpeg``; None or empty stays None."""
    if not declared:
        return None
    base = declared.split(";", 1)[0].strip().lower()
    if not base or base == "application/octet-stream":
        return None
    return TYPE_ALIASES.get(base, base)


def video_length_s(data: bytes, media: MediaType) -> float | None:
    """The playing time of a video in seconds, from its header; None when it cannot be read."""
    try:
        if media is MP4:
            return _mp4_length(data)
        if media is WEBM:
            return _webm_length(data)
    except (struct.error, ValueError, IndexError):
        return None
    return None


def _mp4_length(data: bytes) -> float | None:
    """``moov/mvhd``: timescale and duration (version 0: 32-bit, version 1: 64-bit)."""
    position = _find_box(data, 0, len(data), b"moov")
    if position is None:
        return None
    start, end = position
    found = _find_box(data, start, end, b"mvhd")
    if found is None:
        return None
    body, _end = found
    version = data[body]
    if version == 1:
        timescale, duration = struct.unpack_from(">IQ", data, body + 4 + 16)
    else:
        timescale, duration = struct.unpack_from(">II", data, body + 4 + 8)
    if timescale == 0:
        return None
    return duration / timescale


def _find_box(data: bytes, start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    """(body start, box end) of the first box of type ``wanted`` among the boxes in data[start:end]."""
    offset = start
    while offset + 8 <= end:
        (size,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4:offset + 8]
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header:
            return None
        if kind == wanted:
            return offset + header, min(offset + size, end)
        offset += size
    return None


_EBML_DURATION = b"\x44\x89"
_EBML_TIMECODE_SCALE = b"\x2a\xd7\xb1"


def _webm_length(data: bytes) -> float | None:
    """``Segment/Info/Duration`` (a float in TimecodeScale units, by default milliseconds)."""
    head = data[:65536]
    scale_ns = 1_000_000
    at = head.find(_EBML_TIMECODE_SCALE)
    if at >= 0:
        size_byte = head[at + 3]
        if size_byte & 0x80:
            length = size_byte & 0x7F
            scale_ns = int.from_bytes(head[at + 4:at + 4 + length], "big") or scale_ns
    at = head.find(_EBML_DURATION)
    while at >= 0:
        size_byte = head[at + 2]
        if size_byte == 0x88:
            (value,) = struct.unpack_from(">d", head, at + 3)
            return value * scale_ns / 1e9
        if size_byte == 0x84:
            (value,) = struct.unpack_from(">f", head, at + 3)
            return value * scale_ns / 1e9
        at = head.find(_EBML_DURATION, at + 1)
    return None
