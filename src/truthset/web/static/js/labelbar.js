// @ts-check
/** The label picker shared by the tools: number keys, colour swatches, short names. */
import { h } from "./dom.js";
import { labelColor } from "./store.js";

/**
 * @param {import("./store.js").AnnotationStore<any>} store
 * @param {{shortNames?: Record<string, string>, isOn?: (label: string) => boolean,
 *   onPick?: (label: string) => void, title?: string}} [opts]
 * @returns {{el: HTMLElement, refresh: () => void}}
 */
export function labelBar(store, opts = {}) {
  const buttons = store.labels.map((label, i) => {
    const short = opts.shortNames && opts.shortNames[label];
    return h("button", {
      class: "label-btn", type: "button", dataset: { label },
      title: `${label} (key ${i < 9 ? i + 1 : i === 9 ? 0 : "-"})`,
      onclick: () => (opts.onPick ? opts.onPick(label) : store.setActiveLabel(label)),
    },
    h("kbd", null, i < 9 ? String(i + 1) : i === 9 ? "0" : ""),
    h("span", { class: "swatch", style: { background: labelColor(i) } }),
    h("span", { class: "label-name" }, label),
    short ? h("span", { class: "muted short" }, ` ${short}`) : null);
  });
  const el = h("div", { class: "label-bar", role: "group", "aria-label": opts.title || "Labels" },
    h("h3", null, opts.title || "Labels"), buttons);
  const refresh = () => {
    buttons.forEach((b, i) => {
      const label = store.labels[i];
      const on = opts.isOn ? opts.isOn(label) : store.activeLabel === label;
      b.classList.toggle("on", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  };
  store.on("label", refresh);
  store.on("change", refresh);
  refresh();
  return { el, refresh };
}
