/* The manager's "API tokens" card: make a token for an integration (name, branches, scope, expiry), see it once
 * with a copy button, list the tokens that reach this branch (prefix, scope, last use) and revoke one.
 *
 *   const card = TokensCard.create({ page, i18n, api });
 *   card.load();     // the list again (after an action or a language switch)
 *
 * The server decides: the branches this manager may give (`branches`, `may_make_all_branch`), whether a token may
 * be revoked here (`may_revoke`), its state (active, expired, revoked). The token itself is in one answer only.
 */
(function (global) {
  "use strict";

  const EXPIRIES = [null, 30, 90, 365]; // days; null: never

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /** ``node`` filled with the text ``key`` where {who} is a person's name: the name in its own <bdi lang="">, since
   * a name is in whatever language its owner wrote it (and must not turn a Chinese page's line English). */
  function withPerson(node, key, name, vars) {
    const i18n = withPerson.i18n;
    const [before, after] = i18n.t(key, { ...vars, who: "\u0000" }).split("\u0000");
    const person = document.createElement("bdi");
    person.className = "person";
    person.lang = "";
    person.textContent = name || "?";
    node.append(before || "", person, after || "");
    return node;
  }

  function create({ page, i18n, api }) {
    withPerson.i18n = i18n;
    const $ = (selector) => document.querySelector(selector);
    const dialog = $("#token-dialog");
    const form = $("#token-form");
    let listed = { tokens: [], branches: [], may_make_all_branch: false };

    function day(iso) {
      if (!iso) return "—";
      try {
        return new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "short", hourCycle: "h23",
          timeZone: page.branch.timezone }).format(new Date(iso));
      } catch (error) {
        return iso.slice(0, 16).replace("T", " ");
      }
    }

    function branchName(code) {
      const branch = listed.branches.find((b) => b.code === code);
      return branch ? i18n.pick(branch.name) : code;
    }

    function render() {
      const body = $("#tokens tbody");
      body.replaceChildren();
      if (!listed.tokens.length) {
        const row = el("tr");
        const cell = el("td", "empty", i18n.t("no_tokens"));
        cell.colSpan = 5;
        row.append(cell);
        body.append(row);
      }
      for (const token of listed.tokens) {
        const row = el("tr", "token " + token.state);
        row.dataset.token = String(token.id);
        const who = el("td");
        who.append(el("strong", "", token.name));
        const prefix = el("code", "token-prefix", token.prefix + "…");
        prefix.lang = "zxx"; // a code, in no language
        prefix.translate = false;
        who.append(prefix);
        who.append(withPerson(el("small", "token-made-by"), "made_by", token.created_by_name || token.created_by,
          { time: day(token.created_at) }));
        row.append(who);
        const scope = el("td");
        scope.append(el("span", "badge " + (token.scope === "act" ? "stopped" : "issuing"), i18n.t("scope_" + token.scope)));
        scope.append(el("small", "token-branches", token.branches ? token.branches.map(branchName).join("、")
          : i18n.t("every_branch")));
        row.append(scope);
        row.append(el("td", "num", token.last_used_at ? day(token.last_used_at) : i18n.t("never_used")));
        const state = el("td");
        if (token.state === "active") {
          state.append(el("span", "", token.expires_at ? i18n.t("expires", { time: day(token.expires_at) })
            : i18n.t("no_expiry")));
        } else {
          state.append(el("span", "badge closed", i18n.t("token_" + token.state)));
          if (token.state === "revoked") {
            state.append(" ", withPerson(el("small"), "revoked_by", token.revoked_by_name || token.revoked_by,
              { time: day(token.revoked_at) }));
          }
        }
        row.append(state);
        const actions = el("td", "action");
        if (token.may_revoke) {
          const revoke = el("button", "danger-outline", i18n.t("revoke"));
          revoke.type = "button";
          revoke.addEventListener("click", async () => {
            if (!window.confirm(i18n.t("token_revoke_confirm", { name: token.name }))) return;
            await act(() => api(`/api-tokens/${token.id}/revoke`, { method: "POST", body: {} }));
          });
          actions.append(revoke);
        }
        row.append(actions);
        body.append(row);
      }
    }

    async function act(call) {
      $("#tokens-error").textContent = "";
      try {
        await call();
      } catch (error) {
        $("#tokens-error").textContent = error.message;
      }
      load();
    }

    async function load() {
      try {
        listed = await api("/api-tokens");
        $("#tokens-error").textContent = "";
      } catch (error) {
        $("#tokens-error").textContent = error.status === 0 ? i18n.t("offline") : error.message;
      }
      render();
    }

    // --- making a token -------------------------------------------------------------------------------------

    function renderChoices() {
      const box = $("#token-branches");
      box.replaceChildren();
      if (listed.may_make_all_branch) {
        const every = el("label", "chip");
        const input = el("input");
        input.type = "checkbox";
        input.name = "every";
        input.addEventListener("change", () => {
          box.querySelectorAll('input[name="branch"]').forEach((b) => {
            b.disabled = input.checked || b.value === page.branch.code;
          });
        });
        every.append(input, el("span", "", i18n.t("every_branch")));
        box.append(every);
      }
      for (const branch of listed.branches) {
        const chip = el("label", "chip");
        const input = el("input");
        input.type = "checkbox";
        input.name = "branch";
        input.value = branch.code;
        input.checked = branch.code === page.branch.code;
        input.disabled = branch.code === page.branch.code; // made on this branch's page: it reaches this branch
        chip.append(input, el("span", "", i18n.pick(branch.name)));
        box.append(chip);
      }
      const expiry = form.elements.expiry;
      const chosen = expiry.value;
      expiry.replaceChildren(...EXPIRIES.map((days) => {
        const option = el("option", "", days ? i18n.t("days_n", { n: days }) : i18n.t("no_expiry"));
        option.value = days ? String(days) : "";
        return option;
      }));
      expiry.value = chosen || "90";
    }

    function open() {
      form.reset();
      $("#token-form-error").textContent = "";
      renderChoices();
      dialog.showModal();
      form.elements.name.focus();
    }

    function showMade(made) {
      $("#token-made").hidden = false;
      $("#token-made-name").textContent = made.name;
      $("#token-value").value = made.token;
      $("#token-copied").textContent = "";
    }

    async function copy() {
      const field = $("#token-value");
      let copied = false;
      try {
        if (navigator.clipboard && window.isSecureContext) {
          await navigator.clipboard.writeText(field.value);
          copied = true;
        }
      } catch (error) {
        copied = false;
      }
      if (!copied) { // a hall served over plain HTTP has no clipboard API: select and copy
        field.focus();
        field.select();
        copied = document.execCommand && document.execCommand("copy");
      }
      $("#token-copied").textContent = i18n.t(copied ? "copied" : "copy_by_hand");
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const every = form.elements.every && form.elements.every.checked;
      const branches = every ? null
        : [...form.querySelectorAll('input[name="branch"]:checked')].map((input) => input.value);
      const days = form.elements.expiry.value;
      try {
        const made = await api("/api-tokens", { method: "POST", body: {
          name: form.elements.name.value.trim(), scope: form.elements.scope.value, branches,
          expires_in_days: days ? Number(days) : null } });
        dialog.close();
        showMade(made);
      } catch (error) {
        $("#token-form-error").textContent = error.message;
        return;
      }
      load();
    });
    $("#token-new").addEventListener("click", open);
    $("#token-cancel").addEventListener("click", () => dialog.close());
    $("#token-copy").addEventListener("click", copy);
    $("#token-done").addEventListener("click", () => {
      $("#token-value").value = ""; // gone from the page: it is never shown again
      $("#token-made").hidden = true;
    });

    return { load, render() { render(); if (dialog.open) renderChoices(); } };
  }

  global.TokensCard = { create };
})(window);
