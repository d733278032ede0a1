// @ts-check
/**
 * The keyframe model of the video tool, and the interpolation rules of the server's
 * geometry/tracks.py, implemented alike (tests/web/test_video_tracks.py expands the same
 * keyframes with both and compares them), so what the worker sees between two keyframes
 * is what the server stores.
 *
 * A track's keyframes are sorted by frame, each `{frame, <shape>: geometry}` or
 * `{frame, outside: true}`, optionally with `attrs` (label-category attributes that
 * override the track's own from that frame on). Geometry in frame pixels:
 * box `{left, top, width, height}`, polygon / polyline `{points: [[x, y], ...]}`,
 * keypoint `{x, y}`.
 *
 * - Detection (`interpolate` false): a track's shape exists on its keyframes only.
 * - Tracking (CVAT's track rule): between consecutive keyframes that both carry a shape,
 *   the linear blend at t = (f - f0) / (f1 - f0); a shape keyframe followed by an `outside`
 *   one holds its shape up to the frame before it, and the last shape keyframe holds it to
 *   the sequence's last frame: an object stays until the worker marks it outside (o).
 *   After an `outside` keyframe the track is absent until its next shape keyframe.
 *   Boxes and keypoints blend number by number; polygons and polylines
 *   vertex by vertex when the counts match, else both are resampled to the larger count
 *   (`alignOutlines`) first.
 *
 * Pure: no DOM, so that node runs it in the agreement test.
 */

/**
 * @typedef {"box" | "polygon" | "polyline" | "keypoint"} Shape
 * @typedef {Record<string, any>} Geometry
 * @typedef {Record<string, string | number>} Values
 * @typedef {{frame: number, outside?: boolean, attrs?: Values, predicted?: boolean,
 *   box?: Geometry, polygon?: Geometry, polyline?: Geometry, keypoint?: Geometry}} Keyframe
 * @typedef {{id: number, objectId: string, label: string, number: number, attrs?: Values,
 *   keyframes: Keyframe[], hidden?: boolean, locked?: boolean, prior?: boolean, fixed?: boolean}} Track
 * (`prior`: from the earlier label an adjustment job starts from; `fixed`: of a label
 * that allows no edits there, locked for good)
 * @typedef {{frame: number, geometry: Geometry, attrs: Values, keyframe: boolean}} FrameShape
 */

export const SHAPES = /** @type {Shape[]} */ (["box", "polygon", "polyline", "keypoint"]);
/** The label config's annotationType, by shape (BoundingBox is Ground Truth's default). */
export const ANNOTATION_TYPE_SHAPE = /** @type {Record<string, Shape>} */ ({
  BoundingBox: "box", Polygon: "polygon", Polyline: "polyline", Keypoint: "keypoint",
});
const BOX_KEYS = ["left", "top", "width", "height"];
const POINT_KEYS = ["x", "y"];

/** The shape a job draws: its label config's annotationType. @param {any} cfg @returns {Shape} */
export function shapeOfConfig(cfg) {
  const type = cfg && typeof cfg === "object" && !Array.isArray(cfg) ? cfg.annotationType : undefined;
  return ANNOTATION_TYPE_SHAPE[String(type || "BoundingBox")] || "box";
}

// -- outlines -----------------------------------------------------------------------------------

/** @param {number[][]} pts */
function cumulativeLengths(pts) {
  const out = [0];
  for (let k = 1; k < pts.length; k++) {
    const dx = pts[k][0] - pts[k - 1][0];
    const dy = pts[k][1] - pts[k - 1][1];
    out.push(out[k - 1] + Math.sqrt(dx * dx + dy * dy));
  }
  return out;
}

/**
 * Points at the arc lengths along `pts`, as numpy's interp gives them (the last vertex
 * at or below a length starts its edge; past the end, the end).
 * @param {number[][]} pts @param {number[]} lengths @returns {number[][]}
 */
function atLengths(pts, lengths) {
  const cum = cumulativeLengths(pts);
  const last = cum.length - 1;
  if (cum[last] === 0) return lengths.map(() => [pts[0][0], pts[0][1]]);
  return lengths.map((x) => {
    if (x <= cum[0]) return [pts[0][0], pts[0][1]];
    if (x >= cum[last]) return [pts[last][0], pts[last][1]];
    let lo = 0;
    let hi = last; // cum[lo] <= x < cum[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] <= x) lo = mid;
      else hi = mid;
    }
    if (x === cum[lo]) return [pts[lo][0], pts[lo][1]];
    const t = (x - cum[lo]) / (cum[lo + 1] - cum[lo]);
    return [pts[lo][0] + t * (pts[lo + 1][0] - pts[lo][0]), pts[lo][1] + t * (pts[lo + 1][1] - pts[lo][1])];
  });
}

/** `n` points evenly spaced along the closed outline, the first at pts[0]. @param {number[][]} pts @param {number} n */
export function resampleClosed(pts, n) {
  const ring = [...pts, pts[0]];
  const cum = cumulativeLengths(ring);
  const total = cum[cum.length - 1];
  return atLengths(ring, Array.from({ length: n }, (_, k) => k * (total / n)));
}

/** `n` points evenly spaced along the open line, both ends kept. @param {number[][]} pts @param {number} n */
export function resampleOpen(pts, n) {
  const cum = cumulativeLengths(pts);
  const total = cum[cum.length - 1];
  const step = n > 1 ? total / (n - 1) : 0;
  return atLengths(pts, Array.from({ length: n }, (_, k) => (k === n - 1 ? total : k * step)));
}

/** Shoelace area; its sign tells the winding. @param {number[][]} pts */
export function signedArea(pts) {
  let s = 0;
  for (let k = 0; k < pts.length; k++) {
    const a = pts[k];
    const b = pts[(k + 1) % pts.length];
    s += a[0] * b[1] - a[1] * b[0];
  }
  return 0.5 * s;
}

/**
 * Two outlines with one count, point k of one to blend with point k of the other
 * (geometry/tracks.py's align_outlines).
 * @param {number[][]} a @param {number[][]} b @param {boolean} closed
 * @returns {[number[][], number[][]]}
 */
export function alignOutlines(a, b, closed) {
  if (a.length === b.length) return [a, b];
  const n = Math.max(a.length, b.length);
  if (!closed) return [resampleOpen(a, n), resampleOpen(b, n)];
  let bi = 0;
  let bj = 0;
  let best = Infinity;
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      const dx = a[i][0] - b[j][0];
      const dy = a[i][1] - b[j][1];
      const d = dx * dx + dy * dy;
      if (d < best) {
        best = d;
        bi = i;
        bj = j;
      }
    }
  }
  const ra = [...a.slice(bi), ...a.slice(0, bi)];
  let rb = [...b.slice(bj), ...b.slice(0, bj)];
  if ((signedArea(ra) > 0) !== (signedArea(rb) > 0)) rb = [rb[0], ...rb.slice(1).reverse()];
  return [resampleClosed(ra, n), resampleClosed(rb, n)];
}

// -- blends ---------------------------------------------------------------------------------------

/**
 * The geometry `t` (0..1) of the way from `a` to `b`.
 * @param {Shape} shape @param {Geometry} a @param {Geometry} b @param {number} t @returns {Geometry}
 */
export function interpolate(shape, a, b, t) {
  if (t <= 0) return copyGeometry(a);
  if (t >= 1) return copyGeometry(b);
  if (shape === "box" || shape === "keypoint") {
    /** @type {Geometry} */
    const out = {};
    for (const k of shape === "box" ? BOX_KEYS : POINT_KEYS) out[k] = +a[k] + t * (+b[k] - +a[k]);
    return out;
  }
  const [pa, pb] = alignOutlines(points(a), points(b), shape === "polygon");
  return { points: pa.map((p, k) => [p[0] + t * (pb[k][0] - p[0]), p[1] + t * (pb[k][1] - p[1])]) };
}

/** @param {Geometry} g @returns {number[][]} */
const points = (g) => g.points.map((/** @type {number[]} */ p) => [+p[0], +p[1]]);

/** @param {Geometry} g @returns {Geometry} */
export function copyGeometry(g) {
  if (Array.isArray(g.points)) return { points: points(g) };
  /** @type {Geometry} */
  const out = {};
  for (const [k, v] of Object.entries(g)) out[k] = +v;
  return out;
}

// -- tracks ---------------------------------------------------------------------------------------

/**
 * Every frame the track is present on, with its shape and attributes there (the server's
 * expand_track).
 * @param {Keyframe[]} keyframes sorted by frame @param {Shape} shape @param {boolean} interpolating
 * @param {Values} [trackAttrs] @param {number} [frames] the sequence's frame count (tracking
 *   holds the last shape to its last frame) @returns {FrameShape[]}
 */
export function expandTrack(keyframes, shape, interpolating, trackAttrs, frames = 0) {
  /** @type {FrameShape[]} */
  const out = [];
  /** @type {Values} */
  let attrs = { ...(trackAttrs || {}) };
  /** @type {Keyframe | null} */
  let prev = null;
  for (const kf of keyframes) {
    const geometry = kf[shape];
    const before = prev ? prev[shape] : undefined;
    if (prev && interpolating && before && kf.frame - prev.frame > 1) {
      const held = { ...attrs };
      for (let f = prev.frame + 1; f < kf.frame; f++) {
        const g = geometry ? interpolate(shape, before, geometry, (f - prev.frame) / (kf.frame - prev.frame)) : copyGeometry(before);
        out.push({ frame: f, geometry: g, attrs: held, keyframe: false });
      }
    }
    if (kf.attrs && Object.keys(kf.attrs).length) attrs = { ...attrs, ...kf.attrs };
    if (geometry) out.push({ frame: kf.frame, geometry: copyGeometry(geometry), attrs: { ...attrs }, keyframe: true });
    prev = kf;
  }
  const last = prev && prev[shape];
  if (interpolating && prev && last) {
    const held = { ...attrs };
    for (let f = prev.frame + 1; f < frames; f++) out.push({ frame: f, geometry: copyGeometry(last), attrs: held, keyframe: false });
  }
  return out;
}

/**
 * Where `frame` falls among the keyframes: the index of the last keyframe at or before it
 * (-1: none), by binary search (a track may have a keyframe on every frame).
 * @param {Keyframe[]} keyframes @param {number} frame
 */
export function keyframeIndexAtOrBefore(keyframes, frame) {
  let lo = 0;
  let hi = keyframes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyframes[mid].frame <= frame) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The track's shape on one frame of the sequence (what the player draws), or null when it
 * is not there: tracking holds a shape after its keyframe until an outside one, and after
 * the last keyframe.
 * @param {Track} track @param {number} frame @param {Shape} shape @param {boolean} interpolating
 * @returns {{geometry: Geometry, keyframe: boolean, held?: boolean} | null} (`held`: the
 *   shape of the keyframe before, not blended toward a next one)
 */
export function shapeAt(track, frame, shape, interpolating) {
  const kfs = track.keyframes;
  const i = keyframeIndexAtOrBefore(kfs, frame);
  if (i < 0) return null;
  const kf = kfs[i];
  const g = kf[shape];
  if (kf.frame === frame) return g ? { geometry: g, keyframe: true } : null;
  if (!interpolating || !g) return null;
  const next = kfs[i + 1];
  const h = next && next[shape];
  if (!h) return { geometry: g, keyframe: false, held: true }; // the object stays until marked outside
  return { geometry: interpolate(shape, g, h, (frame - kf.frame) / (next.frame - kf.frame)), keyframe: false };
}

/** The attributes in force on `frame`: the track's own, then each keyframe's override up to it. @param {Track} track @param {number} frame */
export function attrsAt(track, frame) {
  /** @type {Values} */
  let attrs = { ...(track.attrs || {}) };
  for (const kf of track.keyframes) {
    if (kf.frame > frame) break;
    if (kf.attrs) attrs = { ...attrs, ...kf.attrs };
  }
  return attrs;
}

/**
 * The frame ranges the track is present on, [first, last] inclusive, for the timeline.
 * @param {Track} track @param {Shape} shape @param {boolean} interpolating
 * @param {number} frames the sequence's frame count @returns {[number, number][]}
 */
export function presentRanges(track, shape, interpolating, frames) {
  /** @type {[number, number][]} */
  const out = [];
  const kfs = track.keyframes;
  for (let i = 0; i < kfs.length; i++) {
    if (!kfs[i][shape]) continue;
    const next = kfs[i + 1];
    const end = !interpolating ? kfs[i].frame : next ? next.frame - 1 : Math.max(kfs[i].frame, frames - 1);
    const last = out[out.length - 1];
    if (last && last[1] >= kfs[i].frame - 1) last[1] = Math.max(last[1], end);
    else out.push([kfs[i].frame, end]);
  }
  return out;
}

// -- edits (on a copy the store hands out: they change the track in place) ----------------------

/**
 * Put a keyframe at `frame` (replacing one there): a drawn one clears the `predicted` mark.
 * @param {Track} track @param {Keyframe} kf @returns {Keyframe} the keyframe in the track
 */
export function setKeyframe(track, kf) {
  const i = keyframeIndexAtOrBefore(track.keyframes, kf.frame);
  if (i >= 0 && track.keyframes[i].frame === kf.frame) {
    const attrs = track.keyframes[i].attrs;
    track.keyframes[i] = attrs && !kf.attrs ? { ...kf, attrs } : kf;
    return track.keyframes[i];
  }
  track.keyframes.splice(i + 1, 0, kf);
  return kf;
}

/**
 * Make `frame` a keyframe with the shape shown there (the interpolated one), so that it can
 * be edited or carry attributes. Returns it, or null when the track is not on that frame.
 * @param {Track} track @param {number} frame @param {Shape} shape @param {boolean} interpolating
 */
export function ensureKeyframe(track, frame, shape, interpolating) {
  const i = keyframeIndexAtOrBefore(track.keyframes, frame);
  if (i >= 0 && track.keyframes[i].frame === frame && track.keyframes[i][shape]) return track.keyframes[i];
  const at = shapeAt(track, frame, shape, interpolating);
  if (!at) return null;
  return setKeyframe(track, { frame, [shape]: copyGeometry(at.geometry) });
}

/**
 * A keyframe on `frame` for a track that is not there (before its first keyframe, or while
 * outside; detection: any frame but its keyframes): the nearest drawn shape, the last one
 * before else the first one after, held there. Returns whether the track had a shape to hold.
 * @param {Track} track @param {number} frame @param {Shape} shape
 */
export function extendTo(track, frame, shape) {
  const before = track.keyframes.filter((k) => k.frame < frame && k[shape]);
  const from = before.length ? before[before.length - 1] : track.keyframes.find((k) => k.frame > frame && k[shape]);
  const g = from && from[shape];
  if (!g) return false;
  setKeyframe(track, { frame, [shape]: copyGeometry(g) });
  return true;
}

/**
 * The object leaves the picture at `frame` (until a later keyframe brings it back).
 * @param {Track} track @param {number} frame
 */
export function markOutside(track, frame) {
  setKeyframe(track, { frame, outside: true });
}

/**
 * Delete the track's frames before `frame` (`before`) or after it: the frame itself stays,
 * made a keyframe when it was interpolated; tracking, the frame after it gets an `outside`
 * keyframe (else the shape would be held on to the end).
 * @param {Track} track @param {number} frame @param {"before" | "after"} side
 * @param {Shape} shape @param {boolean} interpolating @param {number} frames the sequence's frame count
 */
export function deleteSide(track, frame, side, shape, interpolating, frames) {
  ensureKeyframe(track, frame, shape, interpolating);
  track.keyframes = track.keyframes.filter((k) => (side === "before" ? k.frame >= frame : k.frame <= frame));
  if (side === "after" && interpolating && frame + 1 < frames) track.keyframes.push({ frame: frame + 1, outside: true });
}

/**
 * The shape on `frame` copied to frame + 1 (a keyframe there). Where the object was marked
 * outside on frame + 1, it now leaves one frame later.
 * @param {Track} track @param {number} frame @param {Shape} shape @param {boolean} interpolating
 * @param {number} frames the sequence's frame count
 * @returns {boolean} whether there was a shape to copy
 */
export function copyToNext(track, frame, shape, interpolating, frames) {
  const at = shapeAt(track, frame, shape, interpolating);
  if (!at || frame + 1 >= frames) return false;
  const i = keyframeIndexAtOrBefore(track.keyframes, frame + 1);
  const there = i >= 0 && track.keyframes[i].frame === frame + 1 ? track.keyframes[i] : null;
  setKeyframe(track, { frame: frame + 1, [shape]: copyGeometry(at.geometry) });
  const after = track.keyframes[i + 1];
  if (there && there.outside && interpolating && frame + 2 < frames && !(after && after.frame === frame + 2)) {
    setKeyframe(track, { frame: frame + 2, outside: true });
  }
  return true;
}

/**
 * The shape on `frame` held on every frame of the sequence: tracking, keyframes on the first,
 * this and the last frame (the others go); detection, a keyframe on every frame. Attribute
 * overrides on the keyframes kept are kept.
 * @param {Track} track @param {number} frame @param {Shape} shape @param {boolean} interpolating
 * @param {number} frames
 */
export function copyToAll(track, frame, shape, interpolating, frames) {
  const at = shapeAt(track, frame, shape, interpolating);
  if (!at) return false;
  const g = at.geometry;
  const wanted = interpolating ? [...new Set([0, frame, frames - 1])] : Array.from({ length: frames }, (_, f) => f);
  const old = new Map(track.keyframes.map((k) => [k.frame, k]));
  // The attributes in force stay in force: the first keyframe carries what held before it.
  const firstAttrs = attrsAt(track, 0);
  track.keyframes = wanted.map((f) => {
    const kept = old.get(f);
    /** @type {Keyframe} */
    const kf = { frame: f, [shape]: copyGeometry(g) };
    if (kept && kept.attrs) kf.attrs = kept.attrs;
    return kf;
  });
  if (Object.keys(firstAttrs).length && !track.keyframes[0].attrs) track.attrs = firstAttrs;
  return true;
}

/**
 * Predicted boxes added as keyframes, frame by frame, until the first frame the worker
 * drew (a keyframe not `predicted`): never overwritten. Returns how many were added.
 * @param {Track} track @param {{frame: number, left: number, top: number, width: number, height: number}[]} boxes
 */
export function applyPrediction(track, boxes) {
  let added = 0;
  for (const b of boxes) {
    const i = keyframeIndexAtOrBefore(track.keyframes, b.frame);
    const there = i >= 0 && track.keyframes[i].frame === b.frame ? track.keyframes[i] : null;
    if (there && !there.predicted) break;
    setKeyframe(track, { frame: b.frame, box: { left: b.left, top: b.top, width: b.width, height: b.height }, predicted: true });
    added++;
  }
  return added;
}

/**
 * The track as the answer carries it (contract: object-id, label, number, attributes,
 * keyframes with the shape key or outside).
 * @param {Track} track @param {Shape} shape @param {(label: string, attrs: Values | undefined) => Values} keep
 *   the attributes that belong to the label and are set
 */
export function trackAnswer(track, shape, keep) {
  /** @type {Record<string, any>} */
  const out = { "object-id": track.objectId, label: track.label, number: track.number };
  const own = keep(track.label, track.attrs);
  if (Object.keys(own).length) out["label-category-attributes"] = own;
  out.keyframes = track.keyframes.map((k) => {
    /** @type {Record<string, any>} */
    const kf = { frame: k.frame };
    if (k.outside || !k[shape]) kf.outside = true;
    else kf[shape] = roundGeometry(/** @type {Geometry} */ (k[shape]));
    const attrs = keep(track.label, k.attrs);
    if (Object.keys(attrs).length) kf["label-category-attributes"] = attrs;
    return kf;
  });
  return out;
}

/** Pixels to 2 decimals, as the server's SeqLabel writer keeps them. @param {Geometry} g */
export function roundGeometry(g) {
  const r = (/** @type {number} */ v) => Math.round(v * 100) / 100;
  if (Array.isArray(g.points)) return { points: g.points.map((/** @type {number[]} */ p) => [r(p[0]), r(p[1])]) };
  /** @type {Geometry} */
  const out = {};
  for (const [k, v] of Object.entries(g)) out[k] = r(+v);
  return out;
}

/**
 * Tracks from an answer-shaped value (`{tracks: [...]}`) or a SeqLabel document
 * (`{"tracking-annotations" | "detection-annotations": [per frame]}`: every frame a keyframe,
 * and an `outside` one on the frame after each run of frames an object is on, so that
 * tracking holds it no further). Labels outside `labels` are dropped.
 * @param {any} value @param {Shape} shape @param {string[]} labels @param {Map<string, number>} [frameIndex]
 *   a SeqLabel frame's name to its index in the sequence
 * @returns {Track[] | null} null when the value is neither
 */
export function tracksFrom(value, shape, labels, frameIndex) {
  if (!value || typeof value !== "object") return null;
  if (Array.isArray(value.tracks)) {
    /** @type {Track[]} */
    const out = [];
    for (const t of value.tracks) {
      if (!t || !labels.includes(t.label) || !Array.isArray(t.keyframes)) continue;
      const keyframes = t.keyframes
        .filter((/** @type {any} */ k) => k && Number.isInteger(k.frame))
        .map((/** @type {any} */ k) => {
          /** @type {Keyframe} */
          const kf = k.outside || !k[shape] ? { frame: k.frame, outside: true } : { frame: k.frame, [shape]: copyGeometry(k[shape]) };
          if (k["label-category-attributes"]) kf.attrs = { ...k["label-category-attributes"] };
          return kf;
        })
        .sort((/** @type {Keyframe} */ a, /** @type {Keyframe} */ b) => a.frame - b.frame);
      out.push({
        id: out.length + 1, objectId: String(t["object-id"] || newObjectId()), label: t.label,
        number: Number(t.number) || 0, attrs: { ...(t["label-category-attributes"] || {}) }, keyframes,
      });
    }
    return numbered(out);
  }
  const frames = value["tracking-annotations"] || value["detection-annotations"];
  if (!Array.isArray(frames)) return null;
  const listKey = { box: "annotations", polygon: "polygons", polyline: "polylines", keypoint: "keypoints" }[shape];
  /** @type {Map<string, Track>} */
  const byObject = new Map();
  let count = 0;
  frames.forEach((fr, position) => {
    const index = frameIndex && fr && frameIndex.has(String(fr.frame)) ? /** @type {number} */ (frameIndex.get(String(fr.frame))) : position;
    count = Math.max(count, index + 1);
    for (const o of (fr && fr[listKey]) || []) {
      const name = String(o["object-name"] || "");
      const label = name.includes(":") ? name.slice(0, name.lastIndexOf(":")) : name;
      if (!labels.includes(label)) continue;
      const id = String(o["object-id"] || name);
      let track = byObject.get(id);
      if (!track) {
        track = { id: byObject.size + 1, objectId: String(o["object-id"] || newObjectId()), label,
          number: Number(name.slice(name.lastIndexOf(":") + 1)) || 0, attrs: {}, keyframes: [] };
        byObject.set(id, track);
      }
      const geometry = shape === "box" ? { left: +o.left, top: +o.top, width: +o.width, height: +o.height }
        : shape === "keypoint" ? { x: +o.x, y: +o.y }
        : { points: (o.vertices || []).map((/** @type {any} */ v) => [+v.x, +v.y]) };
      /** @type {Keyframe} */
      const kf = { frame: index, [shape]: geometry };
      if (o["label-category-attributes"] && Object.keys(o["label-category-attributes"]).length) kf.attrs = { ...o["label-category-attributes"] };
      track.keyframes.push(kf);
    }
  });
  const out = [...byObject.values()];
  for (const t of out) {
    t.keyframes.sort((a, b) => a.frame - b.frame);
    /** @type {Keyframe[]} */
    const closed = [];
    t.keyframes.forEach((k, n) => {
      closed.push(k);
      const next = t.keyframes[n + 1];
      if (k.frame + 1 < (next ? next.frame : count)) closed.push({ frame: k.frame + 1, outside: true });
    });
    t.keyframes = closed;
  }
  return numbered(out);
}

/** Numbers unique per label (1, 2, ... where missing or repeated). @param {Track[]} tracks */
function numbered(tracks) {
  /** @type {Map<string, Set<number>>} */
  const used = new Map();
  for (const t of tracks) {
    const set = used.get(t.label) || new Set();
    used.set(t.label, set);
    if (t.number < 1 || set.has(t.number)) t.number = 0;
    else set.add(t.number);
  }
  for (const t of tracks) if (!t.number) t.number = nextNumber(tracks, t.label);
  return tracks;
}

/** The next free number of a label ("car:3"). @param {Track[]} tracks @param {string} label */
export function nextNumber(tracks, label) {
  let n = 0;
  for (const t of tracks) if (t.label === label && t.number > n) n = t.number;
  return n + 1;
}

/** A new object id (crypto.randomUUID needs a secure context; this works over http too). */
export function newObjectId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") {
    try {
      return c.randomUUID();
    } catch {
      /* not a secure context */
    }
  }
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
