"""Whether customers' phones can open an address the server puts in a QR code (a ticket's, the booking page's).

Pure Python. A phone on the hall's Wi-Fi or the mobile network reaches the server only by an address of the hall's
network or the internet: a loopback address (127.0.0.1, ::1, ``localhost``) is the phone itself, a link-local one
(169.254.x.x, fe80::) is not routed, and 0.0.0.0 is no address at all. The demo runs on 127.0.0.1 on purpose, so
such an address is warned about (docs/kiosk.md, "The QR code's address"), never refused.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from urllib.parse import urlsplit

from server.domain.values import Text


class AddressProblem(StrEnum):
    LOOPBACK = "loopback"
    LINK_LOCAL = "link_local"
    UNSPECIFIED = "unspecified"


def phone_unreachable(url: str) -> AddressProblem | None:
    """Why a phone cannot open ``url`` (a base URL such as "http://127.0.0.1:8080"), or None when it may."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return AddressProblem.LOOPBACK
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: it resolves on the hall's network or it does not; the server cannot tell
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return AddressProblem.LOOPBACK
    if address.is_link_local:
        return AddressProblem.LINK_LOCAL
    if address.is_unspecified:
        return AddressProblem.UNSPECIFIED
    return None


def warning_text(url: str) -> Text:
    """What a manager reads about a QR code pointing at ``url``, with the fix."""
    return Text(
        f"号票上的二维码指向 {url}，顾客的手机打不开这个地址。请在 config.toml 的 [server] public_url 填写本服务器在"
        "大厅网络中的地址（例如 http://192.168.1.10:8080），然后重启服务器。",
        f"The QR codes on tickets point at {url}, which customers' phones cannot open. Set [server] public_url in "
        "config.toml to this server's address on the hall's network (e.g. http://192.168.1.10:8080) and restart "
        "the server.",
    )
