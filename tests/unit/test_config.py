"""Loading config.toml: the demo hall loads; every bad value is a ConfigError naming its key path."""

from __future__ import annotations

import copy
import math
import os
import stat
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.config import ConfigError, load_config
from server.domain.hall import RatingSettings
from server.domain.policy import CounterRole
from server.domain.schedule import FOLLOWS_BRANCH, DayHours, WeeklyHours
from server.domain.tickets import PriorityClass
from server.settings import HallConfig
from tests.support import DEMO_CONFIG, ROOT

Mutate = Callable[[dict[str, Any]], None]
ENV_KEYS = ("HALL_DATABASE_URL", "HALL_REDIS_URL", "HALL_SECRET_KEY")
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., HallConfig]:
    """Load the demo config.toml after ``mutate`` changed its raw data; the secret key lives in tmp_path."""

    def _load(mutate: Mutate | None = None) -> HallConfig:
        def overrides(data: dict[str, Any]) -> None:
            data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
            if mutate is not None:
                mutate(data)

        return load_config(DEMO_CONFIG, overrides=overrides)

    return _load


def branch(data: dict[str, Any]) -> dict[str, Any]:
    return data["branches"][0]


# --- the demo configuration ------------------------------------------------------------------------


def test_demo_config_loads(load: Callable[..., HallConfig], tmp_path: Path) -> None:
    config = load()
    assert config.source == DEMO_CONFIG
    assert [b.code for b in config.branches] == ["SZ-FUTIAN"]
    hall = config.branches[0]
    assert hall.timezone.key == "Asia/Shanghai"
    assert hall.hours == WeeklyHours.of(DayHours.parse("09:00-21:00"))
    assert [s.code for s in hall.services] == ["BILL", "PLAN", "SIM", "BROADBAND", "DEVICE", "VIP"]
    assert [s.prefix for s in hall.services] == ["A", "B", "E", "C", "D", "V"]
    weekend = DayHours.parse("10:00-18:00")
    assert hall.service("DEVICE").hours == WeeklyHours.of(DayHours.parse("10:00-21:00"),
                                                          {"sat": weekend, "sun": weekend})
    assert hall.service("BILL").hours == FOLLOWS_BRANCH  # the branch's hours
    assert hall.service("BILL").daily_cap == 600
    assert hall.service("PLAN").parent == "MOBILE"
    assert [c.number for c in hall.counters] == [str(n) for n in range(1, 9)]
    assert hall.counter("1").role is CounterRole.FAST_LANE
    assert hall.counter("8").role is CounterRole.VIP
    assert hall.counter("3").skills.services == ("PLAN", "SIM", "BILL")
    assert len(config.staff) == 10
    assert config.account("admin").role == "admin"
    assert config.account("manager").role == "manager"
    assert config.account("zhang.wei").role == "staff"
    assert config.server.port == 8080
    assert config.server.languages == ("zh-CN", "en")
    assert config.server.redis_url is None
    # a relative SQLite path is resolved against the config file's directory
    assert config.server.database_url == f"sqlite:///{(ROOT / 'var' / 'hall.sqlite3').resolve()}"


def test_demo_opening_schedule(load: Callable[..., HallConfig]) -> None:
    hall = load().branches[0]
    vip = hall.service("VIP")
    assert str(vip.hours.default) == "09:00-12:00, 13:30-18:00"
    assert {day: str(hours) for day, hours in vip.hours.by_day().items()} == {"sun": "closed"}
    assert [(e.first.isoformat(), e.last.isoformat(), str(e.hours), e.services) for e in hall.exceptions] == [
        ("2027-02-05", "2027-02-05", "09:00-17:00", ()),
        ("2027-02-06", "2027-02-06", "closed", ()),
        ("2027-02-07", "2027-02-12", "10:00-17:00", ()),
        ("2027-10-01", "2027-10-07", "closed", ("VIP",)),
    ]
    assert hall.exceptions[3].name is not None and hall.exceptions[3].name.en == "National Day"
    # the demo hall takes tickets every day of a normal week
    assert all(not hall.schedule.hours_on(date(2026, 11, 23) + timedelta(days=n)).closed for n in range(7))
    assert hall.closes_at(date(2027, 2, 5)) == datetime(2027, 2, 5, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    assert hall.closes_at(date(2027, 2, 6)) is None


def test_weekday_hours_and_exceptions_as_written(load: Callable[..., HallConfig]) -> None:
    def tweak(data: dict[str, Any]) -> None:
        branch(data)["hours"] = "closed"
        branch(data)["hours_by_day"] = {"sat": "10:00-14:00", "sun": "10:00-12:00, 13:00-16:00"}
        branch(data)["exceptions"] = [{"date": date(2026, 12, 26), "hours": "closed"}]
        branch(data)["services"][4].pop("hours")
        branch(data)["services"][4]["hours_by_day"] = {"sun": "12:00-18:00"}

    hall = load(tweak).branches[0]
    assert [str(hall.schedule.hours_on(date(2026, 12, 21) + timedelta(days=n))) for n in range(7)] == [
        "closed"] * 5 + ["closed", "10:00-12:00, 13:00-16:00"]  # Saturday the 26th is the exception
    assert str(hall.schedule.hours_on(date(2026, 12, 27), "DEVICE")) == "13:00-16:00"
    assert str(hall.schedule.hours_on(date(2026, 12, 19), "DEVICE")) == "10:00-14:00"  # the branch's Saturday


def test_demo_queue_rules(load: Callable[..., HallConfig]) -> None:
    queue = load().queue
    assert queue.transfer_placement == "front"
    assert queue.reactivate_window == timedelta(minutes=30)
    assert queue.idempotency_ttl == timedelta(hours=24)
    assert queue.recent_calls == 10
    rules = queue.policy
    assert rules.head_start[PriorityClass.NORMAL] == timedelta(0)
    assert rules.head_start[PriorityClass.PRIORITY] == timedelta(minutes=15)
    assert rules.head_start[PriorityClass.VIP] == timedelta(minutes=15)
    assert rules.head_start[PriorityClass.APPOINTMENT] == timedelta(minutes=20)
    assert rules.role_head_start == timedelta(minutes=30)
    assert rules.preference_step == timedelta(minutes=10)
    assert rules.transfer_head_start == timedelta(minutes=30)


def test_keep_place_transfers_get_no_head_start(load: Callable[..., HallConfig]) -> None:
    config = load(lambda d: d["queue"].update(transfer_placement="keep_place"))
    assert config.queue.transfer_placement == "keep_place"
    assert config.queue.policy.transfer_head_start == timedelta(0)


def test_secret_key_file_is_created_once_and_reused(load: Callable[..., HallConfig], tmp_path: Path) -> None:
    first = load()
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first.server.secret_key
    assert len(first.server.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load().server.secret_key == first.server.secret_key


def test_secret_key_from_the_environment_wins(
    load: Callable[..., HallConfig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_SECRET_KEY", "from-the-environment")
    assert load().server.secret_key == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_short_secret_key_file_is_refused(load: Callable[..., HallConfig], tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(ConfigError, match=r"^server\.secret_key_file: "):
        load()


def test_relative_secret_key_file_is_created_next_to_the_config(tmp_path: Path) -> None:
    config_file = tmp_path / "hall.toml"
    config_file.write_text(DEMO_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    config = load_config(config_file)
    assert (tmp_path / "var" / "secret_key").read_text().strip() == config.server.secret_key
    assert config.server.database_url == f"sqlite:///{(tmp_path / 'var' / 'hall.sqlite3').resolve()}"


def test_database_url_from_the_environment_wins(
    load: Callable[..., HallConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_DATABASE_URL", "postgresql://hall@db/hall")
    assert load().server.database_url == "postgresql+psycopg://hall@db/hall"


# --- bad configurations ----------------------------------------------------------------------------


def set_in(*path: Any, value: Any) -> Mutate:
    def mutate(data: dict[str, Any]) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def delete(*path: Any) -> Mutate:
    def mutate(data: dict[str, Any]) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def remove_vip_from_counter_8(data: dict[str, Any]) -> None:
    branch(data)["counters"][7]["services"] = ["PLAN"]


def duplicate_branch(data: dict[str, Any]) -> None:
    data["branches"].append(copy.deepcopy(branch(data)))


B = ("branches", 0)
BAD_CONFIGS: list[tuple[str, Mutate, str]] = [
    # (key path named in the message, mutation, a fragment of the problem)
    ("branches[0].services[1].prefix", set_in(*B, "services", 1, "prefix", value="b"), "capital letters"),
    ("branches[0].services[1].prefix", set_in(*B, "services", 1, "prefix", value="ABCD"), "capital letters"),
    ("branches[0].services[1].prefix", set_in(*B, "services", 1, "prefix", value="A"), "used by another service"),
    ("branches[0].services[1].prefix", delete(*B, "services", 1, "prefix"), "missing (required)"),
    ("branches[0].services[1].code", set_in(*B, "services", 1, "code", value="BILL"), "duplicate service code"),
    ("branches[0].services[1].code", set_in(*B, "services", 1, "code", value="MOBILE"), "already a category"),
    ("branches[0].services[1].parent", set_in(*B, "services", 1, "parent", value="NOPE"), "no category"),
    ("branches[0].services[0].daily_cap", set_in(*B, "services", 0, "daily_cap", value=0), "at least 1"),
    ("branches[0].services[0].last_ticket", set_in(*B, "services", 0, "last_ticket", value="8pm"), "auto"),
    ("branches[0].services[0].last_ticket", set_in(*B, "services", 0, "last_ticket", value=2030), "must be a str"),
    ("branches[0].services[0].number_width", set_in(*B, "services", 0, "number_width", value=7), "at most 6"),
    ("branches[0].services[0].colour", set_in(*B, "services", 0, "colour", value="green"), "#1e88e5"),
    ("branches[0].services[0].target_wait_min", set_in(*B, "services", 0, "target_wait_min", value=0), "than 0"),
    ("branches[0].services[0].target_wait_min", set_in(*B, "services", 0, "target_wait_min", value="10"), "must be"),
    ("branches[0].services[0].name.en", delete(*B, "services", 0, "name", "en"), "missing (required)"),
    ("branches[0].services[0].name.zh-CN", set_in(*B, "services", 0, "name", "zh-CN", value=" "), "not be empty"),
    ("branches[0].services[4].hours", set_in(*B, "services", 4, "hours", value="10-21"), 'like "09:00-18:00"'),
    ("branches[0].services[4].hours", set_in(*B, "services", 4, "hours", value="25:00-26:00"), "not a time range"),
    ("branches[0].hours", set_in(*B, "hours", value="18:00-09:00"), "closing time must be after opening time"),
    ("branches[0].hours", set_in(*B, "hours", value="09:00-09:00"), "closing time must be after opening time"),
    ("branches[0].hours", set_in(*B, "hours", value="09:00-12:00, 11:00-13:00"), "must not overlap or meet"),
    ("branches[0].hours", set_in(*B, "hours", value="9:00-18:00; closed"), 'like "09:00-18:00"'),
    ("branches[0].hours_by_day", set_in(*B, "hours_by_day", value="sat"), "must be a dict"),
    ("branches[0].hours_by_day.saturday", set_in(*B, "hours_by_day", value={"saturday": "closed"}), "unknown day"),
    ("branches[0].hours_by_day.sat", set_in(*B, "hours_by_day", value={"sat": "18:00-10:00"}), "closing time"),
    ("branches[0].hours_by_day.sun", set_in(*B, "hours_by_day", value={"sun": 0}), "must be a str"),
    ("branches[0].services[4].hours_by_day.sun", set_in(*B, "services", 4, "hours_by_day", "sun",
                                                        value="10:00-12:00, 12:00-18:00"), "overlap or meet"),
    ("branches[0].exceptions", set_in(*B, "exceptions", value={"date": "x"}), "must be a list"),
    ("branches[0].exceptions[0].date", set_in(*B, "exceptions", 0, "date", value="2027-02-05"), "must be a date"),
    ("branches[0].exceptions[0].date", set_in(*B, "exceptions", 0, "date", value=datetime(2027, 2, 5, 9)),
     "no time"),
    ("branches[0].exceptions[0].date", delete(*B, "exceptions", 0, "date"), "missing (required)"),
    ("branches[0].exceptions[2].until", set_in(*B, "exceptions", 2, "until", value=date(2027, 2, 1)),
     "must not be before date (2027-02-07)"),
    ("branches[0].exceptions[2].until", set_in(*B, "exceptions", 2, "until", value=20270212), "must be a date"),
    ("branches[0].exceptions[0].hours", delete(*B, "exceptions", 0, "hours"), "missing (required)"),
    ("branches[0].exceptions[0].hours", set_in(*B, "exceptions", 0, "hours", value="shut"), 'like "09:00-18:00"'),
    ("branches[0].exceptions[3].services", set_in(*B, "exceptions", 3, "services", value=["NOPE"]),
     "unknown service 'NOPE'"),
    ("branches[0].exceptions[3].services", set_in(*B, "exceptions", 3, "services", value=["VIP", "VIP"]),
     "listed twice"),
    ("branches[0].exceptions[0].name.en", set_in(*B, "exceptions", 0, "name", "en", value=" "), "not be empty"),
    ("branches[0].exceptions[0].reason", set_in(*B, "exceptions", 0, "reason", value="holiday"), "unknown key"),
    ("branches[0].exceptions[1].date", set_in(*B, "exceptions", 1, "date", value=date(2027, 2, 5)),
     "overlaps branches[0].exceptions[0] (2027-02-05)"),
    ("branches[0].services", remove_vip_from_counter_8, "no counter serves VIP"),
    ("branches[0].services", set_in(*B, "services", value=[]), "at least one service"),
    (
        "branches[0].counters[2].services",
        set_in(*B, "counters", 2, "services", value=["PLAN", "NOPE"]),
        "unknown service 'NOPE'",
    ),
    ("branches[0].counters[2].services", set_in(*B, "counters", 2, "services", value=[]), "at least one service"),
    ("branches[0].counters[2].services", set_in(*B, "counters", 2, "services", value=["PLAN", "PLAN"]), "listed twice"),
    ("branches[0].counters[2].services", set_in(*B, "counters", 2, "services", value="PLAN"), "must be a list"),
    ("branches[0].counters[2].services", delete(*B, "counters", 2, "services"), "missing (required)"),
    ("branches[0].counters[2].role", set_in(*B, "counters", 2, "role", value="boss"), "normal, fast_lane or vip"),
    ("branches[0].counters[1].number", set_in(*B, "counters", 1, "number", value="1"), "duplicate counter number"),
    ("branches[0].counters", set_in(*B, "counters", value=[]), "at least one counter"),
    ("branches[0].timezone", set_in(*B, "timezone", value="Mars/Olympus"), "unknown time zone"),
    ("branches[0].timezone", set_in(*B, "timezone", value="../../etc/passwd"), "unknown time zone"),
    ("branches[0].code", set_in(*B, "code", value="SZ FUTIAN"), "letters, digits"),
    ("branches[1].code", duplicate_branch, "duplicate branch code"),
    ("branches", set_in("branches", value=[]), "at least one branch"),
    ("branches", delete("branches"), "missing (required)"),
    ("server.timezone", set_in("server", "timezone", value="Nowhere/Town"), "unknown time zone"),
    ("server.port", set_in("server", "port", value=70000), "TCP port"),
    ("server.port", set_in("server", "port", value=-1), "at least 0"),
    ("server.port", set_in("server", "port", value="8080"), "must be an int"),
    ("server.port", set_in("server", "port", value=True), "must be an int"),
    ("server.database_url", set_in("server", "database_url", value="mysql://x/y"), "sqlite:///"),
    ("server.redis_url", set_in("server", "redis_url", value="http://cache"), "redis://"),
    ("server.languages", set_in("server", "languages", value=["zh-CN", "fr"]), "unsupported language 'fr'"),
    ("server.sqlite_synchronous", set_in("server", "sqlite_synchronous", value="off"), "full, extra or normal"),
    ("server", set_in("server", value="localhost"), "must be a dict"),
    ("server.sign_in_attempts", set_in("server", "sign_in_attempts", value=0), "at least 1"),
    ("server.proxy_hops", set_in("server", "proxy_hops", value=-1), "at least 0"),
    ("server.sign_in_lockout_min", set_in("server", "sign_in_lockout_min", value=0), "greater than 0"),
    ("server.session_cookie_secure", set_in("server", "session_cookie_secure", value="yes"), "must be a bool"),
    ("server.session_idle_min", set_in("server", "session_idle_min", value=0), "greater than 0"),
    ("server.session_idle_min", set_in("server", "session_idle_min", value=800), "session_lifetime_hours (12 h)"),
    ("server.session_lifetime_hours", set_in("server", "session_lifetime_hours", value=-1), "greater than 0"),
    ("server.session_lifetime_hours", set_in("server", "session_lifetime_hours", value=5000), "at most 2160"),
    ("staff[0].disabled", set_in("staff", 0, "disabled", value="no"), "must be a bool"),
    ("queue.transfer_placement", set_in("queue", "transfer_placement", value="back"), "keep_place"),
    ("queue.preference_step_min", set_in("queue", "preference_step_min", value=-5), "must not be negative"),
    ("queue.priority_head_start_min", set_in("queue", "priority_head_start_min", value=-1), "not be negative"),
    ("queue.reactivate_window_min", set_in("queue", "reactivate_window_min", value=0), "greater than 0"),
    ("queue.recent_calls", set_in("queue", "recent_calls", value=0), "at least 1"),
    ("queue.undo_no_show_s", set_in("queue", "undo_no_show_s", value=0), "must be 1-60 seconds"),
    ("queue.undo_no_show_s", set_in("queue", "undo_no_show_s", value=300), "must be 1-60 seconds"),
    ("queue.undo_no_show_s", set_in("queue", "undo_no_show_s", value="ten"), "must be"),
    ("queue.idempotency_ttl_hours", set_in("queue", "idempotency_ttl_hours", value=-1), "greater than 0"),
    ("staff[0].password_hash", set_in("staff", 0, "password_hash", value="demo-staff"), "make password"),
    ("staff[0].role", set_in("staff", 0, "role", value="root"), "one of staff, manager, admin, regional"),
    ("staff[0].branches", set_in("staff", 0, "branches", value=["NOPE"]), "unknown branch 'NOPE'"),
    ("staff[0].regions", set_in("staff", 0, "regions", value=["nowhere"]), "no branch is in region 'nowhere'"),
    ("staff[0].regions", lambda d: (d["branches"][0].update(region="south"), d["staff"][0].update(regions=["south"])),
     "only a regional account has regions"),
    ("staff[0].regions", set_in("staff", 0, "role", value="regional"), "a regional account needs its regions"),
    ("branches[0].region", set_in("branches", 0, "region", value="south east"), "letters, digits"),
    ("staff[1].username", set_in("staff", 1, "username", value="zhang.wei"), "duplicate username"),
    ("staff[0].username", set_in("staff", 0, "username", value="zhang wei"), "letters, digits"),
    # unknown keys, at every level
    ("colour", set_in("colour", value="blue"), "unknown key"),
    ("server.hots", set_in("server", "hots", value="0.0.0.0"), "unknown key"),
    ("queue.head_start_min", set_in("queue", "head_start_min", value=5), "unknown key"),
    ("branches[0].postcode", set_in(*B, "postcode", value="518000"), "unknown key"),
    ("branches[0].services[3].color", set_in(*B, "services", 3, "color", value="#000000"), "unknown key"),
    ("branches[0].counters[0].skills", set_in(*B, "counters", 0, "skills", value=["BILL"]), "unknown key"),
    ("branches[0].categories[0].parent", set_in(*B, "categories", 0, "parent", value="X"), "unknown key"),
    ("branches[0].name.fr", set_in(*B, "name", "fr", value="Salle"), "unknown key"),
    ("staff[0].email", set_in("staff", 0, "email", value="z@example.com"), "unknown key"),
    ("follow_ups.answer_hours", set_in("follow_ups", "answer_hours", value=0), "greater than 0"),
    ("follow_ups.answer_hours", set_in("follow_ups", "answer_hours", value=1000), "at most 720"),
    ("follow_ups.answer_hours", set_in("follow_ups", "answer_hours", value="24"), "must be"),
    ("follow_ups.due", set_in("follow_ups", "due", value=1), "unknown key"),
]


@pytest.mark.parametrize(
    ("key", "mutate", "problem"), BAD_CONFIGS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(BAD_CONFIGS)]
)
def test_bad_config_names_the_exact_key(
    load: Callable[..., HallConfig], key: str, mutate: Mutate, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(mutate)
    message = str(info.value)
    assert message.startswith(f"{key}: "), message
    assert problem in message


def test_follow_up_answer_time_from_the_config(load: Callable[..., HallConfig]) -> None:
    assert load().follow_ups.answer_within == timedelta(hours=24)
    assert load(set_in("follow_ups", "answer_hours", value=4.5)).follow_ups.answer_within == timedelta(hours=4.5)


def test_unknown_key_message_lists_the_allowed_keys(load: Callable[..., HallConfig]) -> None:
    with pytest.raises(ConfigError) as info:
        load(set_in("queue", "head_start_min", value=5))
    assert "allowed: " in str(info.value)
    assert "preference_step_min" in str(info.value)


def test_bad_toml_syntax_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text('[server]\nport = 8080\nhost = "unterminated\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert str(info.value).startswith(f"{bad}: not valid TOML: ")
    assert "line 3" in str(info.value)


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[server]\nhost = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert str(info.value) == f"{missing}: cannot read the configuration: No such file or directory"


def test_unwritable_secret_key_location_is_a_config_error(load: Callable[..., HallConfig], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"^server\.secret_key_file: cannot read or create "):
        load(set_in("server", "secret_key_file", value=str(blocker / "secret_key")))


# --- bugs: a bad value that escapes as a plain exception (python -m server then prints a traceback) ---------


def test_time_zone_naming_a_directory_is_a_config_error(load: Callable[..., HallConfig]) -> None:
    """BUG server/config.py:256: ``ZoneInfo("Asia")`` raises IsADirectoryError, which _zone does not catch."""
    with pytest.raises(ConfigError, match=r"^branches\[0\]\.timezone: unknown time zone"):
        load(set_in(*B, "timezone", value="Asia"))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("queue", "reactivate_window_min"), math.nan),
        (("branches", 0, "services", 0, "target_wait_min"), math.inf),
        (("queue", "idempotency_ttl_hours"), 1e20),
    ],
    ids=["nan", "inf", "huge"],
)
def test_non_finite_or_huge_durations_are_config_errors(
    load: Callable[..., HallConfig], path: tuple[Any, ...], value: float
) -> None:
    """BUG server/config.py:187/260: ``nan``/``inf`` (valid TOML floats) and huge numbers pass the checks and
    then ``timedelta(...)`` raises ValueError/OverflowError instead of a ConfigError naming the key."""
    expected = {
        ("queue", "reactivate_window_min"): "queue.reactivate_window_min",
        ("branches", 0, "services", 0, "target_wait_min"): "branches[0].services[0].target_wait_min",
        ("queue", "idempotency_ttl_hours"): "queue.idempotency_ttl_hours",
    }[path]
    with pytest.raises(ConfigError) as info:
        load(set_in(*path, value=value))
    assert str(info.value).startswith(f"{expected}: ")


def test_non_string_staff_branch_is_a_config_error(load: Callable[..., HallConfig]) -> None:
    """BUG server/config.py:499: ``code in branch_codes`` raises TypeError for an unhashable entry (a list)."""
    with pytest.raises(ConfigError, match=r"^staff\[0\]\.branches: "):
        load(set_in("staff", 0, "branches", value=[["SZ-FUTIAN"]]))


# --- python -m server ------------------------------------------------------------------------------


def write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "config.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("port = 8080", "port = 70000", "server.port"),
        (
            'services = ["PLAN", "SIM", "BILL"]',
            'services = ["PLAN", "SIM", "NOPE"]',
            "branches[0].counters[2].services",
        ),
        ('transfer_placement = "front"', 'transfer_placement = "back"', "queue.transfer_placement"),
    ],
    ids=["port", "counter-services", "transfer-placement"],
)
def test_python_m_server_reports_a_bad_config_without_traceback(tmp_path: Path, old: str, new: str, key: str) -> None:
    config_file = write_variant(tmp_path, old, new)
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["HALL_SECRET_KEY"] = "x" * 40
    done = subprocess.run(
        [str(VENV_PYTHON), "-m", "server", "--config", str(config_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "Traceback" not in done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("config error: ")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"config error: {key}: ")
    assert "READY" not in done.stdout


def test_python_m_server_reports_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    done = subprocess.run(
        [str(VENV_PYTHON), "-m", "server", "--config", str(missing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"config error: {missing}: cannot read the configuration" in done.stderr


# --- [ratings] -------------------------------------------------------------------------------------


def test_demo_ratings(load: Callable[..., HallConfig]) -> None:
    ratings = load().ratings
    assert ratings.scale == "three"
    assert ratings.scores == (3, 2, 1)
    assert ratings.dissatisfied_scores == (1,)
    assert ratings.pad_timeout_s == 60
    assert ratings.rating_window == timedelta(minutes=30)
    assert [c.code for c in ratings.low_reasons] == ["WAIT_LONG", "ATTITUDE", "SLOW", "NOT_SOLVED", "UNCLEAR"]
    assert [c.code for c in ratings.high_reasons] == ["FRIENDLY", "FAST", "PROFESSIONAL", "SOLVED"]
    assert ratings.low_reasons[0].text.as_dict() == {"zh-CN": "等待时间太长", "en": "Waited too long"}
    assert ratings.reasons_for(1) == ratings.low_reasons
    assert ratings.reasons_for(2) == ratings.high_reasons
    assert ratings.is_dissatisfied(1) and not ratings.is_dissatisfied(3)


def test_ratings_defaults_when_the_section_is_absent(load: Callable[..., HallConfig]) -> None:
    ratings = load(delete("ratings")).ratings
    assert ratings == RatingSettings()
    assert ratings.scale == "three"
    assert ratings.pad_timeout_s == 60
    assert ratings.rating_window == timedelta(minutes=30)
    assert ratings.dissatisfied_scores == (1,)
    assert ratings.low_reasons and ratings.high_reasons


def test_five_star_scale_defaults_to_one_and_two_dissatisfied(load: Callable[..., HallConfig]) -> None:
    ratings = load(set_in("ratings", value={"scale": "five", "low_reasons": [], "rating_window_min": 10})).ratings
    assert ratings.scores == (5, 4, 3, 2, 1)
    assert ratings.dissatisfied_scores == (1, 2)
    assert ratings.low_reasons == ()
    assert ratings.high_reasons == RatingSettings().high_reasons
    assert ratings.rating_window == timedelta(minutes=10)


def test_configured_dissatisfied_scores_are_kept_sorted(load: Callable[..., HallConfig]) -> None:
    ratings = load(set_in("ratings", value={"scale": "five", "dissatisfied_scores": [3, 1, 2]})).ratings
    assert ratings.dissatisfied_scores == (1, 2, 3)
    assert ratings.reasons_for(3) == ratings.low_reasons
    assert ratings.reasons_for(4) == ratings.high_reasons


def many_chips(data: dict[str, Any]) -> None:
    data["ratings"]["high_reasons"] = [{"code": f"C{i}", "text": {"zh-CN": "好", "en": "Good"}} for i in range(13)]


R = ("ratings",)
RATING_BAD_CONFIGS: list[tuple[str, Mutate, str]] = [
    ("ratings.scale", set_in(*R, "scale", value="ten"), '"three" or "five"'),
    ("ratings.scale", set_in(*R, "scale", value=3), "must be a str"),
    ("ratings.pad_timeout_s", set_in(*R, "pad_timeout_s", value=0), "at least 1"),
    ("ratings.pad_timeout_s", set_in(*R, "pad_timeout_s", value="60"), "must be an int"),
    ("ratings.pad_timeout_s", set_in(*R, "pad_timeout_s", value=7200), "not be longer than rating_window_min"),
    ("ratings.rating_window_min", set_in(*R, "rating_window_min", value=0), "greater than 0"),
    ("ratings.rating_window_min", set_in(*R, "rating_window_min", value=math.nan), "finite"),
    ("ratings.dissatisfied_scores", set_in(*R, "dissatisfied_scores", value=[4]), "not a score of the three scale"),
    ("ratings.dissatisfied_scores", set_in(*R, "dissatisfied_scores", value=[True]), "not a score"),
    ("ratings.dissatisfied_scores", set_in(*R, "dissatisfied_scores", value=["1"]), "not a score"),
    ("ratings.dissatisfied_scores", set_in(*R, "dissatisfied_scores", value=[1, 1]), "listed twice"),
    ("ratings.dissatisfied_scores", set_in(*R, "dissatisfied_scores", value=[1, 2, 3]), "satisfied"),
    ("ratings.dissatisfied_scores", set_in(*R, "dissatisfied_scores", value=1), "must be a list"),
    ("ratings.low_reasons[0].code", set_in(*R, "low_reasons", 0, "code", value="wait long"), "letters, digits"),
    ("ratings.high_reasons[1].code", set_in(*R, "high_reasons", 1, "code", value="SLOW"), "duplicate reason code"),
    ("ratings.low_reasons[2].code", delete(*R, "low_reasons", 2, "code"), "missing (required)"),
    ("ratings.low_reasons[0].text.en", delete(*R, "low_reasons", 0, "text", "en"), "missing (required)"),
    ("ratings.high_reasons[0].text", delete(*R, "high_reasons", 0, "text"), "missing (required)"),
    ("ratings.high_reasons[0].icon", set_in(*R, "high_reasons", 0, "icon", value="x"), "unknown key"),
    ("ratings.high_reasons", many_chips, "at most 12"),
    ("ratings.low_reasons", set_in(*R, "low_reasons", value="WAIT_LONG"), "must be a list"),
    ("ratings.timeout", set_in(*R, "timeout", value=60), "unknown key"),
    ("ratings", set_in("ratings", value="three"), "must be a dict"),
]


@pytest.mark.parametrize(
    ("key", "mutate", "problem"), RATING_BAD_CONFIGS,
    ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(RATING_BAD_CONFIGS)],
)
def test_bad_ratings_config_names_the_exact_key(
    load: Callable[..., HallConfig], key: str, mutate: Mutate, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(mutate)
    message = str(info.value)
    assert message.startswith(f"{key}: "), message
    assert problem in message


# --- [announcements] and [media] (wall displays) ------------------------------------------------------------


def test_demo_announcements_and_media(load: Callable[..., HallConfig], tmp_path: Path) -> None:
    config = load()
    spoken = config.announcements
    assert spoken.languages == ("zh-CN", "en")
    assert spoken.template("zh-CN") == "请 {number} 号到 {counter} 号窗口"
    assert spoken.template("en") == "Number {number}, please go to counter {counter}"
    assert (spoken.repeat, spoken.chime, spoken.voice) == (1, True, "auto")
    assert spoken.server_voice("zh-CN") == "cmn-latn-pinyin"
    media = config.media
    assert (media.max_image_mb, media.max_video_mb, media.max_video_s, media.image_seconds) == (5, 50, 60, 10)
    assert media.directory == ROOT / "var" / "media"  # beside the demo's SQLite database


def test_announcements_and_media_default_when_absent(load: Callable[..., HallConfig], tmp_path: Path) -> None:
    def strip(data: dict[str, Any]) -> None:
        data.pop("announcements")
        data.pop("media")
        data["server"]["languages"] = ["en"]
        data["server"]["database_url"] = f"sqlite:///{tmp_path / 'db' / 'hall.sqlite3'}"

    config = load(strip)
    assert config.announcements.languages == ("en",)  # follows [server] languages
    assert config.announcements.template("en") == "Number {number}, please go to counter {counter}"
    assert config.media.directory == tmp_path / "db" / "media"


def test_media_directory_for_postgresql_is_var_media_beside_the_config(load: Callable[..., HallConfig]) -> None:
    config = load(set_in("server", "database_url", value="postgresql://hall@localhost/hall"))
    assert config.media.directory == ROOT / "var" / "media"
    config = load(set_in("media", "directory", value="uploads"))
    assert config.media.directory == ROOT / "uploads"
    assert config.media.store == "directory"  # the default
    assert load(set_in("media", "store", value="database")).media.store == "database"


def test_partial_templates_keep_the_other_languages_default(load: Callable[..., HallConfig]) -> None:
    def only_english(data: dict[str, Any]) -> None:
        data["announcements"]["languages"] = ["en"]
        data["announcements"]["templates"] = {"en": "Ticket {number} to {counter_name}"}

    spoken = load(only_english).announcements
    assert spoken.template("en") == "Ticket {number} to {counter_name}"
    assert spoken.template("zh-CN") == "请 {number} 号到 {counter} 号窗口"


A = ("announcements",)
M = ("media",)
DISPLAY_BAD_CONFIGS: list[tuple[str, Mutate, str]] = [
    ("announcements.languages", set_in(*A, "languages", value=["fr"]), "unsupported language 'fr'"),
    ("announcements.languages", set_in(*A, "languages", value=["en", "en"]), "listed twice"),
    ("announcements.templates.en", set_in(*A, "templates", "en", value="Go to {counter}"), "must contain {number}"),
    ("announcements.templates.zh-CN", set_in(*A, "templates", "zh-CN", value="{number} {window}"),
     "unknown placeholder {window}"),
    ("announcements.templates.en", set_in(*A, "templates", "en", value="{number"), "malformed template"),
    ("announcements.templates.en", set_in(*A, "templates", "en", value=" "), "must not be empty"),
    ("announcements.templates.en", delete(*A, "templates", "en"), "missing (required)"),
    ("announcements.templates.fr", set_in(*A, "templates", "fr", value="{number}"), "unknown key"),
    ("announcements.repeat", set_in(*A, "repeat", value=0), "at least 1"),
    ("announcements.repeat", set_in(*A, "repeat", value=5), "at most 3"),
    ("announcements.chime", set_in(*A, "chime", value="yes"), "must be a bool"),
    ("announcements.voice", set_in(*A, "voice", value="cloud"), '"auto", "browser" or "server"'),
    ("announcements.server_voices.en", set_in(*A, "server_voices", "en", value="en; rm -rf /"),
     "not an espeak-ng voice"),
    ("announcements.speech_rate", set_in(*A, "speech_rate", value=500), "at most 300"),
    ("announcements.speaker", set_in(*A, "speaker", value="x"), "unknown key"),
    ("media.max_image_mb", set_in(*M, "max_image_mb", value=0), "greater than 0"),
    ("media.max_video_mb", set_in(*M, "max_video_mb", value=5000), "at most 500"),
    ("media.max_video_s", set_in(*M, "max_video_s", value="60"), "must be an int or float"),
    ("media.max_items", set_in(*M, "max_items", value=0), "at least 1"),
    ("media.directory", set_in(*M, "directory", value=3), "must be a str"),
    ("media.folder", set_in(*M, "folder", value="x"), "unknown key"),
    ("media.store", set_in(*M, "store", value="s3://bucket/hall"), "must be one of directory, database"),
    ("media.store", set_in(*M, "store", value=""), "got ''"),
]


@pytest.mark.parametrize(
    ("key", "mutate", "problem"), DISPLAY_BAD_CONFIGS,
    ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(DISPLAY_BAD_CONFIGS)],
)
def test_bad_display_config_names_the_exact_key(
    load: Callable[..., HallConfig], key: str, mutate: Mutate, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(mutate)
    message = str(info.value)
    assert message.startswith(f"{key}: "), message
    assert problem in message


# --- kiosks and their printers ([[branches.kiosks]], server.public_url) ---------------------------------


def test_demo_kiosks_and_public_url(load: Callable[..., HallConfig]) -> None:
    config = load()
    assert config.server.public_url is None  # "" in config.toml: QR codes use the host the kiosk called
    k1, k2 = config.branches[0].kiosks
    assert (k1.id, k1.printer, k1.printer_host, k1.printer_port) == ("K1", "browser", None, None)
    assert k1.name.as_dict() == {"zh-CN": "入口取号机", "en": "Entrance kiosk"}
    assert (k1.print_timeout_s, k1.status_query, k1.confirmation_s, k1.idle_reset_s) == (5, True, 20, 60)
    assert (k2.id, k2.printer) == ("K2", "none")
    assert config.branches[0].kiosk("K2") is k2
    assert config.branches[0].kiosk("K9") is None


def kiosks(*items: dict[str, Any]) -> Mutate:
    def mutate(data: dict[str, Any]) -> None:
        branch(data)["kiosks"] = [{"id": f"K{i}", "name": {"zh-CN": "取号机", "en": "Kiosk"}, **item}
                                  for i, item in enumerate(items)]

    return mutate


def test_kiosk_defaults_and_escpos_printer_address(load: Callable[..., HallConfig]) -> None:
    plain, lan, ipv6, default_port = load(kiosks(
        {}, {"printer": "escpos://192.168.1.50:9101", "print_timeout_s": 2.5, "status_query": False},
        {"printer": "escpos://[fd00::5]:9100"}, {"printer": "escpos://printer-1.hall.lan"},
    )).branches[0].kiosks
    assert (plain.printer, plain.confirmation_s, plain.idle_reset_s, plain.print_timeout_s) == ("none", 20, 60, 5)
    assert (lan.printer, lan.printer_host, lan.printer_port) == ("escpos", "192.168.1.50", 9101)
    assert (lan.print_timeout_s, lan.status_query) == (2.5, False)
    assert (ipv6.printer_host, ipv6.printer_port) == ("fd00::5", 9100)
    assert (default_port.printer_host, default_port.printer_port) == ("printer-1.hall.lan", 9100)
    assert load(delete(*B, "kiosks")).branches[0].kiosks == ()


def test_public_url_is_kept_without_its_trailing_slash(load: Callable[..., HallConfig]) -> None:
    config = load(set_in("server", "public_url", value="https://queue.example.cn/futian/"))
    assert config.server.public_url == "https://queue.example.cn/futian"


K = ("branches", 0, "kiosks", 0)
KIOSK_BAD_CONFIGS: list[tuple[str, Mutate, str]] = [
    ("branches[0].kiosks[0].printer", set_in(*K, "printer", value="usb"), '"escpos://host:port"'),
    ("branches[0].kiosks[0].printer", set_in(*K, "printer", value="tcp://10.0.0.5:9100"), "escpos://"),
    ("branches[0].kiosks[0].printer", set_in(*K, "printer", value="escpos://"), "escpos://host:port"),
    ("branches[0].kiosks[0].printer", set_in(*K, "printer", value="escpos://10.0.0.5:99999"), "1-65535"),
    ("branches[0].kiosks[0].printer", set_in(*K, "printer", value="escpos://10.0.0.5:0"), "1-65535"),
    ("branches[0].kiosks[0].printer", set_in(*K, "printer", value="escpos://10.0.0.5:x"), "1-65535"),
    ("branches[0].kiosks[0].printer", set_in(*K, "printer", value="escpos://10.0.0.5:9100/queue"), "host:port"),
    ("branches[0].kiosks[0].printer", set_in(*K, "printer", value=9100), "must be a str"),
    ("branches[0].kiosks[0].print_timeout_s", set_in(*K, "print_timeout_s", value=0), "greater than 0"),
    ("branches[0].kiosks[0].print_timeout_s", set_in(*K, "print_timeout_s", value=120), "at most 60"),
    ("branches[0].kiosks[0].print_timeout_s", set_in(*K, "print_timeout_s", value=math.inf), "finite"),
    ("branches[0].kiosks[0].confirmation_s", set_in(*K, "confirmation_s", value=-1), "greater than 0"),
    ("branches[0].kiosks[0].confirmation_s", set_in(*K, "confirmation_s", value="20"), "must be"),
    ("branches[0].kiosks[0].idle_reset_s", set_in(*K, "idle_reset_s", value=0), "greater than 0"),
    ("branches[0].kiosks[0].idle_reset_s", set_in(*K, "idle_reset_s", value=7200), "at most 3600"),
    ("branches[0].kiosks[0].status_query", set_in(*K, "status_query", value="yes"), "must be a bool"),
    ("branches[0].kiosks[0].id", set_in(*K, "id", value="kiosk 1"), "letters, digits"),
    ("branches[0].kiosks[0].id", delete(*K, "id"), "missing (required)"),
    ("branches[0].kiosks[1].id", set_in("branches", 0, "kiosks", 1, "id", value="K1"), "duplicate kiosk id"),
    ("branches[0].kiosks[0].name", delete(*K, "name"), "missing (required)"),
    ("branches[0].kiosks[0].name.en", delete(*K, "name", "en"), "missing (required)"),
    ("branches[0].kiosks[0].paper", set_in(*K, "paper", value="58mm"), "unknown key"),
    ("branches[0].kiosks", set_in(*B, "kiosks", value={"id": "K1"}), "must be a list"),
    ("server.public_url", set_in("server", "public_url", value="192.168.1.10:8080"), "http://"),
    ("server.public_url", set_in("server", "public_url", value="ftp://hall"), "http://"),
    ("server.public_url", set_in("server", "public_url", value="http://hall/?x=1"), "no query"),
    ("server.public_url", set_in("server", "public_url", value=8080), "must be a str"),
]


@pytest.mark.parametrize(
    ("key", "mutate", "problem"), KIOSK_BAD_CONFIGS,
    ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(KIOSK_BAD_CONFIGS)],
)
def test_bad_kiosk_config_names_the_exact_key(
    load: Callable[..., HallConfig], key: str, mutate: Mutate, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(mutate)
    message = str(info.value)
    assert message.startswith(f"{key}: "), message
    assert problem in message


# --- online appointments ---------------------------------------------------------------------------


def test_booking_settings_load_and_bad_ones_name_the_key(load: Callable[..., HallConfig]) -> None:
    hall = load().branches[0]
    assert hall.booking.horizon_days == 14 and hall.booking.change_cutoff_min == 120 and hall.booking.max_per_week == 2
    assert [s.code for s in hall.bookable_services] == ["PLAN", "BROADBAND"]
    assert hall.location.district is not None and hall.location.latitude == pytest.approx(22.541)

    def service(data: dict[str, Any]) -> dict[str, Any]:
        return branch(data)["services"][1]

    cases: list[tuple[Mutate, str]] = [
        (lambda d: service(d)["booking"].update(slot_min=25), "branches[0].services[1].booking.slot_min"),
        (lambda d: service(d)["booking"].update(per_slot=0), "branches[0].services[1].booking.per_slot"),
        (lambda d: service(d)["booking"].update(walk_in_share=1), "branches[0].services[1].booking.walk_in_share"),
        (lambda d: service(d)["booking"].update(bookable="yes"), "branches[0].services[1].booking.bookable"),
        (lambda d: service(d)["booking"].update(seats=3), "branches[0].services[1].booking.seats"),
        (lambda d: branch(d)["booking"].update(horizon_days=0), "branches[0].booking.horizon_days"),
        (lambda d: branch(d)["booking"].update(change_cutoff_min=-1), "branches[0].booking.change_cutoff_min"),
        (lambda d: branch(d)["booking"].update(max_per_week=21), "branches[0].booking.max_per_week"),
        (lambda d: branch(d).update(latitude=95.0), "branches[0].latitude"),
        (lambda d: branch(d).pop("longitude"), "branches[0].latitude"),
        (lambda d: branch(d).update(district="Futian"), "branches[0].district"),
    ]
    for mutate, key in cases:
        with pytest.raises(ConfigError) as refused:
            load(mutate)
        assert str(refused.value).startswith(f"{key}: "), (key, str(refused.value))
