// @ts-check
/**
 * The worker's task loop without its page: the task shown and the one leased ahead, each
 * lease's deadline and heartbeat, what submit, skip and stop do, the answers waiting in the
 * outbox, and what is kept in localStorage so that a reload loses nothing. It talks to the
 * API and to localStorage only; what the worker sees is the business of the view it is
 * given (work/view.js), so the order of the lease calls can be read here on its own.
 */
import { api, ApiError, enc } from "../api.js";
import { loadTool } from "../toolhost.js";
import { sendEntry } from "../outbox.js";
import { missingObjects } from "../answers.js";

/** @typedef {import("../types.js").Task} Task */
/** @typedef {import("../types.js").Tool} Tool */
/** @typedef {import("../types.js").ToolModule} ToolModule */
/** @typedef {import("../store.js").AnnotationStore<any>} AnnotationStore */
/** @typedef {import("../outbox.js").Outbox} Outbox */
/**
 * A task as kept on this device.
 * @typedef {{task: Task, received_at: number, deadline_local: number, state?: any,
 *   modified?: boolean, spent?: number}} Held
 */
/**
 * The task on the page: its lease, its tool, when it was shown, and whether its time ran out.
 * @typedef {{held: Held, store: AnnotationStore, tool: Tool, shownAt: number, lost: boolean}} Shown
 */
/**
 * What the loop asks of the page.
 * @typedef {object} LoopView
 * @property {(mod: ToolModule, task: Task, initial: any) => {store: AnnotationStore, tool: Tool}} mountTask
 *   put the task's tool on the page, starting from `initial`
 * @property {() => void} focusTask give the keyboard to the tool
 * @property {(missing: string) => Promise<boolean>} confirmEmpty whether an answer with no
 *   `missing` ("boxes"…) is to be submitted (the job may not want it asked: then true)
 * @property {(why: string) => void} showNoWork no task to show: `why` says what went wrong, empty when none is left
 * @property {(message: string) => void} showError a problem with the task shown; "" clears it
 * @property {(secondsLeft: number | null) => void} showTimer the time left on the lease; null: no task
 * @property {(count: number) => void} showOutbox how many answers wait on this device to be sent
 * @property {(assignment: string | null) => void} markPrefetched the task leased ahead ("none": there is none; null: forget it)
 * @property {(ms: number) => void} markSwitchTime how long a submit took to show the next task
 * @property {(message: string, kind?: "info" | "error" | "ok", ms?: number) => void} notify
 * @property {() => void} leave the worker stopped: back to the jobs
 */

/** How long a submit waits for the server before the worker goes on (the outbox keeps the answer). */
const SUBMIT_WAIT_MS = 4000;
/** How often answers the server could not be reached for are sent again. */
const RETRY_MS = 3000;

/** @param {string} key @returns {any} */
function load(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

/** @param {string} key @param {any} value null removes the key */
function keep(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the loop still works, only without reload safety.
  }
}

/** A retry key for a submit (crypto.randomUUID needs https; this works over plain http too). */
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class TaskLoop {
  /** @param {{job: string, userName: string, outbox: Outbox, view: LoopView}} deps */
  constructor({ job, userName, outbox, view }) {
    this.job = job;
    this.outbox = outbox;
    this.view = view;
    /** Where the task shown and the task leased ahead are kept on this device. */
    this.keyCurrent = `truthset:${userName}:${job}:current`;
    this.keyNext = `truthset:${userName}:${job}:next`;
    /** @type {Shown | null} */
    this.current = null;
    /** @type {Held | null} the task leased ahead */
    this.prefetched = null;
    /** @type {Promise<void> | null} the lease ahead on its way */
    this.prefetching = null;
    /** A submit, skip or stop is on its way: another one now does nothing. */
    this.busy = false;
    /** The server had no task: lease none ahead until the worker asks again. */
    this.noMoreWork = false;
    /** Answers recorded since this page was opened (the help shows it). */
    this.sessionAnswers = 0;
    /** Time of the last submit, for the "next task within 100 ms" measurement. */
    this.submitStartedAt = 0;
    this.flushing = false;
    /** The interval that sends the outbox again while the server cannot be reached; 0: none. */
    this.retryTimer = 0;
  }

  /**
   * Lease the next task; `ahead`: one beyond the task on screen (the server allows that one
   * lease over the job's per-worker limit and never answers it with the task shown).
   * @param {boolean} [ahead] @returns {Promise<Held | null>}
   */
  async fetchNext(ahead = false) {
    const query = ahead ? "?ahead=true" : "";
    const task = /** @type {Task | null} */ (await api(`/api/jobs/${enc(this.job)}/next${query}`, { method: "POST" }));
    if (!task) return null;
    const now = Date.now();
    loadTool(task.ui_module).catch(() => {});
    // Lease time is measured on this device's clock from the moment the lease came back.
    return { task, received_at: now, deadline_local: now + (task.deadline - task.leased_at) * 1000 };
  }

  prefetch() {
    if (this.prefetched || this.prefetching || this.noMoreWork) return;
    this.prefetching = this.fetchNext(true)
      .then((fetched) => {
        // Never the lease already shown (an older server answers an ahead lease with it):
        // that is no task ahead (the next one is leased after the submit).
        const shown = this.current && this.current.held.task.assignment_id;
        const held = fetched && fetched.task.assignment_id === shown ? null : fetched;
        this.prefetched = held;
        keep(this.keyNext, held);
        this.view.markPrefetched(held ? String(held.task.assignment_id) : "none");
        // A tool may load the next task ahead (tools/template.js: its frame).
        if (held) loadTool(held.task.ui_module).then((mod) => mod.prefetch && mod.prefetch(held.task)).catch(() => {});
        if (held && held.task.item.media_url) {
          // Warm the image cache so the next task paints at once.
          const img = new Image();
          img.src = held.task.item.media_url;
        }
      })
      .catch(() => {})
      .finally(() => {
        this.prefetching = null;
      });
  }

  /** @param {Held} held @param {boolean} restoring */
  async show(held, restoring) {
    if (this.current) this.current.tool.destroy();
    this.current = null;
    this.view.showError("");
    const task = held.task;
    const mod = await loadTool(task.ui_module);
    const initial = held.state !== undefined ? held.state : mod.initialState(task);
    const { store, tool } = this.view.mountTask(mod, task, initial);
    if (held.modified) store.modified = true;
    this.current = { held, store, tool, shownAt: performance.now(), lost: false };
    store.on("change", () => this.saveCurrent());
    this.saveCurrent();
    this.tick();
    if (restoring && held.state !== undefined) this.view.notify("Your answer in progress was restored.", "ok", 3000);
    if (this.submitStartedAt) {
      this.view.markSwitchTime(performance.now() - this.submitStartedAt);
      this.submitStartedAt = 0;
    }
    this.view.focusTask();
  }

  /** Keep the answer in progress on this device (on every change, and when the page goes). */
  saveCurrent() {
    if (!this.current) return;
    const c = this.current;
    keep(this.keyCurrent, {
      ...c.held, state: c.store.state, modified: c.store.modified,
      spent: (c.held.spent || 0) + (performance.now() - c.shownAt) / 1000,
    });
  }

  timeSpent() {
    if (!this.current) return 0;
    return (this.current.held.spent || 0) + (performance.now() - this.current.shownAt) / 1000;
  }

  /** Show the time left, and say so once when it has run out. */
  tick() {
    if (!this.current) {
      this.view.showTimer(null);
      return;
    }
    const left = (this.current.held.deadline_local - Date.now()) / 1000;
    this.view.showTimer(left);
    if (left <= 0 && !this.current.lost) this.leaseLost();
  }

  leaseLost() {
    if (!this.current) return;
    this.current.lost = true;
    this.view.showError("Your time for this task ran out. You can still submit: the answer is kept only if " +
      "the task still needs answers; otherwise you will be told, and you can go on with the next task.");
  }

  async heartbeat() {
    if (!this.current || this.current.lost) return;
    const c = this.current;
    try {
      const res = await api(`/api/assignments/${c.held.task.assignment_id}/heartbeat`, { method: "POST", timeout: 5000 });
      if (this.current === c && res && typeof res.seconds_left === "number") {
        c.held.deadline_local = Date.now() + res.seconds_left * 1000;
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 410 && this.current === c) this.leaseLost();
    }
  }

  /** Show the next task: the prefetched one at once, else lease one now. */
  async advance() {
    let next = this.prefetched;
    this.prefetched = null;
    keep(this.keyNext, null);
    this.view.markPrefetched(null);
    if (next && next.deadline_local - Date.now() < Math.min(15000, (next.task.time_limit * 1000) / 4)) {
      // Too little time left on the prefetched lease: give it back and take a fresh one.
      api(`/api/assignments/${next.task.assignment_id}/release`, { method: "POST" }).catch(() => {});
      next = null;
    }
    if (!next && this.prefetching) {
      await this.prefetching;
      next = this.prefetched;
      this.prefetched = null;
      keep(this.keyNext, null);
    }
    if (!next) {
      try {
        next = await this.fetchNext();
      } catch (err) {
        this.noWork(err instanceof Error ? err.message : String(err));
        return;
      }
    }
    if (!next) {
      this.noMoreWork = true;
      this.noWork("");
      return;
    }
    await this.show(next, false);
    this.prefetch();
  }

  /** @param {string} why */
  noWork(why) {
    if (this.current) this.current.tool.destroy();
    this.current = null;
    keep(this.keyCurrent, null);
    this.view.showNoWork(why);
    this.tick();
  }

  /** The worker asks for a task again after none was left. */
  checkAgain() {
    this.noMoreWork = false;
    this.advance();
  }

  // -- the worker's actions ---------------------------------------------------------------

  async submit() {
    if (this.busy || !this.current) return;
    const c = this.current;
    const problem = c.tool.problem ? c.tool.problem() : null;
    if (problem) {
      this.view.showError(problem);
      return;
    }
    const answer = c.tool.answer();
    // A tool whose answer is not a list of objects (a mask) says itself what it lacks.
    const missing = c.tool.missing ? c.tool.missing() : missingObjects(answer);
    if (missing) {
      this.busy = true; // no second submit while the question is open
      const yes = await this.view.confirmEmpty(missing).finally(() => (this.busy = false));
      if (!yes || this.current !== c) {
        this.view.focusTask();
        return;
      }
    }
    const startedAt = performance.now();
    const entry = {
      client_key: randomKey(),
      assignment_id: c.held.task.assignment_id,
      job: this.job,
      item: c.held.task.item.id,
      answer,
      time_spent: this.timeSpent(),
      queued_at: Date.now(),
    };
    this.busy = true;
    this.submitStartedAt = startedAt;
    try {
      try {
        this.outbox.put(entry); // on this device before it goes out: nothing is lost from here on
      } catch {
        this.view.notify("This browser cannot keep the answer on the device (storage is full); sending it now.", "info");
      }
      this.showOutbox();
      const res = await sendEntry(entry, SUBMIT_WAIT_MS);
      if (res.kind === "invalid") {
        this.outbox.remove(entry.client_key);
        this.submitStartedAt = 0;
        this.view.showError(`The server did not accept this answer: ${res.message}`);
        return;
      }
      if (res.kind === "network") {
        this.view.notify("No connection: your answer is saved on this device and will be sent when the server is back.", "info", 6000);
        this.scheduleRetry();
      } else {
        this.outbox.remove(entry.client_key);
        if (res.kind === "ok") this.sessionAnswers++;
        if (res.kind === "gone") this.view.notify(`Your answer for item ${entry.item} was not recorded: your time on it ran out and the task was given to another worker.`, "error", 0);
        if (res.kind === "conflict") this.view.notify(`Your answer for item ${entry.item} was not recorded: ${res.message}`, "error", 0);
        if (res.kind === "ok" && res.result && res.result.feedback) this.view.notify(String(res.result.feedback.message || JSON.stringify(res.result.feedback)), "info");
      }
      this.showOutbox();
      keep(this.keyCurrent, null);
      await this.advance();
    } finally {
      this.busy = false;
    }
  }

  async skip() {
    if (this.busy || !this.current) return;
    this.busy = true;
    const id = this.current.held.task.assignment_id;
    try {
      await api(`/api/assignments/${id}/decline`, { method: "POST" });
    } catch (err) {
      if (err instanceof ApiError && err.isNetwork) {
        this.view.showError("Could not skip: the server cannot be reached. Try again in a moment.");
        this.busy = false;
        return;
      }
      // Gone or already ended: nothing to give back; go on.
    }
    keep(this.keyCurrent, null);
    try {
      await this.advance();
    } finally {
      this.busy = false;
    }
  }

  /** Give back the task shown and the one leased ahead, and leave. */
  async releaseAndStop() {
    if (this.busy) return;
    this.busy = true;
    const ids = [this.current && this.current.held.task.assignment_id, this.prefetched && this.prefetched.task.assignment_id];
    await Promise.all(ids.filter(Boolean).map((id) => api(`/api/assignments/${id}/release`, { method: "POST" }).catch(() => {})));
    keep(this.keyCurrent, null);
    keep(this.keyNext, null);
    this.view.leave();
  }

  // -- the outbox -------------------------------------------------------------------------

  showOutbox() {
    this.view.showOutbox(this.outbox.all().length);
  }

  scheduleRetry() {
    if (!this.retryTimer) this.retryTimer = window.setInterval(() => this.flushOutbox(), RETRY_MS);
  }

  /** Send every saved answer; stops at the first that still cannot reach the server. */
  async flushOutbox() {
    if (this.flushing) return;
    const pending = this.outbox.all();
    if (!pending.length) {
      if (this.retryTimer) window.clearInterval(this.retryTimer);
      this.retryTimer = 0;
      return;
    }
    this.flushing = true;
    try {
      for (const entry of pending) {
        const res = await sendEntry(entry, 8000);
        if (res.kind === "network") {
          this.scheduleRetry();
          break;
        }
        this.outbox.remove(entry.client_key);
        if (res.kind === "ok") {
          this.sessionAnswers++;
          this.view.notify(`Sent your saved answer for item ${entry.item}.`, "ok", 3000);
        } else if (res.kind === "gone") {
          this.view.notify(`Your saved answer for item ${entry.item} was not recorded: the time on that task ran out and it was given to another worker.`, "error", 0);
        } else {
          this.view.notify(`Your saved answer for item ${entry.item} was not recorded: ${res.message}`, "error", 0);
        }
      }
    } finally {
      this.flushing = false;
      this.showOutbox();
    }
  }

  // -- starting -----------------------------------------------------------------------------

  /**
   * Start the timers, send what the outbox holds, then show the task this device held
   * (while its lease lives) or lease a new one.
   */
  async start() {
    this.showOutbox();
    window.addEventListener("online", () => this.flushOutbox());
    window.setInterval(() => this.tick(), 250);
    // Heartbeat a few times per lease (every 20 s at most) so the server sees the worker.
    let lastBeat = Date.now();
    window.setInterval(() => {
      if (!this.current) return;
      const every = Math.min(20000, Math.max(1000, (this.current.held.task.time_limit * 1000) / 3));
      if (Date.now() - lastBeat >= every) {
        lastBeat = Date.now();
        this.heartbeat();
      }
    }, 500);
    window.addEventListener("pagehide", () => this.saveCurrent());
    await this.flushOutbox();

    // Restore what this device held: the task in progress and the prefetched one.
    /** @type {Set<number>} */
    let leased = new Set();
    try {
      const mine = await api("/api/me/assignments");
      leased = new Set(mine.filter((/** @type {any} */ a) => a.job === this.job).map((/** @type {any} */ a) => a.assignment_id));
    } catch {
      /* restore nothing */
    }
    /** @type {Held | null} */
    const saved = load(this.keyCurrent);
    /** @type {Held | null} */
    const savedNext = load(this.keyNext);
    const alive = (/** @type {Held | null} */ x) =>
      !!x && leased.has(x.task.assignment_id) && !this.outbox.has(x.task.assignment_id) && x.deadline_local > Date.now();
    if (alive(savedNext)) this.prefetched = savedNext;
    else keep(this.keyNext, null);
    if (saved && alive(saved)) {
      await this.show(saved, true);
      this.heartbeat();
      this.prefetch();
      return;
    }
    if (saved && saved.modified && !this.outbox.has(saved.task.assignment_id)) {
      this.view.notify(`Your unfinished answer for item ${saved.task.item.id} was discarded: the time on that task ran out before it was submitted.`, "error", 0);
    }
    keep(this.keyCurrent, null);
    await this.advance();
  }
}
