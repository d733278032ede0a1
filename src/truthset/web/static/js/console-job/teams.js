// @ts-check
/** The teams whose members get the job's tasks: remove one, add one. */
import { api, enc } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { jobApi, errorText } from "./common.js";

/** @param {any} job @param {import("./common.js").Reload} reload */
export async function teamsPanel(job, reload) {
  const sel = h("select", { id: "team-select", "aria-label": "team" });
  const remove = async (/** @type {string} */ team) => {
    if (!confirm(`Remove team ${team} from ${job.name}? Its members will no longer get its tasks.`)) return;
    try {
      await api(`${jobApi}/teams/${enc(team)}`, { method: "DELETE" });
      toast(`Team ${team} removed.`, "ok");
      reload();
    } catch (err) {
      toast(errorText(err), "error", 0);
    }
  };
  const current = job.teams || [];
  const box = h("section", { class: "block" }, h("h2", null, "Teams"),
    current.length
      ? h("ul", { id: "job-teams", class: "team-list" }, current.map((/** @type {string} */ t) => h("li", { class: "row", dataset: { team: t } },
        h("span", null, t),
        h("button", { class: "link", "aria-label": `remove team ${t}`, dataset: { removeTeam: t }, onclick: () => remove(t) }, "remove"))))
      : h("p", { id: "job-teams" }, "No team yet: no worker can see this job."),
    h("div", { class: "row" }, sel, h("button", {
      id: "btn-add-team",
      onclick: async () => {
        try {
          await api(`${jobApi}/teams`, { body: { team: sel.value } });
          toast(`Team ${sel.value} added.`, "ok");
          reload();
        } catch (err) {
          toast(errorText(err), "error", 0);
        }
      },
    }, "Add team")));
  try {
    const teams = await api("/api/teams");
    replace(sel, teams.filter((/** @type {any} */ t) => !(job.teams || []).includes(t.name))
      .map((/** @type {any} */ t) => h("option", { value: t.name }, `${t.name} (${t.members.length} members)`)));
  } catch {
    /* a requester may not list teams */
  }
  return box;
}
