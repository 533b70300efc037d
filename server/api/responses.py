"""What the core JSON API answers: the hall, tickets, counters, the staff session. These models are the
OpenAPI document's response schemas; the API tests validate every answer the tests receive against them, so the
document cannot drift from the code. Unknown fields are refused there, so a public answer that grew a private
field (a token, a staff name) fails the tests too.

Times are ISO 8601 with an offset (UTC); every customer-facing name is ``{"zh-CN": …, "en": …}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.domain.audit import AuditAction
from server.domain.tickets import Action, PriorityClass, TicketState

Names = dict[str, str]
CounterStatus = Literal["open", "paused", "closed"]
CounterRole = Literal["normal", "fast_lane", "vip"]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Estimate(Answer):
    """A wait estimate as the screens show it."""

    known: bool = Field(description="false until the hall has enough history and an open counter")
    expected_min: float
    low_min: float
    high_min: float
    range_min: list[int] | None = Field(description="the range shown to customers, [low, high] minutes, or "
                                                    "[0, high] for 'less than high'")
    text: Names = Field(description='e.g. {"zh-CN": "约 5–10 分钟", "en": "about 5–10 min"}; when unknown, why '
                                    '(e.g. {"zh-CN": "窗口尚未开放", "en": "no counter open yet"})')
    reason: Literal["no_counter_open", "not_staffed", "too_far", "not_yet"] | None = Field(
        default=None, description="when unknown, why: no counter of the branch is open yet; open counters, but none "
                                  "that serves it; its call lies beyond what the estimator projects; not estimated "
                                  "yet (the server has just started)")


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HOURS = ('usual opening hours, branch-local: one or more ranges ("09:00-21:00", "09:00-12:00, 13:30-17:00") '
         'or "closed"')
HOURS_BY_DAY = 'the weekdays whose usual hours differ from hours, e.g. {"sat": "10:00-18:00", "sun": "closed"}'


class Service(Answer):
    code: str
    prefix: str = Field(description="ticket number prefix, e.g. A for A001")
    name: Names
    parent: str | None = Field(description="the kiosk category it sits under")
    icon: str | None
    colour: str | None
    hours: str = Field(description=HOURS + "; never outside the branch's hours")
    hours_by_day: dict[Weekday, str] = Field(description=HOURS_BY_DAY)
    target_wait_min: float
    expected_service_min: float
    daily_cap: int | None
    last_ticket: str | None = Field(description='"20:30": no tickets after that time of day; "auto": none once a '
                                                "new ticket's estimated wait and service would run past the close")


class IssueStop(Answer):
    """Issue stopped by hand, in force or still to come."""

    id: int
    service: str | None = Field(description="the service it stops; null: every service of the branch")
    starts_at: datetime
    ends_at: datetime | None = Field(description="when issue resumes by itself; null: only when resumed by hand")
    reason_code: str = Field(description="all_taken, closing, busy, maintenance or custom")
    reason: Names = Field(description="what the kiosk shows")


class IssueStops(Answer):
    stops: list[IssueStop]


class ServiceNow(Service):
    """A service in the hall snapshot."""

    waiting: int
    open: bool = Field(description="takes tickets now (its hours today, public holidays and special hours applied)")
    hours_today: str = Field(description='today\'s hours, e.g. "09:00-12:00, 13:30-17:00" or "closed"')
    opens_at: datetime | None = Field(description="when closed, or once today's last ticket has been issued: the "
                                                  "instant it takes tickets next (null: not within a year)")
    open_until: datetime | None = Field(description="when open: the instant this opening ends (a lunch break, the "
                                                    "day's close)")
    closes_at: datetime | None = Field(description="the end of today's hours (null: closed all day)")
    closed_for: Names | None = Field(description='closed all day for a named exception (a public holiday), e.g. '
                                                 '{"zh-CN": "国庆节", "en": "National Day"}')
    issued_today: int
    daily_cap_reached: bool
    stopped: IssueStop | None = Field(description="the stop that refuses its new tickets now, if any")
    resumes_at: datetime | None = Field(description="when stopped: the instant it issues again by itself today "
                                                    "(null: not today, or only when resumed by hand)")
    tickets_until: datetime | None = Field(description="today's last-ticket time (a service with last_ticket), "
                                                       "else null")
    last_ticket_passed: bool = Field(description="true once today's last ticket has been issued")
    estimate: Estimate = Field(description="the wait a new ticket would have")
    ahead: int | None = Field(description="the people ahead a new ticket would have: tickets the counters that serve "
                                          "it call first, other services' too (null: not estimated yet)")
    priority_estimate: Estimate = Field(description="the same for a priority-class (爱心通道) ticket")
    priority_ahead: int | None = Field(description="the same for a priority-class (爱心通道) ticket")
    booked_ahead: int = Field(0, description="booked customers, not arrived yet, whom the counters would call before "
                                             "a new ticket (arriving before its expected call); not in ``ahead``")
    priority_booked_ahead: int = Field(0, description="the same for a priority-class (爱心通道) ticket")


class CounterConfig(Answer):
    number: str
    name: Names
    services: list[str] = Field(description="in order of preference")
    role: CounterRole


class ScheduleException(Answer):
    """Dated hours that replace the usual ones: a public holiday, special hours, an early close."""

    date: str = Field(description="first local date, e.g. 2026-10-01")
    until: str = Field(description="last local date (included); the same as date for one day")
    hours: str = Field(description='"closed" or ranges')
    name: Names | None
    services: list[str] = Field(description="the services it applies to; empty: the whole branch")


class BranchConfig(Answer):
    code: str
    name: Names
    timezone: str
    hours: str = Field(description=HOURS)
    hours_by_day: dict[Weekday, str] = Field(description=HOURS_BY_DAY)
    exceptions: list[ScheduleException]
    services: list[Service]
    counters: list[CounterConfig]


class Branches(Answer):
    branches: list[BranchConfig]


class Ticket(Answer):
    """A ticket as any screen in the hall may show it: no token, names or notes."""

    id: int
    number: str = Field(description="e.g. A001: the service's prefix and the day's sequence")
    service: str
    service_name: Names | None
    state: TicketState
    counter: str | None = Field(description="the counter that called or serves it")
    recall_count: int
    issued_at: datetime
    called_at: datetime | None
    version: int = Field(description="grows with every change; send it back as version to refuse stale commands")
    remote: bool = Field(False, description="taken on a phone before arriving (the virtual queue)")
    awaiting_arrival: bool = Field(False, description="a remote ticket not checked in at the hall yet: not called")
    check_in_by: datetime | None = Field(None, description="held aside at the front: expires unless it checks in "
                                                           "by then")


class StaffTicket(Ticket):
    """The staff view adds the priority class, routing, notes and who handled it."""

    priority: PriorityClass
    issued_service: str = Field(description="the service it was issued for (before any transfer)")
    channel: str
    queued_at: datetime
    service_started_at: datetime | None
    finished_at: datetime | None
    no_show_at: datetime | None
    target_counter: str | None = Field(description="transferred to this counter only")
    transferred: bool
    transfer_note: str | None
    staff: str | None
    allowed_actions: list[Action] = Field(description="what the ticket accepts in its state now, in lifecycle "
                                                      "order (the console shows these buttons)")


class IssuedTicket(Ticket):
    """A new ticket, for the customer who took it."""

    token: str = Field(description="the ticket's private key: its phone page is /t/{token}")
    priority: PriorityClass
    people_ahead: int
    estimate: Estimate
    replayed: bool = Field(default=False, description="true when this answers a retry with the same Idempotency-Key")


class ServiceOpening(Answer):
    """Whether a service takes tickets now, and when it does next."""

    open: bool
    opens_at: datetime | None = Field(description="when closed: the instant it opens next (null: not within a year)")
    closed_for: Names | None = Field(description="closed all day for a named exception (a public holiday)")


class CustomerTicket(Ticket):
    """A customer's own ticket, looked up by its token."""

    priority: PriorityClass
    language: str = Field(description="the language the customer chose when taking it (the phone page's first)")
    people_ahead: int | None = Field(description="while waiting")
    estimate: Estimate | None = Field(description="while waiting, once the live estimates have seen it")
    callable_from: datetime | None = Field(description="while held (an appointment checked in before its slot): "
                                                       "no counter calls it before this instant")
    callable_from_time: str | None = Field(description="callable_from as HH:MM in the branch's time zone")
    branch: str
    branch_name: Names
    counter_name: Names | None
    service_opening: ServiceOpening | None = Field(description="expired tickets only: when its service takes "
                                                               "tickets again")


class CounterTicket(Answer):
    """What a counter serves now, as the hall's screens show it."""

    number: str
    service: str
    state: TicketState
    called_at: datetime | None


class Counter(Answer):
    number: str
    name: Names
    services: list[str] = Field(description="the services it serves today, in order of preference")
    configured_services: list[str]
    role: CounterRole
    status: CounterStatus
    current: StaffTicket | CounterTicket | None = Field(description="the staff view gives the whole ticket")
    staff: str | None = Field(default=None, description="staff view only: the user name of who is signed in")
    staff_name: str | None = Field(default=None, description="staff view only: their display name (for people)")
    pause_reason: str | None = Field(default=None, description="staff view only")
    paused_at: datetime | None = Field(default=None, description="staff view only")


class BranchHeader(Answer):
    code: str
    name: Names
    timezone: str = Field(description="IANA time zone of the branch's hours and dates, e.g. Asia/Shanghai")
    hours: str = Field(description=HOURS)
    hours_today: str = Field(description="the branch's hours today (exceptions applied)")
    closes_at: datetime | None = Field(description="the end of the branch's hours today (null: closed all day)")


class Category(Answer):
    code: str
    name: Names
    icon: str | None
    colour: str | None


class RecentCall(Answer):
    number: str | None
    counter: str | None
    service: str | None
    kind: str = Field(description="called or recalled")
    at: datetime
    seq: int


class HallAlertAction(Answer):
    kind: str = Field(description="stop_issuing or post_notice")
    service: str | None
    notice: Names | None = Field(description="the notice offered, in both languages")


class HallAlert(Answer):
    """A hall alert for the managers (docs/manager.md)."""

    key: str
    active: bool
    type: str = Field(description="wait_over_target, wait_will_pass_target, unserved_waiting, counter_paused_long")
    severity: str = Field(description="critical or warning")
    text: Names
    suggestion: Names
    service: str | None
    counter: str | None
    facts: dict[str, Any]
    actions: list[HallAlertAction]
    since: datetime = Field(description="when this alert started")


class Snapshot(Answer):
    """The hall now, consistent with the branch's sequence number ``seq``."""

    branch: BranchHeader
    seq: int = Field(description="the last event this snapshot includes; events after it follow on the socket")
    generated_at: datetime
    categories: list[Category]
    services: list[ServiceNow]
    counters: list[Counter]
    recent_calls: list[RecentCall]
    waiting_total: int
    issue_stops: list[IssueStop] = Field(description="issue stopped by hand, in force or still to come")
    estimates_at: datetime | None = Field(description="when the estimates were computed")
    waiting: list[StaffTicket] | None = Field(default=None, description="staff view only, in queue order")
    parked: list[StaffTicket] | None = Field(default=None, description="staff view only")
    hall_alerts: list[HallAlert] | None = Field(default=None, description="staff view only: the hall alerts")


class Event(Answer):
    """One committed change, from the branch's append-only event log."""

    seq: int
    kind: str
    at: datetime
    ticket_id: int | None
    ticket_number: str | None
    service: str | None
    counter: str | None
    staff: str | None
    device: str | None
    reason: str | None
    data: dict[str, Any] | None = Field(description="what else the event records, by kind")


class Events(Answer):
    events: list[Event]


class Called(Answer):
    """The answer to call-next and call: the ticket now called here (none when nobody waits)."""

    ticket: StaffTicket | None
    waiting: int = Field(description="tickets still waiting that this counter may call")
    replayed: bool = Field(default=False, description="true when this answers a retry with the same Idempotency-Key")


class FinishedAndCalled(Called):
    """The answer to finish-and-call-next: the ticket just finished, and the one now called."""

    finished: StaffTicket


class TicketChanged(Answer):
    ticket: StaffTicket
    undo_until: datetime | None = Field(default=None, description="after a no-show: until when staff may take it "
                                                                   "back (POST …/tickets/{id}/undo-no-show)")


class NoShowUndone(TicketChanged):
    """The answer to undo-no-show: the ticket, called at its counter again."""

    replayed: bool = Field(default=False, description="true when this answers a retry with the same Idempotency-Key")


class NoShowTicket(StaffTicket):
    """A no-show that may still go back into the queue (POST …/tickets/{id}/reactivate)."""

    reactivate_until: datetime


class CounterQueue(Answer):
    counter: str
    seq: int
    counter_state: Counter
    waiting: list[StaffTicket] = Field(description="the tickets this counter may call, in its call order")
    parked: list[StaffTicket]
    no_shows: list[NoShowTicket] = Field(description="the branch's no-shows that may still be re-activated, this "
                                                     "counter's first, then the latest first")


class StaffSession(Answer):
    username: str | None = Field(description="null when nobody is signed in")
    display_name: str | None = None
    role: Literal["staff", "manager", "admin", "regional"] | None = None
    manages: bool | None = Field(default=None, description="may use the manager page (a manager or an admin)")
    administers: bool | None = Field(default=None, description="may change the hall set-up and every account")
    landing: str | None = Field(default=None, description="the page to open instead of a branch's (a regional "
                                                         "account: the reports over its regions)")
    overview: bool | None = Field(default=None, description="the pages offer the overview of branches (/overview): "
                                                            "regional accounts, admins, managers of several branches")
    expires_at: datetime | None = Field(default=None, description="when the session ends at the latest (it ends "
                                                                  "sooner when left unused)")


class SessionsEnded(Answer):
    username: str
    ended: int = Field(description="how many sessions (devices) were signed out")


class ServiceDayFigures(Answer):
    """One service's ended day, counted by the service the tickets were issued for:
    ``issued = served + no_shows + cancelled + expired``."""

    service_code: str
    issued: int
    served: int
    no_shows: int
    cancelled: int
    expired: int = Field(description="still in the hall when the day ended")
    transferred: int = Field(description="sent to another service or counter at least once")
    called: int = Field(description="called at least once: the tickets the wait figures are over")
    wait_mean_s: float | None = Field(description="mean wait from issue to the first call, seconds")
    wait_p90_s: float | None = Field(description="90th percentile of that wait (nearest rank), seconds")
    within_target: int = Field(description="called within the service's target wait")
    service_mean_s: float | None = Field(description="mean time from the start of service to its finish, seconds")
    rated: int
    satisfied: int = Field(description="rated, with a score that is not a dissatisfied one")


class EndedDay(Answer):
    day: str = Field(description="the branch-local day, YYYY-MM-DD")
    closed_at: datetime = Field(description="when the day's end ran")
    expired: int
    signed_out: int = Field(description="counters still open that the day's end signed out")
    services: list[ServiceDayFigures]


class DaySummaries(Answer):
    """The ended service days of a branch in a range, newest first (days without tickets are not listed)."""

    branch: str
    first: str
    last: str
    days: list[EndedDay]


# --- staffing advice (server/services/staffing.py) -----------------------------------------------------------

class StaffingService(Answer):
    """What the advice assumes of a service, and its forecast for the whole day."""

    code: str
    name: Names
    target_wait_min: float
    service_min: float = Field(description="mean service time used: from the history, else the configured one")
    service_min_source: Literal["history", "configured"]
    patience_min: float | None = Field(description="mean patience from the walk-out rate (null: unknown or none)")
    arrivals: float
    low: float
    high: float


class StaffingServiceHour(Answer):
    code: str
    arrivals: float = Field(description="forecast arrivals in the hour")
    low: float = Field(description="the 80% range's low end")
    high: float
    needed: int = Field(description="counters it needs alone: Erlang A where walk-outs are known, else Erlang C")
    needed_erlang_c: int
    needed_erlang_a: int | None
    eligible: int = Field(description="planned counters that serve it")


class StaffingShortfall(Answer):
    services: list[str]
    needed: int
    eligible: int


class StaffingPool(Answer):
    """Services and the counters connected by their skills."""

    services: list[str]
    counters: list[str]
    needed: int
    needed_erlang_c: int
    planned: int
    open: int | None
    short: bool
    open_short: bool | None
    shortfalls: list[StaffingShortfall]


class StaffingHour(Answer):
    hour: int = Field(description="local hour of the day, 0-23")
    start: str
    arrivals: float
    low: float
    high: float
    needed: int
    needed_erlang_c: int
    planned: int
    open: int | None = Field(description="counters signed in now (today, from the current hour on; else null)")
    short: bool = Field(description="the planned counters fall short of the need")
    open_short: bool | None
    services: list[StaffingServiceHour]
    pools: list[StaffingPool]


class StaffingAdvice(Answer):
    """Staffing advice for one day of a branch: per opening hour, forecast and counters (docs/staffing.md)."""

    branch: str
    date: str
    timezone: str
    today: bool
    closed: bool
    planned_source: Literal["roster", "configured"] = Field(
        description="where \"planned\" comes from: the day's roster, or (none that day) every configured counter")
    service_level: float
    history_days: list[str]
    services: list[StaffingService]
    hours: list[StaffingHour]
    short_hours: int


# --- rosters (server/services/roster.py) -----------------------------------------------------------------------

class RosterShift(Answer):
    """One roster entry: a person at a counter with services in preference order (work), or a person's break."""

    id: int
    kind: Literal["work", "break"]
    username: str
    counter: str | None
    services: list[str]
    start: str = Field(description="local time HH:MM, on the quarter hour")
    end: str = Field(description="local time HH:MM, on the quarter hour (24:00: midnight)")


class RosterDayShift(RosterShift):
    display_name: str


class RosterWindow(Answer):
    start: int = Field(description="minutes after local midnight: the first opening")
    end: int = Field(description="minutes after local midnight: the end of the service day")


class RosterPerson(Answer):
    username: str
    display_name: str


class RosterCounter(Answer):
    number: str
    name: Names
    services: list[str]


class RosterService(Answer):
    code: str
    name: Names


class RosterDay(Answer):
    """A day's roster of a branch, with the people, counters and services an editor offers."""

    branch: str
    date: str
    closed: bool
    window: RosterWindow | None = Field(description="the minutes shifts may cover (null: closed that day)")
    may_edit: bool = Field(description="the caller may change the roster (a manager of the branch or an admin)")
    people: list[RosterPerson]
    counters: list[RosterCounter]
    services: list[RosterService]
    shifts: list[RosterDayShift]


class RosterCopied(Answer):
    date: str
    copied: list[str] = Field(description="the days now holding a copy (their own entries replaced)")
    skipped_closed: list[str] = Field(description="days left alone: the branch is closed")
    shifts: int


# --- trusted devices (server/api/device_routes.py) ------------------------------------------------------------

DeviceKindName = Literal["kiosk", "wall", "counter_display", "pad"]
DeviceStateName = Literal["pending", "paired", "revoked"]


class DeviceSelf(Answer):
    """A device as it sees itself: its pairing's state, the role it has or asked for, the code to show."""

    state: DeviceStateName
    branch: str
    kind: DeviceKindName
    target: str | None = Field(description="the kiosk's id, the counter's number or the wall display's zone")
    role_name: Names = Field(description='e.g. {"zh-CN": "评价器 · 3号窗口", "en": "Rating pad · Counter 3"}')
    name: str | None = Field(description="the manager's name for it")
    code: str | None = Field(description='while pending: the code to show, "482 913"')
    expires_at: datetime | None = Field(description="while pending: when the code lapses (a new one is asked for)")
    heartbeat_s: float | None = Field(description="how often a paired device sends a heartbeat")


class ManagedDevice(Answer):
    """A device as its branch's managers see it."""

    id: int
    state: DeviceStateName
    kind: DeviceKindName
    target: str | None
    role_name: Names
    name: str | None
    code: str | None = Field(description="while pending: the code it shows")
    user_agent: str | None = Field(description="the browser it asked from, to tell devices apart")
    asked_at: datetime
    paired_at: datetime | None
    paired_by: str | None = Field(description="user name of the manager who paired it (for programs)")
    paired_by_name: str | None = Field(description="their display name (for people)")
    revoked_at: datetime | None
    revoked_by: str | None = Field(description="user name of the manager who revoked it (for programs)")
    revoked_by_name: str | None = Field(description="their display name (for people)")
    last_seen_at: datetime | None = Field(description="its last heartbeat")
    online: bool | None = Field(description="heard within offline_after_s; null unless paired")
    offline_since: datetime | None = Field(description="when it was last heard, while offline")


class DeviceList(Answer):
    branch: str
    generated_at: datetime
    offline_after_s: float
    require_pairing: list[DeviceKindName] = Field(description="kinds that work only paired (pads always do)")
    offline: int = Field(description="paired devices not heard within offline_after_s")
    devices: list[ManagedDevice] = Field(description="paired ones first (offline first), then revoked ones")


class DeviceAlert(Answer):
    """An equipment alert: a paired device gone silent, or a kiosk's printer in trouble."""

    key: str = Field(description='stable per device ("device:12") or kiosk printer ("printer:K1"): events that '
                                 'start and end the alert carry it')
    active: Literal[True]
    type: Literal["device_offline", "printer"]
    severity: Literal["critical", "warning"] = Field(description="paper_low: warning; otherwise critical")
    device_id: int | None = Field(description="the paired device, for device_offline")
    kind: DeviceKindName
    target: str | None = Field(description="the kiosk's id, the counter's number or the wall display's zone")
    role_name: Names = Field(description='e.g. {"zh-CN": "取号机 · K1 入口取号机", "en": "Kiosk · K1 Entrance kiosk"}')
    name: str | None = Field(description="the manager's name for the device")
    since: datetime = Field(description="device_offline: when it was last heard; printer: the print that showed "
                                        "the problem")
    problem: str | None = Field(description="printer: paper_out, cover_open, unreachable, timeout, printer_error, "
                                            "bad_status, busy or paper_low")
    problem_name: Names | None = Field(description="printer: the problem in words")


class DeviceAlertList(Answer):
    branch: str
    generated_at: datetime
    alerts: list[DeviceAlert] = Field(description="silent devices, the longest silent first, then printers")


class Account(Answer):
    username: str
    display_name: str
    role: Literal["staff", "manager", "admin", "regional"]
    branches: list[str] = Field(description="empty: every branch")
    photo: str | None
    disabled: bool
    must_change_password: bool = Field(description="the next sign-in must choose a new password")
    version: int = Field(description="name it in an edit: a save from an older version is refused as stale")


class RoleChoice(Answer):
    role: Literal["staff", "manager", "admin", "regional"]
    label: Names


class BranchChoice(Answer):
    code: str
    name: Names


class Accounts(Answer):
    accounts: list[Account]
    roles: list[RoleChoice] = Field(description="the roles this manager may give")
    branches: list[BranchChoice] = Field(description="the branches this manager may give")


class AccountWithPassword(Answer):
    account: Account
    temporary_password: str = Field(description="shown once; the account chooses its own at the first sign-in")


AuditActionName = Literal[tuple(a.value for a in AuditAction)]  # type: ignore[valid-type]
Shown = str | Names | None


class AuditChange(Answer):
    """One field of an audit entry before and after, as a person reads it."""

    field: str
    label: Names = Field(description="the field's name in both languages")
    before: Shown = Field(description="text, text in both languages, or null (none: a creation)")
    after: Shown = Field(description="text, text in both languages, or null (none: a deletion)")


class AuditEntry(Answer):
    """Who did what, when, from where, and what it was before."""

    id: int
    at: datetime = Field(description="in the time zone of the entry's branch (the server's without one), with its "
                                     "offset")
    action: AuditActionName
    action_label: Names
    username: str | None = Field(description="who (null: nobody signed in, e.g. a sign-in refused for an unknown "
                                             "name)")
    display_name: str | None = Field(description="the person's name, while the account exists")
    role: str
    branch: str | None = Field(description="the branch it belongs to (null: the whole hall, e.g. a sign-in)")
    target: str | None = Field(description='what it happened to: "counter 3", "ticket A001", "device 12"')
    target_label: Names | None
    before: dict[str, Any] | None = Field(description="the changed fields before (null: a creation)")
    after: dict[str, Any] | None = Field(description="the changed fields after (null: a deletion)")
    changes: list[AuditChange] = Field(description="the fields that differ, readable")
    device: str | None = Field(description="the caller's own device id (X-Device-Id)")
    address: str | None = Field(description="the caller's network address")


class AuditEntries(Answer):
    entries: list[AuditEntry] = Field(description="newest first")
    next_before_id: int | None = Field(description="pass as before_id for the next (older) page; null: no more")


TokenScopeName = Literal["read", "act"]


class ApiTokenView(Answer):
    """An integration's API token as its branches' managers see it (never the token itself)."""

    id: int
    name: str
    prefix: str = Field(description='the token\'s first characters, "qt_AbCd1234", to tell tokens apart')
    scope: TokenScopeName = Field(description="read: the reads a manager has; act: those and the integration's "
                                              "commands")
    branches: list[str] | None = Field(description="the branches it reaches; null: every branch")
    state: Literal["active", "expired", "revoked"]
    created_at: datetime
    created_by: str = Field(description="user name of the manager who made it (for programs)")
    created_by_name: str = Field(description="their display name (for people)")
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="its last use, to the minute")
    revoked_at: datetime | None
    revoked_by: str | None = Field(description="user name of the manager who revoked it (for programs)")
    revoked_by_name: str | None = Field(description="their display name (for people)")
    may_revoke: bool = Field(description="whether this manager may revoke it (they manage every branch it reaches)")


class ApiTokenMade(ApiTokenView):
    token: str = Field(description="the token itself: shown this once, never again (the server keeps its SHA-256)")


class TokenBranch(Answer):
    code: str
    name: Names


class ApiTokenList(Answer):
    branch: str
    generated_at: datetime
    may_make_all_branch: bool = Field(description="whether this manager may make a token for every branch")
    branches: list[TokenBranch] = Field(description="the branches this manager may give a token")
    tokens: list[ApiTokenView] = Field(description="every token that reaches the branch, active ones first")


# --- reports (server/services/reports.py) --------------------------------------------------------------------

ReportGroupName = Literal["total", "branch", "service", "counter", "staff", "day", "weekday", "hour"]


class ReportRow(Answer):
    """A row's group: the keys of its grouping (none for ``total``) and how it is shown."""

    branch: str | None = Field(default=None, description="grouped by branch or counter: the branch code")
    service: str | None = Field(default=None, description="grouped by service: the code it was issued for")
    counter: str | None = Field(default=None, description="grouped by counter: its number")
    day: str | None = Field(default=None, description="grouped by day: YYYY-MM-DD, branch-local")
    weekday: int | None = Field(default=None, ge=0, le=6, description="grouped by weekday: 0 = Monday")
    hour: int | None = Field(default=None, ge=0, le=23, description="grouped by hour: the local hour of issue")
    label: Names = Field(description="the group as shown (a staff member: the display name only)")


class VolumesRow(ReportRow):
    """Counts of tickets; what no counter answers for is null in counter and staff rows."""

    issued: int | None
    called: int
    served: int
    no_shows: int = Field(description="called, never came to the counter")
    walked_out: int | None = Field(description="cancelled by the customer before the call (the phone ticket page)")
    cancelled: int | None = Field(description="cancelled by staff or an integration")
    expired: int | None = Field(description="still in the hall when the day ended")
    transferred: int


class DurationRow(ReportRow):
    count: int
    mean_s: float | None
    p50_s: float | None
    p80_s: float | None
    p90_s: float | None
    p95_s: float | None
    bins: list[int] = Field(description="how many fell in each bin (lower edges: the report's bin_edges_min)")


class ServiceLevelRow(ReportRow):
    called: int
    within_target: int
    service_level: float | None


class SatisfactionRow(ReportRow):
    rated: int
    satisfied: int
    satisfied_share: float | None
    goal: float
    meets_goal: bool | None


class ReasonRow(ReportRow):
    reason: str
    reason_label: Names
    rated: int


class AccuracyRow(ReportRow):
    """How the estimates given at issue compared with the wait to the first call, over the tickets that had one."""

    estimated: int = Field(description="tickets called that had been given a known estimate")
    within_range: int = Field(description="called within the range the customer was shown")
    within_range_share: float | None
    late_over_5min: int = Field(description="called more than 5 minutes past the shown range's high end")
    late_over_5min_share: float | None
    mean_abs_error_s: float | None = Field(description="mean |wait - the point estimate|, seconds")


class Heatmap(Answer):
    hours: list[int] = Field(description="the local hours of issue that had arrivals")
    weekdays: list[Names]
    days: list[int] = Field(description="how many of each weekday (Monday first) the range holds")
    issued: list[list[int]] = Field(description="arrivals per weekday (rows) and hour (columns)")
    per_day: list[list[float | None]] = Field(description="the mean per such day")


class FollowUpsRow(ReportRow):
    """Follow-up cases of the period (read from the cases, per branch-local day)."""

    opened: int = Field(description="cases opened in the period")
    resolved: int = Field(description="cases resolved in the period")
    overdue: int = Field(description="cases opened in the period answered after their due time, or still past it")
    resolve_p50_s: float | None = Field(description="time from opening to resolution, median")
    resolve_p90_s: float | None = Field(description="time from opening to resolution, 90th percentile")


class BookingsRow(ReportRow):
    """Appointments of the period's closed days, by the day of their slot."""

    booked: int = Field(description="every booking of the days, cancelled ones too")
    checked_in: int = Field(description="checked in (at the kiosk or by staff)")
    late_walk_ins: int = Field(description="of those checked in: past the late grace, queued as walk-ins")
    booking_cancelled: int = Field(description="cancelled by the customer")
    booking_no_shows: int = Field(description="never checked in by the end of the slot plus the late grace")
    no_show_share: float | None = Field(description="no-shows among the bookings not cancelled")


class ReportSections(Answer):
    """The tables asked for (absent: not asked, or not for this grouping)."""

    volumes: list[VolumesRow] | None = None
    waits: list[DurationRow] | None = None
    service_times: list[DurationRow] | None = None
    service_level: list[ServiceLevelRow] | None = None
    satisfaction: list[SatisfactionRow] | None = None
    reasons: list[ReasonRow] | None = None
    heatmap: Heatmap | None = None
    accuracy: list[AccuracyRow] | None = None
    follow_ups: list[FollowUpsRow] | None = None
    bookings: list[BookingsRow] | None = None


class Report(Answer):
    """A report over a range of closed days, read from the figures the day ends kept."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    branches: list[str]
    first: str = Field(alias="from", description="the first day, YYYY-MM-DD")
    last: str = Field(alias="to", description="the last day, included")
    group: ReportGroupName
    satisfaction_goal: float
    bin_edges_min: list[int] = Field(description="the lower edges of the duration bins in minutes; the last is open")
    columns: dict[str, list[str]] = Field(description="each table's columns after its group column")
    labels: dict[str, Names] = Field(description="every heading and title, in both languages")
    sections: ReportSections
# --- what-if replay (server/services/what_if.py) ---------------------------------------------------------------

class ReplayFigures(Answer):
    """Waits from issue to first call, in minutes; service level: the share of the called within target."""

    issued: int
    served: int
    walk_outs: int = Field(description="cancelled by the customer, or not there when called")
    left_over: int = Field(description="never called by the day's end")
    called: int
    wait_mean_min: float | None
    wait_p80_min: float | None
    wait_p90_min: float | None
    service_level: float | None


class ReplayHour(ReplayFigures):
    hour: int = Field(description="local hour of issue, 0-23")


class ReplayService(ReplayFigures):
    code: str


class ReplayRun(Answer):
    totals: ReplayFigures
    hours: list[ReplayHour]
    services: list[ReplayService]


class ReplayRuns(Answer):
    actual: ReplayRun = Field(description="what happened, from the day's tickets")
    replay: ReplayRun = Field(description="the day replayed with its own counters (the model's fidelity)")
    what_if: ReplayRun = Field(description="the day replayed with the changes")


class ReplayChange(Answer):
    kind: Literal["add_counter", "add_service", "close_counter"]
    start: str
    end: str
    services: list[str] | None = None
    counter: str | None = None
    service: str | None = None


class ReplayShift(Answer):
    """A counter open, not paused, with its services, as the day's events say."""

    counter: str
    start: str
    end: str
    services: list[str]


class WhatIfAnswer(Answer):
    """A closed day replayed as it was and with changes, beside what happened (docs/staffing.md#what-if)."""

    branch: str
    date: str
    timezone: str
    seed: int
    changes: list[ReplayChange]
    counters: list[ReplayShift]
    runs: ReplayRuns
    replay_ms: dict[str, float] = Field(description="each replay's computing time")
    total_ms: float
class OverviewWorstWait(Answer):
    service: str = Field(description="the service whose longest current wait is furthest along its target")
    service_name: Names
    waiting: int
    longest_wait_min: int
    target_min: int
    ratio: float = Field(description="longest wait / target (above 1: over the target)")
    over_target: bool
    new_ticket: Estimate = Field(description="what a ticket of that service issued now would wait")


class OverviewAlert(Answer):
    key: str
    type: str = Field(description="a hall alert's type (docs/manager.md)")
    severity: Literal["critical", "warning"]
    text: Names


class OverviewAlerts(Answer):
    counts: dict[str, int] = Field(description="current hall alerts by severity (critical, warning)")
    top: list[OverviewAlert] = Field(description="the most severe ones, at most three")


class OverviewIssuing(Answer):
    stopped_all: bool = Field(description="a branch-wide stop of issue is in force")
    stopped_services: list[str] = Field(description="services whose new tickets a stop refuses now")


class OverviewLive(Answer):
    at: datetime = Field(description="when the live side last refreshed the branch")
    waiting: int
    worst_wait: OverviewWorstWait | None = Field(description="null when nobody waits")
    counters: dict[CounterStatus, int]
    alerts: OverviewAlerts
    open_now: bool = Field(description="within the branch's opening hours")
    issuing: OverviewIssuing
    service_level: float | None = Field(description="today: share of tickets first called within their service's "
                                                    "target wait (null: none called yet)")
    satisfaction: float | None = Field(description="today: share of ratings that were not dissatisfied (null: none)")


class OverviewLinks(Answer):
    manager: str | None = Field(description="the manager page, for a manager of the branch or an admin")
    staffing: str = Field(description="the staffing advice page")


class OverviewBranch(Answer):
    code: str
    name: Names
    region: str | None
    live: OverviewLive | None = Field(description="null until the server has refreshed the branch once")
    links: OverviewLinks


class Overview(Answer):
    """Every branch the caller reads, worst first (docs/manager.md)."""

    region: str | None
    regions: list[str] = Field(description="the regions of the branches the caller reads (the page's filter)")
    order_rule: str
    branches: list[OverviewBranch]


# --- notifications (server/services/notifications.py) -----------------------------------------------------------

class SmsState(Answer):
    """A ticket's text messages as its phone page shows them (the number masked)."""

    available: bool = Field(description="whether the hall sends text messages at all (an SMS gateway is set)")
    open: bool = Field(description="whether the ticket is still waiting, called or parked (messages may follow)")
    subscribed: bool
    phone: str | None = Field(description="the number, masked: 138****5678")
    language: str | None = Field(description="zh-CN or en: the language of the messages")
    purge_after: datetime | None = Field(description="when the number is removed at the latest")


class WebhookView(Answer):
    id: int
    name: str
    url: str
    secret_prefix: str = Field(description="the secret's first characters, to tell webhooks apart")
    events: list[str]
    branches: list[str] | None = Field(description="the branches whose events it gets; null: every branch")
    enabled: bool
    created_at: datetime
    created_by: str
    created_by_name: str
    may_change: bool = Field(description="whether this manager manages every branch it reaches")


class WebhookMade(WebhookView):
    secret: str = Field(description="the signing secret: shown this once (docs/notifications.md)")


class WebhookList(Answer):
    branch: str
    events: list[str] = Field(description="the events a webhook may subscribe to")
    webhooks: list[WebhookView]


class WebhookAttempt(Answer):
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDelivery(Answer):
    id: int
    event: str
    state: Literal["pending", "sent", "given_up", "cancelled"]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    finished_at: datetime | None
    last_status: int | None
    last_error: str | None
    attempt_log: list[WebhookAttempt]


class WebhookLog(Answer):
    webhook: int
    deliveries: list[WebhookDelivery]


class WebhookTestQueued(Answer):
    queued: bool
    id: str


class NearbyBranch(Answer):
    """Another branch worth the trip for a long wait here (docs/kiosk.md)."""

    branch: str
    name: Names
    district: Names | None
    address: Names | None
    distance_km: float = Field(description="great-circle distance between the two branches, to 0.1 km")
    estimate: Estimate = Field(description="its new ticket's wait for the service, from its live state")
    book_url: str | None = Field(description="where to book the service there (null: not bookable there)")


class SelfServiceWay(Answer):
    name: Names = Field(description='e.g. {"zh-CN": "星河通信 App", "en": "Xinghe Telecom app"}')
    text: Names = Field(description="what it does for the customer")


class Alternatives(Answer):
    """A service's wait here and, when the overflow covers it, the other ways to be served."""

    branch: str
    service: str
    covered: bool = Field(description="the branch's overflow covers the service ([branches.overflow] services)")
    long_wait: bool = Field(description="covered, and the upper end of the shown estimate reaches wait_min")
    wait_min: float = Field(description="the branch's threshold, minutes")
    estimate: Estimate = Field(description="a new ticket's wait here, from the live state")
    book_url: str | None = Field(description="where to book the service here (null: not bookable)")
    nearby: list[NearbyBranch] = Field(description="open now, offering the service, within nearby_km and at least "
                                                   "margin_min shorter; nearest first, at most 3")
    self_service: list[SelfServiceWay]
