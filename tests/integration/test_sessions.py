"""Staff sessions live in the database and can be ended: sign-out, everywhere, by a manager, by a changed password
hash or a disabled account in the configuration, and by the idle and absolute limits; the staff sockets follow.

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

from server.app import create_app
from server.persistence.staff_sessions import StoredSession
from server.services.actor import Actor
from server.services.sessions import SessionLimits, credential_of, end_reason
from server.web import SESSION_COOKIE
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
B = f"/api/branches/{BRANCH}"
STAFF_PASSWORD = "demo-staff"
MANAGER_PASSWORD = "demo-manager"

Adjust = Callable[[dict[str, Any]], None]


class Hall:
    """Apps on one database, each as a server process would be started (with its own configuration)."""

    def __init__(self, database_url: str, tmp_path: Path, clock: FakeClock) -> None:
        self.database_url, self.tmp_path, self.clock = database_url, tmp_path, clock
        self.apps: list[Flask] = []

    def start(self, more: Adjust | None = None) -> Flask:
        config = demo_config(self.database_url, self.tmp_path, more=more)
        app, _socketio = create_app(config, clock=self.clock, publisher=RecordingPublisher())
        self.apps.append(app)
        return app

    def close(self) -> None:
        for app in self.apps:
            app.extensions["hall"].uow.engine.dispose()
            app.extensions["hall"].uow.read_engine.dispose()


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hall]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)
    started = Hall(database_url, tmp_path, clock)
    yield started
    started.close()


@pytest.fixture
def app(hall: Hall) -> Flask:
    return hall.start()


def signed_in(app: Flask, username: str = "zhang.wei", password: str = STAFF_PASSWORD) -> FlaskClient:
    client = app.test_client()
    r = client.post("/api/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return client


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return cookie.value


def carrying(app: Flask, session_id: str) -> FlaskClient:
    """A browser that presents a (copied) session cookie."""
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, session_id)
    return client


def can_read_events(client: FlaskClient) -> bool:
    status = client.get(f"{B}/events").status_code
    assert status in (200, 401), status
    return status == 200


def join_staff(app: Flask, client: FlaskClient) -> tuple[Any, dict[str, Any]]:
    socket = app.extensions["hall_socketio"].test_client(app, flask_test_client=client)
    return socket, socket.emit("join", {"role": "staff", "branch": BRANCH}, callback=True)


def other_hash(username: str) -> Adjust:
    def change(data: dict[str, Any]) -> None:
        for account in data["staff"]:
            if account["username"] == username:
                account["password_hash"] = generate_password_hash("a new password", method="pbkdf2:sha256:1000")
    return change


def disabled(username: str) -> Adjust:
    def change(data: dict[str, Any]) -> None:
        for account in data["staff"]:
            if account["username"] == username:
                account["disabled"] = True
    return change


def test_sign_out_makes_the_old_cookie_useless(app: Flask) -> None:
    staff = signed_in(app)
    stolen = cookie_of(staff)  # a copy of the cookie, as one left on a shared tablet or read off the wire
    assert can_read_events(carrying(app, stolen))
    assert staff.delete("/api/session").get_json() == {"username": None}
    assert staff.get_cookie(SESSION_COOKIE) is None  # the browser is told to forget it

    replay = carrying(app, stolen)
    assert not can_read_events(replay)
    assert replay.get("/api/session").get_json() == {"username": None}
    assert replay.post(f"{B}/counters/2/sign-in", json={}).get_json()["error"] == "unauthenticated"
    socket, answer = join_staff(app, carrying(app, stolen))
    assert (answer["ok"], answer["error"]) == (False, "unauthenticated")
    socket.disconnect()


def test_the_cookie_holds_a_random_id_that_the_database_keeps_only_hashed(app: Flask, database_url: str) -> None:
    first, second = signed_in(app), signed_in(app)
    ids = {cookie_of(first), cookie_of(second)}
    assert len(ids) == 2 and all(len(i) >= 43 for i in ids)  # 256 random bits each
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id_hash, username FROM staff_session")).all()
    engine.dispose()
    assert {row.id_hash for row in rows} == {hashlib.sha256(i.encode()).hexdigest() for i in ids}
    assert not any(i in str(rows) for i in ids)
    header = next(h for h in signed_in(app).post("/api/session", json={
        "username": "zhang.wei", "password": STAFF_PASSWORD}).headers.getlist("Set-Cookie"))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    assert "Max-Age=43200" in header  # the absolute lifetime, 12 h


def test_a_new_sign_in_replaces_the_browsers_old_session(app: Flask) -> None:
    staff = signed_in(app)
    before = cookie_of(staff)
    assert staff.post("/api/session", json={"username": "zhang.wei", "password": STAFF_PASSWORD}).status_code == 200
    assert cookie_of(staff) != before
    assert not can_read_events(carrying(app, before))
    assert can_read_events(staff)


def test_secure_cookie_when_served_over_https(hall: Hall) -> None:
    app = hall.start(lambda data: data["server"].update(session_cookie_secure=True))
    response = app.test_client().post("/api/session", json={"username": "zhang.wei", "password": STAFF_PASSWORD},
                                      base_url="https://localhost")
    [header] = response.headers.getlist("Set-Cookie")
    assert header.startswith(f"{SESSION_COOKIE}=") and "; Secure" in header and "HttpOnly" in header


def test_sign_out_drops_a_connected_staff_socket(app: Flask) -> None:
    staff = signed_in(app)
    socket, answer = join_staff(app, staff)
    assert answer["ok"] is True and socket.is_connected()
    assert len(app.extensions["staff_sockets"]) == 1
    staff.delete("/api/session")
    assert not socket.is_connected()  # at once: it was this process that ended the session
    assert len(app.extensions["staff_sockets"]) == 0


def test_sign_out_everywhere(app: Flask) -> None:
    tablet, phone, colleague = signed_in(app), signed_in(app), signed_in(app, "li.na")
    socket, answer = join_staff(app, phone)
    assert answer["ok"] is True
    answer = tablet.delete("/api/session/everywhere").get_json()
    assert answer == {"username": "zhang.wei", "ended": 2}
    assert not can_read_events(tablet) and not can_read_events(phone)
    assert not socket.is_connected()
    assert can_read_events(colleague)  # another account's sessions are not touched
    refused = app.test_client().delete("/api/session/everywhere")
    assert (refused.status_code, refused.get_json()["error"]) == (401, "unauthenticated")


def test_a_manager_ends_a_staff_members_sessions(app: Flask) -> None:
    staff, manager = signed_in(app), signed_in(app, "manager", MANAGER_PASSWORD)
    answer = manager.delete(f"{B}/staff/zhang.wei/sessions")
    assert answer.get_json() == {"username": "zhang.wei", "ended": 1}
    assert not can_read_events(staff) and can_read_events(manager)
    assert manager.delete(f"{B}/staff/nobody/sessions").get_json()["error"] == "unknown_staff"
    other_manager = signed_in(app, "manager", MANAGER_PASSWORD)
    assert manager.delete(f"{B}/staff/manager/sessions").get_json()["ended"] == 2  # a manager's own
    assert not can_read_events(other_manager)
    refused = signed_in(app).delete(f"{B}/staff/li.na/sessions")
    assert (refused.status_code, refused.get_json()["error"]) == (403, "manager_only")


def edit_accounts(app: Flask, change: Adjust) -> None:
    """An administrator edits the accounts (an import of the edited set-up: the database holds the accounts)."""
    store = app.extensions["hall_store"]
    document = tomllib.loads(store.export_toml())
    change(document)
    store.import_document(Actor(username="admin", role="admin"), document)


def test_a_changed_password_hash_ends_the_sessions_at_once(hall: Hall) -> None:
    app = hall.start()
    zhang, li = signed_in(app), signed_in(app, "li.na")
    zhang_id, li_id = cookie_of(zhang), cookie_of(li)
    edit_accounts(app, other_hash("zhang.wei"))
    engine = create_engine(hall.database_url)
    with engine.connect() as connection:
        left = connection.execute(text("SELECT username FROM staff_session")).scalars().all()
    engine.dispose()
    assert left == ["li.na"]  # ended before anyone came back
    assert not can_read_events(carrying(app, zhang_id))
    assert can_read_events(carrying(app, li_id))
    assert signed_in(app, "zhang.wei", "a new password")
    restarted = hall.start()  # and a server started afterwards has the new hash from the database
    assert signed_in(restarted, "zhang.wei", "a new password")


def test_a_changed_password_hash_ends_the_sessions_in_every_process(hall: Hall) -> None:
    """Another process still serves the model from before the change: the session is gone for it too."""
    old, changing = hall.start(), hall.start()
    session_id = cookie_of(signed_in(old))
    edit_accounts(changing, other_hash("li.na"))  # li.na changed: zhang.wei's session survives
    assert can_read_events(carrying(old, session_id))
    edit_accounts(changing, other_hash("zhang.wei"))
    assert not can_read_events(carrying(changing, session_id))
    assert not can_read_events(carrying(old, session_id))  # gone for every process


def test_a_session_opened_under_an_old_hash_ends_at_its_next_use(hall: Hall) -> None:
    """A session row whose credential is not the account's current one (opened by a process that had not yet
    served the change) ends when it is next presented."""
    app = hall.start()
    session_id = cookie_of(signed_in(app))
    edit_accounts(app, other_hash("zhang.wei"))
    engine = create_engine(hall.database_url)
    with engine.begin() as connection:  # as if a process still on the old model had opened it just now
        connection.execute(text("INSERT INTO staff_session (id_hash, username, credential, created_at, "
                                "last_seen_at) VALUES (:key, 'zhang.wei', 'old', :now, :now)"),
                           {"key": hashlib.sha256(session_id.encode()).hexdigest(),
                            "now": hall.clock().replace(tzinfo=None)})
    engine.dispose()
    assert not can_read_events(carrying(app, session_id))


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(hall: Hall) -> None:
    app = hall.start()
    session_id = cookie_of(signed_in(app))
    edit_accounts(app, disabled("zhang.wei"))
    assert not can_read_events(carrying(app, session_id))
    refused = app.test_client().post("/api/session", json={"username": "zhang.wei", "password": STAFF_PASSWORD})
    assert (refused.status_code, refused.get_json()["error"]) == (401, "bad_credentials")
    assert app.extensions["hall"].config.account("zhang.wei") is not None  # kept for the history


def test_the_end_all_hook_for_a_password_change(app: Flask) -> None:
    """What an account editor calls after changing a password or disabling an account while the server runs."""
    tablet, phone = signed_in(app), signed_in(app)
    socket, _answer = join_staff(app, tablet)
    assert app.extensions["sessions"].end_all("zhang.wei", "password_changed") == 2
    assert not can_read_events(tablet) and not can_read_events(phone) and not socket.is_connected()


def test_idle_and_absolute_limits(hall: Hall) -> None:
    app = hall.start(lambda data: data["server"].update(session_idle_min=30, session_lifetime_hours=2))
    clock = hall.clock
    staff = signed_in(app)
    idle = signed_in(app)
    expires = datetime.fromisoformat(staff.get("/api/session").get_json()["expires_at"])
    assert expires == clock.now + timedelta(hours=2)
    for _ in range(4):  # used every 25 minutes: the idle limit never strikes
        clock.advance(minutes=25)
        assert can_read_events(staff)
    assert not can_read_events(idle)  # unused for more than 30 minutes
    clock.advance(minutes=19)  # 1 h 59 min after sign-in
    assert can_read_events(staff)
    clock.advance(minutes=1)  # 2 h: the lifetime is over, however busy the session was
    assert not can_read_events(staff)


def test_the_sweep_drops_sockets_of_sessions_ended_elsewhere(hall: Hall) -> None:
    """Another process (or the clock) ended the session: this process's socket leaves at the next sweep."""
    app = hall.start(lambda data: data["server"].update(session_idle_min=30))
    other_process = hall.start()
    keep, lose, idle = signed_in(app), signed_in(app), signed_in(app, "li.na")
    sockets = {name: join_staff(app, client)[0] for name, client in (("keep", keep), ("lose", lose), ("idle", idle))}
    carrying(other_process, cookie_of(lose)).delete("/api/session")
    assert sockets["lose"].is_connected()  # this process has not heard yet
    hall.clock.advance(minutes=20)
    assert can_read_events(keep)
    hall.clock.advance(minutes=15)  # li.na: 35 minutes unused
    app.extensions["staff_sockets"].sweep()
    assert {name: s.is_connected() for name, s in sockets.items()} == {"keep": True, "lose": False, "idle": False}
    sockets["keep"].disconnect()
    app.extensions["staff_sockets"].sweep()
    assert len(app.extensions["staff_sockets"]) == 0


def test_a_socket_that_joins_a_public_room_is_no_longer_watched(app: Flask) -> None:
    staff = signed_in(app)
    socket, answer = join_staff(app, staff)
    assert answer["ok"] is True
    assert socket.emit("join", {"role": "display", "branch": BRANCH}, callback=True)["ok"] is True
    assert len(app.extensions["staff_sockets"]) == 0
    staff.delete("/api/session")
    assert socket.is_connected()  # a display socket needs no session
    socket.disconnect()


NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@given(created=st.integers(0, 24 * 60), seen=st.integers(0, 24 * 60), now=st.integers(0, 48 * 60),
       idle=st.integers(1, 24 * 60), lifetime=st.integers(1, 24 * 60))
def test_end_reason_follows_the_limits(created: int, seen: int, now: int, idle: int, lifetime: int) -> None:
    from server.domain.hall import StaffAccount

    account = StaffAccount("zhang.wei", "Zhang Wei", "pbkdf2:sha256:1000$salt$00", "staff", ())
    minute = timedelta(minutes=1)
    stored = StoredSession("k", "zhang.wei", credential_of(account), NOW + created * minute,
                           NOW + max(created, seen) * minute)
    limits = SessionLimits(idle=idle * minute, lifetime=lifetime * minute)
    at = NOW + now * minute
    reason = end_reason(stored, account, at, limits)
    holds = at < stored.created_at + limits.lifetime and at < stored.last_seen_at + limits.idle
    assert (reason is None) == holds
    assert end_reason(stored, None, at, limits) == "account_removed"
    changed = StaffAccount("zhang.wei", "Zhang Wei", "pbkdf2:sha256:1000$salt$01", "staff", ())
    assert end_reason(stored, changed, at, limits) == "password_changed"
