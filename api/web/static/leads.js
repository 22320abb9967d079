// Leads list with filters (site, status, rule, dates) and pages.
import { api, el, t, fmtTime, rule, pager, onLive } from "./common.js";

const main = document.getElementById("main");
const filters = { site: "", state: "", rule: "", since: "", until: "" };
let offset = 0;
let siteNames = {};  // site id -> name: rows show names, not ids
const LIMIT = 25;
const table = el("div", { class: "table-wrap" });

function select(name, options, label) {
  return el("label", {}, label, el("select", { name, onchange: (e) => { filters[name] = e.target.value; offset = 0; load(); } },
    el("option", { value: "" }, t("filter.all")), options.map(([v, l]) => el("option", { value: v }, l))));
}

function dateInput(name, label) {
  return el("label", {}, label, el("input", { type: "date", name,
    onchange: (e) => { filters[name] = e.target.value ? new Date(e.target.value + "T00:00:00Z").toISOString() : ""; offset = 0; load(); } }));
}

async function load() {
  const q = new URLSearchParams({ limit: LIMIT, offset });
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const data = await api("/api/leads?" + q);
  table.replaceChildren(el("table", { class: "list", id: "leads-table" },
    el("thead", {}, el("tr", {}, ["#", "field.site", "field.rules", "field.alerts", "field.status", "field.updated"]
      .map((k) => el("th", {}, k === "#" ? "#" : t(k))))),
    el("tbody", {}, data.items.map((l) => el("tr", { onclick: () => (location.href = `/leads/${l.id}`) },
      el("td", {}, el("a", { href: `/leads/${l.id}` }, `#${l.id}`)), el("td", {}, siteNames[l.site_id] || l.site_id),
      el("td", {}, l.rules.map(rule).join(", ")), el("td", {}, l.alerts),
      el("td", {}, el("span", { class: `badge lead-${l.status}` }, t("lead." + l.status))),
      el("td", {}, fmtTime(l.updated_at)))))),
    data.items.length ? pager(data.total, LIMIT, offset, (o) => { offset = o; load(); })
                      : el("p", { class: "empty" }, t("leads.none")));
}

async function start() {
  const [sites, first] = await Promise.all([api("/api/sites"), api("/api/leads?limit=1")]);
  siteNames = Object.fromEntries(sites.items.map((s) => [s.id, s.name]));
  const rules = Object.keys(JSON.parse(document.getElementById("i18n").textContent))
    .filter((k) => k.startsWith("rule.")).map((k) => k.slice(5));
  main.append(el("h1", {}, t("nav.leads")),
    el("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      select("site", sites.items.map((s) => [s.id, s.name]), t("field.site")),
      select("state", first.statuses.map((s) => [s, t("lead." + s)]), t("field.status")),
      select("rule", rules.map((r) => [r, rule(r)]), t("field.rule")),
      dateInput("since", t("filter.since")), dateInput("until", t("filter.until"))),
    table);
  load();
}
start();
onLive("lead.updated", () => load());
