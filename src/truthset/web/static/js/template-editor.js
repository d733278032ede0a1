// @ts-check
/**
 * The new-job page's worker task template editor (custom jobs): the template's text, a
 * file to load it from, samples to start from, and a live preview of the first item of
 * the chosen dataset as a worker would see it.
 *
 * Every change (debounced) asks the server to render the template (POST
 * /api/templates/render); the answer names the elements the template declares and what
 * is wrong with it, each with its line. The preview itself is the server's page, loaded
 * by URL into a frame with sandbox="allow-scripts allow-forms" and never
 * allow-same-origin: the template is the requester's HTML with its scripts, and that URL
 * comes with the workers' task page policy (its own sandbox, no connections), so nothing
 * in it can read this page, its cookie or call the API with its session. Putting the
 * HTML in `srcdoc` or a blob: URL instead would run it under this page's policy, not the
 * workers' (see templates/preview_router.py).
 */
import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { SAMPLES } from "./template-samples.js";

export const DEBOUNCE_MS = 400;

/** @param {any} v */
const isPlainObject = (v) => !!v && typeof v === "object" && !Array.isArray(v);

/**
 * The line a server message names ("template line 3: ..."), or null.
 * @param {string} message
 */
export function lineOf(message) {
  const m = /^template line (\d+):/.exec(message);
  return m ? Number(m[1]) : null;
}

/**
 * Put the caret on a line of a textarea and show it.
 * @param {HTMLTextAreaElement} area @param {number} line
 */
function goToLine(area, line) {
  const lines = area.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  const end = start + (lines[line - 1] || "").length;
  area.focus();
  area.setSelectionRange(start, end);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, (line - 3) * lineHeight);
}

function ensureStylesheet() {
  if (document.getElementById("template-editor-css")) return;
  document.head.appendChild(h("link", { id: "template-editor-css", rel: "stylesheet", href: "/static/css/template-editor.css" }));
}

/**
 * @param {{initial?: string, source?: () => {dataset?: string, note: string},
 *   labels?: () => unknown}} opts
 *   `source`: what to preview over (a dataset's first item, or nothing yet);
 *   `labels`: the label field's value for `task.input.labels`.
 */
export function templateEditor(opts = {}) {
  ensureStylesheet();
  const area = /** @type {HTMLTextAreaElement} */ (h("textarea", {
    id: "f-template", class: "template-code", rows: "18", spellcheck: "false", wrap: "off",
    "aria-label": "worker task template", placeholder: "<crowd-form> … </crowd-form>",
  }));
  area.value = opts.initial || "";
  const gutter = h("pre", { class: "template-gutter", "aria-hidden": "true" });
  const file = /** @type {HTMLInputElement} */ (h("input", { id: "f-template-file", type: "file", accept: ".html,.htm,.liquid,.liquid.html,text/html" }));
  const sample = /** @type {HTMLSelectElement} */ (h("select", { id: "f-template-sample" },
    h("option", { value: "" }, "Start from a sample…"),
    SAMPLES.map((s) => h("option", { value: s.id }, s.title))));
  const status = h("p", { class: "muted template-status", id: "f-template-status" });
  const errors = h("ul", { class: "template-errors", id: "f-template-errors", role: "alert" });
  const elements = h("ul", { class: "template-elements", id: "f-template-elements" });
  const answer = h("pre", { class: "template-answer", id: "f-template-answer", hidden: true });
  const frame = /** @type {HTMLIFrameElement} */ (h("iframe", {
    id: "f-template-preview", class: "template-preview", title: "preview of the first item",
    sandbox: "allow-scripts allow-forms", referrerpolicy: "same-origin",
  }));
  /** @type {string} where the text came from: settings.template.source */
  let source = "console";

  const numberLines = () => {
    const n = area.value.split("\n").length;
    gutter.textContent = Array.from({ length: n }, (_, i) => String(i + 1)).join("\n");
    gutter.scrollTop = area.scrollTop;
  };
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });

  let timer = 0;
  let sequence = 0;
  let lastKey = "";
  const schedule = () => {
    clearTimeout(timer);
    timer = window.setTimeout(refresh, DEBOUNCE_MS);
  };

  /** @param {{line: number | null, message: string}[]} problems */
  const showErrors = (problems) => replace(errors, problems.map((p) => {
    const item = h("li", { class: "error", dataset: { line: p.line === null ? "" : String(p.line) } },
      p.line !== null ? h("button", { type: "button", class: "link", onclick: () => goToLine(area, /** @type {number} */ (p.line)) }, `line ${p.line}`) : null,
      p.line !== null ? ": " : null, p.message.replace(/^template line \d+: /, ""));
    return item;
  }));

  async function refresh() {
    const text = area.value;
    const where = opts.source ? opts.source() : { note: "" };
    let labels;
    try {
      labels = opts.labels ? opts.labels() : undefined;
    } catch {
      labels = undefined; // the label field is being written; it has its own error
    }
    const key = JSON.stringify([text, where.dataset || null, labels ?? null]);
    if (key === lastKey) return;
    lastKey = key;
    const mine = ++sequence;
    if (!text.trim()) {
      frame.removeAttribute("src");
      replace(elements);
      showErrors([]);
      status.textContent = "Write a template or start from a sample to see a preview.";
      return;
    }
    status.textContent = "Rendering…";
    /** @type {Record<string, any>} */
    const body = { html: text };
    if (where.dataset) body.dataset = where.dataset;
    if (labels !== undefined) body.labels = labels;
    try {
      const res = await api("/api/templates/render", { body });
      if (mine !== sequence) return; // a newer text is on its way
      answer.hidden = true;
      frame.src = res.preview_url;
      replace(elements, res.elements.length
        ? res.elements.map((/** @type {any} */ e) => h("li", null, h("code", null, e.tag), " ", h("b", null, e.name)))
        : h("li", { class: "muted" }, "no element that takes an answer"));
      showErrors(res.errors);
      status.textContent = where.note;
    } catch (err) {
      if (mine !== sequence) return;
      const message = err instanceof Error ? err.message : String(err);
      // The last good preview stays; the error says where the text is wrong.
      showErrors([{ line: lineOf(message), message }]);
      status.textContent = "The preview shows the last version that rendered.";
    }
  }

  // What the preview's form would submit: shown as text, taken from that frame only.
  /** @param {MessageEvent} e */
  const onMessage = (e) => {
    if (!frame.contentWindow || e.source !== frame.contentWindow) return;
    const data = e.data;
    if (!isPlainObject(data) || data.type !== "crowd-submit" || !isPlainObject(data.answer)) return;
    answer.hidden = false;
    answer.textContent = `A worker's answer would be:\n${JSON.stringify(data.answer, null, 2)}`;
  };
  window.addEventListener("message", onMessage);

  area.addEventListener("input", () => { numberLines(); schedule(); });
  file.addEventListener("change", async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    area.value = await f.text();
    source = f.name;
    sample.value = "";
    numberLines();
    refresh();
  });
  sample.addEventListener("change", () => {
    const chosen = SAMPLES.find((s) => s.id === sample.value);
    if (!chosen) return;
    if (area.value.trim() && area.value !== chosen.html && !confirm("Replace the template with the sample?")) {
      sample.value = "";
      return;
    }
    area.value = chosen.html;
    source = `sample:${chosen.id}`;
    numberLines();
    refresh();
  });
  numberLines();

  const root = h("div", { class: "template-editor", id: "f-template-editor" },
    h("div", { class: "row" }, sample, h("label", { class: "muted" }, "or load a file ", file)),
    h("div", { class: "template-code-box" }, gutter, area),
    h("div", { class: "template-side" },
      status, errors,
      frame,
      h("h3", null, "Elements"), elements, answer));
  return {
    root,
    /** The template's text. */
    value: () => area.value,
    /** Where it came from: a file name, sample:<id> or console. */
    source: () => source,
    /** Render again now (the dataset or labels changed). */
    refresh: schedule,
    destroy: () => window.removeEventListener("message", onMessage),
  };
}
