// @ts-check
/**
 * Autosave of a tool's unfinished answer to the server (PUT /api/assignments/{id}/draft),
 * for long tasks that a worker stops and resumes later, maybe on another device: the next
 * body hands the draft back (`task.draft`) while the lease lives, and the server deletes
 * it when the task is submitted, released or skipped, or the lease expires.
 *
 * The page's task loop keeps the answer in progress in this browser's localStorage too;
 * the server draft is what survives another browser or a cleared storage.
 */
import { api, ApiError } from "../js/api.js";

/**
 * The content a tool saved, when the task came with a draft.
 * @param {import("../js/types.js").Task} task @returns {any | null}
 */
export function draftContent(task) {
  const d = /** @type {any} */ (task).draft;
  return d && typeof d === "object" && d.content && typeof d.content === "object" ? d.content : null;
}

/**
 * Save `content()` every `intervalMs` while it changed (`changed()` is asked first, so an
 * idle tool costs nothing), never two saves at once. Stops by itself when the lease is
 * over (404 / 409 / 410); `flush()` saves now (before the worker leaves).
 * @param {import("../js/types.js").Task} task
 * @param {{content: () => any, intervalMs?: number, onSaved?: (savedAt: number) => void,
 *   onError?: (message: string) => void}} opts
 */
export function autosave(task, opts) {
  const url = `/api/assignments/${task.assignment_id}/draft`;
  const every = opts.intervalMs ?? 5000;
  let last = "";
  let dirty = false;
  // A tool mounted without a lease of its own (the review page gives assignment 0) saves nothing.
  let stopped = !(Number(task.assignment_id) > 0);
  /** @type {Promise<void> | null} */
  let inflight = null;

  async function save() {
    while (inflight) await inflight; // then save what changed meanwhile
    if (stopped || !dirty) return;
    const content = opts.content();
    const text = JSON.stringify(content);
    dirty = false;
    if (text === last) return;
    inflight = api(url, { method: "PUT", body: { content }, timeout: 15000 })
      .then((/** @type {any} */ res) => {
        last = text;
        if (opts.onSaved && res) opts.onSaved(res.saved_at);
      })
      .catch((/** @type {unknown} */ err) => {
        if (!(err instanceof ApiError) || err.isNetwork) dirty = true; // try again at the next tick
        else if ([404, 409, 410].includes(err.status)) stopped = true; // the lease is over
        else last = text; // refused as it is (too large): not again until it changes
        if (opts.onError) opts.onError(err instanceof Error ? err.message : String(err));
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }

  const timer = stopped ? 0 : setInterval(save, every);
  return {
    /** Something changed: the next tick saves it. */
    touch() {
      dirty = true;
    },
    /** Save now (if anything changed). */
    flush() {
      return save();
    },
    /** Whether saving stopped because the lease ended. */
    get stopped() {
      return stopped;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
