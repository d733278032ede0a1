// @ts-check
/**
 * Top, side and front views of the selected cuboid: orthographic, in the cuboid's own
 * frame, each showing the points near it (points inside drawn in the label's colour).
 * A drag on an edge moves that side (the opposite side stays), a drag inside moves the
 * cuboid in the view's plane, and in the top view a drag on the round handle in front of
 * it turns its yaw. Drawn on 2D canvases: three small views of a few thousand points do
 * not need three more WebGL contexts.
 */
import { h } from "../js/dom.js";
import { localPoints, MIN_SIZE, rotation, wrapAngle } from "./pc-math.js";

/** @typedef {import("./pc-math.js").Cuboid} Cuboid */

/**
 * Each view's screen axes as the cuboid's local axes: u to the right, v up.
 * axis 0 = length (x), 1 = width (y), 2 = height (z); sign -1 flips it.
 * @type {{name: string, title: string, u: [number, number], v: [number, number], depth: number}[]}
 */
const VIEWS = [
  { name: "top", title: "Top", u: [1, -1], v: [0, 1], depth: 2 },
  { name: "side", title: "Side", u: [0, 1], v: [2, 1], depth: 1 },
  { name: "front", title: "Front", u: [1, 1], v: [2, 1], depth: 0 },
];
const SIZE_KEYS = /** @type {const} */ (["length", "width", "height"]);
/** How close (CSS pixels) a press must be to an edge to move it. */
const EDGE_PX = 7;

export class CuboidViews {
  /**
   * @param {object} o
   * @param {() => {cuboid: Cuboid, color: string} | null} o.selected the cuboid to show
   * @param {() => Float32Array} o.points the frame's points
   * @param {(c: Cuboid, record: boolean) => void} o.change a drag's cuboid (record: the first step)
   */
  constructor({ selected, points, change }) {
    this.selected = selected;
    this.points = points;
    this.change = change;
    this.el = h("div", { class: "pc-views", id: "pc-views" });
    /** @type {{spec: typeof VIEWS[number], canvas: HTMLCanvasElement, scale: number, cx: number, cy: number}[]} */
    this.views = VIEWS.map((spec) => {
      const canvas = h("canvas", { class: "pc-view", dataset: { view: spec.name }, width: 240, height: 180, "aria-label": `${spec.title} view of the selected cuboid` });
      this.el.append(h("figure", null, canvas, h("figcaption", null, spec.title)));
      const view = { spec, canvas, scale: 1, cx: 120, cy: 90 };
      this.listen(view);
      return view;
    });
    this.draw();
  }

  draw() {
    const sel = this.selected();
    this.el.classList.toggle("empty", !sel);
    for (const v of this.views) this.drawView(v, sel);
  }

  /** @param {CuboidViews["views"][number]} view @param {{cuboid: Cuboid, color: string} | null} sel */
  drawView(view, sel) {
    const { canvas, spec } = view;
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const W = canvas.clientWidth || 240, H = canvas.clientHeight || 180;
    if (canvas.width !== Math.round(W * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#101418";
    ctx.fillRect(0, 0, W, H);
    if (!sel) {
      ctx.fillStyle = "#8899aa";
      ctx.font = "12px sans-serif";
      ctx.fillText("Select a cuboid", 10, 20);
      return;
    }
    const c = sel.cuboid;
    const dims = [c.length, c.width, c.height];
    const su = dims[spec.u[0]], sv = dims[spec.v[0]];
    view.scale = Math.min(W / (su * 1.6 + 1), H / (sv * 1.6 + 1));
    view.cx = W / 2;
    view.cy = H / 2;
    const reach = Math.hypot(...dims) * 0.8 + 1;
    const { local } = localPoints(this.points(), c, reach);
    const half = dims.map((d) => d / 2);
    const depthLimit = half[spec.depth] + 0.5;
    for (let j = 0; j < local.length; j += 3) {
      const p = [local[j], local[j + 1], local[j + 2]];
      if (Math.abs(p[spec.depth]) > depthLimit) continue;
      const inside = Math.abs(p[0]) <= half[0] && Math.abs(p[1]) <= half[1] && Math.abs(p[2]) <= half[2];
      const x = view.cx + spec.u[1] * p[spec.u[0]] * view.scale;
      const y = view.cy - spec.v[1] * p[spec.v[0]] * view.scale;
      ctx.fillStyle = inside ? sel.color : "#c8d0d8";
      ctx.fillRect(x - 1, y - 1, 2, 2);
    }
    ctx.strokeStyle = sel.color;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(view.cx - (su / 2) * view.scale, view.cy - (sv / 2) * view.scale, su * view.scale, sv * view.scale);
    if (spec.name === "top") {
      // the heading: forward is up in the top view; the handle turns the yaw
      const hy = view.cy - (sv / 2) * view.scale - 14;
      ctx.beginPath();
      ctx.moveTo(view.cx, view.cy);
      ctx.lineTo(view.cx, hy);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(view.cx, hy, 5, 0, 2 * Math.PI);
      ctx.fillStyle = sel.color;
      ctx.fill();
    }
  }

  /** @param {CuboidViews["views"][number]} view */
  listen(view) {
    const { canvas, spec } = view;
    /** @type {{kind: string, start: {x: number, y: number}, orig: Cuboid, first: boolean} | null} */
    let drag = null;
    /** @param {PointerEvent} e */
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    /** Which part of the cuboid is under a point. @param {{x: number, y: number}} p @param {Cuboid} c */
    const hit = (p, c) => {
      const dims = [c.length, c.width, c.height];
      const hu = (dims[spec.u[0]] / 2) * view.scale, hv = (dims[spec.v[0]] / 2) * view.scale;
      const dx = p.x - view.cx, dy = view.cy - p.y;
      if (spec.name === "top" && Math.hypot(dx, dy - hv - 14) <= 8) return "rotate";
      const inU = Math.abs(dx) <= hu + EDGE_PX, inV = Math.abs(dy) <= hv + EDGE_PX;
      if (inV && Math.abs(dx - hu) <= EDGE_PX) return "u+";
      if (inV && Math.abs(dx + hu) <= EDGE_PX) return "u-";
      if (inU && Math.abs(dy - hv) <= EDGE_PX) return "v+";
      if (inU && Math.abs(dy + hv) <= EDGE_PX) return "v-";
      if (Math.abs(dx) < hu && Math.abs(dy) < hv) return "move";
      return null;
    };
    canvas.addEventListener("pointermove", (e) => {
      const sel = this.selected();
      if (!drag) {
        const part = sel && hit(at(e), sel.cuboid);
        canvas.style.cursor = !part ? "default" : part === "move" ? "move" : part === "rotate" ? "grab" : part[0] === "u" ? "ew-resize" : "ns-resize";
        return;
      }
      const p = at(e);
      const du = (p.x - drag.start.x) / view.scale, dv = -(p.y - drag.start.y) / view.scale;
      this.change(this.dragged(spec, drag.kind, drag.orig, du, dv, p, view), drag.first);
      drag.first = false;
    });
    canvas.addEventListener("pointerdown", (e) => {
      const sel = this.selected();
      if (!sel || e.button !== 0) return;
      const p = at(e);
      const kind = hit(p, sel.cuboid);
      if (!kind) return;
      e.preventDefault();
      canvas.setPointerCapture(e.pointerId);
      drag = { kind, start: p, orig: { ...sel.cuboid }, first: true };
    });
    const end = () => {
      drag = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }

  /**
   * The cuboid after a drag of du, dv metres (view axes) on one of its parts.
   * @param {typeof VIEWS[number]} spec @param {string} kind @param {Cuboid} c
   * @param {number} du @param {number} dv @param {{x: number, y: number}} p @param {CuboidViews["views"][number]} view
   * @returns {Cuboid}
   */
  dragged(spec, kind, c, du, dv, p, view) {
    if (kind === "rotate") {
      const angle = Math.atan2(p.x - view.cx, view.cy - p.y); // 0 when the handle is straight up
      return { ...c, yaw: wrapAngle(c.yaw - angle) };
    }
    const R = rotation(c);
    /** local axis a (0..2) as a world vector @param {number} a */
    const axis = (a) => [R[a], R[3 + a], R[6 + a]];
    /** move the centre by d metres along local axis a @param {Cuboid} out @param {number} a @param {number} d */
    const shift = (out, a, d) => {
      const v = axis(a);
      out["center-x"] += v[0] * d;
      out["center-y"] += v[1] * d;
      out["center-z"] += v[2] * d;
    };
    const out = { ...c };
    if (kind === "move") {
      shift(out, spec.u[0], spec.u[1] * du);
      shift(out, spec.v[0], spec.v[1] * dv);
      return out;
    }
    const [a, sign] = kind[0] === "u" ? spec.u : spec.v;
    const d = kind[0] === "u" ? du : dv;
    const outward = kind[1] === "+" ? d : -d; // how far the dragged side moved outward
    const key = SIZE_KEYS[a];
    const size = Math.max(MIN_SIZE, c[key] + outward);
    out[key] = size;
    // the dragged side's direction along the local axis: screen + is local sign
    const side = (kind[1] === "+" ? 1 : -1) * sign;
    shift(out, a, (side * (size - c[key])) / 2);
    return out;
  }
}
