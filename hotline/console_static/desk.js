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
  const call = desk.call;
  // An expert consulted talks with the agent who asked, who alone leads the call (the API
  // refuses these to the expert: expert_in_consult).
  for (const id of CONSULT_BUTTONS) document.getElementById(id).disabled = !call || call.consulted;
  document.getElementById("do-file-order").disabled = Boolean(call && call.consulted);
  document.getElementById("call-caller").textContent = call ? maskId(call.caller) : t("no_call");
  document.getElementById("call-queue").textContent = call ? call.queue : "—";
  document.getElementById("call-time").textContent = call ? since(call.since) : "—";
  followDeskCall();
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

// The owner's call-back of a work order: the desk phone rings first, then the citizen.
async function callBack() {
  const error = document.getElementById("error");
  error.textContent = "";
  const number = document.getElementById("order-number").value.trim();
  const resp = await fetch(`/work-orders/${encodeURIComponent(number)}/call`, {
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
  document.getElementById("do-call-back").addEventListener("click", callBack);
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
  startDeskCall();
  startMyWorkOrders();
  startOrderForm();
});

// --- The call on the desk (GET /console/desk/call): shown when the agent answers, kept
// through after-call work until the next call; the wrap-up topic (POST /console/desk/topic).
Object.assign(WORDS.zh, {
  verified_id: "已核验身份证号", not_verified: "未核验", queue_wait: "排队等待",
  ivr_path: "语音导航路径", wrap_up_topic: "话题分类", save_topic: "保存话题", saved: "已保存",
  choose_topic: "请选择…", history: "近30天来电记录", when: "时间", kind: "类型",
  detail: "详情", outcome: "结果", due: "期限", no_history: "近30天无记录",
  history_unavailable: "记录暂不可用", kind_calls: "来电", kind_voice_messages: "留言",
  kind_callbacks: "回拨", kind_work_orders: "工单",
  my_work_orders: "我的待办工单（含留言）", order_number: "工单号",
});
Object.assign(WORDS.en, {
  verified_id: "Verified ID", not_verified: "Not verified", queue_wait: "Wait in queue",
  ivr_path: "Menu path", wrap_up_topic: "Wrap-up topic", save_topic: "Save topic",
  saved: "Saved", choose_topic: "Choose…", history: "Last 30 days", when: "When",
  kind: "Type", detail: "Detail", outcome: "Outcome", due: "Due", no_history: "Nothing in 30 days",
  history_unavailable: "History unavailable", kind_calls: "Call",
  kind_voice_messages: "Voice message", kind_callbacks: "Callback", kind_work_orders: "Work order",
  my_work_orders: "My open work orders (voice messages too)", order_number: "Order",
});

let deskCall = null; // the last answer of GET /console/desk/call
let deskCallKey = null; // which call it was fetched for (queue and answer time)

function startDeskCall() {
  document.getElementById("do-topic").addEventListener("click", saveTopic);
  document.addEventListener("languagechange", renderDeskCall);
  loadDeskCall(); // a page opened in after-call work shows the call just taken
}

// A new call on the desk (or the same one put through after the whisper): fetch its context.
function followDeskCall() {
  const call = desk === null ? undefined : desk.call;
  const key = call ? `${call.queue}|${call.since ?? ""}` : null;
  if (key === null || key === deskCallKey) return;
  deskCallKey = key;
  loadDeskCall();
}

async function loadDeskCall() {
  const resp = await fetch("/console/desk/call", { credentials: "same-origin" });
  if (!resp.ok) return; // 404: no call yet
  deskCall = await resp.json();
  document.getElementById("topic-saved").textContent = "";
  document.getElementById("order-filed").textContent = "";
  renderDeskCall();
  loadOrderForm();
}

function localTime(iso) {
  return iso ? new Date(iso).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN") : "—";
}

function renderDeskCall() {
  const section = document.getElementById("context");
  section.hidden = deskCall === null;
  if (deskCall === null) return;
  const c = deskCall.call;
  document.getElementById("ctx-caller").textContent = c.caller;
  document.getElementById("ctx-id").textContent = c.verified_id ?? t("not_verified");
  document.getElementById("ctx-wait").textContent =
    c.wait_seconds === undefined ? "—" : duration(c.wait_seconds);
  document.getElementById("ctx-path").textContent = c.ivr_path.length ? c.ivr_path.join(" → ") : "—";
  const select = document.getElementById("topic");
  const chosen = select.value || c.topic || "";
  select.replaceChildren(new Option(t("choose_topic"), ""),
    ...deskCall.topics.map((topic) => new Option(topic[lang()] || topic.zh, topic.code)));
  select.value = chosen;
  renderHistory(deskCall.history);
}

function renderHistory(history) {
  const body = document.querySelector("#history tbody");
  body.replaceChildren();
  document.getElementById("history-error").textContent = history === null ? t("history_unavailable") : "";
  if (history === null) return;
  const rows = [];
  for (const kind of ["calls", "voice_messages", "callbacks", "work_orders"]) {
    for (const item of history[kind]) rows.push({ kind, ...item });
  }
  rows.sort((a, b) => (a.at < b.at ? 1 : -1));
  for (const item of rows) {
    const row = body.insertRow();
    row.dataset.kind = item.kind;
    for (const text of [localTime(item.at), t(`kind_${item.kind}`), item.number ?? item.queue ?? "",
      item.outcome ?? item.status ?? "", item.due ? localTime(item.due) : ""]) {
      row.insertCell().textContent = text;
    }
  }
  if (!rows.length) body.insertRow().insertCell().textContent = t("no_history");
}

async function saveTopic() {
  const code = document.getElementById("topic").value;
  const saved = document.getElementById("topic-saved");
  if (!code) return;
  const resp = await fetch("/console/desk/topic", {
    method: "POST",
    headers: { "X-CSRF-Token": me.csrf_token, "Content-Type": "application/json" },
    body: JSON.stringify({ topic: code }),
  });
  saved.textContent = resp.ok ? t("saved") : t("refused");
  if (resp.ok && deskCall !== null) deskCall.call.topic = code;
}

// --- The agent's own open work orders, voice messages among them (GET /work-orders: an
// agent is given only the orders they own), soonest due first; refreshed every minute.
function startMyWorkOrders() {
  loadMyWorkOrders();
  setInterval(loadMyWorkOrders, 60000);
}

async function loadMyWorkOrders() {
  const resp = await fetch(`/work-orders?open=1&owner=${encodeURIComponent(me.agent)}`);
  if (!resp.ok) return;
  const body = document.querySelector("#work-orders tbody");
  body.replaceChildren();
  for (const order of (await resp.json()).work_orders) {
    const row = body.insertRow();
    row.dataset.order = order.number;
    for (const text of [order.number, order.type, order.status, localTime(order.due_at)]) {
      row.insertCell().textContent = text;
    }
    if (new Date(order.due_at) < new Date()) row.cells[3].className = "late";
  }
}

// --- A work order on the desk call (POST /console/desk/work-order): the question, line,
// type, office and a callback number (the caller's by default); the call, the caller's
// number and the verified ID are the server's. One order per call.
Object.assign(WORDS.zh, {
  file_work_order: "建工单（本次来电）", question: "问题", line: "业务", order_type: "类型",
  office: "承办科室", callback_number: "回电号码", file_order: "提交工单",
  callback_default: "默认来电号码", order_filed: "已建工单", no_office: "暂不指定",
  type_standard: "一般（5个工作日）", type_complex: "复杂（15个工作日）",
  type_labour_inspection: "劳动保障监察举报（60个工作日）",
  call_has_work_order: "本次来电已建工单", bad_question: "请填写问题",
  bad_callback_number: "回电号码应为3至20位数字",
});
Object.assign(WORDS.en, {
  file_work_order: "Work order for this call", question: "Question", line: "Line of business",
  order_type: "Type", office: "Office", callback_number: "Callback number",
  file_order: "File order", callback_default: "The caller's number", order_filed: "Order filed",
  no_office: "Not yet", type_standard: "Standard (5 working days)",
  type_complex: "Complex (15 working days)",
  type_labour_inspection: "Labour inspection report (60 working days)",
  call_has_work_order: "This call has an order already", bad_question: "Write the question",
  bad_callback_number: "A callback number is 3 to 20 digits",
});

let orderChoices = null; // GET /console/desk/work-order: lines, types, offices

function startOrderForm() {
  document.getElementById("order-form").addEventListener("submit", fileOrder);
  document.addEventListener("languagechange", renderOrderForm);
}

async function loadOrderForm() {
  const resp = await fetch("/console/desk/work-order", { credentials: "same-origin" });
  if (!resp.ok) return;
  orderChoices = await resp.json();
  renderOrderForm();
}

function fillSelect(id, options, keep) {
  const select = document.getElementById(id);
  const chosen = keep && select.value ? select.value : null;
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  if (chosen !== null && options.some(([value]) => value === chosen)) select.value = chosen;
}

function renderOrderForm() {
  if (orderChoices === null) return;
  fillSelect("order-line", orderChoices.lines.map((l) => [l, l]), false);
  if (orderChoices.line) document.getElementById("order-line").value = orderChoices.line;
  fillSelect("order-type", orderChoices.types.map((k) => [k, t(`type_${k}`)]), true);
  fillSelect("order-office", [["", t("no_office")],
    ...orderChoices.offices.map((o) => [o.code, o.name])], true);
  document.getElementById("order-callback").placeholder = t("callback_default");
}

async function fileOrder(event) {
  event.preventDefault();
  const filed = document.getElementById("order-filed");
  filed.textContent = "";
  const value = (id) => document.getElementById(id).value.trim();
  const resp = await fetch("/console/desk/work-order", {
    method: "POST",
    headers: { "X-CSRF-Token": me.csrf_token, "Content-Type": "application/json" },
    body: JSON.stringify({
      question: value("order-question"), line: value("order-line"), type: value("order-type"),
      office: value("order-office"), callback_number: value("order-callback"),
    }),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const known = WORDS[lang()][body.error_id];
    filed.textContent = known || `${t("refused")} (${body.error_id || resp.status})`;
    filed.className = "error";
    return;
  }
  filed.className = "status";
  filed.textContent = `${t("order_filed")} ${body.number}`;
  document.getElementById("order-question").value = "";
  loadMyWorkOrders();
}
