// @ts-check
/**
 * A job in the console: state and counters, the settings that may change while it runs,
 * throughput over time, time per task, workers, agreement, automated labeling, teams,
 * exports with progress, hooks and webhook deliveries, and the labels with filters (kept in
 * the URL).
 *
 * This module fetches what the panels show and lays them out; each panel is its own module
 * under console-job/. A panel that changes the job asks for the whole page to be drawn
 * again (`render`), since one change shows in several panels (a team in the header too).
 */
import { api, me, isStaff, ApiError } from "./api.js";
import { h, byId, replace, topbar, toast } from "./dom.js";
import { jobName, jobApi, errorText } from "./console-job/common.js";
import { headerPanel } from "./console-job/header.js";
import { countersPanel, refreshCounters } from "./console-job/counters.js";
import { settingsPanel } from "./console-job/settings.js";
import { throughputPanel } from "./console-job/throughput.js";
import { chartsPanel } from "./console-job/charts.js";
import { workersPanel } from "./console-job/workers.js";
import { agreementPanel } from "./console-job/agreement.js";
import { consolidationPanel } from "./console-job/consolidation-report.js";
import { autolabelPanel } from "./console-job/autolabel.js";
import { labelIssuesPanel } from "./console-job/label-issues.js";
import { teamsPanel } from "./console-job/teams.js";
import { exportsPanel } from "./console-job/exports.js";
import { labelsPanel } from "./console-job/labels.js";
import { webhooksPanel, refreshHooks } from "./console-job/webhooks.js";

/** The job as last drawn: the refresh tick re-reads what changes in the background. @type {any} */
let shown = null;

/** The panels that change while nobody touches the page, redrawn in place. */
function refresh() {
  refreshCounters();
  if (shown) refreshHooks(shown).catch(() => { /* try again at the next tick */ });
}

async function render() {
  const app = byId("app");
  try {
    const [job, workers, points, agreement, autolabel] = await Promise.all([
      api(jobApi), api(`${jobApi}/workers`), api(`${jobApi}/throughput?bucket=300`),
      // A task type without an agreement measure answers 400: say so in its section.
      api(`${jobApi}/agreement`).then((r) => ({ report: r, problem: "" }),
        (err) => ({ report: null, problem: errorText(err) })),
      // Servers without automated labeling answer 404 here: show nothing then.
      api(`${jobApi}/autolabel`).catch(() => null),
    ]);
    document.title = `${job.name} · truthset`;
    // The panels that fetch more of their own, all at once.
    const [issues, hooks, consolidation, ...blocks] = await Promise.all([
      labelIssuesPanel(job), webhooksPanel(job), consolidationPanel(job), teamsPanel(job, render), exportsPanel(job), labelsPanel(job, render)]);
    shown = job;
    replace(app, headerPanel(job, render), countersPanel(job, workers), settingsPanel(job, render),
      throughputPanel(points, 300), chartsPanel(),
      workersPanel(workers, agreement.report), agreementPanel(agreement.report, agreement.problem), consolidation, autolabelPanel(autolabel),
      issues, hooks, ...blocks);
  } catch (err) {
    replace(app, h("p", { class: "error" }, err instanceof ApiError && err.status === 404 ? `No job named ${jobName}.` : errorText(err)));
  }
}

async function main() {
  window.setInterval(refresh, 10000);
  const user = await me();
  topbar(user);
  if (!isStaff(user)) {
    replace(byId("app"), h("p", { class: "error" }, "The console is for requesters and admins."));
    return;
  }
  await render();
}

main().catch((err) => toast(errorText(err), "error", 0));
