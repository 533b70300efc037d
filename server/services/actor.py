"""Who sends a command, and the clock commands read: the two things every service is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from server.domain.api_tokens import TokenGrant
from server.domain.devices import Device
from server.domain.hall import AccountRole

MANAGING_ROLES = frozenset(role.value for role in AccountRole if role.manages)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who sends a command: a signed-in staff member or manager, a customer/device (username None), or an
    integration with an API token (``token``; its username is ``token:qt_…``, which names no account, so that the
    records say which integration acted).

    ``device`` is the id the caller gives itself (``X-Device-Id``, kept in the event log); ``paired`` the device
    its credential proves it is (pending, paired or revoked), if it sent one; ``address`` the network address the
    request came from (for the audit log)."""

    username: str | None
    role: str = "customer"  # "customer", "system", "integration" or an account's role (hall.AccountRole)
    device: str | None = None
    paired: Device | None = None
    address: str | None = None
    token: TokenGrant | None = None

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGING_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == AccountRole.ADMIN


INTEGRATION = "integration"


def token_actor(grant: TokenGrant, device: str | None = None) -> Actor:
    """The actor of a request made with an API token (no session, no paired device)."""
    return Actor(username=grant.label, role=INTEGRATION, device=device, token=grant)


CUSTOMER = Actor(username=None)
