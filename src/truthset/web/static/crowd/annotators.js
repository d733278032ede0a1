// @ts-check
/**
 * The image annotation elements, each on truthset's own tool: crowd-bounding-box (bbox.js),
 * crowd-polygon, crowd-polyline, crowd-line, crowd-keypoint (vertices.js),
 * crowd-semantic-segmentation (segment.js), crowd-instance-segmentation (polygons drawn
 * with vertices.js, painted one colour per instance). Attributes: src, labels, header,
 * initial-value, name; slots <short-instructions>, <full-instructions>.
 */
import * as bbox from "../tools/bbox.js";
import * as polygon from "../tools/polygon.js";
import * as line from "../tools/line.js";
import * as polyline from "../tools/polyline.js";
import * as keypoint from "../tools/keypoint.js";
import * as segment from "../tools/segment.js";
import { PALETTE } from "../js/store.js";
import { CrowdElement, parseLiteral } from "./base.js";
import { hostTool } from "./toolhost.js";

/** @typedef {import("../js/types.js").ToolModule} ToolModule */

/** An element that is one tool over its `src` image. */
class ImageAnnotator extends CrowdElement {
  /** @returns {[ToolModule, string, string]} the tool, its task type, the answer key of initial-value lists */
  get toolSpec() {
    return [bbox, "bounding-box", "boundingBoxes"];
  }

  render() {
    const [mod, taskType, key] = this.toolSpec;
    this.host = hostTool(this, mod, { taskType, key, image: true });
  }

  /** The tool's answer: Ground Truth's shape for this element. */
  crowdAnswer() {
    return this.host ? this.host.tool.answer() : undefined;
  }

  crowdProblem() {
    const p = this.host && this.host.tool.problem ? this.host.tool.problem() : null;
    return p ? `${this.getAttribute("name") || this.localName}: ${p}` : null;
  }

  /** Ground Truth's element exposes the answer as `value` too. */
  get value() {
    return this.crowdAnswer();
  }
}

export class CrowdBoundingBox extends ImageAnnotator {}

export class CrowdPolygon extends ImageAnnotator {
  get toolSpec() {
    return /** @type {[ToolModule, string, string]} */ ([polygon, "polygon", "polygons"]);
  }
}

export class CrowdPolyline extends ImageAnnotator {
  get toolSpec() {
    return /** @type {[ToolModule, string, string]} */ ([polyline, "polyline", "polylines"]);
  }
}

/** Lines of exactly two points (the line tool ends a line at its second click); answer
 * key "lines". */
export class CrowdLine extends ImageAnnotator {
  get toolSpec() {
    return /** @type {[ToolModule, string, string]} */ ([line, "polyline", "polylines"]);
  }

  crowdAnswer() {
    const a = super.crowdAnswer();
    if (!a) return a;
    const { polylines, ...rest } = a;
    return { lines: polylines, ...rest };
  }

  crowdProblem() {
    const p = super.crowdProblem();
    if (p) return p;
    const a = super.crowdAnswer();
    const bad = a && a.polylines.findIndex((/** @type {any} */ l) => l.vertices.length !== 2);
    return bad >= 0 ? `${this.getAttribute("name")}: line ${bad + 1} has ${a.polylines[bad].vertices.length} points; a line has two points` : null;
  }
}

export class CrowdKeypoint extends ImageAnnotator {
  get toolSpec() {
    return /** @type {[ToolModule, string, string]} */ ([keypoint, "keypoint", "keypoints"]);
  }
}

export class CrowdSemanticSegmentation extends ImageAnnotator {
  get toolSpec() {
    return /** @type {[ToolModule, string, string]} */ ([segment, "semantic-segmentation", "labeledImage"]);
  }

  /**
   * Ground Truth's initial-value names the earlier mask by URL (`{"labelMappings": {...},
   * "src": "{{ ... | grant_read_access }}"}`); the tool reads a mask as base64 PNG
   * (`labeledImage.pngImageData`, the answer's own shape). So a URL is loaded first, and
   * the tool starts once it is read (or without it, saying why, if it cannot be).
   */
  render() {
    const prior = parseLiteral(this.getAttribute("initial-value"));
    const url = prior && typeof prior === "object" && !Array.isArray(prior) && typeof prior.src === "string"
      && !(prior.labeledImage && prior.labeledImage.pngImageData) ? prior.src : null;
    if (!url) {
      super.render();
      return;
    }
    this.loadingMask = true;
    maskAsPng(url).then((png) => {
      // The tool host reads the earlier answer from the attribute: give it the mask inline.
      this.setAttribute("initial-value", JSON.stringify({ ...prior, labeledImage: { pngImageData: png } }));
      this.loadingMask = false;
      super.render();
    }, (/** @type {unknown} */ err) => {
      this.loadingMask = false;
      this.removeAttribute("initial-value");
      super.render();
      const note = Object.assign(document.createElement("p"), {
        className: "crowd-error",
        textContent: `The earlier mask could not be loaded (${err instanceof Error ? err.message : String(err)}): start from an empty one.`,
      });
      note.style.color = "#b3261e";
      this.prepend(note);
    });
  }

  crowdProblem() {
    if (this.loadingMask) return `${this.getAttribute("name") || this.localName}: the earlier mask is still loading`;
    return super.crowdProblem();
  }
}

/**
 * The image at `url` as base64 PNG, through a canvas. The template's frame has an opaque
 * origin, so the image is cross-origin to it and a canvas it is drawn on could not be read
 * back; `crossOrigin = "anonymous"` asks for it with CORS and no credentials, which the
 * signed media route (`/api/media/grant`) allows.
 * @param {string} url @returns {Promise<string>}
 */
async function maskAsPng(url) {
  const img = new Image();
  img.crossOrigin = "anonymous";
  img.src = url;
  try {
    await img.decode();
  } catch {
    throw new Error("the image did not load or is not readable here");
  }
  const c = document.createElement("canvas");
  c.width = img.naturalWidth;
  c.height = img.naturalHeight;
  const g = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
  g.drawImage(img, 0, 0);
  return c.toDataURL("image/png").split(",")[1];
}

/** The colour of instance `i`: the palette, then further distinct hues. @param {number} i */
export function instanceColor(i) {
  if (i < PALETTE.length) return PALETTE[i];
  const hue = (i * 137.508) % 360; // golden angle: neighbours stay far apart
  const f = (/** @type {number} */ n) => {
    const k = (n + hue / 30) % 12;
    const c = 0.45 - 0.35 * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(255 * c).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/**
 * Paint polygons into a PNG, one colour per polygon, white elsewhere, without
 * anti-aliasing (a pixel belongs to the polygon its centre is in; later polygons on top).
 * @param {{vertices: {x: number, y: number}[]}[]} shapes @param {string[]} colors
 * @param {number} W @param {number} H
 * @returns {string} base64 PNG
 */
export function paintInstances(shapes, colors, W, H) {
  const c = document.createElement("canvas");
  c.width = W;
  c.height = H;
  const g = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
  const img = g.createImageData(W, H);
  img.data.fill(255);
  shapes.forEach((s, n) => {
    const v = s.vertices;
    const rgb = [1, 3, 5].map((o) => parseInt(colors[n].slice(o, o + 2), 16));
    const xs = v.map((p) => p.x);
    const ys = v.map((p) => p.y);
    const x0 = Math.max(0, Math.floor(Math.min(...xs))), x1 = Math.min(W - 1, Math.ceil(Math.max(...xs)));
    const y0 = Math.max(0, Math.floor(Math.min(...ys))), y1 = Math.min(H - 1, Math.ceil(Math.max(...ys)));
    for (let y = y0; y <= y1; y++) {
      const cy = y + 0.5;
      for (let x = x0; x <= x1; x++) {
        const cx = x + 0.5;
        let inside = false;
        for (let i = 0, j = v.length - 1; i < v.length; j = i++) {
          if ((v[i].y > cy) !== (v[j].y > cy) && cx < ((v[j].x - v[i].x) * (cy - v[i].y)) / (v[j].y - v[i].y) + v[i].x) inside = !inside;
        }
        if (inside) {
          const o = 4 * (y * W + x);
          img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2];
        }
      }
    }
  });
  g.putImageData(img, 0, 0);
  return c.toDataURL("image/png").split(",")[1];
}

/**
 * Instances outlined as polygons; the answer is Ground Truth's:
 * {"labeledImage": {"pngImageData"}, "instances": [{"color", "label"}], "inputImageProperties"}.
 */
export class CrowdInstanceSegmentation extends ImageAnnotator {
  get toolSpec() {
    return /** @type {[ToolModule, string, string]} */ ([polygon, "polygon", "polygons"]);
  }

  crowdAnswer() {
    const a = super.crowdAnswer();
    if (!a) return a;
    const { width, height } = a.inputImageProperties;
    const colors = a.polygons.map((/** @type {any} */ _p, /** @type {number} */ i) => instanceColor(i));
    /** @type {any} */
    const out = {
      labeledImage: { pngImageData: paintInstances(a.polygons, colors, width, height) },
      instances: a.polygons.map((/** @type {any} */ p, /** @type {number} */ i) => ({ color: colors[i], label: p.label })),
      inputImageProperties: a.inputImageProperties,
    };
    if ("initialValueModified" in a) out.initialValueModified = a.initialValueModified;
    return out;
  }
}

export const ANNOTATOR_ELEMENTS = {
  "crowd-bounding-box": CrowdBoundingBox, "crowd-polygon": CrowdPolygon, "crowd-polyline": CrowdPolyline,
  "crowd-line": CrowdLine, "crowd-keypoint": CrowdKeypoint, "crowd-semantic-segmentation": CrowdSemanticSegmentation,
  "crowd-instance-segmentation": CrowdInstanceSegmentation,
};
