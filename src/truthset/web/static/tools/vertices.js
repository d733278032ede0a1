// @ts-check
/**
 * The vertex tools: polygons (also instance segmentation), polylines and keypoints, one
 * implementation. Polygon / polyline: in draw mode every click adds a vertex, also on or
 * near an existing shape (a new shape starts there); a polygon closes on its first point
 * or with Enter, a polyline ends with Enter; Backspace removes the last vertex while
 * drawing, Esc cancels. Enter closes only while a shape is open (the page's Enter submits
 * otherwise). In edit mode (v), or with Shift held, a click selects a shape; a selected
 * shape shows its vertices (drag to move them, click one and press Delete to remove it)
 * and the midpoints of its edges (drag one to insert a vertex), and a drag on it moves it.
 * Keypoints: click to place, drag to move. Coordinates are image pixels. A 2020 label
 * config's attributes are a form beside the image (attributes.js).
 */
import { svg } from "../js/dom.js";
import { labelColor, labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { ImageView, VIEW_SHORTCUTS } from "./imageview.js";
import { clamp, initialObjects, MODE_SHORTCUTS, modeSwitch, objectList } from "./common.js";
import { attributePanel, attributeSpecs, attributesProblem, frameAnswer, initialFrame, initialValues, objectAnswer } from "./attributes.js";

/**
 * @typedef {{x: number, y: number}} Pt
 * @typedef {{id: number, label: string, vertices: Pt[], attrs?: import("./attributes.js").Values}} Shape
 * @typedef {{objects: Shape[], next: number, fromPrior: boolean, frame?: import("./attributes.js").Values}} State
 * @typedef {"polygon" | "polyline" | "keypoint"} Kind
 */

const KEY = { polygon: "polygons", polyline: "polylines", keypoint: "keypoints" };
const MIN = { polygon: 3, polyline: 2, keypoint: 1 };

/** @param {Kind} kind */
export function makeInitialState(kind) {
  /** @param {import("../js/types.js").Task} task @returns {State} */
  return (task) => {
    let { objects, fromPrior } = initialObjects(task, KEY[kind]);
    if (!objects.length && kind === "polyline") objects = initialObjects(task, "lines").objects;
    const shapes = objects.map((o, i) => ({
      id: i + 1, label: o.label,
      vertices: kind === "keypoint" ? [{ x: +o.x, y: +o.y }] : (o.vertices || []).map((/** @type {Pt} */ v) => ({ x: +v.x, y: +v.y })),
      attrs: initialValues(o),
    }));
    return { objects: shapes, next: shapes.length + 1, fromPrior, frame: initialFrame(task) };
  };
}

/**
 * @param {Kind} kind
 * @param {import("../js/types.js").ToolContext} ctx
 * @param {{maxVertices?: number}} [options] maxVertices: a shape ends by itself once it
 *   has that many (a line: two)
 * @returns {import("../js/types.js").Tool}
 */
export function createVertexTool(kind, ctx, options = {}) {
  const { task, store } = ctx;
  const st = () => /** @type {State} */ (store.state);
  const view = new ImageView(ctx.root, String(task.item.media_url), { onTransform: () => render() });
  view.overlay.classList.add("drawing");
  const layer = svg("g", { class: "shapes" });
  const preview = svg("g", { class: "preview" });
  view.overlay.append(layer, preview);
  const noun = kind === "keypoint" ? "Point" : kind === "polygon" ? "Polygon" : "Line";
  // Keypoints have nothing to nest: a press on a point moves it, elsewhere places one.
  const modes = kind === "keypoint" ? null : modeSwitch(() => render());
  if (modes) ctx.side.append(modes.el);
  ctx.side.append(labelBar(store, { shortNames: ctx.shortNames }).el, objectList(store, () => st().objects, relabel, remove, noun));
  const specs = attributeSpecs(task.label_config);
  if (specs.any) {
    ctx.side.append(attributePanel({
      store, specs, noun, objects: () => st().objects,
      objectsOf: (/** @type {State} */ s) => s.objects, locked: () => st().fromPrior,
    }));
  }

  /** @type {Pt[] | null} vertices of the shape being drawn */
  let drawing = null;
  /** @type {Pt | null} */
  let cursor = null;
  /** @type {number | null} */
  let selVertex = null;
  /** @type {{kind: "vertex" | "move", id: number, v: number, start: Pt, orig: Pt[], moved: boolean} | null} */
  let drag = null;

  /** @param {number} id @param {string} label */
  function relabel(id, label) {
    store.update((/** @type {State} */ s) => {
      const o = s.objects.find((x) => x.id === id);
      if (o) o.label = label;
    });
  }
  /** @param {number} id */
  function remove(id) {
    store.update((/** @type {State} */ s) => {
      s.objects = s.objects.filter((x) => x.id !== id);
    });
    if (store.selected === id) store.select(null);
  }

  const pts = (/** @type {Pt[]} */ vs) => vs.map((v) => `${v.x},${v.y}`).join(" ");

  function render() {
    const k = 1 / view.scale;
    layer.replaceChildren();
    preview.replaceChildren();
    if (!store.hidden) {
      // In draw mode the shapes do not look movable: a click on them adds a vertex.
      const cursor = modes && modes.mode === "draw" ? "cursor: crosshair" : null;
      for (const o of st().objects) {
        const color = labelColor(store.labels.indexOf(o.label));
        const selected = store.selected === o.id;
        const g = svg("g", { "data-obj": o.id });
        if (kind === "keypoint") {
          const p = o.vertices[0];
          g.appendChild(svg("circle", { class: `shape point${selected ? " selected" : ""}`, cx: p.x, cy: p.y, r: 6 * k, fill: color, stroke: "#fff", "data-obj": o.id }));
        } else {
          g.appendChild(svg(kind, {
            class: `shape${selected ? " selected" : ""}`, points: pts(o.vertices), stroke: color,
            fill: kind === "polygon" ? color : "none", "data-obj": o.id, style: cursor,
          }));
          if (selected) {
            const n = o.vertices.length;
            const edges = kind === "polygon" ? n : n - 1;
            for (let i = 0; i < edges; i++) {
              const a = o.vertices[i];
              const b = o.vertices[(i + 1) % n];
              g.appendChild(svg("circle", { class: "handle mid", cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2, r: 3.5 * k, "data-obj": o.id, "data-mid": i, style: `opacity:.7;${cursor || "cursor:copy"}` }));
            }
            o.vertices.forEach((v, i) => {
              g.appendChild(svg("circle", { class: "handle vertex", cx: v.x, cy: v.y, r: (selVertex === i ? 6.5 : 5) * k, "data-obj": o.id, "data-v": i, style: `${selVertex === i ? "fill:#ffd400;" : ""}${cursor || ""}` }));
            });
          }
        }
        const first = o.vertices[0];
        if (first) {
          const tag = svg("text", { class: "tag", x: first.x + 6 * k, y: first.y - 6 * k, "font-size": 13 * k });
          tag.textContent = ctx.shortNames[o.label] || o.label;
          g.appendChild(tag);
        }
        layer.appendChild(g);
      }
    }
    if (drawing && drawing.length) {
      const color = labelColor(store.labels.indexOf(store.activeLabel));
      const line = cursor ? [...drawing, cursor] : drawing;
      preview.appendChild(svg("polyline", { class: "shape", points: pts(line), stroke: color, fill: "none", "stroke-dasharray": "6 4" }));
      drawing.forEach((v, i) => preview.appendChild(svg("circle", {
        class: "handle", cx: v.x, cy: v.y, r: (i === 0 && kind === "polygon" ? 7 : 4) * k, "data-first": i === 0 ? "1" : null,
      })));
    }
  }
  store.on("change", render);
  store.on("select", () => {
    selVertex = null;
    render();
  });
  store.on("visibility", render);
  view.ready.then(render, () => {});

  /** @param {Pt} p */
  const inImage = (p) => ({ x: Math.round(clamp(p.x, 0, view.width) * 10) / 10, y: Math.round(clamp(p.y, 0, view.height) * 10) / 10 });

  function finishDrawing() {
    if (!drawing) return false;
    const vs = drawing;
    drawing = null;
    cursor = null;
    if (vs.length < MIN[kind]) {
      render();
      return true;
    }
    const id = st().next;
    store.update((/** @type {State} */ s) => {
      s.objects.push({ id, label: store.activeLabel, vertices: vs });
      s.next = id + 1;
    }, { reason: "draw" });
    store.select(id);
    return true;
  }

  /** @param {PointerEvent} e */
  function onDown(e) {
    if (e.button !== 0 || !view.width) return;
    e.preventDefault();
    const p = inImage(view.toImage(e.clientX, e.clientY));
    const t = /** @type {Element} */ (e.target);
    const objId = Number(t.getAttribute("data-obj") || 0);
    if (kind === "keypoint") {
      if (objId) {
        store.select(objId);
        const o = st().objects.find((x) => x.id === objId);
        if (o) store.setActiveLabel(o.label);
        drag = { kind: "move", id: objId, v: 0, start: p, orig: o ? o.vertices.map((v) => ({ ...v })) : [], moved: false };
        view.overlay.setPointerCapture(e.pointerId);
      } else {
        drawing = [p];
        finishDrawing();
      }
      return;
    }
    if (drawing) {
      if (t.getAttribute("data-first") && kind === "polygon" && drawing.length >= 3) finishDrawing();
      else {
        drawing.push(p);
        if (options.maxVertices && drawing.length >= options.maxVertices) finishDrawing();
        else render();
      }
      return;
    }
    // Draw mode: a press on a shape starts a new one there, as anywhere else.
    const editing = modes !== null && modes.editing(e);
    const v = t.getAttribute("data-v");
    const mid = t.getAttribute("data-mid");
    if (editing && objId && (v !== null || mid !== null)) {
      const o = st().objects.find((x) => x.id === objId);
      if (!o) return;
      let index = Number(v);
      store.checkpoint();
      if (mid !== null) {
        index = Number(mid) + 1;
        store.update((/** @type {State} */ s) => {
          const so = s.objects.find((x) => x.id === objId);
          if (so) so.vertices.splice(index, 0, p);
        }, { record: false, reason: "insert" });
      }
      selVertex = index;
      drag = { kind: "vertex", id: objId, v: index, start: p, orig: [], moved: mid !== null };
      view.overlay.setPointerCapture(e.pointerId);
      render();
      return;
    }
    if (editing && objId) {
      store.select(objId);
      const o = st().objects.find((x) => x.id === objId);
      if (o) store.setActiveLabel(o.label);
      drag = { kind: "move", id: objId, v: 0, start: p, orig: o ? o.vertices.map((x) => ({ ...x })) : [], moved: false };
      view.overlay.setPointerCapture(e.pointerId);
      return;
    }
    if (editing) {
      store.select(null); // edit mode: a click beside every shape only deselects
      return;
    }
    store.select(null);
    drawing = [p];
    render();
  }

  /** @param {PointerEvent} e */
  function onMove(e) {
    if (!view.width) return;
    const p = inImage(view.toImage(e.clientX, e.clientY));
    if (drawing) {
      cursor = p;
      render();
      return;
    }
    if (!drag) return;
    const d = drag;
    const dx = p.x - d.start.x;
    const dy = p.y - d.start.y;
    if (!d.moved && Math.abs(dx) + Math.abs(dy) < 0.5) return;
    if (!d.moved && d.kind === "move") store.checkpoint();
    d.moved = true;
    store.update((/** @type {State} */ s) => {
      const o = s.objects.find((x) => x.id === d.id);
      if (!o) return;
      if (d.kind === "vertex") o.vertices[d.v] = p;
      else o.vertices = d.orig.map((v) => inImage({ x: v.x + dx, y: v.y + dy }));
    }, { record: false, reason: d.kind });
  }

  /** @param {PointerEvent} e */
  function onUp(e) {
    if (!drag) return;
    if (view.overlay.hasPointerCapture(e.pointerId)) view.overlay.releasePointerCapture(e.pointerId);
    if (drag.kind === "vertex" && !drag.moved) store.past.pop(); // a click that only selected a vertex
    drag = null;
    render();
  }

  view.overlay.addEventListener("pointerdown", onDown);
  view.overlay.addEventListener("pointermove", onMove);
  view.overlay.addEventListener("pointerup", onUp);
  view.overlay.addEventListener("pointercancel", onUp);

  /** @param {number} dx @param {number} dy */
  function nudge(dx, dy) {
    const id = store.selected;
    store.update((/** @type {State} */ s) => {
      const o = s.objects.find((x) => x.id === id);
      if (!o) return;
      if (selVertex !== null && o.vertices[selVertex]) o.vertices[selVertex] = inImage({ x: o.vertices[selVertex].x + dx, y: o.vertices[selVertex].y + dy });
      else o.vertices = o.vertices.map((v) => inImage({ x: v.x + dx, y: v.y + dy }));
    }, { reason: "nudge" });
  }

  return {
    answer() {
      const objs = st().objects;
      /** @type {any} */
      const out = kind === "keypoint"
        ? { keypoints: objs.map((o) => ({ label: o.label, x: o.vertices[0].x, y: o.vertices[0].y, ...objectAnswer(specs, o) })) }
        : { [KEY[kind]]: objs.map((o) => ({ label: o.label, vertices: o.vertices.map((v) => ({ x: v.x, y: v.y })), ...objectAnswer(specs, o) })) };
      out.inputImageProperties = { width: view.width, height: view.height };
      Object.assign(out, frameAnswer(specs, st()));
      if (st().fromPrior) out.initialValueModified = store.modified;
      return out;
    },
    problem() {
      if (!view.width) return "The image has not loaded yet.";
      if (drawing) return kind === "polygon" ? "Close the polygon first (click its first point or press Enter)." : "Finish the line first (Enter).";
      return attributesProblem(store, specs, () => st().objects, noun);
    },
    onKey(e) {
      if (!drawing && modes && modes.onKey(e)) return true;
      const i = labelIndexFromKey(e);
      if (i >= 0 && i < store.labels.length) {
        const label = store.labels[i];
        store.setActiveLabel(label);
        if (store.selected !== null && !drawing) relabel(Number(store.selected), label);
        return true;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return false;
      if (drawing) {
        if (e.key === "Enter") return finishDrawing();
        if (e.key === "Escape") {
          drawing = null;
          render();
          return true;
        }
        if (e.key === "Backspace" || e.key === "Delete") {
          drawing.pop();
          if (!drawing.length) drawing = null;
          render();
          return true;
        }
        return false;
      }
      const sel = store.selected !== null ? st().objects.find((o) => o.id === store.selected) : undefined;
      const step = e.shiftKey ? 10 : 1;
      if (sel && (e.key === "Delete" || e.key === "Backspace")) {
        if (selVertex !== null && sel.vertices.length > MIN[kind]) {
          const v = selVertex;
          store.update((/** @type {State} */ s) => {
            const o = s.objects.find((x) => x.id === sel.id);
            if (o) o.vertices.splice(v, 1);
          }, { reason: "delete-vertex" });
          selVertex = null;
          render();
        } else remove(sel.id);
      } else if (sel && e.key.startsWith("Arrow")) {
        nudge(e.key === "ArrowLeft" ? -step : e.key === "ArrowRight" ? step : 0, e.key === "ArrowUp" ? -step : e.key === "ArrowDown" ? step : 0);
      } else if (sel && e.key === "Escape") store.select(null);
      else if (e.key === "h") store.toggleHidden();
      else if (e.key === "Tab" && st().objects.length) {
        const objs = st().objects;
        const at = objs.findIndex((o) => o.id === store.selected);
        store.select(objs[(at + (e.shiftKey ? -1 : 1) + objs.length) % objs.length].id);
      } else return view.handleKey(e);
      return true;
    },
    shortcuts: kind === "keypoint"
      ? [["click", "place a point"], ["drag a point", "move it"], ["1–9, 0", "label of the selected / next point"], ["Delete", "remove the selected point"], ["arrows", "nudge"], ["h", "hide / show"], ...VIEW_SHORTCUTS]
      : [["click", "add a vertex (also on another shape: a new one starts)"],
        [kind === "polygon" ? "first point / Enter" : "Enter", "finish the shape (Enter submits only when no shape is open)"], ["Backspace (drawing)", "remove the last vertex"],
        ["Esc", "cancel drawing / deselect"], ...MODE_SHORTCUTS, ["click a shape (edit mode or Shift)", "select it"], ["drag a vertex (edit)", "move it"],
        ["drag an edge midpoint (edit)", "insert a vertex"], ["drag a shape (edit)", "move it"],
        ["click a vertex, Delete", "remove the vertex"], ["Delete", "remove the selected shape"], ["1–9, 0", "label"], ["h", "hide / show"], ...VIEW_SHORTCUTS],
    destroy() {
      view.destroy();
    },
  };
}
