// @ts-check
/**
 * Assisted segmentation for the image tools: the server's four-extreme-points (GrabCut)
 * and click-to-grow routes, and the run-length masks they answer with.
 * POST /api/items/{id}/assist/extreme-points {extreme_points, positive, negative}
 * POST /api/items/{id}/assist/grow {point, tolerance}
 * POST /api/jobs/{job}/items/{id}/assist/onnx {box, points, point_labels}: the job's own
 *   Segment-Anything-style model (the next body's `assist_model`), which then takes the
 *   place of the four points: two clicks give opposite corners of a box round the object,
 *   later clicks refine it (Shift: outside the object); the corners are kept as `ext`
 * answer {width, height, area, rle: {box: [x, y, w, h], counts}, polygons?, millis}: the
 * counts run over the box's rows, alternating off / on, starting with an off run.
 */
import { api } from "../js/api.js";
import { svg } from "../js/dom.js";

/**
 * @typedef {{x: number, y: number}} Pt
 * @typedef {{box: [number, number, number, number], counts: number[]}} Rle
 * @typedef {{width: number, height: number, area: number, rle: Rle, polygons?: Pt[][], millis: number}} MaskAnswer
 */

/**
 * The URL of an assist route for the task's item (beside its media URL), or null.
 * @param {import("../js/types.js").Task} task @param {"extreme-points" | "grow"} kind
 */
export function assistUrl(task, kind) {
  const media = task.item.media_url;
  if (!media || !/\/media$/.test(media)) return null;
  return media.replace(/\/media$/, `/assist/${kind}`);
}

/**
 * The job's own model's click route for the task's item, or null when the job has none.
 * @param {import("../js/types.js").Task} task
 */
export function modelAssistUrl(task) {
  const match = /\/api\/items\/(\d+)\/media$/.exec(task.item.media_url || "");
  if (!match || !(/** @type {any} */ (task).assist_model)) return null;
  return `/api/jobs/${encodeURIComponent(task.job)}/items/${match[1]}/assist/onnx`;
}

/**
 * The model route's prompt for a box (its corners as `ext`) and refining clicks.
 * @param {{ext: Pt[], pos: Pt[], neg: Pt[]}} c
 */
export function modelPrompt(c) {
  const [a, b] = c.ext;
  return {
    box: [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)],
    points: [...c.pos, ...c.neg],
    point_labels: [...c.pos.map(() => 1), ...c.neg.map(() => 0)],
  };
}

/**
 * Ask for a mask. Rejects with the API's error (its message names the bad field).
 * @param {string} url @param {Record<string, unknown>} body @returns {Promise<MaskAnswer>}
 */
export function fetchMask(url, body) {
  return api(url, { body, timeout: 20000 });
}

/**
 * Call `fn(i)` with the row-major index of every pixel the mask covers.
 * @param {Rle} rle @param {number} width the image's width @param {(i: number) => void} fn
 */
export function forEachMaskPixel(rle, width, fn) {
  const [bx, by, bw] = rle.box;
  let pos = 0;
  let on = false;
  for (const n of rle.counts) {
    if (on) {
      for (let k = pos; k < pos + n; k++) fn((by + Math.floor(k / bw)) * width + bx + (k % bw));
    }
    pos += n;
    on = !on;
  }
}

/**
 * Draw the clicks of an assisted mask: extreme points as diamonds, positive clicks as
 * green discs, negative ones as red discs.
 * @param {SVGElement} layer @param {{ext?: Pt[], pos?: Pt[], neg?: Pt[]}} clicks
 * @param {number} k image pixels per screen pixel @param {string} color
 */
export function drawClicks(layer, clicks, k, color) {
  for (const p of clicks.ext || []) {
    const r = 6 * k;
    layer.appendChild(svg("polygon", {
      class: "assist-point", "data-kind": "extreme", fill: color, stroke: "#fff", "stroke-width": 1.5 * k,
      points: `${p.x},${p.y - r} ${p.x + r},${p.y} ${p.x},${p.y + r} ${p.x - r},${p.y}`,
    }));
  }
  for (const [list, fill, kind] of /** @type {[Pt[] | undefined, string, string][]} */ ([[clicks.pos, "#16a34a", "positive"], [clicks.neg, "#dc2626", "negative"]])) {
    for (const p of list || []) {
      layer.appendChild(svg("circle", { class: "assist-point", "data-kind": kind, cx: p.x, cy: p.y, r: 5 * k, fill, stroke: "#fff", "stroke-width": 1.5 * k }));
    }
  }
}

/**
 * @typedef {{ext: Pt[], pos: Pt[], neg: Pt[], label: string}} Clicks
 * @typedef {{
 *   task: import("../js/types.js").Task,
 *   store: import("../js/store.js").AnnotationStore<any>,
 *   status: HTMLElement,
 *   overlay: SVGSVGElement,
 *   polygons?: boolean,
 *   growErases?: boolean,
 *   current: () => Clicks | null,
 *   land: (answer: MaskAnswer, clicks: Clicks, replace: boolean, erase: boolean) => void,
 *   changed: () => void,
 * }} AssistOptions
 *   current: the clicks of the assisted mask that is last in the tool's state, if any;
 *   land: put an answer into the state (replace: instead of that last assisted mask);
 *   changed: redraw the markers; polygons: ask for outlines too; growErases: Shift+click in
 *   grow mode erases (said in the status line)
 */

/**
 * The assisted modes of an image tool: "points" (four extreme points, then refinement
 * clicks: Shift+click is negative; Enter / Esc end the object) and "grow" (a click grows
 * a region; Shift+click is the tool's erase). The tool keeps the masks in its state; this
 * keeps the points clicked so far and whether clicks refine the last mask.
 * @param {AssistOptions} o
 */
export function createAssist(o) {
  const modelUrl = modelAssistUrl(o.task);
  // With the job's own model, its route answers the points mode: a box, then clicks.
  const pointsUrl = modelUrl || assistUrl(o.task, "extreme-points");
  const corners = modelUrl ? 2 : 4;
  /** @param {{ext: Pt[], pos: Pt[], neg: Pt[]}} c */
  const promptOf = (c) => (modelUrl ? modelPrompt(c) : { extreme_points: c.ext, positive: c.pos, negative: c.neg });
  const growUrl = assistUrl(o.task, "grow");
  /** @type {Pt[]} */
  let pending = [];
  let refining = false;
  let busy = false;
  let tolerance = 25;

  function refined() {
    return refining ? o.current() : null;
  }
  /** @param {string} url @param {Record<string, unknown>} body @param {(a: MaskAnswer) => void} then */
  async function ask(url, body, then) {
    busy = true;
    o.overlay.style.cursor = "progress";
    o.status.textContent = "Working…";
    try {
      const answer = await fetchMask(url, { ...body, polygons: !!o.polygons });
      then(answer);
      o.status.textContent = `${answer.area.toLocaleString()} px (${Math.round(answer.millis)} ms)`;
      return true;
    } catch (err) {
      o.status.textContent = `No mask: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    } finally {
      busy = false;
      o.overlay.style.cursor = "";
      o.changed();
    }
  }
  /** @param {Pt} pt @param {boolean} negative */
  function pointsClick(pt, negative) {
    if (!pointsUrl) return;
    const base = refined();
    if (base) {
      const clicks = {
        ...base,
        pos: [...base.pos, ...(negative ? [] : [pt])],
        neg: [...base.neg, ...(negative ? [pt] : [])],
      };
      const body = promptOf(clicks);
      // Replace the mask being refined (one undo step per click), unless it was undone
      // meanwhile: then the refined mask is a new one.
      ask(pointsUrl, body, (a) => {
        const last = o.current();
        o.land(a, clicks, !!last && JSON.stringify(last.ext) === JSON.stringify(clicks.ext), false);
      });
      return;
    }
    pending = [...pending, pt];
    o.changed();
    if (pending.length < corners) return;
    const clicks = { ext: pending, pos: [], neg: [], label: o.store.activeLabel };
    ask(pointsUrl, promptOf(clicks), (a) => {
      refining = true;
      o.land(a, clicks, false, false);
    }).then((ok) => {
      // A refused set of points is dropped too: the next click starts again.
      pending = [];
      if (ok) o.status.textContent += ". Click to add, Shift+click to take away; Enter ends the object.";
      o.changed();
    });
  }
  /** @param {Pt} pt @param {boolean} erase */
  function growClick(pt, erase) {
    if (!growUrl) return;
    const clicks = { ext: [], pos: [pt], neg: [], label: o.store.activeLabel };
    ask(growUrl, { point: pt, tolerance }, (a) => o.land(a, clicks, false, erase));
  }

  return {
    available: !!pointsUrl,
    /** Whether the points mode asks the job's own model (a box, then clicks). */
    model: !!modelUrl,
    /** @param {"points" | "grow"} mode @param {Pt} pt @param {boolean} shift */
    click(mode, pt, shift) {
      if (busy) return;
      if (mode === "points") pointsClick(pt, shift);
      else growClick(pt, shift);
    },
    /** @param {string | null} mode the tool's new mode */
    reset(mode) {
      pending = [];
      refining = false;
      o.status.textContent = mode === "points" ? (modelUrl ? "The job's model: click two opposite corners of a box round the object." : "Click the object's top, bottom, left and right points.") : mode === "grow" ? `Click a region to take it in${o.growErases ? " (Shift+click: take it away)" : ""}.` : "";
      o.changed();
    },
    /** The label changed: the next click starts a new object. */
    endObject() {
      refining = false;
      o.changed();
    },
    /** @param {KeyboardEvent} e @returns {boolean} handled */
    onKey(e) {
      if ((refined() || pending.length) && (e.key === "Enter" || e.key === "Escape")) {
        // Enter ends the object (a click then starts a new one); Esc also drops the
        // extreme points clicked so far.
        refining = false;
        if (e.key === "Escape") pending = [];
        o.status.textContent = modelUrl ? "Click two corners of a box round the next object." : "Click the next object's four extreme points.";
        o.changed();
        return true;
      }
      if (pending.length && e.key === "Backspace") {
        pending = pending.slice(0, -1);
        o.changed();
        return true;
      }
      return false;
    },
    /** @param {SVGElement} layer @param {number} k @param {(label: string) => string} colorOf */
    draw(layer, k, colorOf) {
      const base = refined();
      if (base) drawClicks(layer, base, k, colorOf(base.label));
      if (pending.length) drawClicks(layer, { ext: pending }, k, colorOf(o.store.activeLabel));
    },
    /** @returns {string | null} */
    problem() {
      if (busy) return "Wait for the mask being computed.";
      if (pending.length) return modelUrl ? "Click the box's other corner first, or press Esc." : `Click the object's ${4 - pending.length} other extreme point(s) first, or press Esc.`;
      return null;
    },
    /** @param {number} t */
    setTolerance(t) {
      tolerance = t;
    },
  };
}

/** The assisted modes' lines of the help. @type {[string, string][]} */
export const ASSIST_SHORTCUTS = [
  ["a", "4 points: click the object's top, bottom, left and right points (a job with its own model: two corners of a box round it)"],
  ["click / Shift+click (after 4 points)", "add to / take away from the mask"],
  ["Enter / Esc", "end the object (Esc also drops its points)"],
];
