/*
 * HallOpening: when a closed service takes tickets again, in words a customer reads, and a timer that wakes a
 * screen when a service opens or closes. The server decides the hours; the snapshot gives each service `open`,
 * `opens_at` (closed: its next opening), `open_until` (open: when this opening ends) and `closed_for` (a public
 * holiday's name), and the branch's time zone. This only words them, in that zone:
 *
 *   HallOpening.describe(service, language, timeZone, nowMs)
 *     -> null while open, else {holiday: "国庆节休息" | null, next: "明天 09:00 开始取号", text: both joined}
 *   const watcher = HallOpening.watch(() => live.resync());
 *   watcher.update(snapshot.services, Date.parse(snapshot.generated_at));  // after every snapshot
 *   watcher.update(snapshot.services, Date.parse(snapshot.generated_at), snapshot.issue_stops);  // and stops
 *
 * Issue stopped by hand starts and ends the same way, without an event: a scheduled stop at its `starts_at`, a
 * stop at its `ends_at`. Pass the snapshot's `issue_stops` and the timer wakes for those instants too. So does a
 * service's last-ticket time (`tickets_until`), after which the snapshot says `last_ticket_passed`.
 */
(function (global) {
  "use strict";

  const TEXTS = {
    "zh-CN": {
      today: "今天 {time} 开始取号",
      tomorrow: "明天 {time} 开始取号",
      weekday: "{day} {time} 开始取号",
      date: "{date} {time} 开始取号",
      none: "暂停取号",
      holiday: "{name}休息",
    },
    en: {
      today: "Tickets from {time} today",
      tomorrow: "Tickets from {time} tomorrow",
      weekday: "Tickets from {time} {day}",
      date: "Tickets from {time} on {date}",
      none: "Not taking tickets",
      holiday: "Closed for {name}",
    },
  };
  const LOCALES = { "zh-CN": "zh-CN", en: "en-GB" };
  const DAY_MS = 86400000;
  const MIN_WAKE_MS = 1000; // never sooner: a screen whose clock runs ahead must not ask again and again
  const MAX_WAKE_MS = 6 * 3600 * 1000; // setTimeout's range is limited; a longer wait simply wakes and re-plans
  const JITTER_MS = 2500; // screens of a hall do not all ask at the same instant

  const formats = new Map();
  function format(language, timeZone, kind) {
    const key = language + "|" + timeZone + "|" + kind;
    if (!formats.has(key)) {
      const options = {
        time: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
        day: { year: "numeric", month: "numeric", day: "numeric" },
        weekday: { weekday: language === "en" ? "long" : "short" },
        date: language === "en" ? { day: "numeric", month: "short" } : { month: "long", day: "numeric" },
      }[kind];
      const locale = kind === "time" || kind === "day" ? "en-GB" : LOCALES[language] || "zh-CN";
      formats.set(key, new Intl.DateTimeFormat(locale, { ...options, timeZone }));
    }
    return formats.get(key);
  }

  /** Days since the epoch of the local date at ``ms`` in ``timeZone`` (to tell today, tomorrow, ...). */
  function localDay(ms, timeZone) {
    const parts = {};
    format("en", timeZone, "day").formatToParts(new Date(ms)).forEach((p) => { parts[p.type] = p.value; });
    return Math.round(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)) / DAY_MS);
  }

  function fill(text, vars) {
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  }

  /** "明天 09:00 开始取号" / "Tickets from 09:00 tomorrow" for an opening instant (ISO), or "not taking tickets". */
  function nextOpening(iso, language, timeZone, nowMs) {
    const texts = TEXTS[language] || TEXTS["zh-CN"];
    const at = iso ? Date.parse(iso) : NaN;
    if (Number.isNaN(at)) return texts.none;
    const date = new Date(at);
    const vars = {
      time: format(language, timeZone, "time").format(date),
      day: format(language, timeZone, "weekday").format(date),
      date: format(language, timeZone, "date").format(date),
    };
    const days = localDay(at, timeZone) - localDay(nowMs, timeZone);
    const key = days <= 0 ? "today" : days === 1 ? "tomorrow" : days < 7 ? "weekday" : "date";
    return fill(texts[key], vars);
  }

  function describe(service, language, timeZone, nowMs) {
    if (!service || service.open) return null;
    const texts = TEXTS[language] || TEXTS["zh-CN"];
    const name = service.closed_for ? service.closed_for[language] || service.closed_for["zh-CN"] : "";
    const holiday = name ? fill(texts.holiday, { name }) : null;
    const next = nextOpening(service.opens_at, language, timeZone, nowMs === undefined ? Date.now() : nowMs);
    return { holiday, next, text: holiday ? holiday + " · " + next : next };
  }

  /**
   * The earliest instant (ms) a service opens or closes, from the snapshot's services, or (``stops``, the snapshot's
   * issue_stops) a stop starts or ends after ``nowMs``; null if none ahead. A stop in force started before now:
   * only instants still to come count, or the screen would ask again and again.
   */
  function nextChange(services, stops, nowMs) {
    let earliest = null;
    const consider = (at) => {
      if (!Number.isNaN(at) && (earliest === null || at < earliest)) earliest = at;
    };
    const now = nowMs === undefined ? Date.now() : nowMs;
    (services || []).forEach((s) => {
      consider(Date.parse(s.open ? s.open_until : s.opens_at));
      const until = s.open && !s.last_ticket_passed && s.tickets_until ? Date.parse(s.tickets_until) : NaN;
      if (until > now) consider(until);
    });
    (stops || []).forEach((stop) => {
      [stop.starts_at, stop.ends_at].forEach((iso) => {
        const at = iso ? Date.parse(iso) : NaN;
        if (at > now) consider(at);
      });
    });
    return earliest;
  }

  /** Calls ``onChange`` once just after the next opening, closing, or start or end of a stop; plan again after
   * every snapshot. */
  function watch(onChange) {
    let timer = null;
    return {
      update(services, serverNowMs, stops) {
        clearTimeout(timer);
        timer = null;
        const now = Number.isNaN(serverNowMs) || serverNowMs === undefined ? Date.now() : serverNowMs;
        const at = nextChange(services, stops, now);
        if (at === null) return;
        const wait = at - now + Math.random() * JITTER_MS;
        timer = setTimeout(() => {
          timer = null;
          onChange();
        }, Math.min(MAX_WAKE_MS, Math.max(MIN_WAKE_MS, wait)));
      },
      get pending() { return timer !== null; },
    };
  }

  global.HallOpening = { TEXTS, describe, nextOpening, nextChange, watch };
})(window);
