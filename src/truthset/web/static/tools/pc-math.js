// @ts-check
/**
 * The point-cloud tool's pure maths (no three.js, no DOM), the same as
 * geometry/cuboids.py's so that what the worker sees is what the server computes:
 * a cuboid's rotation (Ground Truth's convention: right-handed, z up, roll then pitch then
 * yaw about the fixed axes, R = Rz(yaw) · Ry(pitch) · Rx(roll); length along the cuboid's
 * x, width along y, height along z), its corners, the points inside it, and interpolating
 * between keyframes, and projecting into a camera image. Fitting a cuboid to its points and snapping it to the ground are the
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

/** An angle in [-pi, pi), as geometry/cuboids.py's wrap_angle. @param {number} a */
export function wrapAngle(a) {
  const t = 2 * Math.PI;
  return (((a + Math.PI) % t) + t) % t - Math.PI;
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

/**
 * @typedef {{fx: number, fy: number, cx: number, cy: number, skew?: number, "camera-model"?: string,
 *   k1?: number, k2?: number, k3?: number, k4?: number, p1?: number, p2?: number,
 *   position: {x: number, y: number, z: number}, heading: {qx: number, qy: number, qz: number, qw: number}}} Camera
 * @typedef {{position: {x: number, y: number, z: number}, heading: {qx: number, qy: number, qz: number, qw: number}}} Pose
 */

/** The rotation of a unit quaternion, row-major 3x3. @param {{qx: number, qy: number, qz: number, qw: number}} q */
export function quaternionMatrix(q) {
  let [x, y, z, w] = [Number(q.qx), Number(q.qy), Number(q.qz), Number(q.qw)];
  const n = Math.hypot(x, y, z, w) || 1;
  [x, y, z, w] = [x / n, y / n, z / n, w / n];
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ];
}

/**
 * A point of the cloud in a camera image, geometry/cuboids.py's project: into the
 * camera's frame (x right, y down, z the optical axis; the camera's position and heading
 * are its pose in the cloud's frame, or, with an ego pose, the points are the vehicle's
 * and the pose moves them into the world first), through the lens (pinhole:
 * Brown-Conrady k1-k4, p1, p2; fisheye: Kannala-Brandt), then u = fx xd + skew yd + cx,
 * v = fy yd + cy.
 * @param {number[]} p x, y, z @param {Camera} cam @param {Pose | null} [ego]
 * @returns {{u: number, v: number, depth: number}} depth <= 0: behind the camera
 */
export function projectPoint(p, cam, ego = null) {
  let [x, y, z] = p;
  if (ego) {
    const E = quaternionMatrix(ego.heading);
    [x, y, z] = [
      E[0] * x + E[1] * y + E[2] * z + Number(ego.position.x),
      E[3] * x + E[4] * y + E[5] * z + Number(ego.position.y),
      E[6] * x + E[7] * y + E[8] * z + Number(ego.position.z),
    ];
  }
  const R = quaternionMatrix(cam.heading);
  const dx = x - Number(cam.position.x), dy = y - Number(cam.position.y), dz = z - Number(cam.position.z);
  const X = R[0] * dx + R[3] * dy + R[6] * dz;
  const Y = R[1] * dx + R[4] * dy + R[7] * dz;
  const depth = R[2] * dx + R[5] * dy + R[8] * dz;
  const safe = Math.abs(depth) > 1e-9 ? depth : 1e-9;
  const [xd, yd] = distort(X / safe, Y / safe, cam);
  return { u: Number(cam.fx) * xd + Number(cam.skew || 0) * yd + Number(cam.cx), v: Number(cam.fy) * yd + Number(cam.cy), depth };
}

/** @param {number} xn @param {number} yn @param {Camera} cam @returns {[number, number]} */
function distort(xn, yn, cam) {
  const [k1, k2, k3, k4, p1, p2] = ["k1", "k2", "k3", "k4", "p1", "p2"].map((k) => Number(/** @type {any} */ (cam)[k] || 0));
  const r2 = xn * xn + yn * yn;
  if (cam["camera-model"] === "fisheye") {
    const r = Math.sqrt(r2);
    const theta = Math.atan(r);
    const t2 = theta * theta;
    const thetaD = theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))));
    const scale = r > 1e-12 ? thetaD / r : 1;
    return [xn * scale, yn * scale];
  }
  const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * (k3 + r2 * k4)));
  return [
    xn * radial + 2 * p1 * xn * yn + p2 * (r2 + 2 * xn * xn),
    yn * radial + p1 * (r2 + 2 * yn * yn) + 2 * p2 * xn * yn,
  ];
}

/** The 12 edges of a cuboid as pairs of corner indexes (corners()' order). */
export const EDGES = [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]];
