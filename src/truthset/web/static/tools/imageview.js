// @ts-check
/**
 * The image stage shared by the image tools: the image at its natural size with an SVG
 * overlay whose viewBox is the image's natural size, so every coordinate the tools handle
 * is in image pixels. Zoom with the wheel (at the cursor), pan by dragging with Space held
 * or with the middle button, fit to the screen with `f`. Only a CSS transform changes while
 * zooming and panning, so a 4000×3000 image moves without repainting the overlay.
 */
import { h, inTextField, svg } from "../js/dom.js";

export class ImageView {
  /**
   * @param {HTMLElement} root
   * @param {string} src
   * @param {{onTransform?: (scale: number) => void, onReady?: (view: ImageView) => void}} [opts]
   */
  constructor(root, src, opts = {}) {
    this.opts = opts;
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.width = 0;
    this.height = 0;
    this.spaceHeld = false;
    /** @type {{x: number, y: number, tx: number, ty: number, id: number} | null} */
    this.panning = null;
    this.img = h("img", { class: "stage-image", alt: "item image", draggable: "false" });
    this.overlay = /** @type {SVGSVGElement} */ (svg("svg", { class: "overlay" }));
    this.stage = h("div", { class: "stage" }, this.img);
    this.stage.appendChild(this.overlay);
    this.viewport = h("div", { class: "viewport", tabindex: "0" }, this.stage);
    this.zoomLabel = h("span", { class: "zoom-label muted" });
    this.toolbar = h("div", { class: "view-toolbar" },
      h("button", { type: "button", title: "Fit to screen (f)", onclick: () => this.fit() }, "Fit"),
      h("button", { type: "button", title: "Zoom in (+)", onclick: () => this.zoomBy(1.25) }, "+"),
      h("button", { type: "button", title: "Zoom out (-)", onclick: () => this.zoomBy(0.8) }, "−"),
      this.zoomLabel);
    root.append(this.toolbar, this.viewport);
    this.ready = new Promise((resolve, reject) => {
      this.img.onload = () => {
        this.width = this.img.naturalWidth;
        this.height = this.img.naturalHeight;
        this.overlay.setAttribute("viewBox", `0 0 ${this.width} ${this.height}`);
        this.overlay.setAttribute("width", String(this.width));
        this.overlay.setAttribute("height", String(this.height));
        this.stage.style.width = `${this.width}px`;
        this.stage.style.height = `${this.height}px`;
        this.fit();
        if (opts.onReady) opts.onReady(this);
        resolve(this);
      };
      this.img.onerror = () => reject(new Error("the image could not be loaded"));
    });
    this.img.src = src;
    this.onWheel = this.onWheel.bind(this);
    this.onDown = this.onDown.bind(this);
    this.onMove = this.onMove.bind(this);
    this.onUp = this.onUp.bind(this);
    this.onKeyDown = this.onKeyDown.bind(this);
    this.onKeyUp = this.onKeyUp.bind(this);
    this.onResize = () => this.fit();
    this.viewport.addEventListener("wheel", this.onWheel, { passive: false });
    // Capture phase: a pan gesture never reaches the tool underneath.
    this.viewport.addEventListener("pointerdown", this.onDown, { capture: true });
    this.viewport.addEventListener("pointermove", this.onMove, { capture: true });
    this.viewport.addEventListener("pointerup", this.onUp, { capture: true });
    this.viewport.addEventListener("auxclick", (e) => e.preventDefault());
    window.addEventListener("keydown", this.onKeyDown);
    window.addEventListener("keyup", this.onKeyUp);
    window.addEventListener("resize", this.onResize);
  }

  destroy() {
    window.removeEventListener("keydown", this.onKeyDown);
    window.removeEventListener("keyup", this.onKeyUp);
    window.removeEventListener("resize", this.onResize);
  }

  apply() {
    this.stage.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
    this.stage.classList.toggle("pixelated", this.scale >= 3);
    this.zoomLabel.textContent = `${Math.round(this.scale * 100)}%`;
    if (this.opts.onTransform) this.opts.onTransform(this.scale);
  }

  fit() {
    if (!this.width) return;
    const r = this.viewport.getBoundingClientRect();
    const w = r.width || 800;
    const hh = r.height || 600;
    this.scale = Math.min(w / this.width, hh / this.height) * 0.98;
    this.tx = (w - this.width * this.scale) / 2;
    this.ty = (hh - this.height * this.scale) / 2;
    this.apply();
  }

  /** @param {number} factor @param {number} [cx] client x @param {number} [cy] client y */
  zoomBy(factor, cx, cy) {
    const r = this.viewport.getBoundingClientRect();
    const px = cx === undefined ? r.width / 2 : cx - r.left;
    const py = cy === undefined ? r.height / 2 : cy - r.top;
    const next = Math.min(40, Math.max(0.02, this.scale * factor));
    const k = next / this.scale;
    this.tx = px - (px - this.tx) * k;
    this.ty = py - (py - this.ty) * k;
    this.scale = next;
    this.apply();
  }

  /** Client coordinates → image pixels (not clamped). @param {number} cx @param {number} cy */
  toImage(cx, cy) {
    const r = this.viewport.getBoundingClientRect();
    return { x: (cx - r.left - this.tx) / this.scale, y: (cy - r.top - this.ty) / this.scale };
  }

  /** Image pixels → client coordinates. @param {number} x @param {number} y */
  toClient(x, y) {
    const r = this.viewport.getBoundingClientRect();
    return { x: r.left + this.tx + x * this.scale, y: r.top + this.ty + y * this.scale };
  }

  /** @param {WheelEvent} e */
  onWheel(e) {
    e.preventDefault();
    this.zoomBy(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY);
  }

  /** @param {PointerEvent} e */
  onDown(e) {
    if (e.button === 1 || (e.button === 0 && this.spaceHeld)) {
      e.preventDefault();
      e.stopPropagation();
      this.viewport.setPointerCapture(e.pointerId);
      this.panning = { x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty, id: e.pointerId };
      this.viewport.classList.add("panning");
    }
  }

  /** @param {PointerEvent} e */
  onMove(e) {
    if (!this.panning) return;
    e.stopPropagation();
    this.tx = this.panning.tx + e.clientX - this.panning.x;
    this.ty = this.panning.ty + e.clientY - this.panning.y;
    this.stage.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
  }

  /** @param {PointerEvent} e */
  onUp(e) {
    if (!this.panning) return;
    e.stopPropagation();
    this.viewport.releasePointerCapture(this.panning.id);
    this.panning = null;
    this.viewport.classList.remove("panning");
  }

  /** @param {KeyboardEvent} e */
  onKeyDown(e) {
    if (inTextField(e)) return; // a space typed into a field is the field's
    if (e.code === "Space") {
      e.preventDefault();
      this.spaceHeld = true;
      this.viewport.classList.add("can-pan");
    }
  }

  /** @param {KeyboardEvent} e */
  onKeyUp(e) {
    if (e.code === "Space") {
      this.spaceHeld = false;
      this.viewport.classList.remove("can-pan");
    }
  }

  /** Keys every image tool shares. @param {KeyboardEvent} e @returns {boolean} handled */
  handleKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    if (e.key === "f") this.fit();
    else if (e.key === "+" || e.key === "=") this.zoomBy(1.25);
    else if (e.key === "-") this.zoomBy(0.8);
    else return false;
    return true;
  }
}

/** @type {[string, string][]} */
export const VIEW_SHORTCUTS = [
  ["wheel", "zoom at the cursor"], ["Space + drag / middle drag", "pan"],
  ["f", "fit to screen"], ["+ / -", "zoom in / out"],
];
