/*
 * The counter display: the number one counter is calling or serving, its name, and "paused" when paused.
 * Renders the "counter" role's snapshot (snapshot.counter) and the hall events of this counter only.
 */
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("display-config").textContent);
  const TEXTS = {
    "zh-CN": {
      nowServing: "当前号码", called: "请到本窗口办理", serving: "正在办理", free: "请稍候",
      paused: "暂停服务", closed: "暂停办理", offline: "离线 · 正在重新连接", staff: "服务人员：{name}",
    },
    en: {
      nowServing: "Now serving", called: "Please come to this counter", serving: "Being served", free: "Please wait",
      paused: "Paused", closed: "Closed", offline: "Offline · reconnecting", staff: "Served by {name}",
    },
  };
  const LOCALES = { "zh-CN": "zh-CN", en: "en-GB" };
  const V = page.vocabulary; // the domain's states and event kinds, as the server tells them
  const CALLS = new Set(V.call_kinds);
  const STATUS_EVENTS = new Set(V.counter_kinds);

  const languages = page.languages && page.languages.length ? page.languages : ["zh-CN", "en"];
  const i18n = HallI18n.create(TEXTS, page.language === "auto" ? languages[0] : page.language);
  const $ = (id) => document.getElementById(id);
  const frame = $("counter-frame");
  const state = { status: "closed", current: null, staff: null, offsetMs: 0 };
  const announcer = page.chime
    ? HallAnnouncer.create({ branch: page.branch.code, chimeUrl: "/static/sounds/chime.wav", enabled: page.sound })
    : null;

  function render() {
    frame.dataset.status = state.status;
    frame.dataset.state = state.current ? state.current.state : "none";
    $("counter-name").textContent = i18n.pick(page.counter.name);
    $("counter-hall").textContent = i18n.pick(page.branch.name);
    $("counter-number").textContent = state.current ? state.current.number : "—";
    const stateText = !state.current ? i18n.t("free") : state.current.state === "serving" ? i18n.t("serving")
      : i18n.t("called");
    $("counter-state").textContent = stateText;
    $("counter-paused").textContent = state.status === "paused" ? i18n.t("paused")
      : state.status === "closed" ? i18n.t("closed") : "";
    $("counter-staff").textContent = state.staff && state.status !== "closed" ? i18n.t("staff", { name: state.staff }) : "";
    document.title = i18n.pick(page.counter.name);
  }

  const clocks = {}; // per language, in the branch's time zone
  function renderClock() {
    const now = new Date(Date.now() + state.offsetMs);
    const language = i18n.language;
    clocks[language] = clocks[language] || new Intl.DateTimeFormat(LOCALES[language] || "zh-CN", {
      hour: "2-digit", minute: "2-digit", hour12: false, timeZone: page.branch.timezone });
    $("counter-clock").textContent = clocks[language].format(now);
  }
  setInterval(renderClock, 1000);

  function flash() {
    frame.classList.remove("flash");
    void frame.offsetWidth;
    frame.classList.add("flash");
  }
  frame.addEventListener("animationend", () => frame.classList.remove("flash"));

  function applySnapshot(snapshot) {
    const counter = snapshot.counter || {};
    if (snapshot.generated_at) state.offsetMs = Date.parse(snapshot.generated_at) - Date.now();
    state.status = counter.status || "closed";
    state.current = counter.current || null;
    state.staff = counter.staff_display_name || null;
    render();
  }

  function applyEvent(event) {
    if (event.counter !== page.counter.number) return;
    // the server says what this counter holds after a ticket's move: its ticket (called, serving) or nothing
    if ("holds_counter" in event) state.current = event.holds_counter ? event.ticket : null;
    if (CALLS.has(event.kind) && event.ticket) {
      flash();
      if (announcer) announcer.chime();
    } else if (STATUS_EVENTS.has(event.kind)) {
      if (event.status) state.status = event.status;
      if (event.kind === "counter_signed_in" || event.kind === "counter_signed_out") live.resync(); // staff name
    }
    render();
  }

  i18n.onChange(() => { render(); renderClock(); });
  if (page.language === "auto" && languages.length > 1) {
    setInterval(() => {
      i18n.setLanguage(languages[(languages.indexOf(i18n.language) + 1) % languages.length]);
    }, page.rotate_s * 1000);
  }

  i18n.apply(document);
  render();
  renderClock();
  const live = HallLive.connect({
    branch: page.branch.code,
    role: "counter",
    counter: page.counter.number,
    onSnapshot: applySnapshot,
    onEvent: applyEvent,
    onRefused(answer) { console.error("counter display join refused", answer); },
  });

  window.HallCounterDisplay = { state };
})();
