// The review queue: next new alert, best frame with editable boxes, the clip; confirm / reject / correct by keys.
import { api, el, t, tn, onLive, fmtTime, rule, toast } from "./common.js";
import { editorWithPicker, keyButton } from "./boxeditor.js";

const main = document.getElementById("main");
let alert = null, skipped = [], waiting = 0, busy = false;

const image = el("img", { id: "best", alt: "" });
const canvas = el("canvas", { id: "boxes" });
const video = el("video", { id: "clip", controls: true, muted: true, loop: true, playsinline: true, preload: "auto" });
const info = el("div", { class: "review-info" });
const list = el("ol", { id: "box-list", class: "box-list" });
const note = el("textarea", { id: "note", rows: 2, placeholder: t("review.note") });
const counter = el("span", { id: "waiting", class: "muted" });
const { editor, picker, colour } = editorWithPicker(canvas, image, () => alert?.classes || [], () => renderList());
const button = keyButton;

function layout() {
  main.replaceChildren(
    el("div", { class: "review" },
      el("section", { class: "stage" },
        el("div", { class: "editor" }, image, canvas),
        el("p", { class: "hint muted" }, t("review.hint"))),
      el("aside", { class: "panel" },
        el("div", { class: "queue" }, el("h2", {}, t("nav.review")), counter),
        info, repeats, undoBox,
        el("h3", {}, t("review.boxes")), list,
        note,
        el("div", { class: "actions" },
          button("confirm", "c", t("review.confirm"), () => decide("confirm"), "good"),
          button("reject", "r", t("review.reject"), () => decide("reject"), "bad"),
          button("next", "n", t("review.next"), next, "ghost"),
          button("undo", "z", t("review.undo"), () => editor.undo(), "ghost")),
        el("h3", {}, t("review.clip")), video)));
}

function renderList() {
  const classes = alert?.classes || [];
  list.replaceChildren(...editor.boxes.map((b, i) => el("li", {
      class: i === editor.selected ? "selected" : "", onclick: () => editor.select(i) },
    el("span", { class: "swatch", style: `background:${colour(b.class_name)}` }),
    el("select", { "aria-label": t("review.class"), dataset: { box: i },
                   onchange: (e) => { if (picker.box === i) picker.close();
                                      editor.relabel(i, e.target.value); } },
       b.class_name === null ? el("option", { value: "", selected: true, disabled: true }, "?") : null,
       classes.map((c) => el("option", { value: c, selected: c === b.class_name }, t("class." + c)))),
    el("span", { class: "muted" }, b.confidence ? b.confidence.toFixed(2) : t("review.drawn")),
    b.class_name === null ? el("strong", { class: "error" }, "?") : null,
    el("button", { class: "ghost small", title: t("review.delete"),
                   onclick: (e) => { e.stopPropagation(); editor.select(i); editor.remove(); } }, "✕"))));
  if (!editor.boxes.length) list.append(el("li", { class: "muted" }, t("review.noboxes")));
  counter.textContent = t("review.waiting", { n: waiting });
}

function show(a) {
  alert = a;
  if (!a) {
    main.replaceChildren(el("div", { class: "empty big" }, el("h2", {}, t("review.done")),
      el("p", {}, t("review.done.more")), undoBox));
    return;
  }
  if (!document.getElementById("best")) layout();
  info.replaceChildren(
    el("h2", { id: "alert-rule" }, rule(a.rule), " ",
       a.missed ? el("span", { class: "badge missed", id: "missed-badge" }, t("missed.badge")) : null),
    el("div", {}, a.missed ? el("p", { class: "muted" }, t("missed.review", { user: a.marked_by || "" })) : null),
    el("dl", {},
      el("dt", {}, t("field.camera")), el("dd", {}, el("a", { href: `/alerts/${a.id}` }, `${a.camera_name} · ${a.site_name}`)),
      el("dt", {}, t("field.time")), el("dd", {}, `${fmtTime(a.started_at)} – ${fmtTime(a.ended_at)}`),
      el("dt", {}, t("field.score")), el("dd", {}, a.best_score.toFixed(2)),
      el("dt", {}, t("field.model")), el("dd", {}, a.model || "—")));
  note.value = "";
  picker.close();
  showRepeats(a);
  const boxes = a.detections.map((d) => ({ ...d }));
  image.onload = () => { fitImage(image); editor.load(boxes, (a.detections[0] || {}).class_name || a.classes[0]); };
  image.src = `/api/alerts/${a.id}/evidence/best_raw.jpg`;
  image.dataset.alert = a.id;
  const clip = a.evidence.find((e) => e.name === "clip.mp4");
  video.hidden = !clip;
  if (clip) { video.src = clip.url; video.play().catch(() => {}); } else video.removeAttribute("src");
}

// Repeats of this rule on this camera wait together: decide them all at once, with an undo
const repeats = el("div", { id: "repeats", class: "repeats" });
async function showRepeats(a) {
  repeats.replaceChildren();
  const g = await api(`/api/alerts/${a.id}/group`);
  const waiting = g.items.filter((x) => x.state === "new").map((x) => x.id);
  if (alert?.id !== a.id || waiting.length < 2) return;
  const act = (action) => async () => {
    const res = await api("/api/alerts/bulk", { method: "POST", body: { action, ids: waiting } });
    await load();
    undoBox.replaceChildren(el("span", {}, t(`alerts.bulk.${action}`, { n: res.done.length })),
      el("button", { id: "undo-repeats", class: "ghost small", onclick: async () => {
        const back = await api("/api/alerts/bulk", { method: "POST", body: res.undo });
        undoBox.replaceChildren(); toast(t("alerts.bulk.undone", { n: back.done.length })); skipped = []; await load();
      } }, t("alerts.undo")));
  };
  repeats.replaceChildren(el("p", {}, el("a", { href: `/alerts/${a.id}` }, tn("review.repeats", waiting.length))),
    el("div", { class: "row" },
      el("button", { id: "confirm-repeats", class: "good small", onclick: act("confirm") }, tn("alert.group.confirm", waiting.length)),
      el("button", { id: "reject-repeats", class: "bad small", onclick: act("reject") }, tn("alert.group.reject", waiting.length))));
}
const undoBox = el("div", { id: "review-undo", class: "undo-line" });

async function load() {
  const q = new URLSearchParams(skipped.map((id) => ["skip", id]));
  const data = await api("/api/review/next?" + q);
  waiting = data.waiting;
  show(data.alert);
  renderList();
}

function next() {
  if (alert) skipped.push(alert.id);
  load();
}

async function decide(kind) {
  if (!alert || busy) return;
  if (editor.unnamed >= 0) { picker.ask(editor.unnamed); return; }  // every box needs a class before a decision
  busy = true;
  const boxes = editor.boxes.map(({ class_name, x1, y1, x2, y2 }) => ({ class_name, x1, y1, x2, y2 }));
  const send = kind === "confirm" || editor.edited ? boxes : null;
  try {
    const res = await api(`/api/alerts/${alert.id}/${kind}`, { method: "POST", body: { note: note.value, boxes: send } });
    toast(kind === "confirm" ? t("review.confirmed", { lead: res.lead_id }) : t("review.rejected"));
    document.body.dataset.lastLead = res.lead_id || "";
    await load();
  } finally { busy = false; }
}

document.addEventListener("keydown", (e) => {
  if (["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName) || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key.toLowerCase();
  if (picker.open) {  // a drawn box waits for its class: digits name it, Esc (or z) takes the box back
    const cls = /^[1-9]$/.test(e.key) ? alert.classes[Number(e.key) - 1] : null;
    if (cls) picker.pick(cls);
    else if (e.key === "Escape" || k === "z") { picker.close(); editor.undo(); }
    e.preventDefault();
    return;
  }
  if (k === "n") next();
  else if (k === "c") decide("confirm");
  else if (k === "r") decide("reject");
  else if (k === "z") editor.undo();
  else if (e.key === "Delete" || e.key === "Backspace") editor.remove();
  else if (/^[1-9]$/.test(e.key) && editor.selected >= 0 && alert) {
    const cls = alert.classes[Number(e.key) - 1];
    if (cls) editor.relabel(editor.selected, cls);
  } else return;
  e.preventDefault();
});

onLive("alert.new", () => { waiting += 1; counter.textContent = t("review.waiting", { n: waiting }); if (!alert) load(); });
load();

// A 640x360 detect frame is small on a wall screen: scale the frame (and the box canvas over it) to the stage.
function fitImage(img) {
  const stage = img.closest(".stage");
  if (!stage || !img.naturalWidth) return;
  const s = Math.min((stage.clientWidth - 16) / img.naturalWidth, (window.innerHeight - 150) / img.naturalHeight);
  img.style.width = `${Math.max(1, Math.floor(img.naturalWidth * s))}px`;
}
window.addEventListener("resize", () => document.querySelectorAll(".stage img").forEach(fitImage));
