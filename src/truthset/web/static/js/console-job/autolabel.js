// @ts-check
/** Automated labeling: its settings and one row per iteration of the model. */
import { h } from "../dom.js";
import { pct, num } from "./common.js";

/**
 * Automated labeling (GET /api/jobs/{name}/autolabel): the settings, the iteration queued
 * or running now, and one row per finished iteration of the model (oldest first). Nothing
 * is shown for a job without it.
 * @param {any} report
 */
export function autolabelPanel(report) {
  if (!report || !report.enabled) return null;
  const settings = report.settings || {};
  const iterations = report.iterations || [];
  const pending = report.pending;
  const when = (/** @type {number | null | undefined} */ t) => (t ? new Date(t * 1000).toLocaleString() : "–");
  const count = (/** @type {unknown} */ v) => (v === null || v === undefined ? "–" : String(v));
  const interval = (/** @type {any} */ r) =>
    Array.isArray(r.accuracy_interval) && r.accuracy_interval.length === 2
      ? `${pct(r.accuracy_interval[0])} – ${pct(r.accuracy_interval[1])}` : "–";
  const state = (/** @type {any} */ r) => !r.state || r.state === "succeeded" ? h("td", null, r.state || "–")
    : h("td", { class: "error" }, r.state, r.error ? ` (${r.error})` : "");
  return h("section", { class: "block", id: "autolabel" }, h("h2", null, "Automated labeling"),
    h("p", { class: "muted", id: "autolabel-settings" },
      settings.target_accuracy !== undefined && settings.target_accuracy !== null ? `Target accuracy ${pct(settings.target_accuracy)}` : "",
      settings.confidence_level ? ` at ${pct(settings.confidence_level)} confidence` : "",
      settings.strategy ? ` · strategy ${settings.strategy}` : "",
      settings.batch_size ? ` · batches of ${settings.batch_size}` : "",
      ` · ${iterations.length} iteration(s)`,
      pending ? ` · run ${pending.run_id} ${pending.state}` : ""),
    iterations.length ? h("table", { class: "data", id: "autolabel-iterations" },
      h("thead", null, h("tr", null, ["Run", "State", "Finished", "Items", "Human labels", "Validation", "Waiting for",
        "Auto-labeled", "Threshold", "Estimated accuracy", "Interval", "Cost saved", "Committed", "Strategy"]
        .map((t) => h("th", null, t)))),
      h("tbody", null, iterations.map((/** @type {any} */ r) => h("tr", { dataset: { run: String(r.run_id) } },
        h("td", { class: "num" }, count(r.run_id)),
        state(r),
        h("td", null, when(r.finished_at)),
        h("td", { class: "num" }, count(r.items)),
        h("td", { class: "num" }, count(r.human_labels)),
        h("td", { class: "num" }, count(r.validation_labeled)),
        h("td", { class: "num" }, count(r.waiting_for)),
        h("td", { class: "num" }, count(r.auto_labeled)),
        h("td", { class: "num" }, num(r.threshold, 3)),
        h("td", { class: "num" }, pct(r.estimated_accuracy)),
        h("td", { class: "num" }, interval(r)),
        h("td", { class: "num" }, num(r.cost_saved)),
        h("td", null, r.committed === null || r.committed === undefined ? "–" : r.committed ? "yes" : "no"),
        h("td", null, count(r.strategy))))))
      : h("p", { class: "muted" }, "No iteration has finished yet: the model waits for a first batch of human labels."));
}
