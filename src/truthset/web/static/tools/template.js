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

/** @param {string} src */
function makeFrame(src) {
  const frame = /** @type {HTMLIFrameElement} */ (h("iframe", {
    class: "template-frame", title: "task",
    sandbox: "allow-scripts allow-forms", referrerpolicy: "same-origin", src,
  }));
  Object.assign(frame.style, { flex: "1", width: "100%", minHeight: "0", border: "0", background: "#fff" });
  return frame;
}

/**
 * The next task's frame, loaded ahead while the worker answers this one (see prefetch).
 * @type {{url: string, frame: HTMLIFrameElement, holder: HTMLElement} | null}
 */
let preloaded = null;

/**
 * Load the prefetched task's page in a frame kept out of sight, so that showing it is a
 * move, not a load. A sandboxed frame has a new opaque origin each time, and Chromium
 * keys its HTTP cache by the frame's origin too: every page fetches its task.html and
 * the crowd modules (some 25 files, imports of imports) from the server again, which is
 * most of the time from Submit to a usable task. `Element.moveBefore` moves the loaded
 * frame into the tool without reloading it; where it is missing the frame is made anew.
 * @param {import("../js/types.js").Task} task
 */
export function prefetch(task) {
  let url;
  try {
    url = templateUrl(/** @type {any} */ (task).template_url);
  } catch {
    return;
  }
  if (preloaded && preloaded.url === url) return;
  if (preloaded) preloaded.holder.remove();
  if (!("moveBefore" in Element.prototype)) return;
  const root = document.getElementById("tool-root");
  const size = root ? root.getBoundingClientRect() : { width: 1000, height: 700 };
  // Laid out at the tool's size (image elements fit themselves to it), but not shown.
  const holder = h("div", { "aria-hidden": "true" });
  Object.assign(holder.style, {
    position: "fixed", left: "-20000px", top: "0", display: "flex",
    width: `${size.width}px`, height: `${size.height}px`, visibility: "hidden", pointerEvents: "none",
  });
  const frame = makeFrame(url);
  frame.tabIndex = -1;
  holder.appendChild(frame);
  document.body.appendChild(holder);
  preloaded = { url, frame, holder };
}

/** The preloaded frame of this url, moved into `root`; null if there is none. @param {string} url @param {HTMLElement} root */
function adopt(url, root) {
  const p = preloaded;
  if (!p || p.url !== url || !p.holder.isConnected) return null;
  preloaded = null;
  /** @type {any} */ (root).moveBefore(p.frame, null);
  p.holder.remove();
  p.frame.removeAttribute("tabindex");
  return p.frame;
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  const url = templateUrl(/** @type {any} */ (task).template_url);
  const frame = adopt(url, ctx.root) || ctx.root.appendChild(makeFrame(url));
  frame.id = "template-frame";

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
