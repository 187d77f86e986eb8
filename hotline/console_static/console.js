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
    actions: "操作", force_pause: "强制小休", force_logout: "强制签出",
    listen: "监听", whisper: "密语", barge: "强插", stop_listening: "结束监听",
    ringing_your_phone: "正在呼叫您的话机…",
    order_number: "工单编号", call_back: "回电市民",
    reason_break: "休息", reason_meal: "用餐", reason_meeting: "会议", reason_training: "培训",
    reason_after_call_work: "话后处理", reason_no_answer: "未接听",
    quality: "质检", to_score: "待评分", scored: "已评分", all: "全部",
    sample: "样本", length: "时长", score: "得分", no_samples: "没有样本",
    play: "播放录音", item: "评分项", weight: "权重", points: "评分", comment: "评语",
    submit: "提交评分", by_month: "坐席月度质检得分", samples: "样本数", average: "平均得分",
    score_it: "评分", pass: "合格", fail: "不合格",
    audit: "审计日志", reports: "统计报表", planner: "排班预测", period: "统计周期", day: "日", week: "周",
    month: "月", custom: "自定义", date: "日期", from: "起", to: "止", group: "分组",
    hour: "时段", show: "查询", download_csv: "下载 CSV", download_xlsx: "下载 Excel",
    short_abandoned: "短时放弃", service_level_2: "服务水平（含放弃）", aht: "平均处理时长",
    occupancy: "占用率", transfers: "转接", callbacks_booked: "预约回拨",
    callbacks_reached: "回拨接通", callbacks_failed: "回拨失败", direct_resolution: "直办率",
    resolved_on_call: "当场解决率", satisfaction: "满意度", survey_answers: "评价数",
    response_rate: "参评率", no_answer: "未接", logged_in_time: "签入时长",
    paused_time: "小休时长", voice_messages: "语音留言", vm_open: "未办结", vm_overdue: "已超期",
    vm_closed: "已办结", calls_by_hour: "各时段呼入", abandon_heatmap: "各时段放弃（按星期）",
    satisfaction_by_agent: "各坐席满意度", agent_activity: "坐席工作时间（分钟）",
    quarterly: "季度满意度", quarter: "季度",
    flagged: "连续三季度偏低", yes: "是", no: "否", hot_topics: "热点问题（菜单）",
    menu_node: "菜单节点", calls: "来电", order_topics: "工单类别", category: "类别",
    value: "名称", work_orders: "工单", type: "类型", line: "业务线",
    consults: "承接咨询", consults_asked: "专家咨询", consults_answered: "咨询接通",
    consults_no_expert: "咨询无专家", consults_completed: "咨询转专家",
    consults_three_way: "咨询三方", consults_cancelled: "咨询取消",
    sl_rule: "服务水平 = {t} 秒内接听 / 接听（变体 1）；含放弃：({t} 秒内接听 + {t} 秒内放弃) / (接听 + 放弃)（变体 2）",
    dr_rule: "直办率 = 未转专家、未生成工单的接听 / 接听；当场解决率 = 未生成工单的接听 / 接听",
    no_chart: "图表库未安装（./dev 会安装 ECharts）", loading: "正在计算…",
    target: "目标", seconds: "秒内", needed: "所需坐席", logged_in_avg: "签入坐席",
    staffed_avg: "在岗坐席", erlangs: "话务量（爱尔兰）", short: "缺口", expected_sl: "预计服务水平",
    expected_asa: "预计平均应答", planner_rule: "Erlang C：按本期各时段平均来电与处理时长，计算达到目标服务水平所需坐席；按接通率计划时，把“秒内”设为来电者的耐心时长。",
    weekday_mon: "周一", weekday_tue: "周二", weekday_wed: "周三", weekday_thu: "周四",
    weekday_fri: "周五", weekday_sat: "周六", weekday_sun: "周日", weekday_holiday: "节假日",
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
    actions: "Actions", force_pause: "Force pause", force_logout: "Force sign-out",
    listen: "Listen",
    whisper: "Whisper", barge: "Barge in", stop_listening: "Stop listening",
    ringing_your_phone: "Ringing your desk phone…",
    order_number: "Work order", call_back: "Call citizen back",
    reason_break: "Break", reason_meal: "Meal", reason_meeting: "Meeting",
    reason_training: "Training", reason_after_call_work: "After-call work",
    reason_no_answer: "Did not answer",
    quality: "Quality", to_score: "To score", scored: "Scored", all: "All",
    sample: "Sample", length: "Length", score: "Score", no_samples: "No samples",
    play: "Play recording", item: "Item", weight: "Weight", points: "Points",
    comment: "Comment", submit: "Submit score", by_month: "Quality scores by agent and month",
    samples: "Samples", average: "Average", score_it: "Score", pass: "Pass", fail: "Fail",
    audit: "Audit log", reports: "Reports", planner: "Staffing planner", period: "Period", day: "Day", week: "Week",
    month: "Month", custom: "Custom", date: "Date", from: "From", to: "To", group: "Group by",
    hour: "Hour", show: "Show", download_csv: "Download CSV", download_xlsx: "Download Excel",
    short_abandoned: "Short abandons", service_level_2: "Service level (abandons in)",
    aht: "AHT", occupancy: "Occupancy", transfers: "Transfers", callbacks_booked: "Callbacks booked",
    callbacks_reached: "Callbacks reached", callbacks_failed: "Callbacks failed",
    direct_resolution: "Direct resolution", resolved_on_call: "Resolved on the call",
    satisfaction: "Satisfaction", survey_answers: "Ratings", response_rate: "Response rate",
    no_answer: "No answer", logged_in_time: "Logged in", paused_time: "Paused",
    voice_messages: "Voice messages", vm_open: "Open", vm_overdue: "Overdue", vm_closed: "Closed",
    calls_by_hour: "Calls by hour", abandon_heatmap: "Abandoned by hour and weekday",
    satisfaction_by_agent: "Satisfaction by agent", agent_activity: "Agents' time (minutes)",
    quarterly: "Quarterly satisfaction",
    quarter: "Quarter", flagged: "Low three quarters running", yes: "yes", no: "no",
    hot_topics: "Hot topics (menu)", menu_node: "Menu node", calls: "Calls",
    order_topics: "Work-order categories", category: "Category", value: "Name",
    work_orders: "Work orders", type: "Type", line: "Line of business",
    consults: "Consults taken", consults_asked: "Consults asked", consults_answered: "Consults answered",
    consults_no_expert: "Consults: no expert", consults_completed: "Consults handed over",
    consults_three_way: "Consults three-way", consults_cancelled: "Consults cancelled",
    sl_rule: "Service level = answered within {t} s / answered (variant 1); abandons in: (answered within {t} s + abandoned within {t} s) / (answered + abandoned) (variant 2)",
    dr_rule: "Direct resolution = answered, not handed to an expert, no work order / answered; resolved on the call = answered without a work order / answered",
    no_chart: "Chart library not installed (./dev installs ECharts)", loading: "Computing…",
    target: "Target", seconds: "within seconds", needed: "Agents needed",
    logged_in_avg: "Logged in", staffed_avg: "Staffed", erlangs: "Traffic (erlangs)",
    short: "Short", expected_sl: "Expected SL", expected_asa: "Expected ASA",
    planner_rule: "Erlang C on the period's average calls and handle time per hour: the agents each hour needs to reach the target service level. For an answer-rate target, set the seconds to the callers' patience.",
    weekday_mon: "Mon", weekday_tue: "Tue", weekday_wed: "Wed", weekday_thu: "Thu",
    weekday_fri: "Fri", weekday_sat: "Sat", weekday_sun: "Sun", weekday_holiday: "Holiday",
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

// The page header: the person, the language switch, sign out. Sends the anonymous to login,
// and those with none of the page's roles (one role or a list) to their own first page.
async function shell(role) {
  const me = await whoami();
  const roles = role === undefined ? [] : [].concat(role);
  if (me === null || (roles.length && !roles.some((r) => me.roles.includes(r)))) {
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
