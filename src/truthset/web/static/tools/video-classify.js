// @ts-check
/**
 * Video classification: the clip plays in a <video> element (the media route answers
 * Range requests, so it streams and seeks without a download), and one label is picked.
 * Answer: {"label": "soccer"} (Ground Truth's video classification answer, as image
 * classification's). Number keys pick a label; Space / k play or pause; ← → seek 5 s;
 * , . step one frame back / forward (at 30 frames a second) while paused; [ ] slower / faster.
 */
import { h } from "../js/dom.js";
import { labelIndexFromKey } from "../js/store.js";
import { labelBar } from "../js/labelbar.js";
import { initialState as classifyInitialState } from "./classify.js";

const SPEEDS = [0.25, 0.5, 1, 1.5, 2];
const FRAME_SECONDS = 1 / 30;

/** @typedef {{chosen: string[]}} State */

/** A prediction given as a label (or {"label"}) starts chosen, as in classification. */
export const initialState = classifyInitialState;

/** @param {number} s */
function clock(s) {
  if (!isFinite(s)) return "0:00.0";
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(1).padStart(4, "0")}`;
}

/** @param {import("../js/types.js").ToolContext} ctx @returns {import("../js/types.js").Tool} */
export function create(ctx) {
  const { task, store } = ctx;
  /** @param {string} label */
  const pick = (label) => {
    store.update((/** @type {State} */ s) => {
      s.chosen = [label];
    });
    store.setActiveLabel(label);
  };
  const bar = labelBar(store, {
    onPick: pick,
    isOn: (label) => /** @type {State} */ (store.state).chosen.includes(label),
    title: "Label (pick one)",
    shortNames: ctx.shortNames,
  });
  ctx.side.appendChild(bar.el);

  const video = /** @type {HTMLVideoElement} */ (h("video", {
    id: "video", class: "video-clip", src: task.item.media_url || "", preload: "auto",
    controls: true, playsinline: true,
  }));
  const playBtn = h("button", { type: "button", id: "play", onclick: () => toggle() }, "▶ Play");
  const time = h("span", { class: "muted", id: "video-time" }, "0:00.0");
  const speed = /** @type {HTMLSelectElement} */ (h("select", {
    id: "speed", "aria-label": "speed", onchange: () => (video.playbackRate = Number(speed.value)),
  }, SPEEDS.map((s) => h("option", { value: String(s), selected: s === 1 }, `${s}×`))));
  const problemNote = h("p", { class: "muted", id: "video-problem", hidden: true });
  ctx.root.appendChild(h("div", { class: "video-classify" }, video,
    h("div", { class: "row" }, playBtn,
      h("button", { type: "button", title: "back 5 s (←)", onclick: () => seekBy(-5) }, "−5 s"),
      h("button", { type: "button", title: "forward 5 s (→)", onclick: () => seekBy(5) }, "+5 s"),
      speed, time),
    problemNote));

  const toggle = () => (video.paused ? video.play().catch(() => {}) : video.pause());
  /** @param {number} dt */
  const seekBy = (dt) => {
    const end = isFinite(video.duration) ? video.duration : Infinity;
    video.currentTime = Math.min(end, Math.max(0, video.currentTime + dt));
  };
  /** @param {number} by */
  const changeSpeed = (by) => {
    const i = Math.min(SPEEDS.length - 1, Math.max(0, SPEEDS.indexOf(video.playbackRate) + by));
    video.playbackRate = SPEEDS[i];
    speed.value = String(SPEEDS[i]);
  };
  const update = () => {
    playBtn.textContent = video.paused ? "▶ Play" : "❚❚ Pause";
    time.textContent = `${clock(video.currentTime)} / ${clock(video.duration || 0)}`;
  };
  for (const ev of ["play", "pause", "timeupdate", "loadedmetadata", "seeked", "ratechange"]) video.addEventListener(ev, update);
  video.addEventListener("error", () => {
    problemNote.hidden = false;
    problemNote.textContent = "This browser cannot play the video (its format or codec); it can still be labeled from what the page says, or declined.";
  });

  return {
    answer() {
      return { label: /** @type {State} */ (store.state).chosen[0] };
    },
    problem() {
      return /** @type {State} */ (store.state).chosen.length === 1 ? null : "Pick a label first (number keys 1–9).";
    },
    onKey(e) {
      if (e.metaKey || e.altKey || e.ctrlKey) return false;
      const i = labelIndexFromKey(e);
      if (i >= 0 && i < task.labels.length) {
        pick(task.labels[i]);
        return true;
      }
      if (e.key === " " || e.key === "k") toggle();
      else if (e.key === "ArrowLeft") seekBy(-5);
      else if (e.key === "ArrowRight") seekBy(5);
      else if (e.key === "," && video.paused) seekBy(-FRAME_SECONDS);
      else if (e.key === "." && video.paused) seekBy(FRAME_SECONDS);
      else if (e.key === "[") changeSpeed(-1);
      else if (e.key === "]") changeSpeed(1);
      else return false;
      return true;
    },
    shortcuts: [
      ["1–9, 0", "pick a label"], ["Space / k", "play / pause"], ["← →", "seek 5 s"],
      [", .", "one frame back / forward (paused)"], ["[ ]", "slower / faster"],
    ],
    destroy() {
      video.pause();
      video.removeAttribute("src");
      video.load();
    },
  };
}
