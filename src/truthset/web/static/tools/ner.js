// @ts-check
/**
 * Named entities on a text. Select a span with the mouse, or with the keyboard (arrows
 * move the caret, Shift+arrows extend, Ctrl+arrows jump by word), then press a number key
 * to label it. Spans may overlap. Click a labelled span to select it (click again to reach
 * the spans under it); a number key relabels it, Delete removes it.
 * Offsets are Unicode code points of the item text, endOffset exclusive (Ground Truth).
 * Answer: {"entities": [{label, startOffset, endOffset}]} (+ "initialValueModified").
 */
import { h } from "../js/dom.js";
import { labelColor, labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";

/**
 * @typedef {{id: number, label: string, startOffset: number, endOffset: number}} Entity
 * @typedef {{entities: Entity[], next: number, fromPrior: boolean}} State
 */

/** @param {any} value @returns {any[] | null} */
function entitiesOf(value) {
  if (!value || typeof value !== "object") return null;
  if (Array.isArray(value.entities)) return value.entities;
  if (value.annotations && Array.isArray(value.annotations.entities)) return value.annotations.entities;
  return null;
}

/** @param {import("../js/types.js").Task} task @returns {State} */
export function initialState(task) {
  let fromPrior = false;
  let list = task.prior_label ? entitiesOf(task.prior_label.value) : null;
  if (list) fromPrior = true;
  else list = entitiesOf(task.prediction) || [];
  const entities = list
    .filter((e) => task.labels.includes(e.label) && Number.isInteger(e.startOffset) && Number.isInteger(e.endOffset))
    .map((e, i) => ({ id: i + 1, label: e.label, startOffset: e.startOffset, endOffset: e.endOffset }));
  return { entities, next: entities.length + 1, fromPrior };
}

/** @param {string} ch */
const isSpace = (ch) => /\s/u.test(ch);
/** @param {string} ch */
const isWord = (ch) => /[\p{L}\p{N}_]/u.test(ch);

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const text = String(task.item.data.source ?? "");
  const cps = Array.from(text); // one entry per Unicode code point
  const n = cps.length;
  const st = () => /** @type {State} */ (store.state);
  let caret = 0;
  let anchor = 0;
  /** @type {number | null} the code point last clicked, to cycle through stacked spans */
  let lastClickAt = null;

  const textEl = h("div", { class: "ner-text", id: "ner-text", tabindex: "0", "aria-label": "text to label" });
  const hint = h("p", { class: "muted", id: "ner-hint" });
  ctx.root.append(textEl);
  const list = h("ul", { class: "object-list", id: "entity-list" });
  ctx.side.append(labelBar(store, { shortNames: ctx.shortNames }).el, hint, h("h3", null, "Entities"), list);

  const selStart = () => Math.min(caret, anchor);
  const selEnd = () => Math.max(caret, anchor);
  /** @param {Entity} e */
  const tagOf = (e) => ctx.shortNames[e.label] || e.label;
  /** @param {string} label */
  const colorOf = (label) => labelColor(store.labels.indexOf(label));

  function render() {
    const ents = st().entities;
    const bounds = new Set([0, n, caret, anchor]);
    for (const e of ents) {
      bounds.add(e.startOffset);
      bounds.add(e.endOffset);
    }
    const cuts = [...bounds].filter((b) => b >= 0 && b <= n).sort((a, b) => a - b);
    const frag = document.createDocumentFragment();
    const s0 = selStart();
    const s1 = selEnd();
    for (let i = 0; i < cuts.length; i++) {
      const a = cuts[i];
      if (a === caret) {
        frag.appendChild(h("span", { class: "seg caret", dataset: { s: String(a), e: String(a) } }));
      }
      if (i === cuts.length - 1) break;
      const b = cuts[i + 1];
      const covering = ents
        .filter((e) => e.startOffset <= a && e.endOffset >= b)
        .sort((x, y) => (y.endOffset - y.startOffset) - (x.endOffset - x.startOffset));
      const seg = h("span", { class: "seg", dataset: { s: String(a), e: String(b) } }, cps.slice(a, b).join(""));
      if (!store.hidden && covering.length) {
        seg.classList.add("ent");
        const inner = covering[covering.length - 1];
        seg.style.background = `${colorOf(inner.label)}33`;
        seg.style.boxShadow = covering.map((e, k) => `0 ${2 + 3 * k}px 0 ${colorOf(e.label)}`).join(", ");
        const starting = covering.filter((e) => e.startOffset === a);
        if (starting.length) {
          seg.dataset.tag = starting.map(tagOf).join(" · ");
          seg.style.setProperty("--tagc", colorOf(starting[0].label));
        }
        if (covering.some((e) => e.id === store.selected)) seg.classList.add("sel");
      }
      if (s0 !== s1 && a >= s0 && b <= s1) seg.classList.add("caret-sel");
      frag.appendChild(seg);
    }
    textEl.replaceChildren(frag);
    hint.textContent = s0 !== s1
      ? `Selected ${s1 - s0} characters: press 1–9 to label them.`
      : store.selected !== null ? "Span selected: a number key relabels it, Delete removes it."
        : "Select text with the mouse or Shift+arrows, then press a number key.";
  }

  function renderList() {
    const ents = [...st().entities].sort((a, b) => a.startOffset - b.startOffset || a.endOffset - b.endOffset);
    list.replaceChildren(...ents.map((e) => {
      const select = h("select", { "aria-label": "label", onchange: () => relabel(e.id, select.value) },
        store.labels.map((l) => h("option", { value: l, selected: l === e.label }, l)));
      return h("li", { class: store.selected === e.id ? "selected" : "", dataset: { id: String(e.id) } },
        h("span", { class: "swatch", style: { background: colorOf(e.label) } }),
        h("button", { class: "link", type: "button", title: `${e.startOffset}–${e.endOffset}`, onclick: () => store.select(e.id) },
          `“${cps.slice(e.startOffset, Math.min(e.endOffset, e.startOffset + 24)).join("")}${e.endOffset - e.startOffset > 24 ? "…" : ""}”`),
        select,
        h("button", { class: "link danger", type: "button", title: "delete", onclick: () => remove(e.id) }, "×"));
    }));
  }

  /** @param {number} id @param {string} label */
  function relabel(id, label) {
    store.update((/** @type {State} */ s) => {
      const e = s.entities.find((x) => x.id === id);
      if (e) e.label = label;
    });
  }
  /** @param {number} id */
  function remove(id) {
    store.update((/** @type {State} */ s) => {
      s.entities = s.entities.filter((x) => x.id !== id);
    });
    store.select(null);
  }

  /** Label the current selection, trimmed of surrounding white space. @param {string} label */
  function labelSelection(label) {
    let a = selStart();
    let b = selEnd();
    while (a < b && isSpace(cps[a])) a++;
    while (b > a && isSpace(cps[b - 1])) b--;
    if (a >= b) return false;
    const id = st().next;
    store.update((/** @type {State} */ s) => {
      s.entities.push({ id, label, startOffset: a, endOffset: b });
      s.next = id + 1;
    }, { reason: "add" });
    anchor = caret = b;
    store.select(id);
    render();
    return true;
  }

  /**
   * The code point offset of a DOM position inside the text.
   * @param {Node} node @param {number} offset @returns {number | null}
   */
  function cpAt(node, offset) {
    if (node === textEl) {
      const child = textEl.childNodes[offset];
      if (!child) return n;
      node = child;
      offset = 0;
    }
    const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : /** @type {Element} */ (node);
    const seg = el && /** @type {HTMLElement | null} */ (el.closest(".seg"));
    if (!seg || !textEl.contains(seg)) return null;
    const start = Number(seg.dataset.s);
    if (node.nodeType === Node.TEXT_NODE) {
      return start + Array.from(/** @type {Text} */ (node).data.slice(0, offset)).length;
    }
    return offset === 0 ? start : Number(seg.dataset.e);
  }

  textEl.addEventListener("mouseup", (e) => {
    const sel = window.getSelection();
    if (!sel || !sel.rangeCount) return;
    const a = sel.anchorNode ? cpAt(sel.anchorNode, sel.anchorOffset) : null;
    const b = sel.focusNode ? cpAt(sel.focusNode, sel.focusOffset) : null;
    if (a === null || b === null) return;
    if (a !== b) {
      anchor = a;
      caret = b;
      lastClickAt = null;
      store.select(null);
      sel.removeAllRanges();
      textEl.focus({ preventScroll: true });
      render();
      return;
    }
    // A click: select the span under it (again: the next one under it), or move the caret.
    const target = /** @type {HTMLElement} */ (e.target);
    const seg = target.closest && target.closest(".seg.ent");
    anchor = caret = a;
    if (seg) {
      const segEl = /** @type {HTMLElement} */ (seg);
      const at = Math.min(Math.max(a, Number(segEl.dataset.s)), Number(segEl.dataset.e) - 1);
      const under = st().entities
        .filter((x) => x.startOffset <= at && x.endOffset > at)
        .sort((x, y) => (x.endOffset - x.startOffset) - (y.endOffset - y.startOffset));
      const i = lastClickAt === at ? under.findIndex((x) => x.id === store.selected) : -1;
      const pick = under[(i + 1) % under.length];
      lastClickAt = at;
      if (pick) {
        store.select(pick.id);
        store.setActiveLabel(pick.label);
      }
    } else {
      lastClickAt = null;
      store.select(null);
    }
    textEl.focus({ preventScroll: true });
    render();
  });
  // The side list changes only with the spans; caret moves redraw the text alone.
  const renderAll = () => {
    render();
    renderList();
  };
  store.on("change", renderAll);
  store.on("select", renderAll);
  store.on("visibility", render);
  renderAll();

  /** @param {number} at @param {number} dir */
  function wordJump(at, dir) {
    let i = at;
    if (dir > 0) {
      while (i < n && !isWord(cps[i])) i++;
      while (i < n && isWord(cps[i])) i++;
    } else {
      while (i > 0 && !isWord(cps[i - 1])) i--;
      while (i > 0 && isWord(cps[i - 1])) i--;
    }
    return i;
  }

  return {
    answer() {
      const entities = [...st().entities]
        .sort((a, b) => a.startOffset - b.startOffset || a.endOffset - b.endOffset)
        .map((e) => ({ label: e.label, startOffset: e.startOffset, endOffset: e.endOffset }));
      /** @type {any} */
      const out = { entities };
      if (st().fromPrior) out.initialValueModified = store.modified;
      return out;
    },
    onKey(e) {
      const i = labelIndexFromKey(e);
      if (i >= 0 && i < store.labels.length) {
        const label = store.labels[i];
        store.setActiveLabel(label);
        if (caret !== anchor) labelSelection(label);
        else if (store.selected !== null) relabel(Number(store.selected), label);
        return true;
      }
      const arrows = e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End";
      if (arrows && !e.altKey && !e.metaKey) {
        const dir = e.key === "ArrowLeft" || e.key === "Home" ? -1 : 1;
        let to = e.key === "Home" ? 0 : e.key === "End" ? n : e.ctrlKey ? wordJump(caret, dir) : caret + dir;
        to = Math.max(0, Math.min(n, to));
        caret = to;
        if (!e.shiftKey) anchor = to;
        store.select(null);
        if (document.activeElement !== textEl) textEl.focus({ preventScroll: true });
        render();
        const c = textEl.querySelector(".caret");
        if (c) c.scrollIntoView({ block: "nearest" });
        return true;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return false;
      if ((e.key === "Delete" || e.key === "Backspace") && store.selected !== null) {
        remove(Number(store.selected));
        return true;
      }
      if (e.key === "Escape" && (store.selected !== null || caret !== anchor)) {
        anchor = caret;
        store.select(null);
        render();
        return true;
      }
      if (e.key === "Tab" && st().entities.length) {
        const ents = [...st().entities].sort((a, b) => a.startOffset - b.startOffset);
        const at = ents.findIndex((x) => x.id === store.selected);
        store.select(ents[(at + (e.shiftKey ? -1 : 1) + ents.length) % ents.length].id);
        return true;
      }
      if (e.key === "h") {
        store.toggleHidden();
        return true;
      }
      return false;
    },
    shortcuts: [
      ["mouse drag", "select text"], ["← → (Ctrl: by word)", "move the caret"],
      ["Shift + ← → / Home / End", "extend the selection"], ["1–9, 0", "label the selection / relabel the span"],
      ["click a span (again: the one under it)", "select a span"], ["Tab", "next span"],
      ["Delete", "remove the selected span"], ["Esc", "clear the selection"], ["h", "hide / show spans"],
    ],
    destroy() {},
  };
}
