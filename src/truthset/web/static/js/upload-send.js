// @ts-check
/**
 * Sending media files to the server: each file in chunks at offsets under an id chosen
 * here (PUT /api/uploads/{id}), resumed after a dropped connection from the bytes the
 * server says it holds (GET /api/uploads/{id}, or the 409 a wrong offset gets), then
 * added to a dataset in batches (POST /api/datasets/{name}/media). See datasets/uploads.py.
 */
import { api, enc, describeDetail } from "./api.js";

/** Under the server's body cap (10 MB) and its 8 MiB chunk limit. */
export const CHUNK_BYTES = 8 << 20;
/** Files in flight at once: enough to hide each request's round trip. */
export const PARALLEL = 6;
/** Complete uploads added to the dataset per request. */
export const COMMIT_BATCH = 200;
/** Tries per chunk before a file is given up (a dropped connection, a restarting server). */
const TRIES = 8;

/**
 * @typedef {{file: File, path: string, id: string, sent: number, inFlight: number,
 *   state: "queued" | "sending" | "sent" | "added" | "duplicate" | "refused", error?: string}} QueuedFile
 * @typedef {{added: number, duplicates: number, refused: number, files: number,
 *   errors: string[], bytes: number, seconds: number}} UploadSummary
 */

/** A random id the server accepts (16-64 letters and digits); also outside secure contexts. */
export function newUploadId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {File} file @param {string} [path] @returns {QueuedFile} */
export function queued(file, path) {
  return { file, path: path || file.name, id: newUploadId(), sent: 0, inFlight: 0, state: "queued" };
}

class ChunkError extends Error {
  /** @param {number} status @param {any} body */
  constructor(status, body) {
    const detail = body && body.detail;
    super(describeDetail(detail) || (status ? `the server answered ${status}` : "the connection was lost"));
    this.status = status;
    this.received = detail && typeof detail === "object" && typeof detail.received === "number" ? detail.received : null;
  }
  /** True when trying again may help: no answer, or the server was busy or restarting. */
  get retryable() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504 || this.status === 429;
  }
}

/**
 * PUT one chunk with XMLHttpRequest (fetch reports no upload progress).
 * @param {QueuedFile} q @param {number} offset @param {Blob} blob @param {() => void} onProgress
 * @returns {Promise<{received: number}>}
 */
function putChunk(q, offset, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const params = new URLSearchParams({ name: q.path, size: String(q.file.size), offset: String(offset) });
    xhr.open("PUT", `/api/uploads/${enc(q.id)}?${params}`);
    xhr.setRequestHeader("X-Truthset-CSRF", "1");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => { q.inFlight = e.loaded; onProgress(); };
    xhr.onerror = () => reject(new ChunkError(0, null));
    xhr.onabort = () => reject(new ChunkError(0, null));
    xhr.onload = () => {
      /** @type {any} */
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      if (xhr.status === 200 && body) resolve(body);
      else reject(new ChunkError(xhr.status, body));
    };
    xhr.send(blob);
  });
}

/** How many bytes of an upload the server holds (0 when it never saw it). @param {string} id */
async function receivedSoFar(id) {
  try {
    return (await api(`/api/uploads/${enc(id)}`, { noRedirect: true })).received;
  } catch (err) {
    if (err && /** @type {any} */ (err).status === 404) return 0;
    throw err;
  }
}

const pause = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Send a whole file; resolves when the server holds all of it, rejects with a sentence.
 * After a failure it asks the server what arrived and sends only the rest.
 * @param {QueuedFile} q @param {() => void} onProgress
 */
export async function sendFile(q, onProgress) {
  if (!q.file.size) throw new Error(`${q.path}: the file is empty`);
  let offset = 0;
  let failures = 0;
  while (offset < q.file.size) {
    const end = Math.min(q.file.size, offset + CHUNK_BYTES);
    try {
      const state = await putChunk(q, offset, q.file.slice(offset, end), onProgress);
      offset = state.received;
      failures = 0;
    } catch (err) {
      const e = /** @type {ChunkError} */ (err);
      q.inFlight = 0;
      if (e.status === 409 && e.received !== null) { offset = e.received; continue; }
      if (!e.retryable || ++failures >= TRIES) throw new Error(e.message);
      await pause(Math.min(4000, 150 * 2 ** failures));
      try {
        offset = await receivedSoFar(q.id);
      } catch {
        continue; // still no connection: the next try waits longer
      }
    } finally {
      q.inFlight = 0;
      q.sent = offset;
      onProgress();
    }
  }
}

/**
 * Add sent files to a dataset; marks each as added, duplicate or refused.
 * @param {string} dataset @param {QueuedFile[]} batch
 * @returns {Promise<{added: number, duplicates: number}>}
 */
export async function commitBatch(dataset, batch) {
  const res = await api(`/api/datasets/${enc(dataset)}/media`, { body: { uploads: batch.map((q) => q.id) } });
  const byId = new Map(batch.map((q) => [q.id, q]));
  for (const f of res.files) {
    const q = byId.get(f.upload);
    if (!q) continue;
    if (f.error) { q.state = "refused"; q.error = f.error; } else q.state = "added";
  }
  // The server counts duplicates, not which: the added share is told apart by count only.
  return { added: res.added, duplicates: res.duplicates };
}

/**
 * Upload every queued file into `dataset`: PARALLEL files at a time, added in batches.
 * @param {string} dataset @param {QueuedFile[]} files @param {() => void} onProgress
 * @returns {Promise<UploadSummary>}
 */
export async function uploadAll(dataset, files, onProgress) {
  const started = performance.now();
  const summary = { added: 0, duplicates: 0, refused: 0, files: files.length, errors: /** @type {string[]} */ ([]), bytes: 0, seconds: 0 };
  /** @type {QueuedFile[]} */
  let ready = [];
  /** @type {Promise<void>} */
  let commits = Promise.resolve();
  let commitError = /** @type {Error | null} */ (null);
  const flush = () => {
    const batch = ready;
    ready = [];
    if (!batch.length) return;
    // One commit at a time: each is one write transaction on the server.
    commits = commits.then(async () => {
      try {
        const r = await commitBatch(dataset, batch);
        summary.added += r.added;
        summary.duplicates += r.duplicates;
      } catch (err) {
        commitError = commitError || /** @type {Error} */ (err);
      }
      onProgress();
    });
  };
  let next = 0;
  const worker = async () => {
    while (next < files.length && !commitError) {
      const q = files[next++];
      if (q.state !== "queued") continue;
      q.state = "sending";
      try {
        await sendFile(q, onProgress);
        q.state = "sent";
        ready.push(q);
        if (ready.length >= COMMIT_BATCH) flush();
      } catch (err) {
        q.state = "refused";
        q.error = err instanceof Error ? err.message : String(err);
      }
      onProgress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, worker));
  flush();
  await commits;
  if (commitError) throw commitError;
  for (const q of files) {
    if (q.state === "refused") {
      summary.refused++;
      summary.errors.push(q.error && q.error.startsWith(q.path) ? q.error : `${q.path}: ${q.error}`);
    } else summary.bytes += q.file.size;
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
