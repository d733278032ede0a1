// @ts-check
/**
 * Hooks and webhooks of a job: the webhook delivery log (GET /api/jobs/{name}/webhook-deliveries,
 * one row per attempt, newest first) and the items a pre- or post-annotation hook failed with
 * the reason (GET /api/jobs/{name}/hook-failures). Shown only for a job that has them.
 *
 * Deliveries are made in the background while the page is open, so `refreshHooks` redraws
 * these two tables in place on the page's refresh tick (as the counters are), leaving the
 * rest of the page, and anything half-typed in it, alone. URLs, errors and item ids are text.
 */
import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { jobApi, errorText, num } from "./common.js";

const SHOWN = 100;
/** The job-state pill colours the event states borrow. @type {Record<string, string>} */
const PILL = { delivered: "state-completed", failed: "state-failed" };

/** @param {any} job */
const hasWebhooks = (job) => Array.isArray(job.settings?.webhooks) && job.settings.webhooks.length > 0;
/** @param {any} job */
const hasHooks = (job) => Boolean(job.settings?.pre_annotation || job.settings?.post_annotation);

/** @param {number} at seconds since the epoch */
const when = (at) => new Date(at * 1000).toLocaleString();

/** @param {any[]} rows */
function deliveriesTable(rows) {
  if (!rows.length) return h("p", { class: "muted", id: "webhook-none" }, "No delivery yet.");
  return h("table", { class: "data", id: "webhook-deliveries" },
    h("thead", null, h("tr", null, ["Time", "Event", "URL", "Attempt", "Status", "Error", "Took", "Event state"].map((t) => h("th", null, t)))),
    h("tbody", null, rows.map((d) => h("tr", { dataset: { delivery: String(d.id), event: String(d.event_id) } },
      h("td", null, when(d.at)),
      h("td", null, d.event_type),
      h("td", null, d.url),
      h("td", { class: "num attempt" }, String(d.attempt)),
      h("td", { class: `num status ${d.status_code !== null && d.status_code < 300 ? "" : "error"}` },
        d.status_code === null ? "–" : String(d.status_code)),
      h("td", { class: "error-text" }, d.error || ""),
      h("td", { class: "num" }, `${num(d.duration, 3)} s`),
      h("td", null, h("span", { class: `pill ${PILL[d.event_state] || ""}` },
        d.event_state === "pending" && d.next_attempt_at ? `retry at ${new Date(d.next_attempt_at * 1000).toLocaleTimeString()}` : d.event_state))))));
}

/** @param {any[]} rows */
function failuresTable(rows) {
  if (!rows.length) return h("p", { class: "muted", id: "hook-failures-none" }, "No item failed in a hook.");
  return h("table", { class: "data", id: "hook-failures" },
    h("thead", null, h("tr", null, ["Item", "Hook", "Reason", "Time"].map((t) => h("th", null, t)))),
    h("tbody", null, rows.map((f) => h("tr", { dataset: { item: String(f.item) } },
      h("td", null, String(f.item)), h("td", null, f.hook), h("td", { class: "error-text" }, f.reason), h("td", null, when(f.at))))));
}

/** The tables' contents, fetched; an error shows in the table's place. @param {any} job */
async function contents(job) {
  const get = (/** @type {string} */ path, /** @type {(rows: any[]) => HTMLElement} */ draw) =>
    api(path).then(draw, (err) => h("p", { class: "error" }, errorText(err)));
  return Promise.all([
    hasWebhooks(job) ? get(`${jobApi}/webhook-deliveries?limit=${SHOWN}`, deliveriesTable) : null,
    hasHooks(job) ? get(`${jobApi}/hook-failures?limit=${SHOWN}`, failuresTable) : null,
  ]);
}

/** The section, or null for a job with neither webhooks nor hooks. @param {any} job */
export async function webhooksPanel(job) {
  if (!hasWebhooks(job) && !hasHooks(job)) return null;
  const [deliveries, failures] = await contents(job);
  return h("section", { class: "block", id: "job-hooks", dataset: { job: job.name } },
    h("h2", null, hasWebhooks(job) ? "Webhooks" : "Hooks"),
    hasWebhooks(job) ? h("p", { class: "muted" }, `Every delivery attempt, newest first (the last ${SHOWN}).`) : null,
    h("div", { id: "webhook-log" }, deliveries),
    hasHooks(job) ? h("h3", null, "Items a hook failed") : null,
    h("div", { id: "hook-failure-list" }, failures));
}

/** Redraw the tables in place from a fresh read (the page's refresh tick). @param {any} job */
export async function refreshHooks(job) {
  const log = document.getElementById("webhook-log");
  const list = document.getElementById("hook-failure-list");
  if (!log || !list) return;
  const [deliveries, failures] = await contents(job);
  if (deliveries) replace(log, deliveries);
  if (failures) replace(list, failures);
}
