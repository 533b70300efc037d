/*
 * HallPassword: the "choose a new password" dialog every sign-in shares (staff console, manager page, wall set-up).
 *
 *   HallPassword.change({ language, username, current, reason })  // -> Promise of the new session, or null
 *
 * With ``current`` (a sign-in that was told "password_change_required") the current password is not asked again;
 * with neither ``username`` nor ``current`` it is the signed-in user's own "Change password". The server judges
 * the new password (POST /api/session/password); its reason is shown at the field, in the page's language.
 */
(function (global) {
  "use strict";

  const TEXTS = {
    "zh-CN": {
      title: "修改密码",
      reason_reset: "管理员为您设置了临时密码，请设置您自己的新密码。",
      reason_demo: "这是公开的演示密码，任何人都知道。请先设置新密码。",
      reason_own: "修改后，您在其他设备上的登录会退出。",
      current: "当前密码",
      new_password: "新密码",
      repeat: "再次输入新密码",
      hint: "至少 10 个字符；不要用常见密码或用户名。",
      save: "保存新密码",
      cancel: "取消",
      mismatch: "两次输入的新密码不一致",
      wrong_current: "当前密码不正确",
      too_many: "尝试次数过多，请 {minutes} 分钟后再试",
      network: "无法连接服务器，请重试",
      failed: "未能修改密码：{message}",
      done: "密码已修改",
    },
    en: {
      title: "Change password",
      reason_reset: "An administrator set a temporary password for you: choose your own now.",
      reason_demo: "This is the published demo password that everyone knows: choose a new one first.",
      reason_own: "Once changed, you are signed out on your other devices.",
      current: "Current password",
      new_password: "New password",
      repeat: "New password again",
      hint: "At least 10 characters; not a common password or your user name.",
      save: "Save the new password",
      cancel: "Cancel",
      mismatch: "The two new passwords differ",
      wrong_current: "The current password is wrong",
      too_many: "Too many attempts: try again in {minutes} min",
      network: "The server cannot be reached: try again",
      failed: "The password was not changed: {message}",
      done: "Password changed",
    },
  };

  function node(tag, attributes, children) {
    const made = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "text") made.textContent = value;
      else made.setAttribute(name, value);
    }
    for (const child of children || []) made.appendChild(child);
    return made;
  }

  function field(id, label, autocomplete) {
    const input = node("input", { id, name: id, type: "password", autocomplete, required: "", maxlength: "128" });
    const error = node("p", { class: "password-field-error", id: `${id}-error`, role: "alert" });
    error.hidden = true;
    return { row: node("label", { class: "password-field" }, [node("span", { text: label }), input, error]), input, error };
  }

  function change(options) {
    const language = options.language === "en" ? "en" : "zh-CN";
    const t = (key, vars) => TEXTS[language][key].replace(/\{(\w+)\}/g, (w, n) => (vars && n in vars ? vars[n] : w));
    const asking = options.current === undefined;
    return new Promise((resolve) => {
      const current = field("password-current", t("current"), "current-password");
      const fresh = field("password-new", t("new_password"), "new-password");
      const repeat = field("password-repeat", t("repeat"), "new-password");
      const message = node("p", { class: "password-message", role: "alert" });
      message.hidden = true;
      const save = node("button", { type: "submit", class: "primary", text: t("save") });
      const cancel = node("button", { type: "button", class: "ghost", text: t("cancel") });
      const reason = t(options.reason === "reset" ? "reason_reset" : options.reason === "demo" ? "reason_demo"
        : "reason_own");
      const form = node("form", { method: "dialog", class: "password-form" }, [
        node("h2", { text: t("title") }),
        node("p", { class: "password-reason", text: reason }),
        ...(asking ? [current.row] : []), fresh.row, repeat.row,
        node("p", { class: "password-hint", text: t("hint") }), message,
        node("div", { class: "password-actions" }, [cancel, save]),
      ]);
      const dialog = node("dialog", { class: "password-dialog", "aria-label": t("title") }, [form]);
      document.body.appendChild(dialog);

      function close(result) {
        dialog.close();
        dialog.remove();
        resolve(result);
      }

      function show(target, text) {
        for (const box of [current.error, fresh.error, repeat.error, message]) { box.hidden = true; box.textContent = ""; }
        if (!text) return;
        target.textContent = text;
        target.hidden = false;
      }

      cancel.addEventListener("click", () => close(null));
      dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(null); });
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (fresh.input.value !== repeat.input.value) {
          show(repeat.error, t("mismatch"));
          repeat.input.select();
          return;
        }
        save.disabled = true;
        try {
          const body = { current_password: asking ? current.input.value : options.current,
            new_password: fresh.input.value };
          if (options.username) body.username = options.username;
          const session = await global.HallApi.post("/api/session/password", body);
          close(session);
        } catch (error) {
          if (error.status === 0) show(message, t("network"));
          else if (error.code === "weak_password") {
            show(fresh.error, (error.details.problem || {})[language] || error.message);
            fresh.input.select();
          } else if (error.code === "bad_credentials") show(asking ? current.error : message, t("wrong_current"));
          else if (error.code === "too_many_attempts") {
            show(message, t("too_many", { minutes: Math.ceil((error.details.retry_after_s || 60) / 60) }));
          } else show(message, t("failed", { message: error.message }));
        } finally {
          save.disabled = false;
        }
      });
      dialog.showModal();
      (asking ? current.input : fresh.input).focus();
    });
  }

  global.HallPassword = { change, TEXTS };
})(window);
