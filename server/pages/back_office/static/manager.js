/* The manager page: live hall (role "manager"), estimate accuracy, follow-ups, device faults.
   Renders what the server says; refetches the side lists when events say they changed (debounced). */
(function () {
  "use strict";
  const PAGE = window.MANAGER_PAGE;
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
    },
  }, window.PAGE_LANGUAGE);

  const $ = (selector) => document.querySelector(selector);
  let snapshot = null;
  let refetchTimer = null;

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
    if (who.role !== "manager") {
      showLogin(who.username ? i18n.t("not_manager") : "");
      return;
    }
    $("#login").hidden = true;
    $("#board").hidden = false;
    $("#sign-out").hidden = false;
    startLive();
  }

  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    if (snapshot) { renderCounters(); renderServices(); }
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
