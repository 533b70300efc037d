"""The device domain: roles, pairing codes, the device's lifecycle and presence, and the print policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.devices import (
    PAIRING_TTL,
    Device,
    DeviceKind,
    DeviceSettings,
    DeviceState,
    Role,
    check_device_kinds,
    check_role,
    new_pairing_code,
    normalise_code,
    roles_of,
    show_code,
)
from server.domain.errors import DomainError
from server.domain.print_policy import PrintRecord, check_print
from server.domain.values import InvalidValue
from tests.support import demo_config

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("devices")
    return demo_config(f"sqlite:///{tmp / 'x.sqlite3'}", tmp).branches[0]


PAD_3 = Role(DeviceKind.PAD, "3")


def pending(role: Role = PAD_3) -> Device:
    return Device(id=1, branch_code="SZ-FUTIAN", role=role, state=DeviceState.PENDING, created_at=T0,
                  pairing_code="482913")


@given(st.text(alphabet="0123456789 -·.", max_size=14))
def test_a_typed_code_is_six_digits_whatever_separates_them(text: str) -> None:
    code = normalise_code(text)
    digits = [c for c in text if c.isdigit()]
    assert code == ("".join(digits) if len(digits) == 6 else None)


@given(st.sets(st.from_regex(r"\A[0-9]{6}\Z"), max_size=50), st.integers(0, 999_999))
def test_a_new_code_is_six_digits_and_never_one_shown_already(taken: set[str], seed: int) -> None:
    draws = iter([int(c) for c in sorted(taken)] + [seed, (seed + 1) % 10**6] * 60)
    code = new_pairing_code(taken, lambda _: next(draws))
    assert len(code) == 6 and code.isdigit() and code not in taken
    assert normalise_code(show_code(code)) == code and show_code("482913") == "482 913"


def test_roles_are_checked_against_the_branch(branch) -> None:  # type: ignore[no-untyped-def]
    assert check_role(branch, "kiosk", "K1") == Role(DeviceKind.KIOSK, "K1")
    assert check_role(branch, "pad", "3") == Role(DeviceKind.PAD, "3")
    assert check_role(branch, "wall", None) == Role(DeviceKind.WALL)
    for kind, target in (("kiosk", "K9"), ("kiosk", None), ("pad", None), ("pad", "99"),
                         ("counter_display", "99"), ("wall", "NOZONE"), ("toaster", None)):
        with pytest.raises(DomainError) as refused:
            check_role(branch, kind, target)
        assert (refused.value.code, refused.value.http_status) == ("bad_role", 422)
    roles = roles_of(branch)
    assert {Role(DeviceKind.KIOSK, "K1"), Role(DeviceKind.PAD, "8"), Role(DeviceKind.WALL)} <= set(roles)
    assert all(check_role(branch, r.kind.value, r.target) == r for r in roles)
    label = Role(DeviceKind.PAD, "3").label(branch)
    assert label.en.startswith("Rating pad · ") and label.zh.startswith("评价器 · ")


def test_pads_are_always_paired_and_kiosks_only_when_the_branch_says() -> None:
    settings = DeviceSettings()
    assert settings.must_pair(DeviceKind.PAD) and not settings.must_pair(DeviceKind.KIOSK)
    strict = DeviceSettings(require_pairing=check_device_kinds(["kiosk", "wall"]))
    assert strict.must_pair(DeviceKind.KIOSK) and strict.must_pair(DeviceKind.WALL)
    assert not strict.must_pair(DeviceKind.COUNTER_DISPLAY)
    for bad in (["pad"], ["printer"], [3]):
        with pytest.raises(InvalidValue):
            check_device_kinds(bad)
    assert settings.heartbeat == timedelta(seconds=30)


def test_a_device_is_approved_once_within_its_codes_life_then_revoked() -> None:
    device = pending()
    with pytest.raises(DomainError, match="expired"):
        pending().approve(Role(DeviceKind.PAD, "3"), None, "manager", T0 + PAIRING_TTL)
    device.approve(Role(DeviceKind.PAD, "2"), " by the door ", "manager", T0 + timedelta(minutes=1))
    assert (device.state, device.role, device.name, device.pairing_code) == (
        DeviceState.PAIRED, Role(DeviceKind.PAD, "2"), "by the door", None)
    assert device.holds("SZ-FUTIAN", Role(DeviceKind.PAD, "2"))
    assert not device.holds("SZ-FUTIAN", Role(DeviceKind.PAD, "3")) and not device.holds("GZ", device.role)
    with pytest.raises(DomainError):
        device.approve(Role(DeviceKind.PAD, "2"), None, "manager", T0)
    device.revoke("manager", T0 + timedelta(hours=1))
    assert device.state == DeviceState.REVOKED and not device.holds("SZ-FUTIAN", device.role)
    with pytest.raises(DomainError, match="already"):
        device.revoke("manager", T0)
    with pytest.raises(DomainError):
        pending().rename("x" * 41)


@given(st.integers(0, 10_000), st.integers(30, 3600))
def test_a_paired_device_is_offline_since_it_was_last_heard(silent_s: int, offline_after_s: int) -> None:
    device = pending()
    device.approve(device.role, None, "manager", T0)
    presence = device.presence(T0 + timedelta(seconds=silent_s), timedelta(seconds=offline_after_s))
    assert presence is not None
    assert presence.online == (silent_s <= offline_after_s)
    assert presence.offline_since == (None if presence.online else T0)
    assert pending().presence(T0, timedelta(seconds=90)) is None


SETTINGS = DeviceSettings(prints_per_ticket=2, print_window=timedelta(minutes=5))


def test_a_ticket_prints_only_at_its_kiosk_soon_and_staff_anywhere() -> None:
    def check(record: PrintRecord, kiosk: str = "K1", minutes: float = 1, staff: bool = False) -> None:
        check_print(record, kiosk=kiosk, issued_by="K1", issued_at=T0, now=T0 + timedelta(minutes=minutes),
                    settings=SETTINGS, by_staff=staff)

    check(PrintRecord())
    check(PrintRecord(prints=1))
    for record, kiosk, minutes, code in ((PrintRecord(), "K2", 1, "wrong_kiosk"),
                                         (PrintRecord(prints=2), "K1", 1, "print_limit_reached"),
                                         (PrintRecord(), "K1", 5.5, "print_window_passed"),
                                         (PrintRecord(reserved_until=T0 + timedelta(minutes=2), reserved_by="K1"),
                                          "K1", 1, "print_in_progress")):
        with pytest.raises(DomainError) as refused:
            check(record, kiosk, minutes)
        assert refused.value.code == code
    check(PrintRecord(prints=9), "K2", 60, staff=True)
    with pytest.raises(DomainError, match="being printed"):
        check(PrintRecord(reserved_until=T0 + timedelta(minutes=2)), staff=True)


@given(st.lists(st.tuples(st.sampled_from(["K1", "K2"]), st.floats(0, 10), st.booleans()), max_size=30))
def test_kiosks_never_print_a_ticket_more_than_allowed(attempts: list[tuple[str, float, bool]]) -> None:
    """Whatever kiosks ask, in any order, and whether each print works: at most prints_per_ticket copies come out
    of kiosks, all at the issuing one, all within the window."""
    record = PrintRecord()
    for kiosk, minutes, works in sorted(attempts, key=lambda a: a[1]):
        now = T0 + timedelta(minutes=minutes)
        try:
            check_print(record, kiosk=kiosk, issued_by="K1", issued_at=T0, now=now, settings=SETTINGS,
                        by_staff=False)
        except DomainError:
            continue
        assert kiosk == "K1" and now <= T0 + SETTINGS.print_window
        record.prints += 1 if works else 0
    assert record.prints <= SETTINGS.prints_per_ticket
