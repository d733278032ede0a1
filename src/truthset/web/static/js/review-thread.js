// @ts-check
/**
 * An item's review thread (GET/POST /api/jobs/{job}/items/{item}/comments): the comments
 * between its reviewer and its annotators and the reviewer's decisions (accepted,
 * corrected, returned), oldest first, with a box to answer. Shown on the review page and,
 * when a thread exists, on the worker's task of that item (work/view.js).
 */
import { api, ApiError, enc } from "./api.js";
import { h, replace } from "./dom.js";

/**
 * One entry of a thread.
 * @typedef {{id: number, author: string, role: string, kind: string, body: string, at: number,
 *   detail?: {workers?: string[], started_from?: string, changed?: boolean}}} ThreadEntry
 */

/** @param {string} job @param {string} item */
export const threadPath = (job, item) => `/api/jobs/${enc(job)}/items/${enc(item)}/comments`;

/** What a decision says, in words. @param {ThreadEntry} e */
function decisionWords(e) {
  const from = e.detail && e.detail.started_from;
  const fromWords = from && from.startsWith("worker:") ? ` from ${from.slice(7)}'s answer` : from === "empty" ? " from scratch" : "";
  if (e.kind === "returned") return `returned the item to ${(e.detail && e.detail.workers || []).join(", ")}`;
  if (e.kind === "accepted") return "accepted the label as it was";
  if (e.kind === "corrected") return `corrected the label${fromWords}`;
  return "";
}

/** @param {number} at */
const when = (at) => new Date(at * 1000).toLocaleString();

/** @param {ThreadEntry[]} entries */
export function threadList(entries) {
  if (!entries.length) return h("p", { class: "muted thread-empty" }, "No comments on this item yet.");
  return h("ol", { class: "thread" }, entries.map((e) => h("li", { class: `thread-entry kind-${e.kind}`, dataset: { kind: e.kind, author: e.author } },
    h("p", { class: "thread-head" }, h("b", null, e.author), h("span", { class: "muted" }, ` · ${e.role} · ${when(e.at)}`)),
    e.kind !== "comment" ? h("p", { class: "thread-decision" }, decisionWords(e)) : null,
    e.body ? h("p", { class: "thread-body" }, e.body) : null)));
}

/**
 * The thread with a box to answer, in `box`; loads it. Resolves to the entries shown.
 * @param {HTMLElement} box @param {string} job @param {string} item
 * @param {{title?: string, placeholder?: string, onlyIfAny?: boolean}} [opts] onlyIfAny: show
 *   nothing (box hidden) when the thread is empty
 * @returns {Promise<ThreadEntry[]>}
 */
export async function mountThread(box, job, item, opts = {}) {
  /** @type {ThreadEntry[]} */
  let entries = [];
  const key = `${job}\n${item}`;
  box.dataset.thread = key;
  if (opts.onlyIfAny) box.hidden = true;
  try {
    entries = (await api(threadPath(job, item))).comments;
    // Another item was shown while this thread loaded: it is not this item's any more.
    if (box.dataset.thread !== key) return entries;
  } catch (err) {
    if (box.dataset.thread !== key) return [];
    if (opts.onlyIfAny) {
      box.hidden = true;
      return [];
    }
    replace(box, h("p", { class: "error" }, `The comments could not be loaded: ${err instanceof Error ? err.message : err}`));
    return [];
  }
  if (opts.onlyIfAny && !entries.length) {
    box.hidden = true;
    return entries;
  }
  box.hidden = false;
  renderThread(box, job, item, entries, opts);
  return entries;
}

/**
 * @param {HTMLElement} box @param {string} job @param {string} item @param {ThreadEntry[]} entries
 * @param {{title?: string, placeholder?: string}} opts
 */
export function renderThread(box, job, item, entries, opts) {
  const text = /** @type {HTMLTextAreaElement} */ (h("textarea", { class: "thread-input", rows: "2", maxlength: "5000",
    placeholder: opts.placeholder || "Write a comment", "aria-label": "comment" }));
  const error = h("p", { class: "error thread-error", hidden: true });
  const post = async () => {
    const body = text.value.trim();
    if (!body) {
      error.textContent = "Write something first: an empty comment says nothing.";
      error.hidden = false;
      return;
    }
    try {
      const res = await api(threadPath(job, item), { body: { body } });
      renderThread(box, job, item, res.comments, opts);
    } catch (err) {
      error.textContent = `Not posted: ${err instanceof ApiError || err instanceof Error ? err.message : String(err)}`;
      error.hidden = false;
    }
  };
  replace(box,
    h("h3", null, opts.title || `Comments (${entries.length})`),
    threadList(entries),
    text,
    error,
    h("p", null, h("button", { type: "button", class: "thread-post", onclick: post }, "Post comment")));
}
