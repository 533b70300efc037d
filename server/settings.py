"""What the application factory gets: the deployment settings and the hall model, in one :class:`HallConfig`.

The deployment settings (``[server]``, ``[media]``) always come from ``config.toml``: where to listen, which
database, where uploads go. The hall model (``server/domain/hall.py``) comes from ``config.toml`` today and
from the database once halls are administered in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.follow_ups import FollowUpRules
from server.domain.hall import AnnouncementSettings, Branch, QueueRules, RatingSettings, StaffAccount
from server.domain.limits import IssueLimits, Network, Rate
from server.domain.notifications import NotificationSettings
from server.domain.privacy import Retention


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    database_url: str
    redis_url: str | None
    secret_key: str
    timezone: ZoneInfo
    languages: tuple[str, ...]
    sqlite_synchronous: str
    public_url: str | None = None  # base of the URLs printed in QR codes; None: from the request's host
    sign_in_attempts: int = 5  # failed staff sign-ins in a row, per name and device, before a lockout
    sign_in_lockout: timedelta = timedelta(minutes=5)  # the first lockout; each further one lasts twice as long
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-For/-Proto/-Host are trusted
    display_frame_ancestors: tuple[str, ...] = ()  # origins that may frame the wall and counter displays
    session_cookie_secure: bool = False  # the staff session cookie only over HTTPS (set it when served over HTTPS)
    session_idle: timedelta = timedelta(hours=4)  # a staff session unused this long has ended
    session_lifetime: timedelta = timedelta(hours=12)  # and any staff session ends this long after sign-in
    allow_demo_passwords: bool = False  # the demo's published passwords still sign in (else: change them first)
    metrics_from: tuple[Network, ...] = (ip_network("127.0.0.0/8"), ip_network("::1/128"))  # who may read /metrics


MEDIA_DEFAULT_DIRECTORY = Path("var/media")
MEDIA_STORES = ("directory", "database")
"""``[media] store``: where uploads are kept (server/persistence/media_store.py has one class for each)."""


@dataclass(frozen=True)
class MediaSettings:
    """Images and short videos that managers upload for the wall displays (``[media]``)."""

    store: str = "directory"  # where the files are kept: "directory" (below) or "database" (metadata: always there)
    directory: Path = MEDIA_DEFAULT_DIRECTORY  # the files, with store = "directory"
    max_image_mb: float = 5.0
    max_video_mb: float = 50.0
    max_video_s: float = 60.0  # longer videos are refused when their length can be read, else cut off here
    image_seconds: float = 10.0  # default time an image stays on screen
    max_items: int = 50  # per branch


@dataclass(frozen=True)
class LimitSettings:
    """``[limits]``: what one client may take of the hall and of the server (docs/security.md). None or 0: off."""

    issue: IssueLimits = field(default_factory=IssueLimits)  # tickets per kiosk, device and address
    refusal_delay_s: float = 1.0  # a ticket or socket join refused by a limit is answered this much later
    socket_joins: Rate | None = field(default_factory=lambda: Rate(20, timedelta(minutes=1)))  # per connection
    address_socket_joins: Rate | None = field(default_factory=lambda: Rate(30, timedelta(seconds=10)))  # per address
    connections_per_address: int = 1000  # open TCP connections per client address; 0: no cap
    header_timeout_s: float = 10.0  # a request's line and headers (and an idle keep-alive connection)
    body_timeout_s: float = 30.0  # a request's body, plus 1 s per 64 KiB of its declared length
    socket_timeout_s: float = 60.0  # one read or write on a connection; above Socket.IO's ping cycle (45 s)
    send_queue: int = 500  # messages waiting for one Socket.IO client; past it the client is dropped
    token_requests: Rate | None = field(default_factory=lambda: Rate(120, timedelta(minutes=1)))  # per API token
    booking_changes: Rate | None = field(default_factory=lambda: Rate(10, timedelta(hours=1)))  # book/change/cancel
    booking_lookups: Rate | None = field(default_factory=lambda: Rate(10, timedelta(minutes=10)))  # code + phone
    # phone check-ins that found no single booking, per kiosk (else per address): a stranger cannot try numbers
    phone_checkin_misses: Rate | None = field(default_factory=lambda: Rate(5, timedelta(minutes=10)))
    remote_per_phone_day: int = 3  # tickets taken on a phone before arriving, per number, branch and service day


@dataclass(frozen=True)
class HallConfig:
    server: ServerSettings
    queue: QueueRules
    branches: tuple[Branch, ...]
    staff: tuple[StaffAccount, ...] = field(default_factory=tuple)
    source: Path | None = None  # the config.toml it was loaded from
    ratings: RatingSettings = field(default_factory=RatingSettings)
    announcements: AnnouncementSettings = field(default_factory=AnnouncementSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    privacy: Retention = field(default_factory=Retention)  # [privacy]: how long personal data is kept
    follow_ups: FollowUpRules = field(default_factory=FollowUpRules)  # [follow_ups]: when a case is due
    notifications: NotificationSettings = field(default_factory=NotificationSettings)  # [notifications]
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """The hall sections (``server.config.HALL_SECTIONS``) in the shape of ``config.toml``, as the model was built
    from them: what seeds the database, what an export writes, what an administrative change edits."""

    def branch(self, code: str) -> Branch | None:
        return self._branches_by_code.get(code)

    def account(self, username: str) -> StaffAccount | None:
        return self._accounts_by_name.get(username)

    @cached_property
    def _branches_by_code(self) -> dict[str, Branch]:
        """Lookups by key: access checks ask for the account once per branch, and an overview lists 500 branches."""
        index: dict[str, Branch] = {}
        for branch in self.branches:
            index.setdefault(branch.code, branch)
        return index

    @cached_property
    def _accounts_by_name(self) -> dict[str, StaffAccount]:
        index: dict[str, StaffAccount] = {}
        for account in self.staff:
            index.setdefault(account.username, account)
        return index

    def display_name(self, username: str | None) -> str | None:
        """What a person reads for an account: its display name (the user name itself once no account has it; the
        user name stays in the API for programs, beside this)."""
        if username is None:
            return None
        account = self.account(username)
        return account.display_name if account is not None else username
