// @ts-check
/**
 * <crowd-instructions link-text="..." link-type="button|link">: the short summary shown in
 * the page, and the detailed instructions with positive and negative examples behind a
 * link, from the parts short-summary, detailed-instructions, positive-example and
 * negative-example: child elements of those names (<short-summary>, as Ground Truth's
 * element reference and most templates write them) or with that slot
 * (<div slot="short-summary">).
 */
import { CrowdElement } from "./base.js";

export class CrowdInstructions extends CrowdElement {
  render() {
    /** @param {string} slot */
    const part = (slot) =>
      Array.from(this.children).find((c) => c.localName === slot || c.getAttribute("slot") === slot) || null;
    const summary = part("short-summary");
    const detailed = part("detailed-instructions");
    const positive = part("positive-example");
    const negative = part("negative-example");
    const dialog = document.createElement("dialog");
    dialog.className = "crowd-instructions-dialog";
    /** @param {string} title @param {Element | null} node @param {string} cls */
    const section = (title, node, cls) => {
      if (!node) return null;
      const s = document.createElement("section");
      s.className = cls;
      const h = document.createElement("h3");
      h.textContent = title;
      s.append(h, node);
      return s;
    };
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.onclick = () => dialog.close();
    dialog.append(...[
      section("Instructions", detailed, "crowd-detailed"),
      section("Good examples", positive, "crowd-positive"),
      section("Bad examples", negative, "crowd-negative"),
    ].filter((x) => x !== null), close);
    const open = document.createElement("button");
    open.type = "button";
    open.className = this.getAttribute("link-type") === "button" ? "crowd-btn normal" : "crowd-link";
    open.textContent = this.getAttribute("link-text") || "View full instructions";
    open.onclick = () => dialog.showModal();
    this.dialog = dialog;
    this.replaceChildren(...(summary ? [summary] : []), open, dialog);
  }
}

export const INSTRUCTION_ELEMENTS = { "crowd-instructions": CrowdInstructions };
