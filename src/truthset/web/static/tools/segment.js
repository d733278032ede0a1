// @ts-check
/**
 * Semantic segmentation: paint a class mask over the image. Brush (b) and eraser (e) with
 * an adjustable size ([ and ]), polygon fill (p: click the vertices, close on the first
 * point or Enter), per-label colours, an opacity slider. Assisted modes (assist.js, the
 * server's routes): 4 points (a: click an object's top, bottom, left and right extreme
 * points in any order; GrabCut's mask lands in the active label; then a click adds to it,
 * a Shift+click takes away, Enter or Esc ends the object) and grow (g: a click paints the
 * region of similar colour around it, Shift+click erases it; a tolerance slider). The
 * mask is one label index per
 * image pixel, painted without anti-aliasing so that the PNG holds only the label colours.
 * Each stroke or fill is one step in the store (undo/redo replays the steps).
 * Answer: {"labeledImage": {"pngImageData": <base64 PNG of the image's exact size, white
 * background>}, "labelMappings": {label: {color}}, "inputImageProperties"}.
 */
import { h, svg } from "../js/dom.js";
import { labelColor, labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { ImageView, VIEW_SHORTCUTS } from "./imageview.js";
import { ASSIST_SHORTCUTS, createAssist, forEachMaskPixel } from "./assist.js";

/**
 * @typedef {{x: number, y: number}} Pt
 * @typedef {{t: "brush" | "erase" | "fill" | "mask", label: string, r: number, pts: number[],
 *   rle?: import("./assist.js").Rle, erase?: boolean, ext?: Pt[], pos?: Pt[], neg?: Pt[]}} Op
 *   a "mask" op is an assisted mask (its extreme points and clicks kept for refining)
 * @typedef {"brush" | "erase" | "fill" | "points" | "grow"} Mode
 * @typedef {{ops: Op[], fromPrior: boolean}} State
 */

/** @param {import("../js/types.js").Task} task @returns {State} */
export function initialState(task) {
  return { ops: [], fromPrior: !!(task.prior_label && task.prior_label.value) };
}

/** @param {string} hex */
function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const st = () => /** @type {State} */ (store.state);
  const colors = store.labels.map((_, i) => labelColor(i));
  const rgbs = colors.map(rgb);
  const view = new ImageView(ctx.root, String(task.item.media_url), { onTransform: () => drawPreview() });
  view.overlay.classList.add("drawing");
  const canvas = h("canvas", { class: "mask-canvas", id: "mask" });
  view.stage.insertBefore(canvas, view.overlay);
  const cursorEl = svg("circle", { class: "brush-cursor", r: 0, visibility: "hidden" });
  const preview = svg("g");
  view.overlay.append(preview, cursorEl);

  let W = 0, H = 0;
  /** @type {Uint8Array} label index + 1 per pixel, 0 = background */
  let mask = new Uint8Array(0);
  /** @type {Uint8Array | null} the earlier label's mask (adjustment jobs) */
  let base = null;
  /** @type {ImageData | null} */
  let image = null;
  /** @type {CanvasRenderingContext2D | null} */
  let g2 = null;
  let mode = /** @type {Mode} */ ("brush");
  let radius = 8;
  /** @type {{x: number, y: number}[] | null} */
  let poly = null;
  /** @type {Op | null} */
  let stroke = null;

  // -- side panel ----------------------------------------------------------------------------
  const modeBtns = /** @type {Record<string, HTMLButtonElement>} */ ({});
  for (const [m, text, key] of [["brush", "Brush", "b"], ["erase", "Eraser", "e"], ["fill", "Polygon fill", "p"], ["points", "4 points", "a"], ["grow", "Grow", "g"]]) {
    modeBtns[m] = h("button", { type: "button", dataset: { mode: m }, onclick: () => setMode(/** @type {any} */ (m)) }, `${text} `, h("kbd", null, key));
  }
  const size = h("input", { type: "range", id: "brush-size", min: "1", max: "150", value: String(radius), "aria-label": "brush size" });
  const sizeLabel = h("span", { class: "muted" }, `${radius} px`);
  size.addEventListener("input", () => setRadius(Number(size.value)));
  const opacity = h("input", { type: "range", id: "mask-opacity", min: "0", max: "100", value: "55", "aria-label": "mask opacity" });
  opacity.addEventListener("input", () => (canvas.style.opacity = String(Number(opacity.value) / 100)));
  canvas.style.opacity = "0.55";
  const tolerance = h("input", { type: "range", id: "grow-tolerance", min: "2", max: "80", value: "25", "aria-label": "grow tolerance" });
  const toleranceLabel = h("span", { class: "muted" }, "25");
  const status = h("p", { class: "muted assist-status", id: "assist-status", "aria-live": "polite" });
  const assist = createAssist({
    task, store, status, overlay: view.overlay, growErases: true,
    current() {
      const ops = st().ops;
      const last = ops[ops.length - 1];
      return last && last.t === "mask" && last.ext
        ? { ext: last.ext, pos: last.pos || [], neg: last.neg || [], label: last.label } : null;
    },
    land(answer, clicks, replace, erase) {
      const op = /** @type {Op} */ ({ t: "mask", label: clicks.label, r: 0, pts: [], rle: answer.rle });
      if (clicks.ext.length) Object.assign(op, { ext: clicks.ext, pos: clicks.pos, neg: clicks.neg });
      else op.erase = erase;
      store.update((/** @type {State} */ s) => {
        if (replace) s.ops[s.ops.length - 1] = op;
        else s.ops.push(op);
      }, { reason: "assist" });
    },
    changed: () => drawPreview(),
  });
  tolerance.addEventListener("input", () => {
    toleranceLabel.textContent = tolerance.value;
    assist.setTolerance(Number(tolerance.value));
  });
  ctx.side.append(labelBar(store, { shortNames: ctx.shortNames }).el,
    h("div", { class: "seg-tools" },
      h("div", { class: "modes" }, Object.values(modeBtns)),
      h("label", null, "Brush size ", sizeLabel), size,
      h("label", null, "Grow tolerance ", toleranceLabel), tolerance,
      h("label", null, "Opacity"), opacity, status));
  if (!assist.available) for (const m of ["points", "grow"]) modeBtns[m].disabled = true;

  /** @param {Mode} m */
  function setMode(m) {
    if ((m === "points" || m === "grow") && !assist.available) return;
    mode = m;
    poly = null;
    assist.reset(m);
    for (const [k, b] of Object.entries(modeBtns)) b.classList.toggle("on", k === m);
    drawPreview();
  }
  /** @param {number} r */
  function setRadius(r) {
    radius = Math.max(1, Math.min(150, Math.round(r)));
    size.value = String(radius);
    sizeLabel.textContent = `${radius} px`;
    cursorEl.setAttribute("r", String(radius));
  }
  setMode("brush");

  // -- raster operations ---------------------------------------------------------------------
  /** @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1 */
  function flush(x0, y0, x1, y1) {
    if (!g2 || !image) return;
    const ax = Math.max(0, Math.floor(x0)), ay = Math.max(0, Math.floor(y0));
    const bx = Math.min(W, Math.ceil(x1)), by = Math.min(H, Math.ceil(y1));
    if (bx > ax && by > ay) g2.putImageData(image, 0, 0, ax, ay, bx - ax, by - ay);
  }
  /** @param {number} i @param {number} v */
  function setPixel(i, v) {
    mask[i] = v;
    if (!image) return;
    const d = image.data;
    const o = i * 4;
    if (v) {
      const c = rgbs[v - 1];
      d[o] = c[0]; d[o + 1] = c[1]; d[o + 2] = c[2]; d[o + 3] = 255;
    } else d[o + 3] = 0;
  }
  /** @param {number} cx @param {number} cy @param {number} r @param {number} v */
  function disc(cx, cy, r, v) {
    const r2 = r * r;
    const y0 = Math.max(0, Math.floor(cy - r)), y1 = Math.min(H - 1, Math.ceil(cy + r));
    const x0 = Math.max(0, Math.floor(cx - r)), x1 = Math.min(W - 1, Math.ceil(cx + r));
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cy;
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - cx;
        if (dx * dx + dy * dy <= r2) setPixel(y * W + x, v);
      }
    }
  }
  /** A brush segment: discs along the line. @param {number[]} p @param {number} from @param {number} r @param {number} v */
  function segment(p, from, r, v) {
    const ax = p[from], ay = p[from + 1];
    if (from === 0) disc(ax, ay, r, v);
    if (from + 3 >= p.length) return;
    const bx = p[from + 2], by = p[from + 3];
    const n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / Math.max(0.5, r / 3)));
    for (let k = 1; k <= n; k++) disc(ax + ((bx - ax) * k) / n, ay + ((by - ay) * k) / n, r, v);
  }
  /** Fill a polygon: pixels whose centre is inside (even-odd). @param {number[]} p @param {number} v */
  function fillPolygon(p, v) {
    const n = p.length / 2;
    let minY = Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      minY = Math.min(minY, p[2 * i + 1]);
      maxY = Math.max(maxY, p[2 * i + 1]);
    }
    for (let y = Math.max(0, Math.floor(minY)); y <= Math.min(H - 1, Math.ceil(maxY)); y++) {
      const yc = y + 0.5;
      const xs = [];
      for (let i = 0; i < n; i++) {
        const x1 = p[2 * i], y1 = p[2 * i + 1];
        const x2 = p[(2 * i + 2) % (2 * n)], y2 = p[(2 * i + 3) % (2 * n)];
        if ((y1 <= yc && y2 > yc) || (y2 <= yc && y1 > yc)) xs.push(x1 + ((yc - y1) * (x2 - x1)) / (y2 - y1));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const from = Math.max(0, Math.ceil(xs[k] - 0.5));
        const to = Math.min(W - 1, Math.ceil(xs[k + 1] - 0.5) - 1);
        for (let x = from; x <= to; x++) setPixel(y * W + x, v);
      }
    }
  }
  /** @param {Op} op */
  function apply(op) {
    const v = op.t === "erase" || op.erase ? 0 : store.labels.indexOf(op.label) + 1;
    if (op.t === "mask") {
      if (op.rle) forEachMaskPixel(op.rle, W, (i) => setPixel(i, v));
    } else if (op.t === "fill") fillPolygon(op.pts, v);
    else for (let i = 0; i < op.pts.length; i += 2) segment(op.pts, i, op.r, v);
  }
  function rebuild() {
    if (!W || !image) return;
    image.data.fill(0);
    mask.fill(0);
    if (base) for (let i = 0; i < base.length; i++) if (base[i]) setPixel(i, base[i]);
    for (const op of st().ops) apply(op);
    flush(0, 0, W, H);
  }

  view.ready.then(async () => {
    W = view.width;
    H = view.height;
    canvas.width = W;
    canvas.height = H;
    g2 = canvas.getContext("2d");
    image = g2 ? g2.createImageData(W, H) : null;
    mask = new Uint8Array(W * H);
    const prior = task.prior_label && task.prior_label.value;
    const png = prior && prior.labeledImage && prior.labeledImage.pngImageData;
    // Else a model's mask (a pre-label) or the worker's own returned answer, in the
    // answer's shape: the PNG and the colours of its labels.
    const predicted = task.prediction && task.prediction.labeledImage && task.prediction.labeledImage.pngImageData;
    if (png) base = await decodeMask(png, prior.labelMappings || (task.prior_label.meta || {})["internal-color-map"]);
    else if (typeof predicted === "string") base = await decodeMask(predicted, task.prediction.labelMappings);
    rebuild();
  }, () => {});

  /**
   * Read an earlier label's PNG back into label indices (by the label colours).
   * @param {string} b64 @param {any} mappings
   */
  async function decodeMask(b64, mappings) {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = W;
    c.height = H;
    const cg = c.getContext("2d");
    if (!cg) return null;
    cg.drawImage(img, 0, 0);
    const d = cg.getImageData(0, 0, W, H).data;
    /** @type {Map<number, number>} */
    const byColor = new Map();
    const entries = mappings ? Object.entries(mappings) : [];
    for (const [k, m] of entries) {
      const name = m["class-name"] || k;
      const hex = m.color || m["hex-color"];
      const idx = store.labels.indexOf(name);
      if (idx >= 0 && typeof hex === "string") {
        const [r, g, b] = rgb(hex);
        byColor.set((r << 16) | (g << 8) | b, idx + 1);
      }
    }
    const out = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) {
      if (d[4 * i + 3] < 128) continue;
      out[i] = byColor.get((d[4 * i] << 16) | (d[4 * i + 1] << 8) | d[4 * i + 2]) || 0;
    }
    return out;
  }

  store.on("change", (/** @type {{reason: string}} */ d) => {
    if (d.reason !== "stroke") rebuild();
    drawPreview();
  });

  // -- pointer input -------------------------------------------------------------------------
  function drawPreview() {
    preview.replaceChildren();
    const k = 1 / view.scale;
    const color = colors[store.labels.indexOf(store.activeLabel)];
    assist.draw(preview, k, (label) => colors[store.labels.indexOf(label)]);
    if (!poly || !poly.length) return;
    preview.appendChild(svg("polyline", { class: "shape", points: poly.map((p) => `${p.x},${p.y}`).join(" "), stroke: color, fill: "none", "stroke-dasharray": "6 4" }));
    poly.forEach((p, i) => preview.appendChild(svg("circle", { class: "handle", cx: p.x, cy: p.y, r: (i === 0 ? 7 : 4) * k, "data-first": i === 0 ? "1" : null })));
  }
  function closePolygon() {
    if (!poly || poly.length < 3) return false;
    const pts = poly.flatMap((p) => [p.x, p.y]);
    poly = null;
    drawPreview();
    store.update((/** @type {State} */ s) => {
      s.ops.push({ t: "fill", label: store.activeLabel, r: 0, pts });
    }, { reason: "fill" });
    return true;
  }

  /** @param {PointerEvent} e */
  function onDown(e) {
    if (e.button !== 0 || !W) return;
    e.preventDefault();
    const p = view.toImage(e.clientX, e.clientY);
    const pt = { x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 };
    if (mode === "points" || mode === "grow") {
      assist.click(mode, { x: Math.max(0, Math.min(W, pt.x)), y: Math.max(0, Math.min(H, pt.y)) }, e.shiftKey);
      return;
    }
    if (mode === "fill") {
      if (poly && poly.length >= 3 && /** @type {Element} */ (e.target).getAttribute("data-first")) closePolygon();
      else {
        poly = [...(poly || []), pt];
        drawPreview();
      }
      return;
    }
    view.overlay.setPointerCapture(e.pointerId);
    stroke = { t: mode === "erase" ? "erase" : "brush", label: store.activeLabel, r: radius, pts: [pt.x, pt.y] };
    const v = mode === "erase" ? 0 : store.labels.indexOf(store.activeLabel) + 1;
    segment(stroke.pts, 0, radius, v);
    flush(pt.x - radius - 1, pt.y - radius - 1, pt.x + radius + 1, pt.y + radius + 1);
  }
  /** @param {PointerEvent} e */
  function onMove(e) {
    if (!W) return;
    const p = view.toImage(e.clientX, e.clientY);
    cursorEl.setAttribute("cx", String(p.x));
    cursorEl.setAttribute("cy", String(p.y));
    cursorEl.setAttribute("visibility", mode === "brush" || mode === "erase" ? "visible" : "hidden");
    if (!stroke) return;
    const pts = stroke.pts;
    const lx = pts[pts.length - 2], ly = pts[pts.length - 1];
    const x = Math.round(p.x * 10) / 10, y = Math.round(p.y * 10) / 10;
    if (Math.hypot(x - lx, y - ly) < 1) return;
    pts.push(x, y);
    const v = stroke.t === "erase" ? 0 : store.labels.indexOf(stroke.label) + 1;
    segment(pts, pts.length - 4, stroke.r, v);
    const r = stroke.r + 1;
    flush(Math.min(x, lx) - r, Math.min(y, ly) - r, Math.max(x, lx) + r, Math.max(y, ly) + r);
  }
  /** @param {PointerEvent} e */
  function onUp(e) {
    if (!stroke) return;
    if (view.overlay.hasPointerCapture(e.pointerId)) view.overlay.releasePointerCapture(e.pointerId);
    const op = stroke;
    stroke = null;
    store.update((/** @type {State} */ s) => {
      s.ops.push(op);
    }, { reason: "stroke" });
  }
  view.overlay.addEventListener("pointerdown", onDown);
  view.overlay.addEventListener("pointermove", onMove);
  view.overlay.addEventListener("pointerup", onUp);
  view.overlay.addEventListener("pointercancel", onUp);
  view.viewport.addEventListener("pointerleave", () => cursorEl.setAttribute("visibility", "hidden"));

  /** Pixels per label (for tests, benchmarks and the worker's own check). */
  function counts() {
    /** @type {Record<string, number>} */
    const out = {};
    for (let i = 0; i < mask.length; i++) if (mask[i]) out[store.labels[mask[i] - 1]] = (out[store.labels[mask[i] - 1]] || 0) + 1;
    return out;
  }
  /** @type {any} */ (window).truthsetMaskCounts = counts;

  return {
    answer() {
      const c = document.createElement("canvas");
      c.width = W;
      c.height = H;
      const cg = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
      const out = cg.createImageData(W, H);
      const d = out.data;
      for (let i = 0; i < mask.length; i++) {
        const o = 4 * i;
        const col = mask[i] ? rgbs[mask[i] - 1] : [255, 255, 255];
        d[o] = col[0]; d[o + 1] = col[1]; d[o + 2] = col[2]; d[o + 3] = 255;
      }
      cg.putImageData(out, 0, 0);
      /** @type {Record<string, {color: string}>} */
      const labelMappings = {};
      store.labels.forEach((l, i) => (labelMappings[l] = { color: colors[i] }));
      /** @type {any} */
      const answer = {
        labeledImage: { pngImageData: c.toDataURL("image/png").split(",")[1] },
        labelMappings,
        inputImageProperties: { width: W, height: H },
      };
      if (st().fromPrior) answer.initialValueModified = store.modified;
      return answer;
    },
    /** An empty mask asks for confirmation like an answer with no boxes (lease.js). */
    missing() {
      return mask.some((v) => v !== 0) ? null : "painted pixels";
    },
    problem() {
      if (!W) return "The image has not loaded yet.";
      if (poly) return "Close the polygon first (click its first point or press Enter).";
      return assist.problem();
    },
    onKey(e) {
      const i = labelIndexFromKey(e);
      if (i >= 0 && i < store.labels.length) {
        store.setActiveLabel(store.labels[i]);
        assist.endObject();
        drawPreview();
        return true;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return false;
      if (poly && e.key === "Enter") return closePolygon();
      if (assist.onKey(e)) return true;
      if (e.key === "b") setMode("brush");
      else if (e.key === "e") setMode("erase");
      else if (e.key === "p") setMode("fill");
      else if (e.key === "a") setMode("points");
      else if (e.key === "g") setMode("grow");
      else if (e.key === "[") setRadius(radius / 1.25 < radius - 1 ? radius / 1.25 : radius - 1);
      else if (e.key === "]") setRadius(Math.max(radius + 1, radius * 1.25));
      else if (e.key === "h") {
        canvas.hidden = !canvas.hidden;
      } else return view.handleKey(e);
      return true;
    },
    shortcuts: [
      ["b / e / p", "brush / eraser / polygon fill"], ["[ ]", "smaller / larger brush"], ["1–9, 0", "label"],
      ["click the first point / Enter", "fill the polygon"],
      ...ASSIST_SHORTCUTS,
      ["g", "grow: click a region to paint it, Shift+click to erase it"],
      ["h", "hide / show the mask"], ...VIEW_SHORTCUTS,
    ],
    destroy() {
      view.destroy();
      delete (/** @type {any} */ (window).truthsetMaskCounts);
    },
  };
}
