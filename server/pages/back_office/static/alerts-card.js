/* The manager's equipment alerts, at the top of the page: paired devices gone silent and kiosk printers in trouble.
 *
 *   const alerts = AlertsCard.create({ page, i18n, api });
 *   alerts.load();          // the list as it stands (GET …/device-alerts), after every (re)join of the live connection
 *   alerts.apply(alert);    // an event's private.alert: {key, active: true, …} starts or updates one, {key, active:
 *                           // false} ends it (the device was heard again or revoked, the printer printed fine)
 *   alerts.render();        // after a language switch
 *
 * The server decides what is an alert and names it (role_name, name, problem_name); this card only shows them, says
 * for how long, and remembers in this browser which ones the manager acknowledged (until the alert ends: the next
 * silence of the same device alerts again). No polling: the list changes with the pushed events; a local timer only
 * moves the "for 3 min" on.
 */
(function (global) {
  "use strict";

  const TICK_MS = 30 * 1000;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function create({ page, i18n, api }) {
    const $ = (selector) => document.querySelector(selector);
    const storageKey = "hall.alerts.acknowledged." + page.branch.code;
    const baseTitle = document.title;
    let alerts = new Map(); // key -> alert, in the order the server listed them, then as they came
    let during = null; // alerts applied while a load is on its way: re-applied over its (older) answer
    let timer = null;

    function acknowledged() {
      try {
        return JSON.parse(global.localStorage.getItem(storageKey) || "{}") || {};
      } catch (error) {
        return {};
      }
    }

    function remember(marks) {
      try {
        global.localStorage.setItem(storageKey, JSON.stringify(marks));
      } catch (error) {
        /* private mode or full: the acknowledgement lasts while the page is open */
      }
    }

    let marks = acknowledged();
    // an acknowledgement holds for one episode: the alert with the same key and the same "since"
    const isAcknowledged = (alert) => marks[alert.key] === alert.since;

    function time(iso) {
      try {
        return new Intl.DateTimeFormat(i18n.language, { hour: "2-digit", minute: "2-digit", hourCycle: "h23",
          timeZone: page.branch.timezone }).format(new Date(iso));
      } catch (error) {
        return iso.slice(11, 16);
      }
    }

    function duration(iso) {
      const minutes = Math.max(1, Math.floor((Date.now() - Date.parse(iso)) / 60000));
      if (minutes < 60) return i18n.t("min", { n: minutes });
      const hours = Math.floor(minutes / 60);
      return minutes % 60 ? i18n.t("hours_minutes", { h: hours, m: minutes % 60 }) : i18n.t("hours_n", { n: hours });
    }

    function who(alert) {
      const role = i18n.pick(alert.role_name);
      return alert.name ? i18n.t("alert_named", { name: alert.name, role }) : role;
    }

    function text(alert) {
      if (alert.type === "device_offline") return i18n.t("alert_offline", { device: who(alert), for: duration(alert.since) });
      return i18n.t("alert_printer", { device: who(alert), problem: i18n.pick(alert.problem_name) });
    }

    function detail(alert) {
      return alert.type === "device_offline"
        ? i18n.t("alert_last_heard", { time: time(alert.since) })
        : i18n.t("alert_since", { time: time(alert.since) });
    }

    function render() {
      const list = $("#alert-list");
      const items = [...alerts.values()];
      const open = items.filter((alert) => !isAcknowledged(alert));
      list.replaceChildren(...[...open, ...items.filter(isAcknowledged)].map((alert) => {
        const done = isAcknowledged(alert);
        const item = el("li", "alert " + alert.type + (done ? " acknowledged" : ""));
        item.dataset.key = alert.key;
        const body = el("div", "alert-body");
        body.append(el("strong", "alert-text", text(alert)), el("small", "alert-detail", detail(alert)));
        item.append(body);
        if (done) {
          item.append(el("span", "alert-seen", i18n.t("alert_acknowledged")));
        } else {
          const button = el("button", "alert-ack", i18n.t("alert_acknowledge"));
          button.type = "button";
          button.addEventListener("click", () => acknowledge(alert));
          item.append(button);
        }
        return item;
      }));
      $("#alerts").hidden = items.length === 0;
      $("#alerts").classList.toggle("quiet", open.length === 0);
      $("#alerts-count").textContent = i18n.t("alerts_open", { n: open.length });
      $("#alerts-count").hidden = open.length === 0;
      document.title = open.length ? `(${open.length}) ${baseTitle}` : baseTitle;
      clearTimeout(timer);
      if (items.length) timer = setTimeout(render, TICK_MS); // "for 3 min" moves on; nothing is fetched
    }

    function acknowledge(alert) {
      marks = { ...acknowledged(), [alert.key]: alert.since };
      remember(marks);
      render();
    }

    /** Forget acknowledgements of alerts that are over (kept only while their alert stands). */
    function forgetEnded() {
      const kept = {};
      for (const [key, since] of Object.entries(acknowledged())) {
        const alert = alerts.get(key);
        if (alert && alert.since === since) kept[key] = since;
      }
      marks = kept;
      remember(kept);
    }

    function put(alert) {
      if (alert.active) alerts.set(alert.key, alert);
      else alerts.delete(alert.key);
    }

    function apply(alert) {
      if (!alert || !alert.key) return;
      if (during) during.push(alert);
      put(alert);
      if (!alert.active) forgetEnded();
      render();
    }

    async function load() {
      during = [];
      try {
        const answer = await api("/device-alerts");
        alerts = new Map(answer.alerts.map((alert) => [alert.key, alert]));
        during.forEach(put);
        forgetEnded();
      } catch (error) {
        /* the list stays as it was; the next (re)join loads it again */
      } finally {
        during = null;
      }
      render();
    }

    return { load, apply, render };
  }

  global.AlertsCard = { create };
})(window);
