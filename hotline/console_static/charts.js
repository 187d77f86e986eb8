// Charts for the report pages: ECharts, served by the console itself (installed by ./dev
// from the npm registry, hotline/provision/echarts.py). Without it, a line says so and the
// tables carry the figures.
"use strict";

const CHARTS = new Map();

function chart(id, option) {
  const el = document.getElementById(id);
  if (typeof echarts === "undefined") {
    const note = document.createElement("p");
    note.className = "missing";
    note.textContent = t("no_chart");
    el.replaceChildren(note);
    return null;
  }
  let made = CHARTS.get(id);
  if (!made) {
    made = echarts.init(el);
    CHARTS.set(id, made);
  }
  made.setOption({ animation: false, textStyle: { fontFamily: "WenQuanYi Micro Hei, sans-serif" }, ...option }, true);
  return made;
}

window.addEventListener("resize", () => { for (const c of CHARTS.values()) c.resize(); });

const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));

// A rate as a percentage with one decimal ("93.3%"); no figure: "—".
function rate(value) {
  return value === null || value === undefined || value === "" ? "—" : `${(value * 100).toFixed(1)}%`;
}

function seconds(value) {
  return value === null || value === undefined || value === "" ? "—" : duration(value);
}
