// One site: grade, why and its reasons, how its leads close, alerts per day (history), recent alerts.
import { api, el, t, params, fmtTime, rule, state, badge, gradeReasons } from "./common.js";
import { barChart } from "./charts.js";

const main = document.getElementById("main");

const zh = document.documentElement.lang === "zh";
const pct = (x) => (x == null ? "—" : `${(x * 100).toFixed(1)}%`);

function loop(stats) {
  const row = (name, s) => el("tr", {}, el("th", {}, name), el("td", {}, s.leads), el("td", {}, pct(s.disposal_rate)),
    el("td", {}, s.median_close_hours ?? "—"), el("td", {}, `${pct(s.precision)} (${s.confirmed}/${s.reviewed})`),
    el("td", {}, pct(s.field_precision)));
  return el("table", { class: "list", id: "loop" },
    el("thead", {}, el("tr", {}, ["stats.scope", "stats.leads", "stats.disposal", "stats.close", "stats.precision",
                                  "stats.field_precision"].map((k) => el("th", {}, t(k))))),
    el("tbody", {}, row(t("stats.overall"), stats.overall),
       Object.entries(stats.by_rule).map(([r, s]) => row(rule(r), s))));
}

async function start() {
  const site = encodeURIComponent(params.site_id);
  const [s, cams, stats] = await Promise.all([api(`/api/sites/${site}?days=30`),
                                              api(`/api/cameras?site=${site}`).catch(() => ({ items: [] })),
                                              api(`/api/enforcement/stats?site=${site}`)]);
  const camName = Object.fromEntries(cams.items.map((c) => [c.id, c.name]));
  const reasons = gradeReasons(s);
  main.append(
    el("div", { class: `site-head grade-${s.grade}` },
      el("div", { class: "grade-chip big", id: "grade" }, t("grade." + s.grade)),
      el("div", {}, el("h1", {}, s.name), el("p", { class: "muted" }, `${s.address} · ${s.operator}`),
        el("p", { id: "grade-why" }, el("strong", {}, `${t("site.explanation")}: `), zh ? s.explanation_zh : s.explanation),
        reasons.length ? el("ul", { class: "reasons" }, reasons.map((r) => el("li", {}, r)))
                       : el("p", {}, t("site.noreasons")))),
    el("h2", {}, t("stats.title")), loop(stats),
    el("h2", {}, t("site.history")),
    el("div", { class: "card" }, barChart(s.history, ["confirmed", "new", "rejected"], ["#d6336c", "#f59f00", "#adb5bd"]),
      el("p", { class: "legend-row" }, ["confirmed", "new", "rejected"].map((k, i) =>
        el("span", {}, el("i", { class: "swatch", style: `background:${["#d6336c", "#f59f00", "#adb5bd"][i]}` }), state(k))))),
    el("h2", {}, t("site.alerts")),
    el("table", { class: "list" }, el("tbody", {}, s.alerts.map((a) => el("tr", {},
      el("td", {}, fmtTime(a.started_at)), el("td", {}, el("a", { href: `/alerts/${a.id}` }, rule(a.rule))),
      el("td", {}, camName[a.camera_id] || a.camera_id),
      el("td", {}, badge("st-" + a.state, state(a.state))),
      el("td", {}, a.lead_id ? el("a", { href: `/leads/${a.lead_id}` }, `#${a.lead_id}`) : "")))))
  );
}
start();
