// @ts-check
/** The workers who answered: answers, time, agreement, skill, gold accuracy, blocked or not. */
import { h, formatDuration } from "../dom.js";
import { num } from "./common.js";

/** @param {any[]} workers */
export function workersPanel(workers) {
  return h("section", { class: "block" }, h("h2", null, "Workers"),
    workers.length ? h("table", { class: "data", id: "workers" },
      h("thead", null, h("tr", null, ["Worker", "Answers", "Time", "Mean time", "Agreement", "Skill", "Gold accuracy", ""].map((t) => h("th", null, t)))),
      h("tbody", null, workers.map((w) => h("tr", { dataset: { worker: w.worker } },
        h("td", null, w.worker),
        h("td", { class: "num" }, String(w.answers)),
        h("td", { class: "num" }, formatDuration(w.time_spent)),
        h("td", { class: "num" }, w.mean_time === null ? "–" : `${num(w.mean_time, 1)} s`),
        h("td", { class: "num" }, w.agreement === null || w.agreement === undefined ? "–" : `${Math.round(w.agreement * 100)}%`),
        h("td", { class: "num" }, num(w.skill)),
        h("td", { class: "num" }, w.gold_accuracy === null ? "–" : `${Math.round(w.gold_accuracy * 100)}% of ${w.gold_answers}`),
        h("td", null, w.blocked ? h("span", { class: "pill state-failed" }, "blocked") : "")))))
      : h("p", { class: "muted" }, "No answers yet."));
}
