// @ts-check
/**
 * The point-cloud tool's objects in the annotation store's state, for both cuboid task
 * types: detection keeps one cuboid per object; tracking keeps keyframes per object
 * (the video tracking answer's model: a cuboid on each keyframe, interpolated between
 * consecutive keyframes, never across an `outside` keyframe, and nowhere after the last
 * keyframe). An edit on a frame makes that frame a keyframe of the object.
 */
import { cuboidOf, interpolate } from "./pc-math.js";
import { fixedLabels } from "./attributes.js";

/**
 * @typedef {import("./pc-math.js").Cuboid} Cuboid
 * @typedef {import("./attributes.js").Values} Values
 * @typedef {{frame: number, cuboid?: Cuboid, outside?: boolean}} Keyframe
 * @typedef {{id: number, objectId: string, label: string, number: number, attrs?: Values,
 *   cuboid?: Cuboid, keyframes?: Keyframe[], fixed?: boolean}} PcObject  fixed: an earlier
 *   object of a label that allows no edits in this job (editsAllowed none), not to be changed
 * @typedef {{objects: PcObject[], next: number, frames: number, fromPrior: boolean, frame?: Values,
 *   frameAttrs?: Record<string, Values>}} CuboidState  frameAttrs: tracking's attributes per frame index
 */

/** A new object id (the answer's "object-id"). */
export function newObjectId() {
  if (typeof crypto !== "undefined" && crypto.randomUUID) return crypto.randomUUID();
  return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (Number(c) ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (Number(c) / 4)))).toString(16));
}

/** The next free instance number of a label ("Car:3"). @param {PcObject[]} objects @param {string} label @param {number} [except] id */
export function nextNumber(objects, label, except) {
  let n = 0;
  for (const o of objects) if (o.label === label && o.id !== except) n = Math.max(n, o.number);
  return n + 1;
}

/**
 * The object's cuboid on a frame (tracking: from its keyframes), or null when it is not
 * there.
 * @param {PcObject} o @param {number} frame @param {boolean} tracking
 * @returns {Cuboid | null}
 */
export function cuboidAt(o, frame, tracking) {
  if (!tracking) return o.cuboid || null;
  const kfs = o.keyframes || [];
  let i = -1;
  for (let j = 0; j < kfs.length && kfs[j].frame <= frame; j++) i = j;
  if (i < 0) return null;
  const a = kfs[i];
  if (a.outside || !a.cuboid) return null;
  if (a.frame === frame) return a.cuboid;
  const b = kfs[i + 1];
  if (!b || b.outside || !b.cuboid) return null;
  return interpolate(a.cuboid, b.cuboid, (frame - a.frame) / (b.frame - a.frame));
}

/**
 * Tracking: the cuboid of the object's last keyframe on a frame after it (the object is
 * not there, as the answer goes; the tool shows it faintly, and an edit there makes the
 * frame a keyframe, which carries the object on).
 * @param {PcObject} o @param {number} frame @returns {Cuboid | null}
 */
export function ghostAt(o, frame) {
  const kfs = o.keyframes || [];
  const last = kfs[kfs.length - 1];
  return last && !last.outside && last.cuboid && last.frame < frame ? last.cuboid : null;
}

/** Whether the object has a keyframe on this frame. @param {PcObject} o @param {number} frame */
export function isKeyframe(o, frame) {
  return (o.keyframes || []).some((k) => k.frame === frame);
}

/**
 * Set the object's cuboid on a frame (tracking: as a keyframe there).
 * @param {PcObject} o @param {number} frame @param {Cuboid} cuboid @param {boolean} tracking
 */
export function setCuboidAt(o, frame, cuboid, tracking) {
  const c = cuboidOf(cuboid);
  if (!tracking) {
    o.cuboid = c;
    return;
  }
  setKeyframe(o, { frame, cuboid: c });
}

/** @param {PcObject} o @param {Keyframe} kf */
export function setKeyframe(o, kf) {
  const kfs = (o.keyframes || []).filter((k) => k.frame !== kf.frame);
  kfs.push(kf);
  kfs.sort((a, b) => a.frame - b.frame);
  o.keyframes = kfs;
}

/**
 * Autofill: the object on every frame from its first keyframe to the last frame: a
 * keyframe on the last frame with the cuboid it has at its last keyframe (so it is held
 * there), unless it already ends on an `outside`.
 * @param {PcObject} o @param {number} frames
 */
export function autofill(o, frames) {
  const kfs = o.keyframes || [];
  const last = kfs[kfs.length - 1];
  if (!last || last.outside || !last.cuboid || last.frame >= frames - 1) return false;
  setKeyframe(o, { frame: frames - 1, cuboid: { ...last.cuboid } });
  return true;
}

/**
 * Objects to start from: the earlier job's label (adjustment jobs), else the model's
 * prediction; both in the answer's shape, or detection in Ground Truth's output shape
 * (`annotations` with `class-id` / `object-name`, the class map in the metadata).
 * @param {import("../js/types.js").Task} task @param {boolean} tracking
 * @returns {{objects: PcObject[], frames: number, fromPrior: boolean}}
 */
export function initialObjects(task, tracking) {
  const prior = task.prior_label;
  const fromPrior = objectsOf(prior && prior.value, prior && prior.meta, task.labels, tracking);
  if (fromPrior) {
    const fixed = fixedLabels(task.label_config);
    for (const o of fromPrior.objects) if (fixed.has(o.label)) o.fixed = true;
    return { ...fromPrior, fromPrior: true };
  }
  const p = task.prediction;
  const fromPrediction = objectsOf(p, p && p.meta, task.labels, tracking);
  if (fromPrediction) return { ...fromPrediction, fromPrior: false };
  return { objects: [], frames: 0, fromPrior: false };
}

/**
 * @param {any} value @param {any} meta @param {string[]} labels @param {boolean} tracking
 * @returns {{objects: PcObject[], frames: number} | null}
 */
function objectsOf(value, meta, labels, tracking) {
  if (!value || typeof value !== "object") return null;
  /** @type {PcObject[]} */
  const objects = [];
  /** @param {any} o @param {string} label */
  const base = (o, label) => ({
    id: objects.length + 1, objectId: String(o["object-id"] || newObjectId()), label,
    number: Number(o.number) || 0, attrs: attrsOf(o),
  });
  if (tracking && Array.isArray(value.tracks)) {
    for (const t of value.tracks) {
      if (!t || !labels.includes(t.label) || !Array.isArray(t.keyframes)) continue;
      const keyframes = t.keyframes
        .filter((/** @type {any} */ k) => k && Number.isInteger(k.frame) && (k.outside || k.cuboid))
        .map((/** @type {any} */ k) => (k.outside ? { frame: k.frame, outside: true } : { frame: k.frame, cuboid: cuboidOf(k.cuboid) }));
      objects.push({ ...base(t, t.label), keyframes });
    }
    return { objects: numbered(objects), frames: Number(value["number-of-frames"]) || 0 };
  }
  if (tracking) return null;
  const list = Array.isArray(value.cuboids) ? value.cuboids : Array.isArray(value.annotations) ? value.annotations : null;
  if (!list) return null;
  const classMap = (meta && (meta["class-map"] || meta.class_map)) || {};
  for (const a of list) {
    if (!a || typeof a !== "object") continue;
    let label = a.label;
    let number = a.number;
    if (label === undefined && typeof a["object-name"] === "string") {
      const [name, num] = a["object-name"].split(":");
      label = name;
      number = Number(num);
    }
    if (label === undefined && a["class-id"] !== undefined) label = classMap[String(a["class-id"])] ?? labels[Number(a["class-id"])];
    if (!labels.includes(label)) continue;
    objects.push({ ...base({ ...a, number }, label), cuboid: cuboidOf(a) });
  }
  return { objects: numbered(objects), frames: 1 };
}

/** @param {any} o @returns {Values} */
function attrsOf(o) {
  const v = o["label-category-attributes"];
  return v && typeof v === "object" ? { ...v } : {};
}

/** Give numbers to objects that have none, or a taken one. @param {PcObject[]} objects */
function numbered(objects) {
  const taken = new Set();
  for (const o of objects) {
    if (!(o.number >= 1) || taken.has(`${o.label}:${o.number}`)) o.number = nextNumber(objects, o.label, o.id);
    taken.add(`${o.label}:${o.number}`);
  }
  return objects;
}
