// @ts-check
/**
 * The segments beside the waveform, in time order: time, label (the speaker), a play
 * button, delete, and for transcription a text box per segment. Typing never re-renders
 * the list (the box keeps its caret); in a box, the player's keys stay at hand: Ctrl+Space
 * play / pause, Alt+P play this segment, Alt+← → seek, Esc back to the waveform.
 */
import { h } from "../js/dom.js";
import { labelColor } from "../js/store.js";
import { formatTime } from "./waveform-view.js";

/**
 * @typedef {import("./attributes.js").Values} Values
 * @typedef {{id: number, start: number, end: number, label: string, text: string, attrs?: Values}} Segment
 * @typedef {{segments: Segment[], next: number, fromPrior: boolean, frame?: Values}} State
 */

/** @param {Segment[]} segs */
export const inTimeOrder = (segs) => [...segs].sort((a, b) => a.start - b.start || a.end - b.end || a.id - b.id);

/**
 * @param {import("../js/store.js").AnnotationStore<State>} store
 * @param {{transcribe: boolean, shortNames: Record<string, string>,
 *   select: (id: number) => void, play: (id: number) => void, remove: (id: number) => void,
 *   relabel: (id: number, label: string) => void, fieldKey: (e: KeyboardEvent, id: number) => boolean,
 *   leave: () => void}} opts
 */
export function segmentList(store, opts) {
  const list = h("ol", { class: "object-list seg-list", id: "segment-list" });
  const title = h("h3", null, "Segments");
  const el = h("div", { class: "seg-side" }, title, list);
  /** @type {number} */
  let pause = 0;
  let typing = false;

  /** @param {number} id @param {string} value */
  function typed(id, value) {
    // One undo step per pause in typing, not per character.
    store.update((s) => {
      const seg = s.segments.find((x) => x.id === id);
      if (seg) seg.text = value;
    }, { record: !typing, reason: "type" });
    typing = true;
    window.clearTimeout(pause);
    pause = window.setTimeout(() => (typing = false), 800);
  }

  /** @param {Segment} seg @param {number} i */
  function row(seg, i) {
    const select = h("select", {
      "aria-label": `label of segment ${i + 1}`, class: "seg-label",
      onchange: () => {
        opts.relabel(seg.id, select.value);
        select.blur(); // keys go back to the tool
      },
    }, store.labels.map((l) => h("option", { value: l, selected: l === seg.label }, opts.shortNames[l] || l)));
    const li = h("li", {
      class: store.selected === seg.id ? "selected" : "", dataset: { id: String(seg.id) },
    },
    h("div", { class: "seg-row" },
      h("span", { class: "swatch", style: { background: labelColor(store.labels.indexOf(seg.label)) } }),
      h("button", { class: "link seg-time", type: "button", title: "select and go to the segment", onclick: () => opts.select(seg.id) },
        `#${i + 1} ${formatTime(seg.start)}–${formatTime(seg.end)}`),
      h("button", { class: "link", type: "button", title: "play the segment", "aria-label": `play segment ${i + 1}`, onclick: () => opts.play(seg.id) }, "▶"),
      h("button", { class: "link danger", type: "button", title: "delete the segment", "aria-label": `delete segment ${i + 1}`, onclick: () => opts.remove(seg.id) }, "×")),
    select);
    if (opts.transcribe) {
      const box = h("textarea", {
        class: "seg-text", rows: "2", placeholder: "What is said…", "aria-label": `text of segment ${i + 1}`,
        dataset: { id: String(seg.id) },
      });
      box.value = seg.text || "";
      box.addEventListener("input", () => typed(seg.id, box.value));
      // Typing in a box selects its segment, without moving the playhead (it may be playing).
      box.addEventListener("focus", () => store.select(seg.id));
      box.addEventListener("keydown", (e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          opts.leave();
        } else if (opts.fieldKey(e, seg.id)) {
          e.preventDefault();
        }
      });
      li.append(box);
    }
    return li;
  }

  /** @param {{reason?: string}} [detail] */
  function render(detail) {
    if (detail && detail.reason === "type") return; // the box already shows it
    const segs = inTimeOrder(store.state.segments);
    title.textContent = `Segments (${segs.length})`;
    const focused = /** @type {HTMLTextAreaElement | null} */ (
      document.activeElement instanceof HTMLTextAreaElement && list.contains(document.activeElement) ? document.activeElement : null);
    const keep = focused ? { id: focused.dataset.id, a: focused.selectionStart, b: focused.selectionEnd } : null;
    list.replaceChildren(...segs.map(row));
    if (keep) {
      const box = /** @type {HTMLTextAreaElement | null} */ (list.querySelector(`textarea[data-id="${keep.id}"]`));
      if (box) {
        box.focus({ preventScroll: true });
        box.setSelectionRange(keep.a, keep.b);
      }
    }
  }

  function showSelected() {
    for (const li of list.children) {
      const on = /** @type {HTMLElement} */ (li).dataset.id === String(store.selected);
      li.classList.toggle("selected", on);
      if (on) li.scrollIntoView({ block: "nearest" });
    }
  }

  /** Focus the text box of a segment. @param {number} id */
  function focusText(id) {
    const box = /** @type {HTMLTextAreaElement | null} */ (list.querySelector(`textarea[data-id="${id}"]`));
    if (!box) return false;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    return true;
  }

  store.on("change", render);
  store.on("select", showSelected);
  render();
  return { el, focusText };
}
