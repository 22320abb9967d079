// A canvas box editor over an image: draw, move, resize, select, delete, relabel, undo (image-pixel coordinates).
// A drawn box has no class until the page asks for one (`onDrawn`); it never silently takes another box's class.
import { el, t } from "./common.js";

const HANDLE = 8;   // screen pixels around a corner that grab it
const MIN = 4;      // smallest box side in image pixels

export class BoxEditor {
  constructor(canvas, image, { colours, onChange, onDrawn = null, names = (c) => c }) {
    this.canvas = canvas; this.image = image; this.colours = colours; this.onChange = onChange;
    this.onDrawn = onDrawn; this.names = names;
    this.boxes = []; this.selected = -1; this.history = []; this.drag = null; this.drawClass = null;
    this.edited = false;
    canvas.addEventListener("mousedown", (e) => this.down(e));
    window.addEventListener("mousemove", (e) => this.move(e));
    window.addEventListener("mouseup", () => this.up());
    new ResizeObserver(() => this.draw()).observe(canvas);
  }
  load(boxes, drawClass) {
    this.boxes = boxes.map((b) => ({ ...b })); this.selected = -1; this.history = []; this.edited = false;
    this.drawClass = drawClass; this.draw(); this.onChange();
  }
  get scale() { return this.canvas.clientWidth / (this.image.naturalWidth || 1); }
  point(e) {
    const r = this.canvas.getBoundingClientRect(), s = this.scale;
    const w = this.image.naturalWidth, h = this.image.naturalHeight;
    return { x: Math.min(w, Math.max(0, (e.clientX - r.left) / s)), y: Math.min(h, Math.max(0, (e.clientY - r.top) / s)) };
  }
  snapshot() { this.history.push(JSON.stringify(this.boxes)); this.edited = true; }
  undo() {
    if (!this.history.length) return false;
    this.boxes = JSON.parse(this.history.pop()); this.selected = Math.min(this.selected, this.boxes.length - 1);
    this.edited = this.history.length > 0; this.draw(); this.onChange(); return true;
  }
  hit(p) {
    const tol = HANDLE / this.scale;
    for (let i = this.boxes.length - 1; i >= 0; i--) {
      const b = this.boxes[i];
      for (const [cx, cy, corner] of [[b.x1, b.y1, "tl"], [b.x2, b.y1, "tr"], [b.x1, b.y2, "bl"], [b.x2, b.y2, "br"]])
        if (Math.abs(p.x - cx) <= tol && Math.abs(p.y - cy) <= tol) return { i, mode: corner };
    }
    for (let i = this.boxes.length - 1; i >= 0; i--) {
      const b = this.boxes[i];
      if (p.x >= b.x1 && p.x <= b.x2 && p.y >= b.y1 && p.y <= b.y2) return { i, mode: "move" };
    }
    return null;
  }
  down(e) {
    if (e.button !== 0) return;
    e.preventDefault();
    const p = this.point(e), h = this.hit(p);
    this.snapshot();
    if (h) {
      this.selected = h.i;
      this.drag = { ...h, start: p, orig: { ...this.boxes[h.i] } };
    } else {
      this.boxes.push({ class_name: this.onDrawn ? null : this.drawClass, x1: p.x, y1: p.y, x2: p.x, y2: p.y, confidence: null });
      this.selected = this.boxes.length - 1;
      this.drag = { i: this.selected, mode: "br", start: p, orig: { ...this.boxes[this.selected] }, fresh: true };
    }
    this.draw(); this.onChange();
  }
  move(e) {
    if (!this.drag) { this.hover(e); return; }
    const p = this.point(e), d = this.drag, b = this.boxes[d.i], o = d.orig;
    const dx = p.x - d.start.x, dy = p.y - d.start.y;
    if (d.mode === "move") {
      const w = this.image.naturalWidth, h = this.image.naturalHeight;
      const mx = Math.min(Math.max(dx, -o.x1), w - o.x2), my = Math.min(Math.max(dy, -o.y1), h - o.y2);
      Object.assign(b, { x1: o.x1 + mx, x2: o.x2 + mx, y1: o.y1 + my, y2: o.y2 + my });
    } else {
      if (d.mode.includes("l")) b.x1 = o.x1 + dx; else b.x2 = o.x2 + dx;
      if (d.mode.includes("t")) b.y1 = o.y1 + dy; else b.y2 = o.y2 + dy;
    }
    this.draw();
  }
  up() {
    if (!this.drag) return;
    const b = this.boxes[this.drag.i];
    [b.x1, b.x2] = [Math.min(b.x1, b.x2), Math.max(b.x1, b.x2)];
    [b.y1, b.y2] = [Math.min(b.y1, b.y2), Math.max(b.y1, b.y2)];
    const drawn = this.drag.fresh ? this.drag.i : -1;
    if (this.drag.fresh && (b.x2 - b.x1 < MIN || b.y2 - b.y1 < MIN)) {   // a click, not a box
      this.boxes.splice(this.drag.i, 1); this.selected = -1; this.history.pop();
      this.edited = this.history.length > 0;
    }
    this.drag = null; this.draw(); this.onChange();
    if (drawn >= 0 && this.boxes[drawn] && this.boxes[drawn].class_name === null && this.onDrawn) this.onDrawn(drawn);
  }
  hover(e) {
    if (e.target !== this.canvas) return;
    const h = this.hit(this.point(e));
    this.canvas.style.cursor = !h ? "crosshair" : h.mode === "move" ? "move"
      : (h.mode === "tl" || h.mode === "br") ? "nwse-resize" : "nesw-resize";
  }
  remove() {
    if (this.selected < 0) return false;
    this.snapshot(); this.boxes.splice(this.selected, 1); this.selected = -1; this.draw(); this.onChange(); return true;
  }
  relabel(i, cls) {
    if (!this.boxes[i] || this.boxes[i].class_name === cls) return;
    // naming a just-drawn box completes the drawing: one undo step removes the box, not only its class
    if (this.boxes[i].class_name !== null) this.snapshot();
    this.boxes[i].class_name = cls; this.draw(); this.onChange();
  }
  get unnamed() { return this.boxes.findIndex((b) => b.class_name === null); }
  select(i) { this.selected = i; this.draw(); this.onChange(); }
  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    c.width = Math.round(c.clientWidth * dpr); c.height = Math.round(c.clientHeight * dpr);
    const ctx = c.getContext("2d"), s = this.scale * dpr;
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.font = `${Math.round(13 * dpr)}px system-ui, sans-serif`;
    this.boxes.forEach((b, i) => {
      const colour = this.colours(b.class_name), sel = i === this.selected;
      ctx.lineWidth = (sel ? 3 : 2) * dpr; ctx.strokeStyle = colour;
      ctx.setLineDash(sel ? [6 * dpr, 3 * dpr] : []);
      ctx.strokeRect(b.x1 * s, b.y1 * s, (b.x2 - b.x1) * s, (b.y2 - b.y1) * s);
      ctx.setLineDash([]);
      const label = `${i + 1} ${b.class_name === null ? "?" : this.names(b.class_name)}` +
        (b.confidence ? ` ${b.confidence.toFixed(2)}` : "");
      const tw = ctx.measureText(label).width + 8 * dpr;
      ctx.fillStyle = colour; ctx.fillRect(b.x1 * s, Math.max(0, b.y1 * s - 18 * dpr), tw, 18 * dpr);
      ctx.fillStyle = "#fff"; ctx.fillText(label, b.x1 * s + 4 * dpr, Math.max(0, b.y1 * s - 18 * dpr) + 14 * dpr);
      if (sel) for (const [x, y] of [[b.x1, b.y1], [b.x2, b.y1], [b.x1, b.y2], [b.x2, b.y2]]) {
        ctx.fillStyle = "#fff"; ctx.fillRect(x * s - 4 * dpr, y * s - 4 * dpr, 8 * dpr, 8 * dpr);
        ctx.strokeRect(x * s - 4 * dpr, y * s - 4 * dpr, 8 * dpr, 8 * dpr);
      }
    });
  }
}

// class colours and the class menu of a just-drawn box, shared by the review queue and the labelling queue
export const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990"];

export function classColour(classes, cls) {
  const i = (classes || []).indexOf(cls);
  return PALETTE[(i < 0 ? 8 : i) % PALETTE.length];
}

// keys 1-9 or a click name the box, Esc (the page's keys) removes it; `classes()` gives the model's class list
export class ClassPicker {
  constructor(editor, canvas, classes, colour) {
    Object.assign(this, { editor, canvas, classes, colour, menu: null });
  }

  get open() { return this.menu !== null; }
  get box() { return this.menu ? Number(this.menu.dataset.box) : null; }

  ask(i) {
    this.close();
    const b = this.editor.boxes[i], s = this.editor.scale;
    this.pick = (cls) => { this.close(); this.editor.relabel(i, cls); };
    this.menu = el("div", { class: "class-picker", id: "class-picker", role: "menu", dataset: { box: i },
                            style: `left:${Math.round(b.x1 * s)}px; top:${Math.round(b.y2 * s) + 4}px` },
      el("h4", {}, t("review.pick")), el("p", { class: "muted" }, t("review.pick.hint")),
      this.classes().slice(0, 9).map((c, k) => el("button", { type: "button", role: "menuitem",
        dataset: { cls: c }, onmousedown: (e) => e.stopPropagation(), onclick: () => this.pick(c) },
        el("kbd", {}, String(k + 1)), el("span", { class: "swatch", style: `background:${this.colour(c)}` }), " ",
        t("class." + c))));
    this.canvas.parentElement.append(this.menu);
  }

  close() { this.menu?.remove(); this.menu = null; }
}

// The box editor with its class picker and palette, as the review and labelling queues use it: `classes()` gives
// the current item's class list, `onChange` redraws the page's box list.
export function editorWithPicker(canvas, image, classes, onChange) {
  const colour = (cls) => classColour(classes(), cls);
  let picker = null;
  const editor = new BoxEditor(canvas, image, { colours: colour, onChange, onDrawn: (i) => picker.ask(i),
                                                names: (c) => t("class." + c) });
  picker = new ClassPicker(editor, canvas, classes, colour);
  return { editor, picker, colour };
}

// A button with its keyboard key shown and in its title.
export function keyButton(id, key, label, onclick, cls = "") {
  return el("button", { id, class: cls, onclick, title: `${label} (${key})` }, label, el("kbd", {}, key));
}
