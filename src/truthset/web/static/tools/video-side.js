// @ts-check
/**
 * The video tool's side panel: the tracks (select, relabel, hide, lock, delete), what can
 * be done to the selected track on this frame (keyframe, outside, copy to next / to all,
 * delete before / after, predict next), the attributes in force on this frame (a change
 * on the track's first frame is the track's own; later it overrides from this frame on),
 * and the frame's own attributes. The fields are attributes.js's.
 */
import { h } from "../js/dom.js";
import { labelColor } from "../js/store.js";
import { fields } from "./attributes.js";
import { attrsAt, shapeAt } from "./video-tracks.js";

/** @typedef {import("./video-tracks.js").Track} Track */
/** @typedef {import("./video-tracks.js").Values} Values */
/** @typedef {import("./attributes.js").Specs} Specs */

/**
 * @typedef {object} SideActions
 * @property {(id: number) => void} select
 * @property {(id: number, label: string) => void} relabel
 * @property {(id: number, flag: "hidden" | "locked") => void} toggle
 * @property {(id: number) => void} removeTrack
 * @property {(what: string) => void} act keyframe | outside | next | all | before | after | predict | unkey
 * @property {(name: string, value: string | number | null) => void} setTrackAttr
 * @property {(name: string, value: string | number | null) => void} setFrameAttr
 * @property {() => void} stop save the draft and leave, keeping the lease
 */

/**
 * @param {{store: import("../js/store.js").AnnotationStore<any>, specs: Specs, shape: import("./video-tracks.js").Shape,
 *   interpolating: boolean, shortNames: Record<string, string>, canPredict: boolean,
 *   frame: () => number, actions: SideActions}} o
 */
export function sidePanel(o) {
  const { store, specs, actions } = o;
  const list = h("ul", { class: "object-list video-tracks", id: "video-track-list" });
  const title = h("h3", null, "Tracks");
  const here = h("p", { class: "muted video-here", id: "video-here" });
  const button = (/** @type {string} */ what, /** @type {string} */ text, /** @type {string} */ key, /** @type {string} */ tip) =>
    h("button", { type: "button", dataset: { act: what }, title: `${tip} (${key})`, onclick: () => actions.act(what) }, text, " ", h("kbd", null, key));
  const actionBox = h("div", { class: "video-actions", id: "video-actions" },
    button("keyframe", "Keyframe", "k", "make this frame a keyframe of the selected track"),
    o.interpolating ? button("outside", "Leaves here", "o", "the object leaves the picture from this frame on") : null,
    button("next", "Copy to next", "n", "copy the shape to the next frame and go there"),
    button("all", "Copy to all", "a", "hold this shape on every frame"),
    button("before", "Delete before", "[", "delete the track before this frame"),
    button("after", "Delete after", "]", "delete the track after this frame"),
    button("unkey", "Delete keyframe", "Del", "delete the selected track's keyframe on this frame"),
    o.canPredict ? button("predict", "Predict next", "t", "follow the box over the next frames with a tracker (never over a frame you drew)") : null);
  const trackAttrs = h("section", { class: "attributes", id: "object-attributes" });
  const frameAttrs = h("section", { class: "attributes", id: "frame-attributes" });
  const saved = h("small", { class: "muted", id: "video-draft-status" });
  const stop = h("button", { type: "button", id: "video-stop-later", title: "Save your work on the server and leave; the task stays yours until its time runs out",
    onclick: () => actions.stop() }, "Stop, resume later");
  const el = h("div", { class: "video-side" },
    h("div", { class: "row" }, title), list, here, actionBox, trackAttrs, frameAttrs,
    h("div", { class: "video-draft" }, stop, saved));

  /** @returns {Track[]} */
  const tracks = () => store.state.tracks;
  const selectedTrack = () => tracks().find((t) => t.id === store.selected) || null;

  function renderList() {
    const ts = tracks();
    title.textContent = `Tracks (${ts.length})`;
    list.replaceChildren(...ts.map((t) => {
      const select = h("select", { "aria-label": `label of track ${t.label}:${t.number}`, onchange: () => actions.relabel(t.id, select.value), disabled: !!t.locked },
        store.labels.map((l) => h("option", { value: l, selected: l === t.label }, l)));
      return h("li", {
        class: `${store.selected === t.id ? "selected" : ""}${t.hidden ? " hidden-track" : ""}`, dataset: { track: String(t.id) },
        onclick: (/** @type {MouseEvent} */ e) => { if (e.target === e.currentTarget) actions.select(t.id); },
      },
      h("span", { class: "swatch", style: { background: labelColor(store.labels.indexOf(t.label)) } }),
      h("button", { class: "link", type: "button", onclick: () => actions.select(t.id) }, `${o.shortNames[t.label] || t.label}:${t.number}`),
      select,
      h("button", { class: `link${t.hidden ? " on" : ""}`, type: "button", dataset: { toggle: "hidden" }, title: t.hidden ? "show this track (H)" : "hide this track (H)",
        "aria-pressed": t.hidden ? "true" : "false", onclick: () => actions.toggle(t.id, "hidden") }, t.hidden ? "show" : "hide"),
      h("button", { class: `link${t.locked ? " on" : ""}`, type: "button", dataset: { toggle: "locked" }, title: t.locked ? "unlock this track (l)" : "lock this track (l)",
        "aria-pressed": t.locked ? "true" : "false", disabled: !!t.fixed, onclick: () => actions.toggle(t.id, "locked") }, t.locked ? "unlock" : "lock"),
      h("button", { class: "link danger", type: "button", title: "delete the whole track (Shift+Delete)", onclick: () => actions.removeTrack(t.id) }, "×"));
    }));
  }

  let shownTrackKey = "";
  let shownFrameKey = "";
  /** Rebuild the attribute fields only when what they edit changed: a rebuild takes the focus. */
  function renderHere() {
    const f = o.frame();
    const t = selectedTrack();
    const at = t ? shapeAt(t, f, o.shape, o.interpolating) : null;
    here.textContent = t
      ? `${t.label}:${t.number} on frame ${f + 1}: ${at ? (at.keyframe ? "keyframe" : at.held ? "held from its last keyframe (o: it leaves)" : "interpolated") : "not in the picture"}${t.locked ? " (locked)" : ""}`
      : "Select a track to edit it on this frame.";
    for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (actionBox.querySelectorAll("button"))) b.disabled = !t || !!t.locked;
    const own = t ? specs.forLabel(t.label) : [];
    const values = t ? attrsAt(t, f) : {};
    const trackKey = t && own.length ? `${t.id}:${t.label}:${f}:${JSON.stringify(values)}:${!!t.locked}` : "";
    if (trackKey !== shownTrackKey && !trackAttrs.contains(document.activeElement)) {
      shownTrackKey = trackKey;
      const first = t && t.keyframes.length ? t.keyframes[0].frame : 0;
      trackAttrs.replaceChildren(...(t && own.length
        ? [h("h3", null, `${t.label}:${t.number} attributes`),
          h("small", { class: "muted" }, f <= first ? "for the whole track" : `from frame ${f + 1} on`),
          ...fields(own, values, actions.setTrackAttr, { maxText: 80, locked: !!t.locked || !!t.prior, prefix: "attr" })]
        : []));
    }
    /** @type {Values} */
    const frameValues = (store.state.frameAttrs || {})[String(f)] || {};
    const frameKey = specs.frame.length ? `${f}:${JSON.stringify(frameValues)}` : "";
    if (frameKey !== shownFrameKey && !frameAttrs.contains(document.activeElement)) {
      shownFrameKey = frameKey;
      frameAttrs.replaceChildren(...(specs.frame.length
        ? [h("h3", null, `Frame ${f + 1} attributes`),
          ...fields(specs.frame, frameValues, actions.setFrameAttr, { maxText: 1000, locked: !!store.state.fromPrior, prefix: "frame" })]
        : []));
    }
  }

  store.on("change", () => {
    renderList();
    renderHere();
  });
  store.on("select", () => {
    renderList();
    renderHere();
  });
  renderList();
  renderHere();
  return {
    el,
    renderHere,
    /** @param {string} text */
    setSaved(text) {
      saved.textContent = text;
    },
  };
}
