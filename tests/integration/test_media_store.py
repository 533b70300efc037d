"""The media stores on their own: the database store's parts read back like the file they came from, whatever the
seeks and reads (hypothesis, with tiny parts so that every read crosses them), and both stores answer alike."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

from server.persistence import media_store
from server.persistence.media_store import DatabaseStore, DirectoryStore, MediaStore
from server.persistence.tables import MediaBlob

PART = 7  # bytes per part in these tests: a handful of bytes already spans several parts


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    MediaBlob.__table__.create(engine)  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def tiny_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media_store, "PART_BYTES", PART)


operations = st.lists(st.tuples(st.sampled_from(["seek", "seek_cur", "seek_end", "read"]),
                                st.integers(min_value=-5, max_value=60)), max_size=12)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(min_size=1, max_size=50), steps=operations)
def test_parts_read_back_like_the_file(engine: Engine, data: bytes, steps: list[tuple[str, int]]) -> None:
    store = DatabaseStore(engine)
    store.write("file.bin", data)
    stored = store.find("file.bin")
    assert stored is not None and stored.size == len(data)
    expected = io.BytesIO(data)
    with stored.open() as stream:
        assert stream.read() == data
        stream.seek(0)
        for kind, number in steps:
            if kind == "read":
                size = max(number, 0)
                assert stream.read(size) == expected.read(size)
            else:
                whence = {"seek": io.SEEK_SET, "seek_cur": io.SEEK_CUR, "seek_end": io.SEEK_END}[kind]
                offset = abs(number) if whence == io.SEEK_SET else number
                start = {io.SEEK_SET: 0, io.SEEK_CUR: expected.tell(), io.SEEK_END: len(data)}[whence]
                if start + offset < 0:
                    continue  # a seek before the start: refused by both, not what this compares
                assert stream.seek(offset, whence) == expected.seek(offset, whence)
            assert stream.tell() == expected.tell()


@pytest.fixture(params=["directory", "database"])
def store(request: pytest.FixtureRequest, tmp_path: Path, engine: Engine) -> MediaStore:
    return DirectoryStore(tmp_path / "media") if request.param == "directory" else DatabaseStore(engine)


def test_both_stores_write_find_replace_and_delete(store: MediaStore) -> None:
    assert store.find("a.png") is None and not store.exists("a.png")
    store.write("a.png", b"first version, three parts long")
    store.write("a.png", b"second")  # written again: only the new bytes
    found = store.find("a.png")
    assert found is not None and found.size == 6 and found.modified.tzinfo is not None
    with found.open() as stream:
        assert stream.read() == b"second"
    assert store.exists("a.png")
    store.delete("a.png")
    store.delete("a.png")  # twice: nothing to do
    assert store.find("a.png") is None and not store.exists("a.png")


@pytest.mark.parametrize("name", ["../etc/passwd", ".hidden", "a/b.png", "", "x" * 121])
def test_both_stores_refuse_names_the_service_would_not_make(store: MediaStore, name: str) -> None:
    with pytest.raises(ValueError, match="not a media file name"):
        store.write(name, b"data")
