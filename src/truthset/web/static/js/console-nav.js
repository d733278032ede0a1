// @ts-check
/** The console's own links (jobs, datasets, people), on each of its list pages. */
import { h } from "./dom.js";

/** @param {"jobs" | "datasets" | "people"} here */
export function consoleNav(here) {
  /** @type {[string, string, string][]} */
  const links = [["jobs", "/console", "Jobs"], ["datasets", "/console/datasets", "Datasets"], ["people", "/console/people", "People"]];
  return h("nav", { class: "console-nav", "aria-label": "console" },
    links.map(([key, href, words]) => h("a", { href, class: key === here ? "here" : null, "aria-current": key === here ? "page" : null }, words)));
}
