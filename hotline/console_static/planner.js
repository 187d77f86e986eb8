// The staffing planner: Erlang C per hour of the period's average day (GET /reports/staffing)
// beside the agents logged in then.
"use strict";

let plan = null;
const $ = (id) => document.getElementById(id);

function showInputs() {
  for (const el of document.querySelectorAll("#controls label[class]")) {
    el.classList.toggle("hidden", !el.classList.contains(`for-${$("period").value}`));
  }
}

function chosen() {
  const query = new URLSearchParams();
  const kind = $("period").value;
  query.set(kind, $(kind).value);
  query.set("target", String(Number($("target").value) / 100));
  query.set("seconds", $("seconds").value);
  return query;
}

async function load() {
  const query = chosen();
  history.replaceState(null, "", `?${query}`);
  $("csv").href = `/reports/staffing?${query}&format=csv`;
  $("state").textContent = t("loading");
  const resp = await fetch(`/reports/staffing?${query}`, { credentials: "same-origin" });
  const body = await resp.json();
  if (!resp.ok) {
    plan = null;
    $("state").textContent = `${t("refused")}: ${body.message || body.error_id}`;
    return;
  }
  plan = body;
  $("state").textContent = body.rules.period;
  render();
}

function render() {
  if (plan === null) return;
  const hours = plan.staffing.hours;
  const body = $("staffing").tBodies[0];
  body.replaceChildren();
  for (const h of hours) {
    const tr = body.insertRow();
    tr.dataset.hour = h.hour;
    const values = [
      ["hour", `${h.hour}:00`], ["calls", h.calls], ["aht", seconds(h.aht_seconds)],
      ["erlangs", h.erlangs], ["needed", h.agents_needed], ["logged_in", h.agents_logged_in],
      ["staffed", h.agents_staffed], ["short", h.short], ["sl", rate(h.expected_service_level)],
      ["asa", seconds(h.expected_asa_seconds)],
    ];
    for (const [name, v] of values) {
      const td = tr.insertCell();
      td.className = name;
      td.textContent = v;
      if (name === "short" && h.short > 0) td.classList.add("late");
    }
  }
  const labels = hours.map((h) => h.hour);
  chart("chart-staffing", {
    tooltip: { trigger: "axis" }, legend: {}, grid: { left: 40, right: 10, bottom: 30 },
    xAxis: { type: "category", data: labels }, yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: t("needed"), type: "bar", data: hours.map((h) => h.agents_needed) },
      { name: t("logged_in_avg"), type: "line", data: hours.map((h) => h.agents_logged_in) },
      { name: t("staffed_avg"), type: "line", data: hours.map((h) => h.agents_staffed) },
    ],
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  if ((await shell(["supervisor", "auditor"])) === null) return;
  const q = new URLSearchParams(location.search);
  $("period").value = q.has("date") ? "date" : "month";
  $("date").value = q.get("date") || new Date().toISOString().slice(0, 10);
  $("month").value = q.get("month") || new Date().toISOString().slice(0, 7);
  if (q.has("target")) $("target").value = Math.round(Number(q.get("target")) * 100);
  if (q.has("seconds")) $("seconds").value = q.get("seconds");
  showInputs();
  $("period").addEventListener("change", showInputs);
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  document.addEventListener("languagechange", render);
  load();
});
