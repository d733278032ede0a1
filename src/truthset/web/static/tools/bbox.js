// @ts-check
/**
 * Bounding boxes. In draw mode a drag on the image draws a box, also inside another box
 * (nested boxes), and a click selects the smallest box under the cursor; in edit mode (v),
 * or with Shift held, a drag on a box moves it and a drag on a handle of the selected box
 * resizes it. Delete removes the selected box; number keys set the label (of the selected
 * box, else of the next one drawn); arrow keys nudge by 1 px (Shift: 10 px); h hides /
 * shows every box. Coordinates are image pixels. A 2020 label config's attributes are a
 * form beside the image (attributes.js).
 * Answer: {"boundingBoxes": [{label, left, top, width, height}], "inputImageProperties":
 * {width, height}} (+ "initialValueModified" when the boxes started from an earlier label;
 * + "label-category-attributes" per box and "frame-attributes" with attributes).
 */
import { svg } from "../js/dom.js";
import { labelColor, labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { ImageView, VIEW_SHORTCUTS } from "./imageview.js";
import { clamp, initialObjects, MODE_SHORTCUTS, modeSwitch, objectList } from "./common.js";
import { attributePanel, attributeSpecs, attributesProblem, frameAnswer, initialFrame, initialValues, objectAnswer } from "./attributes.js";

/**
 * @typedef {import("./attributes.js").Values} Values
 * @typedef {{id: number, label: string, left: number, top: number, width: number, height: number, attrs?: Values}} Box
 * @typedef {{boxes: Box[], next: number, fromPrior: boolean, frame?: Values}} State
 */

const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

/** @param {import("../js/types.js").Task} task @returns {State} */
export function initialState(task) {
  const { objects, fromPrior } = initialObjects(task, "boundingBoxes");
  const boxes = objects.map((o, i) => ({
    id: i + 1, label: o.label, left: +o.left, top: +o.top, width: +o.width, height: +o.height,
    attrs: initialValues(o),
  }));
  return { boxes, next: boxes.length + 1, fromPrior, frame: initialFrame(task) };
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const minSize = Number(ctx.settings.min_box_size ?? 4);
  const st = () => /** @type {State} */ (store.state);
  const view = new ImageView(ctx.root, String(task.item.media_url), { onTransform: () => render() });
  view.overlay.classList.add("drawing");
  const layer = svg("g", { class: "boxes" });
  const draft = svg("rect", { class: "shape draft", fill: "none", stroke: "#fff", "stroke-dasharray": "6 4", visibility: "hidden" });
  const crossV = svg("line", { class: "crosshair", visibility: "hidden" });
  const crossH = svg("line", { class: "crosshair", visibility: "hidden" });
  view.overlay.append(layer, draft, crossV, crossH);

  const specs = attributeSpecs(task.label_config);
  const modes = modeSwitch(() => render());
  ctx.side.append(
    modes.el,
    labelBar(store, { shortNames: ctx.shortNames }).el,
    objectList(store, () => st().boxes, relabel, remove, "Box"));
  if (specs.any) {
    ctx.side.append(attributePanel({
      store, specs, noun: "Box", objects: () => st().boxes,
      objectsOf: (/** @type {State} */ s) => s.boxes, locked: () => st().fromPrior,
    }));
  }

  /** @param {number} id @param {string} label */
  function relabel(id, label) {
    store.update((/** @type {State} */ s) => {
      const b = s.boxes.find((x) => x.id === id);
      if (b) b.label = label;
    });
  }
  /** @param {number} id */
  function remove(id) {
    store.update((/** @type {State} */ s) => {
      s.boxes = s.boxes.filter((x) => x.id !== id);
    });
    if (store.selected === id) store.select(null);
  }

  function render() {
    const W = view.width;
    const H = view.height;
    const k = 1 / view.scale;
    crossV.setAttribute("y2", String(H));
    crossH.setAttribute("x2", String(W));
    layer.replaceChildren();
    if (store.hidden) return;
    // In draw mode the boxes do not look movable: a drag over them draws.
    const cursor = modes.mode === "draw" ? "cursor: crosshair" : null;
    for (const b of st().boxes) {
      const color = labelColor(store.labels.indexOf(b.label));
      const selected = store.selected === b.id;
      const g = svg("g", { "data-box": b.id });
      g.appendChild(svg("rect", {
        class: `shape${selected ? " selected" : ""}`, x: b.left, y: b.top, width: b.width, height: b.height,
        stroke: color, fill: color, "data-box": b.id, style: cursor,
      }));
      const tag = svg("text", { class: "tag", x: b.left + 3 * k, y: b.top - 4 * k, "font-size": 13 * k });
      tag.textContent = ctx.shortNames[b.label] || b.label;
      g.appendChild(tag);
      if (selected) {
        const s = 9 * k;
        for (const hd of HANDLES) {
          const hx = hd.includes("w") ? b.left : hd.includes("e") ? b.left + b.width : b.left + b.width / 2;
          const hy = hd.includes("n") ? b.top : hd.includes("s") ? b.top + b.height : b.top + b.height / 2;
          g.appendChild(svg("rect", {
            class: "handle", x: hx - s / 2, y: hy - s / 2, width: s, height: s,
            "data-handle": hd, "data-box": b.id, style: cursor || `cursor: ${hd}-resize`,
          }));
        }
      }
      layer.appendChild(g);
    }
  }
  store.on("change", render);
  store.on("select", render);
  store.on("visibility", render);
  view.ready.then(render, () => {});

  /** @type {{mode: "draw" | "move" | "resize", id: number, start: {x: number, y: number}, orig?: Box, handle?: string, moved: boolean} | null} */
  let drag = null;

  /** The smallest box under `p` (the innermost of nested boxes), if any. @param {{x: number, y: number}} p */
  function boxAt(p) {
    if (store.hidden) return null;
    const under = st().boxes.filter((b) => p.x >= b.left && p.x <= b.left + b.width && p.y >= b.top && p.y <= b.top + b.height);
    under.sort((a, b) => a.width * a.height - b.width * b.height);
    return under[0] || null;
  }

  /** @param {{x: number, y: number}} p */
  const clampPt = (p) => ({ x: clamp(p.x, 0, view.width), y: clamp(p.y, 0, view.height) });

  /** @param {PointerEvent} e */
  function onDown(e) {
    if (e.button !== 0 || !view.width) return;
    const p = clampPt(view.toImage(e.clientX, e.clientY));
    const t = /** @type {Element} */ (e.target);
    const handle = t.getAttribute("data-handle");
    const boxId = Number(t.getAttribute("data-box") || t.parentElement?.getAttribute("data-box") || 0);
    view.overlay.setPointerCapture(e.pointerId);
    const editing = modes.editing(e);
    if (editing && handle && boxId) {
      const orig = st().boxes.find((b) => b.id === boxId);
      drag = { mode: "resize", id: boxId, start: p, orig: orig && { ...orig }, handle, moved: false };
    } else if (editing && boxId && !store.hidden) {
      store.select(boxId);
      const orig = st().boxes.find((b) => b.id === boxId);
      if (orig) store.setActiveLabel(orig.label);
      drag = { mode: "move", id: boxId, start: p, orig: orig && { ...orig }, moved: false };
    } else {
      drag = { mode: "draw", id: 0, start: p, moved: false };
    }
    e.preventDefault();
  }

  /** @param {PointerEvent} e */
  function onMove(e) {
    if (!view.width) return;
    const raw = view.toImage(e.clientX, e.clientY);
    const p = clampPt(raw);
    const inside = raw.x >= 0 && raw.y >= 0 && raw.x <= view.width && raw.y <= view.height;
    crossV.setAttribute("x1", String(p.x));
    crossV.setAttribute("x2", String(p.x));
    crossH.setAttribute("y1", String(p.y));
    crossH.setAttribute("y2", String(p.y));
    crossV.setAttribute("visibility", inside || drag ? "visible" : "hidden");
    crossH.setAttribute("visibility", inside || drag ? "visible" : "hidden");
    if (!drag) return;
    const d = drag;
    const dx = p.x - d.start.x;
    const dy = p.y - d.start.y;
    if (!d.moved && Math.abs(dx) + Math.abs(dy) < 0.5) return;
    if (d.mode === "draw") {
      d.moved = true;
      draft.setAttribute("x", String(Math.min(p.x, d.start.x)));
      draft.setAttribute("y", String(Math.min(p.y, d.start.y)));
      draft.setAttribute("width", String(Math.abs(dx)));
      draft.setAttribute("height", String(Math.abs(dy)));
      draft.setAttribute("stroke", labelColor(store.labels.indexOf(store.activeLabel)));
      draft.setAttribute("visibility", "visible");
      return;
    }
    const o = d.orig;
    if (!o) return;
    if (!d.moved) store.checkpoint(); // the whole drag is one undo step
    d.moved = true;
    store.update((/** @type {State} */ s) => {
      const b = s.boxes.find((x) => x.id === d.id);
      if (!b) return;
      if (d.mode === "move") {
        b.left = Math.round(clamp(o.left + dx, 0, view.width - o.width));
        b.top = Math.round(clamp(o.top + dy, 0, view.height - o.height));
      } else {
        let x1 = o.left, y1 = o.top, x2 = o.left + o.width, y2 = o.top + o.height;
        const hd = d.handle || "";
        if (hd.includes("w")) x1 = p.x;
        if (hd.includes("e")) x2 = p.x;
        if (hd.includes("n")) y1 = p.y;
        if (hd.includes("s")) y2 = p.y;
        b.left = Math.round(Math.min(x1, x2));
        b.top = Math.round(Math.min(y1, y2));
        b.width = Math.max(1, Math.round(Math.abs(x2 - x1)));
        b.height = Math.max(1, Math.round(Math.abs(y2 - y1)));
      }
    }, { record: false, reason: d.mode });
  }

  /** @param {PointerEvent} e */
  function onUp(e) {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (view.overlay.hasPointerCapture(e.pointerId)) view.overlay.releasePointerCapture(e.pointerId);
    draft.setAttribute("visibility", "hidden");
    if (d.mode !== "draw") return;
    const p = clampPt(view.toImage(e.clientX, e.clientY));
    const left = Math.round(Math.min(p.x, d.start.x));
    const top = Math.round(Math.min(p.y, d.start.y));
    const width = Math.round(Math.max(p.x, d.start.x)) - left;
    const height = Math.round(Math.max(p.y, d.start.y)) - top;
    if (!d.moved || width < minSize || height < minSize) {
      // A click or a slip, not a box: it selects the innermost box under it (or none).
      const under = boxAt(d.start);
      store.select(under ? under.id : null);
      if (under) store.setActiveLabel(under.label);
      return;
    }
    const id = st().next;
    store.update((/** @type {State} */ s) => {
      s.boxes.push({ id, label: store.activeLabel, left, top, width, height });
      s.next = id + 1;
    }, { reason: "draw" });
    store.select(id);
  }

  const hideCross = () => {
    if (!drag) {
      crossV.setAttribute("visibility", "hidden");
      crossH.setAttribute("visibility", "hidden");
    }
  };
  view.overlay.addEventListener("pointerdown", onDown);
  view.overlay.addEventListener("pointermove", onMove);
  view.overlay.addEventListener("pointerup", onUp);
  view.overlay.addEventListener("pointercancel", onUp);
  view.viewport.addEventListener("pointerleave", hideCross);

  /** @param {number} dx @param {number} dy */
  function nudge(dx, dy) {
    const id = store.selected;
    store.update((/** @type {State} */ s) => {
      const b = s.boxes.find((x) => x.id === id);
      if (!b) return;
      b.left = clamp(b.left + dx, 0, view.width - b.width);
      b.top = clamp(b.top + dy, 0, view.height - b.height);
    }, { reason: "nudge" });
  }

  return {
    answer() {
      /** @type {any} */
      const out = {
        boundingBoxes: st().boxes.map((b) => ({
          label: b.label, left: Math.round(b.left), top: Math.round(b.top),
          width: Math.round(b.width), height: Math.round(b.height), ...objectAnswer(specs, b),
        })),
        inputImageProperties: { width: view.width, height: view.height },
        ...frameAnswer(specs, st()),
      };
      if (st().fromPrior) out.initialValueModified = store.modified;
      return out;
    },
    problem() {
      if (!view.width) return "The image has not loaded yet.";
      return attributesProblem(store, specs, () => st().boxes, "Box");
    },
    onKey(e) {
      if (modes.onKey(e)) return true;
      const i = labelIndexFromKey(e);
      if (i >= 0 && i < store.labels.length) {
        const label = store.labels[i];
        store.setActiveLabel(label);
        if (store.selected !== null) relabel(Number(store.selected), label);
        return true;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return false;
      const sel = store.selected !== null && st().boxes.some((b) => b.id === store.selected);
      const step = e.shiftKey ? 10 : 1;
      if (sel && (e.key === "Delete" || e.key === "Backspace")) remove(Number(store.selected));
      else if (sel && e.key === "ArrowLeft") nudge(-step, 0);
      else if (sel && e.key === "ArrowRight") nudge(step, 0);
      else if (sel && e.key === "ArrowUp") nudge(0, -step);
      else if (sel && e.key === "ArrowDown") nudge(0, step);
      else if (sel && e.key === "Escape") store.select(null);
      else if (e.key === "h") store.toggleHidden();
      else if (e.key === "Tab" && st().boxes.length) {
        const boxes = st().boxes;
        const at = boxes.findIndex((b) => b.id === store.selected);
        const next = (at + (e.shiftKey ? -1 : 1) + boxes.length) % boxes.length;
        store.select(boxes[at < 0 ? 0 : next].id);
      } else return view.handleKey(e);
      return true;
    },
    shortcuts: [
      ["drag on the image", "draw a box (also inside another box)"], ["click a box", "select it (the innermost one)"],
      ...MODE_SHORTCUTS, ["drag a box / a handle (edit mode or Shift)", "move / resize it"],
      ["1–9, 0", "label of the selected / next box"],
      ["Tab / Shift+Tab", "select the next / previous box"], ["arrows (Shift: ×10)", "nudge the selected box"],
      ["Delete", "delete the selected box"], ["Esc", "deselect"], ["h", "hide / show all boxes"],
      ...VIEW_SHORTCUTS,
    ],
    destroy() {
      view.destroy();
    },
  };
}
