// @ts-check
/**
 * What every panel of the console's job page shares: the job the page shows (from the URL),
 * its API path, and how numbers and errors are written.
 */
import { enc } from "../api.js";
import { h } from "../dom.js";

/** The job's name, from /console/jobs/{job}. */
export const jobName = decodeURIComponent(location.pathname.split("/")[3] || "");
/** The job's resource in the core API; its sub-resources (workers, exports…) hang below it. */
export const jobApi = `/api/jobs/${enc(jobName)}`;

/**
 * Re-fetch and redraw the whole page. A panel whose action changes the job (stop, a setting,
 * a team, a filter) calls it, so that every other panel shows the new state too.
 * @typedef {() => Promise<void>} Reload
 */

/** @param {unknown} err */
export const errorText = (err) => (err instanceof Error ? err.message : String(err));

/** A fraction as a percentage with one decimal. @param {number | null | undefined} v */
export const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 1000) / 10}%`);

/** @param {number | null | undefined} v @param {number} [digits] */
export const num = (v, digits = 2) => (v === null || v === undefined ? "–" : String(Math.round(v * 10 ** digits) / 10 ** digits));

/** One figure with its caption (the counters and agreement grids). @param {string} label @param {number | string} value @param {string} id */
export const stat = (label, value, id) => h("div", { class: "stat", id }, h("b", null, String(value)), h("span", { class: "muted" }, label));
