// @ts-check
/**
 * The items and their labels, a page at a time, with filters. The filters live in the URL
 * so that a filtered view can be reloaded and shared.
 */
import { api, enc } from "../api.js";
import { h, svg } from "../dom.js";
import { shapesOf, drawShapes } from "../draw.js";
import { jobName, num } from "./common.js";
import { taskStatusWords } from "../words.js";

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

/** @param {any} job @param {import("./common.js").Reload} reload */
export async function labelsPanel(job, reload) {
  const q = new URLSearchParams(location.search);
  const params = new URLSearchParams();
  for (const k of ["label", "human", "max_confidence", "status", "after", "before"]) {
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
    [["", "any status"], ["complete", "labeled by people"], ["auto", "labeled by the model"], ["open", "waiting for answers"], ["failed", "failed"]]
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
    reload();
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
  // Pages go by cursor (the task a page starts after or ends before): a page of a
  // million-item job reads only its own rows.
  const pageUrl = (/** @type {"after" | "before"} */ key, /** @type {number} */ task) => {
    const p = new URLSearchParams(location.search);
    p.delete("after");
    p.delete("before");
    p.delete("offset");
    p.set(key, String(task));
    return `?${p}`;
  };
  return h("section", { class: "block" }, h("h2", null, "Items and labels"), form,
    h("table", { class: "data", id: "labels" },
      h("thead", null, h("tr", null, ["Item", "Data", "Status", "Label", "Confidence", "By", "Answers"].map((t) => h("th", null, t)))),
      h("tbody", null, shown.map((/** @type {any} */ r) => h("tr", { dataset: { item: r.item } },
        h("td", null, h("a", { href: `/console/jobs/${enc(job.name)}/items/${enc(r.item)}` }, r.item)),
        h("td", null, preview(r)),
        h("td", { dataset: { status: r.status } }, taskStatusWords(r.status)),
        h("td", null, summary(r)),
        h("td", { class: "num" }, r.confidence === null ? "–" : num(r.confidence)),
        h("td", null, r.human === null ? "–" : r.human ? "people" : "model"),
        h("td", { class: "num" }, String(r.answers)))))),
    h("p", { class: "row" },
      page.before ? h("a", { href: pageUrl("before", page.before) }, "← previous") : null,
      page.after ? h("a", { href: pageUrl("after", page.after) }, "next →") : null,
      page.total === null ? null : h("span", { class: "muted" }, `${page.total} items`)));
}
