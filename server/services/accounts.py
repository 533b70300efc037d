"""Staff sign-in: checking a password against the account list of ``config.toml`` (a disabled account never opens).

Password hashes are deliberately slow (scrypt or PBKDF2, tens to hundreds of milliseconds). The hash runs
through ``offload`` (a native thread under eventlet, where hashlib releases the interpreter lock), so a
sign-in does not freeze the kiosks and displays of the hall meanwhile. An unknown user name costs the
same hash as a wrong password, so the answer's timing does not tell which names exist.

Guessing is throttled (:class:`~server.services.sign_in_throttle.SignInThrottle`): a name locked out for a device
is refused before any hash is computed.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from server.domain.errors import DomainError, NotAllowed, NotFound, Unauthenticated
from server.domain.hall import AccountRole, StaffAccount
from server.domain.hall_document import NO_BRANCH, HallItemKind
from server.domain.passwords import DEMO_PASSWORD_HASHES, password_problem, temporary_password
from server.domain.values import Text
from server.offload import Offload
from server.services.access import SIGN_IN_FIRST
from server.services.actor import Actor
from server.services.hall_model import HallModel, ReadsHallModel
from server.services.hall_store import ChangeResult, HallStore, PieceChange
from server.services.sign_in_throttle import SignInThrottle
from server.settings import HallConfig

log = logging.getLogger(__name__)

@cache
def _decoy_hash(like: str) -> str:
    """A hash, made the same way as a real account's, of a password no account has: unknown names cost as much."""
    method = like.split("$", 1)[0] or "scrypt"
    return generate_password_hash("no account has this password", method=method)


def authenticate(config: HallConfig, username: str, password: str, offload: Offload, *,
                 throttle: SignInThrottle | None = None, client: str = "") -> StaffAccount | None:
    """The account these credentials open, or None; 429 ``too_many_attempts`` while ``client``
    is locked out for this name (:mod:`server.services.sign_in_throttle`)."""
    if throttle is not None:
        throttle.check(username, client)
    account = config.account(username)
    if account is not None and account.disabled:  # answered like an unknown name: same cost, same answer
        account = None
    if account is None:
        known_method = config.staff[0].password_hash if config.staff else "scrypt"
        offload(lambda: check_password_hash(_decoy_hash(known_method), password))
        opened = None
    else:
        opened = account if offload(lambda: check_password_hash(account.password_hash, password)) else None
    if throttle is not None:
        if opened is None:
            throttle.failed(username, client)
        else:
            throttle.succeeded(username, client)
    return opened


# --- accounts: sign-in, passwords, and their administration -----------------------------------------------------


class BadCredentials(DomainError):
    code = "bad_credentials"
    http_status = 401


class PasswordChangeRequired(DomainError):
    """The password was right, but it must be replaced before the account signs in: an administrator reset it, or
    it is one of the demo's published passwords (where the deployment does not allow them)."""

    code = "password_change_required"
    http_status = 403


class WeakPassword(DomainError):
    code = "weak_password"
    http_status = 400


class AccountService(ReadsHallModel):
    """Signing in with the rules on passwords, changing one's own password, and managing accounts: an admin manages
    every account; a manager the staff accounts of their branches. Accounts are pieces of the hall set-up (changed
    through :class:`~server.services.hall_store.HallStore`: versioned, validated, audited, live everywhere)."""

    def __init__(self, model: HallModel, store: HallStore, offload: Offload, throttle: SignInThrottle | None,
                 *, hash_method: str = "scrypt") -> None:
        self.model = model
        self.store = store
        self.offload = offload
        self.throttle = throttle
        self.hash_method = hash_method

    # --- one's own password (signing in is the sessions' :meth:`SessionService.sign_in`) ------------------------

    def change_password(self, actor: Actor, username: str, current: str, new: str, client: str) -> StaffAccount:
        """Replace the account's password (the current one proves it is theirs); its other sessions end."""
        account = authenticate(self.config, username, current, self.offload, throttle=self.throttle, client=client)
        if account is None:
            raise BadCredentials("wrong username or password", field="current_password")
        problem = password_problem(new, username)
        if problem is None and new == current:
            problem = Text("新密码不能与原密码相同", "The new password must differ from the current one")
        if problem is not None:
            raise WeakPassword(problem.en, field="new_password", problem=problem.as_dict())
        password_hash = self.offload(lambda: generate_password_hash(new, method=self.hash_method))
        who = actor if actor.username == username else Actor(username=username, role=account.role,
                                                                 device=actor.device, address=actor.address)
        self._save(who, username, None, {"password_hash": password_hash, "must_change_password": False})
        changed = self.config.account(username)
        assert changed is not None
        return changed

    # --- administration ------------------------------------------------------------------------------------

    def listing(self, actor: Actor) -> list[dict[str, Any]]:
        """The accounts ``actor`` may manage, with the version an edit must name."""
        self._require_manager(actor)
        found = []
        for item in self.store.pieces_of(HallItemKind.ACCOUNT):
            account = self.config.account(item.code)
            if account is None or not self._manages(actor, account.role, account.branches, account.username):
                continue
            found.append(self.view(account, item.version))
        return sorted(found, key=lambda a: (a["disabled"], a["role"] != "admin", a["display_name"]))

    @staticmethod
    def view(account: StaffAccount, version: int) -> dict[str, Any]:
        return {"username": account.username, "display_name": account.display_name, "role": account.role,
                "branches": list(account.branches), "photo": account.photo, "disabled": account.disabled,
                "must_change_password": account.must_change_password, "version": version}

    def create(self, actor: Actor, username: str, display_name: str, role: str, branches: list[str],
               photo: str | None = None) -> tuple[dict[str, Any], str]:
        """A new account with a temporary password (changed at its first sign-in); the password is shown once."""
        self._require_manager(actor)
        self._require_manages(actor, role, tuple(branches))
        temporary = temporary_password()
        password_hash = self.offload(lambda: generate_password_hash(temporary, method=self.hash_method))
        body: dict[str, Any] = {"username": username, "display_name": display_name, "password_hash": password_hash,
                                "role": role, "must_change_password": True}
        if branches:
            body["branches"] = list(branches)
        if photo:
            body["photo"] = photo
        result = self.store.change(actor, PieceChange(HallItemKind.ACCOUNT, NO_BRANCH, username, body, None))
        created = self.config.account(username)
        assert created is not None
        return self.view(created, result.item.version), temporary

    def update(self, actor: Actor, username: str, version: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Change an account's name, role, branches, photo or disabled flag (a disabled account's sessions end)."""
        self._require_manager(actor)
        account = self._managed(actor, username)
        role = changes.get("role", account.role)
        branches = tuple(changes.get("branches", account.branches))
        self._require_manages(actor, role, branches)
        if username == actor.username and (changes.get("disabled") or role != account.role):
            raise DomainError("you cannot disable your own account or change your own role", code="not_yourself")
        if account.role == AccountRole.ADMIN and (role != AccountRole.ADMIN or changes.get("disabled")):
            admins = [a for a in self.config.staff if a.role == AccountRole.ADMIN and not a.disabled]
            if len(admins) <= 1:
                raise DomainError("the last administrator stays an administrator", code="last_admin")
        result = self._save(actor, username, version, changes)
        changed = self.config.account(username)
        assert changed is not None
        return self.view(changed, result.item.version)

    def reset_password(self, actor: Actor, username: str, version: int) -> tuple[dict[str, Any], str]:
        """A temporary password for an account whose owner forgot theirs; every session of it ends."""
        self._require_manager(actor)
        self._managed(actor, username)
        temporary = temporary_password()
        password_hash = self.offload(lambda: generate_password_hash(temporary, method=self.hash_method))
        result = self._save(actor, username, version, {"password_hash": password_hash, "must_change_password": True})
        changed = self.config.account(username)
        assert changed is not None
        return self.view(changed, result.item.version), temporary

    # --- rules ---------------------------------------------------------------------------------------------

    def _save(self, actor: Actor, username: str, version: int | None, changes: dict[str, Any]) -> ChangeResult:
        item = self.store.piece(HallItemKind.ACCOUNT, username)
        if item is None or item.retired:
            raise NotFound(f"no account {username!r}", code="unknown_account")
        body = dict(item.body)
        for key, value in changes.items():
            if value in (None, False, [], "") and key in ("photo", "disabled", "must_change_password", "branches"):
                body.pop(key, None)  # the loader's default: a tidy export
            else:
                body[key] = list(value) if isinstance(value, tuple) else value
        return self.store.change(actor, PieceChange(HallItemKind.ACCOUNT, NO_BRANCH, username, body,
                                                    item.version if version is None else version))

    @staticmethod
    def _require_manager(actor: Actor) -> None:
        if actor.username is None:
            raise Unauthenticated(SIGN_IN_FIRST)
        if not actor.is_manager:
            raise NotAllowed("only managers and administrators manage accounts", code="manager_only")

    def _managed(self, actor: Actor, username: str) -> StaffAccount:
        account = self.config.account(username)
        if account is None or not self._manages(actor, account.role, account.branches, username):
            raise NotFound(f"no account {username!r} that you manage", code="unknown_account")
        return account

    def _manages(self, actor: Actor, role: str, branches: tuple[str, ...], username: str | None = None) -> bool:
        """An admin manages every account; a manager the staff accounts of their own branches (and only those). A
        manager without branches runs every branch, so every staff account is theirs; a manager of some branches
        does not manage staff who also work elsewhere (an account without branches works everywhere)."""
        if actor.is_admin:
            return True
        mine = self.config.account(actor.username) if actor.username else None
        if mine is None or role != AccountRole.STAFF:
            return False
        if not mine.branches:
            return True
        return bool(branches) and set(branches) <= set(mine.branches)

    def _require_manages(self, actor: Actor, role: str, branches: tuple[str, ...]) -> None:
        if not self._manages(actor, role, branches):
            raise NotAllowed("managers manage the staff accounts of their own branches; administrators the rest",
                             code="not_your_account", field="role" if role != AccountRole.STAFF else "branches")


def warn_of_demo_passwords(config: HallConfig) -> list[str]:
    """At start-up: say loudly which accounts still have a demo password (the names, never a password)."""
    names = [a.username for a in config.staff if not a.disabled and a.password_hash in DEMO_PASSWORD_HASHES]
    if names:
        allowed = ("they sign in because [server] allow_demo_passwords = true" if config.server.allow_demo_passwords
                   else "they must choose a new password at their next sign-in")
        log.warning("!!! %d account(s) still use a published demo password: %s; %s. Change them before real use "
                    "(the staff console and manager page: Change password). !!!", len(names), ", ".join(names),
                    allowed)
    return names
