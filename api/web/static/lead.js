// One lead: alerts with evidence, the workflow steps the user's role may take, on-site photos and video,
// the discretion suggestion and the officer's decision, drafted documents, notes, assignment and history.
import { api, el, t, params, fmtTime, rule, toast, upload, leadTitle } from "./common.js";

const main = document.getElementById("main");
const id = params.lead_id;
const role = document.body.dataset.role;
const officer = role === "officer" || role === "admin";
const F = (...parts) => parts.flat(Infinity);
const uiLang = document.documentElement.lang === "zh" ? "zh" : "en";  // the package's report follows the page
const otherLang = uiLang === "zh" ? "en" : "zh";  // el() flattens one level; sections nest deeper

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
      el("p", { class: "muted" }, `${a.camera_name || a.camera_id} · ${fmtTime(a.started_at)} – ${fmtTime(a.ended_at)}`),
      clip ? el("video", { src: clip.url, controls: true, preload: "metadata", muted: true }) : null,
      evidenceLinks(a)));
}

// what the server wrote, from its code and values (the English text is the API's; a user's own words have no code)
function coded(e) {
  const p = e.params || {};
  if (e.code === "alert") return t("history.alert_on", { rule: rule(p.rule), camera: p.camera });
  if (e.code === "notice_sent") return t("history.notice_sent", { notice: p.notice, deadline: fmtTime(p.deadline) });
  if (e.code === "notice_overdue") return t("history.notice_overdue", { notice: p.notice, deadline: fmtTime(p.deadline) });
  if (e.code === "notice_replied" || e.code === "notice_replied_late")
    return [t("history." + e.code, { notice: p.notice }), " ", el("q", {}, p.note || "")];
  return null;
}

function history(events) {
  return el("ol", { class: "timeline", id: "history" }, events.map((e) => el("li", { dataset: { code: e.code || "" } },
    el("span", { class: "muted" }, fmtTime(e.at)), " ", el("strong", {}, e.user || t(e.code?.startsWith("notice_replied") ? "lead.attach.enterprise" : "history.system")), " ",
    e.code && e.code !== "opened" && coded(e) ? coded(e)
      : e.kind === "status" && !e.old ? t("history.opened", { new: t("lead." + e.new) })
      : e.kind === "status" ? [t("history.status", { old: t("lead." + e.old), new: t("lead." + e.new) }),
                               e.text ? el("q", {}, e.text) : null]
      : e.kind === "note" ? el("q", {}, e.text)
      : e.kind === "assign" && !e.new ? t("history.unassign") + (e.old ? ` ${e.old}` : "")
      : `${t("history." + e.kind)} ${e.text || e.new || ""}`)));
}

let people = null;  // who a lead can be given to (officers, admins); fetched once

function assigneeBox(lead) {
  if (!officer) return [el("h2", {}, t("lead.assignee")), el("p", {}, lead.assignee || t("lead.unassigned"))];
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

function workflow(lead) {
  const reason = el("textarea", { id: "reason", rows: 2, placeholder: t("lead.reason") });
  const step = (action) => el("button", { id: `action-${action}`, class: action === "dismiss" ? "ghost" : "",
    onclick: async () => {
      render(await api(`/api/leads/${id}/steps`, { method: "POST", body: { action, reason: reason.value } }));
      toast(t("lead.saved")); } }, t("action." + action));
  const who = [lead.verified_by ? `${t("lead.verified_by")}: ${lead.verified_by}` : null,
               lead.decided_by ? `${t("lead.decided_by")}: ${lead.decided_by}` : null].filter(Boolean).join(" · ");
  return [el("h2", {}, t("lead.workflow")),
    el("ol", { class: "steps" }, ["electronic_evidence", "onsite_verification", "review", lead.status === "dismissed" ? "dismissed" : "case_filed"]
      .map((s) => el("li", { class: s === lead.status ? "current" : "" }, t("lead." + s)))),
    who ? el("p", { class: "muted" }, who) : null,
    lead.actions.length ? [reason, el("div", { class: "row" }, lead.actions.map(step))] : el("p", { class: "muted" }, t("lead.noactions"))];
}

// the server's default footage note "<camera>: <ISO start> – <ISO end>", with the page's date format
function attachmentNote(a) {
  const m = a.kind === "footage" && /^(.*): (\d{4}-\d\d-\d\dT\S+) – (\d{4}-\d\d-\d\dT\S+)$/s.exec(a.note || "");
  return m ? `${m[1]}: ${fmtTime(m[2])} – ${fmtTime(m[3])}` : a.note;
}

function onsite(lead) {
  const items = lead.attachments.length ? el("ul", { id: "attachments", class: "evidence" }, lead.attachments.map((a) =>
    el("li", {}, el("a", { href: a.url, target: "_blank" }, a.name), " ",
      a.kind === "footage" ? [el("span", { class: "badge footage" }, t("rec.footage")), " "] : null,
      el("span", { class: "muted" }, `${fmtTime(a.taken_at)} · ${a.kind === "reply" && a.by === "enterprise" ? t("lead.attach.enterprise") : a.by}${a.latitude != null ? ` · ${a.latitude.toFixed(5)}, ${a.longitude.toFixed(5)}` : ""}`),
      a.note ? el("div", { class: "attachment-note" }, attachmentNote(a)) : null,
      el("div", { class: "muted mono", title: a.sha256 }, `sha256 ${a.sha256.slice(0, 16)}…`))))
    : el("p", { class: "muted", id: "attachments" }, t("lead.attach.none"));
  if (!(officer && lead.status === "onsite_verification")) return [el("h2", {}, t("lead.onsite")), items];
  const file = el("input", { id: "attach-file", type: "file", accept: "image/*,video/*", capture: "environment" });
  const note = el("input", { id: "attach-note", type: "text", placeholder: t("lead.attach.note") });
  const where = el("input", { id: "attach-location", type: "checkbox" });
  const send = el("button", { id: "attach-upload", onclick: async () => {
    const f = file.files[0];
    if (!f) return;
    const q = new URLSearchParams({ name: f.name, note: note.value,
      taken_at: new Date(f.lastModified || Date.now()).toISOString() });
    if (where.checked && navigator.geolocation) {
      const pos = await new Promise((ok) => navigator.geolocation.getCurrentPosition(ok, () => ok(null), { timeout: 5000 }));
      if (pos) { q.set("latitude", pos.coords.latitude); q.set("longitude", pos.coords.longitude); }
    }
    render(await upload(`/api/leads/${id}/attachments?${q}`, f));
    toast(t("lead.saved")); } }, t("lead.attach.upload"));
  return [el("h2", {}, t("lead.onsite")), items, el("label", {}, t("lead.attach.file"), file), note,
          el("label", {}, where, " ", t("lead.attach.location")), send];
}

function discretion(lead) {
  const rules = Object.entries(lead.suggestions);
  if (!rules.length) return [];
  const findings = lead.decision.findings || {};
  const rectified = el("input", { id: "f-rectified", type: "checkbox", checked: !!findings.rectified_in_time });
  const refused = el("input", { id: "f-refused", type: "checkbox", checked: !!findings.refused });
  const coop = el("select", { id: "f-cooperation" }, ["cooperative", "normal", "obstructive"].map((c) =>
    el("option", { value: c, selected: (findings.cooperation || "normal") === c }, t("coop." + c))));
  const canDecide = officer && ["onsite_verification", "review"].includes(lead.status);
  const forms = rules.map(([r, sg]) => {
    const done = (lead.decision.rules || {})[r];
    const fine = el("input", { id: `fine-${r}`, type: "number", min: 0, step: 100, value: done ? done.fine_yuan ?? "" : sg.fine_yuan ?? "" });
    const reason = el("input", { id: `decision-reason-${r}`, type: "text", placeholder: t("lead.decision.reason"), value: done ? done.reason : "" });
    const chosen = done ? done.measures : sg.measures;
    const boxes = (lead.measures_available[r] || []).map((m) =>
      el("input", { type: "checkbox", value: m, id: `measure-${r}-${m}`, checked: chosen.includes(m) }));
    return { r, sg, fine, reason, node: el("div", { class: "card discretion" },
      el("h3", {}, rule(r)),
      el("ol", { class: "steps-list" }, sg.steps.map((s) => el("li", {}, document.documentElement.lang === "zh" ? s.zh : s.en))),
      el("p", {}, el("strong", {}, `${t("lead.measures")}: `), document.documentElement.lang === "zh" ? sg.measures_zh : sg.measures_en,
         " · ", sg.fine_yuan == null ? t("lead.nofine") : `${t("lead.fine")}: ${sg.fine_yuan.toLocaleString()}`),
      done ? el("p", { class: "decided" }, el("strong", {}, `${t("lead.decision")}: `),
        done.measures.map((m) => t("measure." + m)).join(" · "), " · ",
        done.fine_yuan == null ? t("lead.nofine") : `${done.fine_yuan.toLocaleString()} · `, done.reason,
        " ", el("span", { class: "muted" }, t("lead.decided", { by: lead.decision.by }))) : null,
      canDecide ? el("div", { class: "row" }, boxes.map((b) => el("label", {}, b, " ", t("measure." + b.value)))) : null,
      canDecide ? el("div", { class: "row" }, el("label", {}, t("lead.fine"), fine), reason) : null), boxes };
  });
  const decide = el("button", { id: "decide", onclick: async () => {
    const body = { findings: { rectified_in_time: rectified.checked, refused: refused.checked, cooperation: coop.value },
      rules: forms.map((f) => ({ rule: f.r, measures: f.boxes.filter((b) => b.checked).map((b) => b.value),
                                  fine_yuan: f.fine.value === "" ? null : Number(f.fine.value),
                                  reason: f.reason.value })) };
    render(await api(`/api/leads/${id}/decision`, { method: "POST", body }));
    toast(t("lead.saved")); } }, t("lead.decide"));
  return [el("h2", {}, t("lead.discretion")),
    canDecide ? el("div", { class: "row" }, el("label", {}, rectified, " ", t("lead.findings.rectified")),
      el("label", {}, refused, " ", t("lead.findings.refused")), el("label", {}, t("lead.findings.cooperation"), coop)) : null,
    forms.map((f) => f.node), canDecide ? decide : null];
}

function documents(lead) {
  const list = lead.documents.length ? el("ul", { id: "documents" }, lead.documents.map((d) =>
    el("li", {}, el("a", { href: d.url, download: "" }, `${t("doc." + d.kind)} · ${d.lang} · ${d.fmt} · v${d.version}`),
      el("div", { class: "muted mono", title: d.sha256 }, `${d.by || ""} · ${fmtTime(d.at)} · sha256 ${d.sha256.slice(0, 16)}…`))))
    : el("p", { class: "muted", id: "documents" }, t("lead.nodocs"));
  if (!["onsite_verification", "review", "case_filed"].includes(lead.status)) return [el("h2", {}, t("lead.documents")), list];
  const kind = el("select", { id: "doc-kind" }, ["order_correct", "penalty_notice", "inspection_record"].map((k) =>
    el("option", { value: k }, t("doc." + k))));
  const lang = el("select", { id: "doc-lang" }, el("option", { value: "zh" }, "中文"), el("option", { value: "en" }, "English"));
  const fmt = el("select", { id: "doc-fmt" }, el("option", { value: "pdf" }, "PDF"), el("option", { value: "docx" }, "DOCX"));
  const go = el("button", { id: "draft", onclick: async () => {
    render(await api(`/api/leads/${id}/documents`, { method: "POST", body: { kind: kind.value, lang: lang.value, fmt: fmt.value } }));
    toast(t("lead.saved")); } }, t("lead.draft"));
  return [el("h2", {}, t("lead.documents")), list, el("div", { class: "row" }, kind, lang, fmt, go)];
}

function notices(lead) {
  const list = el("ul", { id: "notices" }, lead.notices.map((n) => el("li", {},
    el("strong", {}, t("notice." + n.status)), ` · ${t("notice.deadline")} ${fmtTime(n.deadline)}`,
    n.reply_note ? el("div", {}, el("q", {}, n.reply_note)) : null)));
  if (!(officer && ["electronic_evidence", "onsite_verification", "review"].includes(lead.status)))
    return lead.notices.length ? [el("h2", {}, t("notice.title")), list] : [];
  const link = el("p", { id: "notice-link", class: "mono" });
  const lang = el("select", { id: "notice-lang", "aria-label": t("notice.lang") },
    ["zh", "en"].map((l) => el("option", { value: l }, t("lang." + l))));
  const send = el("button", { id: "send-notice", onclick: async () => {
    const r = await api(`/api/leads/${id}/rectification`, { method: "POST", body: { lang: lang.value } });
    await render();
    document.getElementById("notice-link").textContent = r.link + (r.emailed_to ? ` · ${t("notice.email", { to: r.emailed_to })}` : "");
    toast(t("lead.saved")); } }, t("notice.send"));
  return [el("h2", {}, t("notice.title")), list, el("div", { class: "row" }, el("label", {}, t("notice.lang"), " ", lang), send), link];
}

async function render(lead) {
  [lead, people] = await Promise.all([lead || api(`/api/leads/${id}`),
                                      people || (officer ? api("/api/leads/assignees").then((r) => r.items) : [])]);
  const noteBox = el("textarea", { id: "note-text", rows: 3, placeholder: t("lead.note.placeholder") });
  main.replaceChildren(
    el("div", { class: "lead-head" },
      el("h1", {}, `${t("lead.title")} #${lead.id}`, " ", el("span", { class: `badge lead-${lead.status}`, id: "lead-status" }, t("lead." + lead.status))),
      el("p", {}, el("a", { href: `/sites/${lead.site_id}` }, lead.site_name), " · ", el("span", { id: "lead-title" }, leadTitle(lead.title))),
      el("a", { id: "package", class: "button", href: `/api/leads/${lead.id}/package?lang=${uiLang}`,
                download: `vigil-lead-${lead.id}-${uiLang}.zip` }, t("lead.package")),
      el("a", { id: "package-other", class: "button ghost", href: `/api/leads/${lead.id}/package?lang=${otherLang}`,
                download: `vigil-lead-${lead.id}-${otherLang}.zip` }, t("lead.package.other"))),
    el("div", { class: "lead-grid" },
      el("section", {}, el("h2", {}, t("lead.alerts", { n: lead.alert_list.length })), lead.alert_list.map(alertCard),
        F(discretion(lead)), F(documents(lead))),
      el("aside", { class: "panel" },
        F(workflow(lead)), F(onsite(lead)), F(notices(lead)), F(assigneeBox(lead)),
        officer ? F([el("h2", {}, t("lead.notes")), noteBox,
          el("button", { id: "add-note", onclick: async () => {
            if (!noteBox.value.trim()) return;
            render(await api(`/api/leads/${id}/notes`, { method: "POST", body: { text: noteBox.value } })); } },
            t("lead.addnote"))]) : null,
        el("h2", {}, t("lead.history")), history(lead.events))));
}
render();
