/* The manager's "Webhooks" card: make a webhook for an integration (name, URL, events), see its signing secret
 * once, list the webhooks that reach this branch, enable or disable one, send it a test event, delete it, and read
 * its delivery log (each delivery's result, attempts and the last answer).
 *
 *   const card = WebhooksCard.create({ page, i18n, api });
 *   card.load();     // the list again (after an action or a language switch)
 *
 * The server decides: the events one may subscribe to (`events`), whether this manager may change a webhook
 * (`may_change`), and every refusal (a URL it will not post to says why). The secret is in one answer only.
 */
(function (global) {
  "use strict";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function technical(tag, text) {
    const node = el(tag, "technical", text);
    node.lang = "zxx";
    node.translate = false;
    return node;
  }

  function create({ page, i18n, api }) {
    const $ = (selector) => document.querySelector(selector);
    const dialog = $("#webhook-dialog");
    const form = $("#webhook-form");
    let listed = { webhooks: [], events: [] };
    let shownLog = null; // {webhook, deliveries}

    function when(iso) {
      if (!iso) return "—";
      try {
        return new Intl.DateTimeFormat(i18n.language, { dateStyle: "short", timeStyle: "medium", hourCycle: "h23",
          timeZone: page.branch.timezone }).format(new Date(iso));
      } catch (error) {
        return iso.slice(0, 19).replace("T", " ");
      }
    }

    /** A refusal in the page's language when the server gave its reason in both (details.text). */
    function reason(error) {
      return error.details && error.details.text ? i18n.pick(error.details.text) : error.message;
    }

    function button(label, className, onClick) {
      const node = el("button", className, label);
      node.type = "button";
      node.addEventListener("click", onClick);
      return node;
    }

    function render() {
      const body = $("#webhooks tbody");
      body.replaceChildren();
      if (!listed.webhooks.length) {
        const row = el("tr");
        const cell = el("td", "empty", i18n.t("no_webhooks"));
        cell.colSpan = 4;
        row.append(cell);
        body.append(row);
      }
      for (const hook of listed.webhooks) {
        const row = el("tr", "webhook " + (hook.enabled ? "enabled" : "disabled"));
        row.dataset.webhook = String(hook.id);
        const who = el("td");
        const name = el("strong", "", hook.name);
        name.lang = ""; // a name is in whatever language its maker wrote it
        who.append(name);
        const url = el("code", "webhook-url", hook.url);
        url.lang = "zxx";
        url.translate = false;
        who.append(url);
        row.append(who);
        row.append(el("td", "", hook.events.map((e) => i18n.t("event_" + e)).join(i18n.t("list_sep"))));
        const state = el("td");
        state.append(el("span", "badge " + (hook.enabled ? "issuing" : "closed"),
          i18n.t(hook.enabled ? "webhook_enabled" : "webhook_disabled")));
        row.append(state);
        const actions = el("td", "action");
        actions.append(button(i18n.t("webhook_log"), "ghost", () => showLog(hook)));
        if (hook.may_change) {
          actions.append(button(i18n.t("webhook_test"), "ghost", () => act(async () => {
            await api(`/webhooks/${hook.id}/test`, { method: "POST", body: {} });
            $("#webhooks-done").textContent = i18n.t("webhook_test_sent");
          })));
          actions.append(button(i18n.t(hook.enabled ? "webhook_disable" : "webhook_enable"), "ghost",
            () => act(() => api(`/webhooks/${hook.id}/enabled`, { method: "POST", body: { enabled: !hook.enabled } }))));
          actions.append(button(i18n.t("webhook_delete"), "danger-outline", () => {
            if (!window.confirm(i18n.t("webhook_delete_confirm", { name: hook.name }))) return;
            if (shownLog && shownLog.webhook === hook.id) shownLog = null;
            act(() => api(`/webhooks/${hook.id}`, { method: "DELETE" }));
          }));
        }
        row.append(actions);
        body.append(row);
      }
      renderLog();
    }

    function renderLog() {
      const box = $("#webhook-log");
      const hook = shownLog && listed.webhooks.find((h) => h.id === shownLog.webhook);
      box.hidden = !hook;
      if (!hook) return;
      const [before, after] = i18n.t("webhook_log_title", { name: "\u0000" }).split("\u0000");
      const name = el("bdi", "", hook.name);
      name.lang = "";
      $("#webhook-log-title").replaceChildren(before || "", name, after || "");
      const body = box.querySelector("tbody");
      body.replaceChildren();
      if (!shownLog.deliveries.length) {
        const row = el("tr");
        const cell = el("td", "empty", i18n.t("no_deliveries"));
        cell.colSpan = 4;
        row.append(cell);
        body.append(row);
      }
      for (const delivery of shownLog.deliveries) {
        const row = el("tr", "delivery " + delivery.state);
        const event = el("td", "", i18n.t("event_" + delivery.event));
        event.append(el("small", "", when(delivery.created_at)));
        row.append(event);
        const state = el("td");
        state.append(el("span", "badge " + (delivery.state === "sent" ? "issuing" : delivery.state === "pending"
          ? "stopped" : "closed"), i18n.t("delivery_" + delivery.state)));
        if (delivery.state === "pending" && delivery.next_attempt_at) {
          state.append(el("small", "", i18n.t("next_try", { time: when(delivery.next_attempt_at) })));
        }
        row.append(state);
        row.append(el("td", "num", String(delivery.attempts)));
        const last = el("td");
        const answer = delivery.last_status ? "HTTP " + delivery.last_status : "";
        // the receiver's answer and the network's error are technical text, in no language of the page
        last.append(technical("span", [answer, delivery.last_error].filter(Boolean).join(" · ") || "—"));
        for (const attempt of delivery.attempt_log) {
          const line = el("small", "", when(attempt.at) + " · ");
          line.append(technical("span", String(attempt.status_code || attempt.error || "—")));
          line.append(` · ${attempt.duration_ms} ms`);
          last.append(line);
        }
        row.append(last);
        body.append(row);
      }
    }

    async function showLog(hook) {
      try {
        const log = await api(`/webhooks/${hook.id}/deliveries`);
        shownLog = { webhook: hook.id, deliveries: log.deliveries };
      } catch (error) {
        $("#webhooks-error").textContent = error.message;
      }
      renderLog();
    }

    async function act(call) {
      $("#webhooks-error").textContent = "";
      $("#webhooks-done").textContent = "";
      try {
        await call();
      } catch (error) {
        $("#webhooks-error").textContent = reason(error);
      }
      load();
    }

    async function load() {
      try {
        listed = await api("/webhooks");
        if (shownLog) {
          const log = await api(`/webhooks/${shownLog.webhook}/deliveries`).catch(() => null);
          shownLog = log ? { webhook: shownLog.webhook, deliveries: log.deliveries } : null;
        }
      } catch (error) {
        $("#webhooks-error").textContent = error.status === 0 ? i18n.t("offline") : error.message;
      }
      render();
    }

    function renderChoices() {
      const box = $("#webhook-events");
      const chosen = new Set([...box.querySelectorAll("input:checked")].map((input) => input.value));
      box.replaceChildren();
      for (const event of listed.events) {
        const chip = el("label", "chip");
        const input = el("input");
        input.type = "checkbox";
        input.name = "event";
        input.value = event;
        input.checked = chosen.has(event);
        chip.append(input, el("span", "", i18n.t("event_" + event)));
        box.append(chip);
      }
    }

    function open() {
      form.reset();
      $("#webhook-events").replaceChildren();
      $("#webhook-form-error").textContent = "";
      renderChoices();
      dialog.showModal();
      form.elements.name.focus();
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const events = [...form.querySelectorAll('input[name="event"]:checked')].map((input) => input.value);
      try {
        const made = await api("/webhooks", { method: "POST", body: {
          name: form.elements.name.value.trim(), url: form.elements.url.value.trim(), events } });
        dialog.close();
        $("#webhook-made").hidden = false;
        $("#webhook-made-name").textContent = made.name;
        $("#webhook-secret").value = made.secret;
      } catch (error) {
        $("#webhook-form-error").textContent = reason(error);
        return;
      }
      load();
    });
    $("#webhook-new").addEventListener("click", open);
    $("#webhook-cancel").addEventListener("click", () => dialog.close());
    $("#webhook-secret-done").addEventListener("click", () => {
      $("#webhook-secret").value = ""; // gone from the page: it is never shown again
      $("#webhook-made").hidden = true;
    });

    return { load, render() { render(); if (dialog.open) renderChoices(); } };
  }

  global.WebhooksCard = { create };
})(window);
