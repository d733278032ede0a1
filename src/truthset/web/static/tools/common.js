// @ts-check
/** Helpers the image object tools share: the side list, initial objects, label lookups. */
import { h } from "../js/dom.js";
import { labelColor } from "../js/store.js";

/**
 * Objects to start from: the earlier job's label (adjustment), else the model's
 * prediction. Accepts the worker-answer shape ({key: [...]}) and the output-label shape
 * ({annotations: [{class_id, ...}]} with a class-map in the metadata).
 * @param {import("../js/types.js").Task} task
 * @param {string} key e.g. "boundingBoxes"
 * @returns {{objects: any[], fromPrior: boolean}}
 */
export function initialObjects(task, key) {
  const prior = task.prior_label;
  if (prior && prior.value) {
    const objs = objectsOf(prior.value, prior.meta, key, task.labels);
    if (objs) return { objects: objs, fromPrior: true };
  }
  const p = task.prediction;
  if (p) {
    const objs = objectsOf(p, p && p.meta, key, task.labels);
    if (objs) return { objects: objs, fromPrior: false };
  }
  return { objects: [], fromPrior: false };
}

/**
 * @param {any} value @param {any} meta @param {string} key @param {string[]} labels
 * @returns {any[] | null}
 */
function objectsOf(value, meta, key, labels) {
  if (!value || typeof value !== "object") return null;
  if (Array.isArray(value[key])) return value[key].filter((/** @type {any} */ o) => labels.includes(o.label));
  if (Array.isArray(value.annotations)) {
    const classMap = (meta && meta["class-map"]) || {};
    return value.annotations
      .map((/** @type {any} */ a) => {
        const label = classMap[String(a.class_id)] ?? labels[a.class_id];
        const { class_id: _ignored, ...rest } = a;
        return { ...rest, label };
      })
      .filter((/** @type {any} */ o) => labels.includes(o.label));
  }
  return null;
}

/**
 * The list of objects beside the image: select, relabel, delete.
 * @param {import("../js/store.js").AnnotationStore<any>} store
 * @param {() => {id: number, label: string}[]} objects
 * @param {(id: number, label: string) => void} relabel
 * @param {(id: number) => void} remove
 * @param {string} noun
 */
export function objectList(store, objects, relabel, remove, noun) {
  const list = h("ul", { class: "object-list", id: "object-list" });
  const plural = noun.endsWith("x") ? `${noun}es` : `${noun}s`;
  const title = h("h3", null, plural);
  const hide = h("button", { type: "button", id: "toggle-hidden", onclick: () => store.toggleHidden() }, "Hide all ", h("kbd", null, "h"));
  const el = h("div", null, h("div", { class: "row" }, title, hide), list);
  const render = () => {
    const objs = objects();
    title.textContent = `${plural} (${objs.length})`;
    hide.firstChild && (hide.firstChild.textContent = store.hidden ? "Show all " : "Hide all ");
    list.replaceChildren(...objs.map((o, i) => {
      const select = h("select", { "aria-label": `label of ${noun} ${i + 1}`, onchange: () => relabel(o.id, select.value) },
        store.labels.map((l) => h("option", { value: l, selected: l === o.label }, l)));
      return h("li", {
        class: store.selected === o.id ? "selected" : "", dataset: { id: String(o.id) },
        onclick: (/** @type {MouseEvent} */ e) => { if (e.target === e.currentTarget) store.select(o.id); },
      },
      h("span", { class: "swatch", style: { background: labelColor(store.labels.indexOf(o.label)) } }),
      h("button", { class: "link", type: "button", onclick: () => store.select(o.id) }, `#${i + 1}`),
      select,
      h("button", { class: "link danger", type: "button", title: `delete ${noun}`, onclick: () => remove(o.id) }, "×"));
    }));
  };
  store.on("change", render);
  store.on("select", render);
  store.on("visibility", render);
  render();
  return el;
}

/** @typedef {"draw" | "edit"} Mode */

/** The mode the last tool was left in: the next task of the page starts in it. */
let lastMode = /** @type {Mode} */ ("draw");

/**
 * Draw or edit, for the box and vertex tools. In draw mode a press on the image always
 * starts a new shape, also over an existing one (a box inside a box, a polygon against
 * its neighbour); in edit mode, or with Shift held, a press on a shape selects it and a
 * drag moves or reshapes it. `v` switches (onKey). The buttons show the mode.
 * @param {() => void} onChange
 */
export function modeSwitch(onChange) {
  /** @type {Record<Mode, HTMLButtonElement>} */
  const buttons = {
    draw: h("button", { type: "button", dataset: { mode: "draw" }, title: "Draw: a drag or click always makes a new shape (v switches)", onclick: () => set("draw") }, "Draw"),
    edit: h("button", { type: "button", dataset: { mode: "edit" }, title: "Edit: select, move and reshape (v switches; or hold Shift)", onclick: () => set("edit") }, "Edit ", h("kbd", null, "v")),
  };
  const el = h("div", { class: "seg-tools tool-modes", id: "tool-mode", role: "group", "aria-label": "Mode" },
    h("div", { class: "modes" }, buttons.draw, buttons.edit));
  let mode = lastMode;
  function paint() {
    for (const [k, b] of Object.entries(buttons)) {
      b.classList.toggle("on", k === mode);
      b.setAttribute("aria-pressed", k === mode ? "true" : "false");
    }
    el.dataset.mode = mode;
  }
  /** @param {Mode} m */
  function set(m) {
    mode = lastMode = m;
    paint();
    onChange();
  }
  paint();
  return {
    el,
    get mode() { return mode; },
    /** Whether this press edits (edit mode, or Shift held). @param {{shiftKey: boolean}} e */
    editing: (e) => mode === "edit" || e.shiftKey,
    /** `v` switches the mode. @param {KeyboardEvent} e @returns {boolean} handled */
    onKey(e) {
      if (e.key !== "v" || e.ctrlKey || e.metaKey || e.altKey) return false;
      set(mode === "draw" ? "edit" : "draw");
      return true;
    },
  };
}

/** The help rows of the mode switch. @type {[string, string][]} */
export const MODE_SHORTCUTS = [
  ["v", "switch draw / edit mode"], ["Shift + drag (draw mode)", "edit: move or reshape the shape under the cursor"],
];

/** @param {number} v @param {number} lo @param {number} hi */
export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
