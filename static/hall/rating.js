/*
 * HallRating: what the rating pad and the phone page share about a rating's reason chips.
 *
 *   HallRating.chipButtons(chips, chosen, pick, onToggle)
 *     -> one toggle <button class="chip" data-reason=CODE aria-pressed> per chip of the score the customer chose
 *        (the server's ratings config says which chips go with which score); ``chosen`` is the Set of chosen
 *        codes, updated on each tap; ``pick`` turns a {"zh-CN", en} text into the page's language; ``onToggle``
 *        (optional) hears of each tap.
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

  global.HallRating = { chipButtons };
})(window);
