/* The staffing advice page: a day, then per opening hour the forecast arrivals (with an 80% range), the counters
   needed, planned and open, short hours marked; per service the day's figures; a bar chart in inline SVG.
   Shows what the server computes (server/services/staffing.py): no rule lives here. */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("staffing-config").textContent);
  const API = window.HallApi;
  const SVG = "http://www.w3.org/2000/svg";
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "排班建议", back: "返回值班经理", sign_in_first: "请先以经理身份登录", go_sign_in: "前往值班经理页面登录",
      not_allowed: "排班建议只对本网点的经理、管理员和所属区域的查看账号开放。", signed_out: "尚未登录，或登录已过期。",
      day: "日期", show: "查看", print: "打印", chart: "每小时预计到达与窗口",
      legend_arrivals: "预计到达（含 80% 区间）", legend_needed: "需要窗口", legend_planned: "计划窗口",
      by_hour: "按小时", by_service: "按业务", col_hour: "时段", col_arrivals: "预计到达", col_range: "80% 区间",
      col_needed: "需要", col_planned: "计划", col_open: "已开", col_note: "提示", closed: "当天不营业",
      col_service: "业务", col_day_arrivals: "全天预计", col_service_min: "办理时长", col_target: "目标等候",
      col_peak: "高峰需要", col_patience: "耐心",
      short: "窗口不足", short_for: "窗口不足：{services} 需要 {needed} 个，可办理的只有 {eligible} 个",
      open_short: "已开窗口不足", ok: "—", none: "—", minutes: "{n} 分钟", history: "历史",
      configured: "设定值", summary: "{date}：预计到达 {n} 人，{short} 个小时窗口不足。依据 {days} 个历史日。",
      summary_closed: "{date}：当天不营业。", offline: "无法连接服务器，请稍后重试",
      failed: "读取失败：{message}", date_too_early: "日期不能早于一年前", date_too_far: "日期不能晚于 60 天后",
      bad_query: "请选择日期", method: "按过去 8 周同一星期几的到达预测（近期权重更高，含趋势；节假日不计）；需要的窗口数按 Erlang C / A 计算，使 80% 的顾客在目标等候时间内被叫号。",
      chart_label: "{date} 每小时预计到达与窗口数", roster: "排班表",
      source_roster: "“计划”来自当天的排班表。", source_configured: "当天没有排班：“计划”按全部已设窗口计算。",
    },
    en: {
      title: "Staffing advice", back: "Back to the manager page", sign_in_first: "Sign in as a manager first",
      go_sign_in: "Sign in on the manager page",
      not_allowed: "Staffing advice is open to this branch's managers, administrators and its region's readers.",
      signed_out: "Not signed in, or the session has ended.",
      day: "Day", show: "Show", print: "Print", chart: "Arrivals forecast and counters per hour",
      legend_arrivals: "Forecast arrivals (80% range)", legend_needed: "Counters needed",
      legend_planned: "Counters planned",
      by_hour: "By hour", by_service: "By service", col_hour: "Hour", col_arrivals: "Arrivals", col_range: "80% range",
      col_needed: "Needed", col_planned: "Planned", col_open: "Open", col_note: "Note", closed: "Closed that day",
      col_service: "Service", col_day_arrivals: "Day's arrivals", col_service_min: "Service time",
      col_target: "Target wait", col_peak: "Peak need", col_patience: "Patience",
      short: "Short of counters",
      short_for: "Short: {services} need {needed}, only {eligible} serve them",
      open_short: "Too few open", ok: "—", none: "—", minutes: "{n} min", history: "history",
      configured: "configured",
      summary: { one: "{date}: {n} arrivals forecast; {short} hour(s) short of counters. From {days} past day.",
                 other: "{date}: {n} arrivals forecast; {short} hour(s) short of counters. From {days} past days." },
      summary_closed: "{date}: closed.", offline: "The server cannot be reached: try again in a moment",
      failed: "Could not read the advice: {message}", date_too_early: "The day must be at most a year back",
      date_too_far: "The day must be at most 60 days ahead", bad_query: "Choose a day",
      method: "Forecast from the same weekday over the last 8 weeks (recent weeks weigh more, with a trend; holidays left out); counters needed by Erlang C / A so that 80% of customers are called within their service's target wait.",
      chart_label: "Arrivals forecast and counters per hour on {date}", roster: "Roster",
      source_roster: "\u201cPlanned\u201d comes from the day's roster.",
      source_configured: "No roster that day: \u201cplanned\u201d counts every configured counter.",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  const form = $("#day-form");
  let advice = null;

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
  const serviceName = (code) => {
    const found = advice && advice.services.find((s) => s.code === code);
    return found ? i18n.pick(found.name) : code;
  };

  function localToday() {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: PAGE.branch.timezone, year: "numeric",
      month: "2-digit", day: "2-digit" }).format(new Date());
    return parts; // en-CA writes YYYY-MM-DD
  }

  function shift(day, days) {
    const d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  function notes(hour) {
    const out = [];
    for (const pool of hour.pools) {
      for (const gap of pool.shortfalls) {
        out.push(i18n.t("short_for", { services: gap.services.map(serviceName).join(" + "), needed: gap.needed,
                                       eligible: gap.eligible }));
      }
    }
    if (hour.open_short) out.push(i18n.t("open_short"));
    return out;
  }

  function hourRow(hour) {
    const tr = el("tr");
    if (hour.short) tr.classList.add("short");
    if (hour.open_short) tr.classList.add("open-short");
    tr.dataset.hour = hour.hour;
    const when = el("td", "hour");
    when.append(el("span", "start", hour.start), el("span", "end", `–${String(hour.hour + 1).padStart(2, "0")}:00`));
    tr.append(when);
    tr.append(el("td", "num", number(hour.arrivals)));
    tr.append(el("td", "num range", `${number(hour.low)}–${number(hour.high)}`));
    tr.append(el("td", "num needed", String(hour.needed)));
    tr.append(el("td", "num planned", String(hour.planned)));
    tr.append(el("td", "num open", hour.open === null ? i18n.t("none") : String(hour.open)));
    const note = el("td", "note");
    const lines = notes(hour);
    if (hour.short) note.append(el("strong", "flag", i18n.t("short")));
    for (const line of lines) note.append(el("span", "line", line));
    if (!lines.length && !hour.short) note.textContent = i18n.t("ok");
    tr.append(note);
    if (!lines.length) return [tr];
    // on a phone the note goes under its hour, the whole width (staffing.css shows one or the other)
    const below = el("tr", "note-row" + (hour.short ? " short" : ""));
    const cell = el("td", "note");
    cell.colSpan = 6;
    cell.append(...Array.from(note.childNodes, (node) => node.cloneNode(true)));
    below.append(cell);
    return [tr, below];
  }

  function serviceRow(service) {
    const tr = el("tr");
    const peak = Math.max(0, ...advice.hours.map((h) => {
      const row = h.services.find((s) => s.code === service.code);
      return row ? row.needed : 0;
    }));
    tr.append(el("td", "service", i18n.pick(service.name)));
    tr.append(el("td", "num", `${number(service.arrivals)} (${number(service.low)}–${number(service.high)})`));
    tr.append(el("td", "num", `${i18n.t("minutes", { n: number(service.service_min) })} · ${i18n.t(service.service_min_source)}`));
    tr.append(el("td", "num", i18n.t("minutes", { n: number(service.target_wait_min) })));
    tr.append(el("td", "num", String(peak)));
    tr.append(el("td", "num", service.patience_min === null ? i18n.t("none")
      : i18n.t("minutes", { n: number(service.patience_min) })));
    return tr;
  }

  /** Bars of forecast arrivals with their range, and steps of counters needed and planned (right-hand scale). */
  function drawChart() {
    const box = $("#chart");
    box.replaceChildren();
    if (!advice || !advice.hours.length) { $("#chart-card").hidden = true; return; }
    $("#chart-card").hidden = false;
    box.setAttribute("aria-label", i18n.t("chart_label", { date: advice.date }));
    const hours = advice.hours;
    const width = 760, height = 260, left = 36, right = 36, top = 12, bottom = 28;
    const plotW = width - left - right, plotH = height - top - bottom;
    const maxArrivals = Math.max(1, ...hours.map((h) => h.high));
    const maxCounters = Math.max(1, ...hours.map((h) => Math.max(h.needed, h.planned)));
    const step = plotW / hours.length;
    const y = (value) => top + plotH - (value / maxArrivals) * plotH;
    const yc = (value) => top + plotH - (value / maxCounters) * plotH;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "bars", preserveAspectRatio: "xMidYMid meet" });
    chart.append(svg("line", { x1: left, x2: width - right, y1: top + plotH, y2: top + plotH, class: "axis" }));
    for (const [value, x, anchor] of [[maxArrivals, left - 4, "end"], [maxCounters, width - right + 4, "start"]]) {
      const label = svg("text", { x, y: top + 10, "text-anchor": anchor, class: "tick" });
      label.textContent = String(Math.round(value));
      chart.append(label);
    }
    hours.forEach((hour, index) => {
      const x = left + index * step;
      const bar = svg("rect", { x: x + step * 0.18, y: y(hour.arrivals), width: step * 0.64,
        height: Math.max(0, top + plotH - y(hour.arrivals)), class: hour.short ? "arrivals short" : "arrivals" });
      const title = svg("title", {});
      title.textContent = `${hour.start} · ${number(hour.arrivals)} (${number(hour.low)}–${number(hour.high)})`;
      bar.append(title);
      chart.append(bar);
      chart.append(svg("line", { x1: x + step / 2, x2: x + step / 2, y1: y(hour.low), y2: y(hour.high), class: "range" }));
      chart.append(svg("line", { x1: x + step * 0.1, x2: x + step * 0.9, y1: yc(hour.needed), y2: yc(hour.needed),
        class: "needed" }));
      chart.append(svg("line", { x1: x + step * 0.1, x2: x + step * 0.9, y1: yc(hour.planned), y2: yc(hour.planned),
        class: "planned" }));
      if (index % (hours.length > 12 ? 2 : 1) === 0) {
        const label = svg("text", { x: x + step / 2, y: height - 8, "text-anchor": "middle", class: "tick" });
        label.textContent = String(hour.hour);
        chart.append(label);
      }
    });
    box.append(chart);
  }

  function render() {
    const hoursBody = $("#hours tbody");
    const servicesBody = $("#services tbody");
    if (!advice) {
      hoursBody.replaceChildren(); servicesBody.replaceChildren(); $("#planned-source").textContent = ""; drawChart();
      return;
    }
    hoursBody.replaceChildren(...advice.hours.flatMap(hourRow));
    servicesBody.replaceChildren(...advice.services.map(serviceRow));
    $("#closed").hidden = !advice.closed;
    $("#planned-source").textContent = advice.closed ? "" : i18n.t(`source_${advice.planned_source}`);
    const total = advice.hours.reduce((sum, h) => sum + h.arrivals, 0);
    $("#summary").textContent = advice.closed ? i18n.t("summary_closed", { date: advice.date })
      : i18n.t("summary", { date: advice.date, n: Math.round(total), short: advice.short_hours,
                            days: advice.history_days.length });
    drawChart();
  }

  function showSignedOut(why) {
    $("#staffing-board").hidden = true;
    $("#signed-out").hidden = false;
    $("#signed-out-why").textContent = i18n.t(why);
  }

  function problem(error) {
    if (!(error instanceof API.Error) || error.status === 0) return i18n.t("offline");
    if (["date_too_early", "date_too_far", "bad_query"].includes(error.code)) return i18n.t(error.code);
    return i18n.t("failed", { message: error.message });
  }

  async function load() {
    $("#day-error").textContent = "";
    const day = form.elements.date.value;
    if (!day) { $("#day-error").textContent = i18n.t("bad_query"); return; }
    try {
      advice = await API.get(`${PAGE.api}?date=${encodeURIComponent(day)}`);
      const url = new URL(window.location.href);
      url.searchParams.set("date", day);
      window.history.replaceState(null, "", url);
      $("#roster-link").href = `${PAGE.roster_page}?lang=${i18n.language}&date=${day}`;
    } catch (error) {
      if (error instanceof API.Error && error.status === 401) return showSignedOut("signed_out");
      if (error instanceof API.Error && error.status === 403) return showSignedOut("not_allowed");
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
    $("#roster-link").href = `${PAGE.roster_page}${lang}&date=${form.elements.date.value}`;
    $("#what-if-link").href = `${PAGE.manager_page}/what-if${lang}`;
    render();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("#print").addEventListener("click", () => window.print());
  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    applyLanguage();
  });

  function start() {
    document.documentElement.dataset.live = "static"; // no live connection here: nothing to reconnect
    const today = localToday();
    const input = form.elements.date;
    input.min = shift(today, -PAGE.days_back);
    input.max = shift(today, PAGE.days_ahead);
    input.value = new URLSearchParams(window.location.search).get("date") || today;
    applyLanguage();
    $("#staffing-board").hidden = false;
    load();
  }
  start();
})();
