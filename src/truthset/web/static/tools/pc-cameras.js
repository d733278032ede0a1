// @ts-check
/**
 * The frame's camera images beside the cloud (sensor fusion), each with the cuboids
 * projected onto it: the same projection as geometry/cuboids.py (pc-math.js's
 * projectPoint; a test runs both on the same cuboids). Each edge is drawn as a polyline
 * of a few samples, so a distorting lens bends it as it bends the image; a sample behind
 * the camera breaks the line there. A click on an image shows it large; another, small.
 */
import { h, svg } from "../js/dom.js";
import { corners, EDGES, projectPoint } from "./pc-math.js";

/** @typedef {import("./pc-math.js").Cuboid} Cuboid */
/** @typedef {import("./pc-data.js").CameraInfo} CameraInfo */

/** Samples per edge. */
const SAMPLES = 8;

/**
 * The cuboid's edges in the image: a list of polylines (pixel x, y pairs).
 * @param {Cuboid} c @param {import("./pc-math.js").Camera} cam @returns {number[][]}
 */
export function projectedEdges(c, cam) {
  const pts = corners(c);
  /** @type {number[][]} */
  const lines = [];
  for (const [a, b] of EDGES) {
    /** @type {number[]} */
    let line = [];
    for (let s = 0; s <= SAMPLES; s++) {
      const t = s / SAMPLES;
      const p = [0, 1, 2].map((k) => pts[a][k] + (pts[b][k] - pts[a][k]) * t);
      const q = projectPoint(p, cam);
      if (q.depth <= 0.05) {
        if (line.length >= 4) lines.push(line);
        line = [];
        continue;
      }
      line.push(q.u, q.v);
    }
    if (line.length >= 4) lines.push(line);
  }
  return lines;
}

export class CameraStrip {
  constructor() {
    this.el = h("div", { class: "pc-cameras", id: "pc-cameras" });
    /** @type {{cam: CameraInfo, overlay: SVGSVGElement, figure: HTMLElement}[]} */
    this.shown = [];
  }

  /**
   * Show a frame's cameras.
   * @param {CameraInfo[]} cameras @param {(i: number) => string} url
   */
  setFrame(cameras, url) {
    this.el.replaceChildren();
    this.el.hidden = !cameras.length;
    this.shown = cameras.map((cam) => {
      const img = h("img", { src: url(cam.index), alt: `camera ${cam.index}`, draggable: false });
      const overlay = /** @type {SVGSVGElement} */ (svg("svg", { class: "pc-camera-overlay", preserveAspectRatio: "none" }));
      const figure = h("figure", { class: "pc-camera", dataset: { camera: String(cam.index) } }, img, overlay);
      figure.addEventListener("click", () => figure.classList.toggle("large"));
      const size = () => {
        const w = cam.width || img.naturalWidth || 1, hgt = cam.height || img.naturalHeight || 1;
        overlay.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
      };
      img.addEventListener("load", size);
      size();
      this.el.append(figure);
      return { cam, overlay, figure };
    });
  }

  /** @param {{cuboid: Cuboid, color: string, selected: boolean}[]} list */
  draw(list) {
    for (const { cam, overlay } of this.shown) {
      overlay.replaceChildren();
      const width = (cam.width || 2000) / 250;
      for (const item of list) {
        for (const line of projectedEdges(item.cuboid, cam)) {
          overlay.append(svg("polyline", {
            points: line.join(" "), fill: "none", stroke: item.selected ? "#ffffff" : item.color,
            "stroke-width": item.selected ? width * 1.5 : width,
          }));
        }
      }
    }
  }
}
