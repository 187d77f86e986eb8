// Ops' editor: a file's text with line numbers, "check" (the same validator as
// `hotline config check`, problems at their line and field), the diff against the file on
// disk, "apply" (live, refused on a problem or if the file changed on disk since it was
// loaded), the versions applied and one-click rollback. The YAML files stay the truth.
"use strict";

Object.assign(WORDS.zh, {
  ops: "配置管理", check: "检查", apply: "应用", reload: "重新载入", diff: "改动预览",
  versions: "历史版本", version: "版本", when: "时间", by: "操作人", origin: "来源",
  rollback: "回滚到此版本", no_problems: "检查通过", no_changes: "没有改动",
  applied: "已应用，配置版本", conflict: "文件已被他人修改，请重新载入后再改",
  invalid: "未应用：有错误，文件未改动", line: "第{n}行", browser: "网页", on_disk: "手工修改",
  holidays: "节假日与调休", holiday: "放假", workday: "调休上班（按周一）", add_day: "加入",
  "menu.yaml": "语音菜单", "hours.yaml": "工作时间与节假日", "queues.yaml": "队列与升级",
  "agents.yaml": "坐席与技能", "work_orders.yaml": "工单", "prompts.yaml": "提示音文字",
});
Object.assign(WORDS.en, {
  ops: "Configuration", check: "Check", apply: "Apply", reload: "Reload", diff: "Changes",
  versions: "History", version: "Version", when: "When", by: "By", origin: "Origin",
  rollback: "Roll back to this", no_problems: "No problems", no_changes: "No changes",
  applied: "Applied, config version", conflict: "The file changed on disk: reload, then edit",
  invalid: "Not applied: problems, the file is unchanged", line: "line {n}",
  browser: "browser", on_disk: "by hand", holidays: "Holidays and make-up days",
  holiday: "Holiday", workday: "Make-up workday (Monday's hours)", add_day: "Add",
  "menu.yaml": "Voice menu", "hours.yaml": "Hours and holidays", "queues.yaml": "Queues",
  "agents.yaml": "Agents and skills", "work_orders.yaml": "Work orders",
  "prompts.yaml": "Prompts' text",
});
WORDS.en.rollback_word = "rollback";
WORDS.zh.rollback_word = "回滚";

let me = null;
let file = null; // {name, sha256}: what the editor loaded (the edit's base)
let timer = null;

const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const headers = { "X-CSRF-Token": me.csrf_token };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body && JSON.stringify(body) });
  return { status: resp.status, body: await resp.json() };
}

function showResult(text, kind) {
  const result = $("result");
  result.textContent = text;
  result.className = kind;
}

function gutter(problems) {
  const bad = new Map();
  for (const p of problems) if (p.file === file.name && p.line) bad.set(p.line, p);
  const count = $("editor").value.split("\n").length;
  const rows = [];
  for (let n = 1; n <= count; n++) {
    const span = document.createElement("span");
    span.textContent = `${n}\n`;
    if (bad.has(n)) {
      span.className = "bad";
      span.title = `${bad.get(n).field}: ${bad.get(n).message}`;
    }
    rows.push(span);
  }
  $("gutter").replaceChildren(...rows);
  $("gutter").scrollTop = $("editor").scrollTop;
}

function goToLine(line) {
  const editor = $("editor");
  const lines = editor.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

function showProblems(problems) {
  const items = problems.map((p) => {
    const li = document.createElement("li");
    const where = [p.file, p.line ? t("line").replace("{n}", p.line) : "", p.field]
      .filter(Boolean).join(" · ");
    li.textContent = `${where}: ${p.message}`;
    li.dataset.line = p.line || "";
    li.dataset.field = p.field;
    if (p.line && p.file === file.name) li.addEventListener("click", () => goToLine(p.line));
    return li;
  });
  $("problems").replaceChildren(...items);
  gutter(problems);
}

function showDiff(diff) {
  const lines = diff.split("\n").filter((l, i, all) => l || i < all.length - 1);
  $("diff").replaceChildren(...lines.map((line) => {
    const span = document.createElement("span");
    span.textContent = `${line}\n`;
    if (line.startsWith("+") && !line.startsWith("+++")) span.className = "add";
    if (line.startsWith("-") && !line.startsWith("---")) span.className = "del";
    return span;
  }));
  if (!diff) $("diff").textContent = t("no_changes");
}

async function check() {
  const { status, body } = await call("POST", `/config/files/${file.name}/check`,
    { text: $("editor").value });
  if (status !== 200) return showResult(t("refused"), "refused");
  showProblems(body.problems);
  showDiff(body.diff);
  showResult(body.problems.length ? t("invalid") : t("no_problems"),
    body.problems.length ? "refused" : "ok");
}

async function apply() {
  const { status, body } = await call("POST", `/config/files/${file.name}`,
    { text: $("editor").value, base: file.sha256 });
  await settle(status, body);
}

async function settle(status, body) {
  if (status === 200) {
    showResult(body.status === "unchanged" ? t("no_changes") : `${t("applied")} ${body.applied}`,
      "ok");
    showDiff(body.diff);
    await open(file.name, true);
  } else if (status === 409) {
    showResult(t("conflict"), "refused");
  } else if (status === 422) {
    showProblems(body.problems);
    showDiff(body.diff);
    showResult(t("invalid"), "refused");
  } else {
    showResult(`${t("refused")} (${body.error_id || status})`, "refused");
  }
}

async function rollback(version) {
  const { status, body } = await call("POST",
    `/config/files/${file.name}/versions/${version}/rollback`, { base: file.sha256 });
  await settle(status, body);
}

async function history() {
  const { body } = await call("GET", `/config/files/${file.name}/versions`);
  const rows = (body.versions || []).map((v, i) => {
    const tr = document.createElement("tr");
    tr.dataset.version = v.id;
    const origin = v.origin === "rollback" ? `${t("rollback_word")} → ${v.rolled_back_to}`
      : t(v.origin);
    for (const text of [v.id, new Date(v.at).toLocaleString(), v.who, origin]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    if (i > 0) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "rollback";
      button.textContent = t("rollback");
      button.addEventListener("click", () => rollback(v.id));
      td.append(button);
    }
    tr.append(td);
    return tr;
  });
  $("versions").tBodies[0].replaceChildren(...rows);
}

async function open(name, keepMessages) {
  const { body } = await call("GET", `/config/files/${name}`);
  file = { name, sha256: body.sha256 };
  $("editor").value = body.text;
  $("file-name").textContent = name;
  $("file-label").textContent = t(name);
  $("holidays-form").hidden = name !== "hours.yaml";
  for (const b of $("files").children) b.classList.toggle("chosen", b.dataset.file === name);
  if (!keepMessages) {
    showResult("", "");
    showDiff("");
  }
  showProblems([]);
  await history();
}

// The structured form for the thing ops change most: a day off, or a make-up workday
// (调休), added to hours.yaml's text; it is then checked and applied like any edit.
function addDay() {
  const day = $("day").value;
  if (!day) return;
  const kind = $("day-kind").value;
  const key = kind === "holiday" ? "holidays" : "workdays";
  const entry = kind === "holiday" ? `  - ${day}` : `  ${day}: ${kind}`;
  const lines = $("editor").value.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`${key}:`));
  if (at < 0) {
    lines.push(`${key}:`, entry);
  } else if (/:\s*(\[\]|\{\})\s*$/.test(lines[at])) {
    lines.splice(at, 1, `${key}:`, entry);
  } else {
    let end = at;
    while (end + 1 < lines.length && /^\s+\S/.test(lines[end + 1])) end++;
    lines.splice(end + 1, 0, entry);
  }
  $("editor").value = lines.join("\n");
  check();
}

document.addEventListener("DOMContentLoaded", async () => {
  me = await shell("ops");
  if (me === null) return;
  const { body } = await call("GET", "/config/files");
  $("files").replaceChildren(...body.files.map((f) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.file = f.name;
    button.textContent = `${t(f.name)} · ${f.name}`;
    button.addEventListener("click", () => open(f.name));
    return button;
  }));
  document.addEventListener("languagechange", () => {
    for (const b of $("files").children) b.textContent = `${t(b.dataset.file)} · ${b.dataset.file}`;
    if (file) $("file-label").textContent = t(file.name);
    if (file) history();
  });
  $("do-check").addEventListener("click", check);
  $("do-apply").addEventListener("click", apply);
  $("do-reload").addEventListener("click", () => open(file.name));
  $("do-add-day").addEventListener("click", addDay);
  $("editor").addEventListener("scroll", () => { $("gutter").scrollTop = $("editor").scrollTop; });
  $("editor").addEventListener("input", () => {
    gutter([]);
    clearTimeout(timer);
    timer = setTimeout(check, 800); // checked as ops type, without a click
  });
  await open(new URLSearchParams(location.search).get("file") || "menu.yaml");
});
