/*
 * HallApi: the one way hall pages call the JSON API (beside live.js and i18n.js).
 *
 *   const data = await HallApi.get(url);                       // the answer's JSON
 *   await HallApi.post(url, body, { key, device, timeoutMs });  // Idempotency-Key, X-Device-Id, a deadline
 *   const pad = HallApi.forDevice("pad-SZ-FUTIAN-3");          // the same calls, always with X-Device-Id
 *   try { ... } catch (error) { if (error instanceof HallApi.Error) show(error.message); }
 *
 * JSON in and out, same-origin credentials (the staff session cookie). Every failure is thrown as one
 * HallApi.Error: {status, code, message, details}. An error answer of the API ({error, message, details})
 * gives its code, message and details; status 0 means no usable answer (unreachable, timed out, or cut
 * short), so a page can tell "refused" (4xx: say why) from "try again" (0, 5xx, 408, 429: `retryable`).
 * newKey() makes an Idempotency-Key: a page keeps it across the retries of one command, so that the server
 * answers a retry with the first result instead of doing it twice.
 */
(function (global) {
  "use strict";

  class HallApiError extends Error {
    constructor(status, code, message, details, data) {
      super(message || code || `HTTP ${status}`);
      this.name = "HallApiError";
      this.status = status; // 0: no usable answer
      this.code = code; // the API's error code, "network", "timeout" or "bad_answer"
      this.details = details || {};
      this.data = data || {}; // the whole error answer, as sent
    }

    /** Whether the same request may succeed later: nothing usable came back, or the server was busy. */
    get retryable() {
      return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429;
    }
  }

  /** A random key for Idempotency-Key (crypto.randomUUID needs a secure context; a hall LAN may not be one). */
  function newKey(prefix) {
    const bytes = new Uint8Array(16);
    if (global.crypto && global.crypto.getRandomValues) global.crypto.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    return (prefix || "") + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /**
   * One request. options: body (sent as JSON), headers, key (Idempotency-Key), device (X-Device-Id),
   * timeoutMs (abort after it: status 0, code "timeout"), cache (fetch's cache mode).
   * Resolves to the answer's JSON (null for an empty answer such as 204).
   */
  async function request(method, url, options) {
    const o = options || {};
    const headers = { Accept: "application/json", ...(o.headers || {}) };
    if (o.key) headers["Idempotency-Key"] = o.key;
    if (o.device) headers["X-Device-Id"] = o.device;
    const init = { method, headers, credentials: "same-origin" };
    if (o.cache) init.cache = o.cache;
    if (o.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(o.body);
    }
    const controller = o.timeoutMs ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), o.timeoutMs) : null;
    if (controller) init.signal = controller.signal;
    let response;
    let text;
    try {
      response = await fetch(url, init);
      text = await response.text();
    } catch (error) {
      const timedOut = controller && controller.signal.aborted;
      throw new HallApiError(0, timedOut ? "timeout" : "network", String(error));
    } finally {
      if (timer) clearTimeout(timer);
    }
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = undefined; // not JSON (a proxy's error page, an answer cut short)
      }
    }
    if (response.ok) {
      if (data === undefined || (data === null && response.status !== 204)) {
        throw new HallApiError(0, "bad_answer", `HTTP ${response.status}: no JSON in the answer`);
      }
      return data;
    }
    const body = data && typeof data === "object" ? data : {};
    throw new HallApiError(response.status, body.error || `http_${response.status}`,
                           body.message || response.statusText || `HTTP ${response.status}`, body.details, body);
  }

  /** The calls, optionally always carrying one device's X-Device-Id (kiosks, rating pads). */
  function client(device) {
    const withDevice = (options) => (device ? { device, ...(options || {}) } : options);
    return {
      request: (method, url, options) => request(method, url, withDevice(options)),
      get: (url, options) => request("GET", url, withDevice(options)),
      post: (url, body, options) => request("POST", url, withDevice({ ...(options || {}), body })),
      put: (url, body, options) => request("PUT", url, withDevice({ ...(options || {}), body })),
      patch: (url, body, options) => request("PATCH", url, withDevice({ ...(options || {}), body })),
      delete: (url, options) => request("DELETE", url, withDevice(options)),
    };
  }

  global.HallApi = { ...client(null), Error: HallApiError, newKey, forDevice: client };
})(window);
