// Models: build datasets, train (live progress and curves from job.progress events), registry with promote / rollback.
import { api, el, t, tn, fmtTime, onLive, toast } from "./common.js";

const profile = (p) => t("profile.short." + p);  // "site" / "工地": a short name in the page's language
import { lineChart } from "./charts.js";

const main = document.getElementById("main");
const isAdmin = document.body.dataset.role === "admin";
const jobsBox = el("div", { id: "jobs" });
const modelsBox = el("div", { id: "models" });
const jobs = new Map(); // id -> job, kept current by job.progress events
// a job only moves forward: queued -> running -> cancelling or registering -> done, failed or cancelled
const RANK = { queued: 0, running: 1, cancelling: 2, registering: 2, done: 3, failed: 3, cancelled: 3 };
const ENDED = RANK.done;
const newer = (j) => !jobs.has(j.id) || RANK[j.status] >= RANK[jobs.get(j.id).status];

const num = (v) => (typeof v === "number" ? (Math.abs(v) < 10 ? v.toFixed(3) : v.toFixed(0)) : v ?? "—");
const field = (key, input) => el("label", {}, t(key), input);

// a 422 from pydantic is a list of {loc, msg}; ours are strings
function reason(err) {
  try {
    const d = JSON.parse(err.message);
    if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(-1)[0]}: ${e.msg}`).join("; ");
  } catch (e) { /* a plain message */ }
  return err.message;
}

function history(metrics) {
  const h = metrics?.history || metrics?.epochs || [];
  return Array.isArray(h) ? h : [];
}

function curves(h) {
  if (!h.length) return el("p", { class: "muted" }, t("models.nocurve"));
  const keys = [...new Set(h.flatMap((r) => Object.keys(r)))].filter((k) => k !== "epoch" && h.some((r) => typeof r[k] === "number"));
  const quality = keys.filter((k) => !/loss/i.test(k)), losses = keys.filter((k) => /loss/i.test(k));
  const series = (ks) => ks.map((k) => ({ name: k, points: h.filter((r) => typeof r[k] === "number").map((r, i) => [r.epoch ?? i + 1, r[k]]) }));
  return el("div", { class: "charts" },
    quality.length ? lineChart(series(quality), { yMax: 1, label: "quality" }) : null,
    losses.length ? lineChart(series(losses), { label: "loss" }) : null);
}

// a trained model's own evaluation; for a shipped model, its card's held-out real-footage figures (models/*.json)
function evaluated(metrics) {
  if (metrics?.evaluation?.candidate) return metrics.evaluation.candidate;
  const card = metrics?.card?.metrics;
  if (card && typeof card === "object") {
    const real = card.real_heldout || Object.values(card)[0] || {};
    const scenes = card.scenes_heldout || {};
    // the card's headline: AP50 on whole sources the model never trained on (mean over classes), then its own split
    const held = Object.values(card.by_source?.heldout?.per_class || {}).filter((v) => typeof v === "number");
    const heldout = held.length ? held.reduce((a, b) => a + b, 0) / held.length : undefined;
    return { heldout_source_map50: heldout, map50: real.mAP50, map50_95: real.mAP50_95, scenes_map50: scenes.mAP50,
             per_class: real.per_class, imgsz: metrics.imgsz };
  }
  return metrics;
}

function perClass(metrics) {
  const pc = evaluated(metrics)?.per_class;
  if (!pc || typeof pc !== "object") return null;
  const rows = Object.entries(pc);
  const cols = [...new Set(rows.flatMap(([, v]) => Object.keys(v || {})))];
  return el("table", { class: "list compact" }, el("thead", {}, el("tr", {}, el("th", {}, t("review.class")), cols.map((c) => el("th", {}, c)))),
    el("tbody", {}, rows.map(([cls, v]) => el("tr", {}, el("td", {}, cls), cols.map((c) => el("td", {}, num(v?.[c])))))));
}

const HEADLINE = ["heldout_source_map50", "map50", "map50_95", "false_violations_per_hour", "precision", "recall"];

function summary(metrics) {
  const m = evaluated(metrics) || {};
  const keys = [...HEADLINE.filter((k) => typeof m[k] === "number"),
                ...Object.keys(m).filter((k) => !HEADLINE.includes(k) && typeof m[k] === "number")];
  const fmt = (v) => (Number.isInteger(v) ? String(v) : num(v));
  return keys.length ? el("span", { class: "mono" }, keys.slice(0, 4).map((k) => `${k} ${fmt(m[k])}`).join(" · ")) : "—";
}

function modelCurves(m) {
  const own = history(m.metrics);
  return curves(own.length ? own : history(jobs.get(m.metrics?.job_id)?.metrics));
}

function modelRow(m) {
  const gate = el("p", { class: "gate-refusal", hidden: true });
  const promote = async (force = false) => {
    try {
      const r = await api(`/api/models/${m.id}/promote`, { method: "POST", body: { force } });
      toast(`${t("models.promoted", { v: m.version })} · ${r.gate.reason}`); loadModels();
    } catch (e) {
      gate.textContent = t("models.refused", { reason: reason(e) }); gate.hidden = false;
    }
  };
  const rollback = async () => {
    await api("/api/models/rollback", { method: "POST", body: { profile: m.profile } });
    toast(t("models.rolledback")); loadModels();
  };
  return [el("tr", { dataset: { model: m.id } },
    el("td", {}, el("strong", {}, m.name), " ", m.version), el("td", {}, profile(m.profile)),
    el("td", {}, el("span", { class: `badge model-${m.status}` }, t("model." + m.status))),
    el("td", {}, summary(m.metrics)), el("td", {}, m.dataset_version || "—"), el("td", {}, fmtTime(m.created_at)),
    el("td", {}, m.status === "candidate" ? el("button", { class: "small", dataset: { act: "promote" }, onclick: () => promote(false) }, t("models.promote")) : null,
      m.status === "candidate" && isAdmin ? el("button", { class: "small ghost", dataset: { act: "force" }, onclick: () => promote(true) }, t("models.force")) : null,
      m.status === "promoted" ? el("button", { class: "small bad", dataset: { act: "rollback" }, onclick: rollback }, t("models.rollback")) : null)),
    el("tr", { class: "detail" }, el("td", { colspan: 7 }, gate, modelCurves(m), perClass(m.metrics)))];
}

async function loadModels() {
  const data = await api("/api/models?limit=50");
  modelsBox.replaceChildren(data.items.length ? el("table", { class: "list" },
    el("thead", {}, el("tr", {}, ["models.model", "field.profile", "field.status", "models.metrics", "models.dataset",
      "field.created", ""].map((k) => el("th", {}, k ? t(k) : "")))),
    el("tbody", {}, data.items.flatMap(modelRow))) : el("p", { class: "empty" }, t("models.none")));
  // fine-tuning the promoted model makes a useful model in few epochs; it needs a .pt checkpoint (shipped .onnx
  // models have none), so the form starts from it only when there is one
  const base = document.getElementById("train-base");
  if (base && data.items.some((m) => m.status === "promoted" && m.format === "pt")) base.value = "promoted";
}

// ---- training jobs: one card each, updated in place by job.progress events
function jobCard(j) {
  const pct = j.status === "done" ? 100 : j.epochs ? Math.round((100 * j.epoch) / j.epochs) : 0;
  const cancel = async () => {
    if (!window.confirm(t("models.cancelconfirm", { id: j.id }))) return;
    try {
      const r = await api(`/api/jobs/${j.id}/cancel`, { method: "POST" });
      const was = jobs.get(j.id)?.status; // a job.progress event may have ended it already
      if (newer(r)) upsert(r);
      if (r.status === "cancelling") toast(t("models.jobcancelling", { id: j.id }));
      else if (!(RANK[was] >= ENDED)) toast(t("models.jobcancelled", { id: j.id }));
    } catch (e) { /* api() showed why (409: it already ended) */ }
  };
  const cancellable = j.status === "queued" || j.status === "running";
  return el("article", { class: `card job job-${j.status}`, dataset: { job: j.id, status: j.status } },
    el("h3", {}, `#${j.id} ${profile(j.profile)} `, el("span", { class: "muted" }, j.dataset_version || ""), " ",
      el("span", { class: `badge status job-${j.status}` }, t("job." + j.status)),
      cancellable ? el("button", { class: "small ghost", dataset: { act: "cancel" }, onclick: cancel }, t("models.cancel")) : null),
    el("div", { class: "progress", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 },
      el("div", { style: `width:${pct}%` })),
    el("p", { class: "muted epoch" }, t("models.epoch", { e: j.epoch, n: j.epochs }),
      j.metrics?.model ? ` · ${t("field.model")} ${j.metrics.model.version}` : "",
      j.error ? el("span", { class: "error" }, " " + j.error) : ""),
    curves(history(j.metrics)));
}

function upsert(j) {
  jobs.set(j.id, j);
  const card = jobCard(j), old = jobsBox.querySelector(`[data-job="${j.id}"]`);
  if (old) old.replaceWith(card);
  else { jobsBox.querySelector(".empty")?.remove(); jobsBox.prepend(card); }
}

async function loadJobs() {
  const data = await api("/api/jobs?limit=20");
  jobs.clear();
  data.items.forEach((j) => jobs.set(j.id, j));
  jobsBox.replaceChildren(...(data.items.length ? data.items.map(jobCard) : [el("p", { class: "empty" }, t("models.nojobs"))]));
}

function onProgress(p) {
  const j = jobs.get(p.id);
  if (!j) { loadJobs(); return; } // submitted elsewhere (another user, the CLI)
  if (RANK[p.status] < RANK[j.status]) return; // the runner took it before its "queued" arrived
  const h = [...history(j.metrics)];
  if (p.latest?.epoch && !h.some((r) => r.epoch === p.latest.epoch)) h.push(p.latest);
  upsert({ ...j, status: p.status, epoch: p.epoch, epochs: p.epochs, error: p.error, model_version_id: p.model_version_id,
           metrics: { ...(j.metrics || {}), latest: p.latest, history: h, model: p.model || j.metrics?.model } });
  if (RANK[p.status] === ENDED && RANK[j.status] < ENDED) {
    if (p.status === "done") { toast(t("models.jobdone", { id: p.id, v: p.model?.version ?? "" })); loadModels(); }
    else toast(t(p.status === "failed" ? "models.jobfailed" : "models.jobcancelled", { id: p.id }), p.status === "failed");
  }
}

// ---- forms: build a dataset version, train on one
const datasetSelect = el("select", { name: "dataset", id: "train-dataset", required: true });
const trainError = el("p", { class: "form-error", hidden: true });

async function loadDatasets(selected) {
  const data = await api("/api/datasets");
  datasetSelect.replaceChildren(...data.items.map((d) => el("option", { value: d.name, selected: d.name === selected },
    `${d.name} · ${profile(d.profile)} · ${tn("models.images", d.stats?.images ?? "?")}`)));
  trainError.hidden = data.items.length > 0;
  if (!data.items.length) trainError.textContent = t("train.nodata");
  datasetLinks.replaceChildren(...data.items.map((d) => el("li", {},
    el("a", { href: `/datasets/${d.id}`, dataset: { dataset: d.id } }, d.name), ` · ${profile(d.profile)} · ${tn("models.images", d.stats?.images ?? "?")}`)));
}
const datasetLinks = el("ul", { id: "dataset-links", class: "dataset-links" });

function trainForm() {
  const form = el("form", { id: "train-form", class: "filters card" },
    field("train.dataset", datasetSelect),
    field("train.epochs", el("input", { name: "epochs", type: "number", min: 1, max: 1000, value: 30, required: true })),
    field("train.imgsz", el("input", { name: "imgsz", type: "number", min: 32, max: 1920, step: 32, value: 320, required: true })),
    field("train.batch", el("input", { name: "batch", type: "number", min: 1, max: 512, value: 16, required: true })),
    field("train.device", el("input", { name: "device", value: "cpu", size: 6, required: true })),
    field("train.base", el("select", { name: "base", id: "train-base" }, el("option", { value: "scratch" }, t("train.scratch")),
      el("option", { value: "promoted" }, t("train.frompromoted")))),
    el("button", { type: "submit", id: "train-submit" }, t("train.start")), trainError);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { dataset: f.get("dataset"), epochs: +f.get("epochs"), imgsz: +f.get("imgsz"), batch: +f.get("batch"),
                   device: String(f.get("device")).trim(), base: f.get("base") };
    try {
      const job = await api("/api/jobs", { method: "POST", body });
      trainError.hidden = true; toast(t("train.queued", { id: job.id }));
      if (newer(job)) upsert(job);
    } catch (e) { trainError.textContent = reason(e); trainError.hidden = false; }
  });
  return form;
}

function buildForm() {
  const status = el("p", { class: "muted build-status" });
  let building = null; // the build being polled: its worker process can be stopped
  const cancel = el("button", { type: "button", id: "build-cancel", class: "ghost", hidden: true }, t("build.cancel"));
  cancel.addEventListener("click", async () => {
    try { if (building) finish(await api(`/api/datasets/builds/${building}/cancel`, { method: "POST" })); }
    catch (e) { status.textContent = reason(e); }
  });
  const form = el("form", { id: "build-form", class: "filters card" },
    field("build.profile", el("select", { name: "profile" }, ["site", "lab"].map((p) => el("option", { value: p }, profile(p))))),
    field("build.reviews", el("input", { name: "reviews", type: "checkbox", checked: true })),
    field("build.seeds", el("input", { name: "seeds", placeholder: "11, 12, 13", size: 12 })),
    field("build.duration", el("input", { name: "duration", type: "number", min: 1, max: 600, value: 20 })),
    field("build.name", el("input", { name: "name", size: 12 })),
    el("button", { type: "submit", id: "build-submit" }, t("build.start")), cancel, status);
  const finish = (b) => {
    building = null; cancel.hidden = true;
    if (b.status === "cancelled") status.textContent = t("build.cancelled");
    else if (b.status === "done") {
      status.textContent = t(b.version.created ? "build.done" : "build.same", { name: b.version.name });
      loadDatasets(b.version.name);
    } else status.textContent = t("build.failed", { error: b.error });
  };
  const poll = async (id) => {
    if (building !== id) return; // cancelled, or another build started
    const b = await api(`/api/datasets/builds/${id}`);
    if (b.status !== "running") return finish(b);
    status.textContent = t("build.running", { stage: b.stage, n: b.items });
    setTimeout(() => poll(id), 1000);
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const seeds = String(f.get("seeds")).split(/[\s,]+/).filter(Boolean).map(Number);
    const body = { profile: f.get("profile"), reviews: f.get("reviews") === "on", scene_seeds: seeds,
                   scene_duration_s: +f.get("duration") || 20, wait_s: 2 };
    if (String(f.get("name")).trim()) body.name = String(f.get("name")).trim();
    try {
      const r = await api("/api/datasets", { method: "POST", body });
      if (r.version) finish({ ...r.build, version: r.version });
      else { building = r.build.id; cancel.hidden = false; poll(r.build.id); }
    } catch (e) { status.textContent = reason(e); }
  });
  return form;
}

main.append(el("h1", {}, t("nav.models")),
            el("div", { class: "model-forms" }, el("section", {}, el("h2", {}, t("build.title")), buildForm(),
                                                   el("h3", {}, t("datasets.browse")), datasetLinks),
              el("section", {}, el("h2", {}, t("train.title")), trainForm())),
            el("h2", {}, t("models.jobs")), jobsBox, el("h2", {}, t("models.registry")), modelsBox);
onLive("job.progress", onProgress);
loadDatasets();
loadJobs().then(loadModels);
