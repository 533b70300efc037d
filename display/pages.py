"""Wall display and counter display routes."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for

from display import PAGES, blueprint
from server.domain.devices import DeviceKind, Role
from server.headers import may_be_framed
from server.pages.common import hall, page_branch, page_preview
from server.pages.pairing import device_gate
from server.services.views import vocabulary

PAGES.append(("Wall display 叫号屏", "/display/{branch}"))
PAGES.append(("Counter display 窗口屏 (1)", "/display/{branch}/counter/1"))

WALL_LANGUAGES = ("zh-CN", "en", "auto")
VOICE_MODES = ("auto", "browser", "server")


def _display_options(default_language: str) -> dict[str, Any]:
    """Options every display takes from its URL: ?lang=zh-CN|en|auto, ?rotate=<s>, ?sound=off, ?voice=..."""
    language = request.args.get("lang", default_language)
    if language not in WALL_LANGUAGES:
        language = default_language
    rotate = request.args.get("rotate", "20")
    rotate_s = int(rotate) if rotate.isdigit() and 5 <= int(rotate) <= 600 else 20
    voice = request.args.get("voice", "")
    return {"language": language, "rotate_s": rotate_s, "sound": request.args.get("sound", "on") != "off",
            "voice": voice if voice in VOICE_MODES else None}


ARRIVAL_REFRESH_S = 20
"""How often the wall fetches its arrival QR again: the code changes every 90 s and the one before stays good."""


@blueprint.get("/display/<branch_code>")
@may_be_framed
def wall_display(branch_code: str) -> Any:
    """The hall's wall screen: now calling, recent calls, waits per service, notices and media.

    ``?zone=CODE`` shows one ``[[branches.zones]]`` part of a large hall; ``?lang=zh-CN|en`` fixes the
    language (default: alternate every ``?rotate=`` seconds); ``?sound=off`` silences it; ``?voice=server``
    always uses the server's voice; ``?arrival=on`` shows the QR that customers who took a ticket on their phone scan to
    check in (where a service allows it). ``?preview=1``: a manager's preview, framed by the displays page: silent, no
    pairing, no heartbeat, no sound set-up.
    """
    branch = page_branch(branch_code)
    zone_code = request.args.get("zone") or None
    zone = branch.zone(zone_code) if zone_code else None
    if zone_code and zone is None:
        abort(404)
    preview = page_preview(branch)
    if not preview and (gate := device_gate(branch, Role(DeviceKind.WALL, zone.code if zone else None))) is not None:
        return gate
    options = _display_options("auto")
    if preview:
        options["sound"] = False
    page = {"branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
            "zone": None if zone is None else {"code": zone.code, "name": zone.name.as_dict()},
            "languages": list(hall().config.server.languages), "vocabulary": vocabulary(), "preview": preview,
            # the arrival QR for tickets taken on phones, where the wall is set up for it (``?arrival=on``: it takes
            # room from the calls); never in a preview, since its code proves presence in the hall
            "arrival": None if preview or not branch.remote_services or request.args.get("arrival") != "on" else {
                "qr": url_for("kiosk.arrival_qr", branch_code=branch.code), "refresh_s": ARRIVAL_REFRESH_S},
            **options}
    first_language = options["language"] if options["language"] != "auto" else page["languages"][0]
    return render_template("display/wall.html", branch=branch, zone=zone, page=page, language=first_language,
                           color_scheme="dark", lock_zoom=True, preview=preview)


@blueprint.get("/display/<branch_code>/counter/<counter_number>")
@may_be_framed
def counter_display(branch_code: str, counter_number: str) -> Any:
    """The small screen above one counter: its current number (large), its name, "paused" when paused.

    ``?lang=zh-CN|en|auto``; ``?chime=on`` plays the chime when this counter calls.
    """
    branch = page_branch(branch_code)
    counter = branch.counter(counter_number)
    if counter is None:
        abort(404)
    if (gate := device_gate(branch, Role(DeviceKind.COUNTER_DISPLAY, counter.number))) is not None:
        return gate
    options = _display_options("auto")
    page = {"branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
            "counter": {"number": counter.number, "name": counter.name.as_dict()},
            "languages": list(hall().config.server.languages),
            "chime": request.args.get("chime") == "on", "vocabulary": vocabulary(), **options}
    first_language = options["language"] if options["language"] != "auto" else page["languages"][0]
    return render_template("display/counter.html", branch=branch, counter=counter, page=page,
                           language=first_language, color_scheme="dark", lock_zoom=True)
