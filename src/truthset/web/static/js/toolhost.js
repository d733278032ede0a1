// @ts-check
/**
 * What the worker's task page and the reviewer's page share: loading a job's tool module
 * and mounting it on the page with its annotation store. The keys every tool answers to
 * are in keymap.js.
 */
import { byId } from "./dom.js";
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
