// @ts-check
/**
 * The task loop: one task after another with no page reload. The next task is leased in
 * the background while the worker answers the current one. The answer in progress and
 * every unacknowledged submit live in localStorage until the server confirms them.
 *
 * This module wires the loop's parts: the lease state machine (work/lease.js), what the
 * worker sees (work/view.js), and the keys (keymap.js, shared with the review page).
 */
import { api, me, enc } from "./api.js";
import { toast, topbar } from "./dom.js";
import { Outbox } from "./outbox.js";
import { listenForShortcuts, shortcutHelp } from "./keymap.js";
import { TaskLoop } from "./work/lease.js";
import { WorkView, showJobUnavailable } from "./work/view.js";

/** @typedef {import("./keymap.js").Shortcut} Shortcut */

const job = decodeURIComponent(location.pathname.split("/")[2] || "");

async function main() {
  const user = await me();
  const outbox = new Outbox(user.name);
  topbar(user);
  /** @type {import("./work/view.js").Instructions} */
  let instructions;
  try {
    instructions = await api(`/api/ui/jobs/${enc(job)}/instructions`);
  } catch (err) {
    showJobUnavailable(job, err);
    return;
  }
  const view = new WorkView(job, instructions);
  const loop = new TaskLoop({ job, userName: user.name, outbox, view });
  /** @type {Shortcut[]} in the order the help lists them */
  const shortcuts = [
    { key: "Enter", does: "submit the answer", run: () => loop.submit() },
    { key: "s", does: "skip this task", run: () => loop.skip() },
    { key: "q", does: "give the task back and stop", run: () => loop.releaseAndStop() },
    { key: "i", does: "full instructions", run: () => view.openDialog("instructions") },
    // The help key also closes the help it opened, so it works over an open dialog.
    { key: "?", does: "this help", run: () => view.toggleDialog("help"), overDialogs: true },
  ];
  view.layout({
    submit: () => loop.submit(),
    skip: () => loop.skip(),
    stop: () => loop.releaseAndStop(),
    checkAgain: () => loop.checkAgain(),
    help: () => ({
      answers: loop.sessionAnswers,
      keys: [...shortcutHelp(shortcuts), ...((loop.current && loop.current.tool.shortcuts) || [])],
    }),
  });
  listenForShortcuts({ shortcuts, current: () => loop.current, submit: () => loop.submit() });
  await loop.start();
}

main().catch((err) => toast(String(err && err.message ? err.message : err), "error", 0));
