/*
 * HallI18n: every customer-facing text in zh-CN and en.
 *
 *   const i18n = HallI18n.create({ "zh-CN": {take: "取号"}, en: {take: "Take a ticket"} }, "zh-CN");
 *   i18n.t("take");                 // text in the current language; "{n}" placeholders from a vars object
 *   i18n.pick({"zh-CN": "…", en: "…"});  // a bilingual text from the server
 *   i18n.apply(document);           // fills [data-i18n="key"] elements (and [data-i18n-aria-label])
 *   i18n.setLanguage("en");         // switches, re-applies, calls listeners
 */
(function (global) {
  "use strict";

  const LANGUAGES = ["zh-CN", "en"];

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
        const text = key in table ? table[key] : (dictionary["zh-CN"] || {})[key];
        if (text === undefined) {
          console.warn("HallI18n: no text for", key);
          return key;
        }
        return format(text, vars);
      },
      both(key, vars) {
        return LANGUAGES.map((lang) => format((dictionary[lang] || {})[key] || key, vars));
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
