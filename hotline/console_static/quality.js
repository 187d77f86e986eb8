// Quality sampling (质检): the samples drawn for the supervisors, a sample's recording (heard
// through GET /recordings/<id>?reason=…, which audits the access under this person), the
// form ops defined (GET /quality/form) and the score (POST, with the CSRF token). Auditors
// read the same page without the score button.
"use strict";

let me = null;
let form = null;
let current = null;

function el(id) {
  return document.getElementById(id);
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function itemLabel(item) {
  return lang() === "en" ? item.en : item.zh;
}

async function loadSamples() {
  const query = new URLSearchParams({ status: el("status").value });
  if (el("day").value) query.set("day", el("day").value);
  const resp = await fetch(`/quality/samples?${query}`);
  const body = resp.ok ? await resp.json() : { samples: [] };
  const rows = body.samples.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.sample = s.id;
    tr.append(cell(s.id), cell(s.day), cell(s.agent), cell(duration(s.seconds)),
      cell(s.score ? s.score.score.toFixed(2) : "—", "score"));
    const td = document.createElement("td");
    if (!s.score && me.roles.includes("supervisor") && !s.audio_purged) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "open";
      button.textContent = t("score_it");
      button.addEventListener("click", () => openSheet(s));
      td.append(button);
    }
    tr.append(td);
    return tr;
  });
  el("samples").tBodies[0].replaceChildren(...rows);
  el("none").hidden = rows.length > 0;
}

function total() {
  let weights = 0, earned = 0;
  for (const item of form.items) {
    weights += item.weight;
    earned += item.weight * Number(el(`item-${item.item}`).value) / item.points;
  }
  return weights ? Math.round(10000 * earned / weights) / 100 : 0;
}

function drawForm() {
  const rows = form.items.map((item) => {
    const tr = document.createElement("tr");
    const select = document.createElement("select");
    select.id = `item-${item.item}`;
    const options = item.points === 1
      ? [new Option(t("fail"), "0"), new Option(t("pass"), "1")]
      : Array.from({ length: item.points + 1 }, (_, n) => new Option(String(n), String(n)));
    select.replaceChildren(...options);
    select.value = String(item.points);
    select.addEventListener("change", () => { el("total").textContent = total().toFixed(2); });
    const td = document.createElement("td");
    td.append(select);
    tr.append(cell(itemLabel(item)), cell(item.weight), td);
    return tr;
  });
  el("items").tBodies[0].replaceChildren(...rows);
  el("total").textContent = total().toFixed(2);
}

function openSheet(sample) {
  current = sample;
  el("sheet").hidden = false;
  el("sheet-id").textContent = sample.id;
  el("sheet-agent").textContent = sample.agent;
  el("comment").value = "";
  el("error").textContent = "";
  el("audio").removeAttribute("src");
  drawForm();
}

// One request per playback: the recording is fetched once (one audit row) and played from
// memory, not streamed by the audio element (which may ask again and again for ranges).
async function play() {
  const reason = `质检 quality sample ${current.id}`;
  const resp = await fetch(`/recordings/${current.recording}?reason=${encodeURIComponent(reason)}`);
  if (!resp.ok) {
    el("error").textContent = t("refused");
    return;
  }
  const audio = el("audio");
  if (audio.src) URL.revokeObjectURL(audio.src);
  audio.src = URL.createObjectURL(await resp.blob());
  audio.dataset.loaded = String(current.id);
  await audio.play().catch(() => {});  // a headless browser may have no sound to play on
}

async function submit() {
  const items = {};
  for (const item of form.items) items[item.item] = Number(el(`item-${item.item}`).value);
  const resp = await fetch(`/quality/samples/${current.id}/score`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf_token },
    body: JSON.stringify({ items, comment: el("comment").value }),
  });
  if (!resp.ok) {
    el("error").textContent = t("refused");
    return;
  }
  el("sheet").hidden = true;
  await loadSamples();
  await loadMonth();
}

async function loadMonth() {
  if (!el("month").value) return;
  const resp = await fetch(`/quality/scores?month=${el("month").value}`);
  const body = resp.ok ? await resp.json() : { agents: [] };
  el("months").tBodies[0].replaceChildren(...body.agents.map((a) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.agent;
    tr.append(cell(a.agent), cell(a.samples), cell(a.scored),
      cell(a.average === null ? "—" : a.average.toFixed(2), "average"));
    return tr;
  }));
}

document.addEventListener("DOMContentLoaded", async () => {
  me = await shell(["supervisor", "auditor"]);
  if (me === null) return;
  el("to-wallboard").hidden = !me.roles.includes("supervisor");
  const resp = await fetch("/quality/form");
  form = await resp.json();
  el("month").value = new Date().toISOString().slice(0, 7);
  el("reload").addEventListener("click", loadSamples);
  el("month-show").addEventListener("click", loadMonth);
  el("play").addEventListener("click", play);
  el("submit").addEventListener("click", submit);
  document.addEventListener("languagechange", () => {
    if (current !== null && !el("sheet").hidden) {
      for (const [n, item] of form.items.entries()) {
        el("items").tBodies[0].rows[n].cells[0].textContent = itemLabel(item);
      }
    }
    loadSamples();
  });
  await loadSamples();
  await loadMonth();
});
