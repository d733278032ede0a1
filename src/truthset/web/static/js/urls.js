// @ts-check
/** Which URLs stay on this site. */

/**
 * `value` if it is a path on this server, else null. Browsers read "/\host", "/\t/host"
 * and "//host" as another host (they treat "\" as "/" and drop tabs and newlines), so a
 * path must start with exactly one "/", be followed by neither "/" nor "\", hold no control
 * character, and still resolve to this origin.
 * @param {string} value an already percent-decoded path (URLSearchParams decodes)
 * @returns {string | null}
 */
export function sitePath(value) {
  if (!value.startsWith("/") || value[1] === "/" || value[1] === "\\") return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return null;
  try {
    return new URL(value, location.origin).origin === location.origin ? value : null;
  } catch {
    return null;
  }
}
