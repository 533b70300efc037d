"""The hall model in the database: seeded from ``config.toml`` at the first start, the database's afterwards.

At start-up :meth:`HallStore.open` either seeds the database with the configuration's hall sections (a new
database) or builds the model from the database, keeping the deployment settings of ``config.toml``; from then on
edits of those sections in ``config.toml`` are not read (start-up says so when they differ). Changes made through
the administration (or an import) are validated whole by the loader of ``config.toml`` before anything is
written, move the model's revision and reach every server process: the process that made the change serves the
new model at once, the others when they next compare revisions (:meth:`HallStore.check`, every second from the
live loop, and before a screen is given a snapshot), and the screens of each changed branch get a ``hall_changed``
event that makes them redraw.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import tomli_w

from server.config import HALL_SECTIONS, ConfigError, parse_hall
from server.domain.audit import AuditAction, target_of
from server.domain.errors import DomainError, NotFound
from server.domain.hall_document import CODE_KEY, LIST_OF_KIND, NO_BRANCH, HallItem, HallItemKind, join, split
from server.domain.tickets import EventKind
from server.persistence import hall_items
from server.services.actor import Actor, Clock
from server.services.audit import AuditLog
from server.services.hall_model import HallModel
from server.services.unit_of_work import UnitOfWork
from server.settings import HallConfig

log = logging.getLogger(__name__)


def _comparable(document: Mapping[str, Any]) -> Any:
    """A document with empty lists dropped (the loader reads them as absent ones)."""
    if isinstance(document, Mapping):
        return {key: _comparable(value) for key, value in document.items() if value != []}
    if isinstance(document, list):
        return [_comparable(value) for value in document]
    return document


class StaleChange(DomainError):
    """The piece changed since the editor read it: their save would undo someone else's."""

    code = "stale_version"
    http_status = 409


class InvalidSetup(DomainError):
    """The set-up the change would make is refused by the loader's rules; ``field`` names the edited piece's key
    when the rule is about it (else the whole form)."""

    code = "invalid_setup"
    http_status = 400


@dataclass(frozen=True)
class PieceChange:
    """Create, edit or retire one piece. ``body`` None retires it; ``version`` is the one the editor read (None
    to create). ``position`` moves it within its list (None: where it is, or at the end when new)."""

    kind: HallItemKind
    branch_code: str
    code: str
    body: Mapping[str, Any] | None
    version: int | None
    position: int | None = None


@dataclass(frozen=True)
class ChangeResult:
    revision: int
    item: HallItem

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "kind": self.item.kind.value, "branch": self.item.branch_code or None,
                "code": self.item.code, "version": self.item.version, "retired": self.item.retired,
                "body": dict(self.item.body)}


def redacted(kind: HallItemKind, body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A piece as the audit log keeps it: an account's password hash never leaves the account."""
    if body is None:
        return None
    shown = dict(body)
    if kind == HallItemKind.ACCOUNT and "password_hash" in shown:
        shown["password_hash"] = "(set)"
    return shown


def _path_of(document: Mapping[str, Any], kind: HallItemKind, branch_code: str, code: str) -> str | None:
    """The loader's key path of a piece in ``document`` (``branches[0].services[3]``), to tell its own errors."""
    if kind == HallItemKind.ACCOUNT:
        names = [a.get("username") for a in document.get("staff", [])]
        return f"staff[{names.index(code)}]" if code in names else None
    if kind == HallItemKind.SETTINGS:
        return code
    branches = [b.get("code") for b in document.get("branches", [])]
    own = code if kind == HallItemKind.BRANCH else branch_code
    if own not in branches:
        return None
    index = branches.index(own)
    if kind == HallItemKind.BRANCH:
        return f"branches[{index}]"
    listed = document["branches"][index].get(LIST_OF_KIND[kind], [])
    names = [t.get(CODE_KEY[kind]) for t in listed]
    return f"branches[{index}].{LIST_OF_KIND[kind]}[{names.index(code)}]" if code in names else None


def _field_of(message: str, path: str | None) -> str | None:
    """The edited piece's key a loader error names (``prefix`` of ``branches[0].services[3].prefix: ...``). An error
    about a sibling's same key (the loader names the second of two equal prefixes) is the edit's too: it is the
    only thing that changed."""
    key = message.split(": ", 1)[0]
    if path is None or " " in key:
        return None
    siblings = re.sub(r"\[\d+\]$", "[", path)
    if key.startswith(path + "."):
        rest = key[len(path) + 1:]
    elif siblings != path and key.startswith(siblings) and re.match(r"\d+\]\.", key[len(siblings):]):
        rest = key[len(siblings):].split("].", 1)[1]
    else:
        return None
    return rest.split(".", 1)[0].split("[", 1)[0]


@dataclass(frozen=True)
class ImportResult:
    revision: int
    added: int
    changed: int
    retired: int
    branches: tuple[str, ...]  # the branches whose set-up changed

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "added": self.added, "changed": self.changed, "retired": self.retired,
                "branches": list(self.branches)}


class HallStore:
    def __init__(self, uow: UnitOfWork, clock: Clock, audit: AuditLog | None = None) -> None:
        self.uow = uow
        self.clock = clock
        self.audit = audit
        self.model: HallModel | None = None

    # --- start-up and reloading ------------------------------------------------------------------------

    def open(self, config: HallConfig) -> HallModel:
        """The model to serve: the database's, or ``config``'s after seeding an empty database with it."""
        with self.uow.write() as session:
            connection = session.connection()
            revision = hall_items.lock_revision(connection)
            if revision is None:
                hall_items.seed(connection, split(config.document), self.clock(),
                                str(config.source) if config.source else None)
                revision = 1
                log.info("the hall model was seeded from %s into the database", config.source or "the configuration")
                served = config
            else:
                served = self._build(hall_items.every(connection), config)
                if _comparable(served.document) != _comparable(config.document):
                    log.warning("%s: its hall sections (%s) differ from the database's model, which is the one "
                                "served; apply them with `python -m server hall import`", config.source or "the "
                                "configuration", ", ".join(HALL_SECTIONS))
        self.model = HallModel(served, revision)
        return self.model

    @staticmethod
    def _build(items: list[HallItem], settings: HallConfig) -> HallConfig:
        try:
            return parse_hall(join(items), settings)
        except ConfigError as exc:  # only a hand-edited database gets here: every change is validated first
            raise ConfigError(f"the hall model in the database: {exc}") from None

    def check(self) -> bool:
        """Serve the database's model if it moved on since this process loaded its own; whether it had."""
        model = self._model()
        with self.uow.read() as session:
            revision = hall_items.revision(session.connection())
        if revision is None or revision <= model.revision:
            return False
        return self.reload()

    def reload(self) -> bool:
        model = self._model()
        with self.uow.read() as session:
            connection = session.connection()
            revision = hall_items.revision(connection)
            items = hall_items.every(connection)
        if revision is None:
            return False
        return model.replace(self._build(items, model.current), revision)

    def _model(self) -> HallModel:
        if self.model is None:
            raise RuntimeError("HallStore.open() first")
        return self.model

    def piece(self, kind: HallItemKind, code: str, branch_code: str = NO_BRANCH) -> HallItem | None:
        """One piece as stored (with its version), retired or not."""
        with self.uow.read() as session:
            items = hall_items.every(session.connection())
        return next((i for i in items if (i.kind, i.branch_code, i.code) == (kind, branch_code, code)), None)

    def pieces(self, kind: HallItemKind) -> list[HallItem]:
        with self.uow.read() as session:
            return [i for i in hall_items.every(session.connection()) if i.kind == kind]

    # --- export and import ------------------------------------------------------------------------------

    def export_toml(self) -> str:
        """The hall sections as served, as TOML: importing it (or starting a new database with it in
        ``config.toml``) gives the same model."""
        header = ("# The hall set-up exported from the database: the hall sections of config.toml\n"
                  f"# ({', '.join(HALL_SECTIONS)}). Import with `python -m server hall import FILE`.\n\n")
        return header + tomli_w.dumps(dict(self._model().current.document), multiline_strings=False)

    def import_document(self, actor: Actor, data: Mapping[str, Any]) -> ImportResult:
        """Replace the hall model with ``data``'s hall sections, all or nothing. Everything is validated first (a
        :class:`ConfigError` names the key); pieces that are gone are retired, never deleted."""
        model = self._model()
        document = {key: data[key] for key in HALL_SECTIONS if key in data}
        candidate = parse_hall(document, model.current)  # refuses before anything is written
        now = self.clock()
        wanted = {(i.kind, i.branch_code, i.code): i for i in split(document)}
        added = changed = retired = 0
        touched: set[str] = set()
        with self.uow.write() as session:
            connection = session.connection()
            hall_items.lock_revision(connection)
            stored = {(i.kind, i.branch_code, i.code): i for i in hall_items.every(connection)}
            for key, item in wanted.items():
                old = stored.get(key)
                if old is None:
                    hall_items.add(connection, [item], now, actor.username)
                    added += 1
                elif old.retired or old.body != item.body or old.position != item.position:
                    hall_items.replace(connection, replace(item, version=old.version + 1), now, actor.username)
                    changed += 1
                else:
                    continue
                touched.add(_branch_of(item))
            for key, old in stored.items():
                if key not in wanted and not old.retired:
                    hall_items.replace(connection, replace(old, version=old.version + 1, retired=True), now,
                                       actor.username)
                    retired += 1
                    touched.add(_branch_of(old))
            revision = hall_items.bump(connection) if (added or changed or retired) else model.revision
            if self.audit is not None and revision != model.revision:
                self.audit.record_in(connection, actor, AuditAction.HALL_CHANGED, target=target_of("import"),
                                     after={"added": added, "changed": changed, "retired": retired})
        if any(kind == HallItemKind.SETTINGS for kind, _branch, _code in wanted if (kind, _branch, _code) in stored
               and stored[(kind, _branch, _code)].body != wanted[(kind, _branch, _code)].body):
            touched |= {b.code for b in candidate.branches}  # ratings and announcements: every branch's screens
        branches = tuple(sorted(code for code in touched if code))
        if revision != model.revision:
            model.replace(replace(candidate, document=candidate.document), revision)
            self.announce(branches, revision)
        return ImportResult(revision, added, changed, retired, branches)

    def change(self, actor: Actor, change: PieceChange) -> ChangeResult:
        """Create, edit or retire one piece, validated with the whole set-up it makes (nothing is written when it
        is refused) and refused as stale when the piece changed since ``change.version`` was read."""
        model = self._model()
        kind, branch_code = change.kind, change.branch_code if change.kind in LIST_OF_KIND else NO_BRANCH
        if change.body is not None and kind in CODE_KEY and change.body.get(CODE_KEY[kind]) != change.code:
            raise InvalidSetup(f"{CODE_KEY[kind]} cannot change (retire this one and create another)",
                               field=CODE_KEY[kind])
        now = self.clock()
        with self.uow.write() as session:
            connection = session.connection()
            hall_items.lock_revision(connection)
            items = hall_items.every(connection)
            key = (kind, branch_code, change.code)
            old = next((i for i in items if (i.kind, i.branch_code, i.code) == key), None)
            if change.version is None:
                if old is not None and not old.retired:
                    raise DomainError(f"{kind.label.en} {change.code!r} exists already", code="already_exists",
                                      field=CODE_KEY.get(kind))
            elif old is None:
                raise NotFound(f"no {kind.label.en.lower()} {change.code!r}")
            elif old.version != change.version:
                raise StaleChange(f"{kind.label.en} {change.code!r} was changed by someone else meanwhile",
                                  yours=change.version, current=old.version, current_body=redacted(kind, old.body),
                                  retired=old.retired)
            if change.body is None and (old is None or old.retired):
                raise NotFound(f"no {kind.label.en.lower()} {change.code!r} to retire")
            siblings = [i for i in items if i.kind == kind and i.branch_code == branch_code]
            others = sum(1 for i in siblings if i.code != change.code and not i.retired)
            position = min(max(change.position, 0), others) if change.position is not None else (
                old.position if old is not None and not old.retired else max((i.position for i in siblings),
                                                                              default=-1) + 1)
            new = HallItem(kind, branch_code, change.code, position,
                           dict(change.body) if change.body is not None else (old.body if old else {}),
                           version=(old.version + 1) if old else 1, retired=change.body is None)
            reordered = self._make_room(siblings, new) if change.position is not None else []
            moved = {r.after.code for r in reordered}
            candidate_items = [i for i in items if (i.kind, i.branch_code, i.code) != key and not (
                i.kind == kind and i.branch_code == branch_code and i.code in moved)]
            candidate_items += [r.after for r in reordered] + [new]
            document = join(candidate_items)
            try:
                candidate = parse_hall(document, model.current)
            except ConfigError as exc:
                message = str(exc)
                field = _field_of(message, _path_of(document, kind, branch_code, change.code))
                raise InvalidSetup(message.split(": ", 1)[1] if field else message, field=field,
                                   key=message.split(": ", 1)[0]) from None
            if old is None:
                hall_items.add(connection, [new], now, actor.username)
            else:
                hall_items.replace(connection, new, now, actor.username)
            for moved in reordered:
                hall_items.replace(connection, moved.after, now, actor.username)
            revision = hall_items.bump(connection)
            if self.audit is not None:
                action = AuditAction.ACCOUNT_CHANGED if kind == HallItemKind.ACCOUNT else AuditAction.HALL_CHANGED
                target = target_of(kind.value, change.code)
                after = None if new.retired else redacted(kind, new.body)
                if after is not None and old is not None and kind == HallItemKind.ACCOUNT and (
                        old.body.get("password_hash") != new.body.get("password_hash")):
                    after["password_hash"] = "(changed)"
                self.audit.record_in(connection, actor, action, branch=branch_code or (
                    change.code if kind == HallItemKind.BRANCH else None), target=target,
                    before=None if old is None or old.retired else redacted(kind, old.body), after=after)
        model.replace(candidate, revision)
        if kind == HallItemKind.SETTINGS:
            branches = tuple(b.code for b in candidate.branches)
        elif kind == HallItemKind.ACCOUNT:
            branches = ()
        else:
            branches = (change.code if kind == HallItemKind.BRANCH else branch_code,)
        self.announce(branches, revision)
        return ChangeResult(revision, new)

    @staticmethod
    def _make_room(siblings: list[HallItem], moved: HallItem) -> list[_Moved]:
        """The other pieces of the list renumbered around ``moved``'s new position (0, 1, 2... in order)."""
        others = sorted((i for i in siblings if i.code != moved.code and not i.retired), key=lambda i: i.position)
        others.insert(moved.position, moved)
        return [_Moved(item, replace(item, position=index))  # an order is not an edit: no version moves
                for index, item in enumerate(others) if item.code != moved.code and item.position != index]

    def announce(self, branches: tuple[str, ...], revision: int) -> None:
        """Tell the screens of each changed branch (a ``hall_changed`` event, in the branch's order of events)."""
        config = self._model().current
        for code in branches:
            branch = config.branch(code)
            if branch is None:  # retired: nothing of it is served any more
                continue
            with self.uow.command(branch, self.clock()) as tx:
                tx.emit(EventKind.HALL_CHANGED, data={"revision": revision},
                        public={"revision": revision, "resync": True})


@dataclass(frozen=True)
class _Moved:
    before: HallItem
    after: HallItem


def _branch_of(item: HallItem) -> str:
    """The branch a piece belongs to ("" for accounts and settings, which touch every branch's staff screens)."""
    return item.code if item.kind == HallItemKind.BRANCH else item.branch_code
