// One dataset version: its images with their labelled boxes, filtered by split, class and source.
import { api, el, svg, t, tn, params, pager } from "./common.js";

const main = document.getElementById("main");
const id = params.dataset_id;
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990"];
const filters = { split: "", cls: null, source: "" };
let offset = 0, classOrder = [];

function colour(cls) {
  const i = classOrder.indexOf(cls);
  return PALETTE[(i < 0 ? 8 : i) % PALETTE.length];
}

function card(item) {
  const fs = Math.max(10, item.width / 28);
  const boxes = svg("svg", { class: "boxes", viewBox: `0 0 ${item.width} ${item.height}`, preserveAspectRatio: "none" },
    item.boxes.map((b) => {
      const [x, y, w, h] = [b.x1 * item.width, b.y1 * item.height, (b.x2 - b.x1) * item.width, (b.y2 - b.y1) * item.height];
      const c = colour(b.class_name), label = t("class." + b.class_name);
      return svg("g", { class: "det" }, svg("rect", { x, y, width: w, height: h, fill: "none", stroke: c,
                                                      "stroke-width": Math.max(1.5, item.width / 250) }),
        svg("rect", { x, y: Math.max(0, y - fs * 1.25), width: label.length * fs * 0.62 + fs * 0.6, height: fs * 1.25, fill: c }),
        svg("text", { x: x + fs * 0.3, y: Math.max(fs, y - fs * 0.3), fill: "#fff", "font-size": fs }, label));
    }));
  return el("figure", { class: "ds-image", dataset: { uid: item.uid, split: item.split } },
    el("div", { class: "frame-box" }, el("img", { src: item.url, alt: item.uid, loading: "lazy" }), boxes),
    el("figcaption", {}, el("span", { class: `badge split-${item.split}` }, t("split." + item.split)), " ",
       el("span", { class: "muted" }, item.boxes.length ? tn("datasets.boxes", item.boxes.length) : t("datasets.negative")),
       el("div", { class: "muted mono" }, item.source)));
}

function facet(name, counts, label, text) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return el("label", { class: "filter" }, el("span", {}, label),
    el("select", { id: `f-${name}`, onchange: (e) => {
      filters[name] = e.target.value === "*" ? (name === "cls" ? null : "") : e.target.value; offset = 0; load(); } },
      el("option", { value: "*" }, t("filter.all")),
      entries.map(([k, n]) => el("option", { value: k, selected: filters[name] === k }, `${text(k)} (${n})`))));
}

let loading = 0;  // the latest load: an older answer arriving after a newer one must not replace it

async function load() {
  const mine = ++loading;
  const q = new URLSearchParams({ limit: 48, offset });
  if (filters.split) q.set("split", filters.split);
  if (filters.cls !== null) q.set("cls", filters.cls);
  if (filters.source) q.set("source", filters.source);
  const d = await api(`/api/datasets/${id}/images?${q}`);
  if (mine !== loading) return;
  classOrder = Object.keys(d.facets.classes).filter(Boolean).sort();
  main.replaceChildren(
    el("p", {}, el("a", { href: "/models" }, "← " + t("nav.models"))),
    el("h1", {}, `${d.name} `, el("span", { class: "muted", id: "ds-profile" }, t("profile.short." + d.profile))),
    el("form", { class: "filters", id: "filters", onsubmit: (e) => e.preventDefault() },
      facet("split", d.facets.splits, t("datasets.split"), (k) => t("split." + k)),
      facet("cls", d.facets.classes, t("review.class"), (k) => (k ? t("class." + k) : t("datasets.negative"))),
      facet("source", d.facets.sources, t("datasets.source"), (k) => k)),
    el("p", { class: "muted", id: "ds-count" }, tn("datasets.images", d.total)),
    el("div", { class: "ds-grid", id: "ds-grid" }, d.items.map(card)),
    pager(d.total, d.limit, d.offset, (o) => { offset = Math.max(0, o); load(); }));
  document.body.dataset.query = q.toString();
}
load();
