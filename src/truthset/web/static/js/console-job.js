// @ts-check
/**
 * A job in the console: state and counters, the settings that may change while it runs,
 * throughput over time, time per task, workers, agreement, automated labeling, teams,
 * exports with progress, and the labels with filters (kept in the URL).
 */
import { api, me, isStaff, enc, ApiError } from "./api.js";
import { h, svg, byId, replace, topbar, toast, formatDuration } from "./dom.js";
import { shapesOf, drawShapes } from "./draw.js";
import { renderMarkdown } from "./markdown.js";

const jobName = decodeURIComponent(location.pathname.split("/")[3] || "");
const base = `/api/jobs/${enc(jobName)}`;

/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));

/** @param {number | null | undefined} v */
const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 1000) / 10}%`);

/** @param {number | null | undefined} v @param {number} [digits] */
const num = (v, digits = 2) => (v === null || v === undefined ? "–" : String(Math.round(v * 10 ** digits) / 10 ** digits));

/** @param {string} label @param {number | string} value @param {string} id */
const stat = (label, value, id) => h("div", { class: "stat", id }, h("b", null, String(value)), h("span", { class: "muted" }, label));

/** @param {any} job */
function header(job) {
  const act = async (/** @type {string} */ what) => {
    try {
      if (what === "delete") {
        if (!confirm(`Delete job ${job.name} and its labels? This cannot be undone.`)) return;
        await api(base, { method: "DELETE" });
        location.assign("/console");
        return;
      }
      await api(`${base}/${what}`, { method: "POST" });
      toast(what === "stop" ? "Job stopped." : "Job resumed.", "ok");
      render();
    } catch (err) {
      toast(message(err), "error", 0);
    }
  };
  const running = job.state === "in_progress" || job.state === "initializing";
  return h("div", null,
    h("p", null, h("a", { href: "/console" }, "Console"), " / "),
    h("div", { class: "row" },
      h("h1", null, job.name),
      h("span", { class: `pill state-${job.state}`, id: "job-state" }, job.state),
      h("span", { class: "pill" }, job.task_type)),
    h("p", { class: "muted" },
      job.input_job ? `Chained from ${job.input_job}` : job.dataset ? `Dataset ${job.dataset}` : "",
      ` · ${job.workers_per_item} worker(s) per item · ${formatDuration(job.task_time_limit)} per task · teams: ${(job.teams || []).join(", ") || "none"}`),
    job.failure_reason ? h("p", { class: "error" }, job.failure_reason) : null,
    h("div", { class: "row" },
      running ? h("button", { id: "btn-stop", onclick: () => act("stop") }, "Stop")
        : h("button", { id: "btn-resume", onclick: () => act("resume") }, "Resume"),
      h("a", { class: "button", id: "btn-review", href: `/review/${enc(job.name)}`, title: "Review low-confidence and disputed items" }, "Review"),
      h("a", { class: "button", id: "btn-clone", href: `/console/new?clone=${enc(job.name)}` }, "Clone"),
      h("a", { class: "button", id: "btn-chain", href: `/console/new?input_job=${enc(job.name)}` }, "Chain a job from its output"),
      h("button", { class: "danger", id: "btn-delete", onclick: () => act("delete") }, "Delete")));
}

/** @param {any} job @param {any[]} workers */
function counters(job, workers) {
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

/**
 * What may change while the job runs (the API's PATCH /api/jobs/{name}): instructions,
 * task time limit and availability, max concurrent tasks, the stopping conditions. Only
 * changed fields are sent; the server checks the values and its message is shown as is.
 * @param {any} job
 */
function editBlock(job) {
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
      await api(base, { method: "PATCH", body: changes });
      await render();  // the page shows the new values by the time the toast says so
      toast("Job updated.", "ok");
    } catch (err) {
      error.textContent = message(err);
    } finally {
      save.disabled = false;
    }
  });
  return h("section", { class: "block" },
    h("details", { id: "job-edit" }, h("summary", null, h("h2", { class: "inline" }, "Edit the running job")), form));
}

/** @param {{t: number, answers: number, mean_time: number}[]} points @param {number} bucket */
function chart(points, bucket) {
  const W = 800, H = 180, pad = 28;
  const el = /** @type {SVGSVGElement} */ (svg("svg", { class: "chart", id: "throughput", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" }));
  const title = svg("title");
  title.textContent = "Answers over time";
  el.appendChild(title);
  if (!points.length) {
    const t = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" });
    t.textContent = "No answers yet";
    el.appendChild(t);
    return el;
  }
  const t0 = points[0].t;
  const t1 = points[points.length - 1].t + bucket;
  const max = Math.max(...points.map((p) => p.answers));
  const bw = Math.min(36, Math.max(2, ((W - 2 * pad) * bucket) / Math.max(bucket, t1 - t0) - 1));
  for (const p of points) {
    const x = pad + ((W - 2 * pad) * (p.t - t0)) / Math.max(bucket, t1 - t0);
    const bh = ((H - 2 * pad) * p.answers) / max;
    const r = svg("rect", { class: "bar", x, y: H - pad - bh, width: bw, height: bh });
    const tip = svg("title");
    tip.textContent = `${new Date(p.t * 1000).toLocaleString()}: ${p.answers} answers, ${p.mean_time}s each`;
    r.appendChild(tip);
    el.appendChild(r);
  }
  const lab = (/** @type {string} */ s, /** @type {number} */ x, /** @type {number} */ y, /** @type {string} */ anchor) => {
    const t = svg("text", { x, y, "text-anchor": anchor });
    t.textContent = s;
    el.appendChild(t);
  };
  lab(`${max} answers`, pad, pad - 8, "start");
  lab(new Date(t0 * 1000).toLocaleTimeString(), pad, H - 8, "start");
  lab(new Date(t1 * 1000).toLocaleTimeString(), W - pad, H - 8, "end");
  return el;
}

/** @param {any[]} workers */
function workerTable(workers) {
  return h("section", { class: "block" }, h("h2", null, "Workers"),
    workers.length ? h("table", { class: "data", id: "workers" },
      h("thead", null, h("tr", null, ["Worker", "Answers", "Time", "Mean time", "Agreement", "Skill", "Gold accuracy", ""].map((t) => h("th", null, t)))),
      h("tbody", null, workers.map((w) => h("tr", { dataset: { worker: w.worker } },
        h("td", null, w.worker),
        h("td", { class: "num" }, String(w.answers)),
        h("td", { class: "num" }, formatDuration(w.time_spent)),
        h("td", { class: "num" }, w.mean_time === null ? "–" : `${num(w.mean_time, 1)} s`),
        h("td", { class: "num" }, w.agreement === null || w.agreement === undefined ? "–" : `${Math.round(w.agreement * 100)}%`),
        h("td", { class: "num" }, num(w.skill)),
        h("td", { class: "num" }, w.gold_accuracy === null ? "–" : `${Math.round(w.gold_accuracy * 100)}% of ${w.gold_answers}`),
        h("td", null, w.blocked ? h("span", { class: "pill state-failed" }, "blocked") : "")))))
      : h("p", { class: "muted" }, "No answers yet."));
}

/**
 * Agreement between workers (GET /api/jobs/{name}/agreement): chance-corrected measures,
 * per label and per pair of workers for classification; for boxes, masks, spans and
 * transcripts the task type's own mean pairwise agreement, overall and per worker.
 * @param {any} report the report, or null when the job's task type has no measure
 * @param {string} [problem] why there is no report
 */
function agreementBlock(report, problem) {
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

/**
 * Automated labeling (GET /api/jobs/{name}/autolabel): the settings, the iteration queued
 * or running now, and one row per finished iteration of the model (oldest first). Nothing
 * is shown for a job without it.
 * @param {any} report
 */
function autolabelBlock(report) {
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

const CHECKABLE = ["image-classification", "text-classification"];

/**
 * Likely wrong labels (POST/GET /api/jobs/{name}/label-issues): a model cross-validated on
 * the human labels flags the ones it confidently contradicts; they go first to review.
 * Item ids and class names are shown as text.
 * @param {any} job
 */
async function labelIssuesBlock(job) {
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
      let run = await api(`${base}/label-issues`, { body: { folds: 5 } });
      replace(out, h("p", { class: "muted" }, "Checking the labels…"));
      while (run.state === "queued" || run.state === "running") {
        await new Promise((r) => setTimeout(r, 500));
        run = await api(`/api/runs/${run.id}`);
      }
      if (run.state !== "succeeded") throw new Error(run.error || "the check failed");
      show(await api(`${base}/label-issues`));
    } catch (err) {
      replace(out, h("p", { class: "error" }, message(err)));
    } finally {
      button.disabled = false;
    }
  };
  const button = h("button", { id: "label-issues-check", onclick: check }, "Find likely wrong labels");
  try {
    show(await api(`${base}/label-issues`));
  } catch (err) {
    replace(out, h("p", { class: "error" }, message(err)));
  }
  return h("section", { class: "block" }, h("h2", null, "Likely wrong labels"),
    h("p", { class: "muted" }, "A model trained on the other labels (5-fold) flags the human labels it confidently contradicts."),
    button, out);
}

/** @param {any} job */
async function teamsBlock(job) {
  const sel = h("select", { id: "team-select", "aria-label": "team" });
  const remove = async (/** @type {string} */ team) => {
    if (!confirm(`Remove team ${team} from ${job.name}? Its members will no longer get its tasks.`)) return;
    try {
      await api(`${base}/teams/${enc(team)}`, { method: "DELETE" });
      toast(`Team ${team} removed.`, "ok");
      render();
    } catch (err) {
      toast(message(err), "error", 0);
    }
  };
  const current = job.teams || [];
  const box = h("section", { class: "block" }, h("h2", null, "Teams"),
    current.length
      ? h("ul", { id: "job-teams", class: "team-list" }, current.map((/** @type {string} */ t) => h("li", { class: "row", dataset: { team: t } },
        h("span", null, t),
        h("button", { class: "link", "aria-label": `remove team ${t}`, dataset: { removeTeam: t }, onclick: () => remove(t) }, "remove"))))
      : h("p", { id: "job-teams" }, "No team yet: no worker can see this job."),
    h("div", { class: "row" }, sel, h("button", {
      id: "btn-add-team",
      onclick: async () => {
        try {
          await api(`${base}/teams`, { body: { team: sel.value } });
          toast(`Team ${sel.value} added.`, "ok");
          render();
        } catch (err) {
          toast(message(err), "error", 0);
        }
      },
    }, "Add team")));
  try {
    const teams = await api("/api/teams");
    replace(sel, teams.filter((/** @type {any} */ t) => !(job.teams || []).includes(t.name))
      .map((/** @type {any} */ t) => h("option", { value: t.name }, `${t.name} (${t.members.length} members)`)));
  } catch {
    /* a requester may not list teams */
  }
  return box;
}

/** @param {any} job */
async function exportsBlock(job) {
  // Only the formats that can express this job's task type.
  const formats = (await api("/api/export-formats"))
    .filter((/** @type {any} */ f) => !f.task_types || f.task_types.includes(job.task_type));
  const status = h("div", { id: "export-status" });
  const start = async (/** @type {string} */ format) => {
    try {
      let run = await api(`${base}/exports`, { body: { format } });
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
      toast(message(err), "error", 0);
    }
  };
  return h("section", { class: "block" }, h("h2", null, "Export"),
    h("div", { class: "row", id: "export-buttons" }, formats.map((/** @type {any} */ f) =>
      h("button", { title: f.description, dataset: { format: f.name }, onclick: () => start(f.name) }, f.name))),
    status);
}

/** A small picture of an image item with its label drawn on it. @param {any} r @param {any} job */
function thumbnail(r, job) {
  const img = h("img", { src: r.media_url, alt: r.item, loading: "lazy" });
  const layer = svg("svg", {});
  img.addEventListener("load", () => {
    layer.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
    drawShapes(layer, shapesOf(r.value, r.meta, job.labels), job.labels, img.naturalWidth / 120);
  });
  return h("div", { class: "thumb-stage thumb" }, img, layer);
}

/** @param {any} job */
async function labelsBlock(job) {
  const q = new URLSearchParams(location.search);
  const params = new URLSearchParams();
  for (const k of ["label", "human", "max_confidence", "status", "offset"]) {
    const v = q.get(k);
    if (v) params.set(k, v);
  }
  const disagree = q.get("disagreement") === "1";
  if (disagree) params.set("disagreement", "true");
  params.set("limit", "50");
  const page = await api(`/api/ui/jobs/${enc(jobName)}/labels?${params}`);
  const rows = page.rows;
  const shown = rows;
  const labelSel = h("select", { name: "label" }, h("option", { value: "" }, "any label"),
    job.labels.map((/** @type {string} */ l) => h("option", { value: l, selected: q.get("label") === l }, l)));
  const humanSel = h("select", { name: "human" },
    [["", "human or machine"], ["true", "human"], ["false", "machine"]].map(([v, t]) => h("option", { value: v, selected: (q.get("human") || "") === v }, t)));
  const statusSel = h("select", { name: "status" },
    [["", "any status"], ["complete", "labeled by people"], ["auto", "labeled by the model"], ["open", "open"], ["failed", "failed"]]
      .map(([v, t]) => h("option", { value: v, selected: (q.get("status") || "") === v }, t)));
  const conf = h("input", { name: "max_confidence", type: "number", min: "0", max: "1", step: "0.05", placeholder: "max confidence", value: q.get("max_confidence") || "" });
  const dis = h("input", { name: "disagreement", type: "checkbox", value: "1", checked: disagree });
  const form = h("form", { class: "row", id: "label-filters", method: "get" },
    labelSel, humanSel, statusSel, conf, h("label", null, dis, " workers disagree"),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) if (v) next.set(k, String(v));
    history.replaceState(null, "", `?${next}`);
    render();
  });
  const summary = (/** @type {any} */ r) => {
    if (!r.meta) return "–";
    if (r.meta["class-name"]) return r.meta["class-name"];
    if (r.meta["class-map"]) return Object.values(r.meta["class-map"]).join(", ") || "(nothing)";
    if (r.value && r.value.annotations) return `${r.value.annotations.length ?? Object.keys(r.value.annotations).length} objects`;
    return typeof r.value === "string" ? r.value.slice(0, 60) : "label";
  };
  const preview = (/** @type {any} */ r) => {
    const d = r.data || {};
    if (typeof d.source === "string") return d.source.slice(0, 80);
    if (r.media_url && job.media === "image") return thumbnail(r, job);
    return String(d["source-ref"] || "").split("/").pop();
  };
  const offset = Number(q.get("offset") || 0);
  const pageUrl = (/** @type {number} */ o) => {
    const p = new URLSearchParams(location.search);
    p.set("offset", String(Math.max(0, o)));
    return `?${p}`;
  };
  return h("section", { class: "block" }, h("h2", null, "Items and labels"), form,
    h("table", { class: "data", id: "labels" },
      h("thead", null, h("tr", null, ["Item", "Data", "Status", "Label", "Confidence", "By", "Answers"].map((t) => h("th", null, t)))),
      h("tbody", null, shown.map((/** @type {any} */ r) => h("tr", { dataset: { item: r.item } },
        h("td", null, h("a", { href: `/console/jobs/${enc(job.name)}/items/${enc(r.item)}` }, r.item)),
        h("td", null, preview(r)),
        h("td", null, r.status),
        h("td", null, summary(r)),
        h("td", { class: "num" }, r.confidence === null ? "–" : num(r.confidence)),
        h("td", null, r.human === null ? "–" : r.human ? "people" : "model"),
        h("td", { class: "num" }, String(r.answers)))))),
    h("p", { class: "row" },
      offset > 0 ? h("a", { href: pageUrl(offset - 50) }, "← previous") : null,
      page.more ? h("a", { href: pageUrl(offset + 50) }, "next →") : null));
}

async function render() {
  const app = byId("app");
  try {
    const [job, workers, points, agreement, autolabel] = await Promise.all([
      api(base), api(`${base}/workers`), api(`${base}/throughput?bucket=300`),
      // A task type without an agreement measure answers 400: say so in its section.
      api(`${base}/agreement`).then((r) => ({ report: r, problem: "" }),
        (err) => ({ report: null, problem: message(err) })),
      // Servers without automated labeling answer 404 here: show nothing then.
      api(`${base}/autolabel`).catch(() => null),
    ]);
    document.title = `${job.name} · truthset`;
    const [issues, ...blocks] = await Promise.all([labelIssuesBlock(job), teamsBlock(job), exportsBlock(job), labelsBlock(job)]);
    replace(app, header(job), counters(job, workers), editBlock(job),
      h("section", { class: "block" }, h("h2", null, "Throughput (answers per 5 minutes)"), chart(points, 300)),
      workerTable(workers), agreementBlock(agreement.report, agreement.problem), autolabelBlock(autolabel),
      issues, ...blocks);
  } catch (err) {
    replace(app, h("p", { class: "error" }, err instanceof ApiError && err.status === 404 ? `No job named ${jobName}.` : message(err)));
  }
}

/** Counters and state change while workers work: refresh them in place. */
async function refreshCounters() {
  try {
    const job = await api(base);
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

async function main() {
  window.setInterval(refreshCounters, 10000);
  const user = await me();
  topbar(user);
  if (!isStaff(user)) {
    replace(byId("app"), h("p", { class: "error" }, "The console is for requesters and admins."));
    return;
  }
  await render();
}

main().catch((err) => toast(message(err), "error", 0));
