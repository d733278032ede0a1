// @ts-check
/**
 * The console's datasets page: every dataset with its item count and what its items hold;
 * one dataset (?dataset=NAME) with a paged preview of its items (thumbnails, text, audio
 * and video players), its import history with each import's bad lines, a job made from it
 * (only the task types its items fit are offered) and delete.
 *
 * Pages are keyset pages (the server's `next` id), so the preview of a million-item
 * dataset costs the same on any page; the way back is the stack of ids already seen.
 */
import { api, me, isStaff, enc } from "./api.js";
import { h, byId, replace, topbar, toast } from "./dom.js";
import { consoleNav } from "./console-nav.js";

const PAGE = 24;
/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));
/** @param {number} t */
const when = (t) => new Date(t * 1000).toLocaleString();

/** The kinds of a dataset in words: "image 90 %, audio 10 %". @param {Record<string, number>} kinds @param {number} sampled */
export function kindWords(kinds, sampled) {
  const parts = Object.entries(kinds).map(([k, n]) => (n === sampled ? k : `${k} ${Math.round((100 * n) / sampled)} %`));
  return parts.join(", ") || "empty";
}

/** One item as a card: the picture, the player or the text, and its id. @param {any} item */
function itemCard(item) {
  const data = item.data || {};
  /** @type {HTMLElement} */
  let body;
  if (item.media_url && item.kind === "image") {
    body = h("img", { src: item.media_url, alt: item.id, loading: "lazy", class: "ds-thumb" });
  } else if (item.media_url && item.kind === "audio") {
    body = h("audio", { src: item.media_url, controls: true, preload: "none", class: "ds-audio" });
  } else if (item.media_url && item.kind === "video") {
    body = h("video", { src: item.media_url, controls: true, preload: "metadata", class: "ds-thumb" });
  } else if (typeof data.source === "string") {
    body = h("p", { class: "ds-text" }, data.source.length > 280 ? `${data.source.slice(0, 280)}…` : data.source);
  } else {
    body = h("p", { class: "ds-text muted" }, data["source-ref"] ? String(data["source-ref"]) : JSON.stringify(data).slice(0, 280));
  }
  return h("figure", { class: "card ds-item", dataset: { item: item.id, kind: item.kind } },
    body, h("figcaption", { class: "muted" }, item.id));
}

/** The paged preview. @param {string} name */
function preview(name) {
  const grid = h("div", { class: "grid ds-items", id: "ds-items" });
  const where = h("span", { class: "muted", id: "ds-page-where" });
  /** @type {(string | null)[]} the `after` of every page shown so far */
  const stack = [null];
  /** @type {string | null} */
  let next = null;
  const prev = h("button", { type: "button", id: "ds-prev", onclick: () => { stack.pop(); load(); } }, "← Previous");
  const more = h("button", { type: "button", id: "ds-next", onclick: () => { stack.push(next); load(); } }, "Next →");
  async function load() {
    const after = stack[stack.length - 1];
    const q = `limit=${PAGE}${after ? `&after=${enc(after)}` : ""}`;
    try {
      const page = await api(`/api/datasets/${enc(name)}/page?${q}`);
      next = page.next;
      replace(grid, page.items.length ? page.items.map(itemCard) : h("p", { class: "empty" }, "No item yet."));
      prev.disabled = stack.length < 2;
      more.disabled = !next;
      where.textContent = `page ${stack.length}`;
    } catch (err) {
      toast(message(err), "error", 0);
    }
  }
  load();
  return h("section", { class: "block", id: "ds-preview" },
    h("div", { class: "row" }, h("h2", null, "Items"), prev, where, more), grid);
}

/** The bad lines of one import, under its row. @param {string} name @param {string} file */
async function badLines(name, file) {
  const report = await api(`/api/datasets/${enc(name)}/import-reports/${enc(file)}`);
  return h("div", { class: "ds-report", dataset: { report: file } },
    h("table", { class: "data" },
      h("thead", null, h("tr", null, h("th", null, "Line"), h("th", null, "Why it was left out"))),
      h("tbody", null, report.lines.map((/** @type {any} */ l) =>
        h("tr", null, h("td", { class: "num" }, String(l.line ?? "–")), h("td", null, String(l.reason ?? l.error ?? JSON.stringify(l))))))),
    report.more ? h("p", { class: "muted" }, "The first 1,000 bad lines are shown.") : null);
}

/** @param {any} e an import history entry */
function outcomeWords(e) {
  const c = e.counts || {};
  if (e.state === "succeeded" && c.lines !== undefined) {
    return `${c.added} added of ${c.lines} lines` + (c.duplicates ? `, ${c.duplicates} already there` : "")
      + (c.invalid ? `, ${c.invalid} bad` : "") + (c.merged ? `, ${c.merged} merged` : "");
  }
  if (e.state === "succeeded") return "imported";
  if (e.state === "refused") return `refused (${e.error || "bad input"}): nothing was imported`;
  if (e.state === "failed") return `failed: ${e.error || "see the run"}`;
  return { queued: "waiting to run", running: "running" }[/** @type {string} */ (e.state)] || String(e.state);
}

/** The import history. @param {string} name */
async function importHistory(name) {
  const entries = await api(`/api/datasets/${enc(name)}/import-history`);
  const box = h("section", { class: "block", id: "ds-history" }, h("h2", null, "Imports"));
  if (!entries.length) {
    box.appendChild(h("p", { class: "empty" }, "No import recorded."));
    return box;
  }
  const body = h("tbody");
  for (const e of entries) {
    const cell = h("td");
    const row = h("tr", { dataset: { state: e.state, how: e.how } },
      h("td", null, when(e.at)), h("td", null, e.by || "–"),
      h("td", null, e.how === "run" ? `run ${e.run}` : e.batches > 1 ? `${e.how} (${e.batches} batches)` : e.how, e.source ? h("div", { class: "muted ds-source" }, e.source) : null),
      h("td", { class: `ds-outcome ${e.state}` }, outcomeWords(e)), cell);
    body.appendChild(row);
    if (e.report) {
      const detail = h("tr", { class: "ds-report-row", hidden: true }, h("td", { colspan: "5" }));
      cell.appendChild(h("button", {
        type: "button", class: "link ds-show-report",
        onclick: async () => {
          if (detail.hidden && !detail.firstElementChild?.childElementCount) {
            try {
              replace(/** @type {HTMLElement} */ (detail.firstElementChild), await badLines(name, e.report));
            } catch (err) {
              toast(message(err), "error", 0);
              return;
            }
          }
          detail.hidden = !detail.hidden;
        },
      }, "Bad lines"));
      body.appendChild(detail);
    } else if (e.errors && e.errors.length) {
      cell.appendChild(h("span", { class: "muted" }, e.errors.slice(0, 3).map((/** @type {any} */ x) => `line ${x.line}: ${x.reason}`).join("; ")));
    }
  }
  box.appendChild(h("table", { class: "data", id: "ds-history-table" },
    h("thead", null, h("tr", null, ["When", "By", "How", "Outcome", "Bad lines"].map((t) => h("th", null, t)))), body));
  return box;
}

/** A job from this dataset: the task types its items fit, then the new-job form. @param {any} ds */
function jobFrom(ds) {
  const types = h("select", { id: "ds-task-type", "aria-label": "task type" },
    ds.task_types.map((/** @type {string} */ t) => h("option", { value: t }, t)));
  return h("span", { class: "row" }, types, h("button", {
    type: "button", class: "primary", id: "ds-new-job",
    onclick: () => location.assign(`/console/new?dataset=${enc(ds.name)}&task_type=${enc(types.value)}`),
  }, "Create a job from this dataset"));
}

/** Where more files are added: the media drop zone, when this server has it. @param {string} name */
async function addFiles(name) {
  const box = h("section", { class: "block", id: "ds-add" }, h("h2", null, "Add media files"));
  try {
    const { mediaDropZone } = await import("./upload.js");
    const zone = mediaDropZone();
    box.append(zone.root, h("button", {
      type: "button", id: "ds-upload",
      onclick: async () => {
        try {
          await zone.upload(name);
          show(name);
        } catch (err) {
          toast(message(err), "error", 0);
        }
      },
    }, "Upload"));
    return box;
  } catch {
    return null;
  }
}

/** One dataset. @param {string} name */
async function show(name) {
  const ds = await api(`/api/datasets/${enc(name)}/overview`);
  const del = h("button", {
    type: "button", class: "danger", id: "ds-delete",
    onclick: async () => {
      if (!confirm(`Delete dataset ${name} and its ${ds.items} items? This cannot be undone.`)) return;
      try {
        await api(`/api/datasets/${enc(name)}`, { method: "DELETE" });
        toast(`Dataset ${name} was deleted.`, "ok");
        history.replaceState(null, "", "/console/datasets");
        main();
      } catch (err) {
        toast(message(err), "error", 0);
      }
    },
  }, "Delete");
  const facts = h("p", { id: "ds-facts" },
    `${ds.items.toLocaleString()} items · ${kindWords(ds.kinds, ds.sampled)}`
    + (ds.sampled && ds.sampled < ds.items ? ` (of ${ds.sampled} sampled)` : "")
    + ` · version ${ds.version} · created ${when(ds.created_at)}`);
  const jobs = ds.jobs.length
    ? h("p", { id: "ds-jobs" }, "Jobs reading it: ", ds.jobs.map((/** @type {string} */ j, /** @type {number} */ i) =>
      [i ? ", " : "", h("a", { href: `/console/jobs/${enc(j)}` }, j)]).flat())
    : h("p", { id: "ds-jobs", class: "muted" }, "No job reads it.");
  // Media files join a dataset of media (or an empty one), not one of inline texts.
  const holdsText = Object.keys(ds.kinds).includes("text");
  const [hist, add] = await Promise.all([importHistory(name), holdsText ? null : addFiles(name)]);
  replace(byId("app"), consoleNav("datasets"),
    h("p", null, h("a", { href: "/console/datasets" }, "← All datasets")),
    h("div", { class: "row" }, h("h1", { id: "ds-name" }, name), jobFrom(ds), del),
    facts, jobs, preview(name), add, hist);
}

/** Every dataset. */
async function list() {
  const datasets = await api("/api/datasets");
  const rows = datasets.map((/** @type {any} */ d) => {
    const kinds = h("td", { class: "ds-kinds muted" }, "…");
    api(`/api/datasets/${enc(d.name)}/overview`).then((o) => {
      kinds.textContent = kindWords(o.kinds, o.sampled);
      kinds.classList.remove("muted");
    }).catch(() => { kinds.textContent = "–"; });
    return h("tr", { dataset: { dataset: d.name } },
      h("td", null, h("a", { href: `/console/datasets?dataset=${enc(d.name)}` }, d.name)),
      h("td", { class: "num" }, d.items.toLocaleString()), kinds,
      h("td", { class: "num" }, String(d.version)), h("td", null, when(d.created_at)));
  });
  replace(byId("app"), consoleNav("datasets"), h("h1", null, "Datasets"),
    datasets.length
      ? h("table", { class: "data", id: "datasets" },
        h("thead", null, h("tr", null, ["Dataset", "Items", "Holds", "Version", "Created"].map((t) => h("th", null, t)))),
        h("tbody", null, rows))
      : h("p", { class: "empty" }, "No dataset yet. Make one with a new job, or import one with `truthset dataset import`."));
}

async function main() {
  const user = await me();
  topbar(user);
  if (!isStaff(user)) {
    replace(byId("app"), h("p", { class: "error" }, "The console is for requesters and admins."));
    return;
  }
  const name = new URLSearchParams(location.search).get("dataset");
  if (name) await show(name);
  else await list();
}

main().catch((err) => toast(message(err), "error", 0));
