/* The manager's alerts, at the top of the page: the equipment (paired devices gone silent, kiosk printers in trouble)
 * and the hall (waits over or about to pass their target, tickets no open counter serves, long pauses), together, most
 * severe first.
 *
 *   const alerts = AlertsCard.create({ page, i18n, api, stopIssuing, openCase });
 *   alerts.load();          // the equipment list as it stands (GET …/device-alerts), after every (re)join
 *   alerts.apply(alert);    // an event's private.alert: {key, active: true, …} starts or updates one, {key, active:
 *                           // false} ends it (the device was heard again or revoked, the printer printed fine)
 *   alerts.setHall(list);   // the hall alerts as they stand: the staff snapshot's hall_alerts, each summary's
 *                           // private.alerts (an alert missing from the list has ended)
 *   alerts.render();        // after a language switch
 *
 * The server decides what is an alert, how severe, and says it (role_name, problem_name; a hall alert's text and
 * suggestion, both languages); this card only shows them, says for how long, and remembers in this browser which ones
 * the manager acknowledged (until the alert ends: the next silence of the same device alerts again). A hall alert's
 * actions use the manager's existing commands: post a notice (prefilled, editable, POST …/notices) and stop issuing
 * (``stopIssuing(service)`` opens the issuing card's dialog). No polling: the lists change with what is pushed; a local
 * timer only moves the "for 3 min" on.
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

  function create({ page, i18n, api, stopIssuing, openCase }) {
    const $ = (selector) => document.querySelector(selector);
    const storageKey = "hall.alerts.acknowledged." + page.branch.code;
    const baseTitle = document.title;
    const severities = page.severities; // most severe first, as the server ranks them
    let alerts = new Map(); // equipment: key -> alert, in the order the server listed them, then as they came
    let hall = new Map(); // the hall's, as last pushed
    const posted = new Set(); // hall alerts (key + since) whose notice this page posted
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

    const isHall = (alert) => hall.has(alert.key);
    const rank = (alert) => { const at = severities.indexOf(alert.severity); return at < 0 ? severities.length : at; };

    function text(alert) {
      if (isHall(alert)) return i18n.pick(alert.text);
      if (alert.type === "device_offline") return i18n.t("alert_offline", { device: who(alert), for: duration(alert.since) });
      return i18n.t("alert_printer", { device: who(alert), problem: i18n.pick(alert.problem_name) });
    }

    function detail(alert) {
      if (isHall(alert)) return i18n.pick(alert.suggestion) + " · " + i18n.t("alert_since", { time: time(alert.since) });
      return alert.type === "device_offline"
        ? i18n.t("alert_last_heard", { time: time(alert.since) })
        : i18n.t("alert_since", { time: time(alert.since) });
    }

    function actionButtons(alert) {
      const box = el("div", "alert-actions");
      for (const action of alert.actions || []) {
        if (action.kind === "post_notice") {
          if (posted.has(alert.key + alert.since)) {
            box.append(el("span", "alert-done", i18n.t("notice_posted")));
            continue;
          }
          const button = el("button", "alert-do", i18n.t("notice_post"));
          button.type = "button";
          button.dataset.action = action.kind;
          button.addEventListener("click", () => openNotice(alert, action));
          box.append(button);
        } else if (action.kind === "open_case" && openCase) {
          const button = el("button", "alert-do", i18n.t("alert_open_case"));
          button.type = "button";
          button.dataset.action = action.kind;
          button.addEventListener("click", () => openCase(action.case));
          box.append(button);
        } else if (action.kind === "stop_issuing" && stopIssuing) {
          const button = el("button", "alert-do", i18n.t("stop"));
          button.type = "button";
          button.dataset.action = action.kind;
          button.addEventListener("click", () => stopIssuing(action.service));
          box.append(button);
        }
      }
      return box;
    }

    function render() {
      const list = $("#alert-list");
      const items = [...hall.values(), ...alerts.values()].sort((a, b) => rank(a) - rank(b)); // stable: in order
      const open = items.filter((alert) => !isAcknowledged(alert));
      list.replaceChildren(...[...open, ...items.filter(isAcknowledged)].map((alert) => {
        const done = isAcknowledged(alert);
        const item = el("li", ["alert", alert.type, alert.severity || "", isHall(alert) ? "hall" : "equipment",
          done ? "acknowledged" : ""].filter(Boolean).join(" "));
        item.dataset.key = alert.key;
        const body = el("div", "alert-body");
        body.append(el("strong", "alert-text", text(alert)), el("small", "alert-detail", detail(alert)));
        item.append(body);
        if (isHall(alert) && (alert.actions || []).length) item.append(actionButtons(alert));
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

    /** Forget acknowledgements of alerts that are over (kept only while their alert stands). The hall's list and the
     * equipment's arrive apart: each forgets only its own (hall alerts' keys start with "hall:"). */
    function forgetEnded(ofHall = false) {
      const kept = {};
      for (const [key, since] of Object.entries(acknowledged())) {
        const own = key.startsWith("hall:") === ofHall;
        const alert = (ofHall ? hall : alerts).get(key);
        if (!own || (alert && alert.since === since)) kept[key] = since;
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

    function setHall(list) {
      hall = new Map((list || []).map((alert) => [alert.key, alert]));
      forgetEnded(true);
      for (const mark of [...posted]) {
        if (![...hall.values()].some((alert) => alert.key + alert.since === mark)) posted.delete(mark);
      }
      render();
    }

    // the notice dialog: prefilled from the alert, both languages editable, posted with the manager's session
    const dialog = $("#notice-dialog");
    const form = $("#notice-form");
    let noticeFor = null;

    function openNotice(alert, action) {
      noticeFor = alert;
      form.elements.zh.value = action.notice ? action.notice["zh-CN"] : "";
      form.elements.en.value = action.notice ? action.notice.en : "";
      $("#notice-error").textContent = "";
      dialog.showModal();
    }

    if (form) {
      $("#notice-cancel").addEventListener("click", () => dialog.close());
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const zh = form.elements.zh.value.trim();
        const en = form.elements.en.value.trim();
        if (!zh || !en) {
          $("#notice-error").textContent = i18n.t("notice_error_text");
          return;
        }
        $("#notice-submit").disabled = true;
        try {
          await api("/notices", { method: "POST", body: { text: { "zh-CN": zh, en } } });
          if (noticeFor) posted.add(noticeFor.key + noticeFor.since);
          dialog.close();
          render();
        } catch (error) {
          $("#notice-error").textContent = error.message || i18n.t("offline");
        } finally {
          $("#notice-submit").disabled = false;
        }
      });
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

    return { load, apply, setHall, render };
  }

  global.AlertsCard = { create };
})(window);
