/*
 * The virtual queue on the customer's phone (kiosk/templates/kiosk/join.html).
 *
 * mode "join": pick a service that takes tickets from phones, give the phone number with consent, take the ticket
 * (POST /api/remote/{branch}/tickets) and go to its phone page /t/{token}. The token is kept in this phone's local
 * storage, per branch, so that the check-in page below can find it.
 * mode "arrive": opened by scanning the wall display's QR (/arrive/{branch}?c=CODE): checks in the ticket this phone
 * holds for the branch (POST /api/remote/checkin) and says so, or says why not, in the customer's language.
 * Whether a code is good, a number may join, a ticket may check in: the server's (its refusals carry both languages).
 */
(function () {
  "use strict";

  const TEXTS = {
    "zh-CN": {
      language: "语言",
      join_title: "手机取号，到厅再签到",
      join_intro: "先取号排队，到营业厅后扫描厅内屏幕上的二维码或在取号机输入手机号签到。排到您时如未签到，号会先让给后面的顾客，并为您保留一段时间。",
      no_services: "该营业厅目前没有可用手机取号的业务，请到厅内取号。",
      pick_service: "选择业务",
      phone: "手机号码",
      consent: "我同意营业厅使用我的号码核对今天的手机取号（一天后删除）",
      join_send: "取号",
      have_ticket: "您已有一张号票：查看",
      pick_first: "请先选择业务",
      error_generic: "暂时无法连接，请稍后再试。",
      arriving: "正在签到…",
      arrived_title: "签到成功",
      arrived_text: "{number} 已签到，请在厅内留意叫号。",
      already_title: "已签到",
      already_text: "{number} 之前已签到，请留意叫号。",
      refused_title: "未能签到",
      no_ticket_title: "这部手机上没有本厅的手机号票",
      no_ticket_text: "请用取号时的手机扫码，或在取号机上选择“签到”并输入手机号。",
      open_ticket: "查看我的号票",
      private_note: "您的号码只用于今天的手机取号，不会显示在任何屏幕上。",
    },
    en: {
      language: "Language",
      join_title: "Join the queue now, check in when you arrive",
      join_intro: "Take your place in the queue before you come. At the hall, scan the QR code on the hall's screen or type your phone number at the kiosk to check in. If your turn comes before you have checked in, the next customer goes first and your place is kept for a while.",
      no_services: "No service of this hall takes tickets from phones now; please take one at the kiosk in the hall.",
      pick_service: "Choose a service",
      phone: "Phone number",
      consent: "I agree that the hall uses my number to check today's tickets taken from phones (deleted after a day)",
      join_send: "Take a ticket",
      have_ticket: "You already hold a ticket: open it",
      pick_first: "Please choose a service first",
      error_generic: "Cannot reach the hall right now; please try again.",
      arriving: "Checking in…",
      arrived_title: "You are checked in",
      arrived_text: "{number} is checked in: watch for your number in the hall.",
      already_title: "Already checked in",
      already_text: "{number} was checked in already: watch for your number.",
      refused_title: "Not checked in",
      no_ticket_title: "This phone holds no ticket of this hall",
      no_ticket_text: "Scan with the phone you took the ticket on, or choose \"Check in\" at the kiosk and type your phone number.",
      open_ticket: "Open my ticket",
      private_note: "Your number is used only for today's tickets from phones and is never shown on a screen.",
    },
  };

  const config = JSON.parse(document.getElementById("join-config").textContent);
  const STORE = "hall.remote.tickets"; // {branch: token} of the tickets this phone took here
  const $ = (id) => document.getElementById(id);
  const stored = (() => { try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { return {}; } })();
  const i18n = HallI18n.create(TEXTS, config.language || ((navigator.language || "").startsWith("en") ? "en" : "zh-CN"));
  const key = HallApi.newKey("remote");
  let result = null; // the arrive step's outcome: {kind, title, text, token}

  function keep(token) {
    stored[config.branch] = token;
    try { localStorage.setItem(STORE, JSON.stringify(stored)); } catch (e) { /* private mode: the link still works */ }
  }

  function ticketUrl(token) {
    return "/t/" + encodeURIComponent(token) + "?lang=" + encodeURIComponent(i18n.language);
  }

  function refusalText(error) {
    const text = error && error.details && error.details.text;
    return text ? i18n.pick(text) : i18n.t("error_generic");
  }

  function render() {
    i18n.apply(document);
    document.querySelectorAll(".lang").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.lang === i18n.language));
    });
    $("hall-name").textContent = i18n.pick(config.branch_name);
    $("join").dataset.mode = config.mode;
    $("join-step").hidden = config.mode !== "join";
    $("arrive-step").hidden = config.mode !== "arrive";
    if (config.mode === "join") renderJoin();
    else renderArrive();
  }

  function renderJoin() {
    const box = $("services");
    const chosen = box.querySelector("input:checked");
    box.querySelectorAll(".service-choice").forEach((label) => label.remove());
    config.services.forEach((service) => {
      const label = document.createElement("label");
      label.className = "service-choice";
      const input = document.createElement("input");
      Object.assign(input, { type: "radio", name: "service", value: service.code });
      input.checked = Boolean(chosen && chosen.value === service.code) || config.services.length === 1;
      const name = document.createElement("span");
      name.textContent = i18n.pick(service.name);
      label.append(input, name);
      box.appendChild(label);
    });
    $("no-services").hidden = config.services.length > 0;
    $("join-form").hidden = config.services.length === 0;
    const token = stored[config.branch];
    $("have-ticket").hidden = !token;
    if (token) $("have-ticket-link").href = ticketUrl(token);
  }

  function renderArrive() {
    const card = $("arrive-step");
    const shown = result || { kind: "busy", title: () => i18n.t("arriving"), text: () => "" };
    card.dataset.kind = shown.kind;
    $("arrive-title").textContent = shown.title();
    $("arrive-text").textContent = shown.text();
    $("arrive-link").hidden = !shown.token;
    if (shown.token) $("arrive-link").href = ticketUrl(shown.token);
  }

  async function join(event) {
    event.preventDefault();
    const picked = $("services").querySelector("input:checked");
    const error = $("join-error");
    error.hidden = true;
    if (!picked) {
      error.textContent = i18n.t("pick_first");
      error.hidden = false;
      return;
    }
    $("join-send").disabled = true;
    try {
      const ticket = await HallApi.post(`${config.api}/remote/${encodeURIComponent(config.branch)}/tickets`, {
        service: picked.value, phone: $("phone-input").value, consent: $("consent").checked, language: i18n.language,
      }, { key });
      keep(ticket.token);
      window.location.assign(ticketUrl(ticket.token));
    } catch (failure) {
      error.textContent = failure instanceof HallApi.Error && failure.status >= 400 ? refusalText(failure)
        : i18n.t("error_generic");
      error.hidden = false;
      $("join-send").disabled = false;
    }
  }

  async function arrive() {
    const token = stored[config.branch];
    if (!token) {
      result = { kind: "refused", title: () => i18n.t("no_ticket_title"), text: () => i18n.t("no_ticket_text") };
      render();
      return;
    }
    try {
      const answer = await HallApi.post(`${config.api}/remote/checkin`, { token, code: config.code || "" });
      const vars = () => ({ number: answer.number });
      result = answer.already
        ? { kind: "ok", title: () => i18n.t("already_title"), text: () => i18n.t("already_text", vars()), token }
        : { kind: "ok", title: () => i18n.t("arrived_title"), text: () => i18n.t("arrived_text", vars()), token };
    } catch (failure) {
      result = { kind: "refused", title: () => i18n.t("refused_title"), text: () => refusalText(failure), token };
    }
    render();
  }

  document.querySelectorAll(".lang").forEach((button) => {
    button.addEventListener("click", () => { i18n.language = button.dataset.lang; render(); });
  });
  $("join-form").addEventListener("submit", join);
  // a refusal said about the number or the consent is stale once the customer changes them
  for (const id of ["consent", "phone-input"]) {
    $(id).addEventListener("input", () => { $("join-error").hidden = true; });
  }
  render();
  if (config.mode === "arrive") arrive();
})();
