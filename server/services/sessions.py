"""Staff browser sessions that can be ended: signed in, signed out, everywhere at once, and by the account's changes.

A sign-in makes a random session id (256 bits) for the browser's cookie; the database keeps only its SHA-256 (the
session's *key*) with the account's name, a fingerprint of its password hash, and when it began and was last used.
Every server process reads the same rows, so a session ended in one process is ended for all of them at once.

A session has ended (:func:`end_reason`) when its row is gone (signed out, "sign out everywhere", ended by a
manager), when the account was removed or disabled in the configuration, when the account's password hash is not
the one it was opened with (a changed password ends every older session, at start-up and at the next use), after
``server.session_idle_min`` without a request, and ``server.session_lifetime_hours`` after sign-in whatever happens.

Signing in (and a refused sign-in, by a wrong password or a lockout), signing out, signing out everywhere and a
manager ending a staff member's sessions are written to the audit log (:mod:`server.services.audit`), in the same
transaction as the change where there is one.

The live staff sockets follow the sessions: whoever ends sessions here tells the listeners (the socket side of
this process drops their sockets at once), and the socket side checks the rest every few seconds with
:meth:`SessionService.live`, which is how the other processes' sockets learn of it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from server.domain.audit import AuditAction, target_of
from server.domain.errors import NotAllowed, NotFound, Unauthenticated
from server.domain.hall import StaffAccount
from server.domain.passwords import DEMO_PASSWORDS
from server.offload import Offload
from server.persistence import staff_sessions
from server.persistence.staff_sessions import StoredSession
from server.services.access import SIGN_IN_FIRST, require_branch, require_manager, works_at
from server.services.accounts import PasswordChangeRequired, authenticate
from server.services.actor import Actor, Clock
from server.services.audit import AuditLog
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.sign_in_throttle import SignInThrottle, TooManySignIns
from server.services.unit_of_work import DatabaseUnavailable, UnitOfWork
from server.settings import HallConfig

log = logging.getLogger(__name__)

TOUCH_EVERY = timedelta(minutes=1)
"""How stale a session's "last used" may get before a request writes it again: one small write a minute per
signed-in browser, not one per request, at the cost of a minute's precision on the idle limit."""

EndListener = Callable[[Collection[str]], None]
TYPED_NAME_MAX = 64  # of a refused sign-in's name as typed, in the audit log


def session_key(session_id: str) -> str:
    """What the database keeps of a session id: its SHA-256, in hex. The id has 256 random bits, so a fast hash is
    enough; a copy of the table opens no session."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def credential_of(account: StaffAccount) -> str:
    """A fingerprint of the account's password hash: a session opened under another hash has ended."""
    return hashlib.sha256(f"{account.username}\n{account.password_hash}".encode()).hexdigest()


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    lifetime: timedelta


def end_reason(stored: StoredSession, account: StaffAccount | None, now: datetime, limits: SessionLimits) -> str | None:
    """Why a stored session has ended, or None while it holds (the one rule, for requests, sockets and start-up)."""
    if account is None:
        return "account_removed"
    if account.disabled:
        return "account_disabled"
    if stored.credential != credential_of(account):
        return "password_changed"
    if now >= stored.created_at + limits.lifetime:
        return "lifetime_reached"
    if now >= stored.last_seen_at + limits.idle:
        return "idle"
    return None


@dataclass(frozen=True)
class OpenSession:
    """A session that holds: its key (not the cookie's secret) and its account."""

    key: str
    account: StaffAccount
    expires_at: datetime  # the lifetime's end (the idle limit may end it sooner)


class SessionService(ReadsHallModel):
    """Opens, resumes and ends staff sessions in the database; the clock is passed in."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock, *,
                 audit: AuditLog | None = None, throttle: SignInThrottle | None = None) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock
        self.audit = audit or AuditLog(self.model, uow, clock)
        self.throttle = throttle
        self.limits = SessionLimits(self.config.server.session_idle, self.config.server.session_lifetime)
        self._listeners: list[EndListener] = []

    def on_end(self, listener: EndListener) -> None:
        """Tell ``listener`` the keys of the sessions this process ends (its sockets leave at once)."""
        self._listeners.append(listener)

    def sign_in(self, username: str, password: str, actor: Actor, offload: Offload, *,
                previous: str | None = None) -> tuple[str, OpenSession]:
        """Check the password (throttled per name and ``actor.address``) and open a session: the id for the cookie,
        and the session; the browser's ``previous`` session, if any, ends. 401 ``bad_credentials`` for a wrong
        password, an unknown name or a disabled account alike, 429 ``too_many_attempts`` while locked out; each
        refusal is recorded with the name as typed (never the password)."""
        try:
            account = authenticate(self.config, username, password, offload, throttle=self.throttle,
                                   client=actor.address or "")
        except TooManySignIns as refusal:
            if refusal.first:  # each further knock on a locked door would cost a write and say nothing new
                self._refused(actor, username, "locked_out")
            raise
        if account is None:
            known = self.config.account(username)
            self._refused(actor, username, "unknown_name" if known is None else
                          "account_disabled" if known.disabled else "wrong_password")
            raise Unauthenticated("wrong username or password", code="bad_credentials")
        self._require_own_password(account, password)
        self.end(previous)  # a new id at each sign-in: the old one is over
        who = Actor(username=account.username, role=account.role, device=actor.device, address=actor.address)
        return self.start(account, record=lambda connection: self.audit.record_in(
            connection, who, AuditAction.SIGN_IN, target=target_of("account", account.username)))

    def _require_own_password(self, account: StaffAccount, password: str) -> None:
        """A right password that must be replaced before the account signs in (403 ``password_change_required``):
        one an administrator set, or a demo password everyone knows where the deployment does not allow them."""
        if account.must_change_password:
            raise PasswordChangeRequired("choose a new password: this one was set by an administrator",
                                         reason="reset")
        if password in DEMO_PASSWORDS and not self.config.server.allow_demo_passwords:
            raise PasswordChangeRequired("choose a new password: this is a demo password everyone knows",
                                         reason="demo")

    def _refused(self, actor: Actor, typed: str, reason: str) -> None:
        """A refused sign-in: under the account's name when the name is one (its managers read it), else nobody's."""
        known = self.config.account(typed)
        who = Actor(username=known.username, role=known.role, device=actor.device, address=actor.address) \
            if known is not None else Actor(username=None, role="anonymous", device=actor.device, address=actor.address)
        self.audit.record(who, AuditAction.SIGN_IN_REFUSED, target=target_of("account", typed[:TYPED_NAME_MAX]),
                          after={"reason": reason})

    def start(self, account: StaffAccount, *,
              record: Callable[[Connection], object] | None = None) -> tuple[str, OpenSession]:
        """A new session for ``account``: the id for the cookie, and the session (``record`` writes its audit entry
        in the same transaction)."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        stored = StoredSession(id_hash=session_key(session_id), username=account.username,
                               credential=credential_of(account), created_at=now, last_seen_at=now)
        with self.uow.write() as session:
            staff_sessions.add(session.connection(), stored)
            if record is not None:
                record(session.connection())
        return session_id, self._open(stored, account)

    def resume(self, session_id: str | None) -> OpenSession | None:
        """The session behind a cookie's id, or None when there is none or it has ended (then its row goes)."""
        if not session_id or len(session_id) > 128:
            return None
        key = session_key(session_id)
        with self.uow.read_statements() as connection:  # one statement: no session or transaction around it
            stored = staff_sessions.get(connection, key)
        if stored is None:
            return None
        now = self.clock()
        account = self.config.account(stored.username)
        reason = end_reason(stored, account, now, self.limits)
        if reason is not None or account is None:
            self._end([key], reason or "account_removed")
            return None
        if now - stored.last_seen_at >= TOUCH_EVERY:
            try:
                with self.uow.write() as session:
                    staff_sessions.touch(session.connection(), key, now)
            except DatabaseUnavailable:  # the request goes on; the next one notes the use
                pass
        return self._open(stored, account)

    def end(self, session_id: str | None) -> None:
        """This browser's session has ended (replaced by a new sign-in; not recorded)."""
        if session_id and len(session_id) <= 128:
            self._end([session_key(session_id)], "signed_out")

    def sign_out(self, session_id: str | None, actor: Actor) -> None:
        """Sign out: this browser's session ends, recorded under its account (nothing happens without one)."""
        if not session_id or len(session_id) > 128:
            return
        key = session_key(session_id)
        with self.uow.write() as session:
            connection = session.connection()
            stored = staff_sessions.get(connection, key)
            if stored is None:
                return
            staff_sessions.remove(connection, [key])
            self.audit.record_in(connection, Actor(username=stored.username, role=self._role(stored.username),
                                                   device=actor.device, address=actor.address),
                                 AuditAction.SIGN_OUT, target=target_of("account", stored.username))
        self._tell([key], "signed_out")

    def sign_out_everywhere(self, actor: Actor) -> int:
        """The signed-in account ends every one of its sessions, on every device; how many there were."""
        if actor.username is None:
            raise Unauthenticated(SIGN_IN_FIRST)
        username = actor.username
        return self.end_all(username, record=lambda connection, ended: self.audit.record_in(
            connection, actor, AuditAction.SIGN_OUT_EVERYWHERE, target=target_of("account", username),
            after={"sessions_ended": ended}))

    def end_all(self, username: str, reason: str = "ended_everywhere", *,
                record: Callable[[Connection, int], object] | None = None) -> int:
        """End every session of ``username``, on every device and process; how many there were. The hook for a
        password change or a disabled account made while the server runs (``record`` writes the audit entry of
        whoever ended them, in the same transaction)."""
        with self.uow.write() as session:
            keys = staff_sessions.remove_of(session.connection(), username)
            if record is not None:
                record(session.connection(), len(keys))
        self._tell(keys, reason, username)
        return len(keys)

    def end_for_staff(self, branch_code: str, actor: Actor, username: str) -> int:
        """A manager of the branch ends a staff member's sessions (a lost or shared tablet). Managers' own sessions
        are theirs to end (sign out everywhere), so one manager cannot sign the others out."""
        branch = require_branch(self.config, branch_code)
        require_manager(self.config, actor, branch)
        account = self.config.account(username)
        if account is None or not works_at(self.config, account, branch):
            raise NotFound(f"no staff member {username!r} at branch {branch.code}", code="unknown_staff")
        if account.role != "staff" and account.username != actor.username:
            raise NotAllowed("a manager's sessions are ended by that manager or in the configuration",
                             code="manager_only")
        return self.end_all(account.username, record=lambda connection, ended: self.audit.record_in(
            connection, actor, AuditAction.SESSIONS_ENDED, branch=branch.code,
            target=target_of("account", account.username), after={"sessions_ended": ended}))

    def end_invalid(self, why: str = "at_start") -> int:
        """End every session that no longer holds (removed, disabled or re-hashed accounts, past the limits): at
        start-up, and when the accounts change, so that the change takes effect before anyone comes back."""
        now = self.clock()
        with self.uow.read() as session:
            stored = staff_sessions.every(session.connection())
        ended = [s.id_hash for s in stored
                 if end_reason(s, self.config.account(s.username), now, self.limits) is not None]
        if ended:
            self._end(ended, why)
        return len(ended)

    def live(self, keys: Collection[str]) -> set[str]:
        """Which of these session keys still hold (the socket side's check; nothing is written)."""
        if not keys:
            return set()
        now = self.clock()
        with self.uow.read() as session:
            stored = staff_sessions.among(session.connection(), keys)
        return {s.id_hash for s in stored
                if end_reason(s, self.config.account(s.username), now, self.limits) is None}

    def _role(self, username: str) -> str:
        account = self.config.account(username)
        return account.role if account is not None else "staff"

    def _open(self, stored: StoredSession, account: StaffAccount) -> OpenSession:
        return OpenSession(key=stored.id_hash, account=account, expires_at=stored.created_at + self.limits.lifetime)

    def _end(self, keys: list[str], reason: str) -> None:
        with self.uow.write() as session:
            staff_sessions.remove(session.connection(), keys)
        self._tell(keys, reason)

    def _tell(self, keys: list[str], reason: str, username: str | None = None) -> None:
        if username is not None:
            log.info("ended %d session(s) of %s: %s", len(keys), username, reason)
        for listener in self._listeners:
            try:
                listener(keys)
            except Exception:  # the sessions have ended in the database whatever a listener does
                log.exception("a session-end listener failed")
