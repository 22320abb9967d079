// The camera wall: a tile per camera with site, state and an alert flash; click for one camera full screen.
// A tile plays the camera's own video at its frame rate (livevideo.js: fMP4 over a WebSocket into Media Source
// Extensions, the analysis drawn over it). Until its video plays, or where the browser cannot play it, a tile polls
// an annotated snapshot (~2 fps) instead of holding an MJPEG connection: a browser keeps only six HTTP connections
// per host, so a wall of MJPEG tiles starves beyond five cameras (WebSockets do not count against that limit). A
// tile asks for its next picture only after the previous one arrived, and only while the page and the tile are
// visible; hidden tiles close their video.
import { api, el, t, onLive, badge, rule, toast, camError } from "./common.js";
import { LivePlayer } from "./livevideo.js";

const main = document.getElementById("main");
const tiles = new Map();
const PERIOD_MS = 600, RETRY_MS = 3000;
const WIDTHS = [320, 480, 640, 960, 1280, 1920];  // a few sizes, so viewers of one camera share encodes

function stateText(cam) {
  return t("cam." + cam.state) + (cam.state !== "live" && cam.last_error ? ` — ${camError(cam.last_error)}` : "");
}

function snapshotWidth(img) {
  const want = (img.clientWidth || 640) * (window.devicePixelRatio || 1);
  return WIDTHS.find((w) => w >= want) || WIDTHS[WIDTHS.length - 1];
}

// one picture at a time per tile: fetch, show, wait out the period, repeat; stops while hidden
class Poller {
  constructor(id, img, node) {
    Object.assign(this, { id, img, node, etag: "", busy: false, timer: 0, visible: true, frames: 0, url: "",
                          video: false });
  }

  shown() { return this.visible && document.visibilityState === "visible"; }
  wanted() { return this.shown() && !this.video; }  // no snapshots while the tile's video plays

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
      const url = `/api/cameras/${encodeURIComponent(this.id)}/snapshot.jpg?w=${snapshotWidth(this.img)}&lang=${document.documentElement.lang}`;
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
    this.node.dataset.seq = res.headers.get("X-Frame-Seq") || "";
  }
}

const seen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const x = tiles.get(e.target.dataset.camera);
    if (!x) continue;
    x.poller.visible = e.isIntersecting;
    watch(x);
  }
});
document.addEventListener("visibilitychange", () => tiles.forEach(watch));

// video while the tile is shown (snapshots until it plays, and again when it stops); frames = pictures shown
function watch(x) {
  const { poller, player, node } = x;
  if (poller.shown()) player.start(); else player.stop();
  const video = player.fresh;
  if (poller.video !== video) {
    poller.video = video;
    node.dataset.mode = video ? "video" : "snapshot";
  }
  node.dataset.frames = poller.frames + player.frames;
  if (player.running) node.dataset.overlayT = player.overlayT, node.dataset.mediaTime = player.mediaTime;
  poller.kick();
}
setInterval(() => tiles.forEach(watch), 500);

function tile(cam) {
  const img = el("img", { alt: cam.name });
  const video = el("video", { muted: true, playsinline: true, "aria-label": cam.name });
  const overlay = el("canvas", { class: "overlay", "aria-hidden": "true" });
  const state = badge("state-" + cam.state, "", "state");
  const offline = el("div", { class: "offline" }, el("strong", {}), el("span", {}));
  const node = el("a", { class: "tile", href: `/wall/${encodeURIComponent(cam.id)}`, dataset: { camera: cam.id },
                         title: `${cam.name} · ${cam.site_name}` },
    el("div", { class: "frame" }, img, video, overlay, offline, flash(cam),
      el("div", { class: "caption" },
        el("div", { class: "names" }, el("strong", {}, cam.name), el("span", { class: "muted" }, cam.site_name)),
        markButton(cam), state)));
  const poller = new Poller(cam.id, img, node);
  const x = { node, state, offline, cam, poller };
  x.player = new LivePlayer(cam.id, video, overlay, { onState: () => watch(x) });
  node.dataset.mode = "snapshot";
  tiles.set(cam.id, x);
  update(cam);
  seen.observe(node);
  poller.kick();
  return node;
}

// the alert flash: "ALERT", open the alert, acknowledge it ("I've seen it": the flash stops on every wall)
function flash(cam) {
  const stop = (e) => { e.preventDefault(); e.stopPropagation(); };
  const openIt = (e) => { stop(e); if (tiles.get(cam.id)?.cam.alert_id) location.href = `/alerts/${tiles.get(cam.id).cam.alert_id}`; };
  const ackIt = async (e) => {
    stop(e);
    const x = tiles.get(cam.id), alertId = x?.cam.alert_id;
    if (!alertId) return;
    await api(`/api/alerts/${encodeURIComponent(alertId)}/acknowledge`, { method: "POST" });
    update({ id: cam.id, alerting: false, alert_id: null });
    toast(t("wall.acknowledged"));
  };
  return el("div", { class: "flash-label wall-flash" }, el("span", {}, t("wall.alert")),
    el("button", { type: "button", class: "flash-open", title: t("wall.open.alert"), onclick: openIt }, t("wall.open.alert")),
    el("button", { type: "button", class: "flash-ack", title: t("wall.acknowledge"), onclick: ackIt }, t("wall.acknowledge")));
}

// "Violation here" from the wall: a flag on the tile opens the camera's rules; one click makes the alert
const MARKERS = ["operator", "reviewer", "admin"];
function markButton(cam) {
  if (!MARKERS.includes(document.body.dataset.role) || !cam.rules?.length) return null;
  return el("button", { type: "button", class: "mark-flag", title: t("missed.mark"), "aria-label": t("missed.mark"),
                        onclick: (e) => { e.preventDefault(); e.stopPropagation(); openMarkMenu(cam, e.currentTarget); } },
            "⚑");
}

function openMarkMenu(cam, anchor) {
  document.querySelector(".mark-menu")?.remove();
  const frame = anchor.closest(".frame");
  const close = () => menu.remove();
  const menu = el("div", { class: "mark-menu", role: "menu", onclick: (e) => { e.preventDefault(); e.stopPropagation(); } },
    el("strong", {}, t("missed.title")),
    cam.rules.map((r) => el("button", { type: "button", dataset: { rule: r }, onclick: async () => {
      close();
      const a = await api(`/api/cameras/${encodeURIComponent(cam.id)}/missed`, { method: "POST", body: { rule: r } });
      document.body.dataset.marked = a.id;
      toast(t("missed.done"));
    } }, rule(r))),
    el("button", { type: "button", class: "ghost", onclick: close }, t("missed.cancel")));
  frame.append(menu);
}

function update(cam) {
  const t0 = tiles.get(cam.id);
  if (!t0) return;
  const wasAlerting = !!t0.cam.alerting;
  Object.assign(t0.cam, cam);
  const c = t0.cam, down = !["live", "stalled"].includes(c.state);
  t0.node.classList.toggle("alerting", !!c.alerting);
  t0.node.dataset.alert = c.alerting && c.alert_id ? c.alert_id : "";
  t0.node.classList.toggle("down", down);
  t0.node.dataset.state = c.state;
  t0.state.className = `badge state state-${c.state}`;
  t0.state.textContent = t("cam." + c.state);
  t0.state.title = stateText(c);
  t0.offline.firstChild.textContent = t("cam." + c.state);
  t0.offline.lastChild.textContent = camError(c.last_error);
  if (wasAlerting !== !!c.alerting) arrange();
}

async function refresh() {
  const data = await api("/api/cameras");
  for (const cam of data.items) update(cam);
  return data;
}

// Layouts: a fixed grid of 4, 9, 16, 25 or 36 tiles (pages when there are more cameras), or "auto" (every camera
// on one screen). Alerting cameras come first; a site choice shows one site's cameras.
const LAYOUTS = [0, 4, 9, 16, 25, 36];
const query = new URLSearchParams(location.search);
const wall = { layout: Number(query.get("layout") ?? localStorage.getItem("vigil.wall.layout") ?? 0),
               site: query.get("site") || "", page: 0, order: [] };
if (!LAYOUTS.includes(wall.layout)) wall.layout = 0;
let grid = null, pagerBox = null;

function ordered() {
  const cams = wall.order.map((id) => tiles.get(id)).filter((x) => !wall.site || x.cam.site_id === wall.site);
  return cams.filter((x) => x.cam.alerting).concat(cams.filter((x) => !x.cam.alerting));
}

function arrange() {
  if (!grid) return;
  const cams = ordered();
  const per = wall.layout || Math.max(1, cams.length);
  const pages = Math.max(1, Math.ceil(cams.length / per));
  wall.page = Math.min(wall.page, pages - 1);
  const shown = new Set(cams.slice(wall.page * per, (wall.page + 1) * per).map((x) => x.cam.id));
  cams.forEach((x, i) => { x.node.style.order = i; });
  for (const [id, x] of tiles) {
    const visible = shown.has(id);
    x.node.hidden = !visible;  // the visibility observer stops and restarts its polling
  }
  grid.dataset.layout = wall.layout || "auto";
  grid.dataset.shown = shown.size;
  pagerBox.replaceChildren(...(pages > 1 ? [
    el("button", { class: "ghost small", id: "wall-prev", disabled: wall.page === 0,
                   onclick: () => { wall.page -= 1; arrange(); } }, "‹"),
    el("span", { id: "wall-page" }, `${wall.page + 1}/${pages}`),
    el("button", { class: "ghost small", id: "wall-next", disabled: wall.page >= pages - 1,
                   onclick: () => { wall.page += 1; arrange(); } }, "›")] : []));
  fit(Math.min(per, Math.max(1, cams.length)));
}

// the largest 16:9 tiles that fit the screen: fixed layouts are k x k; auto picks the columns for n tiles
function fit(n) {
  const width = grid.parentElement.clientWidth;
  const height = window.innerHeight - grid.getBoundingClientRect().top - 8;
  const gap = parseFloat(getComputedStyle(grid).columnGap) || 6;
  const size = (cols) => {
    const rows = wall.layout ? Math.sqrt(wall.layout) : Math.ceil(n / cols);
    const border = 6;  // a tile's 3 px border on each side, around a 16:9 picture
    return Math.min((width - gap * (cols - 1)) / cols,
                    ((height - gap * (rows - 1)) / rows - border) * 16 / 9 + border);
  };
  let cols = wall.layout ? Math.sqrt(wall.layout) : 1;
  if (!wall.layout) for (let c = 2; c <= n; c++) if (size(c) > size(cols)) cols = c;
  const w = Math.max(120, Math.floor(size(cols)));
  grid.style.setProperty("--cols", cols);
  grid.style.setProperty("--tile-w", `${w}px`);
  grid.style.gridTemplateColumns = `repeat(${cols}, ${w}px)`;
  grid.style.maxWidth = "";
}

function toolbar(sites) {
  const layout = el("select", { id: "wall-layout", "aria-label": t("wall.layout"), onchange: (e) => {
    wall.layout = Number(e.target.value); wall.page = 0; localStorage.setItem("vigil.wall.layout", wall.layout);
    arrange(); } },
    LAYOUTS.map((n) => el("option", { value: n, selected: n === wall.layout },
                          n ? t("wall.layout.n", { n, k: Math.sqrt(n) }) : t("wall.layout.auto"))));
  const site = el("select", { id: "wall-site", "aria-label": t("field.site"), onchange: (e) => {
    wall.site = e.target.value; wall.page = 0; arrange(); } },
    el("option", { value: "" }, t("wall.allsites")),
    sites.map(([id, name]) => el("option", { value: id, selected: id === wall.site }, name)));
  pagerBox = el("span", { class: "wall-pager" });
  return el("div", { class: "wall-bar" }, el("label", {}, t("wall.layout"), " ", layout),
            el("label", {}, t("field.site"), " ", site), pagerBox);
}

async function start() {
  const data = await api("/api/cameras");
  const sites = [...new Map(data.items.map((c) => [c.site_id, c.site_name])).entries()];
  grid = el("div", { class: "wall" });
  main.append(toolbar(sites), grid);
  grid.append(...data.items.map(tile));
  wall.order = data.items.map((c) => c.id);
  arrange();
  window.addEventListener("resize", arrange);
  if (!data.items.length) main.append(el("p", { class: "empty" }, t("wall.none")));
  onLive("camera.state", (s) => update({ id: s.camera_id, state: s.state, last_error: s.last_error || "" }));
  onLive("alert.new", (a) => update({ id: a.camera_id, alerting: true, alert_id: a.id }));
  onLive("alert.updated", () => refresh());
  setInterval(refresh, 10000);
  document.body.dataset.ready = "1";
}
start();
