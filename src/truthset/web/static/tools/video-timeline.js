// @ts-check
/**
 * The video tool's transport and timeline: previous / play / next, the frame number (type
 * one to go there), a scrubber, and below it one row per track on a canvas: where the
 * track is present (a bar), its keyframes (diamonds; hollow: predicted, not drawn), the
 * current frame as a line. A click or drag on the timeline moves to that frame; on a row it
 * also selects the track. Times are written as the audio tool writes them (formatTime).
 */
import { h } from "../js/dom.js";
import { labelColor } from "../js/store.js";
import { formatTime } from "./waveform-view.js";
import { presentRanges } from "./video-tracks.js";

/** @typedef {import("./video-tracks.js").Track} Track */
/** @typedef {import("./video-tracks.js").Shape} Shape */

const RULER = 18;
const ROW = 16;
const PAD = 8;

/**
 * @param {{count: number, rate: number, shape: Shape, interpolating: boolean,
 *   labels: string[], tracks: () => Track[], selected: () => number | null,
 *   seek: (frame: number) => void, select: (id: number) => void,
 *   play: () => void, step: (d: number) => void}} o
 */
export function timeline(o) {
  const last = Math.max(0, o.count - 1);
  const frameInput = h("input", { type: "number", id: "video-frame", min: 1, max: o.count, step: 1, value: "1",
    "aria-label": "frame number (1-based): type one and press Enter to go there", title: "Go to frame (g)" });
  const scrubber = h("input", { type: "range", id: "video-scrubber", min: 0, max: last, step: 1, value: "0",
    "aria-label": "frame scrubber" });
  const playBtn = h("button", { type: "button", id: "video-play", title: "Play / pause (p)", onclick: () => o.play() }, "Play");
  const clock = h("span", { class: "muted video-clock", id: "video-clock" });
  const canvas = h("canvas", { class: "video-timeline", id: "video-timeline", "aria-label": "tracks over time: click to go to a frame" });
  const rows = h("div", { class: "video-timeline-rows" }, canvas);
  const el = h("div", { class: "video-transport" },
    h("div", { class: "video-controls" },
      h("button", { type: "button", id: "video-prev", title: "Previous frame (←)", onclick: () => o.step(-1) }, "‹ Prev"),
      playBtn,
      h("button", { type: "button", id: "video-next", title: "Next frame (→)", onclick: () => o.step(1) }, "Next ›"),
      h("label", { class: "video-frame-label" }, "Frame ", frameInput, h("span", { class: "muted" }, ` / ${o.count}`)),
      scrubber, clock),
    rows);

  let current = 0;
  frameInput.addEventListener("change", () => {
    const f = Math.round(Number(frameInput.value)) - 1;
    if (isFinite(f)) o.seek(Math.max(0, Math.min(last, f)));
  });
  frameInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      frameInput.blur();
    }
  });
  scrubber.addEventListener("input", () => o.seek(Number(scrubber.value)));
  // The scrubber is moved with the mouse: its arrow keys are the tool's (frame by frame).
  scrubber.addEventListener("keydown", (e) => e.preventDefault());

  /** @param {number} f */
  const x = (f) => PAD + (last ? (f / last) * (canvas.width / devicePixelRatio - 2 * PAD) : 0);
  /** @param {number} px client x */
  const frameAt = (px) => {
    const r = canvas.getBoundingClientRect();
    const usable = r.width - 2 * PAD;
    return Math.max(0, Math.min(last, Math.round(((px - r.left - PAD) / Math.max(1, usable)) * last)));
  };

  function draw() {
    const tracks = o.tracks();
    const width = Math.max(200, rows.clientWidth || 600);
    const height = RULER + Math.max(1, tracks.length) * ROW + 4;
    const dpr = devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const c = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, width, height);
    // Ruler: about one tick per 80 px, at round frame steps.
    c.fillStyle = "#f3f5f8";
    c.fillRect(0, 0, width, RULER);
    c.fillStyle = "#5b6573";
    c.font = "10px system-ui, sans-serif";
    const steps = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000];
    const every = steps.find((s) => (s / Math.max(1, last)) * (width - 2 * PAD) >= 80) || 10000;
    for (let f = 0; f <= last; f += every) {
      c.fillRect(x(f), RULER - 5, 1, 5);
      c.fillText(String(f + 1), x(f) + 2, 11);
    }
    const sel = o.selected();
    tracks.forEach((t, row) => {
      const y = RULER + row * ROW;
      const color = labelColor(o.labels.indexOf(t.label));
      if (t.id === sel) {
        c.fillStyle = "#eaf0fc";
        c.fillRect(0, y, width, ROW);
      }
      c.globalAlpha = t.hidden ? 0.3 : 1;
      c.fillStyle = color;
      for (const [a, b] of presentRanges(t, o.shape, o.interpolating, o.count)) {
        c.fillRect(x(a) - 1, y + 5, Math.max(2, x(b) - x(a) + 2), ROW - 10);
      }
      for (const k of t.keyframes) {
        const kx = x(k.frame);
        c.beginPath();
        c.moveTo(kx, y + 2);
        c.lineTo(kx + 4, y + ROW / 2);
        c.lineTo(kx, y + ROW - 2);
        c.lineTo(kx - 4, y + ROW / 2);
        c.closePath();
        if (k.outside || !k[o.shape]) {
          c.strokeStyle = "#5b6573";
          c.stroke();
        } else if (k.predicted) {
          c.fillStyle = "#fff";
          c.fill();
          c.strokeStyle = color;
          c.stroke();
        } else {
          c.fillStyle = color;
          c.fill();
          c.strokeStyle = "#111";
          c.stroke();
        }
      }
      c.globalAlpha = 1;
    });
    c.fillStyle = "#d62728";
    c.fillRect(x(current) - 1, 0, 2, height);
  }

  let drawing = 0;
  const redraw = () => {
    if (!drawing) drawing = requestAnimationFrame(() => {
      drawing = 0;
      draw();
    });
  };

  /** @type {number | null} */
  let dragging = null;
  canvas.addEventListener("pointerdown", (e) => {
    dragging = e.pointerId;
    canvas.setPointerCapture(e.pointerId);
    const r = canvas.getBoundingClientRect();
    const row = Math.floor((e.clientY - r.top - RULER) / ROW);
    const tracks = o.tracks();
    if (row >= 0 && row < tracks.length) o.select(tracks[row].id);
    o.seek(frameAt(e.clientX));
  });
  canvas.addEventListener("pointermove", (e) => {
    if (dragging === e.pointerId) o.seek(frameAt(e.clientX));
  });
  const end = (/** @type {PointerEvent} */ e) => {
    if (dragging === e.pointerId) dragging = null;
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  const onResize = () => redraw();
  window.addEventListener("resize", onResize);

  return {
    el,
    /** @param {number} f */
    setFrame(f) {
      current = f;
      if (document.activeElement !== frameInput) frameInput.value = String(f + 1);
      scrubber.value = String(f);
      clock.textContent = `${formatTime(f / o.rate, 2)}`;
      redraw();
    },
    /** @param {boolean} on */
    setPlaying(on) {
      playBtn.textContent = on ? "Pause" : "Play";
      playBtn.setAttribute("aria-pressed", on ? "true" : "false");
    },
    focusFrame() {
      frameInput.focus();
      frameInput.select();
    },
    redraw,
    destroy() {
      window.removeEventListener("resize", onResize);
    },
  };
}
