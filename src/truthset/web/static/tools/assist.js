// @ts-check
/**
 * Assisted segmentation for the image tools: the server's four-extreme-points (GrabCut)
 * and click-to-grow routes, and the run-length masks they answer with.
 * POST /api/items/{id}/assist/extreme-points {extreme_points, positive, negative}
 * POST /api/items/{id}/assist/grow {point, tolerance}
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
