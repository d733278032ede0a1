// @ts-check
/**
 * The tool of custom (template) jobs: the job's worker task template, rendered by the
 * server for this assignment (the `template_url` of the task), in a sandboxed frame.
 *
 * The frame has `sandbox="allow-scripts allow-forms"` and never allow-same-origin: the
 * template is the requester's HTML with its own scripts, so it runs in an opaque origin
 * where it cannot read this page, its cookies or its storage, and its requests carry no
 * session (the session cookie is SameSite=Lax and the frame is cross-site to everything).
 * The frame is loaded by URL — the portal signs in with that cookie, which the frame's
 * own navigation carries — so the page keeps the policy the server sends with it.
 *
 * The only thing taken from the frame is a message from that frame's window of the form
 * {"type": "crowd-submit", "answer": {...}} (what <crowd-form> posts); it becomes the
 * answer and goes through the page's usual submit. The page's Submit (button or Enter)
 * asks the form in the frame to submit itself, so the template's checks run either way.
 */
import { h } from "../js/dom.js";

/** @typedef {{answered: number}} State */

/** @param {import("../js/types.js").Task} _task @returns {State} */
export function initialState(_task) {
  return { answered: 0 };
}

/** Only the server's own task pages may be framed. @param {unknown} url */
function templateUrl(url) {
  if (typeof url !== "string" || !/^\/api\/assignments\/[0-9]+\/task\.html(\?[^#]*)?$/.test(url)) {
    throw new Error("this task has no worker task template to show");
  }
  return url;
}

/** @param {any} v */
const isPlainObject = (v) => !!v && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const frame = /** @type {HTMLIFrameElement} */ (h("iframe", {
    class: "template-frame", id: "template-frame", title: "task",
    sandbox: "allow-scripts allow-forms", referrerpolicy: "same-origin",
    src: templateUrl(/** @type {any} */ (task).template_url),
  }));
  Object.assign(frame.style, { flex: "1", width: "100%", minHeight: "0", border: "0", background: "#fff" });
  ctx.root.appendChild(frame);

  /** @type {Record<string, any> | null} the answer the frame sent, until it is submitted */
  let pending = null;

  /** @param {MessageEvent} e */
  const onMessage = (e) => {
    // Another frame, a window opened by the template, or this page itself: ignored.
    if (!frame.contentWindow || e.source !== frame.contentWindow) return;
    const data = e.data;
    if (!isPlainObject(data) || data.type !== "crowd-submit" || !isPlainObject(data.answer)) return;
    pending = JSON.parse(JSON.stringify(data.answer));
    store.update((/** @type {State} */ s) => void (s.answered += 1), { reason: "template" });
    // The page's usual submit: its checks, the outbox, the next task.
    const submit = document.getElementById("btn-submit");
    if (submit) submit.click();
  };
  window.addEventListener("message", onMessage);

  return {
    answer() {
      const a = pending;
      pending = null; // a refused answer is sent again only from the form again
      return a;
    },
    problem() {
      if (pending) return null;
      if (frame.contentWindow) frame.contentWindow.postMessage({ type: "crowd-request-submit" }, "*");
      return "Submitting the task's form… if it marks something to fix, fix it and submit again.";
    },
    shortcuts: [["Ctrl+Enter (in the task)", "submit the task's form"]],
    destroy() {
      window.removeEventListener("message", onMessage);
      frame.remove();
    },
  };
}
