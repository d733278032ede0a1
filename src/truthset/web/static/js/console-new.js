// @ts-check
/**
 * Create a labeling job: choose or upload a dataset (manifest upload, a folder or S3
 * path) or chain from another job's output, the task type, labels (one per line or a
 * Ground Truth label category file), Markdown instructions with a preview, workers per
 * item, time limits, teams, quality and auto-labeling settings.
 * `?clone=<job>` starts from a copy of that job; `?input_job=<job>` chains from it.
 * A custom job (task type `custom`) is a worker task template, written in the template
 * editor (template-editor.js) with a live preview of the dataset's first item; its
 * labels are optional (they reach the template as `task.input.labels`).
 */
import { api, me, isStaff, enc } from "./api.js";
import { h, byId, replace, topbar, toast } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { templateEditor } from "./template-editor.js";
import { mediaDropZone } from "./upload.js";

/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));

/** @param {string} label @param {Node} control @param {string} [hint] */
const field = (label, control, hint) => [
  h("label", { for: /** @type {HTMLElement} */ (control).id || undefined }, label, hint ? h("span", { class: "hint" }, hint) : null),
  control,
];

/**
 * Labels from the text box: a Ground Truth label file (JSON) as is, else one per line.
 * @param {string} text
 */
export function parseLabels(text) {
  const t = text.trim();
  if (t.startsWith("{") || t.startsWith("[")) return JSON.parse(t);
  return {
    "document-version": "2018-11-28",
    labels: t.split("\n").map((l) => l.trim()).filter(Boolean).map((label) => ({ label })),
  };
}

/**
 * The model parameters field: a JSON object, or a clear error naming the field.
 * @param {string} text
 * @returns {Record<string, any>}
 */
export function parseModelParams(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`Model parameters: not valid JSON (${err instanceof Error ? err.message : err}).`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("Model parameters must be a JSON object, e.g. {\"url\": \"http://...\"}.");
  }
  return value;
}

async function main() {
  const user = await me();
  topbar(user);
  if (!isStaff(user)) {
    replace(byId("app"), h("p", { class: "error" }, "The console is for requesters and admins."));
    return;
  }
  const q = new URLSearchParams(location.search);
  const [types, datasets, jobs, teams, importRoots] = await Promise.all([
    api("/api/task-types"), api("/api/datasets"), api("/api/jobs"), api("/api/teams").catch(() => []),
    api("/api/import-roots").catch(() => null),
  ]);
  /** @type {any} */
  let base = null;
  if (q.get("clone")) base = await api(`/api/jobs/${enc(String(q.get("clone")))}`);
  const chainFrom = q.get("input_job") || (base && base.input_job) || "";

  // The server's rule (jobs/service.NAME_RE). Browsers compile `pattern` with the v flag,
  // where a "-" in a class must be escaped: "[._-]" there is no regular expression at all.
  const name = h("input", { id: "f-name", required: true, maxlength: "63", pattern: "[A-Za-z0-9][A-Za-z0-9\\-]{0,62}", value: base ? `${base.name}-copy` : chainFrom ? `${chainFrom}-review` : "" });
  const sourceKind = h("select", { id: "f-source-kind" },
    h("option", { value: "dataset" }, "an existing dataset"),
    h("option", { value: "media" }, "images, audio or video from this computer (drag and drop)"),
    h("option", { value: "upload" }, "a manifest or CSV file to upload"),
    h("option", { value: "path" }, "a folder, manifest path or s3:// prefix on the server"),
    h("option", { value: "chain", selected: !!chainFrom }, "another job's output (chain)"));
  const dataset = h("select", { id: "f-dataset" }, datasets.map((/** @type {any} */ d) =>
    h("option", { value: d.name, selected: base ? base.dataset === d.name : q.get("dataset") === d.name }, `${d.name} (${d.items} items)`)));
  const newDataset = h("input", { id: "f-new-dataset", placeholder: "name of the new dataset" });
  const upload = h("input", { id: "f-upload", type: "file", accept: ".manifest,.jsonl,.json,.ndjson,.csv" });
  const path = h("input", { id: "f-path", placeholder: "/data/photos or s3://bucket/prefix/" });
  const mediaDataset = h("input", { id: "f-media-dataset", placeholder: "a new or existing dataset", list: "f-dataset-names" });
  const datasetNames = h("datalist", { id: "f-dataset-names" }, datasets.map((/** @type {any} */ d) => h("option", { value: d.name })));
  const dropZone = mediaDropZone();
  let mediaAddedTo = "";
  const rootsHint = h("p", { class: "hint", id: "f-import-roots" }, importRoots
    ? `The server imports from its media folder (${importRoots.media_dir})`
      + (importRoots.roots.length ? ` and its allowed roots: ${importRoots.roots.join(", ")}.` : "; no other roots are allowed.")
      + ` Set ${importRoots.setting}.`
    : "");
  const inputJob = h("select", { id: "f-input-job" }, jobs.map((/** @type {any} */ j) =>
    h("option", { value: j.name, selected: j.name === chainFrom }, j.name)));
  const sourceBox = h("div");
  const showSource = () => {
    const k = sourceKind.value;
    replace(sourceBox,
      k === "dataset" ? dataset : null,
      k === "upload" ? h("div", { class: "row" }, newDataset, upload) : null,
      k === "media" ? h("div", null, h("div", { class: "row" }, mediaDataset, datasetNames), dropZone.root,
        importRoots ? h("p", { class: "hint", id: "f-uploads-to" }, `Stored once per content in ${importRoots.uploads_to}.`) : null) : null,
      k === "path" ? h("div", null, h("div", { class: "row" }, newDataset, path), rootsHint) : null,
      k === "chain" ? h("div", { class: "row" }, inputJob,
        h("label", null, adjustment, " adjust the earlier labels (otherwise: verify them or label afresh)")) : null);
  };
  sourceKind.addEventListener("change", showSource);

  if (!types.some((/** @type {any} */ t) => t.name === "custom")) types.push({ name: "custom", media: "any" });
  const taskType = h("select", { id: "f-task-type" }, types.map((/** @type {any} */ t) =>
    h("option", { value: t.name, selected: base ? base.task_type === t.name : t.name === (q.get("task_type") || "image-classification") }, `${t.name} (${t.media})`)));
  const labels = h("textarea", { id: "f-labels", rows: "6", placeholder: "one label per line, or a Ground Truth label category file (JSON)" });
  if (base) labels.value = base.label_config && typeof base.label_config === "object" && !Array.isArray(base.label_config)
    ? JSON.stringify(base.label_config, null, 2) : (base.labels || []).join("\n");
  const labelFile = h("input", { id: "f-label-file", type: "file", accept: ".json" });
  labelFile.addEventListener("change", async () => {
    const f = labelFile.files && labelFile.files[0];
    if (f) labels.value = await f.text();
  });
  const settings0 = (base && base.settings) || {};
  const labelsLabel = /** @type {HTMLElement} */ (field("Labels", labels, "label order gives the class ids")[0]);
  const editor = templateEditor({
    initial: (settings0.template && settings0.template.html) || "",
    source: () => {
      const k = sourceKind.value;
      if (k === "dataset" && dataset.value) return { dataset: dataset.value, note: `The first item of ${dataset.value}, as a worker sees it.` };
      const chained = k === "chain" && jobs.find((/** @type {any} */ j) => j.name === inputJob.value);
      if (chained && chained.dataset) return { dataset: chained.dataset, note: `The first item of ${chained.dataset}, as a worker sees it.` };
      return { note: "No dataset yet: the preview renders over an empty manifest line." };
    },
    labels: () => {
      const parsed = parseLabels(labels.value);
      return Array.isArray(parsed) || (parsed.labels && parsed.labels.length) ? parsed : undefined;
    },
  });
  const templateRow = h("div", { id: "f-template-row", class: "template-row", style: { gridColumn: "1 / -1" } },
    h("label", { for: "f-template" }, "Worker task template",
      h("span", { class: "hint" }, "HTML + Liquid with Crowd HTML Elements, as on Ground Truth; task.input is {taskObject, manifestLine, labels}")),
    editor.root);
  const isCustom = () => taskType.value === "custom";
  const showTaskType = () => {
    templateRow.hidden = !isCustom();
    const hint = labelsLabel.querySelector(".hint");
    if (hint) hint.textContent = isCustom() ? "optional: task.input.labels of the template" : "label order gives the class ids";
    if (isCustom()) editor.refresh();
  };
  taskType.addEventListener("change", showTaskType);
  for (const control of [sourceKind, dataset, inputJob, labels]) {
    control.addEventListener(control === labels ? "input" : "change", () => { if (isCustom()) editor.refresh(); });
  }
  const shortInstr = h("input", { id: "f-short", maxlength: "255", value: settings0.short_instructions || "" });
  const instr = h("textarea", { id: "f-instructions", rows: "10" });
  instr.value = base ? base.instructions || "" : "# Instructions\n\nExplain the labels here. Show examples with images whose alt text starts with good: or bad:,\ne.g. `![good: a tight box](https://your-bucket.example/good.jpg)` (list that origin below).\n";
  const origins = h("input", { id: "f-origins", placeholder: "https://images.example.org, https://cdn.example.com", value: (((base && base.settings) || {}).instruction_image_origins || []).join(", ") });
  const originList = () => origins.value.split(",").map((o) => o.trim().replace(/\/+$/, "")).filter(Boolean);
  const preview = h("div", { class: "markdown card", id: "f-preview" });
  const showPreview = () => replace(preview, renderMarkdown(instr.value, { allowedImageOrigins: originList() }));
  instr.addEventListener("input", showPreview);
  origins.addEventListener("input", showPreview);
  const perItem = h("input", { id: "f-workers", type: "number", min: "1", max: "9", value: String(base ? base.workers_per_item : 1) });
  const timeLimit = h("input", { id: "f-time", type: "number", min: "10", max: "28800", value: String(base ? base.task_time_limit : 300) });
  const availability = h("input", { id: "f-availability", type: "number", min: "1", value: String(base ? Math.round(base.task_availability / 3600) : 240) });
  const maxHuman = h("input", { id: "f-max-human", type: "number", min: "1", value: base && base.max_human_labeled ? String(base.max_human_labeled) : "" });
  const teamBoxes = teams.map((/** @type {any} */ t) => h("label", { class: "row" },
    h("input", { type: "checkbox", name: "team", value: t.name, checked: base ? (base.teams || []).includes(t.name) : teams.length === 1 }), ` ${t.name} (${t.members.length})`));
  const goldRate = h("input", { id: "f-gold-rate", type: "number", min: "0", max: "1", step: "0.05", value: String(settings0.gold_rate ?? "") });
  const qualGold = h("input", { id: "f-qual", type: "number", min: "0", value: String((settings0.qualification || {}).gold_items ?? "") });
  const autoLabel = h("input", { id: "f-autolabel", type: "checkbox", checked: !!settings0.auto_label });
  const target = h("input", { id: "f-target", type: "number", min: "0.5", max: "1", step: "0.01", value: String((settings0.auto_label || {}).target_accuracy ?? 0.95) });
  const auto0 = settings0.auto_label || {};
  // The model the loop trains: empty = the task type's default; a registered name (the
  // datalist), "python:package.module:Class", or "http" with its url in the parameters.
  const model = h("input", { id: "f-model", list: "f-model-names", placeholder: "default for the task type", value: auto0.model || "" });
  const modelNames = h("datalist", { id: "f-model-names" },
    ...["linear", "mlp", "text-tfidf", "image-random-patch", "http"].map((n) => h("option", { value: n })));
  const modelParams = h("textarea", { id: "f-model-params", rows: "2", placeholder: '{"url": "http://127.0.0.1:9000/predict"}' });
  modelParams.value = auto0.model_params ? JSON.stringify(auto0.model_params) : "";
  const adjustment = h("input", { id: "f-adjust", type: "checkbox", checked: !!settings0.adjustment });
  const confirmEmpty = h("input", { id: "f-confirm-empty", type: "checkbox", checked: settings0.confirm_empty_answer !== false });
  const error = h("p", { class: "error", id: "f-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", id: "f-submit" }, "Create job");

  const form = h("form", { id: "new-job", class: "card" },
    h("div", { class: "form-grid" },
      ...field("Name", name, "letters, digits and -, starting with a letter or digit (at most 63)"),
      ...field("Data", sourceKind), h("span"), sourceBox,
      ...field("Task type", taskType),
      templateRow,
      labelsLabel, labels, h("span"), labelFile,
      ...field("Short instructions", shortInstr, "shown beside the tool"),
      ...field("Full instructions", instr, "Markdown; images whose alt text starts with good: or bad: are framed as examples"),
      ...field("Example image origins", origins, "sites the instructions may load images from"),
      h("span", { class: "hint" }, "Preview"), preview,
      ...field("Workers per item", perItem),
      ...field("Time per task (s)", timeLimit),
      ...field("Task availability (h)", availability),
      ...field("Stop after N human labels", maxHuman, "optional"),
      h("label", null, "Teams"), h("div", { id: "f-teams" }, teamBoxes.length ? teamBoxes : h("span", { class: "muted" }, "No team yet.")),
      ...field("Gold item rate", goldRate, "share of tasks that are gold items (0–1)"),
      ...field("Qualification", qualGold, "gold items a worker answers first"),
      h("label", null, "Automated labeling"), h("div", { class: "row" }, autoLabel, " label confident items with a model, at accuracy ", target),
      ...field("Model", model, "with automated labeling: a registered name, python:module:Class, or http"),
      ...field("Model parameters", modelParams, "JSON object, optional (http: url, fit_url)"),
      h("label", { for: "f-confirm-empty" }, "Empty answers"),
      h("label", { class: "row" }, confirmEmpty, " ask workers to confirm an answer with no boxes, polygons, points or spans (turn off where most items have nothing to mark)")),
    modelNames, // outside the grid: a cell of its own would push the rows after it aside
    h("p", { class: "row" }, submit, h("a", { href: "/console" }, "Cancel")), error);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      /** @type {Record<string, any>} */
      const settings = { ...settings0 };
      if (confirmEmpty.checked) delete settings.confirm_empty_answer;
      else settings.confirm_empty_answer = false;
      if (shortInstr.value.trim()) settings.short_instructions = shortInstr.value.trim();
      else delete settings.short_instructions;
      if (originList().length) settings.instruction_image_origins = originList();
      else delete settings.instruction_image_origins;
      if (goldRate.value) settings.gold_rate = Number(goldRate.value);
      if (qualGold.value) settings.qualification = { ...(settings.qualification || {}), gold_items: Number(qualGold.value) };
      if (autoLabel.checked) {
        const auto = { ...(settings.auto_label || {}), target_accuracy: Number(target.value) };
        if (model.value.trim()) auto.model = model.value.trim();
        else delete auto.model;
        if (modelParams.value.trim()) auto.model_params = parseModelParams(modelParams.value);
        else delete auto.model_params;
        settings.auto_label = auto;
      } else delete settings.auto_label;
      if (isCustom()) {
        if (!editor.value().trim()) throw new Error("Write the worker task template (or start from a sample).");
        settings.template = { html: editor.value(), source: editor.source() };
      } else delete settings.template;
      /** @type {Record<string, any>} */
      const body = {
        name: name.value.trim(),
        task_type: taskType.value,
        labels: parseLabels(labels.value),
        workers_per_item: Number(perItem.value),
        task_time_limit: Number(timeLimit.value),
        task_availability: Number(availability.value) * 3600,
        instructions: instr.value,
        teams: teamBoxes.map((/** @type {HTMLElement} */ l) => /** @type {HTMLInputElement} */ (l.querySelector("input")))
          .filter((/** @type {HTMLInputElement} */ i) => i.checked).map((/** @type {HTMLInputElement} */ i) => i.value),
        settings,
      };
      if (maxHuman.value) body.max_human_labeled = Number(maxHuman.value);
      // A mask label is a file: Ground Truth names such attributes "...-ref".
      if (taskType.value === "semantic-segmentation") body.label_attribute = `${body.name}-ref`;
      const kind = sourceKind.value;
      if (kind === "chain") {
        body.input_job = inputJob.value;
        if (adjustment.checked) settings.adjustment = true;
        else delete settings.adjustment;
      } else if (kind === "dataset") body.dataset = dataset.value;
      else if (kind === "media") {
        const ds = mediaDataset.value.trim();
        if (!ds) throw new Error("Name the dataset the files go into (a new or an existing one).");
        // Files already added (a press of Create that stopped at refused files) are not sent again.
        if (!(mediaAddedTo === ds && !dropZone.files().length)) {
          const summary = await dropZone.upload(ds);
          if (!summary.added && !summary.duplicates) throw new Error(`No file was added to ${ds}: see the list below the drop zone.`);
          mediaAddedTo = ds;
          if (summary.refused) {
            dropZone.clear();
            throw new Error(`${summary.refused} file(s) were refused (listed below the drop zone); the others are in ${ds}. Press Create again to make the job without them.`);
          }
          toast(`Added ${summary.added} items to ${ds} (${summary.duplicates} already there).`, "ok");
        }
        body.dataset = ds;
      } else {
        const ds = newDataset.value.trim();
        if (!ds) throw new Error("Give the new dataset a name.");
        if (kind === "upload") {
          const f = upload.files && upload.files[0];
          if (!f) throw new Error("Choose a manifest or CSV file to upload.");
          const fd = new FormData();
          fd.append("file", f);
          const res = await api(`/api/datasets/${enc(ds)}/upload`, { form: fd }).catch((err) => {
            throw new Error(`The file ${f.name} was not imported: ${message(err)}`);
          });
          toast(`Imported ${res.added} items into ${ds} (${res.duplicates} duplicates, ${res.invalid} invalid).`, "ok");
        } else {
          await api(`/api/datasets/${enc(ds)}/imports`, { body: { source: path.value.trim(), wait: true } });
        }
        body.dataset = ds;
      }
      const job = await api("/api/jobs", { body });
      location.assign(`/console/jobs/${enc(job.name)}`);
    } catch (err) {
      error.textContent = message(err);
    } finally {
      submit.disabled = false;
    }
  });
  replace(byId("app"), h("h1", null, base ? `Clone ${base.name}` : chainFrom ? `Chain a job from ${chainFrom}` : "New labeling job"), form);
  showSource();
  showPreview();
  showTaskType();
}

main().catch((err) => toast(message(err), "error", 0));
