"""API tokens and who takes which ticket class, as pure rules: scopes, branches a manager may give, a token's life,
the priority lane, and the access log's masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.api_tokens import (
    ApiToken,
    Scope,
    TokenGrant,
    TokenState,
    check_branches,
    check_expiry,
    check_name,
    looks_like_token,
    new_token,
    require_scope,
    shown_part,
    token_hash,
)
from server.domain.devices import DeviceKind, DeviceSettings, PriorityFrom
from server.domain.errors import DomainError, NotAllowed, Unauthenticated
from server.domain.issue_rights import Issuer, issuable, may_issue
from server.domain.tickets import PriorityClass
from server.domain.values import InvalidValue
from server.web import mask_tokens

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
BRANCHES = ["SZ-FUTIAN", "GZ-TIANHE", "BJ-XIDAN"]
codes = st.sets(st.sampled_from(BRANCHES))


def grant(scope: Scope, branches: frozenset[str] | None) -> TokenGrant:
    return TokenGrant(1, "qt_AbCd1234", "booking", scope, branches)


@given(scope=st.sampled_from(Scope), needed=st.sampled_from(Scope))
def test_act_reaches_everything_read_only_reads(scope: Scope, needed: Scope) -> None:
    assert scope.reaches(needed) == (scope == Scope.ACT or needed == Scope.READ)


@given(scope=st.sampled_from(Scope), needed=st.one_of(st.none(), st.sampled_from(Scope)),
       branches=st.one_of(st.none(), codes), branch=st.one_of(st.none(), st.sampled_from(BRANCHES)))
def test_a_token_passes_a_route_only_in_scope_and_branch(scope: Scope, needed: Scope | None,
                                                         branches: set[str] | None, branch: str | None) -> None:
    """Closed routes first, then the scope, then the branch: the refusal names the first thing that fails."""
    token = grant(scope, None if branches is None else frozenset(branches))
    expected = ("not_for_tokens" if needed is None else "insufficient_scope" if not scope.reaches(needed)
                else "forbidden" if branch is not None and branches is not None and branch not in branches else None)
    if expected is None:
        require_scope(token, needed, branch)
    else:
        with pytest.raises(NotAllowed) as refused:
            require_scope(token, needed, branch)
        assert refused.value.code == expected and refused.value.http_status == 403


@given(requested=st.one_of(st.none(), codes), managed=st.one_of(st.none(), codes.filter(bool)))
def test_a_manager_gives_only_branches_they_manage(requested: set[str] | None, managed: set[str] | None) -> None:
    try:
        chosen = check_branches(requested, managed, BRANCHES)
    except DomainError as refusal:
        if requested is None:
            assert managed is not None and refusal.code == "beyond_your_branches"
        elif not requested:
            assert refusal.code == "bad_branches"
        else:
            assert managed is not None and not requested <= managed and refusal.code == "beyond_your_branches"
        return
    assert chosen == (None if requested is None else frozenset(requested))
    assert (managed is None) if chosen is None else (managed is None or chosen <= managed)


def test_unknown_branches_and_bad_names_and_expiries_are_refused() -> None:
    with pytest.raises(DomainError, match="no branch NOWHERE"):
        check_branches(["NOWHERE"], None, BRANCHES)
    for name in ("", " ", "x" * 41, "tab\there"):
        with pytest.raises(DomainError):
            check_name(name)
    assert check_name("  预约系统 booking ") == "预约系统 booking"
    for days in (0, -1, 3651):
        with pytest.raises(DomainError):
            check_expiry(days, NOW)
    assert check_expiry(None, NOW) is None and check_expiry(30, NOW) == NOW + timedelta(days=30)


@given(st.binary(min_size=32, max_size=32))
def test_a_token_is_recognisable_and_only_its_hash_and_start_are_kept(raw: bytes) -> None:
    import base64

    token = new_token(lambda n: base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
    assert token.startswith("qt_") and looks_like_token(token) and len(token) == 46
    assert shown_part(token) == token[:11] and len(token_hash(token)) == 64 and token not in token_hash(token)
    assert not looks_like_token(token[:-1]) and not looks_like_token("Bearer " + token)


def test_a_token_lives_until_revoked_or_expired() -> None:
    token = ApiToken(id=7, name="booking", shown="qt_AbCd1234", scope=Scope.ACT, branches=frozenset({"SZ-FUTIAN"}),
                     created_at=NOW, created_by="manager", expires_at=NOW + timedelta(days=1))
    assert token.state(NOW) == TokenState.ACTIVE and token.grant(NOW).label == "token:qt_AbCd1234"
    later = NOW + timedelta(days=1)
    assert token.state(later) == TokenState.EXPIRED
    with pytest.raises(Unauthenticated, match="expired") as expired:
        token.grant(later)
    assert expired.value.code == "token_expired"
    token.revoke("manager", NOW)
    with pytest.raises(Unauthenticated) as revoked:
        token.grant(NOW)
    assert revoked.value.code == "token_revoked"
    with pytest.raises(DomainError, match="already revoked"):
        token.revoke("manager", NOW)
    assert token.managed_by(None) and token.managed_by({"SZ-FUTIAN", "GZ-TIANHE"}) and not token.managed_by({"X"})
    every = ApiToken(id=8, name="all", shown="qt_x", scope=Scope.READ, branches=None, created_at=NOW,
                     created_by="manager")
    assert every.managed_by(None) and not every.managed_by({"SZ-FUTIAN"})


# --- who takes which class of ticket --------------------------------------------------------------------------


@given(issuer=st.sampled_from(Issuer), priority=st.sampled_from(PriorityClass),
       priority_from=st.sampled_from(PriorityFrom), kiosks_paired=st.booleans())
def test_who_takes_which_ticket_class(issuer: Issuer, priority: PriorityClass, priority_from: PriorityFrom,
                                      kiosks_paired: bool) -> None:
    if kiosks_paired and priority_from == PriorityFrom.ANYONE:
        return  # refused by the settings themselves (below)
    settings = DeviceSettings(require_pairing=frozenset({DeviceKind.KIOSK}) if kiosks_paired else frozenset(),
                              priority_from=priority_from)
    allowed = may_issue(issuer, priority, settings)
    if issuer in (Issuer.STAFF, Issuer.INTEGRATION) or priority == PriorityClass.NORMAL:
        assert allowed
    elif priority.given_by_staff:
        assert not allowed
    else:  # the priority lane
        open_to_all = priority_from == PriorityFrom.ANYONE and not kiosks_paired
        assert allowed == (open_to_all or issuer == Issuer.PAIRED_KIOSK)
    assert (priority in issuable(issuer, settings)) == allowed


def test_anyone_cannot_be_said_where_kiosks_must_be_paired() -> None:
    with pytest.raises(InvalidValue) as refused:
        DeviceSettings(require_pairing=frozenset({DeviceKind.KIOSK}), priority_from=PriorityFrom.ANYONE)
    assert refused.value.field == "priority_from"
    assert DeviceSettings().priority_needs_paired_kiosk  # the default: paired kiosks and staff


# --- logs -----------------------------------------------------------------------------------------------------


def test_the_access_log_never_shows_an_api_token() -> None:
    token = "qt_" + "A1b2C3d4" + "x" * 35
    line = f'10.0.0.5 - - "GET /api/branches/SZ-FUTIAN/events?access_token={token} HTTP/1.1" 200'
    masked = mask_tokens(line)
    assert token not in masked and "qt_A1b2C3d4…" in masked
    assert mask_tokens(f"Authorization: Bearer {token}") == "Authorization: Bearer qt_A1b2C3d4…"
