// @ts-check
/**
 * Semantic segmentation of the points: a brush (a circle on the screen: every point
 * drawn under it, at any depth, takes the active label), a lasso (a closed freehand
 * outline: every point inside it) and the eraser (back to unlabeled, 0). Screen space:
 * the points are projected once per stroke with the camera of that moment.
 */
import { svg } from "../js/dom.js";

/** @typedef {"brush" | "lasso"} PaintTool */

export class Painter {
  /**
   * @param {object} o
   * @param {HTMLElement} o.host the element over the canvas (position: relative)
   * @param {import("./pc-scene.js").CloudScene} o.scene
   * @param {() => Uint8Array} o.labels the working labels (changed in place while painting)
   * @param {() => number} o.value the class id a stroke paints (0 when erasing)
   * @param {(changed: number) => void} o.done a stroke ended, `changed` points changed
   * @param {Set<number>} [o.fixed] class ids a stroke neither takes from a point nor gives
   *   to one (labels that allow no edits in a job chained on an earlier label)
   * @param {() => void} [o.refused] a stroke of a fixed class began (to say why nothing paints)
   */
  constructor({ host, scene, labels, value, done, fixed = new Set(), refused = () => {} }) {
    this.host = host;
    this.fixed = fixed;
    this.refused = refused;
    this.scene = scene;
    this.labels = labels;
    this.value = value;
    this.done = done;
    /** @type {PaintTool} */
    this.tool = "brush";
    this.radius = 20;
    this.active = false;
    this.overlay = svg("svg", { class: "pc-paint-overlay" });
    this.cursor = svg("circle", { class: "pc-brush", r: this.radius, cx: -100, cy: -100 });
    this.path = svg("polyline", { class: "pc-lasso", points: "" });
    this.overlay.append(this.cursor, this.path);
    host.appendChild(this.overlay);
    /** @type {{screen: Float32Array, lasso: number[], changed: Set<number>} | null} */
    this.stroke = null;
    this.onDown = this.onDown.bind(this);
    this.onMove = this.onMove.bind(this);
    this.onUp = this.onUp.bind(this);
    host.addEventListener("pointerdown", this.onDown, { capture: true });
    host.addEventListener("pointermove", this.onMove);
    host.addEventListener("pointerup", this.onUp);
    host.addEventListener("pointercancel", this.onUp);
    this.setActive(false);
  }

  /** @param {boolean} on */
  setActive(on) {
    this.active = on;
    this.overlay.style.display = on ? "" : "none";
    // in paint mode the left button paints; the right button orbits, the wheel zooms
    const c = this.scene.controls;
    c.mouseButtons.LEFT = on ? /** @type {any} */ (-1) : 0;
    c.mouseButtons.RIGHT = on ? 0 : 2;
  }

  /** @param {number} r */
  setRadius(r) {
    this.radius = Math.max(2, Math.min(200, r));
    this.cursor.setAttribute("r", String(this.radius));
  }

  /** @param {PointerEvent} e */
  at(e) {
    const r = this.scene.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  /** @param {PointerEvent} e */
  onDown(e) {
    if (!this.active || e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation(); // the orbit controls never see a paint stroke
    this.host.setPointerCapture(e.pointerId);
    if (this.fixed.has(this.value())) this.refused();
    this.stroke = { screen: this.scene.screenPositions(), lasso: [], changed: new Set() };
    this.onMove(e);
  }

  /** @param {PointerEvent} e */
  onMove(e) {
    if (!this.active) return;
    const p = this.at(e);
    this.cursor.setAttribute("cx", String(this.tool === "brush" ? p.x : -100));
    this.cursor.setAttribute("cy", String(this.tool === "brush" ? p.y : -100));
    const s = this.stroke;
    if (!s) return;
    if (this.tool === "lasso") {
      s.lasso.push(p.x, p.y);
      this.path.setAttribute("points", s.lasso.join(" "));
      return;
    }
    const labels = this.labels();
    const value = this.value();
    if (this.fixed.has(value)) return;
    const fixed = this.fixed;
    const r2 = this.radius * this.radius;
    const changed = [];
    for (let i = 0, n = labels.length; i < n; i++) {
      const dx = s.screen[2 * i] - p.x, dy = s.screen[2 * i + 1] - p.y;
      if (dx * dx + dy * dy <= r2 && labels[i] !== value && !(fixed.size && fixed.has(labels[i]))) {
        labels[i] = value;
        changed.push(i);
        s.changed.add(i);
      }
    }
    if (changed.length) this.scene.recolorLabels(changed, labels);
  }

  /** @param {PointerEvent} e */
  onUp(e) {
    const s = this.stroke;
    if (!s) return;
    this.stroke = null;
    if (this.host.hasPointerCapture(e.pointerId)) this.host.releasePointerCapture(e.pointerId);
    if (this.tool === "lasso") {
      this.path.setAttribute("points", "");
      const changed = this.fixed.has(this.value()) ? [] : paintInside(s.screen, s.lasso, this.labels(), this.value(), this.fixed);
      if (changed.length) this.scene.recolorLabels(changed, this.labels());
      for (const i of changed) s.changed.add(i);
    }
    this.done(s.changed.size);
  }

  destroy() {
    this.host.removeEventListener("pointerdown", this.onDown, { capture: true });
    this.overlay.remove();
  }
}

/**
 * Give `value` to every point whose screen position is inside the outline (even-odd rule).
 * @param {Float32Array} screen x, y per point @param {number[]} poly x, y per vertex
 * @param {Uint8Array} labels @param {number} value
 * @param {Set<number>} [fixed] class ids whose points keep them
 * @returns {number[]} the points changed
 */
export function paintInside(screen, poly, labels, value, fixed = new Set()) {
  const m = poly.length >> 1;
  if (m < 3) return [];
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let k = 0; k < m; k++) {
    minX = Math.min(minX, poly[2 * k]); maxX = Math.max(maxX, poly[2 * k]);
    minY = Math.min(minY, poly[2 * k + 1]); maxY = Math.max(maxY, poly[2 * k + 1]);
  }
  const changed = [];
  for (let i = 0, n = labels.length; i < n; i++) {
    const x = screen[2 * i], y = screen[2 * i + 1];
    if (!(x >= minX && x <= maxX && y >= minY && y <= maxY) || labels[i] === value) continue;
    if (fixed.size && fixed.has(labels[i])) continue;
    let inside = false;
    for (let a = 0, b = m - 1; a < m; b = a++) {
      const ya = poly[2 * a + 1], yb = poly[2 * b + 1];
      if ((ya > y) !== (yb > y) && x < ((poly[2 * b] - poly[2 * a]) * (y - ya)) / (yb - ya) + poly[2 * a]) inside = !inside;
    }
    if (inside) {
      labels[i] = value;
      changed.push(i);
    }
  }
  return changed;
}
