// The shell: the anonymous go to the login, others to the first page their roles open.
"use strict";

const PAGES = [
  ["supervisor", "/console/wallboard.html"],
  ["auditor", "/console/report.html"],
  ["agent", "/console/desk.html"],
  ["ops", "/console/ops.html"],
  ["office", "/console/office.html"],
];

document.addEventListener("DOMContentLoaded", async () => {
  translate();
  const me = await whoami();
  if (me === null) {
    location.replace("/console/login.html");
    return;
  }
  const page = PAGES.find(([role]) => me.roles.includes(role));
  if (page) location.replace(page[1]);
  else document.getElementById("message").textContent = t("no_page");
});
