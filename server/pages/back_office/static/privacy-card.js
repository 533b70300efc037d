/* The manager's "Personal data" card: find what the branch holds about one customer by their phone number, export it
 * as a JSON file for them, or delete it at their request (after a confirmation).
 *
 *   const card = PrivacyCard.create({ page, i18n, api });
 *   card.render();   // again in the page's language
 *
 * The server decides: what a phone number is (its refusal says why, in both languages: details.text), what is held
 * (masked), what an export holds and what a deletion removes; every export and deletion is in its audit log. The
 * number travels only in request bodies, never in a URL.
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
    const form = $("#privacy-form");
    const dialog = $("#privacy-dialog");
    let found = null; // the last answer of …/personal-data/search, and the number as typed for it
    let typed = "";
    let done = null; // {key, vars}: what the last export or deletion did

    function when(iso) {
      if (!iso) return "—";
      try {
        return new Intl.DateTimeFormat(i18n.language, { year: "numeric", month: "short", day: "numeric",
          timeZone: page.branch.timezone }).format(new Date(iso));
      } catch (error) {
        return iso.slice(0, 10);
      }
    }

    function refusal(error) {
      if (error && error.details && error.details.text) return i18n.pick(error.details.text);
      return error && error.status === 0 ? i18n.t("offline") : (error && error.message) || "";
    }

    function render() {
      $("#privacy-done").textContent = done ? i18n.t(done.key, done.vars) : "";
      $("#privacy-result").hidden = !found;
      if (!found) return;
      const counts = found.counts;
      $("#privacy-summary").textContent = counts.contacts
        ? i18n.t("privacy_found", { phone: found.phone, ...counts }) : i18n.t("privacy_none", { phone: found.phone });
      $("#privacy-contacts").hidden = !counts.contacts;
      $("#privacy-export").hidden = !counts.contacts;
      $("#privacy-delete").hidden = !counts.contacts;
      const body = $("#privacy-contacts tbody");
      body.replaceChildren(...found.contacts.map((contact) => {
        const row = el("tr");
        row.append(el("td", "phone", contact.phone), el("td", "", contact.name || "—"),
          el("td", "", i18n.t("purpose_" + contact.purpose)),
          el("td", "", contact.ticket ? `${contact.ticket.number} · ${contact.ticket.day}` : "—"),
          el("td", "", contact.follow_up ? i18n.t("follow_up_" + contact.follow_up.state) : "—"),
          el("td", "", when(contact.consent_at)), el("td", "", when(contact.purge_after)));
        return row;
      }));
    }

    async function find(phone) {
      $("#privacy-error").textContent = "";
      try {
        found = await api("/personal-data/search", { method: "POST", body: { phone } });
        typed = phone;
      } catch (error) {
        found = null;
        $("#privacy-error").textContent = refusal(error);
      }
      render();
    }

    async function exportData() {
      $("#privacy-error").textContent = "";
      try {
        const data = await api("/personal-data/export", { method: "POST", body: { phone: typed } });
        const file = `personal-data-${page.branch.code}-${data.exported_at.slice(0, 10)}.json`;
        const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
        const link = el("a");
        link.href = URL.createObjectURL(blob);
        link.download = file;
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
        done = { key: "privacy_exported", vars: { phone: found.phone, file } };
      } catch (error) {
        $("#privacy-error").textContent = refusal(error);
      }
      render();
    }

    function askDelete() {
      $("#privacy-dialog-text").textContent = i18n.t("privacy_delete_text",
        { phone: found.phone, contacts: found.counts.contacts });
      dialog.showModal();
      $("#privacy-cancel").focus(); // the safe choice first
    }

    async function deleteData() {
      $("#privacy-error").textContent = "";
      try {
        const answer = await api("/personal-data/delete", { method: "POST", body: { phone: typed } });
        const removed = answer.removed;
        const texts = removed.comments + removed.resolution_notes + removed.transfer_notes + (removed.case_notes || 0);
        done = { key: "privacy_deleted", vars: { phone: answer.phone, contacts: removed.contacts, texts } };
        await find(typed); // what is left: nothing
      } catch (error) {
        $("#privacy-error").textContent = refusal(error);
      }
      render();
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      done = null;
      find(form.elements.phone.value);
    });
    $("#privacy-export").addEventListener("click", exportData);
    $("#privacy-delete").addEventListener("click", askDelete);
    $("#privacy-cancel").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "delete") deleteData();
      dialog.returnValue = "";
    });

    return { render };
  }

  global.PrivacyCard = { create };
})(window);
