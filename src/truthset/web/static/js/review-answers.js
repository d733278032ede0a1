// @ts-check
/**
 * The review page's answers panel: why the item is queued, where the workers disagree
 * (review-overlay.js), the consolidated label and every worker's answer, each with a
 * "Start from this" button that loads it into the tool.
 */
import { h, replace, formatDuration } from "./dom.js";
import { picture } from "./answers.js";
import { disagreementOverlay, workerColor } from "./review-overlay.js";
import { shapesOf } from "./draw.js";

/** @typedef {import("./review.js").ReviewItem} ReviewItem */
/** @typedef {import("./review.js").ReviewContext} ReviewContext */
/** @typedef {import("./review.js").StartFrom} StartFrom */

/** @param {number | null | undefined} c */
export const formatConfidence = (c) => (typeof c === "number" ? c.toFixed(2) : "–");

/** @type {Record<string, string>} */
export const REASON_PILLS = { disputed: "disputed", low_confidence: "low confidence", suspected_error: "suspected error" };

/** Why the item is in the queue, in words (text only: names come from the job). @param {ReviewItem["review"]} review */
function whyText(review) {
  if (review.reason === "disputed") return "the workers disagree";
  if (review.reason === "suspected_error" && review.issue) {
    const { label, suggested, label_probability: pl, suggested_probability: ps } = review.issue;
    return `a model trained on the other labels thinks "${label}" is wrong (p = ${pl.toFixed(2)}) and suggests "${suggested}" (p = ${ps.toFixed(2)})`;
  }
  return "low confidence";
}

/**
 * Fill the panel: the consolidated label first, then every worker's answer.
 * @param {HTMLElement} panel @param {ReviewItem} item @param {ReviewContext} context @param {any} job
 * @param {StartFrom} active where the tool's label started
 * @param {(from: StartFrom) => void} startFrom
 */
export function renderAnswers(panel, item, context, job, active, startFrom) {
  /** @param {StartFrom} from @param {string} what */
  const startButton = (from, what) => {
    const on = active === from;
    return h("button", { type: "button", class: `start-from${on ? " active" : ""}`, dataset: { from }, "aria-pressed": on ? "true" : "false",
      title: `Load ${what} into the tool to edit it`, onclick: () => startFrom(from) }, on ? "Editing this" : "Start from this");
  };
  const label = item.label;
  // Boxes that did not agree leave a consolidated label with no object: say where to start.
  const emptyConsolidation = !!label && !shapesOf(label.value, label.meta, job.labels).length
    && item.answers.some((a) => shapesOf(a.answer, null, job.labels).length > 0);
  replace(panel,
    h("p", { id: "review-why" }, `Why: ${whyText(item.review)} · confidence ${formatConfidence(item.review.confidence)}`),
    disagreementOverlay(item.answers.filter((a) => !a.excluded), job, context.media_url),
    h("div", { class: "card", id: "consolidated" },
      h("h3", null, "Consolidated label"),
      label ? h("p", { class: "muted" }, `${label.method} · confidence ${formatConfidence(label.confidence)}`) : null,
      label ? picture(label.value, label.meta, job, context.media_url, item.data) : h("p", { class: "muted" }, "No label yet."),
      emptyConsolidation ? h("p", { class: "hint", id: "empty-consolidation" }, "The workers' objects did not agree, so the consolidated label has none: start from a worker's answer below to edit it.") : null,
      h("p", { class: "row" }, label ? startButton("consolidated", "the consolidated label") : null, " ", startButton("empty", "nothing"))),
    h("h3", null, `Answers (${item.answers.length})`),
    item.answers.map((a, i) => h("div", { class: "card answer", dataset: { worker: a.worker } },
      h("p", { class: "answer-worker" }, h("span", { class: "swatch", style: { background: workerColor(i) } }), " ", h("b", null, a.worker),
        h("span", { class: "muted" }, ` · ${formatDuration(a.time_spent)}${a.excluded ? " · excluded" : ""}`)),
      picture(a.answer, null, job, context.media_url, item.data),
      h("p", { class: "row" }, startButton(`worker:${a.worker}`, `${a.worker}'s answer`)))));
}
