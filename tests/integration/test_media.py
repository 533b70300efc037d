"""Wall display endpoints through Flask's test client, on SQLite and PostgreSQL: announcements of calls (text
and espeak-ng audio), the managers' media playlist (uploads, type and size checks, order, files) and notices.
The playlist's tests run with each ``[media] store``: the files in a directory, and in the database."""

from __future__ import annotations

import io
import shutil
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from server.app import create_app
from server.config import load_config
from server.persistence.media_store import PART_BYTES, DirectoryStore
from server.persistence.tables import MediaBlob
from server.settings import MEDIA_STORES, HallConfig
from tests.conftest import RecordingPublisher
from tests.media_samples import mp4_bytes, png_bytes, webm_bytes
from tests.support import DEMO_CONFIG, IN_CI, FakeClock, open_all_day

BRANCH = "SZ-FUTIAN"
B = f"/api/branches/{BRANCH}"
Tweak = Callable[[dict[str, Any]], None]


# --- the app ---------------------------------------------------------------------------------------------

@pytest.fixture
def media_store() -> str:
    """``[media] store``: the default, unless a test is parametrized with :data:`EACH_STORE`."""
    return "directory"


EACH_STORE = pytest.mark.parametrize("media_store", MEDIA_STORES)


@pytest.fixture
def make_app(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher,
             monkeypatch: pytest.MonkeyPatch, media_store: str) -> Iterator[Callable[..., Flask]]:
    """The demo hall (open all day) on ``database_url``, media kept in tmp_path or the database, adjusted by
    ``tweak``."""
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)
    built: list[Flask] = []

    def _make(tweak: Tweak | None = None) -> Flask:
        def overrides(data: dict[str, Any]) -> None:
            data["server"]["database_url"] = database_url
            data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
            data["media"]["directory"] = str(tmp_path / "media")
            data["media"]["store"] = media_store
            open_all_day(data)
            if tweak is not None:
                tweak(data)

        config: HallConfig = load_config(DEMO_CONFIG, overrides=overrides)
        app, _socketio = create_app(config, clock=clock, publisher=publisher)
        built.append(app)
        return app

    yield _make
    for app in built:
        hall = app.extensions["hall"]
        hall.uow.engine.dispose()
        hall.uow.read_engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


def signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/api/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return client


@pytest.fixture
def manager(app: Flask) -> FlaskClient:
    return signed_in(app, "manager", "demo-manager")


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = signed_in(app, "zhang.wei", "demo-staff")
    assert client.post(f"{B}/counters/3/sign-in", json={}).status_code == 200
    return client


def stored_files(app: Flask) -> list[bytes]:
    """The bytes of every file the app's media store holds, whichever store it is."""
    store = app.extensions["signage"].store
    if isinstance(store, DirectoryStore):
        names = sorted(p.name for p in store.directory.iterdir()) if store.directory.exists() else []
    else:
        with store.engine.connect() as connection:
            names = list(connection.execute(select(MediaBlob.stored_name).distinct()).scalars())  # type: ignore
    found = [store.find(name) for name in names]
    files = []
    for stored in found:
        assert stored is not None
        with stored.open() as stream:
            files.append(stream.read())
    return files


def error_of(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert body["error"] == code, body
    assert body["message"]
    return body


def upload(client: FlaskClient, data: bytes, content_type: str, name: str = "promo.png",
           **fields: str) -> TestResponse:
    form: dict[str, Any] = {"file": (io.BytesIO(data), name, content_type), **fields}
    return client.post(f"{B}/media", data=form, content_type="multipart/form-data")


# --- announcements ---------------------------------------------------------------------------------------

def call_a_ticket(client: FlaskClient, publisher: RecordingPublisher, staff: FlaskClient) -> tuple[int, int]:
    """Issue a BILL ticket and call it at counter 3; (ticket id, seq of the called event)."""
    assert client.post(f"{B}/tickets", json={"service": "BILL"}).status_code == 201
    ticket = staff.post(f"{B}/counters/3/call-next").get_json()["ticket"]
    seq = next(e["seq"] for e in reversed(publisher.events) if e["kind"] == "called")
    return ticket["id"], seq


def test_a_call_is_announced_in_both_languages(app: Flask, staff: FlaskClient,
                                               publisher: RecordingPublisher) -> None:
    client = app.test_client()
    _ticket_id, seq = call_a_ticket(client, publisher, staff)
    response = client.get(f"{B}/announcements/{seq}")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["kind"], body["number"], body["counter"], body["recall_count"]) == ("called", "A001", "3", 0)
    assert (body["chime"], body["repeat"], body["voice"]) == (True, 1, "auto")
    assert [p["language"] for p in body["parts"]] == ["zh-CN", "en"]
    zh, en = body["parts"]
    assert zh["text"] == "请 A001 号到 3 号窗口"
    assert zh["speech"] == "请 A 零零一 号到 三 号窗口"
    assert en["text"] == "Number A001, please go to counter 3"
    assert en["speech"] == "Number A, zero zero one, please go to counter 3"
    assert zh["audio_url"] == f"{B}/announcements/{seq}/audio/zh-CN"


def test_a_recall_is_announced_again_with_its_count(app: Flask, staff: FlaskClient,
                                                    publisher: RecordingPublisher) -> None:
    client = app.test_client()
    ticket_id, _seq = call_a_ticket(client, publisher, staff)
    assert staff.post(f"{B}/tickets/{ticket_id}/recall", json={}).status_code == 200
    assert staff.post(f"{B}/tickets/{ticket_id}/recall", json={}).status_code == 200
    recall_seq = publisher.events[-1]["seq"]
    body = client.get(f"{B}/announcements/{recall_seq}").get_json()
    assert (body["kind"], body["recall_count"], body["number"]) == ("recalled", 2, "A001")


def test_only_calls_have_announcements(app: Flask, staff: FlaskClient, publisher: RecordingPublisher) -> None:
    client = app.test_client()
    issued_seq = publisher.events[-1]["seq"]  # the sign-in
    error_of(client.get(f"{B}/announcements/{issued_seq}"), 404, "not_a_call")
    error_of(client.get(f"{B}/announcements/999999"), 404, "not_a_call")
    error_of(client.get("/api/branches/NOWHERE/announcements/1"), 404, "unknown_branch")


def test_templates_and_languages_come_from_the_config(make_app: Callable[..., Flask],
                                                      publisher: RecordingPublisher) -> None:
    def english_only(data: dict[str, Any]) -> None:
        data["announcements"].update(languages=["en"], repeat=2, chime=False,
                                     templates={"en": "Ticket {number}: {counter_name}"})

    app = make_app(english_only)
    staff = signed_in(app, "zhang.wei", "demo-staff")
    assert staff.post(f"{B}/counters/3/sign-in", json={}).status_code == 200
    _ticket_id, seq = call_a_ticket(app.test_client(), publisher, staff)
    body = app.test_client().get(f"{B}/announcements/{seq}").get_json()
    assert (body["repeat"], body["chime"]) == (2, False)
    assert [(p["language"], p["text"]) for p in body["parts"]] == [("en", "Ticket A001: Counter 3")]
    error_of(app.test_client().get(f"{B}/announcements/{seq}/audio/zh-CN"), 404, "unknown_language")


needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None and not IN_CI,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")


@needs_espeak
def test_the_server_speaks_each_language_as_wav(app: Flask, staff: FlaskClient,
                                                publisher: RecordingPublisher) -> None:
    client = app.test_client()
    _ticket_id, seq = call_a_ticket(client, publisher, staff)
    for language in ("zh-CN", "en"):
        response = client.get(f"{B}/announcements/{seq}/audio/{language}")
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
        assert response.mimetype == "audio/wav"
        with wave.open(io.BytesIO(response.data)) as audio:
            seconds = audio.getnframes() / audio.getframerate()
        assert 1.0 < seconds < 15.0  # real sizes in the header, not espeak-ng's streaming placeholders
    voice = app.extensions["announcements"].voice
    cached = voice.cached_items
    assert client.get(f"{B}/announcements/{seq}/audio/en").status_code == 200
    assert voice.cached_items == cached  # the same text again comes from the cache


def test_without_espeak_the_audio_route_says_503(app: Flask, staff: FlaskClient,
                                                 publisher: RecordingPublisher) -> None:
    client = app.test_client()
    _ticket_id, seq = call_a_ticket(client, publisher, staff)
    app.extensions["announcements"].voice.executable = None
    error_of(client.get(f"{B}/announcements/{seq}/audio/en"), 503, "voice_unavailable")
    assert client.get(f"{B}/announcements/{seq}").get_json()["server_voice"] is False


def test_staff_setting_a_display_up_hear_a_sample_call(app: Flask, staff: FlaskClient) -> None:
    """The set-up panel's "test the voice": the configured words for the first service's first number at the
    first counter, with server audio for each language; staff only (a display's visitors are refused)."""
    sample = staff.get(f"{B}/announcements/test").get_json()
    assert sample["number"] == "A001" and sample["counter"] == "1"
    assert [part["language"] for part in sample["parts"]] == ["zh-CN", "en"]
    assert sample["parts"][1]["speech"].startswith("Number A, zero zero one")
    assert sample["parts"][0]["audio_url"] == f"{B}/announcements/test/audio/zh-CN"
    response = staff.get(sample["parts"][1]["audio_url"])
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    anonymous = app.test_client()
    error_of(anonymous.get(f"{B}/announcements/test"), 401, "unauthenticated")
    error_of(anonymous.get(f"{B}/announcements/test/audio/en"), 401, "unauthenticated")


# --- media playlist --------------------------------------------------------------------------------------

@EACH_STORE
def test_a_manager_uploads_an_image_and_displays_hear_of_it(app: Flask, manager: FlaskClient,
                                                            publisher: RecordingPublisher, tmp_path: Path) -> None:
    image = png_bytes(padding=200_000)  # larger than the API's usual 64 KB body limit
    response = upload(manager, image, "image/png", title="Broadband offer", seconds="12")
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    assert (item["kind"], item["content_type"], item["title"], item["seconds"]) == (
        "image", "image/png", "Broadband offer", 12)
    assert item["size_bytes"] == len(image) and item["original_name"] == "promo.png"
    event = publisher.events[-1]
    assert (event["kind"], event["change"], event["media_id"]) == ("media_changed", "added", item["id"])
    assert event["private"]["staff"] == "manager"
    assert stored_files(app) == [image]

    public = app.test_client()
    signage = public.get(f"{B}/signage").get_json()
    assert [m["id"] for m in signage["media"]] == [item["id"]]
    file = public.get(signage["media"][0]["url"])
    assert file.status_code == 200
    assert file.mimetype == "image/png" and file.data == image
    assert file.headers["X-Content-Type-Options"] == "nosniff"
    partial = public.get(signage["media"][0]["url"], headers={"Range": "bytes=0-7"})
    assert partial.status_code == 206 and partial.data == image[:8]


@EACH_STORE
def test_a_file_is_streamed_with_its_validators_and_ranges_across_parts(app: Flask, manager: FlaskClient) -> None:
    """Served the same from either store: length, ETag (its digest), Last-Modified, 304s, ranges (a video seeks);
    this file spans three of the database's parts, and the range crosses from one into the next."""
    image = png_bytes(padding=2 * PART_BYTES + 1000)
    item = upload(manager, image, "image/png").get_json()
    public = app.test_client()
    url = item["url"]
    whole = public.get(url)
    assert whole.status_code == 200 and whole.data == image and whole.content_length == len(image)
    assert whole.headers["ETag"] == f'"{item["sha256"]}"' and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.last_modified is not None and "max-age=86400" in whole.headers["Cache-Control"]
    assert public.get(url, headers={"If-None-Match": whole.headers["ETag"]}).status_code == 304
    assert public.get(url, headers={"If-Modified-Since": whole.headers["Last-Modified"]}).status_code == 304
    start, end = PART_BYTES - 10, 2 * PART_BYTES + 9
    partial = public.get(url, headers={"Range": f"bytes={start}-{end}"})
    assert partial.status_code == 206 and partial.data == image[start:end + 1]
    assert partial.headers["Content-Range"] == f"bytes {start}-{end}/{len(image)}"
    assert public.get(url, headers={"Range": "bytes=-5"}).data == image[-5:]
    assert public.get(url, headers={"Range": f"bytes={len(image)}-"}).status_code == 416


@EACH_STORE
def test_videos_are_sniffed_and_their_length_read(manager: FlaskClient) -> None:
    mp4 = upload(manager, mp4_bytes(20.5), "video/mp4", name="clip.mp4")
    assert mp4.status_code == 201, mp4.get_json()
    assert (mp4.get_json()["kind"], mp4.get_json()["video_length_s"], mp4.get_json()["seconds"]) == (
        "video", 20.5, 20.5)
    webm = upload(manager, webm_bytes(7.0), "video/webm", name="clip.webm")
    assert webm.status_code == 201, webm.get_json()
    assert webm.get_json()["video_length_s"] == 7.0
    unknown_length = upload(manager, webm_bytes(None), "video/webm", name="live.webm")
    assert unknown_length.get_json()["video_length_s"] is None
    assert unknown_length.get_json()["seconds"] == 60  # cut off at [media] max_video_s


@pytest.mark.parametrize(("data", "declared", "status", "code"), [
    (b"GIF89a" + b"\x00" * 40, "image/gif", 415, "unsupported_media_type"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>" + b" " * 40, "image/svg+xml", 415, "unsupported_media_type"),
    (b"%PDF-1.7" + b"\x00" * 40, "application/pdf", 415, "unsupported_media_type"),
    (png_bytes(), "image/jpeg", 415, "content_type_mismatch"),
    (mp4_bytes(5), "image/png", 415, "content_type_mismatch"),
    (png_bytes(padding=6 * 1024 * 1024), "image/png", 413, "file_too_large"),
    (mp4_bytes(61), "video/mp4", 422, "video_too_long"),
    (mp4_bytes(600, version=1), "video/mp4", 422, "video_too_long"),
    (b"", "image/png", 422, "empty_file"),
], ids=["gif", "svg", "pdf", "png-as-jpeg", "mp4-as-png", "image-too-large", "video-too-long",
        "video-too-long-v1", "empty"])
@EACH_STORE
def test_uploads_are_checked_with_clear_errors(manager: FlaskClient, tmp_path: Path, data: bytes, declared: str,
                                               status: int, code: str) -> None:
    error_of(upload(manager, data, declared, name="file"), status, code)
    assert stored_files(manager.application) == []  # nothing left behind


@EACH_STORE
def test_a_raw_body_upload_and_an_oversized_request(manager: FlaskClient) -> None:
    image = png_bytes()
    response = manager.post(f"{B}/media?title=Ra%00w&seconds=5", data=image, content_type="image/png",
                            headers={"X-Filename": "raw.png"})
    assert response.status_code == 201, response.get_json()
    # a control character in the title is dropped (PostgreSQL cannot store a NUL)
    assert (response.get_json()["title"], response.get_json()["original_name"]) == ("Raw", "raw.png")
    too_big = manager.post(f"{B}/media", data=b"\x00" * (51 * 1024 * 1024), content_type="video/mp4")
    error_of(too_big, 413, "file_too_large")
    error_of(manager.post(f"{B}/media", data={"other": "x"}, content_type="multipart/form-data"), 422,
             "file_missing")
    error_of(upload(manager, image, "image/png", seconds="soon"), 422, "invalid_request")


def test_only_managers_of_the_branch_change_the_playlist(app: Flask, staff: FlaskClient) -> None:
    image = png_bytes()
    error_of(upload(app.test_client(), image, "image/png"), 401, "unauthenticated")
    error_of(upload(staff, image, "image/png"), 403, "forbidden")
    error_of(staff.get(f"{B}/media"), 403, "forbidden")
    error_of(staff.post(f"{B}/notices", json={"text": {"zh-CN": "通知", "en": "Notice"}}), 403, "forbidden")
    error_of(app.test_client().get("/api/branches/NOWHERE/signage"), 404, "unknown_branch")


@EACH_STORE
def test_disable_reorder_and_delete(app: Flask, manager: FlaskClient, publisher: RecordingPublisher,
                                    tmp_path: Path) -> None:
    ids = [upload(manager, png_bytes(width=w), "image/png").get_json()["id"] for w in (1, 2, 3)]
    public = app.test_client()

    patched = manager.patch(f"{B}/media/{ids[1]}", json={"enabled": False, "title": "Hidden", "seconds": 4})
    assert patched.status_code == 200
    assert (patched.get_json()["enabled"], patched.get_json()["title"], patched.get_json()["seconds"]) == (
        False, "Hidden", 4)
    assert publisher.events[-1]["change"] == "updated"
    assert [m["id"] for m in public.get(f"{B}/signage").get_json()["media"]] == [ids[0], ids[2]]
    hidden_url = f"{B}/media/{ids[1]}/file"
    error_of(public.get(hidden_url), 404, "unknown_media")
    assert manager.get(hidden_url).status_code == 200  # a manager still previews it

    reordered = manager.put(f"{B}/media/order", json={"ids": [ids[2], ids[0], ids[1]]})
    assert [m["id"] for m in reordered.get_json()["media"]] == [ids[2], ids[0], ids[1]]
    assert [m["id"] for m in manager.get(f"{B}/media").get_json()["media"]] == [ids[2], ids[0], ids[1]]
    assert [m["id"] for m in public.get(f"{B}/signage").get_json()["media"]] == [ids[2], ids[0]]
    error_of(manager.put(f"{B}/media/order", json={"ids": [ids[0], ids[1]]}), 422, "invalid_order")
    error_of(manager.put(f"{B}/media/order", json={"ids": [ids[0], ids[0], ids[1]]}), 422, "invalid_order")

    files_before = len(stored_files(app))
    assert manager.delete(f"{B}/media/{ids[0]}").get_json() == {"deleted": ids[0]}
    assert publisher.events[-1]["change"] == "deleted"
    assert len(stored_files(app)) == files_before - 1
    error_of(manager.delete(f"{B}/media/{ids[0]}"), 404, "unknown_media")
    error_of(manager.patch(f"{B}/media/{ids[0]}", json={"enabled": True}), 404, "unknown_media")
    error_of(manager.patch(f"{B}/media/{ids[2]}", json={"seconds": 0}), 422, "invalid_request")


@EACH_STORE
def test_the_playlist_has_a_size_limit(make_app: Callable[..., Flask]) -> None:
    app = make_app(lambda data: data["media"].update(max_items=1))
    manager = signed_in(app, "manager", "demo-manager")
    assert upload(manager, png_bytes(), "image/png").status_code == 201
    error_of(upload(manager, png_bytes(), "image/png"), 409, "playlist_full")
    assert len(stored_files(app)) == 1


# --- notices ---------------------------------------------------------------------------------------------

def test_notices_are_bilingual_and_switch_on_and_off(app: Flask, manager: FlaskClient,
                                                     publisher: RecordingPublisher) -> None:
    first = manager.post(f"{B}/notices", json={"text": {"zh-CN": "今日宽带办理送路由器", "en": "Free router today"}})
    assert first.status_code == 201, first.get_json()
    notice = first.get_json()
    assert notice["text"] == {"zh-CN": "今日宽带办理送路由器", "en": "Free router today"} and notice["enabled"]
    event = publisher.events[-1]
    assert (event["kind"], event["change"], event["notice_id"]) == ("notices_changed", "added", notice["id"])
    second = manager.post(f"{B}/notices", json={"text": {"zh-CN": "二", "en": "Two"}, "enabled": False}).get_json()

    public = app.test_client()
    assert [n["id"] for n in public.get(f"{B}/signage").get_json()["notices"]] == [notice["id"]]
    manager.patch(f"{B}/notices/{second['id']}", json={"enabled": True, "text": {"zh-CN": "第二条", "en": "Second"}})
    manager.put(f"{B}/notices/order", json={"ids": [second["id"], notice["id"]]})
    shown = public.get(f"{B}/signage").get_json()["notices"]
    assert [n["text"]["en"] for n in shown] == ["Second", "Free router today"]
    assert len(manager.get(f"{B}/notices").get_json()["notices"]) == 2

    assert manager.delete(f"{B}/notices/{notice['id']}").status_code == 200
    assert [n["id"] for n in public.get(f"{B}/signage").get_json()["notices"]] == [second["id"]]
    error_of(manager.delete(f"{B}/notices/{notice['id']}"), 404, "unknown_notice")


@pytest.mark.parametrize("body", [
    {"text": {"zh-CN": "只有中文"}},
    {"text": {"zh-CN": "  ", "en": "blank Chinese"}},
    {"text": {"zh-CN": "长" * 501, "en": "too long"}},
    {"text": {"zh-CN": "x", "en": "y", "fr": "z"}},
    {"text": "not bilingual"},
    {"text": {"zh-CN": "x", "en": "y"}, "colour": "red"},
])
def test_bad_notices_are_refused_naming_the_field(manager: FlaskClient, body: dict[str, Any]) -> None:
    error_of(manager.post(f"{B}/notices", json=body), 422, "invalid_request")
