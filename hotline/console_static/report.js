// The report pages: a period's figures by queue, agent or hour, charts, quarterly
// satisfaction and hot topics, all from GET /reports/... (the same JSON as the API).
"use strict";

let report = null;
let ratings = null;
const $ = (id) => document.getElementById(id);

// Columns of the figures table: [word, field of the JSON row, format].
const CALL_COLUMNS = [
  ["offered", "offered"], ["answered", "answered"], ["abandoned", "abandoned"],
  ["short_abandoned", "short_abandoned"], ["answer_rate", "answer_rate", rate],
  ["service_level", "service_level", rate], ["service_level_2", "service_level_2", rate],
  ["asa", "asa_seconds", seconds], ["aht", "aht_seconds", seconds], ["transfers", "transfers"],
  ["callbacks_booked", "callbacks_booked"], ["callbacks_reached", "callbacks_reached"],
  ["callbacks_failed", "callbacks_failed"], ["direct_resolution", "direct_resolution_rate", rate],
  ["resolved_on_call", "resolved_on_call_rate", rate], ["satisfaction", "satisfaction", rate],
  ["survey_answers", "survey_answers"], ["response_rate", "survey_response_rate", rate],
  ["consults_asked", "consults_asked"], ["consults_answered", "consults_answered"],
  ["consults_no_expert", "consults_no_expert"], ["consults_completed", "consults_completed"],
  ["consults_three_way", "consults_three_way"], ["consults_cancelled", "consults_cancelled"],
];
const AGENT_COLUMNS = [
  ["offered", "offered"], ["answered", "answered"], ["no_answer", "no_answer"],
  ["consults", "consults"], ["transfers", "transfers"], ["aht", "aht_seconds", seconds], ["occupancy", "occupancy", rate],
  ["logged_in_time", "logged_in_seconds", seconds], ["paused_time", "paused_seconds", seconds],
  ["direct_resolution", "direct_resolution_rate", rate], ["satisfaction", "satisfaction", rate],
  ["survey_answers", "survey_answers"],
];

function today() {
  return new Date().toISOString().slice(0, 10);
}

// The period chosen (kind and query), as the form says.
function chosen() {
  const kind = $("period").value;
  const query = new URLSearchParams();
  if (kind === "monthly") query.set("month", $("month").value);
  else if (kind === "custom") { query.set("from", $("from").value); query.set("to", $("to").value); }
  else query.set("date", $("date").value);
  return [kind, query];
}

function showInputs() {
  const kind = $("period").value;
  for (const el of document.querySelectorAll("#controls label[class]")) {
    el.classList.toggle("hidden", !el.classList.contains(`for-${kind}`));
  }
}

function fromAddress() {
  const q = new URLSearchParams(location.search);
  $("period").value = q.get("period") || "daily";
  $("group").value = q.get("group") || "queue";
  $("date").value = q.get("date") || today();
  $("month").value = q.get("month") || today().slice(0, 7);
  $("from").value = q.get("from") || today();
  $("to").value = q.get("to") || today();
  showInputs();
}

async function getJson(path) {
  const resp = await fetch(path, { credentials: "same-origin" });
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.message || body.error_id || String(resp.status));
  return body;
}

async function load() {
  const [kind, query] = chosen();
  const address = new URLSearchParams({ period: kind, group: $("group").value, ...Object.fromEntries(query) });
  history.replaceState(null, "", `?${address}`);
  for (const fmt of ["csv", "xlsx"]) $(fmt).href = `/reports/${kind}?${query}&format=${fmt}`;
  const agentsQuery = kind === "monthly" ? `month=${query.get("month")}`
    : `date=${kind === "custom" ? query.get("to") : query.get("date")}`;
  $("state").textContent = t("loading");
  try {
    [report, ratings] = await Promise.all([
      getJson(`/reports/${kind}?${query}`), getJson(`/reports/agents?${agentsQuery}`),
    ]);
    $("state").textContent = report.rules.period;
  } catch (err) {
    report = null;
    $("state").textContent = `${t("refused")}: ${err.message}`;
  }
  render();
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function header(table, first, columns) {
  const tr = document.createElement("tr");
  for (const word of [first, ...columns.map(([w]) => w)]) {
    const th = document.createElement("th");
    th.textContent = t(word);
    tr.append(th);
  }
  table.tHead.replaceChildren(tr);
}

function figureRow(body, key, label, row, columns) {
  const tr = body.insertRow();
  tr.dataset.key = key;
  cell(tr, label, "key");
  for (const [word, field, format] of columns) {
    const v = row[field];
    cell(tr, format ? format(v) : (v ?? "—"), word);
  }
}

// Occupancy of the whole center: time on calls and wrap-up / time logged in and not paused.
function centerOccupancy(agents) {
  let busy = 0, available = 0;
  for (const a of agents) {
    busy += (a.on_call_seconds || 0) + (a.wrap_up_seconds || 0);
    available += (a.logged_in_seconds || 0) - (a.paused_seconds || 0);
  }
  return available > 0 ? busy / available : null;
}

function tiles(center) {
  const vm = report.voice_messages;
  const items = [
    ["offered", center.offered], ["answered", center.answered], ["abandoned", center.abandoned],
    ["answer_rate", rate(center.answer_rate)], ["service_level", rate(center.service_level)],
    ["asa", seconds(center.asa_seconds)], ["aht", seconds(center.aht_seconds)],
    ["occupancy", rate(centerOccupancy(report.agents))],
    ["direct_resolution", rate(center.direct_resolution_rate)],
    ["satisfaction", rate(center.satisfaction)], ["callbacks_booked", center.callbacks_booked],
    ["voice_messages", `${vm.received} · ${t("vm_overdue")} ${vm.overdue}`],
  ];
  $("center").replaceChildren(...items.map(([word, value]) => {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.id = `tile-${word}`;
    const fig = document.createElement("div");
    fig.className = "figure";
    fig.textContent = value;
    const label = document.createElement("div");
    label.className = "label";
    label.textContent = t(word);
    tile.append(fig, label);
    return tile;
  }));
}

function figuresTable() {
  const table = $("figures");
  const body = table.tBodies[0];
  body.replaceChildren();
  const group = $("group").value;
  const center = report.calls.find((r) => r.group === "center");
  if (group === "agent") {
    header(table, "agent", AGENT_COLUMNS);
    for (const a of report.agents) figureRow(body, a.agent, a.agent, a, AGENT_COLUMNS);
    return;
  }
  header(table, group, CALL_COLUMNS);
  for (const r of report.calls.filter((row) => row.group === group && (row.calls || row.offered))) {
    figureRow(body, r.key, group === "hour" ? `${r.key}:00` : r.key, r, CALL_COLUMNS);
  }
  figureRow(body, "center", t("center"), center, CALL_COLUMNS);
}

function charts() {
  const hours = report.calls.filter((r) => r.group === "hour");
  const series = ["offered", "answered", "abandoned"].map((key) => ({
    name: t(key), type: "bar", data: hours.map((r) => r[key]),
  }));
  chart("chart-hourly", {
    tooltip: { trigger: "axis" }, legend: {}, grid: { left: 40, right: 10, bottom: 30 },
    xAxis: { type: "category", data: HOURS }, yAxis: { type: "value", minInterval: 1 }, series,
  });
  const days = report.abandoned_by_hour.map((r) => r.weekday);
  const cells = report.abandoned_by_hour.flatMap((r, y) => HOURS.map((h, x) => [x, y, r[h]]));
  chart("chart-heatmap", {
    tooltip: {}, grid: { left: 60, right: 10, bottom: 70 },
    xAxis: { type: "category", data: HOURS }, yAxis: { type: "category", data: days.map((d) => t(`weekday_${d}`)) },
    visualMap: { min: 0, max: Math.max(1, ...cells.map((c) => c[2])), orient: "horizontal", left: "center", bottom: 0, calculable: true },
    series: [{ type: "heatmap", data: cells, label: { show: true, formatter: (p) => p.value[2] || "" } }],
  });
  const rated = report.agents.filter((a) => a.survey_answers > 0);
  chart("chart-satisfaction", {
    tooltip: {}, grid: { left: 50, right: 10, bottom: 30 },
    xAxis: { type: "category", data: rated.map((a) => a.agent) },
    yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: [{ name: t("satisfaction"), type: "bar", data: rated.map((a) => Math.round(a.satisfaction * 1000) / 10) }],
  });
  activityChart();
}

// Each agent's logged-in time by state, pauses by reason ("break=120.0;meal=30.0"), minutes.
function activityChart() {
  const agents = report.agents.filter((a) => a.logged_in_seconds > 0);
  const minutes = (s) => Math.round((Number(s) || 0) / 6) / 10;
  const states = [
    ["ready", "ready_seconds"], ["ringing", "ringing_seconds"],
    ["talking", "on_call_seconds"], ["after_call", "wrap_up_seconds"],
  ].map(([word, key]) => ({ name: t(word), data: agents.map((a) => minutes(a[key])) }));
  const paused = agents.map((a) => Object.fromEntries(String(a.paused_by_reason || "")
    .split(";").filter(Boolean).map((part) => part.split("=")).map(([r, s]) => [r, Number(s)])));
  const reasons = [...new Set(paused.flatMap((p) => Object.keys(p)))].sort();
  const pauses = reasons.map((r) => ({
    name: `${t("paused")}: ${r === "none" ? "—" : reasonText(r)}`,
    data: paused.map((p) => minutes(p[r])),
  }));
  chart("chart-activity", {
    tooltip: { trigger: "axis" }, legend: { type: "scroll" },
    grid: { left: 10, right: 10, bottom: 30, containLabel: true },
    yAxis: { type: "category", data: agents.map((a) => a.agent) }, xAxis: { type: "value" },
    series: [...states, ...pauses].map((s) => ({ ...s, type: "bar", stack: "time" })),
  });
}

function simpleRows(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const values of rows) {
    const tr = body.insertRow();
    for (const v of values) cell(tr, v);
  }
  return body;
}

function render() {
  if (report === null) return;
  const center = report.calls.find((r) => r.group === "center");
  tiles(center);
  $("sl-rule").textContent = t("sl_rule").replaceAll("{t}", report.thresholds.sl_seconds);
  figuresTable();
  charts();
  const flagged = new Set(ratings.flagged_agents);
  const body = simpleRows("quarters", ratings.quarterly_satisfaction.map((q) => [
    q.agent, q.quarter, q.answers, rate(q.satisfaction), flagged.has(q.agent) ? t("yes") : t("no"),
  ]));
  for (const tr of body.rows) if (flagged.has(tr.cells[0].textContent)) tr.classList.add("flagged");
  simpleRows("topics", report.hot_topics.map((r) => [r.menu_node, r.calls]));
  simpleRows("order-topics", report.work_order_topics.map((r) => [t(r.category), r.value, r.work_orders]));
}

document.addEventListener("DOMContentLoaded", async () => {
  if ((await shell(["supervisor", "auditor"])) === null) return;
  fromAddress();
  $("period").addEventListener("change", showInputs);
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  document.addEventListener("languagechange", render);
  load();
});
