// @ts-check
/** The worker portal: the jobs of my teams, with how much work is left. */
import { api, me, enc } from "./api.js";
import { h, byId, replace, topbar, toast } from "./dom.js";
import { Outbox, sendEntry } from "./outbox.js";
import { returnedSection } from "./review-returned.js";

/** Answers saved on this device while the server was unreachable go out from here too. @param {string} user */
async function flushSavedAnswers(user) {
  const outbox = new Outbox(user);
  for (const entry of outbox.all()) {
    const res = await sendEntry(entry, 8000);
    if (res.kind === "network") return;
    outbox.remove(entry.client_key);
    if (res.kind === "ok") toast(`Sent your saved answer for item ${entry.item} (${entry.job}).`, "ok", 3000);
    else toast(`Your saved answer for item ${entry.item} (${entry.job}) was not recorded: ${res.message}`, "error", 0);
  }
}

/**
 * Reviewers: every job of their teams, in any state (finished jobs are reviewed too), with
 * a link to its review queue.
 * @param {any[]} jobs
 */
function reviewSection(jobs) {
  return h("section", { class: "block", id: "review-jobs" },
    h("h1", null, "Review"),
    jobs.length ? h("ul", { class: "job-list" }, jobs.map((/** @type {any} */ j) =>
      h("li", { class: "card job-card", dataset: { job: j.name } },
        h("div", { class: "job-head" },
          h("h2", null, j.name),
          h("span", { class: `pill state-${j.state}` }, j.state),
          h("span", { class: "pill" }, j.task_type)),
        h("p", { class: "muted" }, `${j.counters.human_labeled} of ${j.counters.total} items labeled by people`),
        queueLine(j.name),
        h("a", { class: "button primary", href: `/review/${enc(j.name)}` }, "Review"))))
      : h("p", { class: "empty" }, "No job of your teams to review."));
}

/**
 * "N items wait for review", filled in when the queue's size arrives.
 * @param {string} job
 */
function queueLine(job) {
  const line = h("p", { class: "queue-size" }, "");
  api(`/api/jobs/${enc(job)}/review/queue`).then((/** @type {any} */ q) => {
    const held = q.leased ? ` (${q.leased} being reviewed now)` : "";
    const waiting = q.queued === 1 ? "1 item waits" : `${q.queued} items wait`;
    line.textContent = `${waiting} for review${held}; ${q.reviewed} reviewed`;
  }).catch(() => { line.textContent = ""; });
  return line;
}

async function main() {
  const user = await me();
  topbar(user);
  await flushSavedAnswers(user.name);
  const [jobs, stats] = await Promise.all([api("/api/jobs"), api("/api/me/stats")]);
  /** @type {Record<string, {answers: number, time_spent: number}>} */
  const mine = {};
  for (const s of stats) mine[s.job] = s;
  const open = jobs.filter((/** @type {any} */ j) => j.state === "in_progress");
  const rows = open.map((/** @type {any} */ j, /** @type {number} */ i) => {
    const c = j.counters;
    const done = c.human_labeled + c.machine_labeled + c.failed;
    const pct = c.total ? Math.round((100 * done) / c.total) : 100;
    return h("li", { class: "card job-card", dataset: { job: j.name } },
      h("div", { class: "job-head" },
        h("h2", null, j.name),
        h("span", { class: "pill" }, j.task_type)),
      h("div", { class: "progress", title: `${pct}% labeled` }, h("span", { style: { width: `${pct}%` } })),
      h("p", { class: "muted" },
        `${c.unlabeled} of ${c.total} items still need labels · you answered ${mine[j.name]?.answers || 0}`),
      h("a", { class: "button primary", href: `/work/${enc(j.name)}`, accesskey: String(i + 1) },
        c.unlabeled ? "Start working" : "Check for work"));
  });
  replace(byId("app"),
    user.role === "reviewer" ? reviewSection(jobs) : null,
    returnedSection(),
    h("h1", null, "Your jobs"),
    rows.length ? h("ul", { class: "job-list", id: "jobs" }, rows)
      : h("p", { class: "empty" }, "No job is open for your teams right now."));
  const first = /** @type {HTMLAnchorElement | null} */ (document.querySelector(".job-card a"));
  if (first) first.focus();
}

main().catch((err) => toast(String(err.message || err), "error", 0));
