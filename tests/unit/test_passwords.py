"""The rule on staff passwords, the temporary passwords an administrator hands over, and the demo's passwords."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.security import check_password_hash

from server.domain.passwords import _COMMON as COMMON
from server.domain.passwords import (
    DEMO_PASSWORD_HASHES,
    DEMO_PASSWORDS,
    MIN_LENGTH,
    password_problem,
    temporary_password,
)

ROOT = Path(__file__).resolve().parents[2]


@given(st.text(max_size=MIN_LENGTH - 1))
def test_a_short_password_is_refused_in_both_languages(password: str) -> None:
    problem = password_problem(password, "zhang.wei")
    assert problem is not None and str(MIN_LENGTH) in problem.zh and str(MIN_LENGTH) in problem.en


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=MIN_LENGTH,
               max_size=40).filter(lambda p: len(set(p)) >= 4 and "zhang.wei" not in p.lower()))
def test_a_long_varied_password_passes_unless_everyone_tries_it(password: str) -> None:
    problem = password_problem(password, "zhang.wei")
    assert (problem is None) == (password.lower() not in COMMON | set(DEMO_PASSWORDS))


def test_what_is_refused() -> None:
    for password, why in (("demo-manager", "common"), ("password123", "common"), ("zhang.wei.2026!", "user name"),
                          ("aaaaaaaaaaaa", "repeats"), ("x" * 129, "at most")):
        problem = password_problem(password, "zhang.wei")
        assert problem is not None and why in problem.en, password
        assert problem.zh
    assert password_problem("river-lamp-orchid", "zhang.wei") is None


def test_temporary_passwords_pass_the_rule_and_differ() -> None:
    made = {temporary_password() for _ in range(50)}
    assert len(made) == 50
    assert all(password_problem(p, "anyone") is None and len(p) == 14 for p in made)


def test_the_demo_hashes_are_the_demo_accounts() -> None:
    data = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    hashes = {a["password_hash"] for a in data["staff"]}
    assert hashes == DEMO_PASSWORD_HASHES
    for password_hash in DEMO_PASSWORD_HASHES:
        assert any(check_password_hash(password_hash, p) for p in DEMO_PASSWORDS)
