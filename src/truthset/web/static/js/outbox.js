// @ts-check
/**
 * Answers not yet acknowledged by the server, kept in localStorage so that a reload, a
 * crash or a dropped connection loses nothing. Each entry carries its client_key: the
 * server's submit is idempotent on it, so sending an entry twice records one answer.
 */
import { api, ApiError, describeDetail } from "./api.js";

/**
 * @typedef {{client_key: string, assignment_id: number, job: string, item: string,
 *   answer: any, time_spent: number, queued_at: number}} OutboxEntry
 * @typedef {{kind: "ok" | "invalid" | "gone" | "conflict" | "network", message: string,
 *   result?: any}} SendResult
 */

export class Outbox {
  /** @param {string} user */
  constructor(user) {
    this.key = `truthset:${user}:outbox`;
  }

  /** @returns {OutboxEntry[]} */
  all() {
    try {
      const v = JSON.parse(localStorage.getItem(this.key) || "[]");
      return Array.isArray(v) ? v : [];
    } catch {
      return [];
    }
  }

  /** @param {OutboxEntry[]} list */
  save(list) {
    localStorage.setItem(this.key, JSON.stringify(list));
  }

  /** @param {OutboxEntry} entry */
  put(entry) {
    const list = this.all().filter((e) => e.client_key !== entry.client_key);
    list.push(entry);
    this.save(list);
  }

  /** @param {string} clientKey */
  remove(clientKey) {
    this.save(this.all().filter((e) => e.client_key !== clientKey));
  }

  /** @param {number} assignmentId */
  has(assignmentId) {
    return this.all().some((e) => e.assignment_id === assignmentId);
  }
}

/**
 * Send one entry and classify the outcome.
 * @param {OutboxEntry} entry
 * @param {number} timeout ms
 * @returns {Promise<SendResult>}
 */
export async function sendEntry(entry, timeout) {
  try {
    const result = await api(`/api/assignments/${entry.assignment_id}/submit`, {
      body: { answer: entry.answer, client_key: entry.client_key, time_spent: Math.round(entry.time_spent * 10) / 10 },
      timeout,
    });
    return { kind: "ok", message: "", result };
  } catch (err) {
    if (!(err instanceof ApiError)) return { kind: "network", message: String(err) };
    if (err.isNetwork || err.status >= 500 || err.status === 429) {
      return { kind: "network", message: "the server could not be reached" };
    }
    const message = describeDetail(err.detail) || err.kind;
    if (err.status === 410) return { kind: "gone", message };
    if (err.status === 409 || err.status === 404) return { kind: "conflict", message };
    return { kind: "invalid", message };
  }
}
