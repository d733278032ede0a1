// @ts-check
/**
 * The review page's "Return to workers…" dialog: which workers get the item back (all who
 * answered, ticked) and the comment they will see (required). It sends nothing itself: the
 * page's `send` does, and answers an error sentence to show, or null when it went out.
 */
import { h, byId, replace } from "./dom.js";

/** The dialog, hidden until asked for; the page puts it in its layout once. */
export function returnDialog() {
  return h("dialog", { id: "return-dialog", "aria-labelledby": "return-title" },
    h("h2", { id: "return-title" }, "Return the item to its workers"),
    h("p", { class: "muted" }, "Their answers are taken off the item (the thread keeps them) and they label it again; they see your comment on their next task of it."),
    h("div", { id: "return-workers", class: "return-workers" }),
    h("textarea", { id: "return-comment", rows: "4", maxlength: "5000", placeholder: "What should they change? (required)", "aria-label": "comment to the workers" }),
    h("p", { id: "return-error", class: "error", hidden: true }),
    h("p", { class: "row" },
      h("button", { type: "button", id: "return-send", class: "primary" }, "Return"), " ",
      h("button", { type: "button", id: "return-cancel", onclick: () => closeReturn() }, "Cancel")));
}

const dialog = () => /** @type {HTMLDialogElement} */ (byId("return-dialog"));

export function closeReturn() {
  if (dialog().open) dialog().close();
}

/**
 * Ask which workers and why, then call `send`; the dialog closes once it went out.
 * @param {string[]} answered the workers who answered the item
 * @param {(comment: string, workers: string[]) => Promise<string | null>} send
 */
export function askReturn(answered, send) {
  replace(byId("return-workers"), answered.map((w) => h("label", { class: "return-worker" },
    h("input", { type: "checkbox", checked: true, value: w }), ` ${w}`)));
  const error = byId("return-error");
  const text = /** @type {HTMLTextAreaElement} */ (byId("return-comment"));
  error.hidden = true;
  /** @param {string} message */
  const say = (message) => {
    error.textContent = message;
    error.hidden = false;
  };
  byId("return-send").onclick = async () => {
    const comment = text.value.trim();
    const workers = Array.from(byId("return-workers").querySelectorAll("input:checked")).map((el) => /** @type {HTMLInputElement} */ (el).value);
    if (!comment) return say("Write what the workers should change: they see it on their next task of this item.");
    if (!workers.length) return say("Pick at least one worker to return the item to.");
    const problem = await send(comment, workers);
    if (problem) return say(problem);
    text.value = "";
    closeReturn();
  };
  dialog().showModal();
  text.focus();
}
