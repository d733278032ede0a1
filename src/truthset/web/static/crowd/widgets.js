// @ts-check
/**
 * The form widgets and layout elements: crowd-input, crowd-text-area, crowd-checkbox,
 * crowd-radio-group / crowd-radio-button, crowd-slider, crowd-toggle-button (these answer
 * under their name), and crowd-alert, crowd-badge, crowd-card, crowd-modal,
 * crowd-tabs / crowd-tab, crowd-toast, crowd-fab, crowd-icon-button (these do not).
 * Answers as Ground Truth records them: text fields a string, the slider a number,
 * check boxes, toggles and radio buttons {<value>: checked}.
 */
import { CrowdElement, boolAttr } from "./base.js";
import { CrowdButton } from "./form.js";

/** @param {string} tag @param {Record<string, string>} [attrs] @param {(string | Node)[]} [kids] */
function el(tag, attrs = {}, kids = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...kids);
  return e;
}

/** A text field; crowd-text-area is the same with a <textarea>. */
class TextField extends CrowdElement {
  /** @returns {"input" | "textarea"} */
  get kind() {
    return "input";
  }

  render() {
    const id = `crowd-${Math.random().toString(36).slice(2)}`;
    const field = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (document.createElement(this.kind));
    field.id = id;
    field.className = "crowd-field";
    if (field instanceof HTMLInputElement) field.type = this.getAttribute("type") || "text";
    if (field instanceof HTMLTextAreaElement) field.rows = Number(this.getAttribute("rows") || 3);
    field.value = this.getAttribute("value") || "";
    field.placeholder = this.getAttribute("placeholder") || "";
    field.disabled = boolAttr(this, "disabled");
    field.required = boolAttr(this, "required");
    const max = this.getAttribute("max-length");
    if (max) field.maxLength = Number(max);
    const min = this.getAttribute("min-length");
    if (min) field.minLength = Number(min);
    const pattern = this.getAttribute("allowed-pattern");
    if (pattern && field instanceof HTMLInputElement) {
      // allowed-pattern lists the characters that may be typed (Ground Truth's meaning).
      field.addEventListener("beforeinput", (e) => {
        if (e.data && !Array.from(e.data).every((c) => new RegExp(pattern).test(c))) e.preventDefault();
      });
    }
    this.field = field;
    const label = this.getAttribute("label");
    this.error = el("div", { class: "crowd-field-error", role: "alert" });
    this.error.hidden = true;
    this.append(el("label", { for: id, class: "crowd-label" }, label ? [label] : []), field, this.error);
    if (boolAttr(this, "char-counter") && max) {
      const counter = el("span", { class: "crowd-muted crowd-counter" });
      const count = () => (counter.textContent = `${field.value.length}/${max}`);
      field.addEventListener("input", count);
      count();
      this.append(counter);
    }
    if (boolAttr(this, "auto-validate")) field.addEventListener("input", () => this.crowdProblem());
    if (boolAttr(this, "auto-focus")) queueMicrotask(() => field.focus());
  }

  /** The text typed (also the `value` property, as on Ground Truth's element). */
  get value() {
    return this.field ? this.field.value : this.getAttribute("value") || "";
  }

  set value(v) {
    if (this.field) this.field.value = String(v);
    else this.setAttribute("value", String(v));
  }

  focus() {
    if (this.field) this.field.focus();
  }

  crowdAnswer() {
    return this.value;
  }

  crowdProblem() {
    if (!this.field || !this.error) return null;
    const bad = !this.field.checkValidity();
    const msg = bad ? this.getAttribute("error-message") || this.field.validationMessage : "";
    this.error.textContent = msg;
    this.error.hidden = !bad;
    this.classList.toggle("invalid", bad);
    return bad ? `${this.getAttribute("label") || this.getAttribute("name")}: ${msg}` : null;
  }
}

export class CrowdInput extends TextField {}

export class CrowdTextArea extends TextField {
  get kind() {
    return /** @type {"textarea"} */ ("textarea");
  }
}

/** A box that is on or off: crowd-checkbox, crowd-toggle-button, crowd-radio-button. */
class OnOff extends CrowdElement {
  /** @returns {"checkbox" | "radio"} */
  get inputType() {
    return "checkbox";
  }

  render() {
    this.input = /** @type {HTMLInputElement} */ (el("input", { type: this.inputType, class: "crowd-check" }));
    this.input.checked = boolAttr(this, "checked");
    this.input.disabled = boolAttr(this, "disabled");
    this.input.addEventListener("change", () => {
      this.toggleAttribute("checked", !!(this.input && this.input.checked));
      if (this.input && this.input.checked) this.onChecked();
      this.dispatchEvent(new Event("change", { bubbles: true }));
    });
    const label = el("label", { class: "crowd-check-label" });
    label.append(this.input, ...Array.from(this.childNodes));
    this.append(label);
  }

  onChecked() {}

  get checked() {
    return this.input ? this.input.checked : boolAttr(this, "checked");
  }

  set checked(v) {
    if (this.input) this.input.checked = !!v;
    this.toggleAttribute("checked", !!v);
  }

  focus() {
    if (this.input) this.input.focus();
  }

  get value() {
    return this.getAttribute("value") || "on";
  }

  crowdAnswer() {
    return { [this.value]: this.checked };
  }

  crowdProblem() {
    return boolAttr(this, "required") && !this.checked ? `${this.getAttribute("name")}: this box must be checked` : null;
  }
}

export class CrowdCheckbox extends OnOff {}

export class CrowdToggleButton extends OnOff {
  render() {
    super.render();
    this.classList.add("crowd-toggle");
  }
}

export class CrowdRadioButton extends OnOff {
  get inputType() {
    return /** @type {"radio"} */ ("radio");
  }

  /** Choosing one radio button clears the others of its group. */
  onChecked() {
    const group = this.closest("crowd-radio-group") || this.parentElement;
    if (!group) return;
    for (const other of Array.from(group.querySelectorAll("crowd-radio-button"))) {
      if (other !== this && other.closest("crowd-radio-group") === this.closest("crowd-radio-group")) {
        /** @type {CrowdRadioButton} */ (other).checked = false;
      }
    }
  }

  crowdProblem() {
    return null;
  }
}

export class CrowdRadioGroup extends CrowdElement {
  render() {
    this.setAttribute("role", "radiogroup");
  }
}

export class CrowdSlider extends CrowdElement {
  render() {
    const min = this.getAttribute("min") || "0";
    const max = this.getAttribute("max") || "100";
    this.input = /** @type {HTMLInputElement} */ (el("input", { type: "range", min, max, step: this.getAttribute("step") || "1", class: "crowd-range" }));
    this.input.value = this.getAttribute("value") || min;
    this.input.disabled = boolAttr(this, "disabled");
    const pin = el("output", { class: "crowd-pin" }, [this.input.value]);
    this.input.addEventListener("input", () => (pin.textContent = this.input ? this.input.value : ""));
    this.append(this.input, pin);
    if (boolAttr(this, "editable")) {
      const num = /** @type {HTMLInputElement} */ (el("input", { type: "number", min, max, class: "crowd-field crowd-slider-number" }));
      num.value = this.input.value;
      num.addEventListener("input", () => {
        if (this.input) this.input.value = num.value;
        pin.textContent = num.value;
      });
      this.input.addEventListener("input", () => (num.value = this.input ? this.input.value : ""));
      this.append(num);
    }
  }

  get value() {
    return Number(this.input ? this.input.value : this.getAttribute("value") || 0);
  }

  crowdAnswer() {
    return this.value;
  }
}

export class CrowdAlert extends CrowdElement {
  render() {
    this.setAttribute("role", "alert");
    this.classList.add(`crowd-alert-${this.getAttribute("type") || "info"}`);
    if (boolAttr(this, "dismissible")) {
      const x = el("button", { type: "button", class: "crowd-link", "aria-label": "dismiss" }, ["×"]);
      x.addEventListener("click", () => (this.hidden = true));
      this.append(x);
    }
  }
}

export class CrowdBadge extends CrowdElement {
  render() {
    this.textContent = this.getAttribute("label") || this.getAttribute("icon") || "";
    const target = this.getAttribute("for");
    const anchor = target ? document.getElementById(target) : null;
    if (anchor) anchor.append(this);
  }
}

export class CrowdCard extends CrowdElement {
  render() {
    const kids = Array.from(this.childNodes);
    const image = this.getAttribute("image");
    if (image) this.append(el("img", { src: image, alt: "", class: "crowd-card-image" }));
    const heading = this.getAttribute("heading");
    if (heading) this.append(el("h3", { class: "crowd-card-heading" }, [heading]));
    this.append(el("div", { class: "crowd-card-content" }, kids));
  }
}

export class CrowdModal extends CrowdElement {
  render() {
    const dialog = /** @type {HTMLDialogElement} */ (el("dialog", { class: "crowd-modal-dialog" }, Array.from(this.childNodes)));
    const close = el("button", { type: "button", class: "crowd-btn normal" }, ["Close"]);
    close.addEventListener("click", () => dialog.close());
    dialog.append(close);
    const open = el("button", { type: "button", class: this.getAttribute("link-type") === "button" ? "crowd-btn normal" : "crowd-link" },
      [this.getAttribute("link-text") || "Open"]);
    open.addEventListener("click", () => dialog.showModal());
    this.dialog = dialog;
    this.append(open, dialog);
  }

  open() {
    if (this.dialog) this.dialog.showModal();
  }

  close() {
    if (this.dialog) this.dialog.close();
  }
}

export class CrowdTabs extends CrowdElement {
  render() {
    const tabs = Array.from(this.children).filter((c) => c.localName === "crowd-tab");
    const bar = el("div", { class: "crowd-tab-bar", role: "tablist" });
    const buttons = tabs.map((tab, i) => {
      const b = el("button", { type: "button", role: "tab", class: "crowd-tab-button" }, [tab.getAttribute("header") || `Tab ${i + 1}`]);
      b.addEventListener("click", () => show(i));
      return b;
    });
    /** @param {number} i */
    const show = (i) => {
      tabs.forEach((t, j) => ((/** @type {HTMLElement} */ (t)).hidden = j !== i));
      buttons.forEach((b, j) => b.setAttribute("aria-selected", String(j === i)));
    };
    bar.append(...buttons);
    this.prepend(bar);
    show(0);
  }
}

export class CrowdTab extends CrowdElement {
  render() {
    this.setAttribute("role", "tabpanel");
  }
}

export class CrowdToast extends CrowdElement {
  render() {
    this.setAttribute("role", "status");
    const text = this.getAttribute("text");
    if (text) this.textContent = text;
    const ms = Number(this.getAttribute("duration") || 0);
    if (ms > 0) setTimeout(() => (this.hidden = true), ms);
  }
}

export class CrowdFab extends CrowdButton {
  render() {
    if (!this.textContent && (this.getAttribute("label") || this.getAttribute("icon"))) {
      this.textContent = this.getAttribute("label") || this.getAttribute("icon") || "";
    }
    super.render();
    if (this.button) {
      this.button.classList.add("crowd-fab");
      this.button.title = this.getAttribute("title") || "";
    }
  }
}

export class CrowdIconButton extends CrowdButton {
  render() {
    if (!this.textContent) this.textContent = this.getAttribute("icon") || "";
    super.render();
    if (this.button) this.button.setAttribute("aria-label", this.getAttribute("icon") || "button");
  }
}

export const WIDGET_ELEMENTS = {
  "crowd-input": CrowdInput, "crowd-text-area": CrowdTextArea, "crowd-checkbox": CrowdCheckbox,
  "crowd-toggle-button": CrowdToggleButton, "crowd-radio-group": CrowdRadioGroup,
  "crowd-radio-button": CrowdRadioButton, "crowd-slider": CrowdSlider, "crowd-alert": CrowdAlert,
  "crowd-badge": CrowdBadge, "crowd-card": CrowdCard, "crowd-modal": CrowdModal, "crowd-tabs": CrowdTabs,
  "crowd-tab": CrowdTab, "crowd-toast": CrowdToast, "crowd-fab": CrowdFab, "crowd-icon-button": CrowdIconButton,
};
