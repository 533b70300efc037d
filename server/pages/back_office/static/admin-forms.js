/*
 * The administration's forms, one per kind of piece, as data: each field names its key in the piece's table
 * (config.toml's, documented in the README), how it is edited, and its label (a text key of admin-texts.js).
 * build() draws a form for a body; read() gives the body back: the keys the form edits from the form (a blank
 * optional field leaves its key out, so the loader's default applies), every other key as it was.
 * The server validates; the form only shapes the values.
 */

const names = (key, label, optional) => ({ key, type: "names", label: label || "f_name", optional });
const num = (key, label, extra) => ({ key, type: "number", label, ...(extra || {}) });
const int = (key, label, extra) => ({ key, type: "number", step: 1, label, ...(extra || {}) });
const text = (key, label, extra) => ({ key, type: "text", label, ...(extra || {}) });

export function forms(choices) {
  const hours = text("hours", "f_hours", { hint: "hint_hours", placeholder: "09:00-12:00, 13:30-18:00" });
  const byDay = { key: "hours_by_day", type: "weekdays", label: "f_hours_by_day", hint: "hint_hours_by_day",
    days: choices.weekdays };
  return {
    branch: [
      text("code", "f_code", { code: true }), names("name"),
      text("timezone", "f_timezone", { placeholder: "Asia/Shanghai", hint: "hint_timezone" }),
      hours, byDay,
      { key: "exceptions", type: "rows", label: "f_exceptions", hint: "hint_exceptions", fields: [
        { key: "date", type: "date", label: "f_date" }, { key: "until", type: "date", label: "f_until" },
        text("hours", "f_hours", { placeholder: "closed" }), names("name", "f_holiday", true),
        { key: "services", type: "codes", label: "f_exception_services", source: "services" }] },
      { key: "overflow", type: "group", label: "f_overflow", fields: [
        num("wait_min", "f_wait_min"), names("notice", "f_notice", true),
        { key: "services", type: "codes", label: "f_overflow_services", source: "services" },
        num("nearby_km", "f_nearby_km", { hint: "hint_nearby_km" }), num("margin_min", "f_margin_min"),
        { key: "alternatives", type: "rows", label: "f_alternatives", hint: "hint_alternatives", fields: [
          names("name", "f_alternative_name"), names("text", "f_alternative_text"),
          { key: "services", type: "codes", label: "f_overflow_services", source: "services" }] }] },
      { key: "devices", type: "group", label: "f_devices", fields: [
        { key: "require_pairing", type: "checks", label: "f_require_pairing", options: choices.pairing_kinds,
          optionLabel: "kind_" },
        int("prints_per_ticket", "f_prints_per_ticket"), num("print_window_min", "f_print_window_min"),
        num("offline_after_s", "f_offline_after_s")] },
      names("district", "f_district", true), names("address", "f_address", true),
      num("latitude", "f_latitude", { hint: "hint_coordinates" }), num("longitude", "f_longitude"),
      { key: "booking", type: "group", label: "f_booking", fields: [
        int("horizon_days", "f_horizon_days"), int("change_cutoff_min", "f_change_cutoff_min"),
        int("max_per_week", "f_max_per_week"), int("early_checkin_min", "f_early_checkin_min"),
        int("late_grace_min", "f_late_grace_min"),
        { key: "late_policy", type: "select", label: "f_late_policy", options: choices.late_policies,
          optionLabel: "late_" }] },
    ],
    category: [text("code", "f_code", { code: true }), names("name"), text("icon", "f_icon", { hint: "hint_icon" }),
      { key: "colour", type: "colour", label: "f_colour" }],
    service: [
      text("code", "f_code", { code: true }), text("prefix", "f_prefix", { hint: "hint_prefix", required: true }),
      names("name"), { key: "parent", type: "select", label: "f_parent", source: "categories", blank: "no_parent" },
      num("target_wait_min", "f_target_wait"), num("expected_service_min", "f_expected_service"),
      int("daily_cap", "f_daily_cap", { hint: "hint_blank_none" }), hours, byDay,
      text("last_ticket", "f_last_ticket", { hint: "hint_last_ticket", placeholder: "20:45" }),
      int("start_number", "f_start_number"), int("number_width", "f_number_width"),
      text("icon", "f_icon", { hint: "hint_icon" }), { key: "colour", type: "colour", label: "f_colour" },
      { key: "served_by", type: "checks", label: "f_served_by", source: "counters", outside: true,
        hint: "hint_served_by" },
      { key: "booking", type: "group", label: "f_service_booking", fields: [
        { key: "bookable", type: "flag", label: "f_bookable" }, int("slot_min", "f_slot_min", { hint: "hint_slot_min" }),
        int("per_slot", "f_per_slot"), num("walk_in_share", "f_walk_in_share", { hint: "hint_walk_in_share" })] },
      { key: "remote", type: "group", label: "f_service_remote", fields: [
        { key: "enabled", type: "flag", label: "f_remote_enabled" },
        int("checkin_min", "f_checkin_min", { hint: "hint_checkin_min" })] },
    ],
    counter: [
      text("number", "f_number", { code: true }), names("name"),
      { key: "role", type: "select", label: "f_role", options: choices.counter_roles, optionLabel: "role_" },
      { key: "services", type: "codes", label: "f_counter_services", source: "services", hint: "hint_preference",
        keep: true },
    ],
    zone: [text("code", "f_code", { code: true }), names("name"),
      { key: "services", type: "checks", label: "f_zone_services", source: "services", hint: "hint_zone_all" },
      { key: "counters", type: "checks", label: "f_zone_counters", source: "counters", hint: "hint_zone_all" }],
    kiosk: [text("id", "f_kiosk_id", { code: true }), names("name"),
      text("printer", "f_printer", { hint: "hint_printer", placeholder: "escpos://192.168.1.50:9100" }),
      num("print_timeout_s", "f_print_timeout"), { key: "status_query", type: "flag", label: "f_status_query" },
      num("confirmation_s", "f_confirmation"), num("idle_reset_s", "f_idle_reset")],
    ratings: [
      { key: "scale", type: "select", label: "f_scale", options: choices.scales, optionLabel: "scale_" },
      { key: "dissatisfied_scores", type: "numbers", label: "f_dissatisfied", hint: "hint_numbers" },
      int("pad_timeout_s", "f_pad_timeout"), num("rating_window_min", "f_rating_window"),
      { key: "low_reasons", type: "rows", label: "f_low_reasons", fields: [text("code", "f_code"), names("text", "f_chip")] },
      { key: "high_reasons", type: "rows", label: "f_high_reasons", fields: [text("code", "f_code"), names("text", "f_chip")] },
    ],
    announcements: [
      { key: "languages", type: "checks", label: "f_languages", options: ["zh-CN", "en"], optionLabel: "lang_" },
      names("templates", "f_templates", true), int("repeat", "f_repeat"), { key: "chime", type: "flag", label: "f_chime" },
      { key: "voice", type: "select", label: "f_voice", options: choices.voices, optionLabel: "voice_" },
      int("speech_rate", "f_speech_rate"), names("server_voices", "f_server_voices", true),
    ],
  };
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** One field's control, filled from ``value``; returns {node, read()} (read: the value, or undefined to leave out). */
function control(field, value, ctx, path) {
  const t = ctx.t;
  const id = "f-" + path.replace(/[^a-z0-9]+/gi, "-");
  switch (field.type) {
    case "names": {
      const v = value && typeof value === "object" ? value : {};
      const zh = el("input", { id, lang: "zh-CN", value: v["zh-CN"] || "", "aria-label": t(field.label) + " · 中文" });
      const en = el("input", { lang: "en", value: v.en || "", "aria-label": t(field.label) + " · English" });
      return { node: el("div", { className: "pair" }, el("label", { className: "sub" }, el("span", { text: t("lang_zh") }), zh),
        el("label", { className: "sub" }, el("span", { text: t("lang_en") }), en)),
        read: () => (field.optional && !zh.value.trim() && !en.value.trim() ? undefined
          : { "zh-CN": zh.value.trim(), en: en.value.trim() }) };
    }
    case "number": {
      const input = el("input", { id, type: "number", step: field.step || "any", value: value ?? "" });
      return { node: input, read: () => (input.value.trim() === "" ? undefined
        : (Number.isFinite(Number(input.value)) ? Number(input.value) : input.value)) };
    }
    case "date": {
      const input = el("input", { id, type: "date", value: value || "" });
      return { node: input, read: () => input.value || undefined };
    }
    case "flag": {
      const select = el("select", { id }, el("option", { value: "", text: t("default") }),
        el("option", { value: "true", text: t("yes") }), el("option", { value: "false", text: t("no") }));
      select.value = value === true ? "true" : value === false ? "false" : "";
      return { node: select, read: () => (select.value === "" ? undefined : select.value === "true") };
    }
    case "select": {
      const options = field.source ? ctx.options(field.source) : field.options.map((o) => ({ value: o, label: t(field.optionLabel + o) }));
      const select = el("select", { id });
      if (field.blank || !field.source) select.append(el("option", { value: "", text: t(field.blank || "default") }));
      for (const o of options) select.append(el("option", { value: o.value, text: o.label }));
      select.value = value ?? "";
      return { node: select, read: () => select.value || undefined };
    }
    case "checks": {
      const options = field.source ? ctx.options(field.source) : field.options.map((o) => ({ value: o, label: t(field.optionLabel + o) }));
      const chosen = new Set(Array.isArray(value) ? value : []);
      const boxes = options.map((o) => el("input", { type: "checkbox", value: o.value, checked: chosen.has(o.value) }));
      return { node: el("div", { className: "checks", id }, ...options.map((o, i) => el("label", { className: "check" }, boxes[i], el("span", { text: o.label })))),
        read: () => { const picked = boxes.filter((b) => b.checked).map((b) => b.value); return picked.length || field.outside ? picked : undefined; } };
    }
    case "codes": {
      const input = el("input", { id, value: Array.isArray(value) ? value.join(", ") : "" });
      const known = ctx.options(field.source).map((o) => `${o.value} (${o.label})`).join(" · ");
      return { node: el("div", {}, input, el("p", { className: "hint", text: t("available", { list: known }) })),
        read: () => { const list = input.value.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean); return list.length || field.keep ? list : undefined; } };
    }
    case "weekdays": {
      const v = value && typeof value === "object" ? value : {};
      const inputs = field.days.map((d) => el("input", { value: v[d] || "", "aria-label": t("day_" + d), placeholder: "—" }));
      return { node: el("div", { className: "weekdays", id }, ...field.days.map((d, i) => el("label", { className: "sub" }, el("span", { text: t("day_" + d) }), inputs[i]))),
        read: () => { const out = {}; field.days.forEach((d, i) => { if (inputs[i].value.trim()) out[d] = inputs[i].value.trim(); }); return Object.keys(out).length ? out : undefined; } };
    }
    case "colour": {
      const input = el("input", { id, value: value || "", placeholder: "#0284c7", maxlength: 7, className: "colour" });
      const swatch = el("span", { className: "swatch", "aria-hidden": "true" });
      const paint = () => { swatch.style.background = /^#[0-9a-f]{6}$/i.test(input.value) ? input.value : "transparent"; };
      input.addEventListener("input", paint);
      paint();
      return { node: el("div", { className: "colour-row" }, input, swatch), read: () => input.value.trim() || undefined };
    }
    case "numbers": {
      const input = el("input", { id, value: Array.isArray(value) ? value.join(", ") : "" });
      return { node: input, read: () => { const list = input.value.split(/[,，\s]+/).filter(Boolean).map(Number); return list.length ? list : undefined; } };
    }
    case "group": {
      const v = value && typeof value === "object" ? value : {};
      const inner = fieldset(field.fields, v, ctx, path);
      return { node: el("div", { className: "group" }, inner.node), read: () => { const out = inner.read(v); return Object.keys(out).length ? out : undefined; } };
    }
    case "rows": {
      const list = el("div", { className: "rows" });
      const rows = [];
      const add = (rowValue) => {
        const set = fieldset(field.fields, rowValue || {}, ctx, `${path}-${rows.length}`);
        const remove = el("button", { type: "button", className: "ghost small", text: t("remove_row") });
        const row = { node: el("div", { className: "row-item" }, set.node, remove), read: () => set.read(rowValue || {}) };
        remove.addEventListener("click", () => { rows.splice(rows.indexOf(row), 1); row.node.remove(); });
        rows.push(row);
        list.append(row.node);
      };
      (Array.isArray(value) ? value : []).forEach(add);
      const more = el("button", { type: "button", className: "ghost small", text: t("add_row") });
      more.addEventListener("click", () => add({}));
      return { node: el("div", { id }, list, more), read: () => { const out = rows.map((r) => r.read()); return out.length ? out : undefined; } };
    }
    default: {
      const input = el("input", { id, value: value ?? "", placeholder: field.placeholder, readonly: field.code && ctx.existing });
      return { node: input, read: () => (input.value.trim() === "" ? undefined : input.value.trim()) };
    }
  }
}

/** The fields of one table: {node, read(original)} where read keeps the original's other keys. */
function fieldset(fields, body, ctx, path) {
  const t = ctx.t;
  const parts = fields.map((field) => {
    const value = field.outside ? ctx.outside[field.key] : body[field.key];
    const c = control(field, value, ctx, `${path}-${field.key}`);
    const label = el("label", { className: "field-label", for: c.node.id || null, text: t(field.label) });
    const wrap = el("div", { className: "field", "data-key": field.key }, label, c.node);
    if (field.code && ctx.existing) wrap.append(el("p", { className: "hint", text: t("code_fixed") }));
    else if (field.hint) wrap.append(el("p", { className: "hint", text: t(field.hint) }));
    wrap.append(el("p", { className: "field-error", "data-field": field.key }));
    return { field, c, node: wrap };
  });
  return {
    node: el("div", { className: "fields" }, ...parts.map((p) => p.node)),
    read(original) {
      const out = { ...original };
      for (const { field, c } of parts) {
        if (field.outside) continue;
        const v = c.read();
        if (v === undefined) delete out[field.key]; else out[field.key] = v;
      }
      return out;
    },
    outside() {
      const out = {};
      for (const { field, c } of parts) if (field.outside) out[field.key] = c.read();
      return out;
    },
  };
}

/** A form for ``fields`` filled from ``body``; ctx: {t, options(source), existing, outside}. */
export function build(fields, body, ctx) {
  return fieldset(fields, body || {}, ctx, "root");
}
