// @ts-check
/**
 * The shapes of the current frame on the video tool's SVG overlay (image pixels, as in
 * the image tools), and the pointer gestures on them. A keyframe's shape is drawn solid,
 * an interpolated one dashed. In draw mode a drag draws a new box (polygons / polylines:
 * clicks add vertices, Enter or a click on the first vertex closes, Backspace takes the
 * last back, Esc cancels; keypoints: a click places one); in edit mode (v), or with Shift
 * held, a press selects a shape, a drag moves it, a drag on a handle or vertex reshapes it;
 * a polygon's or polyline's edge midpoints insert a vertex when dragged, and a vertex
 * clicked is selected for Delete to remove (`removeVertex`).
 * Locked tracks are drawn but never edited. The editor keeps no annotation state: it asks
 * for the shapes and reports what the worker did.
 */
import { svg } from "../js/dom.js";
import { labelColor } from "../js/store.js";
import { clamp } from "./common.js";

/**
 * @typedef {import("./video-tracks.js").Shape} Shape
 * @typedef {import("./video-tracks.js").Geometry} Geometry
 * @typedef {import("./video-tracks.js").Track} Track
 * @typedef {{track: Track, geometry: Geometry, keyframe: boolean}} Shown
 * @typedef {{x: number, y: number}} Pt
 */

const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

/**
 * @param {{view: import("./imageview.js").ImageView, shape: Shape, labels: string[],
 *   shortNames: Record<string, string>, minSize: number,
 *   shown: () => Shown[], selected: () => number | null, hidden: () => boolean,
 *   editing: (e: {shiftKey: boolean}) => boolean, activeLabel: () => string,
 *   create: (g: Geometry) => void, change: (id: number, g: Geometry, first: boolean) => void,
 *   select: (id: number | null) => void}} o
 */
export function shapeEditor(o) {
  const { view, shape } = o;
  const layer = svg("g", { class: "video-shapes" });
  const preview = svg("g", { class: "preview" });
  view.overlay.append(layer, preview);
  view.overlay.classList.add("drawing");

  /** @type {Pt[] | null} the outline being drawn */
  let drawing = null;
  /** @type {Pt | null} */
  let cursor = null;
  /** @type {null | {kind: "draw" | "move" | "resize" | "vertex", id: number, start: Pt, orig?: Geometry,
   *   handle?: string, vertex?: number, moved: boolean, recorded?: boolean}} */
  let drag = null;
  /** The vertex last clicked, for Delete (polygons, polylines). @type {{id: number, vertex: number} | null} */
  let selVertex = null;
  const MIN_VERTICES = shape === "polygon" ? 3 : 2;

  const color = (/** @type {string} */ label) => labelColor(o.labels.indexOf(label));
  const name = (/** @type {Track} */ t) => `${o.shortNames[t.label] || t.label}:${t.number}`;

  function render() {
    const k = 1 / (view.scale || 1);
    layer.replaceChildren();
    preview.replaceChildren();
    if (!o.hidden()) {
      const sel = o.selected();
      for (const s of o.shown()) {
        if (s.track.hidden) continue;
        const c = color(s.track.label);
        const selected = s.track.id === sel;
        const cls = `shape${selected ? " selected" : ""}${s.keyframe ? " keyframe" : " interpolated"}${s.track.locked ? " locked" : ""}`;
        const g = svg("g", { "data-track": s.track.id });
        const common = { class: cls, stroke: c, fill: c, "data-track": s.track.id };
        const geo = s.geometry;
        /** @type {Pt} */
        let tagAt;
        if (shape === "box") {
          g.appendChild(svg("rect", { ...common, x: geo.left, y: geo.top, width: geo.width, height: geo.height }));
          tagAt = { x: geo.left, y: geo.top };
        } else if (shape === "keypoint") {
          g.appendChild(svg("circle", { ...common, class: `${cls} point`, cx: geo.x, cy: geo.y, r: 5 * k }));
          tagAt = { x: geo.x + 6 * k, y: geo.y };
        } else {
          const pts = geo.points.map((/** @type {number[]} */ p) => `${p[0]},${p[1]}`).join(" ");
          g.appendChild(svg(shape === "polygon" ? "polygon" : "polyline", { ...common, points: pts, fill: shape === "polygon" ? c : "none" }));
          tagAt = { x: geo.points[0][0], y: geo.points[0][1] };
        }
        const tag = svg("text", { class: "tag", x: tagAt.x + 3 * k, y: tagAt.y - 4 * k, "font-size": 13 * k });
        tag.textContent = name(s.track) + (s.keyframe ? "" : " ·");
        g.appendChild(tag);
        if (selected && !s.track.locked) for (const hd of handles(geo)) {
          const chosen = hd.handle === "vertex" && selVertex !== null && selVertex.id === s.track.id && selVertex.vertex === hd.vertex;
          const r = (hd.handle === "mid" ? 3 : chosen ? 6 : 4.5) * k;
          g.appendChild(svg("rect", {
            class: `handle${hd.handle === "mid" ? " mid" : ""}${chosen ? " chosen" : ""}`, x: hd.x - r, y: hd.y - r, width: 2 * r, height: 2 * r,
            "data-track": s.track.id, "data-handle": hd.handle, "data-vertex": hd.vertex ?? "",
            style: hd.handle === "mid" ? "opacity:.7;cursor:copy" : chosen ? "fill:#ffd400" : "",
          }));
        }
        layer.appendChild(g);
      }
    }
    if (drawing && drawing.length) {
      const pts = [...drawing, ...(cursor ? [cursor] : [])].map((p) => `${p.x},${p.y}`).join(" ");
      preview.appendChild(svg("polyline", { class: "shape draft", points: pts, fill: "none", stroke: color(o.activeLabel()), "stroke-dasharray": "6 4" }));
      for (const p of drawing) preview.appendChild(svg("circle", { class: "handle", cx: p.x, cy: p.y, r: 3.5 * k }));
    }
  }

  /** @param {Geometry} geo @returns {{x: number, y: number, handle: string, vertex?: number}[]} */
  function handles(geo) {
    if (shape === "box") {
      return HANDLES.map((hd) => ({
        handle: hd,
        x: hd.includes("w") ? geo.left : hd.includes("e") ? geo.left + geo.width : geo.left + geo.width / 2,
        y: hd.includes("n") ? geo.top : hd.includes("s") ? geo.top + geo.height : geo.top + geo.height / 2,
      }));
    }
    if (shape === "keypoint") return [];
    /** @type {number[][]} */
    const pts = geo.points;
    const edges = shape === "polygon" ? pts.length : pts.length - 1;
    const mids = [];
    for (let i = 0; i < edges; i++) {
      const a = pts[i], b = pts[(i + 1) % pts.length];
      mids.push({ x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2, handle: "mid", vertex: i });
    }
    return [...mids, ...pts.map((p, i) => ({ x: p[0], y: p[1], handle: "vertex", vertex: i }))];
  }

  /** @param {Pt} p */
  const inside = (p) => ({ x: clamp(p.x, 0, view.width), y: clamp(p.y, 0, view.height) });

  /** The editable shape under a point (the smallest box; the nearest point). @param {Pt} p */
  function shapeAtPoint(p) {
    if (o.hidden()) return null;
    const k = 1 / (view.scale || 1);
    /** @type {Shown[]} */
    const under = [];
    for (const s of o.shown()) {
      if (s.track.hidden) continue;
      const g = s.geometry;
      if (shape === "box" && p.x >= g.left && p.x <= g.left + g.width && p.y >= g.top && p.y <= g.top + g.height) under.push(s);
      else if (shape === "keypoint" && Math.hypot(p.x - g.x, p.y - g.y) <= 8 * k) under.push(s);
      else if ((shape === "polygon" && pointInPolygon(p, g.points)) || (shape === "polyline" && nearLine(p, g.points, 6 * k))) under.push(s);
    }
    if (shape === "box") under.sort((a, b) => a.geometry.width * a.geometry.height - b.geometry.width * b.geometry.height);
    return under[0] || null;
  }

  /** @param {PointerEvent} e */
  function onDown(e) {
    if (e.button !== 0 || !view.width) return;
    const p = inside(view.toImage(e.clientX, e.clientY));
    const t = /** @type {Element} */ (e.target);
    const trackId = Number(t.getAttribute("data-track") || 0);
    const handle = t.getAttribute("data-handle");
    const editing = o.editing(e) || (shape === "keypoint" && !!trackId);
    const hit = trackId ? o.shown().find((s) => s.track.id === trackId) || null : null;
    e.preventDefault();
    view.overlay.setPointerCapture(e.pointerId);
    if (drawing) return; // clicks while an outline is open add vertices (on pointerup)
    if (editing && hit && !hit.track.locked) {
      o.select(hit.track.id);
      const orig = JSON.parse(JSON.stringify(hit.geometry));
      if (handle === "vertex") {
        const vertex = Number(t.getAttribute("data-vertex"));
        selVertex = { id: hit.track.id, vertex };
        drag = { kind: "vertex", id: hit.track.id, start: p, orig, vertex, moved: false };
        render();
      } else if (handle === "mid") {
        // A vertex inserted after edge i's start, where the press was: one undo step with
        // the drag that follows, a keyframe here even if it does not move.
        const at = Number(t.getAttribute("data-vertex")) + 1;
        const points = orig.points.map((/** @type {number[]} */ q) => [q[0], q[1]]);
        points.splice(at, 0, [Math.round(p.x), Math.round(p.y)]);
        selVertex = { id: hit.track.id, vertex: at };
        o.change(hit.track.id, { points }, true);
        drag = { kind: "vertex", id: hit.track.id, start: p, orig: { points }, vertex: at, moved: false, recorded: true };
      } else if (handle) drag = { kind: "resize", id: hit.track.id, start: p, orig, handle, moved: false };
      else drag = { kind: "move", id: hit.track.id, start: p, orig, moved: false };
      return;
    }
    if (editing) {
      const under = shapeAtPoint(p);
      o.select(under ? under.track.id : null);
      if (under && !under.track.locked) {
        drag = { kind: "move", id: under.track.id, start: p, orig: JSON.parse(JSON.stringify(under.geometry)), moved: false };
      }
      return;
    }
    drag = { kind: "draw", id: 0, start: p, moved: false };
  }

  /** @param {PointerEvent} e */
  function onMove(e) {
    if (!view.width) return;
    const p = inside(view.toImage(e.clientX, e.clientY));
    if (drawing) {
      cursor = p;
      render();
    }
    if (!drag) return;
    const d = drag;
    const dx = p.x - d.start.x;
    const dy = p.y - d.start.y;
    if (!d.moved && Math.abs(dx) + Math.abs(dy) < 0.5) return;
    const first = !d.moved && !d.recorded;
    d.moved = true;
    if (d.kind === "draw") {
      if (shape !== "box") return;
      preview.replaceChildren(svg("rect", {
        class: "shape draft", x: Math.min(p.x, d.start.x), y: Math.min(p.y, d.start.y), width: Math.abs(dx), height: Math.abs(dy),
        fill: "none", stroke: color(o.activeLabel()), "stroke-dasharray": "6 4",
      }));
      return;
    }
    const g = /** @type {Geometry} */ (d.orig);
    /** @type {Geometry} */
    let next;
    if (shape === "box") {
      if (d.kind === "move") {
        next = { left: clamp(g.left + dx, 0, view.width - g.width), top: clamp(g.top + dy, 0, view.height - g.height), width: g.width, height: g.height };
      } else {
        let x1 = g.left, y1 = g.top, x2 = g.left + g.width, y2 = g.top + g.height;
        const hd = d.handle || "";
        if (hd.includes("w")) x1 = p.x;
        if (hd.includes("e")) x2 = p.x;
        if (hd.includes("n")) y1 = p.y;
        if (hd.includes("s")) y2 = p.y;
        next = { left: Math.min(x1, x2), top: Math.min(y1, y2), width: Math.max(1, Math.abs(x2 - x1)), height: Math.max(1, Math.abs(y2 - y1)) };
      }
      next = { left: Math.round(next.left), top: Math.round(next.top), width: Math.round(next.width), height: Math.round(next.height) };
    } else if (shape === "keypoint") {
      next = { x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 };
    } else if (d.kind === "vertex") {
      next = { points: g.points.map((/** @type {number[]} */ q, /** @type {number} */ i) => (i === d.vertex ? [Math.round(p.x), Math.round(p.y)] : [q[0], q[1]])) };
    } else {
      next = { points: g.points.map((/** @type {number[]} */ q) => [clamp(q[0] + dx, 0, view.width), clamp(q[1] + dy, 0, view.height)]) };
    }
    o.change(d.id, next, first);
  }

  /** @param {PointerEvent} e */
  function onUp(e) {
    if (view.overlay.hasPointerCapture(e.pointerId)) view.overlay.releasePointerCapture(e.pointerId);
    const p = inside(view.toImage(e.clientX, e.clientY));
    const d = drag;
    drag = null;
    if (d && d.kind !== "draw") return;
    if (shape === "box") {
      preview.replaceChildren();
      if (!d) return;
      const left = Math.round(Math.min(p.x, d.start.x));
      const top = Math.round(Math.min(p.y, d.start.y));
      const width = Math.round(Math.max(p.x, d.start.x)) - left;
      const height = Math.round(Math.max(p.y, d.start.y)) - top;
      if (!d.moved || width < o.minSize || height < o.minSize) {
        const under = shapeAtPoint(d.start);
        o.select(under ? under.track.id : null);
        return;
      }
      o.create({ left, top, width, height });
      return;
    }
    if (shape === "keypoint") {
      if (d) o.create({ x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 });
      return;
    }
    // Polygons and polylines: a click adds a vertex; on the first vertex it closes.
    const k = 1 / (view.scale || 1);
    if (!drawing) drawing = [];
    const first = drawing[0];
    if (shape === "polygon" && first && drawing.length >= 3 && Math.hypot(p.x - first.x, p.y - first.y) <= 8 * k) {
      finish();
      return;
    }
    drawing.push({ x: Math.round(p.x), y: Math.round(p.y) });
    render();
  }

  /** Close the outline being drawn (Enter); false when there is none or it is too short. */
  function finish() {
    if (!drawing) return false;
    const need = shape === "polygon" ? 3 : 2;
    const pts = drawing;
    drawing = null;
    cursor = null;
    if (pts.length >= need) o.create({ points: pts.map((q) => [q.x, q.y]) });
    render();
    return pts.length >= need;
  }

  view.overlay.addEventListener("pointerdown", onDown);
  view.overlay.addEventListener("pointermove", onMove);
  view.overlay.addEventListener("pointerup", onUp);
  view.overlay.addEventListener("pointercancel", () => {
    drag = null;
    preview.replaceChildren();
  });

  return {
    render,
    /** Whether an outline is being drawn (Enter closes it, Esc cancels it). */
    get drawing() {
      return drawing !== null;
    },
    finish,
    cancel() {
      drawing = null;
      cursor = null;
      render();
    },
    /**
     * Remove the vertex last clicked on the selected outline (never below a polygon's 3
     * or a polyline's 2): a keyframe here. False when there is none to remove.
     */
    removeVertex() {
      const sel = o.selected();
      if (selVertex === null || selVertex.id !== sel || (shape !== "polygon" && shape !== "polyline")) return false;
      const here = o.shown().find((x) => x.track.id === sel);
      if (!here || here.track.locked) return false;
      /** @type {number[][]} */
      const pts = here.geometry.points;
      if (pts.length <= MIN_VERTICES || selVertex.vertex >= pts.length) return false;
      const points = pts.filter((_q, i) => i !== /** @type {{vertex: number}} */ (selVertex).vertex).map((q) => [q[0], q[1]]);
      selVertex = null;
      o.change(sel, { points }, true);
      return true;
    },
    /** Take back the last vertex drawn. */
    undoVertex() {
      if (!drawing) return false;
      drawing.pop();
      if (!drawing.length) drawing = null;
      render();
      return true;
    },
  };
}

/** @param {Pt} p @param {number[][]} pts */
function pointInPolygon(p, pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if ((yi > p.y) !== (yj > p.y) && p.x < ((xj - xi) * (p.y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** @param {Pt} p @param {number[][]} pts @param {number} tol */
function nearLine(p, pts, tol) {
  for (let i = 1; i < pts.length; i++) {
    const [ax, ay] = pts[i - 1];
    const [bx, by] = pts[i];
    const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
    const t = len2 ? clamp(((p.x - ax) * (bx - ax) + (p.y - ay) * (by - ay)) / len2, 0, 1) : 0;
    if (Math.hypot(p.x - (ax + t * (bx - ax)), p.y - (ay + t * (by - ay))) <= tol) return true;
  }
  return false;
}
