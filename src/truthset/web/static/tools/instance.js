// @ts-check
/**
 * Instance segmentation: the polygon tool (vertices.js) plus the assisted modes of
 * assist.js. In 4 points mode (a) the worker clicks an object's top, bottom, left and
 * right extreme points and the server's GrabCut mask comes back as polygons (its outline,
 * OpenCV's findContours), one object of the active label per outline, editable as any
 * polygon; a click adds to the object, Shift+click takes away, Enter / Esc end it. In grow
 * mode (g) a click makes the region of similar colour around it an object. a / g again,
 * or v, leaves the assisted mode. The answer is the polygon tool's.
 *
 * The vertex tool is used as it is: this module listens on the tool's root in the capture
 * phase, so a click in an assisted mode never reaches the vertex tool, and changes the
 * same store the vertex tool draws from.
 */
import { h, svg } from "../js/dom.js";
import { labelColor } from "../js/store.js";
import { ASSIST_SHORTCUTS, createAssist } from "./assist.js";
import { createVertexTool, makeInitialState } from "./vertices.js";

/**
 * @typedef {import("./assist.js").Pt} Pt
 * @typedef {{id: number, label: string, vertices: Pt[], assist?: import("./assist.js").Clicks & {group: number}}} Shape
 *   assist: the clicks an assisted object came from (kept in the state, so undo / redo
 *   bring them back with it; the answer leaves them out)
 * @typedef {{objects: Shape[], next: number}} State
 */

export const initialState = makeInitialState("polygon");

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { store } = ctx;
  const tool = createVertexTool("polygon", ctx);
  const st = () => /** @type {State} */ (store.state);
  const overlay = /** @type {SVGSVGElement} */ (ctx.root.querySelector("svg.overlay"));
  const markers = svg("g", { class: "assist-markers" });
  overlay.append(markers);
  /** @type {"points" | "grow" | null} */
  let mode = null;
  /** The assisted object last in the state: its group (one per mask) and clicks. */
  function lastAssisted() {
    const objs = st().objects;
    const tail = objs[objs.length - 1];
    return tail && tail.assist ? tail.assist : null;
  }

  const status = h("p", { class: "muted assist-status", id: "assist-status", "aria-live": "polite" });
  const buttons = /** @type {Record<string, HTMLButtonElement>} */ ({});
  for (const [m, text, key] of [["points", "4 points", "a"], ["grow", "Grow", "g"]]) {
    buttons[m] = h("button", { type: "button", dataset: { mode: m }, onclick: () => setMode(mode === m ? null : /** @type {any} */ (m)) }, `${text} `, h("kbd", null, key));
  }
  ctx.side.append(h("div", { class: "seg-tools" }, h("div", { class: "modes" }, Object.values(buttons)), status));

  const assist = createAssist({
    task: ctx.task, store, status, overlay, polygons: true,
    current() {
      const a = lastAssisted();
      return a && a.ext.length ? { ext: a.ext, pos: a.pos, neg: a.neg, label: a.label } : null;
    },
    land(answer, clicks, replace) {
      const polys = (answer.polygons || []).filter((p) => p.length >= 3);
      const before = lastAssisted();
      const drop = replace && before ? before.group : null;
      store.update((/** @type {State} */ s) => {
        if (drop !== null) s.objects = s.objects.filter((o) => !o.assist || o.assist.group !== drop);
        // The group is the first new object's id: unique, and never reused.
        const group = s.next;
        for (const p of polys) {
          const shape = /** @type {Shape} */ ({ id: s.next, label: clicks.label, vertices: p.map((v) => ({ x: v.x, y: v.y })) });
          if (clicks.ext.length) shape.assist = { ...clicks, group };
          s.objects.push(shape);
          s.next += 1;
        }
      }, { reason: "draw" });
    },
    changed: () => drawMarkers(),
  });
  if (!assist.available) for (const b of Object.values(buttons)) b.disabled = true;

  /** @param {"points" | "grow" | null} m */
  function setMode(m) {
    if (m && !assist.available) return;
    mode = m;
    for (const [k, b] of Object.entries(buttons)) b.classList.toggle("on", k === m);
    overlay.classList.toggle("assisting", !!m);
    assist.reset(m);
  }
  /** Screen pixels per image pixel, and the image point under a client point. */
  function geometry() {
    const r = overlay.getBoundingClientRect();
    const width = Number(overlay.getAttribute("width")) || 1;
    const height = Number(overlay.getAttribute("height")) || 1;
    return { r, scale: r.width / width, width, height };
  }
  function drawMarkers() {
    markers.replaceChildren();
    if (!mode) return;
    const { scale } = geometry();
    assist.draw(markers, 1 / scale, (label) => labelColor(store.labels.indexOf(label)));
  }
  store.on("change", () => drawMarkers());

  /** @param {PointerEvent} e */
  function onDown(e) {
    if (!mode || e.button !== 0 || !overlay.contains(/** @type {Node} */ (e.target))) return;
    e.preventDefault();
    e.stopPropagation();
    const { r, scale, width, height } = geometry();
    const x = Math.round(((e.clientX - r.x) / scale) * 10) / 10;
    const y = Math.round(((e.clientY - r.y) / scale) * 10) / 10;
    assist.click(mode, { x: Math.max(0, Math.min(width, x)), y: Math.max(0, Math.min(height, y)) }, e.shiftKey);
  }
  ctx.root.addEventListener("pointerdown", onDown, { capture: true });

  return {
    ...tool,
    problem() {
      return assist.problem() || (tool.problem ? tool.problem() : null);
    },
    onKey(e) {
      if (!(e.ctrlKey || e.metaKey || e.altKey)) {
        if (e.key === "a" || e.key === "g") {
          const m = e.key === "a" ? "points" : "grow";
          setMode(mode === m ? null : m);
          return true;
        }
        if (mode && assist.onKey(e)) return true;
        if (mode && e.key === "v") setMode(null);
      }
      const handled = tool.onKey ? tool.onKey(e) : false;
      // A label key ends the assisted object: the next click starts a new one.
      if (handled && /^[0-9]$/.test(e.key)) assist.endObject();
      return handled;
    },
    shortcuts: [...ASSIST_SHORTCUTS, ["g", "grow: click a region to make it an object"], ["a / g again, v", "back to drawing polygons"], ...(tool.shortcuts || [])],
    destroy() {
      ctx.root.removeEventListener("pointerdown", onDown, { capture: true });
      tool.destroy();
    },
  };
}
