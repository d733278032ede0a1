// @ts-check
/**
 * Audio segments: time segments with a label (a speaker, a sound event…) on a long
 * recording, and for audio-segment-transcription the text said in each.
 *
 * The waveform streams from the server (waveform-view.js: overview, finer peaks, samples;
 * a spectrogram); playback streams through <audio> with Range requests. Drag on the
 * waveform to draw a segment (over others too: segments may overlap), drag an edge to
 * resize, drag a segment's bar to move it; edges snap to zero crossings or to silence.
 * A click selects the segment under it and moves the playhead.
 * With the job's allow_overlap off (task.tool_settings), a segment drawn or resized stops
 * at its neighbours. A 2020 label config's attributes are forms beside the list
 * (attributes.js).
 * Answer: {"segments": [{start, end, label, text?, "label-category-attributes"?}],
 * "frame-attributes"?, "duration"} (seconds, ms precision, in time order;
 * "initialValueModified" when it started from an earlier label).
 */
import { h } from "../js/dom.js";
import { labelColor, labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { AudioSource, snapTime } from "./audio-data.js";
import { OVERVIEW_BINS, WaveformView, formatTime } from "./waveform-view.js";
import { inTimeOrder, segmentList } from "./segment-list.js";
import { attributePanel, attributeSpecs, attributesProblem, frameAnswer, initialFrame, initialValues, objectAnswer } from "./attributes.js";

/** @typedef {import("./segment-list.js").Segment} Segment */
/** @typedef {import("./segment-list.js").State} State */
/** @typedef {"off" | "zero" | "silence"} Snap */

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];
const SNAPS = /** @type {Snap[]} */ (["off", "zero", "silence"]);
const EDGE_PX = 6;
const LANE = 15;

/** @param {number} t */
const ms = (t) => Math.round(t * 1000) / 1000;

/** @param {any} value @returns {any[] | null} */
function segmentsOf(value) {
  if (!value || typeof value !== "object") return null;
  if (Array.isArray(value.segments)) return value.segments;
  return null;
}

/** @param {import("../js/types.js").Task} task @returns {State} */
export function initialState(task) {
  let fromPrior = false;
  let list = task.prior_label ? segmentsOf(task.prior_label.value) : null;
  if (list) fromPrior = true;
  else list = segmentsOf(task.prediction) || [];
  const segments = list
    .filter((s) => s && task.labels.includes(s.label) && Number.isFinite(s.start) && Number.isFinite(s.end) && s.end > s.start && s.start >= 0)
    .map((s, i) => ({ id: i + 1, start: Number(s.start), end: Number(s.end), label: String(s.label), text: typeof s.text === "string" ? s.text : "", attrs: initialValues(s) }));
  return { segments, next: segments.length + 1, fromPrior, frame: initialFrame(task) };
}

/**
 * The next task's overview, asked for while the worker is on this one: the server scans
 * the recording now (the first scan of an hour is most of a cold open), and the browser
 * keeps the answer (Cache-Control) for when the task opens.
 * @param {import("../js/types.js").Task} task
 */
export function prefetch(task) {
  if (task.item.media_url) new AudioSource(task.item.media_url).peaks(0, null, OVERVIEW_BINS).catch(() => {});
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const transcribe = task.task_type === "audio-segment-transcription";
  const toolSettings = /** @type {any} */ (task).tool_settings || {};
  const allowOverlap = toolSettings.allow_overlap !== false;
  const specs = attributeSpecs(task.label_config);
  const st = () => /** @type {State} */ (store.state);
  const mediaUrl = String(task.item.media_url);
  const source = new AudioSource(mediaUrl);
  const audio = h("audio", { src: mediaUrl, preload: "metadata", id: "seg-audio" });
  /** @type {WaveformView | null} */
  let view = null;
  let duration = 0;
  let snap = /** @type {Snap} */ ("off");
  let loop = false;
  /** @type {{start: number, end: number} | null} the segment being played */
  let range = null;
  /** @type {number | null} where `b` marked a new segment's start */
  let mark = null;
  let ticking = 0;

  // --- toolbar --------------------------------------------------------------------
  /** @param {string} id @param {string} title @param {() => void} run @param {...any} label */
  const button = (id, title, run, ...label) => h("button", {
    type: "button", id, title,
    onclick: () => {
      run();
      focusWave();
    },
  }, ...label);
  const playBtn = button("seg-play", "play / pause (Space)", () => toggle(), "▶ Play");
  const playSegBtn = button("seg-play-segment", "play the selected segment (p)", () => playSelected(), "▶ Segment ", h("kbd", null, "p"));
  const loopBtn = button("seg-loop", "loop the segment (l)", () => setLoop(!loop), "⟳ Loop ", h("kbd", null, "l"));
  const speed = h("select", { id: "seg-speed", "aria-label": "speed", title: "speed ([ ])", onchange: () => { audio.playbackRate = Number(speed.value); focusWave(); } },
    SPEEDS.map((s) => h("option", { value: String(s), selected: s === 1 }, `${s}×`)));
  const snapSel = h("select", { id: "seg-snap", "aria-label": "snap edges", title: "snap edges (g)", onchange: () => { snap = /** @type {Snap} */ (snapSel.value); focusWave(); } },
    h("option", { value: "off" }, "no snap"), h("option", { value: "zero" }, "snap: zero crossing"), h("option", { value: "silence" }, "snap: silence"));
  const spectroBtn = button("seg-spectrogram", "waveform / spectrogram (v)", () => toggleSpectrogram(), "Spectrogram ", h("kbd", null, "v"));
  const zoomIn = button("seg-zoom-in", "zoom in (=, Ctrl+wheel)", () => view && view.zoomAt(centre(), 2), "+");
  const zoomOut = button("seg-zoom-out", "zoom out (-)", () => view && view.zoomAt(centre(), 0.5), "−");
  const zoomFit = button("seg-zoom-fit", "whole recording (f)", () => view && view.fit(), "Fit");
  const clock = h("span", { class: "muted seg-clock", id: "seg-clock" }, "0:00.000");
  const status = h("p", { class: "muted", id: "seg-status" }, "Loading the audio…");
  const waveHolder = h("div", { class: "seg-wave-holder" });
  const toolbar = h("div", { class: "row seg-toolbar" }, playBtn, playSegBtn, loopBtn, speed, snapSel, spectroBtn,
    h("span", { class: "seg-zoom", role: "group", "aria-label": "zoom" }, zoomOut, zoomIn, zoomFit), clock);
  const rootEl = h("div", { class: "audio-segments", id: "audio-segments" }, toolbar, waveHolder, status, audio);
  ctx.root.append(rootEl);

  const side = segmentList(/** @type {any} */ (store), {
    transcribe, shortNames: ctx.shortNames,
    select: (id) => selectAndShow(id),
    play: (id) => {
      selectAndShow(id);
      playSelected();
    },
    remove: (id) => remove(id),
    relabel: (id, label) => relabel(id, label),
    fieldKey: (e) => fieldKey(e),
    leave: () => focusWave(),
  });
  ctx.side.append(labelBar(store, { shortNames: ctx.shortNames }).el, side.el);
  if (specs.any) {
    ctx.side.append(attributePanel({
      store, specs, noun: "Segment", objects: () => inTimeOrder(st().segments),
      objectsOf: (/** @type {State} */ s) => inTimeOrder(s.segments), locked: () => st().fromPrior,
    }));
  }

  const centre = () => (view ? view.start + view.visible / 2 : 0);
  const focusWave = () => view && view.canvas.focus({ preventScroll: true });
  /** @param {string} label */
  const colorOf = (label) => labelColor(store.labels.indexOf(label));

  // --- drawing the segments ---------------------------------------------------------
  /** Lanes for the bars of overlapping segments, in time order. @returns {Map<number, number>} */
  function lanes() {
    /** @type {number[]} */
    const ends = [];
    const out = new Map();
    for (const s of inTimeOrder(st().segments)) {
      let lane = ends.findIndex((e) => e <= s.start);
      if (lane < 0) lane = ends.push(s.end) - 1;
      else ends[lane] = s.end;
      out.set(s.id, lane);
    }
    return out;
  }

  /** @param {CanvasRenderingContext2D} c @param {import("./waveform-view.js").Frame} f */
  function overlay(c, f) {
    if (store.hidden) return;
    const laneOf = lanes();
    const maxLanes = Math.max(1, Math.floor((f.height * 0.5) / LANE));
    c.font = "11px system-ui, sans-serif";
    for (const s of st().segments) {
      const x0 = f.x(s.start);
      const x1 = f.x(s.end);
      if (x1 < 0 || x0 > f.width) continue;
      const color = colorOf(s.label);
      const selected = store.selected === s.id;
      c.fillStyle = `${color}${selected ? "40" : "24"}`;
      c.fillRect(x0, f.top, Math.max(1, x1 - x0), f.height);
      const y = f.top + (Math.min(laneOf.get(s.id) || 0, maxLanes - 1)) * LANE;
      c.fillStyle = color;
      c.fillRect(x0, y, Math.max(2, x1 - x0), LANE - 2);
      c.fillStyle = "#fff";
      const name = ctx.shortNames[s.label] || s.label;
      if (x1 - x0 > 24) c.fillText(name, Math.max(x0, 0) + 3, y + LANE - 5, Math.max(10, x1 - Math.max(x0, 0) - 6));
      c.fillStyle = selected ? "#1a202c" : color;
      c.fillRect(x0 - (selected ? 1 : 0), f.top, selected ? 3 : 1, f.height);
      c.fillRect(x1 - (selected ? 2 : 1), f.top, selected ? 3 : 1, f.height);
    }
    if (mark !== null) {
      c.fillStyle = "#2f855a";
      c.fillRect(f.x(mark) - 1, f.top, 2, f.height);
    }
  }

  /** @param {CanvasRenderingContext2D} c @param {(t: number) => number} x @param {number} hgt */
  function minimapOverlay(c, x, hgt) {
    for (const s of st().segments) {
      c.fillStyle = `${colorOf(s.label)}99`;
      c.fillRect(x(s.start), hgt - 6, Math.max(1, x(s.end) - x(s.start)), 6);
    }
  }

  // --- editing -----------------------------------------------------------------------
  /** @param {number} id */
  const find = (id) => st().segments.find((s) => s.id === id);

  /** @param {number} id @param {string} label */
  function relabel(id, label) {
    store.update((/** @type {State} */ s) => {
      const seg = s.segments.find((x) => x.id === id);
      if (seg) seg.label = label;
    }, { reason: "relabel" });
  }

  /** @param {number} id */
  function remove(id) {
    store.update((/** @type {State} */ s) => {
      s.segments = s.segments.filter((x) => x.id !== id);
    }, { reason: "delete" });
    if (store.selected === id) store.select(null);
  }

  /** @param {number} a @param {number} b @param {string} label @returns {number} */
  function add(a, b, label, record = true) {
    const id = st().next;
    store.update((/** @type {State} */ s) => {
      s.segments.push({ id, start: Math.min(a, b), end: Math.max(a, b), label, text: "" });
      s.next = id + 1;
    }, { record, reason: "add" });
    store.select(id);
    return id;
  }

  /**
   * Without overlaps: the free time around `at` between the other segments.
   * @param {number} id @param {number} at @returns {[number, number]}
   */
  function gapAround(id, at) {
    let lo = 0;
    let hi = duration || Infinity;
    if (allowOverlap) return [lo, hi];
    for (const s of st().segments) {
      if (s.id === id) continue;
      if (s.end <= at + 1e-9) lo = Math.max(lo, s.end);
      else if (s.start >= at - 1e-9) hi = Math.min(hi, s.start);
      else return [at, at]; // inside another segment: no room
    }
    return [lo, hi];
  }

  /** @param {number} id @param {Partial<Segment>} change @param {boolean} record */
  function edit(id, change, record) {
    store.update((/** @type {State} */ s) => {
      const seg = s.segments.find((x) => x.id === id);
      if (!seg) return;
      Object.assign(seg, change);
      if (seg.end < seg.start) [seg.start, seg.end] = [seg.end, seg.start];
      seg.start = Math.max(0, seg.start);
      seg.end = Math.min(duration || seg.end, seg.end);
    }, { record, reason: record ? "edit" : "drag" });
  }

  /** Snap the edges a gesture moved, in the same undo step. @param {number} id @param {("start" | "end")[]} edges */
  async function snapEdges(id, edges) {
    if (snap === "off") return;
    const seg = find(id);
    if (!seg) return;
    /** @type {Partial<Segment>} */
    const change = {};
    for (const edge of edges) change[edge] = await snapTime(source, seg[edge], snap, edge, duration);
    if ((change.end ?? seg.end) - (change.start ?? seg.start) > 0.001) edit(id, change, false);
  }

  /** @param {number} id */
  function selectAndShow(id) {
    store.select(id);
    const seg = find(id);
    if (!seg) return;
    if (view) view.reveal(seg.start);
    seek(seg.start);
  }

  // --- pointer -----------------------------------------------------------------------
  /**
   * What is under a point of the waveform: an edge to resize, a bar to move, a segment.
   * @param {number} x canvas px @param {number} y canvas px
   * @returns {{kind: "edge", id: number, edge: "start" | "end"} | {kind: "bar", id: number} | {kind: "body", id: number | null}}
   */
  function hit(x, y) {
    if (!view || store.hidden) return { kind: "body", id: null };
    const v = view;
    const segs = st().segments;
    const near = segs
      .flatMap((s) => [{ s, edge: /** @type {"start"} */ ("start"), d: Math.abs(v.x(s.start) - x) }, { s, edge: /** @type {"end"} */ ("end"), d: Math.abs(v.x(s.end) - x) }])
      .filter((e) => e.d <= EDGE_PX)
      .sort((a, b) => Number(b.s.id === store.selected) - Number(a.s.id === store.selected) || a.d - b.d);
    if (near.length) return { kind: "edge", id: near[0].s.id, edge: near[0].edge };
    const laneOf = lanes();
    const maxLanes = Math.max(1, Math.floor(((v.height - 18) * 0.5) / LANE));
    const lane = Math.floor((y - 18) / LANE);
    const t = v.start + x * v.spp;
    if (lane >= 0 && lane < maxLanes) {
      const bar = segs.find((s) => Math.min(laneOf.get(s.id) || 0, maxLanes - 1) === lane && s.start <= t && s.end >= t);
      if (bar) return { kind: "bar", id: bar.id };
    }
    const under = segs.filter((s) => s.start <= t && s.end >= t).sort((a, b) => (a.end - a.start) - (b.end - b.start));
    return { kind: "body", id: under.length ? under[0].id : null };
  }

  /** @type {{kind: string, id: number | null, edge?: "start" | "end", t0: number, x0: number, moved: boolean, seg?: Segment, gap?: [number, number]} | null} */
  let drag = null;

  /** @param {PointerEvent} e */
  function canvasXY(e) {
    const c = /** @type {WaveformView} */ (view).canvas;
    const r = c.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * c.width, ((e.clientY - r.top) / r.height) * c.height];
  }

  function wirePointer() {
    const v = /** @type {WaveformView} */ (view);
    const c = v.canvas;
    c.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      c.focus({ preventScroll: true });
      c.setPointerCapture(e.pointerId);
      const [x, y] = canvasXY(e);
      const what = hit(x, y);
      const t = v.timeAt(e.clientX);
      const seg = what.id !== null ? find(what.id) : undefined;
      drag = { kind: what.kind, id: what.id, edge: what.kind === "edge" ? what.edge : undefined, t0: t, x0: x, moved: false, seg: seg && { ...seg } };
      if (what.kind !== "body" && what.id !== null) store.select(what.id);
    });
    c.addEventListener("pointermove", (e) => {
      const [x, y] = canvasXY(e);
      if (!drag) {
        const what = hit(x, y);
        c.style.cursor = what.kind === "edge" ? "ew-resize" : what.kind === "bar" ? "grab" : "crosshair";
        return;
      }
      const t = v.timeAt(e.clientX);
      if (!drag.moved) {
        if (Math.abs(x - drag.x0) < 3) return;
        drag.moved = true;
        if (drag.kind === "body") {
          const [lo, hi] = gapAround(-1, drag.t0);
          if (hi - lo <= 0) {
            drag = null;
            status.textContent = "This job does not allow overlapping segments: draw in free time.";
            return;
          }
          drag.kind = "draw";
          drag.gap = [lo, hi];
          drag.id = add(drag.t0, Math.min(hi, Math.max(lo, t)), store.activeLabel);
          return;
        }
        store.checkpoint();
      }
      if (drag.id === null) return;
      if (drag.kind === "draw") {
        const [lo, hi] = drag.gap || [0, duration];
        const to = Math.min(hi, Math.max(lo, t));
        edit(drag.id, { start: Math.min(drag.t0, to), end: Math.max(drag.t0, to) }, false);
      } else if (drag.kind === "edge" && drag.edge && drag.seg) {
        const other = drag.edge === "start" ? drag.seg.end : drag.seg.start;
        const [lo, hi] = gapAround(drag.id, (drag.seg.start + drag.seg.end) / 2);
        const to = Math.min(hi, Math.max(lo, t));
        edit(drag.id, { start: Math.min(other, to), end: Math.max(other, to) }, false);
      } else if (drag.kind === "bar" && drag.seg) {
        const len = drag.seg.end - drag.seg.start;
        const [lo, hi] = allowOverlap ? [0, duration] : gapAround(drag.id, (drag.seg.start + drag.seg.end) / 2);
        const start = Math.min(Math.max(lo, drag.seg.start + t - drag.t0), Math.max(lo, hi - len));
        edit(drag.id, { start, end: start + len }, false);
      }
      // Dragging past the edge of the view scrolls it.
      if (x > v.width - 4) v.scrollBy(8);
      else if (x < 4) v.scrollBy(-8);
    });
    const end = (/** @type {PointerEvent} */ e) => {
      const d = drag;
      drag = null;
      if (!d) return;
      if (!d.moved) {
        const [x, y] = canvasXY(e);
        const what = hit(x, y);
        store.select(what.id);
        seek(v.timeAt(e.clientX));
        return;
      }
      if (d.id === null) return;
      if (d.kind === "draw") snapEdges(d.id, ["start", "end"]);
      else if (d.kind === "edge") {
        const seg = find(d.id);
        const orig = d.seg;
        // The edge dragged may have crossed the other one and become it.
        if (seg && orig) snapEdges(d.id, [Math.abs(seg.start - orig.start) > Math.abs(seg.end - orig.end) ? "start" : "end"]);
      }
    };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) v.zoomAt(v.timeAt(e.clientX), Math.pow(1.0025, -e.deltaY));
      else v.scrollBy(Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY);
    }, { passive: false });
  }

  // --- playback ----------------------------------------------------------------------
  /** @param {number} t */
  function seek(t) {
    audio.currentTime = Math.max(0, Math.min(duration || t, t));
    if (view) view.setPlayhead(audio.currentTime);
    showClock();
  }

  function showClock() {
    clock.textContent = `${formatTime(audio.currentTime)} / ${formatTime(duration)}`;
  }

  function tick() {
    ticking = 0;
    const t = audio.currentTime;
    if (range && t >= range.end) {
      if (loop) audio.currentTime = range.start;
      else {
        audio.pause();
        audio.currentTime = range.end;
        range = null;
      }
    }
    if (view) {
      view.setPlayhead(audio.currentTime);
      // The view follows the playhead a page at a time.
      if (!audio.paused && (t > view.start + view.visible || t < view.start)) view.setView(t - view.visible * 0.05, view.spp);
    }
    showClock();
    if (!audio.paused) ticking = requestAnimationFrame(tick);
  }

  function toggle() {
    if (audio.paused) {
      range = null;
      audio.play().catch(() => {});
    } else audio.pause();
  }

  function playSelected() {
    const seg = store.selected !== null ? find(Number(store.selected)) : undefined;
    if (!seg) {
      toggle();
      return;
    }
    range = { start: seg.start, end: seg.end };
    audio.currentTime = seg.start;
    audio.play().catch(() => {});
  }

  /** @param {boolean} on */
  function setLoop(on) {
    loop = on;
    loopBtn.classList.toggle("on", on);
    loopBtn.setAttribute("aria-pressed", on ? "true" : "false");
    if (on && audio.paused) playSelected();
  }

  /** @param {number} dir */
  function changeSpeed(dir) {
    const i = SPEEDS.indexOf(Number(speed.value));
    const next = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 2 : i) + dir))];
    speed.value = String(next);
    audio.playbackRate = next;
  }

  function toggleSpectrogram() {
    if (!view) return;
    view.toggleSpectrogram();
    spectroBtn.classList.toggle("on", view.spectrogram);
    spectroBtn.setAttribute("aria-pressed", view.spectrogram ? "true" : "false");
  }

  for (const ev of ["play", "pause", "seeked", "ratechange"]) {
    audio.addEventListener(ev, () => {
      playBtn.textContent = audio.paused ? "▶ Play" : "❚❚ Pause";
      if (!audio.paused && !ticking) ticking = requestAnimationFrame(tick);
      showClock();
      if (view) view.setPlayhead(audio.currentTime);
    });
  }

  /** Keys in a segment's text box: the player's, with a modifier. @param {KeyboardEvent} e */
  function fieldKey(e) {
    if (e.ctrlKey && e.key === " ") toggle();
    else if (e.altKey && (e.key === "p" || e.code === "KeyP")) playSelected();
    else if (e.altKey && (e.key === "l" || e.code === "KeyL")) setLoop(!loop);
    else if (e.altKey && e.key === "ArrowLeft") seek(audio.currentTime - 5);
    else if (e.altKey && e.key === "ArrowRight") seek(audio.currentTime + 5);
    else return false;
    return true;
  }

  // --- loading -----------------------------------------------------------------------
  const ready = (async () => {
    try {
      // Both at once: one round trip before the waveform, not two.
      const overview = source.peaks(0, null, OVERVIEW_BINS);
      overview.catch(() => {}); // a failure is reported once, by whichever is awaited first
      const info = await source.info();
      duration = info.duration;
      view = new WaveformView(source, info, overlay, minimapOverlay);
      waveHolder.append(view.el, view.note);
      wirePointer();
      await view.load(overview);
      status.textContent = transcribe
        ? "Drag on the waveform to mark a segment, then type what is said in its box (t)."
        : "Drag on the waveform to mark a segment; 1–9 label it.";
      rootEl.dataset.ready = "1";
      performance.mark("audio-segments-ready");
      showClock();
    } catch (err) {
      status.textContent = String(/** @type {Error} */ (err).message || err);
      status.classList.add("error");
    }
  })();
  void ready;
  const redraw = () => view && view.requestDraw();
  store.on("change", redraw);
  store.on("select", redraw);
  store.on("visibility", redraw);

  return {
    answer() {
      const segments = inTimeOrder(st().segments).map((s) => {
        /** @type {Record<string, any>} */
        const out = { start: ms(s.start), end: ms(s.end), label: s.label };
        if (transcribe) out.text = s.text || "";
        return { ...out, ...objectAnswer(specs, s) };
      });
      /** @type {Record<string, any>} */
      const out = { segments, ...frameAnswer(specs, st()), duration: ms(duration) };
      if (st().fromPrior) out.initialValueModified = store.modified;
      return out;
    },
    problem() {
      if (!duration) return "The audio is still loading.";
      const segs = inTimeOrder(st().segments);
      const short = segs.findIndex((s) => ms(s.end) <= ms(s.start));
      if (short >= 0) return `Segment #${short + 1} is shorter than a millisecond: make it longer or delete it.`;
      if (!allowOverlap) {
        const over = segs.findIndex((s, i) => i > 0 && ms(s.start) < Math.max(...segs.slice(0, i).map((x) => ms(x.end))));
        if (over >= 0) return `Segment #${over + 1} overlaps an earlier one, and this job does not allow overlapping segments.`;
      }
      return attributesProblem(store, specs, () => segs, "Segment");
    },
    onKey(e) {
      const i = labelIndexFromKey(e);
      if (i >= 0 && i < store.labels.length) {
        const label = store.labels[i];
        store.setActiveLabel(label);
        if (store.selected !== null) relabel(Number(store.selected), label);
        return true;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return false;
      const v = view;
      const selected = store.selected !== null ? find(Number(store.selected)) : undefined;
      switch (e.key) {
        case " ": case "k": toggle(); return true;
        case "p": playSelected(); return true;
        case "l": setLoop(!loop); return true;
        case "[": changeSpeed(-1); return true;
        case "]": changeSpeed(1); return true;
        case "ArrowLeft": seek(audio.currentTime - (e.shiftKey ? 1 : 5)); return true;
        case "ArrowRight": seek(audio.currentTime + (e.shiftKey ? 1 : 5)); return true;
        case "Home": seek(0); if (v) v.reveal(0); return true;
        case "End": seek(duration); if (v) v.reveal(duration); return true;
        case "=": case "+": if (v) v.zoomAt(v.playhead >= v.start && v.playhead <= v.start + v.visible ? v.playhead : centre(), 2); return true;
        case "-": if (v) v.zoomAt(centre(), 0.5); return true;
        case "f": if (v) v.fit(); return true;
        case "v": toggleSpectrogram(); return true;
        case "g": snap = SNAPS[(SNAPS.indexOf(snap) + 1) % SNAPS.length]; snapSel.value = snap; return true;
        case "h": store.toggleHidden(); return true;
        case "Delete": case "Backspace":
          if (!selected) return false;
          remove(selected.id);
          return true;
        case "Escape":
          if (store.selected === null && mark === null) return false;
          store.select(null);
          mark = null;
          redraw();
          return true;
        case "Tab": {
          const segs = inTimeOrder(st().segments);
          if (!segs.length) return false;
          const at = segs.findIndex((s) => s.id === store.selected);
          selectAndShow(segs[(at + (e.shiftKey ? -1 : 1) + segs.length) % segs.length].id);
          return true;
        }
        case "t": return selected ? side.focusText(selected.id) : false;
        case "b":
          if (selected) edit(selected.id, { start: audio.currentTime }, true);
          else mark = audio.currentTime;
          redraw();
          return true;
        case "e":
          if (selected) edit(selected.id, { end: audio.currentTime }, true);
          else if (mark !== null && Math.abs(audio.currentTime - mark) > 0.001) {
            add(mark, audio.currentTime, store.activeLabel);
            mark = null;
          } else return false;
          return true;
        default: return false;
      }
    },
    shortcuts: [
      ["drag on the waveform", "draw a segment (over others too)"], ["drag an edge / a bar", "resize / move a segment"],
      ["click", "select the segment there, move the playhead"], ["1–9, 0", "label the selected segment / the next one"],
      ["Space / k", "play / pause"], ["p", "play the selected segment"], ["l", "loop the segment"],
      ["[ ]", "slower / faster (0.5×–2×)"], ["← → (Shift: 1 s)", "seek 5 s"],
      ["b / e", "set the segment's start / end at the playhead (nothing selected: mark a new one)"],
      ["= / - / f, Ctrl+wheel", "zoom in / out / whole recording"], ["wheel, minimap", "scroll"],
      ["g", "snap: off / zero crossing / silence"], ["v", "waveform / spectrogram"],
      ["Tab / Shift+Tab", "next / previous segment"], ["Delete", "delete the segment"], ["Esc", "deselect"],
      ["t", "type in the segment's text box"],
      ["in a text box: Ctrl+Space, Alt+P, Alt+L, Alt+← →, Esc", "play / pause, play segment, loop, seek, back to the waveform"],
      ["h", "hide / show segments"],
    ],
    destroy() {
      audio.pause();
      audio.removeAttribute("src");
      if (ticking) cancelAnimationFrame(ticking);
      if (view) view.destroy();
    },
  };
}
