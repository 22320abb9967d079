// The camera wall: a tile per camera with site, state and an alert flash; click for one camera full screen.
// Tiles poll an annotated snapshot (~2 fps) instead of holding an MJPEG connection each: a browser keeps only six
// connections per host, so a wall of MJPEG tiles starves beyond five cameras. A tile asks for its next picture only
// after the previous one arrived, and only while the page and the tile are visible.
import { api, el, t, onLive, badge } from "./common.js";

const main = document.getElementById("main");
const tiles = new Map();
const PERIOD_MS = 600, RETRY_MS = 3000;
const WIDTHS = [320, 480, 640, 960, 1280, 1920];  // a few sizes, so viewers of one camera share encodes

function stateText(cam) {
  return t("cam." + cam.state) + (cam.state !== "live" && cam.last_error ? ` — ${cam.last_error}` : "");
}

function snapshotWidth(img) {
  const want = (img.clientWidth || 640) * (window.devicePixelRatio || 1);
  return WIDTHS.find((w) => w >= want) || WIDTHS[WIDTHS.length - 1];
}

// one picture at a time per tile: fetch, show, wait out the period, repeat; stops while hidden
class Poller {
  constructor(id, img, node) {
    Object.assign(this, { id, img, node, etag: "", busy: false, timer: 0, visible: true, frames: 0, url: "" });
  }

  wanted() { return this.visible && document.visibilityState === "visible"; }

  kick() {
    if (this.busy || this.timer || !this.wanted()) return;
    this.fetchOne();
  }

  later(ms) {
    this.timer = setTimeout(() => { this.timer = 0; this.kick(); }, ms);
  }

  async fetchOne() {
    this.busy = true;
    const started = performance.now();
    let wait = PERIOD_MS;
    try {
      const url = `/api/cameras/${encodeURIComponent(this.id)}/snapshot.jpg?w=${snapshotWidth(this.img)}`;
      const res = await fetch(url, { cache: "no-store", credentials: "same-origin",
                                     headers: this.etag ? { "If-None-Match": this.etag } : {} });
      if (res.status === 401) { location.href = "/login?next=/wall"; return; }
      if (res.status === 200) await this.show(res);
      else if (res.status !== 304) wait = RETRY_MS;
    } catch (e) {
      wait = RETRY_MS;
    } finally {
      this.busy = false;
    }
    this.later(Math.max(0, wait - (performance.now() - started)));
  }

  async show(res) {
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const old = this.url;
    this.img.src = url;
    try { await this.img.decode(); } catch (e) { /* a broken image: keep polling */ }
    if (old) URL.revokeObjectURL(old);
    this.url = url;
    this.etag = res.headers.get("ETag") || "";
    this.frames += 1;
    this.node.dataset.frames = this.frames;
    this.node.dataset.seq = res.headers.get("X-Frame-Seq") || "";
  }
}

const seen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const p = tiles.get(e.target.dataset.camera)?.poller;
    if (!p) continue;
    p.visible = e.isIntersecting;
    p.kick();
  }
});
document.addEventListener("visibilitychange", () => tiles.forEach((x) => x.poller.kick()));

function tile(cam) {
  const img = el("img", { alt: cam.name });
  const state = badge("state-" + cam.state, "", "state");
  const offline = el("div", { class: "offline" }, el("strong", {}), el("span", {}));
  const node = el("a", { class: "tile", href: `/wall/${encodeURIComponent(cam.id)}`, dataset: { camera: cam.id } },
    el("div", { class: "frame" }, img, offline, el("div", { class: "flash-label" }, t("wall.alert"))),
    el("div", { class: "caption" },
      el("div", { class: "names" }, el("strong", {}, cam.name), el("span", { class: "muted" }, cam.site_name)),
      state));
  const poller = new Poller(cam.id, img, node);
  tiles.set(cam.id, { node, state, offline, cam, poller });
  update(cam);
  seen.observe(node);
  poller.kick();
  return node;
}

function update(cam) {
  const t0 = tiles.get(cam.id);
  if (!t0) return;
  Object.assign(t0.cam, cam);
  const c = t0.cam, down = !["live", "stalled"].includes(c.state);
  t0.node.classList.toggle("alerting", !!c.alerting);
  t0.node.classList.toggle("down", down);
  t0.node.dataset.state = c.state;
  t0.state.className = `badge state state-${c.state}`;
  t0.state.textContent = t("cam." + c.state);
  t0.state.title = stateText(c);
  t0.offline.firstChild.textContent = t("cam." + c.state);
  t0.offline.lastChild.textContent = c.last_error || "";
}

async function refresh() {
  const data = await api("/api/cameras");
  for (const cam of data.items) update(cam);
  return data;
}

// columns so every tile fits the screen at once (a wall is read at a glance, without scrolling)
function fit(grid, n) {
  const width = grid.clientWidth, height = window.innerHeight - grid.getBoundingClientRect().top - 16;
  const gap = parseFloat(getComputedStyle(grid).columnGap) || 12, caption = 56;
  let best = 1, bestW = 0;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows - caption) * 16 / 9);
    if (w > bestW) { best = cols; bestW = w; }
  }
  grid.style.setProperty("--cols", best);
  grid.style.maxWidth = `${Math.floor(best * bestW + gap * (best - 1))}px`;
}

async function start() {
  const data = await api("/api/cameras");
  const grid = el("div", { class: "wall" });
  main.append(grid);
  grid.append(...data.items.map(tile));
  fit(grid, data.items.length || 1);
  window.addEventListener("resize", () => fit(grid, data.items.length || 1));
  if (!data.items.length) main.append(el("p", { class: "empty" }, t("wall.none")));
  onLive("camera.state", (s) => update({ id: s.camera_id, state: s.state, last_error: s.last_error || "" }));
  onLive("alert.new", (a) => update({ id: a.camera_id, alerting: true }));
  onLive("alert.updated", () => refresh());
  setInterval(refresh, 10000);
}
start();
