// @ts-check
/** Exports: one button per format that fits the job, and each run's progress and download. */
import { api } from "../api.js";
import { h, toast } from "../dom.js";
import { jobApi, errorText } from "./common.js";

/** @param {any} job */
export async function exportsPanel(job) {
  // Only the formats that can express this job's task type.
  const formats = (await api("/api/export-formats"))
    .filter((/** @type {any} */ f) => !f.task_types || f.task_types.includes(job.task_type));
  const status = h("div", { id: "export-status" });
  const start = async (/** @type {string} */ format) => {
    try {
      let run = await api(`${jobApi}/exports`, { body: { format } });
      const bar = h("span", { style: { width: "0%" } });
      const line = h("div", { class: "export-run", dataset: { run: String(run.id) } },
        h("span", null, `${format}: `), h("span", { class: "state" }, run.state),
        h("div", { class: "progress" }, bar));
      status.prepend(line);
      while (run.state === "queued" || run.state === "running") {
        await new Promise((r) => setTimeout(r, 500));
        run = await api(`/api/runs/${run.id}`);
        const p = run.progress || {};
        bar.style.width = p.total ? `${Math.round((100 * p.done) / p.total)}%` : run.state === "running" ? "50%" : "5%";
        /** @type {HTMLElement} */ (line.querySelector(".state")).textContent = run.state;
      }
      bar.style.width = "100%";
      if (run.state === "succeeded") {
        line.appendChild(h("a", { class: "button", href: `/api/runs/${run.id}/download`, download: "" }, "Download"));
      } else line.appendChild(h("span", { class: "error" }, ` ${run.error || run.message || "failed"}`));
    } catch (err) {
      toast(errorText(err), "error", 0);
    }
  };
  return h("section", { class: "block" }, h("h2", null, "Export"),
    h("div", { class: "row", id: "export-buttons" }, formats.map((/** @type {any} */ f) =>
      h("button", { title: f.description, dataset: { format: f.name }, onclick: () => start(f.name) }, f.name))),
    status);
}
