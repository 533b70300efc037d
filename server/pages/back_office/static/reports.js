/* The reports page: a range of closed days and a grouping, then per table a chart (Apache ECharts, canvas) with its
   table beneath and a CSV link in the page's language. The figures, their labels in both languages and which
   groupings each table can have come from the server (server/services/reports.py); this script only draws them.
   The range, grouping and region live in the URL, so a report can be bookmarked and printed. */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("reports-config").textContent);
  const API = window.HallApi;
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "报表", back: "返回值班经理", back_home: "返回首页", sign_in_first: "请先以经理身份登录",
      go_sign_in: "前往值班经理页面登录", all_branches: "全部可查看的网点",
      not_allowed: "报表只对本网点的经理、管理员和所属区域的查看账号开放。", signed_out: "尚未登录，或登录已过期。",
      from: "从", to: "到", quick: "快速选择", yesterday: "昨天", last7: "最近 7 天", last30: "最近 30 天",
      this_month: "本月", last_month: "上月", group: "分组", region: "区域", every_region: "全部区域",
      show: "查看", print: "打印", table: "数据表", csv: "CSV", csv_title: "下载此表（CSV，{language}）",
      summary: "{from} 至 {to}，按{group}：取号 {issued} 人，办结 {served} 人。",
      empty: "{from} 至 {to} 没有已结束且有取号的营业日，暂无报表数据。",
      bad_date_range: "日期范围无效：开始日期须不晚于结束日期，且最多 {days} 天", bad_query: "请选择开始和结束日期",
      bad_group: "此表不能按“{group}”分组，可选：{allowed}。", offline: "无法连接服务器，请稍后重试",
      failed: "读取失败：{message}", none: "—", yes: "✓ 达标", no: "✗ 未达标",
      minutes: "{n} 分钟", unit_minutes: "分钟", share: "占比", count: "人数",
      outcomes: "办理结果", outcomes_hint: "每组的办结、过号、取消、日终失效和转移。",
      heatmap_hint: "每个星期几、每小时的平均取号人数（每个这样的日子）。",
      waits_hint: "从取号到首次叫号的时间分布，及 50%、80%、90% 分位。",
      service_times_hint: "从开始办理到办结的时间分布，及 50%、80%、90% 分位。",
      service_level_hint: "在各业务目标等候时间内被叫号的顾客占比。",
      satisfaction_hint: "满意评价的占比，虚线为 {goal} 的目标。",
      reasons_hint: "顾客评价时选择的原因。", staff_ratings: "员工评价", staff_ratings_hint: "每位员工收到的评价与满意率（显示姓名）。",
      accuracy_hint: "取号时给出的等候估计与实际的比较。",
      as_booked: "按预约签到",
      bookings_hint: "按预约时段所在日期：已签到（其中迟到转普通号）、顾客取消和爽约的预约，以及爽约率。",
      distribution: "分布", percentiles: "分位数", p50: "50% 分位", p80: "80% 分位", p90: "90% 分位",
      goal_line: "目标 {goal}", largest_groups: "只画出人数最多的 {n} 组，完整数据见下表。",
      bins_minutes: "分钟", per_day: "日均取号", weekday: "星期", hour: "时段", language_zh: "中文", language_en: "英文",
      lang_button: "English", printed_at: "{scope} · {from} 至 {to} · 按{group}",
    },
    en: {
      title: "Reports", back: "Back to the manager page", back_home: "Back to the start page",
      sign_in_first: "Sign in as a manager first", go_sign_in: "Sign in on the manager page",
      all_branches: "Every branch you read",
      not_allowed: "Reports are open to this branch's managers, administrators and its region's readers.",
      signed_out: "Not signed in, or the session has ended.",
      from: "From", to: "To", quick: "Quick choices", yesterday: "Yesterday", last7: "Last 7 days",
      last30: "Last 30 days", this_month: "This month", last_month: "Last month", group: "Group by",
      region: "Region", every_region: "Every region", show: "Show", print: "Print", table: "Table", csv: "CSV",
      csv_title: "Download this table (CSV, {language})",
      summary: { one: "{from} to {to}, by {group}: {issued} arrivals, {served} served.",
                 other: "{from} to {to}, by {group}: {issued} arrivals, {served} served." },
      empty: "No closed days with tickets between {from} and {to}: there are no figures to show.",
      bad_date_range: "The range is not valid: the first day must not be after the last, at most {days} days",
      bad_query: "Choose the first and the last day",
      bad_group: "This table cannot be grouped by “{group}”; it can by: {allowed}.",
      offline: "The server cannot be reached: try again in a moment", failed: "Could not read the report: {message}",
      none: "—", yes: "✓ meets", no: "✗ below", minutes: "{n} min", unit_minutes: "min", share: "Share",
      count: "Customers", outcomes: "Outcomes",
      outcomes_hint: "Per group: served, no-shows, cancelled, expired at day end and transferred.",
      heatmap_hint: "Mean arrivals per such day, by weekday and hour of issue.",
      waits_hint: "How long from the ticket to the first call: the distribution, and the 50th, 80th and 90th percentiles.",
      service_times_hint: "How long from the start of service to its end: the distribution and the percentiles.",
      service_level_hint: "The share of customers called within their service's target wait.",
      satisfaction_hint: "The share of satisfied ratings; the dashed line is the {goal} goal.",
      reasons_hint: "The reasons customers picked when they rated.", staff_ratings: "Ratings per staff member",
      staff_ratings_hint: "Ratings each staff member received and the share satisfied (display names).",
      accuracy_hint: "The wait estimates given at issue against the waits that followed.",
      as_booked: "Checked in as booked",
      bookings_hint: "By the day of the slot: appointments checked in (of which late, queued as walk-ins), cancelled by the customer and missed, and the no-show rate.",
      distribution: "Distribution", percentiles: "Percentiles", p50: "50th percentile", p80: "80th percentile",
      p90: "90th percentile", goal_line: "Goal {goal}",
      largest_groups: "Only the {n} largest groups are drawn; the table has them all.",
      bins_minutes: "minutes", per_day: "Arrivals per day", weekday: "Weekday", hour: "Hour",
      language_zh: "Chinese", language_en: "English", lang_button: "中文",
      printed_at: "{scope} · {from} to {to} · by {group}",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  const form = $("#report-form");
  const OUTCOME_SKIP = ["issued", "called"]; // arrivals and calls are not outcomes; every other volume is
  const SHARE_COLUMNS = ["service_level", "satisfied_share", "goal"];
  const MOST_LINES = 6;
  const COLOURS = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
  const charts = new Map(); // chart element id -> ECharts instance
  let report = null; // {asked, sections: {name: answer or {error}}, staff: answer or {error}}

  // --- formatting -------------------------------------------------------------------------------------------

  const label = (key) => i18n.pick((PAGE.labels || {})[key] || (report && report.labels && report.labels[key])) || key;
  const integer = (n) => new Intl.NumberFormat(i18n.language).format(n);
  const decimal = (n, digits) => new Intl.NumberFormat(i18n.language, { minimumFractionDigits: digits,
    maximumFractionDigits: digits }).format(n);
  const percent = (n) => new Intl.NumberFormat(i18n.language, { style: "percent", minimumFractionDigits: 1,
    maximumFractionDigits: 1 }).format(n);
  const minutes = (seconds) => decimal(seconds / 60, 1);

  function isDuration(column) { return /_s$/.test(column); }
  function isShare(column, values) {
    return SHARE_COLUMNS.includes(column) || /_share$|_rate$/.test(column)
      || (values.length > 0 && values.every((v) => v === null || (typeof v === "number" && v >= 0 && v <= 1
        && !Number.isInteger(v))));
  }

  /** A column's heading: the server's label, with a duration's unit said in minutes (the page shows minutes). */
  function heading(column) {
    const text = label(column);
    return isDuration(column) ? `${text.replace(/\s*[(（](s|秒)[)）]\s*$/, "")} (${i18n.t("unit_minutes")})` : text;
  }

  function cell(column, value, shares) {
    if (value === null || value === undefined) return i18n.t("none");
    if (typeof value === "boolean") return i18n.t(value ? "yes" : "no");
    if (typeof value === "object") return i18n.pick(value);
    if (typeof value !== "number") return String(value);
    if (isDuration(column)) return minutes(value);
    if (shares) return percent(value);
    return Number.isInteger(value) ? integer(value) : decimal(value, 2);
  }

  // --- dates and the URL ------------------------------------------------------------------------------------

  function localToday() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: PAGE.timezone, year: "numeric", month: "2-digit",
      day: "2-digit" }).format(new Date()); // en-CA writes YYYY-MM-DD
  }
  function shift(day, days) {
    const d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }
  const monthStart = (day) => day.slice(0, 8) + "01";

  function quickRange(name) {
    const today = localToday();
    const yesterday = shift(today, -1);
    if (name === "yesterday") return [yesterday, yesterday];
    if (name === "last7") return [shift(today, -7), yesterday];
    if (name === "last30") return [shift(today, -30), yesterday];
    if (name === "this_month") { const first = monthStart(today); return [first, yesterday < first ? first : yesterday]; }
    const lastOfPrevious = shift(monthStart(today), -1);
    return [monthStart(lastOfPrevious), lastOfPrevious];
  }

  function asked() {
    return { from: form.elements.from.value, to: form.elements.to.value, group: form.elements.group.value,
             region: PAGE.regions.length ? form.elements.region.value : "" };
  }

  function query(state, extra) {
    const params = new URLSearchParams({ from: state.from, to: state.to, group: state.group });
    if (state.region) params.set("region", state.region);
    for (const [key, value] of Object.entries(extra || {})) {
      if (Array.isArray(value)) value.forEach((v) => params.append(key, v)); else params.set(key, value);
    }
    return params.toString();
  }

  function remember(state) {
    const url = new URL(window.location.href);
    for (const key of ["from", "to", "group", "region"]) {
      if (state[key]) url.searchParams.set(key, state[key]); else url.searchParams.delete(key);
    }
    url.searchParams.set("lang", i18n.language);
    window.history.replaceState(null, "", url);
  }

  const csvLink = (section, state) => `${PAGE.csv.replace("{section}", section)}?${query(state,
    { lang: i18n.language })}`;

  // --- the cards --------------------------------------------------------------------------------------------

  /** The cards in order: [id, section read, its title key or label, the chart drawer]. */
  function cardList() {
    const known = ["volumes", "heatmap", "waits", "service_times", "service_level", "satisfaction", "reasons",
                   "accuracy", "bookings"];
    const list = [
      { id: "outcomes", section: "volumes", title: () => i18n.t("outcomes"), hint: "outcomes_hint", draw: drawOutcomes },
      { id: "heatmap", section: "heatmap", hint: "heatmap_hint", draw: drawHeatmap },
      { id: "waits", section: "waits", hint: "waits_hint", draw: drawDurations },
      { id: "service_times", section: "service_times", hint: "service_times_hint", draw: drawDurations },
      { id: "service_level", section: "service_level", hint: "service_level_hint", draw: drawServiceLevel },
      { id: "satisfaction", section: "satisfaction", hint: "satisfaction_hint", draw: drawSatisfaction },
      { id: "reasons", section: "reasons", hint: "reasons_hint", draw: drawReasons },
      { id: "staff_ratings", section: "satisfaction", group: "staff", title: () => i18n.t("staff_ratings"),
        hint: "staff_ratings_hint", draw: drawStaffRatings },
      { id: "accuracy", section: "accuracy", hint: "accuracy_hint", draw: drawAccuracy },
      { id: "bookings", section: "bookings", hint: "bookings_hint", draw: drawBookings },
    ];
    // a table the server has and this page has no chart for yet: shown as a table with its CSV
    for (const section of PAGE.sections) {
      if (!known.includes(section)) list.push({ id: section, section, draw: null });
    }
    return list.filter((card) => PAGE.sections.includes(card.section));
  }
  const CARDS = cardList();

  function buildCards() {
    const holder = $("#cards");
    holder.replaceChildren(...CARDS.map((card) => {
      const section = document.createElement("section");
      section.className = "card report-card";
      section.id = `card-${card.id}`;
      section.dataset.section = card.section;
      section.hidden = true;
      section.innerHTML = `<div class="card-head"><h2></h2><a class="csv-link" download></a></div>
        <p class="hint card-hint"></p><p class="card-message" role="status" hidden></p>
        <div class="charts"></div>
        <details class="table-box" open><summary></summary><div class="table-scroll"><table class="report-table">
        <thead></thead><tbody></tbody></table></div></details>`;
      return section;
    }));
  }

  function groupOf(card, state) { return card.group || state.group; }

  function answerOf(card) {
    if (!report) return null;
    return card.group ? report.staff : report.sections[card.section];
  }

  function rowsOf(answer, section) {
    const table = answer && answer.sections ? answer.sections[section] : null;
    return Array.isArray(table) ? table : [];
  }

  function chartBox(card, box, index, tall) {
    const id = `chart-${card.id}-${index}`;
    let element = document.getElementById(id);
    if (!element) {
      element = document.createElement("div");
      element.id = id;
      element.className = "chart" + (tall ? " tall" : "");
      element.setAttribute("role", "img");
      box.append(element);
    }
    let chart = charts.get(id);
    if (!chart) {
      chart = echarts.init(element, null, { renderer: "canvas", devicePixelRatio: Math.max(2, window.devicePixelRatio || 1) });
      charts.set(id, chart);
    }
    return { chart, element };
  }

  function clearCharts(box) {
    for (const element of box.querySelectorAll(".chart")) {
      const chart = charts.get(element.id);
      if (chart) { chart.dispose(); charts.delete(element.id); }
      element.remove();
    }
  }

  function renderCard(card) {
    const node = document.getElementById(`card-${card.id}`);
    const answer = answerOf(card);
    const state = report.asked;
    node.hidden = !answer;
    if (!answer) return;
    node.querySelector("h2").textContent = card.title ? card.title() : label(card.section);
    node.querySelector(".card-hint").textContent = card.hint
      ? i18n.t(card.hint, { goal: percent(PAGE.satisfaction_goal) }) : "";
    node.querySelector("summary").textContent = i18n.t("table");
    const link = node.querySelector(".csv-link");
    const message = node.querySelector(".card-message");
    const box = node.querySelector(".charts");
    if (answer.error) {
      link.hidden = true;
      message.hidden = false;
      message.textContent = answer.error;
      node.querySelector(".table-box").hidden = true;
      clearCharts(box);
      return;
    }
    message.hidden = true;
    link.hidden = false;
    link.textContent = i18n.t("csv");
    const cardState = { ...state, group: groupOf(card, state) };
    link.href = csvLink(card.section, cardState);
    link.title = i18n.t("csv_title", { language: i18n.t(i18n.language === "en" ? "language_en" : "language_zh") });
    node.querySelector(".table-box").hidden = false;
    renderTable(node.querySelector("table"), card.section, answer, cardState.group);
    if (card.draw) card.draw(card, box, answer);
  }

  function renderTable(table, section, answer, group) {
    const head = table.querySelector("thead");
    const body = table.querySelector("tbody");
    if (section === "heatmap") {
      const heat = answer.sections.heatmap;
      const tr = document.createElement("tr");
      tr.append(th(i18n.t("weekday")), ...heat.hours.map((h) => th(`${String(h).padStart(2, "0")}:00`, "num")));
      head.replaceChildren(tr);
      body.replaceChildren(...heat.weekdays.map((weekday, w) => {
        const row = document.createElement("tr");
        row.append(td(i18n.pick(weekday)), ...heat.per_day[w].map((v) => td(v === null ? i18n.t("none") : decimal(v, 1), "num")));
        return row;
      }));
      return;
    }
    const rows = rowsOf(answer, section);
    const columns = (answer.columns && answer.columns[section]) || [];
    const shares = Object.fromEntries(columns.map((c) => [c, isShare(c, rows.map((r) => r[c]))]));
    const tr = document.createElement("tr");
    tr.append(th(label(group)), ...columns.map((c) => th(heading(c), c === "reason" ? "" : "num")));
    head.replaceChildren(tr);
    body.replaceChildren(...rows.map((row) => {
      const line = document.createElement("tr");
      line.append(td(i18n.pick(row.label)));
      for (const column of columns) {
        const value = column === "reason" ? row.reason_label : row[column];
        line.append(td(cell(column, value, shares[column]), typeof value === "number" ? "num" : ""));
      }
      return line;
    }));
  }

  function th(text, className) {
    const e = document.createElement("th");
    e.textContent = text;
    e.scope = "col";
    if (className) e.className = className;
    return e;
  }
  function td(text, className) { const e = document.createElement("td"); e.textContent = text; if (className) e.className = className; return e; }

  // --- the charts -------------------------------------------------------------------------------------------

  const narrow = () => window.matchMedia("(max-width: 700px)").matches;
  const base = () => ({
    animation: false, color: COLOURS, textStyle: { fontFamily: "inherit" },
    tooltip: { trigger: "axis", renderMode: "richText", confine: true }, // richText: drawn on the canvas, no inline styles
    legend: { top: 0, type: "scroll", left: "center", width: "90%" },
    grid: { left: 8, right: 16, top: 56, bottom: 8, containLabel: true },
  });
  const categoryAxis = (labels) => ({ type: "category", data: labels, axisLabel: {
    interval: labels.length > 12 ? "auto" : 0, rotate: labels.length > 6 || narrow() ? 35 : 0, hideOverlap: true,
    width: 110, overflow: "truncate" } });

  function set(chart, element, option, description) {
    element.setAttribute("aria-label", description);
    for (const series of option.series || []) {
      if (series.type === "bar" && series.barMaxWidth === undefined) series.barMaxWidth = 72; // one group: no slab
    }
    chart.setOption(option, { notMerge: true });
    chart.resize();
  }

  function drawOutcomes(card, box, answer) {
    const rows = rowsOf(answer, "volumes");
    const columns = answer.columns.volumes.filter((c) => !OUTCOME_SKIP.includes(c));
    const { chart, element } = chartBox(card, box, 0, rows.length > 8);
    const labels = rows.map((r) => i18n.pick(r.label));
    set(chart, element, { ...base(),
      xAxis: categoryAxis(labels), yAxis: { type: "value", name: i18n.t("count") },
      series: columns.map((c) => ({ type: "bar", stack: "outcomes", name: label(c), data: rows.map((r) => r[c] ?? 0) })),
    }, i18n.t("outcomes"));
  }

  function drawHeatmap(card, box, answer) {
    const heat = answer.sections.heatmap;
    const data = [];
    let most = 0;
    heat.per_day.forEach((values, w) => values.forEach((v, h) => {
      if (v !== null) { data.push([h, w, v]); most = Math.max(most, v); }
    }));
    const { chart, element } = chartBox(card, box, 0, true);
    set(chart, element, { ...base(), legend: undefined,
      tooltip: { trigger: "item", renderMode: "richText", confine: true, formatter: (p) =>
        `${i18n.pick(heat.weekdays[p.value[1]])} ${String(heat.hours[p.value[0]]).padStart(2, "0")}:00 · ${decimal(p.value[2], 1)}` },
      grid: { left: 8, right: 16, top: 10, bottom: 56, containLabel: true },
      xAxis: { type: "category", data: heat.hours.map((h) => String(h).padStart(2, "0")), name: i18n.t("hour"),
               nameLocation: "center", nameGap: 26, splitArea: { show: true } },
      yAxis: { type: "category", data: heat.weekdays.map((w) => i18n.pick(w)), inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(1, most), calculable: false, orient: "horizontal", left: "center", bottom: 0,
                   itemHeight: narrow() ? 120 : 200, text: [decimal(Math.max(1, most), 1), "0"],
                   inRange: { color: ["#eff6ff", "#93c5fd", "#2563eb", "#1e3a8a"] } },
      series: [{ type: "heatmap", name: i18n.t("per_day"), data,
                 label: { show: !narrow() && heat.hours.length <= 14, formatter: (p) => decimal(p.value[2], 0) } }],
    }, i18n.t("heatmap_hint"));
  }

  function drawDurations(card, box, answer) {
    const rows = rowsOf(answer, card.section);
    const edges = answer.bin_edges_min || [];
    const biggest = rows.filter((r) => r.count > 0).sort((a, b) => b.count - a.count).slice(0, MOST_LINES);
    const binLabels = edges.map((e, i) => (i + 1 < edges.length ? `${e}–${edges[i + 1]}` : `${e}+`));
    const distribution = chartBox(card, box, 0, false);
    // the share of each group's customers in each bin (bins are uneven: the table holds the exact percentiles)
    set(distribution.chart, distribution.element, { ...base(),
      title: { text: i18n.t("distribution"), left: "center", top: 24, textStyle: { fontSize: 13 } },
      grid: { left: 8, right: 16, top: 56, bottom: 8, containLabel: true },
      xAxis: { ...categoryAxis(binLabels), name: i18n.t("bins_minutes"), nameLocation: "end" },
      yAxis: { type: "value", axisLabel: { formatter: (v) => percent(v) } },
      tooltip: { trigger: "axis", renderMode: "richText", confine: true, valueFormatter: (v) => percent(v) },
      series: biggest.map((r) => ({ type: biggest.length === 1 ? "bar" : "line", step: biggest.length === 1 ? undefined : "middle",
        name: i18n.pick(r.label), data: (r.bins || []).map((n) => n / r.count), symbol: "none" })),
    }, `${label(card.section)} · ${i18n.t("distribution")}`);
    const shown = rows.filter((r) => r.count > 0);
    const percentiles = chartBox(card, box, 1, shown.length > 8);
    set(percentiles.chart, percentiles.element, { ...base(),
      title: { text: i18n.t("percentiles"), left: "center", top: 24, textStyle: { fontSize: 13 } },
      grid: { left: 8, right: 16, top: 56, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", renderMode: "richText", confine: true, valueFormatter: (v) => i18n.t("minutes", { n: decimal(v, 1) }) },
      xAxis: categoryAxis(shown.map((r) => i18n.pick(r.label))),
      yAxis: { type: "value", name: i18n.t("unit_minutes") },
      series: ["p50", "p80", "p90"].map((p) => ({ type: "bar", name: i18n.t(p),
        data: shown.map((r) => (r[`${p}_s`] === null ? null : Math.round(r[`${p}_s`] / 6) / 10)) })),
    }, `${label(card.section)} · ${i18n.t("percentiles")}`);
    const note = box.querySelector(".chart-note") || box.appendChild(Object.assign(document.createElement("p"), { className: "hint chart-note" }));
    note.textContent = rows.filter((r) => r.count > 0).length > MOST_LINES ? i18n.t("largest_groups", { n: MOST_LINES }) : "";
  }

  function shareBars(card, box, rows, column, goal, description) {
    const shown = rows.filter((r) => r[column] !== null && r[column] !== undefined);
    const { chart, element } = chartBox(card, box, 0, shown.length > 8);
    const series = { type: "bar", name: label(column),
      data: shown.map((r) => ({ value: r[column], itemStyle: goal === null ? undefined
        : { color: r[column] >= goal ? "#16a34a" : "#dc2626" } })) };
    if (goal !== null) {
      series.markLine = { symbol: "none", silent: true, lineStyle: { type: "dashed", color: "#0f172a" },
        label: { formatter: i18n.t("goal_line", { goal: percent(goal) }), position: "insideEndTop" }, data: [{ yAxis: goal }] };
    }
    set(chart, element, { ...base(), legend: undefined,
      tooltip: { trigger: "axis", renderMode: "richText", confine: true, valueFormatter: (v) => percent(v) },
      xAxis: categoryAxis(shown.map((r) => i18n.pick(r.label))),
      yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => percent(v) } },
      series: [series] }, description);
  }

  function drawServiceLevel(card, box, answer) {
    shareBars(card, box, rowsOf(answer, "service_level"), "service_level", null, i18n.t("service_level_hint"));
  }

  function drawSatisfaction(card, box, answer) {
    shareBars(card, box, rowsOf(answer, "satisfaction"), "satisfied_share", answer.satisfaction_goal ?? PAGE.satisfaction_goal,
              i18n.t("satisfaction_hint", { goal: percent(PAGE.satisfaction_goal) }));
  }

  function drawReasons(card, box, answer) {
    const rows = rowsOf(answer, "reasons");
    const reasons = [...new Map(rows.map((r) => [r.reason, r.reason_label])).entries()];
    const groups = [...new Map(rows.map((r) => [JSON.stringify(r.label), r.label])).values()];
    const { chart, element } = chartBox(card, box, 0, reasons.length > 6);
    set(chart, element, { ...base(), legend: groups.length > 1 ? base().legend : undefined,
      tooltip: { trigger: "axis", renderMode: "richText", confine: true, axisPointer: { type: "shadow" } },
      xAxis: { type: "value", name: label("rated"), minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: reasons.map(([, text]) => i18n.pick(text)),
               axisLabel: { width: narrow() ? 90 : 180, overflow: "truncate" } },
      series: groups.map((group) => ({ type: "bar", stack: "reasons", name: i18n.pick(group),
        data: reasons.map(([code]) => {
          const found = rows.find((r) => r.reason === code && JSON.stringify(r.label) === JSON.stringify(group));
          return found ? found.rated : 0;
        }) })),
    }, label("reasons"));
  }

  function drawStaffRatings(card, box, answer) {
    const rows = rowsOf(answer, "satisfaction").filter((r) => r.rated > 0);
    const goal = answer.satisfaction_goal ?? PAGE.satisfaction_goal;
    const { chart, element } = chartBox(card, box, 0, rows.length > 8);
    set(chart, element, { ...base(),
      grid: { left: 8, right: 8, top: 56, bottom: 8, containLabel: true },
      xAxis: categoryAxis(rows.map((r) => i18n.pick(r.label))),
      yAxis: [{ type: "value", name: label("rated"), minInterval: 1 },
              { type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => percent(v) }, splitLine: { show: false } }],
      series: [
        { type: "bar", name: label("rated"), data: rows.map((r) => r.rated) },
        { type: "bar", name: label("satisfied"), data: rows.map((r) => r.satisfied) },
        { type: "line", name: label("satisfied_share"), yAxisIndex: 1, data: rows.map((r) => r.satisfied_share),
          tooltip: { valueFormatter: (v) => percent(v) },
          markLine: { symbol: "none", silent: true, lineStyle: { type: "dashed", color: "#0f172a" },
                      label: { formatter: i18n.t("goal_line", { goal: percent(goal) }), position: "insideEndTop" },
                      data: [{ yAxis: goal }] } },
      ],
    }, i18n.t("staff_ratings"));
  }

  /** The estimate's accuracy, drawn from whatever columns the server sends: shares on the left axis, durations
      (minutes) on the right; counts stay in the table. */
  function drawAccuracy(card, box, answer) {
    const rows = rowsOf(answer, "accuracy");
    const columns = (answer.columns && answer.columns.accuracy) || [];
    const shareColumns = columns.filter((c) => isShare(c, rows.map((r) => r[c])));
    const durationColumns = columns.filter(isDuration);
    const { chart, element } = chartBox(card, box, 0, rows.length > 8);
    set(chart, element, { ...base(),
      xAxis: categoryAxis(rows.map((r) => i18n.pick(r.label))),
      yAxis: [{ type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => percent(v) } },
              { type: "value", name: i18n.t("unit_minutes"), splitLine: { show: false } }],
      series: [
        ...shareColumns.map((c) => ({ type: "bar", name: label(c), data: rows.map((r) => r[c]),
                                     tooltip: { valueFormatter: (v) => percent(v) } })),
        ...durationColumns.map((c) => ({ type: "line", name: heading(c), yAxisIndex: 1,
                                        data: rows.map((r) => (r[c] === null ? null : Math.round(r[c] / 6) / 10)) })),
      ],
    }, label("accuracy"));
  }

  /** Appointments: how each group's bookings ended, stacked (checked in on time, late as walk-ins, cancelled,
      missed), and the no-show rate on the right axis; "booked" is their sum and stays in the table. */
  function drawBookings(card, box, answer) {
    const rows = rowsOf(answer, "bookings");
    const { chart, element } = chartBox(card, box, 0, rows.length > 8);
    const ended = [
      ["checked_in", (r) => r.checked_in - r.late_walk_ins], ["late_walk_ins", (r) => r.late_walk_ins],
      ["booking_cancelled", (r) => r.booking_cancelled], ["booking_no_shows", (r) => r.booking_no_shows]];
    set(chart, element, { ...base(),
      color: ["#16a34a", "#f59e0b", "#94a3b8", "#dc2626", "#7c3aed"],
      xAxis: categoryAxis(rows.map((r) => i18n.pick(r.label))),
      yAxis: [{ type: "value", name: i18n.t("count"), minInterval: 1 },
              { type: "value", min: 0, max: 1, splitLine: { show: false }, axisLabel: { formatter: (v) => percent(v) } }],
      series: [
        ...ended.map(([column, value]) => ({ type: "bar", stack: "bookings", data: rows.map(value),
          name: column === "checked_in" ? i18n.t("as_booked") : label(column) })),
        { type: "line", name: label("no_show_share"), yAxisIndex: 1, data: rows.map((r) => r.no_show_share),
          tooltip: { valueFormatter: (v) => (v === null || v === undefined ? i18n.t("none") : percent(v)) } },
      ],
    }, label("bookings"));
  }

  // --- reading and drawing ----------------------------------------------------------------------------------

  function problem(error, group, section) {
    if (!(error instanceof API.Error) || error.status === 0) return i18n.t("offline");
    if (error.code === "bad_group") {
      return i18n.t("bad_group", { group: label(group),
        allowed: (PAGE.groups_of[section] || []).map(label).join(i18n.language === "en" ? ", " : "、") });
    }
    if (error.code === "bad_date_range") return i18n.t("bad_date_range", { days: PAGE.max_days });
    if (error.code === "bad_query") return i18n.t("bad_query");
    return i18n.t("failed", { message: error.message });
  }

  /** One request per table (each table answers or refuses on its own: a grouping one table cannot have leaves the
      others drawn), plus the ratings per staff member. */
  async function load() {
    $("#report-error").textContent = "";
    const state = asked();
    if (!state.from || !state.to) { $("#report-error").textContent = i18n.t("bad_query"); return; }
    remember(state);
    const read = (section, group) => API.get(`${PAGE.api}?${query({ ...state, group }, { section })}`)
      .then((answer) => answer, (error) => ({ failure: error }));
    const names = [...new Set(CARDS.filter((c) => !c.group).map((c) => c.section))];
    const answers = await Promise.all([...names.map((s) => read(s, state.group)), read("satisfaction", "staff")]);
    const refused = answers.find((a) => a.failure && a.failure instanceof API.Error
      && (a.failure.status === 401 || a.failure.status === 403));
    if (refused) return showSignedOut(refused.failure.status === 401 ? "signed_out" : "not_allowed");
    const whole = answers.find((a) => a.failure && a.failure.code !== "bad_group");
    if (whole) { // the range itself, or the network: nothing to draw
      report = null;
      $("#report-error").textContent = problem(whole.failure, state.group, "volumes");
      render();
      return;
    }
    const sections = {};
    names.forEach((section, index) => {
      const answer = answers[index];
      sections[section] = answer.failure ? { error: problem(answer.failure, state.group, section) } : answer;
    });
    const staff = answers[answers.length - 1];
    const any = Object.values(sections).find((a) => !a.error);
    report = { asked: { ...state, from: any ? any.from : state.from, to: any ? any.to : state.to }, sections,
               staff: staff.failure ? null : staff, labels: any ? any.labels : {} };
    render();
  }

  function isEmpty() {
    const volumes = report.sections.volumes;
    if (!volumes || volumes.error) return false;
    return rowsOf(volumes, "volumes").every((r) => !r.issued && !r.called);
  }

  function render() {
    const empty = !report || isEmpty();
    $("#empty").hidden = !report || !empty;
    $("#cards").hidden = empty;
    $("#summary").textContent = "";
    $("#print-head").textContent = "";
    if (!report) return;
    const state = report.asked;
    const scope = PAGE.branch ? i18n.pick(PAGE.branch.name) : (state.region || i18n.t("all_branches"));
    $("#print-head").textContent = i18n.t("printed_at", { scope, from: state.from, to: state.to, group: label(state.group) });
    if (empty) {
      $("#empty-text").textContent = i18n.t("empty", { from: state.from, to: state.to });
      return;
    }
    const totals = rowsOf(report.sections.volumes, "volumes").reduce((sum, r) => ({
      issued: sum.issued + (r.issued || 0), served: sum.served + (r.served || 0) }), { issued: 0, served: 0 });
    if (state.group !== "counter" && state.group !== "staff") { // at a counter, arrivals are the hall's, not the row's
      $("#summary").textContent = i18n.t("summary", { from: state.from, to: state.to, group: label(state.group),
        issued: integer(totals.issued), served: integer(totals.served), n: totals.issued });
    }
    for (const card of CARDS) renderCard(card);
  }

  function showSignedOut(why) {
    $("#reports-board").hidden = true;
    $("#signed-out").hidden = false;
    $("#signed-out-why").textContent = i18n.t(why);
  }

  // --- controls ---------------------------------------------------------------------------------------------

  function fillChoices() {
    const group = form.elements.group;
    const chosen = group.value;
    group.replaceChildren(...PAGE.groups.filter((g) => PAGE.branch === null || g !== "branch").map((g) => {
      const option = document.createElement("option");
      option.value = g;
      option.textContent = label(g);
      return option;
    }));
    if (chosen) group.value = chosen;
    if (PAGE.regions.length) {
      const region = form.elements.region;
      const picked = region.value;
      const every = new Option(i18n.t("every_region"), "");
      region.replaceChildren(every, ...PAGE.regions.map((r) => new Option(
        `${r.code} · ${r.branches.map((b) => i18n.pick(b)).join(i18n.language === "en" ? ", " : "、")}`, r.code)));
      region.value = picked;
      $("#region-field").hidden = false;
    }
  }

  function applyLanguage() {
    i18n.apply(document);
    $("#hall-name").textContent = PAGE.branch ? i18n.pick(PAGE.branch.name) : i18n.t("all_branches");
    $("#lang").textContent = i18n.t("lang_button");
    const lang = "?lang=" + i18n.language;
    const back = $("#back");
    if (PAGE.branch) back.href = `/manager/${encodeURIComponent(PAGE.branch.code)}${lang}`;
    else { back.textContent = i18n.t("back_home"); back.href = "/" + lang; }
    $("#sign-in-link").href = PAGE.sign_in_page + lang;
    document.title = `${i18n.t("title")} — ${$("#hall-name").textContent}`;
    fillChoices();
    if (report) remember(report.asked);
    render();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  form.querySelectorAll("[data-quick]").forEach((button) => button.addEventListener("click", () => {
    [form.elements.from.value, form.elements.to.value] = quickRange(button.dataset.quick);
    load();
  }));
  $("#print").addEventListener("click", () => window.print());
  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    applyLanguage();
  });
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (report) render(); }, 150); // re-laid out: axis labels rotate on a phone
  });
  // on paper every chart takes the printable width of A4 and every table is open
  const PAPER_WIDTH_PX = 680; // A4's printable width at 96 px per inch, with the page's margins
  function forPaper(printing) {
    if (printing) document.querySelectorAll("details.table-box").forEach((d) => { d.open = true; });
    charts.forEach((chart) => chart.resize(printing ? { width: PAPER_WIDTH_PX } : undefined));
  }
  window.addEventListener("beforeprint", () => forPaper(true));
  window.addEventListener("afterprint", () => forPaper(false));
  window.matchMedia("print").addEventListener("change", (event) => forPaper(event.matches));

  function start() {
    document.documentElement.dataset.live = "static"; // no live connection here: nothing to reconnect
    buildCards();
    const params = new URLSearchParams(window.location.search);
    const [first, last] = quickRange("last30");
    form.elements.from.value = params.get("from") || first;
    form.elements.to.value = params.get("to") || last;
    fillChoices();
    form.elements.group.value = PAGE.groups.includes(params.get("group")) ? params.get("group") : "total";
    if (PAGE.regions.length) form.elements.region.value = params.get("region") || "";
    applyLanguage();
    $("#reports-board").hidden = false;
    load();
  }
  start();
})();
