// @ts-check
/**
 * Sending media files to the server: each file in chunks at offsets under an id chosen
 * here (PUT /api/uploads/{id}), resumed after a dropped connection from the bytes the
 * server says it holds (GET /api/uploads/{id}, or the 409 a wrong offset gets), then
 * added to a dataset in batches (POST /api/datasets/{name}/media). Small files go several
 * in one request (POST /api/uploads, a bundle): a request per 200 KB photo cost more than
 * its bytes. A bundle that fails is sent again file by file, each resumed as above.
 * See datasets/uploads.py.
 */
import { api, enc, describeDetail } from "./api.js";

/** Under the server's body cap (10 MB) and its 8 MiB chunk limit. */
export const CHUNK_BYTES = 8 << 20;
/** Files in flight at once: enough to hide each request's round trip. */
export const PARALLEL = 6;
/** Files up to this size are bundled; a bundle holds up to BUNDLE_BYTES and BUNDLE_FILES. */
export const BUNDLE_FILE_MAX = 1 << 20;
export const BUNDLE_BYTES = 4 << 20;
export const BUNDLE_FILES = 64;
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

/**
 * POST several small files whole in one request: a line of JSON listing them, then their
 * bytes. Resolves with the server's answer per file (by upload id); rejects with a
 * ChunkError when the request as a whole failed.
 * @param {QueuedFile[]} bundle @param {() => void} onProgress
 * @returns {Promise<Map<string, any>>}
 */
function postBundle(bundle, onProgress) {
  const head = new TextEncoder().encode(
    JSON.stringify(bundle.map((q) => ({ upload: q.id, name: q.path, size: q.file.size }))) + "\n",
  );
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/uploads");
    xhr.setRequestHeader("X-Truthset-CSRF", "1");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      let left = e.loaded - head.length;
      for (const q of bundle) {
        q.inFlight = Math.max(0, Math.min(q.file.size, left));
        left -= q.file.size;
      }
      onProgress();
    };
    xhr.onerror = () => reject(new ChunkError(0, null));
    xhr.onabort = () => reject(new ChunkError(0, null));
    xhr.onload = () => {
      /** @type {any} */
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      if (xhr.status === 200 && body && Array.isArray(body.files)) {
        resolve(new Map(body.files.map((/** @type {any} */ f) => [f.upload, f])));
      } else reject(new ChunkError(xhr.status, body));
    };
    xhr.send(new Blob([head, ...bundle.map((q) => q.file)]));
  });
}

/**
 * Send small files in one bundle; a file the server refused is marked with its sentence,
 * one it holds only part of (or the whole bundle, when the request failed) is sent on its
 * own, resumed from what arrived.
 * @param {QueuedFile[]} bundle @param {() => void} onProgress
 * @returns {Promise<QueuedFile[]>} the files the server now holds whole
 */
async function sendBundle(bundle, onProgress) {
  /** @type {Map<string, any> | null} */
  let answers = null;
  try {
    answers = await postBundle(bundle, onProgress);
  } catch {
    answers = null; // sent again file by file below: each asks what arrived
  }
  const sent = [];
  for (const q of bundle) {
    q.inFlight = 0;
    const a = answers && answers.get(q.id);
    if (a && a.complete) {
      q.sent = q.file.size;
    } else if (a && a.error && typeof a.received !== "number") {
      q.state = "refused";
      q.error = a.error;
      continue;
    } else {
      try {
        // What arrived: the answer names it, or (the request failed) the server is asked,
        // so a bundle whose answer was lost is not sent again.
        let from = a && typeof a.received === "number" ? a.received : 0;
        if (!a) from = await receivedSoFar(q.id).catch(() => 0);
        await sendFile(q, onProgress, from);
        q.sent = q.file.size;
      } catch (err) {
        q.state = "refused";
        q.error = err instanceof Error ? err.message : String(err);
        continue;
      }
    }
    q.state = "sent";
    sent.push(q);
  }
  onProgress();
  return sent;
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
 * @param {number} [from] the bytes the server is known to hold already
 */
export async function sendFile(q, onProgress, from = 0) {
  if (!q.file.size) throw new Error(`${q.path}: the file is empty`);
  let offset = from;
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
 * Upload every queued file into `dataset`: PARALLEL requests at a time (a file's chunk or
 * a bundle of small files), added in batches.
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
      if (q.file.size && q.file.size <= BUNDLE_FILE_MAX) {
        const bundle = [q];
        let bytes = q.file.size;
        while (next < files.length && bundle.length < BUNDLE_FILES) {
          const o = files[next];
          if (o.state !== "queued" || !o.file.size || o.file.size > BUNDLE_FILE_MAX) break;
          if (bytes + o.file.size > BUNDLE_BYTES) break;
          o.state = "sending";
          bundle.push(o);
          bytes += o.file.size;
          next++;
        }
        for (const s of await sendBundle(bundle, onProgress)) {
          ready.push(s);
          if (ready.length >= COMMIT_BATCH) flush();
        }
        continue;
      }
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
