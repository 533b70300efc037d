/* The "Accounts" card of the manager page: the accounts this manager manages (an admin: every account; a branch
 * manager: the staff of their branches), a new account with a temporary password shown once, an edit (name, role,
 * branches), a disable or enable (its sessions end at once), a password reset.
 *
 *   const card = AccountsCard.create({ i18n, api });
 *   card.load();   // the list again (after an action, a language switch)
 *
 * The server decides who may manage whom and which roles and branches may be given (GET /api/accounts).
 */
(function (global) {
  "use strict";

  const TEXTS = {
    "zh-CN": {
      accounts: "账号", new_account: "新建账号", account_name: "姓名", username: "用户名", role: "角色",
      branches: "营业厅", every_branch: "全部营业厅", branches_hint: "一个都不勾选：在全部营业厅工作。", status: "状态", active: "正常", disabled: "已停用",
      must_change: "待改密码", edit: "编辑", reset: "重置密码", disable: "停用", enable: "启用", save: "保存",
      cancel: "取消", create: "创建", close: "关闭", username_fixed: "用户名创建后不能修改",
      temporary_title: "临时密码", temporary_hint: "请把这个临时密码告诉 {name}：只显示这一次，首次登录时需改为自己的密码。",
      copy: "复制", copied: "已复制", confirm_reset: "为 {name} 重置密码？其所有设备都会退出登录。",
      confirm_disable: "停用 {name}？其所有设备会立即退出登录。", stale: "此账号刚被其他人修改，已重新载入，请再试一次。",
      failed: "操作失败：{message}", none: "没有可管理的账号", loading: "正在载入…",
      not_yourself: "不能停用自己的账号或修改自己的角色", last_admin: "必须保留至少一名系统管理员",
      already_exists: "这个用户名已被使用", not_your_account: "营业厅经理只能管理本厅的员工账号",
    },
    en: {
      accounts: "Accounts", new_account: "New account", account_name: "Name", username: "User name", role: "Role",
      branches: "Branches", every_branch: "Every branch", branches_hint: "None ticked: works at every branch.", status: "Status", active: "Active", disabled: "Disabled",
      must_change: "Must change password", edit: "Edit", reset: "Reset password", disable: "Disable",
      enable: "Enable", save: "Save", cancel: "Cancel", create: "Create", close: "Close",
      username_fixed: "A user name cannot change once created",
      temporary_title: "Temporary password",
      temporary_hint: "Give {name} this temporary password: it is shown only now, and must be changed at the first sign-in.",
      copy: "Copy", copied: "Copied", confirm_reset: "Reset the password of {name}? They are signed out everywhere.",
      confirm_disable: "Disable {name}? They are signed out everywhere at once.",
      stale: "Someone else just changed this account: it was reloaded, try again.",
      failed: "That did not work: {message}", none: "No accounts to manage", loading: "Loading…",
      not_yourself: "You cannot disable your own account or change your own role",
      last_admin: "At least one administrator must remain", already_exists: "This user name is taken",
      not_your_account: "Branch managers manage the staff accounts of their own branches",
    },
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function create({ i18n, api }) {
    const $ = (selector) => document.querySelector(selector);
    const t = (key, vars) => (TEXTS[i18n.language][key] || key).replace(/\{(\w+)\}/g, (w, n) => (vars && n in vars ? vars[n] : w));
    let answer = null; // {accounts, roles, branches}
    let editing = null; // the account being edited, or null for a new one

    function roleLabel(role) {
      const found = answer && answer.roles.find((r) => r.role === role);
      return found ? i18n.pick(found.label) : role;
    }

    function branchNames(codes) {
      if (!codes.length) return t("every_branch");
      return codes.map((code) => {
        const found = answer.branches.find((b) => b.code === code);
        return found ? i18n.pick(found.name) : code;
      }).join("、");
    }

    function errorText(error) {
      if (["not_yourself", "last_admin", "already_exists", "not_your_account", "stale"].includes(error.code)) {
        return t(error.code);
      }
      return t("failed", { message: error.message });
    }

    function render() {
      $("#accounts-title").textContent = t("accounts");
      $("#account-new").textContent = t("new_account");
      const heads = ["account_name", "role", "branches", "status"];
      $("#accounts thead").replaceChildren(el("tr", "", null));
      for (const key of heads) $("#accounts thead tr").append(el("th", "", t(key)));
      $("#accounts thead tr").append(el("th"));
      const body = $("#accounts tbody");
      if (!answer) { body.replaceChildren(); return; }
      if (!answer.accounts.length) {
        const row = el("tr");
        const cell = el("td", "muted", t("none"));
        cell.colSpan = 5;
        row.append(cell);
        body.replaceChildren(row);
        return;
      }
      body.replaceChildren(...answer.accounts.map((account) => {
        const row = el("tr", account.disabled ? "disabled" : "");
        row.dataset.username = account.username;
        const who = el("td");
        // the user name is what this card manages (the person types it to sign in): shown under the name
        who.append(el("strong", "", account.display_name), el("small", "account-username", account.username));
        const status = el("td", "status");
        status.append(el("span", account.disabled ? "badge closed" : "badge issuing",
          t(account.disabled ? "disabled" : "active")));
        if (account.must_change_password && !account.disabled) {
          status.append(el("span", "badge warn must-change", t("must_change")));
        }
        const actions = el("td", "actions");
        for (const [key, act] of [["edit", () => openEdit(account)], ["reset", () => reset(account)],
          [account.disabled ? "enable" : "disable", () => toggle(account)]]) {
          const button = el("button", "ghost small", t(key));
          button.type = "button";
          button.dataset.act = key;
          button.addEventListener("click", act);
          actions.append(button);
        }
        row.append(who, el("td", "", roleLabel(account.role)), el("td", "", branchNames(account.branches)), status,
          actions);
        return row;
      }));
    }

    async function load() {
      try {
        answer = await api.get("/api/accounts");
        $("#accounts-error").textContent = "";
      } catch (error) {
        if (error.status === 403) { $("#accounts-card").hidden = true; return; }
        $("#accounts-error").textContent = errorText(error);
      }
      $("#accounts-card").hidden = false;
      render();
    }

    // --- the account dialog -----------------------------------------------------------------------------

    const dialog = () => $("#account-dialog");
    const form = () => $("#account-form");

    function fieldError(name, text) {
      for (const box of form().querySelectorAll(".field-error")) { box.textContent = ""; box.hidden = true; }
      $("#account-form-error").textContent = "";
      if (!text) return;
      const box = form().querySelector(`.field-error[data-for="${name}"]`);
      if (box) { box.textContent = text; box.hidden = false; } else $("#account-form-error").textContent = text;
    }

    function openEdit(account) {
      editing = account;
      const f = form();
      f.querySelector("h2").textContent = account ? t("edit") + " · " + account.display_name : t("new_account");
      for (const [name, key] of [["username", "username"], ["display_name", "account_name"], ["role", "role"],
        ["branches", "branches"]]) {
        f.querySelector(`[data-label="${name}"]`).textContent = t(key);
      }
      f.elements.username.value = account ? account.username : "";
      f.elements.username.readOnly = Boolean(account);
      f.querySelector("#account-username-hint").textContent = t("username_fixed");
      f.elements.display_name.value = account ? account.display_name : "";
      f.elements.role.replaceChildren(...answer.roles.map((r) => {
        const option = el("option", "", i18n.pick(r.label));
        option.value = r.role;
        return option;
      }));
      f.elements.role.value = account ? account.role : answer.roles[0].role;
      const boxes = f.querySelector("#account-branches");
      boxes.replaceChildren(...answer.branches.map((b) => {
        const label = el("label", "chip");
        const box = el("input");
        box.type = "checkbox";
        box.name = "branch";
        box.value = b.code;
        box.checked = account ? account.branches.includes(b.code) : answer.branches.length === 1;
        label.append(box, " " + i18n.pick(b.name));
        return label;
      }));
      f.querySelector("#account-branches-hint").textContent = t("branches_hint");
      f.querySelector("#account-save").textContent = t(account ? "save" : "create");
      f.querySelector("#account-cancel").textContent = t("cancel");
      fieldError(null, "");
      dialog().showModal();
      (account ? f.elements.display_name : f.elements.username).focus(); // a user name is fixed once made
    }

    async function save(event) {
      event.preventDefault();
      const f = form();
      const branches = [...f.querySelectorAll("input[name=branch]:checked")].map((box) => box.value);
      try {
        if (editing) {
          await api.patch(`/api/accounts/${encodeURIComponent(editing.username)}`, {
            version: editing.version, display_name: f.elements.display_name.value, role: f.elements.role.value,
            branches });
          dialog().close();
        } else {
          const made = await api.post("/api/accounts", { username: f.elements.username.value.trim(),
            display_name: f.elements.display_name.value, role: f.elements.role.value, branches });
          dialog().close();
          showTemporary(made.account, made.temporary_password);
        }
      } catch (error) {
        if (error.status === 0) throw error;
        if (error.code === "stale_version") {
          fieldError(null, t("stale"));
          await load();
          editing = answer.accounts.find((a) => a.username === editing.username) || null;
          return;
        }
        const field = error.details && error.details.field;
        const name = field === "username" ? "username" : field === "display_name" ? "display_name"
          : field === "role" ? "role" : field === "branches" ? "branches" : null;
        fieldError(name, errorText(error) + (error.code === "invalid_setup" && error.details.key ? ` (${error.details.key})` : ""));
        return;
      }
      await load();
    }

    function showTemporary(account, password) {
      const box = $("#account-temporary");
      box.querySelector("h2").textContent = t("temporary_title");
      box.querySelector(".hint").textContent = t("temporary_hint", { name: account.display_name });
      box.querySelector("output").textContent = password;
      const copy = box.querySelector("#account-copy");
      copy.textContent = t("copy");
      copy.onclick = async () => {
        try { await navigator.clipboard.writeText(password); copy.textContent = t("copied"); } catch (error) { /* shown */ }
      };
      box.querySelector("#account-temporary-close").textContent = t("close");
      box.showModal();
    }

    async function reset(account) {
      if (!global.confirm(t("confirm_reset", { name: account.display_name }))) return;
      try {
        const made = await api.post(`/api/accounts/${encodeURIComponent(account.username)}/password-reset`,
          { version: account.version });
        showTemporary(made.account, made.temporary_password);
      } catch (error) {
        $("#accounts-error").textContent = errorText(error.code === "stale_version" ? { code: "stale" } : error);
      }
      await load();
    }

    async function toggle(account) {
      if (!account.disabled && !global.confirm(t("confirm_disable", { name: account.display_name }))) return;
      try {
        await api.patch(`/api/accounts/${encodeURIComponent(account.username)}`,
          { version: account.version, disabled: !account.disabled });
        $("#accounts-error").textContent = "";
      } catch (error) {
        $("#accounts-error").textContent = errorText(error.code === "stale_version" ? { code: "stale" } : error);
      }
      await load();
    }

    $("#account-new").addEventListener("click", () => openEdit(null));
    $("#account-form").addEventListener("submit", save);
    $("#account-cancel").addEventListener("click", () => dialog().close());
    $("#account-temporary-close").addEventListener("click", () => $("#account-temporary").close());
    return { load, render };
  }

  global.AccountsCard = { create, TEXTS };
})(window);
