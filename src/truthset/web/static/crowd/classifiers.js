// @ts-check
/**
 * The classifiers, on truthset's classification tool (classify.js: label buttons, number
 * keys): crowd-classifier and crowd-classifier-multi-select (what is classified is the
 * <classification-target> slot), crowd-image-classifier and
 * crowd-image-classifier-multi-select (the `src` image, with an `overlay` of earlier boxes
 * or a mask for verification). Attributes: categories, header, name, and for the
 * multi-selects exclusion-category="{ text: 'None' }" (an option that excludes the others).
 * Answers: {"label": ...} and {"labels": [...]}.
 */
import * as classify from "../tools/classify.js";
import { svg } from "../js/dom.js";
import { labelColor } from "../js/store.js";
import { CrowdElement, parseLiteral } from "./base.js";
import { hostTool } from "./toolhost.js";

class Classifier extends CrowdElement {
  get multi() {
    return false;
  }

  get image() {
    return false;
  }

  render() {
    const excl = this.multi ? parseLiteral(this.getAttribute("exclusion-category")) : undefined;
    /** @type {string | null} */
    const exclusion = excl && typeof excl === "object" && typeof excl.text === "string" ? excl.text : null;
    const host = hostTool(this, classify, {
      taskType: this.multi ? "image-classification-multilabel" : "image-classification",
      labelsAttr: "categories", image: this.image, extraLabels: exclusion ? [exclusion] : [],
    });
    this.host = host;
    if (!this.image) {
      const shown = host.root.querySelector(".text-item");
      if (shown) {
        shown.classList.add("crowd-classification-target");
        if (host.target) shown.replaceChildren(...Array.from(host.target.childNodes));
      }
    }
    if (exclusion) {
      // Choosing the exclusion category clears the others, and choosing another clears it.
      let before = /** @type {string[]} */ (host.store.state.chosen);
      host.store.on("change", () => {
        const now = /** @type {string[]} */ (host.store.state.chosen);
        const added = now.filter((l) => !before.includes(l));
        before = now;
        if (added.includes(exclusion) && now.length > 1) host.store.update((s) => void (s.chosen = [exclusion]), { record: false });
        else if (added.length && now.includes(exclusion)) host.store.update((s) => void (s.chosen = now.filter((l) => l !== exclusion)), { record: false });
      });
    }
    if (this.image) this.drawOverlay();
  }

  /** `overlay`: {"boundingBox": {"labels", "value": [boxes]}} or {"semanticSegmentation": {"labels", "value": <mask URL>}}. */
  drawOverlay() {
    const overlay = parseLiteral(this.getAttribute("overlay"));
    const layer = this.host && this.host.root.querySelector("svg.overlay");
    if (!overlay || typeof overlay !== "object" || !layer) return;
    const boxes = overlay.boundingBox;
    if (boxes && Array.isArray(boxes.value)) {
      const labels = Array.isArray(boxes.labels) ? boxes.labels : [];
      for (const b of boxes.value) {
        const color = labelColor(Math.max(0, labels.indexOf(b.label)));
        layer.append(svg("rect", {
          class: "shape crowd-overlay-box", x: +b.left, y: +b.top, width: +b.width, height: +b.height,
          stroke: color, fill: color, "fill-opacity": 0.15, "data-label": b.label,
        }));
      }
    }
    const mask = overlay.semanticSegmentation;
    if (mask && typeof mask.value === "string") {
      layer.append(svg("image", { class: "crowd-overlay-mask", href: mask.value, x: 0, y: 0, width: "100%", height: "100%", opacity: 0.5 }));
    }
  }

  crowdAnswer() {
    return this.host ? this.host.tool.answer() : undefined;
  }

  crowdProblem() {
    const p = this.host && this.host.tool.problem ? this.host.tool.problem() : null;
    return p ? `${this.getAttribute("header") || this.getAttribute("name")}: pick a category` : null;
  }

  get value() {
    return this.crowdAnswer();
  }
}

export class CrowdClassifier extends Classifier {}

export class CrowdClassifierMultiSelect extends Classifier {
  get multi() {
    return true;
  }
}

export class CrowdImageClassifier extends Classifier {
  get image() {
    return true;
  }
}

export class CrowdImageClassifierMultiSelect extends Classifier {
  get multi() {
    return true;
  }

  get image() {
    return true;
  }
}

export const CLASSIFIER_ELEMENTS = {
  "crowd-classifier": CrowdClassifier, "crowd-classifier-multi-select": CrowdClassifierMultiSelect,
  "crowd-image-classifier": CrowdImageClassifier, "crowd-image-classifier-multi-select": CrowdImageClassifierMultiSelect,
};
