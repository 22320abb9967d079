// Cameras (admins): every camera with its site, source (password hidden), state and where its config comes from;
// add a camera, edit one, disable or enable it, open its zone editor. Changes apply without a restart.
import { api, el, t, toast, badge } from "./common.js";

document.head.append(el("link", { rel: "stylesheet", href: "/static/zones.css" }));
const main = document.getElementById("main");
const table = el("div", { id: "camera-table" });
const formBox = el("div", { id: "camera-form-box" });
let sites = [];

const enc = encodeURIComponent;

function row(cam, cfg) {
  const toggle = cfg.enabled
    ? el("button", { class: "ghost small disable", onclick: async () => {
        await api(`/api/cameras/${enc(cam.id)}`, { method: "DELETE" }); toast(t("cameras.disabled")); load(); } },
        t("cameras.disable"))
    : el("button", { class: "ghost small enable", onclick: async () => {
        await api(`/api/cameras/${enc(cam.id)}`, { method: "PUT", body: { enabled: true } }); toast(t("cameras.enabled"));
        load(); } }, t("cameras.enable"));
  return el("tr", { dataset: { camera: cam.id } },
    el("td", {}, el("a", { href: `/wall/${enc(cam.id)}` }, cfg.name), el("div", { class: "muted mono" }, cam.id)),
    el("td", {}, cam.site_name),
    el("td", {}, t("profile." + cfg.profile)),
    el("td", { class: "mono source" }, cfg.source),
    el("td", {}, badge(`state state-${cam.state}`, t("cam." + cam.state))),
    el("td", {}, t("cameras.origin." + cfg.origin), cfg.updated_by ? el("div", { class: "muted" }, cfg.updated_by) : null),
    el("td", {}, el("div", { class: "row" },
      el("button", { class: "ghost small edit", onclick: () => showForm(cfg) }, t("cameras.edit")),
      el("a", { class: "button ghost small zones", href: `/wall/${enc(cam.id)}/zones` }, t("cameras.zones")),
      toggle,
      cfg.origin === "yaml+database" ? el("button", { class: "ghost small revert", title: t("cameras.revert.hint"),
        onclick: async () => {
          if (!confirm(t("cameras.revert.confirm", { name: cfg.name }))) return;
          await api(`/api/cameras/${enc(cam.id)}/revert`, { method: "POST" }); toast(t("cameras.saved")); load(); } },
        t("cameras.revert")) : null)));
}

async function load() {
  const cams = (await api("/api/cameras")).items;
  const cfgs = await Promise.all(cams.map((c) => api(`/api/cameras/${enc(c.id)}/config`)));
  const head = ["cameras.name", "field.site", "cameras.profile", "cameras.source", "field.status", "cameras.origin", ""];
  table.replaceChildren(el("table", { class: "list", id: "cameras" },
    el("thead", {}, el("tr", {}, head.map((k) => el("th", {}, k && t(k))))),
    el("tbody", {}, cams.map((c, i) => row(c, cfgs[i])))));
}

function field(label, input, wide = false) {
  return el("label", { class: wide ? "wide" : "" }, t(label), input);
}

function showForm(cfg) {
  const editing = !!cfg;
  const f = el("form", { class: "cam-form card", id: "camera-form" });
  const idIn = el("input", { name: "id", required: true, pattern: "[a-z0-9][a-z0-9_\\-]{0,62}", value: cfg?.id || "",
                             disabled: editing });
  const profile = el("select", { name: "profile" },
    el("option", { value: "" }, t("cameras.profile.site_kind")),
    ["site", "lab"].map((p) => el("option", { value: p, selected: cfg?.profile_set === p }, t("profile." + p))));
  f.append(
    el("h2", { class: "wide" }, editing ? t("cameras.editing", { name: cfg.name }) : t("cameras.add")),
    field("cameras.id", idIn),
    field("cameras.name", el("input", { name: "name", maxlength: 200, value: cfg?.name || "" })),
    field("field.site", el("select", { name: "site" },
      sites.map((s) => el("option", { value: s.id, selected: cfg?.site === s.id }, s.name)))),
    field("cameras.profile", profile),
    field("cameras.fps", el("input", { name: "fps", type: "number", step: "any", min: "0.1", max: "30",
                                       value: cfg?.detect.fps ?? 2 })),
    el("label", { class: "check" }, el("input", { name: "enabled", type: "checkbox", checked: cfg ? cfg.enabled : true }),
       t("cameras.run")),
    field("cameras.source", el("input", { name: "source", required: true, maxlength: 2000, value: cfg?.source || "",
                                          placeholder: "rtsp://user:${CAM_PASSWORD}@10.0.0.5/stream" }), true),
    el("p", { class: "muted hint wide" }, t("cameras.source.hint")),
    el("div", { class: "row wide" },
      el("button", { type: "submit", id: "camera-save" }, t(editing ? "cameras.save" : "cameras.add")),
      el("button", { type: "button", class: "ghost", onclick: () => formBox.replaceChildren() }, t("cameras.cancel"))));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => f.elements.namedItem(n);
    const body = { name: v("name").value, site: v("site").value, source: v("source").value,
                   profile: v("profile").value || null, enabled: v("enabled").checked,
                   detect: { ...(cfg?.detect || { width: 640, height: 360 }), fps: +v("fps").value } };
    if (editing) await api(`/api/cameras/${enc(cfg.id)}`, { method: "PUT", body });
    else await api("/api/cameras", { method: "POST", body: { id: v("id").value, ...body } });
    toast(t("cameras.saved"));
    formBox.replaceChildren();
    load();
  });
  formBox.replaceChildren(f);
  f.querySelector(editing ? "[name=name]" : "[name=id]").focus();
}

async function start() {
  sites = (await api("/api/sites?limit=500")).items;
  main.append(el("h1", {}, t("nav.cameras")),
    el("p", { class: "muted" }, t("cameras.intro")),
    el("div", { class: "row" }, el("button", { id: "add-camera", onclick: () => showForm(null) }, t("cameras.add"))),
    formBox, table);
  load();
}
start();
