// The wallboard: one websocket; the whole board first, then JSON merge patches (RFC 7386).
// Times arrive as moments; durations are counted here against the server's clock.
"use strict";

let board = null;
let offset = 0; // server time minus this browser's time, in seconds

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

function now() {
  return Date.now() / 1000 + offset;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function since(moment) {
  return moment === undefined ? "—" : duration(now() - moment);
}

function render() {
  if (board === null) return;
  const queues = Object.entries(board.queues);
  const oldest = queues.map(([, q]) => q.longest_since).filter((s) => s !== undefined);
  const today = board.today;
  document.getElementById("total-waiting").textContent = today.waiting;
  document.getElementById("total-longest").textContent = oldest.length ? since(Math.min(...oldest)) : "—";
  document.getElementById("total-callbacks").textContent = today.callbacks;
  for (const key of ["offered", "answered", "abandoned"]) {
    document.getElementById(`total-${key}`).textContent = today[key];
  }
  document.getElementById("total-service_level").textContent = percent(today.service_level);
  document.getElementById("total-asa").textContent = today.asa === undefined ? "—" : duration(today.asa);
  for (const [state, count] of Object.entries(board.states)) {
    document.getElementById(`state-${state}`).textContent = count;
  }
  const qbody = document.querySelector("#queues tbody");
  qbody.replaceChildren();
  for (const [name, q] of queues) {
    const row = qbody.insertRow();
    row.dataset.queue = name;
    cell(row, name);
    cell(row, q.waiting, "waiting");
    cell(row, since(q.longest_since), q.longest_since !== undefined && now() - q.longest_since > 60 ? "late" : "");
    cell(row, q.callbacks);
    cell(row, q.offered);
    cell(row, q.answered);
    cell(row, q.abandoned);
    cell(row, percent(q.answer_rate));
    cell(row, percent(q.service_level));
    cell(row, q.asa === undefined ? "—" : duration(q.asa));
  }
  const abody = document.querySelector("#agents tbody");
  abody.replaceChildren();
  for (const [number, a] of Object.entries(board.agents)) {
    const row = abody.insertRow();
    row.dataset.agent = number;
    cell(row, number);
    cell(row, t(a.state), `state-${a.state}`);
    cell(row, a.reason ?? "");
    cell(row, since(a.since));
  }
}

function connect() {
  const status = document.getElementById("status");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/console/wallboard/live`);
  ws.addEventListener("open", () => { status.dataset.t = "connected"; status.textContent = t("connected"); });
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    offset = message.now - Date.now() / 1000;
    board = message.type === "snapshot" ? message.board : merge(board, message.patch);
    render();
  });
  ws.addEventListener("close", async () => {
    status.dataset.t = "reconnecting";
    status.textContent = t("reconnecting");
    if ((await whoami().catch(() => undefined)) === null) location.assign("/console/login.html");
    else setTimeout(connect, 2000);
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  if ((await shell("supervisor")) === null) return;
  document.addEventListener("languagechange", render);
  connect();
  setInterval(render, 1000); // the waits and times in state go on between messages
});
