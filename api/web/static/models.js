// Models: the registry with metrics and per-class results, promote / rollback, training jobs with live curves.
import { api, el, t, fmtTime, onLive, toast } from "./common.js";
import { lineChart } from "./charts.js";

const main = document.getElementById("main");
const isAdmin = document.body.dataset.role === "admin";
const jobsBox = el("div", { id: "jobs" });
const modelsBox = el("div", { id: "models" });

const num = (v) => (typeof v === "number" ? (Math.abs(v) < 10 ? v.toFixed(3) : v.toFixed(0)) : v ?? "—");

function history(metrics) {
  const h = metrics?.history || metrics?.epochs || [];
  return Array.isArray(h) ? h : [];
}

function curves(metrics) {
  const h = history(metrics);
  if (!h.length) return el("p", { class: "muted" }, t("models.nocurve"));
  const keys = [...new Set(h.flatMap((r) => Object.keys(r)))].filter((k) => k !== "epoch" && typeof h[0][k] === "number");
  const quality = keys.filter((k) => !/loss/i.test(k)), losses = keys.filter((k) => /loss/i.test(k));
  const series = (ks) => ks.map((k) => ({ name: k, points: h.filter((r) => typeof r[k] === "number").map((r, i) => [r.epoch ?? i + 1, r[k]]) }));
  return el("div", { class: "charts" },
    quality.length ? lineChart(series(quality), { yMax: 1, label: "quality" }) : null,
    losses.length ? lineChart(series(losses), { label: "loss" }) : null);
}

function perClass(metrics) {
  const pc = metrics?.per_class;
  if (!pc || typeof pc !== "object") return null;
  const rows = Object.entries(pc);
  const cols = [...new Set(rows.flatMap(([, v]) => Object.keys(v || {})))];
  return el("table", { class: "list compact" }, el("thead", {}, el("tr", {}, el("th", {}, t("review.class")), cols.map((c) => el("th", {}, c)))),
    el("tbody", {}, rows.map(([cls, v]) => el("tr", {}, el("td", {}, cls), cols.map((c) => el("td", {}, num(v?.[c])))))));
}

function summary(metrics) {
  const flat = Object.entries(metrics || {}).filter(([, v]) => typeof v === "number");
  return flat.length ? el("span", { class: "mono" }, flat.slice(0, 4).map(([k, v]) => `${k} ${num(v)}`).join(" · ")) : "—";
}

function modelRow(m) {
  const promote = async (force = false) => {
    await api(`/api/models/${m.id}/promote`, { method: "POST", body: { force } });
    toast(t("models.promoted", { v: m.version })); loadModels();
  };
  return [el("tr", { dataset: { model: m.id } },
    el("td", {}, el("strong", {}, m.name), " ", m.version), el("td", {}, m.profile),
    el("td", {}, el("span", { class: `badge model-${m.status}` }, t("model." + m.status))),
    el("td", {}, summary(m.metrics)), el("td", {}, m.dataset_version || "—"), el("td", {}, fmtTime(m.created_at)),
    el("td", {}, m.status === "candidate" ? el("button", { class: "small", onclick: () => promote(false) }, t("models.promote")) : null,
      m.status === "candidate" && isAdmin ? el("button", { class: "small ghost", onclick: () => promote(true) }, t("models.force")) : null,
      m.status === "promoted" ? el("button", { class: "small bad", onclick: async () => {
        await api("/api/models/rollback", { method: "POST", body: { profile: m.profile } });
        toast(t("models.rolledback")); loadModels(); } }, t("models.rollback")) : null)),
    el("tr", { class: "detail" }, el("td", { colspan: 7 }, curves(m.metrics), perClass(m.metrics)))];
}

async function loadModels() {
  const data = await api("/api/models?limit=50");
  modelsBox.replaceChildren(data.items.length ? el("table", { class: "list" },
    el("thead", {}, el("tr", {}, ["models.model", "field.profile", "field.status", "models.metrics", "models.dataset",
      "field.created", ""].map((k) => el("th", {}, k ? t(k) : "")))),
    el("tbody", {}, data.items.flatMap(modelRow))) : el("p", { class: "empty" }, t("models.none")));
}

function jobCard(j) {
  const pct = j.epochs ? Math.round((100 * j.epoch) / j.epochs) : 0;
  return el("article", { class: `card job job-${j.status}`, dataset: { job: j.id } },
    el("h3", {}, `#${j.id} ${j.profile} `, el("span", { class: "badge" }, t("job." + j.status))),
    el("div", { class: "progress" }, el("div", { style: `width:${pct}%` })),
    el("p", { class: "muted" }, t("models.epoch", { e: j.epoch, n: j.epochs }), j.error ? el("span", { class: "error" }, " " + j.error) : ""),
    curves(j.metrics));
}

async function loadJobs() {
  const data = await api("/api/jobs?limit=10");
  jobsBox.replaceChildren(...(data.items.length ? data.items.map(jobCard) : [el("p", { class: "empty" }, t("models.nojobs"))]));
}

main.append(el("h1", {}, t("nav.models")), el("h2", {}, t("models.registry")), modelsBox,
            el("h2", {}, t("models.jobs")), jobsBox);
loadModels(); loadJobs();
let pending = null;
onLive("job.progress", () => { clearTimeout(pending); pending = setTimeout(loadJobs, 300); });
