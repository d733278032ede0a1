// @ts-check
/**
 * One item of a job: every worker's answer beside the consolidated label, drawn on the
 * image for image task types.
 */
import { api, me, isStaff, enc } from "./api.js";
import { h, svg, byId, replace, topbar, toast, formatDuration } from "./dom.js";
import { shapesOf, drawShapes } from "./draw.js";

const parts = location.pathname.split("/");
const jobName = decodeURIComponent(parts[3] || "");
const itemId = decodeURIComponent(parts[5] || "");

/**
 * A picture of an answer or label: shapes over the image, or text.
 * @param {any} value @param {any} meta @param {any} job @param {string | null} mediaUrl @param {any} item
 */
function picture(value, meta, job, mediaUrl, item) {
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
function describe(value, meta, nShapes) {
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

async function main() {
  const user = await me();
  topbar(user);
  if (!isStaff(user)) {
    replace(byId("app"), h("p", { class: "error" }, "The console is for requesters and admins."));
    return;
  }
  const [job, detail, media] = await Promise.all([
    api(`/api/jobs/${enc(jobName)}`),
    api(`/api/jobs/${enc(jobName)}/items/${enc(itemId)}`),
    api(`/api/ui/jobs/${enc(jobName)}/items/${enc(itemId)}/media-url`),
  ]);
  const data = detail.data || {};
  const label = detail.label;
  replace(byId("app"),
    h("p", null, h("a", { href: "/console" }, "Console"), " / ", h("a", { href: `/console/jobs/${enc(jobName)}` }, jobName), " / "),
    h("div", { class: "row" }, h("h1", null, `Item ${detail.item}`), h("span", { class: "pill" }, detail.status),
      detail.is_gold ? h("span", { class: "pill" }, "gold") : null),
    typeof data.source === "string" ? h("blockquote", { class: "text-item", id: "item-text" }, data.source) : null,
    h("div", { class: "answers-grid", id: "answers" },
      h("div", { class: "card", id: "consolidated" },
        h("h2", null, "Consolidated label"),
        label ? h("p", { class: "muted" }, `${label.human ? "by people" : "by the model"} · ${label.method} · confidence ${label.confidence ?? "–"}`) : null,
        label ? picture(label.value, label.meta, job, media.media_url, data) : h("p", { class: "muted" }, "No label yet.")),
      detail.answers.map((/** @type {any} */ a) => h("div", { class: "card answer", dataset: { worker: a.worker } },
        h("h2", null, a.worker),
        h("p", { class: "muted" }, `${new Date(a.submitted_at * 1000).toLocaleString()} · ${formatDuration(a.time_spent)}${a.excluded ? " · excluded" : ""}`),
        picture(a.answer, null, job, media.media_url, data)))));
}

main().catch((err) => toast(String(err.message || err), "error", 0));
