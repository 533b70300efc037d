/* The day's bookings of a branch (staff and managers): per slot, the customer's number and name masked; and "book
   for a customer" at the counter or on the phone (the customer agrees to the use of their number out loud, staff
   tick it). Shows what the server answers (server/services/booking.py): no booking rule lives here. */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("bookings-config").textContent);
  const API = window.HallApi;
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "预约", back: "返回值班经理", sign_in_first: "请先以本网点员工或经理身份登录",
      go_sign_in: "前往值班经理页面登录", signed_out: "尚未登录，或登录已过期。",
      not_allowed: "预约列表只对本网点的员工和经理开放。",
      day: "日期", show: "查看", list: "当天预约", empty: "当天没有预约",
      col_time: "时间", col_service: "业务", col_code: "预约码", col_customer: "顾客", col_state: "状态", col_by: "来源",
      state_booked: "已预约", state_cancelled: "已取消", online: "网上", by_staff: "员工 {name}",
      summary: "{n} 个预约（已取消 {cancelled} 个）", no_phone: "（号码已删除）",
      book_for: "代客预约", slot: "时段", phone: "手机号码", name: "称呼（选填）",
      consent: "顾客同意使用其号码处理本次预约", book: "预约", pick_service: "请选择业务", no_slots: "当天没有可预约的时段",
      left: "{time}（剩 {n} 个）", booked: "已预约：{code}，{time}，请告知顾客预约码。",
      offline: "无法连接服务器，请稍后重试", failed: "操作失败：{message}", bad_query: "请选择日期",
      col_checkin: "签到", check_in: "签到", state_checked_in: "已签到", state_no_show: "未到（爽约）",
      no_shows: "爽约 {n} 个", checked_in: "{code} 已签到：{number} 号{when}", from_time: "，{time} 起叫号",
      walk_in: "（已迟到，按普通号排队）",
      undo_checkin: "撤销签到", undo_confirm: "撤销 {code} 的签到？其号票（尚未叫号）将被取消，顾客可重新签到。",
      undone: "{code} 的签到已撤销，号票已取消；顾客可用预约码重新签到。",
    },
    en: {
      title: "Bookings", back: "Back to the manager page", sign_in_first: "Sign in as staff or a manager of this branch",
      go_sign_in: "Sign in on the manager page", signed_out: "Not signed in, or the session has ended.",
      not_allowed: "The bookings are open to this branch's staff and managers.",
      day: "Day", show: "Show", list: "The day's bookings", empty: "No bookings that day",
      col_time: "Time", col_service: "Service", col_code: "Code", col_customer: "Customer", col_state: "State",
      col_by: "Booked", state_booked: "Booked", state_cancelled: "Cancelled", online: "Online",
      by_staff: "Staff {name}",
      summary: { one: "{n} booking ({cancelled} cancelled)", other: "{n} bookings ({cancelled} cancelled)" },
      no_phone: "(number deleted)",
      book_for: "Book for a customer", slot: "Slot", phone: "Mobile number", name: "Name (optional)",
      consent: "The customer agrees to the use of their number for this booking", book: "Book",
      pick_service: "Choose a service", no_slots: "No bookable slots that day",
      left: "{time} ({n} left)", booked: "Booked: {code} at {time}; tell the customer the code.",
      offline: "The server cannot be reached: try again in a moment", failed: "Refused: {message}",
      bad_query: "Choose a day",
      col_checkin: "Check-in", check_in: "Check in", state_checked_in: "Checked in", state_no_show: "No-show",
      no_shows: { one: "{n} no-show", other: "{n} no-shows" },
      checked_in: "{code} checked in: ticket {number}{when}", from_time: ", called from {time}",
      walk_in: " (late: queued as a walk-in)",
      undo_checkin: "Undo check-in",
      undo_confirm: "Undo the check-in of {code}? Its ticket (not called yet) is cancelled; the customer can check in again.",
      undone: "The check-in of {code} is undone and its ticket cancelled; the customer can check in again with the code.",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  const dayForm = $("#day-form");
  const bookForm = $("#book-form");
  const branch = encodeURIComponent(PAGE.branch.code);
  let day = null;
  let listing = null;
  let catalogue = null;
  let slots = [];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function localToday() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: PAGE.branch.timezone, year: "numeric", month: "2-digit",
      day: "2-digit" }).format(new Date());
  }

  function problem(error) {
    if (!(error instanceof API.Error) || error.status === 0) return i18n.t("offline");
    if (error.details && error.details.text) return i18n.pick(error.details.text);
    if (error.code === "bad_query") return i18n.t("bad_query");
    return i18n.t("failed", { message: error.message });
  }

  function showSignedOut(why) {
    $("#bookings-board").hidden = true;
    $("#signed-out").hidden = false;
    $("#signed-out-why").textContent = i18n.t(why);
  }

  function renderList() {
    const body = $("#list tbody");
    body.replaceChildren();
    const rows = listing ? listing.bookings : [];
    $("#empty").hidden = rows.length > 0 || !listing;
    for (const booking of rows) {
      const tr = el("tr", booking.state);
      tr.dataset.code = booking.code;
      tr.append(el("td", "time", booking.time), el("td", "service", i18n.pick(booking.service_name) || booking.service),
        el("td", "code", booking.code_display),
        el("td", "customer", booking.phone ? [booking.name, booking.phone].filter(Boolean).join(" ") : i18n.t("no_phone")),
        el("td", "state", i18n.t(`state_${stateOf(booking)}`)),
        el("td", "by", booking.channel === "staff" ? i18n.t("by_staff", { name: booking.booked_by }) : i18n.t("online")),
        checkinCell(booking));
      body.append(tr);
    }
    const cancelled = rows.filter((b) => b.state === "cancelled").length;
    const summary = listing ? [i18n.t("summary", { n: rows.length - cancelled, cancelled })] : [];
    if (listing && listing.no_shows) summary.push(i18n.t("no_shows", { n: listing.no_shows }));
    $("#summary").textContent = summary.join(" · ");
  }

  function stateOf(booking) {
    if (booking.checked_in) return "checked_in";
    if (booking.no_show) return "no_show";
    return booking.state;
  }

  function checkinCell(booking) {
    const cell = el("td", "checkin");
    // whether the check-in is allowed now is the server's rule: it answers a refusal with its reason
    if (booking.state === "booked" && !booking.checked_in && day === localToday()) {
      const button = el("button", "check-in", i18n.t("check_in"));
      button.type = "button";
      button.addEventListener("click", () => checkIn(booking, button));
      cell.append(button);
    } else if (booking.checked_in && day === localToday()) {
      // someone who was not the customer checked the booking in: staff take it back (audited); whether the ticket
      // may still be cancelled is the server's rule (a called ticket is refused with its reason)
      const button = el("button", "undo-check-in secondary", i18n.t("undo_checkin"));
      button.type = "button";
      button.addEventListener("click", () => undoCheckIn(booking, button));
      cell.append(button);
    }
    return cell;
  }

  async function undoCheckIn(booking, button) {
    $("#day-error").textContent = "";
    $("#checkin-done").textContent = "";
    if (!window.confirm(i18n.t("undo_confirm", { code: booking.code_display }))) return;
    button.disabled = true;
    try {
      await API.post(`${PAGE.api}/branches/${branch}/bookings/${encodeURIComponent(booking.code)}/checkin/undo`, {});
      $("#checkin-done").textContent = i18n.t("undone", { code: booking.code_display });
      await load();
    } catch (error) {
      button.disabled = false;
      $("#day-error").textContent = problem(error);
    }
  }

  async function checkIn(booking, button) {
    $("#day-error").textContent = "";
    $("#checkin-done").textContent = "";
    button.disabled = true;
    try {
      const answer = await API.post(`${PAGE.api}/branches/${branch}/bookings/${encodeURIComponent(booking.code)}/checkin`,
        { language: i18n.language });
      const when = answer.callable_from_time ? i18n.t("from_time", { time: answer.callable_from_time })
        : answer.outcome === "walk_in" ? i18n.t("walk_in") : "";
      $("#checkin-done").textContent = i18n.t("checked_in", { code: booking.code_display, number: answer.ticket.number,
        when });
      await load();
    } catch (error) {
      button.disabled = false;
      $("#day-error").textContent = problem(error);
    }
  }

  function renderForm() {
    const services = bookForm.elements.service;
    const chosen = services.value;
    services.replaceChildren(el("option", "", i18n.t("pick_service")));
    services.firstChild.value = "";
    for (const service of (catalogue ? catalogue.services : [])) {
      const option = el("option", "", i18n.pick(service.name));
      option.value = service.code;
      services.append(option);
    }
    services.value = chosen;
    const starts = bookForm.elements.start;
    const open = slots.filter((slot) => slot.left > 0);
    starts.replaceChildren(...open.map((slot) => {
      const option = el("option", "", i18n.t("left", { time: slot.time, n: slot.left }));
      option.value = slot.start;
      return option;
    }));
    if (services.value && !open.length) starts.append(el("option", "", i18n.t("no_slots")));
  }

  async function loadSlots() {
    const service = bookForm.elements.service.value;
    slots = [];
    if (service) {
      try {
        const answer = await API.get(`${PAGE.api}/booking/${branch}/services/${encodeURIComponent(service)}/slots?day=${day}`);
        slots = answer.slots;
      } catch (error) {
        $("#book-error").textContent = problem(error);
      }
    }
    renderForm();
  }

  async function load() {
    $("#day-error").textContent = "";
    day = dayForm.elements.date.value;
    if (!day) { $("#day-error").textContent = i18n.t("bad_query"); return; }
    try {
      listing = await API.get(`${PAGE.api}/branches/${branch}/bookings?day=${encodeURIComponent(day)}`);
    } catch (error) {
      if (error instanceof API.Error && error.status === 401) return showSignedOut("signed_out");
      if (error instanceof API.Error && error.status === 403) return showSignedOut("not_allowed");
      listing = null;
      $("#day-error").textContent = problem(error);
    }
    $("#bookings-board").hidden = false;
    renderList();
    await loadSlots();
  }

  async function book(event) {
    event.preventDefault();
    $("#book-error").textContent = "";
    $("#book-done").textContent = "";
    const form = bookForm.elements;
    try {
      const made = await API.post(`${PAGE.api}/branches/${branch}/bookings`, {
        service: form.service.value, start: form.start.value, phone: form.phone.value, name: form.name.value || null,
        consent: form.consent.checked, language: i18n.language,
      });
      $("#book-done").textContent = i18n.t("booked", { code: made.code_display, time: made.time });
      form.phone.value = "";
      form.name.value = "";
      form.consent.checked = false;
      await load();
    } catch (error) {
      $("#book-error").textContent = problem(error);
    }
  }

  function applyLanguage() {
    i18n.apply(document);
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    const lang = "?lang=" + i18n.language;
    $("#back").href = PAGE.manager_page + lang;
    $("#sign-in-link").href = PAGE.manager_page + lang;
    renderList();
    renderForm();
  }

  dayForm.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  bookForm.addEventListener("submit", book);
  bookForm.elements.service.addEventListener("change", loadSlots);
  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    applyLanguage();
  });

  async function start() {
    document.documentElement.dataset.live = "static"; // no live connection here: nothing to reconnect
    dayForm.elements.date.value = new URLSearchParams(window.location.search).get("date") || localToday();
    applyLanguage();
    try {
      catalogue = await API.get(`${PAGE.api}/booking/${branch}/services`);
      dayForm.elements.date.min = catalogue.days[0];
    } catch (error) {
      catalogue = null;
    }
    renderForm();
    load();
  }
  start();
})();
