// A live feed: one websocket; the whole picture first, then JSON merge patches (RFC 7386).
// Times arrive as moments; the page counts durations against the server's clock.
"use strict";

let serverOffset = 0; // server time minus this browser's time, in seconds

function serverNow() {
  return Date.now() / 1000 + serverOffset;
}

function since(moment) {
  return moment === undefined ? "—" : duration(serverNow() - moment);
}

function merge(doc, patch) {
  const out = { ...doc };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (typeof value === "object" && !Array.isArray(value)
      && typeof out[key] === "object" && out[key] !== null) out[key] = merge(out[key], value);
    else out[key] = value;
  }
  return out;
}

// Calls show(picture) on each message; reconnects, or goes to the login once signed out.
function follow(path, show) {
  const status = document.getElementById("status");
  let picture = null;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}${path}`);
  ws.addEventListener("open", () => { status.dataset.t = "connected"; status.textContent = t("connected"); });
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    serverOffset = message.now - Date.now() / 1000;
    picture = message.type === "snapshot" ? message.board : merge(picture, message.patch);
    show(picture);
  });
  ws.addEventListener("close", async () => {
    status.dataset.t = "reconnecting";
    status.textContent = t("reconnecting");
    if ((await whoami().catch(() => undefined)) === null) location.assign("/console/login.html");
    else setTimeout(() => follow(path, show), 2000);
  });
}
