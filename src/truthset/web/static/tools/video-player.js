// @ts-check
/**
 * The video tool's frames: the sequence's facts (GET /api/items/{id}/sequence), each frame
 * fetched (GET .../frames/{i}) and decoded off the main thread (createImageBitmap) ahead
 * of the current one, and a player that paints a frame on a canvas the moment it is asked
 * when it was prefetched, and plays at the clip's frame rate (waiting for a frame that is
 * not decoded yet rather than skipping it: every frame is one to annotate).
 *
 * Frames are decoded at the size they are shown (`setScale`: the view's zoom, in steps),
 * by the browser's decoder thread (createImageBitmap's resize), not at their full size:
 * a 1920×1080 frame fitted into a 1200-pixel-wide view is decoded at half its size, so
 * neither the main thread nor the (software) compositor moves 8 MB per frame, and twice
 * as many frames fit the cache. Zoomed in, they are decoded at full size again.
 *
 * Memory: decoded frames are big, so at most `budgetBytes` of them are kept, those
 * nearest the current frame; the compressed bytes of more frames stay in a second cache,
 * and the browser's HTTP cache (the route's ETag) behind that.
 */

/**
 * @typedef {{"number-of-frames": number, "frame-rate": number, width: number | null, height: number | null,
 *   frames: {index: number, "frame-no": number | string, frame: string, "unix-timestamp": number | null}[]}} SequenceInfo
 */

/**
 * Frames fetched and decoded at once: one while the worker steps through the frames (a
 * decode of a 1920×1080 JPEG is tens of milliseconds of a core, and two or four at once on
 * this 2-core machine delayed the browser's next frame past 100 ms at p95: one decode kept
 * it at 36-54 ms), two while playing, when throughput counts.
 */
const LANES = { stepping: 1, playing: 2 };
/** The decode sizes, as fractions of the full frame: the smallest one at or above the shown size. */
const DECODE_STEPS = [0.125, 0.25, 0.375, 0.5, 0.75, 1];

export class FrameSource {
  /**
   * @param {string} base the item's API path, e.g. /api/items/12
   * @param {{budgetBytes?: number, blobs?: number}} [opts]
   */
  constructor(base, opts = {}) {
    this.base = base;
    this.budgetBytes = opts.budgetBytes ?? 200e6;
    this.maxBlobs = opts.blobs ?? 600;
    /** @type {SequenceInfo | null} */
    this.info = null;
    /** @type {Map<number, ImageBitmap>} decoded frames */
    this.bitmaps = new Map();
    /** @type {Map<number, Blob>} compressed frames, oldest first */
    this.blobs = new Map();
    /** @type {Map<number, Promise<ImageBitmap>>} */
    this.pending = new Map();
    /** @type {number[]} frames wanted, nearest first */
    this.queue = [];
    this.active = 0;
    this.lanes = LANES.stepping;
    this.center = 0;
    this.closed = false;
    /** The decode size (a DECODE_STEPS fraction) and what it was when each pending fetch began. */
    this.decodeScale = 1;
  }

  /**
   * The frames are shown at `shown` device pixels per frame pixel: decode them at the
   * smallest step at or above it. Returns whether the step changed (the decoded frames
   * were dropped; the caller shows the next decode when it comes).
   * @param {number} shown
   */
  setScale(shown) {
    const step = DECODE_STEPS.find((d) => d >= shown - 1e-6) || 1;
    if (step === this.decodeScale) return false;
    this.decodeScale = step;
    for (const b of this.bitmaps.values()) b.close();
    this.bitmaps.clear();
    return true;
  }

  /** The decoded size of a frame now. */
  get decodeSize() {
    const w = (this.info && this.info.width) || 0;
    const h = (this.info && this.info.height) || 0;
    return { width: Math.max(1, Math.round(w * this.decodeScale)), height: Math.max(1, Math.round(h * this.decodeScale)) };
  }

  /** @returns {Promise<SequenceInfo>} */
  async open() {
    const res = await fetch(`${this.base}/sequence`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!res.ok) {
      let detail = `${res.status}`;
      try {
        detail = (await res.json()).detail || detail;
      } catch {
        /* not JSON */
      }
      throw new Error(`the frames cannot be loaded: ${detail}`);
    }
    this.info = await res.json();
    return /** @type {SequenceInfo} */ (this.info);
  }

  get count() {
    return this.info ? this.info["number-of-frames"] : 0;
  }

  get rate() {
    const r = this.info ? Number(this.info["frame-rate"]) : 0;
    return r > 0 && isFinite(r) ? r : 10;
  }

  /** @param {number} i */
  url(i) {
    return `${this.base}/frames/${i}`;
  }

  /** The decoded frame if it is here now. @param {number} i */
  ready(i) {
    return this.bitmaps.get(i) || null;
  }

  /** The decoded frame, fetched now if need be. @param {number} i @returns {Promise<ImageBitmap>} */
  get(i) {
    const have = this.bitmaps.get(i);
    if (have) return Promise.resolve(have);
    let p = this.pending.get(i);
    if (!p) {
      p = this.load(i);
      this.pending.set(i, p);
    }
    return p;
  }

  /** @param {number} i @returns {Promise<ImageBitmap>} */
  async load(i) {
    this.active++;
    try {
      let blob = this.blobs.get(i);
      if (!blob) {
        const res = await fetch(this.url(i), { credentials: "same-origin" });
        if (!res.ok) throw new Error(`frame ${i}: ${res.status}`);
        blob = await res.blob();
        this.keepBlob(i, blob);
      }
      const scale = this.decodeScale;
      const size = this.decodeSize;
      // Every frame at the first frame's size (scaled): one canvas size for the sequence.
      const bitmap = this.info && this.info.width
        ? await createImageBitmap(blob, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: "medium" })
        : await createImageBitmap(blob);
      if (this.closed || scale !== this.decodeScale) {
        bitmap.close();
        throw new Error(this.closed ? "closed" : "decoded at another size");
      }
      this.bitmaps.set(i, bitmap);
      this.evict();
      return bitmap;
    } finally {
      this.pending.delete(i);
      this.active--;
      this.pump();
    }
  }

  /** @param {number} i @param {Blob} blob */
  keepBlob(i, blob) {
    this.blobs.delete(i);
    this.blobs.set(i, blob);
    while (this.blobs.size > this.maxBlobs) {
      const oldest = this.blobs.keys().next().value;
      if (oldest === undefined) break;
      this.blobs.delete(oldest);
    }
  }

  /** How many decoded frames fit the budget. */
  get capacity() {
    const { width, height } = this.info && this.info.width ? this.decodeSize : { width: 1280, height: 720 };
    return Math.max(6, Math.floor(this.budgetBytes / (width * height * 4)));
  }

  /** Drop the decoded frames farthest from the current one while over the budget. */
  evict() {
    const cap = this.capacity;
    if (this.bitmaps.size <= cap) return;
    const far = [...this.bitmaps.keys()].sort((a, b) => Math.abs(b - this.center) - Math.abs(a - this.center));
    for (const i of far.slice(0, this.bitmaps.size - cap)) {
      const b = this.bitmaps.get(i);
      this.bitmaps.delete(i);
      if (b) b.close();
    }
  }

  /**
   * Prefetch around `center`: mostly ahead in the direction of travel, a few behind.
   * @param {number} center @param {number} [direction] 1 forward, -1 backward
   */
  prefetchAround(center, direction = 1) {
    this.center = center;
    const cap = this.capacity;
    const ahead = Math.max(2, Math.min(30, Math.floor(cap * 0.7)));
    const behind = Math.max(1, Math.min(8, cap - ahead - 1));
    /** @type {number[]} */
    const want = [];
    for (let k = 1; k <= Math.max(ahead, behind); k++) {
      if (k <= ahead) want.push(center + direction * k);
      if (k <= behind) want.push(center - direction * k);
    }
    this.queue = want.filter((i) => i >= 0 && i < this.count && !this.bitmaps.has(i) && !this.pending.has(i));
    this.pump();
  }

  pump() {
    while (!this.closed && this.active < this.lanes && this.queue.length) {
      const i = /** @type {number} */ (this.queue.shift());
      if (this.bitmaps.has(i) || this.pending.has(i)) continue;
      this.get(i).catch(() => {});
    }
  }

  close() {
    this.closed = true;
    for (const b of this.bitmaps.values()) b.close();
    this.bitmaps.clear();
    this.blobs.clear();
    this.queue = [];
  }
}

export class Player {
  /**
   * @param {FrameSource} source
   * @param {HTMLCanvasElement} canvas sized to the frames
   * @param {{onFrame: (i: number) => void, onPlaying?: (playing: boolean) => void,
   *   onPainted?: (i: number, ms: number) => void}} hooks
   */
  constructor(source, canvas, hooks) {
    this.source = source;
    this.canvas = canvas;
    this.ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d", { alpha: false }));
    this.hooks = hooks;
    this.frame = 0;
    /** The frame on the canvas now (-1: none yet). */
    this.painted = -1;
    this.playing = false;
    this.raf = 0;
    this.playClock = 0;
    this.direction = 1;
  }

  /**
   * Show frame `i`: painted at once when decoded, else when it arrives (unless another
   * frame was asked meanwhile). The overlay (hooks.onFrame) follows at once.
   * @param {number} i
   */
  seek(i) {
    const n = this.source.count;
    const to = Math.max(0, Math.min(n - 1, Math.round(i)));
    this.direction = to >= this.frame ? 1 : -1;
    this.frame = to;
    const asked = performance.now();
    const ready = this.source.ready(to);
    if (ready) this.paint(to, ready, asked);
    else this.source.get(to).then((b) => { if (this.frame === to) this.paint(to, b, asked); }, () => {});
    this.source.prefetchAround(to, this.direction);
    this.hooks.onFrame(to);
  }

  /** @param {number} i @param {ImageBitmap} bitmap @param {number} asked */
  paint(i, bitmap, asked) {
    // The canvas holds the decoded size; CSS stretches it over the frame's pixels.
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width;
      this.canvas.height = bitmap.height;
    }
    this.ctx.drawImage(bitmap, 0, 0);
    this.painted = i;
    this.canvas.dataset.frame = String(i);
    if (this.hooks.onPainted) this.hooks.onPainted(i, performance.now() - asked);
  }

  /** The view's zoom changed: decode at the new size, and show the frame again when it is. @param {number} shown */
  rescale(shown) {
    if (this.source.setScale(shown)) this.seek(this.frame);
  }

  /** @param {number} d */
  step(d) {
    this.pause();
    this.seek(this.frame + d);
  }

  play() {
    if (this.playing || this.source.count < 2) return;
    if (this.frame >= this.source.count - 1) this.seek(0);
    this.playing = true;
    this.source.lanes = LANES.playing;
    this.playClock = performance.now();
    if (this.hooks.onPlaying) this.hooks.onPlaying(true);
    const tick = (/** @type {number} */ now) => {
      if (!this.playing) return;
      const due = 1000 / this.source.rate;
      // Wait for the next frame rather than skip it; keep time from when it could show.
      if (now - this.playClock >= due) {
        const next = this.frame + 1;
        if (next >= this.source.count) {
          this.pause();
          return;
        }
        if (this.source.ready(next)) {
          this.playClock = now - Math.min(due, now - this.playClock - due);
          this.seek(next);
        } else this.source.prefetchAround(this.frame, 1);
      }
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    this.source.lanes = LANES.stepping;
    cancelAnimationFrame(this.raf);
    if (this.hooks.onPlaying) this.hooks.onPlaying(false);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  destroy() {
    this.pause();
    this.source.close();
  }
}
