// A camera's recordings: a bar over the last hours with the recorded ranges and the alerts on it (an alert opens
// its page), a click plays the footage at that time (the segments are the camera's own H.264, in MP4), and a range
// marked on it is exported as evidence on one of the site's open leads.
import { api, el, t, fmtTime, rule, toast, leadTitle } from "./common.js";

const SPANS = [["10m", 600], ["1h", 3600], ["6h", 21600], ["24h", 86400]];
const OPEN = ["electronic_evidence", "onsite_verification", "review"];
const EXPORTERS = ["reviewer", "officer", "admin"];

export function timeline(cam) {
  const id = encodeURIComponent(cam.id);
  const tl = { span: 3600, data: null, segment: null, cursor: null };  // segment: the one playing
  const bar = el("div", { class: "tl-bar", id: "tl-bar", role: "slider", "aria-label": t("rec.title") });
  const axis = el("div", { class: "tl-axis" });
  const status = el("p", { class: "muted", id: "tl-status" });
  const video = el("video", { id: "tl-video", controls: true, muted: true, playsinline: true, preload: "metadata" });
  const spans = el("div", { class: "tl-spans" }, SPANS.map(([name, s]) =>
    el("button", { class: s === tl.span ? "small" : "small ghost", dataset: { span: name }, onclick: (e) => {
      tl.span = s;
      spans.querySelectorAll("button").forEach((b) => b.classList.toggle("ghost", b !== e.target));
      load();
    } }, t("rec.span." + name))));

  const cursor = el("div", { class: "tl-cursor", id: "tl-cursor", hidden: true });
  const at = (iso) => new Date(iso).getTime();
  const pct = (ms) => 100 * (ms - at(tl.data.start_at)) / (at(tl.data.end_at) - at(tl.data.start_at));
  const place = (node, a, b) => {
    node.style.left = `${Math.max(0, pct(a))}%`;
    node.style.width = `${Math.max(0.25, Math.min(100, pct(b)) - Math.max(0, pct(a)))}%`;
    return node;
  };

  function draw() {
    const d = tl.data;
    const marks = [];
    for (const r of d.ranges) marks.push(place(el("div", { class: "tl-rec", title: `${fmtTime(r.start_at)} – ${fmtTime(r.end_at)}` }),
                                              at(r.start_at), at(r.end_at)));
    if (form.start.value && form.end.value) {
      const a = new Date(form.start.value).getTime(), b = new Date(form.end.value).getTime();
      if (b > a) marks.push(place(el("div", { class: "tl-sel", id: "tl-sel" }), a, b));
      form.summary.textContent = b > a ? t("rec.selected", { a: fmtTime(new Date(a).toISOString()),
        b: fmtTime(new Date(b).toISOString()).split(" ").pop(), s: Math.round((b - a) / 1000) }) : "";
    }
    for (const a of d.alerts) {
      const mark = el("a", { class: `tl-alert st-${a.state}`, href: a.url, dataset: { alert: a.id },
                             title: `${rule(a.rule)} · ${fmtTime(a.started_at)}`, onclick: (e) => e.stopPropagation() });
      mark.style.left = `${pct(at(a.started_at))}%`;
      marks.push(mark);
    }
    bar.replaceChildren(...marks, cursor);
    moveCursor();
    const ticks = [];
    for (let i = 0; i <= 4; i++) {
      const ms = at(d.start_at) + i * (at(d.end_at) - at(d.start_at)) / 4;
      ticks.push(el("span", { style: `left:${i * 25}%` }, fmtTime(new Date(ms).toISOString()).split(" ").pop()));
    }
    axis.replaceChildren(...ticks);
    status.textContent = !d.recording && !d.ranges.length ? t("rec.off")
      : !d.ranges.length ? t("rec.none") : status.textContent || t("rec.hint");
    bar.dataset.ranges = d.ranges.length;
  }

  function moveCursor() {
    cursor.hidden = !tl.cursor;
    if (tl.cursor) cursor.style.left = `${pct(tl.cursor)}%`;
  }

  async function load() {
    tl.data = await api(`/api/cameras/${id}/timeline?hours=${tl.span / 3600}&segments=false`);
    draw();
  }

  // the segment holding `ms`, else the first one starting within `ahead` ms after it (a day holds thousands: asked
  // for by time, not listed with the timeline)
  async function segmentAt(ms, ahead = 1000) {
    const q = new URLSearchParams({ start: new Date(ms).toISOString(), end: new Date(ms + ahead).toISOString(), limit: 5 });
    const page = await api(`/api/cameras/${id}/recordings?${q}`);
    return page.items.find((s) => at(s.start_at) <= ms && ms < at(s.end_at)) || page.items[0];
  }

  async function play(ms, seg) {
    tl.cursor = ms;
    seg = seg || await segmentAt(ms);
    if (!seg) {
      status.textContent = t("rec.nofootage", { t: fmtTime(new Date(ms).toISOString()) });
      draw();
      return;
    }
    status.textContent = t("rec.playing", { t: fmtTime(new Date(ms).toISOString()) });
    const offset = Math.max(0, (ms - at(seg.start_at)) / 1000);
    if (tl.segment?.id !== seg.id) {
      tl.segment = seg;
      video.src = seg.url;
      video.addEventListener("loadedmetadata", () => { video.currentTime = offset; video.play().catch(() => {}); },
                             { once: true });
    } else {
      video.currentTime = offset;
      video.play().catch(() => {});
    }
    video.dataset.segment = seg.id;
    draw();
  }

  // where the video is now, on the wall clock (the cursor follows it); the next segment follows at the end
  const now = () => tl.segment ? at(tl.segment.start_at) + video.currentTime * 1000 : tl.cursor;
  video.addEventListener("timeupdate", () => { if (tl.segment) { tl.cursor = now(); moveCursor(); } });
  video.addEventListener("ended", async () => {
    const end = at(tl.segment.end_at);
    const next = (await api(`/api/cameras/${id}/recordings?${new URLSearchParams({ start: new Date(end).toISOString(),
      end: new Date(end + 5000).toISOString(), limit: 5 })}`)).items.find((s) => s.id !== tl.segment.id
                                                                          && at(s.start_at) >= end - 500);
    if (next) play(at(next.start_at), next);
  });
  bar.addEventListener("click", (e) => {
    const box = bar.getBoundingClientRect();
    const f = (e.clientX - box.left) / box.width;
    play(at(tl.data.start_at) + f * (at(tl.data.end_at) - at(tl.data.start_at)));
  });

  const form = exportForm(cam, now, draw);
  load();
  setInterval(() => { if (!document.hidden) load(); }, 10000);
  return el("section", { class: "recordings card", id: "recordings" },
    el("div", { class: "tl-head" }, el("h2", {}, t("rec.title")), spans),
    el("div", { class: "tl-wrap" }, bar, axis), status,
    el("div", { class: "tl-body" }, video, form.node));
}

// local datetime-local value <-> ms
const local = (ms) => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
};

function exportForm(cam, now, redraw) {
  const start = el("input", { id: "export-start", type: "datetime-local", step: 1, onchange: () => redraw() });
  const end = el("input", { id: "export-end", type: "datetime-local", step: 1, onchange: () => redraw() });
  const form = { start, end, node: null, summary: el("p", { class: "muted", id: "export-range" }) };
  if (!EXPORTERS.includes(document.body.dataset.role)) { form.node = el("div"); return form; }
  const mark = (input) => () => { const ms = now(); if (ms) { input.value = local(ms); redraw(); } };
  const lead = el("select", { id: "export-lead", "aria-label": t("rec.lead") });
  const note = el("input", { id: "export-note", type: "text", maxlength: 2000, placeholder: t("rec.note") });
  const result = el("p", { id: "export-result" });
  const go = el("button", { id: "export-go", class: "primary", onclick: async () => {
    if (!start.value || !end.value || !lead.value) return;
    go.disabled = true;
    try {
      const r = await api(`/api/cameras/${encodeURIComponent(cam.id)}/exports`, { method: "POST", body: {
        start: new Date(start.value).toISOString(), end: new Date(end.value).toISOString(),
        lead_id: +lead.value, note: note.value } });
      const s = Math.round((new Date(r.end_at) - new Date(r.start_at)) / 1000);
      const text = t("rec.exported", { s, lead: r.lead_id });
      toast(text);
      result.replaceChildren(text, " ", el("a", { href: `/leads/${r.lead_id}`, id: "export-lead-link" }, t("rec.open.lead")),
                             el("span", { class: "muted mono", title: r.sha256 }, ` sha256 ${r.sha256.slice(0, 16)}…`));
      result.dataset.attachment = r.attachment_id;
      note.value = "";
    } finally { go.disabled = false; }
  } }, t("rec.export.go"));
  api(`/api/leads?site=${encodeURIComponent(cam.site_id)}&limit=100`).then((page) => {
    const open = page.items.filter((l) => OPEN.includes(l.status));
    lead.replaceChildren(...open.map((l) => el("option", { value: l.id }, `#${l.id} ${leadTitle(l.title)} · ${t("lead." + l.status)}`)));
    if (!open.length) result.textContent = t("rec.nolead");
    go.disabled = !open.length;
  }).catch(() => {});
  form.node = el("div", { class: "tl-export" }, el("h3", {}, t("rec.export")),
    el("label", {}, t("rec.start"), start), el("button", { id: "mark-start", onclick: mark(start) }, t("rec.mark.start")),
    el("label", {}, t("rec.end"), end), el("button", { id: "mark-end", onclick: mark(end) }, t("rec.mark.end")),
    form.summary, el("label", {}, t("rec.lead"), lead), note, go, result);
  return form;
}
