/*
 * The pairing screen of a device page that must be paired (server/pages/pairing.py).
 *
 * It asks the server for a pairing (POST /api/devices/pairing, with the role its page is for); the answer brings
 * the six-digit code to show, and the device's credential comes with it as an HTTP-only cookie. While the code
 * shows, it asks every few seconds whether a manager approved it (GET /api/devices/me): then the page reloads
 * and the server shows the real page. A code that lapsed, or a revoked pairing, is replaced by a new code.
 */
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("pairing-config").textContent);
  const ASK_EVERY_MS = 3000; // only while this screen shows: there is no live connection before pairing
  const TEXTS = {
    "zh-CN": {
      language_switch: "English",
      title: "设备配对",
      lead: "此设备尚未配对，暂不能使用。配对码：",
      step_1: "请值班经理打开经理页面（{manager}）",
      step_2: "在“设备”一栏输入此配对码，确认设备用途后批准",
      step_3: "批准后，此屏幕会自动打开",
      expires: "配对码 {minutes} 分钟内有效，过期后自动更换。",
      revoked: "此设备的配对已被经理撤销，请重新配对。",
      offline: "无法连接服务器，正在重试…",
      refused: "无法配对：{reason}",
      paired: "已配对，正在打开…",
      summary: "请值班经理在经理页面的“设备”一栏输入此配对码；批准后此屏幕自动打开。",
    },
    en: {
      language_switch: "中文",
      title: "Pair this device",
      lead: "This device is not paired yet, so it cannot be used. Its pairing code:",
      step_1: "Ask the duty manager to open the manager page ({manager})",
      step_2: "Under “Devices”, they enter this code, check what the device is for and approve it",
      step_3: "Once approved, this screen opens by itself",
      expires: "The code is valid for {minutes} minutes, then a new one appears.",
      revoked: "A manager revoked this device's pairing: pair it again.",
      offline: "The server cannot be reached; trying again…",
      refused: "Cannot pair: {reason}",
      paired: "Paired: opening…",
      summary: "Ask the duty manager to enter this code under “Devices” on the manager page; this screen then opens by itself.",
    },
  };
  const i18n = window.HallI18n.create(TEXTS, page.language);
  const other = window.HallI18n.create(TEXTS, page.language === "en" ? "zh-CN" : "en");
  const $ = (id) => document.getElementById(id);
  const state = { device: null, note: null, noteVars: {} };

  function render() {
    i18n.apply(document);
    const vars = { manager: page.manager_url, minutes: page.code_minutes };
    $("pairing-steps").querySelectorAll("li").forEach((li, index) => {
      li.textContent = i18n.t("step_" + (index + 1), vars);
    });
    $("pairing-role").textContent = i18n.pick(page.role_name);
    $("pairing-code").textContent = state.device && state.device.code ? state.device.code : "··· ···";
    $("pairing-note").textContent = state.note ? i18n.t(state.note, state.noteVars) : i18n.t("expires", vars);
    // the other language underneath, for whoever reads it
    $("pairing-other").lang = other.language;
    $("pairing-other").textContent = other.t("title") + " · " + other.pick(page.role_name) + " — " + other.t("summary");
    $("pairing").dataset.state = state.device ? state.device.state : "asking";
  }

  function note(key, vars) {
    state.note = key;
    state.noteVars = vars || {};
    render();
  }

  async function ask() {
    try {
      state.device = await window.HallApi.post("/api/devices/pairing",
        { branch: page.branch.code, kind: page.role.kind, target: page.role.target });
      state.note = null;
      if (state.device.state === "paired") return opened();
      render();
    } catch (error) {
      if (error.status === 0 || error.retryable) note("offline");
      else note("refused", { reason: error.message });
    }
  }

  function opened() {
    note("paired");
    window.location.reload();
  }

  async function check() {
    if (!state.device) return ask();
    try {
      const device = await window.HallApi.get("/api/devices/me", { cache: "no-store" });
      if (device.state === "paired") return opened();
      if (device.state === "revoked") {
        note("revoked");
        state.device = null;
        return ask();
      }
      if (device.expires_at && Date.parse(device.expires_at) <= Date.now()) return ask();
      state.device = device;
      if (state.note === "offline") state.note = null;
      render();
    } catch (error) {
      if (error.status === 401) return ask(); // the credential is unknown (or the code was forgotten): a new one
      note("offline");
    }
  }

  $("pairing-language").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "en" ? "zh-CN" : "en");
    other.setLanguage(i18n.language === "en" ? "zh-CN" : "en");
    render();
  });
  render();
  ask();
  setInterval(check, ASK_EVERY_MS);
  window.HallPairing = { state }; // for tests
})();
