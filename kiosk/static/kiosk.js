/*
 * The customer kiosk (issue 4). Renders the hall's live snapshot (role "kiosk") as service tiles and takes
 * tickets through the JSON API; every rule (open hours, daily caps, people ahead, estimates) comes from
 * the server, the page only shows it.
 *
 * Screens: home -> category (sub-services) | priority (爱心通道, every service) | checkin
 *          -> overflow (a long wait: nearby branches, self-service; "take a ticket here anyway")
 *          -> pending ("one moment", retries) -> confirm (number, QR, print status) | refused
 *
 * Never issuing twice: every tap gets one Idempotency-Key, kept across all retries of that tap, so a retry
 * after a lost answer gets the same ticket back ("replayed"). A tap the customer gives up on while the
 * server is unreachable is "abandoned": it keeps being retried in the background (also after a reload,
 * from localStorage) and, if it turns out the server did issue it, that ticket is cancelled.
 *
 * A manager's preview (config.preview, framed by the back office's displays page) shows the same screens but is
 * inert: a tap takes no ticket (the preview mark says so), nothing is printed or retried, and the server sent no
 * heartbeat script, so the preview never counts as a device.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("kiosk-config").textContent);
  const kiosk = config.kiosk;
  const DEFAULT_LANGUAGE = config.language;
  const PREVIEW = Boolean(config.preview);

  const TEXTS = {
    "zh-CN": {
      choose_service: "请选择您要办理的业务",
      choose_sub: "请选择具体业务",
      loading: "正在加载…",
      language: "语言",
      reconnecting_short: "正在重新连接",
      waiting_n: "{n} 人等候",
      ahead_n: "前面 {n} 人",
      ahead_others: "其中本业务 {waiting} 人，其余为其他业务",
      booked_first: "另有 {n} 位预约客户将先于您办理",
      services_n: "{n} 项业务",
      no_estimate: "暂无法估计等候时间",
      why_no_counter_open: "窗口尚未开放，工作人员即将开始办理。现在取号，开始后按顺序叫号。",
      why_not_staffed: "目前没有窗口办理此业务。您可以取号，有窗口办理时按顺序叫号；也可咨询大堂工作人员。",
      cap_reached: "今日号已取完",
      resumes_at: "{time} 恢复取号",
      tickets_until: "取号截止 {time}",
      last_ticket_passed: "今日取号已截止",
      branch_stopped: "全部业务暂停取号：",
      long_wait: "等候较久",
      priority_lane: "爱心通道",
      priority_lane_sub: "老年人、残障人士、孕妇优先办理",
      priority_title: "爱心通道 · 优先办理",
      priority_intro: "为老年人、残障人士、孕妇及有需要的顾客优先安排。请选择要办理的业务：",
      priority_badge: "爱心通道 优先办理",
      checkin: "预约签到",
      checkin_sub: "已网上预约或手机取号？请在这里签到",
      checkin_title: "预约签到",
      checkin_by_code: "预约码",
      checkin_by_phone: "手机号码",
      checkin_code_prompt: "请输入 8 位预约码",
      checkin_phone_prompt: "请输入预约或手机取号时填写的手机号码",
      checkin_scan: "也可将预约二维码对准扫码器",
      checkin_go: "签到",
      checkin_clear: "清除",
      checkin_delete: "删除",
      checkin_working: "正在签到…",
      checkin_limited: "操作过于频繁，请稍后再试或咨询大堂工作人员",
      checkin_offline: "暂时无法连接服务器，请稍后再试",
      checkin_from: "预约号 · {time} 起叫号，请留意叫号屏",
      checkin_in_slot: "预约号 · 预约时段 {time}，将优先叫号",
      checkin_walk_in: "已超过预约时间，按普通号排队",
      checkin_remote: "手机取号已签到，请留意叫号屏",
      back: "返回",
      home: "返回首页",
      your_number: "您的号码",
      people_ahead: "前面还有",
      people_ahead_n: "{n} 人",
      estimated_wait: "预计等候",
      watch_screen: "请留意叫号屏幕和语音广播",
      scan_qr: "用手机扫码，随时查看排队进度",
      done: "完成",
      returning: "{s} 秒后返回首页",
      printing: "正在打印号票…",
      printed: "请取走下方打印的号票",
      print_browser: "号票正在打印，请从下方出票口取走",
      print_none: "本机不打印号票，请扫码或记下您的号码",
      print_failed: "打印机故障，号票没有打印出来。您的号码有效，请扫码或记下号码。已通知工作人员。",
      print_again: "重新打印",
      print_refused: "这张号票不能在本机再次打印。您的号码有效，请扫码或记下号码；需要纸质号票请找工作人员。",
      one_moment: "请稍候",
      getting_ticket: "正在为您取号…",
      still_trying: "网络暂时中断，正在自动重试，请不要离开。您的号码不会重复发放。",
      reconnecting: "正在连接排队系统，马上就好。",
      cancel_wait: "不取了，返回首页",
      closed_title: "该业务现在不办理",
      closed_body: "“{service}”现在不办理。{when}。",
      holiday_then: "{holiday}，{next}",
      cap_title: "今日号已取完",
      cap_body: "“{service}”今天的号已全部发完。请明天再来，或咨询大堂工作人员。",
      stopped_title: "暂停取号",
      stopped_body: "“{service}”暂停取号：{reason}。",
      stopped_body_until: "“{service}”暂停取号：{reason}。{time} 恢复取号。",
      last_title: "今日取号已截止",
      last_body: "“{service}”今天的取号已于 {time} 截止。{when}。",
      error_title: "暂时无法取号",
      error_body: "请稍后再试，或咨询大堂工作人员。",
      limit_title: "请稍后再取号",
      priority_refused_title: "此处不提供爱心通道号票",
      limit_kiosk: "本机刚刚发出了很多号票，请 {wait}后再试，或咨询大堂工作人员。",
      limit_device: "这台设备取号次数过多，请 {wait}后再试，或咨询大堂工作人员。",
      limit_address: "同一网络取号次数过多，请 {wait}后再试，或咨询大堂工作人员。",
      limit_open: "这里取的 {allowed} 张号票还在等候中。请等其中一张被叫号或取消后再取，或咨询大堂工作人员。",
      wait_s: "{n} 秒",
      wait_min: "{n} 分钟",
      overflow_title: "当前等候时间较长。",
      overflow_here: "在本厅办理预计等候 {wait}",
      overflow_nearby_title: "附近营业厅，等候更短",
      overflow_none_nearby: "附近暂时没有等候更短的营业厅。",
      overflow_distance: "距此 {km} 公里",
      overflow_wait_there: "预计等候",
      overflow_self_title: "不用排队：自助办理",
      overflow_take_here: "仍在本厅取号",
      overflow_book: "预约时间",
      overflow_book_scan: "用手机扫码，预约本厅或附近营业厅的办理时间",
      receipt_time: "取号时间",
      receipt_ahead: "前面人数",
      receipt_estimate: "预计等候",
      preview_mark: "预览 · 不会取号",
      preview_tapped: "预览：这里不会取号，顾客在取号机上点这里会取得号票",
    },
    en: {
      choose_service: "Please choose a service",
      choose_sub: "Please choose the service you need",
      loading: "Loading…",
      language: "Language",
      reconnecting_short: "Reconnecting",
      waiting_n: "{n} waiting",
      ahead_n: { one: "{n} person ahead", other: "{n} people ahead" },
      ahead_others: "{waiting} of them for this service, the rest for others",
      booked_first: { one: "and 1 customer with an appointment will be served before you",
                      other: "and {n} customers with appointments will be served before you" },
      services_n: { one: "{n} service", other: "{n} services" },
      no_estimate: "No wait estimate yet",
      why_no_counter_open: "No counter is open yet: staff will open the counters shortly. Take a ticket now and you will be called in turn.",
      why_not_staffed: "No counter is serving this right now. You can take a ticket and will be called in turn when one does, or ask a member of staff.",
      cap_reached: "No more tickets today",
      resumes_at: "Tickets again from {time}",
      tickets_until: "Tickets until {time}",
      last_ticket_passed: "Closed for today",
      branch_stopped: "Ticket issue is paused for all services:",
      long_wait: "Long wait",
      priority_lane: "Priority lane",
      priority_lane_sub: "For elderly, disabled and pregnant customers",
      priority_title: "Priority lane",
      priority_intro: "Priority service for elderly, disabled and pregnant customers and anyone who needs it. Please choose a service:",
      priority_badge: "Priority lane",
      checkin: "Appointment check-in",
      checkin_sub: "Booked online or took a ticket on your phone? Check in here",
      checkin_title: "Appointment check-in",
      checkin_by_code: "Booking code",
      checkin_by_phone: "Phone number",
      checkin_code_prompt: "Type your 8-character booking code",
      checkin_phone_prompt: "Type the phone number you booked or took your ticket with",
      checkin_scan: "Or hold your booking QR code to the scanner",
      checkin_go: "Check in",
      checkin_clear: "Clear",
      checkin_delete: "Delete",
      checkin_working: "Checking in…",
      checkin_limited: "Too many tries: please wait a moment or ask a member of staff",
      checkin_offline: "The server cannot be reached: please try again in a moment",
      checkin_from: "Appointment · called from {time}; watch the screen",
      checkin_in_slot: "Appointment · booked for {time}; you will be called first",
      checkin_walk_in: "Past your booking time: queued as a walk-in",
      checkin_remote: "Ticket from your phone checked in: watch the screen",
      back: "Back",
      home: "Back to start",
      your_number: "Your number",
      people_ahead: "People ahead of you",
      people_ahead_n: "{n}",
      estimated_wait: "Estimated wait",
      watch_screen: "Please watch the screens and listen for your number",
      scan_qr: "Scan to follow your ticket on your phone",
      done: "Done",
      returning: "Back to the start in {s} s",
      printing: "Printing your ticket…",
      printed: "Please take your printed ticket below",
      print_browser: "Your ticket is printing; please take it from the slot below",
      print_none: "This kiosk does not print: scan the QR code or note your number",
      print_failed: "The printer failed and your ticket was not printed. Your number is valid: scan the QR code or note it. Staff have been told.",
      print_again: "Print again",
      print_refused: "This ticket cannot be printed again here. Your number is valid: scan the QR code or note it; staff can print it for you.",
      one_moment: "One moment, please",
      getting_ticket: "Getting your ticket…",
      still_trying: "The connection was interrupted; we are trying again, please stay. You will not get two numbers.",
      reconnecting: "Connecting to the queue system. This will only take a moment.",
      cancel_wait: "Stop and go back",
      closed_title: "This service is not available now",
      closed_body: "{service} is not available now. {when}.",
      holiday_then: "{holiday}. {next}",
      cap_title: "No more tickets today",
      cap_body: "All of today's tickets for {service} have been taken. Please come back tomorrow or ask a member of staff.",
      stopped_title: "Not issuing tickets now",
      stopped_body: "{service}: {reason}.",
      stopped_body_until: "{service}: {reason}. Tickets again from {time}.",
      last_title: "Closed for today",
      last_body: "{service} took its last ticket for today at {time}. {when}.",
      error_title: "Tickets cannot be issued right now",
      error_body: "Please try again shortly or ask a member of staff.",
      limit_title: "Please wait before taking another ticket",
      priority_refused_title: "No priority-lane tickets here",
      limit_kiosk: "This kiosk has just issued a lot of tickets. Please try again in {wait} or ask a member of staff.",
      limit_device: "This device has taken too many tickets. Please try again in {wait} or ask a member of staff.",
      limit_address: "Too many tickets have been taken from this network. Please try again in {wait} or ask a member of staff.",
      limit_open: { one: "{allowed} ticket taken here is still waiting. You can take another once it is called or cancelled, or ask a member of staff.",
                    other: "{allowed} tickets taken here are still waiting. You can take another once one of them is called or cancelled, or ask a member of staff." },
      wait_s: { one: "{n} second", other: "{n} seconds" },
      wait_min: { one: "{n} minute", other: "{n} minutes" },
      overflow_title: "The wait is long right now.",
      overflow_here: "The wait here is {wait}",
      overflow_nearby_title: "Nearby branches with a shorter wait",
      overflow_none_nearby: "No nearby branch has a shorter wait right now.",
      overflow_distance: "{km} km away",
      overflow_wait_there: "Wait there",
      overflow_self_title: "No queue: do it yourself",
      overflow_take_here: "Take a ticket here anyway",
      overflow_book: "Book a time",
      overflow_book_scan: "Scan with your phone to book a time here or at a nearby branch",
      receipt_time: "Issued",
      receipt_ahead: "People ahead",
      receipt_estimate: "Estimated wait",
      preview_mark: "Preview · no tickets are issued",
      preview_tapped: "Preview: no ticket is issued here; on the kiosk this tap would give a customer a ticket",
    },
  };

  const i18n = HallI18n.create(TEXTS, DEFAULT_LANGUAGE);
  const other = () => (i18n.language === "zh-CN" ? "en" : "zh-CN");
  const $ = (id) => document.getElementById(id);
  const app = $("app");

  const ISSUE_TIMEOUT_MS = 10000;
  const ALTERNATIVES_TIMEOUT_MS = 2000; // no answer by then: the ticket is issued here, as without the check
  const PENDING_AFTER_MS = 700; // a slow answer shows the "one moment" screen
  const RETRY_DELAYS_MS = [1000, 2000, 3000, 5000];
  const CANCEL_AFTER_MS = 8000; // the "stop and go back" button appears after this long
  const GIVE_UP_MS = Math.max(90, 2 * kiosk.idle_reset_s) * 1000; // nobody there any more: abandon
  const OFFLINE_AFTER_MS = 3000; // a lost live connection shows the calm "one moment" screen
  const REFUSED_HOME_S = Math.min(12, kiosk.idle_reset_s);
  const ABANDONED_STORE = "hall-kiosk-abandoned:" + config.branch;
  const ABANDONED_RETRY_MS = 5000;
  const ABANDONED_KEEP_MS = 30 * 60 * 1000;
  const LAST_TICKET_NOTICE_MS = 2 * 3600 * 1000; // a tile tells its last-ticket time this long before it
  // a limit on taking tickets (429): said on the refusal screen, never retried by itself
  const LIMIT_CODES = ["too_many_tickets", "too_many_open_tickets"];

  const state = {
    snapshot: null,
    summary: null,
    screen: "home",
    category: null,
    request: null, // the tap being issued: {key, body, attempts, started, timer}
    ticket: null, // the ticket on the confirmation screen
    confirmUntil: 0,
    confirmShownAt: 0,
    refusal: null,
    refusedUntil: 0,
    lastActivity: Date.now(),
    offlineSince: null,
    liveStatus: "connecting",
    lastMinute: null,
    untilShown: "", // the services whose tile shows its last-ticket time
    printState: "none",
    overflow: null, // the long-wait screen: {service, answer} from the alternatives API
    checking: false, // asking whether the chosen service's wait is long
  };

  // --- helpers ---------------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function icon(name, className) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("aria-hidden", "true");
    if (className) svg.setAttribute("class", className);
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    const known = document.getElementById("i-" + name);
    use.setAttribute("href", "#i-" + (known ? name : "ticket"));
    svg.appendChild(use);
    return svg;
  }

  /** A bilingual name: the current language large, the other one small underneath (marked with lang). */
  function names(bilingual, className) {
    const wrap = el("span", className || "names");
    const primary = el("span", "name-primary");
    unbroken(primary, i18n.pick(bilingual));
    primary.lang = i18n.language;
    // a long name (the set-up allows up to 20 Chinese characters or 72 letters) takes a smaller size on its tile
    const width = [...primary.textContent].reduce((sum, ch) => sum + (/[\u2e80-\uffef]/.test(ch) ? 2 : 1), 0);
    if (width > 32) wrap.classList.add("long-name");
    const secondaryText = bilingual && typeof bilingual === "object" ? bilingual[other()] : "";
    wrap.appendChild(primary);
    if (secondaryText && secondaryText !== primary.textContent) {
      const secondary = el("span", "name-secondary");
      unbroken(secondary, secondaryText);
      secondary.lang = other();
      wrap.appendChild(secondary);
    }
    return wrap;
  }

  /** ``text`` into ``node`` with each hyphenated word ("top-up") kept whole: browsers break a line after a hyphen,
   * and "top-" / "up" on two lines reads badly on a tile. */
  function unbroken(node, text) {
    String(text || "").split(/(\S*\w-\w\S*)/).forEach((part, index) => {
      if (!part) return;
      node.appendChild(index % 2 ? el("span", "nobreak", part) : document.createTextNode(part));
    });
  }

  // every request names this kiosk (X-Device-Id), so the manager sees which device had a fault
  const api = window.HallApi.forDevice(kiosk.id || null);

  /** POST to the API: resolves to the answer's JSON; a HallApi.Error when refused or without an answer. */
  function postJson(path, body, options, timeoutMs) {
    return api.post(config.api + path, body || {}, { ...(options || {}), timeoutMs, cache: "no-store" });
  }

  function branchTime(date, withSeconds) {
    const zone = state.snapshot ? state.snapshot.branch.timezone : config.timezone;
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
    if (withSeconds) options.second = "2-digit";
    try {
      return new Intl.DateTimeFormat("en-GB", options).format(date);
    } catch (error) {
      return date.toTimeString().slice(0, 5);
    }
  }

  // --- live data -------------------------------------------------------------------------------

  function services() {
    return state.snapshot ? state.snapshot.services : [];
  }

  function service(code) {
    return services().find((s) => s.code === code) || null;
  }

  function isLong(estimate) {
    return Boolean(estimate && estimate.known && estimate.range_min && estimate.range_min[1] >= config.overflow.wait_min);
  }

  /** The estimate in words: the server's, which also say why there is none ("no counter open yet"). */
  function estimateText(estimate) {
    if (!estimate || !estimate.text) return i18n.t("no_estimate");
    return i18n.pick(estimate.text);
  }

  /** A sentence on why there is no estimate, from the server's reason (null when there is one, or no reason). */
  function estimateWhy(estimate) {
    const reason = estimate && !estimate.known ? estimate.reason : null;
    return reason === "no_counter_open" || reason === "not_staffed" ? i18n.t("why_" + reason) : null;
  }

  /** Whether a tile takes a ticket now; else why not (the server's flags, in the order a customer hears them). */
  function unavailable(s) {
    if (!s.open) return "closed";
    if (s.last_ticket_passed) return "last_ticket";
    if (s.stopped) return "stopped";
    return s.daily_cap_reached ? "full" : null;
  }

  /** "取号截止 20:30" within the last two hours before a service's last-ticket time (null otherwise). */
  function ticketsUntilText(s) {
    const until = s && s.tickets_until ? Date.parse(s.tickets_until) : NaN;
    if (Number.isNaN(until) || Date.now() < until - LAST_TICKET_NOTICE_MS || Date.now() >= until) return null;
    return i18n.t("tickets_until", { time: branchTime(new Date(until)) });
  }

  function resumesText(s) {
    return s && s.resumes_at ? i18n.t("resumes_at", { time: branchTime(new Date(s.resumes_at)) }) : null;
  }

  function applySummary(summary) {
    if (!summary) return;
    state.summary = summary; // summaries come from one loop, in order: the newest wins
    if (!state.snapshot || summary.seq < state.snapshot.seq) return; // older than the counts on screen
    for (const s of state.snapshot.services) {
      const live = summary.services && summary.services[s.code];
      if (!live) continue;
      s.waiting = live.waiting;
      s.ahead = live.ahead;
      s.estimate = live.estimate;
      s.priority_ahead = live.priority_ahead;
      s.booked_ahead = live.booked_ahead;
      s.priority_booked_ahead = live.priority_booked_ahead;
      s.priority_estimate = live.priority_estimate;
    }
    state.snapshot.waiting_total = summary.waiting_total;
    renderTiles();
  }

  // --- screens ---------------------------------------------------------------------------------

  function show(screen) {
    state.screen = screen;
    app.dataset.screen = screen;
    document.querySelectorAll(".screen").forEach((section) => {
      section.classList.toggle("active", section.dataset.screen === screen);
    });
    updateOffline();
    // Keyboard users land on the screen's main button; focus never stays on a hidden screen.
    const section = document.querySelector('.screen[data-screen="' + screen + '"]');
    const target = section && section.querySelector(".primary, .back");
    const focused = document.activeElement;
    if (target) target.focus({ preventScroll: true });
    else if (focused && focused.closest && focused.closest(".screen:not(.active)")) focused.blur();
  }

  /** Back to the start. ``nextCustomer``: this customer is done (or gone), so the language resets too. */
  function goHome(nextCustomer) {
    state.category = null;
    state.ticket = null;
    if (nextCustomer === true && i18n.language !== DEFAULT_LANGUAGE) i18n.setLanguage(DEFAULT_LANGUAGE);
    show("home");
    renderTiles();
  }

  function topLevelItems() {
    const items = [];
    const seen = new Set();
    const categories = state.snapshot ? state.snapshot.categories : [];
    for (const s of services()) {
      const category = s.parent && categories.find((c) => c.code === s.parent);
      if (!category) {
        items.push({ kind: "service", service: s });
      } else if (!seen.has(category.code)) {
        seen.add(category.code);
        items.push({ kind: "category", category, children: services().filter((c) => c.parent === category.code) });
      }
    }
    return items;
  }

  function serviceTile(s, priority) {
    const tile = el("button", "tile");
    tile.type = "button";
    tile.dataset.service = s.code;
    tile.style.setProperty("--tile", s.colour);
    const why = unavailable(s);
    const estimate = priority ? s.priority_estimate : s.estimate;
    const ahead = priority ? s.priority_ahead : s.ahead;
    const booked = (priority ? s.priority_booked_ahead : s.booked_ahead) || 0;
    if (why) {
      tile.classList.add("unavailable"); // still tappable: it explains why (hours, a stop, the cap)
      tile.dataset.unavailable = why;
    }
    const head = el("span", "tile-head");
    const badge = el("span", "tile-icon");
    badge.appendChild(icon(s.icon));
    head.appendChild(badge);
    head.appendChild(names(s.name, "names tile-names"));
    tile.appendChild(head);
    const stats = el("span", "tile-stats");
    if (why === "closed") {
      const when = opening(s);
      if (when.holiday) stats.appendChild(stat("closed", when.holiday));
      stats.appendChild(stat(when.holiday ? "clock" : "closed", when.next));
    } else if (why === "last_ticket") {
      stats.appendChild(stat("closed", i18n.t("last_ticket_passed")));
      stats.appendChild(stat("clock", opening(s).next));
    } else if (why === "stopped") {
      stats.appendChild(stat("closed", i18n.pick(s.stopped.reason)));
      if (resumesText(s)) stats.appendChild(stat("clock", resumesText(s)));
    } else if (why === "full") {
      stats.appendChild(stat("closed", i18n.t("cap_reached")));
    } else {
      // what a ticket taken now would have: the same people ahead and estimate as the ticket itself
      const known = ahead !== null && ahead !== undefined;
      stats.appendChild(stat("people", known ? i18n.t("ahead_n", { n: ahead }) : i18n.t("waiting_n", { n: s.waiting }),
        "stat-ahead"));
      stats.appendChild(stat("clock", estimateText(estimate), estimate && !estimate.known ? "stat-unknown" : ""));
      if (ticketsUntilText(s)) stats.appendChild(stat("alert", ticketsUntilText(s), "stat-until"));
      if (known && !priority && ahead > s.waiting) {
        stats.appendChild(el("span", "tile-note", i18n.t("ahead_others", { waiting: s.waiting })));
      }
      if (known && booked > 0) { // booked customers due before this ticket's call: the wait counts them
        stats.appendChild(el("span", "tile-note tile-booked", i18n.t("booked_first", { n: booked })));
      }
      if (isLong(estimate)) {
        const flag = el("span", "tile-flag", i18n.t("long_wait"));
        tile.classList.add("long");
        head.appendChild(flag);
      }
    }
    tile.appendChild(stats);
    tile.addEventListener("click", () => chooseService(s.code, priority ? "priority" : "normal"));
    return tile;
  }

  function categoryTile(category, children) {
    const tile = el("button", "tile tile-category");
    tile.type = "button";
    tile.dataset.category = category.code;
    tile.style.setProperty("--tile", category.colour);
    const head = el("span", "tile-head");
    const badge = el("span", "tile-icon");
    badge.appendChild(icon(category.icon));
    head.appendChild(badge);
    head.appendChild(names(category.name, "names tile-names"));
    head.appendChild(icon("chevron", "tile-chevron"));
    tile.appendChild(head);
    const stats = el("span", "tile-stats");
    const waiting = children.reduce((sum, c) => sum + (c.waiting || 0), 0);
    if (children.every((c) => unavailable(c))) {
      tile.classList.add("unavailable"); // still tappable: the sub-services explain why
      // all closed: when the first of them opens (the tile has room for one line; the sub-services tell more)
      const closed = children.filter((c) => ["closed", "last_ticket"].includes(unavailable(c)));
      const first = closed.filter((c) => c.opens_at).sort((a, b) => Date.parse(a.opens_at) - Date.parse(b.opens_at))[0];
      const stopped = children.find((c) => unavailable(c) === "stopped");
      stats.appendChild(stat("closed", closed.length === children.length ? opening(first || closed[0]).next
        : stopped ? i18n.pick(stopped.stopped.reason) : i18n.t("cap_reached")));
    } else {
      stats.appendChild(stat("people", i18n.t("waiting_n", { n: waiting })));
      stats.appendChild(stat("plan", i18n.t("services_n", { n: children.length })));
    }
    if (children.some((c) => !unavailable(c) && isLong(c.estimate))) {
      tile.classList.add("long");
      head.insertBefore(el("span", "tile-flag", i18n.t("long_wait")), head.lastChild);
    }
    tile.appendChild(stats);
    tile.addEventListener("click", () => {
      if (state.request) return;
      state.category = category.code;
      renderCategory();
      show("category");
    });
    return tile;
  }

  function stat(iconName, text, className) {
    const node = el("span", "stat" + (className ? " " + className : ""));
    node.appendChild(icon(iconName));
    node.appendChild(el("span", "", text));
    return node;
  }

  function fill(container, tiles) {
    container.replaceChildren(...tiles);
    container.dataset.count = String(tiles.length);
  }

  function renderHome() {
    if (!state.snapshot) return;
    fill($("home-tiles"), topLevelItems().map((item) => (item.kind === "service"
      ? serviceTile(item.service, false) : categoryTile(item.category, item.children))));
    const long = services().some((s) => !unavailable(s) && isLong(s.estimate));
    const notice = $("home-overflow");
    notice.hidden = !long;
    notice.querySelector(".overflow-text").textContent = i18n.pick(config.overflow.notice);
    // issue stopped for the whole branch: one banner, the tiles say it too
    const branchStop = services().find((s) => s.stopped && s.stopped.service === null);
    $("home-stopped").hidden = !branchStop;
    if (branchStop) {
      $("home-stopped").querySelector(".notice-text").textContent = [i18n.pick(branchStop.stopped.reason),
        resumesText(branchStop)].filter(Boolean).join(i18n.language === "zh-CN" ? "，" : ". ");
    }
    // before the counters open: why the tiles have no estimate, and that taking a ticket is fine
    const waitingForStaff = !branchStop && services().some((s) => !unavailable(s) && s.estimate
      && s.estimate.reason === "no_counter_open");
    $("home-staffing").hidden = !waitingForStaff;
  }

  function renderCategory() {
    const categories = state.snapshot ? state.snapshot.categories : [];
    const category = categories.find((c) => c.code === state.category);
    if (!category) return;
    $("category-title").replaceChildren(names(category.name, "names"));
    fill($("category-tiles"), services().filter((s) => s.parent === category.code).map((s) => serviceTile(s, false)));
  }

  function renderPriority() {
    fill($("priority-tiles"), services().map((s) => serviceTile(s, true)));
  }

  function renderTiles() {
    state.untilShown = services().filter(ticketsUntilText).map((s) => s.code).join();
    renderHome();
    renderCategory();
    renderPriority();
  }

  function renderHeader() {
    $("hall-name").replaceChildren(names(config.branch_name, "names"));
    document.querySelectorAll(".lang").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.lang === i18n.language));
    });
  }

  // --- a long wait: other branches and self-service first --------------------------------------------

  /** A tile was tapped. For a service the overflow covers, the server says whether its wait is long (its rule,
   * not the page's); when it is, the other ways are shown before a ticket is taken. No answer: issue here. */
  async function chooseService(serviceCode, priority) {
    if (state.checking) return; // a double tap, or a second tile while the first is being checked
    const s = service(serviceCode);
    if (PREVIEW || state.request || priority !== "normal" || !s || unavailable(s)
        || !config.overflow.covers.includes(serviceCode)) {
      takeTicket(serviceCode, priority);
      return;
    }
    state.checking = true;
    app.classList.add("busy");
    let answer = null;
    try {
      answer = await api.get(config.api + "/branches/" + encodeURIComponent(config.branch) + "/services/"
        + encodeURIComponent(serviceCode) + "/alternatives", { timeoutMs: ALTERNATIVES_TIMEOUT_MS, cache: "no-store" });
    } catch (error) {
      answer = null;
    }
    state.checking = false;
    app.classList.remove("busy");
    if (state.screen !== "home" && state.screen !== "category") return; // went home (idle) meanwhile
    if (answer && answer.long_wait) {
      state.overflow = { service: serviceCode, answer };
      renderOverflow();
      $("overflow-book").hidden = true;
      show("overflow");
    } else {
      takeTicket(serviceCode, priority);
    }
  }

  function renderOverflow() {
    const o = state.overflow;
    if (!o) return;
    const s = service(o.service);
    const title = $("overflow-title");
    title.replaceChildren(s ? names(s.name) : document.createTextNode(o.service));
    $("overflow-wait").textContent = i18n.t("overflow_here", { wait: estimateText(o.answer.estimate) });
    const list = $("overflow-nearby");
    list.replaceChildren();
    for (const b of o.answer.nearby) {
      const item = el("li", "nearby-branch");
      item.dataset.branch = b.branch;
      item.appendChild(el("span", "nearby-name", i18n.pick(b.name)));
      const wait = el("span", "nearby-wait", estimateText(b.estimate));
      wait.prepend(el("small", "", i18n.t("overflow_wait_there")));
      item.appendChild(wait);
      const where = [i18n.t("overflow_distance", { km: b.distance_km.toFixed(1) })];
      if (b.address) where.push(i18n.pick(b.address));
      item.appendChild(el("span", "nearby-where", where.join(" · ")));
      list.appendChild(item);
    }
    if (!o.answer.nearby.length) list.appendChild(el("li", "overflow-empty", i18n.t("overflow_none_nearby")));
    const self = $("overflow-self");
    self.replaceChildren();
    for (const way of o.answer.self_service) {
      const item = el("li", "self-way");
      item.appendChild(el("span", "self-name", i18n.pick(way.name)));
      item.appendChild(el("span", "self-text", i18n.pick(way.text)));
      self.appendChild(item);
    }
    $("overflow-self-part").hidden = !o.answer.self_service.length;
    const bookable = Boolean(o.answer.book_url) || o.answer.nearby.some((b) => b.book_url);
    $("overflow-book-open").hidden = !bookable;
    $("overflow-book-qr").src = "/book/" + encodeURIComponent(config.branch) + "/qr.svg";
  }

  // --- taking a ticket -------------------------------------------------------------------------

  function takeTicket(serviceCode, priority) {
    if (PREVIEW) return previewTapped();
    if (state.request) return; // a double tap, or a second tile while the first is on its way
    const s = service(serviceCode);
    const why = s ? unavailable(s) : null;
    if (why) {
      showRefusal({ closed: "service_closed", last_ticket: "last_ticket_passed", stopped: "issuing_stopped",
                    full: "daily_cap_reached" }[why], s);
      return;
    }
    const request = {
      key: window.HallApi.newKey("kiosk-"),
      body: { service: serviceCode, priority, channel: "kiosk", language: i18n.language },
      attempts: 0,
      started: Date.now(),
      timer: null,
    };
    state.request = request;
    app.classList.add("busy");
    request.timer = setTimeout(() => {
      if (state.request === request) showPending(request);
    }, PENDING_AFTER_MS);
    send(request);
  }

  async function send(request) {
    request.attempts += 1;
    request.inFlight = true;
    let ticket = null;
    let refusal = null;
    try {
      ticket = await postJson("/branches/" + encodeURIComponent(config.branch) + "/tickets", request.body,
        { key: request.key }, ISSUE_TIMEOUT_MS);
    } catch (error) {
      // no usable answer or a busy server: it may or may not have issued; the same key will tell
      if (error instanceof window.HallApi.Error && (!error.retryable || LIMIT_CODES.includes(error.code))) {
        refusal = error;
      }
    }
    request.inFlight = false;
    if (state.request !== request) return; // abandoned meanwhile; the background resolver owns it now
    if (ticket) {
      finishRequest(request);
      showTicket(ticket);
      return;
    }
    if (refusal) {
      finishRequest(request);
      const s = service(request.body.service);
      showRefusal(refusal.code, s, refusal.data);
      if (live) live.resync(); // the snapshot's open / daily-cap flags may be out of date
      return;
    }
    // Unreachable, timed out or a 5xx: the calm screen, then the same request again.
    request.failed = true;
    showPending(request);
    if (Date.now() - request.started > GIVE_UP_MS) {
      abandon(request);
      return;
    }
    const delay = RETRY_DELAYS_MS[Math.min(request.attempts - 1, RETRY_DELAYS_MS.length - 1)];
    clearTimeout(request.timer);
    request.timer = setTimeout(() => {
      if (state.request === request) send(request);
    }, delay);
  }

  function retryNow() {
    const request = state.request;
    if (!request || !request.failed || request.inFlight) return;
    clearTimeout(request.timer);
    send(request);
  }

  function finishRequest(request) {
    clearTimeout(request.timer);
    state.request = null;
    app.classList.remove("busy");
  }

  function showPending(request) {
    $("pending-text").textContent = i18n.t(request.failed ? "still_trying" : "getting_ticket");
    const cancel = $("pending-cancel");
    cancel.hidden = Date.now() - request.started < CANCEL_AFTER_MS;
    if (state.screen !== "pending") show("pending");
  }

  function abandon(request) {
    finishRequest(request);
    rememberAbandoned(request);
    goHome(true);
  }

  // Abandoned taps: retried with their own key until the server answers; an issued ticket is cancelled.
  function loadAbandoned() {
    try {
      return JSON.parse(localStorage.getItem(ABANDONED_STORE) || "[]");
    } catch (error) {
      return [];
    }
  }

  function saveAbandoned(list) {
    try {
      localStorage.setItem(ABANDONED_STORE, JSON.stringify(list));
    } catch (error) {
      /* storage full or disabled: the in-memory resolver still runs this session */
    }
  }

  let abandonedList = loadAbandoned();

  function rememberAbandoned(request) {
    abandonedList.push({ key: request.key, body: request.body, since: Date.now() });
    saveAbandoned(abandonedList);
  }

  let resolving = false;

  async function resolveAbandoned() {
    if (PREVIEW || resolving || !abandonedList.length) return; // a preview issues nothing, not even a retry
    resolving = true;
    try {
      for (const item of abandonedList.slice()) {
        let done = Date.now() - item.since > ABANDONED_KEEP_MS;
        const answered = (error) => error instanceof window.HallApi.Error && error.status > 0 && error.status < 500;
        try {
          const ticket = await postJson("/branches/" + encodeURIComponent(config.branch) + "/tickets", item.body,
            { key: item.key }, ISSUE_TIMEOUT_MS);
          try {
            await postJson("/tickets/" + encodeURIComponent(ticket.token) + "/cancel", {}, {}, ISSUE_TIMEOUT_MS);
            done = true;
          } catch (error) {
            if (!answered(error)) throw error;
            done = true; // refused (e.g. already called): nothing more to undo
          }
        } catch (error) {
          if (answered(error)) done = true; // refused: nothing was issued under this key
          /* else still unreachable: try again later */
        }
        if (done) {
          abandonedList = abandonedList.filter((other) => other.key !== item.key);
          saveAbandoned(abandonedList);
        }
      }
    } finally {
      resolving = false;
    }
  }

  /** A manager's preview takes no ticket: its mark says so for a few seconds instead. */
  let previewTimer = null;
  function previewTapped() {
    const mark = $("preview-mark");
    if (!mark) return;
    mark.textContent = i18n.t("preview_tapped");
    mark.classList.add("tapped");
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => {
      mark.textContent = i18n.t("preview_mark");
      mark.classList.remove("tapped");
    }, 4000);
  }

  // --- confirmation and printing ---------------------------------------------------------------

  function showTicket(ticket) {
    state.ticket = ticket;
    state.confirmUntil = Date.now() + kiosk.confirmation_s * 1000;
    renderTicket();
    state.confirmShownAt = Date.now();
    show("confirm");
    startPrinting(ticket);
    tickCountdown();
  }

  function ticketFacts(ticket) {
    const ahead = ticket.people_ahead === null || ticket.people_ahead === undefined ? "–" : ticket.people_ahead;
    return { ahead, estimate: estimateText(ticket.estimate) };
  }

  function renderTicket() {
    const ticket = state.ticket;
    if (!ticket) return;
    const facts = ticketFacts(ticket);
    $("confirm-service").replaceChildren(names(ticket.service_name, "names"));
    $("confirm-number").textContent = ticket.number;
    $("confirm-priority").hidden = ticket.priority !== "priority";
    const checkin = checkinText(ticket, i18n.t);
    $("confirm-checkin").hidden = !checkin;
    $("confirm-checkin-text").textContent = checkin;
    $("confirm-ahead").textContent = i18n.t("people_ahead_n", { n: facts.ahead });
    $("confirm-estimate").textContent = facts.estimate;
    const why = estimateWhy(ticket.estimate);
    $("confirm-why").hidden = !why;
    $("confirm-why").textContent = why || "";
    const qr = "/t/" + encodeURIComponent(ticket.token) + "/qr.svg";
    if ($("confirm-qr").getAttribute("src") !== qr) $("confirm-qr").setAttribute("src", qr);
    const long = isLong(ticket.estimate);
    $("confirm-overflow").hidden = !long;
    $("confirm-overflow").querySelector(".overflow-text").textContent = i18n.pick(config.overflow.notice);
    renderPrintStatus();
    renderReceipt(ticket);
  }

  function renderReceipt(ticket) {
    const facts = ticketFacts(ticket);
    const both = (key) => TEXTS["zh-CN"][key] + " " + TEXTS.en[key];
    $("r-hall").textContent = config.branch_name["zh-CN"] + "\n" + config.branch_name.en;
    $("r-number").textContent = ticket.number;
    $("r-service").textContent = (ticket.service_name || {})["zh-CN"] + "\n" + (ticket.service_name || {}).en;
    $("r-priority").textContent = ticket.priority === "priority" ? both("priority_badge")
      : checkinText(ticket, (key, values) => i18n.both(key, values).join("\n"));
    $("r-time-label").textContent = both("receipt_time");
    $("r-time").textContent = ticket.issued_at ? branchTime(new Date(ticket.issued_at)) : "";
    $("r-ahead-label").textContent = both("receipt_ahead");
    $("r-ahead").textContent = String(facts.ahead);
    $("r-estimate-label").textContent = both("receipt_estimate");
    $("r-estimate").textContent = ticket.estimate && ticket.estimate.text
      ? ticket.estimate.text["zh-CN"] + "\n" + ticket.estimate.text.en : "–";
    const qr = "/t/" + encodeURIComponent(ticket.token) + "/qr.svg";
    if ($("r-qr").getAttribute("src") !== qr) $("r-qr").setAttribute("src", qr);
    $("r-scan").textContent = TEXTS["zh-CN"].scan_qr + "\n" + TEXTS.en.scan_qr;
    $("r-watch").textContent = TEXTS["zh-CN"].watch_screen + "\n" + TEXTS.en.watch_screen;
  }

  /** The line a checked-in booking's ticket adds: when it is called (an early arrival waits for its slot), or that
   * it was late and queued as a walk-in; "" for any other ticket. The server's answer says which. */
  function checkinText(ticket, t) {
    const checkin = ticket.checkin;
    if (!checkin) return "";
    if (checkin.outcome === "walk_in") return t("checkin_walk_in");
    if (checkin.outcome === "remote") return t("checkin_remote");
    if (checkin.callable_from_time) return t("checkin_from", { time: checkin.callable_from_time });
    return t("checkin_in_slot", { time: checkin.slot_time });
  }

  function setPrintState(printState) {
    state.printState = printState;
    renderPrintStatus();
  }

  function renderPrintStatus() {
    const box = $("print-status");
    const textKey = {
      none: "print_none", browser: "print_browser", printing: "printing", printed: "printed", failed: "print_failed",
      refused: "print_refused",
    }[state.printState] || "print_none";
    box.dataset.state = state.printState;
    $("print-text").textContent = i18n.t(textKey);
    $("print-again").hidden = state.printState !== "failed";
  }

  function startPrinting(ticket) {
    if (kiosk.printer === "browser") {
      setPrintState("browser");
      printInBrowser();
    } else if (kiosk.printer === "escpos") {
      printOnServer(ticket);
    } else {
      setPrintState("none");
    }
  }

  async function printInBrowser() {
    const qr = $("r-qr");
    try {
      if (!qr.complete) await qr.decode();
    } catch (error) {
      /* print without the QR rather than not at all */
    }
    // Chromium started with --kiosk-printing prints silently to the default printer. The browser cannot
    // tell whether paper came out, so the screen always shows the QR code and the number as well.
    setTimeout(() => window.print(), 50);
  }

  async function printOnServer(ticket) {
    setPrintState("printing");
    let result = null;
    let refused = false; // the server's rules say no (how often, where): trying again would not help
    try {
      result = await postJson("/tickets/" + encodeURIComponent(ticket.token) + "/print", { kiosk: kiosk.id }, {},
        (kiosk.print_timeout_s + 5) * 1000);
    } catch (error) {
      result = null;
      refused = error instanceof window.HallApi.Error && error.status >= 400 && error.status < 500;
    }
    if (state.ticket !== ticket) return;
    const printed = Boolean(result && result.printed === true);
    setPrintState(printed ? "printed" : refused ? "refused" : "failed");
    if (!printed) state.confirmUntil = Math.max(state.confirmUntil, Date.now() + kiosk.confirmation_s * 1000);
  }

  function tickCountdown() {
    if (state.screen !== "confirm") return;
    const left = Math.max(0, state.confirmUntil - Date.now());
    const total = kiosk.confirmation_s * 1000;
    $("countdown-bar").style.transform = "scaleX(" + Math.min(1, left / total).toFixed(3) + ")";
    $("countdown-text").textContent = i18n.t("returning", { s: Math.ceil(left / 1000) });
    if (left <= 0) goHome(true);
  }

  // --- refusals ---------------------------------------------------------------------------------

  function showRefusal(code, s, answer) {
    const serviceName = s ? i18n.pick(s.name) : "";
    let title = "error_title";
    let body = "error_body";
    let iconName = "alert";
    // when it opens: the server's refusal knows best, else the snapshot's service
    const details = (answer && answer.details) || {};
    const closed = { open: false, opens_at: s ? s.opens_at : null, closed_for: s ? s.closed_for : null };
    if ("opens_at" in details) closed.opens_at = details.opens_at;
    if ("closed_for" in details) closed.closed_for = details.closed_for;
    if (code === "service_closed") {
      title = "closed_title"; body = "closed_body"; iconName = "closed";
      if (s) Object.assign(s, closed);
    } else if (code === "daily_cap_reached") {
      title = "cap_title"; body = "cap_body"; iconName = "closed";
      if (s) s.daily_cap_reached = true;
    } else if (code === "last_ticket_passed") {
      title = "last_title"; body = "last_body"; iconName = "closed";
      closed.last_ticket_passed = true;
      closed.tickets_until = "tickets_until" in details ? details.tickets_until : (s ? s.tickets_until : null);
      if (s) Object.assign(s, { last_ticket_passed: true, tickets_until: closed.tickets_until,
                                opens_at: closed.opens_at });
    } else if (code === "priority_needs_paired_kiosk") {
      // the server says this page may not give priority-lane tickets (say, its pairing was revoked): stop offering
      title = "priority_refused_title"; iconName = "heart";
      config.ticket_classes = (config.ticket_classes || []).filter((c) => c !== "priority");
      showPriorityLane();
    } else if (LIMIT_CODES.includes(code)) {
      title = "limit_title"; iconName = "clock";
      body = code === "too_many_open_tickets" ? "limit_open"
        : { kiosk: "limit_kiosk", device: "limit_device" }[details.limit] || "limit_address";
    }
    // issue stopped by hand: the manager's reason, and when it issues again today (the server's 409 knows best)
    let stopped = null;
    if (code === "issuing_stopped") {
      title = "stopped_title"; iconName = "closed";
      stopped = { reason: details.reason || (s && s.stopped ? s.stopped.reason : null),
                  resumes_at: "resumes_at" in details ? details.resumes_at : (s ? s.resumes_at : null) };
      body = stopped.resumes_at ? "stopped_body_until" : "stopped_body";
    }
    const until = details.retry_after_s ? Date.now() + details.retry_after_s * 1000 : null;
    state.refusal = { title, body, iconName, serviceName, closed, stopped, service: s, until,
                      allowed: details.allowed || 0, text: details.text || null };
    renderRefusal();
    renderTiles();
    state.refusedUntil = Date.now() + REFUSED_HOME_S * 1000;
    show("refused");
  }

  /** How long until a limit lets the next ticket through: "45 秒" / "45 seconds", "3 分钟" / "3 minutes". */
  function waitText(until) {
    const seconds = Math.max(1, Math.ceil(((until || Date.now()) - Date.now()) / 1000));
    if (seconds <= 90) return i18n.t("wait_s", { n: seconds });
    return i18n.t("wait_min", { n: Math.ceil(seconds / 60) });
  }

  function renderRefusal() {
    const r = state.refusal;
    if (!r) return;
    const serviceName = r.service ? i18n.pick(r.service.name) : r.serviceName;
    $("refused-title").textContent = i18n.t(r.title);
    const when = opening(r.closed);
    const at = r.stopped ? r.stopped.resumes_at : r.closed.tickets_until;
    $("refused-text").textContent = i18n.t(r.body, {
      service: serviceName,
      when: when.holiday ? i18n.t("holiday_then", { holiday: when.holiday, next: when.next }) : when.next,
      reason: r.stopped ? i18n.pick(r.stopped.reason) : "",
      time: at ? branchTime(new Date(at)) : "",
      wait: waitText(r.until),
      allowed: r.allowed,
      n: r.allowed,
    });
    if (r.text) $("refused-text").textContent = i18n.pick(r.text); // the server's words, in both languages
    $("refused-icon").querySelector("use").setAttribute("href", "#i-" + r.iconName);
  }

  /** The priority lane is offered only where the server says this page may give its tickets (ticket_classes). */
  function showPriorityLane() {
    const offered = (config.ticket_classes || []).includes("priority");
    $("open-priority").hidden = !offered;
    if (!offered && state.screen === "priority") show("home");
  }

  // --- connection state ------------------------------------------------------------------------

  function updateOffline() {
    const browsing = ["home", "category", "priority", "checkin"].includes(state.screen);
    const down = state.liveStatus !== "live" && (state.offlineSince !== null
      && Date.now() - state.offlineSince >= OFFLINE_AFTER_MS);
    $("offline").hidden = !(browsing && (down || !state.snapshot && Date.now() - pageStarted > OFFLINE_AFTER_MS));
  }

  const pageStarted = Date.now();

  function onStatus(status) {
    state.liveStatus = status;
    if (status === "live") {
      state.offlineSince = null;
      retryNow();
      resolveAbandoned();
    } else if (state.offlineSince === null) {
      state.offlineSince = Date.now();
    }
    updateOffline();
  }

  // --- the clock: timers, idle reset, opening and closing ---------------------------------------

  /** When a closed service (or one past its last ticket today) takes tickets again, in the branch's time zone and
   * the kiosk's language. */
  function opening(s) {
    const zone = state.snapshot ? state.snapshot.branch.timezone : config.timezone;
    const closed = s && s.open && s.last_ticket_passed ? { ...s, open: false } : s;
    return HallOpening.describe(closed, i18n.language, zone) || { holiday: null, next: "", text: "" };
  }

  function tick() {
    const now = new Date();
    $("clock").textContent = branchTime(now);
    const minute = branchTime(now);
    if (state.lastMinute !== null && minute !== state.lastMinute && minute === "00:00" && live) {
      live.resync(); // a new day began: daily caps reset, "tomorrow" is today (openings have their own timer)
    } else if (state.lastMinute !== null && minute !== state.lastMinute) {
      const untilShown = services().filter(ticketsUntilText).map((s) => s.code).join();
      if (untilShown !== state.untilShown) renderTiles(); // "Tickets until 20:30" appears two hours before
    }
    state.lastMinute = minute;
    const idle = Date.now() - state.lastActivity;
    if (["category", "priority", "checkin", "overflow"].includes(state.screen) && idle >= kiosk.idle_reset_s * 1000) {
      goHome(true);
    }
    if (state.screen === "home" && i18n.language !== DEFAULT_LANGUAGE && idle >= kiosk.idle_reset_s * 1000) {
      i18n.setLanguage(DEFAULT_LANGUAGE);
    }
    if (state.screen === "refused" && Date.now() >= state.refusedUntil) goHome(true);
    if (state.screen === "confirm") tickCountdown();
    if (state.request && state.screen === "pending") showPending(state.request);
    updateOffline();
  }

  // --- locked-down kiosk behaviour -------------------------------------------------------------

  function lockDown() {
    // No way back or away: the history entry is pinned, links and context menus do nothing.
    history.replaceState({ kiosk: true }, "", location.href);
    history.pushState({ kiosk: true }, "", location.href);
    window.addEventListener("popstate", () => {
      history.pushState({ kiosk: true }, "", location.href);
      goHome(false);
    });
    document.addEventListener("contextmenu", (event) => event.preventDefault());
    document.addEventListener("dragstart", (event) => event.preventDefault());
    document.addEventListener("selectstart", (event) => event.preventDefault());
    document.addEventListener("dblclick", (event) => event.preventDefault());
    document.addEventListener("gesturestart", (event) => event.preventDefault());
    document.addEventListener("wheel", (event) => { if (event.ctrlKey) event.preventDefault(); }, { passive: false });
    document.addEventListener("touchmove", (event) => { if (event.touches.length > 1) event.preventDefault(); },
      { passive: false });
    document.addEventListener("keydown", (event) => {
      const key = event.key.toLowerCase();
      if ((event.ctrlKey || event.metaKey) && ["+", "-", "=", "0", "p", "s", "o", "l", "n", "t", "w", "r"].includes(key)) {
        event.preventDefault();
      }
      if (event.altKey && (key === "arrowleft" || key === "arrowright")) event.preventDefault();
      if (key === "escape" && ["category", "priority", "checkin", "refused"].includes(state.screen)) goHome(false);
    });
    document.addEventListener("click", (event) => {
      const link = event.target.closest && event.target.closest("a[href]");
      if (link) event.preventDefault();
    });
  }

  // --- wiring ----------------------------------------------------------------------------------

  function rerender() {
    renderHeader();
    renderTiles();
    renderTicket();
    renderRefusal();
    renderOverflow();
    if (state.request && state.screen === "pending") showPending(state.request);
    tickCountdown();
  }

  ["pointerdown", "keydown", "touchstart"].forEach((type) => {
    document.addEventListener(type, () => { state.lastActivity = Date.now(); }, { passive: true, capture: true });
  });

  document.querySelectorAll(".lang").forEach((button) => {
    button.addEventListener("click", () => i18n.setLanguage(button.dataset.lang));
  });
  document.querySelectorAll('[data-action="home"]').forEach((button) => button.addEventListener("click", () => {
    // The tap that took the ticket, repeated, must not skip the confirmation at once.
    if (state.screen === "confirm" && Date.now() - state.confirmShownAt < 800) return;
    goHome(state.screen === "confirm");
  }));
  showPriorityLane();
  $("open-checkin").hidden = !(config.checkin && config.checkin.offered); // a branch that takes no bookings
  $("open-priority").addEventListener("click", () => {
    if (state.request) return;
    renderPriority();
    show("priority");
  });
  $("open-checkin").addEventListener("click", () => {
    if (state.request) return;
    if (window.KioskCheckin && typeof window.KioskCheckin.render === "function") {
      window.KioskCheckin.render($("checkin-body"), { config, i18n, api: postJson, showTicket });
    }
    show("checkin");
  });
  $("overflow-take").addEventListener("click", () => {
    if (state.overflow) takeTicket(state.overflow.service, "normal");
  });
  $("overflow-book-open").addEventListener("click", () => {
    $("overflow-book").hidden = false;
  });
  $("pending-cancel").addEventListener("click", () => {
    if (state.request) abandon(state.request);
  });
  $("print-again").addEventListener("click", () => {
    if (state.ticket) {
      state.confirmUntil = Date.now() + kiosk.confirmation_s * 1000;
      printOnServer(state.ticket);
    }
  });

  i18n.onChange(rerender);
  i18n.apply(document);
  renderHeader();
  lockDown();
  show("home");

  /** A committed change. Most of what a kiosk shows comes with the summaries; the ticket that fills a service's
   * daily cap says so, and the tile turns "full" at once on every kiosk. (Stops and resumes bring a fresh
   * snapshot: live.js rejoins on their ``resync``.) */
  function onEvent(event) {
    const s = event.daily_cap_reached && event.ticket ? service(event.ticket.service) : null;
    if (!s) return;
    s.daily_cap_reached = true;
    renderTiles();
  }

  // A service opens or closes (a lunch break, the day's hours), or a stop by hand starts or ends: these come
  // without an event, so a fresh snapshot just after that instant.
  const openings = HallOpening.watch(() => { if (live) live.resync(); });
  const live = HallLive.connect({
    branch: config.branch,
    role: "kiosk",
    onSnapshot(snapshot) {
      state.snapshot = snapshot;
      openings.update(snapshot.services, Date.parse(snapshot.generated_at), snapshot.issue_stops);
      if (state.summary) applySummary(state.summary);
      renderTiles();
      updateOffline();
    },
    onEvent,
    onSummary: applySummary,
    onStatus,
  });

  setInterval(tick, 1000);
  setInterval(resolveAbandoned, ABANDONED_RETRY_MS);
  tick();

  // For tests and the appointments issue: a small, read-only view of what the kiosk is doing.
  window.HallKiosk = {
    get screen() { return state.screen; },
    get language() { return i18n.language; },
    get pendingKey() { return state.request ? state.request.key : null; },
    get abandoned() { return abandonedList.slice(); },
    preview: PREVIEW,
    takeTicket,
    goHome,
  };
})();
