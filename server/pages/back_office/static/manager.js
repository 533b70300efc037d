/* The manager page: live hall (role "manager"), ticket issuing (issuing-card.js), estimate accuracy, follow-ups,
   device faults, paired devices (devices-card.js).
   Renders what the server says; refetches the side lists when events say they changed (debounced). */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("manager-config").textContent);
  const V = PAGE.vocabulary; // the domain's states and event kinds, as the server tells them
  const API = window.HallApi;
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "值班经理", reconnecting: "正在重新连接…", sign_out: "退出", sign_in: "经理登录", username: "用户名",
      password: "密码", sign_in_button: "登录", counters: "窗口", services: "业务排队", service: "业务", waiting: "等候",
      estimate: "新票预计等候", target: "目标", accuracy: "等候预估准确度（最近）",
      accuracy_hint: "取号时给出的预估与实际叫号等候之差（分钟）。区间命中应接近 80%。", count: "样本", bias: "偏差",
      coverage: "区间命中", under5: "低估>5分", follow_ups: "不满意回访", faults: "设备故障", none: "暂无",
      all: "全部", open: "营业中", paused: "暂停", closed: "未开", serving: "办理中", called: "已叫号", idle: "空闲",
      resolve: "处理完毕", resolve_note: "处理说明（必填）", not_manager: "需要经理账号", bad_login: "用户名或密码错误",
      too_many_attempts: "密码错误次数过多，此设备已暂时锁定，请 {minutes} 分钟后再试",
      min: "{n} 分钟", fault: "故障", ok: "正常", no_printer: "无打印机", unknown: "未知", failed: "失败 {n} 次",
      by: "{staff} · {counter}号窗口", minutes_over: "超出目标",
      days: "日终汇总（最近 14 天）", days_hint: "每个营业日结束时统计。等候：取号到首次叫号。", day: "日期",
      issued: "取号", served: "办结", no_shows: "过号", cancelled: "取消", expired: "日终过期", wait_mean: "平均等候",
      wait_p90: "90% 等候", within_target: "达标率", satisfaction: "满意率", total: "合计",
      rated: "{share}（{n} 条评价）", no_days: "还没有结束的营业日",
      // the ticket issuing card and its stop dialog (issuing-card.js)
      issuing: "取号控制", stop_all: "全部停止取号", issuing_state: "取号状态", scheduled: "已安排的停止取号",
      stop_title: "停止取号", stop_title_for: "停止取号 · {scope}", stop_scope: "停止范围", reason: "原因",
      custom_hint: "取号机同时显示中英文原因，两种语言都要填写。", text_zh: "中文原因", text_en: "英文原因",
      starts: "开始", start_now: "立即", start_at: "从今天", start_time: "开始时间", start_at_after: "起",
      lasts: "持续到", until_day_end: "今天营业结束", until_resumed: "直到我恢复取号", cancel: "取消",
      stop_confirm: "立即停止取号", stop_confirm_later: "安排停止取号", custom_reason: "其他原因…",
      error_service: "没有这项业务", error_reason: "请选择原因", error_text: "请填写中文和英文原因",
      error_text_zh: "请填写中文原因（最多 {max} 字）", error_text_en: "请填写英文原因（最多 {max} 个字符）",
      error_starts_at: "请选择今天稍后的时间", error_start_time: "请选择开始时间",
      error_until: "结束早于开始：请选择更早的开始时间，或“直到我恢复取号”",
      until_time: "至 {time}", until_resume: "直到手动恢复", whole_branch: "全网点", whole_branch_all: "全网点（全部业务）",
      offline: "无法连接服务器，请重试", already_over: "这次停止取号已经结束", resume: "恢复取号", stopped: "已停止取号",
      closed_now: "未到营业时间", hours: "营业时间 {hours}", cap_reached: "今日号已发完", cap: "每日上限 {n} 张",
      issuing_now: "取号中", branch_stopped: "全网点已停止取号", stop: "停止取号", from_time: "{time} 起",
      cancel_stop: "取消", all_services: "全部业务", until_resumed_text: "直到您恢复取号",
      until_day_end_text: "直到今天营业结束", waiting_keep: "正在等候的 {n} 位客户保留排队位置",
      waiting_none: "目前无人等候", confirm_now: "{service}将不再发放新号，{until}；{waiting}。",
      confirm_from: "从今天 {time} 起，{service}将不再发放新号，{until}；{waiting}。",
      start_passed: "（{time} 已过，立即开始。）",
      // the devices card (devices-card.js)
      devices: "设备", pair_code: "配对码", pair_role: "设备用途", pair_name: "名称（可选）", pair_button: "批准配对",
      pair_hint: "未配对的设备（评价器，以及本网点要求配对的取号机和显示屏）会显示 6 位配对码：在此输入，确认用途后批准。",
      pair_asked: "该设备请求作为：{role}（{time} 起，{agent}）", pair_unknown: "没有设备显示这个配对码（配对码 {minutes} 分钟内有效）",
      pair_code_needed: "请输入设备上显示的 6 位配对码", pair_done: "已配对：{role}", device: "设备",
      device_status: "状态", last_seen: "最近心跳", no_devices: "还没有已配对的设备", device_online: "在线",
      device_offline: "离线", offline_since: "自 {time} 起（{for}）", device_revoked: "已撤销",
      revoked_by: "{time} · {who}", rename: "改名", rename_prompt: "设备名称（留空则显示用途）", revoke: "撤销",
      revoke_confirm: "撤销“{name}”的配对？该设备将立即失去权限，并重新显示配对码。", offline_n: "{n} 台离线",
      hours_n: "{n} 小时", administration: "系统管理",
    },
    en: {
      title: "Manager", reconnecting: "Reconnecting…", sign_out: "Sign out", sign_in: "Manager sign-in",
      username: "Username", password: "Password", sign_in_button: "Sign in", counters: "Counters",
      services: "Queues by service", service: "Service", waiting: "Waiting", estimate: "New ticket's wait",
      target: "Target", accuracy: "Wait estimate accuracy (recent)",
      accuracy_hint: "Estimate given at issue vs. the actual wait until the call (minutes). Coverage should be near 80%.",
      count: "Tickets", bias: "Bias", coverage: "Coverage", under5: "Under >5 min", follow_ups: "Dissatisfied ratings to follow up",
      faults: "Device faults", none: "None", all: "All", open: "Open", paused: "Paused", closed: "Closed",
      serving: "Serving", called: "Called", idle: "Idle", resolve: "Resolve", resolve_note: "Resolution note (required)",
      not_manager: "A manager account is needed", bad_login: "Wrong username or password", min: "{n} min",
      too_many_attempts: "Too many wrong passwords: this device is locked out. Try again in {minutes} min",
      fault: "Fault", ok: "OK", no_printer: "No printer", unknown: "Unknown", failed: "{n} failed",
      by: "{staff} · counter {counter}", minutes_over: "over target",
      days: "Day summaries (last 14 days)", days_hint: "Counted when each service day ends. Wait: from the ticket to its first call.",
      day: "Day", issued: "Issued", served: "Served", no_shows: "No-shows", cancelled: "Cancelled",
      expired: "Expired at day end", wait_mean: "Mean wait", wait_p90: "90% wait", within_target: "Within target",
      satisfaction: "Satisfied", total: "Total", rated: "{share} ({n} ratings)", no_days: "No service day has ended yet",
      // the ticket issuing card and its stop dialog (issuing-card.js)
      issuing: "Ticket issuing", stop_all: "Stop all issuing", issuing_state: "Status", scheduled: "Scheduled stops",
      stop_title: "Stop issuing", stop_title_for: "Stop issuing · {scope}", stop_scope: "Stop for", reason: "Reason",
      custom_hint: "Kiosks show the reason in both languages: fill in both.", text_zh: "Reason in Chinese",
      text_en: "Reason in English", starts: "Starts", start_now: "Now", start_at: "From", start_time: "Start time",
      start_at_after: "today", lasts: "Lasts", until_day_end: "Until the end of today", until_resumed: "Until I resume",
      cancel: "Cancel", stop_confirm: "Stop issuing now", stop_confirm_later: "Schedule the stop",
      custom_reason: "Other reason…", error_service: "No such service", error_reason: "Choose a reason",
      error_text: "Enter the reason in Chinese and in English",
      error_text_zh: "Enter the reason in Chinese (at most {max} characters)",
      error_text_en: "Enter the reason in English (at most {max} characters)",
      error_starts_at: "Choose a later time today", error_start_time: "Choose a start time",
      error_until: "It would end before it starts: choose an earlier start, or “Until I resume”",
      until_time: "until {time}", until_resume: "until resumed", whole_branch: "Whole branch",
      whole_branch_all: "Whole branch (every service)", offline: "The server cannot be reached: try again",
      already_over: "That stop is already over", resume: "Resume issuing", stopped: "Stopped",
      closed_now: "Outside hours", hours: "Hours {hours}", cap_reached: "Daily limit reached", cap: "{n} tickets a day",
      issuing_now: "Issuing", branch_stopped: "Ticket issue is stopped for the whole branch", stop: "Stop issuing",
      from_time: "From {time}", cancel_stop: "Cancel", all_services: "every service",
      until_resumed_text: "until you resume issuing", until_day_end_text: "until the end of today",
      waiting_keep: { one: "the {n} customer waiting keeps their place", other: "the {n} customers waiting keep their place" },
      waiting_none: "no one is waiting now", confirm_now: "New tickets for {service} will be refused {until}; {waiting}.",
      confirm_from: "From {time} today, new tickets for {service} will be refused {until}; {waiting}.",
      start_passed: "({time} has passed: the stop starts now.)",
      // the devices card (devices-card.js)
      devices: "Devices", pair_code: "Pairing code", pair_role: "Use as", pair_name: "Name (optional)",
      pair_button: "Approve pairing",
      pair_hint: "A device that is not paired (rating pads, and kiosks or displays where this branch requires it) shows a 6-digit code: enter it here, check what it is for, approve.",
      pair_asked: "This device asks to be: {role} (since {time}, {agent})",
      pair_unknown: "No device shows this code (codes last {minutes} minutes)",
      pair_code_needed: "Enter the 6-digit code the device shows", pair_done: "Paired: {role}", device: "Device",
      device_status: "Status", last_seen: "Last heartbeat", no_devices: "No device is paired yet",
      device_online: "Online", device_offline: "Offline", offline_since: "since {time} ({for})",
      device_revoked: "Revoked", revoked_by: "{time} · {who}", rename: "Rename",
      rename_prompt: "The device's name (blank: show what it is for)", revoke: "Revoke",
      revoke_confirm: "Revoke the pairing of “{name}”? The device loses its access at once and shows a pairing code again.",
      offline_n: { one: "{n} offline", other: "{n} offline" }, hours_n: { one: "{n} hour", other: "{n} hours" },
      administration: "Administration",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  let snapshot = null;
  let refetchTimer = null;
  const issuing = IssuingCard.create({ page: PAGE, i18n, api, resync: () => HallLive.client && HallLive.client.resync() });
  const devicesCard = DevicesCard.create({ page: PAGE, i18n, api });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /** The branch's API: the answer's JSON, or a HallApi.Error whose message the lists show. */
  function api(path, options) {
    return API.request((options && options.method) || "GET", PAGE.api + path, options);
  }

  function renderCounters() {
    const box = $("#counters");
    box.replaceChildren();
    for (const counter of snapshot.counters) {
      const card = el("div", "counter " + counter.status);
      card.append(el("div", "name", i18n.pick(counter.name)));
      const state = counter.status === "paused" && counter.pause_reason
        ? i18n.t("paused") + " · " + counter.pause_reason : i18n.t(counter.status);
      card.append(el("div", "state", state + (counter.staff ? " · " + counter.staff : "")));
      card.append(el("div", "ticket", counter.current ? counter.current.number : "—"));
      if (counter.current) card.append(el("div", "state", i18n.t(counter.current.state === "serving" ? "serving" : "called")));
      box.append(card);
    }
  }

  function renderServices() {
    const body = $("#services tbody");
    body.replaceChildren();
    for (const service of snapshot.services) {
      const row = el("tr");
      row.append(el("td", "", i18n.pick(service.name)));
      row.append(el("td", "num", String(service.waiting)));
      const estimate = el("td", "", service.estimate ? i18n.pick(service.estimate.text) : "");
      if (service.estimate && service.estimate.known && service.estimate.expected_min > service.target_wait_min) {
        estimate.classList.add("over");
        estimate.title = i18n.t("minutes_over");
      }
      row.append(estimate);
      row.append(el("td", "num", i18n.t("min", { n: service.target_wait_min })));
      body.append(row);
    }
  }

  function serviceName(code) {
    if (code === "ALL") return i18n.t("all");
    const service = PAGE.services.find((s) => s.code === code);
    return service ? i18n.pick(service.name) : code;
  }

  async function loadAccuracy() {
    const data = await api("/estimates/accuracy");
    const body = $("#accuracy tbody");
    body.replaceChildren();
    if (!data.services.length) {
      const row = el("tr");
      const cell = el("td", "empty", i18n.t("none"));
      cell.colSpan = 6;
      row.append(cell);
      body.append(row);
    }
    for (const figures of data.services) {
      const row = el("tr");
      row.append(el("td", "", serviceName(figures.service)));
      row.append(el("td", "num", String(figures.count)));
      row.append(el("td", "num", figures.mae_min.toFixed(1)));
      const bias = Math.abs(figures.bias_min) < 0.05 ? 0 : figures.bias_min;
      row.append(el("td", "num", (bias > 0 ? "+" : "") + bias.toFixed(1)));
      row.append(el("td", "num", Math.round(figures.coverage * 100) + "%"));
      row.append(el("td", "num", (figures.under_5_share * 100).toFixed(1) + "%"));
      body.append(row);
    }
  }

  function minutes(seconds) {
    return seconds === null || seconds === undefined ? "—" : i18n.t("min", { n: (seconds / 60).toFixed(1) });
  }

  function share(part, whole) {
    return whole ? Math.round((100 * part) / whole) + "%" : "—";
  }

  async function loadDays() {
    const data = await api("/days");
    const body = $("#days tbody");
    body.replaceChildren();
    if (!data.days.length) {
      const row = el("tr");
      const cell = el("td", "empty", i18n.t("no_days"));
      cell.colSpan = 11;
      row.append(cell);
      body.append(row);
    }
    for (const day of data.days) {
      day.services.forEach((figures, index) => {
        const row = el("tr", index === 0 ? "day-start" : "");
        row.append(el("td", "", index === 0 ? day.day : ""));
        row.append(el("td", "", serviceName(figures.service_code)));
        for (const name of ["issued", "served", "no_shows", "cancelled", "expired"]) {
          row.append(el("td", "num" + (name === "expired" && figures.expired ? " over" : ""), String(figures[name])));
        }
        row.append(el("td", "num", minutes(figures.wait_mean_s)));
        row.append(el("td", "num", minutes(figures.wait_p90_s)));
        row.append(el("td", "num", share(figures.within_target, figures.called)));
        row.append(el("td", "num", figures.rated
          ? i18n.t("rated", { share: share(figures.satisfied, figures.rated), n: figures.rated }) : "—"));
        body.append(row);
      });
    }
  }

  async function loadFollowUps() {
    const list = $("#follow-ups");
    let data;
    try {
      data = await api("/follow-ups");
    } catch (error) {
      list.replaceChildren(el("li", "empty", error.message));
      return;
    }
    list.replaceChildren();
    if (!data.follow_ups.length) list.append(el("li", "empty", i18n.t("none")));
    for (const item of data.follow_ups) {
      const li = el("li");
      li.append(el("strong", "", item.ticket.number));
      const text = [i18n.pick(item.ticket.service_name),
        i18n.t("by", { staff: item.staff_display_name || item.staff || "?", counter: item.counter || "?" }),
        ...item.reasons.map((r) => i18n.pick(r.text) || r.code)];
      if (item.comment) text.push("“" + item.comment + "”");
      li.append(el("span", "grow", text.join(" · ")));
      const button = el("button", "primary", i18n.t("resolve"));
      button.type = "button";
      button.addEventListener("click", async () => {
        const note = window.prompt(i18n.t("resolve_note"));
        if (!note) return;
        await api(`/follow-ups/${item.id}/resolve`, { method: "POST", body: { note } });
        loadFollowUps();
      });
      li.append(button);
      list.append(li);
    }
  }

  async function loadFaults() {
    const list = $("#faults");
    let data;
    try {
      data = await api("/device-faults");
    } catch (error) {
      list.replaceChildren(el("li", "empty", error.message));
      return;
    }
    list.replaceChildren();
    if (!data.kiosks.length) list.append(el("li", "empty", i18n.t("none")));
    for (const kiosk of data.kiosks) {
      const li = el("li");
      li.append(el("strong", "", kiosk.name ? i18n.pick(kiosk.name) : kiosk.kiosk));
      li.append(el("span", kiosk.status === "fault" ? "over" : "", i18n.t(kiosk.status)));
      li.append(el("span", "grow", kiosk.failed ? i18n.t("failed", { n: kiosk.failed }) : ""));
      list.append(li);
    }
  }

  function refetchSoon() {
    if (refetchTimer) return;
    refetchTimer = setTimeout(() => {
      refetchTimer = null;
      loadAccuracy().catch(() => {});
      loadDays().catch(() => {});
      loadFollowUps();
      loadFaults();
    }, 1500);
  }

  function startLive() {
    HallLive.connect({
      branch: PAGE.branch.code,
      role: "manager",
      onSnapshot(next) {
        snapshot = next;
        renderCounters();
        renderServices();
        issuing.show(next); // stops and resumes come as events marked resync: every one ends up here
        refetchSoon(); // also after a service day ended (its event brings a fresh snapshot): the day's figures
      },
      onEvent(event) {
        if ("holds_counter" in event) {
          // a ticket moved at a counter: the server says what that counter holds now
          const counter = snapshot && snapshot.counters.find((c) => c.number === event.counter);
          if (counter) {
            counter.current = event.holds_counter ? event.ticket : null;
            renderCounters();
          }
        }
        // a counter opened, paused or closed: take a fresh view of the hall (staff names, pause reasons)
        if (V.counter_kinds.includes(event.kind)) HallLive.client.resync();
        if (["called", "rated", "follow_up_opened", "follow_up_resolved", "print_failed", "printed"].includes(event.kind)) {
          refetchSoon();
        }
      },
      onSummary(summary) {
        if (!snapshot) return;
        for (const service of snapshot.services) {
          const live = summary.services[service.code];
          if (live) Object.assign(service, { waiting: live.waiting, estimate: live.estimate });
        }
        renderServices();
        issuing.render(); // the waiting counts, and what the stop dialog says will happen to them
      },
      onRefused(answer) {
        showLogin(answer.error === "forbidden" ? i18n.t("not_manager") : "");
      },
    });
  }

  function showLogin(message) {
    // not connected on purpose: the "reconnecting" mark would mislead whoever is about to sign in
    document.documentElement.dataset.live = "signed-out";
    $("#board").hidden = true;
    $("#login").hidden = false;
    $("#sign-out").hidden = true;
    $("#login-error").textContent = message || "";
  }

  async function start() {
    i18n.apply(document);
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    const who = await API.get("/api/session");
    if (who.role !== "manager" && who.role !== "admin") {
      showLogin(who.username ? i18n.t("not_manager") : "");
      return;
    }
    $("#login").hidden = true;
    $("#to-admin").hidden = who.role !== "admin"; // the hall set-up of this branch, for its administrators
    $("#to-admin").href = `/admin/${encodeURIComponent(PAGE.branch.code)}?lang=${i18n.language}`;
    $("#board").hidden = false;
    $("#sign-out").hidden = false;
    startLive();
    devicesCard.load();
  }

  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    if (snapshot) { renderCounters(); renderServices(); issuing.render(); }
    devicesCard.render();
    refetchSoon();
  });
  $("#sign-out").addEventListener("click", async () => {
    await API.delete("/api/session").catch((error) => {
      if (error.status === 0) throw error; // unreachable: still signed in
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
      $("#login-error").textContent = error.code === "too_many_attempts"
        ? i18n.t("too_many_attempts", { minutes: Math.ceil((error.details.retry_after_s || 60) / 60) })
        : i18n.t("bad_login");
      return;
    }
    window.location.reload();
  });
  start();
})();
