// @ts-check
/**
 * Video frame object detection and tracking: one task is a sequence of frames; each object
 * is a track with an id that persists over the frames ("car:1"), drawn as boxes, polygons,
 * polylines or keypoints (the label config's annotationType) on keyframes. Tracking
 * interpolates between keyframes (video-tracks.js, the server's rules); detection has
 * shapes on keyframes only.
 *
 * The parts: video-player.js (frames prefetched around the current one, played at the
 * clip's rate), video-timeline.js (transport, scrubber, a row per track), video-draw.js
 * (the shapes of the frame on imageview.js's overlay: zoom and pan stay as the frames
 * change), video-side.js (tracks, actions, attributes), drafts.js (autosave to the server,
 * so the task can be stopped and resumed later while its lease lives).
 *
 * Answer: {"number-of-frames", "tracks": [{"object-id", "label", "number",
 * "label-category-attributes"?, "keyframes": [{"frame", <shape>: geometry} |
 * {"frame", "outside": true}]}], "frame-attributes": {"<frame index>": {...}}}.
 */
import { api } from "../js/api.js";
import { h, toast } from "../js/dom.js";
import { labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { ImageView, VIEW_SHORTCUTS } from "./imageview.js";
import { MODE_SHORTCUTS, modeSwitch } from "./common.js";
import { attributeSpecs, fixedLabels, keptValues, valuesProblem } from "./attributes.js";
import { autosave, draftContent } from "./drafts.js";
import { FrameSource, Player } from "./video-player.js";
import { timeline } from "./video-timeline.js";
import { shapeEditor } from "./video-draw.js";
import { sidePanel } from "./video-side.js";
import {
  applyPrediction, attrsAt, copyToAll, copyToNext, deleteSide, ensureKeyframe, extendTo, keyframeIndexAtOrBefore,
  markOutside, newObjectId, nextNumber, setKeyframe, shapeAt, shapeOfConfig, trackAnswer, tracksFrom,
} from "./video-tracks.js";

/**
 * @typedef {import("./video-tracks.js").Track} Track
 * @typedef {import("./video-tracks.js").Values} Values
 * @typedef {{tracks: Track[], next: number, frameAttrs: Record<string, Values>, fromPrior: boolean}} State
 */

/** Frames the predict-next button asks the tracker for (the route allows 1..100). */
const PREDICT_COUNT = 30;
const DRAFT_VERSION = 1;

/** @param {import("../js/types.js").Task} task */
const interpolatingOf = (task) => !/detection/.test(task.task_type);

/** @param {import("../js/types.js").Task} task @returns {State} */
export function initialState(task) {
  const draft = draftContent(task);
  if (draft && draft.version === DRAFT_VERSION && draft.state && Array.isArray(draft.state.tracks)) return draft.state;
  const shape = shapeOfConfig(task.label_config);
  const prior = task.prior_label && task.prior_label.value;
  let tracks = tracksFrom(prior, shape, task.labels);
  const fromPrior = !!tracks;
  if (tracks) {
    // Earlier objects of a label that allows no edits come locked for good.
    const fixed = fixedLabels(task.label_config);
    for (const t of tracks) {
      t.prior = true;
      if (fixed.has(t.label)) t.locked = t.fixed = true;
    }
  }
  if (!tracks) tracks = tracksFrom(task.prediction, shape, task.labels) || [];
  const source = (fromPrior ? prior : task.prediction) || {};
  /** @type {Record<string, Values>} */
  const frameAttrs = {};
  if (source["frame-attributes"] && typeof source["frame-attributes"] === "object") {
    for (const [k, v] of Object.entries(source["frame-attributes"])) if (v && typeof v === "object") frameAttrs[k] = { ...v };
  }
  return { tracks, next: tracks.length + 1, frameAttrs, fromPrior };
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const shape = shapeOfConfig(task.label_config);
  const interpolating = interpolatingOf(task);
  const specs = attributeSpecs(task.label_config);
  const fixed = fixedLabels(task.label_config);
  const st = () => /** @type {State} */ (store.state);
  const base = String(task.item.media_url || "").replace(/\/media$/, "");
  const source = new FrameSource(base);
  const view = new ImageView(ctx.root, source.url(0), {
    onTransform: (scale) => {
      editor.render();
      if (player) player.rescale(scale * (devicePixelRatio || 1));
    },
  });
  const canvas = h("canvas", { class: "video-frame-canvas", id: "video-canvas" });
  view.stage.insertBefore(canvas, view.overlay);
  const status = h("div", { class: "video-status muted", id: "video-status" }, "Loading the frames…");
  ctx.root.append(status);
  let frame = 0;
  let destroyed = false;
  /** @type {Player | null} */
  let player = null;
  /** @type {ReturnType<typeof timeline> | null} */
  let line = null;

  const modes = modeSwitch(() => editor.render());
  const side = sidePanel({
    store, specs, shape, interpolating, shortNames: ctx.shortNames, canPredict: shape === "box", frame: () => frame,
    actions: {
      select: (id) => store.select(id),
      relabel,
      toggle,
      removeTrack,
      act,
      setTrackAttr,
      setFrameAttr,
      stop: stopLater,
    },
  });
  ctx.side.append(modes.el, labelBar(store, { shortNames: ctx.shortNames }).el, side.el);
  // Every 5 s while anything changed (the frame shown too: a resumed task opens on it).
  const saver = autosave(task, {
    content: () => ({ version: DRAFT_VERSION, state: store.state, frame }),
    onSaved: (at) => side.setSaved(`saved on the server at ${new Date(at * 1000).toLocaleTimeString()}`),
    onError: (message) => side.setSaved(`not saved: ${message}`),
  });


  const editor = shapeEditor({
    view, shape, labels: store.labels, shortNames: ctx.shortNames, minSize: Number(ctx.settings.min_box_size ?? 4),
    shown: () => shownHere(),
    selected: () => /** @type {number | null} */ (store.selected),
    hidden: () => store.hidden,
    editing: (e) => modes.editing(e),
    activeLabel: () => store.activeLabel,
    create: createTrack,
    change: (id, g, first) => {
      if (first) store.checkpoint(); // the whole drag is one undo step
      store.update((/** @type {State} */ s) => {
        const t = s.tracks.find((x) => x.id === id);
        if (t && !t.locked) setKeyframe(t, { frame, [shape]: g });
      }, { record: false, reason: "edit" });
    },
    select: (id) => {
      store.select(id);
      const t = id === null ? null : st().tracks.find((x) => x.id === id);
      if (t) store.setActiveLabel(t.label);
    },
  });

  /** The shapes on the current frame. */
  function shownHere() {
    /** @type {import("./video-draw.js").Shown[]} */
    const out = [];
    for (const t of st().tracks) {
      const at = shapeAt(t, frame, shape, interpolating);
      if (at) out.push({ track: t, geometry: at.geometry, keyframe: at.keyframe });
    }
    return out;
  }

  /** @param {import("./video-tracks.js").Geometry} g */
  function createTrack(g) {
    if (st().fromPrior && fixed.has(store.activeLabel)) {
      toast(`${store.activeLabel} allows no edits in this job: no new ${store.activeLabel} can be drawn.`, "info", 3000);
      return;
    }
    const id = st().next;
    store.update((/** @type {State} */ s) => {
      const label = store.activeLabel;
      s.tracks.push({ id, objectId: newObjectId(), label, number: nextNumber(s.tracks, label), attrs: {}, keyframes: [{ frame, [shape]: g }] });
      s.next = id + 1;
    }, { reason: "draw" });
    store.select(id);
  }

  /** @param {number} id @param {string} label */
  function relabel(id, label) {
    store.update((/** @type {State} */ s) => {
      const t = s.tracks.find((x) => x.id === id);
      if (!t || t.locked || t.label === label) return;
      if (s.fromPrior && fixed.has(label)) {
        toast(`${label} allows no edits in this job: no track can become one.`, "info", 3000);
        return;
      }
      t.label = label;
      t.number = nextNumber(s.tracks.filter((x) => x.id !== id), label); // numbers are per label
    }, { reason: "relabel" });
  }

  /** @param {number} id @param {"hidden" | "locked"} flag */
  function toggle(id, flag) {
    store.update((/** @type {State} */ s) => {
      const t = s.tracks.find((x) => x.id === id);
      if (t && flag === "locked" && t.fixed) {
        toast(`${t.label} allows no edits in this job: ${t.label}:${t.number} stays locked.`, "info", 3000);
        return;
      }
      if (t) t[flag] = !t[flag];
    }, { reason: flag });
  }

  /** @param {number} id */
  function removeTrack(id) {
    const t = st().tracks.find((x) => x.id === id);
    if (!t || t.locked) return;
    store.update((/** @type {State} */ s) => {
      s.tracks = s.tracks.filter((x) => x.id !== id);
    }, { reason: "delete" });
    if (store.selected === id) store.select(null);
  }

  /** Change the selected track (unless locked) in one undo step. @param {(t: Track, s: State) => boolean | void} fn @param {string} reason */
  function onSelected(fn, reason) {
    const t = st().tracks.find((x) => x.id === store.selected);
    if (!t) return false;
    if (t.locked) {
      toast(t.fixed ? `${t.label} allows no edits in this job.` : `${t.label}:${t.number} is locked (l unlocks it).`, "info", 2500);
      return false;
    }
    let ok = true;
    store.update((/** @type {State} */ s) => {
      const mine = s.tracks.find((x) => x.id === t.id);
      if (mine && fn(mine, s) === false) ok = false;
    }, { reason });
    return ok;
  }

  /** @param {string} what */
  function act(what) {
    const n = source.count;
    if (what === "keyframe") {
      // Where the track is not, a keyframe holds its nearest shape here: that extends it.
      onSelected((t) => !!ensureKeyframe(t, frame, shape, interpolating) || extendTo(t, frame, shape), "keyframe");
    } else if (what === "outside" && interpolating) onSelected((t) => markOutside(t, frame), "outside");
    else if (what === "next") {
      if (onSelected((t) => copyToNext(t, frame, shape, interpolating, n), "copy")) player && player.step(1);
    } else if (what === "all") onSelected((t) => copyToAll(t, frame, shape, interpolating, n), "copy");
    else if (what === "before" || what === "after") onSelected((t) => deleteSide(t, frame, what, shape, interpolating, n), "delete");
    else if (what === "unkey") {
      onSelected((t) => {
        const i = keyframeIndexAtOrBefore(t.keyframes, frame);
        if (i < 0 || t.keyframes[i].frame !== frame) return false;
        t.keyframes.splice(i, 1);
      }, "delete");
      const t = st().tracks.find((x) => x.id === store.selected);
      if (t && !t.keyframes.length) removeTrack(t.id);
    } else if (what === "predict") predictNext();
  }

  /** @param {string} name @param {string | number | null} value */
  function setTrackAttr(name, value) {
    onSelected((t) => {
      const first = t.keyframes.length ? t.keyframes[0].frame : 0;
      if (frame <= first) {
        const attrs = { ...(t.attrs || {}) };
        if (value === null) delete attrs[name];
        else attrs[name] = value;
        t.attrs = attrs;
        return;
      }
      const kf = ensureKeyframe(t, frame, shape, interpolating) || setKeyframe(t, { frame, outside: true });
      const attrs = { ...(kf.attrs || {}) };
      if (value === null) delete attrs[name];
      else attrs[name] = value;
      kf.attrs = attrs;
    }, "attribute");
  }

  /** @param {string} name @param {string | number | null} value */
  function setFrameAttr(name, value) {
    store.update((/** @type {State} */ s) => {
      const all = { ...(s.frameAttrs || {}) };
      const here = { ...(all[String(frame)] || {}) };
      if (value === null) delete here[name];
      else here[name] = value;
      if (Object.keys(here).length) all[String(frame)] = here;
      else delete all[String(frame)];
      s.frameAttrs = all;
    }, { reason: "attribute" });
  }

  async function predictNext() {
    const t = st().tracks.find((x) => x.id === store.selected);
    const at = t ? shapeAt(t, frame, shape, interpolating) : null;
    if (!t || !at || shape !== "box") {
      toast("Select a box on this frame to predict where it goes next.", "info", 3000);
      return;
    }
    if (t.locked) return;
    const count = Math.min(PREDICT_COUNT, source.count - 1 - frame);
    if (count < 1) return;
    status.textContent = `Predicting ${t.label}:${t.number} over the next ${count} frames…`;
    try {
      const g = at.geometry;
      const res = await api(`${base}/track`, { body: { frame, box: { left: g.left, top: g.top, width: g.width, height: g.height }, count } });
      const boxes = Array.isArray(res && res.boxes) ? res.boxes : [];
      let added = 0;
      store.update((/** @type {State} */ s) => {
        const mine = s.tracks.find((x) => x.id === t.id);
        if (mine) {
          ensureKeyframe(mine, frame, shape, interpolating); // the frame it started from stays as it is
          added = applyPrediction(mine, boxes);
        }
      }, { reason: "predict" });
      status.textContent = added
        ? `Predicted ${added} frame${added === 1 ? "" : "s"} of ${t.label}:${t.number}${added < boxes.length ? " (up to a frame you drew)" : ""}${boxes.length < count ? "; the tracker lost it after that" : ""}.`
        : `Nothing predicted: ${boxes.length ? "the next frame is one you drew" : "the tracker lost the object"}.`;
      if (added) player && player.seek(frame + added);
    } catch (err) {
      status.textContent = `Predict next failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  // -- frames -----------------------------------------------------------------------------------

  /** Paint times of prefetched frames, for the benchmark (benchmarks/video_player.py). */
  const paints = /** @type {number[]} */ ([]);
  const startFrame = (() => {
    const d = draftContent(task);
    return d && Number.isInteger(d.frame) ? d.frame : 0;
  })();

  Promise.all([source.open(), view.ready]).then(([info]) => {
    if (destroyed) return;
    status.textContent = `${info["number-of-frames"]} frames at ${Math.round(source.rate * 100) / 100} per second`;
    line = timeline({
      count: source.count, rate: source.rate, shape, interpolating, labels: store.labels,
      tracks: () => st().tracks, selected: () => /** @type {number | null} */ (store.selected),
      seek: (f) => player && player.seek(f), select: (id) => store.select(id),
      play: () => player && player.toggle(), step: (d) => player && player.step(d),
    });
    ctx.root.append(line.el);
    player = new Player(source, canvas, {
      onFrame: (f) => {
        frame = f;
        if (line) line.setFrame(f);
        editor.render();
        side.renderHere();
        saver.touch();
      },
      onPlaying: (on) => line && line.setPlaying(on),
      onPainted: (f, ms) => {
        // The first frame's <img> sized the view; under the canvas it would only cost raster.
        if (view.img.style.visibility !== "hidden") view.img.style.visibility = "hidden";
        paints.push(ms);
        if (paints.length > 2000) paints.shift();
        ctx.root.dataset.painted = String(f);
      },
    });
    /** @type {any} */ (ctx.root).videoPaints = paints;
    source.setScale(view.scale * (devicePixelRatio || 1));
    player.seek(Math.min(startFrame, source.count - 1));
    ctx.root.dataset.frames = String(source.count);
    ctx.root.dataset.ready = "true";
  }, (err) => {
    status.textContent = err instanceof Error ? err.message : String(err);
    status.classList.add("error");
  });

  const redraw = () => {
    editor.render();
    if (line) line.redraw();
  };
  store.on("change", () => {
    redraw();
    saver.touch();
  });
  store.on("select", redraw);
  store.on("visibility", redraw);

  async function stopLater() {
    saver.touch();
    await saver.flush();
    if (saver.stopped) {
      toast("This task's lease is over: there is nothing to resume.", "error", 5000);
      return;
    }
    location.assign("/");
  }

  /** The keys of the player and the tracks. @param {KeyboardEvent} e */
  function onKey(e) {
    if (modes.onKey(e)) return true;
    const i = labelIndexFromKey(e);
    if (i >= 0 && i < store.labels.length) {
      store.setActiveLabel(store.labels[i]);
      if (store.selected !== null) relabel(Number(store.selected), store.labels[i]);
      return true;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    if (editor.drawing) {
      if (e.key === "Enter") editor.finish();
      else if (e.key === "Escape") editor.cancel();
      else if (e.key === "Backspace") editor.undoVertex();
      else return false;
      return true;
    }
    const p = player;
    const big = e.shiftKey ? 10 : 1;
    if (e.key === "ArrowRight" || e.key === ".") p && p.step(big);
    else if (e.key === "ArrowLeft" || e.key === ",") p && p.step(-big);
    else if (e.key === "Home") p && p.step(-source.count);
    else if (e.key === "End") p && p.step(source.count);
    else if (e.key === "p") p && p.toggle();
    else if (e.key === "g") line && line.focusFrame();
    else if (e.key === "k") act("keyframe");
    else if (e.key === "o") act("outside");
    else if (e.key === "n") act("next");
    else if (e.key === "a") act("all");
    else if (e.key === "[") act("before");
    else if (e.key === "]") act("after");
    else if (e.key === "t") act("predict");
    else if (e.key === "Delete" || e.key === "Backspace") {
      if (e.shiftKey) removeTrack(Number(store.selected));
      else if (!editor.removeVertex()) act("unkey");
    } else if (e.key === "H" && store.selected !== null) toggle(Number(store.selected), "hidden");
    else if (e.key === "h") store.toggleHidden();
    else if (e.key === "l" && store.selected !== null) toggle(Number(store.selected), "locked");
    else if (e.key === "Escape") store.select(null);
    else if (e.key === "Tab" && st().tracks.length) {
      const ts = st().tracks;
      const at = ts.findIndex((t) => t.id === store.selected);
      store.select(ts[at < 0 ? 0 : (at + (e.shiftKey ? -1 : 1) + ts.length) % ts.length].id);
    } else return view.handleKey(e);
    return true;
  }

  /** @param {string} label @param {Values | undefined} values */
  const keep = (label, values) => keptValues(values, specs.forLabel(label));

  return {
    answer() {
      const n = source.count;
      const tracks = st().tracks
        .map((t) => {
          const kfs = t.keyframes.filter((k) => k.frame < n && (interpolating || k[shape]));
          // An outside keyframe before the first shape says nothing (the track is not there yet).
          const first = kfs.findIndex((k) => k[shape]);
          return { ...t, keyframes: first < 0 ? [] : kfs.slice(first) };
        })
        .filter((t) => t.keyframes.length)
        .map((t) => trackAnswer(t, shape, keep));
      /** @type {Record<string, Values>} */
      const frameAttributes = {};
      for (const [f, values] of Object.entries(st().frameAttrs || {})) {
        const kept = keptValues(values, specs.frame);
        if (Number(f) < n && Object.keys(kept).length) frameAttributes[f] = kept;
      }
      /** @type {any} */
      const out = { "number-of-frames": n, tracks };
      if (Object.keys(frameAttributes).length) out["frame-attributes"] = frameAttributes;
      return out;
    },
    problem() {
      if (!source.info) return "The frames have not loaded yet.";
      if (editor.drawing) return "Finish the shape you are drawing (Enter) or cancel it (Esc) first.";
      for (const t of st().tracks) {
        const first = t.keyframes.find((k) => k[shape]);
        if (!first) continue;
        for (const k of t.keyframes) {
          if (!k[shape] && k !== first) continue;
          const why = valuesProblem(attrsAt(t, k.frame), specs.forLabel(t.label));
          if (why) {
            store.select(t.id);
            if (player) player.seek(k.frame);
            return `${t.label}:${t.number} on frame ${k.frame + 1}: ${why}.`;
          }
        }
      }
      for (const [f, values] of Object.entries(st().frameAttrs || {})) {
        const why = valuesProblem(values, specs.frame);
        if (why) {
          if (player) player.seek(Number(f));
          return `Frame ${Number(f) + 1} attributes: ${why}.`;
        }
      }
      return null;
    },
    onKey,
    shortcuts: [
      ["← / → (Shift: ×10), Home / End", "previous / next frame, first / last"],
      ["p", "play / pause at the clip's frame rate"], ["g", "go to a frame (type its number)"],
      ["drag on the frame", shape === "box" ? "draw a box: a new track" : shape === "keypoint" ? "click: a new point track" : "click vertices: a new track (Enter closes)"],
      ...MODE_SHORTCUTS, ["drag a shape / a handle (edit mode or Shift)", "move / reshape it: a keyframe on this frame"],
      ["1–9, 0", "label of the selected / next track"], ["Tab / Shift+Tab", "select the next / previous track"],
      ["k", "keyframe here (the shape shown; where the track is not, its nearest shape: extends it)"],
      ...(interpolating ? /** @type {[string, string][]} */ ([["o", "the object leaves the picture here"]]) : []),
      ["n", "copy the shape to the next frame"], ["a", "copy the shape to every frame"],
      ["[ / ]", "delete the track before / after this frame"],
      ...(shape === "polygon" || shape === "polyline" ? /** @type {[string, string][]} */ ([
        ["drag an edge midpoint (edit)", "insert a vertex: a keyframe here"],
        ["click a vertex, Delete", "remove the vertex: a keyframe here"]]) : []),
      ["Delete / Shift+Delete", "delete the keyframe here / the whole track"],
      ...(shape === "box" ? /** @type {[string, string][]} */ ([["t", "predict next: follow the box with a tracker (never over a frame you drew)"]]) : []),
      ["l", "lock / unlock the selected track"], ["Shift+H / h", "hide the selected track / all tracks"],
      ["Esc", "deselect"], ...VIEW_SHORTCUTS,
    ],
    destroy() {
      destroyed = true;
      // No last save: a task leaves the page when it was submitted, skipped or given back,
      // and the server has then deleted its draft.
      saver.stop();
      if (player) player.destroy();
      else source.close();
      if (line) line.destroy();
      view.destroy();
    },
  };
}
