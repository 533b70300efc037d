/*
 * Staff sign-in: username and password (POST /api/session), then the counter and today's services
 * (POST .../counters/<n>/sign-in {services, takeover}), then on to the console. The counters' current
 * state comes from the staff snapshot over HTTP once; this page has no live connection of its own.
 */
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("page-config").textContent);
  const C = window.StaffCommon;
  const el = C.el;
  const i18n = window.HallI18n.create(window.STAFF_TEXTS, C.initialLanguage(document.documentElement.lang));
  const $ = (id) => document.getElementById(id);

  let me = null; // {username, display_name, role}
  let counters = []; // the staff snapshot's counters: status, staff, services, configured_services
  let chosen = page.counter; // a counter number

  function counterConfig(number) {
    return page.counters.find((c) => c.number === number);
  }

  function serviceName(code) {
    const service = page.services.find((s) => s.code === code);
    return service ? i18n.pick(service.name) : code;
  }

  function showMessage(text, kind) {
    const box = $("signin-message");
    box.textContent = text;
    box.dataset.kind = kind || "error";
    box.hidden = !text;
  }

  function errorText(answer) {
    const data = answer.data || {};
    if (answer.status === 0) return i18n.t("err_network");
    const key = {
      bad_credentials: "bad_credentials", counter_busy: "err_counter_busy", counter_occupied: "err_counter_occupied",
      unauthenticated: "err_unauthenticated",
    }[data.error];
    if (data.error === "too_many_attempts") {
      return i18n.t("too_many_attempts", { minutes: Math.ceil(((data.details || {}).retry_after_s || 60) / 60) });
    }
    if (key) return i18n.t(key, { current: (data.details || {}).current || "" });
    return i18n.t("err_generic", { message: data.message || answer.status });
  }

  // --- step 1: who ----------------------------------------------------------------------------------

  function showLogin() {
    me = null;
    $("counter-step").hidden = true;
    $("login-form").hidden = false;
    $("username").focus();
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("login-button");
    button.disabled = true;
    button.textContent = i18n.t("signing_in");
    const answer = await C.request("POST", "/api/session",
      { username: $("username").value.trim(), password: $("password").value });
    button.disabled = false;
    button.textContent = i18n.t("sign_in");
    if (!answer.ok) {
      showMessage(errorText(answer));
      $("password").select();
      return;
    }
    showMessage("");
    $("password").value = "";
    me = answer.data;
    await showCounters();
  });

  $("switch-user").addEventListener("click", async () => {
    await C.request("DELETE", "/api/session");
    showMessage("");
    showLogin();
  });

  // --- step 2: where and what ------------------------------------------------------------------------

  async function showCounters() {
    $("login-form").hidden = true;
    $("counter-step").hidden = false;
    $("hello").textContent = i18n.t("hello", { name: me.display_name });
    const answer = await C.request("GET", `${page.api}/snapshot?view=staff`);
    if (!answer.ok) {
      if (answer.status === 401 || answer.status === 403) return showLogin();
      showMessage(errorText(answer));
      return;
    }
    counters = answer.data.counters;
    if (!chosen) {
      const mine = counters.find((c) => c.staff === me.username);
      chosen = mine ? mine.number : null;
    }
    renderCounters();
    if (chosen) selectCounter(chosen, false);
  }

  function counterState(number) {
    return counters.find((c) => c.number === number) || { status: "closed", staff: null, services: [] };
  }

  function renderCounters() {
    const grid = $("counter-grid");
    grid.replaceChildren();
    for (const config of page.counters) {
      const state = counterState(config.number);
      let status = i18n.t("counter_free");
      let kind = "free";
      if (state.staff === me.username) { status = i18n.t("counter_you"); kind = "mine"; }
      else if (state.staff) { status = i18n.t("counter_taken", { staff: state.staff }); kind = "taken"; }
      if (state.staff && state.status === "paused") status += ` · ${i18n.t("counter_paused")}`;
      grid.append(el("button", {
        type: "button", class: `counter-card ${kind}`, role: "radio", "data-counter": config.number,
        "aria-checked": String(config.number === chosen),
        onclick: () => selectCounter(config.number, true),
      },
      el("span", { class: "counter-card-name", text: i18n.pick(config.name) }),
      el("span", { class: "counter-card-services", text: config.services.map(serviceName).join(" · ") }),
      el("span", { class: "counter-card-status", text: status })));
    }
  }

  function selectCounter(number, focus, keepChoices) {
    chosen = number;
    const config = counterConfig(number);
    if (!config) return;
    const state = counterState(number);
    for (const card of $("counter-grid").children) {
      card.setAttribute("aria-checked", String(card.dataset.counter === number));
    }
    const ticked = Array.from(document.querySelectorAll("#service-choices input:checked"), (box) => box.value);
    const today = keepChoices ? ticked : state.staff === me.username ? state.services : config.services;
    const choices = $("service-choices");
    choices.replaceChildren();
    for (const code of config.services) {
      const id = `service-${code}`;
      choices.append(el("label", { class: "choice", for: id },
        el("input", { type: "checkbox", id, value: code, checked: today.includes(code), "data-service": code }),
        el("span", { text: serviceName(code) })));
    }
    const taken = state.staff && state.staff !== me.username;
    $("takeover-box").hidden = !taken;
    $("takeover-check").checked = false;
    if (taken) {
      $("takeover-question").textContent = i18n.t("takeover_question",
        { staff: state.staff, counter: i18n.pick(config.name) });
    }
    $("start-button").textContent = i18n.t(state.staff === me.username ? "continue_at" : "start_at",
      { counter: i18n.pick(config.name) });
    $("services-step").hidden = false;
    showMessage("");
    if (focus) $("services-step").scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  $("start-button").addEventListener("click", async () => {
    const config = counterConfig(chosen);
    if (!config) return;
    const services = Array.from(document.querySelectorAll("#service-choices input:checked"), (box) => box.value);
    if (!services.length) return showMessage(i18n.t("services_none"));
    const state = counterState(chosen);
    const takeover = $("takeover-check").checked;
    if (state.staff && state.staff !== me.username && !takeover) {
      showMessage($("takeover-question").textContent, "info");
      $("takeover-check").focus();
      return;
    }
    const button = $("start-button");
    button.disabled = true;
    const answer = await C.request("POST", `${page.api}/counters/${encodeURIComponent(chosen)}/sign-in`,
      { services, takeover });
    button.disabled = false;
    if (answer.ok) {
      location.assign(page.console_url.replace("__N__", encodeURIComponent(chosen)));
      return;
    }
    if (answer.status === 401) return showLogin();
    showMessage(errorText(answer));
    if (answer.data.error === "counter_occupied") await showCounters();
  });

  // --- language -------------------------------------------------------------------------------------

  function applyLanguage() {
    i18n.apply(document);
    $("branch-name").textContent = i18n.pick(page.branch.name);
    document.title = `${i18n.t("signin_title")} — ${i18n.pick(page.branch.name)}`;
    if (me) {
      $("hello").textContent = i18n.t("hello", { name: me.display_name });
      renderCounters();
      if (chosen) selectCounter(chosen, false, !$("services-step").hidden);
    }
  }

  $("language-button").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "en" ? "zh-CN" : "en");
    C.rememberLanguage(i18n.language);
  });
  i18n.onChange(applyLanguage);

  async function start() {
    applyLanguage();
    document.documentElement.dataset.live = "live"; // no live connection on this page: hide the mark
    const who = await C.request("GET", "/api/session");
    if (who.ok && who.data.username) {
      me = who.data;
      await showCounters();
    } else {
      showLogin();
    }
  }

  start();
})();
