// @ts-check
/**
 * Mounting one of truthset's own tools (../tools/*.js) inside a crowd element: the element
 * plays the part of the worker's task page for it — a task made of the element's
 * attributes, an annotation store, the side panel, and the keys (the tool's own, undo and
 * redo) while the keyboard is inside the element.
 */
import { AnnotationStore } from "../js/store.js";
import { inTextField } from "../js/dom.js";
import { instructionsPanel, labelsOf, parseLiteral, takeSlots } from "./base.js";

/** @typedef {import("../js/types.js").Task} Task */
/** @typedef {import("../js/types.js").Tool} Tool */
/** @typedef {import("../js/types.js").ToolModule} ToolModule */

/**
 * @typedef {object} HostOptions
 * @property {string} taskType the task type whose tool this is (some tools read it)
 * @property {string} [labelsAttr] the attribute holding the labels ("labels" or "categories")
 * @property {string} [key] the answer key an initial-value list belongs under (boundingBoxes...)
 * @property {string} [text] the item's text (entity annotation)
 * @property {boolean} [image] whether the element shows its `src` image
 * @property {string[]} [extraLabels] labels the element adds (an exclusion category)
 */

/**
 * An earlier answer from `initial-value`: a list of objects, or an object of the answer's shape.
 * @param {Element} el @param {string | undefined} key
 * @returns {any} the prior label a tool's initialState reads, or null
 */
function priorOf(el, key) {
  const raw = parseLiteral(el.getAttribute("initial-value"));
  if (raw === undefined || raw === null) return null;
  if (key && Array.isArray(raw)) return { value: { [key]: raw }, meta: null };
  if (raw && typeof raw === "object") return { value: raw, meta: null };
  return null;
}

/**
 * Mount `mod` in `el`: [header] [instructions | labels...] [tool].
 * @param {HTMLElement} el @param {ToolModule} mod @param {HostOptions} opts
 * @returns {{tool: Tool, store: AnnotationStore<any>, task: Task, root: HTMLElement, side: HTMLElement, target: Element | null}}
 */
export function hostTool(el, mod, opts) {
  const slots = takeSlots(el);
  const { names, short } = labelsOf(el, opts.labelsAttr || "labels");
  const labels = [...names, ...(opts.extraLabels || []).filter((l) => !names.includes(l))];
  /** @type {Task} */
  const task = {
    assignment_id: 0, job: "", task_type: opts.taskType, ui_module: "", labels,
    label_config: { labels: labels.map((label) => ({ label, ...(short[label] ? { shortDisplayName: short[label] } : {}) })) },
    deadline: 0, leased_at: 0, time_limit: 0,
    item: { id: el.getAttribute("name") || "", data: { source: opts.text ?? "" }, media_url: opts.image ? el.getAttribute("src") || "" : undefined },
    prediction: null, prior_label: priorOf(el, opts.key),
  };
  const header = el.getAttribute("header");
  const root = document.createElement("section");
  root.className = "tool-root crowd-tool-root";
  root.tabIndex = -1;
  const side = document.createElement("aside");
  side.className = "side crowd-side";
  side.append(instructionsPanel(slots));
  const toolSide = document.createElement("div");
  side.append(toolSide);
  const body = document.createElement("div");
  body.className = "work-body crowd-body";
  body.append(side, root);
  el.replaceChildren(...(header ? [Object.assign(document.createElement("h2"), { className: "crowd-header", textContent: header })] : []), body);
  const store = new AnnotationStore(mod.initialState(task), labels);
  const tool = mod.create({ root, side: toolSide, task, store, labels, shortNames: short, settings: { min_box_size: 4 } });
  el.addEventListener("keydown", (e) => {
    const ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && e.key === "Enter") return; // the form's submit
    if (inTextField(e)) return;
    if (tool.onKey && tool.onKey(e)) {
      e.preventDefault();
      e.stopPropagation();
    } else if (ctrl && (e.key === "z" || e.key === "Z")) {
      e.preventDefault();
      if (e.shiftKey) store.redo();
      else store.undo();
    } else if (ctrl && (e.key === "y" || e.key === "Y")) {
      e.preventDefault();
      store.redo();
    }
  });
  // A click on the image gives the keyboard to the tool (the page's focus stays put otherwise).
  if (opts.image) root.addEventListener("pointerdown", () => {
    if (!root.contains(document.activeElement)) root.focus({ preventScroll: true });
  }, { capture: true });
  return { tool, store, task, root, side: toolSide, target: slots.target };
}
