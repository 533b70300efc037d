"""SQLModel tables. Times are stored as naive UTC and read back as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from server.domain.booking import BOOKING_COUNTS
from server.domain.reports import COUNTS, SERVICE_BINS, WAIT_BINS

INT64 = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit on every database (migration 0007): row ids, the columns that refer to them, and the branch's event
sequence numbers, all of which come back in requests. On SQLite an ``INTEGER PRIMARY KEY`` is already the 64-bit
rowid (a ``BIGINT`` key would not number itself) and every integer column holds 64 bits; on PostgreSQL ``BIGINT``,
since one database serving hundreds of branches writes billions of ticket events, and a 32-bit column refuses
even to be compared with a larger number."""


FREE_TEXT_EVENT_ROWS = "reason IS NOT NULL AND kind IN ('transferred', 'follow_up_resolved')"
"""Event rows whose ``reason`` is a note about a customer (server/persistence/contacts.py: FREE_TEXT_EVENTS)."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utc_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class BranchSequence(SQLModel, table=True):
    """The branch's event sequence number; every command bumps it (and locks this row on PostgreSQL)."""

    __tablename__ = "branch_sequence"

    branch_code: str = Field(primary_key=True, max_length=32)
    seq: int = Field(default=0, sa_type=INT64)


class QueueTally(SQLModel, table=True):
    """How many tickets wait per branch and service, kept by database triggers on ``ticket`` (migration 0006).

    Counting a range of an index costs one step per entry on SQLite and PostgreSQL; with the tally, the
    people-ahead count of a ticket near the back of a long queue counts the few tickets behind it instead
    (:mod:`server.persistence.queue_queries`). The triggers see every write, whichever code path made it.
    """

    __tablename__ = "queue_tally"

    branch_code: str = Field(primary_key=True, max_length=32)
    service_code: str = Field(primary_key=True, max_length=32)
    waiting: int = Field(default=0)


class NumberSequence(SQLModel, table=True):
    """The last number issued per service, per branch, per branch-local day."""

    __tablename__ = "number_sequence"

    branch_code: str = Field(primary_key=True, max_length=32)
    service_code: str = Field(primary_key=True, max_length=32)
    service_day: date = Field(primary_key=True)
    last_sequence: int
    issued_count: int = Field(default=0)


AWAITING_ROWS = "remote AND arrived_at IS NULL AND state = 'waiting'"
"""A remote ticket whose customer has not checked in (server/domain/remote.py: awaiting_arrival), as SQL."""


class TicketRow(SQLModel, table=True):
    """A customer's ticket: its current state and key timestamps. History lives in ``ticket_event``."""

    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("branch_code", "service_day", "number", name="uq_ticket_number_per_day"),
        # The queue: call-next and people-ahead are range scans of this index (covering, so no row lookups).
        Index("ix_ticket_queue", "branch_code", "state", "service_code", "queue_key_us", "id", "target_counter",
              "priority"),
        Index("ix_ticket_target", "branch_code", "state", "target_counter", "queue_key_us"),
        # One priority class of a service: a fast-lane or VIP counter's favoured head, and its favour window.
        Index("ix_ticket_class", "branch_code", "state", "service_code", "priority", "queue_key_us", "id",
              "target_counter"),
        # the few tickets with a transfer note, for the job that blanks old ones (migration 0013)
        Index("ix_ticket_transfer_note", "branch_code", "issued_at", sqlite_where=text("transfer_note IS NOT NULL"),
              postgresql_where=text("transfer_note IS NOT NULL")),
        # the few remote tickets not checked in yet: held aside, expired, counted per phone (migration 0024)
        Index("ix_ticket_awaiting", "branch_code", "service_code", "queue_key_us", sqlite_where=text(AWAITING_ROWS),
              postgresql_where=text(AWAITING_ROWS)),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    token: str = Field(unique=True, max_length=64)
    branch_code: str = Field(max_length=32)
    service_code: str = Field(max_length=32)
    issued_service_code: str = Field(max_length=32)
    service_day: date
    sequence: int
    number: str = Field(max_length=16)
    priority: str = Field(max_length=16)
    state: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    language: str = Field(max_length=8)
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    queued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # policy.queue_key_us: queued_at less the class and transfer head starts, in microseconds since 1970. Set
    # whenever a ticket (re-)enters the queue; meaningful while it waits. Re-derived at start-up.
    queue_key_us: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    called_at: datetime | None = utc_field()
    service_started_at: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()
    no_show_at: datetime | None = utc_field()
    cancelled_at: datetime | None = utc_field()
    expired_at: datetime | None = utc_field()
    counter_number: str | None = Field(default=None, max_length=32)
    staff_username: str | None = Field(default=None, max_length=64)
    target_counter: str | None = Field(default=None, max_length=32)
    transferred: bool = Field(default=False)
    transfer_note: str | None = Field(default=None, max_length=500)
    recall_count: int = Field(default=0)
    version: int = Field(default=1)
    # an appointment checked in before its slot: call-next passes it over until then (migration 0023)
    not_before: datetime | None = utc_field()
    # the virtual queue (migration 0024): taken on a phone; checked in at the hall; held aside at the front since
    remote: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    arrived_at: datetime | None = utc_field()
    held_since: datetime | None = utc_field()


class TicketEvent(SQLModel, table=True):
    """Append-only history: one row per command, numbered by the branch sequence."""

    __tablename__ = "ticket_event"
    __table_args__ = (
        UniqueConstraint("branch_code", "seq", name="uq_event_branch_seq"),
        Index("ix_event_ticket", "ticket_id"),
        Index("ix_event_branch_at", "branch_code", "at"),
        # the events that keep a note about a customer, for the job that blanks old ones (migration 0013)
        Index("ix_event_free_text", "branch_code", "at", sqlite_where=text(FREE_TEXT_EVENT_ROWS),
              postgresql_where=text(FREE_TEXT_EVENT_ROWS)),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    seq: int = Field(sa_type=INT64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: str = Field(max_length=32)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", sa_type=INT64)
    ticket_number: str | None = Field(default=None, max_length=16)
    service_code: str | None = Field(default=None, max_length=32)
    counter_number: str | None = Field(default=None, max_length=32)
    staff_username: str | None = Field(default=None, max_length=64)
    device: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    data: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CounterSessionRow(SQLModel, table=True):
    """Who is signed in at a counter, and whether it is paused."""

    __tablename__ = "counter_session"

    branch_code: str = Field(primary_key=True, max_length=32)
    counter_number: str = Field(primary_key=True, max_length=32)
    staff_username: str | None = Field(default=None, max_length=64)
    signed_in_at: datetime | None = utc_field()
    paused: bool = Field(default=False)
    pause_reason: str | None = Field(default=None, max_length=200)
    paused_at: datetime | None = utc_field()
    # The services chosen at sign-in for today, a JSON list in the configured order; NULL: all configured ones.
    services: str | None = Field(default=None, max_length=400)


class DeviceRow(SQLModel, table=True):
    """A kiosk, display or rating pad that asked to be paired, is paired, or was revoked (server/domain/devices.py).

    The device keeps a random credential in a cookie; this row only its SHA-256, so a copy of the database opens
    no device. Revoked rows stay, for the record of who trusted which device when."""

    __tablename__ = "device"
    __table_args__ = (Index("ix_device_branch_state", "branch_code", "state"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # kiosk, wall, counter_display, pad
    target: str | None = Field(default=None, max_length=32)  # the kiosk id, counter number or zone code
    name: str | None = Field(default=None, max_length=40)
    state: str = Field(max_length=16)  # pending, paired, revoked
    secret_hash: str = Field(unique=True, max_length=64)  # hex SHA-256 of the credential
    pairing_code: str | None = Field(default=None, max_length=8)  # while pending
    user_agent: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    paired_at: datetime | None = utc_field()
    paired_by: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = utc_field()
    revoked_by: str | None = Field(default=None, max_length=64)
    last_seen_at: datetime | None = utc_field()
    # set once when the server records that the device went silent (a device_offline event); cleared when heard
    offline_noted_at: datetime | None = utc_field()


class TicketPrintRow(SQLModel, table=True):
    """How often a ticket was printed on a kiosk's network printer, and the print on its way (server/domain/
    print_policy.py): a row per printed ticket, written in the branch's command transaction."""

    __tablename__ = "ticket_print"

    ticket_id: int = Field(primary_key=True, foreign_key="ticket.id", sa_type=INT64)
    branch_code: str = Field(max_length=32)
    prints: int = Field(default=0)
    staff_prints: int = Field(default=0)
    reserved_until: datetime | None = utc_field()
    reserved_by: str | None = Field(default=None, max_length=64)
    last_printed_at: datetime | None = utc_field()


class IdempotencyRecord(SQLModel, table=True):
    """The stored answer to a retried command (issue ticket, call next)."""

    __tablename__ = "idempotency_record"

    key: str = Field(primary_key=True, max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int
    response: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class Rating(SQLModel, table=True):
    """A customer's rating of a finished ticket: at most one per ticket."""

    __tablename__ = "rating"
    __table_args__ = (
        Index("ix_rating_branch_created", "branch_code", "created_at"),
        Index("ix_rating_staff_created", "branch_code", "staff_username", "created_at"),
        Index("ix_rating_comment", "branch_code", "created_at", sqlite_where=text("comment IS NOT NULL"),
              postgresql_where=text("comment IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    counter_number: str | None = Field(default=None, max_length=32)
    staff_username: str | None = Field(default=None, max_length=64)
    score: int
    scale: str = Field(max_length=8)  # "three" or "five"
    dissatisfied: bool = Field(default=False)  # as the configuration judged it when rated
    reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of reason codes
    comment: str | None = Field(default=None, max_length=200)
    channel: str = Field(max_length=8)  # "pad" or "mobile"
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class FollowUp(SQLModel, table=True):
    """A follow-up case (``server/domain/follow_ups.py``): a dissatisfied rating, or a complaint staff recorded, that
    one owner answers until it is resolved. Its thread of notes is :class:`FollowUpNote`."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_branch_state", "branch_code", "state"),
                      Index("ix_follow_up_branch_created", "branch_code", "created_at"))

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    source: str = Field(default="rating", max_length=16)  # "rating" or "complaint"
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", sa_type=INT64)  # a complaint may have none
    rating_id: int | None = Field(default=None, foreign_key="rating.id", unique=True, sa_type=INT64)
    category: str | None = Field(default=None, max_length=16)  # a complaint's CaseCategory
    customer_words: str | None = Field(default=None, max_length=500)  # what the complaining customer said
    counter_number: str | None = Field(default=None, max_length=16)  # where a complaint was recorded
    created_by: str | None = Field(default=None, max_length=64)  # who recorded a complaint
    state: str = Field(default="open", max_length=16)  # a CaseStatus
    owner_username: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=16)  # an Outcome, once resolved
    resolution_note: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime | None = utc_field()  # [follow_ups] answer_hours after it opened or was last reopened
    resolved_at: datetime | None = utc_field()


class FollowUpNote(SQLModel, table=True):
    """One entry of a case's thread (who, when, what): a note, or the reason given for a change. Only ever added."""

    __tablename__ = "follow_up_note"
    __table_args__ = (Index("ix_follow_up_note_case", "follow_up_id", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    follow_up_id: int = Field(foreign_key="follow_up.id", sa_type=INT64)
    branch_code: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # "note", "assigned", "started", "resolved", "reopened", "recorded"
    username: str | None = Field(default=None, max_length=64)  # None: the customer (a rating's comment)
    text: str | None = Field(default=None, max_length=500)
    at: datetime = utc_field(nullable=False)


class MediaItem(SQLModel, table=True):
    """An image or short video on the wall displays' playlist; the file itself lives in ``[media] directory``."""

    __tablename__ = "media_item"
    __table_args__ = (Index("ix_media_item_branch_position", "branch_code", "position"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    kind: str = Field(max_length=8)  # "image" or "video"
    content_type: str = Field(max_length=32)  # as sniffed from the bytes
    stored_name: str = Field(max_length=120, unique=True)  # the file name under the media directory
    original_name: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    seconds: float  # how long it stays on screen (a video ends earlier if it is shorter)
    video_length_s: float | None = Field(default=None)  # read from the video's header, when it could be
    position: int = Field(default=0)  # playlist order, ascending
    enabled: bool = Field(default=True)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class MediaBlob(SQLModel, table=True):
    """A media file's bytes when ``[media] store = "database"``: in parts of at most
    :data:`server.persistence.media_store.PART_BYTES`, so that a file is written in one transaction and streamed out
    (a range too) without holding it whole in memory."""

    __tablename__ = "media_blob"

    stored_name: str = Field(max_length=120, primary_key=True)  # as MediaItem.stored_name
    part: int = Field(primary_key=True)  # 0, 1, ... in file order
    data: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    written_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Notice(SQLModel, table=True):
    """A bilingual notice that scrolls along the bottom of the wall displays while it is enabled."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_branch_position", "branch_code", "position"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    text_zh: str = Field(max_length=500)
    text_en: str = Field(max_length=500)
    position: int = Field(default=0)
    enabled: bool = Field(default=True)
    updated_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DayClose(SQLModel, table=True):
    """A branch's service day that has ended: its leftovers expired and its counters signed out, once."""

    __tablename__ = "day_close"

    branch_code: str = Field(primary_key=True, max_length=32)
    service_day: date = Field(primary_key=True)
    closed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expired: int = Field(default=0)  # tickets still in the hall that the end of the day closed
    signed_out: int = Field(default=0)  # counters still open that it signed out


class DaySummary(SQLModel, table=True):
    """One service's day in figures, written when the day ends; reports read these rows, not the tickets.

    Every count is by the service the ticket was issued for, so ``issued = served + no_shows + cancelled +
    expired`` on each row. Waits run from issue to the first call, over the tickets that were called.
    """

    __tablename__ = "day_summary"

    branch_code: str = Field(primary_key=True, max_length=32)
    service_day: date = Field(primary_key=True)
    service_code: str = Field(primary_key=True, max_length=32)
    issued: int = Field(default=0)
    served: int = Field(default=0)
    no_shows: int = Field(default=0)
    cancelled: int = Field(default=0)
    expired: int = Field(default=0)
    transferred: int = Field(default=0)  # tickets sent to another service or counter at least once
    called: int = Field(default=0)  # tickets called at least once: the population of the wait figures
    wait_mean_s: float | None = Field(default=None)
    wait_p90_s: float | None = Field(default=None)
    within_target: int = Field(default=0)  # called within the service's target wait
    service_mean_s: float | None = Field(default=None)  # from the start of service to its finish
    rated: int = Field(default=0)
    satisfied: int = Field(default=0)  # rated, and not a dissatisfied score


class IssueStopRow(SQLModel, table=True):
    """Issue stopped by hand for a service (or the whole branch) from a time, until resumed or a set end."""

    __tablename__ = "issue_stop"
    __table_args__ = (Index("ix_issue_stop_branch_open", "branch_code", "resumed_at", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    service_code: str | None = Field(default=None, max_length=32)  # None: every service of the branch
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime | None = utc_field()  # None: until resumed
    reason_code: str = Field(max_length=32)
    reason_zh: str = Field(max_length=100)
    reason_en: str = Field(max_length=100)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resumed_at: datetime | None = utc_field()
    resumed_by: str | None = Field(default=None, max_length=64)


class StaffSessionRow(SQLModel, table=True):
    """A signed-in browser (a staff member's or manager's): the cookie carries a random id, this row only its
    SHA-256, so that a copy of the database opens no session. Signing out deletes the row; so does any end of the
    session (everywhere, a changed password, a disabled account, the idle or absolute limit)."""

    __tablename__ = "staff_session"

    id_hash: str = Field(primary_key=True, max_length=64)  # hex SHA-256 of the cookie's session id
    username: str = Field(index=True, max_length=64)
    credential: str = Field(max_length=64)  # fingerprint of the account's password hash at sign-in
    created_at: datetime = utc_field(nullable=False)
    last_seen_at: datetime = utc_field(nullable=False)


class IssueOrigin(SQLModel, table=True):
    """Who took an anonymous ticket, as the limits on taking tickets count it (``server/domain/limits.py``): the
    kind of caller, its device id and its address (an IPv6 /64). Kept for two days, then purged: enough for every
    window and for the tickets still in the hall, and no longer a record of who was where."""

    __tablename__ = "issue_origin"
    __table_args__ = (
        Index("ix_issue_origin_device", "branch_code", "device", "issued_us"),
        Index("ix_issue_origin_address", "branch_code", "address", "issued_us"),
        Index("ix_issue_origin_issued", "issued_us"),
    )

    ticket_id: int = Field(primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # CallerKind: kiosk, device, anonymous
    device: str | None = Field(default=None, max_length=64)
    address: str = Field(max_length=64)
    issued_us: int = Field(sa_column=Column(BigInteger, nullable=False))  # microseconds since 1970 (UTC)


class AuditEntryRow(SQLModel, table=True):
    """The audit log (``server/domain/audit.py``): append-only. Triggers made by the migration refuse every UPDATE
    and DELETE on this table, on SQLite and on PostgreSQL, so no code path (and no mistaken query) rewrites it."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_at", "at"),
        Index("ix_audit_entry_branch_at", "branch_code", "at"),
        Index("ix_audit_entry_user_at", "username", "at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    at: datetime = utc_field(nullable=False)
    action: str = Field(max_length=32)
    username: str | None = Field(default=None, max_length=64)
    role: str = Field(max_length=16)
    branch_code: str | None = Field(default=None, max_length=32)
    target: str | None = Field(default=None, max_length=200)
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    device: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=64)


class HallItemRow(SQLModel, table=True):
    """One piece of the hall model as administered: a branch's own settings, a category, service, counter, display
    zone or kiosk of a branch, a staff account, or a settings section. ``body`` is its table of ``config.toml``, as
    TOML text, so the one loader (``server/config.py``) validates the database's model as it does the file's, and
    an export is the same document. Retired items stay (tickets refer to them) but leave the model."""

    __tablename__ = "hall_item"
    __table_args__ = (UniqueConstraint("kind", "branch_code", "code", name="uq_hall_item"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    kind: str = Field(max_length=16)  # HallItemKind
    branch_code: str = Field(default="", max_length=32)  # "" for what belongs to no branch (accounts, settings)
    code: str = Field(max_length=64)  # the branch's, category's, service's or zone's code, a counter's number...
    position: int = Field(default=0)  # order within its kind and branch
    body: str = Field(sa_column=Column(Text, nullable=False))  # TOML (keeps dates as dates)
    version: int = Field(default=1)  # +1 at each change: a save made from an older version is refused as stale
    retired: bool = Field(default=False)
    updated_at: datetime = utc_field(nullable=False)
    updated_by: str | None = Field(default=None, max_length=64)


class HallRevision(SQLModel, table=True):
    """One row: the hall model's revision, +1 with every change. Each server process compares it with the model it
    holds and reloads when it moved; no row yet means the database was never seeded from ``config.toml``."""

    __tablename__ = "hall_revision"

    id: int = Field(default=1, primary_key=True)
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))
    seeded_at: datetime = utc_field(nullable=False)
    seeded_from: str | None = Field(default=None, max_length=500)


class CustomerContact(SQLModel, table=True):
    """A phone number (and optional name) a customer gave with consent, for one purpose (``server/domain/privacy.py``
    ``Purpose``): today a call-back about a dissatisfied rating's follow-up. Removed at ``purge_after`` by the
    scheduled job, or at once on the customer's request (docs/privacy.md). Never in a public answer."""

    __tablename__ = "customer_contact"
    __table_args__ = (
        Index("ix_customer_contact_phone", "branch_code", "phone"),
        Index("ix_customer_contact_purge", "purge_after"),
        Index("ix_customer_contact_follow_up", "follow_up_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    purpose: str = Field(max_length=16)
    phone: str = Field(max_length=16)  # E.164, "+8613812345678"
    name: str | None = Field(default=None, max_length=40)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", sa_type=INT64)
    rating_id: int | None = Field(default=None, foreign_key="rating.id", sa_type=INT64)
    follow_up_id: int | None = Field(default=None, foreign_key="follow_up.id", sa_type=INT64)
    # the booking it was given for (no foreign key: SQLite cannot add one to an existing table; bookings are never
    # deleted, and the contact goes first)
    booking_id: int | None = Field(default=None, sa_type=INT64, index=True)
    channel: str = Field(max_length=8)  # where it was given: "pad", "mobile", "counter" (a recorded complaint),
    # "booking" or "staff"
    language: str | None = Field(default=None, max_length=8)  # the customer's language for messages (zh-CN, en)
    consent_at: datetime = utc_field(nullable=False)  # when the customer ticked the consent line
    purge_after: datetime = utc_field(nullable=False)


class BookingRow(SQLModel, table=True):
    """An online appointment (server/domain/booking.py): a seat in one slot of a service.

    ``seat`` is the booking's place among the slot's seats while it is booked (NULL once cancelled): the unique
    (branch, service, slot, seat) makes two bookings of one seat impossible on every database, whatever the
    locking. The phone number is not here but in ``customer_contact`` (``booking_id``), under the privacy rules;
    once it is purged the booking stays, anonymous. ``ticket_id`` is the ticket it became at check-in
    (NULL until then)."""

    __tablename__ = "booking"
    __table_args__ = (
        UniqueConstraint("branch_code", "service_code", "slot_start", "seat", name="uq_booking_seat"),
        UniqueConstraint("code", name="uq_booking_code"),
        Index("ix_booking_slot", "branch_code", "slot_start"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    code: str = Field(max_length=8)
    branch_code: str = Field(max_length=32)
    service_code: str = Field(max_length=32)
    slot_start: datetime = utc_field(nullable=False)
    slot_end: datetime = utc_field(nullable=False)
    service_day: date  # the slot's local date
    seat: int | None = Field(default=None)
    state: str = Field(max_length=16)
    language: str = Field(max_length=8)
    channel: str = Field(max_length=8)  # "online" or "staff" (booked by staff for a customer)
    booked_by: str | None = Field(default=None, max_length=64)  # the staff member, when booked for a customer
    created_at: datetime = utc_field(nullable=False)
    changed_at: datetime | None = utc_field()
    cancelled_at: datetime | None = utc_field()
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", sa_type=INT64)
    version: int = Field(default=1)


class ApiTokenRow(SQLModel, table=True):
    """An integration's API token (server/domain/api_tokens.py). The integration keeps the token; this row keeps
    its SHA-256 and its first characters, so a copy of the database opens nothing. Revoked rows stay, for the
    record of who trusted which integration when."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    name: str = Field(max_length=40)
    shown: str = Field(max_length=16)  # the token's first characters, "qt_AbCd1234"
    secret_hash: str = Field(unique=True, max_length=64)  # hex SHA-256 of the token
    scope: str = Field(max_length=8)  # read, act
    branches: str | None = Field(default=None, max_length=2000)  # a JSON list of branch codes; NULL: every branch
    created_at: datetime = utc_field(nullable=False)
    created_by: str = Field(max_length=64)
    expires_at: datetime | None = utc_field()
    revoked_at: datetime | None = utc_field()
    revoked_by: str | None = Field(default=None, max_length=64)
    last_used_at: datetime | None = utc_field()


def _report_columns(month: bool = False, counts: tuple[str, ...] = COUNTS) -> list[Column[Any]]:
    """The columns of ``report_figure`` (``month``: of ``report_month``; shared with the migration, which names the
    ``counts`` of its revision): keys, summed counts, the two histograms."""
    return [
        Column("branch_code", String(32), primary_key=True),
        *((Column("month", Date, primary_key=True), Column("weekday", Integer, primary_key=True)) if month
          else (Column("service_day", Date, primary_key=True),)),
        Column("grain", String(8), primary_key=True),  # server/domain/reports.py: Grain
        Column("hour", Integer, primary_key=True),  # local hour of issue (grain "hour"), else -1
        Column("service_code", String(32), primary_key=True),  # "" where the grain has none
        Column("counter_number", String(32), primary_key=True),
        Column("staff_username", String(64), primary_key=True),
        *(Column(name, Integer, nullable=False, server_default="0") for name in (*counts, *WAIT_BINS, *SERVICE_BINS)),
    ]


REPORT_FIGURE = Table("report_figure", SQLModel.metadata, *_report_columns(),
                      Index("ix_report_figure_grain_day", "grain", "branch_code", "service_day"))
"""A closed day's figures per branch, day and grain (server/domain/reports.py: day_cells); the reports read these
rows, never the tickets. The primary key leads with the branch and day (the day end writes, a rebuild deletes a
range); the index serves a report's read of one grain over a range of days."""

REPORT_MONTH = Table("report_month", SQLModel.metadata, *_report_columns(month=True),
                     Index("ix_report_month_grain", "grain", "branch_code", "month"))
"""``report_figure`` summed per month (its first day), per weekday (0 = Monday) for the grains that need it, else
-1: rewritten from the month's day rows whenever one of its days is written, so a year is twelve rows a key."""

REPORT_REASON = Table(
    "report_reason", SQLModel.metadata,
    Column("branch_code", String(32), primary_key=True),
    Column("service_day", Date, primary_key=True),
    Column("service_code", String(32), primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("ratings", Integer, nullable=False),
)
"""How often each rating reason was chosen, per branch, day and service."""

REPORT_BOOKING = Table(
    "report_booking", SQLModel.metadata,
    Column("branch_code", String(32), primary_key=True),
    Column("service_day", Date, primary_key=True),
    Column("service_code", String(32), primary_key=True),
    *(Column(name, Integer, nullable=False, server_default="0") for name in BOOKING_COUNTS),
)
"""A closed day's bookings per branch, day and service (server/domain/booking.py: day_booking_counts): booked,
checked in, late walk-ins, cancelled, no-shows. Written with the day's other figures; a year is a few thousand rows
a branch, so a report sums the day rows directly."""


class RosterShiftRow(SQLModel, table=True):
    """One roster entry of a branch's local day (server/domain/roster.py): a person at a counter with services
    (``kind`` work), or a person's break; minutes since local midnight on the quarter hour."""

    __tablename__ = "roster_shift"
    __table_args__ = (Index("ix_roster_shift_branch_day", "branch_code", "day"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    day: date = Field(sa_column=Column(Date, nullable=False))
    username: str = Field(max_length=64)
    kind: str = Field(max_length=8)  # EntryKind: work, break
    counter: str | None = Field(default=None, max_length=32)
    services: str = Field(default="", max_length=2000)  # service codes in preference order, comma-separated
    start_min: int = Field()
    end_min: int = Field()


class WebhookRow(SQLModel, table=True):
    """An integration's outgoing webhook (server/domain/notifications.py): where the hall's events are posted,
    signed with ``secret`` (shown to the manager once; kept, since every delivery is signed with it)."""

    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    name: str = Field(max_length=40)
    url: str = Field(max_length=500)
    secret: str = Field(max_length=64)
    shown: str = Field(max_length=16)  # the secret's first characters, "whsec_AbCd"
    events: str = Field(max_length=500)  # a JSON list of WebhookEvent values
    branches: str | None = Field(default=None, max_length=2000)  # a JSON list of branch codes; NULL: every branch
    enabled: bool = Field(default=True)
    created_at: datetime = utc_field(nullable=False)
    created_by: str = Field(max_length=64)


class NotificationDelivery(SQLModel, table=True):
    """The outbox: one message to send (an SMS to an opted-in ticket's contact, or an event to a webhook), derived
    from the committed event log; the sender leases, sends and retries it. ``dedupe`` makes deriving idempotent."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("dedupe", name="uq_notification_delivery_dedupe"),
        Index("ix_notification_delivery_due", "state", "next_attempt_at"),
        Index("ix_notification_delivery_webhook", "webhook_id", "id"),
        Index("ix_notification_delivery_ticket", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    branch_code: str = Field(max_length=32)
    channel: str = Field(max_length=8)  # sms, webhook
    dedupe: str = Field(max_length=120)
    event: str = Field(max_length=40)  # the webhook event, or the SMS milestone ("ahead:3", "called")
    webhook_id: int | None = Field(default=None, sa_type=INT64)
    contact_id: int | None = Field(default=None, sa_type=INT64)  # read at send time: a removed contact gets nothing
    ticket_id: int | None = Field(default=None, sa_type=INT64)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the JSON body, or the SMS text
    state: str = Field(max_length=12)  # pending, sent, given_up, cancelled
    attempts: int = Field(default=0)
    created_at: datetime = utc_field(nullable=False)
    next_attempt_at: datetime | None = utc_field()
    lease_until: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()
    last_status: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=300)


class NotificationAttempt(SQLModel, table=True):
    """One try to deliver: when, how it went, the answer's status code, the error, how long it took."""

    __tablename__ = "notification_attempt"
    __table_args__ = (Index("ix_notification_attempt_delivery", "delivery_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    delivery_id: int = Field(sa_type=INT64)
    at: datetime = utc_field(nullable=False)
    ok: bool = Field()
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int = Field()


class NotificationCursor(SQLModel, table=True):
    """How far the notifier has read each branch's event log (deliveries up to ``seq`` are in the outbox)."""

    __tablename__ = "notification_cursor"

    branch_code: str = Field(primary_key=True, max_length=32)
    seq: int = Field(sa_type=INT64)
