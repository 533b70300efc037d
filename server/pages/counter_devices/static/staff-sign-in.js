/*
 * Staff sign-in: username and password (POST /api/session), then the counter and today's services
 * (POST .../counters/<n>/sign-in {services, takeover}), then on to the console. The counters' current
 * state comes from the staff snapshot over HTTP once; this page has no live connection of its own.
 */
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("page-config").textContent);
  const C = window.StaffCommon;
  const API = window.HallApi;
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

  /** What a failed request (a HallApi.Error) means to the person at the tablet. */
  function errorText(error) {
    if (error.status === 0) return i18n.t("err_network");
    const key = {
      bad_credentials: "bad_credentials", counter_busy: "err_counter_busy", counter_occupied: "err_counter_occupied",
      unauthenticated: "err_unauthenticated",
    }[error.code];
    if (error.code === "too_many_attempts") {
      return i18n.t("too_many_attempts", { minutes: Math.ceil((error.details.retry_after_s || 60) / 60) });
    }
    if (key) return i18n.t(key, { current: error.details.current || "" });
    return i18n.t("err_generic", { message: error.data.message || error.status });
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
    let who;
    try {
      who = await API.post("/api/session", { username: $("username").value.trim(), password: $("password").value });
    } catch (error) {
      if (error.code === "password_change_required") { // right password, but it must be replaced first
        button.disabled = false;
        button.textContent = i18n.t("sign_in");
        who = await window.HallPassword.change({ language: i18n.language, username: $("username").value.trim(),
          current: $("password").value, reason: error.details.reason });
        if (who) {
          showMessage("");
          $("password").value = "";
          me = who;
          await showCounters();
        }
        return;
      }
      showMessage(errorText(error));
      $("password").select();
      return;
    } finally {
      button.disabled = false;
      button.textContent = i18n.t("sign_in");
    }
    showMessage("");
    $("password").value = "";
    me = who;
    await showCounters();
  });

  $("switch-user").addEventListener("click", async () => {
    await API.delete("/api/session").catch(() => null); // as before: on to the form whatever the answer
    showMessage("");
    showLogin();
  });

  // --- step 2: where and what ------------------------------------------------------------------------

  async function showCounters() {
    $("login-form").hidden = true;
    $("counter-step").hidden = false;
    $("hello").textContent = i18n.t("hello", { name: me.display_name });
    let snapshot;
    try {
      snapshot = await API.get(`${page.api}/snapshot?view=staff`);
    } catch (error) {
      if (error.status === 401 || error.status === 403) return showLogin();
      showMessage(errorText(error));
      return;
    }
    counters = snapshot.counters;
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
      else if (state.staff) { status = i18n.t("counter_taken", { staff: state.staff_name || state.staff }); kind = "taken"; }
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
        { staff: state.staff_name || state.staff, counter: i18n.pick(config.name) });
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
    try {
      await API.post(`${page.api}/counters/${encodeURIComponent(chosen)}/sign-in`, { services, takeover });
    } catch (error) {
      button.disabled = false;
      if (error.status === 401) return showLogin();
      showMessage(errorText(error));
      if (error.code === "counter_occupied") await showCounters();
      return;
    }
    button.disabled = false;
    location.assign(page.console_url.replace("__N__", encodeURIComponent(chosen)));
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
    const who = await API.get("/api/session").catch(() => null);
    if (who && who.username) {
      me = who;
      await showCounters();
    } else {
      showLogin();
    }
  }

  start();
})();
