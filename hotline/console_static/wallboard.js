// The wallboard: the board over its live feed (feed.js), redrawn each second for the times.
"use strict";

let board = null;
let me = null;
let supervising = null; // the agent whose conversation this supervisor listens to now

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
    const actions = row.insertCell();
    const buttons = a.state === "logged_out" ? [] : ["force_pause", "force_logout"];
    if (a.state === "talking") buttons.unshift("listen", "whisper", "barge");
    if (supervising === number) buttons.unshift("stop_listening");
    for (const action of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = action;
      button.textContent = t(action);
      actions.append(button);
    }
  }
  renderToCallBack();
}


// Each button is audited by the server: forced states as agent.forced, supervision as
// supervision.start/switch/stop (listen, whisper and barge ring the supervisor's desk phone).
async function act(agent, action) {
  const message = document.getElementById("message");
  const path = {
    force_pause: ["POST", `/agents/${agent}/pause`],
    force_logout: ["POST", `/agents/${agent}/logout`],
    stop_listening: ["DELETE", `/supervision/${agent}`],
  }[action] || ["POST", `/supervision/${agent}/${action}`];
  const resp = await fetch(path[1], { method: path[0], headers: { "X-CSRF-Token": me.csrf_token } });
  const body = await resp.json().catch(() => ({}));
  if (action === "stop_listening") supervising = null; // ended either way (or already)
  if (!resp.ok) {
    message.textContent = `${t("refused")}: ${body.error_id || resp.status}`;
    return;
  }
  if (path[0] === "POST" && path[1].startsWith("/supervision/")) supervising = agent;
  message.textContent = ["listen", "whisper", "barge"].includes(action) ? t("ringing_your_phone") : "";
  render();
}

document.addEventListener("DOMContentLoaded", async () => {
  me = await shell("supervisor");
  if (me === null) return;
  document.querySelector("#agents tbody").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) act(button.closest("tr").dataset.agent, button.dataset.action);
  });
  document.addEventListener("languagechange", render);
  follow("/console/wallboard/live", (picture) => { board = picture; render(); });
  setInterval(render, 1000); // the waits and times in state go on between messages
});

// --- Today's callers to call back: who hung up waiting, whose callback failed (newest
// first). Numbers come masked; "show" asks for one whole (GET /console/wallboard/number,
// written to the audit log), kept on this page only.
Object.assign(WORDS.zh, {
  to_call_back: "今日待回访", when: "时间", why: "原因", reveal: "显示号码",
  why_abandoned: "排队放弃", why_callback_failed: "回拨未接通",
});
Object.assign(WORDS.en, {
  to_call_back: "To call back today", when: "When", why: "Why", reveal: "Show number",
  why_abandoned: "Hung up waiting", why_callback_failed: "Callback failed",
});

const revealed = new Map(); // call id -> the whole number, once asked for

let shownToCallBack = ""; // what the table shows: rebuilt only when it changed (its buttons)

function renderToCallBack() {
  document.getElementById("to-call-back-count").textContent = board.to_call_back_count ?? 0;
  const shown = JSON.stringify([board.to_call_back, [...revealed], lang()]);
  if (shown === shownToCallBack) return;
  shownToCallBack = shown;
  const body = document.querySelector("#to-call-back tbody");
  body.replaceChildren();
  for (const entry of board.to_call_back ?? []) {
    const row = body.insertRow();
    row.dataset.call = entry.id;
    cell(row, new Date(entry.at * 1000).toLocaleTimeString(lang() === "en" ? "en-GB" : "zh-CN"));
    cell(row, revealed.get(entry.id) ?? entry.number, "number");
    cell(row, entry.queue);
    cell(row, t(`why_${entry.why}`));
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t("reveal");
    button.disabled = revealed.has(entry.id);
    button.addEventListener("click", () => revealNumber(entry.id));
    row.insertCell().append(button);
  }
}

async function revealNumber(id) {
  const resp = await fetch(`/console/wallboard/number?call=${encodeURIComponent(id)}`);
  if (!resp.ok) return;
  revealed.set(id, (await resp.json()).number);
  render();
}
