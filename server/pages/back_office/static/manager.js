/* The manager page: alerts at the top (alerts-card.js: devices gone silent, printer problems, waits over target,
   tickets no open counter serves, long pauses, overdue follow-up cases; pushed live), live hall (role "manager"), ticket issuing (issuing-card.js),
   estimate accuracy, follow-up cases (cases-card.js: the list, the case view, complaints), device faults, paired devices
   (devices-card.js), one customer's personal data (privacy-card.js).
   Renders what the server says; refetches the side lists when events say they changed (debounced). */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("manager-config").textContent);
  const V = PAGE.vocabulary; // the domain's states and event kinds, as the server tells them
  const API = window.HallApi;
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "值班经理", reconnecting: "正在重新连接…", sign_out: "退出", change_password: "修改密码", audit_log: "审计日志", displays_page: "显示内容", staffing_advice: "排班建议", bookings_page: "预约", reports_page: "报表", overview_page: "网点总览", sign_in: "经理登录", username: "用户名",
      password: "密码", sign_in_button: "登录", counters: "窗口", services: "业务排队", service: "业务", waiting: "等候",
      estimate: "新票预计等候", target: "目标", accuracy: "等候预估准确度（最近）",
      accuracy_hint: "取号时给出的预估与实际叫号等候之差（分钟）。区间命中应接近 80%。", count: "样本", bias: "偏差",
      coverage: "区间命中", under5: "低估>5分", follow_ups: "回访工单", faults: "设备故障", none: "暂无",
      all: "全部", open: "营业中", paused: "暂停", closed: "未开", serving: "办理中", called: "已叫号", idle: "空闲",
      resolve: "处理完毕", resolve_note: "处理说明（必填）", not_manager: "需要经理账号", bad_login: "用户名或密码错误",
      too_many_attempts: "密码错误次数过多，此设备已暂时锁定，请 {minutes} 分钟后再试",
      min: "{n} 分钟", fault: "故障", ok: "正常", no_printer: "无打印机", unknown: "未知", failed: "失败 {n} 次",
      by: "{staff} · {counter}号窗口", minutes_over: "超出目标",
      days: "日终汇总（最近 14 天）", days_hint: "每个营业日结束时统计。等候：取号到首次叫号。", day: "日期",
      issued: "取号", served: "办结", no_shows: "过号", cancelled: "取消", expired: "日终过期", wait_mean: "平均等候",
      wait_p90: "90% 等候", within_target: "达标率", satisfaction: "满意率", total: "合计",
      rated: "{share}（{n} 条评价）", no_days: "还没有结束的营业日",
      // the ticket issuing card and its stop dialog (issuing-card.js)
      issuing: "取号控制", stop_all: "全部停止取号", issuing_state: "取号状态", scheduled: "已安排的停止取号",
      stop_title: "停止取号", stop_title_for: "停止取号 · {scope}", stop_scope: "停止范围", reason: "原因",
      custom_hint: "取号机同时显示中英文原因，两种语言都要填写。", text_zh: "中文原因", text_en: "英文原因",
      starts: "开始", start_now: "立即", start_at: "从今天", start_time: "开始时间", start_at_after: "起",
      lasts: "持续到", until_day_end: "今天营业结束", until_resumed: "直到我恢复取号", cancel: "取消",
      stop_confirm: "立即停止取号", stop_confirm_later: "安排停止取号", custom_reason: "其他原因…",
      error_service: "没有这项业务", error_reason: "请选择原因", error_text: "请填写中文和英文原因",
      error_text_zh: "请填写中文原因（最多 {max} 字）", error_text_en: "请填写英文原因（最多 {max} 个字符）",
      error_starts_at: "请选择今天稍后的时间", error_start_time: "请选择开始时间",
      error_until: "结束早于开始：请选择更早的开始时间，或“直到我恢复取号”",
      until_time: "至 {time}", until_resume: "直到手动恢复", whole_branch: "全网点", whole_branch_all: "全网点（全部业务）",
      offline: "无法连接服务器，请重试", already_over: "这次停止取号已经结束", resume: "恢复取号", stopped: "已停止取号",
      closed_now: "未到营业时间", hours: "营业时间 {hours}", cap_reached: "今日号已发完", cap: "每日上限 {n} 张",
      issuing_now: "取号中", branch_stopped: "全网点已停止取号", stop: "停止取号", from_time: "{time} 起",
      cancel_stop: "取消", all_services: "全部业务", until_resumed_text: "直到您恢复取号",
      until_day_end_text: "直到今天营业结束", waiting_keep: "正在等候的 {n} 位客户保留排队位置",
      waiting_none: "目前无人等候", confirm_now: "{service}将不再发放新号，{until}；{waiting}。",
      confirm_from: "从今天 {time} 起，{service}将不再发放新号，{until}；{waiting}。",
      start_passed: "（{time} 已过，立即开始。）",
      // the devices card (devices-card.js)
      devices: "设备", pair_code: "配对码", pair_role: "设备用途", pair_name: "名称（可选）", pair_button: "批准配对",
      pair_hint: "未配对的设备（评价器，以及本网点要求配对的取号机和显示屏）会显示 6 位配对码：在此输入，确认用途后批准。",
      pair_asked: "该设备请求作为：{role}（{time} 起，{agent}）", pair_unknown: "没有设备显示这个配对码（配对码 {minutes} 分钟内有效）",
      pair_code_needed: "请输入设备上显示的 6 位配对码", pair_done: "已配对：{role}", device: "设备",
      device_status: "状态", last_seen: "最近心跳", no_devices: "还没有已配对的设备", device_online: "在线",
      device_offline: "离线", offline_since: "自 {time} 起（{for}）", device_revoked: "已撤销",
      revoked_by: "{time} · {who}", rename: "改名", rename_prompt: "设备名称（留空则显示用途）", revoke: "撤销",
      revoke_confirm: "撤销“{name}”的配对？该设备将立即失去权限，并重新显示配对码。", offline_n: "{n} 台离线",
      hours_n: "{n} 小时", administration: "系统管理",
      // the alerts: equipment and hall (alerts-card.js)
      notice_title: "发布等候公告", notice_hint: "公告在大厅显示屏上滚动显示，中英文都要填写。", notice_zh: "中文公告",
      notice_en: "英文公告", notice_post: "发布公告", notice_posted: "已发布公告", notice_error_text: "请填写中文和英文公告",
      public_address_title: "号票二维码：顾客手机打不开",
      alerts: "告警", alerts_open: "{n} 条待处理", alert_named: "{name}（{role}）",
      alert_offline: "{device} 已离线 {for}", alert_printer: "{device}：{problem}", alert_last_heard: "最近心跳 {time}",
      alert_since: "{time} 起", alert_acknowledge: "知道了", alert_acknowledged: "已确认",
      hours_minutes: "{h} 小时 {m} 分钟",
      // follow-ups: the customer's call-back number
      call_back: "回电", show_number: "查看号码", no_call_back: "未留号码",
      // follow-up cases (cases-card.js)
      complaint_new: "登记投诉", case_filters: "筛选", show_open: "未解决", show_overdue: "已超时", show_mine: "我负责的",
      show_resolved: "已解决", cases_overdue: "{n} 件超时", case_overdue: "已超时", case_view: "查看",
      case_nobody: "未指派", case_rating: "评分 {score}", case_open_meta: "负责人：{owner} · 期限 {due}",
      case_resolved_meta: "{owner} · {outcome} · 用时 {took}", case_title: "回访 #{id}", close: "关闭",
      case_source: "来源", source_rating: "不满意评价", source_complaint: "投诉登记", case_about: "内容",
      case_ticket: "号票", case_served: "办理", case_recorded_by: "登记人", case_opened: "开始时间",
      case_due: "处理期限", case_owner: "负责人", case_outcome: "处理结果", case_took: "用时",
      case_thread: "处理记录", case_note: "添加记录", case_add_note: "添加", case_assign: "指派",
      case_start: "开始处理", case_resolution: "处理说明", case_resolve: "解决并关闭",
      case_reopen_reason: "重新打开的原因", case_reopen: "重新打开", case_text_needed: "请填写内容",
      entry_note: "记录", entry_assigned: "指派给", entry_started: "开始处理", entry_resolved: "已解决",
      entry_reopened: "重新打开", entry_recorded: "登记投诉",
      complaint_category: "类别", complaint_words: "客户原话", complaint_call_back: "回电号码（可选，须客户同意）",
      complaint_phone: "手机号码", complaint_name: "称呼（可选）",
      complaint_consent: "客户同意我们为此回电，处理完毕后号码会按规定删除", complaint_save: "登记",
      alert_open_case: "打开工单",
      // the personal data card (privacy-card.js)
      privacy: "个人数据", privacy_hint: "按客户手机号码查找本网点保存的个人数据：可导出给客户，或按客户要求删除。",
      privacy_phone: "客户手机号码", privacy_find: "查找", privacy_number: "号码", privacy_name: "称呼",
      privacy_purpose: "用途", privacy_ticket: "号票", privacy_follow_up: "回访", privacy_given: "留下时间",
      privacy_until: "到期删除", privacy_export: "导出（JSON）", privacy_delete: "删除此客户的数据",
      privacy_delete_title: "删除个人数据", privacy_delete_keeps: "评分、排队和等候统计不含个人数据，会保留。",
      privacy_delete_confirm: "确认删除",
      privacy_found: "号码 {phone}：{contacts} 条联系方式，关联 {follow_ups} 条回访、{ratings} 条评价。",
      privacy_none: "本网点没有保存号码 {phone} 的个人数据。",
      privacy_delete_text: "删除号码 {phone} 的 {contacts} 条联系方式，并清空关联评价的留言和回访、转移备注？此操作不可撤销，并记入审计日志。",
      privacy_deleted: "已删除号码 {phone} 的个人数据：{contacts} 条联系方式，清空 {texts} 条留言和备注。",
      privacy_exported: "已导出号码 {phone} 的个人数据（{file}），并记入审计日志。",
      purpose_follow_up: "不满意回访", purpose_appointment: "预约", purpose_notification: "叫号通知",
      follow_up_open: "处理中", follow_up_resolved: "已处理",
      // the API tokens card (tokens-card.js)
      tokens: "接口令牌", token_new: "新建令牌", tokens_hint: "供预约系统、报表等对接程序调用接口（在请求头中携带令牌）。令牌只在创建时显示一次；服务器只保存其摘要。",
      token_made: "令牌已创建", made_by: "{who} 创建于 {time}", token_once: "请立即复制并妥善保存：它只显示这一次，之后无法再查看。",
      token_value: "新令牌", copy: "复制", copied: "已复制到剪贴板", copy_by_hand: "请手动选中并复制",
      token_done: "已保存，隐藏", token_name: "名称 · 前缀", token_scope: "权限 · 网点", last_used: "最近使用",
      token_state: "有效期", no_tokens: "还没有接口令牌", scope_read: "只读", scope_act: "读取和操作",
      every_branch: "全部网点", never_used: "从未使用", expires: "{time} 到期", no_expiry: "永不过期",
      token_expired: "已过期", token_revoked: "已撤销",
      token_revoke_confirm: "撤销令牌“{name}”？使用它的系统将立即无法访问。",
      token_name_field: "名称（对接的系统）", token_scope_field: "权限",
      scope_hint: "只读：查看大厅、事件、日报、回访等。读取和操作：另可取号（含预约号）、取消号票、停止/恢复取号、发布公告；从不操作窗口。",
      token_branches: "网点", token_expiry: "有效期", token_create: "创建令牌", days_n: "{n} 天",
      // the webhooks card (webhooks-card.js)
      webhooks: "推送接口", webhook_new: "新建推送",
      webhooks_hint: "把取号、叫号、办结、评价和设备告警推送给对接系统。每次推送都带签名；失败会按逐渐加长的间隔重试。",
      webhook_made: "推送已创建", webhook_secret_once: "签名密钥只显示这一次：请立即复制给对接系统，用于验证签名。",
      webhook_secret: "签名密钥", webhook_name: "名称 · 地址", webhook_events: "事件", webhook_state: "状态",
      no_webhooks: "还没有推送接口", webhook_enabled: "启用中", webhook_disabled: "已停用",
      webhook_enable: "启用", webhook_disable: "停用", webhook_delete: "删除", webhook_test: "发送测试",
      webhook_log: "推送记录", webhook_test_sent: "测试事件已排队，几秒内发送。",
      webhook_delete_confirm: "删除推送“{name}”？尚未发送的推送将不再发送。",
      webhook_name_field: "名称（对接的系统）", webhook_url_field: "接收地址（网址）",
      webhook_create: "创建推送", webhook_log_title: "“{name}”的推送记录",
      delivery_event: "事件", delivery_state: "结果", delivery_attempts: "尝试", delivery_last: "最近回应",
      delivery_pending: "等待重试", delivery_sent: "已送达", delivery_given_up: "已放弃", delivery_cancelled: "已取消",
      no_deliveries: "还没有推送记录", next_try: "下次重试 {time}",
      "event_ticket.issued": "取号", "event_ticket.called": "叫号", "event_ticket.finished": "办结",
      "event_ticket.rated": "评价", "event_hall.alert": "设备告警", "event_webhook.test": "测试",
      "event_booking.made": "新预约", "event_booking.changed": "预约改期", "event_booking.cancelled": "预约取消",
      "event_booking.checked_in": "预约签到", list_sep: "、",
    },
    en: {
      title: "Manager", reconnecting: "Reconnecting…", sign_out: "Sign out", change_password: "Change password", audit_log: "Audit log", displays_page: "Displays", staffing_advice: "Staffing advice", bookings_page: "Bookings", reports_page: "Reports", overview_page: "Branch overview", sign_in: "Manager sign-in",
      username: "Username", password: "Password", sign_in_button: "Sign in", counters: "Counters",
      services: "Queues by service", service: "Service", waiting: "Waiting", estimate: "New ticket's wait",
      target: "Target", accuracy: "Wait estimate accuracy (recent)",
      accuracy_hint: "Estimate given at issue vs. the actual wait until the call (minutes). Coverage should be near 80%.",
      count: "Tickets", bias: "Bias", coverage: "Coverage", under5: "Under >5 min", follow_ups: "Follow-up cases",
      faults: "Device faults", none: "None", all: "All", open: "Open", paused: "Paused", closed: "Closed",
      serving: "Serving", called: "Called", idle: "Idle", resolve: "Resolve", resolve_note: "Resolution note (required)",
      not_manager: "A manager account is needed", bad_login: "Wrong username or password", min: "{n} min",
      too_many_attempts: "Too many wrong passwords: this device is locked out. Try again in {minutes} min",
      fault: "Fault", ok: "OK", no_printer: "No printer", unknown: "Unknown", failed: "{n} failed",
      by: "{staff} · counter {counter}", minutes_over: "over target",
      days: "Day summaries (last 14 days)", days_hint: "Counted when each service day ends. Wait: from the ticket to its first call.",
      day: "Day", issued: "Issued", served: "Served", no_shows: "No-shows", cancelled: "Cancelled",
      expired: "Expired at day end", wait_mean: "Mean wait", wait_p90: "90% wait", within_target: "Within target",
      satisfaction: "Satisfied", total: "Total", rated: "{share} ({n} ratings)", no_days: "No service day has ended yet",
      // the ticket issuing card and its stop dialog (issuing-card.js)
      issuing: "Ticket issuing", stop_all: "Stop all issuing", issuing_state: "Status", scheduled: "Scheduled stops",
      stop_title: "Stop issuing", stop_title_for: "Stop issuing · {scope}", stop_scope: "Stop for", reason: "Reason",
      custom_hint: "Kiosks show the reason in both languages: fill in both.", text_zh: "Reason in Chinese",
      text_en: "Reason in English", starts: "Starts", start_now: "Now", start_at: "From", start_time: "Start time",
      start_at_after: "today", lasts: "Lasts", until_day_end: "Until the end of today", until_resumed: "Until I resume",
      cancel: "Cancel", stop_confirm: "Stop issuing now", stop_confirm_later: "Schedule the stop",
      custom_reason: "Other reason…", error_service: "No such service", error_reason: "Choose a reason",
      error_text: "Enter the reason in Chinese and in English",
      error_text_zh: "Enter the reason in Chinese (at most {max} characters)",
      error_text_en: "Enter the reason in English (at most {max} characters)",
      error_starts_at: "Choose a later time today", error_start_time: "Choose a start time",
      error_until: "It would end before it starts: choose an earlier start, or “Until I resume”",
      until_time: "until {time}", until_resume: "until resumed", whole_branch: "Whole branch",
      whole_branch_all: "Whole branch (every service)", offline: "The server cannot be reached: try again",
      already_over: "That stop is already over", resume: "Resume issuing", stopped: "Stopped",
      closed_now: "Outside hours", hours: "Hours {hours}", cap_reached: "Daily limit reached", cap: "{n} tickets a day",
      issuing_now: "Issuing", branch_stopped: "Ticket issue is stopped for the whole branch", stop: "Stop issuing",
      from_time: "From {time}", cancel_stop: "Cancel", all_services: "every service",
      until_resumed_text: "until you resume issuing", until_day_end_text: "until the end of today",
      waiting_keep: { one: "the {n} customer waiting keeps their place", other: "the {n} customers waiting keep their place" },
      waiting_none: "no one is waiting now", confirm_now: "New tickets for {service} will be refused {until}; {waiting}.",
      confirm_from: "From {time} today, new tickets for {service} will be refused {until}; {waiting}.",
      start_passed: "({time} has passed: the stop starts now.)",
      // the devices card (devices-card.js)
      devices: "Devices", pair_code: "Pairing code", pair_role: "Use as", pair_name: "Name (optional)",
      pair_button: "Approve pairing",
      pair_hint: "A device that is not paired (rating pads, and kiosks or displays where this branch requires it) shows a 6-digit code: enter it here, check what it is for, approve.",
      pair_asked: "This device asks to be: {role} (since {time}, {agent})",
      pair_unknown: "No device shows this code (codes last {minutes} minutes)",
      pair_code_needed: "Enter the 6-digit code the device shows", pair_done: "Paired: {role}", device: "Device",
      device_status: "Status", last_seen: "Last heartbeat", no_devices: "No device is paired yet",
      device_online: "Online", device_offline: "Offline", offline_since: "since {time} ({for})",
      device_revoked: "Revoked", revoked_by: "{time} · {who}", rename: "Rename",
      rename_prompt: "The device's name (blank: show what it is for)", revoke: "Revoke",
      revoke_confirm: "Revoke the pairing of “{name}”? The device loses its access at once and shows a pairing code again.",
      offline_n: { one: "{n} offline", other: "{n} offline" }, hours_n: { one: "{n} hour", other: "{n} hours" },
      // the alerts: equipment and hall (alerts-card.js)
      notice_title: "Post a notice about the wait", notice_hint: "The notice scrolls on the hall's wall displays: fill in both languages.",
      notice_zh: "Notice in Chinese", notice_en: "Notice in English", notice_post: "Post a notice", notice_posted: "Notice posted",
      notice_error_text: "Enter the notice in Chinese and in English",
      public_address_title: "Ticket QR codes: customers' phones cannot open them",
      alerts: "Alerts", alerts_open: "{n} new", alert_named: "{name} ({role})",
      alert_offline: "{device} offline for {for}", alert_printer: "{device}: {problem}",
      alert_last_heard: "last heard {time}", alert_since: "since {time}", alert_acknowledge: "Acknowledge",
      alert_acknowledged: "Acknowledged", hours_minutes: "{h} h {m} min",
      // follow-ups: the customer's call-back number
      call_back: "Call back", show_number: "Show number", no_call_back: "No number left",
      // follow-up cases (cases-card.js)
      complaint_new: "Record a complaint", case_filters: "Show", show_open: "Open", show_overdue: "Overdue",
      show_mine: "Mine", show_resolved: "Resolved", cases_overdue: "{n} overdue", case_overdue: "Overdue",
      case_view: "Open", case_nobody: "nobody yet", case_rating: "Score {score}",
      case_open_meta: "Owner: {owner} · due {due}", case_resolved_meta: "{owner} · {outcome} · took {took}",
      case_title: "Follow-up #{id}", close: "Close", case_source: "Source", source_rating: "Dissatisfied rating",
      source_complaint: "Recorded complaint", case_about: "About", case_ticket: "Ticket", case_served: "Served by",
      case_recorded_by: "Recorded by", case_opened: "Opened", case_due: "Due", case_owner: "Owner",
      case_outcome: "Outcome", case_took: "Took", case_thread: "Thread", case_note: "Add a note",
      case_add_note: "Add", case_assign: "Assign", case_start: "Start work", case_resolution: "How it was resolved",
      case_resolve: "Resolve and close", case_reopen_reason: "Why it opens again", case_reopen: "Reopen",
      case_text_needed: "Please write something first", entry_note: "note", entry_assigned: "assigned to",
      entry_started: "started", entry_resolved: "resolved", entry_reopened: "reopened",
      entry_recorded: "complaint recorded", complaint_category: "Category", complaint_words: "The customer's words",
      complaint_call_back: "Call-back number (optional, with the customer's consent)", complaint_phone: "Mobile number",
      complaint_name: "Name (optional)",
      complaint_consent: "The customer agrees to be called back about this; the number is deleted as the rules say once it is resolved",
      complaint_save: "Record", alert_open_case: "Open the case",
      // the personal data card (privacy-card.js)
      privacy: "Personal data",
      privacy_hint: "Find what this branch holds about a customer by their mobile number: export it for them, or delete it at their request.",
      privacy_phone: "Customer's mobile number", privacy_find: "Find", privacy_number: "Number", privacy_name: "Name",
      privacy_purpose: "Purpose", privacy_ticket: "Ticket", privacy_follow_up: "Follow-up", privacy_given: "Given",
      privacy_until: "Deleted by", privacy_export: "Export (JSON)", privacy_delete: "Delete this customer's data",
      privacy_delete_title: "Delete personal data",
      privacy_delete_keeps: "Scores and the queue and waiting statistics hold no personal data and stay.",
      privacy_delete_confirm: "Delete",
      privacy_found: "{phone}: {contacts} contact(s), linked to {follow_ups} follow-up(s) and {ratings} rating(s).",
      privacy_none: "This branch holds no personal data for {phone}.",
      privacy_delete_text: "Delete the {contacts} contact(s) of {phone} and blank the linked rating comments and follow-up and transfer notes? This cannot be undone and is recorded in the audit log.",
      privacy_deleted: "Deleted the personal data of {phone}: {contacts} contact(s) removed, {texts} comment(s) and note(s) blanked.",
      privacy_exported: "Exported the personal data of {phone} ({file}); recorded in the audit log.",
      purpose_follow_up: "Follow-up call", purpose_appointment: "Appointment", purpose_notification: "Call notice",
      follow_up_open: "Open", follow_up_resolved: "Resolved",
      // the API tokens card (tokens-card.js)
      tokens: "API tokens", token_new: "New token",
      tokens_hint: "For integrations such as a booking system or reporting (Authorization: Bearer <token>). A token is shown once, when it is made; the server keeps only its digest.",
      token_made: "Token made", made_by: "made by {who} on {time}", token_once: "Copy it now and keep it safe: it is shown this once and never again.",
      token_value: "New token", copy: "Copy", copied: "Copied to the clipboard", copy_by_hand: "Select it and copy it by hand",
      token_done: "Saved, hide it", token_name: "Name · prefix", token_scope: "Scope · branches", last_used: "Last used",
      token_state: "Expiry", no_tokens: "No API token yet", scope_read: "Read", scope_act: "Read and act",
      every_branch: "Every branch", never_used: "Never used", expires: "expires {time}", no_expiry: "Never expires",
      token_expired: "Expired", token_revoked: "Revoked",
      token_revoke_confirm: "Revoke the token “{name}”? The system using it loses its access at once.",
      token_name_field: "Name (the system it is for)", token_scope_field: "Scope",
      scope_hint: "Read: the hall, events, day summaries, follow-ups and more. Read and act: also issue tickets (appointments too), cancel tickets, stop and resume issue, notices; never a counter.",
      token_branches: "Branches", token_expiry: "Expiry", token_create: "Make token",
      days_n: { one: "{n} day", other: "{n} days" },
      // the webhooks card (webhooks-card.js)
      webhooks: "Webhooks", webhook_new: "New webhook",
      webhooks_hint: "Tell an integration when tickets are issued, called, finished or rated, and of device alerts. Every request is signed (X-Hall-Signature); a failed one is retried with growing waits.",
      webhook_made: "Webhook made", webhook_secret_once: "The signing secret is shown this once: give it to the integration now, to check the signature.",
      webhook_secret: "Signing secret", webhook_name: "Name · URL", webhook_events: "Events", webhook_state: "State",
      no_webhooks: "No webhook yet", webhook_enabled: "Enabled", webhook_disabled: "Disabled",
      webhook_enable: "Enable", webhook_disable: "Disable", webhook_delete: "Delete", webhook_test: "Send test",
      webhook_log: "Delivery log", webhook_test_sent: "Test event queued; it goes out within seconds.",
      webhook_delete_confirm: "Delete the webhook “{name}”? What it has not yet sent will not be sent.",
      webhook_name_field: "Name (the system it is for)", webhook_url_field: "URL (http:// or https://)",
      webhook_create: "Make webhook", webhook_log_title: "Deliveries of “{name}”",
      delivery_event: "Event", delivery_state: "Result", delivery_attempts: "Attempts", delivery_last: "Last answer",
      delivery_pending: "Will retry", delivery_sent: "Delivered", delivery_given_up: "Given up",
      delivery_cancelled: "Cancelled", no_deliveries: "No delivery yet", next_try: "next try {time}",
      "event_ticket.issued": "Issued", "event_ticket.called": "Called", "event_ticket.finished": "Finished",
      "event_ticket.rated": "Rated", "event_hall.alert": "Device alert", "event_webhook.test": "Test",
      "event_booking.made": "Booking made", "event_booking.changed": "Booking changed",
      "event_booking.cancelled": "Booking cancelled", "event_booking.checked_in": "Booking checked in", list_sep: ", ",
      administration: "Administration",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  let snapshot = null;
  let refetchTimer = null;
  const issuing = IssuingCard.create({ page: PAGE, i18n, api, resync: () => HallLive.client && HallLive.client.resync() });
  const devicesCard = DevicesCard.create({ page: PAGE, i18n, api });
  const alerts = AlertsCard.create({ page: PAGE, i18n, api, stopIssuing: (service) => issuing.stop(service),
    openCase: (id) => cases.open(id) });
  const accountsCard = AccountsCard.create({ i18n, api: API });
  const privacyCard = PrivacyCard.create({ page: PAGE, i18n, api });
  const cases = CasesCard.create({ page: PAGE, i18n, api });
  const tokensCard = TokensCard.create({ page: PAGE, i18n, api });
  const webhooksCard = WebhooksCard.create({ page: PAGE, i18n, api });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /** The branch's API: the answer's JSON, or a HallApi.Error whose message the lists show. */
  function api(path, options) {
    return API.request((options && options.method) || "GET", PAGE.api + path, options);
  }

  function renderCounters() {
    const box = $("#counters");
    box.replaceChildren();
    for (const counter of snapshot.counters) {
      const card = el("div", "counter " + counter.status);
      card.append(el("div", "name", i18n.pick(counter.name)));
      const state = counter.status === "paused" && counter.pause_reason
        ? i18n.t("paused") + " · " + counter.pause_reason : i18n.t(counter.status);
      card.append(el("div", "state", state + (counter.staff ? " · " + (counter.staff_name || counter.staff) : "")));
      card.append(el("div", "ticket", counter.current ? counter.current.number : "—"));
      if (counter.current) card.append(el("div", "state", i18n.t(counter.current.state === "serving" ? "serving" : "called")));
      box.append(card);
    }
  }

  function renderServices() {
    const body = $("#services tbody");
    body.replaceChildren();
    for (const service of snapshot.services) {
      const row = el("tr");
      row.append(el("td", "", i18n.pick(service.name)));
      row.append(el("td", "num", String(service.waiting)));
      const estimate = el("td", "", service.estimate ? i18n.pick(service.estimate.text) : "");
      if (service.estimate && service.estimate.known && service.estimate.expected_min > service.target_wait_min) {
        estimate.classList.add("over");
        estimate.title = i18n.t("minutes_over");
      }
      row.append(estimate);
      row.append(el("td", "num", i18n.t("min", { n: service.target_wait_min })));
      body.append(row);
    }
  }

  function serviceName(code) {
    if (code === "ALL") return i18n.t("all");
    const service = PAGE.services.find((s) => s.code === code);
    return service ? i18n.pick(service.name) : code;
  }

  async function loadAccuracy() {
    const data = await api("/estimates/accuracy");
    const body = $("#accuracy tbody");
    body.replaceChildren();
    if (!data.services.length) {
      const row = el("tr");
      const cell = el("td", "empty", i18n.t("none"));
      cell.colSpan = 6;
      row.append(cell);
      body.append(row);
    }
    for (const figures of data.services) {
      const row = el("tr");
      row.append(el("td", "", serviceName(figures.service)));
      row.append(el("td", "num", String(figures.count)));
      row.append(el("td", "num", figures.mae_min.toFixed(1)));
      const bias = Math.abs(figures.bias_min) < 0.05 ? 0 : figures.bias_min;
      row.append(el("td", "num", (bias > 0 ? "+" : "") + bias.toFixed(1)));
      row.append(el("td", "num", Math.round(figures.coverage * 100) + "%"));
      row.append(el("td", "num", (figures.under_5_share * 100).toFixed(1) + "%"));
      body.append(row);
    }
  }

  function minutes(seconds) {
    return seconds === null || seconds === undefined ? "—" : i18n.t("min", { n: (seconds / 60).toFixed(1) });
  }

  function share(part, whole) {
    return whole ? Math.round((100 * part) / whole) + "%" : "—";
  }

  async function loadDays() {
    const data = await api("/days");
    const body = $("#days tbody");
    body.replaceChildren();
    if (!data.days.length) {
      const row = el("tr");
      const cell = el("td", "empty", i18n.t("no_days"));
      cell.colSpan = 11;
      row.append(cell);
      body.append(row);
    }
    for (const day of data.days) {
      day.services.forEach((figures, index) => {
        const row = el("tr", index === 0 ? "day-start" : "");
        row.append(el("td", "", index === 0 ? day.day : ""));
        row.append(el("td", "", serviceName(figures.service_code)));
        for (const name of ["issued", "served", "no_shows", "cancelled", "expired"]) {
          row.append(el("td", "num" + (name === "expired" && figures.expired ? " over" : ""), String(figures[name])));
        }
        row.append(el("td", "num", minutes(figures.wait_mean_s)));
        row.append(el("td", "num", minutes(figures.wait_p90_s)));
        row.append(el("td", "num", share(figures.within_target, figures.called)));
        row.append(el("td", "num", figures.rated
          ? i18n.t("rated", { share: share(figures.satisfied, figures.rated), n: figures.rated }) : "—"));
        body.append(row);
      });
    }
  }

  async function loadFaults() {
    const list = $("#faults");
    let data;
    try {
      data = await api("/device-faults");
    } catch (error) {
      list.replaceChildren(el("li", "empty", error.message));
      return;
    }
    list.replaceChildren();
    if (!data.kiosks.length) list.append(el("li", "empty", i18n.t("none")));
    for (const kiosk of data.kiosks) {
      const li = el("li");
      li.append(el("strong", "", kiosk.name ? i18n.pick(kiosk.name) : kiosk.kiosk));
      li.append(el("span", kiosk.status === "fault" ? "over" : "", i18n.t(kiosk.status)));
      li.append(el("span", "grow", kiosk.failed ? i18n.t("failed", { n: kiosk.failed }) : ""));
      list.append(li);
    }
  }

  function refetchSoon() {
    if (refetchTimer) return;
    refetchTimer = setTimeout(() => {
      refetchTimer = null;
      loadAccuracy().catch(() => {});
      loadDays().catch(() => {});
      cases.load();
      loadFaults();
    }, 1500);
  }

  function startLive() {
    HallLive.connect({
      branch: PAGE.branch.code,
      role: "manager",
      onSnapshot(next) {
        snapshot = next;
        renderCounters();
        renderServices();
        issuing.show(next); // stops and resumes come as events marked resync: every one ends up here
        alerts.setHall(next.hall_alerts); // the hall's alerts as they stand
        alerts.load(); // what started or ended while the connection was away
        refetchSoon(); // also after a service day ended (its event brings a fresh snapshot): the day's figures
      },
      onEvent(event) {
        if ("holds_counter" in event) {
          // a ticket moved at a counter: the server says what that counter holds now
          const counter = snapshot && snapshot.counters.find((c) => c.number === event.counter);
          if (counter) {
            counter.current = event.holds_counter ? event.ticket : null;
            renderCounters();
          }
        }
        // a counter opened, paused or closed: take a fresh view of the hall (staff names, pause reasons)
        if (V.counter_kinds.includes(event.kind)) HallLive.client.resync();
        if (["called", "rated", "print_failed", "printed"].includes(event.kind)) {
          refetchSoon();
        }
        if (event.kind.startsWith("follow_up_")) {
          refetchSoon();
        }
        // an equipment alert starts, changes or ends (a device gone silent or heard again, a printer's outcome)
        if (event.private && event.private.alert) {
          alerts.apply(event.private.alert);
          if (event.private.device) devicesCard.load(); // the device's row says the same as its alert
        }
      },
      onSummary(summary) {
        if (summary.private) alerts.setHall(summary.private.alerts); // the hall alerts start and end with the summary
        if (!snapshot) return;
        for (const service of snapshot.services) {
          const live = summary.services[service.code];
          if (live) Object.assign(service, { waiting: live.waiting, estimate: live.estimate });
        }
        renderServices();
        issuing.render(); // the waiting counts, and what the stop dialog says will happen to them
      },
      onRefused(answer) {
        showLogin(answer.error === "forbidden" ? i18n.t("not_manager") : "");
      },
    });
  }

  function showLogin(message) {
    // not connected on purpose: the "reconnecting" mark would mislead whoever is about to sign in
    document.documentElement.dataset.live = "signed-out";
    $("#board").hidden = true;
    $("#login").hidden = false;
    $("#sign-out").hidden = true;
    $("#change-password").hidden = true;
    $("#audit-link").hidden = true;
    $("#displays-link").hidden = true;
    $("#staffing-link").hidden = true;
    $("#reports-link").hidden = true;
    $("#overview-link").hidden = true;
    $("#bookings-link").hidden = true;
    $("#login-error").textContent = message || "";
  }

  function linkAudit() {
    const base = `/manager/${encodeURIComponent(PAGE.branch.code)}`;
    $("#audit-link").href = `${base}/audit?lang=${i18n.language}`;
    $("#displays-link").href = `${base}/displays?lang=${i18n.language}`;
    $("#staffing-link").href = `${base}/staffing?lang=${i18n.language}`;
    $("#reports-link").href = `${base}/reports?lang=${i18n.language}`;
    $("#overview-link").href = `/overview?lang=${i18n.language}`;
    $("#bookings-link").href = `${base}/bookings?lang=${i18n.language}`;
  }

  /** The server's word on the tickets' QR codes (a loopback public_url, say), with the fix, in the page's language. */
  function renderPublicAddress() {
    const problem = PAGE.public_address;
    $("#public-address").hidden = !problem;
    if (problem) $("#public-address-text").textContent = i18n.pick(problem.text);
  }

  async function start() {
    i18n.apply(document);
    linkAudit();
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    const who = await API.get("/api/session");
    if (!who.manages && who.landing) { // an account that works in no branch (a regional reader) has its own page
      window.location.replace(`${who.landing}?lang=${i18n.language}`);
      return;
    }
    if (!who.manages) {
      showLogin(who.username ? i18n.t("not_manager") : "");
      return;
    }
    $("#login").hidden = true;
    $("#to-admin").hidden = who.role !== "admin"; // the hall set-up of this branch, for its administrators
    $("#to-admin").href = `/admin/${encodeURIComponent(PAGE.branch.code)}?lang=${i18n.language}`;
    $("#overview-link").hidden = !who.overview; // admins and managers of several branches
    $("#board").hidden = false;
    renderPublicAddress();
    $("#sign-out").hidden = false;
    $("#change-password").hidden = false;
    $("#audit-link").hidden = false;
    $("#displays-link").hidden = false;
    $("#staffing-link").hidden = false;
    $("#reports-link").hidden = false;
    $("#bookings-link").hidden = false;
    startLive();
    devicesCard.load();
    accountsCard.load();
    tokensCard.load();
    webhooksCard.load();
  }

  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    linkAudit();
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    renderPublicAddress();
    if (snapshot) { renderCounters(); renderServices(); issuing.render(); }
    devicesCard.render();
    alerts.render();
    accountsCard.render();
    privacyCard.render();
    cases.render();
    tokensCard.render();
    webhooksCard.render();
    refetchSoon();
  });
  $("#change-password").addEventListener("click", async () => {
    const note = $("#password-done");
    if (!await window.HallPassword.change({ language: i18n.language })) return;
    note.textContent = window.HallPassword.TEXTS[i18n.language].done; // signed in with it; other devices out
    note.hidden = false;
    setTimeout(() => { note.hidden = true; }, 6000);
  });
  $("#sign-out").addEventListener("click", async () => {
    await API.delete("/api/session").catch((error) => {
      if (error.status === 0) throw error; // unreachable: still signed in
    });
    window.location.reload();
  });
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await API.post("/api/session", { username: form.get("username"), password: form.get("password") });
    } catch (error) {
      if (!(error instanceof API.Error)) throw error;
      if (error.code === "password_change_required") { // right password, but it must be replaced first
        const session = await window.HallPassword.change({ language: i18n.language, username: form.get("username"),
          current: form.get("password"), reason: error.details.reason });
        if (session) window.location.reload();
        return;
      }
      $("#login-error").textContent = error.code === "too_many_attempts"
        ? i18n.t("too_many_attempts", { minutes: Math.ceil((error.details.retry_after_s || 60) / 60) })
        : i18n.t("bad_login");
      return;
    }
    window.location.reload();
  });
  start();
})();
