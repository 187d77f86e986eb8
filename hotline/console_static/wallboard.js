// The wallboard: the board over its live feed (feed.js), redrawn each second for the times.
"use strict";

let board = null;

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
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
    cell(row, since(q.longest_since), q.longest_since !== undefined && serverNow() - q.longest_since > 60 ? "late" : "");
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
    cell(row, reasonText(a.reason));
    cell(row, since(a.since));
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  if ((await shell("supervisor")) === null) return;
  document.addEventListener("languagechange", render);
  follow("/console/wallboard/live", (picture) => { board = picture; render(); });
  setInterval(render, 1000); // the waits and times in state go on between messages
});
