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
  replace(byId("app"), form);
  name.focus();
}

render();
