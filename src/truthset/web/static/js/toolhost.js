// @ts-check
/**
 * What the worker's task page and the reviewer's page share: loading a job's tool module,
 * mounting it on the page with its annotation store, and the keys every tool answers to
 * (Ctrl+Enter, the tool's own keys, undo and redo).
 */
import { byId, inTextField } from "./dom.js";
import { AnnotationStore } from "./store.js";

/** @typedef {import("./types.js").Task} Task */
/** @typedef {import("./types.js").Tool} Tool */
/** @typedef {import("./types.js").ToolModule} ToolModule */

/** @type {Map<string, Promise<ToolModule>>} */
const modules = new Map();

/** @param {string} uiModule @returns {Promise<ToolModule>} */
export function loadTool(uiModule) {
  if (!/^tools\/[a-z0-9_-]+\.js$/.test(uiModule)) {
    return Promise.reject(new Error(`this job's tool ${uiModule} cannot be loaded`));
  }
  let p = modules.get(uiModule);
  if (!p) {
    p = import(`/static/${uiModule}`);
    modules.set(uiModule, p);
  }
  return p;
}

/**
 * Empty #tool-root and #tool-side and mount the task's tool there.
 * @param {ToolModule} mod
 * @param {Task} task
 * @param {any} initial the tool's starting state (mod.initialState(task) for a fresh task)
 * @param {{min_box_size?: number}} instructions the job's tool settings
 * @returns {{store: AnnotationStore<any>, tool: Tool, root: HTMLElement}}
 */
export function mountTool(mod, task, initial, instructions) {
  const root = byId("tool-root");
  const side = byId("tool-side");
  root.replaceChildren();
  side.replaceChildren();
  const store = new AnnotationStore(initial, task.labels);
  /** @type {Record<string, string>} */
  const shortNames = {};
  const cfg = task.label_config;
  if (cfg && typeof cfg === "object" && Array.isArray(cfg.labels)) {
    for (const l of cfg.labels) if (l && typeof l.shortDisplayName === "string") shortNames[l.label] = l.shortDisplayName;
  }
  const tool = mod.create({
    root, side, task, store, labels: task.labels, shortNames,
    settings: { min_box_size: instructions.min_box_size ?? 4 },
  });
  return { store, tool, root };
}

/**
 * The keys every tool page handles the same way. Returns true when the key was handled;
 * the page then handles its own keys (Enter, s, q...) only when this returns false and
 * no modifier is held.
 * @param {KeyboardEvent} e
 * @param {{tool: Tool, store: AnnotationStore<any>} | null} current
 * @param {() => void} submit
 */
export function commonToolKeys(e, current, submit) {
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && e.key === "Enter") {
    e.preventDefault();
    submit();
    return true;
  }
  if (inTextField(e)) return true;
  if (current && current.tool.onKey && current.tool.onKey(e)) {
    e.preventDefault();
    return true;
  }
  if (ctrl && (e.key === "z" || e.key === "Z")) {
    e.preventDefault();
    if (!current) return true;
    if (e.shiftKey) current.store.redo();
    else current.store.undo();
    return true;
  }
  if (ctrl && (e.key === "y" || e.key === "Y")) {
    e.preventDefault();
    if (current) current.store.redo();
    return true;
  }
  return ctrl || e.altKey;
}
