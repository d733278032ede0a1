// @ts-check
/**
 * The point-cloud tool's pure maths (no three.js, no DOM), the same as
 * geometry/cuboids.py's so that what the worker sees is what the server computes:
 * a cuboid's rotation (Ground Truth's convention: right-handed, z up, roll then pitch then
 * yaw about the fixed axes, R = Rz(yaw) · Ry(pitch) · Rx(roll); length along the cuboid's
 * x, width along y, height along z), its corners, the points inside it, and interpolating
 * between keyframes. Fitting a cuboid to its points and snapping it to the ground are the
 * server's (POST .../frames/{k}/fit and /ground), so both fit the same way.
 *
 * Points are the frame's interleaved float32 x, y, z, intensity (4 floats a point), as
 * GET /api/items/{id}/pointcloud/frames/{k}/points sends them.
 */

/**
 * @typedef {{"center-x": number, "center-y": number, "center-z": number,
 *   length: number, width: number, height: number, roll: number, pitch: number, yaw: number}} Cuboid
 */

/** The nine numbers of a cuboid, in the answer's order. */
export const CUBOID_KEYS = /** @type {const} */ ([
  "center-x", "center-y", "center-z", "length", "width", "height", "roll", "pitch", "yaw",
]);

/** The smallest size a side may have (metres): the answer needs sizes > 0. */
export const MIN_SIZE = 0.05;

/**
 * Rotation matrix of a cuboid, row-major 3x3: columns are the cuboid's x, y, z axes in
 * the frame's coordinates.
 * @param {{roll: number, pitch: number, yaw: number}} c
 * @returns {number[]}
 */
export function rotation(c) {
  const [cr, sr] = [Math.cos(c.roll), Math.sin(c.roll)];
  const [cp, sp] = [Math.cos(c.pitch), Math.sin(c.pitch)];
  const [cy, sy] = [Math.cos(c.yaw), Math.sin(c.yaw)];
  return [
    cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr,
    sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr,
    -sp, cp * sr, cp * cr,
  ];
}

/**
 * The 8 corners, in geometry/cuboids.py's order: 0-3 the bottom (z-), 4-7 the top, each
 * ring (+l +w), (+l -w), (-l -w), (-l +w) (halves of length and width).
 * @param {Cuboid} c @returns {[number, number, number][]}
 */
export function corners(c) {
  const R = rotation(c);
  /** @type {[number, number, number][]} */
  const out = [];
  for (const sz of [-1, 1]) for (const [sx, sy] of [[1, 1], [1, -1], [-1, -1], [-1, 1]]) {
    const lx = (sx * c.length) / 2;
    const ly = (sy * c.width) / 2;
    const lz = (sz * c.height) / 2;
    out.push([
      c["center-x"] + R[0] * lx + R[1] * ly + R[2] * lz,
      c["center-y"] + R[3] * lx + R[4] * ly + R[5] * lz,
      c["center-z"] + R[6] * lx + R[7] * ly + R[8] * lz,
    ]);
  }
  return out;
}

/**
 * Each point in the cuboid's own frame (centre at 0, axes along length, width, height),
 * for the points within `reach` metres of its centre (a cheap sphere test first).
 * @param {Float32Array} points @param {Cuboid} c @param {number} reach
 * @returns {{index: Uint32Array, local: Float32Array}} local: x, y, z per point found
 */
export function localPoints(points, c, reach) {
  const R = rotation(c);
  const n = points.length >> 2;
  const cx = c["center-x"], cy = c["center-y"], cz = c["center-z"];
  const r2 = reach * reach;
  const idx = [];
  const loc = [];
  for (let i = 0; i < n; i++) {
    const dx = points[4 * i] - cx, dy = points[4 * i + 1] - cy, dz = points[4 * i + 2] - cz;
    if (dx * dx + dy * dy + dz * dz > r2) continue;
    idx.push(i);
    // R is orthonormal: local = R^T (p - c)
    loc.push(R[0] * dx + R[3] * dy + R[6] * dz, R[1] * dx + R[4] * dy + R[7] * dz, R[2] * dx + R[5] * dy + R[8] * dz);
  }
  return { index: Uint32Array.from(idx), local: Float32Array.from(loc) };
}

/**
 * Indexes of the points inside the cuboid, its sides grown by `margin` metres.
 * @param {Float32Array} points @param {Cuboid} c @param {number} [margin]
 */
export function pointsInside(points, c, margin = 0) {
  const hx = c.length / 2 + margin, hy = c.width / 2 + margin, hz = c.height / 2 + margin;
  const { index, local } = localPoints(points, c, Math.hypot(hx, hy, hz));
  const out = [];
  for (let j = 0; j < index.length; j++) {
    if (Math.abs(local[3 * j]) <= hx && Math.abs(local[3 * j + 1]) <= hy && Math.abs(local[3 * j + 2]) <= hz) out.push(index[j]);
  }
  return Uint32Array.from(out);
}

/** An angle in (-pi, pi]. @param {number} a */
export function wrapAngle(a) {
  const t = 2 * Math.PI;
  let r = ((a + Math.PI) % t + t) % t - Math.PI;
  if (r === -Math.PI) r = Math.PI;
  return r;
}

/**
 * The cuboid between two keyframes: centre and size linear, each angle along the shorter
 * arc (geometry/cuboids.py's interpolate_cuboids).
 * @param {Cuboid} a @param {Cuboid} b @param {number} t 0 at a, 1 at b @returns {Cuboid}
 */
export function interpolate(a, b, t) {
  /** @param {number} x @param {number} y */
  const lin = (x, y) => x + (y - x) * t;
  /** @param {number} x @param {number} y */
  const ang = (x, y) => wrapAngle(x + wrapAngle(y - x) * t);
  return {
    "center-x": lin(a["center-x"], b["center-x"]), "center-y": lin(a["center-y"], b["center-y"]),
    "center-z": lin(a["center-z"], b["center-z"]), length: lin(a.length, b.length),
    width: lin(a.width, b.width), height: lin(a.height, b.height),
    roll: ang(a.roll, b.roll), pitch: ang(a.pitch, b.pitch), yaw: ang(a.yaw, b.yaw),
  };
}

/** The nine numbers only (drops ids, labels...), rounded to what matters (mm, 1e-5 rad). @param {any} c @returns {Cuboid} */
export function cuboidOf(c) {
  /** @type {any} */
  const out = {};
  for (const k of CUBOID_KEYS) {
    const v = Number(c[k]);
    out[k] = k === "roll" || k === "pitch" || k === "yaw" ? Math.round(wrapAngle(v) * 1e5) / 1e5 : Math.round(v * 1000) / 1000;
  }
  return out;
}
