"""The shipped chime is exactly what display/chime.py synthesises (nothing recorded or borrowed)."""

from __future__ import annotations

import io
import wave

from display.chime import CHIME_PATH, LENGTH_S, RATE, chime_wav


def test_shipped_chime_is_reproducible() -> None:
    made = chime_wav()
    assert CHIME_PATH.read_bytes() == made, "run `python -m display.chime` after changing the chime"
    with wave.open(io.BytesIO(made)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, RATE)
        assert audio.getnframes() == int(LENGTH_S * RATE)
