// The inbox: my notifications (a firm replied, a notice is overdue, a lead assigned or waiting for review), read/unread.
import { api, el, t, fmtTime, refreshInbox, onLive } from "./common.js";

const main = document.getElementById("main");
const list = el("div", { id: "inbox-list" });
let unreadOnly = false;

function words(item) {
  const p = item.params || {};
  const out = { ...p, lead: item.lead_id ?? "", by: p.by || "", site: p.site || "" };
  if (p.outcome) out.outcome = t("lead." + p.outcome);
  return out;
}

function row(item) {
  const text = t("inbox.kind." + item.kind, words(item)) +
    (item.kind === "rectification.reply" && item.params.in_time === false ? ` (${t("inbox.late")})` : "");
  const to = item.to === "me" ? "" : t("inbox.to_role", { role: t("role." + item.to) });
  return el("li", { class: `inbox-item ${item.read ? "read" : "unread"}`, dataset: { id: item.id, kind: item.kind } },
    el("span", { class: `badge ${item.read ? "" : "unread"}` }, t(item.read ? "inbox.read" : "inbox.unread")),
    el("div", { class: "what" }, el("div", {}, text),
      el("small", {}, fmtTime(item.created_at), to ? ` · ${to}` : "")),
    el("div", { class: "actions" },
      item.lead_id ? el("a", { class: "button", href: `/leads/${item.lead_id}`,
                               onclick: async (e) => { if (item.read) return; e.preventDefault();
                                 await api("/api/inbox/read", { method: "POST", body: { ids: [item.id] } }).catch(() => {});
                                 location.href = e.target.href; } }, t("inbox.open")) : null,
      item.read ? null : el("button", { class: "ghost mark", onclick: () => markRead([item.id]) }, t("inbox.mark_read"))));
}

async function markRead(ids) {
  await api("/api/inbox/read", { method: "POST", body: { ids } });
  await Promise.all([load(), refreshInbox()]);
}

async function load() {
  const data = await api("/api/inbox?" + new URLSearchParams({ unread: unreadOnly, limit: 200 }));
  list.replaceChildren(data.items.length ? el("ul", { class: "inbox" }, data.items.map(row))
                                         : el("p", { class: "empty" }, t("inbox.empty")));
}

function tab(label, only) {
  return el("button", { class: only === unreadOnly ? "tab active" : "tab", dataset: { filter: only ? "unread" : "all" },
    onclick: (e) => { unreadOnly = only; e.target.parentNode.querySelectorAll("button").forEach((b) => b.classList.remove("active"));
                       e.target.classList.add("active"); load(); } }, label);
}

main.append(el("h1", {}, t("nav.inbox")),
  el("div", { class: "inbox-bar" }, el("div", { class: "tabs" }, tab(t("inbox.filter.all"), false), tab(t("inbox.filter.unread"), true)),
    el("button", { id: "mark-all", onclick: () => markRead(null) }, t("inbox.mark_all"))),
  list);
load();
onLive("lead.updated", () => load());
