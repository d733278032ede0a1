// @ts-check
/**
 * truthset's Crowd HTML Elements: every element Ground Truth templates use, as custom
 * elements with the same tag names, attributes and answers, built on truthset's own tools.
 * A rendered worker task template loads this one module:
 *   <script type="module" src="/static/crowd/crowd-elements.js"></script>
 * It runs in a sandboxed frame of an opaque origin, so every module it imports (here and
 * under ../js and ../tools) is served with Access-Control-Allow-Origin: * (web/pages.py).
 */
import { FORM_ELEMENTS } from "./form.js";
import { WIDGET_ELEMENTS } from "./widgets.js";
import { CLASSIFIER_ELEMENTS } from "./classifiers.js";
import { ANNOTATOR_ELEMENTS } from "./annotators.js";
import { TEXT_ELEMENTS } from "./text.js";
import { INSTRUCTION_ELEMENTS } from "./instructions.js";

/** The stylesheets: the tools' own, then the elements'. */
for (const sheet of ["../css/app.css", "./crowd.css"]) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL(sheet, import.meta.url).href;
  document.head.append(link);
}

/** @type {Record<string, CustomElementConstructor>} */
export const ELEMENTS = {
  ...FORM_ELEMENTS, ...WIDGET_ELEMENTS, ...CLASSIFIER_ELEMENTS, ...ANNOTATOR_ELEMENTS,
  ...TEXT_ELEMENTS, ...INSTRUCTION_ELEMENTS,
};

// Children first: a <crowd-form> collects from elements that already answer.
for (const [tag, cls] of Object.entries(ELEMENTS).reverse()) {
  if (!customElements.get(tag)) customElements.define(tag, cls);
}
