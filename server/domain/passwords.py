"""What makes a password acceptable for a staff account, and the demo's passwords, which must not stay in use.

The rule follows current guidance (NIST SP 800-63B): length matters, composition rules do not; refuse the
passwords every guesser tries first, the account's own name and the demo's published passwords. Problems are
bilingual: the person choosing the password reads them.
"""

from __future__ import annotations

import secrets

from server.domain.values import Text

MIN_LENGTH = 10
MAX_LENGTH = 128  # the hash's cost grows with it; nobody types more

DEMO_PASSWORDS = ("demo-staff", "demo-manager", "demo-admin")
"""Published in the README for the demo accounts: an account that still uses one is open to anyone."""

_COMMON = frozenset((
    "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "1234567890",
    "123456789", "12345678", "0123456789", "1111111111", "0000000000", "1q2w3e4r5t", "qwertyuiop", "qwertyuiop1",
    "1qaz2wsx3edc", "qazwsxedc", "asdfghjkl", "zxcvbnm123", "abc1234567", "abcdefghij", "iloveyou123", "welcome123",
    "welcome1234", "letmein123", "administrator", "admin12345", "admin123456", "changeme12", "woaini1314",
    "woaini520", "a123456789", "aa123456789", "qq123456789", "5201314520", "1314520520", "iloveyou11", "sunshine12",
    "football12", "monkey1234", "dragon1234", "master1234", "trustno1234", "superman12", "baseball12", "princess12",
    "starwars12", "computer12", "whatever12",
))


def password_problem(password: str, username: str) -> Text | None:
    """Why ``password`` will not do for ``username``'s account, or None when it will."""
    if len(password) < MIN_LENGTH:
        return Text(f"密码至少 {MIN_LENGTH} 个字符", f"Use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        return Text(f"密码最多 {MAX_LENGTH} 个字符", f"Use at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in DEMO_PASSWORDS or lowered in _COMMON:
        return Text("这个密码太常见，很容易被猜到", "This password is too common: it is easily guessed")
    if username and username.lower() in lowered:
        return Text("密码不能包含用户名", "The password must not contain the user name")
    if len(set(password)) < 4:
        return Text("密码的字符太单一", "The password repeats too few characters")
    return None


_READABLE = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I to misread


def temporary_password() -> str:
    """A password an administrator hands over once (the account must change it at its next sign-in)."""
    while True:
        candidate = "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(3))
        if password_problem(candidate, "") is None:
            return candidate


DEMO_PASSWORD_HASHES = frozenset((
    # demo-staff
    "pbkdf2:sha256:200000$S0NPRg4hvhqt8KPI$5ff105fb72cd4abc8a1be4e2b3dc75297a15a86e0cbec1be7e710c039c73cad3",
    # demo-manager
    "pbkdf2:sha256:200000$TD101lOK2QvPQxzc$acb27bdc436cdd1258730022287c9b94e258a20c6bec03356c87f98b4358e270",
    # demo-admin
    "pbkdf2:sha256:200000$YOcFG6JmBB1w3gbc$fd5a03482b7c76c038e5485bab08c77968d401b1c5533d7ab14abcac14bf6f50",
))
"""The demo config.toml's hashes of :data:`DEMO_PASSWORDS`: an account with one of them is found at start-up without
computing a hash (a test checks they are the demo's)."""
