// @ts-check
/**
 * The waveform of a long recording: a view (first second shown, seconds per pixel) over
 * server peaks. The overview of the whole recording comes first; zoomed in, finer peaks of
 * the window around the view, then its samples (down to 20 pixels per sample). A
 * spectrogram, computed here from the samples, replaces the waveform on request. Drawing
 * reads only what is already loaded, so scrolling never waits for the network; a fetch for
 * the new view starts when the view settles. A minimap below shows the whole recording and
 * where the view is.
 */
import { h } from "../js/dom.js";
import { peakRange, sampleIndex } from "./audio-data.js";

/** @typedef {import("./audio-data.js").AudioSource} AudioSource */
/** @typedef {import("./audio-data.js").AudioInfo} AudioInfo */
/** @typedef {import("./audio-data.js").PeakRun} PeakRun */
/** @typedef {import("./audio-data.js").SampleRun} SampleRun */
/**
 * @typedef {{x: (t: number) => number, top: number, height: number, width: number}} Frame
 *   where the overlay draws: x of a time, the waveform band
 */

export const RULER = 18;
/** Bins of the whole recording's overview (the server allows 16,384). */
export const OVERVIEW_BINS = 8192;
const FFT = 512;

export class WaveformView {
  /**
   * @param {AudioSource} source @param {AudioInfo} info
   * @param {(c: CanvasRenderingContext2D, f: Frame) => void} overlay draws the segments
   * @param {(c: CanvasRenderingContext2D, x: (t: number) => number, h: number) => void} minimapOverlay
   */
  constructor(source, info, overlay, minimapOverlay) {
    this.source = source;
    this.info = info;
    this.overlay = overlay;
    this.minimapOverlay = minimapOverlay;
    this.canvas = h("canvas", { class: "seg-wave", id: "seg-wave", tabindex: "0", "aria-label": "waveform: drag to draw a segment" });
    this.minimap = h("canvas", { class: "seg-minimap", id: "seg-minimap", "aria-label": "whole recording: click or drag to move the view" });
    this.note = h("span", { class: "muted", id: "seg-view-note" });
    this.el = h("div", { class: "seg-view" }, this.canvas, this.minimap);
    this.start = 0;
    this.spp = 1;
    /** @type {PeakRun | null} */
    this.overview = null;
    /** @type {PeakRun | null} */
    this.detail = null;
    /** @type {SampleRun | null} */
    this.samples = null;
    this.spectrogram = false;
    /** @type {{canvas: HTMLCanvasElement, start: number, spp: number, run: SampleRun} | null} */
    this.spectro = null;
    this.playhead = 0;
    this.draws = 0;
    this.drawMs = 0;
    this.frame = 0;
    this.settle = 0;
    /** @type {AbortController | null} */
    this.inflight = null;
    /** @type {{a: number, b: number, samples: boolean, spp: number} | null} what is being fetched */
    this.pending = null;
    /** @type {HTMLCanvasElement | null} the minimap's waveform, drawn once */
    this.minimapBase = null;
    /** @type {PeakRun | null} the overview it was drawn from */
    this.minimapOf = null;
    this.width = 0;
    this.height = 0;
    new ResizeObserver(() => this.resize()).observe(this.canvas);
    this.wireMinimap();
  }

  /**
   * The overview first: the tool is usable once it is drawn.
   * @param {Promise<PeakRun>} overview asked for with the header facts, not after them
   */
  async load(overview) {
    this.resize();
    this.fit();
    this.overview = await overview;
    this.requestDraw();
  }

  resize() {
    const w = Math.max(100, Math.round(this.canvas.clientWidth || 800));
    const hgt = Math.max(80, Math.round(this.canvas.clientHeight || 220));
    if (w === this.width && hgt === this.height) return;
    const keep = this.width ? this.spp * this.width : 0;
    this.width = this.canvas.width = w;
    this.height = this.canvas.height = hgt;
    this.minimap.width = w;
    this.minimap.height = Math.max(24, Math.round(this.minimap.clientHeight || 40));
    if (keep) this.setView(this.start, keep / w);
    this.requestDraw();
  }

  get visible() {
    return this.spp * this.width;
  }
  get minSpp() {
    return 1 / (this.info.rate * 20);
  }
  get maxSpp() {
    return Math.max(this.minSpp, this.info.duration / Math.max(1, this.width));
  }

  /** @param {number} start @param {number} spp */
  setView(start, spp) {
    this.spp = Math.min(this.maxSpp, Math.max(this.minSpp, spp));
    this.start = Math.min(Math.max(0, this.info.duration - this.visible), Math.max(0, start));
    this.requestDraw();
    // While the view moves, one fetch at a time for what is about to come into view; when it
    // settles, what it shows.
    if (!this.inflight) this.fetchForView(0.5);
    window.clearTimeout(this.settle);
    this.settle = window.setTimeout(() => this.fetchForView(), 80);
  }

  fit() {
    this.setView(0, this.maxSpp);
  }

  /** @param {number} t seconds under the zoom's fixed point @param {number} factor >1 zooms in */
  zoomAt(t, factor) {
    const x = (t - this.start) / this.spp;
    const spp = Math.min(this.maxSpp, Math.max(this.minSpp, this.spp / factor));
    this.setView(t - x * spp, spp);
  }

  /** @param {number} px */
  scrollBy(px) {
    this.setView(this.start + px * this.spp, this.spp);
  }

  /** Show t (with a margin) if it is out of view. @param {number} t */
  reveal(t) {
    if (t < this.start || t > this.start + this.visible) this.setView(t - this.visible * 0.1, this.spp);
  }

  /** @param {number} clientX */
  timeAt(clientX) {
    const r = this.canvas.getBoundingClientRect();
    const x = ((clientX - r.left) / Math.max(1, r.width)) * this.width;
    return Math.min(this.info.duration, Math.max(0, this.start + x * this.spp));
  }

  /** @param {number} t */
  x(t) {
    return (t - this.start) / this.spp;
  }

  /** @param {boolean} [on] */
  toggleSpectrogram(on) {
    this.spectrogram = on === undefined ? !this.spectrogram : on;
    this.fetchForView();
    this.requestDraw();
  }

  /**
   * Load what the view needs: finer peaks, or samples (zoomed in, or for the spectrogram),
   * for the view and a view's width on each side.
   * @param {number} [ahead] views beyond each side that must be loaded too (while scrolling)
   */
  async fetchForView(ahead = 0) {
    if (!this.overview) return; // the overview comes first, then what it cannot show
    const margin = this.visible;
    const a = Math.max(0, this.start - margin);
    const b = Math.min(this.info.duration, this.start + this.visible + margin);
    const rate = this.info.rate;
    const framesWanted = (b - a) * rate;
    const wantSamples = framesWanted <= this.info.max_sample_frames && (this.spectrogram || this.spp * rate < 48);
    this.note.textContent = this.spectrogram && !wantSamples && (b - a) * rate > this.info.max_sample_frames
      ? `Zoom in to ${Math.floor(this.info.max_sample_frames / rate / 3)} s or less for the spectrogram.` : "";
    const from = Math.max(0, this.start - ahead * this.visible);
    const to = Math.min(this.info.duration, this.start + (1 + ahead) * this.visible);
    /** @param {number} start @param {number} end */
    const covers = (start, end) => start <= from + 1e-9 && end >= to - 1e-9;
    if (wantSamples) {
      const s = this.samples;
      if (s && covers(s.start, s.start + s.data.length / s.rate)) {
        this.buildSpectrogram();
        return;
      }
    } else {
      if (this.overview && this.overview.step <= this.spp) return;
      const d = this.detail;
      if (d && covers(d.start, d.end) && d.step <= this.spp * 1.01 && d.step >= this.spp / 4) return;
    }
    const p = this.pending;
    // A fetch under way that will cover the view at this zoom is left to finish.
    if (this.inflight && p && p.samples === wantSamples && covers(p.a, p.b) && (wantSamples || Math.abs(p.spp - this.spp) < this.spp * 0.01)) return;
    if (this.inflight) this.inflight.abort();
    const ctl = (this.inflight = new AbortController());
    this.pending = { a, b, samples: wantSamples, spp: this.spp };
    const view = [this.start, this.spp];
    try {
      if (wantSamples) this.samples = await this.source.samples(a, b, ctl.signal);
      else this.detail = await this.source.peaks(a, b, Math.min(this.info.max_peak_bins, (b - a) / this.spp), ctl.signal);
    } catch (err) {
      if (/** @type {Error} */ (err).name !== "AbortError") this.note.textContent = String(/** @type {Error} */ (err).message);
      return;
    } finally {
      if (this.inflight === ctl) this.inflight = null;
    }
    if (wantSamples) this.buildSpectrogram();
    this.requestDraw();
    // The view moved on while this was loading: see whether it needs more.
    if (!this.inflight && (view[0] !== this.start || view[1] !== this.spp)) this.fetchForView();
  }

  /** The spectrogram of the loaded samples at this zoom, one column per pixel. */
  buildSpectrogram() {
    const run = this.samples;
    if (!this.spectrogram || !run) return;
    if (this.spectro && this.spectro.run === run && this.spectro.spp === this.spp) return;
    const cols = Math.max(1, Math.min(8192, Math.round(run.data.length / run.rate / this.spp)));
    const rows = Math.max(16, this.height - RULER);
    const canvas = document.createElement("canvas");
    canvas.width = cols;
    canvas.height = rows;
    const c = canvas.getContext("2d");
    if (!c) return;
    const image = c.createImageData(cols, rows);
    const re = new Float64Array(FFT);
    const im = new Float64Array(FFT);
    const hann = new Float64Array(FFT).map((_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (FFT - 1)));
    const db = new Float32Array((FFT / 2) * cols);
    let top = -Infinity;
    for (let x = 0; x < cols; x++) {
      const center = Math.round((x + 0.5) * this.spp * run.rate);
      for (let i = 0; i < FFT; i++) {
        const j = center - FFT / 2 + i;
        re[i] = j >= 0 && j < run.data.length ? run.data[j] * hann[i] : 0;
        im[i] = 0;
      }
      fft(re, im);
      for (let k = 0; k < FFT / 2; k++) {
        const v = 10 * Math.log10(re[k] * re[k] + im[k] * im[k] + 1e-12);
        db[x * (FFT / 2) + k] = v;
        if (v > top) top = v;
      }
    }
    for (let x = 0; x < cols; x++) {
      for (let y = 0; y < rows; y++) {
        const k = Math.min(FFT / 2 - 1, Math.floor(((rows - 1 - y) / rows) * (FFT / 2)));
        const level = Math.min(1, Math.max(0, (db[x * (FFT / 2) + k] - (top - 80)) / 80));
        const [r, g, b] = heat(level);
        const o = (y * cols + x) * 4;
        image.data[o] = r;
        image.data[o + 1] = g;
        image.data[o + 2] = b;
        image.data[o + 3] = 255;
      }
    }
    c.putImageData(image, 0, 0);
    this.spectro = { canvas, start: run.start, spp: this.spp, run };
    this.requestDraw();
  }

  /** @param {number} t */
  setPlayhead(t) {
    this.playhead = t;
    this.requestDraw();
  }

  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  draw() {
    const c = this.canvas.getContext("2d");
    if (!c) return;
    const began = performance.now();
    const W = this.width;
    const H = this.height;
    c.fillStyle = "#f3f5f8";
    c.fillRect(0, 0, W, H);
    this.drawRuler(c);
    const top = RULER;
    const band = H - RULER;
    const mid = top + band / 2;
    const spectro = this.spectrogram && this.spectro && Math.abs(this.spectro.spp - this.spp) < this.spp * 1e-6 ? this.spectro : null;
    if (spectro) {
      const sx = (this.start - spectro.start) / spectro.spp;
      c.imageSmoothingEnabled = false;
      c.drawImage(spectro.canvas, sx, 0, W, spectro.canvas.height, 0, top, W, band);
    } else {
      this.drawWave(c, top, band, mid);
    }
    this.overlay(c, { x: (t) => this.x(t), top, height: band, width: W });
    const px = this.x(this.playhead);
    if (px >= -2 && px <= W + 2) {
      c.fillStyle = "#b3261e";
      c.fillRect(Math.round(px) - 1, 0, 2, H);
    }
    this.drawMinimap();
    this.draws++;
    // What a redraw costs (benchmarks/audio_tool_open.py reads it): the frame budget at 30
    // fps is 33 ms.
    this.drawMs += performance.now() - began;
    this.canvas.dataset.draws = String(this.draws);
    this.canvas.dataset.drawMs = this.drawMs.toFixed(2);
    this.canvas.dataset.start = this.start.toFixed(6);
    this.canvas.dataset.spp = String(this.spp);
    this.canvas.dataset.source = spectro ? "spectrogram" : this.lastSource;
  }

  /** @param {CanvasRenderingContext2D} c */
  drawRuler(c) {
    const W = this.width;
    c.fillStyle = "#e6e9ef";
    c.fillRect(0, 0, W, RULER);
    const steps = [1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    const step = steps.find((s) => s / this.spp >= 90) || 3600;
    c.fillStyle = "#4a5568";
    c.font = "11px system-ui, sans-serif";
    for (let t = Math.ceil(this.start / step) * step; t <= this.start + this.visible; t += step) {
      const x = Math.round(this.x(t));
      c.fillRect(x, RULER - 6, 1, 6);
      c.fillText(formatTime(t, step < 1 ? 3 : 0), x + 3, RULER - 6);
    }
  }

  /** @param {CanvasRenderingContext2D} c @param {number} top @param {number} band @param {number} mid */
  drawWave(c, top, band, mid) {
    const W = this.width;
    const scale = band / 2 - 2;
    const s = this.samples;
    const end = this.start + this.visible;
    const sampleSpan = s ? [s.start, s.start + s.data.length / s.rate] : null;
    const inSamples = s && sampleSpan && sampleSpan[0] <= this.start + this.spp && sampleSpan[1] >= Math.min(end, this.info.duration) - this.spp;
    c.fillStyle = "#2457c5";
    c.strokeStyle = "#2457c5";
    if (s && inSamples && this.spp * s.rate < 1) {
      // Fewer samples than pixels: the samples as a line, each a dot when far apart.
      this.lastSource = "samples";
      const i0 = Math.max(0, sampleIndex(s, this.start) - 1);
      const i1 = Math.min(s.data.length - 1, sampleIndex(s, end) + 1);
      c.beginPath();
      for (let i = i0; i <= i1; i++) {
        const x = this.x(s.start + i / s.rate);
        const y = mid - s.data[i] * scale;
        if (i === i0) c.moveTo(x, y);
        else c.lineTo(x, y);
      }
      c.stroke();
      if (1 / (this.spp * s.rate) >= 6) {
        for (let i = i0; i <= i1; i++) c.fillRect(this.x(s.start + i / s.rate) - 2, mid - s.data[i] * scale - 2, 4, 4);
      }
      return;
    }
    /** @type {(t0: number, t1: number) => [number, number]} */
    let range;
    const d = this.detail;
    if (s && inSamples) {
      this.lastSource = "samples";
      range = (t0, t1) => {
        const i0 = Math.max(0, sampleIndex(s, t0));
        const i1 = Math.min(s.data.length, Math.max(i0 + 1, sampleIndex(s, t1)));
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = i0; i < i1; i++) {
          const v = s.data[i];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        return [lo, hi];
      };
    } else if (d && d.start <= this.start + d.step && d.end >= Math.min(end, this.info.duration) - d.step && d.step < (this.overview ? this.overview.step : Infinity)) {
      this.lastSource = "peaks";
      range = (t0, t1) => peakRange(d, t0, t1);
    } else if (this.overview) {
      this.lastSource = "overview";
      const o = this.overview;
      range = (t0, t1) => peakRange(o, t0, t1);
    } else {
      this.lastSource = "none";
      return;
    }
    const last = Math.min(W, Math.ceil(this.x(this.info.duration)));
    // One path of column rectangles, filled once.
    c.beginPath();
    for (let x = 0; x < last; x++) {
      const t0 = this.start + x * this.spp;
      const [lo, hi] = range(t0, t0 + this.spp);
      if (!(lo <= hi)) continue;
      c.rect(x, mid - hi * scale, 1, Math.max(1, (hi - lo) * scale));
    }
    c.fill();
  }

  drawMinimap() {
    const c = this.minimap.getContext("2d");
    if (!c) return;
    const W = this.minimap.width;
    const H = this.minimap.height;
    const d = this.info.duration || 1;
    const o = this.overview;
    // The whole recording's waveform changes only with its size: drawn once, then copied.
    const base = this.minimapBase;
    if (!base || base.width !== W || base.height !== H || this.minimapOf !== o) {
      const made = document.createElement("canvas");
      made.width = W;
      made.height = H;
      const b = made.getContext("2d");
      if (!b) return;
      b.fillStyle = "#eef1f6";
      b.fillRect(0, 0, W, H);
      if (o) {
        b.fillStyle = "#9fb3d9";
        const step = d / W;
        for (let x = 0; x < W; x++) {
          const [lo, hi] = peakRange(o, x * step, (x + 1) * step);
          if (lo <= hi) b.fillRect(x, H / 2 - (hi * H) / 2, 1, Math.max(1, ((hi - lo) * H) / 2));
        }
      }
      this.minimapBase = made;
      this.minimapOf = o;
    }
    c.drawImage(/** @type {HTMLCanvasElement} */ (this.minimapBase), 0, 0);
    this.minimapOverlay(c, (t) => (t / d) * W, H);
    c.strokeStyle = "#1a202c";
    c.lineWidth = 1.5;
    c.strokeRect((this.start / d) * W + 0.5, 0.5, Math.max(2, (this.visible / d) * W - 1), H - 1);
  }

  wireMinimap() {
    /** @param {PointerEvent} e */
    const go = (e) => {
      const r = this.minimap.getBoundingClientRect();
      const t = ((e.clientX - r.left) / Math.max(1, r.width)) * this.info.duration;
      this.setView(t - this.visible / 2, this.spp);
    };
    this.minimap.addEventListener("pointerdown", (e) => {
      this.minimap.setPointerCapture(e.pointerId);
      go(e);
    });
    this.minimap.addEventListener("pointermove", (e) => {
      if (this.minimap.hasPointerCapture(e.pointerId)) go(e);
    });
  }

  destroy() {
    if (this.inflight) this.inflight.abort();
    window.clearTimeout(this.settle);
    if (this.frame) cancelAnimationFrame(this.frame);
  }
}
WaveformView.prototype.lastSource = "none";

/** In-place radix-2 FFT. @param {Float64Array} re @param {Float64Array} im */
function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

// Magma's colours at five levels, interpolated: quiet is dark, loud is pale yellow.
const STOPS = [[0, 0, 4], [80, 18, 123], [182, 54, 121], [251, 136, 97], [252, 253, 191]];

/** @param {number} v 0..1 @returns {[number, number, number]} */
function heat(v) {
  const f = Math.min(0.9999, Math.max(0, v)) * (STOPS.length - 1);
  const i = Math.floor(f);
  const w = f - i;
  const a = STOPS[i];
  const b = STOPS[i + 1];
  return [a[0] + (b[0] - a[0]) * w, a[1] + (b[1] - a[1]) * w, a[2] + (b[2] - a[2]) * w];
}

/** m:ss or m:ss.mmm (h:mm:ss past an hour). @param {number} t @param {number} [digits] */
export function formatTime(t, digits = 3) {
  const sign = t < 0 ? "-" : "";
  t = Math.abs(t);
  const hours = Math.floor(t / 3600);
  const minutes = Math.floor((t % 3600) / 60);
  const seconds = t % 60;
  const sec = digits ? seconds.toFixed(digits).padStart(digits + 3, "0") : String(Math.floor(seconds)).padStart(2, "0");
  return hours ? `${sign}${hours}:${String(minutes).padStart(2, "0")}:${sec}` : `${sign}${minutes}:${sec}`;
}
