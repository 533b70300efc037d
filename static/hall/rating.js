/*
 * HallRating: what the rating pad and the phone page share about a rating's reason chips.
 *
 *   HallRating.chipButtons(chips, chosen, pick, onToggle)
 *     -> one toggle <button class="chip" data-reason=CODE aria-pressed> per chip of the score the customer chose
 *        (the server's ratings config says which chips go with which score); ``chosen`` is the Set of chosen
 *        codes, updated on each tap; ``pick`` turns a {"zh-CN", en} text into the page's language; ``onToggle``
 *        (optional) hears of each tap.
 *
 *   HallRating.callBackBody(wanted, phone, name, consent)
 *     -> the ``call_back`` of a rating request (a number to be called back about a dissatisfied rating), or null
 *        when the customer did not ask for a call. The server checks it (consent first, then the number).
 *   HallRating.callBackRefusal(error)
 *     -> the server's reason in both languages ({"zh-CN", en}: ``details.text``) when it refused the call-back
 *        (bad_phone, bad_name, consent_required), else null.
 *   HallRating.consentDays(config)
 *     -> {days, max}: how long the server keeps the number (GET /api/ratings/config ``call_back``), for the
 *        consent line.
 */
(function (global) {
  "use strict";

  function chipButtons(chips, chosen, pick, onToggle) {
    return (chips || []).map((chip) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "chip";
      button.dataset.reason = chip.code;
      button.setAttribute("aria-pressed", String(chosen.has(chip.code)));
      button.textContent = pick(chip.text);
      button.addEventListener("click", () => {
        if (chosen.has(chip.code)) chosen.delete(chip.code);
        else chosen.add(chip.code);
        button.setAttribute("aria-pressed", String(chosen.has(chip.code)));
        if (onToggle) onToggle(chip.code);
      });
      return button;
    });
  }

  const CALL_BACK_REFUSALS = ["bad_phone", "bad_name", "consent_required"];

  function callBackBody(wanted, phone, name, consent) {
    if (!wanted) return null;
    const body = { phone: (phone || "").trim(), consent: Boolean(consent) };
    const called = (name || "").trim();
    if (called) body.name = called;
    return body;
  }

  function callBackRefusal(error) {
    if (!error || !CALL_BACK_REFUSALS.includes(error.code)) return null;
    return (error.details && error.details.text) || { "zh-CN": error.message, en: error.message };
  }

  function consentDays(config) {
    const kept = (config && config.call_back) || {};
    return { days: kept.days_after_resolved, max: kept.max_days };
  }

  global.HallRating = { chipButtons, callBackBody, callBackRefusal, consentDays };
})(window);
