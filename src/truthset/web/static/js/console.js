// @ts-check
/** The requester console: every job with its state and counters. */
import { api, me, isStaff, enc } from "./api.js";
import { h, byId, replace, topbar, toast } from "./dom.js";

async function main() {
  const user = await me();
  topbar(user);
  if (!isStaff(user)) {
    replace(byId("app"), h("p", { class: "error" }, "The console is for requesters and admins."));
    return;
  }
  const jobs = await api("/api/jobs");
  const rows = jobs.map((/** @type {any} */ j) => {
    const c = j.counters;
    const done = c.human_labeled + c.machine_labeled + c.failed;
    return h("tr", { dataset: { job: j.name } },
      h("td", null, h("a", { href: `/console/jobs/${enc(j.name)}` }, j.name)),
      h("td", null, h("span", { class: `pill state-${j.state}` }, j.state)),
      h("td", null, j.task_type),
      h("td", { class: "num" }, String(c.human_labeled)),
      h("td", { class: "num" }, String(c.machine_labeled)),
      h("td", { class: "num" }, String(c.failed)),
      h("td", { class: "num" }, String(c.unlabeled)),
      h("td", null, h("div", { class: "progress", title: `${done} of ${c.total}` },
        h("span", { style: { width: `${c.total ? (100 * done) / c.total : 0}%` } }))));
  });
  replace(byId("app"),
    h("div", { class: "row" }, h("h1", null, "Labeling jobs"),
      h("a", { class: "button primary", href: "/console/new", id: "new-job" }, "New job")),
    jobs.length
      ? h("table", { class: "data", id: "jobs" },
        h("thead", null, h("tr", null, ["Job", "State", "Task type", "Human", "Machine", "Failed", "Unlabeled", "Progress"].map((t) => h("th", null, t)))),
        h("tbody", null, rows))
      : h("p", { class: "empty" }, "No job yet. Create one to start labeling."));
}

main().catch((err) => toast(String(err.message || err), "error", 0));
