// @ts-check
/**
 * What every crowd element shares: reading Ground Truth's attribute values, the answer
 * protocol between the elements and <crowd-form>, and the instructions slots.
 *
 * An element that answers has a `name` attribute and a `crowdAnswer()` method returning
 * the value Ground Truth records under that name (or undefined: nothing to record);
 * `crowdProblem()` returns a sentence when the element cannot be submitted as it is.
 */

/**
 * Parse an attribute the way Ground Truth templates write them: JSON
 * (`{{ x | to_json | escape }}`), or a JavaScript literal with single quotes and bare keys
 * (`categories="['a', 'b']"`, `exclusion-category="{ text: 'None' }"`). No eval: the
 * template page's policy forbids it, and an attribute is data, not code.
 * @param {string | null} text
 * @returns {any} undefined when absent or unreadable
 */
export function parseLiteral(text) {
  if (text === null || text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    /* not JSON: read it as a JavaScript literal */
  }
  let i = 0;
  const s = text;
  const fail = () => {
    throw new SyntaxError(`cannot read ${JSON.stringify(s)} at ${i}`);
  };
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  /** @returns {any} */
  const value = () => {
    ws();
    const c = s[i];
    if (c === "[") {
      i++;
      const out = [];
      for (;;) {
        ws();
        if (s[i] === "]") { i++; return out; }
        out.push(value());
        ws();
        if (s[i] === ",") i++;
        else if (s[i] !== "]") fail();
      }
    }
    if (c === "{") {
      i++;
      /** @type {Record<string, any>} */
      const out = {};
      for (;;) {
        ws();
        if (s[i] === "}") { i++; return out; }
        let key;
        if (s[i] === "'" || s[i] === '"') key = str();
        else {
          const m = /^[A-Za-z_$][\w$-]*/.exec(s.slice(i));
          if (!m) fail();
          key = /** @type {RegExpExecArray} */ (m)[0];
          i += key.length;
        }
        ws();
        if (s[i] !== ":") fail();
        i++;
        out[key] = value();
        ws();
        if (s[i] === ",") i++;
        else if (s[i] !== "}") fail();
      }
    }
    if (c === "'" || c === '"') return str();
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(s.slice(i));
    if (!m) fail();
    const tok = /** @type {RegExpExecArray} */ (m)[0];
    i += tok.length;
    return JSON.parse(tok);
  };
  const str = () => {
    const q = s[i++];
    let out = "";
    while (i < s.length && s[i] !== q) {
      if (s[i] === "\\") {
        const n = s[i + 1];
        out += n === "n" ? "\n" : n === "t" ? "\t" : n;
        i += 2;
      } else out += s[i++];
    }
    if (s[i] !== q) fail();
    i++;
    return out;
  };
  try {
    const v = value();
    ws();
    if (i !== s.length) fail();
    return v;
  } catch {
    return undefined;
  }
}

/**
 * Label names from a `labels` / `categories` attribute: a list of strings, or of objects
 * with a `label` (entity annotation's {label, shortDisplayName, fullDisplayName}).
 * @param {Element} el @param {string} attr
 * @returns {{names: string[], short: Record<string, string>, full: Record<string, string>}}
 */
export function labelsOf(el, attr) {
  const raw = parseLiteral(el.getAttribute(attr));
  const list = Array.isArray(raw) ? raw : [];
  /** @type {string[]} */
  const names = [];
  /** @type {Record<string, string>} */
  const short = {};
  /** @type {Record<string, string>} */
  const full = {};
  for (const x of list) {
    if (typeof x === "string" || typeof x === "number") names.push(String(x));
    else if (x && typeof x === "object" && typeof x.label === "string") {
      names.push(x.label);
      if (typeof x.shortDisplayName === "string") short[x.label] = x.shortDisplayName;
      if (typeof x.fullDisplayName === "string") full[x.label] = x.fullDisplayName;
    }
  }
  return { names: [...new Set(names)], short, full };
}

/**
 * Take the author's instruction children out of an element (they are shown in its side
 * panel): <short-instructions>, <full-instructions header="...">, and for classifiers
 * <classification-target>.
 * @param {Element} el
 * @returns {{short: Element | null, full: Element | null, target: Element | null}}
 */
export function takeSlots(el) {
  /** @param {string} tag */
  const take = (tag) => {
    const found = Array.from(el.children).find((c) => c.localName === tag) || null;
    if (found) found.remove();
    return found;
  };
  return { short: take("short-instructions"), full: take("full-instructions"), target: take("classification-target") };
}

/**
 * The instructions block of an annotating element: short instructions shown, full ones
 * behind a button (a <dialog>).
 * @param {{short: Element | null, full: Element | null}} slots
 * @returns {HTMLElement}
 */
export function instructionsPanel(slots) {
  const box = document.createElement("div");
  box.className = "crowd-instructions-panel";
  if (slots.short) {
    const s = document.createElement("div");
    s.className = "crowd-short-instructions";
    s.append(...Array.from(slots.short.childNodes));
    box.append(s);
  }
  if (slots.full) {
    const dialog = document.createElement("dialog");
    dialog.className = "crowd-full-instructions";
    const head = document.createElement("h2");
    head.textContent = slots.full.getAttribute("header") || "Instructions";
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.onclick = () => dialog.close();
    dialog.append(head, ...Array.from(slots.full.childNodes), close);
    const open = document.createElement("button");
    open.type = "button";
    open.className = "crowd-link";
    open.textContent = "View full instructions";
    open.onclick = () => dialog.showModal();
    box.append(open, dialog);
  }
  return box;
}

/** @param {Element} el @param {string} attr */
export function boolAttr(el, attr) {
  const v = el.getAttribute(attr);
  return v !== null && v !== "false";
}

/**
 * A custom element that draws itself once, when first connected with its children parsed.
 * Subclasses implement render().
 */
export class CrowdElement extends HTMLElement {
  constructor() {
    super();
    this.rendered = false;
  }

  connectedCallback() {
    if (this.rendered) return;
    this.rendered = true;
    this.render();
  }

  render() {}
}

/**
 * Whether `el` answers under its name (a crowd element with crowdAnswer()).
 * @param {Element} el
 * @returns {el is Element & {crowdAnswer: () => any, crowdProblem?: () => (string | null)}}
 */
export function answers(el) {
  return typeof (/** @type {any} */ (el).crowdAnswer) === "function";
}
