// @ts-check
/**
 * Audio transcription: the player with its waveform and a transcript box. The task starts
 * with the keyboard on the player, so Space and k play and pause (they would type into a
 * focused box); t (or a click) goes to the box, Esc back to the player.
 * Answer: {"transcription": "<text>"}. Ctrl+Enter submits from the box.
 */
import { h } from "../js/dom.js";
import { AudioPlayer, AUDIO_SHORTCUTS } from "./audio.js";

/** @typedef {{text: string}} State */

/** @param {import("../js/types.js").Task} task @returns {State} */
export function initialState(task) {
  const p = task.prior_label && typeof task.prior_label.value === "string" ? task.prior_label.value
    : task.prediction && typeof task.prediction.transcription === "string" ? task.prediction.transcription : "";
  return { text: p };
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const player = new AudioPlayer(ctx.root, String(task.item.media_url));
  const box = h("textarea", { id: "transcript", class: "transcript", rows: "6", placeholder: "Type what you hear…", "aria-label": "transcript" });
  box.value = /** @type {State} */ (store.state).text;
  let typing = false;
  box.addEventListener("input", () => {
    // Typing is one undo step per pause, not per character.
    store.update((/** @type {State} */ s) => {
      s.text = box.value;
    }, { record: !typing, reason: "type" });
    typing = true;
    window.clearTimeout(pause);
    pause = window.setTimeout(() => (typing = false), 800);
  });
  /** @type {number} */
  let pause = 0;
  box.addEventListener("keydown", (e) => {
    if (player.handleFieldKey(e)) e.preventDefault();
    else if (e.key === "Escape") {
      e.preventDefault();
      player.focus();
    }
  });
  store.on("change", (/** @type {{reason: string}} */ d) => {
    if (d.reason !== "type") box.value = /** @type {State} */ (store.state).text;
  });
  ctx.root.appendChild(h("div", { class: "transcript-box" }, box, h("p", { class: "muted" }, "t: type here · Esc: back to the player · Ctrl+Enter submits.")));
  setTimeout(() => player.focus(), 0); // after the page has given the keyboard to the tool
  return {
    answer() {
      return { transcription: /** @type {State} */ (store.state).text.trim() };
    },
    problem() {
      return /** @type {State} */ (store.state).text.trim() ? null : "Type the transcript first.";
    },
    onKey(e) {
      if (e.key === "t") {
        box.focus();
        return true;
      }
      return player.handleKey(e);
    },
    shortcuts: [["t", "go to the transcript box"], ["Esc (in the box)", "back to the player"], ["Ctrl+Enter", "submit"], ...AUDIO_SHORTCUTS],
    destroy() {
      player.destroy();
    },
  };
}
