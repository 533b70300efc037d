/*
 * The wall display. It renders what the server says and never decides anything about the queue:
 * the snapshot on (re)join, then ordered hall events and waiting summaries over the one live connection
 * (static/hall/live.js); announcements and their words come from the server (announce.js).
 *
 * Bounded for weeks of running: at most MAX_RECENT recent calls, a bounded announcement queue, one <img> and
 * one <video> reused for the playlist, one clock timer; lists are re-rendered in place, nothing accumulates.
 * While the connection is down the last state stays on screen with a small "offline" mark (html[data-live]).
 * A manager's preview (page.preview, framed by the back office's displays page) is marked, silent (the server sends
 * sound off) and offers no sound set-up.
 */
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("display-config").textContent);
  const MAX_RECENT = 7; // the call on top plus six below
  const CATCH_UP_S = 60; // calls missed while reconnecting are still announced if this recent
  const V = page.vocabulary; // the domain's states and event kinds, as the server tells them
  const ANNOUNCED = new Set(V.call_kinds);
  const COUNTER_STATUS = new Set(V.counter_kinds);
  const WITHDRAWN = new Set(V.withdrawn_call_states); // a call of a ticket in these states leaves the wall

  const TEXTS = {
    "zh-CN": {
      nowCalling: "正在叫号", pleaseGoTo: "请到", noCalls: "请留意屏幕叫号", recentCalls: "最近叫号",
      waiting: "等候情况", service: "业务", people: "等候", estimate: "预计等候", counters: "窗口",
      offline: "离线 · 正在重新连接", tapForSound: "点击开启声音", paused: "暂停服务", closed: "未开放",
      free: "空闲", persons: "人", capReached: "今日号已取完", counterShort: "{n}号窗口", chipPaused: "暂停",
      setupTitle: "声音设置", setupSignIn: "仅限本厅工作人员：请用工作账号登录", username: "用户名", password: "密码",
      signIn: "登录", volume: "音量", testChime: "试听提示音", testVoice: "试听叫号",
      setupSaved: "音量保存在这台显示屏上，提示音和叫号语音都按此音量播放。", setupDone: "完成",
      setupRefused: "此账号不是本厅的工作人员", setupBadLogin: "用户名或密码不对", setupOffline: "连不上服务器，请稍后再试",
      previewMark: "预览", arrivalTitle: "手机取号的顾客", arrivalText: "到厅请用取号的手机扫码签到",
    },
    en: {
      nowCalling: "Now calling", pleaseGoTo: "Please go to", noCalls: "Please watch for your number",
      recentCalls: "Recent calls", waiting: "Waiting now", service: "Service", people: "Waiting",
      estimate: "Est. wait", counters: "Counters", offline: "Offline · reconnecting", tapForSound: "Tap to turn on sound",
      paused: "Paused", closed: "Closed", free: "Free", persons: "waiting", capReached: "No more tickets today",
      counterShort: "Counter {n}", chipPaused: "Paused",
      setupTitle: "Sound set-up", setupSignIn: "Staff of this hall only: sign in with your staff account",
      username: "Username", password: "Password", signIn: "Sign in", volume: "Volume", testChime: "Test the chime",
      testVoice: "Test a call", setupSaved: "The volume is kept on this display and applies to the chime and the spoken calls.",
      setupDone: "Done", setupRefused: "This account does not work at this hall",
      setupBadLogin: "Wrong username or password", setupOffline: "The server cannot be reached; try again",
      previewMark: "Preview", arrivalTitle: "Took a ticket on your phone?",
      arrivalText: "Scan this with that phone to check in",
    },
  };
  const LOCALES = { "zh-CN": "zh-CN", en: "en-GB" };

  const languages = page.languages && page.languages.length ? page.languages : ["zh-CN", "en"];
  const i18n = HallI18n.create(TEXTS, page.language === "auto" ? languages[0] : page.language);
  const $ = (id) => document.getElementById(id);
  const wall = $("wall");

  // the arrival QR: fetched again every few seconds, since its code changes (the server's, every 90 s)
  if (page.arrival && $("arrival-qr")) {
    const showArrival = () => { $("arrival-qr").src = page.arrival.qr + "?t=" + Date.now(); };
    showArrival();
    setInterval(showArrival, page.arrival.refresh_s * 1000);
  }

  const state = {
    counters: new Map(), // number -> {number, name, status, current}
    services: new Map(), // code -> {code, name, colour, waiting, estimate, open, opens_at, closed_for, capReached}
    serviceOrder: [],
    recent: [], // newest first: {number, counter, service, kind, seq}
    zoneCounters: null, // Set of counter numbers, when this display shows one zone
    zoneServices: null,
    seq: null,
    offsetMs: 0, // server clock minus this device's clock
    notices: [],
    joined: false,
  };

  // this display's volume, set by staff in the set-up panel; kept in this browser (one display = one browser)
  const VOLUME_KEY = `hall.wall.volume:${page.branch.code}${page.zone ? ":" + page.zone.code : ""}`;
  function storedVolume() {
    try {
      const stored = window.localStorage.getItem(VOLUME_KEY);
      const value = stored === null ? NaN : Number(stored);
      return Number.isInteger(value) && value >= 0 && value <= 100 ? value : 100;
    } catch (error) {
      return 100; // storage disabled: full volume, as before any set-up
    }
  }

  const announcer = HallAnnouncer.create({
    branch: page.branch.code,
    volume: storedVolume() / 100,
    chimeUrl: "/static/sounds/chime.wav",
    voice: page.voice,
    enabled: page.sound,
    onBlocked() { $("sound-start").hidden = false; },
    onUnblocked() { $("sound-start").hidden = true; },
  });
  $("sound-start").addEventListener("click", () => announcer.unlock());

  // --- rendering -----------------------------------------------------------------------------------

  let renderPending = false;
  const dirty = new Set();
  function schedule(...parts) {
    parts.forEach((part) => dirty.add(part));
    if (renderPending) return;
    renderPending = true;
    const run = () => {
      renderPending = false;
      const parts = Array.from(dirty);
      dirty.clear();
      if (parts.includes("now")) renderNow();
      if (parts.includes("recent")) renderRecent();
      if (parts.includes("services")) renderServices();
      if (parts.includes("counters")) renderCounters();
      fitAll(); // after every part has its new content: one panel's content changes the others' room
    };
    if (document.hidden || !window.requestAnimationFrame) setTimeout(run, 16);
    else window.requestAnimationFrame(run);
  }

  function counterName(number) {
    const counter = state.counters.get(number);
    return counter ? i18n.pick(counter.name) : i18n.t("counterShort", { n: number });
  }

  function serviceName(code) {
    const service = state.services.get(code);
    return service ? i18n.pick(service.name) : "";
  }

  function renderNow() {
    const latest = state.recent[0];
    const now = $("now");
    if (!latest) {
      now.dataset.empty = "";
      return;
    }
    delete now.dataset.empty;
    $("now-number").textContent = latest.number;
    $("now-counter").textContent = counterName(latest.counter);
    $("now-service").textContent = serviceName(latest.service);
  }

  function renderRecent() {
    const items = state.recent.slice(1, MAX_RECENT).map((call) => {
      const item = document.createElement("li");
      if (call.kind === "recalled") item.className = "recalled";
      const number = document.createElement("span");
      number.className = "recent-number";
      number.textContent = call.number;
      const counter = document.createElement("span");
      counter.className = "recent-counter";
      counter.textContent = i18n.t("counterShort", { n: call.counter });
      item.append(number, counter);
      return item;
    });
    $("recent-list").replaceChildren(...items);
  }

  function renderServices() {
    const rows = state.serviceOrder.map((code) => {
      const service = state.services.get(code);
      const row = document.createElement("tr");
      row.dataset.service = code;
      if (!service.open || service.capReached) row.className = "closed";
      const name = document.createElement("td");
      name.className = "service-name";
      name.style.setProperty("--dot", service.colour || "#94a3b8");
      name.textContent = i18n.pick(service.name);
      const waiting = document.createElement("td");
      waiting.className = "service-waiting";
      waiting.textContent = String(service.waiting);
      const unit = i18n.t("persons");
      if (unit) {
        const small = document.createElement("small");
        small.textContent = unit;
        waiting.append(small);
      }
      const estimate = document.createElement("td");
      estimate.className = "service-estimate";
      if (!service.open) {
        opening(service).forEach((line) => {
          const part = document.createElement("span");
          part.className = "opening-line";
          part.textContent = line;
          estimate.append(part);
        });
      } else {
        estimate.textContent = service.capReached ? i18n.t("capReached")
          : i18n.pick(service.estimate && service.estimate.text);
      }
      row.append(name, waiting, estimate);
      return row;
    });
    $("service-rows").replaceChildren(...rows);
  }

  /** "明天 09:00 开始取号" / "Tickets from 09:00 tomorrow", after a holiday's name if closed for one: the lines
   * of a closed service's cell, in the branch's time zone. */
  function opening(service) {
    const words = HallOpening.describe(service, i18n.language, page.branch.timezone, Date.now() + state.offsetMs);
    return words ? [words.holiday, words.next].filter(Boolean) : [];
  }

  /**
   * Long names or many services: lower a panel's --fit in steps until its content fits. The CSS keeps the
   * texts at their reading-distance minimum down to a step it knows; below it the smallest step still shows
   * everything, and only when even that does not fit are service names clamped to two lines (data-clamp).
   */
  function fitPanel(panel, smallest) {
    let fit = 1;
    panel.style.setProperty("--fit", "1");
    panel.removeAttribute("data-clamp");
    const overflows = () => panel.scrollHeight > panel.clientHeight + 1 || panel.scrollWidth > panel.clientWidth + 1;
    while (fit > smallest && overflows()) {
      fit = Math.round((fit - 0.02) * 100) / 100;
      panel.style.setProperty("--fit", String(fit));
    }
    if (overflows()) panel.setAttribute("data-clamp", "");
  }

  function fitAll() {
    fitPanel(document.querySelector(".services"), 0.6);
    fitPanel($("now"), 0.6);
  }
  if (window.ResizeObserver) new ResizeObserver(fitAll).observe(document.querySelector(".wall-main"));
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitAll);

  function renderCounters() {
    const chips = [];
    state.counters.forEach((counter) => {
      const chip = document.createElement("li");
      chip.className = "counter-chip " + counter.status;
      chip.dataset.counter = counter.number;
      const number = document.createElement("span");
      number.className = "chip-number";
      number.textContent = counter.number;
      number.title = i18n.pick(counter.name);
      const ticket = document.createElement("span");
      ticket.className = "chip-ticket";
      if (counter.status === "paused") ticket.textContent = i18n.t("chipPaused");
      else if (counter.status === "closed") ticket.textContent = i18n.t("closed");
      else ticket.textContent = counter.current ? counter.current.number : i18n.t("free");
      chip.append(number, ticket);
      chips.push(chip);
    });
    $("counter-strip").replaceChildren(...chips);
  }

  function flashNow() {
    const now = $("now");
    now.classList.remove("flash");
    void now.offsetWidth; // restart the animation
    now.classList.add("flash");
  }
  $("now").addEventListener("animationend", () => $("now").classList.remove("flash"));

  // --- clock, names, language ------------------------------------------------------------------------

  const formats = {}; // per language: the clock's and the date's formatter, in the branch's time zone
  function formatsFor(language) {
    if (!formats[language]) {
      const locale = LOCALES[language] || "zh-CN";
      const timeZone = page.branch.timezone;
      formats[language] = {
        time: new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone }),
        date: new Intl.DateTimeFormat(locale, language === "en"
          ? { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone }
          : { month: "long", day: "numeric", weekday: "long", timeZone }),
      };
    }
    return formats[language];
  }

  let shownMinute = "";
  function renderClock(force) {
    const now = new Date(Date.now() + state.offsetMs);
    const format = formatsFor(i18n.language);
    const time = format.time.format(now);
    if (time === shownMinute && !force) return;
    shownMinute = time;
    $("clock").textContent = time;
    $("clock").dateTime = now.toISOString();
    const date = format.date.format(now);
    if ($("date").textContent && $("date").textContent !== date) schedule("services"); // "tomorrow" is today
    $("date").textContent = date;
  }
  setInterval(renderClock, 1000);

  function renderNames() {
    $("hall-name").textContent = i18n.pick(page.branch.name);
    if (page.zone && $("zone-name")) $("zone-name").textContent = i18n.pick(page.zone.name);
    document.title = i18n.pick(page.branch.name);
  }

  function renderAll() {
    i18n.apply(document);
    renderNames();
    renderClock(true);
    renderNotices();
    schedule("now", "recent", "services", "counters");
  }
  i18n.onChange(renderAll);

  if (page.language === "auto" && languages.length > 1) {
    setInterval(() => {
      const next = languages[(languages.indexOf(i18n.language) + 1) % languages.length];
      i18n.setLanguage(next);
    }, page.rotate_s * 1000);
  }

  // --- live state ------------------------------------------------------------------------------------

  function inZone(counterNumber) {
    return !state.zoneCounters || state.zoneCounters.has(counterNumber);
  }

  function addCall(call) {
    state.recent = [call, ...state.recent.filter((c) => c.number !== call.number)].slice(0, MAX_RECENT);
  }

  function applySnapshot(snapshot) {
    const previousSeq = state.seq;
    const rejoin = state.joined;
    state.joined = true;
    state.seq = snapshot.seq;
    if (snapshot.generated_at) state.offsetMs = Date.parse(snapshot.generated_at) - Date.now();
    state.zoneCounters = snapshot.zone ? new Set(snapshot.zone.counters) : null;
    state.zoneServices = snapshot.zone ? new Set(snapshot.zone.services) : null;
    state.counters = new Map();
    snapshot.counters.forEach((c) => {
      state.counters.set(c.number, { number: c.number, name: c.name, status: c.status, current: c.current });
    });
    state.services = new Map();
    state.serviceOrder = [];
    snapshot.services.forEach((s) => {
      state.services.set(s.code, { code: s.code, name: s.name, colour: s.colour, waiting: s.waiting,
                                   estimate: s.estimate, open: s.open !== false, opens_at: s.opens_at,
                                   closed_for: s.closed_for, capReached: Boolean(s.daily_cap_reached) });
      state.serviceOrder.push(s.code);
    });
    const calls = [];
    const seen = new Set();
    (snapshot.recent_calls || []).forEach((c) => {
      if (seen.has(c.number) || !inZone(c.counter)) return;
      seen.add(c.number);
      calls.push({ number: c.number, counter: c.counter, service: c.service, kind: c.kind, seq: c.seq, at: c.at });
    });
    state.recent = calls.slice(0, MAX_RECENT);
    if (rejoin && previousSeq !== null) catchUp(snapshot.recent_calls || [], previousSeq);
    schedule("now", "recent", "services", "counters");
    openings.update(snapshot.services, state.offsetMs + Date.now());
    loadSignage();
  }

  /** After a reconnect: announce the calls made while this display was away, if they are recent. */
  function catchUp(calls, previousSeq) {
    const now = Date.now() + state.offsetMs;
    calls
      .filter((c) => c.seq > previousSeq && inZone(c.counter) && now - Date.parse(c.at) < CATCH_UP_S * 1000)
      .sort((a, b) => a.seq - b.seq)
      .forEach((c) => announcer.announce(c.seq));
  }

  /** An administrator changed the branch's set-up: its name may have changed (the tiles come with the snapshot
   * the event's resync brings). */
  async function refreshName() {
    try {
      const data = await window.HallApi.get("/api/branches");
      const branch = data.branches.find((b) => b.code === page.branch.code);
      if (branch) page.branch.name = branch.name;
      renderNames();
    } catch (error) {
      // the old name stays until the next change
    }
  }

  function applyEvent(event) {
    state.seq = event.seq;
    const kind = event.kind;
    if (kind === "media_changed" || kind === "notices_changed") {
      loadSignage();
      return;
    }
    const number = event.counter;
    if (!number || !state.counters.has(number) || !inZone(number)) return;
    const counter = state.counters.get(number);
    const ticket = event.ticket;
    if ("holds_counter" in event) {
      // the server says what the counter holds after a ticket's move: its ticket (called, serving) or nothing
      counter.current = event.holds_counter ? event.ticket : null;
      schedule("counters");
    }
    if (ticket && WITHDRAWN.has(ticket.state) && state.recent.some((c) => c.number === ticket.number)) {
      // the customer is no longer expected at that counter: back in the queue, or transferred
      state.recent = state.recent.filter((c) => c.number !== ticket.number);
      schedule("now", "recent");
    }
    if (ANNOUNCED.has(kind) && ticket) {
      addCall({ number: ticket.number, counter: number, service: ticket.service, kind, seq: event.seq, at: event.at });
      schedule("now", "recent", "counters");
      flashNow();
      announcer.announce(event.seq);
    } else if (COUNTER_STATUS.has(kind) && event.status) {
      counter.status = event.status;
      schedule("counters");
    }
  }

  function applySummary(summary) {
    const services = summary.services || {};
    let changed = false;
    Object.keys(services).forEach((code) => {
      const service = state.services.get(code);
      if (!service) return; // not shown on this display (zone)
      service.waiting = services[code].waiting;
      service.estimate = services[code].estimate;
      changed = true;
    });
    if (changed) schedule("services");
  }

  // --- signage: media playlist and notices -------------------------------------------------------------

  let signageRequest = 0;
  async function loadSignage() {
    const ticket = ++signageRequest;
    try {
      const signage = await window.HallApi.get(`/api/branches/${encodeURIComponent(page.branch.code)}/signage`,
                                               { cache: "no-store" });
      if (ticket !== signageRequest) return;
      state.notices = signage.notices || [];
      renderNotices();
      player.setPlaylist(signage.media || [], signage.max_video_s || 60);
    } catch (error) {
      /* offline: keep what is shown */
    }
  }

  function renderNotices() {
    const track = $("notice-track");
    const texts = state.notices.map((n) => i18n.pick(n.text)).filter(Boolean);
    wall.dataset.notices = texts.length ? "on" : "none";
    const spans = texts.map((text) => {
      const span = document.createElement("span");
      span.textContent = text;
      return span;
    });
    const copy = document.createElement("div");
    copy.className = "notice-copy";
    copy.append(...spans);
    const second = copy.cloneNode(true);
    second.setAttribute("aria-hidden", "true");
    track.replaceChildren(copy, second);
    const characters = texts.join("").length;
    track.style.setProperty("--notice-duration", `${Math.max(20, Math.round(characters * 0.45 + 12))}s`);
    track.style.animation = "none";
    void track.offsetWidth;
    track.style.animation = "";
  }

  const player = {
    items: [],
    index: -1,
    timer: null,
    maxVideoS: 60,
    image: $("media-image"),
    video: $("media-video"),
    key: "",
    setPlaylist(items, maxVideoS) {
      this.maxVideoS = maxVideoS;
      const key = items.map((item) => item.url + "@" + item.seconds).join("|");
      if (key === this.key) return;
      this.key = key;
      this.items = items;
      this.index = -1;
      wall.dataset.media = items.length ? "on" : "none";
      fitAll(); // the media box takes (or gives back) room from the waits table
      this.next();
    },
    next() {
      clearTimeout(this.timer);
      if (!this.items.length) {
        this.stopVideo();
        this.image.hidden = true;
        this.image.removeAttribute("src");
        return;
      }
      this.index = (this.index + 1) % this.items.length;
      this.show(this.items[this.index]);
    },
    after(seconds) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.next(), Math.max(1, seconds) * 1000);
    },
    stopVideo() {
      const video = this.video;
      video.onended = video.onerror = null;
      video.pause();
      video.hidden = true;
      if (video.hasAttribute("src")) {
        video.removeAttribute("src");
        video.load(); // releases the decoder and its buffers
      }
    },
    show(item) {
      if (item.kind === "video") {
        this.image.hidden = true;
        this.image.removeAttribute("src");
        const video = this.video;
        video.onended = () => this.next();
        video.onerror = () => this.after(3);
        video.src = item.url;
        video.hidden = false;
        const playing = video.play();
        if (playing && playing.catch) playing.catch(() => this.after(3));
        this.after(Math.min(item.seconds || this.maxVideoS, this.maxVideoS) + 0.5);
      } else {
        this.stopVideo();
        this.image.onerror = () => this.after(3);
        this.image.src = item.url;
        this.image.hidden = false;
        this.after(item.seconds || 10);
      }
    },
  };

  // --- sound set-up for staff ------------------------------------------------------------------------
  // Opened by a long press on the header (touch screens, a mouse) or Ctrl+Alt+S (a keyboard or remote). The
  // controls appear only after the server answers a staff-only request of this branch; a session the panel
  // signed in is signed out again when it closes, so the public screen keeps no staff session.

  const setup = {
    signedInHere: false,
    idleTimer: null,
    pressTimer: null,
    panel: $("setup"),
  };
  const SETUP_IDLE_MS = 120000;
  const LONG_PRESS_MS = 3000;

  function setupMessage(key) {
    $("setup-error").textContent = key ? i18n.t(key) : "";
  }

  function showVolume() {
    const volume = Math.round(announcer.volume * 100);
    $("setup-volume").value = String(volume);
    $("setup-volume-value").textContent = `${volume}%`;
  }

  async function staffMayUseSetup() {
    try {
      await window.HallApi.get(`/api/branches/${encodeURIComponent(page.branch.code)}/announcements/test`,
                               { cache: "no-store" });
      return true;
    } catch (error) {
      if (error instanceof window.HallApi.Error && (error.status === 401 || error.status === 403)) return false;
      throw error;
    }
  }

  function showSetupStep(authorised) {
    $("setup-sign-in").hidden = authorised;
    $("setup-controls").hidden = !authorised;
    if (authorised) {
      showVolume();
      $("setup-volume").focus();
    } else {
      $("setup-username").focus();
    }
  }

  async function openSetup() {
    if (page.preview || !setup.panel.hidden) return; // a preview is silent: nothing to set up
    setup.panel.hidden = false;
    setupMessage(null);
    $("setup-sign-in").hidden = true;
    $("setup-controls").hidden = true;
    touchSetup();
    try {
      showSetupStep(await staffMayUseSetup());
    } catch (error) {
      setupMessage("setupOffline");
      showSetupStep(false);
    }
  }

  async function closeSetup() {
    clearTimeout(setup.idleTimer);
    setup.panel.hidden = true;
    $("setup-controls").hidden = true;
    $("setup-password").value = "";
    if (setup.signedInHere) {
      setup.signedInHere = false;
      try {
        await window.HallApi.delete("/api/session");
      } catch (error) {
        /* the session cookie lapses by itself */
      }
    }
  }

  function touchSetup() {
    clearTimeout(setup.idleTimer);
    setup.idleTimer = setTimeout(closeSetup, SETUP_IDLE_MS);
  }

  $("setup-sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    setupMessage(null);
    try {
      await window.HallApi.post("/api/session", { username: $("setup-username").value.trim(),
                                                 password: $("setup-password").value });
      setup.signedInHere = true;
      $("setup-password").value = "";
      const authorised = await staffMayUseSetup();
      if (!authorised) setupMessage("setupRefused");
      showSetupStep(authorised);
    } catch (error) {
      const refused = error instanceof window.HallApi.Error && (error.status === 401 || error.status === 429);
      setupMessage(refused ? "setupBadLogin" : "setupOffline");
    }
  });
  $("setup-volume").addEventListener("input", () => {
    const volume = Number($("setup-volume").value);
    announcer.setVolume(volume / 100);
    $("setup-volume-value").textContent = `${volume}%`;
    try {
      window.localStorage.setItem(VOLUME_KEY, String(volume));
    } catch (error) {
      /* storage disabled: the volume holds until the page reloads */
    }
  });
  $("setup-test-chime").addEventListener("click", () => announcer.test("chime"));
  $("setup-test-voice").addEventListener("click", () => announcer.test("voice"));
  $("setup-close").addEventListener("click", closeSetup);
  setup.panel.addEventListener("input", touchSetup);
  setup.panel.addEventListener("click", touchSetup);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey && event.altKey && (event.key === "s" || event.key === "S" || event.code === "KeyS")) {
      event.preventDefault();
      openSetup();
    } else if (event.key === "Escape" && !setup.panel.hidden) {
      closeSetup();
    }
  });
  const header = document.querySelector(".wall-header");
  const cancelPress = () => clearTimeout(setup.pressTimer);
  header.addEventListener("pointerdown", (event) => {
    if (event.target.closest("button")) return; // the sound-start pill
    cancelPress();
    setup.pressTimer = setTimeout(openSetup, LONG_PRESS_MS);
  });
  ["pointerup", "pointerleave", "pointercancel"].forEach((name) => header.addEventListener(name, cancelPress));
  header.addEventListener("contextmenu", (event) => event.preventDefault()); // a touch long press opens no menu

  // --- start --------------------------------------------------------------------------------------------

  // A service opens or closes (a lunch break, the day's hours): a fresh snapshot just after that instant.
  const openings = HallOpening.watch(() => { if (live) live.resync(); });
  renderAll();
  const live = HallLive.connect({
    branch: page.branch.code,
    role: "display",
    zone: page.zone ? page.zone.code : undefined,
    onSnapshot: applySnapshot,
    onResync(event) { if (event.kind === "hall_changed") refreshName(); },
    onEvent: applyEvent,
    onSummary: applySummary,
    onRefused(answer) { console.error("display join refused", answer); },
  });

  // For tests and the soak benchmark: read-only views of the state sizes.
  window.HallWall = {
    state,
    announcer,
    sizes() {
      return { recent: state.recent.length, queue: announcer.queue.length, spoken: announcer.spoken,
               dropped: announcer.dropped, counters: state.counters.size, rows: $("service-rows").children.length,
               recentItems: $("recent-list").children.length, nodes: document.getElementsByTagName("*").length };
    },
  };
})();
