"""The audit log's pure rules: how an entry reads (targets, changed fields, values) and CSV cells that no
spreadsheet runs as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from server.domain.audit import (
    ACTION_LABELS,
    CSV_COLUMNS,
    FIELD_LABELS,
    FORMULA_STARTS,
    PERSON_FIELDS,
    TARGET_KINDS,
    VALUE_LABELS,
    AuditAction,
    changes,
    people_named,
    shown,
    spreadsheet_safe,
    target_label,
    target_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
records = st.dictionaries(st.sampled_from(["state", "name", "enabled", "reason", "x"]), values, max_size=5)


@given(st.text())
def test_no_cell_starts_a_formula(text: str) -> None:
    safe = spreadsheet_safe(text)
    assert not safe.startswith(FORMULA_STARTS)
    assert safe == (f"'{text}" if text.startswith(FORMULA_STARTS) else text)


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_a_row_reads_back_as_its_safe_cells(cells: list[str]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([spreadsheet_safe(c) for c in cells])
    [row] = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert row == [spreadsheet_safe(c) for c in cells]


@given(records, records)
def test_changes_are_exactly_the_fields_that_differ(before: dict, after: dict) -> None:
    found = changes(before, after, SHANGHAI)
    differing = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    assert [c.field for c in found] == differing


@given(records)
def test_a_creation_shows_what_was_set_and_a_deletion_what_was_there(record: dict) -> None:
    created = changes(None, record, SHANGHAI)
    assert [c.field for c in created] == [k for k, v in record.items() if v is not None]
    assert all(c.before is None for c in created)
    deleted = changes(record, None, SHANGHAI)
    assert [c.field for c in deleted] == [c.field for c in created] and all(c.after is None for c in deleted)


def test_values_read_as_words_in_both_languages() -> None:
    assert shown(True, SHANGHAI) == {"zh-CN": "是", "en": "yes"}
    assert shown("2026-12-05T06:30:00+00:00", SHANGHAI) == "2026-12-05 14:30"
    assert shown("no_show", SHANGHAI, "state") == {"zh-CN": "过号", "en": "no-show"}
    assert shown("no_show", SHANGHAI, "name") == "no_show"  # a name is not a state
    assert shown([3, 1, 2], SHANGHAI) == "3, 1, 2"
    assert shown({"zh-CN": "维护", "en": "maintenance"}, SHANGHAI) == {"zh-CN": "维护", "en": "maintenance"}
    assert shown({"a": 1}, SHANGHAI) == '{"a": 1}'


def test_targets_read_in_both_languages() -> None:
    assert target_label(target_of("counter", "3")).as_dict() == {"zh-CN": "窗口 3", "en": "counter 3"}
    assert target_label(target_of("audit_log")).as_dict() == {"zh-CN": "审计日志", "en": "audit log"}
    assert target_label("something else").as_dict() == {"zh-CN": "something else", "en": "something else"}
    assert target_label(None) is None


NAMES = {"li.na": "李娜 Li Na", "zhang.wei": "张伟 Zhang Wei"}


def test_people_read_as_their_display_names() -> None:
    """An account's target and a takeover's staff name the person; other targets and fields stay as they are."""
    named = target_label(target_of("account", "li.na"), NAMES.get)
    assert named is not None and named.as_dict() == {"zh-CN": "账号 李娜 Li Na", "en": "account 李娜 Li Na"}
    unknown = target_label(target_of("account", "guess.who"), NAMES.get)  # a name typed at a refused sign-in
    assert unknown is not None and unknown.en == "account guess.who"
    counter = target_label(target_of("counter", "li.na"), NAMES.get)
    assert counter is not None and counter.en == "counter li.na"
    assert people_named({"staff": "li.na", "name": "li.na"}, NAMES.get) == {"staff": "李娜 Li Na", "name": "li.na"}
    assert people_named(None, NAMES.get) is None


@given(records, st.sampled_from(sorted(NAMES)))
def test_only_the_person_fields_change_their_values(record: dict[str, object], username: str) -> None:
    record = {**record, "staff": username}
    named = people_named(record, NAMES.get)
    assert named is not None and list(named) == list(record)
    for key, value in record.items():
        assert named[key] == (NAMES[username] if key in PERSON_FIELDS else value)


def test_every_text_a_person_reads_is_in_both_languages() -> None:
    texts = [*ACTION_LABELS.values(), *TARGET_KINDS.values(), *FIELD_LABELS.values(), *VALUE_LABELS.values(),
             *(text for _, text in CSV_COLUMNS)]
    assert all(text.zh and text.en for text in texts)
    assert set(ACTION_LABELS) == set(AuditAction)


def test_an_entry_time_is_aware() -> None:
    from server.domain.audit import AuditEntry

    entry = AuditEntry(at=datetime(2026, 12, 5, tzinfo=UTC), action=AuditAction.SIGN_IN, username="x", role="staff",
                       target="t" * 500)
    assert entry.target is not None and len(entry.target) == 200
