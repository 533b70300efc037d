/*
 * The administration pages: /admin (the branches) and /admin/<branch> (its set-up, the settings, import/export).
 * The set-up comes from GET /api/admin/hall; every change goes through the administration API, which validates
 * it whole and answers a refusal with the piece's key (shown at the field), a stale save with both versions (the
 * stale dialog), a service still in use with its count (the retire dialog asks what becomes of its tickets).
 */
import { TEXTS, explain, explainAway } from "./admin-texts.js";
import { forms, build } from "./admin-forms.js";

const PAGE = JSON.parse(document.getElementById("admin-config").textContent);
const API = window.HallApi;
const i18n = window.HallI18n.create(TEXTS, PAGE.language);
const t = (key, vars) => i18n.t(key, vars);
const FORMS = forms(PAGE.choices);
const BRANCH = PAGE.branch ? PAGE.branch.code : null;
const LISTS = ["category", "service", "counter", "zone", "kiosk"];
const $ = (selector) => document.querySelector(selector);

let setup = null; // {revision, kinds, pieces}
let editing = null; // {kind, code, version, body, existing, form}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function button(label, className, onClick, aria) {
  const b = el("button", className, label);
  b.type = "button";
  if (aria) b.setAttribute("aria-label", aria);
  b.addEventListener("click", onClick);
  return b;
}

const live = (kind, branch) => setup.pieces.filter((p) => p.kind === kind && !p.retired && (branch === undefined || p.branch === branch))
  .sort((a, b) => a.position - b.position);
const find = (kind, code) => setup.pieces.find((p) => p.kind === kind && p.code === code && !p.retired
  && (p.branch === (LISTS.includes(kind) ? BRANCH : null)));
const nameOf = (p) => (p.body.name ? i18n.pick(p.body.name) : "") || p.code;

function options(source) {
  const kind = { services: "service", categories: "category", counters: "counter" }[source];
  return live(kind, BRANCH).map((p) => ({ value: p.code, label: nameOf(p) }));
}

async function load() {
  setup = await API.get(PAGE.api);
  render();
}

// --- the lists ------------------------------------------------------------------------------------

function summary(p) {
  const b = p.body;
  switch (p.kind) {
    case "service": return [t("prefix_is", { prefix: b.prefix || "?" }), b.parent ? t("under", { parent: b.parent }) : "",
      t("served_at", { counters: live("counter", BRANCH).filter((c) => (c.body.services || []).includes(p.code)).map((c) => c.code).join(", ") || "—" })]
      .filter(Boolean).join(" · ");
    case "counter": return `${t("role_" + (b.role || "normal"))} · ${(b.services || []).join(" › ")}`;
    case "zone": return (b.services || []).join(", ") || t("all_services");
    case "kiosk": return t("printer_is", { printer: b.printer || "none" });
    case "category": return b.icon || "";
    default: return "";
  }
}

function listSection(kind) {
  const section = el("section", "card wide");
  section.id = "section-" + kind;
  const head = el("div", "card-head");
  head.append(el("h2", "", t("section_" + kind)));
  head.append(button(t("add_" + kind), "primary", () => openEditor(kind, null)));
  section.append(head);
  const items = live(kind, BRANCH);
  const list = el("ol", "pieces");
  if (!items.length) list.append(el("li", "empty", t("none_yet")));
  items.forEach((p, index) => {
    const li = el("li", "piece");
    li.dataset.code = p.code;
    if (p.body.colour) {
      const swatch = el("span", "swatch");
      swatch.style.background = p.body.colour;
      li.append(swatch);
    }
    const main = el("div", "grow");
    main.append(el("strong", "", nameOf(p)), el("code", "", p.code));
    main.append(el("div", "meta", summary(p)));
    li.append(main);
    const up = button("↑", "ghost small", () => move(p, index - 1), t("move_up", { name: nameOf(p) }));
    up.disabled = index === 0;
    const down = button("↓", "ghost small", () => move(p, index + 1), t("move_down", { name: nameOf(p) }));
    down.disabled = index === items.length - 1;
    li.append(up, down, button(t("edit"), "ghost", () => openEditor(kind, p)),
      button(t("retire"), "danger-outline", () => openRetire(p)));
    list.append(li);
  });
  section.append(list);
  return section;
}

function branchSection() {
  const p = find("branch", BRANCH);
  const section = el("section", "card wide");
  section.id = "section-branch";
  const head = el("div", "card-head");
  head.append(el("h2", "", t("section_branch")), button(t("edit"), "primary", () => openEditor("branch", p)));
  section.append(head);
  const facts = el("dl", "facts");
  const b = p.body;
  const add = (label, value) => { facts.append(el("dt", "", t(label)), el("dd", "", value)); };
  add("f_name", `${b.name ? b.name["zh-CN"] : ""} / ${b.name ? b.name.en : ""}`);
  add("f_timezone", b.timezone || t("default"));
  add("f_hours", b.hours || t("all_day"));
  add("f_hours_by_day", Object.entries(b.hours_by_day || {}).map(([d, h]) => `${t("day_" + d)} ${h}`).join(" · ") || "—");
  add("f_exceptions", (b.exceptions || []).map((e) => `${e.date}${e.until ? "–" + e.until : ""} ${e.hours}${e.name ? " (" + i18n.pick(e.name) + ")" : ""}`).join(" · ") || "—");
  section.append(facts);
  return section;
}

function settingsSection() {
  const section = el("section", "card wide");
  section.id = "section-settings";
  section.append(el("h2", "", t("section_settings")));
  const list = el("ul", "pieces");
  for (const code of ["ratings", "announcements"]) {
    const p = find("settings", code);
    const li = el("li", "piece");
    const main = el("div", "grow");
    main.append(el("strong", "", t("settings_" + code)), el("div", "meta", p ? t("version", { n: p.version }) : t("defaults_apply")));
    li.append(main, button(p ? t("edit") : t("customise"), "ghost", () => openEditor("settings", p, code)));
    list.append(li);
  }
  section.append(list, el("p", "hint", t("settings_hint")));
  return section;
}

function transferSection() {
  const section = el("section", "card wide");
  section.id = "section-import";
  section.append(el("h2", "", t("section_import")), el("p", "hint", t("import_hint")));
  const row = el("div", "import-row");
  const exportLink = el("a", "ghost-link dark", t("export"));
  exportLink.href = PAGE.api + "/export";
  exportLink.setAttribute("download", "hall.toml");
  const file = el("input");
  file.type = "file";
  file.accept = ".toml,application/toml,text/plain";
  file.id = "import-file";
  const label = el("label", "field-label", t("import_file"));
  label.htmlFor = "import-file";
  row.append(exportLink, label, file);
  file.addEventListener("change", () => { if (file.files[0]) previewImport(file.files[0]); file.value = ""; });
  section.append(row);
  return section;
}

function branchesHome() {
  const main = $("#admin-main");
  const section = el("section", "card wide");
  section.id = "section-branches";
  const head = el("div", "card-head");
  head.append(el("h2", "", t("section_branches")), button(t("add_branch"), "primary", () => openEditor("branch", null)));
  section.append(head);
  const list = el("ul", "pieces");
  for (const p of live("branch")) {
    const li = el("li", "piece");
    const main2 = el("div", "grow");
    main2.append(el("strong", "", nameOf(p)), el("code", "", p.code));
    const count = (kind) => live(kind, p.code).length;
    main2.append(el("div", "meta", t("branch_counts", { services: count("service"), counters: count("counter"), kiosks: count("kiosk") })));
    const open = el("a", "primary-link", t("open"));
    open.href = `/admin/${encodeURIComponent(p.code)}?lang=${i18n.language}`;
    li.append(main2, open);
    list.append(li);
  }
  section.append(list);
  main.append(section, settingsSection(), transferSection());
}

function render() {
  const main = $("#admin-main");
  main.replaceChildren();
  const nav = $("#sections");
  nav.replaceChildren();
  if (!BRANCH) {
    nav.hidden = true;
    branchesHome();
    return;
  }
  if (!find("branch", BRANCH)) {
    main.append(el("p", "card", t("branch_gone")));
    return;
  }
  const sections = [branchSection(), ...LISTS.map(listSection), settingsSection(), transferSection()];
  main.append(...sections);
  for (const s of sections) {
    const a = el("a", "", s.querySelector("h2").textContent);
    a.href = "#" + s.id;
    nav.append(a);
  }
}

// --- the editor ---------------------------------------------------------------------------------

function formKind(kind, code) {
  return kind === "settings" ? code : kind;
}

function openEditor(kind, piece, settingsCode, bodyOverride) {
  const code = piece ? piece.code : settingsCode || null;
  const body = bodyOverride || (piece ? piece.body : {});
  const outside = {};
  if (kind === "service") {
    outside.served_by = piece ? live("counter", BRANCH).filter((c) => (c.body.services || []).includes(piece.code)).map((c) => c.code) : [];
  }
  const ctx = { t, options, existing: Boolean(piece), outside };
  const fields = FORMS[formKind(kind, code)];
  const form = build(fields, body, ctx);
  let first = null;
  if (kind === "branch" && !piece) {
    first = build([
      { key: "service_code", type: "text", label: "f_first_service_code" }, { key: "service_prefix", type: "text", label: "f_prefix" },
      { key: "service_name", type: "names", label: "f_first_service_name" }, { key: "counter_number", type: "text", label: "f_first_counter" },
    ], {}, { t, options, existing: false, outside: {} });
  }
  editing = { kind, code, version: piece ? piece.version : null, form, first, piece };
  $("#editor-title").textContent = piece || settingsCode
    ? t("edit_title", { kind: kind === "settings" ? t("settings_" + code) : i18n.pick(PAGE.kinds[kind]), name: piece ? nameOf(piece) : "" })
    : t("new_title", { kind: i18n.pick(PAGE.kinds[kind]) });
  $("#editor-note").textContent = piece && kind !== "settings" ? t("code_note") : "";
  const box = $("#editor-fields");
  box.replaceChildren(form.node);
  if (first) box.append(el("h3", "", t("first_pieces")), el("p", "hint", t("first_hint")), first.node);
  clearErrors();
  if (!$("#editor").open) $("#editor").showModal();
}

function clearErrors() {
  document.querySelectorAll("#editor .field-error").forEach((p) => { p.textContent = ""; });
  document.querySelectorAll("#editor [aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
  $("#editor-server").hidden = true;
}

function showProblem(error) {
  const field = error.details && error.details.field;
  const spot = field && document.querySelector(`#editor-fields .field-error[data-field="${CSS.escape(field)}"]`);
  if (spot) {
    spot.textContent = explain(error, i18n.language);
    spot.dataset.problem = (error.details && error.details.problem) || "";
    const input = spot.parentElement.querySelector("input, select");
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    return;
  }
  const box = $("#editor-server");
  box.querySelector("p").textContent = explainAway(error, i18n.language, true);  // under "the server says"
  box.hidden = false;
}

function requestFor(version) {
  const { kind, code, form, first } = editing;
  const body = form.read(editing.piece ? editing.piece.body : {});
  const extra = kind === "service" ? { served_by: form.outside().served_by } : {};
  const branch = LISTS.includes(kind) ? BRANCH : null;
  if (version === null) {
    const key = PAGE.code_keys[kind];
    const newCode = kind === "settings" ? code : body[key];
    const request = { kind, branch, code: newCode || "", body, ...extra };
    if (first) {
      const f = first.read({});
      request.first = [
        { kind: "service", body: { code: f.service_code || "", prefix: f.service_prefix || "", name: f.service_name } },
        { kind: "counter", body: { number: f.counter_number || "1", name: { "zh-CN": `${f.counter_number || "1"}号窗口`, en: `Counter ${f.counter_number || "1"}` }, services: [f.service_code || ""] } },
      ];
    }
    return { method: "POST", url: PAGE.api + "/pieces", body: request };
  }
  return { method: "PUT", url: `${PAGE.api}/pieces/${kind}/${encodeURIComponent(code)}`, body: { branch, version, body, ...extra } };
}

async function save(version) {
  const request = requestFor(version);
  clearErrors();
  try {
    await API.request(request.method, request.url, { body: request.body });
  } catch (error) {
    if (!(error instanceof API.Error)) throw error;
    if (error.code === "stale_version") return showStale(request.body.body, error.details);
    return showProblem(error);
  }
  $("#editor").close();
  editing = null;
  await load();
}

$("#editor-form").addEventListener("submit", (event) => {
  event.preventDefault();
  save(editing.version);
});

// --- a stale save -------------------------------------------------------------------------------

function showStale(mine, details) {
  const body = $("#stale-table tbody");
  body.replaceChildren();
  const theirs = details.current_body || {};
  const keys = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])].filter((k) => k !== "password_hash");
  for (const key of keys) {
    const a = JSON.stringify(mine[key] ?? null);
    const b = JSON.stringify(theirs[key] ?? null);
    if (a === b) continue;
    const row = el("tr", "differs");
    const field = (FORMS[formKind(editing.kind, editing.code)] || []).find((f) => f.key === key);
    row.append(el("th", "", field ? `${t(field.label)} (${key})` : key), el("td", "", a === "null" ? "—" : a), el("td", "", b === "null" ? "—" : b));
    body.append(row);
  }
  $("#stale-text").textContent = t("stale_text", { yours: details.yours, current: details.current });
  $("#stale-mine").onclick = () => { $("#stale").close(); editing.version = details.current; save(details.current); };
  $("#stale-theirs").onclick = async () => {
    $("#stale").close();
    await load();
    const piece = find(editing.kind, editing.code);
    openEditor(editing.kind, piece, editing.kind === "settings" ? editing.code : null);
  };
  $("#stale").showModal();
}

// --- moving and retiring ---------------------------------------------------------------------------

async function move(p, position) {
  try {
    await API.post(`${PAGE.api}/pieces/${p.kind}/${encodeURIComponent(p.code)}/move`, { branch: BRANCH, version: p.version, position });
  } catch (error) {
    if (!(error instanceof API.Error)) throw error;
    window.alert(explainAway(error, i18n.language));
  }
  await load();
}

let retiring = null;

function openRetire(p) {
  retiring = { piece: p, inUse: null };
  $("#retire-title").textContent = t("retire_title", { kind: i18n.pick(PAGE.kinds[p.kind]), name: nameOf(p) });
  $("#retire-text").textContent = t(p.kind === "service" ? "retire_service_text" : "retire_text");
  $("#retire-tickets").hidden = true;
  $("#retire-error").textContent = "";
  const select = $("#retire-form select[name=to_service]");
  select.replaceChildren(...options("services").filter((o) => o.value !== p.code).map((o) => {
    const option = el("option", "", o.label);
    option.value = o.value;
    return option;
  }));
  $("#retire").showModal();
}

$("#retire-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const p = retiring.piece;
  const form = new FormData(event.target);
  const request = { branch: LISTS.includes(p.kind) ? BRANCH : null, version: p.version };
  if (retiring.inUse) request.tickets = { action: form.get("action"), to_service: form.get("action") === "transfer" ? form.get("to_service") : null };
  try {
    await API.post(`${PAGE.api}/pieces/${p.kind}/${encodeURIComponent(p.code)}/retire`, request);
  } catch (error) {
    if (!(error instanceof API.Error)) throw error;
    if (error.code === "service_in_use") {
      retiring.inUse = error.details;
      $("#retire-in-use").textContent = t("in_use", { n: error.details.count, waiting: error.details.waiting });
      $("#retire-tickets").hidden = false;
      return;
    }
    $("#retire-error").textContent = explainAway(error, i18n.language);
    return;
  }
  $("#retire").close();
  await load();
});

// --- import and export ---------------------------------------------------------------------------

let importing = null;

async function previewImport(file) {
  const text = await file.text();
  importing = text;
  $("#preview-error").textContent = "";
  $("#preview-list").replaceChildren();
  $("#preview-apply").disabled = true;
  $("#preview").showModal();
  let answer;
  try {
    answer = await API.post(PAGE.api + "/import/preview", { toml: text });
  } catch (error) {
    if (!(error instanceof API.Error)) throw error;
    $("#preview-summary").textContent = "";
    $("#preview-error").textContent = `${t("import_refused")} ${explainAway(error, i18n.language, true)}`;
    return;
  }
  $("#preview-summary").textContent = answer.pieces.length
    ? t("preview_counts", { added: answer.added, changed: answer.changed, retired: answer.retired }) : t("preview_nothing");
  for (const p of answer.pieces) {
    const li = el("li", "preview-" + p.what);
    li.append(el("span", "badge " + p.what, t("what_" + p.what)), el("span", "", `${i18n.pick(PAGE.kinds[p.kind])} ${p.code}`),
      el("span", "meta", p.branch || ""));
    $("#preview-list").append(li);
  }
  $("#preview-apply").disabled = !answer.pieces.length;
}

$("#preview-apply").addEventListener("click", async () => {
  try {
    await API.post(PAGE.api + "/import", { toml: importing });
  } catch (error) {
    if (!(error instanceof API.Error)) throw error;
    $("#preview-error").textContent = `${t("import_refused")} ${explainAway(error, i18n.language, true)}`;
    return;
  }
  $("#preview").close();
  await load();
});

document.querySelectorAll("dialog [data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));

// --- sign-in, language -------------------------------------------------------------------------------

function header() {
  i18n.apply(document);
  $("#hall-name").textContent = PAGE.branch ? " · " + i18n.pick(PAGE.branch.name) : "";
  $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
  $("#to-branches").hidden = !BRANCH;
  $("#to-branches").href = `/admin?lang=${i18n.language}`;
  const manager = $("#to-manager");
  manager.hidden = !BRANCH;
  if (BRANCH) manager.href = `/manager/${encodeURIComponent(BRANCH)}?lang=${i18n.language}`;
}

async function start() {
  header();
  const who = await API.get("/api/session");
  if (who.role !== "admin") {
    $("#login").hidden = false;
    $("#login-error").textContent = who.username ? t("not_admin") : "";
    return;
  }
  $("#login").hidden = true;
  $("#workspace").hidden = false;
  $("#sign-out").hidden = false;
  await load();
  // another administrator's change reaches this page too: the branch's screens hear of it, and so does this list
  if (BRANCH && window.HallLive) {
    window.HallLive.connect({ branch: BRANCH, role: "manager", onSnapshot() {}, onResync(event) {
      if (event.kind === "hall_changed" && !editing) load();
    } });
  }
}

$("#lang").addEventListener("click", () => {
  i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
  header();
  if (setup) render();
});
$("#sign-out").addEventListener("click", async () => {
  await API.delete("/api/session").catch(() => {});
  window.location.reload();
});
$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await API.post("/api/session", { username: form.get("username"), password: form.get("password") });
  } catch (error) {
    $("#login-error").textContent = error.code === "too_many_attempts" ? t("too_many_attempts") : t("bad_login");
    return;
  }
  window.location.reload();
});
$("#editor").addEventListener("close", () => { editing = null; });
start();
