// @ts-check
/**
 * A job in the console: state and counters, throughput over time, time per task, workers,
 * teams, exports with progress, and the labels with filters (kept in the URL).
 */
import { api, me, isStaff, enc, ApiError } from "./api.js";
import { h, svg, byId, replace, topbar, toast, formatDuration } from "./dom.js";
import { shapesOf, drawShapes } from "./draw.js";

const jobName = decodeURIComponent(location.pathname.split("/")[3] || "");
const base = `/api/jobs/${enc(jobName)}`;

/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));

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

/** @param {any} job */
async function teamsBlock(job) {
  const sel = h("select", { id: "team-select", "aria-label": "team" });
  const box = h("section", { class: "block" }, h("h2", null, "Teams"),
    h("p", { id: "job-teams" }, (job.teams || []).join(", ") || "No team yet: no worker can see this job."),
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

async function exportsBlock() {
  const formats = await api("/api/export-formats");
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
    const [job, workers, points] = await Promise.all([
      api(base), api(`${base}/workers`), api(`${base}/throughput?bucket=300`),
    ]);
    document.title = `${job.name} · truthset`;
    const blocks = await Promise.all([teamsBlock(job), exportsBlock(), labelsBlock(job)]);
    replace(app, header(job), counters(job, workers),
      h("section", { class: "block" }, h("h2", null, "Throughput (answers per 5 minutes)"), chart(points, 300)),
      workerTable(workers), ...blocks);
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
