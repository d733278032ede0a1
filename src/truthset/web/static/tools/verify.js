// @ts-check
/**
 * Label verification: the earlier job's label drawn over the item (shapes over the image,
 * a mask, or text), a verdict (number keys) and an optional comment.
 * Answer: {"label": "<verdict>", "comment": "<optional>"}.
 */
import { h } from "../js/dom.js";
import { labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { shapesOf, drawShapes } from "../js/draw.js";
import { ImageView, VIEW_SHORTCUTS } from "./imageview.js";

/** @typedef {{verdict: string | null, comment: string}} State */

/** @param {import("../js/types.js").Task} _task @returns {State} */
export function initialState(_task) {
  return { verdict: null, comment: "" };
}

/** @param {any} prior */
function priorSummary(prior) {
  if (!prior) return "No earlier label was found for this item.";
  const meta = prior.meta || {};
  const v = prior.value;
  if (meta["class-name"]) return `Earlier label: ${meta["class-name"]}`;
  if (meta["class-map"] && !(v && v.annotations)) return `Earlier labels: ${Object.values(meta["class-map"]).join(", ")}`;
  if (typeof v === "string") return `Earlier label: ${v}`;
  if (v && v.annotations && Array.isArray(v.annotations)) return `Earlier label: ${v.annotations.length} objects (drawn on the image)`;
  if (v && v.annotations && Array.isArray(v.annotations.entities)) return `Earlier label: ${v.annotations.entities.length} entities`;
  return "Earlier label shown on the item.";
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const st = () => /** @type {State} */ (store.state);
  const prior = task.prior_label;
  const priorLabels = (prior && prior.label_config && Array.isArray(prior.label_config.labels))
    ? prior.label_config.labels.map((/** @type {any} */ l) => (typeof l === "string" ? l : l.label)) : [];
  ctx.root.appendChild(h("div", { class: "prior-label", id: "prior-label" }, priorSummary(prior)));
  /** @type {ImageView | null} */
  let view = null;
  if (task.item.media_url) {
    view = new ImageView(ctx.root, task.item.media_url);
    const v = view;
    v.ready.then(() => {
      if (!prior) return;
      const shapes = shapesOf(prior.value, prior.meta, priorLabels);
      drawShapes(v.overlay, shapes, priorLabels, 1 / v.scale);
      const png = prior.value && prior.value.labeledImage && prior.value.labeledImage.pngImageData;
      if (png) v.stage.insertBefore(h("img", { class: "mask-canvas", src: `data:image/png;base64,${png}`, alt: "earlier mask", style: { opacity: "0.5" } }), v.overlay);
    }, () => {});
  } else {
    const text = String(task.item.data.source ?? "");
    const box = h("div", { class: "text-item", id: "item-text" });
    const ents = prior && prior.value && prior.value.annotations && Array.isArray(prior.value.annotations.entities) ? prior.value.annotations.entities : null;
    if (ents) {
      const cps = Array.from(text);
      let at = 0;
      for (const e of [...ents].sort((a, b) => a.startOffset - b.startOffset)) {
        if (e.startOffset < at) continue;
        box.append(cps.slice(at, e.startOffset).join(""), h("mark", { title: e.label }, cps.slice(e.startOffset, e.endOffset).join(""), h("sub", null, ` ${e.label}`)));
        at = e.endOffset;
      }
      box.append(cps.slice(at).join(""));
    } else box.textContent = text;
    ctx.root.appendChild(box);
  }
  const bar = labelBar(store, {
    title: "Verdict",
    isOn: (l) => st().verdict === l,
    onPick: (l) => pick(l),
  });
  const comment = h("textarea", { class: "verify-comment", id: "verify-comment", maxlength: "1000", placeholder: "Optional comment (c)" });
  comment.value = st().comment;
  comment.addEventListener("input", () => store.update((/** @type {State} */ s) => {
    s.comment = comment.value;
  }, { record: false, reason: "type" }));
  store.on("change", (/** @type {{reason: string}} */ d) => {
    if (d.reason !== "type") comment.value = st().comment;
  });
  ctx.side.append(bar.el, h("h3", null, "Comment"), comment);

  /** @param {string} label */
  function pick(label) {
    store.update((/** @type {State} */ s) => {
      s.verdict = label;
    });
  }

  return {
    answer() {
      /** @type {any} */
      const out = { label: st().verdict };
      if (st().comment.trim()) out.comment = st().comment.trim();
      return out;
    },
    problem() {
      return st().verdict ? null : "Give a verdict first (number keys).";
    },
    onKey(e) {
      const i = labelIndexFromKey(e);
      if (i >= 0 && i < store.labels.length) {
        pick(store.labels[i]);
        return true;
      }
      if (e.key === "c" && !e.ctrlKey && !e.metaKey) {
        comment.focus();
        return true;
      }
      return view ? view.handleKey(e) : false;
    },
    shortcuts: [["1–9", "verdict"], ["c", "write a comment"], ["Ctrl+Enter", "submit from the comment"], ...(view ? VIEW_SHORTCUTS : [])],
    destroy() {
      if (view) view.destroy();
    },
  };
}
