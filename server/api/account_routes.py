"""Accounts: changing one's own password, and managing accounts (managers: the staff of their branches; admins:
every account). The rules are in :class:`server.services.accounts.AccountService`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, jsonify, request

from server.api import responses as R
from server.api.registry import api, route
from server.api.schemas import AccountCreateRequest, AccountUpdateRequest, AccountVersionRequest, PasswordChangeRequest
from server.domain.errors import DomainError
from server.domain.hall import AccountRole, StaffAccount
from server.services.access import MANAGER, PUBLIC, links_overview
from server.services.accounts import AccountService
from server.web import (
    SESSION_COOKIE,
    current_actor,
    current_session,
    forget_actor,
    hall_config,
    sessions,
    set_session_cookie,
)

OVERVIEW_PAGE = "/overview"  # where an account that works in no branch (a regional reader) lands
"""Where an account that works in no branch (a regional reader) lands after signing in on a branch's page."""


def session_view(account: StaffAccount, expires_at: datetime) -> dict[str, Any]:
    """Who is signed in, and what the pages may offer them (the browser is told, not taught, what a role may do)."""
    role = AccountRole(account.role)
    return {"username": account.username, "display_name": account.display_name, "role": account.role,
            "manages": role.manages, "administers": role == AccountRole.ADMIN,
            "landing": None if role.works_in_branches else OVERVIEW_PAGE,
            "overview": links_overview(hall_config(), account), "expires_at": expires_at.isoformat()}


def accounts() -> AccountService:
    return current_app.extensions["accounts"]


@route(api, "/session/password", "POST",
       "Change one's own password (signed in; or, with username, at a sign-in told to change it first). The "
       "account's other sessions end; this browser is signed in with the new password", tag="staff", auth=PUBLIC,
       body=PasswordChangeRequest, response=R.StaffSession,
       responses={400: "the new password is too short, too common or contains the user name (weak_password)",
                  401: "wrong current password",
                  429: "too many failed attempts from this device: locked for a while"})
def change_password(body: PasswordChangeRequest) -> Any:
    opened = current_session()
    username = opened.account.username if opened is not None else body.username
    if username is None:
        raise DomainError("name the account (username), or sign in first", code="username_required",
                          http_status=400, field="username")
    account = accounts().change_password(current_actor(), username, body.current_password, body.new_password,
                                         request.remote_addr or "")
    sessions().end(request.cookies.get(SESSION_COOKIE))
    session_id, new_session = sessions().start(account)
    forget_actor()
    response = jsonify(session_view(account, new_session.expires_at))
    set_session_cookie(response, session_id)
    return response


def _choices() -> dict[str, Any]:
    """The roles and branches the signed-in manager may give."""
    actor = current_actor()
    config = hall_config()
    mine = config.account(actor.username) if actor.username else None
    roles = list(AccountRole) if actor.is_admin else [AccountRole.STAFF]
    branches = [b for b in config.branches
                if actor.is_admin or mine is None or not mine.branches or b.code in mine.branches]
    return {"roles": [{"role": r.value, "label": r.label.as_dict()} for r in roles],
            "branches": [{"code": b.code, "name": b.name.as_dict()} for b in branches]}


@route(api, "/accounts", "GET", "The accounts the signed-in manager manages (an admin: every account)",
       tag="accounts", auth=MANAGER, response=R.Accounts)
def list_accounts() -> Any:
    return jsonify({"accounts": accounts().listing(current_actor()), **_choices()})


@route(api, "/accounts", "POST", "Create an account with a temporary password, shown once (changed at its first "
       "sign-in)", tag="accounts", auth=MANAGER, body=AccountCreateRequest, status=201,
       response=R.AccountWithPassword,
       responses={400: "a value the set-up refuses (invalid_setup, with the field)",
                  403: "a manager creating anything but staff of their own branches",
                  409: "the user name is taken (already_exists)"})
def create_account(body: AccountCreateRequest) -> Any:
    account, temporary = accounts().create(current_actor(), body.username, body.display_name, body.role,
                                           list(body.branches), body.photo)
    return jsonify({"account": account, "temporary_password": temporary}), 201


@route(api, "/accounts/<username>", "PATCH",
       "Change an account's name, role, branches, photo, or disable it (its sessions end at once)", tag="accounts",
       auth=MANAGER, body=AccountUpdateRequest, response=R.Account,
       responses={400: "a value the set-up refuses (invalid_setup, with the field)",
                  403: "not an account this manager manages; one's own role or account",
                  404: "no such account", 409: "changed meanwhile (stale_version); the last administrator"})
def update_account(username: str, body: AccountUpdateRequest) -> Any:
    # null means "unchanged" for every field but the photo, where it means "no photo"
    changes = {key: value for key, value in body.model_dump(exclude_unset=True, exclude={"version"}).items()
               if value is not None or key == "photo"}
    return jsonify(accounts().update(current_actor(), username, body.version, changes))


@route(api, "/accounts/<username>/password-reset", "POST",
       "Give an account a temporary password (shown once; its sessions end; changed at its next sign-in)",
       tag="accounts", auth=MANAGER, body=AccountVersionRequest, response=R.AccountWithPassword,
       responses={404: "no such account that this manager manages", 409: "changed meanwhile (stale_version)"})
def reset_password(username: str, body: AccountVersionRequest) -> Any:
    account, temporary = accounts().reset_password(current_actor(), username, body.version)
    return jsonify({"account": account, "temporary_password": temporary})
