// "To label": frames the detector was unsure of, the model's boxes pre-drawn; fix, add or remove boxes, then save
// (they become labels dataset builds include) or skip. Same box editor and keys as the review queue.
import { api, el, t, fmtTime, toast } from "./common.js";
import { editorWithPicker, keyButton } from "./boxeditor.js";

const main = document.getElementById("main");
let task = null, total = 0, busy = false;

const image = el("img", { id: "frame", alt: "" });
const canvas = el("canvas", { id: "boxes" });
const info = el("div", { class: "review-info" });
const list = el("ol", { id: "box-list", class: "box-list" });
const counter = el("span", { id: "waiting", class: "muted" });
const { editor, picker, colour } = editorWithPicker(canvas, image, () => task?.classes || [], () => renderList());
const button = keyButton;

function layout() {
  main.replaceChildren(
    el("div", { class: "review" },
      el("section", { class: "stage" },
        el("div", { class: "editor" }, image, canvas),
        el("p", { class: "hint muted" }, t("label.hint"))),
      el("aside", { class: "panel" },
        el("div", { class: "queue" }, el("h2", {}, t("nav.label")), counter),
        info,
        el("h3", {}, t("review.boxes")), list,
        el("div", { class: "actions" },
          button("save", "s", t("label.save"), save, "good"),
          button("skip", "n", t("label.skip"), skip, "ghost"),
          button("undo", "z", t("review.undo"), () => editor.undo(), "ghost")))));
}

function renderList() {
  const classes = task?.classes || [];
  list.replaceChildren(...editor.boxes.map((b, i) => el("li", {
      class: i === editor.selected ? "selected" : "", onclick: () => editor.select(i) },
    el("span", { class: "swatch", style: `background:${colour(b.class_name)}` }),
    el("select", { "aria-label": t("review.class"), dataset: { box: i },
                   onchange: (e) => { if (picker.box === i) picker.close();
                                      editor.relabel(i, e.target.value); } },
       b.class_name === null ? el("option", { value: "", selected: true, disabled: true }, "?") : null,
       classes.map((c) => el("option", { value: c, selected: c === b.class_name }, t("class." + c)))),
    el("span", { class: "muted" }, b.confidence ? b.confidence.toFixed(2) : t("review.drawn")),
    el("button", { class: "ghost small", title: t("review.delete"),
                   onclick: (e) => { e.stopPropagation(); editor.select(i); editor.remove(); } }, "✕"))));
  if (!editor.boxes.length) list.append(el("li", { class: "muted" }, t("review.noboxes")));
  counter.textContent = t("label.waiting", { n: total });
}

function show(x) {
  task = x;
  if (!x) {
    main.replaceChildren(el("div", { class: "empty big", id: "label-done" }, el("h2", {}, t("label.done")),
      el("p", {}, t("label.done.more"))));
    return;
  }
  if (!document.getElementById("frame")) layout();
  info.replaceChildren(
    el("h2", { id: "task-reason" }, t("label.reason." + x.reason)),
    el("p", { class: "muted", id: "task-detail" }, detailText(x)),
    el("dl", {},
      el("dt", {}, t("field.camera")), el("dd", {}, x.camera_id),
      el("dt", {}, t("field.time")), el("dd", {}, fmtTime(x.captured_at)),
      el("dt", {}, t("field.model")), el("dd", {}, [x.model_name, x.model_version].filter(Boolean).join(" ") || "—")));
  picker.close();
  const boxes = x.detections.map(({ class_name, confidence, x1, y1, x2, y2 }) => ({ class_name, confidence, x1, y1, x2, y2 }));
  image.onload = () => { fitImage(image); editor.load(boxes, (x.detections[0] || {}).class_name || x.classes[0]); };
  image.src = x.image_url;
  image.dataset.task = x.id;
}

function detailText(x) {
  const f = x.facts || {}, cls = f.class_name ? t("class." + f.class_name) : "";
  if (x.reason === "near_threshold" && f.score !== undefined)
    return t("label.detail.near_threshold", { cls, score: f.score.toFixed(2), threshold: f.threshold.toFixed(2) });
  if (x.reason === "flicker" && f.changes !== undefined)
    return t("label.detail.flicker", { cls, track: f.track_id, n: f.changes, s: f.window_s });
  return x.detail;
}

async function load() {
  const data = await api("/api/label-tasks?limit=1");
  total = data.total;
  show(data.items[0] || null);
  renderList();
}

async function save() {
  if (!task || busy) return;
  if (editor.unnamed >= 0) { picker.ask(editor.unnamed); return; }  // every box needs a class first
  busy = true;
  const boxes = editor.boxes.map(({ class_name, x1, y1, x2, y2 }) => ({ class_name, x1, y1, x2, y2 }));
  try {
    const res = await api(`/api/label-tasks/${task.id}/labels`, { method: "POST", body: { boxes } });
    toast(t("label.saved", { n: boxes.length }));
    document.body.dataset.lastLabel = res.label_image_id;
    await load();
  } finally { busy = false; }
}

async function skip() {
  if (!task || busy) return;
  busy = true;
  try {
    await api(`/api/label-tasks/${task.id}/skip`, { method: "POST", raw: true });
    toast(t("label.skipped"));
    await load();
  } finally { busy = false; }
}

document.addEventListener("keydown", (e) => {
  if (["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName) || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key.toLowerCase();
  if (picker.open) {  // a drawn box waits for its class: digits name it, Esc (or z) takes the box back
    const cls = /^[1-9]$/.test(e.key) ? task.classes[Number(e.key) - 1] : null;
    if (cls) picker.pick(cls);
    else if (e.key === "Escape" || k === "z") { picker.close(); editor.undo(); }
    e.preventDefault();
    return;
  }
  if (k === "s") save();
  else if (k === "n") skip();
  else if (k === "z") editor.undo();
  else if (e.key === "Delete" || e.key === "Backspace") editor.remove();
  else if (/^[1-9]$/.test(e.key) && editor.selected >= 0 && task) {
    const cls = task.classes[Number(e.key) - 1];
    if (cls) editor.relabel(editor.selected, cls);
  } else return;
  e.preventDefault();
});

load();

function fitImage(img) {
  const stage = img.closest(".stage");
  if (!stage || !img.naturalWidth) return;
  const s = Math.min((stage.clientWidth - 16) / img.naturalWidth, (window.innerHeight - 150) / img.naturalHeight);
  img.style.width = `${Math.max(1, Math.floor(img.naturalWidth * s))}px`;
}
window.addEventListener("resize", () => document.querySelectorAll(".stage img").forEach(fitImage));
