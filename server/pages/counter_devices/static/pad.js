/*
 * The rating pad: a small screen facing the customer at one counter.
 *
 * Idle, it shows the counter, the staff member at it (display name, photo when configured) and the number
 * being called or served. When the counter finishes a ticket (a "finished" hall_event for this counter) it
 * asks the customer to rate the service on the configured scale (GET /api/ratings/config), then offers the
 * reason chips of that score, sends POST .../counters/<n>/rating, thanks the customer and goes back to idle.
 * With a dissatisfied score it offers "May we call you back?": a number typed on the pad's own keypad, an optional
 * name and the consent line, sent with the rating; the pad forgets them as soon as it is sent or given up.
 * Unanswered, it gives up politely after pad_timeout_s. After a reload or reconnect it asks the server
 * (GET .../counters/<n>/rating) whether a finished ticket is still waiting for its rating.
 * The pad works only as the counter's paired pad (or for the staff member signed in there): when the server
 * refuses it as a device (page.device_refusals: its pairing was revoked, say), the page reloads and the server
 * shows the pairing code instead.
 */
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("pad-config").textContent);
  const BRANCH = page.branch.code;
  const COUNTER = page.counter.number;
  const RATING_URL = `/api/branches/${encodeURIComponent(BRANCH)}/counters/${encodeURIComponent(COUNTER)}/rating`;
  const DEVICE_ID = `pad-${BRANCH}-${COUNTER}`.slice(0, 64);
  const api = window.HallApi.forDevice(DEVICE_ID); // the pad names itself on every request (X-Device-Id)
  const V = page.vocabulary; // the domain's states and event kinds, as the server tells them
  const THANKS_MS = 6000;
  const FAREWELL_MS = 4000;
  const REASONS_MIN_S = 20; // the reasons step keeps at least this long, however little time was left
  const CALL_BACK_MIN_S = 60; // typing a number: at least this long, and again after each key

  const TEXTS = {
    "zh-CN": {
      language_switch: "English",
      reconnecting: "正在连接…",
      staff_label: "为您服务",
      welcome: "欢迎光临",
      now_called: "请以下号码到本窗口",
      now_serving: "正在办理",
      paused: "暂停服务，请稍候",
      closed: "本窗口暂停服务",
      closed_hint: "请留意大厅叫号屏",
      ask_title: "请您对本次服务进行评价",
      ask_number: "{number} 号",
      reasons_low: "非常抱歉！请告诉我们哪里做得不好（可多选）",
      reasons_high: "谢谢！哪些方面让您满意？（可多选）",
      skip: "跳过",
      send: "提交",
      thanks_title: "谢谢您的评价！",
      thanks_text: "祝您生活愉快。",
      thanks_sorry: "很抱歉。您的反馈已转给值班经理，我们会查明原因、改进服务。",
      thanks_call_back: "值班经理会尽快按您留下的号码回电。",
      call_back_offer: "需要我们回电吗？",
      call_back_title: "需要我们回电吗？请留下手机号码",
      call_back_phone: "手机号码",
      call_back_name: "怎么称呼您？（选填）",
      call_back_consent: "我同意营业厅仅为处理本次评价使用此号码与我联系。问题处理完毕 {days} 天后删除，最长保留 {max} 天。",
      key_delete: "删除",
      back: "返回",
      farewell_title: "谢谢光临",
      farewell_text: "欢迎您再次光临。",
      err_send: "未能提交，请再试一次。",
    },
    en: {
      language_switch: "中文",
      reconnecting: "Connecting…",
      staff_label: "Serving you today",
      welcome: "Welcome",
      now_called: "Now calling",
      now_serving: "Now serving",
      paused: "Back in a moment",
      closed: "This counter is closed",
      closed_hint: "Please watch the hall display",
      ask_title: "How was our service today?",
      ask_number: "Ticket {number}",
      reasons_low: "We are sorry. What went wrong? (choose any)",
      reasons_high: "Thank you! What did you like? (choose any)",
      skip: "Skip",
      send: "Send",
      thanks_title: "Thank you for your feedback!",
      thanks_text: "Have a nice day.",
      thanks_sorry: "We are sorry. Your feedback goes to the duty manager, who will look into what went wrong.",
      thanks_call_back: "A manager will call you back on the number you left.",
      call_back_offer: "May we call you back?",
      call_back_title: "May we call you back? Leave your mobile number",
      call_back_phone: "Mobile number",
      call_back_name: "Your name (optional)",
      call_back_consent: "I agree that the hall uses this number only to contact me about this rating. It is deleted {days} days after the matter is resolved, and kept {max} days at most.",
      key_delete: "Delete",
      back: "Back",
      farewell_title: "Thank you for visiting",
      farewell_text: "We look forward to seeing you again.",
      err_send: "Could not send it. Please try again.",
    },
  };

  // Faces from best to worst; a scale of three uses the first two and the fourth.
  const MOUTHS = {
    grin: '<path d="M27 57 Q50 86 73 57 Z" fill="currentColor"/>',
    smile: '<path d="M30 60 Q50 77 70 60" fill="none" stroke="currentColor" stroke-width="6" stroke-linecap="round"/>',
    neutral: '<path d="M32 66 L68 66" fill="none" stroke="currentColor" stroke-width="6" stroke-linecap="round"/>',
    frown: '<path d="M31 72 Q50 57 69 72" fill="none" stroke="currentColor" stroke-width="6" stroke-linecap="round"/>',
    sad: '<path d="M28 75 Q50 52 72 75" fill="none" stroke="currentColor" stroke-width="7" stroke-linecap="round"/>',
  };
  const MOODS = { three: ["grin", "smile", "frown"], five: ["grin", "smile", "neutral", "frown", "sad"] };

  function faceSvg(mood) {
    return '<svg viewBox="0 0 100 100" aria-hidden="true" focusable="false">' +
      '<circle cx="50" cy="50" r="45" fill="none" stroke="currentColor" stroke-width="6"/>' +
      '<circle cx="36" cy="40" r="6" fill="currentColor"/><circle cx="64" cy="40" r="6" fill="currentColor"/>' +
      MOUTHS[mood] + "</svg>";
  }

  const i18n = window.HallI18n.create(TEXTS, page.language);
  const $ = (id) => document.getElementById(id);

  const state = {
    counter: null, // snapshot.counter: status, current {number, state}, staff_display_name, staff_photo
    config: null, // GET /api/ratings/config
    screen: "idle",
    asking: null, // {id, number}
    score: null,
    reasons: new Set(),
    callBack: false, // the customer asked to be called back (the number is in the call-back screen's fields)
    callBackError: null, // the server's reason for refusing it, in both languages
    sending: false,
    deadline: 0,
  };
  let stepTimer = null;

  // --- drawing --------------------------------------------------------------------------------------

  function show(screen) {
    state.screen = screen;
    $("pad").dataset.screen = screen;
    for (const name of ["idle", "ask", "reasons", "call-back", "thanks"]) $(`screen-${name}`).hidden = name !== screen;
  }

  function renderIdle() {
    const counter = state.counter;
    const status = counter ? counter.status : "closed";
    $("pad").dataset.status = status;
    $("pad-counter").textContent = i18n.pick(counter ? counter.name : page.counter.name);
    const name = counter && status !== "closed" ? counter.staff_display_name : null;
    $("staff").hidden = !name;
    if (name) {
      $("staff-name").textContent = name;
      $("staff-initial").textContent = Array.from(name.trim())[0] || "";
      const photo = $("staff-photo");
      if (counter.staff_photo) {
        if (photo.getAttribute("src") !== counter.staff_photo) photo.src = counter.staff_photo;
        photo.hidden = false;
        $("staff-initial").hidden = true;
      } else {
        photo.hidden = true;
        photo.removeAttribute("src");
        $("staff-initial").hidden = false;
      }
    }
    const current = counter && status !== "closed" ? counter.current : null;
    let label = i18n.t("welcome");
    if (status === "closed") label = i18n.t("closed");
    else if (current) label = i18n.t(current.state === "serving" ? "now_serving" : "now_called");
    else if (status === "paused") label = i18n.t("paused");
    $("now-label").textContent = label;
    $("now-number").textContent = current ? current.number : status === "closed" ? i18n.t("closed_hint") : "";
    $("now-number").dataset.kind = current ? "number" : "hint";
  }

  function renderAsk() {
    const config = state.config;
    $("ask-number").textContent = i18n.t("ask_number", { number: state.asking.number });
    const moods = MOODS[config.scale] || MOODS.five;
    const scores = $("scores");
    scores.dataset.scale = config.scale;
    scores.replaceChildren(...config.scores.map((entry, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "score";
      button.dataset.score = String(entry.score);
      button.dataset.mood = moods[index] || "neutral";
      if (entry.dissatisfied) button.dataset.dissatisfied = "";
      button.innerHTML = faceSvg(moods[index] || "neutral"); // constant markup, no data in it
      const label = document.createElement("span");
      label.className = "score-label";
      label.textContent = i18n.pick(entry.label);
      button.append(label);
      button.addEventListener("click", () => chooseScore(entry));
      return button;
    }));
  }

  function chipsFor(entry) {
    return entry.reasons || []; // the server says which chips go with each score
  }

  function renderReasons() {
    const entry = state.config.scores.find((s) => s.score === state.score);
    $("reasons-title").textContent = i18n.t(entry.dissatisfied ? "reasons_low" : "reasons_high");
    $("screen-reasons").dataset.dissatisfied = String(Boolean(entry.dissatisfied));
    $("chips").replaceChildren(...HallRating.chipButtons(chipsFor(entry), state.reasons, (text) => i18n.pick(text),
      () => extendDeadline(REASONS_MIN_S))); // the customer is still choosing
    $("call-back-offer").hidden = !(entry.dissatisfied && state.config.call_back);
  }

  function renderCallBack() {
    $("call-back-consent-text").textContent = i18n.t("call_back_consent", HallRating.consentDays(state.config));
    $("call-back-error").hidden = !state.callBackError;
    $("call-back-error").textContent = state.callBackError ? i18n.pick(state.callBackError) : "";
    $("keypad").querySelector("[data-key=delete]").setAttribute("aria-label", i18n.t("key_delete"));
  }

  /** The pad's own keypad for the number: no on-screen keyboard covers the pad. */
  function buildKeypad() {
    const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "0", "delete"];
    $("keypad").replaceChildren(...keys.map((key) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.key = key;
      button.textContent = key === "delete" ? "⌫" : key;
      button.addEventListener("click", () => typeKey(key));
      return button;
    }));
  }

  function typeKey(key) {
    const field = $("call-back-phone");
    if (key === "delete") field.value = field.value.slice(0, -1);
    else if (key !== "+" || field.value === "") field.value = (field.value + key).slice(0, 32);
    state.callBackError = null;
    renderCallBack();
    extendDeadline(CALL_BACK_MIN_S);
  }

  /** Forget what the customer typed: the next customer must never see it. */
  function forgetCallBack() {
    state.callBack = false;
    state.callBackError = null;
    $("call-back-phone").value = "";
    $("call-back-name").value = "";
    $("call-back-consent").checked = false;
  }

  function offerCallBack() {
    if (state.sending) return;
    state.callBackError = null;
    show("call-back");
    renderCallBack();
    // a chosen score is still sent, without the number, if the customer walks away
    startCountdown(Math.max(CALL_BACK_MIN_S, (state.deadline - Date.now()) / 1000), () => {
      forgetCallBack();
      send();
    });
  }

  function render() {
    i18n.apply(document);
    renderIdle();
    if (state.asking && state.config && state.screen === "ask") renderAsk();
    if (state.asking && state.config && state.screen === "reasons") renderReasons();
    if (state.asking && state.config && state.screen === "call-back") renderCallBack();
  }

  // --- the countdown --------------------------------------------------------------------------------

  function startCountdown(seconds, onExpire) {
    clearTimeout(stepTimer);
    state.deadline = Date.now() + seconds * 1000;
    state.onExpire = onExpire;
    stepTimer = setTimeout(onExpire, seconds * 1000);
    const bar = $("countdown-bar");
    bar.style.transition = "none";
    bar.style.transform = "scaleX(1)";
    void bar.offsetWidth; // restart the transition
    bar.style.transition = `transform ${seconds}s linear`;
    bar.style.transform = "scaleX(0)";
    $("countdown").hidden = false;
  }

  function extendDeadline(minimumSeconds) {
    const left = (state.deadline - Date.now()) / 1000;
    if (left < minimumSeconds && state.onExpire) startCountdown(minimumSeconds, state.onExpire);
  }

  function stopCountdown() {
    clearTimeout(stepTimer);
    stepTimer = null;
    state.onExpire = null;
    $("countdown").hidden = true;
  }

  // --- the flow -------------------------------------------------------------------------------------

  function ask(ticket, seconds) {
    if (!state.config) return; // no scale yet: loadConfig() asks again when it arrives
    state.asking = { id: ticket.id, number: ticket.number };
    state.score = null;
    state.reasons = new Set();
    state.sending = false;
    forgetCallBack();
    show("ask");
    renderAsk();
    startCountdown(Math.max(1, seconds), farewell);
  }

  function chooseScore(entry) {
    if (state.sending) return;
    state.score = entry.score;
    state.reasons = new Set();
    if (!chipsFor(entry).length) {
      send();
      return;
    }
    $("pad-error").hidden = true;
    show("reasons");
    renderReasons();
    // a chosen score is sent even if the reasons step is left alone
    startCountdown(Math.max(REASONS_MIN_S, (state.deadline - Date.now()) / 1000), () => send());
  }

  async function send() {
    if (!state.asking || state.score === null || state.sending) return;
    state.sending = true;
    const buttons = ["send", "skip", "call-back-send", "call-back-back"];
    buttons.forEach((id) => { $(id).disabled = true; });
    const body = { ticket_id: state.asking.id, score: state.score, reasons: Array.from(state.reasons) };
    const callBack = HallRating.callBackBody(state.callBack, $("call-back-phone").value, $("call-back-name").value,
      $("call-back-consent").checked);
    if (callBack) body.call_back = callBack;
    let refusal = null;
    let calledBack = false;
    try {
      calledBack = Boolean((await api.post(RATING_URL, body)).call_back);
    } catch (error) {
      refusal = error instanceof window.HallApi.Error ? error : new window.HallApi.Error(0, "network", String(error));
    }
    state.sending = false;
    buttons.forEach((id) => { $(id).disabled = false; });
    const entry = state.config.scores.find((s) => s.score === state.score) || {};
    if (!refusal) return thanks(Boolean(entry.dissatisfied), calledBack);
    if (untrusted(refusal)) return;
    const callBackRefused = HallRating.callBackRefusal(refusal);
    if (callBackRefused && state.screen === "call-back") {
      state.callBackError = callBackRefused; // the customer corrects it on the same screen
      renderCallBack();
      extendDeadline(CALL_BACK_MIN_S);
      return;
    }
    if (refusal.code === "already_rated") return thanks(false);
    if (refusal.status === 0 || refusal.status >= 500) {
      // keep the customer's choice; let them try again while time is left
      if (state.screen !== "reasons") {
        show("reasons");
        renderReasons();
      }
      $("pad-error").textContent = i18n.t("err_send");
      $("pad-error").hidden = false;
      startCountdown(Math.max(REASONS_MIN_S, (state.deadline - Date.now()) / 1000), farewell);
      return;
    }
    farewell(); // refused for good (too late, not this counter's ticket): nothing the customer can do
  }

  /** The server no longer trusts this device: reload, and the server shows the pairing code. */
  function untrusted(error) {
    if (!(error instanceof window.HallApi.Error) || !page.device_refusals.includes(error.code)) return false;
    stopCountdown();
    window.location.reload();
    return true;
  }

  function thanks(sorry, calledBack) {
    stopCountdown();
    state.asking = null;
    forgetCallBack();
    $("screen-thanks").dataset.kind = sorry ? "sorry" : "thanks";
    $("thanks-title").textContent = i18n.t("thanks_title");
    $("thanks-text").textContent = i18n.t(calledBack ? "thanks_call_back" : sorry ? "thanks_sorry" : "thanks_text");
    show("thanks");
    clearTimeout(stepTimer);
    stepTimer = setTimeout(idle, THANKS_MS);
  }

  function farewell() {
    stopCountdown();
    state.asking = null;
    forgetCallBack();
    $("screen-thanks").dataset.kind = "farewell";
    $("thanks-title").textContent = i18n.t("farewell_title");
    $("thanks-text").textContent = i18n.t("farewell_text");
    show("thanks");
    stepTimer = setTimeout(idle, FAREWELL_MS);
  }

  function idle() {
    stopCountdown();
    state.asking = null;
    state.score = null;
    if (i18n.language !== page.language) i18n.setLanguage(page.language); // the next customer starts afresh
    show("idle");
    renderIdle();
  }

  /** After a (re)join: is a ticket this counter finished still waiting for its rating? */
  async function resumePrompt() {
    if (state.asking || state.screen === "thanks") return;
    try {
      const prompt = await api.get(RATING_URL);
      const ticket = prompt.ticket;
      if (!ticket || ticket.rated || state.asking) return;
      const left = (Date.parse(ticket.ask_until) - Date.parse(prompt.server_time)) / 1000;
      if (left > 2) ask(ticket, left);
    } catch (error) {
      untrusted(error); /* else offline: the next snapshot tries again */
    }
  }

  async function loadConfig() {
    try {
      state.config = await api.get("/api/ratings/config");
      resumePrompt();
    } catch (error) {
      setTimeout(loadConfig, 5000);
    }
  }

  // --- live -----------------------------------------------------------------------------------------

  function onSnapshot(snapshot) {
    state.counter = snapshot.counter;
    renderIdle();
    if (state.config) resumePrompt();
  }

  function onEvent(event) {
    const counter = state.counter;
    if (!counter) return;
    if (V.counter_kinds.includes(event.kind) && event.counter === COUNTER) {
      if (event.status) counter.status = event.status;
      if (event.kind === "counter_signed_in" || event.kind === "counter_signed_out") live.resync(); // the name
    }
    const ticket = event.ticket;
    // the server says what this counter holds after a ticket's move: its ticket (called, serving) or nothing
    if (event.counter === COUNTER && "holds_counter" in event) {
      counter.current = event.holds_counter ? event.ticket : null;
    }
    renderIdle();
    if (event.kind === "finished" && event.counter === COUNTER && ticket) {
      ask(ticket, state.config ? state.config.pad_timeout_s : 60);
    } else if (event.kind === "rated" && ticket && state.asking && ticket.id === state.asking.id && !state.sending) {
      thanks(false); // rated on the phone meanwhile
    }
  }

  const live = window.HallLive.connect({ branch: BRANCH, role: "counter", counter: COUNTER, onSnapshot, onEvent });

  // --- controls -------------------------------------------------------------------------------------

  $("pad-language").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "en" ? "zh-CN" : "en");
    if (state.asking) extendDeadline(REASONS_MIN_S);
  });
  $("send").addEventListener("click", send);
  $("call-back-offer").addEventListener("click", offerCallBack);
  $("call-back-back").addEventListener("click", () => {
    forgetCallBack();
    show("reasons");
    renderReasons();
    extendDeadline(REASONS_MIN_S);
  });
  $("call-back-send").addEventListener("click", () => {
    state.callBack = true;
    send();
  });
  $("call-back-name").addEventListener("input", () => extendDeadline(CALL_BACK_MIN_S));
  $("call-back-consent").addEventListener("change", () => {
    state.callBackError = null; // a correction: the server's last word no longer applies
    renderCallBack();
    extendDeadline(CALL_BACK_MIN_S);
  });
  buildKeypad();
  $("skip").addEventListener("click", () => {
    state.reasons = new Set();
    send();
  });
  i18n.onChange(render);

  render();
  loadConfig();
  window.RatingPad = { state, live }; // for tests and debugging
})();
