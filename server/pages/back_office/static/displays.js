/* The displays page: what the wall displays show besides the calls, and live previews of the branch's kiosk and wall.
   Notices (both languages, on/off, order, a preview of the scrolling line) and the media playlist (upload with
   progress, title, time on screen, on/off, order, previews at the wall's ratio). Every rule and limit is the server's:
   this page shows the limits it is told and the reasons it is given, in the page's language. Changes by anyone come
   back over the live connection (media_changed / notices_changed), and the framed previews follow by themselves. */
(function () {
  "use strict";
  const PAGE = JSON.parse(document.getElementById("displays-config").textContent);
  const API = window.HallApi;
  const i18n = HallI18n.create({
    "zh-CN": {
      title: "显示内容", back: "返回值班经理", reconnecting: "正在重新连接…", sign_in_first: "请先以经理身份登录",
      go_sign_in: "前往值班经理页面登录", signed_out: "尚未登录，或登录已过期。",
      not_manager: "显示内容只由本网点的经理管理。",
      notices: "滚动通知", notices_hint: "叫号屏底部依次滚动显示已开启的通知：显示中文时用中文内容，显示英文时用英文内容。",
      notices_count: "{n} 条，{on} 条显示中", no_notices: "还没有通知", add_notice: "添加通知", edit_notice: "编辑第 {n} 条通知",
      text_zh: "中文内容", text_en: "英文内容", count: "{n} / {max}", add: "添加", save: "保存", cancel_edit: "取消编辑",
      edit: "编辑", delete: "删除", cancel: "取消", move_up: "上移", move_down: "下移", shown: "显示中", hidden: "已关闭",
      switch_label: "在叫号屏上显示", lang_zh: "中文", lang_en: "英文", scroll_preview: "在叫号屏上的滚动效果",
      ticker_editing: "预览的是正在编辑的内容。", ticker_all: "预览的是叫号屏此刻滚动的全部通知。",
      ticker_none: "没有开启的通知：叫号屏不显示通知栏。",
      error_text_zh: "请填写中文内容（最多 {max} 字）", error_text_en: "请填写英文内容（最多 {max} 个字符）",
      notice_added: "通知已添加", notice_saved: "通知已保存",
      confirm_notice_title: "删除这条通知？", confirm_notice: "“{text}”将从所有叫号屏上消失，无法恢复。",
      confirm_media_title: "删除这一项？", confirm_media: "“{name}”将从播放列表和所有叫号屏上移除，文件也会删除。",
      media: "图片和视频", media_count: "{n} / {max} 项，{on} 项播放中", no_media: "还没有图片或视频",
      limit_types: "可上传：{types}", limit_image: "图片最大 {mb} MB，默认显示 {s} 秒",
      limit_video: "视频最大 {mb} MB，最长 {s} 秒（播放到结束）", limit_items: "最多 {n} 项",
      file: "文件", title_optional: "标题（可不填）", seconds: "显示秒数", seconds_video: "显示秒数（最多 {max}）",
      upload: "上传", uploading: "正在上传 {percent}%", checking: "正在检查文件…", uploaded: "“{name}”已加入播放列表",
      choose_file: "请选择要上传的图片或视频", playlist: "播放顺序（按叫号屏的比例预览）", image: "图片", video: "视频",
      video_length: "视频 {s} 秒", size_mb: "{mb} MB", size_kb: "{kb} KB", choose: "选择文件", none_chosen: "未选择文件", on_screen: "显示 {s} 秒", untitled: "（无标题）",
      title_label: "标题", saved: "已保存",
      bad_type: "这种文件不能在叫号屏上显示。可上传：{types}。",
      type_mismatch: "文件内容与文件类型不符：文件说自己是 {declared}，内容却是 {detected}。",
      too_large_of: "文件太大：{size} MB，最多 {max} MB。", too_large: "文件太大：最多 {max} MB。",
      too_long: "视频太长：{length} 秒，最长 {max} 秒。", playlist_full: "播放列表已满（最多 {max} 项），请先删除一项。",
      empty_file: "文件是空的。", bad_seconds: "显示秒数须大于 0，且不超过 {max} 秒。", bad_title: "标题最多 {max} 个字。",
      gone: "这一项已经不在了（可能被其他经理删除），列表已刷新。", order_changed: "顺序刚被其他人改过，列表已刷新，请再试。",
      offline: "无法连接服务器，请稍后重试", busy: "服务器正忙，请稍后重试", failed: "操作没有完成（{code}）",
      previews: "取号机和叫号屏实时预览", preview_language: "预览语言", kiosk_orientation: "取号机方向",
      portrait: "竖屏", landscape: "横屏", preview_badge: "预览", kiosk: "取号机", wall: "叫号屏",
      previews_hint: "这是本网点取号机和叫号屏此刻的画面，随排队实时变化。预览中不会取号、不发声音，也不算作设备。",
      frame_kiosk: "取号机预览（不会取号）", frame_wall: "叫号屏预览（无声音）",
    },
    en: {
      title: "Displays", back: "Back to the manager page", reconnecting: "Reconnecting…",
      sign_in_first: "Sign in as a manager first", go_sign_in: "Sign in on the manager page",
      signed_out: "Not signed in, or the session has ended.",
      not_manager: "What the displays show is managed by this branch's managers only.",
      notices: "Scrolling notices",
      notices_hint: "The wall displays scroll the notices that are on along the bottom: the Chinese text while they show Chinese, the English text while they show English.",
      notices_count: { one: "{n} notice, {on} on", other: "{n} notices, {on} on" }, no_notices: "No notices yet",
      add_notice: "Add a notice", edit_notice: "Edit notice {n}", text_zh: "Chinese text", text_en: "English text",
      count: "{n} / {max}", add: "Add", save: "Save", cancel_edit: "Cancel editing", edit: "Edit", delete: "Delete",
      cancel: "Cancel", move_up: "Move up", move_down: "Move down", shown: "On", hidden: "Off",
      switch_label: "Show on the wall displays", lang_zh: "Chinese", lang_en: "English",
      scroll_preview: "How it scrolls on the wall display", ticker_editing: "Previewing the text being edited.",
      ticker_all: "Previewing every notice the wall displays scroll now.",
      ticker_none: "No notice is on: the wall displays show no notice bar.",
      error_text_zh: "Enter the Chinese text (at most {max} characters)",
      error_text_en: "Enter the English text (at most {max} characters)",
      notice_added: "Notice added", notice_saved: "Notice saved",
      confirm_notice_title: "Delete this notice?",
      confirm_notice: "“{text}” will disappear from every wall display. This cannot be undone.",
      confirm_media_title: "Delete this item?",
      confirm_media: "“{name}” will be removed from the playlist and every wall display, and its file deleted.",
      media: "Images and videos", media_count: "{n} of {max} items, {on} playing", no_media: "No images or videos yet",
      limit_types: "Accepted: {types}", limit_image: "Images up to {mb} MB, shown {s} s unless you say otherwise",
      limit_video: "Videos up to {mb} MB and {s} s long (played to the end)", limit_items: "At most {n} items",
      file: "File", title_optional: "Title (optional)", seconds: "Seconds on screen",
      seconds_video: "Seconds on screen (at most {max})", upload: "Upload", uploading: "Uploading {percent}%",
      checking: "Checking the file…", uploaded: "“{name}” was added to the playlist",
      choose_file: "Choose an image or a video to upload", playlist: "Playlist, in order (previewed at the wall's ratio)",
      image: "Image", video: "Video", video_length: "video {s} s", size_mb: "{mb} MB", size_kb: "{kb} KB",
      choose: "Choose a file", none_chosen: "No file chosen", on_screen: "{s} s on screen",
      untitled: "(no title)", title_label: "Title", saved: "Saved",
      bad_type: "This file cannot be shown on the wall displays. Accepted: {types}.",
      type_mismatch: "The file's content does not match its type: it says {declared} but contains {detected}.",
      too_large_of: "The file is too large: {size} MB, at most {max} MB.", too_large: "The file is too large: at most {max} MB.",
      too_long: "The video is too long: {length} s, at most {max} s.",
      playlist_full: "The playlist is full ({max} items): delete one first.", empty_file: "The file is empty.",
      bad_seconds: "Seconds on screen must be more than 0 and at most {max}.", bad_title: "A title is at most {max} characters.",
      gone: "That item is no longer there (another manager may have deleted it); the list was refreshed.",
      order_changed: "Someone else has just changed the order; the list was refreshed, try again.",
      offline: "The server cannot be reached: try again in a moment", busy: "The server is busy: try again in a moment",
      failed: "The change was not made ({code})",
      previews: "Live previews of the kiosk and the wall display", preview_language: "Preview language",
      kiosk_orientation: "Kiosk orientation", portrait: "Portrait", landscape: "Landscape", preview_badge: "Preview",
      kiosk: "Kiosk", wall: "Wall display",
      previews_hint: "This branch's kiosk and wall display as they are now, live. The previews take no tickets, make no sound and do not count as devices.",
      frame_kiosk: "Kiosk preview (takes no tickets)", frame_wall: "Wall display preview (silent)",
    },
  }, PAGE.language);

  const $ = (selector) => document.querySelector(selector);
  const MB = 1024 * 1024;
  const state = {
    notices: [],
    noticeMax: 500, // replaced by the server's limit with the list
    editing: null, // the id of the notice in the form, or null when adding
    media: [],
    limits: null,
    /* A refused edit of a media item, by id: what was typed and why it was refused. It survives a redraw (a live
       change from another screen, or this page's own), so the reason stays beside the value until it is fixed. */
    refusedMedia: new Map(),
    previewLanguage: PAGE.language || "zh-CN",
    kioskDevice: "kiosk_portrait",
    uploading: false,
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function button(text, className, onClick, label) {
    const node = el("button", className, text);
    node.type = "button";
    if (label) node.setAttribute("aria-label", label);
    node.addEventListener("click", onClick);
    return node;
  }

  /** The number of characters as the server counts them (code points, not UTF-16 units). */
  function length(text) {
    return Array.from(text).length;
  }

  function mb(bytes) {
    return (Math.round((bytes / MB) * 10) / 10).toLocaleString(i18n.language);
  }

  /** A file's size as a person reads it: KB below a tenth of a megabyte. */
  function size(bytes) {
    if (bytes < MB / 10) return i18n.t("size_kb", { kb: Math.max(1, Math.round(bytes / 1024)) });
    return i18n.t("size_mb", { mb: mb(bytes) });
  }

  function typesText() {
    const names = (state.limits ? state.limits.types : []).map((type) => type.split("/")[1].toUpperCase());
    return names.join(i18n.language === "zh-CN" ? "、" : ", ");
  }

  // --- what went wrong, in the page's language --------------------------------------------------------

  /** The text for a refusal; ``field`` errors (pydantic's problems) are said at their field by the caller. */
  function problem(error) {
    if (!(error instanceof API.Error) || error.status === 0) return i18n.t("offline");
    const d = error.details || {};
    const limits = state.limits || {};
    switch (error.code) {
      case "unsupported_media_type": return i18n.t("bad_type", { types: typesText() });
      case "content_type_mismatch": return i18n.t("type_mismatch", { declared: d.declared, detected: d.detected });
      case "file_too_large":
      case "request_entity_too_large":
        if (d.size_bytes && d.max_bytes) return i18n.t("too_large_of", { size: mb(d.size_bytes), max: mb(d.max_bytes) });
        return i18n.t("too_large", { max: Math.max(limits.max_image_mb || 0, limits.max_video_mb || 0) });
      case "video_too_long": return i18n.t("too_long", { length: d.length_s, max: d.max_video_s });
      case "playlist_full": return i18n.t("playlist_full", { max: limits.max_items });
      case "empty_file": return i18n.t("empty_file");
      case "file_missing": return i18n.t("choose_file");
      case "unknown_media": case "unknown_notice": return i18n.t("gone");
      case "invalid_order": return i18n.t("order_changed");
      case "database_busy": case "database_unavailable": return i18n.t("busy");
      default: break;
    }
    if (error.status === 401) return i18n.t("signed_out");
    if (error.status === 403) return i18n.t("not_manager");
    if (error.status >= 500) return i18n.t("busy");
    return i18n.t("failed", { code: error.code });
  }

  /** The fields the server named in a 422 (``text.zh-CN``, ``seconds``, …). */
  function badFields(error) {
    if (!(error instanceof API.Error) || error.status !== 422) return [];
    return ((error.details && error.details.problems) || []).map((p) => p.field);
  }

  function signedOutBy(error) {
    if (error instanceof API.Error && (error.status === 401 || error.status === 403)) {
      showSignedOut(error.status === 401 ? "signed_out" : "not_manager");
      return true;
    }
    return false;
  }

  function showSignedOut(why) {
    $("#displays-board").hidden = true;
    $("#signed-out").hidden = false;
    $("#signed-out-why").textContent = i18n.t(why);
    for (const frame of document.querySelectorAll("iframe")) frame.removeAttribute("src");
  }

  // --- confirmation ---------------------------------------------------------------------------------

  function confirmDelete(title, text) {
    const dialog = $("#confirm-dialog");
    $("#confirm-title").textContent = title;
    $("#confirm-text").textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true });
    });
  }

  // --- notices ----------------------------------------------------------------------------------------

  async function loadNotices() {
    try {
      const answer = await API.get(PAGE.api + "/notices", { cache: "no-store" });
      state.notices = answer.notices;
      state.noticeMax = answer.limits.max_chars;
      $("#notices-error").textContent = "";
      if (state.editing !== null && !state.notices.some((n) => n.id === state.editing)) resetNoticeForm();
    } catch (error) {
      if (signedOutBy(error)) return;
      $("#notices-error").textContent = problem(error);
    }
    renderNotices();
  }

  function renderNotices() {
    const list = $("#notices");
    const count = state.notices.length;
    list.replaceChildren(...state.notices.map((notice, index) => noticeItem(notice, index, count)));
    $("#notices-empty").hidden = count > 0;
    const on = state.notices.filter((n) => n.enabled).length;
    $("#notices-count").textContent = count ? i18n.t("notices_count", { n: count, on }) : "";
    for (const language of ["zh", "en"]) {
      const area = $(`#notice-${language}`);
      area.maxLength = state.noticeMax;
      $(`#notice-${language}-count`).textContent = i18n.t("count", { n: length(area.value), max: state.noticeMax });
    }
    $("#notice-form-title").textContent = state.editing === null ? i18n.t("add_notice")
      : i18n.t("edit_notice", { n: state.notices.findIndex((n) => n.id === state.editing) + 1 });
    $("#notice-save").textContent = i18n.t(state.editing === null ? "add" : "save");
    $("#notice-cancel").hidden = state.editing === null;
    renderTickers();
  }

  function onOffSwitch(enabled, onChange) {
    const label = el("label", "switch");
    const input = el("input");
    input.type = "checkbox";
    input.setAttribute("role", "switch");
    input.checked = enabled;
    input.setAttribute("aria-label", i18n.t("switch_label"));
    input.addEventListener("change", () => onChange(input.checked, input));
    label.append(input, el("span", "switch-text", i18n.t(enabled ? "shown" : "hidden")));
    return label;
  }

  function moveButtons(index, count, move) {
    const up = button("↑", "ghost icon", () => move(index, -1), i18n.t("move_up"));
    const down = button("↓", "ghost icon", () => move(index, 1), i18n.t("move_down"));
    up.disabled = index === 0;
    down.disabled = index === count - 1;
    return [up, down];
  }

  function noticeItem(notice, index, count) {
    const item = el("li", "item notice" + (notice.enabled ? "" : " off") + (notice.id === state.editing ? " editing" : ""));
    item.dataset.id = String(notice.id);
    item.append(el("span", "pos", String(index + 1)));
    const texts = el("div", "texts");
    const zh = el("p", "text", notice.text["zh-CN"]);
    zh.lang = "zh-CN";
    const en = el("p", "text", notice.text.en);
    en.lang = "en";
    texts.append(zh, en);
    item.append(texts);
    const actions = el("div", "item-actions");
    actions.append(onOffSwitch(notice.enabled, (enabled, input) => changeNotice(notice, { enabled }, input)));
    actions.append(...moveButtons(index, count, moveNotice));
    actions.append(button(i18n.t("edit"), "ghost", () => editNotice(notice)));
    actions.append(button(i18n.t("delete"), "danger-outline", () => deleteNotice(notice)));
    item.append(actions);
    return item;
  }

  async function changeNotice(notice, changes, input) {
    if (input) input.disabled = true;
    try {
      await API.patch(`${PAGE.api}/notices/${notice.id}`, changes);
      $("#notices-error").textContent = "";
    } catch (error) {
      if (signedOutBy(error)) return;
      $("#notices-error").textContent = problem(error);
    }
    await loadNotices();
  }

  async function moveNotice(index, delta) {
    const ids = state.notices.map((n) => n.id);
    const [moved] = ids.splice(index, 1);
    ids.splice(index + delta, 0, moved);
    try {
      const answer = await API.put(`${PAGE.api}/notices/order`, { ids });
      state.notices = answer.notices;
      $("#notices-error").textContent = "";
      renderNotices();
      focusMoved("#notices", moved, delta);
    } catch (error) {
      if (signedOutBy(error)) return;
      $("#notices-error").textContent = problem(error);
      await loadNotices();
    }
  }

  /** After a move, keep the keyboard on the moved item's same button (or the other one at an end). */
  function focusMoved(listSelector, id, delta) {
    const item = document.querySelector(`${listSelector} li[data-id="${id}"]`);
    if (!item) return;
    const buttons = item.querySelectorAll("button.icon");
    const wanted = buttons[delta < 0 ? 0 : 1];
    (wanted && !wanted.disabled ? wanted : buttons[delta < 0 ? 1 : 0]).focus();
  }

  async function deleteNotice(notice) {
    const text = i18n.pick(notice.text);
    const short = length(text) > 40 ? Array.from(text).slice(0, 40).join("") + "…" : text;
    if (!(await confirmDelete(i18n.t("confirm_notice_title"), i18n.t("confirm_notice", { text: short })))) return;
    try {
      await API.delete(`${PAGE.api}/notices/${notice.id}`);
      $("#notices-error").textContent = "";
    } catch (error) {
      if (signedOutBy(error)) return;
      $("#notices-error").textContent = problem(error);
    }
    await loadNotices();
  }

  function editNotice(notice) {
    state.editing = notice.id;
    $("#notice-zh").value = notice.text["zh-CN"];
    $("#notice-en").value = notice.text.en;
    clearNoticeErrors();
    renderNotices();
    $("#notice-zh").focus();
  }

  function resetNoticeForm() {
    state.editing = null;
    $("#notice-form").reset();
    clearNoticeErrors();
  }

  function clearNoticeErrors() {
    for (const language of ["zh", "en"]) {
      $(`#notice-${language}-error`).textContent = "";
      $(`#notice-${language}`).removeAttribute("aria-invalid");
    }
    $("#notice-form-error").textContent = "";
  }

  function fieldError(language, on) {
    const area = $(`#notice-${language}`);
    $(`#notice-${language}-error`).textContent = on ? i18n.t(`error_text_${language}`, { max: state.noticeMax }) : "";
    if (on) area.setAttribute("aria-invalid", "true");
    else area.removeAttribute("aria-invalid");
  }

  async function saveNotice(event) {
    event.preventDefault();
    clearNoticeErrors();
    const text = { "zh-CN": $("#notice-zh").value.trim(), en: $("#notice-en").value.trim() };
    const missing = { zh: !text["zh-CN"] || length(text["zh-CN"]) > state.noticeMax,
                      en: !text.en || length(text.en) > state.noticeMax };
    fieldError("zh", missing.zh);
    fieldError("en", missing.en);
    if (missing.zh || missing.en) {
      $(missing.zh ? "#notice-zh" : "#notice-en").focus();
      return;
    }
    const save = $("#notice-save");
    save.disabled = true;
    try {
      if (state.editing === null) await API.post(`${PAGE.api}/notices`, { text });
      else await API.patch(`${PAGE.api}/notices/${state.editing}`, { text });
      resetNoticeForm();
    } catch (error) {
      if (signedOutBy(error)) return;
      const fields = badFields(error);
      if (fields.some((f) => f.includes("zh-CN"))) fieldError("zh", true);
      if (fields.some((f) => f.endsWith(".en"))) fieldError("en", true);
      if (!fields.length || error.code !== "invalid_request") $("#notice-form-error").textContent = problem(error);
      else if (!fields.some((f) => f.startsWith("text."))) $("#notice-form-error").textContent = problem(error);
    } finally {
      save.disabled = false;
    }
    await loadNotices();
  }

  /** The wall's notice bar, both languages: what is being typed, else every notice that is on, as the wall
      scrolls them (display/static/wall.js renderNotices: the same pace in characters per second). */
  function renderTickers() {
    const typed = { "zh-CN": $("#notice-zh").value.trim(), en: $("#notice-en").value.trim() };
    const editing = Boolean(typed["zh-CN"] || typed.en);
    const on = state.notices.filter((n) => n.enabled);
    for (const ticker of document.querySelectorAll(".ticker")) {
      const language = ticker.dataset.language;
      const texts = editing ? [typed[language]].filter(Boolean) : on.map((n) => n.text[language]).filter(Boolean);
      const track = ticker.querySelector(".ticker-track");
      const copy = el("div", "ticker-copy");
      copy.append(...texts.map((text) => el("span", null, text)));
      const second = copy.cloneNode(true);
      second.setAttribute("aria-hidden", "true");
      track.replaceChildren(copy, second);
      ticker.hidden = !texts.length;
      const characters = texts.join("").length;
      track.style.setProperty("--ticker-duration", `${Math.max(20, Math.round(characters * 0.45 + 12))}s`);
    }
    $("#ticker-hint").textContent = i18n.t(editing ? "ticker_editing" : on.length ? "ticker_all" : "ticker_none");
  }

  // --- media ------------------------------------------------------------------------------------------

  async function loadMedia() {
    try {
      const answer = await API.get(PAGE.api + "/media", { cache: "no-store" });
      $("#media-error").textContent = "";
      const unchanged = JSON.stringify([state.media, state.limits]) === JSON.stringify([answer.media, answer.limits]);
      state.media = answer.media;
      state.limits = answer.limits;
      const ids = new Set(answer.media.map((m) => m.id));
      for (const id of state.refusedMedia.keys()) if (!ids.has(id)) state.refusedMedia.delete(id);
      if (unchanged) return; // a redraw would take the focus from a field being typed in
    } catch (error) {
      if (signedOutBy(error)) return;
      $("#media-error").textContent = problem(error);
    }
    renderMedia();
  }

  function renderLimits() {
    const limits = state.limits;
    const list = $("#media-limits");
    if (!limits) return list.replaceChildren();
    list.replaceChildren(
      el("li", null, i18n.t("limit_types", { types: typesText() })),
      el("li", null, i18n.t("limit_image", { mb: limits.max_image_mb, s: limits.image_seconds })),
      el("li", null, i18n.t("limit_video", { mb: limits.max_video_mb, s: limits.max_video_s })),
      el("li", null, i18n.t("limit_items", { n: limits.max_items })),
    );
    const file = $("#upload-file");
    file.accept = limits.types.join(",");
    const seconds = $("#upload-seconds");
    seconds.max = String(limits.max_seconds);
    seconds.placeholder = String(limits.image_seconds);
    $("#upload-title").maxLength = limits.max_title_chars;
  }

  function renderMedia() {
    renderLimits();
    const count = state.media.length;
    $("#media").replaceChildren(...state.media.map((item, index) => mediaItem(item, index, count)));
    $("#media-empty").hidden = count > 0;
    const on = state.media.filter((m) => m.enabled).length;
    $("#media-count").textContent = state.limits
      ? i18n.t("media_count", { n: count, max: state.limits.max_items, on }) : "";
  }

  function itemName(item) {
    return item.title || item.original_name || i18n.t(item.kind);
  }

  /** Where a video's first frame is drawn (a poster): a moment in, so that a fade from black shows something. */
  function thumbnail(item) {
    const frame = el("div", "thumb");
    if (item.kind === "video") {
      const video = el("video");
      video.muted = true;
      video.preload = "metadata";
      video.controls = true;
      video.playsInline = true;
      video.src = item.url + "#t=0.5";
      frame.append(video);
    } else {
      const image = el("img");
      image.alt = itemName(item);
      image.loading = "lazy";
      image.src = item.url;
      frame.append(image);
    }
    return frame;
  }

  function secondsLimit(item) {
    if (item.kind !== "video") return state.limits.max_seconds;
    const length = item.video_length_s || state.limits.max_video_s;
    return Math.min(length, state.limits.max_video_s);
  }

  function mediaItem(item, index, count) {
    const node = el("li", "media-item" + (item.enabled ? "" : " off"));
    node.dataset.id = String(item.id);
    node.dataset.kind = item.kind;
    node.append(thumbnail(item));
    const meta = el("div", "meta");
    const head = el("div", "meta-head");
    head.append(el("span", "pos", String(index + 1)), el("span", "kind", i18n.t(item.kind)));
    const facts = [size(item.size_bytes)];
    if (item.kind === "video" && item.video_length_s) facts.push(i18n.t("video_length", { s: Math.round(item.video_length_s) }));
    const file = el("span", "file", [item.original_name, ...facts].filter(Boolean).join(" · "));
    file.translate = false;
    head.append(file);
    meta.append(head);

    const fields = el("div", "meta-fields");
    const title = el("input");
    title.type = "text";
    title.value = item.title || "";
    title.placeholder = i18n.t("untitled");
    title.maxLength = state.limits.max_title_chars;
    const titleLabel = el("label", "field grow");
    titleLabel.append(el("span", null, i18n.t("title_label")), title);
    const seconds = el("input");
    seconds.type = "number";
    seconds.min = "1";
    seconds.step = "1";
    seconds.max = String(secondsLimit(item));
    seconds.value = String(item.seconds);
    seconds.inputMode = "numeric";
    const secondsLabel = el("label", "field seconds");
    secondsLabel.append(el("span", null, item.kind === "video"
      ? i18n.t("seconds_video", { max: Math.round(secondsLimit(item)) }) : i18n.t("seconds")), seconds);
    fields.append(titleLabel, secondsLabel);
    meta.append(fields);
    const error = el("p", "field-error");
    error.setAttribute("role", "alert");
    meta.append(error);
    const refused = state.refusedMedia.get(item.id);
    if (refused) {
      const input = refused.field === "title" ? title : refused.field === "seconds" ? seconds : null;
      if (input) {
        input.value = refused.value;
        input.setAttribute("aria-invalid", "true");
      }
      error.textContent = refused.message;
    }

    title.addEventListener("change", () => changeMedia(item, { title: title.value.trim() }, error, title));
    seconds.addEventListener("change", () => {
      const value = Number(seconds.value);
      changeMedia(item, { seconds: Number.isFinite(value) && seconds.value !== "" ? value : -1 }, error, seconds);
    });

    const actions = el("div", "item-actions");
    actions.append(onOffSwitch(item.enabled, (enabled, input) => changeMedia(item, { enabled }, error, input)));
    actions.append(...moveButtons(index, count, moveMedia));
    actions.append(button(i18n.t("delete"), "danger-outline", () => deleteMedia(item)));
    meta.append(actions);
    node.append(meta);
    return node;
  }

  async function changeMedia(item, changes, errorBox, input) {
    errorBox.textContent = "";
    input.removeAttribute("aria-invalid");
    state.refusedMedia.delete(item.id);
    try {
      await API.patch(`${PAGE.api}/media/${item.id}`, changes);
    } catch (error) {
      if (signedOutBy(error)) return;
      const fields = badFields(error);
      let message = problem(error);
      if (fields.includes("seconds")) message = i18n.t("bad_seconds", { max: secondsLimit(item) });
      else if (fields.includes("title")) message = i18n.t("bad_title", { max: state.limits.max_title_chars });
      const field = "seconds" in changes ? "seconds" : "title" in changes ? "title" : "enabled";
      state.refusedMedia.set(item.id, { field, value: input.value, message });
      // the item may have been redrawn while the request was out: show the reason on what is on screen now
      const node = document.querySelector(`#media li[data-id="${item.id}"]`);
      const box = node ? node.querySelector(".field-error") : errorBox;
      box.textContent = message;
      const shown = node && field !== "enabled" ? node.querySelector(field === "title" ? "input[type=text]" : "input[type=number]") : input;
      if (shown !== input) shown.value = input.value;
      shown.setAttribute("aria-invalid", "true");
      shown.focus();
      return; // keep what was typed beside its reason
    }
    await loadMedia();
  }

  async function moveMedia(index, delta) {
    const ids = state.media.map((m) => m.id);
    const [moved] = ids.splice(index, 1);
    ids.splice(index + delta, 0, moved);
    try {
      const answer = await API.put(`${PAGE.api}/media/order`, { ids });
      state.media = answer.media;
      $("#media-error").textContent = "";
      renderMedia();
      focusMoved("#media", moved, delta);
    } catch (error) {
      if (signedOutBy(error)) return;
      $("#media-error").textContent = problem(error);
      await loadMedia();
    }
  }

  async function deleteMedia(item) {
    if (!(await confirmDelete(i18n.t("confirm_media_title"), i18n.t("confirm_media", { name: itemName(item) })))) return;
    try {
      await API.delete(`${PAGE.api}/media/${item.id}`);
      $("#media-error").textContent = "";
    } catch (error) {
      if (signedOutBy(error)) return;
      $("#media-error").textContent = problem(error);
    }
    await loadMedia();
  }

  /** POST the file as a form, with the upload's progress (fetch cannot report it); the API's errors as HallApi's. */
  function sendUpload(form, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", PAGE.api + "/media");
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      request.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(request.responseText);
        } catch (error) {
          body = null;
        }
        if (request.status >= 200 && request.status < 300 && body) return resolve(body);
        const data = body && typeof body === "object" ? body : {};
        reject(new API.Error(request.status, data.error || `http_${request.status}`, data.message, data.details, data));
      });
      request.addEventListener("error", () => reject(new API.Error(0, "network", "no answer")));
      request.addEventListener("abort", () => reject(new API.Error(0, "network", "aborted")));
      request.send(form);
    });
  }

  function showProgress(fraction) {
    const percent = Math.round(fraction * 100);
    $("#upload-progress").hidden = false;
    $("#upload-bar").value = percent;
    $("#upload-percent").textContent = percent >= 100 ? i18n.t("checking") : i18n.t("uploading", { percent });
  }

  async function upload(event) {
    event.preventDefault();
    if (state.uploading) return;
    $("#upload-error").textContent = "";
    $("#upload-done").textContent = "";
    const file = $("#upload-file").files[0];
    if (!file) {
      $("#upload-error").textContent = i18n.t("choose_file");
      $("#upload-file").focus();
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    const title = $("#upload-title").value.trim();
    if (title) form.append("title", title);
    const seconds = $("#upload-seconds").value.trim();
    if (seconds) form.append("seconds", seconds);
    state.uploading = true;
    $("#upload-button").disabled = true;
    showProgress(0);
    try {
      const item = await sendUpload(form, showProgress);
      $("#upload-form").reset();
      showChosen();
      $("#upload-done").textContent = i18n.t("uploaded", { name: itemName(item) });
    } catch (error) {
      if (signedOutBy(error)) return;
      const fields = badFields(error);
      $("#upload-error").textContent = error.code === "invalid_request" && (fields.includes("seconds") || !fields.length)
        ? i18n.t("bad_seconds", { max: state.limits ? state.limits.max_seconds : 600 }) : problem(error);
    } finally {
      state.uploading = false;
      $("#upload-button").disabled = false;
      $("#upload-progress").hidden = true;
    }
    await loadMedia();
  }

  // --- live previews of the kiosk and the wall -----------------------------------------------------------

  function previewSrc(device) {
    const query = new URLSearchParams({ preview: "1", lang: state.previewLanguage });
    return PAGE.previews[device].path + "?" + query.toString();
  }

  function setFrame(frame, device) {
    const size = PAGE.previews[device];
    const src = previewSrc(device);
    frame.dataset.device = device;
    frame.style.width = `${size.width}px`;
    frame.style.height = `${size.height}px`;
    if (frame.getAttribute("src") !== src) frame.src = src;
    const figure = frame.closest(".preview");
    figure.classList.toggle("portrait", size.height > size.width);
    figure.classList.toggle("landscape", size.height <= size.width);
    figure.querySelector(".size").textContent = `${size.width}×${size.height}`;
    scale(frame);
  }

  /** Draw the device's page at its own size and shrink it to the frame's box (the page lays out as on the device). */
  function scale(frame) {
    const size = PAGE.previews[frame.dataset.device];
    const box = frame.parentElement;
    const factor = box.clientWidth / size.width;
    if (!factor) return;
    frame.style.transform = `scale(${factor})`;
    box.style.height = `${Math.round(size.height * factor)}px`;
  }

  function renderPreviews() {
    for (const group of ["#preview-language", "#kiosk-orientation"]) {
      const chosen = group === "#preview-language" ? state.previewLanguage : state.kioskDevice;
      for (const choice of document.querySelectorAll(`${group} button`)) {
        choice.setAttribute("aria-pressed", String(choice.dataset.value === chosen));
      }
    }
    const kiosk = $("#kiosk-frame");
    const wall = $("#wall-frame");
    kiosk.title = i18n.t("frame_kiosk");
    wall.title = i18n.t("frame_wall");
    setFrame(kiosk, state.kioskDevice);
    setFrame(wall, "wall");
  }

  const resized = new ResizeObserver(() => document.querySelectorAll(".preview iframe").forEach(scale));

  // --- the page ---------------------------------------------------------------------------------------

  function applyLanguage() {
    i18n.apply(document);
    $("#hall-name").textContent = i18n.pick(PAGE.branch.name);
    $("#lang").textContent = i18n.language === "zh-CN" ? "English" : "中文";
    $("#lang").lang = i18n.language === "zh-CN" ? "en" : "zh-CN";
    const lang = "?lang=" + i18n.language;
    $("#back").href = PAGE.manager_page + lang;
    $("#sign-in-link").href = PAGE.manager_page + lang;
    renderNotices();
    renderMedia();
    showChosen();
  }

  let reloadTimer = null;
  const reloads = new Set();
  function reloadSoon(what) {
    reloads.add(what);
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      if (reloads.has("notices")) loadNotices();
      if (reloads.has("media")) loadMedia();
      reloads.clear();
    }, 250);
  }

  function startLive() {
    let joined = false;
    HallLive.connect({
      branch: PAGE.branch.code,
      role: "manager",
      onSnapshot() {
        if (joined) { reloadSoon("notices"); reloadSoon("media"); } // back after a gap: what changed meanwhile
        joined = true;
      },
      onEvent(event) {
        if (event.kind === "notices_changed") reloadSoon("notices");
        if (event.kind === "media_changed") reloadSoon("media");
      },
      onRefused() { showSignedOut("not_manager"); },
    });
  }

  $("#lang").addEventListener("click", () => {
    i18n.setLanguage(i18n.language === "zh-CN" ? "en" : "zh-CN");
    applyLanguage();
    renderPreviews();
  });
  $("#notice-form").addEventListener("submit", saveNotice);
  $("#notice-cancel").addEventListener("click", () => { resetNoticeForm(); renderNotices(); });
  for (const language of ["zh", "en"]) {
    $(`#notice-${language}`).addEventListener("input", () => {
      const area = $(`#notice-${language}`);
      $(`#notice-${language}-count`).textContent = i18n.t("count", { n: length(area.value), max: state.noticeMax });
      if (area.value.trim()) fieldError(language, false);
      renderTickers();
    });
  }
  $("#upload-form").addEventListener("submit", upload);
  function showChosen() {
    const file = $("#upload-file").files[0];
    $("#upload-chosen").textContent = file ? `${file.name} · ${size(file.size)}` : i18n.t("none_chosen");
  }
  $("#upload-file").addEventListener("change", () => {
    $("#upload-error").textContent = "";
    $("#upload-done").textContent = "";
    showChosen();
  });
  for (const choice of document.querySelectorAll("#preview-language button")) {
    choice.addEventListener("click", () => { state.previewLanguage = choice.dataset.value; renderPreviews(); });
  }
  for (const choice of document.querySelectorAll("#kiosk-orientation button")) {
    choice.addEventListener("click", () => { state.kioskDevice = choice.dataset.value; renderPreviews(); });
  }

  async function start() {
    applyLanguage();
    let who;
    try {
      who = await API.get("/api/session");
    } catch (error) {
      showSignedOut("signed_out");
      $("#signed-out-why").textContent = problem(error);
      return;
    }
    if (!who.username) return showSignedOut("signed_out");
    if (!who.manages) return showSignedOut("not_manager");
    $("#displays-board").hidden = false;
    await Promise.all([loadNotices(), loadMedia()]);
    if ($("#displays-board").hidden) return; // refused meanwhile (another branch's manager)
    document.querySelectorAll(".preview-screen").forEach((box) => resized.observe(box));
    renderPreviews();
    startLive();
  }
  start();
})();
