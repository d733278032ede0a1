// @ts-check
/**
 * The keyboard shortcuts of the pages that show a tool (the worker's task page and the
 * reviewer's page), in one place: the keys every tool answers to the same way (Ctrl+Enter,
 * the tool's own keys, undo and redo), then the page's own single keys (Enter, s, q…),
 * which each page lists as a key map.
 *
 * A key held down repeats: the repeats never reach a tool's Enter or a page's key, so an
 * Enter that closed a polygon cannot go on to submit it, and a held s skips one task.
 * Keys typed into a text field (anywhere on the page, the tool's attribute fields too)
 * are the field's, never a shortcut.
 */
import { inTextField } from "./dom.js";

/** @typedef {import("./types.js").Tool} Tool */
/** @typedef {import("./store.js").AnnotationStore<any>} AnnotationStore */

/**
 * One of a page's own keys.
 * @typedef {object} Shortcut
 * @property {string} key the KeyboardEvent key ("Enter", "s"…), also how the help writes it
 * @property {string} does what it does, in the words of the help
 * @property {() => void} run
 * @property {() => boolean} [when] the key does nothing (and the browser keeps it) unless this holds
 * @property {boolean} [overDialogs] also while a dialog is open, and before the tool sees the
 *   key (the help key closes the help dialog it opened); never while typing in a text field
 */

/** How the help writes the undo and redo keys that every tool has. */
const UNDO_HELP = /** @type {[string, string]} */ (["Ctrl+Z / Ctrl+Shift+Z", "undo / redo"]);

/**
 * The keys every tool page handles the same way. Returns true when the key was handled
 * (or must be left to the text field or the browser): the page's own keys apply only when
 * this returns false, so never with Ctrl, Cmd or Alt held.
 * @param {KeyboardEvent} e
 * @param {{tool: Tool, store: AnnotationStore} | null} current the task shown, if any
 * @param {() => void} submit
 */
function toolKeys(e, current, submit) {
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

/**
 * Answer the page's keys from now on.
 * @param {object} page
 * @param {Shortcut[]} page.shortcuts the page's own keys
 * @param {() => ({tool: Tool, store: AnnotationStore} | null)} page.current the task shown now, if any
 * @param {() => void} page.submit what Ctrl+Enter does (the page's submit)
 */
export function listenForShortcuts({ shortcuts, current, submit }) {
  /** @param {Shortcut} s @param {KeyboardEvent} e */
  const matches = (s, e) => s.key === e.key && (!s.when || s.when());
  document.addEventListener("keydown", (e) => {
    if (e.repeat && (shortcuts.some((s) => s.key === e.key) || e.key === "Enter") && (!inTextField(e) || e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      return;
    }
    const dialogOpen = document.querySelector("dialog[open]");
    const first = shortcuts.find((s) => s.overDialogs && !inTextField(e) && matches(s, e));
    if (first) {
      e.preventDefault();
      first.run();
      return;
    }
    if (dialogOpen) return;
    if (toolKeys(e, current(), submit)) return;
    const shortcut = shortcuts.find((s) => !s.overDialogs && matches(s, e));
    if (shortcut) {
      e.preventDefault();
      shortcut.run();
    }
  });
}

/**
 * The rows of a help table: the page's keys in the order given, then undo and redo.
 * @param {Shortcut[]} shortcuts @returns {[string, string][]}
 */
export function shortcutHelp(shortcuts) {
  return [...shortcuts.map((s) => /** @type {[string, string]} */ ([s.key, s.does])), UNDO_HELP];
}
