// @ts-check
/**
 * <crowd-form> and <crowd-button>. The form collects {name: value} from the crowd elements
 * inside it (each element's documented answer shape) and from plain named <input>,
 * <select> and <textarea> fields, fires a cancelable "submit" event (templates validate or
 * fill hidden fields in its handler, as on Ground Truth), and posts
 * {"type": "crowd-submit", "answer": {...}} to the page around the frame. Without a submit
 * button of its own it gets one, as Ground Truth's does.
 */
import { CrowdElement, answers, boolAttr } from "./base.js";

/** @param {any} v */
const isPlainObject = (v) => !!v && typeof v === "object" && !Array.isArray(v);

/**
 * A plain form control's value: text as a string; check boxes and radio buttons as
 * {<value>: checked}, merged with the others of the same name.
 * @param {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} el
 */
function plainValue(el) {
  if (el instanceof HTMLInputElement && (el.type === "checkbox" || el.type === "radio")) {
    return { [el.value || "on"]: el.checked };
  }
  if (el instanceof HTMLSelectElement && el.multiple) {
    return Array.from(el.selectedOptions, (o) => o.value);
  }
  return el.value;
}

/** @param {Element} el @param {Element} form whether an answering element other than the form holds `el` */
function insideAnsweringElement(el, form) {
  for (let p = el.parentElement; p && p !== form; p = p.parentElement) if (answers(p)) return true;
  return false;
}

export class CrowdForm extends CrowdElement {
  render() {
    const hasSubmit = this.querySelector("crowd-button[form-action='submit'], button[type='submit'], input[type='submit']");
    if (!hasSubmit) {
      const btn = document.createElement("crowd-button");
      btn.setAttribute("form-action", "submit");
      btn.setAttribute("variant", "primary");
      btn.textContent = "Submit";
      this.append(btn);
    }
    this.errorBox = document.createElement("div");
    this.errorBox.className = "crowd-form-error";
    this.errorBox.setAttribute("role", "alert");
    this.errorBox.hidden = true;
    this.prepend(this.errorBox);
    this.addEventListener("click", (e) => {
      const t = /** @type {Element} */ (e.target);
      const native = t.closest("button[type='submit'], input[type='submit']");
      if (native && this.contains(native)) {
        e.preventDefault();
        this.submit();
      }
    });
    this.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
        e.preventDefault();
        this.submit();
      }
    });
    // The page around the frame asks for a submit when the worker uses its Submit.
    window.addEventListener("message", (e) => {
      if (e.source === window.parent && window.parent !== window && e.data && e.data.type === "crowd-request-submit") this.submit();
    });
  }

  /** Every answer under its name. @returns {Record<string, any>} */
  collect() {
    /** @type {Record<string, any>} */
    const out = {};
    /** @param {string} name @param {any} value */
    const put = (name, value) => {
      if (value === undefined) return;
      if (isPlainObject(out[name]) && isPlainObject(value)) Object.assign(out[name], value);
      else out[name] = value;
    };
    for (const el of Array.from(this.querySelectorAll("*"))) {
      const name = el.getAttribute("name");
      if (!name || insideAnsweringElement(el, this)) continue;
      if (answers(el)) put(name, el.crowdAnswer());
      else if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) {
        if (el.disabled || (el instanceof HTMLInputElement && (el.type === "submit" || el.type === "button" || el.type === "file"))) continue;
        put(name, plainValue(el));
      }
    }
    return out;
  }

  /** The first reason the form cannot be submitted, with the element to show. @returns {[string, Element] | null} */
  problem() {
    for (const el of Array.from(this.querySelectorAll("*"))) {
      if (answers(el) && el.crowdProblem && !insideAnsweringElement(el, this)) {
        const p = el.crowdProblem();
        if (p) return [p, el];
      } else if ((el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement)
        && el.name && !insideAnsweringElement(el, this) && !el.checkValidity()) {
        return [`${el.name}: ${el.validationMessage}`, el];
      }
    }
    return null;
  }

  /** @param {string} message */
  showError(message) {
    if (!this.errorBox) return;
    this.errorBox.textContent = message;
    this.errorBox.hidden = !message;
  }

  /** Check, let the template's submit handlers run, then send the answer out of the frame. */
  submit() {
    const problem = this.problem();
    if (problem) {
      this.showError(problem[0]);
      const target = /** @type {HTMLElement} */ (problem[1]);
      if (typeof target.focus === "function") target.focus();
      return false;
    }
    this.showError("");
    const ev = new Event("submit", { cancelable: true, bubbles: true });
    if (!this.dispatchEvent(ev)) return false;
    const answer = this.collect();
    this.dataset.submitted = String(Number(this.dataset.submitted || 0) + 1);
    this.dispatchEvent(new CustomEvent("crowd-answer", { detail: answer, bubbles: true }));
    if (window.parent !== window) window.parent.postMessage({ type: "crowd-submit", answer }, "*");
    return true;
  }
}

/**
 * <crowd-button>: variant (primary, normal, link), disabled, loading, href + target, icon,
 * form-action="submit" (submits the enclosing crowd-form).
 */
export class CrowdButton extends CrowdElement {
  static get observedAttributes() {
    return ["disabled", "loading"];
  }

  render() {
    this.button = document.createElement("button");
    this.button.type = "button";
    this.button.className = `crowd-btn ${this.getAttribute("variant") || "normal"}`;
    const icon = this.getAttribute("icon-url");
    if (icon) {
      const img = document.createElement("img");
      img.src = icon;
      img.alt = "";
      img.className = "crowd-icon";
      this.button.append(img);
    }
    this.button.append(...Array.from(this.childNodes));
    this.append(this.button);
    this.sync();
    this.button.addEventListener("click", () => {
      if (boolAttr(this, "disabled")) return;
      const href = this.getAttribute("href");
      if (href) window.open(href, this.getAttribute("target") || "_blank", "noopener");
      if (this.getAttribute("form-action") === "submit") {
        const form = /** @type {CrowdForm | null} */ (this.closest("crowd-form"));
        if (form && typeof form.submit === "function") form.submit();
      }
    });
  }

  sync() {
    if (!this.button) return;
    this.button.disabled = boolAttr(this, "disabled") || boolAttr(this, "loading");
  }

  attributeChangedCallback() {
    this.sync();
  }
}

export const FORM_ELEMENTS = { "crowd-form": CrowdForm, "crowd-button": CrowdButton };
