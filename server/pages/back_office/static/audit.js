/* The audit log's page: filters, the entries a page at a time ("load more"), and the CSV export.
   Shows what the server says: the actions' and fields' names come with the entries, in both languages. */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("audit-config").textContent);
  const API = window.HallApi;
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "审计日志", back: "返回值班经理", sign_in_first: "请先以经理身份登录", go_sign_in: "前往值班经理页面登录",
      not_manager: "审计日志只对本网点的经理开放。", signed_out: "尚未登录，或登录已过期。",
      from: "起始日期", to: "截止日期", action: "操作", person: "人员", search: "搜索内容", apply: "筛选",
      reset: "清除", export: "导出表格", entries: "记录", all_actions: "全部操作", all_people: "全部人员",
      col_time: "时间", col_who: "人员", col_action: "操作", col_what: "对象", col_changes: "变更（之前 → 之后）",
      col_device: "设备", col_address: "网络地址", empty: "没有符合条件的记录", more: "加载更多",
      shown: "显示 {n} 条", shown_more: "显示 {n} 条，还有更早的记录", nobody: "（未登录）", system: "系统",
      none: "—", offline: "无法连接服务器，请稍后重试", bad_query: "筛选条件有误：{parameter}",
      bad_range: "截止日期不能早于起始日期", failed: "读取失败：{message}", retry: "重试",
      param_from: "起始日期", param_to: "截止日期", param_action: "操作", param_user: "人员", param_q: "搜索内容",
      param_branch: "网点", param_limit: "条数", param_before_id: "分页",
    },
    en: {
      title: "Audit log", back: "Back to the manager page", sign_in_first: "Sign in as a manager first",
      go_sign_in: "Sign in on the manager page", not_manager: "The audit log is open to this branch's managers only.",
      signed_out: "Not signed in, or the session has ended.",
      from: "From", to: "To", action: "Action", person: "Person", search: "Search", apply: "Filter",
      reset: "Clear", export: "Export CSV", entries: "Entries", all_actions: "All actions", all_people: "Everyone",
      col_time: "Time", col_who: "Who", col_action: "Action", col_what: "What", col_changes: "Before → after",
      col_device: "Device", col_address: "Address", empty: "No entries match these filters", more: "Load more",
      shown: { one: "{n} entry shown", other: "{n} entries shown" },
      shown_more: { one: "{n} entry shown; older ones follow", other: "{n} entries shown; older ones follow" },
      nobody: "(not signed in)", system: "system",
      none: "—", offline: "The server cannot be reached: try again in a moment", bad_query: "A filter is not valid: {parameter}",
      bad_range: "The end date is before the start date", failed: "Could not read the log: {message}", retry: "Retry",
      param_from: "From", param_to: "To", param_action: "Action", param_user: "Person", param_q: "Search",
      param_branch: "Branch", param_limit: "Entries", param_before_id: "Page",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  const form = $("#filters");
  let entries = [];
  let nextBeforeId = null;
  let loading = false;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /** The filters as the API takes them (the page's branch always). */
  function filters() {
    const data = new FormData(form);
    const query = new URLSearchParams({ branch: PAGE.branch.code });
    for (const name of ["from", "to", "action", "user", "q"]) {
      const value = String(data.get(name) || "").trim();
      if (value) query.set(name, value);
    }
    return query;
  }

  function exportHref() {
    const query = filters();
    query.set("lang", i18n.language);
    return PAGE.csv + "?" + query.toString();
  }

  function fillSelects() {
    const action = form.elements.action;
    const user = form.elements.user;
    const chosenAction = action.value;
    const chosenUser = user.value;
    action.replaceChildren(new Option(i18n.t("all_actions"), ""));
    for (const item of PAGE.actions) action.append(new Option(i18n.pick(item.label), item.code));
    user.replaceChildren(new Option(i18n.t("all_people"), ""));
    // people by the names they go by; the user name only tells apart two people of the same name
    const shared = (name) => PAGE.people.filter((p) => p.display_name === name).length > 1;
    for (const person of PAGE.people) {
      const label = shared(person.display_name) ? `${person.display_name} (${person.username})` : person.display_name;
      user.append(new Option(label, person.username));
    }
    action.value = chosenAction;
    user.value = chosenUser;
  }

  function who(entry) {
    if (entry.username === null) return entry.role === "system" ? i18n.t("system") : i18n.t("nobody");
    return entry.display_name || entry.username;
  }

  function shown(value) {
    const text = i18n.pick(value);
    return text === "" ? i18n.t("none") : text;
  }

  function changesCell(entry) {
    const cell = el("td", "changes");
    if (!entry.changes.length) return cell;
    const list = el("ul", "change-list");
    for (const change of entry.changes) {
      const item = el("li");
      item.append(el("span", "field", i18n.pick(change.label) + ": "));
      if (entry.before !== null) { // a creation has no "before": its values alone
        item.append(el("span", "before", shown(change.before)));
        item.append(el("span", "arrow", " → "));
      }
      item.append(el("span", "after", shown(change.after)));
      list.append(item);
    }
    cell.append(list);
    return cell;
  }

  function row(entry) {
    const tr = el("tr");
    tr.dataset.action = entry.action;
    const time = el("td", "time");
    time.append(el("span", "day", entry.at.slice(0, 10)), el("span", "clock", entry.at.slice(11, 19)));
    tr.append(time);
    const person = el("td", "who", who(entry));
    if (entry.username) person.title = entry.username; // the account, for whoever needs to tell two namesakes apart
    tr.append(person);
    tr.append(el("td", "action", i18n.pick(entry.action_label)));
    tr.append(el("td", "what", entry.target_label ? i18n.pick(entry.target_label) : ""));
    tr.append(changesCell(entry));
    tr.append(el("td", "device", entry.device || ""));
    tr.append(el("td", "address", entry.address || ""));
    return tr;
  }

  function render() {
    const body = $("#entries tbody");
    body.replaceChildren(...entries.map(row));
    $("#empty").hidden = entries.length > 0 || loading;
    $("#more").hidden = nextBeforeId === null;
    $("#shown").textContent = entries.length
      ? i18n.t(nextBeforeId === null ? "shown" : "shown_more", { n: entries.length }) : "";
    $("#export").href = exportHref();
  }

  function problem(error) {
    if (!(error instanceof API.Error) || error.status === 0) return i18n.t("offline");
    if (error.code === "bad_query") {
      const name = error.details.parameter;
      if (name === "to" && form.elements.from.value && form.elements.to.value) return i18n.t("bad_range");
      return i18n.t("bad_query", { parameter: i18n.t("param_" + name) });
    }
    return i18n.t("failed", { message: error.message });
  }

  function showSignedOut(why) {
    $("#audit-board").hidden = true;
    $("#signed-out").hidden = false;
    $("#signed-out-why").textContent = i18n.t(why);
  }

  async function load(more) {
    if (loading) return;
    loading = true;
    $("#load-error").textContent = "";
    $("#filter-error").textContent = "";
    const query = filters();
    query.set("limit", String(PAGE.page_size));
    if (more && nextBeforeId !== null) query.set("before_id", String(nextBeforeId));
    try {
      const answer = await API.get(PAGE.api + "?" + query.toString());
      entries = more ? entries.concat(answer.entries) : answer.entries;
      nextBeforeId = answer.next_before_id;
    } catch (error) {
      if (error instanceof API.Error && error.status === 401) return showSignedOut("signed_out");
      if (error instanceof API.Error && error.status === 403) return showSignedOut("not_manager");
      if (!more) { entries = []; nextBeforeId = null; }
      const target = error instanceof API.Error && error.code === "bad_query" ? "#filter-error" : "#load-error";
      $(target).textContent = problem(error);
    } finally {
      loading = false;
      render();
    }
  }

  function applyLanguage() {
    i18n.apply(document);
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    const lang = "?lang=" + i18n.language;
    $("#back").href = PAGE.manager_page + lang;
    $("#sign-in-link").href = PAGE.manager_page + lang;
    fillSelects();
    render();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  $("#clear-filters").addEventListener("click", () => {
    form.reset();
    load(false);
  });
  form.addEventListener("input", () => { $("#export").href = exportHref(); });
  $("#more").addEventListener("click", () => load(true));
  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    applyLanguage();
  });

  async function start() {
    applyLanguage();
    document.documentElement.dataset.live = "static"; // no live connection here: nothing to reconnect
    let who;
    try {
      who = await API.get("/api/session");
    } catch (error) {
      showSignedOut("signed_out");
      $("#signed-out-why").textContent = problem(error);
      return;
    }
    if (!who.username) return showSignedOut("signed_out");
    if (who.role !== "manager") return showSignedOut("not_manager");
    $("#audit-board").hidden = false;
    await load(false);
  }
  start();
})();
