"""The manager's reports over any range of closed days: read from the pre-aggregated figures, never the tickets.

Who reads which branches is :func:`server.services.access.reads_reports_of` (managers their branches, admins all,
a regional account its regions' branches); a report over several branches takes those the caller reads.
Percentiles come from summed histogram bins (:mod:`server.domain.reports`). Every table also exports to CSV for a
spreadsheet: UTF-8 with a byte-order mark, the header in the language asked for, no cell a spreadsheet would run
as a formula (the audit export's rules: :func:`server.domain.audit.spreadsheet_safe`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from server.domain.api_tokens import Scope
from server.domain.audit import spreadsheet_safe
from server.domain.booking import BOOKING_COUNTS
from server.domain.errors import DomainError, NotAllowed
from server.domain.follow_ups import CaseFacts, CaseStatus, case_figures
from server.domain.hall import AccountRole, Branch
from server.domain.numbering import service_day
from server.domain.reports import (
    AT_COUNTER,
    BIN_EDGES_MIN,
    GROUP_GRAIN,
    LABELS,
    SATISFACTION_GOAL,
    SERVICE_BINS,
    WAIT_BINS,
    WEEKDAYS,
    Grain,
    Group,
    Period,
    Section,
    duration_figures,
    share,
)
from server.persistence import follow_ups as follow_up_rows
from server.persistence import report_figures
from server.persistence.tables import FollowUp
from server.services.access import reads_reports_of, require_reports
from server.services.actor import Actor
from server.services.audit import CSV_BOM
from server.services.context import HallContext

GROUP_KEYS: dict[Group, tuple[str, ...]] = {
    Group.TOTAL: (), Group.BRANCH: ("branch_code",), Group.SERVICE: ("service_code",),
    Group.COUNTER: ("branch_code", "counter_number"), Group.STAFF: ("staff_username",),
    Group.DAY: ("service_day",), Group.WEEKDAY: (), Group.HOUR: ("hour",)}
"""The columns a grouping sums by (a weekday also by the rows' weekday)."""
VOLUMES = ("issued", "called", "served", "no_shows", "walked_out", "cancelled", "expired", "transferred")
ACCURACY = ("estimated", "within_range", "late_over_5min", "abs_error_sum_s")
MEASURES: dict[Section, tuple[str, ...]] = {
    Section.VOLUMES: VOLUMES,
    Section.WAITS: ("wait_count", "wait_sum_s", *WAIT_BINS),
    Section.SERVICE_TIMES: ("service_count", "service_sum_s", *SERVICE_BINS),
    Section.SERVICE_LEVEL: ("wait_count", "within_target"),
    Section.SATISFACTION: ("rated", "satisfied"),
    Section.ACCURACY: ACCURACY,
}
COLUMNS: dict[Section, tuple[str, ...]] = {
    Section.VOLUMES: VOLUMES,
    Section.WAITS: ("count", "mean_s", "p50_s", "p80_s", "p90_s", "p95_s"),
    Section.SERVICE_TIMES: ("count", "mean_s", "p50_s", "p80_s", "p90_s", "p95_s"),
    Section.SERVICE_LEVEL: ("called", "within_target", "service_level"),
    Section.SATISFACTION: ("rated", "satisfied", "satisfied_share", "goal", "meets_goal"),
    Section.REASONS: ("reason", "rated"),
    Section.ACCURACY: ("estimated", "within_range", "within_range_share", "late_over_5min", "late_over_5min_share",
                       "mean_abs_error_s"),
    Section.FOLLOW_UPS: ("opened", "resolved", "overdue", "resolve_p50_s", "resolve_p90_s"),
    Section.BOOKINGS: (*BOOKING_COUNTS, "no_show_share"),
}
"""Each table's columns after its group column (the heat map's are the hours)."""
REASON_GROUPS = (Group.TOTAL, Group.BRANCH, Group.SERVICE, Group.DAY, Group.WEEKDAY)
ACCURACY_GROUPS = (Group.TOTAL, Group.BRANCH, Group.SERVICE, Group.DAY, Group.WEEKDAY, Group.HOUR)
"""The estimate given at issue is the hall's promise, kept in the hall's cells, not a counter's or staff member's."""
FOLLOW_UP_GROUPS = (Group.TOTAL, Group.BRANCH, Group.DAY)
"""Follow-up cases are counted per branch and day."""
BOOKING_GROUPS = (Group.TOTAL, Group.BRANCH, Group.SERVICE, Group.DAY, Group.WEEKDAY)
"""Bookings are kept per branch, day and service (a slot is not an hour of issue, and no counter owns one)."""
SECTION_GROUPS: dict[Section, tuple[Group, ...]] = {Section.REASONS: REASON_GROUPS, Section.ACCURACY: ACCURACY_GROUPS,
                                                    Section.FOLLOW_UPS: FOLLOW_UP_GROUPS,
                                                    Section.BOOKINGS: BOOKING_GROUPS}
"""The groupings a table is limited to (the others: every grouping)."""
SECTIONS = tuple(Section)
GROUPS = tuple(Group)


def groups_of(section: Section) -> tuple[Group, ...]:
    """The groupings a table can have (rating reasons are kept per service and day, the estimates' accuracy in the
    hall's cells only, follow-up cases per branch and day)."""
    return SECTION_GROUPS.get(section, GROUPS)


class Reports:
    """The report reads of one hall (``hall.reports``)."""

    def __init__(self, hall: HallContext) -> None:
        self.hall = hall

    # --- scope -----------------------------------------------------------------------------------------------

    def branch_scope(self, actor: Actor, branch_code: str) -> list[Branch]:
        """One branch, for a reader of its figures (401/403/404 otherwise)."""
        branch = self.hall.branch(branch_code)
        require_reports(self.hall.config, actor, branch, token_scope=Scope.READ)
        return [branch]

    def readable_scope(self, actor: Actor, region: str | None = None) -> list[Branch]:
        """The branches whose figures ``actor`` reads (within ``region`` when given): 400 ``bad_query`` for a region
        no branch has, 403 when the caller reads none of them."""
        config = self.hall.config
        branches = list(config.branches)
        if region is not None:
            branches = [b for b in branches if b.region == region]
            if not branches:
                raise DomainError(f"region names no region of this hall, got {region[:40]!r}", code="bad_query",
                                  http_status=400, parameter="region")
        readable = [b for b in branches if reads_reports_of(config, actor, b)]
        if not readable:
            raise NotAllowed(f"{actor.username} reads the figures of none of these branches")
        return readable

    def region_choices(self, actor: Actor) -> list[dict[str, Any]]:
        """The regions an admin or a regional account may pick on the reports page, each with the names of the
        branches of it they read; none for anyone else (a manager reads their own branches)."""
        if actor.role not in (AccountRole.ADMIN, AccountRole.REGIONAL):
            return []
        config = self.hall.config
        regions: dict[str, list[dict[str, str]]] = {}
        for branch in config.branches:
            if branch.region is not None and reads_reports_of(config, actor, branch):
                regions.setdefault(branch.region, []).append(branch.name.as_dict())
        return [{"code": code, "branches": names} for code, names in sorted(regions.items())]

    def period(self, branches: Sequence[Branch], first: date | None, last: date | None) -> Period:
        """The asked days, by default the last 30 closed ones of the first branch's calendar."""
        return Period.checked(first, last, service_day(self.hall.clock(), branches[0].timezone))

    # --- the report --------------------------------------------------------------------------------------------

    def report(self, branches: Sequence[Branch], period: Period, group: Group,
               sections: Sequence[Section] | None = None) -> dict[str, Any]:
        """The asked ``sections`` of ``branches`` over ``period`` (None: every table the grouping can have), rows
        grouped by ``group``, with the labels of both languages."""
        sections = sections_for(group) if sections is None else sections
        check_group(sections, group)
        codes = [b.code for b in branches]
        tables: dict[str, Any] = {}
        with self.hall.uow.read() as session:
            connection = session.connection()
            row_sections = [s for s in sections if s in MEASURES]
            if row_sections:
                measures = tuple(dict.fromkeys(m for s in row_sections for m in MEASURES[s]))
                summed = report_figures.sums(connection, GROUP_GRAIN[group], codes, period.first, period.last,
                                             GROUP_KEYS[group], measures, by_weekday=group is Group.WEEKDAY)
                groups = self._fold(summed, group, measures)
                for section in row_sections:
                    tables[section.value] = [{**key, **_figures(section, group, values)} for key, values in groups]
            if Section.REASONS in sections:
                tables[Section.REASONS.value] = self._reasons(connection, codes, period, group)
            if Section.HEATMAP in sections:
                tables[Section.HEATMAP.value] = self._heatmap(connection, codes, period)
            if Section.FOLLOW_UPS in sections:
                tables[Section.FOLLOW_UPS.value] = self._follow_ups(session, branches, period, group)
            if Section.BOOKINGS in sections:
                tables[Section.BOOKINGS.value] = self._bookings(connection, codes, period, group)
        names = self._names(branches)
        for section, rows in tables.items():
            if section != Section.HEATMAP.value:
                for row in rows:
                    row["label"] = names(group, row)
        return {"branches": codes, "from": period.first.isoformat(), "to": period.last.isoformat(),
                "group": group.value, "satisfaction_goal": SATISFACTION_GOAL, "bin_edges_min": list(BIN_EDGES_MIN),
                "columns": {s.value: list(COLUMNS[s]) for s in sections if s in COLUMNS},
                "labels": {key: text.as_dict() for key, text in LABELS.items()},
                "sections": tables}

    def _fold(self, summed: list[dict[str, Any]], group: Group,
              measures: Sequence[str]) -> list[tuple[dict[str, Any], dict[str, int]]]:
        """The summed rows keyed for the answer, weekdays folded from days, in a stable order."""
        keyed: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, int]]] = {}
        for row in summed:
            key = _key_of(group, row)
            found = keyed.get(tuple(key.values()))
            if found is None:
                keyed[tuple(key.values())] = (key, {m: int(row[m]) for m in measures})
            else:
                for m in measures:
                    found[1][m] += int(row[m])
        return [keyed[k] for k in sorted(keyed, key=lambda k: tuple("" if v is None else str(v).zfill(12)
                                                                    for v in k))]

    def _reasons(self, connection: Any, codes: list[str], period: Period, group: Group) -> list[dict[str, Any]]:
        keys = ("service_day",) if group is Group.WEEKDAY else GROUP_KEYS[group]
        folded: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in report_figures.reason_sums(connection, codes, period.first, period.last, keys):
            key = _key_of(group, row)
            entry = folded.setdefault((*key.values(), row["reason"]), {**key, "reason": row["reason"], "rated": 0})
            entry["rated"] += int(row["ratings"])
        chips = {chip.code: chip.text.as_dict() for chip in (*self.hall.config.ratings.low_reasons,
                                                             *self.hall.config.ratings.high_reasons)}
        rows = sorted(folded.values(), key=lambda r: (*(str(v) for k, v in r.items() if k not in ("reason", "rated")),
                                                      -r["rated"]))
        for row in rows:
            row["reason_label"] = chips.get(row["reason"], {"zh-CN": row["reason"], "en": row["reason"]})
        return rows

    def _heatmap(self, connection: Any, codes: list[str], period: Period) -> dict[str, Any]:
        """Arrivals per weekday and local hour of issue: the total and the mean per such day of the period."""
        cells = [[0] * 24 for _ in range(7)]
        for row in report_figures.sums(connection, Grain.HOUR, codes, period.first, period.last, ("hour",),
                                       ("issued",), by_weekday=True):
            cells[row["weekday"]][row["hour"]] += int(row["issued"])
        days = period.weekday_counts()
        hours = [h for h in range(24) if any(cells[w][h] for w in range(7))]
        return {"hours": hours, "weekdays": [w.as_dict() for w in WEEKDAYS], "days": days,
                "issued": [[cells[w][h] for h in hours] for w in range(7)],
                "per_day": [[round(cells[w][h] / days[w], 2) if days[w] else None for h in hours] for w in range(7)]}

    def _follow_ups(self, session: Any, branches: Sequence[Branch], period: Period,
                    group: Group) -> list[dict[str, Any]]:
        """Cases opened and resolved in the period (each branch's own days), read from the cases themselves: they
        are few, and a case changes after its day has closed."""
        now = self.hall.clock()
        opened: dict[tuple[str, ...], list[CaseFacts]] = {}
        resolved: dict[tuple[str, ...], list[CaseFacts]] = {}
        for branch in branches:
            zone = branch.timezone
            start = datetime.combine(period.first, time(0), tzinfo=zone)
            end = datetime.combine(period.last + timedelta(days=1), time(0), tzinfo=zone)

            def key(at: datetime, code: str = branch.code, zone: tzinfo = zone) -> tuple[str, ...]:
                if group is Group.BRANCH:
                    return (code,)
                return (at.astimezone(zone).date().isoformat(),) if group is Group.DAY else ()

            for case in follow_up_rows.opened_between(session, [branch.code], start, end):
                opened.setdefault(key(case.created_at), []).append(_facts(case))
            for case in follow_up_rows.resolved_between(session, [branch.code], start, end):
                assert case.resolved_at is not None
                resolved.setdefault(key(case.resolved_at), []).append(_facts(case))
        name = {Group.BRANCH: "branch", Group.DAY: "day"}.get(group)
        return [{**({name: k[0]} if name else {}), **case_figures(opened.get(k, []), resolved.get(k, []), now)}
                for k in sorted({*opened, *resolved} or ({()} if group is Group.TOTAL else set()))]

    def _bookings(self, connection: Any, codes: list[str], period: Period, group: Group) -> list[dict[str, Any]]:
        """The appointments of the period's closed days (``report_booking``), with the no-show rate of those not
        cancelled; grouped in total there is always a row (zeros when nothing was booked)."""
        keys = ("service_day",) if group is Group.WEEKDAY else GROUP_KEYS[group]
        folded: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, int]]] = {}
        for row in report_figures.booking_sums(connection, codes, period.first, period.last, keys):
            key = _key_of(group, row)
            _, counts = folded.setdefault(tuple(key.values()), (key, dict.fromkeys(BOOKING_COUNTS, 0)))
            for name in BOOKING_COUNTS:
                counts[name] += int(row[name])
        if not folded and group is Group.TOTAL:
            folded[()] = ({}, dict.fromkeys(BOOKING_COUNTS, 0))
        return [{**key, **counts, "no_show_share": share(counts["booking_no_shows"],
                                                         counts["booked"] - counts["booking_cancelled"])}
                for key, counts in (folded[k] for k in sorted(folded, key=lambda k: tuple(str(v) for v in k)))]

    def _names(self, branches: Sequence[Branch]) -> Callable[[Group, dict[str, Any]], dict[str, str]]:
        """How a row's group is shown, in both languages (a staff member by display name only)."""
        by_code = {b.code: b for b in branches}
        config = self.hall.config
        several = len(branches) > 1

        def name(group: Group, row: dict[str, Any]) -> dict[str, str]:
            if group is Group.TOTAL:
                return LABELS["total"].as_dict()
            if group is Group.BRANCH:
                branch = by_code.get(row["branch"])
                return branch.name.as_dict() if branch else {"zh-CN": row["branch"], "en": row["branch"]}
            if group is Group.SERVICE:
                service = next((s for b in branches if (s := b.service(row["service"])) is not None), None)
                return service.name.as_dict() if service else {"zh-CN": row["service"], "en": row["service"]}
            if group is Group.COUNTER:
                branch = by_code.get(row["branch"])
                counter = branch.counter(row["counter"]) if branch else None
                shown = counter.name.as_dict() if counter else {"zh-CN": row["counter"], "en": row["counter"]}
                if several and branch is not None:
                    return {lang: f"{branch.name.as_dict()[lang]} {text}" for lang, text in shown.items()}
                return shown
            if group is Group.STAFF:
                shown_name = config.display_name(row.pop("staff_username")) or ""
                return {"zh-CN": shown_name, "en": shown_name}
            if group is Group.WEEKDAY:
                return WEEKDAYS[row["weekday"]].as_dict()
            if group is Group.HOUR:
                return {"zh-CN": f"{row['hour']:02d}:00", "en": f"{row['hour']:02d}:00"}
            return {"zh-CN": row["day"], "en": row["day"]}

        return name

    # --- CSV ---------------------------------------------------------------------------------------------------

    def csv(self, branches: Sequence[Branch], period: Period, group: Group, section: Section,
            language: str) -> bytes:
        """One table as CSV for a spreadsheet (UTF-8 with BOM, header in ``language``, formula-safe cells)."""
        answer = self.report(branches, period, group, (section,))
        table = answer["sections"][section.value]
        buffer = io.StringIO()
        buffer.write(CSV_BOM)
        writer = csv.writer(buffer, lineterminator="\r\n")
        label = {key: text.as_dict()[language] for key, text in LABELS.items()}
        if section is Section.HEATMAP:
            writer.writerow([label["weekday"], *(f"{h:02d}:00" for h in table["hours"])])
            for weekday, values in zip(WEEKDAYS, table["per_day"], strict=True):
                writer.writerow([weekday.as_dict()[language], *("" if v is None else f"{v:.2f}" for v in values)])
        else:
            columns = COLUMNS[section]
            writer.writerow([label[group.value], *(label[c] for c in columns)])
            for row in table:
                cells = [row["label"][language]]
                for column in columns:
                    value = row["reason_label"][language] if column == "reason" else row.get(column)
                    cells.append(_cell(value))
                writer.writerow([spreadsheet_safe(c) for c in cells])
        return buffer.getvalue().encode("utf-8")

    def file_name(self, branches: Sequence[Branch], period: Period, section: Section) -> str:
        """``report-SZ-FUTIAN-waits-2026-01-01-2026-12-31.csv`` (``all`` for several branches)."""
        who = branches[0].code if len(branches) == 1 else "all"
        return f"report-{who}-{section.value}-{period.first.isoformat()}-{period.last.isoformat()}.csv"


def sections_for(group: Group) -> list[Section]:
    """Every table a report grouped by ``group`` can have (what a report that names no section shows)."""
    return [s for s in SECTIONS if group in groups_of(s)]


def check_group(sections: Sequence[Section], group: Group) -> None:
    """400 ``bad_group`` for a grouping a table cannot have (:func:`groups_of`)."""
    for section in sections:
        allowed = groups_of(section)
        if group not in allowed:
            raise DomainError(f"the {section.value} table is grouped by {', '.join(g.value for g in allowed)} only",
                              code="bad_group", http_status=400, parameter="group")


def _facts(case: FollowUp) -> CaseFacts:
    return CaseFacts(CaseStatus(case.state), case.created_at, case.due_at, case.resolved_at)


def _key_of(group: Group, row: dict[str, Any]) -> dict[str, Any]:
    """A summed row's group as the answer names it."""
    if group is Group.BRANCH:
        return {"branch": row["branch_code"]}
    if group is Group.SERVICE:
        return {"service": row["service_code"]}
    if group is Group.COUNTER:
        return {"branch": row["branch_code"], "counter": row["counter_number"]}
    if group is Group.STAFF:
        return {"staff_username": row["staff_username"]}  # replaced by the display name before it is answered
    if group is Group.DAY:
        return {"day": row["service_day"].isoformat()}
    if group is Group.WEEKDAY:
        return {"weekday": row["weekday"] if "weekday" in row else row["service_day"].weekday()}
    if group is Group.HOUR:
        return {"hour": row["hour"]}
    return {}


def _figures(section: Section, group: Group, v: dict[str, int]) -> dict[str, Any]:
    """One row's figures of one table from its summed measures."""
    if section is Section.VOLUMES:
        at_counter = group in (Group.COUNTER, Group.STAFF)
        return {m: (v[m] if not at_counter or m in AT_COUNTER else None) for m in VOLUMES}
    if section is Section.WAITS:
        bins = [v[b] for b in WAIT_BINS]
        return {**duration_figures(v["wait_count"], v["wait_sum_s"], bins), "bins": bins}
    if section is Section.SERVICE_TIMES:
        bins = [v[b] for b in SERVICE_BINS]
        return {**duration_figures(v["service_count"], v["service_sum_s"], bins), "bins": bins}
    if section is Section.ACCURACY:
        return {"estimated": v["estimated"], "within_range": v["within_range"],
                "within_range_share": share(v["within_range"], v["estimated"]), "late_over_5min": v["late_over_5min"],
                "late_over_5min_share": share(v["late_over_5min"], v["estimated"]),
                "mean_abs_error_s": None if v["estimated"] <= 0 else v["abs_error_sum_s"] / v["estimated"]}
    if section is Section.SERVICE_LEVEL:
        return {"called": v["wait_count"], "within_target": v["within_target"],
                "service_level": share(v["within_target"], v["wait_count"])}
    satisfied = share(v["satisfied"], v["rated"])
    return {"rated": v["rated"], "satisfied": v["satisfied"], "satisfied_share": satisfied, "goal": SATISFACTION_GOAL,
            "meets_goal": None if satisfied is None else satisfied >= SATISFACTION_GOAL}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1 else f"{value:.1f}"
    return str(value)
