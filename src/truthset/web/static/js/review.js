// @ts-check
/**
 * The review page: one queued item after another (low confidence or disputed), every
 * worker's answer beside the consolidated label, and the job's own tool to set the final
 * label, like an editor: the tool starts from the consolidated label, or from one worker's
 * answer, or empty (the answers panel's "Start from" buttons); the workers' shapes and
 * masks are overlaid in worker colours (review-overlay.js). The reviewer accepts the label
 * as it is (a), saves a correction (Enter), or returns the item to its workers with a
 * comment (r); the item's thread (review-thread.js) holds the comments and decisions.
 * The server's review queue holds one lease per reviewer: `POST review/next` answers the
 * held item again until it is submitted, accepted, returned or released.
 */
import { api, ApiError, me, enc, isStaff } from "./api.js";
import { h, byId, replace, toast, topbar, formatDuration } from "./dom.js";
import { loadTool, mountTool } from "./toolhost.js";
import { listenForShortcuts } from "./keymap.js";
import { mountThread } from "./review-thread.js";
import { renderAnswers as fillAnswers, REASON_PILLS } from "./review-answers.js";
import { returnDialog, askReturn } from "./review-return.js";

/** @typedef {import("./types.js").Task} Task */
/** @typedef {import("./types.js").Tool} Tool */
/**
 * The answer of POST /api/jobs/{name}/review/next: the item's detail and the lease.
 * @typedef {{item: string, data: Record<string, any>, status: string,
 *   answers: {worker: string, answer: any, submitted_at: number, time_spent: number, excluded: boolean}[],
 *   label: {value: any, meta: any, confidence: number | null, human: boolean, method: string, reviewed: boolean} | null,
 *   review: {deadline: number, reason: string, confidence: number | null,
 *     issue?: {label: string, suggested: string, label_probability: number, suggested_probability: number}}}} ReviewItem
 * @typedef {{media_url: string | null, label: any, input_label: any}} ReviewContext
 */

const jobName = decodeURIComponent(location.pathname.split("/")[2] || "");
const query = new URLSearchParams(location.search);
const maxConfidence = query.get("max_confidence");

/** @type {any} the job's summary (GET /api/jobs/{name}) */
let job = null;
/** @type {any} */
let user = null;
/** @type {{short: string, min_box_size?: number}} */
let instructions = { short: "" };
/**
 * Where the tool's label started: the consolidated label, a worker's answer, or nothing.
 * @typedef {"consolidated" | "empty" | `worker:${string}`} StartFrom
 */
/** @type {{item: ReviewItem, context: ReviewContext, store: import("./store.js").AnnotationStore<any>, tool: Tool, deadlineLocal: number, lost: boolean, from: StartFrom} | null} */
let current = null;
let busy = false;
let reviewedHere = 0;
/** Items this reviewer skipped on this page (the queue serves them again when nothing else waits). */
const skipped = new Set();

const reviewPath = () => `/api/jobs/${enc(jobName)}/review`;
const backHref = () => (isStaff(user) ? `/console/jobs/${enc(jobName)}` : "/");

// -- layout --------------------------------------------------------------------------------

function layout() {
  const buttons = h("div", { class: "actions" },
    h("button", { type: "button", id: "btn-skip", title: "Give this item back and show the next (s)", onclick: () => skip() }, "Skip ", h("kbd", null, "s")),
    h("button", { type: "button", id: "btn-release", title: "Give this item back and stop (q)", onclick: () => releaseAndStop() }, "Release and stop ", h("kbd", null, "q")),
    h("button", { type: "button", id: "btn-return", title: "Reject: return the item to its workers with a comment (r)", onclick: () => openReturn() }, "Return to workers… ", h("kbd", null, "r")),
    h("button", { type: "button", id: "btn-accept", title: "Keep the consolidated label as it is (a)", onclick: () => accept() }, "Accept as is ", h("kbd", null, "a")),
    h("button", { type: "button", id: "btn-submit", class: "primary", title: "Set the final label as the tool shows it (Enter)", onclick: () => submit() }, "Submit ", h("kbd", null, "↵")));
  replace(byId("app"),
    h("div", { class: "work-bar" },
      h("h1", null, h("a", { href: backHref() }, isStaff(user) ? "Console" : "Jobs"), " / ", jobName, " / review"),
      h("span", { id: "item-id", class: "muted" }),
      h("span", { id: "review-reason", class: "pill", hidden: true }),
      h("span", { id: "timer", class: "timer", title: "Time left on your lease of this item" }),
      h("span", { id: "reviewed-count", class: "muted" }),
      buttons),
    h("div", { id: "task-error", class: "error banner", role: "alert", hidden: true }),
    h("div", { class: "work-body" },
      h("aside", { class: "side" },
        instructions.short ? h("section", { class: "short-instructions" }, h("p", null, instructions.short)) : null,
        h("div", { id: "tool-side" })),
      h("section", { id: "tool-root", class: "tool-root", tabindex: "-1" }),
      h("aside", { class: "side review-answers", "aria-label": "answers" },
        h("div", { id: "answers" }),
        h("section", { id: "thread-box", class: "card review-thread" }))),
    returnDialog());
}

/** @param {string} message */
function showError(message) {
  const el = byId("task-error");
  el.textContent = message;
  el.hidden = !message;
}

/**
 * The task the tool module is given: the reviewed item, starting from the consolidated
 * label (as adjustment jobs start from `prior_label`), from one worker's answer (given as
 * the prediction, in the worker-answer shape every tool reads; a mask as the prior label,
 * which is where the brush tool reads one), or from nothing.
 * @param {ReviewItem} item @param {ReviewContext} context @param {StartFrom} from @returns {Task}
 */
function taskFor(item, context, from) {
  const base = consolidatedTask(item, context);
  if (from === "consolidated") return base;
  const answer = from.startsWith("worker:") ? (item.answers.find((a) => `worker:${a.worker}` === from) || { answer: null }).answer : null;
  const mask = answer && answer.labeledImage;
  return { ...base, prediction: mask ? null : answer, prior_label: mask ? { value: answer, meta: {} } : null };
}

/** @param {ReviewItem} item @param {ReviewContext} context @returns {Task} */
function consolidatedTask(item, context) {
  const verification = job.ui_module === "tools/verify.js";
  return {
    assignment_id: 0,
    job: job.name,
    task_type: job.task_type,
    ui_module: job.ui_module,
    labels: job.labels,
    label_config: job.label_config,
    deadline: item.review.deadline,
    leased_at: Date.now() / 1000,
    time_limit: job.task_time_limit,
    item: { id: item.item, data: item.data || {}, media_url: context.media_url || undefined },
    // Classification tools start from a prediction in the worker-answer shape.
    prediction: classificationAnswer(item.label),
    // A verification job's tool shows the input job's label; others load the label itself.
    prior_label: verification ? context.input_label : context.label,
  };
}

/** A classification label ({class-name} or {class-map} metadata) as a worker answer. @param {any} label */
function classificationAnswer(label) {
  const meta = label && label.meta;
  if (!meta || typeof meta !== "object") return null;
  if (typeof meta["class-name"] === "string") return { label: meta["class-name"] };
  if (meta["class-map"] && typeof meta["class-map"] === "object") return { labels: Object.values(meta["class-map"]) };
  return null;
}

/** @param {ReviewItem} item @param {ReviewContext} context */
async function show(item, context) {
  if (current) current.tool.destroy();
  current = null;
  showError("");
  /** @type {StartFrom} */
  const from = item.label ? "consolidated" : item.answers.length ? `worker:${item.answers[0].worker}` : "empty";
  const { store, tool, root } = await mountFrom(item, context, from);
  // The lease runs to the server's deadline; trust this device's clock for that only while
  // it agrees with the job's time per task (a fresh lease lasts exactly that long).
  const limit = Number(job.task_time_limit) || 0;
  let left = item.review.deadline - Date.now() / 1000;
  if (!(left > 0 && left <= limit + 5)) left = limit;
  current = { item, context, store, tool, deadlineLocal: Date.now() + left * 1000, lost: false, from };
  byId("item-id").textContent = `item ${item.item}`;
  const reason = byId("review-reason");
  reason.hidden = false;
  reason.textContent = REASON_PILLS[item.review.reason] || item.review.reason;
  fillAnswers(byId("answers"), item, context, job, from, startFrom);
  mountThread(byId("thread-box"), jobName, item.item, { placeholder: "A comment to the annotators of this item" });
  document.body.dataset.item = item.item;
  document.body.dataset.startedFrom = from;
  tickTimer();
  if (skipped.has(item.item)) {
    showError("No other item is waiting for review: this is the one you skipped.");
  }
  root.focus({ preventScroll: true });
}

/**
 * Mount the job's tool for the item, starting from `from`.
 * @param {ReviewItem} item @param {ReviewContext} context @param {StartFrom} from
 */
async function mountFrom(item, context, from) {
  const task = taskFor(item, context, from);
  const mod = await loadTool(task.ui_module);
  return mountTool(mod, task, mod.initialState(task), instructions);
}

/** Load another starting point into the tool (edits made so far are dropped). @param {StartFrom} from */
async function startFrom(from) {
  const c = current;
  if (!c || busy || c.from === from) return;
  c.tool.destroy();
  const { store, tool, root } = await mountFrom(c.item, c.context, from);
  Object.assign(c, { store, tool, from });
  document.body.dataset.startedFrom = from;
  fillAnswers(byId("answers"), c.item, c.context, job, from, startFrom);
  root.focus({ preventScroll: true });
}

function tickTimer() {
  const el = document.getElementById("timer");
  if (!el) return;
  if (!current) {
    el.textContent = "";
    return;
  }
  const left = (current.deadlineLocal - Date.now()) / 1000;
  el.textContent = left > 0 ? `${formatDuration(left)} left` : "time is up";
  el.classList.toggle("warn", left < 30);
  if (left <= 0 && !current.lost) {
    current.lost = true;
    showError("Your lease on this item expired: it went back to the queue and another reviewer may take it. " +
      "Press n to take the next item (it may be this one again).");
  }
}

/** Show nothing to review (or why the next item could not be fetched). @param {string} why */
function showNothing(why) {
  if (current) current.tool.destroy();
  current = null;
  document.body.dataset.item = "none";
  byId("tool-side").replaceChildren();
  byId("answers").replaceChildren();
  byId("thread-box").replaceChildren();
  byId("thread-box").hidden = true;
  byId("item-id").textContent = "";
  byId("review-reason").hidden = true;
  tickTimer();
  replace(byId("tool-root"), h("div", { class: "empty", id: "no-review" },
    h("h2", null, why ? "Could not get an item to review" : "Nothing to review"),
    h("p", null, why || "No item of this job waits for review now: every low-confidence or disputed label is reviewed or held by another reviewer."),
    h("p", null,
      h("button", { class: "primary", onclick: () => advance() }, "Check again"), " ",
      h("a", { class: "button", href: backHref() }, "Back"))));
}

/** Lease the next item and show it. */
async function advance() {
  showError("");
  /** @type {ReviewItem | null} */
  let item;
  /** @type {ReviewContext} */
  let context;
  try {
    const q = maxConfidence !== null ? `?max_confidence=${enc(maxConfidence)}` : "";
    item = await api(`${reviewPath()}/next${q}`, { method: "POST" });
    if (!item) {
      showNothing("");
      return;
    }
    context = await api(`/api/ui/jobs/${enc(jobName)}/review/items/${enc(item.item)}`);
  } catch (err) {
    showNothing(err instanceof Error ? err.message : String(err));
    return;
  }
  await show(item, context);
}

/** Plain words for a refused review request. @param {unknown} err @param {string} what */
function explain(err, what) {
  if (!(err instanceof ApiError)) return `${what}: ${err instanceof Error ? err.message : String(err)}`;
  if (err.isNetwork) return `${what}: the server cannot be reached. Try again in a moment.`;
  if (err.status === 410) return `${what}: your lease on this item expired, and it went back to the queue. Press n for the next item.`;
  if (err.status === 409) return `${what}: ${err.message}. Press n for the next item.`;
  if (err.status === 400 || err.status === 422) return `${what}: the server did not accept this label: ${err.message}`;
  return `${what}: ${err.message}`;
}

/**
 * One action at a time: a key pressed while a submit or a release is on its way does
 * nothing. @param {() => Promise<void>} action
 */
async function exclusive(action) {
  if (busy) return;
  busy = true;
  try {
    await action();
  } finally {
    busy = false;
  }
}

function submit() {
  const c = current;
  if (busy || !c) return;
  const problem = c.tool.problem ? c.tool.problem() : null;
  if (problem) {
    showError(problem);
    return;
  }
  return exclusive(async () => {
    try {
      await api(`${reviewPath()}/items/${enc(c.item.item)}`, { body: { answer: c.tool.answer(), started_from: c.from } });
      await done(c, "final label saved");
    } catch (err) {
      failed(c, err, "Not saved");
    }
  });
}

/** After a decision: count it, say it, take the next item. @param {NonNullable<typeof current>} c @param {string} what */
async function done(c, what) {
  reviewedHere++;
  byId("reviewed-count").textContent = `${reviewedHere} reviewed`;
  skipped.delete(c.item.item);
  toast(`Item ${c.item.item}: ${what}.`, "ok", 2000);
  await advance();
}

/** @param {NonNullable<typeof current>} c @param {unknown} err @param {string} what */
function failed(c, err, what) {
  if (err instanceof ApiError && (err.status === 409 || err.status === 410)) c.lost = true;
  showError(explain(err, what));
}

/** Keep the consolidated label as it is. */
function accept() {
  const c = current;
  if (busy || !c) return;
  if (!c.item.label) {
    showError("This item has no consolidated label to accept: set one with the tool and submit it.");
    return;
  }
  return exclusive(async () => {
    try {
      await api(`${reviewPath()}/items/${enc(c.item.item)}/accept`, { body: {} });
      await done(c, "label accepted as it was");
    } catch (err) {
      failed(c, err, "Not accepted");
    }
  });
}

/** Reject: ask for the comment and the workers, then return the item to them. */
function openReturn() {
  const c = current;
  if (busy || !c) return;
  const answered = c.item.answers.filter((a) => !a.excluded).map((a) => a.worker);
  if (!answered.length) {
    showError("No worker's answer counts on this item: there is nobody to return it to.");
    return;
  }
  askReturn(answered, async (comment, workers) => {
    if (busy) return "Wait a moment: another action is on its way.";
    busy = true;
    try {
      await api(`${reviewPath()}/items/${enc(c.item.item)}/return`, { body: { comment, workers } });
    } catch (err) {
      return explain(err, "Not returned");
    } finally {
      busy = false;
    }
    void exclusive(() => done(c, `returned to ${workers.join(", ")}`));
    return null;
  });
}

/** Give the item back (a lease already ended needs nothing). @returns {Promise<boolean>} false when offline */
async function releaseCurrent() {
  if (!current || current.lost) return true;
  try {
    await api(`${reviewPath()}/items/${enc(current.item.item)}/release`, { method: "POST" });
  } catch (err) {
    if (err instanceof ApiError && err.isNetwork) {
      showError(explain(err, "Could not give the item back"));
      return false;
    }
    // Expired or taken over: the item is not ours any more, which is what we wanted.
  }
  return true;
}

function skip() {
  const c = current;
  if (!c) return;
  return exclusive(async () => {
    if (!(await releaseCurrent())) return;
    skipped.add(c.item.item);
    await advance();
  });
}

const next = () => exclusive(advance);

function releaseAndStop() {
  return exclusive(async () => {
    if (!(await releaseCurrent())) return;
    if (current) current.tool.destroy();
    current = null;
    location.assign(backHref());
  });
}

/** @type {import("./keymap.js").Shortcut[]} */
const shortcuts = [
  { key: "Enter", does: "set the final label", run: () => submit() },
  { key: "s", does: "give this item back and show the next", run: () => skip() },
  { key: "q", does: "give this item back and stop", run: () => releaseAndStop() },
  { key: "a", does: "accept the consolidated label as it is", run: () => accept(), when: () => !!current && !current.lost },
  { key: "r", does: "return the item to its workers with a comment", run: () => openReturn(), when: () => !!current && !current.lost },
  // Only when no lease is held: while one is, review/next answers the same item again (s gives it back first).
  { key: "n", does: "take the next item", run: () => next(), when: () => !current || current.lost },
];

async function main() {
  user = await me();
  topbar(user);
  if (!["admin", "requester", "reviewer"].includes(user.role)) {
    replace(byId("app"), h("p", { class: "error" }, "Reviewing needs the reviewer, requester or admin role."));
    return;
  }
  try {
    [job, instructions] = await Promise.all([
      api(`/api/jobs/${enc(jobName)}`),
      api(`/api/ui/jobs/${enc(jobName)}/instructions`),
    ]);
  } catch (err) {
    replace(byId("app"), h("p", { class: "error" }, `Job ${jobName}: ${err instanceof Error ? err.message : err}`));
    return;
  }
  document.title = `Review ${job.name} · truthset`;
  layout();
  listenForShortcuts({ shortcuts, current: () => current, submit });
  window.setInterval(tickTimer, 250);
  await advance();
}

main().catch((err) => toast(String(err && err.message ? err.message : err), "error", 0));
