// @ts-check
/**
 * The worker's portal: the items reviewers returned to them (GET /api/me/returned), each
 * with the reviewer's comment and a link to the job's work page, where the item comes first
 * and its thread is shown beside the tool. Items answered again since are listed as done.
 * Hidden while there are none.
 */
import { api, enc } from "./api.js";
import { h, replace } from "./dom.js";

/**
 * @typedef {{job: string, item: string, reviewer: string, comment: string, at: number,
 *   answered_again: boolean}} Returned
 */

/** A section that fills itself in (hidden until some item was returned). */
export function returnedSection() {
  const box = h("section", { class: "block", id: "returned-items", hidden: true });
  api("/api/me/returned").then((/** @type {Returned[]} */ items) => {
    if (!items.length) return;
    const open = items.filter((r) => !r.answered_again).length;
    box.hidden = false;
    replace(box,
      h("h1", null, open ? `Returned to you by a reviewer (${open} to redo)` : "Returned to you by a reviewer"),
      h("ul", { class: "returned-list" }, items.map((r) => h("li", { class: `card${r.answered_again ? " done" : ""}`, dataset: { job: r.job, item: r.item } },
        h("p", null, h("b", null, `${r.job} · item ${r.item}`),
          h("span", { class: "muted" }, ` · ${r.reviewer} · ${new Date(r.at * 1000).toLocaleString()}${r.answered_again ? " · answered again" : ""}`)),
        h("p", { class: "thread-body" }, r.comment),
        r.answered_again ? null : h("a", { class: "button", href: `/work/${enc(r.job)}` }, "Redo it")))));
  }, () => { /* the list is a nicety: the work page shows the comment too */ });
  return box;
}
