"""Wall display endpoints: announcements of calls (text and server-made audio), the media playlist and notices.

Registered on the API's one blueprint (``server.api.registry.api``), so
they share its error handlers and appear in ``/api/openapi.json``. Reads for the displays are public; changes
to the playlist and notices need a signed-in manager of the branch.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Response, current_app, jsonify, request
from werkzeug.wsgi import wrap_file

from server.api.registry import api, current_actor, route
from server.api.schemas import MediaUpdateRequest, NoticeRequest, NoticeUpdateRequest, PlaylistOrderRequest
from server.domain.api_tokens import Scope
from server.domain.errors import DomainError
from server.services.access import MANAGER, PUBLIC, STAFF
from server.services.announcements import AnnouncementService
from server.services.signage import MediaFile, SignageService

READ, ACT = Scope.READ.value, Scope.ACT.value
MEDIA = "/branches/<branch>/media"
NOTICES = "/branches/<branch>/notices"
MANAGER_ONLY = {401: "not signed in", 403: "not a manager of this branch"}
# staff who are not managers have always been refused here with "forbidden" (elsewhere "manager_only")
MANAGER_CODE = "forbidden"
MEDIA_MAX_AGE_S = 86400


def announcements() -> AnnouncementService:
    return current_app.extensions["announcements"]


def signage() -> SignageService:
    return current_app.extensions["signage"]


# --- announcements -------------------------------------------------------------------------------------

@route(api, "/branches/<branch>/announcements/<id:seq>", "GET",
       "What a wall display says for the call committed as event seq: chime, repeat, text per language",
       tag="displays", auth=PUBLIC, responses={404: "unknown branch, or that event is not a call (not_a_call)"},
       token=READ)
def announcement(branch: str, seq: int) -> Any:
    return jsonify(announcements().announcement(branch, seq))


@route(api, "/branches/<branch>/announcements/<id:seq>/audio/<any('zh-CN','en'):language>", "GET",
       "The announcement spoken by the server (WAV, espeak-ng), for a browser without a voice for the language",
       tag="displays", auth=PUBLIC, produces=("audio/wav",), token=READ,
       responses={404: "not a call, or the language is not announced",
                  503: "the server has no voice (espeak-ng not installed)"})
def announcement_audio(branch: str, seq: int, language: str) -> Any:
    audio = announcements().audio(branch, seq, language)
    response = Response(audio, mimetype="audio/wav")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@route(api, "/branches/<branch>/announcements/test", "GET",
       "A sample call (the first service's first number to the first counter) for staff testing a display's voice",
       tag="displays", auth=STAFF, responses={401: "not signed in", 403: "not staff of this branch"}, token=READ)
def test_announcement(branch: str) -> Any:
    return jsonify(announcements().test_announcement(branch))


@route(api, "/branches/<branch>/announcements/test/audio/<any('zh-CN','en'):language>", "GET",
       "The sample call spoken by the server (WAV, espeak-ng)", tag="displays", auth=STAFF, produces=("audio/wav",),
       token=READ,
       responses={401: "not signed in", 403: "not staff of this branch", 404: "the language is not announced",
                  503: "the server has no voice (espeak-ng not installed)"})
def test_announcement_audio(branch: str, language: str) -> Any:
    response = Response(announcements().test_audio(branch, language), mimetype="audio/wav")
    response.headers["Cache-Control"] = "private, max-age=600"
    return response


# --- what the displays show besides calls ------------------------------------------------------------

@route(api, "/branches/<branch>/signage", "GET", "The displays' playlist (enabled media in order) and notices",
       tag="displays", auth=PUBLIC, responses={404: "unknown branch"}, token=READ)
def branch_signage(branch: str) -> Any:
    return jsonify(signage().signage(branch))


@route(api, MEDIA + "/<id:media_id>/file", "GET", "A media file (image or video, with its content type)",
       tag="displays", auth=PUBLIC, produces=("image/*", "video/*"), responses={404: "unknown or disabled media"},
       token=READ)
def media_file(branch: str, media_id: int) -> Any:
    found = signage().media_file(branch, media_id, current_actor())
    return _streamed(found)


def _streamed(found: MediaFile) -> Response:
    """A stored file streamed out from whichever store holds it (never read whole): ETag (its digest),
    Last-Modified, ranges (videos seek), 304 on a match, a day's caching (its URL changes with its content)."""
    stored = found.stored
    response = current_app.response_class(wrap_file(request.environ, stored.open()), mimetype=found.content_type,
                                          direct_passthrough=True)
    response.content_length = stored.size
    response.last_modified = stored.modified
    response.cache_control.public = True
    response.cache_control.max_age = MEDIA_MAX_AGE_S
    response.expires = int(time.time() + MEDIA_MAX_AGE_S)  # as send_file did, for caches that read only Expires
    response.set_etag(found.sha256)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=stored.size)


# --- managers: media -----------------------------------------------------------------------------------

@route(api, MEDIA, "GET", "Every media item of the branch with its metadata, and the upload limits (managers)",
       tag="displays", auth=MANAGER, manager_code=MANAGER_CODE, responses=MANAGER_ONLY, token=READ)
def list_media(branch: str) -> Any:
    return jsonify(signage().list_media(branch, current_actor()))


@route(api, MEDIA, "POST",
       "Upload an image (png, jpeg, webp) or short video (mp4, webm) to the end of the playlist (managers): "
       "multipart/form-data with a 'file' field (optional 'title', 'seconds'), or the raw file as the body",
       tag="displays", auth=MANAGER, manager_code=MANAGER_CODE, status=201,
       responses={**MANAGER_ONLY, 409: "the playlist is full (playlist_full)", 413: "file too large",
                  415: "not a supported image or video, or its content does not match its declared type",
                  422: "video too long, empty file or bad seconds"})
def upload_media(branch: str) -> Any:
    actor = current_actor()
    service = signage()
    limit = service.upload_limit_bytes()
    if request.content_length is not None and request.content_length > limit:
        raise DomainError(f"the upload is {request.content_length / 1048576:.1f} MB; at most "
                          f"{limit / 1048576:.0f} MB are allowed", code="file_too_large", http_status=413)
    request.max_content_length = limit
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise DomainError("send the file in a form field named 'file'", code="file_missing", http_status=422)
        data = upload.stream.read(limit + 1)
        declared, filename = upload.mimetype, upload.filename
        title, seconds_text = request.form.get("title"), request.form.get("seconds")
    else:
        data = request.get_data(cache=False)
        declared, filename = request.mimetype, request.headers.get("X-Filename")
        title, seconds_text = request.args.get("title"), request.args.get("seconds")
    item = service.upload(branch, actor, data, declared_type=declared, filename=filename, title=title,
                          seconds=_seconds(seconds_text))
    return jsonify(item), 201


def _seconds(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise DomainError(f"seconds must be a number, got {text!r}", code="invalid_request", http_status=422) from None


@route(api, MEDIA + "/<id:media_id>", "PATCH", "Change a media item's title, time on screen or enabled (managers)",
       tag="displays", auth=MANAGER, manager_code=MANAGER_CODE, body=MediaUpdateRequest,
       responses={**MANAGER_ONLY, 404: "unknown media"})
def update_media(branch: str, media_id: int, body: MediaUpdateRequest) -> Any:
    return jsonify(signage().update_media(branch, media_id, current_actor(), title=body.title, seconds=body.seconds,
                                          enabled=body.enabled))


@route(api, MEDIA + "/<id:media_id>", "DELETE", "Remove a media item and its file (managers)", tag="displays",
       auth=MANAGER, manager_code=MANAGER_CODE, responses={**MANAGER_ONLY, 404: "unknown media"})
def delete_media(branch: str, media_id: int) -> Any:
    signage().delete_media(branch, media_id, current_actor())
    return jsonify({"deleted": media_id})


@route(api, MEDIA + "/order", "PUT", "Put the playlist in a new order: every item's id, first to last (managers)",
       tag="displays", auth=MANAGER, manager_code=MANAGER_CODE, body=PlaylistOrderRequest,
       responses={**MANAGER_ONLY, 422: "the ids are not exactly the branch's items"})
def order_media(branch: str, body: PlaylistOrderRequest) -> Any:
    return jsonify(signage().reorder_media(branch, body.ids, current_actor()))


# --- managers: notices ---------------------------------------------------------------------------------

@route(api, NOTICES, "GET", "Every notice of the branch, enabled or not (managers)", tag="displays", auth=MANAGER,
       manager_code=MANAGER_CODE, responses=MANAGER_ONLY, token=READ)
def list_notices(branch: str) -> Any:
    return jsonify(signage().list_notices(branch, current_actor()))


@route(api, NOTICES, "POST", "Add a bilingual scrolling notice (managers)", tag="displays", auth=MANAGER,
       manager_code=MANAGER_CODE, body=NoticeRequest, status=201, responses=MANAGER_ONLY, token=ACT)
def create_notice(branch: str, body: NoticeRequest) -> Any:
    notice = signage().create_notice(branch, current_actor(), body.text.model_dump(by_alias=True),
                                     enabled=body.enabled)
    return jsonify(notice), 201


@route(api, NOTICES + "/<id:notice_id>", "PATCH", "Change a notice's text or switch it on or off (managers)",
       tag="displays", auth=MANAGER, manager_code=MANAGER_CODE, body=NoticeUpdateRequest,
       responses={**MANAGER_ONLY, 404: "unknown notice"}, token=ACT)
def update_notice(branch: str, notice_id: int, body: NoticeUpdateRequest) -> Any:
    text = body.text.model_dump(by_alias=True) if body.text is not None else None
    return jsonify(signage().update_notice(branch, notice_id, current_actor(), text=text, enabled=body.enabled))


@route(api, NOTICES + "/<id:notice_id>", "DELETE", "Remove a notice (managers)", tag="displays", auth=MANAGER,
       manager_code=MANAGER_CODE, responses={**MANAGER_ONLY, 404: "unknown notice"}, token=ACT)
def delete_notice(branch: str, notice_id: int) -> Any:
    signage().delete_notice(branch, notice_id, current_actor())
    return jsonify({"deleted": notice_id})


@route(api, NOTICES + "/order", "PUT", "Put the notices in a new order (managers)", tag="displays", auth=MANAGER,
       manager_code=MANAGER_CODE, body=PlaylistOrderRequest, token=ACT,
       responses={**MANAGER_ONLY, 422: "the ids are not exactly the branch's notices"})
def order_notices(branch: str, body: PlaylistOrderRequest) -> Any:
    return jsonify(signage().reorder_notices(branch, body.ids, current_actor()))
