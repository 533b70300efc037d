"""What the browser is told instead of taught: the domain's vocabulary in every page, the actions a ticket
allows in its staff view, each event's ``holds_counter``, and a console label for every action and state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.config import load_config
from server.domain.audit import AuditAction
from server.domain.issuing import CUSTOM_REASON, MAX_REASON_TEXT, STOP_REASONS
from server.domain.tickets import SYSTEM_ACTIONS, Action, EventKind, TicketState, allowed_actions
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.views import vocabulary
from tests.conftest import RecordingPublisher
from tests.device_helpers import paired_client
from tests.support import DEMO_CONFIG, ROOT, FakeClock, open_all_day

BRANCH = "SZ-FUTIAN"
STAFF = Actor("zhang.wei", "staff")
STAFF_TEXTS = ROOT / "server" / "pages" / "counter_devices" / "static" / "staff-texts.js"
MANAGER_TEXTS = ROOT / "server" / "pages" / "back_office" / "static" / "manager.js"


def test_the_vocabulary_names_every_state_event_kind_and_action_of_the_domain() -> None:
    words = vocabulary()
    assert set(words["states"]) == {state.value for state in TicketState}
    assert set(words["event_kinds"]) == {kind.value for kind in EventKind}
    # what a person may do: the system's own actions (the end of a day) are never offered
    assert set(words["actions"]) == {action.value for action in Action if action not in SYSTEM_ACTIONS}
    assert set(words["counter_states"]) == {state.value for state in TicketState if state.holds_counter}
    assert set(words["final_states"]) == {state.value for state in TicketState if state.is_final}
    assert words["allowed_actions"] == {state.value: [a.value for a in allowed_actions(state)] for state in TicketState}
    for group in ("ticket_kinds", "call_kinds", "counter_kinds"):
        assert words[group] and set(words[group]) <= set(words["event_kinds"]), group
    json.dumps(words)  # it goes into the page as JSON


# --- every page that works with tickets gets the vocabulary -------------------------------------------------


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)

    def overrides(data: dict[str, Any]) -> None:
        data["server"]["database_url"] = f"sqlite:///{tmp_path / 'hall.sqlite3'}"
        data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
        open_all_day(data)

    app, _socketio = create_app(load_config(DEMO_CONFIG, overrides=overrides), clock=FakeClock(),
                                publisher=RecordingPublisher())
    yield app
    app.extensions["hall"].uow.engine.dispose()


def _bootstrap(html: str) -> dict[str, Any]:
    """The page's configuration: its JSON script block."""
    found = re.search(r'<script type="application/json" id="[a-z-]+-config">(.*?)</script>', html, re.S)
    assert found is not None, html[:500]
    return json.loads(found.group(1))


def _token(client: FlaskClient) -> str:
    answer = client.post(f"/api/branches/{BRANCH}/tickets", json={"service": "BILL"})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["token"]


@pytest.mark.parametrize("path", [
    "/display/{branch}", "/display/{branch}/counter/1", "/pad/{branch}/1", "/staff/{branch}/counter/1",
    "/manager/{branch}", "/t/{token}",
])
def test_every_page_that_shows_tickets_gets_the_vocabulary(app: Flask, path: str) -> None:
    client = paired_client(app, "pad", "1") if path.startswith("/pad") else app.test_client()
    if path.startswith("/staff"):
        signed_in = client.post("/api/session", json={"username": "zhang.wei", "password": "demo-staff"})
        assert signed_in.status_code == 200, signed_in.get_json()
    url = path.format(branch=BRANCH, token=_token(client) if "{token}" in path else "")
    page = client.get(url)
    assert page.status_code == 200, url
    assert _bootstrap(page.get_data(as_text=True))["vocabulary"] == vocabulary()


# --- the staff view of a ticket says what it allows ---------------------------------------------------------


def test_the_staff_view_of_a_ticket_carries_the_domains_allowed_actions(hall: HallService) -> None:
    hall.counters.sign_in(BRANCH, "1", STAFF)
    hall.tickets.issue(BRANCH, "BILL")
    ticket = hall.counters.call_next(BRANCH, "1", STAFF)["ticket"]
    assert ticket["allowed_actions"] == [a.value for a in allowed_actions(TicketState.CALLED)]
    ticket = hall.tickets.act(BRANCH, ticket["id"], Action.START, STAFF)["ticket"]
    assert ticket["allowed_actions"] == ["finish", "park", "transfer"]
    ticket = hall.tickets.act(BRANCH, ticket["id"], Action.FINISH, STAFF)["ticket"]
    assert ticket["allowed_actions"] == []


# --- holds_counter: what the counter holds after a ticket's move ---------------------------------------------


def test_every_ticket_event_naming_a_counter_says_what_the_counter_holds_now(
        hall: HallService, publisher: RecordingPublisher) -> None:
    hall.counters.sign_in(BRANCH, "1", STAFF)
    hall.tickets.issue(BRANCH, "BILL")
    hall.tickets.issue(BRANCH, "BILL")
    first = hall.counters.call_next(BRANCH, "1", STAFF)["ticket"]
    for action in (Action.RECALL, Action.START, Action.PARK):
        hall.tickets.act(BRANCH, first["id"], action, STAFF)
    second = hall.counters.call_next(BRANCH, "1", STAFF)["ticket"]
    hall.tickets.act(BRANCH, second["id"], Action.NO_SHOW, STAFF)
    hall.tickets.act(BRANCH, first["id"], Action.RESUME, STAFF)
    hall.tickets.act(BRANCH, first["id"], Action.FINISH, STAFF)

    moves = [(e["kind"], e["holds_counter"] and (e["ticket"]["number"], e["ticket"]["state"]))
             for e in publisher.events if "holds_counter" in e]
    assert moves == [
        ("called", (first["number"], "called")),
        ("recalled", (first["number"], "called")),
        ("serving", (first["number"], "serving")),
        ("parked", False),
        ("called", (second["number"], "called")),
        ("no_show", False),
        ("resumed", (first["number"], "serving")),
        ("finished", False),
    ]
    # issuing names no counter, a counter's own events move no ticket: neither carries it
    assert all("holds_counter" not in e for e in publisher.events
               if e["kind"] in ("issued", "counter_signed_in"))


# --- the staff console has a label for every action and state ------------------------------------------------


def _texts(language: str, script: Path = STAFF_TEXTS) -> set[str]:
    """The keys of one language's dictionary in a page's texts (``"zh-CN": {`` … ``},``, ``en: {`` … ``},``):
    every key that starts a line or follows a comma (several short texts share a line)."""
    source = script.read_text(encoding="utf-8")
    opening = '"zh-CN": {' if language == "zh-CN" else "en: {"
    start = source.index(opening) + len(opening)
    end = source.index("\n    },", start)
    body = re.sub(r'"(?:[^"\\]|\\.)*"', '""', source[start:end])  # no key is looked for inside a text
    body = re.sub(r"\{[^{}]*\}", "{}", body)  # nor inside a text's plural forms
    return set(re.findall(r"(?:^\s+|,\s*)([a-z_0-9]+):", body, re.M))


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_console_has_a_label_for_every_action_and_state(language: str) -> None:
    keys = _texts(language)
    assert len(keys) > 50  # the dictionary was found
    missing = [f"action_{a.value}" for a in Action if a not in SYSTEM_ACTIONS and f"action_{a.value}" not in keys]
    missing += [f"state_{s.value}" for s in TicketState if f"state_{s.value}" not in keys]
    assert not missing, f"staff-texts.js ({language}) lacks {missing}"


def test_both_console_languages_have_the_same_texts() -> None:
    assert _texts("zh-CN") == _texts("en")


@pytest.mark.parametrize("script", [ROOT / "static" / "hall" / "opening.js", ROOT / "kiosk" / "static" / "kiosk.js",
                                    ROOT / "kiosk" / "static" / "book-texts.js"],
                         ids=lambda path: path.name)
def test_both_languages_of_a_customer_script_have_the_same_texts(script: Path) -> None:
    zh, en = _texts("zh-CN", script), _texts("en", script)
    assert len(zh) >= 5  # the dictionary was found
    assert zh == en, f"{script.name}: only zh-CN {sorted(zh - en)}, only en {sorted(en - zh)}"


def test_the_booking_pages_have_every_text_they_use() -> None:
    keys = _texts("en", ROOT / "kiosk" / "static" / "book-texts.js")
    script = (ROOT / "kiosk" / "static" / "book.js").read_text(encoding="utf-8")
    template = (ROOT / "kiosk" / "templates" / "kiosk" / "book.html").read_text(encoding="utf-8")
    used = set(re.findall(r'\bt\("([a-z_]+)"', script))
    used |= set(re.findall(r'data-i18n(?:-aria-label)?="([a-z_]+)"', template))
    used |= set(re.findall(r'\["(f_[a-z]+)",', script)) | set(re.findall(r'outcome = "([a-z_]+)"', script))
    assert len(used) > 30 and used - keys == set()


def test_both_manager_languages_have_the_same_texts() -> None:
    zh, en = _texts("zh-CN", MANAGER_TEXTS), _texts("en", MANAGER_TEXTS)
    assert len(zh) > 100 and {"issuing", "waiting_keep", "error_text_en"} <= zh  # the whole dictionary was read
    assert zh - en == set() and en - zh == set()


def test_both_audit_page_languages_have_the_same_texts() -> None:
    script = ROOT / "server" / "pages" / "back_office" / "static" / "audit.js"
    zh, en = _texts("zh-CN", script), _texts("en", script)
    assert len(zh) > 30 and {"empty", "export", "bad_range", "param_q"} <= zh  # the whole dictionary was read
    assert zh == en, f"audit.js: only zh-CN {sorted(zh - en)}, only en {sorted(en - zh)}"


def test_both_displays_page_languages_have_the_same_texts() -> None:
    script = ROOT / "server" / "pages" / "back_office" / "static" / "displays.js"
    zh, en = _texts("zh-CN", script), _texts("en", script)
    assert len(zh) > 60 and {"title", "too_long", "frame_wall"} <= zh  # the whole dictionary was read
    assert zh == en, f"displays.js: only zh-CN {sorted(zh - en)}, only en {sorted(en - zh)}"


@pytest.mark.parametrize("name", ["roster", "staffing"])
def test_both_roster_and_staffing_page_languages_have_the_same_texts(name: str) -> None:
    script = ROOT / "server" / "pages" / "back_office" / "static" / f"{name}.js"
    zh, en = _texts("zh-CN", script), _texts("en", script)
    assert len(zh) > 30 and {"title", "source_roster", "source_configured"} <= zh  # the whole dictionary was read
    assert zh == en, f"{name}.js: only zh-CN {sorted(zh - en)}, only en {sorted(en - zh)}"
    template = ROOT / "server" / "pages" / "back_office" / "templates" / "back_office" / f"{name}.html"
    used = set(re.findall(r'data-i18n(?:-aria-label)?="([a-z_0-9]+)"', template.read_text(encoding="utf-8")))
    assert used <= zh, f"{name}.html uses texts {name}.js lacks: {sorted(used - zh)}"


def test_the_roster_page_explains_every_field_the_rules_name() -> None:
    keys = _texts("en", ROOT / "server" / "pages" / "back_office" / "static" / "roster.js")
    source = (ROOT / "server" / "domain" / "roster.py").read_text(encoding="utf-8")
    fields = set(re.findall(r'RosterRefused\("([a-z_]+)"', source))
    assert {"username", "counter", "services", "start", "end", "date", "days"} <= fields
    assert {f"err_{field}" for field in fields - {"shift"}} <= keys


def test_both_overview_page_languages_have_the_same_texts() -> None:
    script = ROOT / "server" / "pages" / "back_office" / "static" / "overview.js"
    zh, en = _texts("zh-CN", script), _texts("en", script)
    assert len(zh) > 30 and {"title", "col_worst", "order_rule", "stopped_some"} <= zh  # the whole dictionary was read
    assert zh == en, f"overview.js: only zh-CN {sorted(zh - en)}, only en {sorted(en - zh)}"


def test_the_audit_page_offers_the_domains_actions(app: Flask) -> None:
    page = _bootstrap(app.test_client().get(f"/manager/{BRANCH}/audit").get_data(as_text=True))
    assert page["actions"] == [{"code": a.value, "label": a.label.as_dict()} for a in AuditAction]
    assert {"username": "zhang.wei", "display_name": "张伟 Zhang Wei"} in page["people"]


def test_the_manager_offers_the_domains_stop_reasons(app: Flask) -> None:
    page = _bootstrap(app.test_client().get(f"/manager/{BRANCH}").get_data(as_text=True))
    assert page["stop_reasons"] == {"presets": {code: text.as_dict() for code, text in STOP_REASONS.items()},
                                    "custom": CUSTOM_REASON, "max_text": MAX_REASON_TEXT}


# --- the few words a page script still names itself are the domain's ----------------------------------------

PAGE_SCRIPTS = sorted([*(ROOT / "kiosk" / "static").glob("*.js"), *(ROOT / "display" / "static").glob("*.js"),
                       *(ROOT / "server" / "pages").glob("*/static/*.js")])


def _named_words(source: str) -> tuple[set[str], set[str]]:
    """Event kinds and ticket states a script compares with by name (a reaction of its own, e.g. the pad asks
    for a rating on ``finished``): ``event.kind === "…"``, ``….state === "…"`` and ``…_KINDS = [...]`` lists."""
    kinds = set(re.findall(r'event\.kind [!=]== "([a-z_]+)"', source))
    for listed in re.findall(r"_KINDS = \[([^\]]*)\]", source) + re.findall(r"\[([^\]]*)\]\.includes\(event\.kind\)",
                                                                           source):
        kinds |= set(re.findall(r'"([a-z_]+)"', listed))
    states = set(re.findall(r'(?:ticket|current|changed|update|data)\.state [!=]== "([a-z_]+)"', source))
    return kinds, states


@pytest.mark.parametrize("script", PAGE_SCRIPTS, ids=lambda path: path.name)
def test_every_kind_and_state_a_page_script_names_exists_in_the_domain(script: Path) -> None:
    kinds, states = _named_words(script.read_text(encoding="utf-8"))
    assert kinds <= {kind.value for kind in EventKind}, f"{script.name}: {kinds - {k.value for k in EventKind}}"
    assert states <= {state.value for state in TicketState}, f"{script.name}: {states}"


# --- a call stands on the wall only while its customer is expected at the counter -------------------------------

def test_the_snapshot_keeps_only_the_calls_that_still_stand(hall: HallService) -> None:
    hall.counters.sign_in(BRANCH, "1", STAFF)
    hall.counters.sign_in(BRANCH, "2", Actor("li.na", "staff"))
    numbers = [hall.tickets.issue(BRANCH, "BILL")["number"] for _ in range(3)]
    served = hall.counters.call_next(BRANCH, "1", STAFF)["ticket"]
    returned = hall.counters.call_next(BRANCH, "2", Actor("li.na", "staff"))["ticket"]
    hall.tickets.act(BRANCH, served["id"], Action.START, STAFF)
    hall.tickets.act(BRANCH, returned["id"], Action.RETURN_TO_QUEUE, Actor("li.na", "staff"))
    calls = [c["number"] for c in hall.queries.snapshot(BRANCH)["recent_calls"]]
    assert calls == [served["number"]] and served["number"] == numbers[0]
    withdrawn = set(vocabulary()["withdrawn_call_states"])
    assert withdrawn == {s.value for s in TicketState if not s.keeps_its_call} == {"waiting", "cancelled", "expired"}


ADMIN_STATIC = ROOT / "server" / "pages" / "back_office" / "static"


def _admin_texts(language: str) -> set[str]:
    """The keys of one language in admin-texts.js (its dictionaries close at two spaces' indent)."""
    source = (ADMIN_STATIC / "admin-texts.js").read_text(encoding="utf-8")
    opening = '"zh-CN": {' if language == "zh-CN" else "en: {"
    start = source.index(opening) + len(opening)
    body = re.sub(r'"(?:[^"\\]|\\.)*":', "KEY:", source[start:source.index("\n  },", start)])  # quoted keys
    quoted = set(re.findall(r'"([a-z_A-Z-]+)":', source[start:source.index("\n  },", start)]))
    body = re.sub(r'"(?:[^"\\]|\\.)*"', '""', body)
    return quoted | (set(re.findall(r"(?:^\s+|,\s*)([a-z_0-9]+):", body, re.M)) - {"KEY"})


def test_the_administration_has_every_text_it_uses_in_both_languages() -> None:
    zh, en = _admin_texts("zh-CN"), _admin_texts("en")
    assert len(zh) > 150 and zh == en, (sorted(zh - en), sorted(en - zh))
    scripts = "".join((ADMIN_STATIC / name).read_text(encoding="utf-8") for name in ("admin.js", "admin-forms.js"))
    used = set(re.findall(r'\bt\("([a-z_A-Z-]+)"', scripts))
    used |= set(re.findall(r'(?:label|hint|blank): "([a-z_]+)"', scripts))
    used |= set(re.findall(r'(?:names|num|int|text)\("[a-z_]+", "([a-z_]+)"', scripts))
    used -= {"role_", "section_", "add_", "day_", "settings_", "what_"}  # prefixes of keys made in the script
    template = (ROOT / "server" / "pages" / "back_office" / "templates" / "back_office" / "admin.html").read_text()
    used |= set(re.findall(r'data-i18n(?:-aria-label)?="([a-z_]+)"', template))
    assert used - en == set()


def _problem_kinds(code: str) -> set[str]:
    """The ``kind=`` (or ``format=``) a refusal of ``code`` is given anywhere in the server's source."""
    kinds: set[str] = set()
    for source in (ROOT / "server").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        kinds |= set(re.findall(rf'Problem\.{code.upper()},\s*(?:params=\{{"kind": |kind=)"([a-z_]+)"', text))
    return kinds


def test_every_problem_the_server_can_refuse_with_has_its_text_in_both_languages() -> None:
    """The administration words a refused change from its problem code: every code the server's source raises
    (``Problem.X``) has its text, and so has every format a value may have to take and every kind of thing a
    missing reference or a duplicate names that has a wording of its own."""
    from server.domain.values import Problem, ValueFormat

    raised: set[str] = set()
    for source in (ROOT / "server").rglob("*.py"):
        raised |= set(re.findall(r"\bProblem\.([A-Z_]+)\b", source.read_text(encoding="utf-8")))
    codes = {Problem[name].value for name in raised}
    assert codes >= {"required", "too_long", "out_of_range", "duplicate", "unknown_reference", "bad_time_range",
                     "bad_format", "invalid"}
    wanted = {f"problem_{code}" for code in codes}
    wanted |= {f"problem_bad_format_{fmt.value}" for fmt in ValueFormat}
    wanted |= {f"problem_unknown_reference_{kind}" for kind in _problem_kinds("unknown_reference")}
    wanted |= {f"problem_duplicate_{kind}" for kind in _problem_kinds("duplicate")}
    wanted |= {f"problem_in_use_{kind}" for kind in _problem_kinds("in_use")}
    assert _problem_kinds("unknown_reference") >= {"service", "category", "counter"}
    for language in ("zh-CN", "en"):
        assert wanted - _admin_texts(language) == set(), language
    assert "PROBLEMS" not in (ADMIN_STATIC / "admin-texts.js").read_text(encoding="utf-8")  # no English to match
