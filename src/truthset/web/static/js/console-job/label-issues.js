// @ts-check
/** Likely wrong labels, and the check that finds them. */
import { api, enc } from "../api.js";
import { h, replace } from "../dom.js";
import { jobApi, errorText, num } from "./common.js";

const CHECKABLE = ["image-classification", "text-classification"];

/**
 * Likely wrong labels (POST/GET /api/jobs/{name}/label-issues): a model cross-validated on
 * the human labels flags the ones it confidently contradicts; they go first to review.
 * Item ids and class names are shown as text.
 * @param {any} job
 */
export async function labelIssuesPanel(job) {
  if (!CHECKABLE.includes(job.task_type)) return null;
  const out = h("div", { id: "label-issues" });
  const show = (/** @type {any} */ found) => {
    const items = found.items || [];
    replace(out,
      h("p", { id: "label-issues-count" }, items.length
        ? `${found.flagged} label(s) look wrong and wait first in the review queue.`
        : "No label is flagged."),
      items.length ? h("table", { class: "data" },
        h("thead", null, h("tr", null, ["Item", "Label", "p", "Suggested", "p"].map((t) => h("th", null, t)))),
        h("tbody", null, items.slice(0, 20).map((/** @type {any} */ d) => h("tr", { dataset: { item: String(d.item) } },
          h("td", null, String(d.item)), h("td", null, String(d.label)), h("td", { class: "num" }, num(d.label_probability)),
          h("td", null, String(d.suggested)), h("td", { class: "num" }, num(d.suggested_probability)))))) : null,
      items.length ? h("a", { class: "button", href: `/review/${enc(job.name)}` }, "Review them") : null);
  };
  const check = async () => {
    button.disabled = true;
    try {
      let run = await api(`${jobApi}/label-issues`, { body: { folds: 5 } });
      replace(out, h("p", { class: "muted" }, "Checking the labels…"));
      while (run.state === "queued" || run.state === "running") {
        await new Promise((r) => setTimeout(r, 500));
        run = await api(`/api/runs/${run.id}`);
      }
      if (run.state !== "succeeded") throw new Error(run.error || "the check failed");
      show(await api(`${jobApi}/label-issues`));
    } catch (err) {
      replace(out, h("p", { class: "error" }, errorText(err)));
    } finally {
      button.disabled = false;
    }
  };
  const button = h("button", { id: "label-issues-check", onclick: check }, "Find likely wrong labels");
  try {
    show(await api(`${jobApi}/label-issues`));
  } catch (err) {
    replace(out, h("p", { class: "error" }, errorText(err)));
  }
  return h("section", { class: "block" }, h("h2", null, "Likely wrong labels"),
    h("p", { class: "muted" }, "A model trained on the other labels (5-fold) flags the human labels it confidently contradicts."),
    button, out);
}
