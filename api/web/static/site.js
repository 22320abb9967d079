// One site: grade and reasons, alerts per day (history), recent alerts.
import { api, el, t, params, fmtTime, rule, state, badge, gradeReasons } from "./common.js";
import { barChart } from "./charts.js";

const main = document.getElementById("main");

async function start() {
  const [s, cams] = await Promise.all([api(`/api/sites/${encodeURIComponent(params.site_id)}?days=30`),
                                       api(`/api/cameras?site=${encodeURIComponent(params.site_id)}`).catch(() => ({ items: [] }))]);
  const camName = Object.fromEntries(cams.items.map((c) => [c.id, c.name]));
  main.append(
    el("div", { class: `site-head grade-${s.grade}` },
      el("div", { class: "grade-chip big", id: "grade" }, t("grade." + s.grade)),
      el("div", {}, el("h1", {}, s.name), el("p", { class: "muted" }, `${s.address} · ${s.operator}`),
        s.reasons.length ? el("ul", { class: "reasons" }, gradeReasons(s).map((r) => el("li", {}, r)))
                         : el("p", {}, t("site.noreasons")))),
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
