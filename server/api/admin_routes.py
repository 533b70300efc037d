"""The administration of the hall set-up over HTTP (administrators only): read every piece, create, edit, move
and retire one, export the set-up as TOML and import one (a preview first).

The rules live in :class:`server.services.hall_store.HallStore`; these views parse the request, turn a piece's
JSON body into the document's values (dates) and answer with the store's result.
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Any, Literal

from flask import Response, current_app, jsonify
from pydantic import BeforeValidator, Field, Strict

from server.api.registry import api, current_actor, route
from server.api.responses import Answer, Names
from server.api.schemas import Body, Code
from server.config import ConfigError
from server.domain.hall_document import KIND_LABELS, LIST_OF_KIND, HallItemKind, body_from_json
from server.domain.values import Problem, ValueFormat
from server.services.access import ADMIN
from server.services.hall_store import HallStore, InvalidSetup, PieceChange, TicketDisposal, piece_view

ADMIN_HALL = "/admin/hall"
PIECES = f"{ADMIN_HALL}/pieces"
EDITABLE = tuple(kind.value for kind in HallItemKind if kind != HallItemKind.ACCOUNT)
"""The kinds of piece these routes change (accounts have their own administration)."""
PIECE = f"{PIECES}/<any({', '.join(EDITABLE)}):kind>/<code>"
KindName = Literal[tuple(kind.value for kind in HallItemKind)]  # type: ignore[valid-type]
EditableKind = Literal[EDITABLE]  # type: ignore[valid-type]
IMPORT_LIMIT = 1024 * 1024
INT64 = 2**63 - 1


def store() -> HallStore:
    return current_app.extensions["hall_store"]


def _toml_values(value: Any, path: str = "body") -> Any:
    """A body TOML can hold: no nulls (leave the key out instead) and whole numbers within 64 bits."""
    if value is None:
        raise ValueError(f"{path}: null is not a value of the set-up (leave the key out)")
    if isinstance(value, dict):
        for key, item in value.items():
            _toml_values(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _toml_values(item, f"{path}[{index}]")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64:
        raise ValueError(f"{path}: out of range")
    return value


PieceBody = Annotated[dict[str, Any], BeforeValidator(_toml_values),
                      Field(description="the piece's table as in config.toml (dates as YYYY-MM-DD)")]
Position = Annotated[int | None, Strict(), Field(default=None, ge=0, le=10_000,
                                                 description="its place in its list (0 first); null: where it is")]
PieceVersion = Annotated[int, Strict(), Field(ge=1, le=INT64, description="the version the editor read")]
BranchCode = Annotated[str | None, Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                                         description="the branch a category, service, counter, zone or kiosk is of")]


ServedBy = Annotated[list[Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]] | None,
                    Field(default=None, max_length=200,
                          description="a service: the counters that serve it (it is added to them, last in their "
                                      "order, and taken off the others); null: as they are")]


ListKind = Literal[tuple(LIST_OF_KIND)]  # type: ignore[valid-type]


class FirstPiece(Body):
    kind: ListKind
    body: PieceBody


class CreatePieceRequest(Body):
    kind: EditableKind
    branch: BranchCode
    code: str = Code
    body: PieceBody
    position: Position
    served_by: ServedBy
    first: list[FirstPiece] = Field(default=[], max_length=50,
                                    description="a new branch: its first pieces (at least a service and a counter)")


class EditPieceRequest(Body):
    branch: BranchCode
    version: PieceVersion
    body: PieceBody
    position: Position
    served_by: ServedBy


class MovePieceRequest(Body):
    branch: BranchCode
    version: PieceVersion
    position: int = Field(ge=0, le=10_000, strict=True)


class TicketsOfRetiredService(Body):
    action: Literal["transfer", "close"] = Field(description="transfer them to another service, or close them")
    to_service: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


class RetirePieceRequest(Body):
    branch: BranchCode
    version: PieceVersion
    tickets: TicketsOfRetiredService | None = Field(
        default=None, description="a service with tickets still waiting or in progress: what becomes of them")


class ImportRequest(Body):
    toml: str = Field(min_length=1, max_length=IMPORT_LIMIT,
                      description="the hall sections of config.toml (an export, or a whole config.toml)")


class Piece(Answer):
    kind: KindName
    branch: str | None = Field(description="the branch of a category, service, counter, zone or kiosk")
    code: str = Field(description="its code (a counter's number, a kiosk's id, an account's username, a section)")
    position: int = Field(description="its place in its list")
    version: int = Field(description="+1 at every change: send it back to refuse a stale save")
    retired: bool
    body: dict[str, Any] = Field(description="the table as in config.toml (an account's password hash left out)")


class HallSetup(Answer):
    revision: int = Field(description="the whole set-up's revision, +1 at every change")
    kinds: dict[str, Names] = Field(description="each kind of piece, named")
    pieces: list[Piece]


class PieceChanged(Piece):
    revision: int
    also: list[Piece] = Field(description="other pieces the change rewrote (a retired service off its counters)")
    tickets: int = Field(description="tickets of a retired service transferred or closed")


class ImportedPiece(Answer):
    what: Literal["added", "changed", "retired"]
    kind: KindName
    branch: str | None
    code: str


class Imported(Answer):
    revision: int
    added: int
    changed: int
    retired: int
    branches: list[str] = Field(description="the branches whose set-up changed (their screens redraw)")
    pieces: list[ImportedPiece]
    dry_run: bool = Field(description="true for a preview: nothing was written")


SETUP_REFUSED = ("the set-up this would make is refused (invalid_setup): details.field names the piece's key when the "
                 "problem is about it, details.key the loader's key, details.problem the rule's code (required, "
                 "wrong_type, too_small, too_large, out_of_range, too_long, bad_format, duplicate, "
                 "unknown_reference, bad_time_range, unserved, in_use, ... or invalid) and details.params its "
                 "parameters (min, max, value, format, kind, allowed, ...); message is the English wording")


def _kind(kind: str) -> HallItemKind:
    return HallItemKind(kind)


@route(api, ADMIN_HALL, "GET", "The hall set-up: every piece with its version, retired ones too (administrators)",
       tag="admin", auth=ADMIN, response=HallSetup)
def hall_setup() -> Any:
    revision, items = store().pieces()
    return jsonify({"revision": revision, "kinds": {kind.value: label.as_dict() for kind, label in KIND_LABELS.items()},
                    "pieces": [piece_view(item) for item in items]})


@route(api, PIECES, "POST", "Create a piece of the set-up (administrators)", tag="admin", auth=ADMIN,
       body=CreatePieceRequest, status=201, response=PieceChanged,
       responses={400: SETUP_REFUSED, 409: "a piece with this code exists already (already_exists)"})
def create_piece(body: CreatePieceRequest) -> Any:
    kind = _kind(body.kind)
    result = store().change(current_actor(), PieceChange(
        kind, body.branch or "", body.code, body_from_json(kind, body.body), None, body.position,
        served_by=None if body.served_by is None else tuple(body.served_by),
        first=tuple((_kind(p.kind), body_from_json(_kind(p.kind), p.body)) for p in body.first)))
    return jsonify(result.as_dict()), 201


@route(api, PIECE, "PUT", "Edit a piece (and move it), from the version the editor read (administrators)",
       tag="admin", auth=ADMIN, body=EditPieceRequest, response=PieceChanged,
       responses={400: SETUP_REFUSED, 409: "changed meanwhile (stale_version: details.yours, current, current_body)"})
def edit_piece(kind: str, code: str, body: EditPieceRequest) -> Any:
    item = _kind(kind)
    result = store().change(current_actor(), PieceChange(
        item, body.branch or "", code, body_from_json(item, body.body), body.version, body.position,
        served_by=None if body.served_by is None else tuple(body.served_by)))
    return jsonify(result.as_dict())


@route(api, f"{PIECE}/move", "POST", "Move a piece within its list (administrators)", tag="admin", auth=ADMIN,
       body=MovePieceRequest, response=PieceChanged,
       responses={400: SETUP_REFUSED, 409: "changed meanwhile (stale_version)"})
def move_piece(kind: str, code: str, body: MovePieceRequest) -> Any:
    result = store().move(current_actor(), _kind(kind), body.branch or "", code, body.version, body.position)
    return jsonify(result.as_dict())


@route(api, f"{PIECE}/retire", "POST",
       "Retire a piece: it leaves the served set-up, kept for the history (administrators). A service with tickets "
       "still waiting or in progress needs tickets: transfer or close", tag="admin", auth=ADMIN,
       body=RetirePieceRequest, response=PieceChanged,
       responses={400: SETUP_REFUSED, 409: "changed meanwhile (stale_version), or a service with tickets in the hall "
                                           "and no say what becomes of them (service_in_use: details.count)",
                  422: "the service to transfer them to is not one of the branch's (bad_transfer_target)"})
def retire_piece(kind: str, code: str, body: RetirePieceRequest) -> Any:
    tickets = None if body.tickets is None else TicketDisposal(body.tickets.action, body.tickets.to_service)
    result = store().change(current_actor(), PieceChange(_kind(kind), body.branch or "", code, None, body.version,
                                                         tickets=tickets))
    return jsonify(result.as_dict())


@route(api, f"{ADMIN_HALL}/export", "GET", "The set-up as TOML, the hall sections of config.toml (administrators)",
       tag="admin", auth=ADMIN, produces=("application/toml",))
def export_setup() -> Any:
    return Response(store().export_toml(), mimetype="application/toml",
                    headers={"Content-Disposition": 'attachment; filename="hall.toml"'})


def _imported(body: ImportRequest, *, dry_run: bool) -> Any:
    try:
        data = tomllib.loads(body.toml)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSetup(f"not valid TOML: {exc}", field="toml", key=None, problem=Problem.BAD_FORMAT,
                           params={"format": ValueFormat.TOML}) from None
    try:
        return store().import_document(current_actor(), data, dry_run=dry_run).as_dict()
    except ConfigError as exc:
        raise InvalidSetup.of(exc) from None


@route(api, f"{ADMIN_HALL}/import/preview", "POST",
       "What importing this TOML would add, change and retire; nothing is written (administrators)", tag="admin",
       auth=ADMIN, body=ImportRequest, response=Imported, max_body=2 * IMPORT_LIMIT,
       responses={400: "not TOML, or a set-up the loader refuses (invalid_setup naming details.key, with "
                            "details.problem and details.params as for a piece)"})
def preview_import(body: ImportRequest) -> Any:
    return jsonify(_imported(body, dry_run=True))


@route(api, f"{ADMIN_HALL}/import", "POST",
       "Replace the set-up with this TOML's: validated whole, what it leaves out is retired (administrators)",
       tag="admin", auth=ADMIN, body=ImportRequest, response=Imported, max_body=2 * IMPORT_LIMIT,
       responses={400: "not TOML, or a set-up the loader refuses (invalid_setup naming details.key, with "
                            "details.problem and details.params as for a piece)"})
def import_setup(body: ImportRequest) -> Any:
    return jsonify(_imported(body, dry_run=False))
