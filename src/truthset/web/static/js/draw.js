// @ts-check
/**
 * Drawing a worker answer or a consolidated label over an image (console item page), in
 * image pixels on an SVG whose viewBox is the image's natural size. Accepts the worker
 * answer shapes (boundingBoxes, polygons, polylines/lines, keypoints) and the output label
 * shape ({annotations: [{class_id, ...}]} with the metadata's class-map).
 */
import { svg } from "./dom.js";
import { labelColor } from "./store.js";

/**
 * @param {any} value @param {any} meta @param {string[]} labels
 * @returns {{kind: string, label: string, left?: number, top?: number, width?: number, height?: number,
 *   vertices?: {x: number, y: number}[], x?: number, y?: number}[]}
 */
export function shapesOf(value, meta, labels) {
  if (!value || typeof value !== "object") return [];
  const out = [];
  const classMap = (meta && meta["class-map"]) || {};
  /** @param {any} o */
  const name = (o) => (typeof o.label === "string" ? o.label : classMap[String(o.class_id)] ?? labels[o.class_id] ?? "?");
  const lists = [
    ...(value.boundingBoxes || []), ...(value.polygons || []), ...(value.polylines || []),
    ...(value.lines || []), ...(value.keypoints || []), ...(value.annotations || []),
  ];
  for (const o of lists) {
    if (!o || typeof o !== "object") continue;
    if ("width" in o && "left" in o) out.push({ kind: "box", label: name(o), left: o.left, top: o.top, width: o.width, height: o.height });
    else if (Array.isArray(o.vertices)) {
      const closed = !(value.polylines || value.lines || []).includes(o) && !(meta && meta.type === "polyline");
      out.push({ kind: closed ? "polygon" : "polyline", label: name(o), vertices: o.vertices });
    } else if ("x" in o && "y" in o) out.push({ kind: "point", label: name(o), x: o.x, y: o.y });
  }
  return out;
}

/**
 * @param {SVGElement} layer
 * @param {ReturnType<typeof shapesOf>} shapes
 * @param {string[]} labels
 * @param {number} scale stroke scale (image px per screen px)
 */
export function drawShapes(layer, shapes, labels, scale) {
  for (const s of shapes) {
    const color = labelColor(Math.max(0, labels.indexOf(s.label)));
    let el;
    if (s.kind === "box") el = svg("rect", { x: s.left, y: s.top, width: s.width, height: s.height });
    else if (s.kind === "polygon" || s.kind === "polyline") {
      el = svg(s.kind, { points: (s.vertices || []).map((v) => `${v.x},${v.y}`).join(" ") });
      if (s.kind === "polyline") el.setAttribute("fill", "none");
    } else el = svg("circle", { cx: s.x, cy: s.y, r: 5 * scale });
    el.setAttribute("class", "shape");
    el.setAttribute("stroke", color);
    if (s.kind !== "polyline") el.setAttribute("fill", color);
    layer.appendChild(el);
    const x = s.kind === "box" ? s.left : s.kind === "point" ? s.x : s.vertices && s.vertices[0] ? s.vertices[0].x : 0;
    const y = s.kind === "box" ? s.top : s.kind === "point" ? s.y : s.vertices && s.vertices[0] ? s.vertices[0].y : 0;
    const tag = svg("text", { class: "tag", x: Number(x) + 2 * scale, y: Number(y) - 3 * scale, "font-size": 12 * scale });
    tag.textContent = s.label;
    layer.appendChild(tag);
  }
}
