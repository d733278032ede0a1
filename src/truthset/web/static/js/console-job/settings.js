// @ts-check
/** The form for the settings that may change while the job runs. */
import { api } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { renderMarkdown } from "../markdown.js";
import { jobApi, errorText } from "./common.js";
import { canResume, isRunning } from "../words.js";

/**
 * What may change while the job runs (the API's PATCH /api/jobs/{name}): instructions,
 * task time limit and availability, max concurrent tasks, the stopping conditions. Only
 * changed fields are sent; the server checks the values and its message is shown as is.
 * @param {any} job @param {import("./common.js").Reload} reload
 */
export function settingsPanel(job, reload) {
  // A completed or failed job runs no more: nothing of it to edit.
  if (!isRunning(job) && !canResume(job)) return null;
  const settings = job.settings || {};
  const origins = (settings.instruction_image_origins || []).filter((/** @type {unknown} */ o) => typeof o === "string");
  const instr = h("textarea", { id: "e-instructions", rows: "10" });
  instr.value = job.instructions || "";
  const preview = h("div", { class: "markdown card", id: "e-preview" });
  const showPreview = () => replace(preview, renderMarkdown(instr.value, { allowedImageOrigins: origins }));
  instr.addEventListener("input", showPreview);
  showPreview();
  /** @param {string} id @param {number | null | undefined} value @param {Record<string, string>} [extra] */
  const numberInput = (id, value, extra = {}) =>
    h("input", { id, type: "number", value: value === null || value === undefined ? "" : String(value), ...extra });
  const timeLimit = numberInput("e-time", job.task_time_limit, { min: "1", max: "28800", step: "1" });
  const availability = numberInput("e-availability", job.task_availability === undefined ? null : Math.round((job.task_availability / 3600) * 100) / 100, { min: "0", step: "any" });
  const maxConcurrent = numberInput("e-max-concurrent", job.max_concurrent_tasks, { min: "1", step: "1" });
  const maxHuman = numberInput("e-max-human", job.max_human_labeled, { min: "1", step: "1", placeholder: "no limit" });
  const maxPercent = numberInput("e-max-percent", job.max_percentage_labeled, { min: "1", max: "100", step: "any", placeholder: "no limit" });
  const error = h("p", { class: "error", id: "e-error", role: "alert" });
  const save = h("button", { type: "submit", class: "primary", id: "e-save" }, "Save changes");
  /** @param {string} label @param {HTMLElement} control @param {string} [hint] */
  const field = (label, control, hint) => [
    h("label", { for: control.id }, label, hint ? h("span", { class: "hint" }, hint) : null), control,
  ];
  // The browser's own range checks are off (novalidate): the server's rules and messages
  // are the ones that count, and they are shown below the form.
  const form = h("form", { id: "job-edit-form", novalidate: true },
    h("div", { class: "form-grid" },
      ...field("Instructions", instr, "Markdown; workers see the new text on their next task"),
      h("span", { class: "hint" }, "Preview"), preview,
      ...field("Time per task (s)", timeLimit),
      ...field("Task availability (h)", availability, "how long a task stays open to workers"),
      ...field("Max concurrent tasks", maxConcurrent, "tasks started and not yet finished"),
      ...field("Stop after N human labels", maxHuman, "empty: no limit"),
      ...field("Stop after % of items labeled", maxPercent, "empty: no limit")),
    h("p", { class: "row" }, save), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    /** @type {Record<string, unknown>} */
    const changes = {};
    if (instr.value !== (job.instructions || "")) changes.instructions = instr.value;
    // A number field is sent only when its text changed (an untouched field keeps the
    // stored value exactly, whatever rounding the display did).
    for (const [key, el, toValue] of /** @type {[string, HTMLInputElement, (v: number) => number][]} */ ([
      ["task_time_limit", timeLimit, (v) => v],
      ["task_availability", availability, (v) => Math.round(v * 3600)],
      ["max_concurrent_tasks", maxConcurrent, (v) => v],
      ["max_human_labeled", maxHuman, (v) => v],
      ["max_percentage_labeled", maxPercent, (v) => v],
    ])) {
      if (el.value === el.defaultValue) continue;
      changes[key] = el.value.trim() === "" ? null : toValue(Number(el.value));
    }
    if (!Object.keys(changes).length) {
      toast("Nothing changed.", "info");
      return;
    }
    save.disabled = true;
    try {
      await api(jobApi, { method: "PATCH", body: changes });
      await reload();  // the page shows the new values by the time the toast says so
      toast("Job updated.", "ok");
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      save.disabled = false;
    }
  });
  return h("section", { class: "block" },
    h("details", { id: "job-edit" }, h("summary", null, h("h2", { class: "inline" }, isRunning(job) ? "Edit the running job" : "Edit the job before resuming it")), form));
}
