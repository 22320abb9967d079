// One lead: its alerts with evidence, status changes, notes, assignment and the package download.
import { api, el, t, params, fmtTime, rule, toast } from "./common.js";

const main = document.getElementById("main");
const id = params.lead_id;

function evidenceLinks(a) {
  return el("ul", { class: "evidence" }, a.evidence.map((e) =>
    el("li", {}, el("a", { href: e.url, target: "_blank" }, e.name),
       el("span", { class: "muted mono", title: e.sha256 }, ` ${(e.size / 1024).toFixed(0)} KiB · sha256 ${e.sha256.slice(0, 12)}…`))));
}

function alertCard(a) {
  const clip = a.evidence.find((e) => e.name === "clip.mp4");
  return el("article", { class: "card alert-card" },
    el("img", { src: `/api/alerts/${a.id}/evidence/best_annotated.jpg`, alt: "", loading: "lazy" }),
    el("div", {}, el("h3", {}, rule(a.rule)),
      el("p", { class: "muted" }, `${a.camera_id} · ${fmtTime(a.started_at)} – ${fmtTime(a.ended_at)}`),
      clip ? el("video", { src: clip.url, controls: true, preload: "metadata", muted: true }) : null,
      evidenceLinks(a)));
}

function history(events) {
  return el("ol", { class: "timeline", id: "history" }, events.map((e) => el("li", {},
    el("span", { class: "muted" }, fmtTime(e.at)), " ", el("strong", {}, e.user || "system"), " ",
    e.kind === "status" && !e.old ? t("history.opened", { new: t("lead." + e.new) })
      : e.kind === "status" ? t("history.status", { old: t("lead." + e.old), new: t("lead." + e.new) })
      : e.kind === "note" ? el("q", {}, e.text)
      : e.kind === "assign" && !e.new ? t("history.unassign") + (e.old ? ` ${e.old}` : "")
      : `${t("history." + e.kind)} ${e.text || e.new || ""}`)));
}

let people = null;  // who a lead can be given to (officers, admins); fetched once

function assigneeBox(lead) {
  const names = people.map((p) => p.username);
  if (lead.assignee && !names.includes(lead.assignee)) people.push({ username: lead.assignee, display_name: lead.assignee });
  const pick = el("select", { id: "assignee" },
    el("option", { value: "", selected: !lead.assignee }, t("lead.unassigned")),
    people.map((p) => el("option", { value: p.username, selected: p.username === lead.assignee },
                         p.display_name && p.display_name !== p.username ? `${p.display_name} (${p.username})` : p.username)));
  const save = el("button", { id: "assign", onclick: async () => {
    render(await api(`/api/leads/${id}/assign`, { method: "POST", body: { username: pick.value || null } }));
    toast(t("lead.saved")); } }, t("lead.assign"));
  return [el("h2", {}, t("lead.assignee")), el("div", { class: "row" }, pick, save)];
}

async function render(lead) {
  [lead, people] = await Promise.all([lead || api(`/api/leads/${id}`),
                                      people || api("/api/leads/assignees").then((r) => r.items)]);
  const status = el("select", { id: "status" }, lead.statuses.map((s) =>
    el("option", { value: s, selected: s === lead.status }, t("lead." + s))));
  const noteBox = el("textarea", { id: "note-text", rows: 3, placeholder: t("lead.note.placeholder") });
  main.replaceChildren(
    el("div", { class: "lead-head" },
      el("h1", {}, `${t("lead.title")} #${lead.id}`, " ", el("span", { class: `badge lead-${lead.status}` }, t("lead." + lead.status))),
      el("p", {}, el("a", { href: `/sites/${lead.site_id}` }, lead.site_name), ` · ${lead.title || ""}`),
      el("a", { id: "package", class: "button", href: `/api/leads/${lead.id}/package`, download: `vigil-lead-${lead.id}.zip` },
         t("lead.package"))),
    el("div", { class: "lead-grid" },
      el("section", {}, el("h2", {}, t("lead.alerts", { n: lead.alert_list.length })), lead.alert_list.map(alertCard)),
      el("aside", { class: "panel" },
        assigneeBox(lead),
        el("h2", {}, t("field.status")), el("div", { class: "row" }, status,
        el("button", { id: "set-status", onclick: async () => {
          render(await api(`/api/leads/${id}/status`, { method: "POST", body: { status: status.value } }));
          toast(t("lead.saved")); } }, t("lead.setstatus"))),
        el("h2", {}, t("lead.notes")), noteBox,
        el("button", { id: "add-note", onclick: async () => {
          if (!noteBox.value.trim()) return;
          render(await api(`/api/leads/${id}/notes`, { method: "POST", body: { text: noteBox.value } })); } },
          t("lead.addnote")),
        el("h2", {}, t("lead.history")), history(lead.events))));
}
render();
