// @ts-check
/**
 * The point-cloud tool's 3D view (three.js, WebGL): the frame's points coloured by height,
 * intensity or segmentation label, a ground grid, the cuboids as wire boxes with a heading
 * mark, and the orbit / pan / zoom camera (OrbitControls, z up as in LiDAR frames).
 * It renders on demand (a change asks for one frame), so an idle view costs nothing.
 */
import * as THREE from "../vendor/three/three.module.js";
import { OrbitControls } from "../vendor/three/OrbitControls.js";
import { labelColor } from "../js/store.js";

/** @typedef {import("./pc-math.js").Cuboid} Cuboid */
/** @typedef {"height" | "intensity" | "label"} ColorMode */

THREE.Object3D.DEFAULT_UP.set(0, 0, 1);

/**
 * While the camera moves (a drag, the wheel) at most this many points are drawn, every
 * k-th of the frame, and the whole frame again 200 ms after the last move: software
 * WebGL (SwiftShader, the test browser's) spends its time per point.
 */
const PREVIEW_POINTS = 30000;
const SETTLE_MS = 200;

/** Colour ramp (turbo-like) for heights and intensities: t in 0..1 → r, g, b in 0..255. */
const RAMP = [[48, 18, 59], [70, 130, 248], [26, 228, 182], [164, 252, 60], [250, 186, 57], [228, 70, 14], [122, 4, 3]];
/** @param {number} t @param {Uint8Array} out @param {number} o */
function ramp(t, out, o) {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  for (let c = 0; c < 3; c++) out[o + c] = RAMP[i][c] + (RAMP[i + 1][c] - RAMP[i][c]) * f;
}

/** @param {string} hex "#rrggbb" @returns {[number, number, number]} */
function rgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

export class CloudScene {
  /** @param {HTMLElement} host */
  constructor(host) {
    this.host = host;
    // desynchronized and opaque: a software compositor then copies the canvas less
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("webgl2", { antialias: false, alpha: false, desynchronized: true });
    if (!context) throw new Error("this browser gives no WebGL 2 context: the point cloud cannot be shown");
    this.renderer = new THREE.WebGLRenderer({ canvas, context, antialias: false, alpha: false });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.renderer.setClearColor(0x101418);
    this.canvas = this.renderer.domElement;
    this.canvas.classList.add("pc-canvas");
    this.canvas.tabIndex = 0;
    host.appendChild(this.canvas);
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(55, 1, 0.1, 2000);
    this.camera.position.set(-25, 0, 22);
    this.controls = new OrbitControls(this.camera, this.canvas);
    this.controls.screenSpacePanning = false; // pan along the ground, as a driving scene needs
    this.controls.maxPolarAngle = Math.PI * 0.495;
    this.controls.addEventListener("change", () => this.moving());
    this.grid = new THREE.GridHelper(200, 100, 0x4a5866, 0x28313a);
    this.grid.rotation.x = Math.PI / 2; // GridHelper lies in x-z; the ground here is x-y
    this.scene.add(this.grid);
    this.pointsGeometry = new THREE.BufferGeometry();
    this.pointsMaterial = new THREE.PointsMaterial({ size: 2, sizeAttenuation: false, vertexColors: true });
    this.points = new THREE.Points(this.pointsGeometry, this.pointsMaterial);
    this.points.frustumCulled = false;
    this.scene.add(this.points);
    /** @type {THREE.Points | null} every k-th point, drawn while the camera moves */
    this.preview = null;
    this.movingUntil = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.settle = undefined;
    this.cuboidLayer = new THREE.Group();
    this.scene.add(this.cuboidLayer);
    /** @type {Float32Array} */
    this.data = new Float32Array(0);
    /** @type {Uint8Array} */
    this.colors = new Uint8Array(0);
    /** @type {ColorMode} */
    this.colorMode = "height";
    this.groundZ = 0;
    this.frameCount = 0;
    this.pending = false;
    /** @type {(() => void)[]} */
    this.afterRender = [];
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(host);
    this.boxGeometry = new THREE.BoxGeometry(1, 1, 1);
    this.edgeGeometry = new THREE.EdgesGeometry(this.boxGeometry);
    this.resize();
    // the shaders compile while the points are fetched (a software GPU takes its time)
    this.renderer.compileAsync(this.scene, this.camera).catch(() => {});
  }

  /**
   * Wait until the GPU has drawn what was asked (a one-pixel read back blocks until then):
   * "shown" means on the screen, not queued.
   */
  drawn() {
    const gl = this.renderer.getContext();
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
  }

  resize() {
    const w = Math.max(1, this.host.clientWidth);
    const h = Math.max(1, this.host.clientHeight);
    this.renderer.setSize(w, h, false);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  requestRender() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.controls.update();
      const preview = this.preview !== null && performance.now() < this.movingUntil;
      this.points.visible = !preview;
      if (this.preview) this.preview.visible = preview;
      this.canvas.dataset.preview = String(preview);
      const t0 = performance.now();
      this.renderer.render(this.scene, this.camera);
      this.frameCount++;
      // the benchmark reads these: frames drawn, and the last one's time in the renderer
      this.canvas.dataset.frames = String(this.frameCount);
      this.canvas.dataset.renderMs = (performance.now() - t0).toFixed(1);
      const after = this.afterRender.splice(0);
      for (const fn of after) fn();
    });
  }

  /** The camera moved: draw the preview now, the whole frame once it rests. */
  moving() {
    this.movingUntil = performance.now() + SETTLE_MS;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.requestRender(), SETTLE_MS + 20);
    this.requestRender();
  }

  /**
   * Show a frame's points (interleaved x, y, z, intensity). The ground height is taken as
   * the 5th percentile of z (a sample of the points), where the grid goes.
   * @param {Float32Array} data @param {Uint8Array | null} labels per-point class ids (segmentation)
   */
  setPoints(data, labels) {
    this.data = data;
    const n = data.length >> 2;
    const buffer = new THREE.InterleavedBuffer(data, 4);
    this.pointsGeometry.dispose();
    this.pointsGeometry = new THREE.BufferGeometry();
    this.pointsGeometry.setAttribute("position", new THREE.InterleavedBufferAttribute(buffer, 3, 0));
    this.colors = new Uint8Array(n * 3);
    this.pointsGeometry.setAttribute("color", new THREE.BufferAttribute(this.colors, 3, true));
    this.points.geometry = this.pointsGeometry;
    if (this.preview) {
      this.scene.remove(this.preview);
      this.preview.geometry.dispose();
      this.preview = null;
    }
    const k = Math.ceil(n / PREVIEW_POINTS);
    if (k > 1) {
      // views of the same arrays with a k times longer stride: no copy
      const m = Math.floor(n / k);
      const g = new THREE.BufferGeometry();
      g.setAttribute("position", new THREE.InterleavedBufferAttribute(new THREE.InterleavedBuffer(data.subarray(0, 4 * k * m), 4 * k), 3, 0));
      g.setAttribute("color", new THREE.InterleavedBufferAttribute(new THREE.InterleavedBuffer(this.colors.subarray(0, 3 * k * m), 3 * k), 3, 0, true));
      this.preview = new THREE.Points(g, this.pointsMaterial);
      this.preview.frustumCulled = false;
      this.preview.visible = false;
      this.scene.add(this.preview);
    }
    const step = Math.max(1, Math.floor(n / 5000));
    const zs = [];
    for (let i = 0; i < n; i += step) zs.push(data[4 * i + 2]);
    zs.sort((a, b) => a - b);
    this.groundZ = zs.length ? zs[Math.floor(zs.length * 0.05)] : 0;
    this.grid.position.z = this.groundZ;
    this.recolor(labels);
  }

  /**
   * Colour every point: by height (ground to 4 m above), by intensity (its 2nd to 98th
   * percentile), or by label (unlabeled points grey).
   * @param {Uint8Array | null} labels
   */
  recolor(labels) {
    const d = this.data;
    const n = d.length >> 2;
    const out = this.colors;
    if (this.colorMode === "label" && labels) {
      const palette = [[150, 150, 150], ...Array.from({ length: 255 }, (_, k) => rgb(labelColor(k)))];
      for (let i = 0; i < n; i++) {
        const c = palette[labels[i]];
        out[3 * i] = c[0]; out[3 * i + 1] = c[1]; out[3 * i + 2] = c[2];
      }
    } else if (this.colorMode === "intensity") {
      const step = Math.max(1, Math.floor(n / 5000));
      const vs = [];
      for (let i = 0; i < n; i += step) vs.push(d[4 * i + 3]);
      vs.sort((a, b) => a - b);
      const lo = vs.length ? vs[Math.floor(vs.length * 0.02)] : 0;
      const hi = vs.length ? vs[Math.floor(vs.length * 0.98)] : 1;
      const span = hi - lo || 1;
      for (let i = 0; i < n; i++) ramp((d[4 * i + 3] - lo) / span, out, 3 * i);
    } else {
      const lo = this.groundZ;
      for (let i = 0; i < n; i++) ramp((d[4 * i + 2] - lo) / 4, out, 3 * i);
    }
    this.colorsChanged();
  }

  colorsChanged() {
    const attr = this.pointsGeometry.getAttribute("color");
    if (attr) attr.needsUpdate = true;
    const pv = this.preview && /** @type {THREE.InterleavedBufferAttribute} */ (this.preview.geometry.getAttribute("color"));
    if (pv) pv.data.needsUpdate = true;
    this.requestRender();
  }

  /**
   * Recolour some points by label only (a brush stroke), cheaper than recolor().
   * @param {Uint32Array | number[]} index @param {Uint8Array} labels
   */
  recolorLabels(index, labels) {
    const out = this.colors;
    for (const i of index) {
      const [r, g, b] = labels[i] ? rgb(labelColor(labels[i] - 1)) : [150, 150, 150];
      out[3 * i] = r; out[3 * i + 1] = g; out[3 * i + 2] = b;
    }
    this.colorsChanged();
  }

  /**
   * Draw the cuboids: a wire box each (the selected one thicker and white), a line from
   * the centre to the front face (the heading), and an invisible solid box for picking;
   * a ghost (a track's object after its last keyframe) faintly.
   * @param {{id: number, color: string, cuboid: Cuboid, selected: boolean, ghost?: boolean}[]} list
   */
  setCuboids(list) {
    for (const child of [...this.cuboidLayer.children]) {
      this.cuboidLayer.remove(child);
      child.traverse((o) => {
        const m = /** @type {any} */ (o).material;
        if (m) m.dispose();
      });
    }
    for (const item of list) {
      const c = item.cuboid;
      const g = new THREE.Group();
      g.position.set(c["center-x"], c["center-y"], c["center-z"]);
      g.rotation.set(c.roll, c.pitch, c.yaw, "ZYX");
      const color = item.selected ? 0xffffff : new THREE.Color(item.color).getHex();
      const opacity = item.ghost ? 0.35 : 1;
      const wire = new THREE.LineSegments(this.edgeGeometry, new THREE.LineBasicMaterial({ color, transparent: item.ghost, opacity }));
      wire.scale.set(c.length, c.width, c.height);
      const heading = new THREE.Line(
        new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(0, 0, 0), new THREE.Vector3(c.length / 2, 0, 0)]),
        new THREE.LineBasicMaterial({ color, transparent: item.ghost, opacity }));
      const pick = new THREE.Mesh(this.boxGeometry, new THREE.MeshBasicMaterial({ visible: false }));
      pick.scale.copy(wire.scale);
      pick.userData.cuboidId = item.id;
      g.add(wire, heading, pick);
      this.cuboidLayer.add(g);
    }
    this.requestRender();
  }

  /**
   * The cuboid under a screen point, if any.
   * @param {number} clientX @param {number} clientY @returns {number | null}
   */
  pickCuboid(clientX, clientY) {
    const ray = this.ray(clientX, clientY);
    const hits = ray.intersectObjects(this.cuboidLayer.children, true).filter((h) => h.object.userData.cuboidId !== undefined);
    return hits.length ? hits[0].object.userData.cuboidId : null;
  }

  /**
   * Where a screen point's ray meets the horizontal plane at height z (default: the ground).
   * @param {number} clientX @param {number} clientY @param {number} [z]
   * @returns {THREE.Vector3 | null}
   */
  groundPoint(clientX, clientY, z = this.groundZ) {
    const ray = this.ray(clientX, clientY);
    const out = new THREE.Vector3();
    return ray.ray.intersectPlane(new THREE.Plane(new THREE.Vector3(0, 0, 1), -z), out) ? out : null;
  }

  /** @param {number} clientX @param {number} clientY */
  ray(clientX, clientY) {
    const r = this.canvas.getBoundingClientRect();
    const ndc = new THREE.Vector2(((clientX - r.left) / r.width) * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
    const caster = new THREE.Raycaster();
    caster.setFromCamera(ndc, this.camera);
    return caster;
  }

  /**
   * Every point's position on the canvas in CSS pixels (x, y pairs; NaN behind the camera),
   * for the paint brush and the lasso.
   * @returns {Float32Array}
   */
  screenPositions() {
    this.camera.updateMatrixWorld();
    const m = new THREE.Matrix4().multiplyMatrices(this.camera.projectionMatrix, this.camera.matrixWorldInverse).elements;
    const d = this.data;
    const n = d.length >> 2;
    const out = new Float32Array(2 * n);
    const w = this.canvas.clientWidth / 2, h = this.canvas.clientHeight / 2;
    for (let i = 0; i < n; i++) {
      const x = d[4 * i], y = d[4 * i + 1], z = d[4 * i + 2];
      const cw = m[3] * x + m[7] * y + m[11] * z + m[15];
      if (cw <= 0) {
        out[2 * i] = NaN; out[2 * i + 1] = NaN;
        continue;
      }
      out[2 * i] = ((m[0] * x + m[4] * y + m[8] * z + m[12]) / cw + 1) * w;
      out[2 * i + 1] = (1 - (m[1] * x + m[5] * y + m[9] * z + m[13]) / cw) * h;
    }
    return out;
  }

  /**
   * Where a point of the frame is on the page (client pixels).
   * @param {number} x @param {number} y @param {number} z @returns {{x: number, y: number}}
   */
  project(x, y, z) {
    this.camera.updateMatrixWorld();
    const v = new THREE.Vector3(x, y, z).project(this.camera);
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + ((v.x + 1) / 2) * r.width, y: r.top + ((1 - v.y) / 2) * r.height };
  }

  /** Look at the whole frame from behind and above (the start view; r). @param {{min: number[], max: number[]}} [bounds] */
  resetView(bounds) {
    const b = bounds || { min: [-20, -20, 0], max: [20, 20, 3] };
    const span = Math.max(10, Math.min(120, Math.max(b.max[0] - b.min[0], b.max[1] - b.min[1]) * 0.45));
    this.controls.target.set(0, 0, this.groundZ);
    this.camera.position.set(-span, 0, this.groundZ + span * 0.8);
    this.requestRender();
  }

  /** Look straight down at the target (bird's eye; b). */
  topView() {
    const t = this.controls.target;
    const dist = this.camera.position.distanceTo(t);
    this.camera.position.set(t.x - 0.001, t.y, t.z + dist);
    this.requestRender();
  }

  /** Centre the orbit on a point (the selected cuboid). @param {number} x @param {number} y @param {number} z */
  focus(x, y, z) {
    const off = this.camera.position.clone().sub(this.controls.target);
    this.controls.target.set(x, y, z);
    this.camera.position.set(x + off.x, y + off.y, z + off.z);
    this.requestRender();
  }

  /** Pan along the ground by a part of the view's size (keyboard navigation). @param {number} fx @param {number} fy */
  pan(fx, fy) {
    const t = this.controls.target;
    const off = this.camera.position.clone().sub(t);
    const dist = off.length();
    const fwd = new THREE.Vector3(-off.x, -off.y, 0).normalize();
    const left = new THREE.Vector3(-fwd.y, fwd.x, 0);
    const step = fwd.multiplyScalar(fy * dist * 0.1).add(left.multiplyScalar(-fx * dist * 0.1));
    t.add(step);
    this.camera.position.add(step);
    this.moving();
  }

  /** Zoom in (f > 1) or out by moving the camera toward the target. @param {number} f */
  zoom(f) {
    const t = this.controls.target;
    const off = this.camera.position.clone().sub(t).divideScalar(f);
    this.camera.position.copy(t).add(off);
    this.moving();
  }

  /** Orbit about the target by an angle (radians) around z (keyboard navigation). @param {number} a */
  orbit(a) {
    const t = this.controls.target;
    const off = this.camera.position.clone().sub(t);
    off.applyAxisAngle(new THREE.Vector3(0, 0, 1), a);
    this.camera.position.copy(t).add(off);
    this.moving();
  }

  destroy() {
    clearTimeout(this.settle);
    this.resizeObserver.disconnect();
    this.controls.dispose();
    this.pointsGeometry.dispose();
    this.boxGeometry.dispose();
    this.edgeGeometry.dispose();
    this.renderer.dispose();
    this.canvas.remove();
  }
}
