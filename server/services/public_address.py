"""Is the address in the tickets' QR codes one a customer's phone can open? Checked at start-up (a loud warning in
the log and in ``make run``'s printout) and whenever a QR code is made from a request's host, and shown to the
managers with the fix (the rule: :mod:`server.domain.public_address`; docs/kiosk.md)."""

from __future__ import annotations

import logging
from typing import Any

from server.domain.public_address import phone_unreachable, warning_text
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.settings import HallConfig

log = logging.getLogger(__name__)


class PublicAddressCheck(ReadsHallModel):
    """Remembers the last address a QR code was made for that no phone can open (this process's)."""

    def __init__(self, config: HallConfig | HallModel) -> None:
        self.model = model_of(config)
        self._seen: str | None = None  # the latest request host used for a QR code, when phones cannot open it

    def expected_base(self, port: int | None = None) -> str | None:
        """The base the QR codes will carry: ``public_url``, else (not knowing the kiosks' host yet) the address the
        server listens on, when that is one address rather than all of them."""
        server = self.config.server
        if server.public_url:
            return server.public_url
        if server.host in ("", "0.0.0.0", "::"):
            return None  # each request's host decides: checked as QR codes are made
        host = f"[{server.host}]" if ":" in server.host else server.host
        return f"http://{host}:{server.port if port is None else port}"

    def warn_at_start(self, port: int | None = None) -> str | None:
        """Log loudly when the QR codes will point where no phone can go; answers the line, or None."""
        base = self.expected_base(port)
        if base is None or phone_unreachable(base) is None:
            return None
        where = "[server] public_url" if self.config.server.public_url else "the address the server listens on"
        line = (f"!!! Ticket QR codes will point at {base} ({where}), which customers' phones cannot open. Set "
                f"[server] public_url to this server's address on the hall's network, e.g. http://192.168.1.10:8080. "
                f"Fine for a demo on this computer only. !!!")
        log.warning(line)
        return line

    def note_request_base(self, base: str) -> None:
        """A QR code was made from a request's host (no ``public_url``): remember it when phones cannot open it."""
        if self.config.server.public_url is None:
            self._seen = base if phone_unreachable(base) is not None else None

    def problem(self) -> dict[str, Any] | None:
        """For the managers: the unreachable address and what to do, or None when nothing is known to be wrong."""
        base = self.config.server.public_url or self._seen or self.expected_base()
        if base is None or phone_unreachable(base) is None:
            return None
        return {"url": base, "reason": phone_unreachable(base), "text": warning_text(base).as_dict()}
