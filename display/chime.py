"""The call chime of the wall displays, synthesised here (no recorded or third-party sound).

A soft two-note "ding-dong" (E5 then C5) with a few bell-like partials and an exponential decay, 22.05 kHz,
16-bit mono WAV. ``python -m display.chime`` rewrites ``static/sounds/chime.wav``; a test checks that the
shipped file is exactly what this code makes.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

RATE = 22050
NOTES = ((659.25, 0.0), (523.25, 0.55))  # (frequency Hz, start s): E5, then C5
PARTIALS = ((1.0, 1.0), (2.0, 0.35), (3.0, 0.12), (4.2, 0.05))  # (frequency ratio, amplitude)
LENGTH_S = 2.2
DECAY_S = 0.45  # amplitude falls to 1/e in this time
ATTACK_S = 0.006
PEAK = 0.42  # of full scale: calm, never harsh
CHIME_PATH = Path(__file__).resolve().parent.parent / "static" / "sounds" / "chime.wav"


def samples() -> list[float]:
    """The chime as floats in [-1, 1]."""
    total = int(LENGTH_S * RATE)
    out = [0.0] * total
    norm = sum(amplitude for _ratio, amplitude in PARTIALS)
    for frequency, start in NOTES:
        first = int(start * RATE)
        for index in range(first, total):
            t = (index - first) / RATE
            envelope = min(1.0, t / ATTACK_S) * math.exp(-t / DECAY_S)
            if t > ATTACK_S and envelope < 1e-4:
                break
            tone = sum(amplitude * math.sin(2 * math.pi * frequency * ratio * t) * math.exp(-t * (ratio - 1) * 1.5)
                       for ratio, amplitude in PARTIALS)
            out[index] += PEAK * envelope * tone / norm
    fade = int(0.05 * RATE)
    for index in range(fade):
        out[total - 1 - index] *= index / fade
    return out


def chime_wav() -> bytes:
    """The chime as WAV bytes (deterministic: the same bytes on every machine)."""
    frames = b"".join(struct.pack("<h", max(-32767, min(32767, round(value * 32767)))) for value in samples())
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(frames)
    return buffer.getvalue()


if __name__ == "__main__":
    CHIME_PATH.parent.mkdir(parents=True, exist_ok=True)
    CHIME_PATH.write_bytes(chime_wav())
    print(f"wrote {CHIME_PATH} ({CHIME_PATH.stat().st_size} bytes)")
