// @ts-check
/**
 * Label category and frame attributes (Ground Truth's 2020 label config:
 * categoryAttributes per label, categoryGlobalAttributes for every label, frameAttributes
 * for the image) in the image object tools. The selected object's attributes are a small
 * form beside the image, the image's own below it: an enum is a select, a number a number
 * field with its minimum and maximum, a string a text field. Values live in the tool's
 * state (each object's `attrs`, the state's `frame`), so undo and drafts keep them.
 * Answer: `"label-category-attributes": {name: value}` on each object that has values,
 * `"frame-attributes": {name: value}` on the answer.
 */
import { h } from "../js/dom.js";

/**
 * @typedef {{name: string, type: "string" | "number", enum?: string[], minimum?: number,
 *   maximum?: number, description?: string, isRequired?: boolean, editsAllowed?: string}} AttributeSpec
 * @typedef {Record<string, string | number>} Values
 * @typedef {{forLabel: (label: string) => AttributeSpec[], frame: AttributeSpec[], any: boolean}} Specs
 */

/** Longest free text Ground Truth takes for a label attribute and a frame attribute. */
const MAX_TEXT = { object: 80, frame: 1000 };

/** @param {any} list @returns {AttributeSpec[]} */
const specList = (list) => (Array.isArray(list) ? list.filter((a) => a && typeof a.name === "string") : []);

/**
 * The attributes of a job's label config (none for the 2018 format).
 * @param {any} cfg the job's label config as given
 * @returns {Specs}
 */
export function attributeSpecs(cfg) {
  const v2020 = cfg && typeof cfg === "object" && cfg.documentVersion === "2020-03-01";
  const global = v2020 ? specList(cfg.categoryGlobalAttributes) : [];
  /** @type {Map<string, AttributeSpec[]>} */
  const own = new Map();
  if (v2020 && Array.isArray(cfg.labels)) {
    for (const l of cfg.labels) if (l && typeof l.label === "string") own.set(l.label, specList(l.categoryAttributes));
  }
  const frame = v2020 ? specList(cfg.frameAttributes) : [];
  const forLabel = (/** @type {string} */ label) => [...global, ...(own.get(label) || [])];
  const any = frame.length > 0 || global.length > 0 || [...own.values()].some((x) => x.length > 0);
  return { forLabel, frame, any };
}

/**
 * The labels whose objects a job chained on an earlier label may not change (2020 format,
 * `editsAllowed: "none"`; every label so: a verification job). The server refuses such
 * edits too (tasktypes/_edits.py); the tools show those objects locked.
 * @param {any} cfg the job's label config as given @returns {Set<string>}
 */
export function fixedLabels(cfg) {
  const v2020 = cfg && typeof cfg === "object" && cfg.documentVersion === "2020-03-01";
  /** @type {Set<string>} */
  const out = new Set();
  if (v2020 && Array.isArray(cfg.labels)) {
    for (const l of cfg.labels) if (l && typeof l.label === "string" && l.editsAllowed === "none") out.add(l.label);
  }
  return out;
}

/**
 * Only the values that belong to `specs` (an object relabelled keeps none of its old
 * label's attributes) and are set.
 * @param {Values | undefined} values @param {AttributeSpec[]} specs @returns {Values}
 */
export function keptValues(values, specs) {
  /** @type {Values} */
  const out = {};
  for (const s of specs) {
    const v = values ? values[s.name] : undefined;
    if (v !== undefined && v !== null && v !== "") out[s.name] = v;
  }
  return out;
}

/**
 * What is wrong with the values, in the words a worker reads; null when nothing.
 * @param {Values | undefined} values @param {AttributeSpec[]} specs
 * @returns {string | null}
 */
export function valuesProblem(values, specs) {
  const kept = keptValues(values, specs);
  for (const s of specs) {
    const v = kept[s.name];
    if (v === undefined) {
      if (s.isRequired) return `set “${s.name}”`;
      continue;
    }
    if (s.type === "number") {
      if (typeof v !== "number" || !isFinite(v)) return `“${s.name}” must be a number`;
      if (typeof s.minimum === "number" && v < s.minimum) return `“${s.name}” must be at least ${s.minimum}`;
      if (typeof s.maximum === "number" && v > s.maximum) return `“${s.name}” must be at most ${s.maximum}`;
    }
  }
  return null;
}

/**
 * Object attributes as the tool starts: the earlier label's or the prediction's.
 * @param {any} obj an initial object @returns {Values}
 */
export function initialValues(obj) {
  const v = obj && obj["label-category-attributes"];
  return v && typeof v === "object" ? { ...v } : {};
}

/**
 * Frame attributes as the tool starts: the earlier label's (its metadata's
 * dataset-object-attributes) or the prediction's frame-attributes.
 * @param {import("../js/types.js").Task} task @returns {Values}
 */
export function initialFrame(task) {
  const prior = task.prior_label;
  const fromPrior = prior && prior.meta && prior.meta["dataset-object-attributes"];
  if (fromPrior && typeof fromPrior === "object") return { ...fromPrior };
  const fromPrediction = task.prediction && task.prediction["frame-attributes"];
  return fromPrediction && typeof fromPrediction === "object" ? { ...fromPrediction } : {};
}

/**
 * One field per attribute.
 * @param {AttributeSpec[]} specs @param {Values} values
 * @param {(name: string, value: string | number | null) => void} set
 * @param {{maxText: number, locked: boolean, prefix: string}} opts
 */
export function fields(specs, values, set, opts) {
  return specs.map((s) => {
    const id = `${opts.prefix}-${s.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const locked = opts.locked && s.editsAllowed === "none";
    const current = values[s.name];
    /** @type {HTMLInputElement | HTMLSelectElement} */
    let input;
    if (s.type === "string" && Array.isArray(s.enum)) {
      input = h("select", { id, disabled: locked },
        h("option", { value: "", selected: current === undefined }, "—"),
        s.enum.map((v) => h("option", { value: v, selected: current === v }, v)));
      // a pick gives the keyboard back to the tool (number keys, Delete, arrows)
      input.addEventListener("change", () => {
        set(s.name, input.value || null);
        input.blur();
      });
    } else if (s.type === "number") {
      input = h("input", { id, type: "number", step: "any", min: s.minimum, max: s.maximum, disabled: locked,
        value: current === undefined ? "" : String(current) });
      input.addEventListener("change", () => set(s.name, input.value === "" ? null : Number(input.value)));
    } else {
      input = h("input", { id, type: "text", maxlength: opts.maxText, disabled: locked,
        value: current === undefined ? "" : String(current) });
      input.addEventListener("change", () => set(s.name, input.value.trim() ? input.value : null));
    }
    input.dataset.attr = s.name;
    input.addEventListener("keydown", (/** @type {KeyboardEvent} */ e) => {
      // Ctrl+Enter goes on to the page (submit); plain Enter and Esc only leave the field
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "Escape" || (e.key === "Enter" && input.tagName === "INPUT")) {
        e.preventDefault();
        e.stopPropagation();
        input.blur();
      }
    });
    const range = s.type === "number" && (typeof s.minimum === "number" || typeof s.maximum === "number")
      ? `${s.minimum ?? "…"}–${s.maximum ?? "…"}` : "";
    return h("div", { class: "attr-field", style: { display: "flex", flexDirection: "column", gap: ".1rem", marginTop: ".35rem" } },
      h("label", { for: id }, s.name, s.isRequired ? h("b", { title: "required" }, " *") : null,
        range ? h("span", { class: "muted" }, ` (${range})`) : null),
      input,
      s.description ? h("small", { class: "muted" }, s.description) : null);
  });
}

/**
 * The attribute forms beside the image: the selected object's, then the image's.
 * @param {object} o
 * @param {import("../js/store.js").AnnotationStore<any>} o.store
 * @param {Specs} o.specs
 * @param {() => {id: number, label: string, attrs?: Values}[]} o.objects the tool's objects
 * @param {(state: any) => {id: number, label: string, attrs?: Values}[]} o.objectsOf the same, of a draft state
 * @param {string} o.noun "Box", "Polygon"…
 * @param {() => boolean} o.locked whether attributes with editsAllowed "none" are read-only
 *   (an adjustment job started from an earlier label)
 * @returns {HTMLElement}
 */
export function attributePanel({ store, specs, objects, objectsOf, noun, locked }) {
  const objectBox = h("section", { id: "object-attributes", class: "attributes" });
  const frameBox = h("section", { id: "frame-attributes", class: "attributes" });
  let shownObject = "";
  let shownFrame = "";

  /** @param {number} id @returns {(name: string, value: string | number | null) => void} */
  const setObject = (id) => (name, value) => store.update((/** @type {any} */ s) => {
    const obj = objectsOf(s).find((x) => x.id === id);
    if (!obj) return;
    const attrs = { ...(obj.attrs || {}) };
    if (value === null) delete attrs[name];
    else attrs[name] = value;
    obj.attrs = attrs;
  }, { reason: "attribute" });
  /** @type {(name: string, value: string | number | null) => void} */
  const setFrame = (name, value) => store.update((/** @type {any} */ s) => {
    const frame = { ...(s.frame || {}) };
    if (value === null) delete frame[name];
    else frame[name] = value;
    s.frame = frame;
  }, { reason: "attribute" });

  /** Show the values without rebuilding the fields (a rebuild would take the focus). @param {HTMLElement} box @param {Values} values */
  const sync = (box, values) => {
    for (const el of /** @type {NodeListOf<HTMLInputElement | HTMLSelectElement>} */ (box.querySelectorAll("[data-attr]"))) {
      if (el === document.activeElement) continue;
      const v = values[el.dataset.attr || ""];
      el.value = v === undefined ? "" : String(v);
    }
  };

  const render = () => {
    const objs = objects();
    const index = objs.findIndex((x) => x.id === store.selected);
    const obj = index >= 0 ? objs[index] : null;
    const own = obj ? specs.forLabel(obj.label) : [];
    const objectKey = obj ? `${obj.id}:${obj.label}:${locked()}` : "";
    if (objectKey !== shownObject) {
      shownObject = objectKey;
      objectBox.replaceChildren(...(obj && own.length
        ? [h("h3", null, `${noun} #${index + 1} · ${obj.label}`),
          ...fields(own, obj.attrs || {}, setObject(obj.id), { maxText: MAX_TEXT.object, locked: locked(), prefix: "attr" })]
        : []));
    } else if (obj) sync(objectBox, obj.attrs || {});
    const frame = /** @type {Values} */ (store.state.frame || {});
    const frameKey = `${specs.frame.length}:${locked()}`;
    if (frameKey !== shownFrame) {
      shownFrame = frameKey;
      frameBox.replaceChildren(...(specs.frame.length
        ? [h("h3", null, "Image attributes"),
          ...fields(specs.frame, frame, setFrame, { maxText: MAX_TEXT.frame, locked: locked(), prefix: "frame" })]
        : []));
    } else sync(frameBox, frame);
  };
  store.on("change", render);
  store.on("select", render);
  render();
  return h("div", { class: "attribute-panel" }, objectBox, frameBox);
}

/**
 * What stops a submit: the first object whose attributes are incomplete or out of range
 * (it is selected, so that its form shows), then the image's.
 * @param {import("../js/store.js").AnnotationStore<any>} store @param {Specs} specs
 * @param {() => {id: number, label: string, attrs?: Values}[]} objects the tool's objects
 * @param {string} noun
 * @returns {string | null}
 */
export function attributesProblem(store, specs, objects, noun) {
  if (!specs.any) return null;
  // A text field's value reaches the state when it loses the focus (its change event):
  // a submit straight from the field (Ctrl+Enter) must not lose what was typed.
  const active = document.activeElement;
  if (active instanceof HTMLElement && active.closest(".attribute-panel")) {
    active.blur();
  }
  const objs = objects();
  for (let i = 0; i < objs.length; i++) {
    const why = valuesProblem(objs[i].attrs, specs.forLabel(objs[i].label));
    if (why) {
      store.select(objs[i].id);
      return `${noun} #${i + 1} (${objs[i].label}): ${why}.`;
    }
  }
  const why = valuesProblem(store.state.frame, specs.frame);
  return why ? `Image attributes: ${why}.` : null;
}

/**
 * The answer's attribute parts: an object's `label-category-attributes` (only set values
 * of its label's attributes) and the answer's `frame-attributes`.
 * @param {Specs} specs @param {{label: string, attrs?: Values}} obj @returns {Record<string, Values>}
 */
export function objectAnswer(specs, obj) {
  const values = keptValues(obj.attrs, specs.forLabel(obj.label));
  return Object.keys(values).length ? { "label-category-attributes": values } : {};
}

/** @param {Specs} specs @param {any} state @returns {Record<string, Values>} */
export function frameAnswer(specs, state) {
  const values = keptValues(state.frame, specs.frame);
  return Object.keys(values).length ? { "frame-attributes": values } : {};
}
