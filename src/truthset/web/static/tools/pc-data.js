// @ts-check
/**
 * The point cloud of a task, from POINTS-BACK's routes: the frames' description
 * (GET /api/items/{id}/pointcloud) and each frame's points as little-endian float32
 * x, y, z, intensity (GET .../frames/{k}/points, X-Point-Count), kept in a small cache so
 * that scrubbing back and forth through a sequence does not fetch a frame twice.
 */
import { api, ApiError } from "../js/api.js";

/**
 * @typedef {{index: number, "camera-model"?: string, fx: number, fy: number, cx: number, cy: number,
 *   k1?: number, k2?: number, k3?: number, k4?: number, p1?: number, p2?: number, skew?: number,
 *   position: {x: number, y: number, z: number}, heading: {qx: number, qy: number, qz: number, qw: number},
 *   width?: number, height?: number}} CameraInfo
 * @typedef {{index: number, "frame-no"?: any, "unix-timestamp"?: number, "point-count": number,
 *   bounds: {min: number[], max: number[]}, "ego-vehicle-pose"?: any, images?: CameraInfo[]}} FrameInfo
 * @typedef {{frames: FrameInfo[]}} CloudInfo
 */

/** How many frames' points stay in memory (a 120,000-point frame is 1.9 MB). */
const KEPT_FRAMES = 24;

export class CloudSource {
  /**
   * @param {import("../js/types.js").Task} task its item's media_url, /api/items/{id}/media,
   *   names the item (its id in the manifest is another thing)
   */
  constructor(task) {
    const item = String(task.item.media_url || "").replace(/\/media$/, "");
    if (!item) throw new Error("this task's item has no source-ref: there is no point cloud to show");
    this.base = `${item}/pointcloud`;
    /** @type {Map<number, Promise<Float32Array>>} */
    this.frames = new Map();
    /** @type {Promise<CloudInfo> | null} */
    this.described = null;
  }

  /** @returns {Promise<CloudInfo>} */
  info() {
    if (!this.described) {
      this.described = api(this.base);
      this.described.catch(() => {
        this.described = null;
      });
    }
    return this.described;
  }

  /** @param {number} k @returns {Promise<Float32Array>} */
  points(k) {
    let p = this.frames.get(k);
    if (p) {
      this.frames.delete(k); // most recently used last
      this.frames.set(k, p);
      return p;
    }
    p = fetchPoints(`${this.base}/frames/${k}/points`);
    p.catch(() => this.frames.delete(k));
    this.frames.set(k, p);
    while (this.frames.size > KEPT_FRAMES) this.frames.delete(this.frames.keys().next().value ?? k);
    return p;
  }

  /** The URL of camera image i of frame k. @param {number} k @param {number} i */
  imageUrl(k, i) {
    return `${this.base}/frames/${k}/images/${i}`;
  }
}

/** @param {string} url @returns {Promise<Float32Array>} */
async function fetchPoints(url) {
  let res;
  try {
    res = await fetch(url, { credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(0, "network", `the points could not be fetched: ${err}`);
  }
  if (!res.ok) {
    let body = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, (body && body.error) || "error", (body && body.detail) || res.statusText);
  }
  const bytes = await res.arrayBuffer();
  if (bytes.byteLength % 16) throw new Error(`the points of ${url} are ${bytes.byteLength} bytes, not 16 a point`);
  const count = Number(res.headers.get("X-Point-Count") ?? bytes.byteLength / 16);
  if (count * 16 !== bytes.byteLength) throw new Error(`${url}: X-Point-Count ${count} does not match ${bytes.byteLength} bytes`);
  return new Float32Array(bytes);
}

/** Sources of the tasks shown or fetched ahead (the next task's first frame is fetched
 * while the worker answers this one). */
/** @type {Map<string, CloudSource>} */
const sources = new Map();

/** The task's source, the one fetched ahead when there was one. @param {import("../js/types.js").Task} task */
export function sourceFor(task) {
  const key = String(task.item.media_url || "");
  let s = sources.get(key);
  if (!s) {
    s = new CloudSource(task);
    sources.set(key, s);
    while (sources.size > 3) sources.delete(sources.keys().next().value ?? key);
  }
  return s;
}
