"""Media uploads shared by server processes on different hosts (``[media] store = "database"``), on a real PostgreSQL.

Each process has a media directory of its own here, as on two hosts without a shared mount: with the database store a
file uploaded through process A is served by process B (whole, as ranges, with the same validators) and deleted
through B for both; with the default directory store B finds the upload's row but not its file, which is why
docs/deploy.md asks for one folder or the database store when processes run on several hosts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from server.launcher import ServerProcess, write_config
from tests.media_samples import png_bytes
from tests.support import IN_CI, fresh_postgres_database
from tests.system.clients import BRANCH, staff_session

pytestmark = pytest.mark.slow

B = f"/api/branches/{BRANCH}"


@pytest.fixture
def postgres(postgres_base_url: str | None) -> str:
    if postgres_base_url is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test shared media on it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed")
    return postgres_base_url


def host_config(directory: Path, database_url: str, store: str) -> Path:
    """A process's config as on a host of its own: its own folder for media (and secret key)."""
    directory.mkdir()
    config = write_config(directory, database_url)
    text = config.read_text(encoding="utf-8")
    text, stores = re.subn(r'^store = ".*?"', f'store = "{store}"', text, count=1, flags=re.M)
    text, folders = re.subn(r'^directory = ".*?"', f'directory = "{directory / "media"}"', text, count=1, flags=re.M)
    assert stores == folders == 1
    config.write_text(text, encoding="utf-8")
    return config


@contextmanager
def two_hosts(tmp_path: Path, postgres: str, store: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    database_url = fresh_postgres_database(postgres)
    with ServerProcess(host_config(tmp_path / "a", database_url, store)) as a, \
            ServerProcess(host_config(tmp_path / "b", database_url, store)) as b:
        yield a, b


def upload(server: ServerProcess, data: bytes) -> tuple[requests.Session, dict[str, object]]:
    manager = staff_session(server.url, "manager", "demo-manager")
    response = manager.post(f"{server.url}{B}/media", files={"file": ("promo.png", data, "image/png")},
                            headers={"Origin": server.url}, timeout=30)
    assert response.status_code == 201, response.text
    return manager, response.json()


def test_an_upload_through_one_process_is_served_by_another_from_the_database(tmp_path: Path, postgres: str) -> None:
    image = png_bytes(padding=1_500_000)  # two parts in the database
    with two_hosts(tmp_path, postgres, "database") as (a, b):
        _manager, item = upload(a, image)
        url = f"{b.url}{item['url']}"
        served = requests.get(url, timeout=30)
        assert served.status_code == 200 and served.content == image
        assert served.headers["Content-Type"] == "image/png"
        assert served.headers["ETag"] == f'"{item["sha256"]}"' and served.headers["Last-Modified"]
        from_a = requests.get(f"{a.url}{item['url']}", timeout=30)
        assert from_a.headers["ETag"] == served.headers["ETag"]
        assert from_a.headers["Last-Modified"] == served.headers["Last-Modified"]
        assert requests.get(url, headers={"If-None-Match": served.headers["ETag"]}, timeout=30).status_code == 304
        partial = requests.get(url, headers={"Range": "bytes=1048570-1048589"}, timeout=30)
        assert partial.status_code == 206 and partial.content == image[1048570:1048590]
        assert not (tmp_path / "a" / "media").exists() and not (tmp_path / "b" / "media").exists()

        manager_b = staff_session(b.url, "manager", "demo-manager")
        deleted = manager_b.delete(f"{b.url}{B}/media/{item['id']}", headers={"Origin": b.url}, timeout=30)
        assert deleted.status_code == 200, deleted.text
        for server in (a, b):
            gone = requests.get(f"{server.url}{item['url']}", timeout=30)
            assert gone.status_code == 404 and gone.json()["error"] == "unknown_media"


def test_with_the_directory_store_another_host_does_not_have_the_file(tmp_path: Path, postgres: str) -> None:
    image = png_bytes()
    with two_hosts(tmp_path, postgres, "directory") as (a, b):
        _manager, item = upload(a, image)
        assert requests.get(f"{a.url}{item['url']}", timeout=30).content == image
        missing = requests.get(f"{b.url}{item['url']}", timeout=30)
        assert missing.status_code == 404 and missing.json()["error"] == "media_file_missing"
