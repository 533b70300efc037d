"""The hall model as a document, and the pieces it is kept in.

The document has the shape of ``config.toml``'s hall sections (``branches``, ``staff``, ``ratings``,
``announcements``): the loader in ``server/config.py`` validates it, whoever wrote it. The database keeps it in
pieces (:class:`HallItem`) so that one service or one account changes on its own, with its own version: a
branch's own settings (without its lists), each category, service, counter, display zone and kiosk of a branch,
each staff account, and each settings section. :func:`split` and :func:`join` turn one into the other:
``join(split(d))`` is ``d`` but for empty lists, which the loader reads as absent ones (tested with hypothesis).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Any

from server.domain.values import Text


class HallItemKind(StrEnum):
    BRANCH = "branch"
    CATEGORY = "category"
    SERVICE = "service"
    COUNTER = "counter"
    ZONE = "zone"
    KIOSK = "kiosk"
    ACCOUNT = "account"
    SETTINGS = "settings"  # a whole section: "ratings" or "announcements"

    @property
    def label(self) -> Text:
        return KIND_LABELS[self]


KIND_LABELS = {
    HallItemKind.BRANCH: Text("营业厅", "Branch"),
    HallItemKind.CATEGORY: Text("业务大类", "Category"),
    HallItemKind.SERVICE: Text("业务", "Service"),
    HallItemKind.COUNTER: Text("窗口", "Counter"),
    HallItemKind.ZONE: Text("显示区域", "Display zone"),
    HallItemKind.KIOSK: Text("取号机", "Kiosk"),
    HallItemKind.ACCOUNT: Text("账号", "Account"),
    HallItemKind.SETTINGS: Text("设置", "Settings"),
}

BRANCH_LISTS: dict[str, HallItemKind] = {
    "categories": HallItemKind.CATEGORY,
    "services": HallItemKind.SERVICE,
    "counters": HallItemKind.COUNTER,
    "zones": HallItemKind.ZONE,
    "kiosks": HallItemKind.KIOSK,
}
"""A branch's lists, in the order the loader reads them, each kept as items of its own."""

LIST_OF_KIND = {kind: key for key, kind in BRANCH_LISTS.items()}

CODE_KEY: dict[HallItemKind, str] = {
    HallItemKind.BRANCH: "code",
    HallItemKind.CATEGORY: "code",
    HallItemKind.SERVICE: "code",
    HallItemKind.COUNTER: "number",
    HallItemKind.ZONE: "code",
    HallItemKind.KIOSK: "id",
    HallItemKind.ACCOUNT: "username",
}
"""The key of an item's table that names it (a settings item is named by its section)."""

SETTINGS_SECTIONS = ("ratings", "announcements")
NO_BRANCH = ""


@dataclass(frozen=True)
class HallItem:
    kind: HallItemKind
    branch_code: str  # NO_BRANCH for accounts and settings
    code: str
    position: int
    body: Mapping[str, Any]
    version: int = 1
    retired: bool = False


def _name(kind: HallItemKind, table: Mapping[str, Any], position: int) -> str:
    value = table.get(CODE_KEY[kind])
    # the loader refuses a table without its code; until then a placeholder keeps the piece apart from the others
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else f"#{position}"


def split(document: Mapping[str, Any]) -> list[HallItem]:
    """The pieces of a (valid) document, in its order."""
    items: list[HallItem] = []
    for position, branch in enumerate(document.get("branches") or []):
        branch_code = _name(HallItemKind.BRANCH, branch, position)
        own = {key: copy.deepcopy(value) for key, value in branch.items() if key not in BRANCH_LISTS}
        items.append(HallItem(HallItemKind.BRANCH, NO_BRANCH, branch_code, position, own))
        for key, kind in BRANCH_LISTS.items():
            if key not in branch:
                continue
            for index, table in enumerate(branch[key]):
                items.append(HallItem(kind, branch_code, _name(kind, table, index), index, copy.deepcopy(table)))
    for position, account in enumerate(document.get("staff") or []):
        items.append(HallItem(HallItemKind.ACCOUNT, NO_BRANCH, _name(HallItemKind.ACCOUNT, account, position),
                              position, copy.deepcopy(account)))
    for position, section in enumerate(SETTINGS_SECTIONS):
        if section in document:
            items.append(HallItem(HallItemKind.SETTINGS, NO_BRANCH, section, position,
                                  copy.deepcopy(document[section])))
    return items


def join(items: Iterable[HallItem]) -> dict[str, Any]:
    """The document the live (not retired) pieces make, each list in its items' order."""
    live = sorted((item for item in items if not item.retired), key=lambda item: item.position)
    branches: dict[str, dict[str, Any]] = {}
    for item in live:
        if item.kind == HallItemKind.BRANCH:
            branches[item.code] = copy.deepcopy(dict(item.body))
    for item in live:
        if item.kind in LIST_OF_KIND and item.branch_code in branches:
            branches[item.branch_code].setdefault(LIST_OF_KIND[item.kind], []).append(copy.deepcopy(dict(item.body)))
    document: dict[str, Any] = {}
    if branches:
        document["branches"] = [_in_loader_order(branch) for branch in branches.values()]
    accounts = [copy.deepcopy(dict(item.body)) for item in live if item.kind == HallItemKind.ACCOUNT]
    if accounts:
        document["staff"] = accounts
    for section in SETTINGS_SECTIONS:
        for item in live:
            if item.kind == HallItemKind.SETTINGS and item.code == section:
                document[section] = copy.deepcopy(dict(item.body))
    return document


def _in_loader_order(branch: dict[str, Any]) -> dict[str, Any]:
    """The branch's own keys first, then its lists in the loader's order (a stable, readable export)."""
    own = {key: value for key, value in branch.items() if key not in BRANCH_LISTS}
    return own | {key: branch[key] for key in BRANCH_LISTS if key in branch}


# --- a piece's body as JSON ----------------------------------------------------------------------------------

DATED_KEYS = ("date", "until")
"""The keys of a branch's ``exceptions`` that are TOML dates (JSON has no dates: they travel as YYYY-MM-DD)."""


def body_as_json(body: Mapping[str, Any]) -> dict[str, Any]:
    """A piece's body for JSON: dates (and times) as ISO text, everything else as it is."""
    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, date | time):
            return value.isoformat()
        return value

    return plain(body)


def body_from_json(kind: HallItemKind, body: Mapping[str, Any]) -> dict[str, Any]:
    """A piece's body sent as JSON, with the dates of a branch's exceptions made dates again (text that is no date
    stays text, for the loader to refuse naming the key)."""
    shown = copy.deepcopy(dict(body))
    if kind != HallItemKind.BRANCH or not isinstance(shown.get("exceptions"), list):
        return shown
    for exception in shown["exceptions"]:
        if not isinstance(exception, dict):
            continue
        for key in DATED_KEYS:
            value = exception.get(key)
            if isinstance(value, str) and len(value) == 10:
                with contextlib.suppress(ValueError):
                    exception[key] = date.fromisoformat(value)
    return shown
