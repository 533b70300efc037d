/*
 * HallI18n: every customer-facing text in zh-CN and en.
 *
 *   const i18n = HallI18n.create({ "zh-CN": {take: "取号"}, en: {take: "Take a ticket"} }, "zh-CN");
 *   i18n.t("take");                 // text in the current language; "{n}" placeholders from a vars object
 *   // a text may have plural forms, chosen by vars.n with the language's own rules (Intl.PluralRules):
 *   //   en: {ratings: {one: "{n} rating", other: "{n} ratings"}}   zh-CN: {ratings: "{n} 条评价"}
 *   i18n.pick({"zh-CN": "…", en: "…"});  // a bilingual text from the server
 *   i18n.apply(document);           // fills [data-i18n="key"] elements (and [data-i18n-aria-label])
 *   i18n.setLanguage("en");         // switches, re-applies, calls listeners
 */
(function (global) {
  "use strict";

  const LANGUAGES = ["zh-CN", "en"];

  function plural(text, vars, language) {
    if (text === null || typeof text !== "object") return text;
    const n = vars && typeof vars.n === "number" ? vars.n : 0;
    const form = new Intl.PluralRules(language).select(n);
    return form in text ? text[form] : text.other;
  }

  function format(text, vars) {
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  }

  function create(dictionary, language) {
    const listeners = [];
    const i18n = {
      language: LANGUAGES.includes(language) ? language : "zh-CN",
      languages: LANGUAGES,
      t(key, vars) {
        const table = dictionary[i18n.language] || {};
        const inTable = key in table;
        const text = inTable ? table[key] : (dictionary["zh-CN"] || {})[key];
        if (text === undefined) {
          console.warn("HallI18n: no text for", key);
          return key;
        }
        return format(plural(text, vars, inTable ? i18n.language : "zh-CN"), vars);
      },
      both(key, vars) {
        return LANGUAGES.map((lang) => format(plural((dictionary[lang] || {})[key] || key, vars, lang), vars));
      },
      pick(bilingual) {
        if (bilingual === null || bilingual === undefined) return "";
        if (typeof bilingual === "string") return bilingual;
        return bilingual[i18n.language] || bilingual["zh-CN"] || bilingual.en || "";
      },
      apply(root) {
        (root || document).querySelectorAll("[data-i18n]").forEach((element) => {
          element.textContent = i18n.t(element.dataset.i18n);
        });
        (root || document).querySelectorAll("[data-i18n-aria-label]").forEach((element) => {
          element.setAttribute("aria-label", i18n.t(element.dataset.i18nAriaLabel));
        });
        document.documentElement.lang = i18n.language;
      },
      setLanguage(next) {
        if (!LANGUAGES.includes(next)) return;
        i18n.language = next;
        i18n.apply(document);
        listeners.forEach((listener) => listener(next));
      },
      onChange(listener) {
        listeners.push(listener);
      },
    };
    return i18n;
  }

  global.HallI18n = { create, LANGUAGES };
})(window);
