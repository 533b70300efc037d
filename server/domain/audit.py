"""The audit log's vocabulary: what is recorded (each action with its name in both languages) and one entry.

The log answers "who did what, when, from where, and what was it before": every administrative change, sign-in
and sign-out, counter takeover, manual no-show, stop and resumption of issuing, device pairing, API token and
personal-data request. Entries are only ever added (the database refuses to change or delete them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

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
}

TARGET_MAX = 200
DETAIL_MAX = 20_000  # characters of JSON for each of before and after


def _json(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
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
