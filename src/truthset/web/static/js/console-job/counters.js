// @ts-check
/**
 * The job's counters (items by state, time per answer), and their refresh in place: they
 * change while workers work, and redrawing the whole page for them would lose the reader's
 * place and any half-typed setting.
 */
import { api } from "../api.js";
import { h, formatDuration } from "../dom.js";
import { jobApi, num, stat } from "./common.js";

/** @param {any} job @param {any[]} workers */
export function countersPanel(job, workers) {
  const c = job.counters;
  const answers = workers.reduce((a, w) => a + w.answers, 0);
  const time = workers.reduce((a, w) => a + w.time_spent, 0);
  return h("section", { class: "block" },
    h("div", { class: "grid", id: "counters" },
      stat("human-labeled", c.human_labeled, "c-human"),
      stat("machine-labeled", c.machine_labeled, "c-machine"),
      stat("failed", c.failed, "c-failed"),
      stat("unlabeled", c.unlabeled, "c-unlabeled"),
      stat("items", c.total, "c-total"),
      stat("time per answer", !answers ? "–" : time / answers < 60 ? `${num(time / answers, 1)} s` : formatDuration(time / answers), "c-time")));
}

/** Update the counters and the state pill from a fresh read of the job. */
export async function refreshCounters() {
  try {
    const job = await api(jobApi);
    const c = job.counters;
    const set = (/** @type {string} */ id, /** @type {number} */ v) => {
      const el = document.querySelector(`#${id} b`);
      if (el) el.textContent = String(v);
    };
    set("c-human", c.human_labeled);
    set("c-machine", c.machine_labeled);
    set("c-failed", c.failed);
    set("c-unlabeled", c.unlabeled);
    set("c-total", c.total);
    const state = document.getElementById("job-state");
    if (state) state.textContent = job.state;
  } catch {
    /* try again at the next tick */
  }
}
