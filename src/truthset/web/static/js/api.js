// @ts-check
/** The JSON API client: CSRF header on writes, errors as ApiError, 401 sends you to sign in. */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} kind the API's error kind ("bad_input", "gone", "network"...)
   * @param {unknown} detail the API's detail
   */
  constructor(status, kind, detail) {
    super(describeDetail(detail) || kind);
    this.status = status;
    this.kind = kind;
    this.detail = detail;
  }
  /** True when the request never got an answer (offline, server down, timeout). */
  get isNetwork() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

/** How many problems of a list a message names before "and N more". */
const PROBLEMS_SHOWN = 5;

/**
 * A readable sentence from an API error detail, never raw JSON: a string as it is; a list
 * of field problems as "field: message (given: value)"; an import's report
 * ({message, errors: [{line, reason}]}) as its message and the first lines' reasons.
 * @param {unknown} detail
 * @returns {string}
 */
export function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return problems(detail);
  if (detail && typeof detail === "object") {
    const d = /** @type {Record<string, unknown>} */ (detail);
    const head = typeof d.message === "string" ? d.message : typeof d.detail === "string" ? d.detail : "";
    const list = Array.isArray(d.errors) ? d.errors : Array.isArray(d.problems) ? d.problems : null;
    if (list && list.length) return head ? `${head}: ${problems(list)}` : problems(list);
    if (head) return head;
    return Object.entries(d)
      .map(([k, v]) => `${k}: ${v !== null && typeof v === "object" ? describeDetail(v) : String(v)}`)
      .join("; ");
  }
  return "";
}

/** @param {unknown[]} list */
function problems(list) {
  const shown = list.slice(0, PROBLEMS_SHOWN).map(problem);
  if (list.length > PROBLEMS_SHOWN) shown.push(`and ${list.length - PROBLEMS_SHOWN} more`);
  return shown.join("; ");
}

/** One problem: where (a field, a line), what, and the value given. @param {unknown} p */
function problem(p) {
  if (!p || typeof p !== "object") return String(p);
  const d = /** @type {Record<string, unknown>} */ (p);
  const where = d.field ? String(d.field) : d.line !== undefined && d.line !== null ? `line ${d.line}` : "";
  const what = String(d.message ?? d.reason ?? d.error ?? "");
  const given = d.value !== undefined && (d.value === null || typeof d.value !== "object") ? ` (given: ${JSON.stringify(d.value)})` : "";
  return `${where ? `${where}: ` : ""}${what}${given}`;
}

/**
 * @typedef {{method?: string, body?: unknown, form?: FormData, timeout?: number,
 *   keepalive?: boolean, noRedirect?: boolean}} RequestOptions
 */

/**
 * Call the API. Resolves with the parsed JSON (null for 204), rejects with ApiError.
 * @param {string} path e.g. "/api/jobs"
 * @param {RequestOptions} [opts]
 * @returns {Promise<any>}
 */
export async function api(path, opts = {}) {
  const method = opts.method || (opts.body !== undefined || opts.form ? "POST" : "GET");
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-Truthset-CSRF"] = "1";
  /** @type {BodyInit | undefined} */
  let body;
  if (opts.form) body = opts.form;
  else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const ctrl = new AbortController();
  const timer = opts.timeout ? setTimeout(() => ctrl.abort(), opts.timeout) : 0;
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, {
      method, headers, body, credentials: "same-origin", signal: ctrl.signal,
      keepalive: opts.keepalive || false,
    });
  } catch (err) {
    throw new ApiError(0, "network", "the server could not be reached");
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (res.status === 204) return null;
  /** @type {any} */
  let data = null;
  const text = await res.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: "error", detail: text.slice(0, 200) };
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.noRedirect) toLogin();
    throw new ApiError(res.status, (data && data.error) || "error", data && data.detail);
  }
  return data;
}

/** Set once signing out has begun: a request of this page that is still in flight then
 * gets a 401, and its redirect to the sign-in page must not race the sign-out's own. */
let signingOut = false;

/**
 * End the session and go to the sign-in page; a session made by an identity provider
 * that offers it goes by the provider's sign-out first, which sends the browser back.
 */
export async function signOut() {
  signingOut = true;
  const res = await fetch("/api/auth/logout", { method: "POST", headers: { "X-Truthset-CSRF": "1" } });
  /** @type {string | null} */
  let redirect = null;
  if (res.status === 200) {
    try {
      const body = await res.json();
      if (body && typeof body.redirect === "string" && /^https?:\/\//.test(body.redirect)) redirect = body.redirect;
    } catch {
      redirect = null;
    }
  }
  location.assign(redirect || "/login");
}

/** Go to the sign-in page, coming back here afterwards. */
export function toLogin() {
  if (signingOut) return;
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

/** @type {Promise<any> | null} */
let mePromise = null;
/** The signed-in user (cached for the page). @returns {Promise<{id:number,name:string,role:string,teams:string[]}>} */
export function me() {
  if (!mePromise) mePromise = api("/api/me");
  return mePromise;
}

/** @param {{role: string}} user */
export function isStaff(user) {
  return user.role === "admin" || user.role === "requester";
}

/** @param {string} s */
export const enc = (s) => encodeURIComponent(s);
