// The console's shared part: the two languages, who is signed in, the page header.
// Plain JavaScript, no library and no build step; Mandarin unless the person chose English.
"use strict";

const WORDS = {
  zh: {
    title: "12333 热线控制台", login: "登录", name: "账号", password: "密码",
    login_failed: "账号或密码错误", too_many: "尝试次数过多，请稍后再试",
    unavailable: "服务暂不可用", logout: "退出", language: "English",
    wallboard: "实时监控", desk: "坐席工作台", no_page: "此账号没有可用的页面",
    queue: "队列", waiting: "排队", longest: "最长等待", callbacks: "待回拨",
    offered: "呼入", answered: "接听", abandoned: "放弃", service_level: "服务水平",
    asa: "平均应答", answer_rate: "接通率", center: "全中心", agents: "坐席",
    agent: "工号", state: "状态", reason: "原因", in_state: "持续时间",
    ready: "空闲", ringing: "振铃", talking: "通话", after_call: "话后整理", paused: "小休",
    connected: "实时", reconnecting: "正在重新连接…", today: "今日",
    logged_out: "未签入", sign_in: "签入", set_ready: "示闲", pause: "小休", sign_out: "签出",
    current_call: "当前通话", caller: "来电号码", no_call: "无通话", talk_time: "通话时长",
    refused: "操作未成功", consult: "专家咨询", complete: "完成转接", three_way: "三方通话",
    cancel_consult: "取消咨询", work_order: "建工单",
    reason_break: "休息", reason_meal: "用餐", reason_meeting: "会议", reason_training: "培训",
    reason_after_call_work: "话后处理", reason_no_answer: "未接听",
  },
  en: {
    title: "12333 hotline console", login: "Sign in", name: "Account", password: "Password",
    login_failed: "Wrong account or password", too_many: "Too many attempts, try again later",
    unavailable: "Service unavailable", logout: "Sign out", language: "中文",
    wallboard: "Wallboard", desk: "Agent desk", no_page: "This account has no page here",
    queue: "Queue", waiting: "Waiting", longest: "Longest wait", callbacks: "Callbacks",
    offered: "Offered", answered: "Answered", abandoned: "Abandoned",
    service_level: "Service level", asa: "ASA", answer_rate: "Answer rate", center: "Center",
    agents: "Agents", agent: "Agent", state: "State", reason: "Reason", in_state: "Time in state",
    ready: "Ready", ringing: "Ringing", talking: "Talking", after_call: "After-call work",
    paused: "Paused", connected: "Live", reconnecting: "Reconnecting…", today: "Today",
    logged_out: "Signed out", sign_in: "Sign in", set_ready: "Ready", pause: "Pause",
    sign_out: "Sign out", current_call: "Current call", caller: "Caller", no_call: "No call",
    talk_time: "Talk time", refused: "Not done", consult: "Consult expert",
    complete: "Hand over", three_way: "Three-way", cancel_consult: "Cancel consult",
    work_order: "Work order",
    reason_break: "Break", reason_meal: "Meal", reason_meeting: "Meeting",
    reason_training: "Training", reason_after_call_work: "After-call work",
    reason_no_answer: "Did not answer",
  },
};

function lang() {
  return localStorage.getItem("hotline-lang") === "en" ? "en" : "zh";
}

function t(key) {
  return WORDS[lang()][key] ?? WORDS.zh[key] ?? key;
}

// Every element with data-t="key" shows that word in the chosen language.
function translate() {
  document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  document.title = t(document.body.dataset.title || "title");
}

// A pause reason as configured (queues.yaml's pause_reasons) in the chosen language.
function reasonText(reason) {
  return reason ? (WORDS[lang()][`reason_${reason}`] ?? reason) : "";
}

function switchLanguage() {
  localStorage.setItem("hotline-lang", lang() === "en" ? "zh" : "en");
  translate();
  document.dispatchEvent(new Event("languagechange"));
}

// Who is signed in (null: nobody, or the session ended).
async function whoami() {
  const resp = await fetch("/session", { credentials: "same-origin" });
  if (resp.status === 401) return null;
  if (!resp.ok) throw new Error(`GET /session: ${resp.status}`);
  return resp.json();
}

// Resident ID numbers are never shown whole: first 6 and last 4 (as the logs do).
function maskId(text) {
  return String(text).replace(/(?<![0-9])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])/g,
    (m) => m.slice(0, 6) + "*".repeat(m.length - 10) + m.slice(-4));
}

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

function percent(ratio) {
  return ratio === undefined ? "—" : `${Math.round(ratio * 100)}%`;
}

// The page header: the person, the language switch, sign out. Sends the anonymous to login.
async function shell(role) {
  const me = await whoami();
  if (me === null || (role && !me.roles.includes(role))) {
    location.assign(me === null ? "/console/login.html" : "/console/");
    return null;
  }
  document.getElementById("who").textContent = maskId(me.name);
  document.getElementById("language").addEventListener("click", switchLanguage);
  document.getElementById("logout").addEventListener("click", async () => {
    await fetch("/session", { method: "DELETE", headers: { "X-CSRF-Token": me.csrf_token } });
    location.assign("/console/login.html");
  });
  translate();
  return me;
}
