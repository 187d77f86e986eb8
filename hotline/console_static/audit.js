// The auditor's view of the audit log (GET /audit): who did, and who heard, what; newest first.
"use strict";

Object.assign(WORDS.zh, {
  audit_who: "操作人", audit_what: "操作", audit_role: "角色",
  audit_target: "对象", audit_source: "来源地址", audit_recordings: "录音访问",
  audit_config: "配置变更", audit_accounts: "账号变更", audit_forced: "强制状态",
  audit_supervision: "监听/强插", audit_quality: "质检评分", audit_workorders: "工单",
  audit_logins: "登录", audit_refused: "拒绝访问", audit_rows: "共 {n} 条（最多显示 1000 条）",
  when: "时间", outcome: "结果", detail: "详情", all: "全部",
});
Object.assign(WORDS.en, {
  audit_who: "Who", audit_what: "What", audit_role: "Role",
  audit_target: "Target", audit_source: "Source", audit_recordings: "Recordings heard",
  audit_config: "Config changes", audit_accounts: "Accounts", audit_forced: "Forced states",
  audit_supervision: "Listening in", audit_quality: "Quality scores",
  audit_workorders: "Work orders", audit_logins: "Sign-ins", audit_refused: "Refusals",
  audit_rows: "{n} rows (at most 1,000 shown)", when: "When", outcome: "Outcome",
  detail: "Detail", all: "All",
});

const byId = (id) => document.getElementById(id);

function day(value, next) {
  if (!value) return null;
  const at = new Date(`${value}T00:00:00`);
  if (next) at.setDate(at.getDate() + 1);
  return at.toISOString();
}

async function load() {
  const query = new URLSearchParams({ limit: "1000" });
  const since = day(byId("since").value, false);
  const until = day(byId("until").value, true);
  if (since) query.set("since", since);
  if (until) query.set("until", until);
  if (byId("audit-who").value.trim()) query.set("who", byId("audit-who").value.trim());
  if (byId("audit-what").value) query.set("what", byId("audit-what").value);
  byId("state").textContent = t("loading");
  const resp = await fetch(`/audit?${query}`, { credentials: "same-origin" });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    byId("state").textContent = `${t("refused")}: ${body.error_id || resp.status}`;
    return;
  }
  byId("state").textContent = t("audit_rows").replace("{n}", String(body.audit.length));
  const rows = body.audit.map((entry) => {
    const tr = document.createElement("tr");
    tr.dataset.id = String(entry.id);
    const detail = entry.detail ? JSON.stringify(entry.detail) : "";
    for (const value of [new Date(entry.at).toLocaleString(), entry.who, entry.role,
      entry.what, entry.target || "", entry.source || "", entry.outcome, detail]) {
      const td = document.createElement("td");
      td.textContent = value; // never HTML: the log holds what people typed
      tr.append(td);
    }
    return tr;
  });
  byId("audit").querySelector("tbody").replaceChildren(...rows);
}

document.addEventListener("DOMContentLoaded", async () => {
  if ((await shell("auditor")) === null) return;
  byId("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  document.addEventListener("languagechange", translate);
  load();
});
