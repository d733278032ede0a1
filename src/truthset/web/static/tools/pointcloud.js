// @ts-check
/**
 * The 3D point-cloud tool (three.js) of the task types point-cloud-object-detection,
 * point-cloud-object-tracking and point-cloud-semantic-segmentation.
 *
 * Cuboids: `n` then a click on the ground (or a double click) places a cuboid of the
 * active label there and fits it to the points around it; a click selects, a drag on the
 * selected cuboid moves it along the ground; the top / side / front views below resize,
 * move and turn it (pc-views.js); keys move, turn and resize it; `f` fits it to the points
 * inside, `y` fits it and estimates its yaw, `g` puts it on the ground (the server's fit,
 * POST /api/items/{id}/pointcloud/frames/{k}/fit and /ground). Tracking: the frame bar
 * (a / d), keyframes (an edit on a frame makes it a keyframe; the frames between are
 * interpolated, pc-objects.js), `o` the object leaves here, Shift+F fills to the last frame.
 * Segmentation: brush (b), lasso (l) and eraser (e) in screen space (pc-paint.js).
 * The view: left drag orbits, right drag pans, the wheel zooms; the arrows pan and
 * , / . turn the view when nothing is selected; r resets it, t looks from the top, c
 * changes the colouring (height, intensity, label).
 *
 * Answers: detection {"cuboids": [{"object-id", label, number, center-x..yaw,
 * "label-category-attributes"?}], "frame-attributes"?}; tracking {"number-of-frames",
 * "tracks": [{"object-id", label, number, "label-category-attributes"?, "keyframes":
 * [{frame, cuboid} | {frame, outside: true}]}]}; segmentation {"point-count", "labels":
 * base64 of zlib of uint8 per point, 0 unlabeled, k the label k-1}.
 */
import { api } from "../js/api.js";
import { h, toast } from "../js/dom.js";
import { labelColor, labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { objectList } from "./common.js";
import { attributePanel, attributeSpecs, attributesProblem, fixedLabels, frameAnswer, initialFrame, objectAnswer } from "./attributes.js";
import { sourceFor } from "./pc-data.js";
import { CloudScene } from "./pc-scene.js";
import { CuboidViews } from "./pc-views.js";
import { CameraStrip } from "./pc-cameras.js";
import { autosave, draftContent } from "./drafts.js";
import { Painter } from "./pc-paint.js";
import { cuboidOf, MIN_SIZE, wrapAngle } from "./pc-math.js";
import { autofill, cuboidAt, ghostAt, initialObjects, isKeyframe, newObjectId, nextNumber, setCuboidAt, setKeyframe } from "./pc-objects.js";
import { decodeLabels, encodeLabels } from "./pc-zlib.js";

/**
 * @typedef {import("./pc-math.js").Cuboid} Cuboid
 * @typedef {import("./pc-objects.js").PcObject} PcObject
 * @typedef {import("./pc-objects.js").CuboidState} CuboidState
 * @typedef {{labels: string | null, count: number}} PaintState
 */

/** A new cuboid's size before the fit (a car's; the fit tightens it). */
const DEFAULT_SIZE = { length: 4, width: 1.8, height: 1.6 };
const DEG = Math.PI / 180;

/** @param {import("../js/types.js").Task} task */
const kindOf = (task) =>
  task.task_type.includes("segmentation") ? "segmentation" : task.task_type.includes("tracking") ? "tracking" : "detection";

/** How often the answer in progress is saved to the server (a draft), at most. */
const DRAFT_EVERY_MS = 5000;

/** @param {import("../js/types.js").Task} task */
export function initialState(task) {
  const draft = draftContent(task);
  if (draft && draft.tool === "pointcloud" && draft.kind === kindOf(task) && draft.state && typeof draft.state === "object") {
    return draft.state; // the worker stopped and came back: their saved work
  }
  if (kindOf(task) === "segmentation") {
    const v = (task.prior_label && task.prior_label.value) || task.prediction;
    // Ground Truth's earlier label comes as an answer; ours as its file (`labeledImage`).
    const file = v && v.labeledImage && typeof v.labeledImage.pngImageData === "string" ? v.labeledImage.pngImageData : null;
    const labels = v && typeof v.labels === "string" ? v.labels : file;
    return /** @type {PaintState} */ ({ labels, count: labels ? Number(v["point-count"]) || 0 : 0 });
  }
  const tracking = kindOf(task) === "tracking";
  const { objects, frames, fromPrior } = initialObjects(task, tracking);
  const state = /** @type {CuboidState} */ ({ objects, next: objects.length + 1, frames, fromPrior, frame: initialFrame(task) });
  if (tracking) {
    // per frame index: {"<k>": {name: value}} (the answer's "frame-attributes")
    const v = (task.prior_label && task.prior_label.value) || task.prediction;
    const given = v && v["frame-attributes"];
    state.frameAttrs = given && typeof given === "object" && !Array.isArray(given) ? { ...given } : {};
    state.frame = {};
  }
  return state;
}

/**
 * The next task's description and first frame, fetched while the worker answers this one.
 * @param {import("../js/types.js").Task} task
 */
export function prefetch(task) {
  try {
    const source = sourceFor(task);
    source.info().catch(() => {});
    source.points(0).catch(() => {});
  } catch {
    /* no point cloud to fetch: the task will say so when shown */
  }
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const kind = kindOf(task);
  const tracking = kind === "tracking";
  const segmentation = kind === "segmentation";
  const source = sourceFor(task);
  const main = h("div", { class: "pc-main", id: "pc-main" });
  const status = h("div", { class: "pc-status muted", id: "pc-status" }, "Loading the point cloud…");
  const tool = h("div", { class: `pc-tool pc-${kind}` }, main);
  ctx.root.append(tool);
  const scene = new CloudScene(main);
  main.append(status);
  // The browser tests and the benchmark find where a point of the frame is on the page.
  Object.defineProperty(main, "pcProject", { value: (/** @type {number} */ x, /** @type {number} */ y, /** @type {number} */ z) => scene.project(x, y, z) });

  /** @type {import("./pc-data.js").CloudInfo | null} */
  let info = null;
  let frame = 0;
  let loadedFrame = -1;
  /** @type {Float32Array} */
  let points = new Float32Array(0);
  let placing = false;
  /** What the status line says when the tool asks nothing (the frame, its points). */
  let frameStatus = "";
  let destroyed = false;
  /** @type {Uint8Array} the segmentation labels being painted */
  let work = new Uint8Array(0);
  /** encoded labels → decoded, for undo / redo without a decode */
  const decoded = new Map();

  const cs = () => /** @type {CuboidState} */ (store.state);
  const ps = () => /** @type {PaintState} */ (store.state);
  const frames = () => (info ? info.frames.length : 1);
  const colorOf = (/** @type {string} */ label) => labelColor(store.labels.indexOf(label));
  /** @param {number | string | null} id */
  const objectById = (id) => (segmentation ? undefined : cs().objects.find((o) => o.id === id));
  /** The object's cuboid on this frame; tracking, after its last keyframe: that one's. @param {PcObject} o */
  const shownCuboid = (o) => cuboidAt(o, frame, tracking) || (tracking ? ghostAt(o, frame) : null);
  const selectedCuboid = () => {
    const o = objectById(store.selected);
    const c = o && shownCuboid(o);
    return o && c ? { object: o, cuboid: c } : null;
  };

  // ---- the side panel --------------------------------------------------------------
  const colorSelect = h("select", { id: "pc-color", "aria-label": "Colour points by", onchange: () => setColorMode(colorSelect.value) },
    ["height", "intensity", ...(segmentation ? ["label"] : [])].map((m) => h("option", { value: m, selected: (segmentation ? "label" : "height") === m }, m)));
  ctx.side.append(h("div", { class: "pc-controls" }, h("label", null, "Colour by ", colorSelect),
    h("button", { type: "button", id: "pc-reset-view", onclick: () => scene.resetView(info ? info.frames[frame].bounds : undefined) }, "Reset view ", h("kbd", null, "r")),
    h("button", { type: "button", id: "pc-top-view", onclick: () => scene.topView() }, "Top ", h("kbd", null, "t"))));
  /** @param {string} mode */
  function setColorMode(mode) {
    scene.colorMode = /** @type {any} */ (mode);
    colorSelect.value = mode;
    scene.recolor(segmentation ? work : null);
  }
  if (segmentation) scene.colorMode = "label";

  /** @type {CuboidViews | null} */
  let views = null;
  /** @type {Painter | null} */
  let painter = null;
  /** The segmentation controls the key handler needs (set when the panel is built). */
  const paintControls = /** @type {{erase?: HTMLInputElement, setPaintTool?: (t: import("./pc-paint.js").PaintTool) => void, paintPanel?: () => void}} */ ({});
  const specs = attributeSpecs(task.label_config);
  const fixed = fixedLabels(task.label_config);
  /** @type {HTMLElement | null} */
  let frameBar = null;
  /** @type {HTMLInputElement | null} */
  let scrubber = null;
  const frameLabel = h("span", { id: "pc-frame-label" });
  /** Tracking: the attributes of the frame shown (the label config's frameAttributes). */
  const frameFields = h("section", { class: "attributes", id: "pc-frame-attributes" });
  const keyframeList = h("span", { class: "pc-keyframes muted", id: "pc-keyframes" });

  if (segmentation) {
    const erase = h("input", { type: "checkbox", id: "pc-erase", onchange: () => paintPanel() });
    const tools = h("div", { class: "seg-tools", id: "pc-paint-tools", role: "group", "aria-label": "Paint tool" },
      h("div", { class: "modes" },
        h("button", { type: "button", dataset: { tool: "brush" }, onclick: () => setPaintTool("brush") }, "Brush ", h("kbd", null, "b")),
        h("button", { type: "button", dataset: { tool: "lasso" }, onclick: () => setPaintTool("lasso") }, "Lasso ", h("kbd", null, "l"))),
      h("label", null, erase, " Erase ", h("kbd", null, "e")));
    const radius = h("span", { id: "pc-brush-size" });
    ctx.side.append(tools, h("p", { class: "muted" }, "Brush size ", radius, " px ", h("kbd", null, "["), " ", h("kbd", null, "]")),
      labelBar(store, { shortNames: ctx.shortNames }).el,
      h("p", { class: "muted", id: "pc-paint-count" }));
    // In a job chained on an earlier label, the classes that allow no edits stay put.
    const fixedClasses = new Set(task.prior_label ? [...fixed].map((l) => store.labels.indexOf(l) + 1).filter((k) => k > 0) : []);
    painter = new Painter({
      host: main, scene, labels: () => work, fixed: fixedClasses,
      refused: () => toast(`${store.activeLabel} allows no edits in this job: its points stay as they were.`, "info", 3000),
      value: () => (erase.checked ? 0 : store.labels.indexOf(store.activeLabel) + 1),
      done: (changed) => {
        if (!changed) return;
        const text = encodeLabels(work);
        decoded.set(text, work.slice());
        trimDecoded();
        store.update((/** @type {PaintState} */ s) => {
          s.labels = text;
          s.count = work.length;
        }, { reason: "paint" });
      },
    });
    painter.setActive(true);
    /** @param {import("./pc-paint.js").PaintTool} t */
    const setPaintTool = (t) => {
      if (!painter) return;
      painter.tool = t;
      paintPanel();
    };
    const paintPanel = () => {
      if (!painter) return;
      for (const b of tools.querySelectorAll("button")) {
        b.classList.toggle("on", b.dataset.tool === painter.tool);
        b.setAttribute("aria-pressed", String(b.dataset.tool === painter.tool));
      }
      radius.textContent = String(painter.radius);
      main.dataset.paint = erase.checked ? "erase" : painter.tool;
    };
    paintPanel();
    Object.assign(paintControls, { erase, setPaintTool, paintPanel });
  } else {
    ctx.side.append(
      h("div", { class: "pc-controls" },
        h("button", { type: "button", id: "pc-new", onclick: () => startPlacing() }, "New cuboid ", h("kbd", null, "n")),
        h("button", { type: "button", id: "pc-fit", onclick: () => fitSelected("tighten") }, "Fit ", h("kbd", null, "f")),
        h("button", { type: "button", id: "pc-ground", onclick: () => groundSelected() }, "Ground ", h("kbd", null, "g"))),
      labelBar(store, { shortNames: ctx.shortNames }).el,
      objectList(store, () => cs().objects.map((o) => ({ ...o, label: o.label })), relabel, remove, tracking ? "Track" : "Cuboid"));
    if (specs.any) {
      ctx.side.append(attributePanel({
        store, specs: tracking ? { ...specs, frame: [] } : specs, noun: tracking ? "Track" : "Cuboid",
        objects: () => cs().objects, objectsOf: (/** @type {CuboidState} */ s) => s.objects, locked: () => cs().fromPrior,
      }));
    }
    views = new CuboidViews({
      selected: () => {
        const s = selectedCuboid();
        return s ? { cuboid: s.cuboid, color: colorOf(s.object.label) } : null;
      },
      points: () => points,
      change: (c, first) => setSelectedCuboid(c, { record: first }),
    });
    tool.append(views.el);
    if (tracking && specs.frame.length) ctx.side.append(frameFields);
    if (tracking) {
      scrubber = h("input", { type: "range", id: "pc-scrubber", min: 0, max: 0, value: 0, "aria-label": "Frame",
        oninput: () => goTo(Number(scrubber && scrubber.value)) });
      frameBar = h("div", { class: "pc-frame-bar", id: "pc-frame-bar" },
        h("button", { type: "button", id: "pc-prev", title: "previous frame (a)", onclick: () => goTo(frame - 1) }, "◀"),
        scrubber,
        h("button", { type: "button", id: "pc-next", title: "next frame (d)", onclick: () => goTo(frame + 1) }, "▶"),
        frameLabel, keyframeList,
        h("button", { type: "button", id: "pc-keyframe", onclick: () => keyframeHere() }, "Keyframe ", h("kbd", null, "k")),
        h("button", { type: "button", id: "pc-outside", onclick: () => outsideHere() }, "Leaves here ", h("kbd", null, "o")),
        h("button", { type: "button", id: "pc-autofill", onclick: () => fillSelected() }, "Fill to the end ", h("kbd", null, "Shift+F")));
      tool.append(frameBar);
    }
  }

  const cameras = new CameraStrip();
  tool.append(cameras.el);
  const drafts = autosave(task, {
    content: () => ({ tool: "pointcloud", kind, state: store.state }),
    intervalMs: DRAFT_EVERY_MS,
  });

  // ---- loading ---------------------------------------------------------------------
  source.info().then((i) => {
    if (destroyed) return;
    info = i;
    if (!i.frames.length) throw new Error("this item has no point cloud frames");
    if (tracking && cs().frames !== i.frames.length) cs().frames = i.frames.length; // not an edit: the sequence's size
    if (scrubber) scrubber.max = String(i.frames.length - 1);
    return showFrame(0, true);
  }).catch((err) => {
    status.textContent = `The point cloud could not be loaded: ${err && err.message ? err.message : err}`;
    status.classList.add("error");
  });

  /** @param {number} k @param {boolean} first */
  async function showFrame(k, first) {
    frame = k;
    renderFrameBar();
    renderFrameFields();
    renderCuboids();
    const data = await source.points(k);
    if (destroyed || frame !== k) return;
    points = data;
    if (segmentation) await loadLabels();
    scene.setPoints(points, segmentation ? work : null);
    loadedFrame = k;
    cameras.setFrame((info && info.frames[k].images) || [], (i) => source.imageUrl(k, i));
    if (first) scene.resetView(info ? info.frames[k].bounds : undefined);
    renderCuboids();
    if (views) views.draw();
    const n = points.length >> 2;
    frameStatus = `${tracking ? `Frame ${k + 1} of ${frames()} · ` : ""}${n.toLocaleString("en")} points`;
    status.textContent = frameStatus;
    main.dataset.frame = String(k);
    main.dataset.pointCount = String(n);
    scene.afterRender.push(() => {
      if (first) scene.drawn();
      main.dataset.ready = "true"; // the browser tests and the benchmark wait for this
    });
    scene.requestRender();
    if (tracking) for (const next of [k + 1, k + 2]) if (next < frames()) source.points(next).catch(() => {});
  }

  /** The working labels from the state (a draft, an earlier label, undo). */
  async function loadLabels() {
    const n = points.length >> 2;
    const text = ps().labels;
    if (!text) {
      work = new Uint8Array(n);
    } else {
      const known = decoded.get(text);
      try {
        work = known ? known.slice() : await decodeLabels(text, n);
      } catch (err) {
        toast(`The saved point labels were not used: ${err && /** @type {any} */ (err).message}`, "error");
        work = new Uint8Array(n);
      }
    }
    paintCount();
  }
  function trimDecoded() {
    while (decoded.size > 40) decoded.delete(decoded.keys().next().value ?? "");
  }
  function paintCount() {
    const el = document.getElementById("pc-paint-count");
    if (!el) return;
    let labeled = 0;
    for (let i = 0; i < work.length; i++) if (work[i]) labeled++;
    el.textContent = `${labeled.toLocaleString("en")} of ${work.length.toLocaleString("en")} points labeled`;
  }

  // ---- cuboids ---------------------------------------------------------------------
  function renderCuboids() {
    if (segmentation) return;
    /** @type {{id: number, color: string, cuboid: Cuboid, selected: boolean, ghost?: boolean}[]} */
    const list = [];
    if (!store.hidden) {
      for (const o of cs().objects) {
        const c = cuboidAt(o, frame, tracking);
        const shown = c || (tracking ? ghostAt(o, frame) : null);
        if (shown) list.push({ id: o.id, color: colorOf(o.label), cuboid: shown, selected: o.id === store.selected, ghost: !c });
      }
    }
    scene.setCuboids(list);
    cameras.draw(list.filter((x) => !x.ghost));
  }

  /**
   * Whether the object may be changed: not an earlier object of a label that allows no
   * edits in this job (the server refuses such a change too). Says why when not.
   * @param {PcObject | undefined} o
   */
  function editable(o) {
    if (!o || !o.fixed) return true;
    toast(`${o.label} allows no edits in this job: ${o.label}:${o.number} stays as it was.`, "info", 3000);
    return false;
  }

  /**
   * Change the selected object's cuboid on this frame.
   * @param {Cuboid} c @param {{record?: boolean, reason?: string}} [opts]
   */
  function setSelectedCuboid(c, opts = {}) {
    const id = store.selected;
    if (id !== null && !editable(objectById(Number(id)))) return;
    if (opts.record === false) {
      store.update((/** @type {CuboidState} */ s) => {
        const o = s.objects.find((x) => x.id === id);
        if (o) setCuboidAt(o, frame, c, tracking);
      }, { record: false, reason: opts.reason || "drag" });
    } else {
      store.update((/** @type {CuboidState} */ s) => {
        const o = s.objects.find((x) => x.id === id);
        if (o) setCuboidAt(o, frame, c, tracking);
      }, { reason: opts.reason || "edit" });
    }
  }

  /** @param {number} id @param {string} label */
  function relabel(id, label) {
    if (!editable(objectById(id))) return;
    if (cs().fromPrior && fixed.has(label)) {
      toast(`${label} allows no edits in this job: no object can become one.`, "info", 3000);
      return;
    }
    store.update((/** @type {CuboidState} */ s) => {
      const o = s.objects.find((x) => x.id === id);
      if (!o || o.label === label) return;
      o.label = label;
      o.number = nextNumber(s.objects, label, id);
    });
  }
  /** @param {number} id */
  function remove(id) {
    if (!editable(objectById(id))) return;
    store.update((/** @type {CuboidState} */ s) => {
      s.objects = s.objects.filter((x) => x.id !== id);
    });
    if (store.selected === id) store.select(null);
  }

  function startPlacing() {
    placing = true;
    main.classList.add("placing");
    status.textContent = "Click on the ground where the new cuboid goes (Esc cancels)";
  }
  function stopPlacing() {
    placing = false;
    main.classList.remove("placing");
    status.textContent = frameStatus;
  }

  /** A new cuboid of the active label on the ground at this screen point, then fitted. @param {number} x @param {number} y */
  async function placeAt(x, y) {
    stopPlacing();
    const p = scene.groundPoint(x, y);
    if (!p || loadedFrame !== frame) return;
    const label = store.activeLabel;
    if (!label) return;
    if (cs().fromPrior && fixed.has(label)) {
      toast(`${label} allows no edits in this job: no new ${label} can be placed.`, "info", 3000);
      return;
    }
    /** @type {Cuboid} */
    const c = cuboidOf({ "center-x": p.x, "center-y": p.y, "center-z": scene.groundZ + DEFAULT_SIZE.height / 2, ...DEFAULT_SIZE, roll: 0, pitch: 0, yaw: 0 });
    const id = cs().next;
    store.update((/** @type {CuboidState} */ s) => {
      /** @type {PcObject} */
      const o = { id, objectId: newObjectId(), label, number: nextNumber(s.objects, label), attrs: {} };
      setCuboidAt(o, frame, c, tracking);
      s.objects.push(o);
      s.next = id + 1;
    }, { reason: "place" });
    store.select(id);
    // a new cuboid has no yaw of its own yet: the fit estimates it from the points
    const fitted = await serverFit(c, "estimate-yaw", true);
    if (fitted && store.selected === id) setSelectedCuboid(fitted, { record: false, reason: "fit" });
  }

  /**
   * POINTS-BACK's fit route: the cuboid tightened to the points inside it (mode
   * "estimate-yaw": its yaw from the points too), on the ground when asked.
   * @param {Cuboid} c @param {"tighten" | "estimate-yaw"} mode @param {boolean} ground
   * @returns {Promise<Cuboid | null>}
   */
  async function serverFit(c, mode, ground) {
    busy(1);
    try {
      const res = await api(`${source.base}/frames/${frame}/fit`, {
        method: "POST", body: { cuboid: cuboidOf(c), mode, "snap-to-ground": ground },
      });
      return cuboidOf(res.cuboid);
    } catch (err) {
      toast(`Fit: ${err && /** @type {any} */ (err).message}`, "error");
      return null;
    } finally {
      busy(-1);
    }
  }

  let pendingCalls = 0;
  /** Calls to the server in flight (the tests wait for none). @param {number} d */
  function busy(d) {
    pendingCalls += d;
    main.dataset.busy = String(pendingCalls);
  }

  /** @param {"tighten" | "estimate-yaw"} mode */
  async function fitSelected(mode) {
    const s = selectedCuboid();
    if (!s) return;
    const id = s.object.id;
    const fitted = await serverFit(s.cuboid, mode, false);
    if (fitted && store.selected === id) setSelectedCuboid(fitted, { reason: "fit" });
  }

  async function groundSelected() {
    const s = selectedCuboid();
    if (!s) return;
    const id = s.object.id;
    busy(1);
    try {
      const res = await api(`${source.base}/frames/${frame}/ground`, {
        method: "POST", body: { cuboid: cuboidOf(s.cuboid) },
      });
      if (store.selected === id) setSelectedCuboid(cuboidOf(res.cuboid), { reason: "ground" });
    } catch (err) {
      toast(`Ground: ${err && /** @type {any} */ (err).message}`, "error");
    } finally {
      busy(-1);
    }
  }

  /** Move / turn / resize the selected cuboid by keys. @param {(c: Cuboid) => Cuboid} change */
  function nudge(change) {
    const s = selectedCuboid();
    if (!s) return false;
    setSelectedCuboid(change({ ...s.cuboid }), { reason: "key" });
    return true;
  }

  // ---- tracking --------------------------------------------------------------------
  /** @param {number} k */
  function goTo(k) {
    const next = Math.max(0, Math.min(frames() - 1, k));
    if (next === frame && loadedFrame === frame) return;
    showFrame(next, false).catch((err) => toast(String(err && err.message ? err.message : err), "error"));
  }
  function renderFrameBar() {
    if (!frameBar || !scrubber) return;
    scrubber.value = String(frame);
    frameLabel.textContent = `Frame ${frame + 1} / ${frames()}`;
    const o = objectById(store.selected);
    keyframeList.textContent = o ? `keyframes: ${(o.keyframes || []).map((k) => `${k.frame + 1}${k.outside ? " (leaves)" : ""}`).join(", ")}` : "";
    frameBar.dataset.keyframe = o && isKeyframe(o, frame) ? "true" : "false";
  }
  /** The shown frame's attribute fields (tracking). */
  function renderFrameFields() {
    if (!tracking || !specs.frame.length) return;
    const values = (cs().frameAttrs || {})[String(frame)] || {};
    /** @param {string} name @param {string | number | null} value */
    const set = (name, value) => store.update((/** @type {CuboidState} */ s) => {
      const all = { ...(s.frameAttrs || {}) };
      const here = { ...(all[String(frame)] || {}) };
      if (value === null) delete here[name];
      else here[name] = value;
      if (Object.keys(here).length) all[String(frame)] = here;
      else delete all[String(frame)];
      s.frameAttrs = all;
    }, { reason: "attribute" });
    frameFields.replaceChildren(h("h3", null, `Frame ${frame + 1} attributes`), ...specs.frame.map((spec) => {
      const id = `pc-frame-attr-${spec.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
      const current = values[spec.name];
      /** @type {HTMLInputElement | HTMLSelectElement} */
      let input;
      if (Array.isArray(spec.enum)) {
        input = h("select", { id }, h("option", { value: "", selected: current === undefined }, "—"),
          spec.enum.map((v) => h("option", { value: v, selected: current === v }, v)));
        input.addEventListener("change", () => { set(spec.name, input.value || null); input.blur(); });
      } else {
        input = h("input", { id, type: spec.type === "number" ? "number" : "text", min: spec.minimum, max: spec.maximum,
          value: current === undefined ? "" : String(current) });
        input.addEventListener("change", () => set(spec.name, input.value === "" ? null : spec.type === "number" ? Number(input.value) : input.value));
      }
      input.dataset.attr = spec.name;
      return h("div", { class: "attr-field" }, h("label", { for: id }, spec.name), input);
    }));
  }

  function keyframeHere() {
    const s = selectedCuboid();
    if (s) setSelectedCuboid(s.cuboid, { reason: "keyframe" });
  }
  function outsideHere() {
    const id = store.selected;
    if (!tracking || id === null || !editable(objectById(Number(id)))) return;
    store.update((/** @type {CuboidState} */ s) => {
      const o = s.objects.find((x) => x.id === id);
      if (o) setKeyframe(o, { frame, outside: true });
    }, { reason: "outside" });
  }
  function fillSelected() {
    const id = store.selected;
    if (!tracking || id === null) return;
    const o = objectById(id);
    if (!o || !(o.keyframes || []).length || !editable(o)) return;
    store.update((/** @type {CuboidState} */ s) => {
      const t = s.objects.find((x) => x.id === id);
      if (t) autofill(t, frames());
    }, { reason: "autofill" });
  }

  // ---- the mouse in the 3D view ----------------------------------------------------
  /** @type {{id: number, start: {x: number, y: number}, orig: Cuboid, offset: {x: number, y: number}, first: boolean} | null} */
  let drag = null;
  /** @type {{x: number, y: number} | null} */
  let press = null;
  /** @param {PointerEvent} e */
  const onDown = (e) => {
    if (segmentation || e.button !== 0) return;
    press = { x: e.clientX, y: e.clientY };
    if (placing) {
      e.stopPropagation();
      return;
    }
    const s = selectedCuboid();
    if (!s) return;
    const hit = scene.pickCuboid(e.clientX, e.clientY);
    if (hit !== s.object.id || !editable(s.object)) return;
    const p = scene.groundPoint(e.clientX, e.clientY, s.cuboid["center-z"]);
    if (!p) return;
    e.stopPropagation(); // a drag on the selected cuboid moves it, it does not orbit
    main.setPointerCapture(e.pointerId);
    drag = { id: s.object.id, start: press, orig: s.cuboid, offset: { x: s.cuboid["center-x"] - p.x, y: s.cuboid["center-y"] - p.y }, first: true };
  };
  /** @param {PointerEvent} e */
  const onMove = (e) => {
    if (!drag) return;
    const p = scene.groundPoint(e.clientX, e.clientY, drag.orig["center-z"]);
    if (!p) return;
    setSelectedCuboid({ ...drag.orig, "center-x": p.x + drag.offset.x, "center-y": p.y + drag.offset.y }, { record: drag.first, reason: "drag" });
    drag.first = false;
  };
  /** @param {PointerEvent} e */
  const onUp = (e) => {
    const wasDrag = drag && !drag.first;
    drag = null;
    if (!press || segmentation) return;
    const moved = Math.hypot(e.clientX - press.x, e.clientY - press.y);
    press = null;
    if (moved > 4 || wasDrag) return;
    if (placing) {
      placeAt(e.clientX, e.clientY);
      return;
    }
    store.select(scene.pickCuboid(e.clientX, e.clientY));
  };
  /** @param {MouseEvent} e */
  const onDouble = (e) => {
    if (segmentation || scene.pickCuboid(e.clientX, e.clientY) !== null) return;
    placeAt(e.clientX, e.clientY);
  };
  main.addEventListener("pointerdown", onDown, { capture: true });
  main.addEventListener("pointermove", onMove);
  main.addEventListener("pointerup", onUp);
  main.addEventListener("dblclick", onDouble);

  const refresh = () => {
    renderCuboids();
    renderFrameBar();
    renderFrameFields();
    if (views) views.draw();
  };
  store.on("change", (/** @type {{reason: string}} */ d) => {
    drafts.touch();
    if (segmentation) {
      if (d.reason !== "paint" && loadedFrame >= 0) {
        loadLabels().then(() => scene.recolor(work));
      } else paintCount();
      return;
    }
    refresh();
  });
  store.on("select", refresh);
  store.on("visibility", refresh);
  store.on("label", (/** @type {{label: string}} */ d) => {
    const o = objectById(store.selected);
    if (o && o.label !== d.label) relabel(o.id, d.label);
  });

  // ---- keys ------------------------------------------------------------------------
  /** @param {KeyboardEvent} e @returns {boolean} */
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const step = e.shiftKey ? 1 : 0.1;
    const li = labelIndexFromKey(e);
    if (li >= 0 && li < store.labels.length) {
      store.setActiveLabel(store.labels[li]);
      return true;
    }
    switch (e.key) {
      case "r": scene.resetView(info ? info.frames[frame].bounds : undefined); return true;
      case "t": scene.topView(); return true;
      case "c": {
        const modes = Array.from(colorSelect.options).map((o) => o.value);
        setColorMode(modes[(modes.indexOf(colorSelect.value) + 1) % modes.length]);
        return true;
      }
      case "h": store.toggleHidden(); return true;
      default:
    }
    if (segmentation) return paintKey(e);
    const sel = selectedCuboid();
    if (tracking) {
      if (e.key === "a") { goTo(frame - 1); return true; }
      if (e.key === "d") { goTo(frame + 1); return true; }
      if (e.key === "k") { keyframeHere(); return true; }
      if (e.key === "o") { outsideHere(); return true; }
      if (e.key === "F") { fillSelected(); return true; }
    }
    switch (e.key) {
      case "n": startPlacing(); return true;
      case "f": fitSelected("tighten"); return Boolean(sel);
      case "y": fitSelected("estimate-yaw"); return Boolean(sel);
      case "g": groundSelected(); return Boolean(sel);
      case "Escape":
        if (placing) stopPlacing();
        else store.select(null);
        return true;
      case "Delete": case "Backspace":
        if (store.selected === null) return false;
        remove(Number(store.selected));
        return true;
      default:
    }
    if (sel) {
      const c = sel.cuboid;
      const [fx, fy] = [Math.cos(c.yaw), Math.sin(c.yaw)];
      /** @param {number} dx @param {number} dy @param {number} dz */
      const by = (dx, dy, dz) => nudge((x) => ({ ...x, "center-x": x["center-x"] + dx, "center-y": x["center-y"] + dy, "center-z": x["center-z"] + dz }));
      /** @param {"length" | "width" | "height"} k @param {number} d */
      const size = (k, d) => nudge((x) => ({ ...x, [k]: Math.max(MIN_SIZE, x[k] + d) }));
      switch (e.code) {
        case "ArrowUp": return by(fx * step, fy * step, 0);
        case "ArrowDown": return by(-fx * step, -fy * step, 0);
        case "ArrowLeft": return by(-fy * step, fx * step, 0);
        case "ArrowRight": return by(fy * step, -fx * step, 0);
        case "PageUp": return by(0, 0, step);
        case "PageDown": return by(0, 0, -step);
        case "Comma": return nudge((x) => ({ ...x, yaw: wrapAngle(x.yaw + (e.shiftKey ? 10 : 1) * DEG) }));
        case "Period": return nudge((x) => ({ ...x, yaw: wrapAngle(x.yaw - (e.shiftKey ? 10 : 1) * DEG) }));
        case "BracketLeft": return size("length", -step);
        case "BracketRight": return size("length", step);
        case "Semicolon": return size("width", -step);
        case "Quote": return size("width", step);
        case "Minus": return size("height", -step);
        case "Equal": return size("height", step);
        default: return false;
      }
    }
    return viewKey(e);
  }

  /** Keyboard navigation of the view. @param {KeyboardEvent} e */
  function viewKey(e) {
    switch (e.code) {
      case "ArrowUp": scene.pan(0, 1); return true;
      case "ArrowDown": scene.pan(0, -1); return true;
      case "ArrowLeft": scene.pan(-1, 0); return true;
      case "ArrowRight": scene.pan(1, 0); return true;
      case "PageUp": case "Equal": scene.zoom(1.25); return true;
      case "PageDown": case "Minus": scene.zoom(0.8); return true;
      case "Comma": scene.orbit(10 * DEG); return true;
      case "Period": scene.orbit(-10 * DEG); return true;
      default: return false;
    }
  }

  /** @param {KeyboardEvent} e */
  function paintKey(e) {
    const pc = paintControls;
    if (!painter || !pc.erase || !pc.setPaintTool || !pc.paintPanel) return false;
    switch (e.key) {
      case "b": pc.setPaintTool("brush"); return true;
      case "l": pc.setPaintTool("lasso"); return true;
      case "e": pc.erase.checked = !pc.erase.checked; pc.paintPanel(); return true;
      case "[": painter.setRadius(painter.radius - 4); pc.paintPanel(); return true;
      case "]": painter.setRadius(painter.radius + 4); pc.paintPanel(); return true;
      default: return viewKey(e);
    }
  }

  return {
    answer() {
      if (segmentation) {
        const n = points.length >> 2;
        return { "point-count": n, labels: ps().labels && ps().count === n ? ps().labels : encodeLabels(work.length === n ? work : new Uint8Array(n)) };
      }
      const s = cs();
      if (tracking) {
        return {
          "number-of-frames": frames(),
          ...(s.frameAttrs && Object.keys(s.frameAttrs).length ? { "frame-attributes": s.frameAttrs } : {}),
          tracks: s.objects.map((o) => ({
            "object-id": o.objectId, label: o.label, number: o.number, ...objectAnswer(specs, o),
            keyframes: (o.keyframes || []).map((k) => (k.outside ? { frame: k.frame, outside: true } : { frame: k.frame, cuboid: cuboidOf(k.cuboid) })),
          })),
        };
      }
      return {
        cuboids: s.objects.filter((o) => o.cuboid).map((o) => ({
          "object-id": o.objectId, label: o.label, number: o.number, ...cuboidOf(o.cuboid), ...objectAnswer(specs, o),
        })),
        ...frameAnswer(specs, s),
      };
    },
    problem() {
      if (!info || loadedFrame < 0) return "The point cloud is still loading.";
      if (segmentation) return null;
      return attributesProblem(store, specs, () => cs().objects, tracking ? "Track" : "Cuboid");
    },
    onKey,
    shortcuts: SHORTCUTS[kind],
    destroy() {
      destroyed = true;
      drafts.stop();
      if (painter) painter.destroy();
      scene.destroy();
    },
  };
}

/** @type {[string, string][]} */
const VIEW_KEYS = [
  ["left drag / right drag / wheel", "orbit / pan / zoom"],
  ["arrows, PageUp / PageDown, , / .", "pan, zoom, turn the view (nothing selected)"],
  ["r / t", "reset the view / look from the top"],
  ["c", "colour by height, intensity (or label)"],
  ["1…9, 0", "label"],
  ["h", "hide / show"],
];
/** @type {[string, string][]} */
const CUBOID_KEYS_HELP = [
  ["n, then a click (or a double click)", "new cuboid on the ground there, fitted"],
  ["click / drag", "select / move the selected cuboid"],
  ["f / y / g", "fit to the points inside / fit and estimate yaw / onto the ground"],
  ["arrows / PageUp, PageDown", "move forward, back, left, right / up, down by 0.1 m (Shift: 1 m)"],
  [", / .", "turn left / right by 1° (Shift: 10°)"],
  ["[ ] / ; ' / - =", "length / width / height by 0.1 m (Shift: 1 m)"],
  ["Delete, Esc", "delete the selected cuboid, deselect"],
];
/** @type {Record<string, [string, string][]>} */
const SHORTCUTS = {
  detection: [...CUBOID_KEYS_HELP, ...VIEW_KEYS],
  tracking: [
    ...CUBOID_KEYS_HELP,
    ["a / d", "previous / next frame"],
    ["k / o / Shift+F", "keyframe here / the object leaves here / fill to the last frame"],
    ...VIEW_KEYS,
  ],
  segmentation: [
    ["left drag", "paint with the brush or the lasso"],
    ["b / l / e", "brush / lasso / eraser on or off"],
    ["[ / ]", "smaller / larger brush"],
    ["right drag / wheel", "orbit / zoom"],
    ...VIEW_KEYS.slice(1),
  ],
};
