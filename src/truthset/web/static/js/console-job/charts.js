// @ts-check
/**
 * The job's charts (GET /api/jobs/{name}/charts): progress with an estimated finish, the
 * label distribution and each worker's agreement over time, drawn as SVG here; the
 * confusion matrix is confusion.js. The section is drawn empty at once and filled when
 * its data comes, so the rest of the page never waits for it.
 */
import { api } from "../api.js";
import { h, svg, formatDuration } from "../dom.js";
import { workerColor } from "../review-overlay.js";
import { jobApi, errorText, pct } from "./common.js";
import { confusionChart } from "./confusion.js";

export function chartsPanel() {
  const body = h("div", { id: "charts-body" }, h("p", { class: "muted" }, "Loading the charts…"));
  const section = h("section", { class: "block", id: "job-charts" }, h("h2", null, "Charts"), body);
  api(`${jobApi}/charts`).then(
    (data) => body.replaceChildren(progressBlock(data.progress), labelsBlock(data.labels), skillBlock(data.skill), confusionChart(data.confusion)),
    (err) => body.replaceChildren(h("p", { class: "error" }, errorText(err))));
  return section;
}

/** @param {any} p the progress figures */
function progressBlock(p) {
  const share = p.total ? p.done / p.total : 0;
  let pace;
  if (p.eta_seconds === 0) pace = "Done: every item is labeled.";
  else if (p.eta_seconds === null) pace = `No estimate: ${p.note}.`;
  else {
    const at = new Date(p.finish_at * 1000);
    pace = `At ${p.items_per_hour} items an hour (the last ${p.basis} answers), done in about ${formatDuration(p.eta_seconds)}, around ${at.toLocaleString()}.`;
  }
  return h("div", { id: "chart-progress" },
    h("h3", null, "Progress"),
    h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(p.total), "aria-valuenow": String(p.done) },
      h("span", { style: { width: `${Math.round(share * 1000) / 10}%` } })),
    h("p", null, `${p.done} of ${p.total} items done (${pct(share)}), ${p.remaining} left. `, h("span", { id: "chart-eta" }, pace)));
}

/** One text element. @param {Element} el @param {string} s @param {Record<string, string | number>} attrs */
function label(el, s, attrs) {
  const t = svg("text", attrs);
  t.textContent = s;
  el.appendChild(t);
  return t;
}

/** Horizontal bars, one per class, longest = the most used. @param {any} d */
function labelsBlock(d) {
  const rows = d.counts;
  const W = 800, row = 22, left = 160, right = 70;
  const H = Math.max(1, rows.length) * row + 8;
  const el = svg("svg", { class: "chart", id: "label-distribution", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "xMinYMin meet", role: "img", style: `height: ${H}px` });
  const max = Math.max(1, ...rows.map((/** @type {any} */ r) => r.count));
  const total = rows.reduce((/** @type {number} */ a, /** @type {any} */ r) => a + r.count, 0);
  rows.forEach((/** @type {any} */ r, /** @type {number} */ i) => {
    const y = 4 + i * row;
    label(el, r.label, { x: left - 8, y: y + 15, "text-anchor": "end" });
    const bar = svg("rect", { class: "bar", x: left, y: y + 3, height: row - 6, width: ((W - left - right) * r.count) / max, "data-label": r.label, "data-count": r.count });
    const tip = svg("title");
    tip.textContent = `${r.label}: ${r.count}`;
    bar.appendChild(tip);
    el.appendChild(bar);
    label(el, `${r.count} (${pct(total ? r.count / total : 0)})`, { x: left + 6 + ((W - left - right) * r.count) / max, y: y + 15 });
  });
  const of = d.labels_read < d.window ? `all ${d.labels_read} labels` : `the labels of the last ${d.window} items`;
  return h("div", null, h("h3", null, "Label distribution"), h("p", { class: "muted" }, `Counted over ${of}.`), el);
}

/** One line per worker: the share of answers equal to the reference, per time span. @param {any} d */
function skillBlock(d) {
  const head = h("h3", null, "Worker agreement over time");
  if (d.problem) return h("div", null, head, h("p", { class: "muted", id: "skill-none" }, `Not drawn: ${d.problem}.`));
  if (!d.workers.length) return h("div", null, head, h("p", { class: "muted", id: "skill-none" }, "No answers with a reference yet."));
  const W = 800, H = 200, pad = 34;
  const el = svg("svg", { class: "chart", id: "skill-chart", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "xMinYMin meet", role: "img", style: `height: ${H}px` });
  const span = d.end > d.start ? d.end - d.start : 1;
  const x = (/** @type {number} */ t) => pad + ((W - 2 * pad) * (t - d.start)) / span;
  const y = (/** @type {number} */ v) => H - pad - (H - 2 * pad) * v;
  for (const v of [0, 0.5, 1]) {
    el.appendChild(svg("line", { x1: pad, x2: W - pad, y1: y(v), y2: y(v), stroke: "#dde2e8" }));
    label(el, pct(v), { x: pad - 4, y: y(v) + 4, "text-anchor": "end" });
  }
  label(el, new Date(d.start * 1000).toLocaleTimeString(), { x: pad, y: H - 10 });
  label(el, new Date(d.end * 1000).toLocaleTimeString(), { x: W - pad, y: H - 10, "text-anchor": "end" });
  const legend = h("p", { class: "muted", id: "skill-legend" });
  d.workers.forEach((/** @type {any} */ w, /** @type {number} */ i) => {
    const color = workerColor(i);
    const pts = w.points.map((/** @type {any} */ p) => `${x(p.t).toFixed(1)},${y(p.share).toFixed(1)}`).join(" ");
    el.appendChild(svg("polyline", { points: pts, fill: "none", stroke: color, "stroke-width": 2, "data-worker": w.worker }));
    for (const p of w.points) {
      const dot = svg("circle", { cx: x(p.t), cy: y(p.share), r: 3.5, fill: color });
      const tip = svg("title");
      tip.textContent = `${w.worker}, ${new Date(p.t * 1000).toLocaleTimeString()}: ${pct(p.share)} of ${p.answers} answers`;
      dot.appendChild(tip);
      el.appendChild(dot);
    }
    legend.append(h("span", { style: { color, marginRight: "1em" } }, `● ${w.worker}`));
  });
  const shown = d.workers_total > d.workers_shown ? ` The ${d.workers_shown} busiest of ${d.workers_total} workers.` : "";
  return h("div", null, head, h("p", { class: "muted" }, `Share of answers equal to the ${d.against}.${shown}`), el, legend);
}
