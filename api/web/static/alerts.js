// The alert list: filters kept in the address (shareable), repeats grouped, bulk confirm/reject with an undo.
import { api, el, t, tn, fmtTime, rule, state, badge, pager, toast, onLive } from "./common.js";

const main = document.getElementById("main");
const role = document.body.dataset.role;
const canReview = role === "reviewer" || role === "admin";
const FILTERS = ["site", "camera", "rule", "state", "acknowledged", "severity", "model", "since", "until"];
const query = new URLSearchParams(location.search);
const filters = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || ""]));
let grouped = query.get("grouped") !== "0", offset = Number(query.get("offset") || 0), limit = 50;
let facets = null, rows = [];
const selected = new Set();      // group keys (the newest alert's id) chosen for a bulk action
const table = el("div", { id: "alert-table" });
const bulkBar = el("div", { class: "bulk-bar", id: "bulk" });
const undoBar = el("div", { class: "undo-bar", id: "undo-bar", hidden: true });

function address() {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (filters[k]) q.set(k, filters[k]);
  if (!grouped) q.set("grouped", "0");
  if (offset) q.set("offset", offset);
  history.replaceState(null, "", q.toString() ? `?${q}` : location.pathname);
  q.set("grouped", grouped ? "true" : "false");
  q.set("limit", limit);
  return q;
}

function select(name, options, label) {
  return el("label", { class: "filter" }, el("span", {}, label),
    el("select", { id: `f-${name}`, name, onchange: (e) => { filters[name] = e.target.value; offset = 0; load(); } },
      el("option", { value: "" }, t("filter.all")),
      options.map(([value, text]) => el("option", { value, selected: String(value) === filters[name] }, text))));
}

// a datetime-local box in the viewer's time, sent as UTC
function timeBox(name, label) {
  const local = filters[name] ? new Date(filters[name]) : null;
  const value = local ? new Date(local.getTime() - local.getTimezoneOffset() * 60000).toISOString().slice(0, 16) : "";
  return el("label", { class: "filter" }, el("span", {}, label),
    el("input", { type: "datetime-local", id: `f-${name}`, value, onchange: (e) => {
      filters[name] = e.target.value ? new Date(e.target.value).toISOString() : ""; offset = 0; load(); } }));
}

function filterBar() {
  const f = facets;
  return el("form", { class: "filters", id: "filters", onsubmit: (e) => e.preventDefault() },
    select("site", f.sites.map((s) => [s.id, s.name]), t("field.site")),
    select("camera", f.cameras.filter((c) => !filters.site || c.site_id === filters.site).map((c) => [c.id, c.name]),
           t("field.camera")),
    select("rule", f.rules.map((r) => [r, rule(r)]), t("field.rule")),
    select("state", f.states.map((s) => [s, state(s)]), t("field.state")),
    select("acknowledged", [["true", t("alerts.acknowledged.yes")], ["false", t("alerts.acknowledged.no")]],
           t("alert.acknowledged")),
    select("severity", f.severities.map((n) => [n, t("alerts.severity.min", { n })]), t("field.severity")),
    select("model", f.models.map((m) => [m, m]), t("field.model")),
    el("label", { class: "filter" }, el("span", {}, t("alerts.range")),
      el("select", { id: "f-range", onchange: (e) => {
        const hours = Number(e.target.value);
        filters.since = hours ? new Date(Date.now() - hours * 3600e3).toISOString() : "";
        filters.until = ""; offset = 0; load(); } },
        el("option", { value: "" }, "—"),
        [[1, "alerts.range.1h"], [24, "alerts.range.24h"], [168, "alerts.range.7d"], [720, "alerts.range.30d"]]
          .map(([h, key]) => el("option", { value: h }, t(key))))),
    timeBox("since", t("filter.since")), timeBox("until", t("filter.until")),
    el("label", { class: "filter check" },
      el("input", { type: "checkbox", id: "f-grouped", checked: grouped,
                    onchange: (e) => { grouped = e.target.checked; offset = 0; selected.clear(); load(); } }),
      el("span", {}, t("alerts.grouped"))));
}

const idsOf = (a) => (a.group ? a.group.ids : [a.id]);

function row(a) {
  const key = a.id, size = a.group ? a.group.size : 1;
  const box = el("input", { type: "checkbox", class: "pick", checked: selected.has(key), "aria-label": t("alerts.select"),
    onchange: (e) => { e.target.checked ? selected.add(key) : selected.delete(key); renderBulk(); } });
  return el("tr", { dataset: { alert: a.id, size }, class: "alert-item" },
    canReview ? el("td", {}, box) : null,
    el("td", {}, el("a", { href: `/alerts/${a.id}` },
      el("img", { class: "thumb", src: `/api/alerts/${a.id}/thumbnail.jpg`, alt: "", loading: "lazy" }))),
    el("td", {}, el("a", { class: "rule-link", href: `/alerts/${a.id}` }, rule(a.rule)),
      size > 1 ? el("span", { class: "badge group", title: t("alerts.group.title") },
                    tn("alerts.group", size)) : null),
    el("td", {}, el("a", { href: `/wall/${encodeURIComponent(a.camera_id)}` }, a.camera_name),
      el("div", {}, el("a", { class: "muted", href: `/sites/${encodeURIComponent(a.site_id)}` }, a.site_name))),
    el("td", {}, fmtTime(a.started_at),
      size > 1 ? el("div", { class: "muted" }, t("alerts.since", { time: fmtTime(a.group.first_started_at) })) : null),
    el("td", {}, el("span", { class: `sev sev-${Math.min(a.severity, 3)}` }, a.severity)),
    el("td", {}, (a.group ? a.group.states : [a.state]).map((s) => badge("st-" + s, state(s))),
      a.ongoing ? badge("ongoing", t("alert.ongoing")) : null, a.missed ? badge("missed", t("missed.badge")) : null),
    el("td", { class: "muted" }, a.model || "—"),
    el("td", {}, a.lead_id ? el("a", { href: `/leads/${a.lead_id}` }, `#${a.lead_id}`) : ""));
}

function renderTable(data) {
  rows = data.items;
  const head = [canReview ? el("th", {}, el("input", { type: "checkbox", id: "pick-all", "aria-label": t("alerts.selectall"),
    onchange: (e) => { rows.forEach((a) => (e.target.checked ? selected.add(a.id) : selected.delete(a.id))); renderTable(data); } }))
                          : null,
    el("th", {}), el("th", {}, t("field.rule")), el("th", {}, t("field.camera")), el("th", {}, t("field.time")),
    el("th", {}, t("field.severity")), el("th", {}, t("field.state")), el("th", {}, t("field.model")),
    el("th", {}, t("nav.lead"))];
  table.replaceChildren(
    data.items.length ? el("table", { class: "list alerts" }, el("thead", {}, el("tr", {}, head)),
                           el("tbody", {}, data.items.map(row)))
                      : el("p", { class: "empty", id: "no-alerts" }, t("alerts.none")),
    pager(data.total, data.limit, data.offset, (o) => { offset = Math.max(0, o); load(); }));
  document.getElementById("alert-count").textContent = tn(grouped ? "alerts.count.groups" : "alerts.count", data.total);
  renderBulk();
}

function chosenIds() {
  return rows.filter((a) => selected.has(a.id)).flatMap(idsOf);
}

function renderBulk() {
  if (!canReview) return;
  const ids = chosenIds();
  bulkBar.replaceChildren(
    el("span", { id: "chosen" }, tn("alerts.chosen", ids.length)),
    el("button", { id: "bulk-confirm", class: "good", disabled: !ids.length, onclick: () => bulk("confirm", ids) },
       t("review.confirm")),
    el("button", { id: "bulk-reject", class: "bad", disabled: !ids.length, onclick: () => bulk("reject", ids) },
       t("review.reject")));
}

async function bulk(action, ids) {
  const res = await api("/api/alerts/bulk", { method: "POST", body: { action, ids } });
  selected.clear();
  const msg = t(`alerts.bulk.${action}`, { n: res.done.length }) +
    (res.skipped.length ? " " + t("alerts.bulk.skipped", { n: res.skipped.length }) : "");
  toast(msg);
  undoBar.hidden = !res.undo;
  if (res.undo) undoBar.replaceChildren(el("span", {}, msg),
    el("button", { id: "undo", class: "ghost", onclick: async () => {
      const back = await api("/api/alerts/bulk", { method: "POST", body: res.undo });
      undoBar.hidden = true;
      toast(t("alerts.bulk.undone", { n: back.done.length }));
      load();
    } }, t("alerts.undo")));
  load();
}

let loads = 0;
async function load() {
  const mine = ++loads;
  const q = address();
  const data = await api("/api/alerts?" + q);
  if (mine !== loads) return;  // a newer filter was chosen while this answer travelled
  const bar = document.getElementById("filters");
  if (bar) bar.replaceWith(filterBar());
  renderTable(data);
  document.body.dataset.query = q.toString();  // what the table shows (tests wait on it)
}

async function start() {
  facets = await api("/api/alert-filters");
  main.append(el("div", { class: "list-head" }, el("h1", {}, t("nav.alerts")), el("span", { class: "muted", id: "alert-count" })),
              filterBar(), ...(canReview ? [bulkBar] : []), undoBar, table);
  await load();
  document.body.dataset.ready = "1";
}
onLive("alert.new", () => { if (!offset && !selected.size) load(); });
start();
