// The login page: POST /session as JSON; the cookie is set by the answer (HttpOnly).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  translate();
  document.getElementById("language").addEventListener("click", switchLanguage);
  const form = document.getElementById("login");
  const error = document.getElementById("error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = { name: form.name.value, password: form.password.value };
    const resp = await fetch("/session", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (resp.ok) {
      location.assign("/console/");
      return;
    }
    form.password.value = "";
    error.dataset.t = resp.status === 429 ? "too_many"
      : resp.status === 401 ? "login_failed" : "unavailable";
    error.textContent = t(error.dataset.t);
  });
});
