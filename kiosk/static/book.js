/*
 * Online booking on a phone: branch (nearest first when the phone shares its place) → service → day → slot →
 * phone number with consent → the booking code and its QR; with a code in the URL (/book/<code>), the customer
 * types the phone number, then sees the booking, changes its time or cancels it. Every rule (slots, seats, the
 * per-phone limits, the cut-off) is the server's: the page shows what the API answers and its refusals' reasons.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("book-config").textContent);
  const LANGUAGE_STORE = "hall-booking-language";
  const i18n = HallI18n.create(window.BOOK_TEXTS, config.language || localStorage.getItem(LANGUAGE_STORE) || "zh-CN");
  const $ = (id) => document.getElementById(id);
  const STEPS = ["branch", "service", "slot", "phone", "find", "done"];
  const state = {
    step: null, branches: [], located: null, branch: null, catalogue: null, service: null, day: null,
    slots: null, slot: null, booking: null, phone: null, changing: false, outcome: "booked",
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    children.flat().forEach((child) => child !== null && child !== undefined && node.append(child));
    return node;
  }

  // --- errors -----------------------------------------------------------------------------------------------

  function showError(error) {
    let text = i18n.t("err_generic");
    if (error instanceof HallApi.Error) {
      const details = error.details || {};
      if (details.text) text = i18n.pick(details.text);
      else if (error.code === "too_many_requests") text = i18n.t("err_too_many_requests", { n: details.retry_after_s || 60 });
      else if (["network", "timeout"].includes(error.code)) text = i18n.t("err_network");
      else if (window.BOOK_TEXTS.en[`err_${error.code}`]) text = i18n.t(`err_${error.code}`);
    }
    $("error").textContent = text;
    $("error").hidden = false;
    $("error").scrollIntoView({ block: "nearest" });
  }

  function clearError() {
    $("error").hidden = true;
  }

  async function attempt(work) {
    clearError();
    try {
      return await work();
    } catch (error) {
      showError(error);
      return undefined;
    }
  }

  // --- formatting in the branch's time zone -------------------------------------------------------------------

  function zone() {
    return (state.catalogue && state.catalogue.timezone) || "Asia/Shanghai";
  }

  function dayLabel(iso) {
    const days = (state.catalogue && state.catalogue.days) || [];
    if (iso === days[0]) return i18n.t("today");
    if (iso === days[1]) return i18n.t("tomorrow");
    const at = new Date(`${iso}T12:00:00Z`);
    return new Intl.DateTimeFormat(i18n.language, { weekday: "short", month: "numeric", day: "numeric", timeZone: "UTC" })
      .format(at);
  }

  function when(iso) {
    return new Intl.DateTimeFormat(i18n.language, {
      weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone(),
    }).format(new Date(iso));
  }

  // --- steps ---------------------------------------------------------------------------------------------------

  function go(step) {
    state.step = step;
    STEPS.forEach((name) => { $(`step-${name}`).hidden = name !== step; });
    render();
    window.scrollTo(0, 0);
  }

  function render() {
    i18n.apply(document);
    document.querySelectorAll(".lang").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.lang === i18n.language));
    });
    ({ branch: drawBranches, service: drawServices, slot: drawSlots, phone: drawPhone, find: drawFind,
       done: drawDone })[state.step]?.();
  }

  // 1. branch
  async function loadBranches(position) {
    const query = position ? `?lat=${position.lat.toFixed(5)}&lon=${position.lon.toFixed(5)}` : "";
    const answer = await attempt(() => HallApi.get(`${config.api}/booking/branches${query}`));
    if (answer) {
      state.branches = answer.branches;
      render();
    }
  }

  function drawBranches() {
    const near = $("near-status");
    near.hidden = state.located === null;
    if (state.located) near.textContent = i18n.t(state.located);
    $("branches").replaceChildren(...state.branches.map((branch) => el("li", {},
      el("button", { type: "button", class: "choice", onclick: () => pickBranch(branch.code) },
        el("span", { class: "choice-name", text: i18n.pick(branch.name) }),
        el("span", { class: "choice-sub", text: [i18n.pick(branch.district), i18n.pick(branch.address)].filter(Boolean).join(" · ") }),
        branch.distance_km === null ? null
          : el("span", { class: "choice-badge", text: i18n.t("km", { n: branch.distance_km.toFixed(1) }) })))));
  }

  function nearMe() {
    if (!navigator.geolocation) {
      state.located = "near_refused";
      render();
      return;
    }
    state.located = "near_asking";
    render();
    navigator.geolocation.getCurrentPosition(
      (found) => {
        state.located = "near_done";
        loadBranches({ lat: found.coords.latitude, lon: found.coords.longitude });
      },
      () => { state.located = "near_refused"; render(); },
      { timeout: 10000, maximumAge: 600000 });
  }

  // 2. service
  async function pickBranch(code, serviceCode) {
    const catalogue = await attempt(() => HallApi.get(`${config.api}/booking/${encodeURIComponent(code)}/services`));
    if (!catalogue) return;
    state.branch = code;
    state.catalogue = catalogue;
    // a link that names the service (the kiosk's long-wait QR, the phone ticket's card) goes on to its days
    const named = serviceCode && catalogue.services.find((service) => service.code === serviceCode);
    if (named) {
      await pickService(named);
      return;
    }
    go("service");
  }

  function drawServices() {
    $("picked-branch").textContent = i18n.pick(state.catalogue.branch_name);
    $("service-note").hidden = !config.service_ignored;
    $("services").replaceChildren(...state.catalogue.services.map((service) => el("li", {},
      el("button", { type: "button", class: "choice", "data-service": service.code, onclick: () => pickService(service) },
        el("span", { class: "choice-name", text: i18n.pick(service.name) }),
        el("span", { class: "choice-sub", text: i18n.t("slot_minutes", { n: service.slot_min }) })))));
  }

  // 3. day and slot
  async function pickService(service) {
    state.service = service;
    state.day = state.day && state.catalogue.days.includes(state.day) ? state.day : state.catalogue.days[0];
    await loadSlots();
    go("slot");
  }

  async function loadSlots() {
    const url = `${config.api}/booking/${encodeURIComponent(state.branch)}/services/${encodeURIComponent(state.service.code)}`
      + `/slots?day=${state.day}`;
    const answer = await attempt(() => HallApi.get(url));
    state.slots = answer || null;
    if (state.step === "slot") render();
  }

  function drawSlots() {
    $("picked-service").textContent = `${i18n.pick(state.catalogue.branch_name)} · ${i18n.pick(state.service.name)}`;
    $("back-from-slot").hidden = state.changing;
    $("days").replaceChildren(...state.catalogue.days.map((day) => el("button", {
      type: "button", class: "day", "aria-pressed": String(day === state.day), "data-day": day,
      onclick: async () => { state.day = day; await loadSlots(); render(); },
    }, dayLabel(day))));
    const slots = (state.slots && state.slots.slots) || [];
    const note = $("slots-note");
    const offered = slots.filter((slot) => slot.left > 0);
    note.hidden = offered.length > 0;
    note.textContent = state.slots && state.slots.closed_for
      ? i18n.t("closed_for", { name: i18n.pick(state.slots.closed_for) }) : i18n.t("no_slots");
    $("slots").replaceChildren(...slots.filter((slot) => Date.parse(slot.start) > Date.now() || slot.left > 0)
      .map((slot) => el("button", {
        type: "button", class: "slot", disabled: slot.left <= 0, "data-time": slot.time,
        onclick: () => pickSlot(slot),
      }, el("span", { class: "slot-time", text: slot.time }),
      el("span", { class: "slot-left", text: slot.left > 0 ? i18n.t("left", { n: slot.left }) : i18n.t("full") }))));
  }

  function pickSlot(slot) {
    state.slot = slot;
    if (state.changing) {
      change();
      return;
    }
    go("phone");
  }

  // 4. phone and consent
  function drawPhone() {
    $("picked-slot").textContent = `${i18n.pick(state.catalogue.branch_name)} · ${i18n.pick(state.service.name)} · `
      + when(state.slot.start);
  }

  async function book(event) {
    event.preventDefault();
    const button = $("book-it");
    button.disabled = true;
    const made = await attempt(() => HallApi.post(`${config.api}/booking/${encodeURIComponent(state.branch)}/bookings`, {
      service: state.service.code, start: state.slot.start, phone: $("phone").value, name: $("name").value || null,
      consent: $("consent").checked, language: i18n.language,
    }));
    button.disabled = false;
    if (!made) {
      if (state.slot) loadSlots();
      return;
    }
    state.booking = made;
    state.phone = $("phone").value;
    state.outcome = "booked_title";
    go("done");
  }

  // 5. the booking: code, QR, manage
  function drawFind() {
    $("find-code").textContent = `${config.code.slice(0, 4)}-${config.code.slice(4)}`;
  }

  async function find(event) {
    event.preventDefault();
    const phone = $("find-phone").value;
    const found = await attempt(() => HallApi.post(`${config.api}/booking/lookup`, { code: config.code, phone }));
    if (!found) return;
    state.booking = found;
    state.phone = phone;
    state.outcome = found.state === "cancelled" ? "cancelled_title" : "your_booking";
    await loadCatalogue(found.branch);
    go("done");
  }

  async function loadCatalogue(branch) {
    const catalogue = await attempt(() => HallApi.get(`${config.api}/booking/${encodeURIComponent(branch)}/services`));
    if (catalogue) {
      state.branch = branch;
      state.catalogue = catalogue;
    }
  }

  function drawDone() {
    const booking = state.booking;
    $("done-title").textContent = i18n.t(state.outcome);
    $("code").textContent = booking.code_display;
    const qr = $("qr");
    qr.src = `/book/qr.svg?code=${encodeURIComponent(booking.code)}`;
    qr.alt = `${i18n.t("code")} ${booking.code_display}`;
    const cancelled = booking.state === "cancelled";
    $("step-done").dataset.state = booking.state;
    $("facts").replaceChildren(
      ...[["f_branch", i18n.pick(booking.branch_name)], ["f_service", i18n.pick(booking.service_name)],
        ["f_when", when(booking.start)], ["f_phone", booking.phone]]
        .map(([key, value]) => el("div", {}, el("dt", { text: i18n.t(key) }), el("dd", { text: value }))));
    // its customer learns of a check-in they did not make (a stranger who knew the number): staff can undo it
    const checkedIn = $("checked-in");
    checkedIn.hidden = !booking.ticket_number;
    checkedIn.textContent = booking.ticket_number
      ? i18n.t("checked_in_note", { time: booking.checked_in_time, number: booking.ticket_number }) : "";
    $("change-until").textContent = cancelled ? "" : booking.may_change
      ? i18n.t("change_until", { when: when(booking.change_until) }) : i18n.t("no_change");
    const managing = Boolean(config.code) && state.phone !== null;  // the /book/<code> page, once the number is in
    $("manage-link").href = `/book/${booking.code}`;
    $("manage-link").parentElement.hidden = managing;
    $("manage-actions").hidden = !managing || cancelled || !booking.may_change;
  }

  async function cancel() {
    const done = await attempt(() => HallApi.post(`${config.api}/booking/cancel`, { code: state.booking.code, phone: state.phone }));
    $("confirm").hidden = true;
    if (!done) return;
    state.booking = done;
    state.outcome = "cancelled_title";
    render();
  }

  async function startChange() {
    if (!state.catalogue) await loadCatalogue(state.booking.branch);
    state.service = state.catalogue.services.find((s) => s.code === state.booking.service)
      || { code: state.booking.service, name: state.booking.service_name, slot_min: 0 };
    state.changing = true;
    state.day = state.booking.day;
    await loadSlots();
    go("slot");
  }

  async function change() {
    const moved = await attempt(() => HallApi.post(`${config.api}/booking/change`, {
      code: state.booking.code, phone: state.phone, start: state.slot.start,
    }));
    if (!moved) return;
    state.booking = moved;
    state.changing = false;
    state.outcome = "changed_title";
    go("done");
  }

  // --- wiring ----------------------------------------------------------------------------------------------------

  document.querySelectorAll(".lang").forEach((button) => button.addEventListener("click", () => {
    i18n.setLanguage(button.dataset.lang);
    localStorage.setItem(LANGUAGE_STORE, i18n.language);
    render();
  }));
  document.querySelectorAll("[data-back]").forEach((button) => button.addEventListener("click", () => {
    clearError();
    if (button.dataset.back === "slot") loadSlots();
    go(button.dataset.back);
  }));
  $("near-me").addEventListener("click", nearMe);
  $("phone-form").addEventListener("submit", book);
  $("find-form").addEventListener("submit", find);
  $("cancel").addEventListener("click", () => { $("confirm").hidden = false; });
  $("cancel-no").addEventListener("click", () => { $("confirm").hidden = true; });
  $("cancel-yes").addEventListener("click", cancel);
  $("change").addEventListener("click", startChange);

  if (config.code) {
    go("find");
  } else {
    go("branch");
    loadBranches(null);
    if (config.branch) pickBranch(config.branch, config.service);
  }
})();
