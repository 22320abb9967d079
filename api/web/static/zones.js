// The zone editor (admins): a camera's zones and masks drawn as polygons on its snapshot, in the config's own
// coordinates (0-1 of the frame's width and height). Click to add points, drag a point to move it, double-click a
// point to remove it; name a zone and tick the rules it limits; Save stores and applies it without a restart.
import { api, el, svg, t, params, rule, toast, fmtTime } from "./common.js";

document.head.append(el("link", { rel: "stylesheet", href: "/static/zones.css" }));
const main = document.getElementById("main");
const id = params.camera_id;
const ed = { shapes: [], selected: -1, drawing: null, drag: null, cfg: null };
const view = {};

const isZone = (s) => s.kind === "zone";
const clamp = (v) => Math.min(1, Math.max(0, Math.round(v * 10000) / 10000));

function fromConfig(cfg) {
  return [
    ...Object.entries(cfg.zones).map(([name, z]) => ({ kind: "zone", name, points: z.polygon, anchor: z.anchor,
                                                       no_dumping: z.no_dumping, rules: z.rules })),
    ...cfg.masks.map((points) => ({ kind: "mask", points })),
  ];
}

function body() {
  const zones = {}, masks = [];
  for (const s of ed.shapes) {
    if (isZone(s)) zones[s.name] = { polygon: s.points, anchor: s.anchor, no_dumping: s.no_dumping, rules: s.rules };
    else masks.push(s.points);
  }
  return { zones, masks };
}

// -- drawing ------------------------------------------------------------------------------------------------------
function size() {
  const r = view.img.getBoundingClientRect();
  return { w: r.width || 1, h: r.height || 1, left: r.left, top: r.top };
}

function at(ev) {
  const { w, h, left, top } = size();
  return [clamp((ev.clientX - left) / w), clamp((ev.clientY - top) / h)];
}

function draw() {
  const { w, h } = size();
  view.svg.setAttribute("width", w);
  view.svg.setAttribute("height", h);
  view.svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const px = (p) => `${p[0] * w},${p[1] * h}`;
  const nodes = [];
  ed.shapes.forEach((s, i) => {
    const cls = `shape ${s.kind}${i === ed.selected ? " selected" : ""}`;
    nodes.push(svg("polygon", { class: cls, points: s.points.map(px).join(" "), "data-index": i }));
    if (isZone(s)) {
      const [x, y] = s.points.reduce((a, p) => [a[0] + p[0] / s.points.length, a[1] + p[1] / s.points.length], [0, 0]);
      nodes.push(svg("text", { class: "zone-label", x: x * w, y: y * h }, s.name));
    }
    if (i === ed.selected) s.points.forEach((p, j) => nodes.push(svg("circle", {
      class: "handle", cx: p[0] * w, cy: p[1] * h, r: 7, "data-index": i, "data-point": j })));
  });
  if (ed.drawing) {
    const d = ed.drawing;
    nodes.push(svg("polyline", { class: `drawing ${d.kind}`, points: d.points.map(px).join(" ") }));
    d.points.forEach((p, j) => nodes.push(svg("circle", { class: "handle new" + (j === 0 ? " first" : ""),
                                                          cx: p[0] * w, cy: p[1] * h, r: 6 })));
  }
  view.svg.replaceChildren(...nodes);
  view.stage.dataset.points = ed.drawing ? ed.drawing.points.length : "";
  view.finish.disabled = !ed.drawing || ed.drawing.points.length < 3;
  view.hint.textContent = ed.drawing ? t(ed.drawing.points.length < 3 ? "zones.hint.draw" : "zones.hint.finish")
                                     : t("zones.hint");
}

function start(kind) {
  const n = ed.shapes.filter(isZone).length + 1;
  let name = `zone${n}`;
  for (let k = n; ed.shapes.some((s) => s.name === name); k++) name = `zone${k + 1}`;
  ed.drawing = { kind, points: [], name };
  ed.selected = -1;
  draw();
  list();
}

function finish() {
  const d = ed.drawing;
  if (!d || d.points.length < 3) return;
  const shape = d.kind === "zone" ? { kind: "zone", name: d.name, points: d.points, anchor: "bottom_center",
                                      no_dumping: false, rules: [] }
                                  : { kind: "mask", points: d.points };
  ed.shapes.push(shape);
  ed.drawing = null;
  ed.selected = ed.shapes.length - 1;
  dirty();
}

function dirty() {
  view.root.dataset.dirty = "1";
  draw();
  list();
}

function onDown(ev) {
  const target = ev.target;
  if (target.classList.contains("handle") && target.dataset.point !== undefined) {
    ed.drag = { i: +target.dataset.index, j: +target.dataset.point };
    view.svg.setPointerCapture(ev.pointerId);
    ev.preventDefault();
    return;
  }
  if (ed.drawing) {
    const p = at(ev), first = ed.drawing.points[0];
    const { w, h } = size();
    if (first && ed.drawing.points.length >= 3 && Math.hypot((p[0] - first[0]) * w, (p[1] - first[1]) * h) < 9) {
      finish();  // a click on the first point closes the polygon
    } else {
      ed.drawing.points.push(p);
      draw();
    }
    return;
  }
  ed.selected = target.dataset.index !== undefined ? +target.dataset.index : -1;
  draw();
  list();
}

function onMove(ev) {
  if (!ed.drag) return;
  ed.shapes[ed.drag.i].points[ed.drag.j] = at(ev);
  draw();
}

function onUp() {
  if (!ed.drag) return;
  ed.drag = null;
  dirty();
}

function onDouble(ev) {
  const target = ev.target;
  if (!target.classList.contains("handle") || target.dataset.point === undefined) return;
  const s = ed.shapes[+target.dataset.index];
  if (s.points.length <= 3) { toast(t("zones.min3"), true); return; }
  s.points.splice(+target.dataset.point, 1);
  dirty();
}

// -- the list of shapes -------------------------------------------------------------------------------------------
function zoneItem(s, i) {
  const name = el("input", { class: "zone-name", value: s.name, maxlength: 64, "aria-label": t("zones.name"),
    oninput: (e) => { s.name = e.target.value.trim(); view.root.dataset.dirty = "1"; draw(); } });
  const rules = ed.cfg.rules.map((r) => el("label", { class: "rule-check" },
    el("input", { type: "checkbox", value: r, checked: s.rules.includes(r), onchange: (e) => {
      s.rules = e.target.checked ? [...s.rules, r] : s.rules.filter((x) => x !== r);
      view.root.dataset.dirty = "1"; } }), " ", rule(r)));
  return el("li", { class: `shape-item zone${i === ed.selected ? " selected" : ""}`, dataset: { index: i, zone: s.name },
                    onclick: (e) => { if (e.target === e.currentTarget) { ed.selected = i; draw(); list(); } } },
    el("div", { class: "row" }, el("span", { class: "swatch zone" }), name,
       el("button", { class: "ghost small delete", title: t("zones.delete"), onclick: () => remove(i) }, t("zones.delete"))),
    el("div", { class: "muted hint" }, t("zones.rules")), el("div", { class: "rule-checks" }, rules),
    ed.cfg.profile === "site" ? el("label", { class: "rule-check no-dumping" },
      el("input", { type: "checkbox", checked: s.no_dumping, onchange: (e) => {
        s.no_dumping = e.target.checked; view.root.dataset.dirty = "1"; } }), " ", t("zones.nodumping")) : null);
}

function maskItem(s, i, n) {
  return el("li", { class: `shape-item mask${i === ed.selected ? " selected" : ""}`, dataset: { index: i },
                    onclick: (e) => { if (e.target.tagName !== "BUTTON") { ed.selected = i; draw(); list(); } } },
    el("div", { class: "row" }, el("span", { class: "swatch mask" }), el("span", {}, t("zones.mask", { n })),
       el("button", { class: "ghost small delete", onclick: () => remove(i) }, t("zones.delete"))));
}

function remove(i) {
  ed.shapes.splice(i, 1);
  ed.selected = -1;
  dirty();
}

function list() {
  let m = 0;
  const items = ed.shapes.map((s, i) => (isZone(s) ? zoneItem(s, i) : maskItem(s, i, ++m)));
  view.list.replaceChildren(items.length ? el("ul", { class: "shape-list" }, items)
                                         : el("p", { class: "muted" }, t("zones.none")));
}

async function save() {
  const names = ed.shapes.filter(isZone).map((s) => s.name);
  if (names.some((n) => !n) || new Set(names).size !== names.length) { toast(t("zones.names"), true); return; }
  view.save.disabled = true;
  try {
    const cfg = await api(`/api/cameras/${encodeURIComponent(id)}/zones`, { method: "PUT", body: body() });
    ed.cfg = cfg;
    ed.shapes = fromConfig(cfg);
    ed.selected = -1;
    delete view.root.dataset.dirty;
    view.root.dataset.saved = String(+(view.root.dataset.saved || 0) + 1);
    view.meta.textContent = t("zones.edited", { who: cfg.updated_by, when: fmtTime(cfg.updated_at) });
    toast(t("zones.saved"));
    draw();
    list();
    setTimeout(refreshPicture, 3000);  // the camera restarted with the new zones: show them on its frame
  } finally { view.save.disabled = false; }
}

function refreshPicture() {
  view.img.src = `/api/cameras/${encodeURIComponent(id)}/snapshot.jpg?w=1280&t=${Date.now()}`;
}

function build(cfg) {
  view.img = el("img", { id: "snap", alt: cfg.name, draggable: "false", onload: draw });
  view.svg = svg("svg", { id: "zone-svg", class: "zone-svg" });
  view.svg.addEventListener("pointerdown", onDown);
  view.svg.addEventListener("pointermove", onMove);
  view.svg.addEventListener("pointerup", onUp);
  view.svg.addEventListener("dblclick", onDouble);
  view.stage = el("div", { class: "zone-stage", id: "zone-stage" }, view.img, view.svg);
  view.hint = el("p", { class: "muted hint", id: "zone-hint" });
  const note = el("p", { class: "muted hint" }, t("zones.picture.note"));
  view.list = el("div", { id: "shapes" });
  view.finish = el("button", { id: "finish-shape", class: "ghost", onclick: finish }, t("zones.finish"));
  view.save = el("button", { id: "save-zones", class: "good", onclick: save }, t("zones.save"));
  view.meta = el("p", { class: "muted hint", id: "zone-meta" },
                 cfg.updated_at ? t("zones.edited", { who: cfg.updated_by, when: fmtTime(cfg.updated_at) })
                                : t("zones.fromyaml"));
  view.root = el("div", { class: "zone-editor" },
    el("div", { class: "zone-left" }, view.stage, view.hint, note),
    el("aside", { class: "panel" },
      el("h2", {}, t("zones.title"), " · ", cfg.name),
      el("p", {}, el("a", { href: `/wall/${encodeURIComponent(id)}` }, "← " + cfg.name), " · ",
         el("a", { href: "/cameras" }, t("nav.cameras"))),
      el("div", { class: "row" },
        el("button", { id: "new-zone", onclick: () => start("zone") }, t("zones.newzone")),
        el("button", { id: "new-mask", class: "ghost", onclick: () => start("mask") }, t("zones.newmask")),
        view.finish,
        el("button", { id: "refresh-picture", class: "ghost small", onclick: refreshPicture }, t("zones.picture"))),
      el("p", { class: "muted hint" }, t("zones.coords")),
      view.list,
      el("div", { class: "row" }, view.save), view.meta));
  main.replaceChildren(view.root);
  refreshPicture();
  window.addEventListener("resize", draw);
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT") return;
    if (e.key === "Enter") finish();
    if (e.key === "Escape") { ed.drawing = null; draw(); }
  });
}

async function load() {
  const cfg = await api(`/api/cameras/${encodeURIComponent(id)}/config`);
  ed.cfg = cfg;
  ed.shapes = fromConfig(cfg);
  build(cfg);
  list();
  draw();
}
load();
