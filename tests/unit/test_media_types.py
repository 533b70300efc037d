"""Uploads are judged by their bytes; video lengths are read from MP4 and WebM headers."""

from __future__ import annotations

import pytest

from server.domain.media import JPEG, MP4, PNG, WEBM, WEBP, normalise_content_type, sniff, video_length_s
from tests.media_samples import mp4_bytes, png_bytes, webm_bytes


@pytest.mark.parametrize(("head", "expected"), [
    (png_bytes(), PNG),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40, JPEG),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40, WEBP),
    (mp4_bytes(3), MP4),
    (webm_bytes(3), WEBM),
    (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, None),  # a HEIC photo is not a video
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40, None),
    (b"GIF89a" + b"\x00" * 40, None),
    (b"", None),
])
def test_sniff(head: bytes, expected: object) -> None:
    assert sniff(head[:64]) is expected


def test_video_lengths() -> None:
    assert video_length_s(mp4_bytes(12.25), MP4) == 12.25
    assert video_length_s(mp4_bytes(3600, version=1), MP4) == 3600
    assert video_length_s(webm_bytes(9.5), WEBM) == pytest.approx(9.5)
    assert video_length_s(webm_bytes(None), WEBM) is None
    assert video_length_s(mp4_bytes(5)[:40], MP4) is None  # truncated: no moov box
    assert video_length_s(png_bytes(), PNG) is None


@pytest.mark.parametrize(("declared", "normal"), [
    ("image/JPG", "image/jpeg"), ("image/png; charset=binary", "image/png"), ("", None), (None, None),
    ("application/octet-stream", None), ("video/webm", "video/webm"),
])
def test_normalise_content_type(declared: str | None, normal: str | None) -> None:
    assert normalise_content_type(declared) == normal
