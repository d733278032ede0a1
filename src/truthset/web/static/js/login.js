// @ts-check
/** The sign-in page. */
import { api, ApiError } from "./api.js";
import { h, byId, replace } from "./dom.js";
import { sitePath } from "./urls.js";

function nextUrl() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  // Only same-site paths: never send someone to another site after sign-in.
  return sitePath(next) ?? "/";
}

function render() {
  const error = h("p", { class: "error", id: "login-error", role: "alert" });
  const name = h("input", { id: "name", name: "name", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card login", id: "login-form" },
    h("h1", null, "Sign in"),
    h("label", { for: "name" }, "Name"), name,
    h("label", { for: "password" }, "Password"), password,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      await api("/api/auth/login", { body: { name: name.value, password: password.value }, noRedirect: true });
      location.assign(nextUrl());
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? "That name and password do not match an account."
        : `Could not sign in: ${err instanceof Error ? err.message : err}`;
    }
  });
  const providers = h("div", {
    class: "login-providers", id: "login-providers", style: { display: "flex", flexDirection: "column", gap: ".5rem" },
  });
  replace(byId("app"), form);
  form.append(providers);
  error.textContent = takeSsoError();
  name.focus();
  showProviders(providers);
}

/**
 * Why a sign-in through a provider was just refused: the server leaves it in a cookie for
 * this page (never in the URL, where anyone could write a message for it), read once.
 * @returns {string}
 */
function takeSsoError() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("truthset_sso_error="));
  if (!found) return "";
  document.cookie = "truthset_sso_error=; Max-Age=0; path=/login";
  try {
    const b64 = found.slice("truthset_sso_error=".length).replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (ch) => ch.charCodeAt(0));
    return `Signing in through your provider was refused: ${new TextDecoder().decode(bytes)}`;
  } catch {
    return "Signing in through your provider was refused.";
  }
}

/**
 * A "Sign in with <provider>" link per OIDC provider an admin has set up: the server
 * sends the browser to the provider and back, then on to `next`.
 * @param {HTMLElement} box
 */
async function showProviders(box) {
  /** @type {{name: string, display_name: string, start: string}[]} */
  let providers;
  try {
    providers = await api("/api/auth/oidc/providers", { noRedirect: true });
  } catch {
    return; // password sign-in still works without the list
  }
  const next = encodeURIComponent(nextUrl());
  for (const p of providers) {
    box.append(h("a", {
      class: "button", href: `${p.start}?next=${next}`, dataset: { provider: p.name },
      style: { justifyContent: "center" },
    }, `Sign in with ${p.display_name}`));
  }
}

render();
