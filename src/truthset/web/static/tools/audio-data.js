// @ts-check
/**
 * An item's audio as the segment tool reads it from the server, in pieces: the header
 * facts, min/max peaks of a window at N bins, and the samples of a short window
 * (GET /api/items/{id}/audio, /audio/peaks, /audio/samples). Nothing downloads the whole
 * recording: the <audio> element streams it with Range requests for playback.
 */

/**
 * @typedef {{duration: number, rate: number, frames: number, channels: number, format: string,
 *   max_peak_bins: number, max_sample_frames: number}} AudioInfo
 * @typedef {{start: number, end: number, step: number, min: Float32Array, max: Float32Array}} PeakRun
 *   min/max of bins of `step` seconds from `start` to `end` (seconds)
 * @typedef {{start: number, rate: number, data: Float32Array}} SampleRun
 *   samples from `start` seconds (a frame boundary) at `rate`
 */

export class AudioSource {
  /** @param {string} mediaUrl the item's /api/items/{id}/media */
  constructor(mediaUrl) {
    this.base = mediaUrl.replace(/\/media$/, "/audio");
  }

  /** @param {string} url @param {AbortSignal} [signal] */
  async get(url, signal) {
    const r = await fetch(url, { credentials: "same-origin", signal });
    if (!r.ok) {
      let detail = `${r.status}`;
      try {
        detail = (await r.json()).detail || detail;
      } catch { /* not JSON */ }
      throw new Error(`cannot read the audio: ${detail}`);
    }
    return r;
  }

  /** @returns {Promise<AudioInfo>} */
  async info() {
    return (await this.get(this.base)).json();
  }

  /**
   * @param {number} start @param {number | null} end seconds (null: the end of the recording)
   * @param {number} bins @param {AbortSignal} [signal] @returns {Promise<PeakRun>}
   */
  async peaks(start, end, bins, signal) {
    const q = new URLSearchParams({ start: start.toFixed(6), bins: String(Math.max(1, Math.round(bins))) });
    if (end !== null) q.set("end", end.toFixed(6));
    const body = await (await this.get(`${this.base}/peaks?${q}`, signal)).json();
    const n = Math.max(1, body.bins);
    return {
      start: body.start_frame / body.rate, end: body.end_frame / body.rate,
      step: (body.end_frame - body.start_frame) / body.rate / n,
      min: Float32Array.from(body.min), max: Float32Array.from(body.max),
    };
  }

  /**
   * @param {number} start @param {number} end seconds @param {AbortSignal} [signal]
   * @returns {Promise<SampleRun>}
   */
  async samples(start, end, signal) {
    const q = new URLSearchParams({ start: start.toFixed(6), end: end.toFixed(6) });
    const r = await this.get(`${this.base}/samples?${q}`, signal);
    const rate = Number(r.headers.get("X-Audio-Rate"));
    const first = Number(r.headers.get("X-Audio-Start-Frame"));
    return { start: first / rate, rate, data: new Float32Array(await r.arrayBuffer()) };
  }
}

/**
 * Min and max over [t0, t1) seconds of a peak run (NaN when it does not cover it).
 * @param {PeakRun} run @param {number} t0 @param {number} t1 @returns {[number, number]}
 */
export function peakRange(run, t0, t1) {
  const n = run.min.length;
  let i0 = Math.floor((t0 - run.start) / run.step);
  let i1 = Math.ceil((t1 - run.start) / run.step);
  if (i1 <= 0 || i0 >= n) return [NaN, NaN];
  i0 = Math.max(0, i0);
  i1 = Math.min(n, Math.max(i1, i0 + 1));
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = i0; i < i1; i++) {
    if (run.min[i] < lo) lo = run.min[i];
    if (run.max[i] > hi) hi = run.max[i];
  }
  return [lo, hi];
}

/**
 * The sample index nearest to time t in a run (may be outside it).
 * @param {SampleRun} run @param {number} t
 */
export const sampleIndex = (run, t) => Math.round((t - run.start) * run.rate);

/**
 * Where to move a segment edge at `t`: the nearest zero crossing (searching ±10 ms), or the
 * nearest border between silence and sound (±300 ms; a start moves to where sound begins,
 * an end to where it stops). Returns t when there is none.
 * @param {AudioSource} source @param {number} t @param {"zero" | "silence"} mode
 * @param {"start" | "end"} edge @param {number} duration
 * @returns {Promise<number>}
 */
export async function snapTime(source, t, mode, edge, duration) {
  const radius = mode === "zero" ? 0.01 : 0.3;
  const a = Math.max(0, t - radius);
  const b = Math.min(duration, t + radius);
  if (b <= a) return t;
  const run = await source.samples(a, b);
  const s = run.data;
  const center = sampleIndex(run, t);
  if (mode === "zero") {
    let best = -1;
    for (let i = 1; i < s.length; i++) {
      if ((s[i - 1] < 0 && s[i] >= 0) || (s[i - 1] > 0 && s[i] <= 0)) {
        if (best < 0 || Math.abs(i - center) < Math.abs(best - center)) best = i;
      }
    }
    return best < 0 ? t : run.start + best / run.rate;
  }
  const hop = Math.max(1, Math.round(run.rate * 0.01));
  const frames = Math.floor(s.length / hop);
  if (frames < 2) return t;
  const rms = new Float32Array(frames);
  let loudest = 0;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let i = f * hop; i < (f + 1) * hop; i++) sum += s[i] * s[i];
    rms[f] = Math.sqrt(sum / hop);
    loudest = Math.max(loudest, rms[f]);
  }
  // Silence is relative to what is loud nearby, with a floor for a window of near-silence.
  const threshold = Math.max(0.01, loudest * 0.15);
  let best = -1;
  for (let f = 1; f < frames; f++) {
    const before = rms[f - 1] >= threshold;
    const after = rms[f] >= threshold;
    const border = edge === "start" ? !before && after : before && !after;
    if (border && (best < 0 || Math.abs(f * hop - center) < Math.abs(best * hop - center))) best = f;
  }
  return best < 0 ? t : run.start + (best * hop) / run.rate;
}
