// @ts-check
/**
 * Pictures of answers and labels, shared by the console's item page and the review page:
 * shapes drawn over the image for image task types, spans quoted from the text, or the
 * answer as text. Everything is inserted as text (dom.js), never as HTML.
 */
import { h, svg } from "./dom.js";
import { shapesOf, drawShapes } from "./draw.js";

/**
 * A picture of an answer or label: shapes over the image, or text.
 * @param {any} value @param {any} meta @param {any} job @param {string | null} mediaUrl @param {any} item
 */
export function picture(value, meta, job, mediaUrl, item) {
  const shapes = shapesOf(value, meta, job.labels);
  if (mediaUrl && job.media === "image") {
    const img = h("img", { src: mediaUrl, alt: "item" });
    const layer = svg("svg", { class: "overlay-thumb" });
    const stage = h("div", { class: "thumb-stage" }, img, layer);
    img.addEventListener("load", () => {
      layer.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
      const k = img.naturalWidth / Math.max(1, img.clientWidth);
      drawShapes(layer, shapes, job.labels, k);
      if (value && value.labeledImage && value.labeledImage.pngImageData) {
        const mask = h("img", { src: `data:image/png;base64,${value.labeledImage.pngImageData}`, alt: "mask", style: { position: "absolute", inset: "0", width: "100%", opacity: "0.5" } });
        stage.appendChild(mask);
      }
    });
    return h("div", null, stage, describe(value, meta, shapes.length));
  }
  if (value && Array.isArray(value.entities) || (value && value.annotations && value.annotations.entities)) {
    const ents = value.entities || value.annotations.entities;
    const cps = Array.from(String(item.source || ""));
    return h("ul", { class: "object-list" }, ents.map((/** @type {any} */ e) =>
      h("li", null, h("b", null, e.label), ` “${cps.slice(e.startOffset, e.endOffset).join("")}” [${e.startOffset}, ${e.endOffset})`)));
  }
  return describe(value, meta, shapes.length);
}

/** @param {any} value @param {any} meta @param {number} nShapes */
export function describe(value, meta, nShapes) {
  let text = "";
  if (value && typeof value === "object") {
    if (typeof value.label === "string") text = value.label;
    else if (Array.isArray(value.labels)) text = value.labels.join(", ") || "(none)";
    else if (typeof value.transcription === "string") text = value.transcription;
  }
  if (!text && meta) {
    if (meta["class-name"]) text = meta["class-name"];
    else if (meta["class-map"] && !nShapes) text = Object.values(meta["class-map"]).join(", ");
  }
  if (!text && typeof value === "string") text = value;
  if (text) return h("p", { class: "answer-text" }, text);
  if (nShapes) return h("p", { class: "muted" }, `${nShapes} objects`);
  return h("pre", { class: "json" }, JSON.stringify(value, null, 1));
}

/** The object lists of the worker-answer shapes, and what the page calls their items. */
const OBJECT_LISTS = /** @type {[string, string][]} */ ([
  ["boundingBoxes", "boxes"], ["polygons", "polygons"], ["polylines", "lines"], ["lines", "lines"],
  ["keypoints", "points"], ["entities", "spans"], ["segments", "segments"],
]);

/**
 * What an answer with no objects lacks ("boxes", "spans"…), or null when it has some or is
 * not an answer of objects (a class, a transcript, a mask).
 * @param {any} answer @returns {string | null}
 */
export function missingObjects(answer) {
  if (!answer || typeof answer !== "object") return null;
  for (const [key, noun] of OBJECT_LISTS) {
    if (Array.isArray(answer[key])) return answer[key].length ? null : noun;
  }
  return null;
}
