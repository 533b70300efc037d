"""Overflow to nearby branches: which branches a customer facing a long wait is shown, and when a wait is long."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.estimation import WaitEstimate
from server.domain.hall import Overflow
from server.domain.overflow import MAX_NEARBY, Elsewhere, SelfService, nearby, wait_is_long
from server.domain.values import InvalidValue, Text

elsewhere = st.builds(
    Elsewhere,
    branch=st.text(alphabet="ABCDEFG", min_size=1, max_size=4),
    distance_km=st.none() | st.floats(min_value=0, max_value=50),
    offers_service=st.booleans(),
    open_now=st.booleans(),
    wait_min=st.none() | st.floats(min_value=0, max_value=200),
    issuing=st.booleans(),
)
settings = dict(here=st.floats(min_value=0, max_value=200), nearby_km=st.floats(min_value=0.1, max_value=20),
                margin_min=st.floats(min_value=0, max_value=60))


def worth(b: Elsewhere, here: float, nearby_km: float, margin_min: float) -> bool:
    return (b.offers_service and b.open_now and b.issuing and b.distance_km is not None and b.distance_km <= nearby_km
            and b.wait_min is not None and b.wait_min <= here - margin_min)


@given(branches=st.lists(elsewhere, max_size=12), **settings)
def test_only_open_near_branches_offering_the_service_with_a_shorter_wait_are_shown(
        branches: list[Elsewhere], here: float, nearby_km: float, margin_min: float) -> None:
    shown = nearby(here, branches, nearby_km=nearby_km, margin_min=margin_min)
    assert all(worth(b, here, nearby_km, margin_min) for b in shown)
    assert len(shown) == min(MAX_NEARBY, sum(worth(b, here, nearby_km, margin_min) for b in branches))


@given(branches=st.lists(elsewhere, max_size=12), **settings)
def test_the_nearest_are_shown_nearest_first(branches: list[Elsewhere], here: float, nearby_km: float,
                                             margin_min: float) -> None:
    shown = nearby(here, branches, nearby_km=nearby_km, margin_min=margin_min)
    distances = [b.distance_km for b in shown]
    assert distances == sorted(distances)  # type: ignore[type-var]
    left_out = [b for b in branches if worth(b, here, nearby_km, margin_min) and b not in shown]
    assert all(b.distance_km >= distances[-1] for b in left_out)  # type: ignore[operator]


@given(branches=st.lists(elsewhere, max_size=12), **settings, more=st.floats(min_value=0, max_value=60))
def test_a_longer_wait_here_never_shows_fewer_branches(branches: list[Elsewhere], here: float, nearby_km: float,
                                                       margin_min: float, more: float) -> None:
    fewer = nearby(here, branches, nearby_km=nearby_km, margin_min=margin_min, limit=len(branches))
    longer = nearby(here + more, branches, nearby_km=nearby_km, margin_min=margin_min, limit=len(branches))
    assert set(map(id, fewer)) <= set(map(id, longer))


def estimate(low: float, high: float) -> WaitEstimate:
    return WaitEstimate(timedelta(minutes=(low + high) / 2), timedelta(minutes=low), timedelta(minutes=high))


def test_a_wait_is_long_when_the_upper_end_shown_reaches_the_threshold() -> None:
    assert wait_is_long(estimate(40, 58), 60)  # shown "45–60"
    assert not wait_is_long(estimate(30, 50), 60)
    assert not wait_is_long(WaitEstimate.unknown(), 1)
    assert not wait_is_long(None, 1)


def test_the_overflow_covers_its_services_and_offers_their_self_service() -> None:
    app = SelfService(Text("App", "App"), Text("缴费", "Pay bills"), services=("BILL",))
    terminal = SelfService(Text("终端", "Terminal"), Text("打印", "Print"))
    overflow = Overflow(services=("BILL", "PLAN"), alternatives=(app, terminal))
    assert overflow.covers("BILL") and not overflow.covers("VIP") and Overflow().covers("VIP")
    assert overflow.self_service("BILL") == (app, terminal) and overflow.self_service("PLAN") == (terminal,)


@pytest.mark.parametrize(("values", "field"), [({"nearby_km": 0}, "nearby_km"), ({"nearby_km": 500}, "nearby_km"),
                                               ({"margin_min": -1}, "margin_min"),
                                               ({"services": ("BILL", "BILL")}, "services")])
def test_bad_overflow_values_are_refused_naming_the_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Overflow(**values)  # type: ignore[arg-type]
    assert refused.value.field == field
