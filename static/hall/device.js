/*
 * HallDevice: the heartbeat of a paired device (kiosk, wall or counter display, rating pad).
 *
 * The page includes this script only when the request carried a paired device's credential (an HTTP-only
 * cookie this script never sees). Every data-heartbeat-s seconds it tells the server the device is there
 * (POST /api/devices/me/heartbeat), so the manager page can show since when a silent one is offline. When the
 * server answers that the pairing was revoked (or is unknown) and this page works only paired, the page reloads:
 * the server then shows the pairing code instead.
 *
 *   HallDevice.refused(error)  // true for a HallApi.Error that means "this device is not (any more) trusted"
 */
(function (global) {
  "use strict";

  const script = document.currentScript;
  const everyS = Math.max(5, Number(script && script.dataset.heartbeatS) || 30);
  const mustPair = Boolean(script && script.dataset.mustPair === "true");
  const REFUSALS = ((script && script.dataset.refusals) || "").split(" ").filter(Boolean); // the server's codes
  let timer = null;

  function refused(error) {
    return Boolean(error && REFUSALS.includes(error.code));
  }

  async function beat() {
    try {
      await global.HallApi.post("/api/devices/me/heartbeat", {});
    } catch (error) {
      if (refused(error)) {
        clearInterval(timer);
        if (mustPair) global.location.reload();
      }
      /* otherwise offline or busy: the next beat tries again */
    }
  }

  timer = setInterval(beat, everyS * 1000);
  beat();
  global.HallDevice = { refused, beat };
})(window);
