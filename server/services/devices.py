"""Trusted devices: pairing by code, heartbeats, and what a manager sees and does (list, rename, revoke).

A device page that must be paired asks for a pairing (``request_pairing``): the server makes a random credential,
which the device keeps (a cookie) while the database keeps only its SHA-256, and a six-digit code the device
shows. A manager of the branch types the code on the manager page and approves the device for a role
(``pair``); from then on every request carrying the credential is that device (``authenticate``), until a manager
revokes it. Writes go through the branch's command transaction (several processes, SQLite or PostgreSQL); the rows
themselves say who paired and revoked what, when, and pairing, renaming and revoking are written to the audit log in
the same transaction.

A device that goes silent is an alert for the branch's managers (:mod:`server.services.device_alerts`): ``watch``,
run by the live loop, records it once as a ``device_offline`` hall event; the device's next heartbeat records
``device_online``, and revoking it ``device_revoked``. Their details go to the staff room only (the event's
``private`` part); the public rooms see no more than the kind and the branch's ``seq``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from server.domain.audit import AuditAction, target_of
from server.domain.device_alerts import device_key
from server.domain.devices import (
    PAIRING_TTL,
    Device,
    DeviceKind,
    DeviceState,
    Role,
    SilenceWatch,
    check_name,
    check_role,
    new_pairing_code,
    normalise_code,
    show_code,
    watch_silence,
)
from server.domain.errors import DomainError, NotFound, Unauthenticated
from server.domain.hall import Branch
from server.domain.tickets import EventKind
from server.persistence import counter_sessions
from server.persistence import devices as records
from server.services.access import require_branch, require_counter, require_device, require_manager
from server.services.actor import Actor, Clock, utc_now
from server.services.audit import AuditLog
from server.services.device_alerts import ended, offline_alert
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.unit_of_work import Transaction, UnitOfWork
from server.services.views import iso
from server.settings import HallConfig

MAX_PENDING = 50  # pending pairings per branch; more would only be someone filling the table
MAX_USER_AGENT = 200
LISTED_STATES = (DeviceState.PAIRED, DeviceState.REVOKED)


def secret_hash(secret: str) -> str:
    """What the database keeps of a device's credential."""
    return hashlib.sha256(secret.encode()).hexdigest()


def require_at(connection: Connection, config: HallConfig, actor: Actor, branch: Branch, role: Role) -> None:
    """:func:`~server.services.access.require_device`, with the counter the actor is signed in at when a member
    of staff stands in for a rating pad (read on ``connection``)."""
    staff_counter = None
    if role.kind == DeviceKind.PAD and actor.username is not None:
        staff_counter = counter_sessions.held_by(connection, branch.code, actor.username)
    require_device(config, actor, branch, role, staff_counter=staff_counter)


class DeviceService(ReadsHallModel):
    """Pairing, heartbeats and the managers' device list for every branch of one configuration."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock = utc_now, *,
                 randbelow: Callable[[int], int] = secrets.randbelow,
                 new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(32),
                 audit: AuditLog | None = None) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock
        self.audit = audit or AuditLog(config, uow, clock)
        self.randbelow = randbelow
        self.new_secret = new_secret
        self._watches: dict[str, SilenceWatch] = {}  # per branch: this process's last look for silent devices

    # --- the device itself ------------------------------------------------------------------------------------

    def authenticate(self, secret: str | None) -> Device | None:
        """The device whose credential this is (pending, paired or revoked), or None for none or an unknown one."""
        if not secret or len(secret) > 200:
            return None
        with self.uow.read() as session:
            return records.by_secret(session, secret_hash(secret))

    def request_pairing(self, branch_code: str, kind: str, target: str | None, secret: str | None,
                        user_agent: str | None = None) -> tuple[dict[str, Any], str | None]:
        """A device page asks to be paired as ``kind``/``target``: its view (with the code to show) and the new
        credential to hand it (None when it keeps the one it has: still pending with a live code, or paired)."""
        branch = require_branch(self.config, branch_code)
        role = check_role(branch, kind, target)
        now = self.clock()
        current = self.authenticate(secret)
        if current is not None and current.branch_code == branch.code and (
                current.paired or (current.state == DeviceState.PENDING and not current.pairing_expired(now))):
            return self.device_view(current), None
        new_secret = self.new_secret()
        with self.uow.command(branch, now) as tx:
            records.forget_expired_pairings(tx.session, branch.code, now - PAIRING_TTL)
            if records.count_pending(tx.session, branch.code) >= MAX_PENDING:
                raise DomainError(f"{MAX_PENDING} devices are already waiting to be paired at branch {branch.code}; "
                                  "try again in a few minutes", code="too_many_pairings", http_status=429,
                                  retry_after_s=60)
            code = new_pairing_code(records.pending_codes(tx.session, branch.code), self.randbelow)
            agent = (user_agent or "")[:MAX_USER_AGENT].strip() or None
            device = Device(id=None, branch_code=branch.code, role=role, state=DeviceState.PENDING, created_at=now,
                            pairing_code=code, user_agent=agent if agent and agent.isprintable() else None)
            records.add(tx.session, device, secret_hash(new_secret))
        return self.device_view(device), new_secret

    def me(self, secret: str | None) -> dict[str, Any]:
        """What the device is now (for its pairing screen): 401 ``device_not_paired`` without a known credential."""
        device = self.authenticate(secret)
        if device is None:
            raise Unauthenticated("this device holds no pairing; its page asks for a code", code="device_not_paired")
        return self.device_view(device)

    def heartbeat(self, secret: str | None) -> dict[str, Any]:
        """A paired device says it is there; 401 ``device_not_paired`` / ``device_revoked`` otherwise (its page then
        shows a pairing code). Written at most once per half heartbeat interval."""
        device = self.authenticate(secret)
        if device is None or not device.paired:
            revoked = device is not None and device.state == DeviceState.REVOKED
            raise Unauthenticated("a manager revoked this device's pairing" if revoked else "this device is not paired",
                                  code="device_revoked" if revoked else "device_not_paired")
        branch = require_branch(self.config, device.branch_code)
        now = self.clock()
        fresh_for = branch.devices.heartbeat / 2
        if device.offline_noted_at is not None or device.last_seen_at is None or now - device.last_seen_at >= fresh_for:
            with self.uow.command(branch, now) as tx:
                assert device.id is not None
                records.touch(tx.connection, device.id, now, now - fresh_for)
                if records.clear_offline_note(tx.connection, device.id):  # its silence was recorded: it ends
                    self._emit(tx, EventKind.DEVICE_ONLINE, device, offline_since=iso(device.heard_at))
            device.last_seen_at, device.offline_noted_at = now, None
        return self.device_view(device)

    # --- silent devices ---------------------------------------------------------------------------------------

    def watch(self, branch_code: str) -> int:
        """Record, once, each paired device of the branch that sent no heartbeat for ``offline_after``: a
        ``device_offline`` event, pushed to the branch's staff room. How many this call recorded.

        Cheap enough for the live loop to call every few seconds: it reads the branch's paired devices (one range
        of an index) only when one of them may have gone silent since its last look (:class:`SilenceWatch`), so a
        branch without devices costs one query per ``offline_after``. Safe with several server processes: the
        record is a conditional update of the device's row in the branch's command transaction, so when two
        processes look at once exactly one records it, and a heartbeat committed meanwhile wins."""
        branch = self.config.branch(branch_code)
        if branch is None:
            return 0
        offline_after = branch.devices.offline_after
        now = self.clock()
        last = self._watches.get(branch.code)
        if last is not None and not last.due(now, offline_after):
            return 0
        with self.uow.read() as session:
            look = watch_silence(records.paired(session, branch.code), now, offline_after)
        noted = 0
        if look.silent:
            with self.uow.command(branch, now) as tx:
                for device in look.silent:
                    assert device.id is not None
                    if records.note_offline(tx.connection, device.id, tx.now, tx.now - offline_after):
                        self._emit(tx, EventKind.DEVICE_OFFLINE, device, alert=offline_alert(device, branch))
                        noted += 1
        self._watches[branch.code] = look
        return noted

    def offline(self, branch_code: str, actor: Actor) -> list[dict[str, Any]]:
        """The branch's paired devices whose silence is recorded, as alerts, the longest silent first (managers)."""
        branch = self._managed(branch_code, actor)
        with self.uow.read() as session:
            silent = [d for d in records.paired(session, branch.code) if d.offline_noted_at is not None]
        return [offline_alert(device, branch) for device in sorted(silent, key=lambda d: (d.heard_at, d.id or 0))]

    def _emit(self, tx: Transaction, kind: EventKind, device: Device, *, alert: dict[str, Any] | None = None,
              **facts: Any) -> None:
        """A hall event about a device: the log keeps its id, role and when it was last heard; the staff room gets
        the alert it starts or ends (nothing of it reaches the public rooms)."""
        assert device.id is not None
        about = {"device_id": device.id, **device.role.as_dict(), "name": device.name,
                 "last_seen_at": iso(device.last_seen_at), **facts}
        tx.emit(kind, data=about, private={"alert": alert or ended(device_key(device.id)),
                                           "device": {**about, "role_name": device.role.label(tx.branch).as_dict()}})

    def device_view(self, device: Device) -> dict[str, Any]:
        """The device as it sees itself: its state, role, and the code to show while pending."""
        branch = self.config.branch(device.branch_code)
        pending = device.state == DeviceState.PENDING
        settings = branch.devices if branch else None
        return {
            "state": device.state.value,
            "branch": device.branch_code,
            **device.role.as_dict(),
            "role_name": device.role.label(branch).as_dict(),
            "name": device.name,
            "code": show_code(device.pairing_code) if pending and device.pairing_code else None,
            "expires_at": iso(device.created_at + PAIRING_TTL) if pending else None,
            "heartbeat_s": settings.heartbeat.total_seconds() if settings else None,
        }

    # --- checks for pages and other services ------------------------------------------------------------------

    def require(self, branch_code: str, role: Role, actor: Actor) -> None:
        """Refuse a request that is not from the device paired for ``role`` (see :func:`require_at`); an unknown
        counter is 404 ``unknown_counter`` first, as for anyone."""
        branch = require_branch(self.config, branch_code)
        if role.kind in (DeviceKind.PAD, DeviceKind.COUNTER_DISPLAY):
            require_counter(branch, role.target or "")
        with self.uow.read() as session:
            require_at(session.connection(), self.config, actor, branch, role)

    # --- managers ---------------------------------------------------------------------------------------------

    def pending(self, branch_code: str, code: str, actor: Actor) -> dict[str, Any]:
        """The device showing this code, waiting at this branch: what it asked to be, its browser, since when."""
        branch = self._managed(branch_code, actor)
        with self.uow.read() as session:
            device = self._pending(session, branch, code)
        return self.manager_view(device, branch)

    def pair(self, branch_code: str, code: str, kind: str, target: str | None, name: str | None,
             actor: Actor) -> dict[str, Any]:
        """Approve the device showing ``code`` for a role of this branch (404 ``unknown_pairing_code``)."""
        branch = self._managed(branch_code, actor)
        role = check_role(branch, kind, target)
        check_name(name)
        assert actor.username is not None
        with self.uow.command(branch, self.clock()) as tx:
            device = self._pending(tx.session, branch, code)
            before = self._audited(device, branch)
            device.approve(role, name, actor.username, tx.now)
            records.save(tx.session, device)
            self._record(tx.connection, actor, AuditAction.DEVICE_PAIRED, branch, device, before)
        return self.manager_view(device, branch)

    def devices(self, branch_code: str, actor: Actor) -> dict[str, Any]:
        """Every paired or revoked device of the branch with its role, when it was last heard and whether it is
        offline (and since when)."""
        branch = self._managed(branch_code, actor)
        now = self.clock()
        with self.uow.read() as session:
            found = records.of_branch(session, branch.code, LISTED_STATES)
        views = [self.manager_view(device, branch, now) for device in found]
        views.sort(key=lambda v: (v["state"] != DeviceState.PAIRED.value, v["online"] is not False, v["kind"],
                                  v["target"] or "", v["id"]))
        return {"branch": branch.code, "generated_at": iso(now),
                "offline_after_s": branch.devices.offline_after.total_seconds(),
                "require_pairing": sorted(k.value for k in branch.devices.require_pairing),
                "offline": sum(1 for v in views if v["online"] is False), "devices": views}

    def rename(self, branch_code: str, device_id: int, name: str | None, actor: Actor) -> dict[str, Any]:
        branch = self._managed(branch_code, actor)
        with self.uow.command(branch, self.clock()) as tx:
            device = self._device(tx.session, branch, device_id)
            before = self._audited(device, branch)
            device.rename(name)
            records.save(tx.session, device)
            self._record(tx.connection, actor, AuditAction.DEVICE_RENAMED, branch, device, before)
        return self.manager_view(device, branch)

    def revoke(self, branch_code: str, device_id: int, actor: Actor) -> dict[str, Any]:
        """Take the device's trust back at once: its credential opens nothing any more (409 ``already_revoked``)."""
        branch = self._managed(branch_code, actor)
        assert actor.username is not None
        with self.uow.command(branch, self.clock()) as tx:
            device = self._device(tx.session, branch, device_id)
            before = self._audited(device, branch)
            device.revoke(actor.username, tx.now)
            records.save(tx.session, device)
            assert device.id is not None
            records.clear_offline_note(tx.connection, device.id)
            self._record(tx.connection, actor, AuditAction.DEVICE_REVOKED, branch, device, before)
            self._emit(tx, EventKind.DEVICE_REVOKED, device)  # every manager page drops its alert, if it had one
        return self.manager_view(device, branch)

    def manager_view(self, device: Device, branch: Branch, now: datetime | None = None) -> dict[str, Any]:
        presence = device.presence(now or self.clock(), branch.devices.offline_after)
        pending = device.state == DeviceState.PENDING
        return {
            "id": device.id,
            "state": device.state.value,
            **device.role.as_dict(),
            "role_name": device.role.label(branch).as_dict(),
            "name": device.name,
            "code": show_code(device.pairing_code) if pending and device.pairing_code else None,
            "user_agent": device.user_agent,
            "asked_at": iso(device.created_at),
            "paired_at": iso(device.paired_at),
            "paired_by": device.paired_by,
            "paired_by_name": self.config.display_name(device.paired_by),
            "revoked_at": iso(device.revoked_at),
            "revoked_by": device.revoked_by,
            "revoked_by_name": self.config.display_name(device.revoked_by),
            "last_seen_at": iso(device.last_seen_at),
            "online": None if presence is None else presence.online,
            "offline_since": None if presence is None else iso(presence.offline_since),
        }

    # --- internals --------------------------------------------------------------------------------------------

    @staticmethod
    def _audited(device: Device, branch: Branch) -> dict[str, Any]:
        """What the audit log keeps of a device: its state, role (named in both languages) and name."""
        return {"state": device.state.value, "role": device.role.label(branch).as_dict(), "name": device.name}

    def _record(self, connection: Connection, actor: Actor, action: AuditAction, branch: Branch, device: Device,
                before: dict[str, Any]) -> None:
        self.audit.record_in(connection, actor, action, branch=branch.code, target=target_of("device", device.id),
                             before=before, after=self._audited(device, branch))

    def _managed(self, branch_code: str, actor: Actor) -> Branch:
        branch = require_branch(self.config, branch_code)
        require_manager(self.config, actor, branch)
        return branch

    def _pending(self, session: Any, branch: Branch, code: str) -> Device:
        stored = normalise_code(code)
        device = records.pending_by_code(session, branch.code, stored) if stored else None
        if device is None or device.pairing_expired(self.clock()):
            raise NotFound(f"no device of branch {branch.code} shows the code {code[:12]!r} (codes last "
                           f"{PAIRING_TTL.total_seconds() / 60:g} min)", code="unknown_pairing_code")
        return device

    def _device(self, session: Any, branch: Branch, device_id: int) -> Device:
        device = records.get(session, branch.code, device_id)
        if device is None or device.state == DeviceState.PENDING:
            raise NotFound(f"branch {branch.code} has no device {device_id}", code="unknown_device")
        return device


__all__ = ["DeviceService", "require_at", "secret_hash"]
