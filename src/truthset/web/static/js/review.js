// @ts-check
/**
 * The review page: one queued item after another (low confidence or disputed), every
 * worker's answer beside the consolidated label, and the job's own tool, loaded with the
 * consolidated label, to set the final label. The server's review queue holds one lease
 * per reviewer: `POST review/next` answers the held item again until it is submitted or
 * released.
 */
import { api, ApiError, me, enc, isStaff } from "./api.js";
import { h, byId, replace, toast, topbar, formatDuration } from "./dom.js";
import { picture } from "./answers.js";
import { loadTool, mountTool } from "./toolhost.js";
import { listenForShortcuts } from "./keymap.js";

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
/** @type {{item: ReviewItem, context: ReviewContext, store: import("./store.js").AnnotationStore<any>, tool: Tool, deadlineLocal: number, lost: boolean} | null} */
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
    h("button", { type: "button", id: "btn-submit", class: "primary", title: "Set the final label (Enter)", onclick: () => submit() }, "Submit ", h("kbd", null, "↵")));
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
      h("aside", { class: "side review-answers", id: "answers", "aria-label": "answers" })));
}

/** @param {string} message */
function showError(message) {
  const el = byId("task-error");
  el.textContent = message;
  el.hidden = !message;
}

/** @param {number | null | undefined} c */
const formatConfidence = (c) => (typeof c === "number" ? c.toFixed(2) : "–");

/** @type {Record<string, string>} */
const REASON_PILLS = { disputed: "disputed", low_confidence: "low confidence", suspected_error: "suspected error" };

/** Why the item is in the queue, in words (text only: names come from the job). @param {ReviewItem["review"]} review */
function whyText(review) {
  if (review.reason === "disputed") return "the workers disagree";
  if (review.reason === "suspected_error" && review.issue) {
    const { label, suggested, label_probability: pl, suggested_probability: ps } = review.issue;
    return `a model trained on the other labels thinks "${label}" is wrong (p = ${pl.toFixed(2)}) and suggests "${suggested}" (p = ${ps.toFixed(2)})`;
  }
  return "low confidence";
}

/** The answers beside the tool: the consolidated label first, then every worker's answer. @param {ReviewItem} item @param {ReviewContext} context */
function renderAnswers(item, context) {
  const label = item.label;
  replace(byId("answers"),
    h("p", { id: "review-why" }, `Why: ${whyText(item.review)} · confidence ${formatConfidence(item.review.confidence)}`),
    h("div", { class: "card", id: "consolidated" },
      h("h3", null, "Consolidated label"),
      label ? h("p", { class: "muted" }, `${label.method} · confidence ${formatConfidence(label.confidence)}`) : null,
      label ? picture(label.value, label.meta, job, context.media_url, item.data) : h("p", { class: "muted" }, "No label yet.")),
    h("h3", null, `Answers (${item.answers.length})`),
    item.answers.map((a) => h("div", { class: "card answer", dataset: { worker: a.worker } },
      h("p", { class: "answer-worker" }, h("b", null, a.worker),
        h("span", { class: "muted" }, ` · ${formatDuration(a.time_spent)}${a.excluded ? " · excluded" : ""}`)),
      picture(a.answer, null, job, context.media_url, item.data))));
}

/**
 * The task the tool module is given: the reviewed item, with the consolidated label as the
 * tool's starting point (as adjustment jobs start from `prior_label`).
 * @param {ReviewItem} item @param {ReviewContext} context @returns {Task}
 */
function taskFor(item, context) {
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
  const task = taskFor(item, context);
  const mod = await loadTool(task.ui_module);
  const { store, tool, root } = mountTool(mod, task, mod.initialState(task), instructions);
  // The lease runs to the server's deadline; trust this device's clock for that only while
  // it agrees with the job's time per task (a fresh lease lasts exactly that long).
  const limit = Number(job.task_time_limit) || 0;
  let left = item.review.deadline - Date.now() / 1000;
  if (!(left > 0 && left <= limit + 5)) left = limit;
  current = { item, context, store, tool, deadlineLocal: Date.now() + left * 1000, lost: false };
  byId("item-id").textContent = `item ${item.item}`;
  const reason = byId("review-reason");
  reason.hidden = false;
  reason.textContent = REASON_PILLS[item.review.reason] || item.review.reason;
  renderAnswers(item, context);
  document.body.dataset.item = item.item;
  tickTimer();
  if (skipped.has(item.item)) {
    showError("No other item is waiting for review: this is the one you skipped.");
  }
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
      await api(`${reviewPath()}/items/${enc(c.item.item)}`, { body: { answer: c.tool.answer() } });
      reviewedHere++;
      byId("reviewed-count").textContent = `${reviewedHere} reviewed`;
      skipped.delete(c.item.item);
      toast(`Item ${c.item.item}: final label saved.`, "ok", 2000);
      await advance();
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 410)) c.lost = true;
      showError(explain(err, "Not saved"));
    }
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
