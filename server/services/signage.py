"""What the wall displays show besides the calls: a playlist of images and short videos, and scrolling notices.

Managers upload and arrange them; every change runs in one transaction of the branch
(:class:`~server.services.unit_of_work.UnitOfWork`) and emits ``media_changed`` or ``notices_changed``, so
that the displays fetch the new playlist at once; each change is written to the audit log in the same transaction, with
the fields before and after it. File bytes live in the store ``[media] store`` names (a directory, or the database:
:mod:`server.persistence.media_store`); the database keeps their metadata and order.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from server.domain import media as media_types
from server.domain.api_tokens import Scope
from server.domain.audit import AuditAction, target_of
from server.domain.errors import DomainError, NotFound
from server.domain.hall import Branch
from server.domain.tickets import EventKind
from server.persistence import signage as records
from server.persistence.media_store import MediaStore, StoredFile, open_store
from server.persistence.tables import MediaItem, Notice
from server.services.access import is_manager_of, require_branch, require_manager
from server.services.actor import Actor, Clock, utc_now
from server.services.audit import AuditLog
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.unit_of_work import Transaction, UnitOfWork
from server.services.views import iso
from server.settings import HallConfig, MediaSettings

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaFile:
    """A stored file ready to be served: its bytes (size, time written, stream) with the type and digest."""

    stored: StoredFile
    content_type: str
    sha256: str


class SignageService(ReadsHallModel):
    """Media playlist and notices per branch: manager commands, the displays' public read, file access."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, store: MediaStore | None = None,
                 clock: Clock = utc_now, *, audit: AuditLog | None = None) -> None:
        self.model = model_of(config)
        self.uow = uow
        media = self.config.media
        self.store = store or open_store(media.store, media.directory, uow.engine, uow.read_engine)
        self.clock = clock
        self.audit = audit or AuditLog(config, uow, clock)

    @property
    def limits(self) -> MediaSettings:
        return self.config.media

    def upload_limit_bytes(self) -> int:
        """The largest request body an upload may have (the larger of the two limits, plus form overhead)."""
        return int(max(self.limits.max_image_mb, self.limits.max_video_mb) * MB) + 64 * 1024

    # --- the displays' view --------------------------------------------------------------------------

    def signage(self, branch_code: str) -> dict[str, Any]:
        """The enabled media in playlist order and the enabled notices, as a display shows them."""
        branch = self._branch(branch_code)
        with self.uow.read() as session:
            media = records.media(session, branch.code, enabled_only=True)
            notices = records.notices(session, branch.code, enabled_only=True)
        return {"branch": branch.code,
                "media": [_media_public(item) for item in media],
                "notices": [_notice_public(notice) for notice in notices],
                "max_video_s": self.limits.max_video_s}

    def media_file(self, branch_code: str, media_id: int, actor: Actor) -> MediaFile:
        """The file of a media item: public while enabled, to the branch's managers always."""
        branch = self._branch(branch_code)
        with self.uow.read() as session:
            item = _load_media(session, branch, media_id)
        if not item.enabled and not is_manager_of(self.config, actor, branch):
            raise NotFound(f"no media {media_id} on the playlist", code="unknown_media")
        stored = self.store.find(item.stored_name)
        if stored is None:
            raise NotFound(f"the file of media {media_id} is missing", code="media_file_missing")
        return MediaFile(stored=stored, content_type=item.content_type, sha256=item.sha256)

    # --- managers: media ------------------------------------------------------------------------------

    def list_media(self, branch_code: str, actor: Actor) -> dict[str, Any]:
        branch = self._manager(actor, branch_code, Scope.READ)
        with self.uow.read() as session:
            items = records.media(session, branch.code, enabled_only=False)
        return {"media": [_media_view(item) for item in items], "limits": self._limits_view()}

    def upload(self, branch_code: str, actor: Actor, data: bytes, *, declared_type: str | None = None,
               filename: str | None = None, title: str | None = None,
               seconds: float | None = None) -> dict[str, Any]:
        """Add an image or video to the end of the playlist; its type is judged from its bytes."""
        branch = self._manager(actor, branch_code)
        detected = self._check_upload(data, declared_type)
        video_length = media_types.video_length_s(data, detected) if detected.kind == media_types.VIDEO else None
        if video_length is not None and video_length > self.limits.max_video_s + 0.5:
            raise DomainError(f"the video is {video_length:.0f} s long; at most {self.limits.max_video_s:g} s "
                              "are allowed ([media] max_video_s)", code="video_too_long", http_status=422,
                              length_s=round(video_length, 1), max_video_s=self.limits.max_video_s)
        if seconds is not None and not 0 < seconds <= media_types.MAX_SECONDS:
            raise DomainError(f"seconds must be more than 0 and at most {media_types.MAX_SECONDS}",
                              code="invalid_request", http_status=422)
        if detected.kind == media_types.IMAGE:
            shown = seconds or self.limits.image_seconds
        else:
            shown = min(seconds or self.limits.max_video_s, video_length or self.limits.max_video_s,
                        self.limits.max_video_s)
        digest = hashlib.sha256(data).hexdigest()
        stored_name = f"{branch.code}-{digest[:16]}-{secrets.token_hex(4)}.{detected.extension}"
        self.store.write(stored_name, data)
        try:
            with self.uow.command(branch, self.clock()) as tx:
                count = records.media_count(tx.session, branch.code)
                if count >= self.limits.max_items:
                    raise DomainError(f"the playlist is full ({self.limits.max_items} items); delete one first",
                                      code="playlist_full")
                item = MediaItem(
                    branch_code=branch.code, kind=detected.kind, content_type=detected.content_type,
                    stored_name=stored_name, original_name=_clean(filename, 200),
                    title=_clean(title, media_types.TITLE_MAX_CHARS),
                    size_bytes=len(data), sha256=digest, seconds=round(float(shown), 1),
                    video_length_s=None if video_length is None else round(video_length, 2),
                    position=records.next_position(tx.session, MediaItem, branch.code), enabled=True,
                    created_by=actor.username, created_at=tx.now, updated_at=tx.now)
                tx.session.add(item)
                tx.session.flush()
                self._emit_media(tx, actor, "added", item)
                self._record_media(tx, actor, item, None, _media_audited(item))
                return _media_view(item)
        except BaseException:
            self.store.delete(stored_name)
            raise

    def update_media(self, branch_code: str, media_id: int, actor: Actor, *, title: str | None = None,
                     seconds: float | None = None, enabled: bool | None = None) -> dict[str, Any]:
        branch = self._manager(actor, branch_code)
        with self.uow.command(branch, self.clock()) as tx:
            item = _load_media(tx.session, branch, media_id)
            before = _media_audited(item)
            if title is not None:
                item.title = _clean(title, media_types.TITLE_MAX_CHARS)
            if seconds is not None:
                limit = self.limits.max_video_s if item.kind == media_types.VIDEO else media_types.MAX_SECONDS
                item.seconds = round(min(float(seconds), limit, item.video_length_s or limit), 1)
            if enabled is not None:
                item.enabled = enabled
            item.updated_at = tx.now
            tx.session.add(item)
            self._emit_media(tx, actor, "updated", item)
            self._record_media(tx, actor, item, before, _media_audited(item))
            return _media_view(item)

    def reorder_media(self, branch_code: str, ids: Sequence[int], actor: Actor) -> dict[str, Any]:
        branch = self._manager(actor, branch_code)
        with self.uow.command(branch, self.clock()) as tx:
            items = records.media(tx.session, branch.code, enabled_only=False)
            before = _order(items)
            _reorder(items, ids, "media")
            for item in items:
                item.updated_at = tx.now
                tx.session.add(item)
            tx.emit(EventKind.MEDIA_CHANGED, staff=actor.username, public={"change": "reordered"})
            self.audit.record_in(tx.connection, actor, AuditAction.MEDIA_CHANGED, branch=branch.code,
                                 target=target_of("playlist"), before={"order": before}, after={"order": _order(items)})
            return {"media": [_media_view(item) for item in sorted(items, key=lambda i: i.position)]}

    def delete_media(self, branch_code: str, media_id: int, actor: Actor) -> None:
        branch = self._manager(actor, branch_code)
        with self.uow.command(branch, self.clock()) as tx:
            item = _load_media(tx.session, branch, media_id)
            stored_name = item.stored_name
            before = _media_audited(item)
            tx.session.delete(item)
            self._emit_media(tx, actor, "deleted", item)
            self._record_media(tx, actor, item, before, None)
        self.store.delete(stored_name)  # after the commit: a rolled-back delete keeps its file

    # --- managers: notices ----------------------------------------------------------------------------

    def list_notices(self, branch_code: str, actor: Actor) -> dict[str, Any]:
        branch = self._manager(actor, branch_code, Scope.READ)
        with self.uow.read() as session:
            notices = records.notices(session, branch.code, enabled_only=False)
        return {"notices": [_notice_view(notice) for notice in notices], "limits": _notice_limits()}

    def create_notice(self, branch_code: str, actor: Actor, text: dict[str, str], *,
                      enabled: bool = True) -> dict[str, Any]:
        branch = self._manager(actor, branch_code, Scope.ACT)
        zh, en = _notice_text(text)
        with self.uow.command(branch, self.clock()) as tx:
            notice = Notice(branch_code=branch.code, text_zh=zh, text_en=en, enabled=enabled,
                            position=records.next_position(tx.session, Notice, branch.code), updated_by=actor.username,
                            created_at=tx.now, updated_at=tx.now)
            tx.session.add(notice)
            tx.session.flush()
            self._emit_notices(tx, actor, "added", notice)
            self._record_notice(tx, actor, notice, None, _notice_audited(notice))
            return _notice_view(notice)

    def update_notice(self, branch_code: str, notice_id: int, actor: Actor, *, text: dict[str, str] | None = None,
                      enabled: bool | None = None) -> dict[str, Any]:
        branch = self._manager(actor, branch_code, Scope.ACT)
        with self.uow.command(branch, self.clock()) as tx:
            notice = _load_notice(tx.session, branch, notice_id)
            before = _notice_audited(notice)
            if text is not None:
                notice.text_zh, notice.text_en = _notice_text(text)
            if enabled is not None:
                notice.enabled = enabled
            notice.updated_by, notice.updated_at = actor.username, tx.now
            tx.session.add(notice)
            self._emit_notices(tx, actor, "updated", notice)
            self._record_notice(tx, actor, notice, before, _notice_audited(notice))
            return _notice_view(notice)

    def reorder_notices(self, branch_code: str, ids: Sequence[int], actor: Actor) -> dict[str, Any]:
        branch = self._manager(actor, branch_code, Scope.ACT)
        with self.uow.command(branch, self.clock()) as tx:
            notices = records.notices(tx.session, branch.code, enabled_only=False)
            before = _order(notices)
            _reorder(notices, ids, "notices")
            for notice in notices:
                notice.updated_at = tx.now
                tx.session.add(notice)
            tx.emit(EventKind.NOTICES_CHANGED, staff=actor.username, public={"change": "reordered"})
            self.audit.record_in(tx.connection, actor, AuditAction.NOTICE_CHANGED, branch=branch.code,
                                 target=target_of("notices"), before={"order": before},
                                 after={"order": _order(notices)})
            return {"notices": [_notice_view(n) for n in sorted(notices, key=lambda n: n.position)]}

    def delete_notice(self, branch_code: str, notice_id: int, actor: Actor) -> None:
        branch = self._manager(actor, branch_code, Scope.ACT)
        with self.uow.command(branch, self.clock()) as tx:
            notice = _load_notice(tx.session, branch, notice_id)
            before = _notice_audited(notice)
            tx.session.delete(notice)
            self._emit_notices(tx, actor, "deleted", notice)
            self._record_notice(tx, actor, notice, before, None)

    # --- internals ----------------------------------------------------------------------------------------

    def _branch(self, code: str) -> Branch:
        return require_branch(self.config, code)

    def _manager(self, actor: Actor, branch_code: str, token_scope: Scope | None = None) -> Branch:
        """A manager of the branch (an API token only where ``token_scope`` says: notices, and the lists)."""
        branch = self._branch(branch_code)
        require_manager(self.config, actor, branch, code="forbidden", token_scope=token_scope)
        return branch

    def _check_upload(self, data: bytes, declared_type: str | None) -> media_types.MediaType:
        allowed = ", ".join(media_types.SUPPORTED_TYPES)
        if not data:
            raise DomainError("the file is empty", code="empty_file", http_status=422)
        detected = media_types.sniff(data[:64])
        declared = media_types.normalise_content_type(declared_type)
        if detected is None:
            raise DomainError(f"unsupported file type{f' ({declared})' if declared else ''}; allowed: {allowed}",
                              code="unsupported_media_type", http_status=415, allowed=list(media_types.SUPPORTED_TYPES))
        if declared is not None and declared != detected.content_type:
            raise DomainError(f"the file says it is {declared} but its content is {detected.content_type}",
                              code="content_type_mismatch", http_status=415, declared=declared,
                              detected=detected.content_type)
        limit_mb = self.limits.max_image_mb if detected.kind == media_types.IMAGE else self.limits.max_video_mb
        if len(data) > limit_mb * MB:
            raise DomainError(f"the {detected.kind} is {len(data) / MB:.1f} MB; at most {limit_mb:g} MB are allowed",
                              code="file_too_large", http_status=413, size_bytes=len(data),
                              max_bytes=int(limit_mb * MB))
        return detected

    def _limits_view(self) -> dict[str, Any]:
        return {"types": list(media_types.SUPPORTED_TYPES), "max_image_mb": self.limits.max_image_mb,
                "max_video_mb": self.limits.max_video_mb, "max_video_s": self.limits.max_video_s,
                "image_seconds": self.limits.image_seconds, "max_items": self.limits.max_items,
                "max_title_chars": media_types.TITLE_MAX_CHARS, "max_seconds": media_types.MAX_SECONDS}

    def _record_media(self, tx: Transaction, actor: Actor, item: MediaItem, before: dict[str, Any] | None,
                      after: dict[str, Any] | None) -> None:
        self.audit.record_in(tx.connection, actor, AuditAction.MEDIA_CHANGED, branch=tx.branch.code,
                             target=target_of("media", item.id), before=before, after=after)

    def _record_notice(self, tx: Transaction, actor: Actor, notice: Notice, before: dict[str, Any] | None,
                       after: dict[str, Any] | None) -> None:
        self.audit.record_in(tx.connection, actor, AuditAction.NOTICE_CHANGED, branch=tx.branch.code,
                             target=target_of("notice", notice.id), before=before, after=after)

    @staticmethod
    def _emit_media(tx: Transaction, actor: Actor, change: str, item: MediaItem) -> None:
        tx.emit(EventKind.MEDIA_CHANGED, staff=actor.username, data={"media_id": item.id, "change": change},
                public={"change": change, "media_id": item.id})

    @staticmethod
    def _emit_notices(tx: Transaction, actor: Actor, change: str, notice: Notice) -> None:
        tx.emit(EventKind.NOTICES_CHANGED, staff=actor.username, data={"notice_id": notice.id, "change": change},
                public={"change": change, "notice_id": notice.id})


def _media_audited(item: MediaItem) -> dict[str, Any]:
    """What the audit log keeps of a playlist item."""
    return {"title": item.title, "file": item.original_name, "kind": item.kind, "seconds": item.seconds,
            "enabled": item.enabled}


def _notice_audited(notice: Notice) -> dict[str, Any]:
    """What the audit log keeps of a notice."""
    return {"text_zh": notice.text_zh, "text_en": notice.text_en, "enabled": notice.enabled}


def _order(rows: Sequence[MediaItem] | Sequence[Notice]) -> list[int]:
    """The ids of a playlist's or the notices' rows in the order they are shown."""
    return [row.id for row in sorted(rows, key=lambda row: row.position) if row.id is not None]


def _load_media(session: Session, branch: Branch, media_id: int) -> MediaItem:
    item = records.media_item(session, branch.code, media_id)
    if item is None:
        raise NotFound(f"branch {branch.code} has no media {media_id}", code="unknown_media")
    return item


def _load_notice(session: Session, branch: Branch, notice_id: int) -> Notice:
    notice = records.notice(session, branch.code, notice_id)
    if notice is None:
        raise NotFound(f"branch {branch.code} has no notice {notice_id}", code="unknown_notice")
    return notice


def _reorder(rows: Sequence[MediaItem] | Sequence[Notice], ids: Sequence[int], what: str) -> None:
    """Give ``rows`` the positions of their ids in ``ids``, which must name every row exactly once."""
    existing = {row.id for row in rows}
    if len(ids) != len(set(ids)) or set(ids) != existing:
        raise DomainError(f"ids must list every {what} item exactly once: {sorted(i for i in existing if i)}",
                          code="invalid_order", http_status=422, expected=sorted(i for i in existing if i))
    order = {item_id: index for index, item_id in enumerate(ids)}
    for row in rows:
        assert row.id is not None
        row.position = order[row.id]


def _notice_limits() -> dict[str, Any]:
    """What a notice may be, told to the page that edits them."""
    return {"max_chars": media_types.NOTICE_MAX_CHARS}


def _notice_text(text: dict[str, str]) -> tuple[str, str]:
    zh, en = (text.get("zh-CN") or "").strip(), (text.get("en") or "").strip()
    if not zh or not en:
        raise DomainError("a notice needs its text in zh-CN and en", code="invalid_request", http_status=422)
    if len(zh) > media_types.NOTICE_MAX_CHARS or len(en) > media_types.NOTICE_MAX_CHARS:
        raise DomainError(f"a notice is at most {media_types.NOTICE_MAX_CHARS} characters per language",
                          code="invalid_request", http_status=422)
    return zh, en


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join("".join(ch for ch in value if ch.isprintable() or ch.isspace()).split())[:limit]
    return value or None


def _file_url(item: MediaItem) -> str:
    return f"/api/branches/{item.branch_code}/media/{item.id}/file?v={item.sha256[:12]}"


def _media_public(item: MediaItem) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "content_type": item.content_type, "url": _file_url(item),
            "seconds": item.seconds, "title": item.title}


def _media_view(item: MediaItem) -> dict[str, Any]:
    return {**_media_public(item), "original_name": item.original_name, "size_bytes": item.size_bytes,
            "sha256": item.sha256, "video_length_s": item.video_length_s, "position": item.position,
            "enabled": item.enabled, "created_by": item.created_by, "created_at": iso(item.created_at),
            "updated_at": iso(item.updated_at)}


def _notice_public(notice: Notice) -> dict[str, Any]:
    return {"id": notice.id, "text": {"zh-CN": notice.text_zh, "en": notice.text_en}}


def _notice_view(notice: Notice) -> dict[str, Any]:
    return {**_notice_public(notice), "enabled": notice.enabled, "position": notice.position,
            "updated_by": notice.updated_by, "created_at": iso(notice.created_at),
            "updated_at": iso(notice.updated_at)}
