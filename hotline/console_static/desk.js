// The agent's desk: their state and current call (live), the state buttons, and during a
// call the consult's (expert queue, complete, three-way, cancel, work order after no expert),
// which use the API's POST /agents/<own 工号>/<command> with the session's CSRF token.
"use strict";

let desk = null;
let me = null;

function render() {
  if (desk === null) return;
  document.getElementById("agent").textContent = desk.agent;
  const state = document.getElementById("state");
  state.textContent = t(desk.state);
  state.className = `figure state-${desk.state}`;
  document.getElementById("in-state").textContent = since(desk.since);
  document.getElementById("reason").textContent = reasonText(desk.reason) || "—";
  const signedOut = desk.state === "logged_out";
  document.getElementById("do-login").disabled = !signedOut;
  for (const id of ["do-ready", "do-pause", "do-logout"]) {
    document.getElementById(id).disabled = signedOut;
  }
  const select = document.getElementById("pause-reason");
  const wanted = desk.pause_reasons.join(",");
  if (select.dataset.reasons !== wanted || select.dataset.lang !== lang()) {
    const chosen = select.value;
    select.replaceChildren(...desk.pause_reasons.map((r) => new Option(reasonText(r), r)));
    if (desk.pause_reasons.includes(chosen)) select.value = chosen;
    select.dataset.reasons = wanted;
    select.dataset.lang = lang();
  }
  const experts = document.getElementById("expert-queue");
  const queues = (desk.expert_queues || []).join(",");
  if (experts.dataset.queues !== queues) {
    experts.replaceChildren(...(desk.expert_queues || []).map((q) => new Option(q, q)));
    experts.dataset.queues = queues;
  }
  for (const id of CONSULT_BUTTONS) document.getElementById(id).disabled = !desk.call;
  const call = desk.call;
  document.getElementById("call-caller").textContent = call ? maskId(call.caller) : t("no_call");
  document.getElementById("call-queue").textContent = call ? call.queue : "—";
  document.getElementById("call-time").textContent = call ? since(call.since) : "—";
}

const CONSULT_BUTTONS = ["do-consult", "do-complete", "do-three-way", "do-cancel", "do-work-order"];

async function command(name, reason, queue) {
  const error = document.getElementById("error");
  error.textContent = "";
  let query = reason ? `?reason=${encodeURIComponent(reason)}` : "";
  if (queue) query = `?queue=${encodeURIComponent(queue)}`;
  const resp = await fetch(`/agents/${encodeURIComponent(me.agent)}/${name}${query}`, {
    method: "POST", headers: { "X-CSRF-Token": me.csrf_token },
  });
  if (!resp.ok) error.textContent = t("refused");
}

document.addEventListener("DOMContentLoaded", async () => {
  me = await shell("agent");
  if (me === null) return;
  document.getElementById("do-login").addEventListener("click", () => command("login"));
  document.getElementById("do-ready").addEventListener("click", () => command("ready"));
  document.getElementById("do-logout").addEventListener("click", () => command("logout"));
  document.getElementById("do-pause").addEventListener("click",
    () => command("pause", document.getElementById("pause-reason").value));
  document.getElementById("do-consult").addEventListener("click",
    () => command("consult", "", document.getElementById("expert-queue").value));
  for (const [id, name] of [["do-complete", "complete"], ["do-three-way", "three-way"],
    ["do-cancel", "cancel"], ["do-work-order", "work-order"]]) {
    document.getElementById(id).addEventListener("click", () => command(name));
  }
  document.addEventListener("languagechange", render);
  follow("/console/desk/live", (picture) => { desk = picture; render(); });
  setInterval(render, 1000);
});
