// @ts-check
/** The workers who answered: answers, time, agreement, skill, gold accuracy, blocked or not. */
import { h, formatDuration } from "../dom.js";
import { num, pct } from "./common.js";

/**
 * The agreement column says the same as the Agreement section below it: for boxes, masks,
 * spans and transcripts the section's per-worker figure (mean agreement with the other
 * workers, GET .../agreement), written the same way; for classification, where the section
 * has no per-worker figure, the share of the worker's answers that equal the consolidated
 * label (GET .../workers), under a header that says so.
 * @param {any[]} workers @param {any} [agreement] the agreement report, if the job has one
 */
export function workersPanel(workers, agreement) {
  const perWorker = agreement && agreement.per_worker && typeof agreement.per_worker === "object" ? agreement.per_worker : null;
  const header = perWorker ? "Agreement with the others" : "Agrees with the label";
  const title = perWorker ? "mean agreement with the other workers' answers, as in the Agreement section"
    : "share of the worker's answers equal to the consolidated label";
  /** @param {any} w */
  const agreementOf = (w) => perWorker ? (w.worker in perWorker ? pct(perWorker[w.worker]) : "no shared item yet") : pct(w.agreement);
  return h("section", { class: "block" }, h("h2", null, "Workers"),
    workers.length ? h("table", { class: "data", id: "workers" },
      h("thead", null, h("tr", null, ["Worker", "Answers", "Time", "Mean time", header, "Skill", "Gold accuracy", ""].map((t) =>
        h("th", t === header ? { title, id: "workers-agreement" } : null, t)))),
      h("tbody", null, workers.map((w) => h("tr", { dataset: { worker: w.worker } },
        h("td", null, w.worker),
        h("td", { class: "num" }, String(w.answers)),
        h("td", { class: "num" }, formatDuration(w.time_spent)),
        h("td", { class: "num" }, w.mean_time === null ? "–" : `${num(w.mean_time, 1)} s`),
        h("td", { class: "num agreement" }, agreementOf(w)),
        h("td", { class: "num" }, num(w.skill)),
        h("td", { class: "num" }, w.gold_accuracy === null ? "–" : `${Math.round(w.gold_accuracy * 100)}% of ${w.gold_answers}`),
        h("td", null, w.blocked ? h("span", { class: "pill state-failed" }, "blocked") : "")))))
      : h("p", { class: "muted" }, "No answers yet."));
}
