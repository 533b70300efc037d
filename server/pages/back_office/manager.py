"""The manager's page: the live hall, ticket issue stopped and resumed by hand, the accuracy of wait estimates,
follow-ups, device faults and the branch's paired devices.

Renders only; data comes from the live connection (role ``manager``) and the JSON API with the session.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from server.domain.devices import PAIRING_TTL, roles_of
from server.domain.hall_alerts import Severity
from server.domain.issuing import CUSTOM_REASON, MAX_REASON_TEXT, STOP_REASONS
from server.pages.back_office import PAGES, blueprint
from server.pages.common import page_branch, page_language
from server.services.views import service_view, vocabulary

PAGES.append(("Manager 值班经理 (pairs devices)", "/manager/{branch}"))


@blueprint.get("/manager/<branch_code>")
def manager_page(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    page = {
        "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
        "language": language,
        "services": [service_view(s, branch) for s in branch.services],
        "api": f"/api/branches/{branch.code}",
        "vocabulary": vocabulary(),
        # the stop dialog offers the domain's reasons, as the kiosk will show them
        "stop_reasons": {"presets": {code: text.as_dict() for code, text in STOP_REASONS.items()},
                         "custom": CUSTOM_REASON, "max_text": MAX_REASON_TEXT},
        # the devices card offers the branch's roles, named as the server names them
        "device_roles": [{**role.as_dict(), "name": role.label(branch).as_dict()} for role in roles_of(branch)],
        "pairing_minutes": PAIRING_TTL.total_seconds() / 60,
        # the alert list's order, most severe first, as the domain ranks them
        "severities": [severity.value for severity in sorted(Severity, key=lambda s: s.rank)],
        # the tickets' QR codes point where no phone can go (a loopback address): told with the fix
        "public_address": current_app.extensions["public_address"].problem(),
    }
    return render_template("back_office/manager.html", page=page, language=language, branch=branch)
