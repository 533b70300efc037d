/*
 * Appointment check-in at the kiosk: the customer types the booking code (a keypad of the code's own alphabet) or
 * the phone number they booked with (a number pad), or holds the booking's QR code to the kiosk's USB scanner,
 * which types the code into the focused field and presses Enter. The server decides everything (too early, late,
 * another day, the same ticket again: server/domain/booking.py decide_checkin); this page sends what was typed
 * and shows the ticket (kiosk.js's confirmation, with "called from HH:MM") or the server's reason, in the
 * customer's language.
 *
 * kiosk.js calls window.KioskCheckin.render(container, {config, i18n, api, showTicket}) each time the screen opens.
 */
(function () {
  "use strict";

  const CHECKIN_TIMEOUT_MS = 8000;
  let ctx = null;
  let root = null;
  let mode = "code";
  let value = "";
  let busy = false;
  let message = null; // {text} from the server, or {key} of a kiosk text
  let listening = false;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function alphabet() {
    return ctx.config.checkin.alphabet;
  }

  function codeLength() {
    return ctx.config.checkin.length;
  }

  /** What was typed or scanned, kept to what the mode accepts: a scanned code switches to the code's mode. */
  function accept(raw) {
    const upper = String(raw || "").toUpperCase();
    if (mode === "phone" && /[A-Z]/.test(upper)) mode = "code";
    if (mode === "code") {
      return [...upper].filter((ch) => alphabet().includes(ch)).join("").slice(0, codeLength());
    }
    return upper.replace(/[^0-9+]/g, "").slice(0, 20);
  }

  function shown() {
    if (mode !== "code") return value;
    return value.length > 4 ? value.slice(0, 4) + "-" + value.slice(4) : value;
  }

  function ready() {
    return mode === "code" ? value.length === codeLength() : value.replace(/\D/g, "").length >= 7;
  }

  function key(label, onPress, className, typed) {
    const button = el("button", "key " + (className || ""), label);
    button.type = "button";
    if (typed) button.dataset.key = typed;
    button.addEventListener("click", () => { if (!busy) onPress(); refresh(); focusField(); });
    return button;
  }

  function build() {
    const t = ctx.i18n.t;
    root.replaceChildren();
    const modes = el("div", "checkin-modes");
    modes.setAttribute("role", "tablist");
    for (const name of ["code", "phone"]) {
      const tab = el("button", "checkin-mode", t(name === "code" ? "checkin_by_code" : "checkin_by_phone"));
      tab.type = "button";
      tab.dataset.mode = name;
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-selected", String(mode === name));
      tab.addEventListener("click", () => { mode = name; value = ""; message = null; build(); });
      modes.append(tab);
    }
    const label = el("label", "checkin-field");
    const prompt = el("span", "checkin-prompt", t(mode === "code" ? "checkin_code_prompt" : "checkin_phone_prompt"));
    const input = el("input", "checkin-input");
    input.id = "checkin-input";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("inputmode", "none"); // the keypad below, never the system's keyboard; a scanner still types
    input.setAttribute("autocapitalize", "characters");
    input.addEventListener("input", () => {
      value = accept(input.value);
      message = null;
      refresh();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); submit(); }
    });
    label.append(prompt, input);
    const scan = el("p", "checkin-scan", mode === "code" ? t("checkin_scan") : "");
    const pad = el("div", "keypad " + (mode === "code" ? "keypad-code" : "keypad-phone"));
    const type = (ch) => () => { value = accept(value + ch); message = null; };
    const keys = mode === "code" ? [...alphabet()] : ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
    for (const ch of keys) pad.append(key(ch, type(ch), "", ch));
    if (mode === "phone") {
      pad.append(key(t("checkin_clear"), () => { value = ""; message = null; }, "key-wide"), key("0", type("0"), "", "0"));
    }
    pad.append(key("⌫", () => { value = value.slice(0, -1); message = null; }, "key-delete"));
    if (mode === "code") pad.append(key(t("checkin_clear"), () => { value = ""; message = null; }, "key-wide"));
    pad.lastChild.setAttribute("aria-label", mode === "code" ? t("checkin_clear") : t("checkin_delete"));
    const error = el("p", "checkin-error");
    error.setAttribute("role", "alert");
    const go = el("button", "primary checkin-go", t("checkin_go"));
    go.type = "button";
    go.addEventListener("click", submit);
    root.append(modes, label, scan, pad, error, go);
    refresh();
    focusField();
  }

  function refresh() {
    if (!root) return;
    const input = root.querySelector(".checkin-input");
    if (input && input.value !== shown()) input.value = shown();
    const go = root.querySelector(".checkin-go");
    go.disabled = busy || !ready();
    go.textContent = ctx.i18n.t(busy ? "checkin_working" : "checkin_go");
    const error = root.querySelector(".checkin-error");
    error.textContent = !message ? "" : message.text ? ctx.i18n.pick(message.text) : ctx.i18n.t(message.key);
  }

  function focusField() {
    const input = root && root.querySelector(".checkin-input");
    if (input && document.activeElement !== input) input.focus({ preventScroll: true });
  }

  async function submit() {
    if (busy || !ready()) return;
    busy = true;
    message = null;
    refresh();
    const body = { language: ctx.i18n.language };
    body[mode] = value;
    try {
      const answer = await ctx.api("/branches/" + encodeURIComponent(ctx.config.branch) + "/checkin", body, {},
        CHECKIN_TIMEOUT_MS);
      const ticket = { ...answer.ticket, checkin: { outcome: answer.outcome, slot_time: answer.slot_time,
        callable_from_time: answer.callable_from_time } };
      value = "";
      ctx.showTicket(ticket);
    } catch (error) {
      const details = (error && error.details) || {};
      if (details.text) message = { text: details.text };
      else if (error && error.status === 429) message = { key: "checkin_limited" };
      else message = { key: "checkin_offline" };
    } finally {
      busy = false;
      refresh();
    }
  }

  function render(container, context) {
    root = container;
    ctx = context;
    mode = "code";
    value = "";
    message = null;
    busy = false;
    if (!listening) {
      listening = true;
      ctx.i18n.onChange(() => { if (root) build(); });
    }
    build();
  }

  window.KioskCheckin = { render, get value() { return value; }, get mode() { return mode; } };
})();
