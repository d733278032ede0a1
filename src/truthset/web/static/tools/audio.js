// @ts-check
/**
 * The audio player the audio tools share: play/pause, seek, speed, and a waveform drawn
 * from the decoded samples (click it to seek). Keys (outside text fields): Space or k
 * play/pause, ← → seek 5 s, [ ] slower / faster. In a text field: Ctrl+Space, Alt+← →.
 */
import { h } from "../js/dom.js";

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];

export class AudioPlayer {
  /** @param {HTMLElement} root @param {string} src */
  constructor(root, src) {
    this.audio = h("audio", { src, preload: "auto", id: "audio" });
    this.canvas = h("canvas", { class: "waveform", id: "waveform", width: "1200", height: "140" });
    this.playBtn = h("button", { type: "button", id: "play", onclick: () => this.toggle() }, "▶ Play");
    this.time = h("span", { class: "muted", id: "audio-time" }, "0:00");
    this.speed = h("select", { id: "speed", "aria-label": "speed", onchange: () => (this.audio.playbackRate = Number(this.speed.value)) },
      SPEEDS.map((s) => h("option", { value: String(s), selected: s === 1 }, `${s}×`)));
    /** @type {Float32Array | null} */
    this.peaks = null;
    root.append(h("div", { class: "audio-tool" }, this.canvas,
      h("div", { class: "row" }, this.playBtn,
        h("button", { type: "button", title: "back 5 s (←)", onclick: () => this.seekBy(-5) }, "−5 s"),
        h("button", { type: "button", title: "forward 5 s (→)", onclick: () => this.seekBy(5) }, "+5 s"),
        this.speed, this.time), this.audio));
    this.canvas.addEventListener("pointerdown", (e) => {
      const r = this.canvas.getBoundingClientRect();
      if (this.audio.duration) this.audio.currentTime = ((e.clientX - r.left) / r.width) * this.audio.duration;
      this.draw();
    });
    const update = () => {
      this.playBtn.textContent = this.audio.paused ? "▶ Play" : "❚❚ Pause";
      this.time.textContent = `${fmt(this.audio.currentTime)} / ${fmt(this.audio.duration || 0)}`;
      this.draw();
    };
    for (const ev of ["play", "pause", "timeupdate", "loadedmetadata", "ratechange", "seeked"]) this.audio.addEventListener(ev, update);
    this.loadPeaks(src);
  }

  /** @param {string} src */
  async loadPeaks(src) {
    try {
      const buf = await (await fetch(src, { credentials: "same-origin" })).arrayBuffer();
      const ctx = new OfflineAudioContext(1, 1, 44100);
      const audio = await ctx.decodeAudioData(buf);
      const data = audio.getChannelData(0);
      const n = this.canvas.width;
      const peaks = new Float32Array(n);
      const step = Math.max(1, Math.floor(data.length / n));
      for (let i = 0; i < n; i++) {
        let m = 0;
        for (let j = i * step; j < Math.min(data.length, (i + 1) * step); j++) m = Math.max(m, Math.abs(data[j]));
        peaks[i] = m;
      }
      this.peaks = peaks;
      this.draw();
    } catch {
      /* no waveform: the player still works */
    }
  }

  draw() {
    const c = this.canvas.getContext("2d");
    if (!c) return;
    const { width: W, height: H } = this.canvas;
    c.clearRect(0, 0, W, H);
    const at = this.audio.duration ? this.audio.currentTime / this.audio.duration : 0;
    if (this.peaks) {
      for (let x = 0; x < W; x++) {
        const v = this.peaks[x] * (H / 2 - 4);
        c.fillStyle = x / W <= at ? "#2457c5" : "#9fb3d9";
        c.fillRect(x, H / 2 - v, 1, Math.max(1, 2 * v));
      }
    }
    c.fillStyle = "#b3261e";
    c.fillRect(Math.round(at * W), 0, 2, H);
  }

  /** Give the keyboard to the player (its play button): Space and k play, not type. */
  focus() {
    this.playBtn.focus({ preventScroll: true });
  }

  toggle() {
    if (this.audio.paused) this.audio.play().catch(() => {});
    else this.audio.pause();
  }

  /** @param {number} s */
  seekBy(s) {
    this.audio.currentTime = Math.max(0, Math.min(this.audio.duration || 0, this.audio.currentTime + s));
  }

  /** @param {number} dir */
  changeSpeed(dir) {
    const i = SPEEDS.indexOf(Number(this.speed.value));
    const next = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i + dir))];
    this.speed.value = String(next);
    this.audio.playbackRate = next;
  }

  /** Keys outside text fields. @param {KeyboardEvent} e @returns {boolean} */
  handleKey(e) {
    if (e.metaKey || e.altKey) return false;
    if ((e.key === " " && !e.ctrlKey) || e.key === "k") this.toggle();
    else if (e.key === "ArrowLeft" && !e.ctrlKey) this.seekBy(-5);
    else if (e.key === "ArrowRight" && !e.ctrlKey) this.seekBy(5);
    else if (e.key === "[") this.changeSpeed(-1);
    else if (e.key === "]") this.changeSpeed(1);
    else return false;
    return true;
  }

  /** Keys inside a text field (the transcript). @param {KeyboardEvent} e @returns {boolean} */
  handleFieldKey(e) {
    if (e.ctrlKey && e.key === " ") this.toggle();
    else if (e.altKey && e.key === "ArrowLeft") this.seekBy(-5);
    else if (e.altKey && e.key === "ArrowRight") this.seekBy(5);
    else return false;
    return true;
  }

  destroy() {
    this.audio.pause();
  }
}

/** @type {[string, string][]} */
export const AUDIO_SHORTCUTS = [
  ["Space / k (Ctrl+Space while typing)", "play / pause"], ["← → (Alt+← → while typing)", "seek 5 s"],
  ["[ ]", "slower / faster"], ["click the waveform", "seek"],
];

/** @param {number} s */
function fmt(s) {
  if (!isFinite(s)) return "0:00";
  return `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
}
