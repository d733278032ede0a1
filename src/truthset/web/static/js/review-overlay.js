// @ts-check
/**
 * Where the workers disagree, in one picture: every worker's boxes, polygons, lines and
 * points drawn over the item's image in that worker's colour (not the label's), and every
 * worker's mask tinted in that colour, with a legend whose checkboxes hide a worker. Only
 * for image jobs whose answers have shapes or masks; other types answer null (their
 * answers are compared side by side in the answers panel).
 */
import { h, svg } from "./dom.js";
import { shapesOf } from "./draw.js";

/** Worker colours: far from each other and from the label palette's first blues. */
export const WORKER_COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324"];

/** @param {number} i */
export const workerColor = (i) => WORKER_COLORS[i % WORKER_COLORS.length];

/** @param {any} answer @returns {string | null} the base64 PNG of a mask answer */
function maskOf(answer) {
  const png = answer && answer.labeledImage && answer.labeledImage.pngImageData;
  return typeof png === "string" && png ? png : null;
}

/**
 * @param {{worker: string, answer: any}[]} answers
 * @param {{labels: string[], media: string}} job
 * @param {string | null} mediaUrl
 * @returns {HTMLElement | null}
 */
export function disagreementOverlay(answers, job, mediaUrl) {
  if (!mediaUrl || job.media !== "image" || answers.length < 1) return null;
  const perWorker = answers.map((a, i) => ({
    worker: a.worker, color: workerColor(i), shapes: shapesOf(a.answer, null, job.labels), mask: maskOf(a.answer),
  }));
  if (!perWorker.some((w) => w.shapes.length || w.mask)) return null;
  const img = h("img", { src: mediaUrl, alt: "item" });
  const layer = svg("svg", { class: "overlay-thumb" });
  const stage = h("div", { class: "thumb-stage review-overlay-stage" }, img);
  /** @type {Map<string, Element[]>} */
  const drawn = new Map();
  img.addEventListener("load", () => {
    const W = img.naturalWidth, H = img.naturalHeight;
    layer.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const k = W / Math.max(1, img.clientWidth);
    for (const w of perWorker) {
      /** @type {Element[]} */
      const els = [];
      if (w.mask) {
        const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "review-mask", dataset: { worker: w.worker } }));
        tintMask(canvas, w.mask, w.color, W, H);
        stage.insertBefore(canvas, layer);
        els.push(canvas);
      }
      for (const s of w.shapes) {
        let el;
        if (s.kind === "box") el = svg("rect", { x: s.left, y: s.top, width: s.width, height: s.height });
        else if (s.kind === "polygon" || s.kind === "polyline") el = svg(s.kind, { points: (s.vertices || []).map((v) => `${v.x},${v.y}`).join(" ") });
        else el = svg("circle", { cx: s.x, cy: s.y, r: 5 * k });
        el.setAttribute("class", "worker-shape");
        el.setAttribute("stroke", w.color);
        el.setAttribute("stroke-width", String(2 * k));
        el.setAttribute("fill", s.kind === "point" ? w.color : "none");
        el.setAttribute("data-worker", w.worker);
        const title = svg("title");
        title.textContent = `${w.worker}: ${s.label}`;
        el.appendChild(title);
        layer.appendChild(el);
        els.push(el);
      }
      drawn.set(w.worker, els);
    }
    stage.dataset.drawn = "1";
  });
  stage.appendChild(layer);
  const legend = h("ul", { class: "review-legend" }, perWorker.map((w) =>
    h("li", null, h("label", null,
      h("input", { type: "checkbox", checked: true, dataset: { worker: w.worker },
        onchange: (/** @type {Event} */ e) => {
          const on = /** @type {HTMLInputElement} */ (e.target).checked;
          for (const el of drawn.get(w.worker) || []) el.toggleAttribute("hidden", !on);
        } }),
      h("span", { class: "swatch", style: { background: w.color } }),
      ` ${w.worker} · ${w.mask ? "mask" : `${w.shapes.length} shapes`}`))));
  return h("div", { class: "card", id: "disagreement" },
    h("h3", null, "Where the workers disagree"),
    stage, legend);
}

/**
 * Draw a mask PNG as one colour: every labelled pixel (not the white or black background)
 * in the worker's colour, a little transparent.
 * @param {HTMLCanvasElement} canvas @param {string} b64 @param {string} color @param {number} W @param {number} H
 */
function tintMask(canvas, b64, color, W, H) {
  canvas.width = W;
  canvas.height = H;
  const png = new Image();
  png.onload = () => {
    const g = canvas.getContext("2d");
    if (!g) return;
    g.drawImage(png, 0, 0, W, H);
    const data = g.getImageData(0, 0, W, H);
    const r = parseInt(color.slice(1, 3), 16), gr = parseInt(color.slice(3, 5), 16), b = parseInt(color.slice(5, 7), 16);
    const px = data.data;
    for (let i = 0; i < px.length; i += 4) {
      // Workers' masks have a white background, consolidated ones a black one.
      const white = px[i] === 255 && px[i + 1] === 255 && px[i + 2] === 255;
      const labelled = px[i + 3] > 0 && !white && (px[i] | px[i + 1] | px[i + 2]) !== 0;
      px[i] = r; px[i + 1] = gr; px[i + 2] = b;
      px[i + 3] = labelled ? 110 : 0;
    }
    g.putImageData(data, 0, 0);
    canvas.dataset.tinted = "1";
  };
  png.src = `data:image/png;base64,${b64}`;
}
