// Sites with their colour grade, reasons, cameras, confirmed alerts and open leads.
import { api, el, t, tn, gradeReasons } from "./common.js";

const main = document.getElementById("main");

async function start() {
  const data = await api("/api/sites");
  main.append(el("h1", {}, t("nav.sites")), el("div", { class: "site-grid", id: "sites" }, data.items.map((s) =>
    el("a", { class: `card site grade-${s.grade}`, href: `/sites/${s.id}`, dataset: { site: s.id, grade: s.grade } },
      el("div", { class: "grade-chip" }, t("grade." + s.grade)),
      el("h2", {}, s.name), el("p", { class: "muted" }, s.address),
      el("p", { class: "counts" }, [tn("count.cameras", s.cameras), tn("count.confirmed", s.confirmed_alerts),
                                    tn("count.leads", s.open_leads)].join(" · ")),
      s.reasons.length ? el("ul", { class: "reasons" }, gradeReasons(s).slice(0, 3).map((r) => el("li", {}, r))) : null))));
}
start();
