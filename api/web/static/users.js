// Users (admin): list, add, change role, deactivate; API tokens of any user, revoked one by one; sign out everywhere.
import { api, el, t, fmtTime, toast } from "./common.js";

const main = document.getElementById("main");
const box = el("div");
const tokensBox = el("div", { id: "tokens" });

async function load() {
  const data = await api("/api/users");
  box.replaceChildren(el("table", { class: "list", id: "users" },
    el("thead", {}, el("tr", {}, ["login.username", "field.role", "users.email", "field.status", "field.created"].map((k) => el("th", {}, t(k))))),
    el("tbody", {}, data.items.map((u) => el("tr", {},
      el("td", {}, u.username),
      el("td", {}, el("select", { onchange: async (e) => { await api(`/api/users/${u.id}`, { method: "PATCH", body: { role: e.target.value } }); toast(t("lead.saved")); } },
        data.roles.map((r) => el("option", { value: r, selected: r === u.role }, t("role." + r))))),
      el("td", {}, el("input", { type: "email", value: u.email, class: "user-email", "aria-label": t("users.email"),
        onchange: async (e) => { await api(`/api/users/${u.id}`, { method: "PATCH", body: { email: e.target.value.trim() } }); toast(t("lead.saved")); } })),
      el("td", {}, el("label", {}, el("input", { type: "checkbox", checked: u.active,
        onchange: async (e) => { await api(`/api/users/${u.id}`, { method: "PATCH", body: { active: e.target.checked } }); } }), " ", t("users.active"))),
      el("td", {}, fmtTime(u.created_at)))))));
  return data;
}

async function loadTokens(userId) {
  const data = await api(`/api/users/${userId}/tokens`);
  tokensBox.replaceChildren(!data.items.length ? el("p", { class: "muted" }, t("tokens.none")) :
    el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["tokens.name", "field.created", "tokens.lastused", "field.status", ""].map((k) => el("th", {}, k && t(k))))),
      el("tbody", {}, data.items.map((tk) => el("tr", { dataset: { token: tk.id } },
        el("td", {}, tk.name), el("td", {}, fmtTime(tk.created_at)), el("td", {}, fmtTime(tk.last_used_at)),
        el("td", {}, t(tk.revoked ? "tokens.revoked" : "users.active")),
        el("td", {}, !tk.revoked && el("button", { class: "ghost revoke", onclick: async () => {
          await api(`/api/auth/tokens/${tk.id}`, { method: "DELETE" }); toast(t("tokens.revoked")); loadTokens(userId); } },
          t("tokens.revoke"))))))));
}

function tokensSection(users, me) {
  const pick = el("select", { id: "token-user", onchange: () => loadTokens(pick.value) },
    users.map((u) => el("option", { value: u.id, selected: u.id === me.id }, u.username)));
  const form = el("form", { class: "filters", onsubmit: async (e) => {
    e.preventDefault();
    const made = await api("/api/auth/tokens", { method: "POST", body: { name: form.tokenname.value } });
    form.reset(); pick.value = me.id; loadTokens(me.id); document.getElementById("new-token")?.remove();
    form.after(el("p", { class: "mono", id: "new-token" }, t("tokens.once"), " ", made.token)); } },
    el("label", {}, t("login.username"), pick),
    el("label", {}, t("tokens.name"), el("input", { name: "tokenname", required: true, maxlength: 100 })),
    el("button", { type: "submit" }, t("tokens.new")),
    el("button", { type: "button", class: "ghost", id: "logout-everywhere", onclick: async () => {
      await api("/api/auth/logout", { method: "POST", body: { everywhere: true } }); location.href = "/login"; } },
      t("tokens.everywhere")));
  loadTokens(me.id);
  return [el("h2", {}, t("tokens.title")), form, tokensBox];
}

async function start() {
  const data = await load(), roles = data.roles;
  const me = await api("/api/auth/me");
  const form = el("form", { class: "filters", onsubmit: async (e) => {
    e.preventDefault();
    await api("/api/users", { method: "POST", body: { username: form.username.value, role: form.role.value, password: form.password.value,
                                                      email: form.email.value.trim() } });
    form.reset(); toast(t("lead.saved")); load(); } },
    el("label", {}, t("login.username"), el("input", { name: "username", required: true })),
    el("label", {}, t("field.role"), el("select", { name: "role" }, roles.map((r) => el("option", { value: r }, t("role." + r))))),
    el("label", {}, t("login.password"), el("input", { name: "password", type: "password", minlength: 8, required: true })),
    el("label", {}, t("users.email"), el("input", { name: "email", type: "email", maxlength: 200 })),
    el("button", { type: "submit" }, t("users.add")));
  main.append(el("h1", {}, t("nav.users")), form, box, ...tokensSection(data.items, me));
}
start();
