// @ts-check
/** The requester console: every job with its state and counters. */
import { api, me, isStaff, enc } from "./api.js";
import { h, byId, replace, topbar, toast } from "./dom.js";
import { jobStateWords } from "./words.js";

/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));

/** Teams and their members; admins add teams and put people in them. @param {boolean} admin */
async function teamsBlock(admin) {
  const box = h("section", { class: "block", id: "teams" }, h("h2", null, "Teams"));
  const [teams, users] = await Promise.all([api("/api/teams"), api("/api/users")]);
  box.appendChild(h("table", { class: "data" },
    h("thead", null, h("tr", null, ["Team", "Members", admin ? "Add a member" : ""].map((t) => h("th", null, t)))),
    h("tbody", null, teams.map((/** @type {any} */ t) => {
      const sel = h("select", { "aria-label": `add to ${t.name}` },
        users.filter((/** @type {any} */ u) => !t.members.includes(u.name)).map((/** @type {any} */ u) => h("option", { value: u.name }, `${u.name} (${u.role})`)));
      return h("tr", { dataset: { team: t.name } },
        h("td", null, t.name),
        h("td", { class: "members" }, t.members.join(", ") || "–"),
        h("td", null, admin ? h("span", { class: "row" }, sel, h("button", {
          type: "button",
          onclick: async () => {
            try {
              await api(`/api/teams/${enc(t.name)}/members`, { body: { user: sel.value } });
              toast(`${sel.value} joined ${t.name}.`, "ok");
              main();
            } catch (err) {
              toast(message(err), "error", 0);
            }
          },
        }, "Add")) : null));
    }))));
  if (admin) {
    const name = h("input", { id: "new-team", placeholder: "new team name" });
    box.appendChild(h("p", { class: "row" }, name, h("button", {
      type: "button", id: "btn-new-team",
      onclick: async () => {
        try {
          await api("/api/teams", { body: { name: name.value.trim() } });
          main();
        } catch (err) {
          toast(message(err), "error", 0);
        }
      },
    }, "Create team")));
  }
  return box;
}

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
      h("td", null, h("span", { class: `pill state-${j.state}`, dataset: { state: j.state } }, jobStateWords(j.state))),
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
      h("a", { class: "button primary", href: "/console/new", id: "new-job" }, "New job"),
      h("a", { class: "button", href: "/console/datasets", id: "to-datasets" }, "Datasets"),
      h("a", { class: "button", href: "/console/people", id: "to-people" }, "People")),
    jobs.length
      ? h("table", { class: "data", id: "jobs" },
        h("thead", null, h("tr", null, ["Job", "State", "Task type", "Human", "Machine", "Failed", "Unlabeled", "Progress"].map((t) => h("th", null, t)))),
        h("tbody", null, rows))
      : h("p", { class: "empty" }, "No job yet. Create one to start labeling."));
  try {
    byId("app").appendChild(await teamsBlock(user.role === "admin"));
  } catch {
    /* a requester may not list people */
  }
}

main().catch((err) => toast(String(err.message || err), "error", 0));
