// @ts-check
/**
 * The confusion matrix of a classification job: a row per reference class (gold, or the
 * consolidated label), a column per class the workers answered, each cell shaded by its
 * share of the row, so a worker crowd's usual mistakes stand out whatever the class sizes.
 */
import { h, svg } from "../dom.js";
import { pct } from "./common.js";

/** @param {any} d the `confusion` part of GET /api/jobs/{name}/charts */
export function confusionChart(d) {
  const head = h("h3", null, "Confusion matrix");
  if (d.problem) return h("div", null, head, h("p", { class: "muted", id: "confusion-none" }, `Not drawn: ${d.problem}.`));
  const n = d.labels.length;
  const cell = Math.max(28, Math.min(64, Math.floor(560 / Math.max(1, n))));
  const left = 150, top = 110;
  // Room on the right for the last column's slanted name.
  const W = left + n * cell + 90, H = top + n * cell + 8;
  const el = svg("svg", { id: "confusion", viewBox: `0 0 ${W} ${H}`, role: "img", style: `width: min(100%, ${W}px); height: auto` });
  const text = (/** @type {string} */ s, /** @type {Record<string, string | number>} */ attrs) => {
    const t = svg("text", { "font-size": 11, ...attrs });
    t.textContent = s;
    el.appendChild(t);
  };
  d.labels.forEach((/** @type {string} */ name, /** @type {number} */ i) => {
    text(name, { x: left - 6, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", fill: "#6b7685" });
    const cx = left + i * cell + cell / 2;
    text(name, { x: cx, y: top - 6, transform: `rotate(-45 ${cx} ${top - 6})`, fill: "#6b7685" });
  });
  text(`${d.against} ↓  answer →`, { x: 4, y: 14, fill: "#6b7685" });
  d.matrix.forEach((/** @type {number[]} */ row, /** @type {number} */ i) => {
    const sum = row.reduce((a, b) => a + b, 0);
    row.forEach((count, j) => {
      const share = sum ? count / sum : 0;
      const r = svg("rect", {
        x: left + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1,
        // On the diagonal agreement is blue, off it confusion is red.
        fill: i === j ? `rgba(36, 87, 197, ${0.08 + 0.85 * share})` : `rgba(179, 38, 30, ${count ? 0.08 + 0.85 * share : 0.03})`,
        "data-ref": d.labels[i], "data-given": d.labels[j], "data-count": count,
      });
      const tip = svg("title");
      tip.textContent = `${d.against} ${d.labels[i]}, answered ${d.labels[j]}: ${count} (${pct(share)} of the row)`;
      r.appendChild(tip);
      el.appendChild(r);
      text(String(count), { x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 + 4, "text-anchor": "middle", fill: share > 0.55 ? "#fff" : "#1c2430" });
    });
  });
  const of = d.answers < d.window ? `${d.answers} answers` : `the ${d.window} newest answers`;
  return h("div", null, head, h("p", { class: "muted" }, `Rows: the ${d.against}; columns: the workers' answers; over ${of}.`), el);
}
