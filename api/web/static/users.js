// Users (admin): list, add, change role, deactivate.
import { api, el, t, fmtTime, toast } from "./common.js";

const main = document.getElementById("main");
const box = el("div");

async function load() {
  const data = await api("/api/users");
  box.replaceChildren(el("table", { class: "list", id: "users" },
    el("thead", {}, el("tr", {}, ["login.username", "field.role", "field.status", "field.created"].map((k) => el("th", {}, t(k))))),
    el("tbody", {}, data.items.map((u) => el("tr", {},
      el("td", {}, u.username),
      el("td", {}, el("select", { onchange: async (e) => { await api(`/api/users/${u.id}`, { method: "PATCH", body: { role: e.target.value } }); toast(t("lead.saved")); } },
        data.roles.map((r) => el("option", { value: r, selected: r === u.role }, t("role." + r))))),
      el("td", {}, el("label", {}, el("input", { type: "checkbox", checked: u.active,
        onchange: async (e) => { await api(`/api/users/${u.id}`, { method: "PATCH", body: { active: e.target.checked } }); } }), " ", t("users.active"))),
      el("td", {}, fmtTime(u.created_at)))))));
  return data.roles;
}

async function start() {
  const roles = await load();
  const form = el("form", { class: "filters", onsubmit: async (e) => {
    e.preventDefault();
    await api("/api/users", { method: "POST", body: { username: form.username.value, role: form.role.value, password: form.password.value } });
    form.reset(); toast(t("lead.saved")); load(); } },
    el("label", {}, t("login.username"), el("input", { name: "username", required: true })),
    el("label", {}, t("field.role"), el("select", { name: "role" }, roles.map((r) => el("option", { value: r }, t("role." + r))))),
    el("label", {}, t("login.password"), el("input", { name: "password", type: "password", minlength: 8, required: true })),
    el("button", { type: "submit" }, t("users.add")));
  main.append(el("h1", {}, t("nav.users")), form, box);
}
start();
