// @ts-check
/** The job's consolidation report: which method made the labels, and why. */
import { api } from "../api.js";
import { h } from "../dom.js";
import { jobApi, num, pct, stat, errorText } from "./common.js";

/**
 * The newest job-level consolidation (GET /api/jobs/{name}/consolidation): the method
 * asked for and the one used; for `auto`, every candidate's held-out answer
 * log-likelihood (higher predicts unseen answers better), its standard error against the
 * best, whether its classes keep their meaning, its accuracy on gold; and how the
 * confidences were calibrated (with the expected calibration error on gold).
 * @param {any} job
 */
export async function consolidationPanel(job) {
  const box = h("section", { class: "block", id: "consolidation" }, h("h2", null, "Consolidation"));
  /** @type {any} */
  let got;
  try {
    got = await api(`${jobApi}/consolidation`);
  } catch (err) {
    box.appendChild(h("p", { class: "error", id: "consolidation-none" }, errorText(err)));
    return box;
  }
  const report = got && got.report;
  if (!report) {
    const method = (job.settings && job.settings.quality && job.settings.quality.method) || "auto";
    box.appendChild(h("p", { class: "muted", id: "consolidation-none" },
      `No job-level consolidation yet (the job's method: ${method}).`));
    return box;
  }
  const calibration = report.calibration || {};
  box.append(
    h("div", { class: "grid" },
      stat("method used", report.method, "c-method"),
      stat("asked for", report.requested, "c-requested"),
      stat("answers", report.answers ?? "–", "c-answers"),
      report.gold_accuracy !== undefined
        ? stat(`accuracy on ${report.gold_tasks} gold items`, pct(report.gold_accuracy), "c-gold") : null),
    h("p", { id: "c-why" }, `Why: ${report.why || "–"}`));
  const candidates = Object.entries(report.candidates || {});
  if (candidates.length) {
    candidates.sort((a, b) => (b[1].held_out_log_likelihood ?? -Infinity) - (a[1].held_out_log_likelihood ?? -Infinity));
    const criterion = report.criterion || {};
    const meaning = (/** @type {boolean | null | undefined} */ v) => (v === true ? "yes" : v === false ? "no: relabels a class" : "–");
    box.append(
      h("p", { class: "muted" },
        `Criterion: ${criterion.name || "held-out answer log-likelihood"}, ${criterion.answers_scored ?? "?"} answers scored `
        + `over ${criterion.folds_fitted ?? "?"} of ${criterion.folds ?? "?"} folds.`),
      h("table", { class: "data", id: "consolidation-candidates" },
        h("thead", null, h("tr", null, h("th", null, "Method"), h("th", null, "Held-out log-likelihood"),
          h("th", null, "± (vs best)"), h("th", null, "Keeps class meaning"), h("th", null, "Gold accuracy"))),
        h("tbody", null, candidates.map(([name, c]) => h("tr", { dataset: { method: name }, class: name === report.method ? "chosen" : "" },
          h("td", null, name === report.method ? `${name} (chosen)` : name),
          h("td", { class: "num" }, num(c.held_out_log_likelihood, 4)),
          h("td", { class: "num" }, num(c.std_error, 4)),
          h("td", null, meaning(c.keeps_class_meaning)),
          h("td", { class: "num" }, c.gold_accuracy === undefined ? "–" : pct(c.gold_accuracy)))))));
  }
  if (calibration.source) {
    const parts = [`temperature ${num(calibration.temperature, 3)} (from ${calibration.source})`];
    if (calibration.confidence_model && calibration.confidence_model !== report.method) {
      // A vote's confidences are its label's probability under an answer model.
      parts.push(`confidences from ${calibration.confidence_model}'s answer model`);
    }
    if (calibration.ece_raw !== undefined) {
      parts.push(`expected calibration error on ${calibration.gold_tasks} gold items: `
        + `${num(calibration.ece_raw, 3)} before, ${num(calibration.ece_calibrated, 3)} after`
        + (calibration.ece_method !== undefined ? ` (the vote shares themselves: ${num(calibration.ece_method, 3)})` : ""));
    }
    box.appendChild(h("p", { id: "c-calibration" }, `Confidences calibrated by ${parts.join("; ")}.`));
  }
  return box;
}
