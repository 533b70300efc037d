/* The manager's follow-up cases: the list with its filters (open, overdue, mine, resolved), the case view (a dialog:
 * the thread, a note, the owner, start, resolve with an outcome, reopen with a reason, the customer's number masked
 * with "Show number", which the server records in its audit log) and a complaint recorded by the manager.
 *
 *   const cases = CasesCard.create({ page, i18n, api });
 *   cases.load();          // the list again (an event said a case changed)
 *   cases.open(id);        // the case view (an overdue alert's "Open the case")
 *   cases.render();        // again in the page's language
 *
 * The server decides everything: which cases a filter shows, whether one is overdue, what may be done next
 * (``actions``), the categories and outcomes and their words (``vocabulary``), who may own a case (``owners``).
 */
(function (global) {
  "use strict";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function create({ page, i18n, api }) {
    const $ = (selector) => document.querySelector(selector);
    const dialog = $("#case-dialog");
    const complaint = $("#complaint-dialog");
    let show = "open";
    let data = null; // the last list answer
    let current = null; // the case shown in the dialog
    let loading = null;

    function when(iso) {
      if (!iso) return "—";
      try {
        return new Intl.DateTimeFormat(i18n.language, { month: "short", day: "numeric", hour: "2-digit",
          minute: "2-digit", hourCycle: "h23", timeZone: page.branch.timezone }).format(new Date(iso));
      } catch (error) {
        return iso.slice(0, 16).replace("T", " ");
      }
    }

    function took(seconds) {
      if (seconds === null || seconds === undefined) return "—";
      const minutes = Math.round(seconds / 60);
      if (minutes < 60) return i18n.t("min", { n: minutes });
      const hours = Math.floor(minutes / 60);
      return minutes % 60 ? i18n.t("hours_minutes", { h: hours, m: minutes % 60 }) : i18n.t("hours_n", { n: hours });
    }

    function person(name, username) {
      return name || username || i18n.t("case_nobody");
    }

    /** What the case is about, in one line: the rating (score, reasons, comment) or the complaint (category, words). */
    function about(item) {
      const parts = [];
      if (item.source === "rating") {
        parts.push(i18n.t("case_rating", { score: item.score }));
        parts.push(...item.reasons.map((r) => i18n.pick(r.text) || r.code));
        if (item.comment) parts.push("“" + item.comment + "”");
      } else {
        parts.push(i18n.pick(item.category_text) || item.category);
        if (item.customer_words) parts.push("“" + item.customer_words + "”");
      }
      return parts.join(" · ");
    }

    function stateBadge(item) {
      const badge = el("span", "badge case-state " + item.state, i18n.pick(item.state_text));
      return badge;
    }

    async function load() {
      const list = $("#follow-ups");
      const asked = show;
      let answer;
      try {
        loading = api(`/follow-ups?show=${encodeURIComponent(asked)}`);
        answer = await loading;
      } catch (error) {
        list.replaceChildren(el("li", "empty", error.message));
        return;
      }
      if (asked !== show) return; // another filter was chosen meanwhile
      data = answer;
      renderList();
      if (current && dialog.open) open(current.id);
    }

    function renderList() {
      const list = $("#follow-ups");
      document.querySelectorAll("#cases-card [data-show]").forEach((button) => {
        button.setAttribute("aria-pressed", String(button.dataset.show === show));
      });
      if (!data) return;
      const badge = $("#cases-overdue");
      badge.hidden = !data.overdue;
      badge.textContent = i18n.t("cases_overdue", { n: data.overdue });
      list.replaceChildren();
      if (!data.follow_ups.length) list.append(el("li", "empty", i18n.t("none")));
      for (const item of data.follow_ups) {
        const li = el("li", item.overdue ? "overdue" : "");
        li.dataset.case = item.id;
        const head = el("div", "case-line");
        head.append(el("strong", "", "#" + item.id + (item.ticket ? " · " + item.ticket.number : "")));
        head.append(stateBadge(item));
        if (item.overdue) head.append(el("span", "badge stopped", i18n.t("case_overdue")));
        li.append(head);
        li.append(el("span", "grow case-about", about(item)));
        const meta = el("span", "case-meta");
        meta.textContent = item.state === "resolved"
          ? i18n.t("case_resolved_meta", { owner: person(item.owner_display_name, item.owner),
            outcome: i18n.pick(item.outcome_text) || "", took: took(item.time_to_resolve_s) })
          : i18n.t("case_open_meta", { owner: person(item.owner_display_name, item.owner), due: when(item.due_at) });
        li.append(meta);
        const button = el("button", "case-open", i18n.t("case_view"));
        button.type = "button";
        button.addEventListener("click", () => open(item.id));
        li.append(button);
        list.append(li);
      }
    }

    function fact(list, key, value) {
      if (value === null || value === undefined || value === "") return;
      list.append(el("dt", "", i18n.t(key)));
      list.append(el("dd", "", value));
    }

    function options(select, items, chosen) {
      select.replaceChildren();
      for (const item of items) {
        const option = el("option", "", item.label);
        option.value = item.value;
        if (item.value === chosen) option.selected = true;
        select.append(option);
      }
    }

    /** The customer's call-back number, masked; "Show number" asks the server for it whole (audited). */
    function contactBox(item) {
      const box = el("p", "follow-up-contact");
      const contact = item.contact;
      if (!contact) {
        box.append(el("span", "empty", i18n.t("no_call_back")));
        return box;
      }
      box.append(el("span", "", i18n.t("call_back") + " " + contact.phone + (contact.name ? " · " + contact.name : "")));
      const reveal = el("button", "ghost", i18n.t("show_number"));
      reveal.type = "button";
      reveal.addEventListener("click", async () => {
        reveal.disabled = true;
        try {
          const whole = await api(`/follow-ups/${item.id}/contact`, { method: "POST", body: {} });
          const link = el("a", "", whole.phone_display);
          link.href = "tel:" + whole.phone;
          box.replaceChildren(el("span", "", i18n.t("call_back")), link);
          if (whole.name) box.append(el("span", "", whole.name));
        } catch (error) {
          reveal.disabled = false;
          box.append(el("span", "error", error.message));
        }
      });
      box.append(reveal);
      return box;
    }

    function renderCase() {
      const item = current;
      if (!item) return;
      $("#case-title").textContent = i18n.t("case_title", { id: item.id }) + " · " + i18n.pick(item.state_text)
        + (item.overdue ? " · " + i18n.t("case_overdue") : "");
      dialog.classList.toggle("overdue", item.overdue);
      const facts = $("#case-facts");
      facts.replaceChildren();
      fact(facts, "case_source", i18n.t(item.source === "rating" ? "source_rating" : "source_complaint"));
      fact(facts, "case_about", about(item));
      if (item.ticket) {
        fact(facts, "case_ticket", item.ticket.number + (item.ticket.service_name ? " · " + i18n.pick(item.ticket.service_name) : ""));
      }
      if (item.staff || item.counter) {
        fact(facts, "case_served", i18n.t("by", { staff: item.staff_display_name || item.staff || "?", counter: item.counter || "?" }));
      }
      if (item.recorded_by) fact(facts, "case_recorded_by", item.recorded_by_display_name || item.recorded_by);
      fact(facts, "case_opened", when(item.created_at));
      fact(facts, "case_due", when(item.due_at));
      fact(facts, "case_owner", person(item.owner_display_name, item.owner));
      if (item.state === "resolved") {
        fact(facts, "case_outcome", i18n.pick(item.outcome_text));
        fact(facts, "case_took", took(item.time_to_resolve_s));
      }
      $("#case-contact").replaceChildren(contactBox(item));
      const thread = $("#case-thread");
      thread.replaceChildren();
      for (const entry of item.thread || []) {
        const li = el("li", "entry " + entry.kind);
        li.append(el("span", "entry-meta", when(entry.at) + " · " + person(entry.by_display_name, entry.by)
          + " · " + i18n.t("entry_" + entry.kind)));
        if (entry.text) li.append(el("span", "entry-text", entry.text));
        thread.append(li);
      }
      const unresolved = item.state !== "resolved";
      $("#case-assign-form").hidden = !unresolved;
      options($("#case-assign-form").elements.owner,
        (data ? data.owners : []).map((o) => ({ value: o.username, label: o.display_name || o.username })), item.owner);
      $("#case-start-box").hidden = !item.actions.includes("start");
      $("#case-resolve-form").hidden = !item.actions.includes("resolve");
      const vocabulary = data ? data.vocabulary : { outcomes: [] };
      const outcome = $("#case-resolve-form").elements.outcome;
      const chosen = outcome.value;
      options(outcome, vocabulary.outcomes.map((o) => ({ value: o.code, label: i18n.pick(o.text) })), chosen);
      $("#case-reopen-form").hidden = !item.actions.includes("reopen");
    }

    async function open(id) {
      try {
        current = await api(`/follow-ups/${id}`);
      } catch (error) {
        $("#case-error").textContent = error.message;
        return;
      }
      $("#case-error").textContent = "";
      renderCase();
      if (!dialog.open) dialog.showModal();
    }

    /** Run a command on the shown case; its answer is the case as it now stands. */
    async function act(path, body, form) {
      $("#case-error").textContent = "";
      const button = form ? form.querySelector("button[type=submit]") : null;
      if (button) button.disabled = true;
      try {
        await api(`/follow-ups/${current.id}/${path}`, { method: "POST", body: body || {} });
        if (form) form.reset();
        await open(current.id);
        load();
      } catch (error) {
        $("#case-error").textContent = error.message;
      } finally {
        if (button) button.disabled = false;
      }
    }

    function required(form, name) {
      const value = form.elements[name].value.trim();
      if (!value) {
        $("#case-error").textContent = i18n.t("case_text_needed");
        form.elements[name].focus();
      }
      return value;
    }

    $("#case-note-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = required(event.target, "text");
      if (text) act("notes", { text }, event.target);
    });
    $("#case-assign-form").addEventListener("submit", (event) => {
      event.preventDefault();
      act("assign", { owner: event.target.elements.owner.value }, event.target);
    });
    $("#case-start").addEventListener("click", () => act("start"));
    $("#case-resolve-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const note = required(event.target, "note");
      if (note) act("resolve", { outcome: event.target.elements.outcome.value, note }, event.target);
    });
    $("#case-reopen-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const reason = required(event.target, "reason");
      if (reason) act("reopen", { reason }, event.target);
    });
    $("#case-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => { current = null; });

    document.querySelectorAll("#cases-card [data-show]").forEach((button) => {
      button.addEventListener("click", () => {
        show = button.dataset.show;
        renderList();
        load();
      });
    });

    // a complaint the manager records (a customer at the desk, a call)
    $("#complaint-new").addEventListener("click", () => {
      const form = $("#complaint-form");
      form.reset();
      $("#complaint-error").textContent = "";
      options(form.elements.category, (data ? data.vocabulary.categories : [])
        .map((c) => ({ value: c.code, label: i18n.pick(c.text) })), "other");
      complaint.showModal();
    });
    $("#complaint-cancel").addEventListener("click", () => complaint.close());
    $("#complaint-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const words = form.elements.words.value.trim();
      if (!words) {
        $("#complaint-error").textContent = i18n.t("case_text_needed");
        return;
      }
      const body = { category: form.elements.category.value, words };
      const phone = form.elements.phone.value.trim();
      if (phone) {
        body.call_back = { phone, name: form.elements.name.value.trim() || null, consent: form.elements.consent.checked };
      }
      try {
        const created = await api("/follow-ups", { method: "POST", body });
        complaint.close();
        await load();
        open(created.id);
      } catch (error) {
        $("#complaint-error").textContent = error.details && error.details.text ? i18n.pick(error.details.text) : error.message;
      }
    });

    function render() {
      renderList();
      if (current && dialog.open) renderCase();
    }

    return { load, open, render };
  }

  global.CasesCard = { create };
})(window);
