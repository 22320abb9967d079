// One alert: best frame (annotated, or raw with boxes drawn here in the page's language), the clip or "clip
// pending", evidence files with hashes, manifest revisions, history, its repeats (decided as a group), links.
import { api, el, svg, t, tn, params, fmtTime, rule, state, badge, toast, onLive } from "./common.js";

const main = document.getElementById("main");
const id = params.alert_id;
const role = document.body.dataset.role;
const canReview = role === "reviewer" || role === "admin";
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990"];
let view = "raw";  // boxes drawn here speak the page's language; the signed annotated frame is one click away

function frame(a) {
  const img = el("img", { id: "frame", alt: rule(a.rule),
    src: `/api/alerts/${a.id}/evidence/${view === "raw" ? "best_raw.jpg" : "best_annotated.jpg"}` });
  const layer = svg("svg", { class: "boxes", id: "frame-boxes", preserveAspectRatio: "none" });
  img.onload = () => {
    layer.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
    if (view !== "raw") return;
    const fs = Math.max(12, img.naturalWidth / 60);
    layer.replaceChildren(...a.detections.map((d) => {
      const c = PALETTE[Math.max(0, a.classes.indexOf(d.class_name)) % PALETTE.length];
      const label = `${t("class." + d.class_name)} ${d.confidence.toFixed(2)}`;
      return svg("g", { class: "det" },
        svg("rect", { x: d.x1, y: d.y1, width: d.x2 - d.x1, height: d.y2 - d.y1, fill: "none", stroke: c,
                      "stroke-width": Math.max(2, img.naturalWidth / 400) }),
        svg("rect", { x: d.x1, y: Math.max(0, d.y1 - fs * 1.3), width: label.length * fs * 0.62 + fs, height: fs * 1.3,
                      fill: c }),
        svg("text", { x: d.x1 + fs / 2, y: Math.max(fs, d.y1 - fs * 0.3), fill: "#fff", "font-size": fs }, label));
    }));
  };
  const tabs = el("div", { class: "tabs" }, ["raw", "annotated"].map((v) =>
    el("button", { class: v === view ? "" : "ghost", id: `view-${v}`,
                   onclick: () => { view = v; render(); } }, t("alert.view." + v))));
  return el("section", { class: "alert-frame" }, tabs, el("div", { class: "frame-box" }, img, layer));
}

function clip(a) {
  const c = a.evidence.find((e) => e.name.endsWith(".mp4"));
  if (!c) return el("div", { class: "clip-pending", id: "clip-pending" }, el("strong", {}, t("alert.clip.pending")),
                    el("p", { class: "muted" }, t("alert.clip.pending.text")));
  return el("video", { id: "clip", src: c.url, controls: true, muted: true, preload: "metadata", playsinline: true });
}

function facts(a) {
  const rows = [
    [t("field.camera"), el("a", { id: "camera-link", href: `/wall/${encodeURIComponent(a.camera_id)}` }, a.camera_name)],
    [t("field.site"), el("a", { id: "site-link", href: `/sites/${encodeURIComponent(a.site_id)}` }, a.site_name)],
    [t("nav.lead"), a.lead_id ? el("a", { id: "lead-link", href: `/leads/${a.lead_id}` }, `#${a.lead_id}`) : "—"],
    [t("field.time"), `${fmtTime(a.started_at)} – ${a.ongoing ? t("alert.ongoing") : fmtTime(a.ended_at)}`],
    [t("field.best"), fmtTime(a.best_at)],
    [t("field.score"), a.best_score.toFixed(2)],
    [t("field.severity"), String(a.severity)],
    [t("field.model"), a.model || "—"],
    [t("field.reviewed"), a.reviewed_at ? fmtTime(a.reviewed_at) : "—"],
    [t("alert.acknowledged"), el("span", { id: "acknowledged" },
      a.acknowledged_at ? t("alert.acknowledged.by", { who: a.acknowledged_by, at: fmtTime(a.acknowledged_at) }) : "—")],
  ];
  if (a.review_note) rows.push([t("review.note"), a.review_note]);
  if (a.missed) rows.push([t("missed.badge"), [a.marked_by || "—", a.thresholds?.note ? ` — ${a.thresholds.note}` : ""].join("")]);
  return el("dl", { class: "facts" }, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function evidence(a) {
  const files = el("table", { class: "list evidence", id: "evidence" }, el("tbody", {}, a.evidence.map((e) =>
    el("tr", {}, el("td", {}, el("a", { href: e.url, target: "_blank" }, e.name)),
       el("td", { class: "muted" }, `${(e.size / 1024).toFixed(0)} KiB`),
       el("td", { class: "mono", title: e.sha256 }, e.sha256.slice(0, 16) + "…")))));
  const revs = el("ul", { class: "revisions", id: "revisions" }, (a.revisions || []).map((r) =>
    el("li", {}, el("a", { href: `/api/alerts/${a.id}/evidence/manifest.r${r}.json`, target: "_blank" },
      t("alert.revision", { n: r })), " ",
      el("a", { class: "muted", href: `/api/alerts/${a.id}/evidence/manifest.r${r}.json.sig`, target: "_blank" },
        t("alert.signature")))));
  return [el("h2", {}, t("alert.evidence")), files,
          el("p", {}, el("a", { id: "manifest-link", href: `/api/alerts/${a.id}/evidence/manifest.json`, target: "_blank" },
                         t("alert.manifest")), " ", el("span", { class: "mono muted" }, a.manifest_sha256.slice(0, 16) + "…")),
          el("h3", {}, t("alert.revisions")), revs];
}

function historyList(h) {
  const line = (e) => {
    const d = e.detail || {};
    const what = e.action === "label_saved" ? t("alert.history.label_saved", { kind: t("label." + d.kind) })
      : t("alert.history." + e.action, { from: d.from ? state(d.from) : "" });
    return el("li", {}, el("span", { class: "muted" }, fmtTime(e.at)), " ", el("strong", {}, e.actor), " ", what,
              d.note ? el("q", {}, d.note) : null);
  };
  return [el("h2", {}, t("alert.history")),
          h.items.length ? el("ol", { class: "timeline", id: "alert-history" }, h.items.map(line))
                         : el("p", { class: "muted", id: "alert-history" }, t("alert.history.none")),
          el("p", { class: "muted" }, tn("alert.views", h.evidence_views))];
}

async function decide(action, ids, label) {
  const res = await api("/api/alerts/bulk", { method: "POST", body: { action, ids } });
  toast(t(`alerts.bulk.${action}`, { n: res.done.length }));
  if (res.undo) document.body.dataset.undo = JSON.stringify(res.undo);
  await render();
}

// "I've seen it": anyone on the wall may acknowledge; it stops the flash, the review state stays as it is
const ACKERS = ["operator", "reviewer", "officer", "admin"];
function ackButton(a) {
  if (a.acknowledged_at || !ACKERS.includes(role)) return null;
  return el("div", { class: "actions" }, el("button", { id: "acknowledge", onclick: async () => {
    await api(`/api/alerts/${a.id}/acknowledge`, { method: "POST" });
    toast(t("wall.acknowledged"));
    await render();
  } }, t("wall.acknowledge")));
}

function groupPanel(a, g) {
  const open = g.items.filter((x) => x.state !== "new").map((x) => x.id);
  const actions = canReview ? el("div", { class: "actions", id: "decide" },
    a.state !== "new" ? el("button", { id: "reopen", class: "ghost", onclick: () => decide("reopen", [a.id]) }, t("alert.reopen"))
      : [el("button", { id: "confirm-one", class: "good", onclick: () => decide("confirm", [a.id]) }, t("review.confirm")),
         el("button", { id: "reject-one", class: "bad", onclick: () => decide("reject", [a.id]) }, t("review.reject"))],
    g.ids.length > 1 ? [
      el("button", { id: "confirm-group", class: "good", onclick: () => decide("confirm", g.ids) },
         tn("alert.group.confirm", g.ids.length)),
      el("button", { id: "reject-group", class: "bad", onclick: () => decide("reject", g.ids) },
         tn("alert.group.reject", g.ids.length)),
      open.length ? el("button", { id: "reopen-group", class: "ghost", onclick: () => decide("reopen", open) },
                       tn("alert.group.reopen", open.length)) : null] : null) : null;
  return [ackButton(a), actions,
    el("h2", {}, tn("alert.group.title", g.ids.length)),
    el("ol", { class: "group-list", id: "group" }, g.items.map((x) => el("li", { class: x.id === a.id ? "current" : "" },
      el("a", { href: `/alerts/${x.id}` }, fmtTime(x.started_at)), " ", badge("st-" + x.state, state(x.state)))))];
}

async function render() {
  const [a, g, h] = await Promise.all([api(`/api/alerts/${id}`), api(`/api/alerts/${id}/group`),
                                       api(`/api/alerts/${id}/history`)]);
  main.replaceChildren(
    el("p", {}, el("a", { href: "/alerts" }, "← " + t("nav.alerts"))),
    el("div", { class: "alert-head" }, el("h1", { id: "alert-title" }, rule(a.rule)),
      badge("st-" + a.state, state(a.state), "alert-state"), a.ongoing ? badge("ongoing", t("alert.ongoing")) : null,
      a.missed ? badge("missed", t("missed.badge")) : null),
    el("div", { class: "alert-detail" },
      el("div", {}, frame(a), el("h2", {}, t("review.clip")), clip(a)),
      el("aside", { class: "panel" }, facts(a), groupPanel(a, g), historyList(h), evidence(a))));
  document.body.dataset.state = a.state;
  document.body.dataset.ready = "1";
}

onLive("alert.updated", (p) => { if (p.id === id) render(); });
render();
