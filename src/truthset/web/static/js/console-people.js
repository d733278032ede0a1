// @ts-check
/**
 * The console's people page: every account with its role, whether it may sign in and its
 * teams; admins add people, change roles, deactivate and reactivate, set a new password,
 * put people in teams and take them out, and make and revoke API tokens (?user=NAME opens
 * one person). A requester sees the lists only (the server refuses the rest).
 */
import { api, me, isStaff, enc } from "./api.js";
import { h, byId, replace, topbar, toast } from "./dom.js";
import { consoleNav } from "./console-nav.js";

const ROLES = ["worker", "reviewer", "requester", "admin"];
/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));
/** @param {number | null} t */
const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "never");

/**
 * Run an action; say what it did, or the server's sentence, and redraw.
 * @param {() => Promise<unknown>} action @param {string} done
 */
async function act(action, done) {
  try {
    await action();
    await main();
    toast(done, "ok");  // once the page shows the change
    return true;
  } catch (err) {
    toast(message(err), "error", 0);
    return false;
  }
}

/** @param {string} name the selected person, or "" */
function openPerson(name) {
  const url = name ? `/console/people?user=${enc(name)}` : "/console/people";
  history.replaceState(null, "", url);
  main();
}

/** The form that adds a person. @param {any[]} teams */
function addForm(teams) {
  const name = h("input", { id: "p-name", placeholder: "name", required: true, maxlength: "100" });
  const role = h("select", { id: "p-role", "aria-label": "role" }, ROLES.map((r) => h("option", { value: r }, r)));
  const password = h("input", { id: "p-password", type: "password", placeholder: "password (8+ characters)", autocomplete: "new-password" });
  const team = h("select", { id: "p-team", "aria-label": "team" }, h("option", { value: "" }, "no team"),
    teams.map((t) => h("option", { value: t.name }, t.name)));
  return h("form", { class: "row", id: "add-person", onsubmit: (/** @type {Event} */ e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), role: role.value, password: password.value || null, teams: team.value ? [team.value] : [] };
    act(() => api("/api/users", { body }), `${body.name} was added as ${body.role}.`);
  } }, name, role, password, team, h("button", { type: "submit", class: "primary" }, "Add person"));
}

/**
 * A person's tokens: listed, revoked, and a new one shown once. Admins manage anyone's,
 * everyone their own. @param {any} person @param {boolean} mayManage
 */
async function tokensBlock(person, mayManage) {
  /** @type {any[]} */
  let tokens;
  try {
    tokens = await api(`/api/users/${enc(person.name)}/tokens`);
  } catch (err) {  // another's tokens, to a requester: the server's sentence in their place
    return h("div", { id: "tokens" }, h("h3", null, "API tokens"), h("p", { class: "muted", id: "t-refused" }, message(err)));
  }
  const shown = h("div", { id: "new-token" });
  const name = h("input", { id: "t-name", placeholder: "token name (e.g. laptop)", maxlength: "100" });
  const days = h("input", { id: "t-days", type: "number", min: "1", placeholder: "expires in days (empty: never)" });
  const make = h("button", {
    type: "button", id: "t-create", disabled: !mayManage,
    onclick: async () => {
      try {
        /** @type {Record<string, unknown>} */
        const body = { name: name.value.trim() || null };
        if (days.value) body.expires_days = Number(days.value);
        const made = await api(`/api/users/${enc(person.name)}/tokens`, { body });
        replace(shown, h("p", { class: "ok" }, "Copy the token now: it is not shown again. ", h("code", { id: "t-secret" }, made.token)));
        replace(list, rows(await api(`/api/users/${enc(person.name)}/tokens`)));
      } catch (err) {
        toast(message(err), "error", 0);
      }
    },
  }, "Create token");
  /** @param {any[]} all */
  const rows = (all) => all.length
    ? all.map((t) => h("tr", { dataset: { token: t.name || t.prefix } },
      h("td", null, t.name || "–"), h("td", null, h("code", null, `${t.prefix}…`)), h("td", null, when(t.created_at)),
      h("td", null, t.expires_at ? when(t.expires_at) : "never"),
      h("td", null, mayManage ? h("button", {
        type: "button", class: "link danger t-revoke",
        onclick: () => act(() => api(`/api/users/${enc(person.name)}/tokens/${t.id}`, { method: "DELETE" }), `The token ${t.name || t.prefix} was revoked.`),
      }, "Revoke") : null)))
    : h("tr", null, h("td", { colspan: "5", class: "muted" }, "No API token."));
  const list = h("tbody", { id: "t-list" }, rows(tokens));
  return h("div", { id: "tokens" }, h("h3", null, "API tokens"),
    h("table", { class: "data" }, h("thead", null, h("tr", null, ["Name", "Starts with", "Made", "Expires", ""].map((t) => h("th", null, t)))), list),
    mayManage ? h("p", { class: "row" }, name, days, make) : null, shown);
}

/** One person's panel. @param {any} person @param {any[]} teams @param {boolean} admin @param {boolean} self */
async function personPanel(person, teams, admin, self) {
  const role = h("select", { id: "pp-role", "aria-label": "role", disabled: !admin },
    ROLES.map((r) => h("option", { value: r, selected: r === person.role }, r)));
  const password = h("input", { id: "pp-password", type: "password", placeholder: "new password", autocomplete: "new-password", disabled: !admin });
  const others = teams.filter((t) => !person.teams.includes(t.name));
  const team = h("select", { id: "pp-team", "aria-label": "add to team" }, others.map((t) => h("option", { value: t.name }, t.name)));
  const path = `/api/users/${enc(person.name)}`;
  const controls = admin ? [
    h("p", { class: "row" }, h("label", { for: "pp-role" }, "Role"), role, h("button", {
      type: "button", id: "pp-save-role",
      onclick: () => act(() => api(path, { method: "PATCH", body: { role: role.value } }), `${person.name} is now ${role.value}.`),
    }, "Change role"),
    h("button", {
      type: "button", id: "pp-active", class: person.active ? "danger" : "",
      onclick: () => act(() => api(path, { method: "PATCH", body: { active: !person.active } }),
        person.active ? `${person.name} can no longer sign in; their sessions and tokens were ended.` : `${person.name} can sign in again.`),
    }, person.active ? "Deactivate" : "Reactivate")),
    h("p", { class: "row" }, password, h("button", {
      type: "button", id: "pp-set-password",
      onclick: () => act(() => api(path, { method: "PATCH", body: { password: password.value } }), `${person.name}'s password was reset; their browser sessions were ended.`),
    }, "Reset password")),
    h("p", { class: "row" }, others.length ? [team, h("button", {
      type: "button", id: "pp-add-team",
      onclick: () => act(() => api(`/api/teams/${enc(team.value)}/members`, { body: { user: person.name } }), `${person.name} joined ${team.value}.`),
    }, "Add to team")] : h("span", { class: "muted" }, "In every team.")),
  ] : [];
  const memberships = person.teams.length
    ? h("ul", { class: "team-list", id: "pp-teams" }, person.teams.map((/** @type {string} */ t) => h("li", { dataset: { team: t } }, t, admin ? [" ", h("button", {
      type: "button", class: "link pp-leave",
      onclick: () => act(() => api(`/api/teams/${enc(t)}/members/${enc(person.name)}`, { method: "DELETE" }), `${person.name} left ${t}.`),
    }, "remove")] : null)))
    : h("p", { class: "muted", id: "pp-teams" }, "In no team.");
  return h("section", { class: "block card", id: "person", dataset: { user: person.name } },
    h("div", { class: "row" }, h("h2", null, person.name),
      h("span", { class: `pill ${person.active ? "" : "state-stopped"}` }, person.active ? `${person.role}` : `${person.role}, deactivated`),
      h("button", { type: "button", class: "link", onclick: () => openPerson("") }, "close")),
    h("h3", null, "Teams"), memberships, controls, await tokensBlock(person, admin || self));
}

/** The teams and their members; admins make new ones. @param {any[]} teams @param {boolean} admin */
function teamsBlock(teams, admin) {
  const name = h("input", { id: "new-team", placeholder: "new team name", maxlength: "100" });
  return h("section", { class: "block", id: "teams" }, h("h2", null, "Teams"),
    h("table", { class: "data" }, h("thead", null, h("tr", null, h("th", null, "Team"), h("th", null, "Members"))),
      h("tbody", null, teams.map((t) => h("tr", { dataset: { team: t.name } }, h("td", null, t.name), h("td", { class: "members" }, t.members.join(", ") || "–"))))),
    admin ? h("p", { class: "row" }, name, h("button", {
      type: "button", id: "btn-new-team",
      onclick: () => act(() => api("/api/teams", { body: { name: name.value.trim() } }), `Team ${name.value.trim()} was made.`),
    }, "Create team")) : null);
}

async function main() {
  const user = await me();
  topbar(user);
  if (!isStaff(user)) {
    replace(byId("app"), h("p", { class: "error" }, "The console is for requesters and admins."));
    return;
  }
  const admin = user.role === "admin";
  const [users, teams] = await Promise.all([api("/api/users"), api("/api/teams")]);
  const selected = new URLSearchParams(location.search).get("user");
  const person = users.find((/** @type {any} */ u) => u.name === selected);
  const table = h("table", { class: "data", id: "people" },
    h("thead", null, h("tr", null, ["Name", "Role", "Can sign in", "Teams"].map((t) => h("th", null, t)))),
    h("tbody", null, users.map((/** @type {any} */ u) => h("tr", { dataset: { user: u.name, active: String(u.active) }, class: u.name === selected ? "selected" : null },
      h("td", null, h("button", { type: "button", class: "link", onclick: () => openPerson(u.name) }, u.name)),
      h("td", null, u.role), h("td", null, u.active ? "yes" : "no (deactivated)"), h("td", null, u.teams.join(", ") || "–")))));
  replace(byId("app"), consoleNav("people"), h("h1", null, "People"),
    admin ? addForm(teams) : h("p", { class: "muted" }, "Only admins add people and change accounts."),
    person ? await personPanel(person, teams, admin, person.name === user.name) : null, table, teamsBlock(teams, admin));
}

main().catch((err) => toast(message(err), "error", 0));
