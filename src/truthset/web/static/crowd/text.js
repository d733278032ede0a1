// @ts-check
/**
 * <crowd-entity-annotation> on truthset's entity tool (ner.js): attributes text, labels
 * (strings, or {label, shortDisplayName, fullDisplayName}), header, initial-value
 * ([{label, startOffset, endOffset}] or {"entities": [...]}), name. Select text with the
 * mouse or the keyboard, press a label's number. Answer: {"entities": [{label,
 * startOffset, endOffset}]}, offsets in Unicode code points, end exclusive.
 */
import * as ner from "../tools/ner.js";
import { CrowdElement } from "./base.js";
import { hostTool } from "./toolhost.js";

export class CrowdEntityAnnotation extends CrowdElement {
  render() {
    this.host = hostTool(this, ner, { taskType: "named-entity-recognition", key: "entities", text: this.getAttribute("text") || "" });
  }

  crowdAnswer() {
    return this.host ? this.host.tool.answer() : undefined;
  }

  get value() {
    return this.crowdAnswer();
  }
}

export const TEXT_ELEMENTS = { "crowd-entity-annotation": CrowdEntityAnnotation };
