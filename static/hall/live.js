/*
 * HallLive: the one live connection every hall page uses (kiosk, displays, staff console, rating pad,
 * mobile ticket, manager). Needs /static/vendor/socket.io/socket.io.min.js loaded first.
 *
 *   const live = HallLive.connect({
 *     branch: "SZ-FUTIAN", role: "display",      // display | kiosk | counter | ticket | staff | manager
 *     zone: "EAST", counter: "3", token: "...",   // by role
 *     onSnapshot(snapshot) {},  // full state for the role, after every (re)join
 *     onEvent(event) {},        // each committed change, in seq order, never twice, never skipped
 *                               // (an event marked "resync", such as the end of a service day, brings a
 *                               // fresh snapshot instead: the hall changed as a whole)
 *     onResync(event) {},       // such an event, before its snapshot is fetched (a page re-reads what the
 *                               // snapshot does not carry: names from its bootstrap after a hall_changed)
 *     onSummary(summary) {},    // waiting counts and estimates per service
 *     onTicket(update) {},      // ticket role: people ahead, estimate, state
 *     onStatus(status) {},      // "connecting" | "live" | "reconnecting"
 *     onRefused(answer) {},     // the server refused the join ({error, message}); a join refused by the server's
 *                               // limit (too_many_joins) is retried after its retry_after_s, "reconnecting" meanwhile
 *   });
 *
 * Ordering: events that arrive while a snapshot is on its way are buffered and replayed after it,
 * keeping only those newer than the snapshot's seq. A gap in seq (an event lost, e.g. while this
 * process was suspended) or a reconnect triggers a fresh join, i.e. a fresh snapshot; so does a summary
 * whose seq stays ahead of the last event applied (events lost with no later one to show the gap: the
 * server sends a summary at least once a minute). The ticket role
 * sees only its own ticket's events, so gaps are normal there and only order matters.
 * One page = one connection: calling connect() again returns the existing client.
 */
(function (global) {
  "use strict";

  const JOIN_TIMEOUT_MS = 5000;
  const SUMMARY_GRACE_MS = 1500; // how long a summary's seq may run ahead of the events before a re-join

  class HallLiveClient {
    constructor(options) {
      this.options = options;
      this.seq = null;
      this.status = "connecting";
      this.joining = false;
      this.buffer = [];
      this.joinAttempt = 0;
      this.behindTimer = null;
      this.socket = global.io({
        transports: ["websocket", "polling"],
        reconnection: true,
        reconnectionDelay: 500,
        reconnectionDelayMax: 5000,
        timeout: 8000,
      });
      this.socket.on("connect", () => this.join());
      this.socket.on("disconnect", (reason) => {
        this.setStatus("reconnecting");
        // socket.io does not reconnect by itself after the server closed the connection (e.g. the staff
        // session behind it ended): connect again, and the join says what the server thinks now
        if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), 1000);
      });
      this.socket.on("connect_error", () => this.setStatus("reconnecting"));
      this.socket.on("hall_event", (event) => this.receive(event));
      this.socket.on("hall_summary", (summary) => this.receiveSummary(summary));
      this.socket.on("ticket_update", (update) => this.receiveTicket(update));
      this.setStatus("connecting");
    }

    call(name, ...args) {
      const handler = this.options[name];
      if (typeof handler !== "function") return;
      try {
        handler(...args);
      } catch (error) {
        console.error("HallLive " + name + " handler failed", error);
      }
    }

    setStatus(status) {
      if (status === this.status) return;
      this.status = status;
      if (document && document.documentElement) document.documentElement.dataset.live = status;
      this.call("onStatus", status);
    }

    joinPayload() {
      const o = this.options;
      const payload = { role: o.role, branch: o.branch };
      if (o.zone) payload.zone = o.zone;
      if (o.counter) payload.counter = String(o.counter);
      if (o.token) payload.token = o.token;
      return payload;
    }

    /** Ask for a fresh snapshot (after connecting, on a gap, or when the page wants it). */
    join() {
      if (!this.socket.connected) return;
      this.joining = true;
      const attempt = ++this.joinAttempt;
      this.socket.timeout(JOIN_TIMEOUT_MS).emit("join", this.joinPayload(), (error, answer) => {
        if (attempt !== this.joinAttempt) return; // a newer join superseded this one
        if (error) {
          setTimeout(() => attempt === this.joinAttempt && this.join(), 1000);
          return;
        }
        if (answer && answer.error === "too_many_joins") {
          // the server's limit on joins: wait as long as it says (with jitter, so a hall's screens spread out)
          this.setStatus("reconnecting");
          const wait = (answer.retry_after_s || 5) * 1000 * (1 + Math.random() / 4);
          setTimeout(() => attempt === this.joinAttempt && this.join(), wait);
          return;
        }
        if (!answer || !answer.ok) {
          this.joining = false;
          this.setStatus("refused");
          this.call("onRefused", answer || { error: "no_answer", message: "no answer" });
          return;
        }
        this.applySnapshot(answer.snapshot);
      });
    }

    resync() {
      this.join();
    }

    applySnapshot(snapshot) {
      this.seq = snapshot.seq;
      this.joining = false;
      this.call("onSnapshot", snapshot);
      const buffered = this.buffer;
      this.buffer = [];
      buffered.sort((a, b) => a.seq - b.seq);
      for (const event of buffered) this.receive(event);
      this.setStatus("live");
    }

    receive(event) {
      if (this.joining || this.seq === null) {
        this.buffer.push(event);
        return;
      }
      if (event.seq <= this.seq) return; // already in the snapshot, or a duplicate
      if (this.options.role !== "ticket" && event.seq !== this.seq + 1) {
        // A gap: something was missed. The fresh snapshot is read after this event was committed,
        // so it already contains it; start again from there.
        this.buffer = [];
        this.join();
        return;
      }
      this.seq = event.seq;
      if (event.resync) {
        this.call("onResync", event); // what the snapshot does not carry (names from a page's bootstrap)
        this.join();
        return;
      }
      this.call("onEvent", event);
    }

    receiveSummary(summary) {
      this.call("onSummary", summary); // summaries come from one loop, in order; the newest always wins
      this.checkBehind(summary.seq);
    }

    /**
     * A summary computed at a seq this client has not reached means events were missed (their pushes lost,
     * e.g. while Redis restarted) and none may follow to show the gap: if the events have still not arrived
     * after a short grace (a summary may overtake the push of a change made on another server process), re-join.
     * The ticket role sees only its own ticket's events, so its seq trails the branch's by design.
     */
    checkBehind(seq) {
      if (this.options.role === "ticket" || typeof seq !== "number" || this.seq === null) return;
      if (seq <= this.seq || this.behindTimer) return;
      this.behindTimer = setTimeout(() => {
        this.behindTimer = null;
        if (!this.joining && this.seq !== null && this.seq < seq) this.join();
      }, SUMMARY_GRACE_MS);
    }

    receiveTicket(update) {
      if (this.seq !== null && update.seq < this.seq) return;
      this.call("onTicket", update);
    }
  }

  const HallLive = {
    client: null,
    connect(options) {
      if (!this.client) this.client = new HallLiveClient(options);
      return this.client;
    },
  };

  global.HallLive = HallLive;
})(window);
