"""The hall model in the database: seeded from ``config.toml`` at the first start, the database's afterwards.

At start-up :meth:`HallStore.open` either seeds the database with the configuration's hall sections (a new
database) or builds the model from the database, keeping the deployment settings of ``config.toml``; from then on
edits of those sections in ``config.toml`` are not read (start-up says so when they differ). Changes made through
the administration (or an import) are validated whole by the loader of ``config.toml`` before anything is
written, move the model's revision and reach every server process: the process that made the change serves the
new model at once, the others when they next compare revisions (:meth:`HallStore.check`, twice a second from the
live loop, and before a screen is given a snapshot), and the screens of each changed branch get a ``hall_changed``
event that makes them redraw.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import tomli_w

from server.config import HALL_SECTIONS, ConfigError, parse_hall
from server.domain.audit import AuditAction, target_of
from server.domain.errors import DomainError, NotFound
from server.domain.hall import Branch
from server.domain.hall_document import (
    CODE_KEY,
    LIST_OF_KIND,
    NO_BRANCH,
    HallItem,
    HallItemKind,
    body_as_json,
    join,
    split,
)
from server.domain.ticket import Ticket, TicketChange
from server.domain.tickets import EventKind, TicketState
from server.domain.values import Problem, plain
from server.persistence import hall_items, tickets
from server.services.actor import Actor, Clock
from server.services.audit import AuditLog
from server.services.hall_model import HallModel
from server.services.unit_of_work import Transaction, UnitOfWork
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
    when the rule is about it (else the whole form). Its details also carry the rule's ``problem`` code and
    ``params`` (:class:`~server.domain.values.Problem`), which the administration page words in its language."""

    code = "invalid_setup"
    http_status = 400

    def __init__(self, message: str, *, problem: Problem = Problem.INVALID, params: Mapping[str, Any] | None = None,
                 **details: Any) -> None:
        super().__init__(message, problem=problem.value, params=plain(params or {}), **details)

    @classmethod
    def of(cls, exc: ConfigError, *, field: str | None = None, message: str | None = None,
           problem: Problem | None = None) -> InvalidSetup:
        """The loader's refusal ``exc``: its key, problem and parameters kept (``problem`` overrides the code when
        the edit gives the rule another meaning, as a retired category still named by a service)."""
        text = str(exc)
        return cls(message or text, field=field, key=text.split(": ", 1)[0], problem=problem or exc.code,
                   params=exc.params)


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
    tickets: TicketDisposal | None = None  # retiring a service with tickets still in the hall: what becomes of them
    served_by: tuple[str, ...] | None = None  # a service: exactly these counters serve it (None: as they are)
    first: tuple[tuple[HallItemKind, Mapping[str, Any]], ...] = ()  # a new branch: its first services, counters...


@dataclass(frozen=True)
class ChangeResult:
    revision: int
    item: HallItem
    also: tuple[HallItem, ...] = ()  # other pieces the change rewrote (a retired service taken off its counters)
    tickets: int = 0  # tickets of a retired service transferred or closed

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, **piece_view(self.item),
                "also": [piece_view(i) for i in self.also], "tickets": self.tickets}


def piece_view(item: HallItem) -> dict[str, Any]:
    """A piece as the administration shows it: JSON values, and never an account's password hash."""
    body = dict(item.body)
    if item.kind == HallItemKind.ACCOUNT:
        body.pop("password_hash", None)
    return {"kind": item.kind.value, "branch": item.branch_code or None, "code": item.code,
            "position": item.position, "version": item.version, "retired": item.retired,
            "body": body_as_json(body)}


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
class ImportedPiece:
    """One piece an import adds, changes or retires."""

    what: str  # "added", "changed" or "retired"
    kind: HallItemKind
    branch_code: str
    code: str

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "kind": self.kind.value, "branch": self.branch_code or None, "code": self.code}


@dataclass(frozen=True)
class ImportResult:
    revision: int
    added: int
    changed: int
    retired: int
    branches: tuple[str, ...]  # the branches whose set-up changed
    pieces: tuple[ImportedPiece, ...] = ()
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "added": self.added, "changed": self.changed, "retired": self.retired,
                "branches": list(self.branches), "pieces": [p.as_dict() for p in self.pieces],
                "dry_run": self.dry_run}


SERVICE_RETIRED_REASON = "service_retired"
"""The reason a retired service's tickets carry when they are closed (expired) or transferred away."""


@dataclass(frozen=True)
class TicketDisposal:
    """What becomes of the tickets of a service being retired that are still waiting or in progress: ``transfer``
    them to ``to_service`` of the same branch, or ``close`` them (each expires, as at the end of a day, with the
    reason :data:`SERVICE_RETIRED_REASON`)."""

    action: Literal["transfer", "close"]
    to_service: str | None = None


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

    def pieces_of(self, kind: HallItemKind) -> list[HallItem]:
        with self.uow.read() as session:
            return [i for i in hall_items.every(session.connection()) if i.kind == kind]

    # --- export and import ------------------------------------------------------------------------------

    def export_toml(self) -> str:
        """The hall sections as served, as TOML: importing it (or starting a new database with it in
        ``config.toml``) gives the same model."""
        header = ("# The hall set-up exported from the database: the hall sections of config.toml\n"
                  f"# ({', '.join(HALL_SECTIONS)}). Import with `python -m server hall import FILE`.\n\n")
        return header + tomli_w.dumps(dict(self._model().current.document), multiline_strings=False)

    def import_document(self, actor: Actor, data: Mapping[str, Any], *, dry_run: bool = False) -> ImportResult:
        """Replace the hall model with ``data``'s hall sections, all or nothing. Everything is validated first (a
        :class:`ConfigError` names the key); pieces that are gone are retired, never deleted. ``dry_run``: say what
        would be added, changed and retired (the same comparison), write nothing."""
        model = self._model()
        document = {key: data[key] for key in HALL_SECTIONS if key in data}
        candidate = parse_hall(document, model.current)  # refuses before anything is written
        now = self.clock()
        wanted = {(i.kind, i.branch_code, i.code): i for i in split(document)}
        pieces: list[ImportedPiece] = []
        touched: set[str] = set()
        with (self.uow.read() if dry_run else self.uow.write()) as session:
            connection = session.connection()
            if not dry_run:
                hall_items.lock_revision(connection)
            stored = {(i.kind, i.branch_code, i.code): i for i in hall_items.every(connection)}
            for key, item in wanted.items():
                old = stored.get(key)
                if old is None:
                    pieces.append(ImportedPiece("added", *key))
                    if not dry_run:
                        hall_items.add(connection, [item], now, actor.username)
                elif old.retired or old.body != item.body or old.position != item.position:
                    pieces.append(ImportedPiece("changed", *key))
                    if not dry_run:
                        hall_items.replace(connection, replace(item, version=old.version + 1), now, actor.username)
                else:
                    continue
                touched.add(_branch_of(item))
            for key, old in stored.items():
                if key not in wanted and not old.retired:
                    pieces.append(ImportedPiece("retired", *key))
                    if not dry_run:
                        hall_items.replace(connection, replace(old, version=old.version + 1, retired=True), now,
                                           actor.username)
                    touched.add(_branch_of(old))
            counts = {what: sum(1 for p in pieces if p.what == what) for what in ("added", "changed", "retired")}
            moved = bool(pieces) and not dry_run
            revision = hall_items.bump(connection) if moved else model.revision
            if self.audit is not None and moved:
                self.audit.record_in(connection, actor, AuditAction.HALL_CHANGED, target=target_of("import"),
                                     after=counts)
        if any(kind == HallItemKind.SETTINGS for kind, _branch, _code in wanted if (kind, _branch, _code) in stored
               and stored[(kind, _branch, _code)].body != wanted[(kind, _branch, _code)].body):
            touched |= {b.code for b in candidate.branches}  # ratings and announcements: every branch's screens
        branches = tuple(sorted(code for code in touched if code))
        if moved:
            model.replace(replace(candidate, document=candidate.document), revision)
            self.announce(branches, revision)
        return ImportResult(revision, counts["added"], counts["changed"], counts["retired"], branches,
                            tuple(pieces), dry_run)

    def pieces(self) -> tuple[int, list[HallItem]]:
        """The revision and every piece, retired ones included, in their lists' order."""
        with self.uow.read() as session:
            connection = session.connection()
            revision = hall_items.revision(connection) or 0
            items = hall_items.every(connection)
        return revision, items

    def change(self, actor: Actor, change: PieceChange) -> ChangeResult:
        """Create, edit or retire one piece, validated with the whole set-up it makes (nothing is written when it
        is refused) and refused as stale when the piece changed since ``change.version`` was read.

        A service created or edited with ``served_by`` is added to those counters (last in their order of
        preference) and taken off the others, in the same change: a new service needs a counter, and a counter
        cannot name a service that does not exist yet.

        Retiring a service also takes it off the counters, display zones and dated exceptions that name it (an
        exception only about it goes with it); its tickets still waiting or in progress are refused
        (``service_in_use`` with their count) unless ``change.tickets`` says what becomes of them, which happens
        in the same transaction, each ticket through its own action and event."""
        model = self._model()
        kind, branch_code = change.kind, change.branch_code if change.kind in LIST_OF_KIND else NO_BRANCH
        if change.body is not None and kind in CODE_KEY and change.body.get(CODE_KEY[kind]) != change.code:
            raise InvalidSetup(f"{CODE_KEY[kind]} cannot change (retire this one and create another)",
                               field=CODE_KEY[kind], problem=Problem.CODE_FIXED)
        retiring_service = kind == HallItemKind.SERVICE and change.body is None
        served_branch = model.current.branch(branch_code) if retiring_service else None
        now = self.clock()
        handled = 0
        with self._transaction(served_branch, now) as (connection, tx):
            hall_items.lock_revision(connection)
            items = hall_items.every(connection)
            key = (kind, branch_code, change.code)
            old = next((i for i in items if (i.kind, i.branch_code, i.code) == key), None)
            if change.version is None:
                if old is not None and not old.retired:
                    raise DomainError(f"{kind.label.en} {change.code!r} exists already", code="already_exists",
                                      field=CODE_KEY.get(kind), problem=Problem.DUPLICATE.value,
                                      params={"kind": "code", "value": change.code})
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
            reordered = [r.after for r in self._make_room(siblings, new)] if change.position is not None else []
            also = _without_service(items, branch_code, change.code) if retiring_service else []
            if change.served_by is not None:
                if kind != HallItemKind.SERVICE or change.body is None:
                    raise InvalidSetup("only a service (created or edited) names the counters that serve it",
                                       field="served_by", problem=Problem.CONFLICT)
                also = _served_by(items, branch_code, change.code, change.served_by)
            if change.first:
                if kind != HallItemKind.BRANCH or old is not None:
                    raise InvalidSetup("only a new branch comes with pieces of its own", field="first",
                                       problem=Problem.CONFLICT)
                also = _first_pieces(change.code, change.first)
            rewritten = {(i.kind, i.branch_code, i.code) for i in [*reordered, *also]}
            candidate_items = [i for i in items if (i.kind, i.branch_code, i.code) not in rewritten | {key}]
            candidate_items += [*reordered, *also, new]
            document = join(candidate_items)
            try:
                candidate = parse_hall(document, model.current)
            except ConfigError as exc:
                message = str(exc)
                field = _field_of(message, _path_of(document, kind, branch_code, change.code))
                if field is None and kind == HallItemKind.SERVICE and change.code in exc.params.get("services", ()):
                    field = "served_by"  # the service's own form names its counters
                still_named = (change.body is None and exc.code == Problem.UNKNOWN_REFERENCE
                               and exc.params.get("value") == change.code)  # retiring what another piece names
                raise InvalidSetup.of(exc, field=field, message=message.split(": ", 1)[1] if field else message,
                                      problem=Problem.IN_USE if still_named else None) from None
            if tx is not None and served_branch is not None:
                handled = self._dispose(tx, actor, served_branch, change.code, change.tickets,
                                        candidate.branch(branch_code))
            if old is None:
                hall_items.add(connection, [new], now, actor.username)
            else:
                hall_items.replace(connection, new, now, actor.username)
            stored = {(i.kind, i.branch_code, i.code): i for i in items}
            for moved in [*reordered, *also]:
                before = stored.get((moved.kind, moved.branch_code, moved.code))
                if before is None:  # a new branch's own pieces
                    hall_items.add(connection, [moved], now, actor.username)
                else:  # (a retired branch's old piece of the same code comes back as the new one)
                    hall_items.replace(connection, replace(moved, version=max(moved.version, before.version + 1)),
                                       now, actor.username)
            revision = hall_items.bump(connection)
            if self.audit is not None:
                action = AuditAction.ACCOUNT_CHANGED if kind == HallItemKind.ACCOUNT else AuditAction.HALL_CHANGED
                target = target_of(kind.value, change.code)
                after = None if new.retired else redacted(kind, new.body)
                if after is not None and old is not None and kind == HallItemKind.ACCOUNT and (
                        old.body.get("password_hash") != new.body.get("password_hash")):
                    after["password_hash"] = "(changed)"
                if handled and change.tickets is not None:
                    after = {"tickets": handled, "action": change.tickets.action,
                             "to_service": change.tickets.to_service}
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
        return ChangeResult(revision, new, tuple(also), handled)

    def move(self, actor: Actor, kind: HallItemKind, branch_code: str, code: str, version: int,
             position: int) -> ChangeResult:
        """Move a piece within its list, its body as it is (refused as stale when it changed since ``version``)."""
        branch_code = branch_code if kind in LIST_OF_KIND else NO_BRANCH
        _revision, items = self.pieces()
        found = next((i for i in items if (i.kind, i.branch_code, i.code) == (kind, branch_code, code)
                      and not i.retired), None)
        if found is None:
            raise NotFound(f"no {kind.label.en.lower()} {code!r}")
        return self.change(actor, PieceChange(kind, branch_code, code, found.body, version, position))

    @contextmanager
    def _transaction(self, branch: Branch | None, now: datetime) -> Iterator[tuple[Any, Transaction | None]]:
        """A change's transaction: a command of ``branch`` when tickets of it may change with the set-up (their
        events take the branch's next numbers), else a plain write."""
        if branch is None:
            with self.uow.write() as session:
                yield session.connection(), None
            return
        with self.uow.command(branch, now) as tx:
            yield tx.connection, tx

    def _dispose(self, tx: Transaction, actor: Actor, branch: Branch, code: str, disposal: TicketDisposal | None,
                 after: Branch | None) -> int:
        """Transfer or close the retiring service's tickets still in the hall (how many), or refuse without a say."""
        left = [t for t in tickets.in_states(tx.connection, branch.code, IN_THE_HALL) if t.service_code == code]
        if not left:
            return 0
        waiting = sum(1 for t in left if t.state is TicketState.WAITING)
        if disposal is None:
            raise DomainError(f"{len(left)} tickets of {code} are still waiting or being served: transfer them to "
                              "another service or close them", code="service_in_use", count=len(left),
                              waiting=waiting, in_progress=len(left) - waiting)
        rules = self._model().current.queue.policy
        if disposal.action == "transfer":
            target = after.service(disposal.to_service) if after is not None and disposal.to_service else None
            if target is None or target.code == code:
                raise DomainError(f"transfer them to another service of branch {branch.code} (got "
                                  f"{disposal.to_service!r})", code="bad_transfer_target", http_status=422,
                                  field="to_service")
            for ticket in left:
                if ticket.state is TicketState.PARKED:  # a parked ticket moves on as it would at the counter
                    _save(tx, ticket, ticket.resume(tx.now, SERVICE_RETIRED_REASON), actor)
                change = ticket.transfer(tx.now, to_service=target.code, to_counter=None,
                                         note=SERVICE_RETIRED_REASON, rules=rules)
                _save(tx, ticket, change, actor, public={"from_service": code, "to_counter": None})
        else:
            for ticket in left:
                _save(tx, ticket, ticket.expire(tx.now, SERVICE_RETIRED_REASON), actor)
        return len(left)

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


IN_THE_HALL = tuple(state for state in TicketState if state.in_progress)
"""The states of a ticket still waiting or being served: what retiring its service must say what to do with."""


def _save(tx: Transaction, ticket: Ticket, change: TicketChange, actor: Actor,
          public: dict[str, Any] | None = None) -> None:
    tickets.save(tx.connection, ticket)
    tx.record(ticket, change, actor, public=public)


def _without_service(items: list[HallItem], branch_code: str, code: str) -> list[HallItem]:
    """The pieces of the branch that name service ``code``, with it taken out (each a new version): counters and
    display zones lose it from their ``services``, and the branch's dated exceptions too (an exception that was
    only about it goes)."""
    changed: list[HallItem] = []
    for item in items:
        if item.retired or item.branch_code not in (branch_code, NO_BRANCH):
            continue
        body = dict(item.body)
        if item.kind in (HallItemKind.COUNTER, HallItemKind.ZONE) and item.branch_code == branch_code:
            services = body.get("services")
            if not isinstance(services, list) or code not in services:
                continue
            body["services"] = [s for s in services if s != code]
            if item.kind == HallItemKind.ZONE and not body["services"]:
                raise InvalidSetup(f"display zone {item.code} shows only this service: give it another service or "
                                   "retire it first", field=None, key=f"zones.{item.code}.services",
                                   problem=Problem.IN_USE, params={"kind": "zone", "value": item.code})
        elif item.kind == HallItemKind.BRANCH and item.code == branch_code and isinstance(body.get("exceptions"), list):
            named = [e for e in body["exceptions"] if isinstance(e, dict) and code in (e.get("services") or [])]
            if not named:
                continue
            body["exceptions"] = [
                {**e, "services": [s for s in e["services"] if s != code]} if e in named else e
                for e in body["exceptions"] if not (e in named and e["services"] == [code])]
        else:
            continue
        changed.append(replace(item, body=body, version=item.version + 1))
    return changed


def _served_by(items: list[HallItem], branch_code: str, code: str, numbers: tuple[str, ...]) -> list[HallItem]:
    """The branch's counters whose ``services`` change so that exactly ``numbers`` serve service ``code``."""
    counters = [i for i in items if i.kind == HallItemKind.COUNTER and i.branch_code == branch_code and not i.retired]
    unknown = sorted(set(numbers) - {i.code for i in counters})
    if unknown:
        raise InvalidSetup(f"no counter {', '.join(unknown)} in this branch", field="served_by",
                           problem=Problem.UNKNOWN_REFERENCE, params={"kind": "counter", "value": ", ".join(unknown)})
    changed: list[HallItem] = []
    for counter in counters:
        services = counter.body.get("services")
        services = list(services) if isinstance(services, list) else []
        if (code in services) == (counter.code in numbers):
            continue
        services = [*services, code] if counter.code in numbers else [s for s in services if s != code]
        changed.append(replace(counter, body={**counter.body, "services": services}, version=counter.version + 1))
    return changed


def _first_pieces(branch_code: str, first: tuple[tuple[HallItemKind, Mapping[str, Any]], ...]) -> list[HallItem]:
    """A new branch's first pieces (it needs a service and a counter to be valid), each at the end of its list."""
    pieces: list[HallItem] = []
    for kind, body in first:
        if kind not in LIST_OF_KIND:
            raise InvalidSetup(f"a branch has no {kind.value} pieces", field="first", problem=Problem.CONFLICT)
        code = body.get(CODE_KEY[kind])
        if not isinstance(code, str) or not code:
            raise InvalidSetup(f"the new {kind.label.en.lower()} needs its {CODE_KEY[kind]}", field="first",
                               problem=Problem.REQUIRED)
        position = sum(1 for p in pieces if p.kind == kind)
        pieces.append(HallItem(kind, branch_code, code, position, dict(body)))
    return pieces
