// @ts-check
/**
 * Classification of an image or a text, single-label or multi-label.
 * Answers: {"label": "cat"} or {"labels": ["cat", "dog"]} (Ground Truth's shapes).
 * Number keys pick labels (toggle them in multi-label jobs).
 */
import { h } from "../js/dom.js";
import { labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { ImageView, VIEW_SHORTCUTS } from "./imageview.js";
import { AudioPlayer, AUDIO_SHORTCUTS } from "./audio.js";

/** @typedef {{chosen: string[]}} State */

/** @param {import("../js/types.js").Task} task */
function isMulti(task) {
  return task.task_type.includes("multilabel");
}

/** @param {import("../js/types.js").Task} task @returns {State} */
export function initialState(task) {
  const p = task.prediction;
  /** @type {string[]} */
  let chosen = [];
  if (p && typeof p === "object") {
    if (typeof p.label === "string") chosen = [p.label];
    else if (Array.isArray(p.labels)) chosen = p.labels.filter((/** @type {any} */ x) => typeof x === "string");
  } else if (typeof p === "string") chosen = [p];
  return { chosen: chosen.filter((c) => task.labels.includes(c)) };
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const multi = isMulti(task);
  /** @param {string} label */
  const pick = (label) => {
    store.update((/** @type {State} */ s) => {
      if (multi) {
        s.chosen = s.chosen.includes(label) ? s.chosen.filter((x) => x !== label) : [...s.chosen, label];
      } else s.chosen = [label];
    });
    store.setActiveLabel(label);
  };
  const bar = labelBar(store, {
    onPick: pick,
    isOn: (label) => /** @type {State} */ (store.state).chosen.includes(label),
    title: multi ? "Labels (pick every one that applies)" : "Label (pick one)",
  });
  ctx.side.appendChild(bar.el);
  /** @type {ImageView | null} */
  let view = null;
  /** @type {AudioPlayer | null} */
  let player = null;
  if (task.item.media_url && task.task_type.startsWith("audio")) {
    player = new AudioPlayer(ctx.root, task.item.media_url);
  } else if (task.item.media_url) {
    view = new ImageView(ctx.root, task.item.media_url);
  } else {
    const text = String(task.item.data.source ?? "");
    ctx.root.appendChild(h("div", { class: "text-item", id: "item-text" }, text));
  }
  return {
    answer() {
      const chosen = /** @type {State} */ (store.state).chosen;
      const ordered = task.labels.filter((l) => chosen.includes(l));
      return multi ? { labels: ordered } : { label: ordered[0] };
    },
    problem() {
      const chosen = /** @type {State} */ (store.state).chosen;
      if (!multi && chosen.length !== 1) return "Pick a label first (number keys 1–9).";
      return null;
    },
    onKey(e) {
      const i = labelIndexFromKey(e);
      if (i >= 0 && i < task.labels.length) {
        pick(task.labels[i]);
        return true;
      }
      if (player) return player.handleKey(e);
      return view ? view.handleKey(e) : false;
    },
    shortcuts: [["1–9, 0", multi ? "toggle a label" : "pick a label"], ...(view ? VIEW_SHORTCUTS : []), ...(player ? AUDIO_SHORTCUTS : [])],
    destroy() {
      if (view) view.destroy();
      if (player) player.destroy();
    },
  };
}
