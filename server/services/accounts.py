"""Staff sign-in: checking a password against the account list of ``config.toml``.

Password hashes are deliberately slow (scrypt or PBKDF2, tens to hundreds of milliseconds). The hash runs
through ``offload`` (a native thread under eventlet, where hashlib releases the interpreter lock), so a
sign-in does not freeze the kiosks and displays of the hall meanwhile. An unknown user name costs the
same hash as a wrong password, so the answer's timing does not tell which names exist.
"""

from __future__ import annotations

from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from server.config import HallConfig, StaffAccount
from server.offload import Offload


@cache
def _decoy_hash(like: str) -> str:
    """A hash, made the same way as a real account's, of a password no account has: unknown names cost as much."""
    method = like.split("$", 1)[0] or "scrypt"
    return generate_password_hash("no account has this password", method=method)


def authenticate(config: HallConfig, username: str, password: str, offload: Offload) -> StaffAccount | None:
    """The account these credentials open, or None."""
    account = config.account(username)
    if account is None:
        known_method = config.staff[0].password_hash if config.staff else "scrypt"
        offload(lambda: check_password_hash(_decoy_hash(known_method), password))
        return None
    return account if offload(lambda: check_password_hash(account.password_hash, password)) else None
