"""Speech made by the server, for displays whose browser has no voice for a language: espeak-ng, offline.

espeak-ng is a Debian package (``apt-get install espeak-ng``); nothing here needs the internet. The text is
passed on standard input, never on the command line. Results are kept in a small in-memory cache keyed by
(voice, rate, text), bounded in bytes, so a recall or a second display costs nothing.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import threading
from collections import OrderedDict

MAX_TEXT = 500


class VoiceUnavailable(Exception):
    """The server cannot speak (espeak-ng missing or failing); the display falls back to its chime."""


class EspeakVoice:
    """Text to WAV bytes with espeak-ng, cached."""

    def __init__(self, executable: str | None = None, *, cache_bytes: int = 32 * 1024 * 1024,
                 timeout_s: float = 15.0) -> None:
        self.executable = executable or shutil.which("espeak-ng") or shutil.which("espeak")
        self.cache_bytes = cache_bytes
        self.timeout_s = timeout_s
        self._cache: OrderedDict[tuple[str, int, str], bytes] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.executable is not None

    def synthesize(self, text: str, voice: str, rate: int) -> bytes:
        """WAV (RIFF, 16-bit mono) of ``text`` spoken by ``voice`` at ``rate`` words per minute."""
        text = " ".join(text.split())[:MAX_TEXT]
        key = (voice, rate, text)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        if self.executable is None:
            raise VoiceUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
        command = [self.executable, "-v", voice, "-s", str(rate), "--stdin", "--stdout"]
        try:
            result = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                                    timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VoiceUnavailable(f"espeak-ng failed: {exc}") from None
        audio = result.stdout
        if result.returncode != 0 or not audio.startswith(b"RIFF"):
            message = result.stderr.decode("utf-8", "replace").strip()[:200]
            raise VoiceUnavailable(f"espeak-ng failed (exit {result.returncode}): {message}")
        audio = fix_wav_sizes(audio)
        self._remember(key, audio)
        return audio

    def _remember(self, key: tuple[str, int, str], audio: bytes) -> None:
        if len(audio) > self.cache_bytes:
            return
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = audio
            self._cached_bytes += len(audio)
            while self._cached_bytes > self.cache_bytes:
                _old_key, old = self._cache.popitem(last=False)
                self._cached_bytes -= len(old)

    @property
    def cached_items(self) -> int:
        return len(self._cache)


def fix_wav_sizes(audio: bytes) -> bytes:
    """espeak-ng writing to a pipe leaves placeholder sizes in the RIFF header; write the real ones."""
    if len(audio) < 12 or audio[:4] != b"RIFF" or audio[8:12] != b"WAVE":
        return audio
    fixed = bytearray(audio)
    struct.pack_into("<I", fixed, 4, len(audio) - 8)
    offset = 12
    while offset + 8 <= len(audio):
        chunk_id = audio[offset:offset + 4]
        (size,) = struct.unpack_from("<I", audio, offset + 4)
        if chunk_id == b"data":
            struct.pack_into("<I", fixed, offset + 4, len(audio) - offset - 8)
            break
        offset += 8 + size + (size & 1)
    return bytes(fixed)
