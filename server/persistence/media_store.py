"""Where uploaded media files are kept (``[media] store``): a local directory, or the database.

* :class:`DirectoryStore` (the default): a flat directory, each file written atomically (temporary file, fsync,
  rename). Every server process must see the same directory: one host, or a shared file system.
* :class:`DatabaseStore`: the ``media_blob`` table, each file in parts of :data:`PART_BYTES` written in one
  transaction. Processes on different hosts serve the same uploads with nothing but the database they share.

Both hand a file out as :class:`StoredFile`: its size, when it was written, and a seekable binary stream, so that
the HTTP layer answers ranges and conditional requests the same way whichever store holds it.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import Engine, delete, func, insert, select

from server.persistence.tables import MediaBlob

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
PART_BYTES = 1024 * 1024
"""One ``media_blob`` row: a range request reads the parts it covers, a whole file one part at a time."""


def check_name(name: str) -> str:
    """A name the service made (never the uploader's): letters, digits, ``_.-``, not hidden."""
    if not _NAME.match(name) or name.startswith("."):
        raise ValueError(f"not a media file name: {name!r}")
    return name


@dataclass(frozen=True)
class StoredFile:
    """A stored file ready to be streamed: ``open()`` gives a seekable binary stream that the caller closes."""

    size: int
    modified: datetime
    open: Callable[[], BinaryIO]


class MediaStore(Protocol):
    """What the signage service needs of a store."""

    def write(self, name: str, data: bytes) -> None: ...

    def delete(self, name: str) -> None: ...

    def exists(self, name: str) -> bool: ...

    def find(self, name: str) -> StoredFile | None: ...


class DirectoryStore:
    """A flat directory of media files named by the service (never by the uploader)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        return self.directory / check_name(name)

    def write(self, name: str, data: bytes) -> None:
        target = self.path(name)
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def find(self, name: str) -> StoredFile | None:
        path = self.path(name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return StoredFile(size=stat.st_size, modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                          open=lambda: path.open("rb"))


_BLOB = MediaBlob.__table__  # type: ignore[attr-defined]


class DatabaseStore:
    """Media files in the ``media_blob`` table, written in one transaction and read part by part."""

    def __init__(self, engine: Engine, read_engine: Engine | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.clock = clock

    def write(self, name: str, data: bytes) -> None:
        check_name(name)
        now = self.clock()
        rows = [{"stored_name": name, "part": index, "data": data[start:start + PART_BYTES], "written_at": now}
                for index, start in enumerate(range(0, max(len(data), 1), PART_BYTES))]
        with self.engine.begin() as connection:  # all parts or none
            connection.execute(delete(_BLOB).where(_BLOB.c.stored_name == name))
            for row in rows:  # one statement per part: a batch of 50 MB would be one huge packet
                connection.execute(insert(_BLOB), row)

    def delete(self, name: str) -> None:
        check_name(name)
        with self.engine.begin() as connection:
            connection.execute(delete(_BLOB).where(_BLOB.c.stored_name == name))

    def exists(self, name: str) -> bool:
        check_name(name)
        with self.read_engine.connect() as connection:
            return connection.execute(select(_BLOB.c.part).where(_BLOB.c.stored_name == name).limit(1)
                                      ).first() is not None

    def find(self, name: str) -> StoredFile | None:
        check_name(name)
        with self.read_engine.connect() as connection:
            parts, size, written = connection.execute(
                select(func.count(), func.coalesce(func.sum(func.length(_BLOB.c.data)), 0),
                       func.max(_BLOB.c.written_at)).where(_BLOB.c.stored_name == name)).one()
        if not parts:
            return None
        return StoredFile(size=int(size), modified=_utc(written),
                          open=lambda: _PartReader(self.read_engine, name, int(size)))


def _utc(value: datetime | str) -> datetime:
    """``max()`` of the column comes back untyped on SQLite (text), typed on PostgreSQL."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _PartReader(io.RawIOBase):
    """A seekable stream over one file's parts: each read fetches only the part it falls in (one row, at most
    :data:`PART_BYTES`), so serving a 50 MB video or a range of it never holds the file whole."""

    def __init__(self, engine: Engine, name: str, size: int) -> None:
        super().__init__()
        self.engine, self.name, self.size = engine, name, size
        self.position = 0
        self._part: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.position = base + offset
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` as a file would (short only at the end), from as many parts as it spans."""
        filled = 0
        while filled < len(buffer) and self.position < self.size:
            index, within = divmod(self.position, PART_BYTES)
            if self._part is None or self._part[0] != index:
                with self.engine.connect() as connection:
                    data = connection.execute(select(_BLOB.c.data).where(
                        _BLOB.c.stored_name == self.name, _BLOB.c.part == index)).scalar_one_or_none()
                if data is None:  # deleted while being served: end the stream short
                    break
                self._part = (index, bytes(data))
            chunk = self._part[1][within:within + len(buffer) - filled]
            if not chunk:
                break
            buffer[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
            self.position += len(chunk)
        return filled


def open_store(kind: str, directory: Path, engine: Engine, read_engine: Engine | None = None) -> MediaStore:
    """The store ``[media] store`` names (one of :data:`server.settings.MEDIA_STORES`, checked by the config)."""
    if kind == "database":
        return DatabaseStore(engine, read_engine)
    if kind == "directory":
        return DirectoryStore(directory)
    raise ValueError(f"[media] store: no such store {kind!r}")
