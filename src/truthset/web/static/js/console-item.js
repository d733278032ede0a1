// @ts-check
/**
 * One item of a job: every worker's answer beside the consolidated label, drawn on the
 * image for image task types.
 */
import { api, me, isStaff, enc } from "./api.js";
import { h, byId, replace, topbar, toast, formatDuration } from "./dom.js";
import { picture } from "./answers.js";
import { taskStatusWords } from "./words.js";
import { mountThread } from "./review-thread.js";

const parts = location.pathname.split("/");
const jobName = decodeURIComponent(parts[3] || "");
const itemId = decodeURIComponent(parts[5] || "");

async function main() {
  const user = await me();
  topbar(user);
  if (!isStaff(user)) {
    replace(byId("app"), h("p", { class: "error" }, "The console is for requesters and admins."));
    return;
  }
  const [job, detail, media] = await Promise.all([
    api(`/api/jobs/${enc(jobName)}`),
    api(`/api/jobs/${enc(jobName)}/items/${enc(itemId)}`),
    api(`/api/ui/jobs/${enc(jobName)}/items/${enc(itemId)}/media-url`),
  ]);
  const data = detail.data || {};
  const label = detail.label;
  replace(byId("app"),
    h("p", null, h("a", { href: "/console" }, "Console"), " / ", h("a", { href: `/console/jobs/${enc(jobName)}` }, jobName), " / "),
    h("div", { class: "row" }, h("h1", null, `Item ${detail.item}`), h("span", { class: "pill", id: "item-status", dataset: { status: detail.status } }, taskStatusWords(detail.status)),
      detail.is_gold ? h("span", { class: "pill" }, "gold") : null),
    typeof data.source === "string" ? h("blockquote", { class: "text-item", id: "item-text" }, data.source) : null,
    h("div", { class: "answers-grid", id: "answers" },
      h("div", { class: "card", id: "consolidated" },
        h("h2", null, "Consolidated label"),
        label ? h("p", { class: "muted" }, `${label.human ? "by people" : "by the model"} · ${label.method} · confidence ${label.confidence ?? "–"}`) : null,
        label ? picture(label.value, label.meta, job, media.media_url, data) : h("p", { class: "muted" }, "No label yet.")),
      detail.answers.map((/** @type {any} */ a) => h("div", { class: "card answer", dataset: { worker: a.worker } },
        h("h2", null, a.worker),
        h("p", { class: "muted" }, `${new Date(a.submitted_at * 1000).toLocaleString()} · ${formatDuration(a.time_spent)}${a.excluded ? " · excluded" : ""}`),
        picture(a.answer, null, job, media.media_url, data)))),
    h("section", { class: "card review-thread", id: "item-thread" }));
  mountThread(byId("item-thread"), jobName, itemId, { title: "Review thread" });
}

main().catch((err) => toast(String(err.message || err), "error", 0));
