/*
 * A customer's own ticket on their phone (issue 4), opened from the QR code: live position, people ahead,
 * estimated wait, the counter when called ("your turn" banner, vibration, chime), "I'm leaving",
 * "I missed my call" and a rating after the service: a score, then the reason chips the server offers with that
 * score and an optional comment, then send. It joins the live connection as role
 * "ticket" with the ticket's private token, so it only ever receives this one ticket's data.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("ticket-config").textContent);
  const LANGUAGE_STORE = "hall-ticket-language";

  const TEXTS = {
    "zh-CN": {
      language: "语言",
      reconnecting: "正在重新连接…",
      your_number: "您的号码",
      priority_badge: "爱心通道 优先办理",
      people_ahead: "前面还有",
      people_ahead_n: "{n} 人",
      estimated_wait: "预计等候",
      no_estimate: "暂无法估计",
      called_from: "{time} 起叫号",
      appointment_slot: "您的预约",
      state_waiting: "排队中，请留意叫号",
      state_called: "正在叫您的号",
      state_serving: "正在 {counter} 为您办理",
      state_parked: "办理暂停，请在 {counter} 附近稍候",
      state_done: "办理完成，感谢您的光临",
      state_no_show: "您错过了叫号",
      state_cancelled: "号票已取消",
      state_expired: "今日营业已结束，此号票已失效",
      expired_open_now: "现在可以取号，请到取号机重新取号。",
      away_title: "还未到厅",
      away_text: "到厅后请扫描厅内屏幕上的二维码，或在取号机选择“签到”输入手机号。",
      held_title: "已排到您，请尽快签到",
      held_text: "请在 {n} 分钟内（{time} 前）到厅签到，否则此号作废。期间先为后面的顾客叫号。",
      checked_in: "已签到，请留意叫号。",
      state_expired_remote: "未在规定时间内到厅签到，此号票已失效",
      expired_next: "{when}，届时请到取号机重新取号。",
      expired_none: "暂停取号，何时恢复请咨询工作人员。",
      turn_title: "轮到您了！",
      turn_text: "请到 {counter} 办理",
      recall_title: "再次叫号！",
      next_title: "您是下一位",
      next_text: "请到叫号屏幕附近等候",
      transferred: "您的业务已转至“{service}”，请继续等候叫号。",
      returned: "您已回到队列中，请继续等候叫号。",
      sound_off: "开启声音和振动提醒",
      sound_on: "声音提醒已开启",
      keep_open: "请保持此页面打开，叫到您的号时手机会振动并响铃。",
      leave: "我要离开（取消号票）",
      leave_question: "确定要取消这张号票吗？取消后需要重新取号。",
      leave_yes: "确定取消",
      leave_no: "继续排队",
      missed_hint: "如果您已回到大厅，可以重新排队。",
      reactivate: "我回来了，重新排队",
      rate_title: "请为本次服务评价",
      rate_thanks: "感谢您的评价！",
      rate_thanks_follow_up: "非常抱歉！感谢您的反馈，值班经理会查明原因、改进服务。",
      reasons_low: "非常抱歉！请告诉我们哪里做得不好（可多选）",
      reasons_high: "谢谢！哪些方面让您满意？（可多选）",
      comment_label: "还想说点什么？（选填）",
      call_back_title: "需要我们回电吗？",
      call_back_yes: "是的，请给我回电",
      call_back_phone: "手机号码",
      call_back_name: "怎么称呼您？（选填）",
      call_back_consent: "我同意营业厅仅为处理本次评价使用此号码与我联系。问题处理完毕 {days} 天后删除，最长保留 {max} 天。",
      sms_title: "短信提醒",
      elsewhere_title: "等候较久？附近营业厅等候更短",
      elsewhere_none: "附近暂时没有等候更短的营业厅。",
      elsewhere_self: "不用排队：自助办理",
      elsewhere_wait: "预计等候 {wait}",
      elsewhere_distance: "距此 {km} 公里",
      elsewhere_book: "预约时间",
      sms_offer: "快轮到您时，我们发短信提醒您，您可以先离开大厅。",
      sms_yes: "短信提醒我",
      sms_consent: "我同意营业厅仅为本次排队提醒使用此号码（前面还有几位、下一位、叫号窗口）。号码在 1 天内删除，可随时停止。",
      sms_send: "开启短信提醒",
      sms_to: "短信将发送至 {phone}",
      sms_stop: "停止短信提醒",
      sms_stopped: "已停止短信提醒，号码已删除。",
      rate_thanks_call_back: "非常抱歉！经理会尽快按您留下的号码回电。",
      rate_send: "提交评价",
      rated_already: "您已评价过本次服务，谢谢！",
      private_note: "此页面只显示您自己的号票，请勿分享链接。",
      error_generic: "操作没有成功，请稍后再试。",
      error_window: "已超过可重新排队的时间，请在取号机重新取号。",
      error_not_waiting: "号票状态已变化，无法取消。",
      counter_unknown: "窗口",
    },
    en: {
      language: "Language",
      reconnecting: "Reconnecting…",
      your_number: "Your number",
      priority_badge: "Priority lane",
      people_ahead: "People ahead of you",
      people_ahead_n: "{n}",
      estimated_wait: "Estimated wait",
      no_estimate: "No estimate yet",
      called_from: "Called from {time}",
      appointment_slot: "Your appointment",
      state_waiting: "Waiting — watch for your number",
      state_called: "Your number is being called",
      state_serving: "Being served at {counter}",
      state_parked: "Your service is paused; please stay near {counter}",
      state_done: "All done — thank you for coming",
      state_no_show: "You missed your call",
      state_cancelled: "Ticket cancelled",
      state_expired: "This ticket expired when the hall closed for the day",
      expired_open_now: "Tickets are being issued now: please take a new one at the kiosk.",
      away_title: "Not yet in the hall",
      away_text: "Check in when you arrive: scan the QR code on the hall's screen, or choose \"Check in\" at the kiosk and type your phone number.",
      held_title: "You have reached the front: check in",
      held_text: "Check in within {n} min (by {time}) or this ticket expires. Meanwhile the next customers are called.",
      checked_in: "Checked in: watch for your number.",
      state_expired_remote: "Not checked in in time: this ticket has expired",
      expired_next: "{when}: please take a new one at the kiosk then.",
      expired_none: "Tickets are not being issued; please ask a member of staff when they will be again.",
      turn_title: "It's your turn!",
      turn_text: "Please go to {counter}",
      recall_title: "Calling again!",
      next_title: "You're next",
      next_text: "Please wait near the screens",
      transferred: "Your ticket was moved to {service}. Please keep waiting for your call.",
      returned: "You are back in the queue. Please keep waiting for your call.",
      sound_off: "Turn on sound and vibration alerts",
      sound_on: "Sound alerts are on",
      keep_open: "Keep this page open: your phone will vibrate and ring when it's your turn.",
      leave: "I'm leaving (cancel my ticket)",
      leave_question: "Cancel this ticket? You would need to take a new one.",
      leave_yes: "Yes, cancel it",
      leave_no: "Keep my place",
      missed_hint: "If you are back in the hall, you can rejoin the queue.",
      reactivate: "I'm back — rejoin the queue",
      rate_title: "How was our service?",
      rate_thanks: "Thank you for your rating!",
      rate_thanks_follow_up: "We are sorry. Thank you for telling us — the duty manager will look into what went wrong.",
      reasons_low: "We are sorry. What went wrong? (choose any)",
      reasons_high: "Thank you! What did you like? (choose any)",
      comment_label: "Anything else? (optional)",
      call_back_title: "May we call you back?",
      call_back_yes: "Yes, please call me back",
      call_back_phone: "Mobile number",
      call_back_name: "Your name (optional)",
      call_back_consent: "I agree that the hall uses this number only to contact me about this rating. It is deleted {days} days after the matter is resolved, and kept {max} days at most.",
      sms_title: "Text message alerts",
      elsewhere_title: "A long wait? Nearby branches with a shorter one",
      elsewhere_none: "No nearby branch has a shorter wait right now.",
      elsewhere_self: "No queue: do it yourself",
      elsewhere_wait: "Wait there: {wait}",
      elsewhere_distance: "{km} km away",
      elsewhere_book: "Book a time",
      sms_offer: "We can text you when your turn is near, so you need not wait in the hall.",
      sms_yes: "Text me",
      sms_consent: "I agree that the hall uses this number only for this ticket's alerts (people ahead, you're next, your counter). It is deleted within 1 day; I can stop them at any time.",
      sms_send: "Start text alerts",
      sms_to: "Texts go to {phone}",
      sms_stop: "Stop text messages",
      sms_stopped: "Text messages stopped; your number was deleted.",
      rate_thanks_call_back: "We are sorry. A manager will call you back on the number you left.",
      rate_send: "Send rating",
      rated_already: "You have already rated this service. Thank you!",
      private_note: "This page shows only your own ticket. Please don't share the link.",
      error_generic: "That didn't work. Please try again shortly.",
      error_window: "It's too late to rejoin. Please take a new ticket at the kiosk.",
      error_not_waiting: "Your ticket has changed and can no longer be cancelled.",
      counter_unknown: "the counter",
    },
  };

  // the customer's switch on this phone for this ticket; otherwise the language chosen at the kiosk
  const LANGUAGE_KEY = LANGUAGE_STORE + ":" + config.token;

  function preferredLanguage() {
    if (config.language) return config.language;
    let stored = null;
    try {
      stored = localStorage.getItem(LANGUAGE_KEY);
    } catch (error) {
      stored = null;
    }
    if (stored) return stored;
    if (config.ticket && TEXTS[config.ticket.language]) return config.ticket.language;
    const wanted = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""]);
    for (const tag of wanted) {
      if (/^zh/i.test(tag)) return "zh-CN";
      if (/^en/i.test(tag)) return "en";
    }
    return "zh-CN";
  }

  const i18n = HallI18n.create(TEXTS, preferredLanguage());
  const $ = (id) => document.getElementById(id);
  const api = config.api + "/tickets/" + encodeURIComponent(config.token);

  let ticket = Object.assign({}, config.ticket);
  let note = null; // {key, vars}: a one-off message (transferred, back in the queue)
  let errorKey = null;
  let alerted = new Set();
  // score and reasons: the customer's choice before sending; followUp: the sent rating opened a follow-up
  // callBack: the customer asked to be called back (a dissatisfied score only); callBackError: the server's reason
  let rating = { loaded: false, loading: false, state: null, config: null, sent: false, score: null,
                 reasons: new Set(), followUp: false, callBack: false, calledBack: false, callBackError: null };
  let audio = null;
  // the ticket's text alerts (GET /sms): null until loaded; open: the form is shown; error: the server's reason
  let sms = { state: null, open: false, error: null, stopped: false };

  // --- rendering -------------------------------------------------------------------------------

  function counterName() {
    const names = ticket.counter_name || (ticket.counter && config.counters[ticket.counter]);
    return names ? i18n.pick(names) : i18n.t("counter_unknown");
  }

  function estimateText(estimate) {
    if (!estimate || !estimate.text) return i18n.t("no_estimate");
    return i18n.pick(estimate.text); // the server's words, which say why when there is no estimate
  }

  /** For an expired ticket: when its service takes tickets again, in the branch's time zone (the server's opening;
   * null while it does not say, e.g. before the fresh snapshot that follows the day's end). */
  function nextOpeningText() {
    const opening = ticket.service_opening;
    if (!opening) return null;
    if (opening.open) return i18n.t("expired_open_now");
    if (!opening.opens_at) return i18n.t("expired_none");
    const words = HallOpening.describe(opening, i18n.language, config.timezone);
    return words ? i18n.t("expired_next", { when: words.text }) : null;
  }

  /** Held until its slot (an appointment checked in early): the server says from when it can be called. */
  function heldUntil() {
    return ticket.state === "waiting" && ticket.callable_from_time ? ticket.callable_from_time : null;
  }

  function isNext() {
    return ticket.state === "waiting" && ticket.people_ahead === 0 && !heldUntil() && !ticket.awaiting_arrival;
  }

  /** Minutes left to check in, and the time it ends, in the branch's zone (null: not held aside). */
  function checkInLeft() {
    if (!ticket.check_in_by) return null;
    const ends = new Date(ticket.check_in_by);
    const minutes = Math.max(0, Math.ceil((ends.getTime() - Date.now()) / 60000));
    const time = ends.toLocaleTimeString(i18n.language, { hour: "2-digit", minute: "2-digit", hour12: false,
                                                          timeZone: config.timezone });
    return { n: minutes, time };
  }

  function render() {
    const phone = $("phone");
    phone.dataset.state = ticket.state;
    document.querySelectorAll(".lang").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.lang === i18n.language));
    });
    $("hall-name").textContent = i18n.pick(config.branch_name);
    $("service").textContent = i18n.pick(ticket.service_name);
    $("number").textContent = ticket.number;
    $("priority").hidden = ticket.priority !== "priority";
    const vars = { counter: counterName() };
    // a ticket taken on the phone whose customer has not checked in (the server says so, and until when)
    const away = ticket.state === "waiting" && ticket.awaiting_arrival;
    const missed = ticket.state === "expired" && ticket.awaiting_arrival;
    $("state-line").textContent = i18n.t(missed ? "state_expired_remote" : "state_" + ticket.state, vars);

    const waiting = ticket.state === "waiting";
    $("facts").hidden = !waiting;
    $("ahead").textContent = ticket.people_ahead === null || ticket.people_ahead === undefined
      ? "–" : i18n.t("people_ahead_n", { n: ticket.people_ahead });
    const held = heldUntil();
    $("estimate-label").dataset.i18n = held ? "appointment_slot" : "estimated_wait"; // kept on a language change
    $("estimate-label").textContent = i18n.t($("estimate-label").dataset.i18n);
    $("estimate").textContent = held ? i18n.t("called_from", { time: held }) : estimateText(ticket.estimate);

    const banner = $("banner");
    const called = ticket.state === "called";
    const checkIn = away ? checkInLeft() : null; // reached the front away from the hall: until when to check in
    banner.hidden = !(called || isNext() || away);
    banner.dataset.kind = called ? "turn" : checkIn ? "held" : away ? "away" : "next";
    if (checkIn) {
      $("banner-title").textContent = i18n.t("held_title");
      $("banner-text").textContent = i18n.t("held_text", checkIn);
    } else if (away) {
      $("banner-title").textContent = i18n.t("away_title");
      $("banner-text").textContent = i18n.t("away_text");
    } else if (called) {
      $("banner-title").textContent = i18n.t(ticket.recall_count > 0 ? "recall_title" : "turn_title");
      $("banner-text").textContent = i18n.t("turn_text", vars);
    } else if (isNext()) {
      $("banner-title").textContent = i18n.t("next_title");
      $("banner-text").textContent = i18n.t("next_text");
    }
    document.title = ticket.number + " · " + (called ? i18n.t("turn_title") : i18n.t("your_number"));

    $("note").hidden = !note || !waiting;
    if (note) $("note").textContent = i18n.t(note.key, note.vars && note.vars());
    const reopens = ticket.state === "expired" ? nextOpeningText() : null;
    $("next-opening").hidden = !reopens;
    $("next-opening").textContent = reopens || "";

    $("waiting-actions").hidden = !waiting;
    $("sound-text").textContent = i18n.t(audio ? "sound_on" : "sound_off");
    $("sound").setAttribute("aria-pressed", String(Boolean(audio)));
    $("missed-actions").hidden = ticket.state !== "no_show";
    renderRating();
    renderSms();
    renderElsewhere();

    $("error").hidden = !errorKey;
    if (errorKey) $("error").textContent = i18n.t(errorKey);
  }

  function renderSms() {
    const state = sms.state;
    const show = Boolean(state && state.available && (state.subscribed || (state.open && ticket.state === "waiting")));
    $("sms").hidden = !show && !sms.stopped;
    if (!state) return;
    $("sms-offer").hidden = state.subscribed;
    $("sms-on").hidden = !state.subscribed;
    $("sms-toggle").setAttribute("aria-pressed", String(sms.open));
    $("sms-form").hidden = !sms.open;
    $("sms-to").textContent = state.subscribed ? i18n.t("sms_to", { phone: state.phone })
      : sms.stopped ? i18n.t("sms_stopped") : "";
    if (sms.stopped && !state.subscribed) {
      $("sms-on").hidden = false;
      $("sms-stop").hidden = true;
    } else {
      $("sms-stop").hidden = false;
    }
    $("sms-error").hidden = !sms.error;
    $("sms-error").textContent = sms.error ? i18n.pick(sms.error) : "";
  }

  function renderRating() {
    const section = $("rating");
    const show = ticket.state === "done" && rating.loaded && rating.state
      && (rating.state.can_rate || rating.state.rated || rating.sent);
    section.hidden = !show;
    if (!show) return;
    const done = rating.sent || rating.state.rated;
    $("rating-thanks").hidden = !done;
    $("rating-thanks").textContent = i18n.t(!rating.sent ? "rated_already" : rating.calledBack
      ? "rate_thanks_call_back" : rating.followUp ? "rate_thanks_follow_up" : "rate_thanks");
    $("rating-title").hidden = done;
    const scores = $("scores");
    scores.hidden = done;
    $("rating-details").hidden = done || chosenScore() === null;
    if (done || !rating.config) return;
    scores.replaceChildren(...rating.config.scores.map((item) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "score" + (item.dissatisfied ? " low" : "");
      button.dataset.score = String(item.score);
      button.setAttribute("aria-pressed", String(rating.score === item.score));
      button.textContent = i18n.pick(item.label);
      button.addEventListener("click", () => chooseScore(item.score));
      return button;
    }));
    renderReasons();
  }

  /** The chosen score's entry of the server's scale (it names the chips offered with that score). */
  function chosenScore() {
    if (!rating.config || rating.score === null) return null;
    return rating.config.scores.find((item) => item.score === rating.score) || null;
  }

  function renderReasons() {
    const entry = chosenScore();
    if (!entry) return;
    const chips = entry.reasons || [];
    $("reasons-title").hidden = !chips.length;
    $("reasons-title").textContent = i18n.t(entry.dissatisfied ? "reasons_low" : "reasons_high");
    $("chips").replaceChildren(...HallRating.chipButtons(chips, rating.reasons, (text) => i18n.pick(text)));
    $("comment").maxLength = rating.config.comment_max_length || 200;
    renderCallBack(entry);
  }

  /** With a dissatisfied score: "May we call you back?", the number, an optional name and the consent line. */
  function renderCallBack(entry) {
    const offered = Boolean(entry.dissatisfied && rating.config.call_back);
    $("call-back").hidden = !offered;
    if (!offered) return;
    $("call-back-toggle").setAttribute("aria-pressed", String(rating.callBack));
    $("call-back-form").hidden = !rating.callBack;
    $("call-back-consent-text").textContent = i18n.t("call_back_consent", HallRating.consentDays(rating.config));
    $("call-back-error").hidden = !rating.callBackError;
    $("call-back-error").textContent = rating.callBackError ? i18n.pick(rating.callBackError) : "";
  }

  // --- alerts: banner, vibration, chime ----------------------------------------------------------

  function chime() {
    if (!audio) return;
    try {
      if (audio.state === "suspended") audio.resume();
      const start = audio.currentTime + 0.02;
      [880, 1175, 1568].forEach((frequency, index) => {
        const oscillator = audio.createOscillator();
        const gain = audio.createGain();
        oscillator.type = "sine";
        oscillator.frequency.value = frequency;
        const at = start + index * 0.22;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.5);
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start(at);
        oscillator.stop(at + 0.55);
      });
    } catch (error) {
      /* no sound on this phone: the banner and vibration still show it */
    }
  }

  function vibrate(pattern) {
    try {
      if (navigator.vibrate) navigator.vibrate(pattern);
    } catch (error) {
      /* not supported (e.g. iOS) */
    }
  }

  function checkAlerts() {
    let key = null;
    let pattern = null;
    if (ticket.state === "called") {
      key = "called:" + (ticket.called_at || "") + ":" + (ticket.recall_count || 0);
      pattern = [500, 200, 500, 200, 800];
    } else if (isNext()) {
      key = "next:" + (ticket.version || "");
      pattern = [300, 150, 300];
    }
    if (!key || alerted.has(key)) return;
    alerted.add(key);
    vibrate(pattern);
    chime();
    if (ticket.state === "called") {
      $("banner").classList.remove("pulse");
      void $("banner").offsetWidth; // restart the animation for a recall
      $("banner").classList.add("pulse");
    }
  }

  function enableSound() {
    if (!audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (Context) {
        try {
          audio = new Context(); // created in a tap, so phones allow it to play later
        } catch (error) {
          audio = null;
        }
      }
    }
    if (audio) {
      chime();
      vibrate(200);
    }
    render();
  }

  // --- a long wait: other branches and self-service ----------------------------------------------

  const ELSEWHERE_EVERY_MS = 60 * 1000; // asked again at most once a minute while the wait changes
  let elsewhere = null; // the server's answer for this ticket (its rule says whether the wait is long)
  let elsewhereAsked = 0;
  let elsewhereFor = "";

  /** Ask again when this ticket's shown wait changed (and a minute has passed): the server judges it. */
  async function loadElsewhere() {
    const shown = ticket.state === "waiting" && ticket.estimate && ticket.estimate.range_min
      ? ticket.estimate.range_min.join("-") : "";
    if (!shown) {
      elsewhere = null;
      return;
    }
    if (shown === elsewhereFor || Date.now() - elsewhereAsked < ELSEWHERE_EVERY_MS) return;
    elsewhereFor = shown;
    elsewhereAsked = Date.now();
    try {
      elsewhere = await window.HallApi.get(api + "/alternatives", { cache: "no-store" });
    } catch (error) {
      return; // nothing to add: the ticket page stands on its own
    }
    render();
  }

  function renderElsewhere() {
    const show = Boolean(elsewhere && elsewhere.long_wait && ticket.state === "waiting"
      && (elsewhere.nearby.length || elsewhere.self_service.length));
    $("elsewhere").hidden = !show;
    if (!show) return;
    const list = $("elsewhere-nearby");
    list.replaceChildren();
    const item = (className, parts) => {
      const li = document.createElement("li");
      li.className = className;
      for (const [cls, text] of parts) {
        const span = document.createElement("span");
        span.className = cls;
        span.textContent = text;
        li.appendChild(span);
      }
      return li;
    };
    for (const b of elsewhere.nearby) {
      const where = [i18n.t("elsewhere_distance", { km: b.distance_km.toFixed(1) })];
      if (b.address) where.push(i18n.pick(b.address));
      const li = item("elsewhere-branch", [["elsewhere-name", i18n.pick(b.name)],
        ["elsewhere-wait", i18n.t("elsewhere_wait", { wait: estimateText(b.estimate) })],
        ["elsewhere-where", where.join(" · ")]]);
      li.dataset.branch = b.branch;
      if (b.book_url) {
        const link = document.createElement("a");
        link.className = "elsewhere-book";
        link.href = b.book_url;
        link.textContent = i18n.t("elsewhere_book");
        li.appendChild(link);
      }
      list.appendChild(li);
    }
    if (!elsewhere.nearby.length) list.appendChild(item("elsewhere-empty", [["elsewhere-text", i18n.t("elsewhere_none")]]));
    const self = $("elsewhere-self");
    self.replaceChildren(...elsewhere.self_service.map((way) => item("elsewhere-way",
      [["elsewhere-name", i18n.pick(way.name)], ["elsewhere-text", i18n.pick(way.text)]])));
    $("elsewhere-self-title").hidden = !elsewhere.self_service.length;
  }

  // --- live updates ------------------------------------------------------------------------------

  function applyTicket(fields) {
    const wasState = ticket.state;
    Object.assign(ticket, fields);
    if (ticket.state !== "waiting") note = null;
    if (ticket.state !== "waiting" && wasState === "waiting") $("confirm-leave").hidden = true;
    if (ticket.state === "done") loadRating();
  loadSms();
    render();
    checkAlerts();
    loadElsewhere();
  }

  function onEvent(event) {
    const changed = event.ticket;
    if (!changed || changed.id !== ticket.id) return;
    const fields = {
      state: changed.state, counter: changed.counter, service: changed.service, service_name: changed.service_name,
      recall_count: changed.recall_count, called_at: changed.called_at, version: changed.version,
      awaiting_arrival: changed.awaiting_arrival, check_in_by: changed.check_in_by,
      counter_name: changed.counter ? config.counters[changed.counter] || null : null,
    };
    if (event.kind === "transferred") {
      note = { key: "transferred", vars: () => ({ service: i18n.pick(ticket.service_name) }) };
    } else if (event.kind === "returned" || event.kind === "reactivated") {
      note = { key: "returned" };
    } else if (event.kind === "checked_in") {
      note = { key: "checked_in" };
    }
    if (changed.state === "waiting" && ticket.state !== "waiting") {
      fields.people_ahead = null; // the next ticket_update brings the new position
      fields.estimate = null;
    }
    applyTicket(fields);
    // the day ended: the fresh snapshot says when the service takes tickets again
    if (changed.state === "expired" && !ticket.service_opening) live.resync();
  }

  function onTicketUpdate(update) {
    if (update.ticket_id !== ticket.id) return;
    if (ticket.state !== "waiting" && update.state !== "waiting") return;
    applyTicket({ people_ahead: update.people_ahead, estimate: update.estimate, state: update.state,
      callable_from: update.callable_from, callable_from_time: update.callable_from_time });
  }

  // --- commands ---------------------------------------------------------------------------------

  /** POST to this ticket's API: {ok: true, data} or, when refused, {ok: false, error} (a HallApi.Error). An
   * unreachable server throws, and the button's handler shows the generic error. */
  async function post(path, body) {
    try {
      return { ok: true, data: await window.HallApi.post(api + path, body || {}, { cache: "no-store" }) };
    } catch (error) {
      if (!(error instanceof window.HallApi.Error) || error.status === 0) throw error;
      return { ok: false, error };
    }
  }

  async function run(button, work) {
    if (button.disabled) return;
    button.disabled = true;
    errorKey = null;
    try {
      await work();
    } catch (error) {
      errorKey = "error_generic";
    } finally {
      button.disabled = false;
      render();
    }
  }

  function leave() {
    return run($("leave-yes"), async () => {
      const result = await post("/cancel");
      if (result.ok) {
        $("confirm-leave").hidden = true;
        applyTicket({ state: result.data.state, version: result.data.version });
      } else {
        errorKey = result.error.status === 409 ? "error_not_waiting" : "error_generic";
      }
    });
  }

  function reactivate() {
    return run($("reactivate"), async () => {
      const result = await post("/reactivate");
      if (result.ok) {
        note = { key: "returned" };
        applyTicket({ state: result.data.state, counter: null, counter_name: null, people_ahead: null, estimate: null });
      } else {
        errorKey = result.error.code === "reactivate_window_passed" ? "error_window" : "error_generic";
      }
    });
  }

  async function loadSms() {
    try {
      sms.state = await window.HallApi.get(api + "/sms", { cache: "no-store" });
    } catch (error) {
      /* text alerts are optional; the page works without them */
    }
    render();
  }

  function smsOptIn() {
    return run($("sms-send"), async () => {
      sms.error = null;
      const result = await post("/sms", { phone: $("sms-phone").value, consent: $("sms-consent").checked,
                                         language: i18n.language });
      if (result.ok) {
        sms.state = result.data;
        sms.open = false;
        sms.stopped = false;
        $("sms-phone").value = ""; // the page keeps no copy
      } else if (result.error.details && result.error.details.text) {
        sms.error = result.error.details.text;
        $(result.error.code === "consent_required" ? "sms-consent" : "sms-phone").focus();
      } else {
        errorKey = "error_generic";
      }
    });
  }

  function smsStop() {
    return run($("sms-stop"), async () => {
      const result = await post("/sms/stop");
      if (result.ok) {
        sms.state = result.data;
        sms.stopped = true;
      } else {
        errorKey = "error_generic";
      }
    });
  }

  async function loadRating() {
    if (rating.loaded || rating.loading) return;
    rating.loading = true;
    try {
      const [ratingState, ratingConfig] = await Promise.all([
        window.HallApi.get(api + "/rating", { cache: "no-store" }),
        window.HallApi.get(config.api + "/ratings/config", { cache: "no-store" }),
      ]);
      rating.state = ratingState;
      rating.config = ratingConfig;
      rating.loaded = true;
    } catch (error) {
      /* rating is optional; the page still shows the ticket as done */
    } finally {
      rating.loading = false;
      render();
    }
  }

  /** A score chosen (or changed): its chips and the comment follow; nothing is sent until "Send". */
  function chooseScore(score) {
    if (rating.score !== score) rating.reasons = new Set(); // another score offers other chips
    rating.callBackError = null;
    rating.score = score;
    render();
    $("rate-send").scrollIntoView({ block: "nearest" });
  }

  function rate() {
    if (rating.score === null) return undefined;
    return run($("rate-send"), async () => {
      const comment = $("comment").value.trim();
      const body = { score: rating.score, reasons: Array.from(rating.reasons) };
      if (comment) body.comment = comment;
      const entry = chosenScore();
      const callBack = HallRating.callBackBody(rating.callBack && entry && entry.dissatisfied,
        $("call-back-phone").value, $("call-back-name").value, $("call-back-consent").checked);
      if (callBack) body.call_back = callBack;
      rating.callBackError = null;
      const result = await post("/rating", body);
      const refusal = result.ok ? null : HallRating.callBackRefusal(result.error);
      if (result.ok) {
        rating.sent = true;
        rating.followUp = Boolean(result.data.follow_up_opened);
        rating.calledBack = Boolean(result.data.call_back);
        $("call-back-phone").value = $("call-back-name").value = ""; // the page keeps no copy
      } else if (refusal) {
        rating.callBackError = refusal; // shown by the field, in the language chosen (render)
        $(result.error.details.field === "name" ? "call-back-name"
          : result.error.code === "consent_required" ? "call-back-consent" : "call-back-phone").focus();
      } else if (result.error.status === 409 && result.error.code === "already_rated") {
        rating.state.rated = true;
      } else {
        errorKey = "error_generic";
      }
    });
  }

  // --- wiring ---------------------------------------------------------------------------------------

  document.querySelectorAll(".lang").forEach((button) => {
    button.addEventListener("click", () => {
      i18n.setLanguage(button.dataset.lang);
      try {
        localStorage.setItem(LANGUAGE_KEY, button.dataset.lang);
      } catch (error) {
        /* private mode: the choice lasts for this page only */
      }
    });
  });
  $("sound").addEventListener("click", enableSound);
  $("leave").addEventListener("click", () => {
    $("confirm-leave").hidden = false;
    $("leave-yes").focus();
  });
  $("leave-no").addEventListener("click", () => {
    $("confirm-leave").hidden = true;
    $("leave").focus();
  });
  $("leave-yes").addEventListener("click", leave);
  $("reactivate").addEventListener("click", reactivate);
  $("rate-send").addEventListener("click", rate);
  for (const id of ["call-back-phone", "call-back-name", "call-back-consent"]) {
    $(id).addEventListener("change", () => { // a correction: the server's last word no longer applies
      if (!rating.callBackError) return;
      rating.callBackError = null;
      render();
    });
  }
  $("sms-toggle").addEventListener("click", () => {
    sms.open = !sms.open;
    sms.error = null;
    render();
    if (sms.open) $("sms-phone").focus();
  });
  $("sms-send").addEventListener("click", smsOptIn);
  for (const id of ["sms-phone", "sms-consent"]) {
    $(id).addEventListener("change", () => { // a correction: the server's last word no longer applies
      if (!sms.error) return;
      sms.error = null;
      render();
    });
  }
  $("sms-stop").addEventListener("click", smsStop);
  $("call-back-toggle").addEventListener("click", () => {
    rating.callBack = !rating.callBack;
    rating.callBackError = null;
    render();
    if (rating.callBack) $("call-back-phone").focus();
  });

  i18n.onChange(render);
  i18n.apply(document);
  render();
  // held aside at the front: the minutes left to check in count down
  setInterval(() => { if (ticket.check_in_by && ticket.awaiting_arrival) render(); }, 20000);
  if (ticket.state === "done") loadRating();
  checkAlerts();

  const live = HallLive.connect({
    branch: config.branch,
    role: "ticket",
    token: config.token,
    onSnapshot(snapshot) {
      const fresh = Object.assign({}, snapshot);
      delete fresh.seq;
      applyTicket(fresh);
    },
    onEvent,
    onTicket: onTicketUpdate,
  });
})();
