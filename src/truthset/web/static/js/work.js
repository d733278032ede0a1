// @ts-check
/**
 * The task loop: one task after another with no page reload. The next task is leased in
 * the background while the worker answers the current one. The answer in progress and
 * every unacknowledged submit live in localStorage until the server confirms them.
 */
import { api, ApiError, me, enc } from "./api.js";
import { h, byId, replace, toast, topbar, inTextField, formatDuration } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { loadTool, mountTool, commonToolKeys } from "./toolhost.js";
import { Outbox, sendEntry } from "./outbox.js";

/** @typedef {import("./types.js").Task} Task */
/** @typedef {import("./types.js").Tool} Tool */
/** @typedef {import("./types.js").ToolModule} ToolModule */
/**
 * A task as kept on this device.
 * @typedef {{task: Task, received_at: number, deadline_local: number, state?: any,
 *   modified?: boolean, spent?: number}} Held
 */

const job = decodeURIComponent(location.pathname.split("/")[2] || "");
const SUBMIT_WAIT_MS = 4000;
const RETRY_MS = 3000;

/** @type {string} */
let userName = "";
/** @type {Outbox} */
let outbox;
/** @type {{held: Held, store: import("./store.js").AnnotationStore<any>, tool: Tool, shownAt: number, lost: boolean} | null} */
let current = null;
/** @type {Held | null} */
let prefetched = null;
/** @type {Promise<void> | null} */
let prefetching = null;
let busy = false;
let noMoreWork = false;
let sessionAnswers = 0;
/** @type {{short: string, full: string, allowed_image_origins: string[], min_box_size?: number}} */
let instructions = { short: "", full: "", allowed_image_origins: [] };
/** Time of the last submit keypress, for the "next task within 100 ms" measurement. */
let submitStartedAt = 0;

const keyCurrent = () => `truthset:${userName}:${job}:current`;
const keyNext = () => `truthset:${userName}:${job}:next`;

/** @param {string} key @returns {any} */
function load(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}
/** @param {string} key @param {any} value */
function store(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the loop still works, only without reload safety.
  }
}


/** Lease the next task. @returns {Promise<Held | null>} */
async function fetchNext() {
  const task = /** @type {Task | null} */ (await api(`/api/jobs/${enc(job)}/next`, { method: "POST" }));
  if (!task) return null;
  const now = Date.now();
  loadTool(task.ui_module).catch(() => {});
  // Lease time is measured on this device's clock from the moment the lease came back.
  return { task, received_at: now, deadline_local: now + (task.deadline - task.leased_at) * 1000 };
}

function prefetch() {
  if (prefetched || prefetching || noMoreWork) return;
  prefetching = fetchNext()
    .then((held) => {
      prefetched = held;
      store(keyNext(), held);
      document.body.dataset.prefetched = held ? String(held.task.assignment_id) : "none";
      if (held && held.task.item.media_url) {
        // Warm the image cache so the next task paints at once.
        const img = new Image();
        img.src = held.task.item.media_url;
      }
    })
    .catch(() => {})
    .finally(() => {
      prefetching = null;
    });
}

// -- layout --------------------------------------------------------------------------------

function layout() {
  const buttons = h("div", { class: "actions" },
    h("button", { type: "button", id: "btn-instructions", title: "Full instructions (i)", onclick: () => openDialog("instructions") }, "Instructions ", h("kbd", null, "i")),
    h("button", { type: "button", id: "btn-help", title: "Progress and shortcuts (?)", onclick: () => openDialog("help") }, "Help ", h("kbd", null, "?")),
    h("button", { type: "button", id: "btn-skip", title: "Skip this task (s)", onclick: () => skip() }, "Skip ", h("kbd", null, "s")),
    h("button", { type: "button", id: "btn-release", title: "Give the task back and stop (q)", onclick: () => releaseAndStop() }, "Stop ", h("kbd", null, "q")),
    h("button", { type: "button", id: "btn-submit", class: "primary", title: "Submit (Enter)", onclick: () => submit() }, "Submit ", h("kbd", null, "↵")));
  replace(byId("app"),
    h("div", { class: "work-bar" },
      h("h1", null, h("a", { href: "/" }, "Jobs"), " / ", job),
      h("span", { id: "item-id", class: "muted" }),
      h("span", { id: "timer", class: "timer", title: "Time left on this task" }),
      h("span", { id: "outbox-status", class: "outbox" }),
      buttons),
    h("div", { id: "task-error", class: "error banner", role: "alert", hidden: true }),
    h("div", { class: "work-body" },
      h("aside", { class: "side" },
        h("section", { id: "short-instructions", class: "short-instructions" }),
        h("div", { id: "tool-side" })),
      h("section", { id: "tool-root", class: "tool-root", tabindex: "-1" })),
    h("dialog", { id: "instructions" },
      h("div", { class: "dialog-head" }, h("h2", null, "Instructions"),
        h("button", { class: "link", onclick: () => closeDialog("instructions") }, "Close (Esc)")),
      h("div", { id: "instructions-body", class: "markdown" })),
    h("dialog", { id: "help" },
      h("div", { class: "dialog-head" }, h("h2", null, "Your progress and shortcuts"),
        h("button", { class: "link", onclick: () => closeDialog("help") }, "Close (Esc)")),
      h("div", { id: "help-body" })));
  const short = byId("short-instructions");
  replace(short, instructions.short ? h("p", null, instructions.short) : null,
    h("button", { class: "link", onclick: () => openDialog("instructions") }, "Full instructions"));
  byId("instructions-body").appendChild(
    renderMarkdown(instructions.full || "No instructions were given for this job.", { allowedImageOrigins: instructions.allowed_image_origins }));
}

/** @param {string} id */
function openDialog(id) {
  const d = /** @type {HTMLDialogElement} */ (byId(id));
  if (id === "help") renderHelp();
  if (!d.open) d.showModal();
}
/** @param {string} id */
function closeDialog(id) {
  const d = /** @type {HTMLDialogElement} */ (byId(id));
  if (d.open) d.close();
}

async function renderHelp() {
  const body = byId("help-body");
  /** @type {[string, string][]} */
  const keys = [
    ["Enter", "submit the answer"], ["s", "skip this task"], ["q", "give the task back and stop"],
    ["i", "full instructions"], ["?", "this help"], ["Ctrl+Z / Ctrl+Shift+Z", "undo / redo"],
    ...((current && current.tool.shortcuts) || []),
  ];
  replace(body,
    h("p", { id: "session-progress" }, `This session: ${sessionAnswers} answers.`),
    h("p", { id: "job-progress", class: "muted" }, "Loading your totals…"),
    h("table", { class: "shortcuts" }, h("tbody", null,
      keys.map(([k, what]) => h("tr", null, h("td", null, h("kbd", null, k)), h("td", null, what))))));
  try {
    const stats = await api("/api/me/stats");
    const mine = stats.find((/** @type {any} */ s) => s.job === job);
    replace(byId("job-progress"), mine
      ? `In this job: ${mine.answers} answers in ${formatDuration(mine.time_spent)} (about ${formatDuration(mine.time_spent / Math.max(1, mine.answers))} each).`
      : "You have not answered any task of this job yet.");
  } catch {
    /* the totals are a nicety */
  }
}

/** @param {string} message */
function showError(message) {
  const el = byId("task-error");
  el.textContent = message;
  el.hidden = !message;
}

function updateOutboxStatus() {
  const n = outbox.all().length;
  const el = byId("outbox-status");
  el.textContent = n ? `${n} answer${n > 1 ? "s" : ""} saved here, waiting to be sent…` : "";
  el.classList.toggle("pending", n > 0);
}

// -- showing a task --------------------------------------------------------------------------

/** @param {Held} held @param {boolean} restoring */
async function show(held, restoring) {
  if (current) current.tool.destroy();
  current = null;
  showError("");
  const task = held.task;
  const mod = await loadTool(task.ui_module);
  const initial = held.state !== undefined ? held.state : mod.initialState(task);
  const { store: annotation, tool, root } = mountTool(mod, task, initial, instructions);
  if (held.modified) annotation.modified = true;
  current = { held, store: annotation, tool, shownAt: performance.now(), lost: false };
  annotation.on("change", () => saveCurrent());
  saveCurrent();
  byId("item-id").textContent = `item ${task.item.id}`;
  document.body.dataset.assignment = String(task.assignment_id);
  document.body.dataset.item = task.item.id;
  tickTimer();
  if (restoring && held.state !== undefined) toast("Your answer in progress was restored.", "ok", 3000);
  if (submitStartedAt) {
    const ms = performance.now() - submitStartedAt;
    document.body.dataset.lastSwitchMs = ms.toFixed(1);
    submitStartedAt = 0;
  }
  root.focus({ preventScroll: true });
}

function saveCurrent() {
  if (!current) return;
  const c = current;
  store(keyCurrent(), {
    ...c.held, state: c.store.state, modified: c.store.modified,
    spent: (c.held.spent || 0) + (performance.now() - c.shownAt) / 1000,
  });
}

function timeSpent() {
  if (!current) return 0;
  return (current.held.spent || 0) + (performance.now() - current.shownAt) / 1000;
}

function tickTimer() {
  const el = document.getElementById("timer");
  if (!el) return;
  if (!current) {
    el.textContent = "";
    return;
  }
  const left = (current.held.deadline_local - Date.now()) / 1000;
  el.textContent = left > 0 ? `${formatDuration(left)} left` : "time is up";
  el.classList.toggle("warn", left < 30);
  if (left <= 0 && !current.lost) leaseLost();
}

function leaseLost() {
  if (!current) return;
  current.lost = true;
  showError("Your time for this task ran out. You can still submit: the answer is kept only if " +
    "the task still needs answers; otherwise you will be told, and you can go on with the next task.");
}

async function heartbeat() {
  if (!current || current.lost) return;
  const c = current;
  try {
    const res = await api(`/api/assignments/${c.held.task.assignment_id}/heartbeat`, { method: "POST", timeout: 5000 });
    if (current === c && res && typeof res.seconds_left === "number") {
      c.held.deadline_local = Date.now() + res.seconds_left * 1000;
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 410 && current === c) leaseLost();
  }
}

/** Show the next task: the prefetched one at once, else lease one now. */
async function advance() {
  let next = prefetched;
  prefetched = null;
  store(keyNext(), null);
  delete document.body.dataset.prefetched;
  if (next && next.deadline_local - Date.now() < Math.min(15000, (next.task.time_limit * 1000) / 4)) {
    // Too little time left on the prefetched lease: give it back and take a fresh one.
    api(`/api/assignments/${next.task.assignment_id}/release`, { method: "POST" }).catch(() => {});
    next = null;
  }
  if (!next && prefetching) {
    await prefetching;
    next = prefetched;
    prefetched = null;
    store(keyNext(), null);
  }
  if (!next) {
    try {
      next = await fetchNext();
    } catch (err) {
      showNoWork(err instanceof Error ? err.message : String(err));
      return;
    }
  }
  if (!next) {
    noMoreWork = true;
    showNoWork("");
    return;
  }
  await show(next, false);
  prefetch();
}

/** @param {string} why */
function showNoWork(why) {
  if (current) current.tool.destroy();
  current = null;
  store(keyCurrent(), null);
  document.body.dataset.assignment = "none";
  byId("tool-side").replaceChildren();
  byId("item-id").textContent = "";
  tickTimer();
  replace(byId("tool-root"), h("div", { class: "empty", id: "no-work" },
    h("h2", null, why ? "Could not get a task" : "No more tasks for you here"),
    h("p", null, why || "Every item of this job that you may label is done or being labeled by others."),
    h("p", null,
      h("button", { class: "primary", onclick: () => { noMoreWork = false; advance(); } }, "Check again"), " ",
      h("a", { class: "button", href: "/" }, "Back to your jobs"))));
}

// -- the worker's actions -----------------------------------------------------------------

/** A retry key for a submit (crypto.randomUUID needs https; this works over plain http too). */
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function submit() {
  if (busy || !current) return;
  const c = current;
  const problem = c.tool.problem ? c.tool.problem() : null;
  if (problem) {
    showError(problem);
    return;
  }
  const startedAt = performance.now();
  const entry = {
    client_key: randomKey(),
    assignment_id: c.held.task.assignment_id,
    job,
    item: c.held.task.item.id,
    answer: c.tool.answer(),
    time_spent: timeSpent(),
    queued_at: Date.now(),
  };
  busy = true;
  submitStartedAt = startedAt;
  try {
    try {
      outbox.put(entry); // on this device before it goes out: nothing is lost from here on
    } catch {
      toast("This browser cannot keep the answer on the device (storage is full); sending it now.", "info");
    }
    updateOutboxStatus();
    const res = await sendEntry(entry, SUBMIT_WAIT_MS);
    if (res.kind === "invalid") {
      outbox.remove(entry.client_key);
      submitStartedAt = 0;
      showError(`The server did not accept this answer: ${res.message}`);
      return;
    }
    if (res.kind === "network") {
      toast("No connection: your answer is saved on this device and will be sent when the server is back.", "info", 6000);
      scheduleRetry();
    } else {
      outbox.remove(entry.client_key);
      if (res.kind === "ok") sessionAnswers++;
      if (res.kind === "gone") toast(`Your answer for item ${entry.item} was not recorded: your time on it ran out and the task was given to another worker.`, "error", 0);
      if (res.kind === "conflict") toast(`Your answer for item ${entry.item} was not recorded: ${res.message}`, "error", 0);
      if (res.kind === "ok" && res.result && res.result.feedback) toast(String(res.result.feedback.message || JSON.stringify(res.result.feedback)), "info");
    }
    updateOutboxStatus();
    store(keyCurrent(), null);
    await advance();
  } finally {
    busy = false;
  }
}

async function skip() {
  if (busy || !current) return;
  busy = true;
  const id = current.held.task.assignment_id;
  try {
    await api(`/api/assignments/${id}/decline`, { method: "POST" });
  } catch (err) {
    if (err instanceof ApiError && err.isNetwork) {
      showError("Could not skip: the server cannot be reached. Try again in a moment.");
      busy = false;
      return;
    }
    // Gone or already ended: nothing to give back; go on.
  }
  store(keyCurrent(), null);
  try {
    await advance();
  } finally {
    busy = false;
  }
}

async function releaseAndStop() {
  if (busy) return;
  busy = true;
  const ids = [current && current.held.task.assignment_id, prefetched && prefetched.task.assignment_id];
  await Promise.all(ids.filter(Boolean).map((id) => api(`/api/assignments/${id}/release`, { method: "POST" }).catch(() => {})));
  store(keyCurrent(), null);
  store(keyNext(), null);
  location.assign("/");
}

let flushing = false;
/** @type {number} */
let retryTimer = 0;
function scheduleRetry() {
  if (!retryTimer) retryTimer = window.setInterval(flushOutbox, RETRY_MS);
}

/** Send every saved answer; stops at the first that still cannot reach the server. */
async function flushOutbox() {
  if (flushing) return;
  const pending = outbox.all();
  if (!pending.length) {
    if (retryTimer) window.clearInterval(retryTimer);
    retryTimer = 0;
    return;
  }
  flushing = true;
  try {
    for (const entry of pending) {
      const res = await sendEntry(entry, 8000);
      if (res.kind === "network") {
        scheduleRetry();
        break;
      }
      outbox.remove(entry.client_key);
      if (res.kind === "ok") {
        sessionAnswers++;
        toast(`Sent your saved answer for item ${entry.item}.`, "ok", 3000);
      } else if (res.kind === "gone") {
        toast(`Your saved answer for item ${entry.item} was not recorded: the time on that task ran out and it was given to another worker.`, "error", 0);
      } else {
        toast(`Your saved answer for item ${entry.item} was not recorded: ${res.message}`, "error", 0);
      }
    }
  } finally {
    flushing = false;
    updateOutboxStatus();
  }
}

/** @param {KeyboardEvent} e */
function onKey(e) {
  const dialogOpen = document.querySelector("dialog[open]");
  if (e.key === "?" && !inTextField(e)) {
    e.preventDefault();
    if (byId("help").hasAttribute("open")) closeDialog("help");
    else openDialog("help");
    return;
  }
  if (dialogOpen) return;
  if (commonToolKeys(e, current, submit)) return;
  if (e.key === "Enter") {
    e.preventDefault();
    submit();
  } else if (e.key === "s") {
    e.preventDefault();
    skip();
  } else if (e.key === "q") {
    e.preventDefault();
    releaseAndStop();
  } else if (e.key === "i") {
    e.preventDefault();
    openDialog("instructions");
  }
}

async function main() {
  const user = await me();
  userName = user.name;
  outbox = new Outbox(userName);
  topbar(user);
  try {
    instructions = await api(`/api/ui/jobs/${enc(job)}/instructions`);
  } catch (err) {
    replace(byId("app"), h("p", { class: "error" }, `Job ${job}: ${err instanceof Error ? err.message : err}`));
    return;
  }
  layout();
  updateOutboxStatus();
  document.addEventListener("keydown", onKey);
  window.addEventListener("online", () => flushOutbox());
  window.setInterval(tickTimer, 250);
  // Heartbeat a few times per lease (every 20 s at most) so the server sees the worker.
  let lastBeat = Date.now();
  window.setInterval(() => {
    if (!current) return;
    const every = Math.min(20000, Math.max(1000, (current.held.task.time_limit * 1000) / 3));
    if (Date.now() - lastBeat >= every) {
      lastBeat = Date.now();
      heartbeat();
    }
  }, 500);
  window.addEventListener("pagehide", saveCurrent);
  await flushOutbox();

  // Restore what this device held: the task in progress and the prefetched one.
  /** @type {Set<number>} */
  let leased = new Set();
  try {
    const mine = await api("/api/me/assignments");
    leased = new Set(mine.filter((/** @type {any} */ a) => a.job === job).map((/** @type {any} */ a) => a.assignment_id));
  } catch {
    /* restore nothing */
  }
  /** @type {Held | null} */
  const saved = load(keyCurrent());
  /** @type {Held | null} */
  const savedNext = load(keyNext());
  const alive = (/** @type {Held | null} */ x) =>
    !!x && leased.has(x.task.assignment_id) && !outbox.has(x.task.assignment_id) && x.deadline_local > Date.now();
  if (alive(savedNext)) prefetched = savedNext;
  else store(keyNext(), null);
  if (saved && alive(saved)) {
    await show(saved, true);
    heartbeat();
    prefetch();
    return;
  }
  if (saved && saved.modified && !outbox.has(saved.task.assignment_id)) {
    toast(`Your unfinished answer for item ${saved.task.item.id} was discarded: the time on that task ran out before it was submitted.`, "error", 0);
  }
  store(keyCurrent(), null);
  await advance();
}

main().catch((err) => toast(String(err && err.message ? err.message : err), "error", 0));
