// @ts-check
/** The job page's header: name, state and type, where its items come from, and the job's actions. */
import { api, enc } from "../api.js";
import { h, toast, formatDuration } from "../dom.js";
import { jobApi, errorText } from "./common.js";
import { canResume, isRunning, jobStateWords } from "../words.js";

/** @param {any} job @param {import("./common.js").Reload} reload */
export function headerPanel(job, reload) {
  const act = async (/** @type {string} */ what) => {
    try {
      if (what === "delete") {
        if (!confirm(`Delete job ${job.name} and its labels? This cannot be undone.`)) return;
        await api(jobApi, { method: "DELETE" });
        location.assign("/console");
        return;
      }
      await api(`${jobApi}/${what}`, { method: "POST" });
      toast(what === "stop" ? "Job stopped." : "Job resumed.", "ok");
      reload();
    } catch (err) {
      toast(errorText(err), "error", 0);
    }
  };
  const running = isRunning(job);
  return h("div", null,
    h("p", null, h("a", { href: "/console" }, "Console"), " / "),
    h("div", { class: "row" },
      h("h1", null, job.name),
      h("span", { class: `pill state-${job.state}`, id: "job-state", dataset: { state: job.state } }, jobStateWords(job.state)),
      h("span", { class: "pill" }, job.task_type)),
    h("p", { class: "muted" },
      job.input_job ? `Chained from ${job.input_job}` : job.dataset ? `Dataset ${job.dataset}` : "",
      ` · ${job.workers_per_item} worker(s) per item · ${formatDuration(job.task_time_limit)} per task · teams: ${(job.teams || []).join(", ") || "none"}`),
    job.failure_reason ? h("p", { class: "error" }, job.failure_reason) : null,
    h("div", { class: "row" },
      // The actions follow the state: a completed or failed job has nothing to stop or resume.
      running ? h("button", { id: "btn-stop", onclick: () => act("stop") }, "Stop") : null,
      canResume(job) ? h("button", { id: "btn-resume", onclick: () => act("resume") }, "Resume") : null,
      h("a", { class: "button", id: "btn-review", href: `/review/${enc(job.name)}`, title: "Review low-confidence and disputed items" }, "Review"),
      h("a", { class: "button", id: "btn-clone", href: `/console/new?clone=${enc(job.name)}` }, "Clone"),
      h("a", { class: "button", id: "btn-chain", href: `/console/new?input_job=${enc(job.name)}` }, "Chain a job from its output"),
      h("button", { class: "danger", id: "btn-delete", onclick: () => act("delete") }, "Delete")));
}
