"""Whether a customer's phone can open the address in a QR code: loopback, link-local and 0.0.0.0 it cannot."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.public_address import AddressProblem, phone_unreachable, warning_text


@pytest.mark.parametrize(("url", "problem"), [
    ("http://127.0.0.1:8080", AddressProblem.LOOPBACK),
    ("http://localhost:8080", AddressProblem.LOOPBACK),
    ("https://hall.localhost", AddressProblem.LOOPBACK),
    ("http://[::1]:8080", AddressProblem.LOOPBACK),
    ("http://[::ffff:127.0.0.1]:8080", AddressProblem.LOOPBACK),
    ("http://169.254.10.20:8080", AddressProblem.LINK_LOCAL),
    ("http://[fe80::1]:8080", AddressProblem.LINK_LOCAL),
    ("http://0.0.0.0:8080", AddressProblem.UNSPECIFIED),
    ("http://192.168.1.10:8080", None),
    ("https://queue.example.com", None),
    ("http://10.0.0.5", None),
])
def test_addresses_phones_cannot_open(url: str, problem: AddressProblem | None) -> None:
    assert phone_unreachable(url) == problem


@given(st.integers(min_value=0x7F000000, max_value=0x7FFFFFFF), st.integers(min_value=1, max_value=65535))
def test_every_127_address_is_loopback(number: int, port: int) -> None:
    assert phone_unreachable(f"http://{ipaddress.IPv4Address(number)}:{port}") is AddressProblem.LOOPBACK


@given(st.integers(min_value=0xC0A80000, max_value=0xC0A8FFFF))
def test_a_hall_network_address_is_fine(number: int) -> None:
    assert phone_unreachable(f"http://{ipaddress.IPv4Address(number)}:8080") is None


def test_the_managers_text_names_the_address_and_the_fix_in_both_languages() -> None:
    text = warning_text("http://127.0.0.1:8080")
    for words in (text.zh, text.en):
        assert "http://127.0.0.1:8080" in words and "public_url" in words
