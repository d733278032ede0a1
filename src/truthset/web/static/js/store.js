// @ts-check
/**
 * The annotation store: one per task. It owns the answer being built (the tool's
 * annotation state), the selection and the active label, keeps undo/redo history, and
 * emits events. Tools change state only through it; the portal listens to it to keep the
 * draft safe. Events (see docs/ui.md):
 *
 * - "change"    {state, reason}  the annotation changed (draw, move, relabel, delete, undo...)
 * - "select"    {id}             the selected object changed (null: nothing selected)
 * - "label"     {label, index}   the active label changed
 * - "history"   {canUndo, canRedo}
 * - "visibility" {hidden}        annotations hidden / shown
 */

/**
 * @template T
 */
export class AnnotationStore {
  /**
   * @param {T} initial the tool's initial annotation state (plain JSON data)
   * @param {string[]} labels the job's labels, in order
   */
  constructor(initial, labels) {
    /** @type {T} */
    this.state = clone(initial);
    this.labels = labels;
    /** @type {string | number | null} */
    this.selected = null;
    this.activeLabel = labels.length ? labels[0] : "";
    this.hidden = false;
    /** @type {T[]} */
    this.past = [];
    /** @type {T[]} */
    this.future = [];
    /** @type {Map<string, Set<(detail: any) => void>>} */
    this.listeners = new Map();
    /** True once the worker changed anything (for adjustment jobs' initialValueModified). */
    this.modified = false;
  }

  /**
   * @param {string} event
   * @param {(detail: any) => void} fn
   * @returns {() => void} unsubscribe
   */
  on(event, fn) {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => set && set.delete(fn);
  }

  /** @param {string} event @param {any} detail */
  emit(event, detail) {
    for (const fn of this.listeners.get(event) || []) fn(detail);
  }

  /**
   * Change the annotation. `mutate` gets a copy to change in place (or returns a new state).
   * @param {(draft: T) => T | void} mutate
   * @param {{record?: boolean, reason?: string}} [opts] record: false merges into the last
   *   undo step (used while dragging: one drag is one undo step)
   */
  update(mutate, opts = {}) {
    const record = opts.record !== false;
    const before = this.state;
    const draft = clone(before);
    const result = mutate(draft);
    const next = result === undefined ? draft : result;
    if (record) {
      this.past.push(before);
      if (this.past.length > 200) this.past.shift();
      this.future = [];
    }
    this.state = next;
    this.modified = true;
    this.emit("change", { state: this.state, reason: opts.reason || "edit" });
    this.emitHistory();
  }

  /** Start a gesture (a drag): saves one undo step; later updates use record: false. */
  checkpoint() {
    this.past.push(clone(this.state));
    this.future = [];
    this.emitHistory();
  }

  /** Replace the whole state without history (restoring a draft). @param {T} state */
  load(state) {
    this.state = clone(state);
    this.past = [];
    this.future = [];
    this.emit("change", { state: this.state, reason: "load" });
    this.emitHistory();
  }

  undo() {
    const prev = this.past.pop();
    if (prev === undefined) return;
    this.future.push(this.state);
    this.state = prev;
    this.modified = true;
    this.emit("change", { state: this.state, reason: "undo" });
    this.emitHistory();
  }

  redo() {
    const next = this.future.pop();
    if (next === undefined) return;
    this.past.push(this.state);
    this.state = next;
    this.emit("change", { state: this.state, reason: "redo" });
    this.emitHistory();
  }

  emitHistory() {
    this.emit("history", { canUndo: this.past.length > 0, canRedo: this.future.length > 0 });
  }

  /** @param {string | number | null} id */
  select(id) {
    if (this.selected === id) return;
    this.selected = id;
    this.emit("select", { id });
  }

  /** @param {string} label */
  setActiveLabel(label) {
    if (!this.labels.includes(label)) return;
    this.activeLabel = label;
    this.emit("label", { label, index: this.labels.indexOf(label) });
  }

  /** @param {boolean} [hidden] */
  toggleHidden(hidden) {
    this.hidden = hidden === undefined ? !this.hidden : hidden;
    this.emit("visibility", { hidden: this.hidden });
  }
}

/**
 * @template T
 * @param {T} value
 * @returns {T}
 */
export function clone(value) {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

/** Label index from a number key: "1".."9" → 0..8, "0" → 9; -1 otherwise. @param {KeyboardEvent} e */
export function labelIndexFromKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return -1;
  if (!/^Digit[0-9]$/.test(e.code) && !/^[0-9]$/.test(e.key)) return -1;
  const d = Number(e.key.length === 1 && /[0-9]/.test(e.key) ? e.key : e.code.slice(5));
  return d === 0 ? 9 : d - 1;
}

/** Fixed label colours (Ground Truth's palette order, tab10). */
export const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

/** @param {number} index */
export function labelColor(index) {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}
