// Sites with their colour grade, reasons, cameras, confirmed alerts, open leads and how their leads close.
import { api, el, t, tn, gradeReasons } from "./common.js";

const main = document.getElementById("main");

async function start() {
  const [data, stats] = await Promise.all([api("/api/sites"), api("/api/enforcement/stats")]);
  const pct = (x) => (x == null ? "—" : `${(x * 100).toFixed(0)}%`);
  const loop = (id) => {
    const s = stats.by_site[id];
    return s && s.reviewed ? el("p", { class: "muted loop" }, `${t("stats.disposal")} ${pct(s.disposal_rate)} · `
      + `${t("stats.precision")} ${pct(s.precision)} (${s.confirmed}/${s.reviewed})`) : null;
  };
  const o = stats.overall;
  main.append(el("h1", {}, t("nav.sites")),
    el("p", { id: "loop-overall" }, `${t("stats.title")}: ${t("stats.disposal")} ${pct(o.disposal_rate)} · `
      + `${t("stats.close")} ${o.median_close_hours ?? "—"} · ${t("stats.precision")} ${pct(o.precision)} · `
      + `${t("stats.field_precision")} ${pct(o.field_precision)}`),
    el("div", { class: "site-grid", id: "sites" }, data.items.map((s) =>
    el("a", { class: `card site grade-${s.grade}`, href: `/sites/${s.id}`, dataset: { site: s.id, grade: s.grade } },
      el("div", { class: "grade-chip" }, t("grade." + s.grade)),
      el("h2", {}, s.name), el("p", { class: "muted" }, s.address),
      el("p", { class: "counts" }, [tn("count.cameras", s.cameras), tn("count.confirmed", s.confirmed_alerts),
                                    tn("count.leads", s.open_leads)].join(" · ")), loop(s.id),
      s.reasons.length ? el("ul", { class: "reasons" }, gradeReasons(s).slice(0, 3).map((r) => el("li", {}, r))) : null))));
}
start();
