// @ts-check
/**
 * What the worker sees of the task loop: the bar with the item, the timer, the outbox and
 * the action buttons; the tool with the short instructions beside it; the instructions and
 * help dialogs; the "no more tasks" screen. It decides nothing about leases: the buttons
 * call the actions it is given, and the loop (work/lease.js) calls the methods that the
 * LoopView type there lists.
 */
import { api } from "../api.js";
import { h, byId, replace, toast, formatDuration } from "../dom.js";
import { renderMarkdown } from "../markdown.js";
import { mountTool } from "../toolhost.js";
import { mountThread } from "../review-thread.js";

/** @typedef {import("../types.js").Task} Task */
/** @typedef {import("../types.js").ToolModule} ToolModule */
/**
 * The job's instructions and tool settings (GET /api/ui/jobs/{name}/instructions).
 * @typedef {{short: string, full: string, allowed_image_origins: string[], min_box_size?: number,
 *   confirm_empty_answer?: boolean}} Instructions
 */
/** @typedef {import("./lease.js").LoopView} LoopView */
/**
 * What the page's buttons do, and what the help dialog shows.
 * @typedef {object} WorkActions
 * @property {() => void} submit
 * @property {() => void} skip
 * @property {() => void} stop give the task back and leave
 * @property {() => void} checkAgain ask for a task again after none was left
 * @property {() => {answers: number, keys: [string, string][]}} help answers in this session, and the key table
 */

/** Say that the job's page cannot be shown (unknown job, no access). @param {string} job @param {unknown} err */
export function showJobUnavailable(job, err) {
  replace(byId("app"), h("p", { class: "error" }, `Job ${job}: ${err instanceof Error ? err.message : err}`));
}

/** @implements {LoopView} */
export class WorkView {
  /** @param {string} job @param {Instructions} instructions */
  constructor(job, instructions) {
    this.job = job;
    this.instructions = instructions;
    /** @type {WorkActions | null} set by layout() */
    this.actions = null;
  }

  /** Draw the page once; tasks then come and go inside it. @param {WorkActions} actions */
  layout(actions) {
    this.actions = actions;
    const { job, instructions } = this;
    const buttons = h("div", { class: "actions" },
      h("button", { type: "button", id: "btn-instructions", title: "Full instructions (i)", onclick: () => this.openDialog("instructions") }, "Instructions ", h("kbd", null, "i")),
      h("button", { type: "button", id: "btn-help", title: "Progress and shortcuts (?)", onclick: () => this.openDialog("help") }, "Help ", h("kbd", null, "?")),
      h("button", { type: "button", id: "btn-skip", title: "Skip this task (s)", onclick: () => actions.skip() }, "Skip ", h("kbd", null, "s")),
      h("button", { type: "button", id: "btn-release", title: "Give the task back and stop (q)", onclick: () => actions.stop() }, "Stop ", h("kbd", null, "q")),
      h("button", { type: "button", id: "btn-submit", class: "primary", title: "Submit (Enter)", onclick: () => actions.submit() }, "Submit ", h("kbd", null, "↵")));
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
          h("section", { id: "review-thread", class: "card review-thread", hidden: true }),
          h("div", { id: "tool-side" })),
        h("section", { id: "tool-root", class: "tool-root", tabindex: "-1" })),
      h("dialog", { id: "instructions" },
        h("div", { class: "dialog-head" }, h("h2", null, "Instructions"),
          h("button", { class: "link", onclick: () => this.closeDialog("instructions") }, "Close (Esc)")),
        h("div", { id: "instructions-body", class: "markdown" })),
      h("dialog", { id: "confirm-empty", "aria-labelledby": "confirm-empty-title" },
        h("h2", { id: "confirm-empty-title" }, "Submit an empty answer?"),
        h("p", { id: "confirm-empty-text" }),
        h("p", { class: "row" },
          h("button", { type: "button", id: "confirm-empty-yes", class: "primary" }, "Submit it empty ", h("kbd", null, "↵")),
          " ",
          h("button", { type: "button", id: "confirm-empty-no" }, "Go back ", h("kbd", null, "Esc")))),
      h("dialog", { id: "help" },
        h("div", { class: "dialog-head" }, h("h2", null, "Your progress and shortcuts"),
          h("button", { class: "link", onclick: () => this.closeDialog("help") }, "Close (Esc)")),
        h("div", { id: "help-body" })));
    const short = byId("short-instructions");
    replace(short, instructions.short ? h("p", null, instructions.short) : null,
      h("button", { class: "link", onclick: () => this.openDialog("instructions") }, "Full instructions"));
    byId("instructions-body").appendChild(
      renderMarkdown(instructions.full || "No instructions were given for this job.", { allowedImageOrigins: instructions.allowed_image_origins }));
  }

  /**
   * Ask before an answer with no objects goes out, unless the job does not want it asked
   * (settings.confirm_empty_answer = false). Enter confirms, Esc goes back.
   * @param {string} missing what the answer has none of ("boxes", "spans"…)
   * @returns {Promise<boolean>} true: submit it
   */
  confirmEmpty(missing) {
    if (this.instructions.confirm_empty_answer === false) return Promise.resolve(true);
    const d = /** @type {HTMLDialogElement} */ (byId("confirm-empty"));
    byId("confirm-empty-text").textContent = `This answer has no ${missing}. Submit it as it is, or go back and add them?`;
    return new Promise((resolve) => {
      /** @param {boolean} yes */
      const done = (yes) => {
        d.removeEventListener("close", onClose);
        byId("confirm-empty-yes").onclick = null;
        byId("confirm-empty-no").onclick = null;
        if (d.open) d.close();
        resolve(yes);
      };
      const onClose = () => done(false); // Esc, or the dialog closed otherwise
      d.addEventListener("close", onClose);
      byId("confirm-empty-yes").onclick = () => done(true);
      byId("confirm-empty-no").onclick = () => done(false);
      d.showModal();
      byId("confirm-empty-yes").focus();
    });
  }

  /** @param {"instructions" | "help"} id */
  openDialog(id) {
    const d = /** @type {HTMLDialogElement} */ (byId(id));
    if (id === "help") this.renderHelp();
    if (!d.open) d.showModal();
  }

  /** @param {"instructions" | "help"} id */
  closeDialog(id) {
    const d = /** @type {HTMLDialogElement} */ (byId(id));
    if (d.open) d.close();
  }

  /** @param {"instructions" | "help"} id */
  toggleDialog(id) {
    if (byId(id).hasAttribute("open")) this.closeDialog(id);
    else this.openDialog(id);
  }

  async renderHelp() {
    const body = byId("help-body");
    const { answers, keys } = this.actions ? this.actions.help() : { answers: 0, keys: [] };
    replace(body,
      h("p", { id: "session-progress" }, `This session: ${answers} answers.`),
      h("p", { id: "job-progress", class: "muted" }, "Loading your totals…"),
      h("table", { class: "shortcuts" }, h("tbody", null,
        keys.map(([k, what]) => h("tr", null, h("td", null, h("kbd", null, k)), h("td", null, what))))));
    try {
      const stats = await api("/api/me/stats");
      const mine = stats.find((/** @type {any} */ s) => s.job === this.job);
      replace(byId("job-progress"), mine
        ? `In this job: ${mine.answers} answers in ${formatDuration(mine.time_spent)} (about ${formatDuration(mine.time_spent / Math.max(1, mine.answers))} each).`
        : "You have not answered any task of this job yet.");
    } catch {
      /* the totals are a nicety */
    }
  }

  // -- what the loop asks for (LoopView) -------------------------------------------------

  /** @param {ToolModule} mod @param {Task} task @param {any} initial */
  mountTask(mod, task, initial) {
    const { store, tool } = mountTool(mod, task, initial, this.instructions);
    byId("item-id").textContent = `item ${task.item.id}`;
    this.enableTaskButtons(true);
    // The assignment and item on the body let tests (and a curious worker) see what is shown.
    document.body.dataset.assignment = String(task.assignment_id);
    document.body.dataset.item = task.item.id;
    // A reviewer's comments on this item (it was returned to this worker): shown only when there are some.
    mountThread(byId("review-thread"), task.job, task.item.id, { onlyIfAny: true, title: "The reviewer's comments", placeholder: "Answer the reviewer" });
    return { store, tool };
  }

  focusTask() {
    byId("tool-root").focus({ preventScroll: true });
  }

  /** Submit and Skip act on a task: without one they are off. @param {boolean} on */
  enableTaskButtons(on) {
    for (const id of ["btn-submit", "btn-skip"]) {
      const b = /** @type {HTMLButtonElement} */ (byId(id));
      b.disabled = !on;
      b.title = on ? (id === "btn-submit" ? "Submit (Enter)" : "Skip this task (s)") : "No task to answer";
    }
  }

  /** @param {string} why */
  showNoWork(why) {
    this.enableTaskButtons(false);
    document.body.dataset.assignment = "none";
    byId("tool-side").replaceChildren();
    byId("item-id").textContent = "";
    replace(byId("tool-root"), h("div", { class: "empty", id: "no-work" },
      h("h2", null, why ? "Could not get a task" : "No more tasks for you here"),
      h("p", null, why || "Every item of this job that you may label is done or being labeled by others."),
      h("p", null,
        h("button", { class: "primary", onclick: () => this.actions && this.actions.checkAgain() }, "Check again"), " ",
        h("a", { class: "button", href: "/" }, "Back to your jobs"))));
  }

  /** @param {string} message */
  showError(message) {
    const el = byId("task-error");
    el.textContent = message;
    el.hidden = !message;
  }

  /** @param {number | null} secondsLeft */
  showTimer(secondsLeft) {
    const el = document.getElementById("timer");
    if (!el) return;
    if (secondsLeft === null) {
      el.textContent = "";
      return;
    }
    el.textContent = secondsLeft > 0 ? `${formatDuration(secondsLeft)} left` : "time is up";
    el.classList.toggle("warn", secondsLeft < 30);
  }

  /** @param {number} count */
  showOutbox(count) {
    const el = byId("outbox-status");
    el.textContent = count ? `${count} answer${count > 1 ? "s" : ""} saved here, waiting to be sent…` : "";
    el.classList.toggle("pending", count > 0);
  }

  /** @param {string | null} assignment */
  markPrefetched(assignment) {
    if (assignment === null) delete document.body.dataset.prefetched;
    else document.body.dataset.prefetched = assignment;
  }

  /** @param {number} ms */
  markSwitchTime(ms) {
    document.body.dataset.lastSwitchMs = ms.toFixed(1);
  }

  /** @param {string} message @param {"info" | "error" | "ok"} [kind] @param {number} [ms] */
  notify(message, kind, ms) {
    toast(message, kind, ms);
  }

  leave() {
    location.assign("/");
  }
}
