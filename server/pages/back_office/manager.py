"""The manager's page: the live hall, ticket issue stopped and resumed by hand, the accuracy of wait estimates,
follow-ups and device faults.

Renders only; data comes from the live connection (role ``manager``) and the JSON API with the session.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.domain.issuing import CUSTOM_REASON, MAX_REASON_TEXT, STOP_REASONS
from server.pages.back_office import PAGES, blueprint
from server.pages.common import page_branch, page_language
from server.services.views import service_view, vocabulary

PAGES.append(("Manager 值班经理", "/manager/{branch}"))


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
    }
    return render_template("back_office/manager.html", page=page, language=language, branch=branch)
