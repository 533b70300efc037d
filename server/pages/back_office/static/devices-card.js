/* The manager's "Devices" card: pair a device by the code it shows, see every paired device with its role and
 * whether it is heard (offline since when), rename or revoke one.
 *
 *   const card = DevicesCard.create({ page, i18n, api });
 *   card.load();     // the list again (after an action, a language switch, and every REFRESH_MS)
 *
 * The server decides: the roles a device may have (`page.device_roles`), what a pending device asked to be
 * (GET …/pairing-requests/<code>), online or offline (`online`, `offline_since`, from its heartbeats).
 */
(function (global) {
  "use strict";

  // Heartbeats are not hall events (nothing for the screens), so this card asks again now and then, while shown.
  const REFRESH_MS = 30 * 1000;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function create({ page, i18n, api }) {
    const $ = (selector) => document.querySelector(selector);
    const form = $("#pair-form");
    const roleKey = (role) => role.kind + ":" + (role.target || "");
    let devices = [];
    let timer = null;

    function time(iso) {
      if (!iso) return "—";
      try {
        return new Intl.DateTimeFormat(i18n.language, { hour: "2-digit", minute: "2-digit", hourCycle: "h23",
          timeZone: page.branch.timezone }).format(new Date(iso));
      } catch (error) {
        return iso.slice(11, 16);
      }
    }

    function since(iso) {
      const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
      return minutes < 60 ? i18n.t("min", { n: minutes }) : i18n.t("hours_n", { n: Math.floor(minutes / 60) });
    }

    function renderRoles() {
      const select = form.elements.role;
      const chosen = select.value;
      select.replaceChildren(...page.device_roles.map((role) => {
        const option = el("option", "", i18n.pick(role.name));
        option.value = roleKey(role);
        return option;
      }));
      if (chosen) select.value = chosen;
    }

    function stateCell(device) {
      const cell = el("td", "device-state");
      if (device.state === "revoked") {
        cell.append(el("span", "badge closed", i18n.t("device_revoked")));
        cell.append(el("small", "", " " + i18n.t("revoked_by", { time: time(device.revoked_at), who: device.revoked_by_name || device.revoked_by || "?" })));
      } else if (device.online) {
        cell.append(el("span", "badge issuing", i18n.t("device_online")));
      } else {
        cell.append(el("span", "badge stopped", i18n.t("device_offline")));
        cell.append(el("small", "over", " " + i18n.t("offline_since", {
          time: time(device.offline_since), for: since(device.offline_since) })));
      }
      return cell;
    }

    function render() {
      const body = $("#devices tbody");
      body.replaceChildren();
      if (!devices.length) {
        const row = el("tr");
        const cell = el("td", "empty", i18n.t("no_devices"));
        cell.colSpan = 4;
        row.append(cell);
        body.append(row);
      }
      for (const device of devices) {
        const row = el("tr", "device " + device.state + (device.online === false ? " offline" : ""));
        row.dataset.device = String(device.id);
        const who = el("td");
        who.append(el("strong", "", device.name || i18n.pick(device.role_name)));
        if (device.name) who.append(el("small", "device-role", i18n.pick(device.role_name)));
        row.append(who);
        row.append(stateCell(device));
        row.append(el("td", "num", time(device.last_seen_at)));
        const actions = el("td", "action");
        if (device.state !== "revoked") {
          const rename = el("button", "ghost", i18n.t("rename"));
          rename.type = "button";
          rename.addEventListener("click", async () => {
            const name = window.prompt(i18n.t("rename_prompt"), device.name || "");
            if (name === null) return;
            await act(() => api(`/devices/${device.id}`, { method: "PATCH", body: { name } }));
          });
          const revoke = el("button", "danger-outline", i18n.t("revoke"));
          revoke.type = "button";
          revoke.addEventListener("click", async () => {
            if (!window.confirm(i18n.t("revoke_confirm", { name: device.name || i18n.pick(device.role_name) }))) return;
            await act(() => api(`/devices/${device.id}/revoke`, { method: "POST", body: {} }));
          });
          actions.append(rename, revoke);
        }
        row.append(actions);
        body.append(row);
      }
      const offline = devices.filter((d) => d.online === false).length;
      $("#devices-offline").hidden = !offline;
      $("#devices-offline").textContent = i18n.t("offline_n", { n: offline });
    }

    async function act(call) {
      $("#devices-error").textContent = "";
      try {
        await call();
      } catch (error) {
        $("#devices-error").textContent = error.message;
      }
      load();
    }

    async function load() {
      clearTimeout(timer);
      timer = setTimeout(load, REFRESH_MS);
      try {
        devices = (await api("/devices")).devices;
        $("#devices-error").textContent = "";
      } catch (error) {
        $("#devices-error").textContent = error.status === 0 ? i18n.t("offline") : error.message;
      }
      render();
    }

    const codeOf = () => form.elements.code.value.replace(/\D/g, "");

    /** Six digits typed: what does that device ask to be? Its role is chosen for the manager to confirm. */
    async function lookUp() {
      const code = codeOf();
      $("#pair-asked").textContent = "";
      $("#pair-error").textContent = "";
      if (code.length !== 6) return;
      try {
        const pending = await api(`/pairing-requests/${code}`);
        form.elements.role.value = roleKey(pending);
        $("#pair-asked").textContent = i18n.t("pair_asked", { role: i18n.pick(pending.role_name),
          time: time(pending.asked_at), agent: (pending.user_agent || "?").slice(0, 60) });
      } catch (error) {
        $("#pair-error").textContent = error.code === "unknown_pairing_code" ? i18n.t("pair_unknown", { minutes: page.pairing_minutes }) : error.message;
      }
    }

    form.elements.code.addEventListener("input", lookUp);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const [kind, target] = form.elements.role.value.split(":");
      $("#pair-error").textContent = "";
      if (codeOf().length !== 6) {
        $("#pair-error").textContent = i18n.t("pair_code_needed");
        return;
      }
      try {
        const device = await api("/devices", { method: "POST", body: {
          code: codeOf(), kind, target: target || null, name: form.elements.name.value.trim() || null } });
        $("#pair-asked").textContent = i18n.t("pair_done", { role: i18n.pick(device.role_name) });
        form.reset();
      } catch (error) {
        $("#pair-error").textContent = error.code === "unknown_pairing_code" ? i18n.t("pair_unknown", { minutes: page.pairing_minutes }) : error.message;
      }
      load();
    });

    renderRoles();
    return { load, render() { renderRoles(); render(); } };
  }

  global.DevicesCard = { create };
})(window);
