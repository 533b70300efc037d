/* The manager's "Ticket issuing" card and its stop dialog.
 *
 *   const card = IssuingCard.create({ page, i18n, api, resync });
 *   card.show(snapshot);   // a fresh snapshot (after every join and every event marked resync)
 *   card.render();         // again from the same snapshot (waiting counts changed, language switched)
 *
 * The server decides everything that matters: the reasons offered (`page.stop_reasons`, the domain's), which
 * stop refuses a service's tickets now (`services[].stopped`), which stops are in force or still to come
 * (`issue_stops`), whether a stop makes sense (a 422 naming the field, which the dialog shows at that field in
 * the page's language). Every stop and resume is an event marked resync, so the card re-renders from the fresh
 * snapshot that follows, on this page and every other.
 */
(function (global) {
  "use strict";

  const MINUTE = 60 * 1000;
  const LONGEST_TIMER_MS = 6 * 60 * MINUTE;
  /** The fields the API names in a 422 (details.field, or details.problems[].field) and what the page says. */
  const FIELD_TEXTS = {
    service: "error_service", reason: "error_reason", text: "error_text", "text.zh-CN": "error_text_zh",
    "text.en": "error_text_en", starts_at: "error_starts_at", until: "error_until",
  };
  /** Which error slots a change of a control makes stale. */
  const CONTROL_FIELDS = {
    service: ["service"], reason: ["reason", "text", "text.zh-CN", "text.en"], text_zh: ["text", "text.zh-CN"],
    text_en: ["text", "text.en"], start: ["starts_at", "until"], start_time: ["starts_at", "until"], until: ["until"],
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  const pad = (n) => String(n).padStart(2, "0");

  /** Wall-clock times in the branch's time zone, whatever zone the manager's device is set to. */
  function branchClock(timeZone) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
      second: "numeric", hourCycle: "h23",
    });
    function parts(ms) {
      const p = {};
      for (const part of format.formatToParts(new Date(ms))) p[part.type] = Number(part.value);
      return { year: p.year, month: p.month, day: p.day, hour: p.hour % 24, minute: p.minute, second: p.second };
    }
    function offset(ms) {
      const p = parts(ms);
      return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
    }
    return {
      parts,
      /** The instant of hour:minute on the branch's local date at `ms` (twice: the offset may change that day). */
      at(ms, hour, minute) {
        const p = parts(ms);
        const wall = Date.UTC(p.year, p.month - 1, p.day, hour, minute);
        return wall - offset(wall - offset(wall));
      },
      sameDay(a, b) {
        const p = parts(a);
        const q = parts(b);
        return p.year === q.year && p.month === q.month && p.day === q.day;
      },
    };
  }

  function create({ page, i18n, api, resync }) {
    const timeZone = page.branch.timezone;
    const clock = branchClock(timeZone);
    const reasons = page.stop_reasons;
    const $ = (selector) => document.querySelector(selector);
    const dialog = $("#stop-dialog");
    const form = $("#stop-form");
    const submit = $("#stop-submit");
    let snapshot = null;
    let receivedAt = 0;
    let timer = null;
    let pending = false;

    /** The server's clock: the snapshot's time plus what has passed since it came (the tablet's may be off). */
    function now() {
      return snapshot ? Date.parse(snapshot.generated_at) + (performance.now() - receivedAt) : Date.now();
    }

    const inForce = (stop) => Date.parse(stop.starts_at) <= now();

    /** A time in the branch: 14:30 today, 24:00 for tonight's midnight, else with its date. */
    function timeText(iso) {
      const ms = Date.parse(iso);
      const p = clock.parts(ms);
      const hhmm = pad(p.hour) + ":" + pad(p.minute);
      if (clock.sameDay(ms, now())) return hhmm;
      if (p.hour === 0 && p.minute === 0 && clock.sameDay(ms - MINUTE, now())) return "24:00";
      const date = new Intl.DateTimeFormat(i18n.language, { timeZone, month: "short", day: "numeric" });
      return date.format(new Date(ms)) + " " + hhmm;
    }

    function untilText(stop) {
      return stop.ends_at ? i18n.t("until_time", { time: timeText(stop.ends_at) }) : i18n.t("until_resume");
    }

    function scopeName(code) {
      if (!code) return i18n.t("whole_branch");
      const service = page.services.find((s) => s.code === code);
      return service ? i18n.pick(service.name) : code;
    }

    function waitingFor(code) {
      if (!snapshot) return 0;
      return snapshot.services.filter((s) => !code || s.code === code).reduce((n, s) => n + s.waiting, 0);
    }

    function generalMessage(error) {
      if (!(error instanceof global.HallApi.Error) || error.status === 0) return i18n.t("offline");
      if (error.status === 401 || error.status === 403) return i18n.t("not_manager");
      if (error.code === "not_stopped") return i18n.t("already_over");
      return error.message;
    }

    // --- the card ---------------------------------------------------------------------------------------

    /** Resume a stop in force, or cancel one to come: the same command. */
    function resumeButton(stop, label, className) {
      const button = el("button", className, i18n.t(label));
      button.type = "button";
      button.addEventListener("click", async () => {
        button.disabled = true;
        $("#issuing-error").textContent = "";
        try {
          await api(`/issue-stops/${stop.id}/resume`, { method: "POST" });
        } catch (error) {
          $("#issuing-error").textContent = generalMessage(error);
          button.disabled = false;
          if (error.code === "not_stopped") resync(); // someone else was quicker: show what is true now
        }
      });
      return button;
    }

    function stateCell(service) {
      const cell = el("td", "issue-state");
      let badge;
      let detail = "";
      if (service.stopped) {
        badge = el("span", "badge stopped", i18n.t("stopped"));
        detail = [service.stopped.service === null ? i18n.t("whole_branch") : "",
          i18n.pick(service.stopped.reason), untilText(service.stopped)].filter(Boolean).join(" · ");
      } else if (!service.open) {
        badge = el("span", "badge closed", i18n.t("closed_now"));
        detail = i18n.t("hours", { hours: service.hours });
      } else if (service.daily_cap_reached) {
        badge = el("span", "badge closed", i18n.t("cap_reached"));
        detail = i18n.t("cap", { n: service.daily_cap });
      } else {
        badge = el("span", "badge issuing", i18n.t("issuing_now"));
      }
      cell.append(badge);
      if (detail) cell.append(el("div", "detail", detail));
      return cell;
    }

    function render() {
      if (!snapshot) return;
      const active = snapshot.issue_stops.filter(inForce);
      const scheduled = snapshot.issue_stops.filter((s) => !inForce(s))
        .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));

      const branchStops = active.filter((s) => s.service === null);
      $("#branch-stops").replaceChildren(...branchStops.map((stop) => {
        const box = el("div", "branch-stop");
        box.dataset.stop = stop.id;
        const words = el("div", "grow");
        words.append(el("strong", "", i18n.t("branch_stopped")),
          el("div", "detail", i18n.pick(stop.reason) + " · " + untilText(stop)));
        box.append(words, resumeButton(stop, "resume", "primary resume-issue"));
        return box;
      }));
      $("#stop-all").hidden = branchStops.length > 0;

      $("#issuing tbody").replaceChildren(...snapshot.services.map((service) => {
        const row = el("tr", service.stopped ? "is-stopped" : "");
        row.dataset.service = service.code;
        row.append(el("td", "service-name", i18n.pick(service.name)), stateCell(service),
          el("td", "num", String(service.waiting)));
        const action = el("td", "action");
        // its own stop in force (the one refusing now, if it is one); a branch-wide one is resumed from the banner
        const own = active.filter((s) => s.service === service.code);
        const refusing = own.find((s) => service.stopped && s.id === service.stopped.id) || own[0];
        if (refusing) {
          action.append(resumeButton(refusing, "resume", "primary resume-issue"));
        } else {
          const stop = el("button", "danger-outline stop-issue", i18n.t("stop"));
          stop.type = "button";
          stop.addEventListener("click", () => openDialog(service.code));
          action.append(stop);
        }
        row.append(action);
        return row;
      }));

      const list = $("#scheduled-stops");
      list.replaceChildren(...scheduled.map((stop) => {
        const li = el("li");
        li.dataset.stop = stop.id;
        li.append(el("strong", "", i18n.t("from_time", { time: timeText(stop.starts_at) })),
          el("span", "grow", [scopeName(stop.service), i18n.pick(stop.reason), untilText(stop)].join(" · ")),
          resumeButton(stop, "cancel_stop", "ghost cancel-stop"));
        return li;
      }));
      if (!scheduled.length) list.append(el("li", "empty", i18n.t("none")));

      // a scheduled stop starts, or a stop ends, without an event: look again then
      clearTimeout(timer);
      const t = now();
      const due = [...scheduled.map((s) => Date.parse(s.starts_at)),
        ...active.filter((s) => s.ends_at).map((s) => Date.parse(s.ends_at))].filter((ms) => ms > t);
      if (due.length) timer = setTimeout(resync, Math.min(Math.min(...due) - t + 500, LONGEST_TIMER_MS));
    }

    // --- the dialog -------------------------------------------------------------------------------------

    function fillScopes() {
      const select = form.elements.service;
      const value = select.value;
      const option = (code, text) => {
        const node = el("option", "", text);
        node.value = code;
        return node;
      };
      select.replaceChildren(option("", i18n.t("whole_branch_all")),
        ...page.services.map((s) => option(s.code, i18n.pick(s.name))));
      select.value = value;
    }

    function fillReasons() {
      const chosen = form.querySelector("input[name=reason]:checked");
      const box = $("#reason-chips");
      box.replaceChildren(...[...Object.entries(reasons.presets), [reasons.custom, null]].map(([code, text]) => {
        const label = el("label", "chip");
        const input = el("input");
        input.type = "radio";
        input.name = "reason";
        input.value = code;
        input.checked = chosen !== null && chosen.value === code;
        label.append(input, el("span", "", text ? i18n.pick(text) : i18n.t("custom_reason")));
        return label;
      }));
      for (const name of ["text_zh", "text_en"]) form.elements[name].maxLength = reasons.max_text;
    }

    function values() {
      const checked = (name) => {
        const input = form.querySelector(`input[name=${name}]:checked`);
        return input ? input.value : null;
      };
      const time = form.elements.start_time.value;
      let startsAt = null;
      if (checked("start") === "at" && /^\d\d:\d\d/.test(time)) {
        startsAt = clock.at(now(), Number(time.slice(0, 2)), Number(time.slice(3, 5)));
      }
      return { service: form.elements.service.value || null, reason: checked("reason"), start: checked("start"),
        time, startsAt, until: checked("until") };
    }

    /** What will happen, in words, before the manager confirms it. */
    function summary() {
      const v = values();
      const n = waitingFor(v.service);
      const words = {
        service: v.service ? scopeName(v.service) : i18n.t("all_services"),
        until: i18n.t(v.until === "resumed" ? "until_resumed_text" : "until_day_end_text"),
        waiting: n ? i18n.t("waiting_keep", { n }) : i18n.t("waiting_none"),
        time: v.time || "--:--",
      };
      if (v.start !== "at") return i18n.t("confirm_now", words);
      if (v.startsAt !== null && v.startsAt <= now()) return i18n.t("confirm_now", words) + " " + i18n.t("start_passed", words);
      return i18n.t("confirm_from", words);
    }

    function update() {
      const v = values();
      $("#custom-reason").hidden = v.reason !== reasons.custom;
      $("#stop-title").textContent = i18n.t("stop_title_for", { scope: scopeName(v.service) });
      const later = v.start === "at" && !(v.startsAt !== null && v.startsAt <= now()); // a time passed starts now
      submit.textContent = i18n.t(later ? "stop_confirm_later" : "stop_confirm");
      $("#stop-summary").textContent = summary();
    }

    function clearErrors(fields) {
      for (const slot of form.querySelectorAll(".field-error")) {
        if (fields && !fields.includes(slot.dataset.field)) continue;
        slot.textContent = "";
        delete slot.dataset.text;
        const control = controlFor(slot.dataset.field);
        if (control) control.removeAttribute("aria-invalid");
      }
      for (const slot of form.querySelectorAll(".field-error:not(:empty)")) { // "text" and "text.en" share a control
        const control = controlFor(slot.dataset.field);
        if (control) control.setAttribute("aria-invalid", "true");
      }
      $("#stop-error").textContent = "";
    }

    function slotFor(field) {
      const slots = [...form.querySelectorAll(".field-error")];
      return slots.find((s) => s.dataset.field === field)
        || slots.find((s) => field.startsWith(s.dataset.field + "."))
        || null;
    }

    function controlFor(field) {
      const name = { service: "service", reason: "reason", text: "text_zh", "text.zh-CN": "text_zh", "text.en": "text_en",
        starts_at: "start_time", until: "until" }[field];
      return name ? form.querySelector(`[name=${name}]`) : null;
    }

    function showFieldError(field, fallback, textKey) {
      const slot = slotFor(field);
      if (!slot) return null;
      const key = textKey || FIELD_TEXTS[slot.dataset.field];
      slot.dataset.text = key || "";
      slot.textContent = key ? i18n.t(key, { max: reasons.max_text }) : fallback;
      const control = controlFor(slot.dataset.field);
      if (control) control.setAttribute("aria-invalid", "true");
      return control || slot;
    }

    function showErrors(error) {
      const details = (error && error.details) || {};
      const problems = details.field ? [{ field: details.field, problem: error.message }]
        : (error.status === 422 && details.problems) || [];
      let first = null;
      for (const problem of problems) {
        const shown = showFieldError(problem.field, problem.problem);
        first = first || shown;
      }
      if (first) {
        if (first.focus) first.focus();
        first.scrollIntoView({ block: "nearest" });
      } else {
        $("#stop-error").textContent = generalMessage(error);
      }
    }

    function openDialog(serviceCode) {
      form.reset();
      clearErrors();
      fillScopes();
      fillReasons();
      form.elements.service.value = serviceCode || "";
      // a start a little ahead, on the quarter hour, ready to adjust
      const soon = clock.parts(now() + 15 * MINUTE);
      const quarter = Math.ceil(soon.minute / 15) * 15;
      const hour = soon.hour + Math.floor(quarter / 60);
      form.elements.start_time.value = hour < 24 && clock.sameDay(now() + 15 * MINUTE, now())
        ? pad(hour) + ":" + pad(quarter % 60) : "";
      update();
      dialog.showModal();
    }

    form.addEventListener("input", (event) => {
      const fields = CONTROL_FIELDS[event.target.name];
      if (fields) clearErrors(fields);
      if (event.target.name === "start_time") form.querySelector("input[name=start][value=at]").checked = true;
      update();
    });
    form.elements.start_time.addEventListener("focus", () => {
      form.querySelector("input[name=start][value=at]").checked = true;
      update();
    });
    form.addEventListener("change", update);
    $("#stop-cancel").addEventListener("click", () => dialog.close());
    $("#stop-all").addEventListener("click", () => openDialog(null));

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (pending) return;
      clearErrors();
      const v = values();
      const body = { until: v.until || "day_end" };
      if (v.service) body.service = v.service;
      if (v.reason) body.reason = v.reason; // none chosen: the server names the field
      if (v.reason === reasons.custom) body.text = { "zh-CN": form.elements.text_zh.value, en: form.elements.text_en.value };
      if (v.start === "at") {
        if (v.startsAt === null) {
          showFieldError("starts_at", "", "error_start_time");
          form.elements.start_time.focus();
          return;
        }
        body.starts_at = new Date(v.startsAt).toISOString();
      }
      pending = true;
      submit.disabled = true;
      try {
        await api("/issue-stops", { method: "POST", body });
        dialog.close();
      } catch (error) {
        showErrors(error);
      } finally {
        pending = false;
        submit.disabled = false;
      }
    });

    return {
      stop: openDialog, // the stop dialog for one service (an alert's "stop issuing")
      show(next) {
        snapshot = next;
        receivedAt = performance.now();
        render();
        if (dialog.open) update();
      },
      render() {
        render();
        if (!dialog.open) return;
        fillScopes();
        fillReasons();
        for (const slot of form.querySelectorAll(".field-error[data-text]")) {
          if (slot.dataset.text) slot.textContent = i18n.t(slot.dataset.text, { max: reasons.max_text });
        }
        update();
      },
    };
  }

  global.IssuingCard = { create, branchClock };
})(window);
