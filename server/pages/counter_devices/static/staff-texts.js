/* Texts of the staff sign-in page and the staff console, in zh-CN and en (HallI18n dictionaries). */
(function (global) {
  "use strict";

  global.STAFF_TEXTS = {
    "zh-CN": {
      language_switch: "English",
      reconnecting: "正在重新连接…",
      // sign-in page
      signin_title: "柜员签到",
      username: "用户名",
      password: "密码",
      sign_in: "登录",
      signing_in: "正在登录…",
      bad_credentials: "用户名或密码错误",
      too_many_attempts: "密码错误次数过多，此设备已暂时锁定，请 {minutes} 分钟后再试",
      hello: "您好，{name}",
      switch_user: "切换用户",
      pick_counter: "选择窗口",
      counter_free: "空闲",
      counter_you: "您已在此签到",
      counter_taken: "{staff} 已签到",
      counter_paused: "暂停中",
      pick_services: "今日办理的业务",
      pick_services_hint: "可在经理为本窗口设置的业务范围内选择",
      start_at: "在{counter}开始服务",
      continue_at: "继续在{counter}服务",
      takeover_question: "{staff} 正在{counter}签到。要接管此窗口吗？",
      takeover: "接管窗口",
      // console
      console_title: "柜员工作台",
      status_open: "服务中",
      status_paused: "暂停",
      status_closed: "未签到",
      services_today: "今日业务",
      change: "修改",
      pause: "暂停",
      resume_counter: "恢复服务",
      sign_out: "签退",
      sign_out_question: "要签退并离开本窗口吗？",
      call_next: "叫号",
      waiting_for_you: "{n} 人等候",
      nobody_waiting: "暂无客户等候",
      paused_title: "暂停中",
      paused_hint: "暂停期间不会叫号；恢复后继续。",
      away_title: "您不在本窗口签到",
      away_taken: "{staff} 已接管本窗口",
      away_closed: "本窗口已签退",
      sign_in_again: "重新签到",
      recall: "重呼",
      start: "开始办理",
      finish: "办理完成",
      no_show: "过号",
      return_to_queue: "退回队列",
      park: "挂起",
      resume_ticket: "恢复办理",
      transfer: "转移",
      call_this: "呼叫",
      recalled: "已重呼 {n} 次",
      waited: "等候 {t}",
      called_ago: "已呼叫 {t}",
      serving_for: "已办理 {t}",
      parked_for: "挂起 {t}",
      transferred_from: "由「{from}」转入",
      transferred: "转入",
      transfer_note: "转移备注",
      for_this_counter: "指定本窗口",
      for_counter: "指定{counter}",
      state_waiting: "等候中",
      state_called: "已呼叫",
      state_serving: "办理中",
      state_parked: "已挂起",
      state_done: "已完成",
      state_no_show: "已过号",
      state_cancelled: "已取消",
      priority_normal: "普通",
      priority_priority: "爱心",
      priority_vip: "VIP",
      priority_appointment: "预约",
      waiting_list: "等候队列（按叫号顺序）",
      waiting_empty: "没有客户在等候本窗口",
      more_waiting: "还有 {n} 人…",
      parked_list: "挂起的客户",
      my_day: "今日",
      served: "已办理",
      avg_service: "平均办理",
      satisfied: "满意率",
      no_ratings: "暂无评价",
      ratings_count: "{n} 条评价",
      minutes: "{m} 分钟",
      transfer_title: "转移 {number}",
      transfer_to_service: "转到业务",
      transfer_to_counter: "或指定窗口",
      transfer_keep_service: "（业务不变）",
      transfer_any_counter: "任意窗口",
      transfer_note_label: "备注（给下一位同事）",
      transfer_pick: "请选择业务或窗口",
      transfer_confirm: "确认转移",
      cancel: "取消",
      pause_title: "暂停服务",
      pause_other: "其他原因",
      pause_confirm: "暂停",
      pause_reason_needed: "请选择或填写暂停原因",
      services_title: "今日办理的业务",
      services_none: "至少选择一项业务",
      save: "保存",
      info_called: "已呼叫 {number}",
      info_nobody: "当前没有客户等候",
      info_finished: "{number} 办理完成",
      info_no_show: "{number} 已标记过号",
      info_returned: "{number} 已退回队列",
      info_parked: "{number} 已挂起",
      info_transferred: "{number} 已转移",
      info_services: "今日业务已更新",
      err_stale: "{number} 已被更改（现为：{state}），界面已刷新。",
      err_counter_busy: "请先处理当前客户 {current}。",
      err_counter_paused: "窗口暂停中，请先恢复服务。",
      err_not_eligible: "本窗口今日不办理该业务，请先转移。",
      err_illegal: "此操作现在不可用，界面已刷新。",
      err_not_your_counter: "本窗口已由他人签到。",
      err_counter_closed: "您已不在本窗口签到。",
      err_counter_occupied: "该窗口已有人签到。",
      err_unauthenticated: "登录已失效，请重新登录。",
      err_network: "网络异常，请重试。",
      err_generic: "操作未成功：{message}",
      shortcuts: "快捷键",
    },
    en: {
      language_switch: "中文",
      reconnecting: "Reconnecting…",
      signin_title: "Staff sign-in",
      username: "Username",
      password: "Password",
      sign_in: "Sign in",
      signing_in: "Signing in…",
      bad_credentials: "Wrong username or password",
      too_many_attempts: "Too many wrong passwords: this device is locked out. Try again in {minutes} min",
      hello: "Hello, {name}",
      switch_user: "Switch user",
      pick_counter: "Choose your counter",
      counter_free: "Free",
      counter_you: "You are signed in here",
      counter_taken: "{staff} is signed in",
      counter_paused: "Paused",
      pick_services: "Services today",
      pick_services_hint: "Within the services your manager set for this counter",
      start_at: "Start at {counter}",
      continue_at: "Continue at {counter}",
      takeover_question: "{staff} is signed in at {counter}. Take it over?",
      takeover: "Take over",
      console_title: "Staff console",
      status_open: "Open",
      status_paused: "Paused",
      status_closed: "Closed",
      services_today: "Today",
      change: "Change",
      pause: "Pause",
      resume_counter: "Resume",
      sign_out: "Sign out",
      sign_out_question: "Sign out and leave this counter?",
      call_next: "Call next",
      waiting_for_you: "{n} waiting",
      nobody_waiting: "Nobody is waiting",
      paused_title: "Paused",
      paused_hint: "No calls while paused; resume to carry on.",
      away_title: "You are not signed in at this counter",
      away_taken: "{staff} took over this counter",
      away_closed: "This counter was signed out",
      sign_in_again: "Sign in again",
      recall: "Recall",
      start: "Start serving",
      finish: "Finish",
      no_show: "No-show",
      return_to_queue: "Return to queue",
      park: "Park",
      resume_ticket: "Resume",
      transfer: "Transfer",
      call_this: "Call",
      recalled: "Recalled {n}×",
      waited: "Waited {t}",
      called_ago: "Called {t} ago",
      serving_for: "Serving for {t}",
      parked_for: "Parked {t}",
      transferred_from: "Transferred from “{from}”",
      transferred: "Transferred",
      transfer_note: "Transfer note",
      for_this_counter: "For this counter",
      for_counter: "For {counter}",
      state_waiting: "Waiting",
      state_called: "Called",
      state_serving: "Serving",
      state_parked: "Parked",
      state_done: "Done",
      state_no_show: "No-show",
      state_cancelled: "Cancelled",
      priority_normal: "Normal",
      priority_priority: "Priority",
      priority_vip: "VIP",
      priority_appointment: "Appointment",
      waiting_list: "Waiting (in call order)",
      waiting_empty: "No one is waiting for this counter",
      more_waiting: "and {n} more…",
      parked_list: "Parked",
      my_day: "My day",
      served: "Served",
      avg_service: "Avg. service",
      satisfied: "Satisfied",
      no_ratings: "No ratings yet",
      ratings_count: "{n} ratings",
      minutes: "{m} min",
      transfer_title: "Transfer {number}",
      transfer_to_service: "To a service",
      transfer_to_counter: "Or to a specific counter",
      transfer_keep_service: "(same service)",
      transfer_any_counter: "Any counter",
      transfer_note_label: "Note for the next colleague",
      transfer_pick: "Pick a service or a counter",
      transfer_confirm: "Transfer",
      cancel: "Cancel",
      pause_title: "Pause the counter",
      pause_other: "Other reason",
      pause_confirm: "Pause",
      pause_reason_needed: "Pick or type a reason",
      services_title: "Services you serve today",
      services_none: "Choose at least one service",
      save: "Save",
      info_called: "Called {number}",
      info_nobody: "Nobody is waiting right now",
      info_finished: "{number} finished",
      info_no_show: "{number} marked no-show",
      info_returned: "{number} returned to the queue",
      info_parked: "{number} parked",
      info_transferred: "{number} transferred",
      info_services: "Today's services updated",
      err_stale: "{number} changed meanwhile (now: {state}); the view was refreshed.",
      err_counter_busy: "Deal with {current} first.",
      err_counter_paused: "The counter is paused; resume it first.",
      err_not_eligible: "This counter does not serve that ticket today; transfer it first.",
      err_illegal: "That is not possible now; the view was refreshed.",
      err_not_your_counter: "Someone else is signed in at this counter.",
      err_counter_closed: "You are no longer signed in at this counter.",
      err_counter_occupied: "Someone is signed in at that counter.",
      err_unauthenticated: "Your session ended; please sign in again.",
      err_network: "Network problem; please try again.",
      err_generic: "That did not work: {message}",
      shortcuts: "Shortcuts",
    },
  };

  /** Shared helpers of the two staff pages. */
  global.StaffCommon = {
    LANGUAGE_KEY: "hall.staff.language",

    initialLanguage(fallback) {
      const fromUrl = new URLSearchParams(location.search).get("lang");
      if (fromUrl === "zh-CN" || fromUrl === "en") {
        this.rememberLanguage(fromUrl); // the console opened after sign-in keeps it
        return fromUrl;
      }
      try {
        const stored = localStorage.getItem(this.LANGUAGE_KEY);
        if (stored === "zh-CN" || stored === "en") return stored;
      } catch (error) { /* private mode: no storage */ }
      return fallback || "zh-CN";
    },

    rememberLanguage(language) {
      try { localStorage.setItem(this.LANGUAGE_KEY, language); } catch (error) { /* ignore */ }
    },

    /** JSON request to the API: resolves to {ok, status, data}; a network failure gives status 0. */
    async request(method, url, body, headers) {
      const init = { method, headers: { Accept: "application/json", ...(headers || {}) }, credentials: "same-origin" };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      try {
        const response = await fetch(url, init);
        let data = null;
        try { data = await response.json(); } catch (error) { data = null; }
        return { ok: response.ok, status: response.status, data: data || {} };
      } catch (error) {
        return { ok: false, status: 0, data: { error: "network", message: String(error) } };
      }
    },

    /** A random key for Idempotency-Key (crypto.randomUUID needs a secure context, a hall LAN may not be one). */
    randomKey() {
      if (global.crypto && typeof global.crypto.randomUUID === "function") return global.crypto.randomUUID();
      const bytes = new Uint8Array(16);
      if (global.crypto && global.crypto.getRandomValues) global.crypto.getRandomValues(bytes);
      else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
      return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    },

    el(tag, attributes, ...children) {
      const element = document.createElement(tag);
      for (const [key, value] of Object.entries(attributes || {})) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") element.className = value;
        else if (key === "text") element.textContent = value;
        else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role" || key === "type" ||
                 key === "for" || key === "name" || key === "value" || key === "id" || key === "title")
          element.setAttribute(key, value === true ? "" : value);
        else element[key] = value;
      }
      for (const child of children) {
        if (child === null || child === undefined || child === false) continue;
        element.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
      return element;
    },
  };
})(window);
