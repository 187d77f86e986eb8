// A responsible office's page: its orders awaiting an answer (GET /work-orders lists only
// its office's, whatever is asked), an order's history, the answer (texted to the citizen)
// or "send back" (wrong office). Changes carry the session's CSRF token.
"use strict";

Object.assign(WORDS.zh, {
  office_orders: "科室工单", question: "问题", due: "办理时限", id_number: "身份证号",
  when: "时间", by: "操作人", note: "备注", answer_text: "答复内容", do_answer: "提交答复",
  back_note: "退回说明（非本科室职责）", send_back: "退回", answer_required: "请填写答复内容",
  note_required: "请说明退回原因", no_orders: "暂无待办工单", orders_count: "待办工单 {n} 件",
  overdue: "已超期", answered_ok: "已答复，短信已发送市民", sent_back_ok: "已退回",
  status_open: "待派发", status_sent_to_office: "待科室答复", status_answered: "已答复",
  status_followed_up: "已回访", status_closed: "已办结",
  type_standard: "一般", type_complex: "复杂", type_labour_inspection: "劳动监察",
  type_voice_message: "语音留言",
});
Object.assign(WORDS.en, {
  office_orders: "Office work orders", question: "Question", due: "Due", id_number: "ID number",
  when: "When", by: "By", note: "Note", answer_text: "Answer", do_answer: "Send answer",
  back_note: "Why it goes back (not this office's)", send_back: "Send back",
  answer_required: "Write the answer first", note_required: "Say why it goes back",
  no_orders: "No orders waiting", orders_count: "{n} orders waiting", overdue: "Overdue",
  answered_ok: "Answered; the citizen is texted", sent_back_ok: "Sent back",
  status_open: "Open", status_sent_to_office: "With the office", status_answered: "Answered",
  status_followed_up: "Followed up", status_closed: "Closed",
  type_standard: "Standard", type_complex: "Complex", type_labour_inspection: "Labour inspection",
  type_voice_message: "Voice message",
});

const byId = (id) => document.getElementById(id);
let me = null;
let current = null; // the order shown below the list

function word(prefix, value) {
  return WORDS[lang()][`${prefix}_${value}`] ?? WORDS.zh[`${prefix}_${value}`] ?? value;
}

function cell(value, className) {
  const td = document.createElement("td");
  td.textContent = value; // never HTML: citizens' questions are text
  if (className) td.className = className;
  return td;
}

async function api(path, body) {
  const init = body === undefined ? { credentials: "same-origin" } : {
    method: "POST", credentials: "same-origin", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf_token },
  };
  const resp = await fetch(path, init);
  if (resp.status === 401) location.assign("/console/login.html");
  return { ok: resp.ok, status: resp.status, body: await resp.json().catch(() => ({})) };
}

async function load() {
  const got = await api("/work-orders?status=sent_to_office&limit=500");
  if (!got.ok) {
    byId("state").textContent = `${t("refused")}: ${got.body.error_id || got.status}`;
    return;
  }
  const orders = got.body.work_orders;
  byId("state").textContent = orders.length
    ? t("orders_count").replace("{n}", String(orders.length)) : t("no_orders");
  const now = Date.now();
  const rows = orders.map((order) => {
    const tr = document.createElement("tr");
    tr.dataset.number = order.number;
    const late = new Date(order.due_at).getTime() < now;
    const link = document.createElement("a");
    link.href = "#";
    link.textContent = order.number;
    link.addEventListener("click", (event) => { event.preventDefault(); show(order.number); });
    const first = cell("");
    first.append(link);
    const due = new Date(order.due_at).toLocaleDateString();
    tr.append(first, cell(maskId(order.question)), cell(order.line), cell(word("type", order.type)),
      cell(late ? `${due} ${t("overdue")}` : due, late ? "due overdue" : "due"),
      cell(order.id_masked || ""));
    return tr;
  });
  byId("orders").querySelector("tbody").replaceChildren(...rows);
}

async function show(number) {
  const got = await api(`/work-orders/${number}`);
  if (!got.ok) {
    byId("state").textContent = `${t("refused")}: ${got.body.error_id || got.status}`;
    return;
  }
  current = got.body;
  byId("order").classList.remove("hidden");
  byId("order-number").textContent = current.number;
  byId("order-question").textContent = maskId(current.question);
  const steps = current.history.map((step) => {
    const tr = document.createElement("tr");
    tr.append(cell(new Date(step.at).toLocaleString()), cell(word("status", step.status)),
      cell(step.by), cell(maskId(step.note || "")));
    return tr;
  });
  byId("history").querySelector("tbody").replaceChildren(...steps);
  for (const id of ["answer-error", "back-error", "done"]) byId(id).textContent = "";
  const waiting = current.status === "sent_to_office";
  byId("answer-form").classList.toggle("hidden", !waiting);
  byId("back-form").classList.toggle("hidden", !waiting);
}

// A field's own message, next to it (and announced), in the chosen language.
function fieldError(input, errorId, key) {
  const error = byId(errorId);
  error.dataset.t = key;
  error.textContent = key ? t(key) : "";
  input.setAttribute("aria-invalid", key ? "true" : "false");
  if (key) input.focus();
}

async function step(body, input, errorId, doneKey) {
  const got = await api(`/work-orders/${current.number}/status`, body);
  if (!got.ok) {
    delete byId(errorId).dataset.t; // the server's refusal, not a word to translate
    byId(errorId).textContent = `${t("refused")}: ${got.body.error_id || got.status}`;
    return;
  }
  input.value = "";
  await show(current.number);
  byId("done").textContent = t(doneKey);
  await load();
}

async function answer(event) {
  event.preventDefault();
  const input = byId("answer");
  if (!input.value.trim()) return fieldError(input, "answer-error", "answer_required");
  fieldError(input, "answer-error", "");
  await step({ status: "answered", answer: input.value.trim() }, input, "answer-error",
    "answered_ok");
}

async function sendBack(event) {
  event.preventDefault();
  const input = byId("back-note");
  if (!input.value.trim()) return fieldError(input, "back-error", "note_required");
  fieldError(input, "back-error", "");
  await step({ status: "open", note: input.value.trim() }, input, "back-error", "sent_back_ok");
}

document.addEventListener("DOMContentLoaded", async () => {
  me = await shell("office");
  if (me === null) return;
  byId("office-name").textContent = me.office ? `(${me.office})` : "";
  byId("answer-form").addEventListener("submit", answer);
  byId("back-form").addEventListener("submit", sendBack);
  document.addEventListener("languagechange", () => { translate(); load(); });
  await load();
});
