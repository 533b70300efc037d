/* The roster editor: a day of the branch, counters as rows and hours as columns with shifts and breaks as blocks,
   and the staffing advice beside each hour (counters needed, rostered, open now; short hours marked). A small
   dialog adds, edits and deletes an entry; a day is copied to the next weeks. On a phone the day is a list.
   Shows what the server computes and sends what the manager chose: the rules live in server/domain/roster.py. */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("roster-config").textContent);
  const API = window.HallApi;
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "排班表", back: "返回值班经理", staffing_advice: "排班建议", sign_in_first: "请先以经理身份登录",
      go_sign_in: "前往值班经理页面登录", signed_out: "尚未登录，或登录已过期。",
      not_allowed: "排班表只对本网点的经理、管理员和所属区域的查看账号开放。",
      day: "日期", prev_day: "前一天", next_day: "后一天", add_shift: "添加班次", edit_shift: "修改班次",
      day_view: "当天排班", day_list: "当天班次", closed: "当天不营业", legend_short: "窗口不足的时段",
      legend_break: "休息", counter_row: "{name}", breaks_row: "休息", row_needed: "需要", row_rostered: "已排",
      row_open: "已开", col_hour: "时段", source_roster: "“计划”来自本日排班表",
      source_configured: "当天没有排班：“计划”按全部已设窗口计算", kind_work: "上岗", kind_break: "休息",
      person: "人员", counter: "窗口", services: "业务（按优先顺序）", start: "开始", end: "结束", save: "保存",
      cancel: "取消", delete: "删除", move_up: "上移", confirm_delete: "删除这个班次？",
      summary: "{date}：{shifts} 个班次，{people} 人；{short} 个小时窗口不足。",
      summary_closed: "{date}：当天不营业。", no_shifts: "当天还没有排班。", read_only: "只读：只有本网点经理可以修改。",
      copy_title: "复制当天排班", copy_weeks: "复制到之后几周的同一天", copy_day: "或复制到某一天", copy: "复制",
      copied: "已复制到：{days}", copied_none: "没有复制到任何一天", skipped: "（不营业，跳过：{days}）",
      offline: "无法连接服务器，请稍后重试", failed: "操作失败：{message}",
      date_too_early: "日期不能早于一年前", date_too_far: "日期不能晚于 60 天后", bad_query: "请选择日期",
      err_username: "请选择本网点的员工", err_counter: "请选择本网点的窗口",
      err_services: "所选业务该窗口不能办理", err_start: "开始时间须在营业时间内、整刻钟",
      err_end: "结束时间须晚于开始、在营业日结束之前", err_date: "当天不营业", err_days: "请选择要复制到的日期或周数",
      err_weeks: "周数须在 0 到 8 之间", clash_person: "此人在这段时间已有班次或休息",
      clash_counter: "该窗口在这段时间已有人上岗", empty_roster: "当天没有可复制的排班",
      unknown_shift: "这个班次已被删除", no_services: "至少选择一项业务", invalid_request: "输入有误：{message}",
      block_label: "{who}，{counter}，{start}–{end}", open_none: "—", hours_label: "{start}–{end}",
    },
    en: {
      title: "Roster", back: "Back to the manager page", staffing_advice: "Staffing advice",
      sign_in_first: "Sign in as a manager first", go_sign_in: "Sign in on the manager page",
      signed_out: "Not signed in, or the session has ended.",
      not_allowed: "The roster is open to this branch's managers, administrators and its region's readers.",
      day: "Day", prev_day: "Previous day", next_day: "Next day", add_shift: "Add a shift", edit_shift: "Edit the shift",
      day_view: "The day's roster", day_list: "The day's shifts", closed: "Closed that day",
      legend_short: "Hours short of counters", legend_break: "Break", counter_row: "{name}", breaks_row: "Breaks",
      row_needed: "Needed", row_rostered: "Rostered", row_open: "Open now", col_hour: "Hour",
      source_roster: "\u201cPlanned\u201d comes from this day's roster",
      source_configured: "No roster that day: \u201cplanned\u201d counts every configured counter",
      kind_work: "At a counter", kind_break: "Break", person: "Person", counter: "Counter",
      services: "Services (in order of preference)", start: "Start", end: "End", save: "Save", cancel: "Cancel",
      delete: "Delete", move_up: "Move up", confirm_delete: "Delete this shift?",
      summary: { one: "{date}: {shifts} shift, people rostered: {people}; {short} hour(s) short of counters.",
                 other: "{date}: {shifts} shifts, people rostered: {people}; {short} hour(s) short of counters." },
      summary_closed: "{date}: closed.", no_shifts: "No one is rostered yet.",
      read_only: "Read only: only the branch's managers change it.",
      copy_title: "Copy the day's roster", copy_weeks: "To the same weekday of the next weeks",
      copy_day: "Or to one day", copy: "Copy", copied: "Copied to: {days}", copied_none: "Copied to no day",
      skipped: " (closed, skipped: {days})", offline: "The server cannot be reached: try again in a moment",
      failed: "Could not do that: {message}", date_too_early: "The day must be at most a year back",
      date_too_far: "The day must be at most 60 days ahead", bad_query: "Choose a day",
      err_username: "Choose a member of this branch's staff", err_counter: "Choose a counter of this branch",
      err_services: "The counter does not serve a service chosen",
      err_start: "The start must be on the quarter hour, within the opening hours",
      err_end: "The end must be after the start, before the service day ends", err_date: "The branch is closed that day",
      err_days: "Choose a day or a number of weeks to copy to", err_weeks: "Weeks must be between 0 and 8",
      clash_person: "This person already has a shift or break then",
      clash_counter: "Someone already works this counter then", empty_roster: "That day has no roster to copy",
      unknown_shift: "This shift has been deleted", no_services: "Choose at least one service",
      invalid_request: "Bad input: {message}", block_label: "{who}, {counter}, {start}–{end}", open_none: "—",
      hours_label: "{start}–{end}",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  const form = $("#day-form");
  const dialog = $("#shift-dialog");
  const shiftForm = $("#shift-form");
  let roster = null;
  let advice = null;
  let editing = null; // the entry the dialog edits (null: a new one)

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  const clock = (minutes) => `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
  const minutesOf = (text) => { const [h, m] = text.split(":").map(Number); return h * 60 + m; };
  const counterOf = (number) => roster.counters.find((c) => c.number === number);
  const counterName = (number) => { const c = counterOf(number); return c ? i18n.pick(c.name) : number; };
  const serviceName = (code) => { const s = roster.services.find((x) => x.code === code); return s ? i18n.pick(s.name) : code; };
  const shortName = (shift) => shift.display_name;

  function localToday() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: PAGE.branch.timezone, year: "numeric", month: "2-digit",
                                              day: "2-digit" }).format(new Date());
  }

  function shiftDay(day, days) {
    const d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  /** The hours the grid shows: the roster's window, whole hours. */
  function gridHours() {
    if (!roster || !roster.window) return [];
    const first = Math.floor(roster.window.start / 60), last = Math.ceil(roster.window.end / 60);
    return Array.from({ length: last - first }, (_, i) => first + i);
  }

  const adviceHour = (hour) => (advice ? advice.hours.find((h) => h.hour === hour) : undefined);

  function place(block, shift, first, span) {
    block.style.left = `${((minutesOf(shift.start) - first) / span) * 100}%`;
    block.style.width = `${((minutesOf(shift.end) - minutesOf(shift.start)) / span) * 100}%`;
  }

  function shiftBlock(shift, first, span) {
    const block = el("button", `block ${shift.kind}`);
    block.type = "button";
    block.dataset.id = shift.id;
    block.disabled = !roster.may_edit;
    place(block, shift, first, span);
    block.append(el("span", "who", shortName(shift)));
    if (shift.kind === "work") block.append(el("span", "what", shift.services.join(" › ")));
    block.append(el("span", "when", `${shift.start}–${shift.end}`));
    const label = i18n.t("block_label", { who: shift.display_name, counter: shift.counter ? counterName(shift.counter)
      : i18n.t("breaks_row"), start: shift.start, end: shift.end });
    block.title = label;
    block.setAttribute("aria-label", label);
    block.addEventListener("click", (event) => { event.stopPropagation(); openDialog(shift); });
    return block;
  }

  function track(shifts, first, span, counter) {
    const cell = el("div", "track");
    cell.setAttribute("role", "cell");
    for (const shift of shifts) cell.append(shiftBlock(shift, first, span));
    if (roster.may_edit) {
      cell.addEventListener("click", (event) => {
        const box = cell.getBoundingClientRect();
        const at = first + Math.floor(((event.clientX - box.left) / box.width) * span / 15) * 15;
        openDialog(null, { counter, kind: counter ? "work" : "break", start: at });
      });
    }
    return cell;
  }

  function row(label, className, cells) {
    const tr = el("div", `row ${className || ""}`.trim());
    tr.setAttribute("role", "row");
    const head = el("div", "label", label);
    head.setAttribute("role", "rowheader");
    tr.append(head, ...cells);
    return tr;
  }

  function drawGrid() {
    const grid = $("#grid");
    grid.replaceChildren();
    const hours = gridHours();
    if (!hours.length) return;
    const first = hours[0] * 60, span = hours.length * 60;
    grid.style.setProperty("--hours", String(hours.length));
    const headCells = hours.map((h) => {
      const cell = el("div", "hour", String(h).padStart(2, "0"));
      cell.setAttribute("role", "columnheader");
      if (adviceHour(h) && adviceHour(h).short) cell.classList.add("short");
      return cell;
    });
    grid.append(row("", "head", headCells));
    for (const counter of roster.counters) {
      const shifts = roster.shifts.filter((s) => s.kind === "work" && s.counter === counter.number);
      const label = `${i18n.pick(counter.name)} · ${counter.services.join(", ")}`;
      const line = row(label, "counter", [track(shifts, first, span, counter.number)]);
      line.dataset.counter = counter.number;
      grid.append(line);
    }
    grid.append(row(i18n.t("breaks_row"), "breaks", [track(roster.shifts.filter((s) => s.kind === "break"), first,
                                                           span, null)]));
    for (const [key, pick, className] of [["row_needed", (h) => h.needed, "needed"],
                                          ["row_rostered", (h) => h.planned, "rostered"],
                                          ["row_open", (h) => h.open, "open"]]) {
      const cells = hours.map((hour) => {
        const found = adviceHour(hour);
        const value = found ? pick(found) : null;
        const cell = el("div", `figure ${className}`, value === null || value === undefined ? i18n.t("open_none")
          : String(value));
        cell.setAttribute("role", "cell");
        cell.dataset.hour = hour;
        if (found && found.short && className !== "open") cell.classList.add("short");
        if (found && className === "open" && found.open_short) cell.classList.add("short");
        return cell;
      });
      grid.append(row(i18n.t(key), `advice ${className}`, cells));
    }
  }

  function drawList() {
    const list = $("#shift-list");
    list.replaceChildren();
    const shifts = roster ? roster.shifts : [];
    if (roster && !shifts.length && !roster.closed) list.append(el("li", "empty", i18n.t("no_shifts")));
    for (const shift of shifts) {
      const item = el("li", shift.kind);
      const button = el("button", "entry");
      button.type = "button";
      button.disabled = !roster.may_edit;
      button.dataset.id = shift.id;
      button.append(el("span", "when", `${shift.start}–${shift.end}`),
                    el("span", "where", shift.kind === "work" ? counterName(shift.counter) : i18n.t("kind_break")),
                    el("span", "who", shift.display_name));
      if (shift.kind === "work") button.append(el("span", "what", shift.services.map(serviceName).join(" › ")));
      button.addEventListener("click", () => openDialog(shift));
      item.append(button);
      list.append(item);
    }
    const body = $("#advice-list tbody");
    body.replaceChildren(...(advice ? advice.hours : []).map((hour) => {
      const tr = el("tr");
      tr.dataset.hour = hour.hour;
      if (hour.short) tr.classList.add("short");
      tr.append(el("td", "hour", hour.start), el("td", "num needed", String(hour.needed)),
                el("td", "num rostered", String(hour.planned)),
                el("td", "num open", hour.open === null ? i18n.t("open_none") : String(hour.open)));
      return tr;
    }));
  }

  function render() {
    const closed = !roster || roster.closed;
    $("#closed").hidden = !(roster && roster.closed);
    $("#add-shift").hidden = !(roster && roster.may_edit) || closed;
    $("#copy-card").hidden = !(roster && roster.may_edit) || closed;
    $("#source").textContent = advice ? i18n.t(`source_${advice.planned_source}`) : "";
    if (roster) {
      const people = new Set(roster.shifts.map((s) => s.username)).size;
      const shifts = roster.shifts.filter((s) => s.kind === "work").length;
      const text = roster.closed ? i18n.t("summary_closed", { date: roster.date })
        : i18n.t("summary", { date: roster.date, shifts, n: shifts, people, short: advice ? advice.short_hours : 0 });
      $("#summary").textContent = roster.may_edit ? text : `${text} ${i18n.t("read_only")}`;
    }
    drawGrid();
    drawList();
  }

  // --- the dialog ---------------------------------------------------------------------------------------------

  function quarterOptions(select, from, to, chosen) {
    select.replaceChildren();
    for (let m = from; m <= to; m += PAGE.quarter) {
      const option = el("option", null, clock(m));
      option.value = clock(m);
      select.append(option);
    }
    select.value = clock(Math.min(Math.max(chosen, from), to));
  }

  function serviceChoices(counterNumber, chosen) {
    const list = $("#service-choices");
    list.replaceChildren();
    const counter = counterOf(counterNumber);
    if (!counter) return;
    const order = [...chosen.filter((c) => counter.services.includes(c)),
                   ...counter.services.filter((c) => !chosen.includes(c))];
    for (const code of order) {
      const item = el("li");
      const label = el("label");
      const box = el("input");
      box.type = "checkbox";
      box.value = code;
      box.checked = chosen.includes(code);
      label.append(box, el("span", null, serviceName(code)));
      const up = el("button", "ghost up", "↑");
      up.type = "button";
      up.setAttribute("aria-label", i18n.t("move_up"));
      up.addEventListener("click", () => { if (item.previousElementSibling) list.insertBefore(item, item.previousElementSibling); });
      item.append(label, up);
      list.append(item);
    }
  }

  function showKind() {
    const work = shiftForm.elements.kind.value === "work";
    shiftForm.querySelectorAll(".work-only").forEach((node) => { node.hidden = !work; });
  }

  function openDialog(shift, preset) {
    if (!roster || !roster.may_edit) return;
    editing = shift;
    const values = shift || { kind: "work", username: roster.people.length ? roster.people[0].username : "",
                              counter: (preset && preset.counter) || (roster.counters[0] || {}).number,
                              services: null, start: null, end: null, ...(preset || {}) };
    if (!shift && preset && preset.kind) values.kind = preset.kind;
    $("#shift-title").textContent = i18n.t(shift ? "edit_shift" : "add_shift");
    $("#shift-error").textContent = "";
    $("#delete-shift").hidden = !shift;
    shiftForm.elements.kind.value = values.kind;
    const people = shiftForm.elements.username;
    people.replaceChildren(...roster.people.map((p) => { const o = el("option", null, p.display_name); o.value = p.username; return o; }));
    people.value = values.username;
    const counters = shiftForm.elements.counter;
    counters.replaceChildren(...roster.counters.map((c) => { const o = el("option", null, `${i18n.pick(c.name)} (${c.services.join(", ")})`); o.value = c.number; return o; }));
    counters.value = values.counter || roster.counters[0].number;
    const counter = counterOf(counters.value);
    serviceChoices(counters.value, values.services || (counter ? counter.services : []));
    const start = typeof values.start === "number" ? values.start : values.start ? minutesOf(values.start) : roster.window.start;
    const end = values.end ? minutesOf(values.end) : Math.min(start + 60, roster.window.end);
    quarterOptions(shiftForm.elements.start, roster.window.start, roster.window.end - PAGE.quarter, start);
    quarterOptions(shiftForm.elements.end, roster.window.start + PAGE.quarter, roster.window.end, end);
    showKind();
    dialog.showModal();
  }

  function problem(error) {
    if (!(error instanceof API.Error) || error.status === 0) return i18n.t("offline");
    const field = error.details && error.details.field;
    if (error.code === "shift_clash") return i18n.t(field === "counter" ? "clash_counter" : "clash_person");
    if (["bad_shift", "branch_closed"].includes(error.code) && field) return i18n.t(`err_${field}`);
    if (["empty_roster", "unknown_shift", "date_too_early", "date_too_far", "bad_query"].includes(error.code)) {
      return i18n.t(error.code);
    }
    if (error.code === "invalid_request") return i18n.t("invalid_request", { message: error.message });
    return i18n.t("failed", { message: error.message });
  }

  async function saveShift(event) {
    event.preventDefault();
    const f = shiftForm.elements;
    const work = f.kind.value === "work";
    const services = Array.from($("#service-choices").querySelectorAll("input:checked"), (box) => box.value);
    if (work && !services.length) { $("#shift-error").textContent = i18n.t("no_services"); return; }
    const body = { kind: f.kind.value, username: f.username.value, start: f.start.value, end: f.end.value,
                   counter: work ? f.counter.value : null, services: work ? services : [] };
    try {
      if (editing) await API.put(`${PAGE.api}/shifts/${editing.id}`, body);
      else await API.post(`${PAGE.api}/shifts`, { ...body, date: roster.date });
    } catch (error) {
      if (error instanceof API.Error && error.status === 401) { dialog.close(); return showSignedOut("signed_out"); }
      $("#shift-error").textContent = problem(error);
      return;
    }
    dialog.close();
    await load();
  }

  async function deleteShift() {
    if (!editing || !window.confirm(i18n.t("confirm_delete"))) return;
    try {
      await API.delete(`${PAGE.api}/shifts/${editing.id}`);
    } catch (error) {
      $("#shift-error").textContent = problem(error);
      return;
    }
    dialog.close();
    await load();
  }

  async function copyDay(event) {
    event.preventDefault();
    const f = $("#copy-form").elements;
    $("#copy-error").textContent = "";
    $("#copy-result").textContent = "";
    const body = { date: roster.date, weeks: Number(f.weeks.value || 0), days: f.day.value ? [f.day.value] : [] };
    try {
      const done = await API.post(`${PAGE.api}/copy`, body);
      let text = done.copied.length ? i18n.t("copied", { days: done.copied.join(", ") }) : i18n.t("copied_none");
      if (done.skipped_closed.length) text += i18n.t("skipped", { days: done.skipped_closed.join(", ") });
      $("#copy-result").textContent = text;
    } catch (error) {
      $("#copy-error").textContent = problem(error);
    }
  }

  // --- loading ------------------------------------------------------------------------------------------------

  function showSignedOut(why) {
    $("#roster-board").hidden = true;
    $("#signed-out").hidden = false;
    $("#signed-out-why").textContent = i18n.t(why);
  }

  async function load() {
    $("#day-error").textContent = "";
    const day = form.elements.date.value;
    if (!day) { $("#day-error").textContent = i18n.t("bad_query"); return; }
    try {
      const asked = `?date=${encodeURIComponent(day)}`;
      [roster, advice] = await Promise.all([API.get(PAGE.api + asked), API.get(PAGE.advice_api + asked)]);
      const url = new URL(window.location.href);
      url.searchParams.set("date", day);
      window.history.replaceState(null, "", url);
    } catch (error) {
      if (error instanceof API.Error && error.status === 401) return showSignedOut("signed_out");
      if (error instanceof API.Error && error.status === 403) return showSignedOut("not_allowed");
      roster = null;
      advice = null;
      $("#summary").textContent = "";
      $("#day-error").textContent = problem(error);
    }
    render();
  }

  function applyLanguage() {
    i18n.apply(document);
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    const lang = "?lang=" + i18n.language;
    $("#back").href = PAGE.manager_page + lang;
    $("#sign-in-link").href = PAGE.manager_page + lang;
    $("#staffing-back").href = `${PAGE.staffing_page}${lang}&date=${form.elements.date.value}`;
    if (dialog.open && roster) {
      $("#shift-title").textContent = i18n.t(editing ? "edit_shift" : "add_shift");
      const chosen = Array.from($("#service-choices").querySelectorAll("input"), (b) => [b.value, b.checked]);
      const counter = shiftForm.elements.counter;
      const picked = counter.value;
      counter.querySelectorAll("option").forEach((o) => { const c = counterOf(o.value); o.textContent = `${i18n.pick(c.name)} (${c.services.join(", ")})`; });
      counter.value = picked;
      serviceChoices(picked, chosen.filter(([, on]) => on).map(([code]) => code));
    }
    render();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  form.elements.date.addEventListener("change", () => { applyLanguage(); load(); });
  for (const [id, days] of [["#prev-day", -1], ["#next-day", 1]]) {
    $(id).addEventListener("click", () => {
      form.elements.date.value = shiftDay(form.elements.date.value, days);
      applyLanguage();
      load();
    });
  }
  $("#add-shift").addEventListener("click", () => openDialog(null));
  shiftForm.addEventListener("submit", saveShift);
  shiftForm.elements.counter.addEventListener("change", () => {
    const counter = counterOf(shiftForm.elements.counter.value);
    serviceChoices(counter.number, counter.services);
  });
  shiftForm.querySelectorAll("input[name=kind]").forEach((r) => r.addEventListener("change", showKind));
  $("#cancel-shift").addEventListener("click", () => dialog.close());
  $("#delete-shift").addEventListener("click", deleteShift);
  $("#copy-form").addEventListener("submit", copyDay);
  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    applyLanguage();
  });

  function start() {
    document.documentElement.dataset.live = "static"; // no live connection here: nothing to reconnect
    const today = localToday();
    const input = form.elements.date;
    input.min = shiftDay(today, -PAGE.days_back);
    input.max = shiftDay(today, PAGE.days_ahead);
    input.value = new URLSearchParams(window.location.search).get("date") || today;
    applyLanguage();
    $("#roster-board").hidden = false;
    load();
  }
  start();
})();
