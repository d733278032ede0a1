// @ts-check
/**
 * Building DOM safely. Data is only ever inserted as text (textContent / text nodes),
 * never parsed as HTML, so item text and label names that contain markup stay text.
 */

import { signOut } from "./api.js";

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, any>} Attrs
 */

/**
 * Create an element. `attrs` keys: class, text, on<Event> handlers, dataset (object),
 * style (object), any other attribute (set with setAttribute).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = String(v);
      else if (k === "text") el.textContent = String(v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
      else if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2).toLowerCase(), v);
      } else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

/**
 * @param {Node} parent
 * @param {(Child | Child[])[]} children
 */
export function append(parent, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";
/**
 * Create an SVG element.
 * @param {string} tag
 * @param {Record<string, string | number | null | undefined>} [attrs]
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  return el;
}

/**
 * Replace an element's children.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** @param {string} id @returns {HTMLElement} */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el;
}

/**
 * A short-lived message at the top of the page.
 * @param {string} message
 * @param {"info" | "error" | "ok"} [kind]
 * @param {number} [ms] 0 keeps it until closed
 */
export function toast(message, kind = "info", ms = 5000) {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", role: "status" });
    document.body.appendChild(box);
  }
  const t = h("div", { class: `toast ${kind}` }, message,
    h("button", { class: "link", "aria-label": "close", onclick: () => t.remove() }, "×"));
  box.appendChild(t);
  if (ms) setTimeout(() => t.remove(), ms);
  return t;
}

/** True when the key event comes from a text field (keys then belong to the field). @param {KeyboardEvent} e */
export function inTextField(e) {
  // The element typed into, also inside a shadow root (where e.target is the host).
  const t = /** @type {HTMLElement | null} */ (e.composedPath ? e.composedPath()[0] || e.target : e.target);
  if (!t || !t.tagName) return false;
  const tag = t.tagName;
  return tag === "TEXTAREA" || (tag === "INPUT" && !["checkbox", "radio", "button", "range"].includes(/** @type {HTMLInputElement} */ (t).type)) || tag === "SELECT" || t.isContentEditable;
}

/** @param {number} seconds */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  const hh = Math.floor(m / 60);
  if (hh) return `${hh}h ${String(m % 60).padStart(2, "0")}m`;
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** Fill the top bar: who is signed in and where they can go. @param {{name:string, role:string}} user */
export function topbar(user) {
  const nav = document.getElementById("nav");
  if (nav) {
    const links = [h("a", { href: "/" }, "Jobs")];
    if (user.role === "admin" || user.role === "requester") links.push(h("a", { href: "/console" }, "Console"));
    replace(nav, links);
  }
  const who = document.getElementById("whoami");
  if (who) {
    replace(who, `${user.name} · `, h("button", {
      class: "link", id: "signout",
      onclick: signOut,
    }, "Sign out"));
  }
}
