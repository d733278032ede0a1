// @ts-check
/**
 * A drop zone for media files: images, audio and video dropped onto it (folders too,
 * walked through DataTransfer items) or chosen with its file and folder pickers, then sent
 * with a progress bar (upload-send.js: chunked, resumed after a dropped connection) and
 * added as items of a dataset. Files the server refuses are listed with its sentence.
 *
 *   const zone = mediaDropZone();   // zone.root into the page
 *   await zone.upload("photos");    // resolves with the summary
 *
 * The new-job form mounts it (console-new.js); the datasets page can mount it the same way.
 */
import { h, replace } from "./dom.js";
import { queued, uploadAll } from "./upload-send.js";

/** @typedef {import("./upload-send.js").QueuedFile} QueuedFile */
/** @typedef {import("./upload-send.js").UploadSummary} UploadSummary */

/** @param {number} n */
const mb = (n) => (n < 1e5 ? `${(n / 1e3).toFixed(0)} KB` : `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`);

/**
 * Every file under a dropped entry, with its path inside the drop.
 * @param {FileSystemEntry} entry @param {{file: File, path: string}[]} out
 */
async function walk(entry, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => /** @type {FileSystemFileEntry} */ (entry).file(resolve, reject));
    out.push({ file: /** @type {File} */ (file), path: entry.fullPath.replace(/^\//, "") });
    return;
  }
  const reader = /** @type {FileSystemDirectoryEntry} */ (entry).createReader();
  // readEntries answers in slices (100 in Chromium) until it answers none.
  for (;;) {
    /** @type {FileSystemEntry[]} */
    const slice = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!slice.length) break;
    for (const child of slice) await walk(child, out);
  }
}

/**
 * The files of a drop: folders walked, plain files as they are.
 * @param {DataTransfer} dt
 * @returns {Promise<{file: File, path: string}[]>}
 */
export async function droppedFiles(dt) {
  /** @type {{file: File, path: string}[]} */
  const out = [];
  const entries = Array.from(dt.items || [])
    .filter((it) => it.kind === "file")
    .map((it) => (it.webkitGetAsEntry ? it.webkitGetAsEntry() : null));
  if (entries.length && entries.every(Boolean)) {
    for (const entry of entries) await walk(/** @type {FileSystemEntry} */ (entry), out);
    return out;
  }
  for (const file of Array.from(dt.files)) out.push({ file, path: file.name });
  return out;
}

/**
 * @param {{onChange?: (files: QueuedFile[]) => void}} [opts]
 * @returns {{root: HTMLElement, files: () => QueuedFile[], add: (files: {file: File, path: string}[]) => void,
 *   upload: (dataset: string) => Promise<UploadSummary>, clear: () => void}}
 */
export function mediaDropZone(opts = {}) {
  /** @type {QueuedFile[]} */
  let files = [];
  const filesInput = h("input", { type: "file", multiple: true, accept: "image/*,audio/*,video/*", class: "upload-input", "aria-label": "choose media files" });
  const folderInput = h("input", { type: "file", multiple: true, webkitdirectory: true, class: "upload-input", "aria-label": "choose a folder" });
  const count = h("span", { class: "upload-count" }, "No files chosen.");
  const bar = h("progress", { class: "upload-bar", max: "1", value: "0", hidden: true });
  const status = h("div", { class: "upload-status", role: "status" });
  const errors = h("ul", { class: "upload-errors" });
  const zone = h("div", { class: "upload-zone", tabindex: "0" },
    h("p", null, "Drop images, audio or video files (or folders of them) here, or ",
      h("label", { class: "link" }, "choose files", filesInput), " or ",
      h("label", { class: "link" }, "a folder", folderInput), "."),
    count);
  const root = h("div", { class: "upload", id: "media-upload" }, zone, bar, status, errors);

  const describe = () => {
    const bytes = files.reduce((n, q) => n + q.file.size, 0);
    count.textContent = files.length ? `${files.length.toLocaleString()} file(s), ${mb(bytes)}, ready to upload.` : "No files chosen.";
    if (opts.onChange) opts.onChange(files);
  };
  /** @param {{file: File, path: string}[]} picked */
  const add = (picked) => {
    // A file picked twice (the same path and size) is queued once.
    const seen = new Set(files.map((q) => `${q.path}\u0000${q.file.size}`));
    for (const { file, path } of picked) {
      const key = `${path}\u0000${file.size}`;
      if (!seen.has(key)) { seen.add(key); files.push(queued(file, path)); }
    }
    describe();
  };
  filesInput.addEventListener("change", () => { add(Array.from(filesInput.files || [], (f) => ({ file: f, path: f.name }))); filesInput.value = ""; });
  folderInput.addEventListener("change", () => { add(Array.from(folderInput.files || [], (f) => ({ file: f, path: f.webkitRelativePath || f.name }))); folderInput.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer) add(await droppedFiles(e.dataTransfer));
  });

  let drawPending = false;
  let uploading = false;
  let started = 0;
  const draw = () => {
    drawPending = false;
    if (!uploading) return; // a frame asked for during the upload, drawn after its summary
    const total = files.reduce((n, q) => n + q.file.size, 0) || 1;
    const sent = files.reduce((n, q) => n + (q.state === "refused" ? q.file.size : q.sent + q.inFlight), 0);
    const done = files.filter((q) => q.state !== "queued" && q.state !== "sending").length;
    bar.value = sent / total;
    const seconds = (performance.now() - started) / 1000;
    status.textContent = `${done.toLocaleString()} of ${files.length.toLocaleString()} files, ${mb(sent)} of ${mb(total)}`
      + (seconds > 0.5 ? `, ${mb(sent / seconds)}/s` : "");
  };
  const onProgress = () => {
    if (!drawPending) { drawPending = true; requestAnimationFrame(draw); }
  };

  /** @param {string} dataset */
  const upload = async (dataset) => {
    if (!files.length) throw new Error("Choose or drop the media files to upload first.");
    started = performance.now();
    bar.hidden = false;
    replace(errors);
    root.classList.add("busy");
    uploading = true;
    try {
      const summary = await uploadAll(dataset, files, onProgress);
      draw();
      uploading = false;
      status.textContent = `Added ${summary.added.toLocaleString()} item(s) to ${dataset}`
        + (summary.duplicates ? `, ${summary.duplicates.toLocaleString()} already there` : "")
        + (summary.refused ? `; ${summary.refused.toLocaleString()} file(s) refused` : "")
        + ` (${mb(summary.bytes)} in ${summary.seconds.toFixed(1)} s).`;
      replace(errors, summary.errors.map((e) => h("li", { class: "error" }, e)));
      // What was refused stays queued to be fixed or dropped; the rest is done.
      files = files.filter((q) => q.state === "refused").map((q) => queued(q.file, q.path));
      describe();
      return summary;
    } finally {
      uploading = false;
      root.classList.remove("busy");
    }
  };
  return { root, files: () => files, add, upload, clear: () => { files = []; describe(); } };
}
