"""The audit log's vocabulary: what is recorded (each action with its name in both languages) and one entry.

The log answers "who did what, when, from where, and what was it before": every administrative change, sign-in
and sign-out, counter takeover, manual no-show, stop and resumption of issuing, device pairing, API token and
personal-data request. Entries are only ever added (the database refuses to change or delete them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any

from server.domain.follow_ups import CaseCategory, CaseStatus, Outcome
from server.domain.values import Text


class AuditAction(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_REFUSED = "sign_in_refused"
    SIGN_OUT = "sign_out"
    SIGN_OUT_EVERYWHERE = "sign_out_everywhere"
    SESSIONS_ENDED = "sessions_ended"  # a manager ended a staff member's sessions
    COUNTER_TAKEOVER = "counter_takeover"
    NO_SHOW = "no_show"  # marked by staff (a ticket's automatic no-show is in its own events)
    ISSUE_STOPPED = "issue_stopped"
    ISSUE_RESUMED = "issue_resumed"
    DEVICE_PAIRED = "device_paired"
    DEVICE_RENAMED = "device_renamed"
    DEVICE_REVOKED = "device_revoked"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    DATA_EXPORTED = "data_exported"  # personal data or the audit log itself left the system
    DATA_DELETED = "data_deleted"  # one customer's personal data, on request
    DATA_PURGED = "data_purged"  # personal data past its retention, by the scheduled job
    NOTICE_CHANGED = "notice_changed"
    MEDIA_CHANGED = "media_changed"
    HALL_CHANGED = "hall_changed"  # the hall model: a branch, service, counter... created, edited or retired
    ACCOUNT_CHANGED = "account_changed"  # an account created, edited, disabled; a password set or reset
    ROSTER_CHANGED = "roster_changed"  # a roster entry added, edited or deleted; a day copied to others
    COMPLAINT_RECORDED = "complaint_recorded"  # staff or a manager opened a follow-up case from a complaint
    CASE_ASSIGNED = "case_assigned"  # a follow-up case given an owner, or another one
    CASE_STATUS_CHANGED = "case_status_changed"  # a follow-up case started (open -> in progress)
    CASE_RESOLVED = "case_resolved"
    CASE_REOPENED = "case_reopened"
    BOOKED_FOR_CUSTOMER = "booked_for_customer"  # staff booked an appointment on a customer's behalf
    CHECKED_IN_FOR_CUSTOMER = "checked_in_for_customer"  # staff checked a booking in by hand
    CHECKIN_UNDONE = "checkin_undone"  # staff took a check-in back (someone else checked the booking in)
    WEBHOOK_CHANGED = "webhook_changed"  # an outgoing webhook created, enabled, disabled, deleted or sent a test

    @property
    def label(self) -> Text:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[AuditAction, Text] = {
    AuditAction.SIGN_IN: Text("登录", "Signed in"),
    AuditAction.SIGN_IN_REFUSED: Text("登录被拒", "Sign-in refused"),
    AuditAction.SIGN_OUT: Text("退出登录", "Signed out"),
    AuditAction.SIGN_OUT_EVERYWHERE: Text("在所有设备退出", "Signed out everywhere"),
    AuditAction.SESSIONS_ENDED: Text("结束员工会话", "Ended a staff member's sessions"),
    AuditAction.COUNTER_TAKEOVER: Text("接管窗口", "Took over a counter"),
    AuditAction.NO_SHOW: Text("标记过号", "Marked a no-show"),
    AuditAction.ISSUE_STOPPED: Text("停止取号", "Stopped issuing"),
    AuditAction.ISSUE_RESUMED: Text("恢复取号", "Resumed issuing"),
    AuditAction.DEVICE_PAIRED: Text("配对设备", "Paired a device"),
    AuditAction.DEVICE_RENAMED: Text("重命名设备", "Renamed a device"),
    AuditAction.DEVICE_REVOKED: Text("撤销设备", "Revoked a device"),
    AuditAction.TOKEN_CREATED: Text("创建接口令牌", "Created an API token"),
    AuditAction.TOKEN_REVOKED: Text("撤销接口令牌", "Revoked an API token"),
    AuditAction.DATA_EXPORTED: Text("导出数据", "Exported data"),
    AuditAction.DATA_DELETED: Text("删除个人数据", "Deleted personal data"),
    AuditAction.DATA_PURGED: Text("清除过期个人数据", "Purged expired personal data"),
    AuditAction.NOTICE_CHANGED: Text("修改通知", "Changed a notice"),
    AuditAction.MEDIA_CHANGED: Text("修改播放列表", "Changed the media playlist"),
    AuditAction.HALL_CHANGED: Text("修改营业厅设置", "Changed the hall set-up"),
    AuditAction.ACCOUNT_CHANGED: Text("修改账号", "Changed an account"),
    AuditAction.ROSTER_CHANGED: Text("修改排班", "Changed the roster"),
    AuditAction.COMPLAINT_RECORDED: Text("登记投诉", "Recorded a complaint"),
    AuditAction.CASE_ASSIGNED: Text("指派回访负责人", "Assigned a follow-up case"),
    AuditAction.CASE_STATUS_CHANGED: Text("更改回访状态", "Changed a follow-up case's status"),
    AuditAction.CASE_RESOLVED: Text("解决回访", "Resolved a follow-up case"),
    AuditAction.CASE_REOPENED: Text("重新打开回访", "Reopened a follow-up case"),
    AuditAction.BOOKED_FOR_CUSTOMER: Text("代客预约", "Booked for a customer"),
    AuditAction.CHECKED_IN_FOR_CUSTOMER: Text("代客签到", "Checked a booking in"),
    AuditAction.CHECKIN_UNDONE: Text("撤销预约签到", "Undid a booking's check-in"),
    AuditAction.WEBHOOK_CHANGED: Text("修改推送接口", "Changed a webhook"),
}

TARGET_MAX = 200
DETAIL_MAX = 20_000  # characters of JSON for each of before and after


def _json(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, default=str)  # in the order given: the order they read in
    if len(text) > DETAIL_MAX:  # a runaway value must not make the change itself fail
        text = json.dumps({"truncated": text[:DETAIL_MAX]}, ensure_ascii=False)
    return text


@dataclass(frozen=True)
class AuditEntry:
    """One thing that happened. ``target`` names what it happened to ("counter 3", "service A", "device 12"),
    ``before`` and ``after`` hold the changed fields (None where there is no "before", as for a creation)."""

    at: datetime
    action: AuditAction
    username: str | None  # who (None: a customer, a device, or the system itself)
    role: str  # "customer", "staff", "manager", "admin", "system", "integration"...
    branch_code: str | None = None
    target: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    device: str | None = None  # the caller's own device id (X-Device-Id)
    address: str | None = None  # the caller's network address
    id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("audit times are aware")
        if self.target is not None and len(self.target) > TARGET_MAX:
            object.__setattr__(self, "target", self.target[:TARGET_MAX])

    @property
    def before_json(self) -> str | None:
        return _json(self.before)

    @property
    def after_json(self) -> str | None:
        return _json(self.after)


# --- how an entry reads: what it happened to, the changed fields, a spreadsheet's cells ---------------------------

TARGET_KINDS: dict[str, Text] = {
    "account": Text("账号", "account"),
    "api_token": Text("接口令牌", "API token"),
    "webhook": Text("推送接口", "webhook"),
    "category": Text("业务大类", "category"),
    "import": Text("导入设置", "import of the set-up"),
    "kiosk": Text("取号机", "kiosk"),
    "settings": Text("设置", "settings"),
    "zone": Text("显示区域", "display zone"),
    "audit_log": Text("审计日志", "audit log"),
    "branch": Text("网点", "branch"),
    "case": Text("回访工单", "follow-up case"),
    "counter": Text("窗口", "counter"),
    "device": Text("设备", "device"),
    "media": Text("媒体", "media"),
    "notice": Text("通知", "notice"),
    "notices": Text("通知顺序", "order of notices"),
    "playlist": Text("播放顺序", "order of the playlist"),
    "roster": Text("排班", "roster of"),
    "service": Text("业务", "service"),
    "shift": Text("班次", "shift"),
    "ticket": Text("票号", "ticket"),
}
"""What a ``target`` names, by its first word: ``"counter 3"`` reads "窗口 3" / "counter 3"."""


def target_of(kind: str, name: object = None) -> str:
    """The ``target`` of an entry: a kind of :data:`TARGET_KINDS` and which one (``target_of("counter", "3")``)."""
    if kind not in TARGET_KINDS:
        raise ValueError(f"unknown audit target kind {kind!r}")
    return kind if name is None else f"{kind} {name}"


PERSON_TARGETS = frozenset({"account"})
"""Target kinds that name a person by user name: a person reads their display name instead."""

PERSON_FIELDS = frozenset({"staff", "owner"})
"""Fields of ``before``/``after`` whose value is a user name (a takeover's staff): shown as the display name."""

NameOf = Callable[[str], str | None]


def target_label(target: str | None, name_of: NameOf | None = None) -> Text | None:
    """A target in both languages (one whose first word is no known kind reads as it is); ``name_of`` turns the user
    name of a person's target into what a person reads (their display name)."""
    if target is None:
        return None
    kind, _, name = target.partition(" ")
    noun = TARGET_KINDS.get(kind)
    if noun is None:
        return Text(target, target)
    if name_of is not None and name and kind in PERSON_TARGETS:
        name = name_of(name) or name
    return Text(f"{noun.zh} {name}".strip(), f"{noun.en} {name}".strip())


def people_named(values: dict[str, Any] | None, name_of: NameOf) -> dict[str, Any] | None:
    """``before`` or ``after`` with the user names of :data:`PERSON_FIELDS` as people read them."""
    if values is None:
        return None
    return {key: name_of(value) or value if key in PERSON_FIELDS and isinstance(value, str) else value
            for key, value in values.items()}


FIELD_LABELS: dict[str, Text] = {
    "actions": Text("操作", "actions"),
    "branch": Text("网点", "branch"),
    "category": Text("类别", "category"),
    "counter": Text("窗口", "counter"),
    "copied_to": Text("复制到", "copied to"),
    "date": Text("日期", "date"),
    "end": Text("结束", "end"),
    "enabled": Text("启用", "enabled"),
    "ends_at": Text("结束时间", "ends at"),
    "file": Text("文件", "file"),
    "from": Text("起始", "from"),
    "kind": Text("类型", "kind"),
    "lang": Text("语言", "language"),
    "name": Text("名称", "name"),
    "order": Text("顺序", "order"),
    "outcome": Text("结果", "outcome"),
    "owner": Text("负责人", "owner"),
    "q": Text("搜索", "search"),
    "reason": Text("原因", "reason"),
    "role": Text("用途", "role"),
    "seconds": Text("播放秒数", "seconds shown"),
    "service": Text("业务", "service"),
    "services": Text("业务", "services"),
    "sessions_ended": Text("结束的会话数", "sessions ended"),
    "staff": Text("员工", "staff"),
    "start": Text("开始", "start"),
    "starts_at": Text("开始时间", "starts at"),
    "state": Text("状态", "state"),
    "stop": Text("停止取号编号", "stop"),
    "text_en": Text("英文内容", "text (English)"),
    "text_zh": Text("中文内容", "text (Chinese)"),
    "title": Text("标题", "title"),
    "to": Text("截止", "to"),
    "user": Text("人员", "person"),
}
"""The names of the fields that entries' ``before`` and ``after`` hold (an unknown one reads as its key)."""

VALUE_LABELS: dict[tuple[str, str], Text] = {
    ("reason", "wrong_password"): Text("密码错误", "wrong password"),
    ("reason", "unknown_name"): Text("没有这个账号", "no such account"),
    ("reason", "account_disabled"): Text("账号已停用", "account disabled"),
    ("reason", "locked_out"): Text("错误次数过多，已锁定", "locked out after too many wrong passwords"),
    ("state", "called"): Text("已叫号", "called"),
    ("state", "serving"): Text("办理中", "serving"),
    ("state", "no_show"): Text("过号", "no-show"),
    ("state", "pending"): Text("等待配对", "waiting to be paired"),
    ("state", "paired"): Text("已配对", "paired"),
    ("state", "revoked"): Text("已撤销", "revoked"),
    **{("state", status.value): status.label for status in CaseStatus},
    **{("outcome", outcome.value): outcome.label for outcome in Outcome},
    **{("category", category.value): category.label for category in CaseCategory},
}
"""Codes that entries keep (a refused sign-in's reason, a ticket's or device's state), as a person reads them."""

YES_NO = {True: Text("是", "yes"), False: Text("否", "no")}
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")

Shown = str | dict[str, str] | None
"""A value as a person reads it: text, text in both languages (``{"zh-CN": …, "en": …}``), or nothing."""


def shown(value: Any, zone: tzinfo, field: str = "") -> Shown:
    """A stored value of ``field`` as a person reads it: a known code in words (:data:`VALUE_LABELS`), an instant in
    ``zone`` ("2026-12-05 14:30"), yes or no, a text that is in both languages as it is, a list joined with commas,
    anything else as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return YES_NO[value].as_dict()
    if isinstance(value, str):
        if (field, value) in VALUE_LABELS:
            return VALUE_LABELS[field, value].as_dict()
        if _INSTANT.match(value):
            try:
                return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")
            except ValueError:
                return value
        return value
    if isinstance(value, dict) and set(value) == {"zh-CN", "en"} and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class FieldChange:
    """One field of an entry, before and after, as a person reads it."""

    field: str
    before: Shown
    after: Shown

    @property
    def label(self) -> Text:
        return FIELD_LABELS.get(self.field) or Text(self.field, self.field)


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None, zone: tzinfo) -> list[FieldChange]:
    """The fields that differ between ``before`` and ``after`` (for a creation or a deletion, where one is missing,
    those the other has a value for), in the order they first appear."""
    old, new = before or {}, after or {}
    fields = list(dict.fromkeys([*old, *new]))
    return [FieldChange(name, shown(old.get(name), zone, name), shown(new.get(name), zone, name)) for name in fields
            if old.get(name) != new.get(name)]


def pick(value: Shown, language: str) -> str:
    """A shown value in one language (``""`` for nothing)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return value.get(language) or value.get("en") or ""
    return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a cell that a spreadsheet would run as a formula begins (OWASP's list for CSV injection)."""


def spreadsheet_safe(text: str) -> str:
    """A CSV cell that Excel and the others show as text: one that would start a formula gets a leading ``'``."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


CSV_COLUMNS: tuple[tuple[str, Text], ...] = (
    ("time", Text("时间", "Time")),
    ("branch", Text("网点", "Branch")),
    ("username", Text("账号", "Username")),
    ("name", Text("姓名", "Name")),
    ("role", Text("角色", "Role")),
    ("action", Text("操作", "Action")),
    ("target", Text("对象", "What")),
    ("changes", Text("变更（之前 → 之后）", "Changes (before → after)")),
    ("device", Text("设备", "Device")),
    ("address", Text("网络地址", "Address")),
)
"""The columns of the audit log's CSV export, with their header in each language."""
