// @ts-check
/** Agreement between workers. */
import { h } from "../dom.js";
import { pct, num, stat } from "./common.js";

/**
 * Agreement between workers (GET /api/jobs/{name}/agreement): chance-corrected measures,
 * per label and per pair of workers for classification; for boxes, masks, spans and
 * transcripts the task type's own mean pairwise agreement, overall and per worker.
 * @param {any} report the report, or null when the job's task type has no measure
 * @param {string} [problem] why there is no report
 */
export function agreementPanel(report, problem) {
  const box = h("section", { class: "block", id: "agreement" }, h("h2", null, "Agreement"));
  if (!report) {
    box.appendChild(h("p", { class: "muted", id: "agreement-none" }, problem || "No agreement measure for this job."));
    return box;
  }
  if (!report.answers) {
    box.appendChild(h("p", { class: "muted", id: "agreement-none" }, "No answers yet."));
    return box;
  }
  if (report.note) {  // e.g. one answer per item: nothing to compare yet
    box.appendChild(h("p", { class: "muted", id: "agreement-none" }, report.note));
    return box;
  }
  /** @param {[string, unknown][]} rows @param {(v: number | null) => string} show */
  const labelTable = (rows, show) => h("table", { class: "data", id: "agreement-labels" },
    h("thead", null, h("tr", null, h("th", null, "Label"), h("th", null, "Agreement"))),
    h("tbody", null, rows.map(([label, v]) => h("tr", { dataset: { label } },
      h("td", null, label), h("td", { class: "num" }, show(/** @type {number | null} */ (v)))))));
  if ("mean_pairwise_agreement" in report) {
    const perWorker = Object.entries(report.per_worker || {});
    // Objects, masks and spans are compared label by label too; transcripts are not.
    const perLabel = Object.entries(report.per_label || {});
    box.append(
      h("div", { class: "grid" },
        stat(report.measure || "mean pairwise agreement", pct(report.mean_pairwise_agreement), "a-mean"),
        stat("pairs of answers", report.pairs ?? 0, "a-pairs"),
        stat("answers", report.answers, "a-answers")),
      h("div", { class: "answers-grid" },
        h("div", null, h("h3", null, "Per worker (mean agreement with the others)"),
          perWorker.length ? h("table", { class: "data", id: "agreement-workers" },
            h("thead", null, h("tr", null, h("th", null, "Worker"), h("th", null, "Agreement"))),
            h("tbody", null, perWorker.map(([w, v]) => h("tr", { dataset: { worker: w } },
              h("td", null, w), h("td", { class: "num" }, pct(/** @type {number} */ (v)))))))
            : h("p", { class: "muted" }, "No item has two answers yet.")),
        perLabel.length ? h("div", null, h("h3", null, "Per label"), labelTable(perLabel, pct)) : null));
    return box;
  }
  const perLabel = Object.entries(report.per_label || {});
  const pairs = report.pairwise_cohen_kappa || [];
  box.append(
    h("div", { class: "grid" },
      stat("Krippendorff's alpha", num(report.krippendorff_alpha, 3), "a-alpha"),
      stat("Fleiss' kappa", num(report.fleiss_kappa, 3), "a-fleiss"),
      stat("answers", report.answers, "a-answers")),
    h("div", { class: "answers-grid" },
      h("div", null, h("h3", null, "Per label"), labelTable(perLabel, (v) => num(v, 3))),
      h("div", null, h("h3", null, "Cohen's kappa per pair of workers"),
        pairs.length ? h("table", { class: "data", id: "agreement-pairs" },
          h("thead", null, h("tr", null, h("th", null, "Workers"), h("th", null, "Kappa"))),
          h("tbody", null, pairs.map((/** @type {any} */ p) => h("tr", null,
            h("td", null, (p.workers || []).join(" · ")), h("td", { class: "num" }, num(p.kappa, 3))))))
          : h("p", { class: "muted" }, "No two workers share five items yet."))));
  return box;
}
