"""Staff sign-in: checking a password against the account list of ``config.toml`` (a disabled account never opens).

Password hashes are deliberately slow (scrypt or PBKDF2, tens to hundreds of milliseconds). The hash runs
through ``offload`` (a native thread under eventlet, where hashlib releases the interpreter lock), so a
sign-in does not freeze the kiosks and displays of the hall meanwhile. An unknown user name costs the
same hash as a wrong password, so the answer's timing does not tell which names exist.

Guessing is throttled (:class:`SignInThrottle`): after ``server.sign_in_attempts`` failures in a row for one
name from one device, that pair is locked out for ``server.sign_in_lockout_min``, twice as long after each
further run of failures, up to a day. A locked pair is refused before any hash is computed, even with the right
password, so a lockout costs the server nothing. The pair, not the name alone, is the key: someone guessing at
the manager's name from a phone on the hall's Wi-Fi does not lock the manager out of the back-office PC. The
record lives in each server process's memory: with several processes, each counts its own attempts.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from server.domain.errors import DomainError
from server.domain.hall import StaffAccount
from server.offload import Offload
from server.settings import HallConfig

LONGEST_LOCKOUT = timedelta(days=1)


class TooManySignIns(DomainError):
    code = "too_many_attempts"
    http_status = 429
    first = True  # the first refusal of this lockout (the audit log records that one, not each further knock)


@dataclass
class _Failures:
    count: int
    last_at: datetime
    locked_until: datetime | None = None
    refused_at: datetime | None = None  # when the current lockout last refused an attempt (None: not yet)


class SignInThrottle:
    """Failed sign-ins per (user name, device), and the lockouts they earn. Thread-safe; the clock is passed in."""

    def __init__(self, attempts: int, lockout: timedelta, clock: Callable[[], datetime],
                 max_entries: int = 10_000) -> None:
        self.attempts = attempts
        self.lockout = lockout
        self.clock = clock
        self.max_entries = max_entries
        self._failures: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()

    def check(self, username: str, client: str) -> None:
        """Refuse (429, with ``retry_after_s``) while this name is locked out for this device."""
        now = self.clock()
        with self._lock:
            record = self._failures.get((username, client))
            locked_until = record.locked_until if record else None
            first = False
            if record is not None and locked_until is not None and locked_until > now:
                first = record.refused_at is None
                record.refused_at = now
        if locked_until is not None and locked_until > now:
            seconds = math.ceil((locked_until - now).total_seconds())
            minutes = math.ceil(seconds / 60)
            refusal = TooManySignIns(f"too many failed sign-ins for {username!r}; try again in {minutes} min",
                                     retry_after_s=seconds)
            refusal.first = first
            raise refusal

    def failed(self, username: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            record = self._failures.get((username, client))
            if record is None:
                if len(self._failures) >= self.max_entries:
                    self._forget_stale(now)
                record = self._failures[(username, client)] = _Failures(count=0, last_at=now)
            record.count += 1
            record.last_at = now
            if record.count % self.attempts == 0:
                runs = record.count // self.attempts
                record.locked_until = now + min(self.lockout * 2 ** min(runs - 1, 20), LONGEST_LOCKOUT)
                record.refused_at = None

    def succeeded(self, username: str, client: str) -> None:
        with self._lock:
            self._failures.pop((username, client), None)

    def _forget_stale(self, now: datetime) -> None:
        """Make room: drop the records that hold no lockout and were last touched longest ago."""
        unlocked = sorted((r.last_at, key) for key, r in self._failures.items()
                          if r.locked_until is None or r.locked_until <= now)
        for _, key in unlocked[: max(1, len(unlocked) // 2)]:
            del self._failures[key]


@cache
def _decoy_hash(like: str) -> str:
    """A hash, made the same way as a real account's, of a password no account has: unknown names cost as much."""
    method = like.split("$", 1)[0] or "scrypt"
    return generate_password_hash("no account has this password", method=method)


def authenticate(config: HallConfig, username: str, password: str, offload: Offload, *,
                 throttle: SignInThrottle | None = None, client: str = "") -> StaffAccount | None:
    """The account these credentials open, or None; :class:`TooManySignIns` while ``client`` is locked out."""
    if throttle is not None:
        throttle.check(username, client)
    account = config.account(username)
    if account is not None and account.disabled:  # answered like an unknown name: same cost, same answer
        account = None
    if account is None:
        known_method = config.staff[0].password_hash if config.staff else "scrypt"
        offload(lambda: check_password_hash(_decoy_hash(known_method), password))
        opened = None
    else:
        opened = account if offload(lambda: check_password_hash(account.password_hash, password)) else None
    if throttle is not None:
        if opened is None:
            throttle.failed(username, client)
        else:
            throttle.succeeded(username, client)
    return opened
