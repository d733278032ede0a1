// @ts-check
/** Throughput: answers per time bucket as a bar chart (SVG, text-only labels). */
import { h, svg } from "../dom.js";

/**
 * The throughput section (GET /api/jobs/{name}/throughput?bucket=…).
 * @param {{t: number, answers: number, mean_time: number}[]} points one per bucket with answers, oldest first
 * @param {number} bucket the bucket's length in seconds
 */
export function throughputPanel(points, bucket) {
  return h("section", { class: "block" }, h("h2", null, `Throughput (answers per ${bucket / 60} minutes)`), chart(points, bucket));
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
