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

/** @param {number} v @param {number} lo @param {number} hi */
export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
