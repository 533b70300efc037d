/* The what-if page: a closed day, changes of its counters, then what happened, the replay as it was and the replay
   with the changes, side by side (the day's totals, a chart in inline SVG, per hour and per service).
   Shows what the server computes (server/services/what_if.py, server/domain/replay.py): no rule lives here. */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("what-if-config").textContent);
  const API = window.HallApi;
  const SVG = "http://www.w3.org/2000/svg";
  const RUNS = ["actual", "replay", "what_if"];
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "假设推演", back: "返回值班经理", staffing: "排班建议", sign_in_first: "请先以经理身份登录",
      go_sign_in: "前往值班经理页面登录", signed_out: "尚未登录，或登录已过期。",
      not_allowed: "假设推演只对本网点的经理、管理员和所属区域的查看账号开放。",
      day: "已结束的营业日", no_days: "还没有已结束的营业日", day_option: "{day}（{n} 张号）",
      changes: "改动", no_changes: "未加改动：只对照实际与模型重放", kind: "改动",
      kind_add_counter: "加开一个窗口", kind_add_service: "窗口加办一项业务", kind_close_counter: "关闭一个窗口",
      counter: "窗口", service: "业务", from: "从", to: "到", services: "办理业务", add_change: "加入改动",
      remove: "删除", run: "推演", running: "推演中…",
      change_add_counter: "{start}–{end} 加开一个窗口，办理 {services}",
      change_add_service: "{start}–{end} {counter} 也办理 {service}",
      change_close_counter: "{start}–{end} 关闭 {counter}",
      pick_services: "请至少选择一项业务", too_many_changes: "最多 {n} 项改动", bad_time: "请填写开始和结束时间",
      totals: "全天合计", chart: "每小时平均等候与服务水平", chart_wait: "平均等候（分钟）",
      chart_level: "服务水平（目标内叫号占比）", chart_label: "{date} 每小时平均等候与服务水平：实际、模型重放、改动后",
      run_actual: "实际", run_replay: "模型重放", run_what_if: "改动后",
      by_hour: "按小时（取号时间）", by_service: "按业务", col_run: "结果", col_wait: "平均等候", col_p80: "80% 等候",
      col_p90: "90% 等候", col_level: "服务水平", col_walk_outs: "流失", col_left_over: "未叫到", col_hour: "时段",
      col_arrivals: "取号", col_service: "业务", minutes: "{n} 分", none: "—",
      day_counters: "当天的窗口（签到、暂停、签退）", shift: "{counter}：{start}–{end}，{services}",
      added_counter: "加开窗口 {n}",
      summary: "{date}：{n} 张号。平均等候 实际 {actual}，重放 {replay}，改动后 {what_if}；服务水平 {level_actual} → {level_what_if}。用时 {ms} 毫秒。",
      offline: "无法连接服务器，请稍后重试", failed: "推演失败：{message}",
      no_tickets: "这一天没有取号记录", day_not_closed: "这一天还没有结束，只能推演已结束的营业日",
      what_if_busy: "服务器正在进行另一次推演，请稍后再试", bad_field: "{field}：{message}",
      method: "用当天真实的取号、办理时长和窗口开关重放一天，叫号规则与系统相同；办理时长未知的顾客按当天同业务的办理时长抽样；取消的顾客等到取消时为止，过号的顾客按等候一半时离开。先看“模型重放”与“实际”是否接近，再看改动的效果。",
    },
    en: {
      title: "What-if", back: "Back to the manager page", staffing: "Staffing advice",
      sign_in_first: "Sign in as a manager first", go_sign_in: "Sign in on the manager page",
      signed_out: "Not signed in, or the session has ended.",
      not_allowed: "What-if is open to this branch's managers, administrators and its region's readers.",
      day: "A closed day", no_days: "No closed day yet",
      day_option: { one: "{day} ({n} ticket)", other: "{day} ({n} tickets)" },
      changes: "Changes", no_changes: "No change yet: actual against the replay only", kind: "Change",
      kind_add_counter: "Open one more counter", kind_add_service: "A counter also serves a service",
      kind_close_counter: "Close a counter", counter: "Counter", service: "Service", from: "From", to: "To",
      services: "Services", add_change: "Add the change", remove: "Remove", run: "Run", running: "Running…",
      change_add_counter: "{start}–{end} one more counter serving {services}",
      change_add_service: "{start}–{end} {counter} also serves {service}",
      change_close_counter: "{start}–{end} {counter} closed",
      pick_services: "Choose at least one service", too_many_changes: "At most {n} changes",
      bad_time: "Fill in the start and end times",
      totals: "The day's totals", chart: "Mean wait and service level per hour", chart_wait: "Mean wait (min)",
      chart_level: "Service level (share called within target)",
      chart_label: "Mean wait and service level per hour on {date}: actual, replay, with the changes",
      run_actual: "Actual", run_replay: "Replay", run_what_if: "With the changes",
      by_hour: "By hour (of the ticket)", by_service: "By service", col_run: "Run", col_wait: "Mean wait",
      col_p80: "80% wait", col_p90: "90% wait", col_level: "Service level", col_walk_outs: "Walk-outs",
      col_left_over: "Never called", col_hour: "Hour", col_arrivals: "Tickets", col_service: "Service",
      minutes: "{n} min", none: "—",
      day_counters: "The day's counters (sign-ins, pauses, sign-outs)", shift: "{counter}: {start}–{end}, {services}",
      added_counter: "added counter {n}",
      summary: "{date}: {n} tickets. Mean wait actual {actual}, replay {replay}, with the changes {what_if}; service level {level_actual} → {level_what_if}. Took {ms} ms.",
      offline: "The server cannot be reached: try again in a moment", failed: "The replay failed: {message}",
      no_tickets: "No tickets were taken that day", day_not_closed: "That day has not ended: only closed days replay",
      what_if_busy: "The server is running another what-if: try again in a moment", bad_field: "{field}: {message}",
      method: "The day is replayed with its real tickets, service times and counters (open, paused, closed), calling by the hall's own policy; a customer with no service time of their own takes one drawn from the day's times of that service; one who cancelled waits until they did, one not there when called leaves at half their wait. First see how close the replay comes to what happened, then what the changes do.",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  const form = $("#run-form");
  const changeForm = $("#change-form");
  const changes = [];
  let result = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    return node;
  }

  const number = (value) => (Math.round(value * 10) / 10).toLocaleString(i18n.language);
  const minutes = (value) => (value === null || value === undefined ? i18n.t("none") : i18n.t("minutes", { n: number(value) }));
  const percent = (value) => (value === null || value === undefined ? i18n.t("none") : `${Math.round(value * 100)}%`);
  const serviceName = (code) => {
    const found = PAGE.services.find((s) => s.code === code);
    return found ? i18n.pick(found.name) : code;
  };
  const counterName = (number_) => {
    const found = PAGE.counters.find((c) => c.number === number_);
    if (found) return i18n.pick(found.name);
    return number_.startsWith("+") ? i18n.t("added_counter", { n: number_.slice(1) }) : number_;
  };

  function localDay(offsetDays) {
    const d = new Date(Date.now() + offsetDays * 86400000);
    return new Intl.DateTimeFormat("en-CA", { timeZone: PAGE.branch.timezone, year: "numeric", month: "2-digit",
      day: "2-digit" }).format(d);
  }

  // --- the form -------------------------------------------------------------------------------------------------

  function fillChoices() {
    const counter = changeForm.querySelector("select[name=counter]");
    const service = changeForm.querySelector("select[name=service]");
    const keepCounter = counter.value, keepService = service.value;
    counter.replaceChildren(...PAGE.counters.map((c) => {
      const option = el("option", null, i18n.pick(c.name));
      option.value = c.number;
      return option;
    }));
    service.replaceChildren(...PAGE.services.map((s) => {
      const option = el("option", null, i18n.pick(s.name));
      option.value = s.code;
      return option;
    }));
    if (keepCounter) counter.value = keepCounter;
    if (keepService) service.value = keepService;
    const boxes = $("#service-boxes");
    const checked = new Set(Array.from(boxes.querySelectorAll("input:checked"), (box) => box.value));
    const first = !boxes.children.length;
    boxes.replaceChildren(...PAGE.services.map((s, index) => {
      const label = el("label", "check");
      const box = el("input");
      box.type = "checkbox";
      box.name = "services";
      box.value = s.code;
      box.checked = first ? index === 0 : checked.has(s.code);
      label.append(box, el("span", null, i18n.pick(s.name)));
      return label;
    }));
  }

  function showKindFields() {
    const kind = changeForm.querySelector("select[name=kind]").value;
    for (const field of changeForm.querySelectorAll("[data-for]")) {
      field.hidden = !field.dataset.for.split(" ").includes(kind);
    }
  }

  function describe(change) {
    const when = { start: change.start, end: change.end };
    if (change.kind === "add_counter") {
      return i18n.t("change_add_counter", { ...when, services: change.services.map(serviceName).join("、") });
    }
    if (change.kind === "add_service") {
      return i18n.t("change_add_service", { ...when, counter: counterName(change.counter),
                                            service: serviceName(change.service) });
    }
    return i18n.t("change_close_counter", { ...when, counter: counterName(change.counter) });
  }

  function drawChanges() {
    $("#changes").replaceChildren(...changes.map((change, index) => {
      const item = el("li", "change");
      item.append(el("span", "what", describe(change)));
      const remove = el("button", "ghost small remove", i18n.t("remove"));
      remove.type = "button";
      remove.addEventListener("click", () => { changes.splice(index, 1); drawChanges(); });
      item.append(remove);
      return item;
    }));
    $("#no-changes").hidden = changes.length > 0;
  }

  function addChange() {
    $("#run-error").textContent = "";
    const get = (name) => changeForm.querySelector(`[name=${name}]`).value;
    const kind = get("kind");
    const change = { kind, start: get("start"), end: get("end") };
    if (!change.start || !change.end) { $("#run-error").textContent = i18n.t("bad_time"); return; }
    if (changes.length >= PAGE.max_changes) {
      $("#run-error").textContent = i18n.t("too_many_changes", { n: PAGE.max_changes });
      return;
    }
    if (kind === "add_counter") {
      change.services = Array.from(changeForm.querySelectorAll("input[name=services]:checked"), (box) => box.value);
      if (!change.services.length) { $("#run-error").textContent = i18n.t("pick_services"); return; }
    } else {
      change.counter = get("counter");
      if (kind === "add_service") change.service = get("service");
    }
    changes.push(change);
    drawChanges();
  }

  async function loadDays() {
    const select = form.elements.day;
    try {
      const answer = await API.get(`${PAGE.days_api}?from=${localDay(-120)}&to=${localDay(-1)}`);
      const wanted = new URLSearchParams(window.location.search).get("day");
      select.replaceChildren(...answer.days.map((d) => {
        const n = d.services.reduce((sum, s) => sum + s.issued, 0);
        const option = el("option", null, i18n.t("day_option", { day: d.day, n }));
        option.value = d.day;
        option.dataset.n = String(n);
        return option;
      }));
      if (wanted && answer.days.some((d) => d.day === wanted)) select.value = wanted;
      $("#no-days").hidden = answer.days.length > 0;
      return true;
    } catch (error) {
      if (error instanceof API.Error && error.status === 401) { showSignedOut("signed_out"); return false; }
      if (error instanceof API.Error && error.status === 403) { showSignedOut("not_allowed"); return false; }
      $("#run-error").textContent = problem(error);
      return true;
    }
  }

  function relabelDays() {
    for (const option of form.elements.day.options) {
      option.textContent = i18n.t("day_option", { day: option.value, n: Number(option.dataset.n) });
    }
  }

  // --- the answer -------------------------------------------------------------------------------------------------

  function runLabel(run) { return i18n.t(`run_${run}`); }

  function totalsRow(run) {
    const t = result.runs[run].totals;
    const tr = el("tr", `run-${run}`);
    const name = el("th", "run");
    name.append(el("span", `key ${run}`), el("span", null, runLabel(run)));
    tr.append(name, el("td", "num wait", minutes(t.wait_mean_min)), el("td", "num", minutes(t.wait_p80_min)),
              el("td", "num", minutes(t.wait_p90_min)), el("td", "num level", percent(t.service_level)),
              el("td", "num", String(t.walk_outs)), el("td", "num", String(t.left_over)));
    return tr;
  }

  /** A cell with the three runs' values, one line each, keyed by colour. */
  function triple(className, values) {
    const td = el("td", `num triple ${className}`);
    RUNS.forEach((run, index) => {
      const line = el("span", `line ${run}`);
      line.title = runLabel(run);
      line.append(el("span", `key ${run}`), el("span", "value", values[index]));
      td.append(line);
    });
    return td;
  }

  function compareRow(label, pick, key) {
    const rows = RUNS.map((run) => pick(result.runs[run]));
    const tr = el("tr");
    tr.dataset.key = key;
    tr.append(el("th", "what", label), el("td", "num", String(rows[0] ? rows[0].issued : 0)));
    tr.append(triple("wait", rows.map((r) => minutes(r && r.wait_mean_min))));
    tr.append(triple("p90", rows.map((r) => minutes(r && r.wait_p90_min))));
    tr.append(triple("level", rows.map((r) => percent(r && r.service_level))));
    tr.append(triple("walk-outs", rows.map((r) => String(r ? r.walk_outs : 0))));
    return tr;
  }

  /** Two panels over the hours: grouped bars of the mean wait, then of the service level, for the three runs. */
  function drawChart() {
    const box = $("#chart");
    box.replaceChildren();
    const hours = result.runs.actual.hours.map((h) => h.hour);
    box.setAttribute("aria-label", i18n.t("chart_label", { date: result.date }));
    // a narrow screen gets a narrower drawing, so that its text stays legible when scaled to the width
    const width = box.clientWidth && box.clientWidth < 560 ? 420 : 760;
    const panel = 150, gap = 34, left = 40, right = 10, top = 22;
    const height = top + panel + gap + panel + 26;
    const plotW = width - left - right;
    const step = plotW / Math.max(1, hours.length);
    const byHour = (run, hour) => result.runs[run].hours.find((h) => h.hour === hour) || {};
    const maxWait = Math.max(1, ...RUNS.flatMap((run) => hours.map((h) => byHour(run, h).wait_mean_min || 0)));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "bars", preserveAspectRatio: "xMidYMid meet" });
    const panels = [
      { title: i18n.t("chart_wait"), y0: top, max: maxWait, value: (r) => r.wait_mean_min, tick: number(maxWait) },
      { title: i18n.t("chart_level"), y0: top + panel + gap, max: 1, value: (r) => r.service_level, tick: "100%" },
    ];
    for (const p of panels) {
      const heading = svg("text", { x: left, y: p.y0 - 8, class: "panel-title" });
      heading.textContent = p.title;
      chart.append(heading, svg("line", { x1: left, x2: width - right, y1: p.y0 + panel, y2: p.y0 + panel, class: "axis" }));
      const tick = svg("text", { x: left - 4, y: p.y0 + 10, "text-anchor": "end", class: "tick" });
      tick.textContent = p.tick;
      chart.append(tick);
      hours.forEach((hour, index) => {
        RUNS.forEach((run, k) => {
          const value = p.value(byHour(run, hour));
          if (value === null || value === undefined) return;
          const h = (value / p.max) * panel;
          const bar = svg("rect", { x: left + index * step + step * (0.12 + k * 0.26), y: p.y0 + panel - h,
            width: step * 0.24, height: Math.max(0, h), class: `bar ${run}` });
          const title = svg("title", {});
          title.textContent = `${String(hour).padStart(2, "0")}:00 · ${runLabel(run)} · ${p.max === 1 ? percent(value) : minutes(value)}`;
          bar.append(title);
          chart.append(bar);
        });
      });
    }
    hours.forEach((hour, index) => {
      if (index % (hours.length > 12 ? 2 : 1) !== 0) return;
      const label = svg("text", { x: left + index * step + step / 2, y: height - 8, "text-anchor": "middle", class: "tick" });
      label.textContent = String(hour);
      chart.append(label);
    });
    box.append(chart);
  }

  function render() {
    const shown = result !== null;
    for (const id of ["#totals-card", "#chart-card", "#hours-card", "#services-card", "#counters-card"]) {
      $(id).hidden = !shown;
    }
    if (!shown) return;
    $("#totals tbody").replaceChildren(...RUNS.map(totalsRow));
    const hourOf = (run, hour) => run.hours.find((h) => h.hour === hour);
    $("#hours tbody").replaceChildren(...result.runs.actual.hours.map((h) => compareRow(
      `${String(h.hour).padStart(2, "0")}:00`, (run) => hourOf(run, h.hour), String(h.hour))));
    const serviceOf = (run, code) => run.services.find((s) => s.code === code);
    $("#services tbody").replaceChildren(...result.runs.actual.services.map((s) => compareRow(
      serviceName(s.code), (run) => serviceOf(run, s.code), s.code)));
    $("#shifts").replaceChildren(...result.counters.map((s) => el("li", null, i18n.t("shift", {
      counter: counterName(s.counter), start: s.start, end: s.end, services: s.services.map(serviceName).join("、") }))));
    drawChart();
    const t = (run) => result.runs[run].totals;
    $("#summary").textContent = i18n.t("summary", { date: result.date, n: t("actual").issued,
      actual: minutes(t("actual").wait_mean_min), replay: minutes(t("replay").wait_mean_min),
      what_if: minutes(t("what_if").wait_mean_min), level_actual: percent(t("actual").service_level),
      level_what_if: percent(t("what_if").service_level), ms: number(result.total_ms) });
  }

  function showSignedOut(why) {
    $("#what-if-board").hidden = true;
    $("#signed-out").hidden = false;
    $("#signed-out-why").textContent = i18n.t(why);
  }

  function problem(error) {
    if (!(error instanceof API.Error) || error.status === 0) return i18n.t("offline");
    if (["no_tickets", "day_not_closed", "what_if_busy"].includes(error.code)) return i18n.t(error.code);
    const details = error.details || {};
    if (details.parameter) return i18n.t("bad_field", { field: details.parameter, message: error.message });
    return i18n.t("failed", { message: error.message });
  }

  async function run() {
    $("#run-error").textContent = "";
    const day = form.elements.day.value;
    if (!day) { $("#run-error").textContent = i18n.t("no_days"); return; }
    const button = $("#run");
    button.disabled = true;
    button.textContent = i18n.t("running");
    try {
      result = await API.post(PAGE.api, { day, changes });
      const url = new URL(window.location.href);
      url.searchParams.set("day", day);
      window.history.replaceState(null, "", url);
    } catch (error) {
      if (error instanceof API.Error && error.status === 401) return showSignedOut("signed_out");
      if (error instanceof API.Error && error.status === 403) return showSignedOut("not_allowed");
      result = null;
      $("#summary").textContent = "";
      $("#run-error").textContent = problem(error);
    } finally {
      button.disabled = false;
      button.textContent = i18n.t("run");
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
    $("#staffing-link").href = PAGE.staffing_page + lang;
    fillChoices();
    relabelDays();
    drawChanges();
    render();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
  $("#add-change").addEventListener("click", addChange);
  changeForm.querySelector("select[name=kind]").addEventListener("change", showKindFields);
  let narrow = window.innerWidth < 560;
  window.addEventListener("resize", () => {
    if ((window.innerWidth < 560) !== narrow && result) { narrow = !narrow; drawChart(); }
  });
  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    applyLanguage();
  });

  async function start() {
    document.documentElement.dataset.live = "static"; // no live connection here: nothing to reconnect
    applyLanguage();
    showKindFields();
    if (await loadDays()) $("#what-if-board").hidden = false;
  }
  start();
})();
