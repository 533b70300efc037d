/*
 * HallAnnouncer: calls are spoken one after another, never over each other.
 *
 *   const announcer = HallAnnouncer.create({ branch: "SZ-FUTIAN", chimeUrl: "/static/sounds/chime.wav",
 *                                            voice: null, onBlocked() {}, onUnblocked() {} });
 *   announcer.announce(seq);   // a "called" / "recalled" event's seq: queued, then spoken in order
 *   announcer.chime();         // the chime alone (counter displays)
 *   announcer.unlock();        // from a tap: lets a browser that blocks autoplay play sound from now on
 *   announcer.setVolume(0.4);  // 0-1, for the chime, server audio and the browser's voice alike
 *   announcer.test("chime");   // staff setting a display up: the chime, or "voice": a sample call (queued too)
 *
 * For each queued call the page asks the server once: GET /api/branches/<b>/announcements/<seq>. The answer
 * (server rules: templates, languages, repeat count, chime) is played as: chime, then each language's part,
 * spoken by the browser's own OFFLINE voice for that language when it has one (voice "auto"/"browser"),
 * otherwise by playing the WAV the server makes with espeak-ng (part.audio_url). Never an online service:
 * voices with localService === false are ignored.
 *
 * Memory stays flat over weeks: the queue is bounded (oldest dropped), one <audio> element is reused, every
 * wait has a timeout so a stuck sound never blocks the queue.
 */
(function (global) {
  "use strict";

  const MAX_QUEUE = 5;
  const TESTS = ["chime", "voice"]; // queued like calls, so that a test never talks over an announcement
  const SPEECH_TIMEOUT_MS = 20000;

  function localVoiceFor(language) {
    if (!global.speechSynthesis) return null;
    const wanted = language.toLowerCase();
    const base = wanted.split("-")[0];
    const voices = global.speechSynthesis.getVoices().filter((voice) => voice.localService !== false);
    const norm = (voice) => (voice.lang || "").toLowerCase().replace("_", "-");
    return voices.find((voice) => norm(voice) === wanted) ||
      voices.find((voice) => norm(voice).split("-")[0] === base) || null;
  }

  class Announcer {
    constructor(options) {
      this.branch = options.branch;
      this.chimeUrl = options.chimeUrl;
      this.voiceOverride = options.voice || null;
      this.enabled = options.enabled !== false;
      this.volume = 1;
      this.onBlocked = options.onBlocked || (() => {});
      this.onUnblocked = options.onUnblocked || (() => {});
      this.queue = [];
      this.busy = false;
      this.blocked = false;
      this.spoken = 0;  // announcements finished (for tests and the soak benchmark)
      this.dropped = 0; // announcements dropped because the queue was full
      this.audio = new Audio();
      this.audio.preload = "auto";
      this.setVolume(options.volume === undefined ? 1 : options.volume);
      if (global.speechSynthesis) global.speechSynthesis.getVoices(); // starts loading the voice list
      this.checkAutoplay();
    }

    /** Browsers that block autoplay start an AudioContext "suspended"; then a tap is needed once. */
    checkAutoplay() {
      const Context = global.AudioContext || global.webkitAudioContext;
      if (!Context) return;
      try {
        const context = new Context();
        if (context.state === "suspended") this.setBlocked(true);
        context.close();
      } catch (error) {
        /* no audio hardware: nothing to unlock */
      }
    }

    setBlocked(blocked) {
      if (blocked === this.blocked) return;
      this.blocked = blocked;
      if (blocked) this.onBlocked();
      else this.onUnblocked();
    }

    /** One volume for every sound of this display: the <audio> element's and each utterance's. */
    setVolume(volume) {
      const value = Number(volume);
      this.volume = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 1;
      this.audio.volume = this.volume;
    }

    unlock() {
      this.audio.muted = false;
      this.audio.src = this.chimeUrl;
      this.audio.volume = this.volume;
      const played = this.audio.play();
      if (played && played.then) {
        played.then(() => this.setBlocked(false)).catch(() => this.setBlocked(true));
      }
      if (global.speechSynthesis) {
        const silent = new global.SpeechSynthesisUtterance(" ");
        silent.volume = 0;
        global.speechSynthesis.speak(silent);
      }
    }

    announce(seq) {
      if (!this.enabled || this.queue.includes(seq)) return;
      this.queue.push(seq);
      while (this.queue.length > MAX_QUEUE) {
        this.queue.shift();
        this.dropped += 1;
      }
      this.pump();
    }

    chime() {
      if (this.enabled) this.playUrl(this.chimeUrl);
    }

    /** A test from the set-up panel: played even when the page's sound is off (?sound=off), after what is queued. */
    test(what) {
      if (!TESTS.includes(what) || this.queue.includes(what)) return;
      this.queue.push(what);
      this.pump();
    }

    async pump() {
      if (this.busy) return;
      this.busy = true;
      try {
        while (this.queue.length) {
          const seq = this.queue.shift();
          try {
            await this.play(seq);
          } catch (error) {
            console.warn("announcement", seq, "failed", error);
          }
          if (!TESTS.includes(seq)) this.spoken += 1;
        }
      } finally {
        this.busy = false;
      }
    }

    async play(item) {
      if (item === "chime") {
        await this.playUrl(this.chimeUrl);
        return;
      }
      const which = item === "voice" ? "test" : item; // the sample call (staff only) or a call's seq
      let announcement;
      try {
        announcement = await window.HallApi.get(`/api/branches/${encodeURIComponent(this.branch)}/announcements/${which}`,
                                                { cache: "no-store" });
      } catch (error) {
        if (error instanceof window.HallApi.Error && error.status !== 0) return; // refused (e.g. gone): skip it
        throw error;
      }
      const mode = this.voiceOverride || announcement.voice || "auto";
      for (let round = 0; round < Math.max(1, announcement.repeat || 1); round += 1) {
        if (announcement.chime) await this.playUrl(this.chimeUrl);
        for (const part of announcement.parts) {
          await this.speakPart(part, mode, announcement.server_voice);
        }
      }
    }

    async speakPart(part, mode, serverVoice) {
      const voice = mode === "server" ? null : localVoiceFor(part.language);
      if (voice) {
        await this.speakInBrowser(part, voice);
        return;
      }
      if (mode !== "browser" && serverVoice) await this.playUrl(part.audio_url);
    }

    speakInBrowser(part, voice) {
      return new Promise((resolve) => {
        const utterance = new global.SpeechSynthesisUtterance(part.speech);
        utterance.voice = voice;
        utterance.lang = part.language;
        utterance.rate = 0.9;
        utterance.volume = this.volume;
        const timer = setTimeout(done, SPEECH_TIMEOUT_MS);
        function done() {
          clearTimeout(timer);
          utterance.onend = utterance.onerror = null;
          resolve();
        }
        utterance.onend = done;
        utterance.onerror = done;
        global.speechSynthesis.speak(utterance);
      });
    }

    /** Play one sound to its end (or error, or a timeout); resolves either way. */
    playUrl(url) {
      const audio = this.audio;
      return new Promise((resolve) => {
        let timer = setTimeout(finish, SPEECH_TIMEOUT_MS);
        function finish() {
          clearTimeout(timer);
          audio.onended = audio.onerror = audio.onloadedmetadata = null;
          resolve();
        }
        audio.onended = finish;
        audio.onerror = finish;
        audio.onloadedmetadata = () => {
          if (Number.isFinite(audio.duration)) {
            clearTimeout(timer);
            timer = setTimeout(finish, audio.duration * 1000 + 3000);
          }
        };
        audio.src = url;
        audio.volume = this.volume;
        const played = audio.play();
        if (played && played.then) {
          played.then(() => this.setBlocked(false)).catch((error) => {
            if (error && error.name === "NotAllowedError") this.setBlocked(true);
            finish();
          });
        }
      });
    }
  }

  global.HallAnnouncer = {
    create(options) {
      return new Announcer(options);
    },
    localVoiceFor,
  };
})(window);
