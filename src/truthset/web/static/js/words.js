// @ts-check
/**
 * The words the pages use for the server's codes: a job's state and an item's (task's)
 * status as people say them. The code stays on the element (data-state / data-status, and
 * the state-<code> class) for styles and tests; people read the words.
 */

/** @type {Record<string, string>} */
const JOB_STATES = {
  initializing: "starting",
  in_progress: "in progress",
  stopping: "stopping: answers in flight",
  stopped: "stopped",
  completed: "completed",
  failed: "failed",
};

/** @type {Record<string, string>} */
const TASK_STATUSES = {
  pending: "waiting for its pre-annotation input",
  open: "waiting for answers",
  full: "all answers in, waiting for consolidation",
  complete: "labeled by people",
  auto: "labeled by the model",
  failed: "failed",
};

/** A job's state in words. @param {string} state */
export const jobStateWords = (state) => JOB_STATES[state] || state;

/** An item's status in words. @param {string} status */
export const taskStatusWords = (status) => TASK_STATUSES[status] || status;

/** Whether the job hands out tasks (or is about to). @param {any} job */
export const isRunning = (job) => job.state === "in_progress" || job.state === "initializing";

/** Whether the job may be resumed: it was stopped (a completed job has nothing to resume). @param {any} job */
export const canResume = (job) => job.state === "stopped" || job.state === "stopping";
