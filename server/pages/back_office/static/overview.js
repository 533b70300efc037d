/* The overview of every branch the reader reads: one row (a card on a phone) per branch, worst first, as the server
   orders and pushes them (server/services/overview.py): no rule lives here, not even the order. */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("overview-config").textContent);
  const API = window.HallApi;
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "网点总览", reconnecting: "正在重新连接…", sign_out: "退出", sign_in: "登录", username: "用户名",
      password: "密码", sign_in_button: "登录", bad_login: "用户名或密码不正确",
      too_many_attempts: "尝试次数过多，请 {minutes} 分钟后再试",
      not_allowed: "网点总览只对经理、管理员和区域查看账号开放。", region: "区域", all_regions: "全部区域",
      col_branch: "网点", col_alerts: "告警", col_waiting: "等候", col_worst: "最长等候 / 目标",
      col_new_ticket: "新票预计", col_counters: "窗口", col_service_level: "今日达标率", col_satisfaction: "今日满意度",
      col_state: "状态", empty: "没有可查看的网点", manager_page: "值班经理", staffing_page: "排班建议", reports_page: "报表",
      critical: "严重 {n}", warning: "提醒 {n}", no_alerts: "无告警", no_wait: "无人等候",
      worst: "{service}：{waited} / {target} 分钟", over: "超出目标", counters: "开 {open} · 停 {paused} · 关 {closed}",
      open_now: "营业中", closed_now: "非营业时间", stopped_all: "全部停止取号", stopped_some: "停止取号：{services}",
      no_data: "尚无实时数据", none: "—", summary: "{n} 个网点 · {critical} 个有严重告警 · {waiting} 人等候",
      updated: "更新于 {time}", offline: "无法连接服务器，请稍后重试", failed: "读取失败：{message}",
      order_rule: "排序：告警最严重的在前，其次严重告警多、提醒多、最长等候超出目标最多、等候人数多的网点；尚无实时数据的网点排在最后。",
      goal_short: "低于目标",
    },
    en: {
      title: "Branch overview", reconnecting: "Reconnecting…", sign_out: "Sign out", sign_in: "Sign in",
      username: "Username", password: "Password", sign_in_button: "Sign in", bad_login: "Wrong username or password",
      too_many_attempts: "Too many attempts: try again in {minutes} min",
      not_allowed: "The overview is open to managers, administrators and regional readers.", region: "Region",
      all_regions: "All regions", col_branch: "Branch", col_alerts: "Alerts", col_waiting: "Waiting",
      col_worst: "Longest wait / target", col_new_ticket: "New ticket", col_counters: "Counters",
      col_service_level: "Service level today", col_satisfaction: "Satisfaction today", col_state: "State",
      empty: "No branch to show", manager_page: "Manager", staffing_page: "Staffing", reports_page: "Reports",
      critical: "{n} critical", warning: { one: "{n} warning", other: "{n} warnings" }, no_alerts: "No alerts",
      no_wait: "Nobody waiting", worst: "{service}: {waited} / {target} min", over: "over target",
      counters: "{open} open · {paused} paused · {closed} closed", open_now: "Open", closed_now: "Closed now",
      stopped_all: "Issuing stopped", stopped_some: "Stopped: {services}", no_data: "No live data yet", none: "—",
      summary: { one: "{n} branch · {critical} with critical alerts · {waiting} waiting",
                 other: "{n} branches · {critical} with critical alerts · {waiting} waiting" },
      updated: "updated {time}", offline: "The server cannot be reached: try again in a moment",
      failed: "Could not read the overview: {message}",
      order_rule: "Order: the most severe alert first, then more critical alerts, more warnings, the longest wait furthest past its target, more people waiting; branches with no live data yet last.",
      goal_short: "below goal",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  const rows = new Map(); // code -> row as the server sent it
  let order = [];
  let regions = [];
  let region = new URLSearchParams(window.location.search).get("region") || "";
  let socket = null;
  let updatedAt = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  const percent = (share) => (share === null || share === undefined ? i18n.t("none")
    : new Intl.NumberFormat(i18n.language, { style: "percent", maximumFractionDigits: 0 }).format(share));

  function cell(tr, key, className) {
    const td = el("td", className);
    td.dataset.label = i18n.t(key); // a phone shows each cell as a labelled line of the branch's card
    tr.append(td);
    return td;
  }

  function branchRow(row) {
    const live = row.live;
    const tr = el("tr");
    tr.dataset.code = row.code;
    const counts = live ? live.alerts.counts : { critical: 0, warning: 0 };
    tr.dataset.severity = counts.critical ? "critical" : counts.warning ? "warning" : "none";
    if (!live) tr.classList.add("no-data");

    const name = el("td", "branch");
    const title = el("div", "branch-name");
    const link = row.links.manager || row.links.staffing;
    const anchor = el("a", "branch-link", i18n.pick(row.name));
    anchor.href = `${link}?lang=${i18n.language}`;
    title.append(anchor);
    name.append(title);
    const meta = el("div", "branch-meta");
    meta.append(el("span", "code", row.code));
    if (row.region) meta.append(el("span", "region", row.region));
    if (row.links.manager) {
      const a = el("a", "page-link", i18n.t("manager_page"));
      a.href = `${row.links.manager}?lang=${i18n.language}`;
      meta.append(a);
    }
    const staffing = el("a", "page-link", i18n.t("staffing_page"));
    staffing.href = `${row.links.staffing}?lang=${i18n.language}`;
    meta.append(staffing);
    name.append(meta);
    tr.append(name);

    const alerts = cell(tr, "col_alerts", "alerts");
    if (!live) {
      alerts.append(el("span", "muted", i18n.t("no_data")));
    } else if (!counts.critical && !counts.warning) {
      alerts.append(el("span", "badge calm", i18n.t("no_alerts")));
    } else {
      const badges = el("div", "alert-badges");
      for (const severity of PAGE.severities) {
        if (counts[severity]) badges.append(el("span", `badge sev-${severity}`, i18n.t(severity, { n: counts[severity] })));
      }
      alerts.append(badges);
      const list = el("ul", "top-alerts");
      for (const alert of live.alerts.top) {
        const li = el("li", `sev-${alert.severity}`, i18n.pick(alert.text));
        li.dataset.key = alert.key;
        list.append(li);
      }
      alerts.append(list);
    }

    cell(tr, "col_waiting", "num waiting").textContent = live ? String(live.waiting) : i18n.t("none");

    const worstCell = cell(tr, "col_worst", "worst");
    const worst = live && live.worst_wait;
    if (!live) worstCell.textContent = i18n.t("none");
    else if (!worst) worstCell.append(el("span", "muted", i18n.t("no_wait")));
    else {
      worstCell.append(el("span", worst.over_target ? "over" : "", i18n.t("worst", {
        service: i18n.pick(worst.service_name), waited: worst.longest_wait_min, target: worst.target_min })));
      const bar = el("span", "ratio");
      const fill = el("span", "ratio-fill" + (worst.over_target ? " over" : ""));
      fill.style.width = `${Math.min(100, Math.round(worst.ratio * 100))}%`;
      bar.append(fill);
      worstCell.append(bar);
    }
    cell(tr, "col_new_ticket", "estimate").textContent = worst ? i18n.pick(worst.new_ticket.text) : i18n.t("none");

    cell(tr, "col_counters", "counters-cell").textContent = live ? i18n.t("counters", live.counters) : i18n.t("none");

    const level = cell(tr, "col_service_level", "num level");
    level.textContent = live ? percent(live.service_level) : i18n.t("none");
    if (live && live.service_level !== null && live.service_level < PAGE.service_level_goal) level.classList.add("short");
    const satisfied = cell(tr, "col_satisfaction", "num satisfied");
    satisfied.textContent = live ? percent(live.satisfaction) : i18n.t("none");
    if (live && live.satisfaction !== null && live.satisfaction < PAGE.satisfaction_goal) satisfied.classList.add("short");

    const state = el("div", "state-badges");
    cell(tr, "col_state", "state").append(state);
    if (live) {
      state.append(el("span", live.open_now ? "badge issuing" : "badge closed",
                      i18n.t(live.open_now ? "open_now" : "closed_now")));
      if (live.issuing.stopped_all) state.append(el("span", "badge stopped", i18n.t("stopped_all")));
      else if (live.issuing.stopped_services.length) {
        state.append(el("span", "badge stopped", i18n.t("stopped_some",
          { services: live.issuing.stopped_services.join(", ") })));
      }
    } else state.textContent = i18n.t("none");
    return tr;
  }

  function render() {
    const body = $("#branches tbody");
    body.replaceChildren(...order.filter((code) => rows.has(code)).map((code) => branchRow(rows.get(code))));
    $("#empty").hidden = order.length > 0;
    let critical = 0;
    let waiting = 0;
    for (const row of rows.values()) {
      if (row.live && row.live.alerts.counts.critical) critical += 1;
      if (row.live) waiting += row.live.waiting;
    }
    const when = updatedAt ? ` · ${i18n.t("updated", { time: updatedAt.toLocaleTimeString(i18n.language) })}` : "";
    $("#summary").textContent = i18n.t("summary", { n: order.length, critical, waiting }) + when;
    renderRegions();
  }

  function renderRegions() {
    const select = $("#region");
    const all = el("option", "", i18n.t("all_regions"));
    all.value = "";
    select.replaceChildren(all, ...regions.map((code) => {
      const option = el("option", "", code);
      option.value = code;
      return option;
    }));
    select.value = region;
    $("#region-field").hidden = regions.length < 2 && !region; // nothing to choose from
  }

  function showListing(listing) {
    rows.clear();
    for (const row of listing.branches) rows.set(row.code, row);
    order = listing.branches.map((row) => row.code);
    regions = listing.regions;
    updatedAt = new Date();
    render();
  }

  function showLogin(message) {
    document.documentElement.dataset.live = "signed-out";
    $("#overview-board").hidden = true;
    $("#login").hidden = false;
    $("#sign-out").hidden = true;
    $("#login-why").textContent = message || "";
    if (socket) { socket.close(); socket = null; }
  }

  function watch() {
    socket.timeout(8000).emit("watch_overview", { region: region || null }, (error, answer) => {
      if (error) { document.documentElement.dataset.live = "reconnecting"; return; }
      if (!answer.ok) {
        if (answer.error === "unauthenticated") showLogin("");
        else if (answer.error === "forbidden" || answer.error === "read_only_account") showLogin(i18n.t("not_allowed"));
        else $("#overview-error").textContent = i18n.t("failed", { message: answer.message });
        return;
      }
      $("#overview-error").textContent = "";
      document.documentElement.dataset.live = "live";
      showListing(answer.overview);
    });
  }

  function connect() {
    socket = window.io({ transports: ["websocket", "polling"], reconnection: true, reconnectionDelay: 500,
                         reconnectionDelayMax: 5000, timeout: 8000 });
    socket.on("connect", watch);
    socket.on("disconnect", (reason) => {
      document.documentElement.dataset.live = "reconnecting";
      if (reason === "io server disconnect") setTimeout(() => socket && socket.connect(), 1000);
    });
    socket.on("connect_error", () => { document.documentElement.dataset.live = "reconnecting"; });
    socket.on("overview", (message) => {
      if ((message.region || "") !== region) return; // an update for the filter before the last change
      for (const row of message.rows) rows.set(row.code, row);
      order = message.order;
      updatedAt = new Date();
      render();
    });
  }

  async function start() {
    i18n.apply(document);
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    let who;
    try {
      who = await API.get("/api/session");
    } catch (error) {
      $("#login-why").textContent = i18n.t("offline");
      showLogin(i18n.t("offline"));
      return;
    }
    if (!who.username) { showLogin(""); return; }
    if (!who.manages && who.role !== "regional") { showLogin(i18n.t("not_allowed")); return; }
    $("#login").hidden = true;
    $("#overview-board").hidden = false;
    $("#sign-out").hidden = false;
    $("#reports-link").hidden = false;
    $("#reports-link").href = `/reports?lang=${i18n.language}`;
    connect();
  }

  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    const url = new URL(window.location.href);
    url.searchParams.set("lang", i18n.language);
    window.history.replaceState(null, "", url);
    $("#reports-link").href = `/reports?lang=${i18n.language}`;
    render();
  });
  $("#region").addEventListener("change", (event) => {
    region = event.target.value;
    const url = new URL(window.location.href);
    if (region) url.searchParams.set("region", region); else url.searchParams.delete("region");
    window.history.replaceState(null, "", url);
    if (socket) watch();
  });
  $("#sign-out").addEventListener("click", async () => {
    await API.delete("/api/session").catch((error) => {
      if (error.status === 0) throw error;
    });
    window.location.reload();
  });
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await API.post("/api/session", { username: form.get("username"), password: form.get("password") });
    } catch (error) {
      if (!(error instanceof API.Error)) throw error;
      if (error.code === "password_change_required") {
        const session = await window.HallPassword.change({ language: i18n.language, username: form.get("username"),
          current: form.get("password"), reason: error.details.reason });
        if (session) window.location.reload();
        return;
      }
      $("#login-error").textContent = error.code === "too_many_attempts"
        ? i18n.t("too_many_attempts", { minutes: Math.ceil((error.details.retry_after_s || 60) / 60) })
        : i18n.t("bad_login");
      return;
    }
    window.location.reload();
  });
  start();
})();
