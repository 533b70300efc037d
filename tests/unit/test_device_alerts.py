"""The pure rules behind equipment alerts: which paired devices a look finds silent, that no device goes silent
before the look says to look again, and what a print's outcome says about the printer."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import server.printing
from server.domain.device_alerts import PAPER_LOW, PRINTER_PROBLEMS, printer_problem
from server.domain.devices import Device, DeviceKind, DeviceState, Presence, Role, watch_silence
from server.domain.tickets import EventKind
from server.printing import PrinterError

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
OFFLINE_AFTER = timedelta(seconds=90)

seconds = st.integers(min_value=0, max_value=600)


@st.composite
def devices(draw: st.DrawFn) -> list[Device]:
    """A branch's devices (paired, pending or revoked), heard at various times before the look at T0 + 600 s,
    some with their silence already recorded."""
    made = []
    for number in range(draw(st.integers(min_value=0, max_value=8))):
        paired_s = draw(seconds)
        heard_s = draw(st.none() | st.integers(min_value=paired_s, max_value=600))
        state = draw(st.sampled_from(DeviceState))
        noted = draw(st.booleans())
        made.append(Device(
            id=number + 1, branch_code="B", role=Role(DeviceKind.KIOSK, "K1"), state=state,
            created_at=T0, paired_at=T0 + timedelta(seconds=paired_s),
            last_seen_at=None if heard_s is None else T0 + timedelta(seconds=heard_s),
            offline_noted_at=T0 + timedelta(seconds=600) if noted and state == DeviceState.PAIRED else None))
    return made


@given(devices(), st.integers(min_value=0, max_value=300))
def test_a_look_finds_exactly_the_silent_unrecorded_devices_and_says_when_to_look_again(
    found: list[Device], later_s: int
) -> None:
    looked_at = T0 + timedelta(seconds=600)
    look = watch_silence(found, looked_at, OFFLINE_AFTER)
    expected = [d for d in found if d.paired and d.offline_noted_at is None
                and d.presence(looked_at, OFFLINE_AFTER) == Presence(False, d.heard_at)]
    assert list(look.silent) == expected
    assert look.earliest_heard <= looked_at
    # until the look is due, no device that was still heard can have gone silent (heartbeats only delay it)
    now = looked_at + timedelta(seconds=later_s)
    if not look.due(now, OFFLINE_AFTER):
        for device in found:
            if device.paired and device.offline_noted_at is None and device not in look.silent:
                presence = device.presence(now, OFFLINE_AFTER)
                assert presence is not None and presence.online
        # nor one paired after the look (heard at its pairing)
        newcomer = Device(id=99, branch_code="B", role=Role(DeviceKind.PAD, "3"), state=DeviceState.PAIRED,
                          created_at=looked_at, paired_at=looked_at, last_seen_at=looked_at)
        presence = newcomer.presence(now, OFFLINE_AFTER)
        assert presence is not None and presence.online


def test_a_branch_without_devices_is_looked_at_once_per_offline_after() -> None:
    look = watch_silence([], T0, OFFLINE_AFTER)
    assert look.silent == () and not look.due(T0 + OFFLINE_AFTER, OFFLINE_AFTER)
    assert look.due(T0 + OFFLINE_AFTER + timedelta(microseconds=1), OFFLINE_AFTER)


@given(st.sampled_from([EventKind.PRINTED, EventKind.PRINT_FAILED]), st.none() | st.text(max_size=12),
       st.booleans())
def test_the_latest_print_says_what_the_printer_has(kind: EventKind, fault: str | None, paper_low: bool) -> None:
    problem = printer_problem(kind, fault, paper_low)
    if kind == EventKind.PRINTED:
        assert problem == (PAPER_LOW if paper_low else None)
    else:
        assert problem in PRINTER_PROBLEMS and (fault not in PRINTER_PROBLEMS or problem == fault)


def test_every_fault_the_printer_adapter_reports_has_words_in_both_languages() -> None:
    source = inspect.getsource(server.printing)
    faults = set(re.findall(rf'{PrinterError.__name__}\("([a-z_]+)"', source))
    assert faults and faults <= set(PRINTER_PROBLEMS)
    for text in PRINTER_PROBLEMS.values():
        assert text.zh and text.en


def test_the_live_loop_watches_each_branch_for_silent_devices_every_few_seconds(monkeypatch: Any) -> None:
    from server.services import live_loop
    from server.services.live_loop import LiveLoop

    clock = {"now": 0.0}
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: clock["now"])
    watched: list[tuple[float, str]] = []

    class Live:
        def take_dirty(self) -> dict[str, bool]:
            return {}

        def branch_seqs(self) -> dict[str, int]:
            return {}

        def refresh_cost(self, code: str) -> float:
            return 0.0

        def refreshed_seq(self, code: str) -> int:
            return 0

        def refresh(self, code: str) -> None:
            return None

    loop = LiveLoop(Live(), ["A", "B"], spawn=lambda work: None, sleep=lambda _s: None, purge=lambda: None,  # type: ignore[arg-type]
                    watch_devices=lambda code: watched.append((clock["now"], code)), devices_every_s=5.0)

    def tick(_s: float) -> None:
        clock["now"] += 0.5
        if clock["now"] >= 16:
            loop.running = False

    loop.sleep = tick
    loop.running = True
    loop.run()
    assert watched == [(5.0, "A"), (5.0, "B"), (10.0, "A"), (10.0, "B"), (15.0, "A"), (15.0, "B")]
