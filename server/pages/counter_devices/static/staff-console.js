/*
 * The staff console at one counter (tablet first; keyboard shortcuts on a desktop).
 *
 * State comes from the server only: the live snapshot (role "staff") on every (re)join, then
 * GET .../counters/<n>/queue, which answers with the counter (status, today's services, the current
 * ticket in the staff view), its waiting tickets in the order this counter will call them, and its parked
 * tickets, all at one sequence number. Events that touch this counter or its queue schedule that fetch
 * (debounced: at most about three a second). The page never orders or filters tickets itself.
 *
 * Commands go through the JSON API with the ticket's version, so an action on a stale screen is refused
 * (409 stale) and answered with a clear message and a refreshed view. Call-next carries an
 * Idempotency-Key per button press (kept for a retry after a network failure).
 *
 * After a no-show the server says until when it may be taken back (undo_until); the undo bar counts down to
 * it, and the server decides whether the undo is still possible (seconds left, counter not moved on). The queue
 * answer also lists the branch's no-shows that may still be re-activated, with until when.
 */
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("page-config").textContent);
  const C = window.StaffCommon;
  const el = C.el;
  const i18n = window.HallI18n.create(window.STAFF_TEXTS, C.initialLanguage(document.documentElement.lang));
  const $ = (id) => document.getElementById(id);

  const API = page.api;
  const COUNTER = page.counter.number;
  const ME = page.me.username;
  const V = page.vocabulary; // the domain's states, event kinds and actions, as the server tells them
  const ACTIVE = V.counter_states; // a ticket in these states is the counter's current ticket
  const REACTIVATABLE = V.reactivatable_states; // a ticket in these states may go back into the queue
  const QUEUE_GAP_MS = 300; // at most ~3 queue fetches a second
  const LIST_LIMIT = 80; // rows drawn of a long queue
  const PERSONAL_KINDS = ["finished", "no_show", "rated", "follow_up_opened"];

  const state = {
    seq: -1, // sequence number of the applied counter view
    counter: null, // the counter, staff view: status, staff, pause_reason, paused_at, services, current
    waiting: [],
    parked: [],
    noShows: [], // the branch's no-shows that may still be re-activated, with reactivate_until (server's order)
    undo: null, // {ticket, until (this tablet's ms), total (ms), key}: the last no-show, while it may be undone
    counters: [], // every counter's status (for the transfer dialog), from the snapshot and counter events
    myDay: null,
    offsetMs: 0, // server clock minus this tablet's clock
    busy: false,
    callKey: null, // Idempotency-Key of a call-next whose answer has not arrived yet
    awayReason: "",
    sessionEnded: false, // this tablet's sign-in ended elsewhere (disabled, password changed or reset, everywhere)
    mutation: 0, // bumped on every local change: a queue answer requested before it is outdated
    loaded: false,
  };

  // --- small helpers --------------------------------------------------------------------------------

  const serviceByCode = new Map(page.services.map((s) => [s.code, s]));
  const counterByNumber = new Map(page.counters.map((c) => [c.number, c]));

  function serviceName(code) {
    const service = serviceByCode.get(code);
    return service ? i18n.pick(service.name) : code || "";
  }

  function counterName(number) {
    const counter = counterByNumber.get(number);
    return counter ? i18n.pick(counter.name) : number;
  }

  function stateName(ticketState) {
    return i18n.t(`state_${ticketState}`);
  }

  function now() {
    return Date.now() + state.offsetMs;
  }

  function noteServerTime(iso) {
    const at = Date.parse(iso);
    if (!Number.isNaN(at)) state.offsetMs = at - Date.now();
  }

  function secondsSince(iso) {
    const at = Date.parse(iso);
    return Number.isNaN(at) ? null : Math.max(0, (now() - at) / 1000);
  }

  function clock(seconds) {
    if (seconds === null) return "";
    const s = Math.floor(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  function minutes(seconds) {
    if (seconds === null) return "";
    return i18n.t("minutes", { m: Math.floor(seconds / 60) });
  }

  function current() {
    return state.counter ? state.counter.current : null;
  }

  function isMine() {
    return Boolean(state.counter && state.counter.staff === ME);
  }

  function setCurrent(ticket) {
    if (!state.counter) return;
    const active = ticket && ticket.counter === COUNTER && ACTIVE.includes(ticket.state);
    state.counter.current = active ? ticket : null;
  }

  // --- messages -------------------------------------------------------------------------------------

  let messageTimer = null;

  function showMessage(text, kind) {
    const box = $("console-message");
    clearTimeout(messageTimer);
    if (!text) {
      box.hidden = true;
      return;
    }
    $("console-message-text").textContent = text;
    box.dataset.kind = kind || "error";
    box.hidden = false;
    messageTimer = setTimeout(() => { box.hidden = true; }, kind === "info" ? 4000 : 15000);
  }

  $("console-message-close").addEventListener("click", () => showMessage(""));

  /** A refused or failed command: say what happened in the staff member's language, then refresh. */
  function handleError(error, context) {
    const details = error.details || {};
    const number = (context && context.number) || "";
    let text;
    switch (error.status === 0 ? "network" : error.code) {
      case "network": text = i18n.t("err_network"); break;
      case "database_busy": text = i18n.t("err_database_busy"); break;
      case "database_unavailable": text = i18n.t("err_database_unavailable"); break;
      case "stale": text = i18n.t("err_stale", { number, state: stateName(details.state || "") }); break;
      case "illegal_transition": text = i18n.t("err_illegal"); break;
      case "counter_busy": text = i18n.t("err_counter_busy", { current: details.current || "" }); break;
      case "counter_moved_on": text = i18n.t("err_counter_moved_on", { current: details.current || "" }); break;
      case "undo_window_passed": text = i18n.t("err_undo_window_passed"); break;
      case "reactivate_window_passed": text = i18n.t("err_reactivate_window_passed"); break;
      case "counter_paused": text = i18n.t("err_counter_paused"); break;
      case "not_eligible": text = i18n.t("err_not_eligible"); break;
      case "not_your_counter": text = i18n.t("err_not_your_counter"); break;
      case "counter_closed": text = i18n.t("err_counter_closed"); break;
      case "counter_occupied": text = i18n.t("err_counter_occupied"); break;
      case "unauthenticated": text = i18n.t("err_unauthenticated"); break;
      default: text = i18n.t("err_generic", { message: error.data.message || String(error.status) });
    }
    showMessage(text, "error");
    if (error.status === 401) {
      state.awayReason = text;
      state.sessionEnded = true;
      if (state.counter) state.counter.staff = null;
      render();
      return;
    }
    if (error.status !== 0) refresh();
  }

  // --- reading state --------------------------------------------------------------------------------

  let queueTimer = null;
  let queueInFlight = false;
  let queuePending = false;
  let lastQueueStart = 0;

  /** Ask for the counter's queue soon (coalescing bursts of events into one request). */
  function scheduleQueue() {
    if (queueInFlight) {
      queuePending = true;
      return;
    }
    if (queueTimer) return;
    const wait = Math.max(60, lastQueueStart + QUEUE_GAP_MS - Date.now());
    queueTimer = setTimeout(() => {
      queueTimer = null;
      fetchQueue();
    }, wait);
  }

  async function fetchQueue() {
    queueInFlight = true;
    lastQueueStart = Date.now();
    const askedAt = state.mutation;
    const answer = await request("GET", `${API}/counters/${encodeURIComponent(COUNTER)}/queue`);
    queueInFlight = false;
    if (!answer.error) {
      if (askedAt !== state.mutation) {
        queuePending = true; // something changed locally meanwhile: this answer may predate it
      } else if (answer.data.seq >= state.seq) {
        state.seq = answer.data.seq;
        state.counter = answer.data.counter_state;
        state.waiting = answer.data.waiting;
        state.parked = answer.data.parked;
        state.noShows = answer.data.no_shows || [];
        state.loaded = true;
        render();
      }
    } else if (answer.error.status === 401) {
      handleError(answer.error, {});
    }
    if (queuePending) {
      queuePending = false;
      scheduleQueue();
    }
  }

  let dayTimer = null;

  function scheduleMyDay() {
    clearTimeout(dayTimer);
    dayTimer = setTimeout(fetchMyDay, 400);
  }

  async function fetchMyDay() {
    const answer = await request("GET", `${API}/staff/me/today`);
    if (!answer.error) {
      state.myDay = answer.data;
      renderMyDay();
    }
  }

  /** A local change (a command's answer, or an event applied at once): the server's view follows. */
  function localChange() {
    state.mutation += 1;
    render();
    scheduleQueue();
  }

  function refresh() {
    state.mutation += 1;
    scheduleQueue();
    scheduleMyDay();
  }

  // --- the live connection --------------------------------------------------------------------------

  function onSnapshot(snapshot) {
    noteServerTime(snapshot.generated_at);
    state.counters = snapshot.counters.map((c) => ({ number: c.number, status: c.status, staff: c.staff }));
    const mine = snapshot.counters.find((c) => c.number === COUNTER);
    if (mine && snapshot.seq >= state.seq) {
      state.seq = snapshot.seq;
      state.counter = mine;
      state.parked = (snapshot.parked || []).filter((t) => t.counter === COUNTER);
      state.loaded = true;
    }
    render();
    refresh(); // the waiting list in this counter's call order comes from the queue endpoint
  }

  /** Does a committed change touch this counter or the tickets it may call? */
  function touchesThisCounter(event) {
    if (event.counter === COUNTER || event.to_counter === COUNTER) return true;
    const ticket = event.ticket;
    if (!ticket) return false;
    if (ticket.counter === COUNTER) return true;
    const services = (state.counter && state.counter.services) || page.counter.services;
    if (services.includes(ticket.service) || services.includes(event.from_service)) return true;
    if (REACTIVATABLE.includes(ticket.state)) return true; // a no-show anywhere in the branch joins the list
    return [state.waiting, state.parked, state.noShows].some((list) => list.some((t) => t.id === ticket.id));
  }

  /** The branch's set-up changed (an administrator's edit): names, services and counters come from the server
   * again, so that a new service shows its name and this counter's new services can be chosen at sign-in. */
  async function refreshSetUp() {
    let data;
    try {
      data = await window.HallApi.get("/api/branches");
    } catch (error) {
      return; // the next change tries again; the codes still show meanwhile
    }
    const branch = data.branches.find((b) => b.code === page.branch.code);
    if (!branch) return;
    page.services = branch.services;
    page.counters = branch.counters;
    const mine = branch.counters.find((c) => c.number === COUNTER);
    if (mine) page.counter = { ...page.counter, name: mine.name, services: mine.services };
    serviceByCode.clear();
    page.services.forEach((service) => serviceByCode.set(service.code, service));
    counterByNumber.clear();
    page.counters.forEach((counter) => counterByNumber.set(counter.number, counter));
    render();
  }

  function onEvent(event) {
    noteServerTime(event.at);
    const kind = event.kind;
    if (kind.startsWith("counter_") && event.counter) {
      const other = state.counters.find((c) => c.number === event.counter);
      if (other && event.status) other.status = event.status;
      if (other && event.private) other.staff = event.status === "closed" ? null : event.private.staff;
    }
    if (event.counter === COUNTER && kind === "counter_signed_out" && event.private && event.private.staff === ME) {
      state.awayReason = event.private.reason || "";
      if (state.counter) state.counter.staff = null;
      state.mutation += 1;
      render();
    }
    const mine = current();
    const ticket = event.ticket;
    if (mine && ticket && ticket.id === mine.id && ticket.version > mine.version) {
      // the ticket at this counter changed (maybe on another tablet): show it at once, details follow
      // (an event carries the public view: the actions its new state allows come from the server's table)
      setCurrent(ticket.counter === COUNTER && ACTIVE.includes(ticket.state)
        ? { ...mine, ...ticket, allowed_actions: V.allowed_actions[ticket.state] } : null);
      state.mutation += 1;
      render();
    }
    if (state.undo && ticket && ticket.id === state.undo.ticket.id && ticket.version > state.undo.ticket.version) {
      dropUndo(); // it changed meanwhile (the customer rejoined from the phone, the other tablet undid it)
    }
    if (touchesThisCounter(event)) scheduleQueue();
    const personal = event.private && (event.private.staff === ME || event.private.rated_staff === ME);
    if (personal && PERSONAL_KINDS.includes(kind)) scheduleMyDay();
  }

  const live = window.HallLive.connect({
    branch: page.branch.code,
    role: "staff",
    onSnapshot,
    onEvent,
    onResync(event) {
      if (event.kind === "hall_changed") refreshSetUp();
    },
    onRefused(answer) {
      showMessage(answer.error === "unauthenticated" ? i18n.t("err_unauthenticated") : answer.message, "error");
      state.sessionEnded = answer.error === "unauthenticated"; // the away view says so until the next sign-in
      state.awayReason = state.sessionEnded ? "" : answer.message || "";
      if (state.counter) state.counter.staff = null;
      render();
    },
  });

  // --- commands -------------------------------------------------------------------------------------

  /** One API call: {data} when it succeeded, {error} (a HallApi.Error, status 0 without an answer) when not. */
  async function request(method, url, options) {
    try {
      return { data: await window.HallApi.request(method, url, options) };
    } catch (error) {
      if (!(error instanceof window.HallApi.Error)) throw error;
      return { error };
    }
  }

  async function command(method, url, body, options) {
    if (state.busy) return null;
    state.busy = true;
    renderBusy();
    try {
      return await request(method, url, { ...(options || {}), body });
    } finally {
      state.busy = false;
      renderBusy();
    }
  }

  async function callNext() {
    if (!state.callKey) state.callKey = window.HallApi.newKey();
    const answer = await command("POST", `${API}/counters/${encodeURIComponent(COUNTER)}/call-next`, undefined,
      { key: state.callKey });
    if (answer === null) return;
    if (!answer.error || answer.error.status !== 0) state.callKey = null; // answered: the next press is a new request
    if (answer.error) return handleError(answer.error, {});
    const ticket = answer.data.ticket;
    if (ticket) {
      setCurrent(ticket);
      showMessage(i18n.t("info_called", { number: ticket.number }), "info");
    } else {
      showMessage(i18n.t("info_nobody"), "info");
    }
    localChange();
  }

  async function callTicket(ticket) {
    const answer = await command("POST", `${API}/counters/${encodeURIComponent(COUNTER)}/call`,
      { ticket_id: ticket.id, version: ticket.version });
    if (answer === null) return;
    if (answer.error) return handleError(answer.error, { number: ticket.number });
    setCurrent(answer.data.ticket);
    showMessage(i18n.t("info_called", { number: ticket.number }), "info");
    localChange();
  }

  /** One tap for a clerk serving back to back: the server finishes and calls in one command. */
  async function finishAndCallNext(ticket) {
    if (!ticket) return;
    if (!state.finishKey) state.finishKey = window.HallApi.newKey();
    const answer = await command("POST", `${API}/counters/${encodeURIComponent(COUNTER)}/finish-and-call-next`,
      { version: ticket.version }, { key: state.finishKey });
    if (answer === null) return;
    if (!answer.error || answer.error.status !== 0) state.finishKey = null; // answered: a new tap is a new request
    if (answer.error) return handleError(answer.error, { number: ticket.number });
    const next = answer.data.ticket;
    setCurrent(next || answer.data.finished);
    showMessage(next ? i18n.t("info_finished_called", { number: ticket.number, next: next.number })
      : i18n.t("info_finished_nobody", { number: ticket.number }), "info");
    localChange();
    scheduleMyDay();
  }

  const DONE_MESSAGES = { finish: "info_finished", "no-show": "info_no_show", return: "info_returned",
                          park: "info_parked" };

  async function ticketAction(action, ticket) {
    if (!ticket) return;
    const answer = await command("POST", `${API}/tickets/${ticket.id}/${action}`, { version: ticket.version });
    if (answer === null) return;
    if (answer.error) return handleError(answer.error, { number: ticket.number });
    setCurrent(answer.data.ticket);
    if (action === "no-show" && answer.data.undo_until) {
      offerUndo(answer.data.ticket, answer.data.undo_until); // the undo bar says it, with the way back
      showMessage("");
    } else if (DONE_MESSAGES[action]) {
      showMessage(i18n.t(DONE_MESSAGES[action], { number: ticket.number }), "info");
    }
    localChange();
    if (action === "finish" || action === "no-show") scheduleMyDay();
  }

  // --- taking back a no-show, and re-activating one ---------------------------------------------------

  let undoTimer = null;

  function offerUndo(ticket, untilIso) {
    const until = Date.parse(untilIso) - state.offsetMs; // on this tablet's clock
    state.undo = { ticket, until, total: Math.max(1, until - Date.now()), key: window.HallApi.newKey() };
    clearInterval(undoTimer);
    undoTimer = setInterval(renderUndo, 200);
    renderUndo();
  }

  function dropUndo() {
    state.undo = null;
    clearInterval(undoTimer);
    undoTimer = null;
    renderUndo();
  }

  async function undoNoShow() {
    const undo = state.undo;
    if (!undo) return;
    const answer = await command("POST", `${API}/tickets/${undo.ticket.id}/undo-no-show`,
      { version: undo.ticket.version }, { key: undo.key });
    if (answer === null) return;
    if (answer.error && answer.error.status === 0) return handleError(answer.error, {}); // same key on a retry
    dropUndo();
    if (answer.error) return handleError(answer.error, { number: undo.ticket.number });
    setCurrent(answer.data.ticket);
    showMessage(i18n.t("info_no_show_undone", { number: undo.ticket.number }), "info");
    localChange();
    scheduleMyDay();
  }

  async function reactivate(ticket) {
    const answer = await command("POST", `${API}/tickets/${ticket.id}/reactivate`);
    if (answer === null) return;
    if (answer.error) return handleError(answer.error, { number: ticket.number });
    if (state.undo && state.undo.ticket.id === ticket.id) dropUndo();
    state.noShows = state.noShows.filter((t) => t.id !== ticket.id);
    showMessage(i18n.t("info_reactivated", { number: ticket.number }), "info");
    localChange();
  }

  /** A customer who took the ticket on the phone is at the counter or in the hall: staff check it in by hand. */
  async function checkIn(ticket) {
    const answer = await command("POST", `${API}/tickets/${ticket.id}/checkin`);
    if (answer === null) return;
    if (answer.error) return handleError(answer.error, { number: ticket.number });
    showMessage(i18n.t("info_checked_in", { number: ticket.number }), "info");
    localChange();
  }

  async function pauseCounter(reason) {
    const answer = await command("POST", `${API}/counters/${encodeURIComponent(COUNTER)}/pause`, { reason });
    if (answer === null) return false;
    if (answer.error) {
      handleError(answer.error, {});
      return answer.error.status !== 0;
    }
    state.counter = answer.data;
    localChange();
    return true;
  }

  async function resumeCounter() {
    const answer = await command("POST", `${API}/counters/${encodeURIComponent(COUNTER)}/resume`);
    if (answer === null) return;
    if (answer.error) return handleError(answer.error, {});
    state.counter = answer.data;
    localChange();
  }

  // --- drawing --------------------------------------------------------------------------------------

  function renderHeader() {
    $("counter-name").textContent = i18n.pick(page.counter.name);
    const status = state.counter ? (isMine() ? state.counter.status : "closed") : "closed";
    const chip = $("counter-status");
    chip.dataset.status = status;
    let label = i18n.t(`status_${status}`);
    if (status === "paused" && state.counter.pause_reason) label += ` · ${reasonText(state.counter.pause_reason)}`;
    chip.textContent = label;
    const services = (state.counter && state.counter.services) || page.counter.services;
    $("services-today").replaceChildren(...services.map((code) => el("span", {
      class: "service-chip", text: serviceName(code),
      style: `--service-colour: ${(serviceByCode.get(code) || {}).colour || "#64748b"}`,
    })));
    $("services-button").disabled = !isMine();
    $("pause-label").textContent = i18n.t(status === "paused" ? "resume_counter" : "pause");
    $("pause-button").dataset.action = status === "paused" ? "resume-counter" : "pause";
    $("pause-button").disabled = !isMine();
    $("me-name").textContent = page.me.display_name;
    $("password-button").disabled = state.sessionEnded; // its sign-in is over: sign in again first
  }

  function reasonText(reason) {
    const known = page.pause_reasons.find((r) => r.code === reason);
    return known ? i18n.pick(known.text) : reason;
  }

  function renderCurrent() {
    const ticket = current();
    const mine = isMine();
    const paused = mine && state.counter.status === "paused";
    const view = !state.loaded ? "loading" : !mine ? "away" : ticket ? "ticket" : paused ? "paused" : "idle";
    $("console").dataset.view = view;
    $("idle-view").hidden = view !== "idle";
    $("paused-view").hidden = view !== "paused";
    $("away-view").hidden = view !== "away";
    $("ticket-view").hidden = view !== "ticket";

    if (view === "idle") {
      const count = state.waiting.length;
      $("call-next-hint").textContent = count ? i18n.t("waiting_for_you", { n: count }) : i18n.t("nobody_waiting");
      $("call-next").dataset.waiting = String(count);
    }
    if (view === "paused") {
      $("paused-reason").textContent = reasonText(state.counter.pause_reason || "");
      // the customers parked here wait through the pause: keep them in sight
      $("paused-parked").hidden = !state.parked.length;
      $("paused-parked-list").replaceChildren(...state.parked.map((ticket) => el("li",
        { "data-number": ticket.number },
        el("strong", { text: ticket.number }), " ",
        el("span", { text: i18n.pick(ticket.service_name) || serviceName(ticket.service) }))));
    }
    if (view === "away") {
      const reason = state.awayReason;
      const taken = state.counter && state.counter.staff && state.counter.staff !== ME;
      $("away-view").dataset.why = state.sessionEnded ? "session-ended" : taken ? "taken" : "closed";
      $("away-title").textContent = i18n.t(state.sessionEnded ? "away_session_ended_title" : "away_title");
      $("away-reason").textContent = state.sessionEnded ? i18n.t("away_session_ended")
        : taken ? i18n.t("away_taken", { staff: state.counter.staff_name || state.counter.staff })
          : reason || i18n.t("away_closed");
    }
    if (view !== "ticket") return;

    $("ticket-view").dataset.state = ticket.state;
    $("current-number").textContent = ticket.number;
    $("current-state").textContent = stateName(ticket.state);
    $("current-service").textContent = i18n.pick(ticket.service_name) || serviceName(ticket.service);
    const service = serviceByCode.get(ticket.service);
    $("current-service").style.setProperty("--service-colour", service ? service.colour : "#64748b");
    const priority = $("current-priority");
    priority.textContent = i18n.t(`priority_${ticket.priority || "normal"}`);
    priority.dataset.priority = ticket.priority || "normal";
    const waitedUntil = ticket.called_at ? Date.parse(ticket.called_at) : now();
    const waited = Math.max(0, (waitedUntil - Date.parse(ticket.issued_at)) / 1000);
    $("current-waited").textContent = i18n.t("waited", { t: minutes(waited) });
    $("current-recalls").textContent = ticket.recall_count ? i18n.t("recalled", { n: ticket.recall_count }) : "";
    $("recall-count").textContent = ticket.recall_count ? `(${ticket.recall_count})` : "";
    const transfer = $("current-transfer");
    transfer.hidden = !ticket.transferred;
    if (ticket.transferred) {
      const from = ticket.issued_service && ticket.issued_service !== ticket.service
        ? i18n.t("transferred_from", { from: serviceName(ticket.issued_service) }) : i18n.t("transferred");
      $("current-transfer-from").textContent = from;
      $("current-transfer-note").textContent = ticket.transfer_note || "";
    }
    // the server says what the ticket allows now (allowed_actions); each button names its domain action
    const allowed = ticket.allowed_actions || V.allowed_actions[ticket.state] || [];
    for (const button of $("ticket-actions").querySelectorAll("[data-ticket-action]")) {
      button.hidden = !allowed.includes(button.dataset.ticketAction);
    }
    renderTimers();
  }

  function renderTimers() {
    const ticket = current();
    if (ticket && !$("ticket-view").hidden) {
      let text = "";
      if (ticket.state === "called") text = i18n.t("called_ago", { t: clock(secondsSince(ticket.called_at)) });
      if (ticket.state === "serving") {
        text = i18n.t("serving_for", { t: clock(secondsSince(ticket.service_started_at || ticket.called_at)) });
      }
      $("current-timer").textContent = text;
    }
    if (state.counter && state.counter.paused_at && !$("paused-view").hidden) {
      $("paused-since").textContent = clock(secondsSince(state.counter.paused_at));
    }
    for (const cell of document.querySelectorAll("[data-since]")) {
      cell.textContent = minutes(secondsSince(cell.dataset.since));
    }
    for (const cell of document.querySelectorAll("[data-until]")) {
      const left = (Date.parse(cell.dataset.until) - now()) / 1000;
      const row = cell.closest("li");
      if (row) row.hidden = !(left > 0); // the server refuses it now; the next queue answer drops it
      cell.textContent = left >= 60 ? i18n.t("no_show_time_left", { t: i18n.t("minutes", { m: Math.ceil(left / 60) }) })
        : i18n.t("no_show_time_left", { t: i18n.t("undo_seconds", { s: Math.max(0, Math.ceil(left)) }) });
    }
  }

  /** The undo bar: while the last no-show may be taken back and the counter is still free for it. */
  function renderUndo() {
    const undo = state.undo;
    const left = undo ? undo.until - Date.now() : 0;
    if (undo && left <= 0) {
      dropUndo();
      return;
    }
    const free = $("console").dataset.view === "idle"; // busy with someone else, paused or away: no undo
    const bar = $("undo-bar");
    bar.hidden = !undo || !free;
    if (bar.hidden) return;
    $("undo-text").textContent = i18n.t("info_no_show", { number: undo.ticket.number });
    $("undo-seconds").textContent = i18n.t("undo_seconds", { s: Math.ceil(left / 1000) });
    $("undo-progress").style.width = `${Math.max(0, Math.min(100, (left / undo.total) * 100))}%`;
  }

  /** "10:42": an instant as the branch's wall clock shows it. */
  function clockTime(iso) {
    return new Date(iso).toLocaleTimeString(i18n.language, { hour: "2-digit", minute: "2-digit", hour12: false,
                                                            timeZone: page.branch.timezone });
  }

  function ticketRow(ticket, button, extra) {
    const tags = [...((extra && extra.tags) || [])];
    if (ticket.priority && ticket.priority !== "normal") {
      tags.push(el("span", { class: "priority", "data-priority": ticket.priority,
                             text: i18n.t(`priority_${ticket.priority}`) }));
    }
    if (ticket.target_counter) {
      tags.push(el("span", { class: "tag target", text: ticket.target_counter === COUNTER
        ? i18n.t("for_this_counter") : i18n.t("for_counter", { counter: counterName(ticket.target_counter) }) }));
    }
    if (ticket.awaiting_arrival) {
      // taken on a phone, not in the hall yet: call-next passes it over until it checks in (the server's rule)
      tags.push(el("span", { class: "tag away", text: ticket.check_in_by
        ? i18n.t("held_until", { time: clockTime(ticket.check_in_by) }) : i18n.t("not_arrived") }));
    }
    if (ticket.transferred) {
      tags.push(el("span", { class: "tag transfer", title: ticket.transfer_note || "",
                             text: ticket.transfer_note ? `${i18n.t("transferred")}: ${ticket.transfer_note}`
                               : i18n.t("transferred") }));
    }
    const service = serviceByCode.get(ticket.service);
    return el("li", { class: "ticket-row", "data-ticket-id": String(ticket.id), "data-number": ticket.number },
      el("span", { class: "row-number", text: ticket.number }),
      el("span", { class: "row-main" },
        el("span", { class: "row-service", style: `--service-colour: ${service ? service.colour : "#64748b"}`,
                     text: i18n.pick(ticket.service_name) || serviceName(ticket.service) }),
        tags.length ? el("span", { class: "row-tags" }, ...tags) : null),
      (extra && extra.time) || el("span", { class: "row-wait", "data-since": ticket.issued_at }),
      button);
  }

  function renderLists() {
    const canCall = isMine() && !current() && state.counter.status === "open";
    const waitingList = $("waiting-list");
    const rows = state.waiting.slice(0, LIST_LIMIT).map((ticket) => ticketRow(ticket, ticket.awaiting_arrival
      ? el("button", {
        type: "button", class: "row-action", "data-check-in": String(ticket.id), disabled: state.busy,
        text: i18n.t("action_check_in"), "aria-label": `${i18n.t("action_check_in")} ${ticket.number}`,
        onclick: () => checkIn(ticket),
      })
      : el("button", {
        type: "button", class: "row-action", "data-call": String(ticket.id), disabled: !canCall || state.busy,
        text: i18n.t("action_call"), "aria-label": `${i18n.t("action_call")} ${ticket.number}`,
        onclick: () => callTicket(ticket),
      })));
    if (!state.waiting.length) rows.push(el("li", { class: "empty", text: i18n.t("waiting_empty") }));
    if (state.waiting.length > LIST_LIMIT) {
      rows.push(el("li", { class: "more", text: i18n.t("more_waiting", { n: state.waiting.length - LIST_LIMIT }) }));
    }
    waitingList.replaceChildren(...rows);
    $("waiting-count").textContent = String(state.waiting.length);

    const canResume = isMine() && !current();
    $("parked-section").hidden = !state.parked.length;
    $("parked-count").textContent = String(state.parked.length);
    $("parked-list").replaceChildren(...state.parked.map((ticket) => ticketRow(ticket, el("button", {
      type: "button", class: "row-action", "data-resume": String(ticket.id), disabled: !canResume || state.busy,
      text: i18n.t("action_resume"), "aria-label": `${i18n.t("action_resume")} ${ticket.number}`,
      onclick: () => ticketAction("resume", ticket),
    }))));

    $("no-shows-section").hidden = !state.noShows.length;
    $("no-shows-count").textContent = String(state.noShows.length);
    $("no-shows-list").replaceChildren(...state.noShows.map((ticket) => ticketRow(ticket, el("button", {
      type: "button", class: "row-action", "data-reactivate": String(ticket.id), disabled: !isMine() || state.busy,
      text: i18n.t("action_reactivate"), "aria-label": `${i18n.t("action_reactivate")} ${ticket.number}`,
      onclick: () => reactivate(ticket),
    }), {
      tags: ticket.counter && ticket.counter !== COUNTER
        ? [el("span", { class: "tag", text: i18n.t("no_show_at_counter", { counter: counterName(ticket.counter) }) })]
        : [],
      time: el("span", { class: "row-wait row-left", "data-until": ticket.reactivate_until }),
    })));
  }

  function renderMyDay() {
    const day = state.myDay;
    if (!day) return;
    $("day-served").textContent = String(day.served);
    $("day-average").textContent = day.average_service_min === null ? "–"
      : i18n.t("minutes", { m: Number(day.average_service_min).toFixed(1) });
    const ratings = day.ratings || {};
    const cell = $("day-ratings");
    if (!ratings.count) {
      cell.textContent = i18n.t("no_ratings");
      cell.dataset.empty = "";
    } else {
      delete cell.dataset.empty;
      cell.replaceChildren(
        el("span", { text: `${Math.round((ratings.satisfied_share || 0) * 100)}%` }),
        el("small", { text: i18n.t("ratings_count", { n: ratings.count }) }));
    }
  }

  function renderBusy() {
    $("console").setAttribute("aria-busy", String(state.busy));
    for (const button of document.querySelectorAll(".current [data-action], .row-action")) {
      if (state.busy) button.disabled = true;
    }
    if (!state.busy) {
      for (const button of document.querySelectorAll(".current [data-action]")) button.disabled = false;
      renderLists();
    }
  }

  function render() {
    renderHeader();
    renderCurrent();
    renderUndo();
    renderLists();
    renderMyDay();
    renderTimers();
  }

  setInterval(renderTimers, 1000);

  // --- dialogs --------------------------------------------------------------------------------------

  function radio(name, value, label, checked, extra) {
    const id = `${name}-${(value || "none").replace(/[^A-Za-z0-9_-]/g, "_")}`;
    return el("label", { class: "choice", for: id },
      el("input", { type: "radio", name, id, value, checked }),
      el("span", { text: label }),
      extra ? el("small", { text: extra }) : null);
  }

  function openTransfer() {
    const ticket = current();
    if (!ticket) return;
    $("transfer-title").textContent = i18n.t("transfer_title", { number: ticket.number });
    $("transfer-services").replaceChildren(
      radio("to_service", "", i18n.t("transfer_keep_service"), true),
      ...page.services.filter((s) => s.code !== ticket.service)
        .map((s) => radio("to_service", s.code, i18n.pick(s.name), false)));
    $("transfer-counters").replaceChildren(
      radio("to_counter", "", i18n.t("transfer_any_counter"), true),
      ...page.counters.filter((c) => c.number !== COUNTER).map((c) => {
        const status = (state.counters.find((s) => s.number === c.number) || {}).status || "closed";
        return radio("to_counter", c.number, i18n.pick(c.name), false, i18n.t(`status_${status}`));
      }));
    $("transfer-note").value = "";
    $("transfer-error").hidden = true;
    $("transfer-dialog").dataset.ticketId = String(ticket.id);
    $("transfer-dialog").showModal();
  }

  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ticket = current();
    const dialog = $("transfer-dialog");
    if (!ticket || String(ticket.id) !== dialog.dataset.ticketId) {
      dialog.close();
      return;
    }
    const form = event.target;
    const toService = form.elements.to_service.value || null;
    const toCounter = form.elements.to_counter.value || null;
    if (!toService && !toCounter) {
      $("transfer-error").textContent = i18n.t("transfer_pick");
      $("transfer-error").hidden = false;
      return;
    }
    const note = $("transfer-note").value.trim() || null;
    const answer = await command("POST", `${API}/tickets/${ticket.id}/transfer`,
      { to_service: toService, to_counter: toCounter, note, version: ticket.version });
    if (answer === null) return;
    if (answer.error && answer.error.status === 0) {
      $("transfer-error").textContent = i18n.t("err_network");
      $("transfer-error").hidden = false;
      return;
    }
    dialog.close();
    if (answer.error) return handleError(answer.error, { number: ticket.number });
    setCurrent(null);
    showMessage(i18n.t("info_transferred", { number: ticket.number }), "info");
    localChange();
  });

  // --- a complaint about the ticket being served: a follow-up case (the server knows the categories) ---------

  let complaintCategories = null;

  async function openComplaint() {
    const ticket = current();
    if (!ticket) return;
    if (!complaintCategories) {
      const answer = await request("GET", `${API}/follow-ups/vocabulary`);
      if (answer.error) return handleError(answer.error, {});
      complaintCategories = answer.data.categories;
    }
    $("complaint-title").textContent = i18n.t("complaint_title", { number: ticket.number });
    $("complaint-categories").replaceChildren(
      ...complaintCategories.map((c, i) => radio("category", c.code, i18n.pick(c.text), i === 0)));
    for (const id of ["complaint-words", "complaint-phone", "complaint-name"]) $(id).value = "";
    $("complaint-consent").checked = false;
    $("complaint-error").hidden = true;
    $("complaint-dialog").dataset.ticketId = String(ticket.id);
    $("complaint-dialog").dataset.number = ticket.number;
    $("complaint-dialog").showModal();
  }

  $("complaint-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const dialog = $("complaint-dialog");
    const error = $("complaint-error");
    const words = $("complaint-words").value.trim();
    if (!words) {
      error.textContent = i18n.t("complaint_need_words");
      error.hidden = false;
      return;
    }
    const body = { category: event.target.elements.category.value, words,
                   ticket_id: Number(dialog.dataset.ticketId), counter: COUNTER };
    const phone = $("complaint-phone").value.trim();
    if (phone) {
      body.call_back = { phone, name: $("complaint-name").value.trim() || null,
                         consent: $("complaint-consent").checked };
    }
    const answer = await command("POST", `${API}/follow-ups`, body);
    if (answer === null) return;
    if (answer.error) {
      const details = answer.error.details || {};
      error.textContent = details.text ? i18n.pick(details.text)
        : answer.error.status === 0 ? i18n.t("err_network") : answer.error.message;
      error.hidden = false;
      return;
    }
    dialog.close();
    showMessage(i18n.t("info_complaint", { number: dialog.dataset.number }), "info");
  });

  function openPause() {
    // pausing is allowed with customers parked here; say who will be kept waiting
    const parked = state.parked.map((t) => t.number);
    const warning = $("pause-parked-warning");
    warning.hidden = !parked.length;
    warning.textContent = parked.length ? i18n.t("pause_parked_warning",
      { numbers: parked.join(i18n.language === "en" ? ", " : "、"), n: parked.length }) : "";
    $("pause-confirm").textContent = i18n.t(parked.length ? "pause_anyway" : "pause_confirm");
    $("pause-reasons").replaceChildren(...page.pause_reasons.map((reason, index) =>
      radio("reason", reason.code, i18n.pick(reason.text), index === 0)));
    $("pause-other").value = "";
    $("pause-error").hidden = true;
    $("pause-dialog").showModal();
  }

  $("pause-other").addEventListener("input", () => {
    if ($("pause-other").value.trim()) {
      for (const box of document.querySelectorAll("#pause-reasons input")) box.checked = false;
    }
  });

  $("pause-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = document.querySelector("#pause-reasons input:checked");
    const reason = $("pause-other").value.trim() || (chosen ? chosen.value : "");
    if (!reason) {
      $("pause-error").textContent = i18n.t("pause_reason_needed");
      $("pause-error").hidden = false;
      return;
    }
    if (await pauseCounter(reason)) $("pause-dialog").close();
  });

  function openServices() {
    const today = (state.counter && state.counter.services) || page.counter.services;
    $("services-choices").replaceChildren(...page.counter.services.map((code) => el("label",
      { class: "choice", for: `today-${code}` },
      el("input", { type: "checkbox", id: `today-${code}`, value: code, checked: today.includes(code) }),
      el("span", { text: serviceName(code) }))));
    $("services-error").hidden = true;
    $("services-dialog").showModal();
  }

  $("services-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const services = Array.from(document.querySelectorAll("#services-choices input:checked"), (box) => box.value);
    if (!services.length) {
      $("services-error").textContent = i18n.t("services_none");
      $("services-error").hidden = false;
      return;
    }
    const answer = await command("POST", `${API}/counters/${encodeURIComponent(COUNTER)}/sign-in`, { services });
    if (answer === null) return;
    $("services-dialog").close();
    if (answer.error) return handleError(answer.error, {});
    state.counter = answer.data;
    showMessage(i18n.t("info_services"), "info");
    localChange();
  });

  $("sign-out-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-out-dialog").close();
    const answer = await command("POST", `${API}/counters/${encodeURIComponent(COUNTER)}/sign-out`);
    if (answer === null) return;
    if (answer.error && answer.error.status !== 403 && answer.error.code !== "counter_closed") {
      return handleError(answer.error, {});
    }
    await request("DELETE", "/api/session");
    location.assign(page.sign_in_url);
  });

  for (const dialog of document.querySelectorAll("dialog")) {
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || event.target.closest("[data-close]")) dialog.close();
    });
  }

  // --- buttons and keys -----------------------------------------------------------------------------

  const ACTIONS = {
    "call-next": () => callNext(),
    start: () => ticketAction("start", current()),
    recall: () => ticketAction("recall", current()),
    finish: () => ticketAction("finish", current()),
    "finish-next": () => finishAndCallNext(current()),
    "no-show": () => ticketAction("no-show", current()),
    "undo-no-show": () => undoNoShow(),
    return: () => ticketAction("return", current()),
    park: () => ticketAction("park", current()),
    transfer: () => openTransfer(),
    complaint: () => openComplaint(),
    pause: () => openPause(),
    "resume-counter": () => resumeCounter(),
    services: () => openServices(),
    "sign-out": () => $("sign-out-dialog").showModal(),
    password: async () => {
      if (await window.HallPassword.change({ language: i18n.language })) {
        showMessage(window.HallPassword.TEXTS[i18n.language].done, "info"); // signed in with it; other devices out
      }
    },
    language: () => {
      i18n.setLanguage(i18n.language === "en" ? "zh-CN" : "en");
      C.rememberLanguage(i18n.language);
    },
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled || !ACTIONS[button.dataset.action]) return;
    ACTIONS[button.dataset.action]();
  });

  const SHORTCUTS = { n: "call-next", s: "start", r: "recall", f: "finish", g: "finish-next", m: "no-show",
                      q: "return", h: "park", t: "transfer", p: "pause-or-resume", u: "undo-no-show",
                      k: "complaint" };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.target.closest("input, textarea, select, dialog") || document.querySelector("dialog[open]")) return;
    let action = SHORTCUTS[(event.key || "").toLowerCase()];
    if (!action) return;
    if (action === "pause-or-resume") action = $("pause-button").dataset.action;
    const button = Array.from(document.querySelectorAll(`button[data-action="${action}"]`))
      .find((b) => !b.disabled && b.offsetParent !== null);
    if (!button) return;
    event.preventDefault();
    button.click();
  });

  // --- language -------------------------------------------------------------------------------------

  function applyLanguage() {
    i18n.apply(document);
    document.title = `${i18n.t("console_title")} — ${i18n.pick(page.counter.name)}`;
    render();
  }

  i18n.onChange(applyLanguage);
  applyLanguage();
  fetchMyDay();

  /** No queue request waiting or under way: the view shows what the server last said. */
  function settled() {
    return !queueInFlight && !queueTimer && !queuePending;
  }

  window.StaffConsole = { state, refresh, settled, live }; // for tests and debugging in the browser console
})();
